// Symlink targets (fs/ext4/symlink.c, inode.c ext4_inode_is_fast_symlink/ext4_iget). Three
// homes: "fast" in the 60 bytes of i_block, "slow" in the file's first data block (through
// extents or the block map), or inline data (i_block + system.data) on inline_data file
// systems. i_size is the length; the kernel cuts the target at the first NUL. Encrypted
// symlinks (EXT4_ENCRYPT_FL) hold ciphertext and are refused here. Little-endian.

import { viewOf } from '../util/bytes.js';
import { CorruptError, Errno, FsError, Where } from './errors.js';
import { FsContext, InodeInfo, EXT4_ENCRYPT_FL, EXT4_HUGE_FILE_FL, S_IFLNK, S_IFMT } from './context.js';
import { hasInlineData, inlineArea } from './inline.js';

const I_DATA = 60; // sizeof(ei->i_data)
const EXT4_APPEND_FL = 0x20;
const EXT4_IMMUTABLE_FL = 0x10;

/** i_blocks in 512-byte units, as the kernel's inode->i_blocks (ext4_inode_blocks). */
export function iBlocks512(ctx: FsContext, inode: InodeInfo): number {
  const dv = viewOf(inode.raw);
  const lo = dv.getUint32(0x1c, true);
  if (!ctx.features.has('huge_file')) return lo;
  const hi = dv.getUint16(0x74, true); // osd2.linux2.l_i_blocks_high
  const n = hi * 2 ** 32 + lo; // < 2^48: exact
  return inode.flags & EXT4_HUGE_FILE_FL ? n * 2 ** (ctx.blockBits - 9) : n;
}

/** ext4_inode_is_fast_symlink. */
export function isFastSymlink(ctx: FsContext, inode: InodeInfo): boolean {
  if ((inode.mode & S_IFMT) !== S_IFLNK) return false;
  if (!ctx.features.has('ea_inode')) {
    if (hasInlineData(inode)) return false;
    // An xattr block is charged to i_blocks; a symlink with only that block is still fast.
    const eaBlocks = inode.fileAcl ? (ctx.blockSize << ctx.clusterBits) >> 9 : 0;
    return iBlocks512(ctx, inode) - eaBlocks === 0;
  }
  // With ea_inode, i_blocks may count EA inode space; only i_size tells.
  return inode.size !== 0 && inode.size < I_DATA;
}

export type SymlinkKind = 'fast' | 'slow' | 'inline';

export function symlinkKind(ctx: FsContext, inode: InodeInfo): SymlinkKind {
  if (hasInlineData(inode)) return 'inline';
  return isFastSymlink(ctx, inode) ? 'fast' : 'slow';
}

/** nd_terminate_link then strlen: the target readlink(2) returns. */
function terminate(bytes: Uint8Array, size: number, max: number): Uint8Array {
  const n = Math.min(size, max, bytes.length);
  const nul = bytes.subarray(0, n).indexOf(0);
  return bytes.slice(0, nul < 0 ? n : nul);
}

/**
 * The target of a symlink inode. `readFileBlock0` maps logical block 0 of the inode (extents
 * or block map, owned by those files) and returns that block, or null for a hole.
 */
export function readSymlink(
  ctx: FsContext, inode: InodeInfo, readFileBlock0: (inode: InodeInfo) => Uint8Array | null,
): Uint8Array {
  const where: Where = { inode: inode.ino };
  if ((inode.mode & S_IFMT) !== S_IFLNK) throw new FsError(Errno.EINVAL, 'not a symlink');
  // ext4_iget: the VFS cannot set these on a symlink, so they only come from damage.
  if (inode.flags & (EXT4_APPEND_FL | EXT4_IMMUTABLE_FL)) {
    throw new CorruptError('symlink', 'immutable or append flags not allowed on symlinks', where, 'i_flags', inode.flags);
  }
  if (inode.flags & EXT4_ENCRYPT_FL) {
    throw new FsError(Errno.EOPNOTSUPP, `inode ${inode.ino}: encrypted symlink (fscrypt keys are not supported)`);
  }
  const kind = symlinkKind(ctx, inode);
  if (kind === 'fast') {
    // ext4_iget (6.14+): a fast target must be 1..59 bytes with no NUL inside and a NUL
    // right after it; anything else is damage, not a truncated target.
    const size = inode.size;
    const d = inode.iBlock;
    if (size === 0 || size >= I_DATA) {
      throw new CorruptError('symlink', 'invalid fast symlink length', where, 'i_size', size, `1..${I_DATA - 1}`);
    }
    const nul = d.subarray(0, size + 1).indexOf(0);
    if (nul !== size) throw new CorruptError('symlink', 'invalid fast symlink length', where, 'i_size', size, `strnlen ${nul < 0 ? size + 1 : nul}`);
    return d.slice(0, size);
  }
  if (kind === 'inline') {
    // ext4_read_inline_link: the whole inline area, cut at i_size and at the first NUL.
    const area = inlineArea(ctx, inode);
    return terminate(area, inode.size, area.length);
  }
  // ext4_get_link: block 0 must exist ("bad symlink"); the target is cut at i_size, at
  // blocksize - 1 and at the first NUL.
  const blk = readFileBlock0(inode);
  if (blk === null) throw new CorruptError('symlink', 'bad symlink: no block 0', where, 'i_size', inode.size);
  return terminate(blk, inode.size, ctx.blockSize - 1);
}

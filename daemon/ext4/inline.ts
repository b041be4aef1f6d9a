// Inline data (incompat inline_data, fs/ext4/inline.c, Documentation/filesystems/ext4/
// inlinedata.rst): a small file, directory or symlink whose bytes sit in the inode itself:
// the 60 bytes of i_block first (EXT4_MIN_INLINE_DATA_SIZE), then the value of the in-inode
// xattr "system.data" (e_name_index 7, name "data"), which may be empty. The inode carries
// EXT4_INLINE_DATA_FL. Little-endian like every ext4 structure; needs inodes > 128 bytes.

import { CorruptError, Where } from './errors.js';
import { FsContext, InodeInfo, EXT4_INLINE_DATA_FL } from './context.js';
import { XATTR_INDEX, readIbody } from './xattr.js';

export const EXT4_MIN_INLINE_DATA_SIZE = 60;
const SYSTEM_DATA = new Uint8Array([0x64, 0x61, 0x74, 0x61]); // "data"

export function hasInlineData(inode: InodeInfo): boolean {
  return (inode.flags & EXT4_INLINE_DATA_FL) !== 0;
}

export interface InlineLocation {
  /** i_inline_size: 60 + e_value_size of system.data. */
  readonly inlineSize: number;
  /** Offset of the system.data value inside inode.raw (for the write path). */
  readonly valueOff: number;
  /** Offset of the system.data entry inside inode.raw (the kernel's i_inline_off). */
  readonly entryOff: number;
}

/**
 * ext4_find_inline_data_nolock for an inode with EXT4_INLINE_DATA_FL: the system.data entry
 * must exist in the inode body and keep its value there (not in an EA inode).
 */
export function findInlineData(ctx: FsContext, inode: InodeInfo): InlineLocation {
  const where: Where = { inode: inode.ino };
  if (!ctx.features.has('inline_data')) {
    throw new CorruptError('inline_data', 'inline data flag without the inline_data feature', where, 'i_flags', inode.flags);
  }
  const ib = readIbody(ctx, inode);
  const e = ib?.entries.find((x) => x.index === XATTR_INDEX.system &&
    x.name.length === SYSTEM_DATA.length && x.name.every((c, i) => c === SYSTEM_DATA[i]));
  if (!ib || !e) throw new CorruptError('inline_data', 'no system.data xattr for inline data', where);
  if (e.valueInum !== 0) {
    throw new CorruptError('inline_data', 'inline data xattr refers to an external xattr inode', where, 'e_value_inum', e.valueInum);
  }
  return { inlineSize: EXT4_MIN_INLINE_DATA_SIZE + e.valueSize, valueOff: ib.first + e.valueOffs, entryOff: e.entryOff };
}

/**
 * The stored bytes of an inline file: i_block then the system.data value, cut at i_size.
 * An i_size beyond the inline size is not an error on a kernel mount: ext4_read_inline_folio
 * copies min(inline size, i_size) and zero-fills the rest, so callers serve bytes past the
 * returned length (up to i_size) as zeros, never allocating for an on-disk i_size.
 */
export function inlineData(ctx: FsContext, inode: InodeInfo): Uint8Array {
  const loc = findInlineData(ctx, inode);
  const len = Math.min(inode.size, loc.inlineSize);
  const out = new Uint8Array(len);
  const head = Math.min(len, EXT4_MIN_INLINE_DATA_SIZE);
  out.set(inode.iBlock.subarray(0, head));
  if (len > head) out.set(inode.raw.subarray(loc.valueOff, loc.valueOff + len - head), head);
  return out;
}

/** All inline bytes regardless of i_size (inline directories use the whole area). */
export function inlineArea(ctx: FsContext, inode: InodeInfo): Uint8Array {
  const loc = findInlineData(ctx, inode);
  const out = new Uint8Array(loc.inlineSize);
  out.set(inode.iBlock.subarray(0, EXT4_MIN_INLINE_DATA_SIZE));
  out.set(inode.raw.subarray(loc.valueOff, loc.valueOff + loc.inlineSize - EXT4_MIN_INLINE_DATA_SIZE), EXT4_MIN_INLINE_DATA_SIZE);
  return out;
}

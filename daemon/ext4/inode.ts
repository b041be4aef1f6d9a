// The ext4 inode (struct ext4_inode, little-endian): s_inode_size bytes (128..block size)
// in its group's inode table at index (ino-1) % s_inodes_per_group. The first 128 bytes
// are the ext2 inode; i_extra_isize says how much of the extra area (i_checksum_hi, the
// _extra time words, i_crtime, i_version_hi, i_projid) is in use; in-inode xattrs follow.
// Features that change it: metadata_csum (i_checksum_lo/hi), huge_file (i_blocks_hi and
// EXT4_HUGE_FILE_FL), 64bit (i_file_acl_high), largedir (i_size_high of directories),
// project. Validation follows fs/ext4/inode.c __ext4_iget. Kernel doc: ext4/inodes.rst.

import { Decoded, struct } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import {
  EXT4_CASEFOLD_FL, EXT4_EA_INODE_FL, EXT4_ENCRYPT_FL, EXT4_EXTENTS_FL, EXT4_HUGE_FILE_FL, EXT4_INLINE_DATA_FL, FsContext, InodeInfo,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, inodeCsumSeed,
} from './context.js';
import { ChecksumError, CorruptError, FsError, Where, corruptBounds } from './errors.js';
import { EXT4_OS_LINUX, Superblock } from './superblock.js';

export const INODE = struct('ext4_inode', 160, [
  ['i_mode', 'u16le', 0x0],
  ['i_uid', 'u16le', 0x2],
  ['i_size_lo', 'u32le', 0x4],
  ['i_atime', 'u32le', 0x8],
  ['i_ctime', 'u32le', 0xc],
  ['i_mtime', 'u32le', 0x10],
  ['i_dtime', 'u32le', 0x14],
  ['i_gid', 'u16le', 0x18],
  ['i_links_count', 'u16le', 0x1a],
  ['i_blocks_lo', 'u32le', 0x1c],
  ['i_flags', 'u32le', 0x20],
  ['l_i_version', 'u32le', 0x24],
  ['i_block', 'u8[60]', 0x28],
  ['i_generation', 'u32le', 0x64],
  ['i_file_acl_lo', 'u32le', 0x68],
  ['i_size_high', 'u32le', 0x6c],
  ['i_obso_faddr', 'u32le', 0x70],
  ['l_i_blocks_high', 'u16le', 0x74],
  ['l_i_file_acl_high', 'u16le', 0x76],
  ['l_i_uid_high', 'u16le', 0x78],
  ['l_i_gid_high', 'u16le', 0x7a],
  ['l_i_checksum_lo', 'u16le', 0x7c],
  ['l_i_reserved', 'u16le', 0x7e],
  ['i_extra_isize', 'u16le', 0x80],
  ['i_checksum_hi', 'u16le', 0x82],
  ['i_ctime_extra', 'u32le', 0x84],
  ['i_mtime_extra', 'u32le', 0x88],
  ['i_atime_extra', 'u32le', 0x8c],
  ['i_crtime', 'u32le', 0x90],
  ['i_crtime_extra', 'u32le', 0x94],
  ['i_version_hi', 'u32le', 0x98],
  ['i_projid', 'u32le', 0x9c],
] as const);

export type RawInode = Decoded<typeof INODE.fields>;

export const EXT4_GOOD_OLD_INODE_SIZE = 128;
export const EXT4_ROOT_INO = 2;
export const EXT4_BOOT_LOADER_INO = 5;
export const EXT4_RESIZE_INO = 7;
export const EXT4_JOURNAL_INO = 8;
const CSUM_LO = 0x7c;
const CSUM_HI = 0x82;
export const EXT4_APPEND_FL = 0x20;
export const EXT4_IMMUTABLE_FL = 0x10;
export const ESTALE = 116;

export interface Timespec { sec: number; nsec: number }
export type FileType = 'file' | 'dir' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock' | 'bootloader';

export interface Inode {
  readonly ino: number;
  readonly info: InodeInfo;
  readonly raw: RawInode;
  readonly mode: number;
  readonly type: FileType;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly links: number;
  /** 512-byte sectors (ext4_inode_blocks); up to 2^55, hence bigint. */
  readonly blocks512: bigint;
  readonly flags: number;
  readonly generation: number;
  readonly fileAcl: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
  /** Creation time when i_extra_isize covers i_crtime, else null. */
  readonly crtime: Timespec | null;
  readonly dtime: number;
  /** Device numbers of chr/blk/fifo/sock inodes (old or new encoding), else null. */
  readonly rdev: { major: number; minor: number } | null;
  /** rdev as the kernel's new_encode_dev (what fuse_attr.rdev carries). */
  readonly rdevEncoded: number;
  readonly projid: number;
  readonly extraIsize: number;
  /** i_version (l_i_version, plus i_version_hi when present). */
  readonly version: bigint;
  /** ext4_inode_is_fast_symlink: the target lives in i_block. */
  readonly isFastSymlink: boolean;
}

/** Where inode `ino` lives: group, the inode table block and the byte offset in it. */
export function inodeLocation(sb: Superblock, inodeTable: number, ino: number): { group: number; block: number; offset: number } {
  const index = (ino - 1) % sb.inodesPerGroup;
  const byte = index * sb.inodeSize;
  return {
    group: Math.floor((ino - 1) / sb.inodesPerGroup),
    block: inodeTable + Math.floor(byte / sb.blockSize),
    offset: byte % sb.blockSize,
  };
}

function fitsInInode(extraIsize: number, fieldOff: number, width: number): boolean {
  return fieldOff + width <= EXT4_GOOD_OLD_INODE_SIZE + extraIsize;
}

/**
 * ext4_inode_csum: crc32c seeded with the per-inode seed over the whole on-disk inode
 * with i_checksum_lo (and i_checksum_hi when i_extra_isize covers it) read as zero.
 */
export function inodeCsum(raw: Uint8Array, inodeSize: number, seed: number, extraIsize: number): number {
  const zero = new Uint8Array(2);
  let c = crc32c(seed, raw, 0, CSUM_LO);
  c = crc32c(c, zero);
  c = crc32c(c, raw, CSUM_LO + 2, EXT4_GOOD_OLD_INODE_SIZE);
  if (inodeSize > EXT4_GOOD_OLD_INODE_SIZE) {
    c = crc32c(c, raw, EXT4_GOOD_OLD_INODE_SIZE, CSUM_HI);
    let off = CSUM_HI;
    if (fitsInInode(extraIsize, CSUM_HI, 2)) { c = crc32c(c, zero); off += 2; }
    c = crc32c(c, raw, off, inodeSize);
  }
  return c >>> 0;
}

/** Throws ChecksumError when metadata_csum is on and the stored checksum differs. */
export function verifyInodeCsum(raw: Uint8Array, sb: Superblock, ino: number, seed: number, extraIsize: number, at: Where): void {
  if (sb.creatorOs !== EXT4_OS_LINUX || !sb.features.has('metadata_csum')) return;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let stored = dv.getUint16(CSUM_LO, true);
  let computed = inodeCsum(raw, sb.inodeSize, seed, extraIsize);
  if (sb.inodeSize > EXT4_GOOD_OLD_INODE_SIZE && fitsInInode(extraIsize, CSUM_HI, 2)) stored = (stored | (dv.getUint16(CSUM_HI, true) << 16)) >>> 0;
  else computed &= 0xffff;
  if (stored !== computed) throw new ChecksumError('inode', { ...at, inode: ino }, stored, computed);
}

/** Re-signs an inode in place (write path, tests). */
export function setInodeCsum(raw: Uint8Array, inodeSize: number, seed: number): void {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const extra = inodeSize > EXT4_GOOD_OLD_INODE_SIZE ? dv.getUint16(0x80, true) : 0;
  const c = inodeCsum(raw, inodeSize, seed, extra);
  dv.setUint16(CSUM_LO, c & 0xffff, true);
  if (inodeSize > EXT4_GOOD_OLD_INODE_SIZE && fitsInInode(extra, CSUM_HI, 2)) dv.setUint16(CSUM_HI, c >>> 16, true);
}

/** ext4_decode_extra_time: signed 32-bit seconds, 2 epoch bits extend, ns = extra >> 2. */
export function decodeExtraTime(base: number, extra: number): Timespec {
  let sec = base | 0;
  const epoch = extra & 3;
  if (epoch) sec += epoch * 2 ** 32;
  return { sec, nsec: extra >>> 2 };
}

/** old_decode_dev (16-bit) and new_decode_dev (32-bit) from include/linux/kdev_t.h. */
export function oldDecodeDev(v: number): { major: number; minor: number } {
  return { major: (v >>> 8) & 0xff, minor: v & 0xff };
}
export function newDecodeDev(v: number): { major: number; minor: number } {
  return { major: (v & 0xfff00) >>> 8, minor: (v & 0xff) | ((v >>> 12) & 0xfff00) };
}
export function newEncodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

function typeOf(mode: number): FileType | null {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFCHR: return 'chr';
    case S_IFBLK: return 'blk';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'sock';
    default: return null;
  }
}

export interface InodeReadOptions {
  /** EXT4_IGET_SPECIAL: reserved inodes (journal, quota, resize, orphan file) may be read. */
  special?: boolean;
  /** Orphan processing: an unlinked inode with a valid mode is returned, not ESTALE. */
  orphan?: boolean;
}

/** is_special_ino: inode numbers a path lookup or file handle may never reach. */
export function isSpecialIno(sb: Superblock, ino: number): boolean {
  return (ino < sb.firstIno && ino !== EXT4_ROOT_INO) || ino === sb.quotaInodes.usr || ino === sb.quotaInodes.grp ||
    ino === sb.quotaInodes.prj || ino === sb.orphanFileInum;
}

/** The inode-number check __ext4_iget does before reading anything. */
export function checkInodeNumber(sb: Superblock, ino: number, opts: InodeReadOptions = {}): void {
  const min = opts.special ? 1 : EXT4_ROOT_INO;
  if (!Number.isSafeInteger(ino) || ino < min || ino > sb.inodesCount || (!opts.special && isSpecialIno(sb, ino))) {
    throw new CorruptError('inode', 'illegal inode number', { inode: ino }, 'ino', ino, `${min}..${sb.inodesCount}, not reserved`);
  }
}

/**
 * Parses and validates the on-disk inode `raw` (s_inode_size bytes, copied by the caller)
 * as __ext4_iget does. Throws ChecksumError, CorruptError, or FsError(ESTALE) for an
 * unallocated inode reached through a non-special read.
 */
export function parseInode(raw: Uint8Array, ino: number, sb: Superblock, ctx: FsContext, at: Where, opts: InodeReadOptions = {}): Inode {
  const here: Where = { ...at, inode: ino };
  const r = INODE.decode(raw, 0, sb.inodeSize, corruptBounds('inode', here));
  const bad = (reason: string, field?: string, value?: unknown, expected?: unknown) => new CorruptError('inode', reason, here, field, value, expected);

  let extraIsize = 0;
  if (sb.inodeSize > EXT4_GOOD_OLD_INODE_SIZE) {
    extraIsize = r.i_extra_isize;
    if (EXT4_GOOD_OLD_INODE_SIZE + extraIsize > sb.inodeSize || (extraIsize & 3) !== 0) {
      throw bad('bad extra_isize', 'i_extra_isize', extraIsize, `multiple of 4, <= ${sb.inodeSize - EXT4_GOOD_OLD_INODE_SIZE}`);
    }
  }
  const csumSeed = ctx.csumSeed === null ? 0 : inodeCsumSeed(ctx.csumSeed, ino, r.i_generation);
  verifyInodeCsum(raw, sb, ino, csumSeed, extraIsize, here);

  const mode = r.i_mode;
  const links = r.i_links_count;
  if (links === 0) {
    if ((mode === 0 || opts.special || !opts.orphan) && ino !== EXT4_BOOT_LOADER_INO) {
      if (opts.special) throw bad('special inode unallocated', 'i_links_count', 0);
      throw new FsError(ESTALE, `inode ${ino} is not in use`);
    }
  }
  const flags = r.i_flags >>> 0;
  const fits = (off: number, w: number) => sb.inodeSize > EXT4_GOOD_OLD_INODE_SIZE && fitsInInode(extraIsize, off, w);

  // Feature/flag consistency: a flag whose feature is off means the inode is not what it claims.
  if ((flags & EXT4_INLINE_DATA_FL) && !sb.features.has('inline_data')) throw bad('inline data flag without inline_data feature', 'i_flags', flags);
  if ((flags & EXT4_EXTENTS_FL) && !sb.features.has('extents')) throw bad('extents flag without extents feature', 'i_flags', flags);
  if ((flags & EXT4_EXTENTS_FL) && (flags & EXT4_INLINE_DATA_FL)) throw bad('both extents and inline data flags', 'i_flags', flags);
  if ((flags & EXT4_CASEFOLD_FL) && !sb.features.has('casefold')) throw bad('casefold flag without casefold feature', 'i_flags', flags);

  let blocks512 = BigInt(r.i_blocks_lo);
  if (sb.features.has('huge_file')) {
    blocks512 = (BigInt(r.l_i_blocks_high) << 32n) | BigInt(r.i_blocks_lo);
    if (flags & EXT4_HUGE_FILE_FL) blocks512 <<= BigInt(sb.blockBits - 9);
  }

  let fileAcl = r.i_file_acl_lo;
  if (sb.features.has('64bit')) fileAcl += r.l_i_file_acl_high * 2 ** 32;

  // ext4_isize: i_size_high counts only for regular files, or for anything with largedir.
  const type = typeOf(mode);
  const useHigh = sb.features.has('largedir') || type === 'file';
  const sizeHi = useHigh ? r.i_size_high : 0;
  if (sizeHi & 0x8000_0000) throw bad('bad i_size value', 'i_size_high', sizeHi);
  if (sizeHi >= 0x20_0000) throw bad('i_size beyond 2^53 bytes', 'i_size_high', sizeHi, '< 0x200000');
  const size = sizeHi * 2 ** 32 + r.i_size_lo;

  const time = (base: number, extraOff: number, extra: number): Timespec =>
    fits(extraOff, 4) ? decodeExtraTime(base, extra) : { sec: base | 0, nsec: 0 };
  const crtime = fits(0x90, 4) ? time(r.i_crtime, 0x94, r.i_crtime_extra) : null;

  if (fileAcl !== 0) ctx.checkDataRange(fileAcl, 1, 'inode', { ...here, block: fileAcl, inode: undefined });

  let rdev: Inode['rdev'] = null;
  let isFastSymlink = false;
  const i0 = new DataView(r.i_block.buffer, r.i_block.byteOffset, 60);
  switch (type) {
    case 'file': case 'dir': break;
    case 'symlink': {
      if (flags & (EXT4_APPEND_FL | EXT4_IMMUTABLE_FL)) throw bad('immutable or append flags not allowed on symlinks', 'i_flags', flags);
      if (flags & EXT4_EA_INODE_FL) {
        isFastSymlink = size > 0 && size < 60;
      } else {
        const eaBlocks = fileAcl ? BigInt(sb.clusterSize >> 9) : 0n;
        isFastSymlink = !(flags & EXT4_INLINE_DATA_FL) && blocks512 - eaBlocks === 0n;
      }
      if (isFastSymlink && !(flags & EXT4_ENCRYPT_FL)) { // encrypted: i_block holds ciphertext
        const n = r.i_block.indexOf(0);
        const len = n < 0 ? 60 : n;
        if (size === 0 || size >= 60 || len !== size) throw bad('invalid fast symlink length', 'i_size', size, `strlen ${len}`);
      }
      break;
    }
    case 'chr': case 'blk': case 'fifo': case 'sock': {
      const b0 = i0.getUint32(0, true);
      rdev = b0 ? oldDecodeDev(b0 & 0xffff) : newDecodeDev(i0.getUint32(4, true));
      break;
    }
    default:
      if (ino !== EXT4_BOOT_LOADER_INO) throw bad('bogus i_mode', 'i_mode', `0${mode.toString(8)}`);
  }

  const projid = sb.features.has('project') && fits(0x9c, 4) ? r.i_projid : 0;
  const version = fits(0x98, 4) ? (BigInt(r.i_version_hi) << 32n) | BigInt(r.l_i_version) : BigInt(r.l_i_version);
  const info: InodeInfo = {
    ino,
    generation: r.i_generation,
    mode,
    flags,
    size,
    iBlock: r.i_block,
    raw,
    extraEnd: EXT4_GOOD_OLD_INODE_SIZE + extraIsize,
    fileAcl,
    csumSeed,
  };
  return {
    ino,
    info,
    raw: r,
    mode,
    type: type ?? 'bootloader',
    uid: (r.i_uid | (r.l_i_uid_high << 16)) >>> 0,
    gid: (r.i_gid | (r.l_i_gid_high << 16)) >>> 0,
    size,
    links,
    blocks512,
    flags,
    generation: r.i_generation,
    fileAcl,
    atime: time(r.i_atime, 0x8c, r.i_atime_extra),
    mtime: time(r.i_mtime, 0x88, r.i_mtime_extra),
    ctime: time(r.i_ctime, 0x84, r.i_ctime_extra),
    crtime,
    dtime: r.i_dtime,
    rdev,
    rdevEncoded: rdev ? newEncodeDev(rdev.major, rdev.minor) : 0,
    projid,
    extraIsize,
    version,
    isFastSymlink,
  };
}

// The contract every structure decoder in ext4/ is written against: geometry proven by the
// superblock/group code, a block reader that goes through the bounded cache, and checksum
// seeds. Structure files take an FsContext (plus the bytes they decode) and never reach
// for the device or the superblock themselves, so each can be tested on blocks cut from
// an image and fuzzed in isolation.

import { crc32c } from '../util/crc.js';
import { FeatureSet } from './features.js';
import { Where } from './errors.js';

/** A filesystem block number, already proven < blocksCount where it came from disk. */
export type FsBlock = number;
/** A block index within a file (logical block). */
export type FileBlock = number;
export type InodeNo = number;
export type GroupNo = number;

export interface FsContext {
  /** Bytes per block: 1024 << s_log_block_size, proven 1 KiB .. 64 KiB. */
  readonly blockSize: number;
  readonly blockBits: number;
  /** s_blocks_count (hi:lo), proven <= device size / blockSize (so a safe number). */
  readonly blocksCount: number;
  readonly firstDataBlock: number;
  readonly inodesCount: number;
  readonly inodesPerGroup: number;
  /** s_first_ino: the first non-reserved inode (11 on rev 0). */
  readonly firstIno: number;
  readonly inodeSize: number;
  /** log2(blocks per cluster); 0 unless bigalloc. */
  readonly clusterBits: number;
  readonly features: FeatureSet;
  /** metadata_csum on: the fs checksum seed (s_checksum_seed or crc32c(~0, s_uuid)). */
  readonly csumSeed: number | null;
  /** s_hash_seed words and default hash version, for htree. */
  readonly hashSeed: Uint32Array;
  readonly defHashVersion: number;
  /** s_flags EXT2_FLAGS_UNSIGNED_HASH: dir hashes treat name bytes as unsigned chars. */
  readonly hashUnsigned: boolean;
  /** The encoding flags if casefold; null otherwise. */
  readonly casefold: { encoding: number; flags: number } | null;

  /**
   * One block through the bounded cache. The returned bytes are shared: callers never
   * mutate them. Throws IoError (device) or CorruptError (block number out of range).
   * `what` names the structure for error messages.
   */
  readBlock(block: FsBlock, what: string, at?: Where): Uint8Array;

  /**
   * block_validity: throws CorruptError unless [start, start+count) lies inside the data
   * area and overlaps no system zone (superblocks, descriptors, bitmaps, inode tables,
   * journal inode blocks) — the kernel's ext4_inode_block_valid().
   */
  checkDataRange(start: FsBlock, count: number, structure: string, at: Where): void;
}

/** The per-inode checksum seed: crc32c(crc32c(fsSeed, le32 ino), le32 generation). */
export function inodeCsumSeed(fsSeed: number, ino: number, generation: number): number {
  const b = new Uint8Array(4);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, ino >>> 0, true);
  const s = crc32c(fsSeed, b);
  dv.setUint32(0, generation >>> 0, true);
  return crc32c(s, b);
}

/**
 * The facts about one inode that the trees under it (extents, indirect blocks, inline
 * data, directories, xattrs) need, decoded and validated by inode.ts.
 */
export interface InodeInfo {
  readonly ino: InodeNo;
  readonly generation: number;
  readonly mode: number;
  readonly flags: number; // i_flags
  /** i_size (hi:lo) as a safe number (files > 2^53 bytes are refused as corrupt). */
  readonly size: number;
  /** The 60 bytes of i_block (extent root, block map, inline data, fast symlink). */
  readonly iBlock: Uint8Array;
  /** The whole on-disk inode (s_inode_size bytes) for in-inode xattrs. */
  readonly raw: Uint8Array;
  /** 128 + i_extra_isize: where the in-inode xattr area starts (validated). */
  readonly extraEnd: number;
  /** i_file_acl (hi:lo): the xattr block, 0 if none (validated < blocksCount). */
  readonly fileAcl: FsBlock;
  /** Per-inode csum seed when metadata_csum, else 0. */
  readonly csumSeed: number;
}

export const EXT4_EXTENTS_FL = 0x80000;
export const EXT4_INLINE_DATA_FL = 0x10000000;
export const EXT4_INDEX_FL = 0x1000;
export const EXT4_EA_INODE_FL = 0x200000;
export const EXT4_HUGE_FILE_FL = 0x40000;
export const EXT4_CASEFOLD_FL = 0x40000000;
export const EXT4_ENCRYPT_FL = 0x800;
export const EXT4_VERITY_FL = 0x100000;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

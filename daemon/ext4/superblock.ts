// The ext4 superblock (struct ext4_super_block, 1024 bytes, little-endian): always at byte
// 1024 of the filesystem (block 1 with 1 KiB blocks, inside block 0 otherwise), with
// backups at the start of groups chosen by sparse_super / sparse_super2. Features change
// the meaning of many fields: 64bit (the _hi halves, s_desc_size), bigalloc (clusters),
// metadata_csum (s_checksum, s_checksum_type), csum_seed, meta_bg, casefold (s_encoding).
// Validation follows fs/ext4/super.c: __ext4_fill_super, ext4_check_geometry,
// ext4_inode_info_init, ext4_handle_clustersize, ext4_check_feature_compatibility.
// Kernel doc: Documentation/filesystems/ext4/super.rst.

import { Decoded, struct } from '../util/bytes.js';
import { hiLo64, isPow2 } from '../util/checked.js';
import { crc32c } from '../util/crc.js';
import { ChecksumError, CorruptError, IncompatibleError, corruptBounds } from './errors.js';
import { FeatureSet, INCOMPAT, RO_COMPAT } from './features.js';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT4_SUPER_MAGIC = 0xef53;
export const EXT4_GOOD_OLD_REV = 0;
export const EXT4_DYNAMIC_REV = 1;
export const EXT4_GOOD_OLD_INODE_SIZE = 128;
export const EXT4_GOOD_OLD_FIRST_INO = 11;
export const EXT4_CRC32C_CHKSUM = 1;
export const EXT4_OS_LINUX = 0;
export const EXT4_OS_HURD = 1;
export const EXT4_MIN_DESC_SIZE = 32;
export const EXT4_MIN_DESC_SIZE_64BIT = 64;
export const EXT4_MAX_DESC_SIZE = 1024;
export const EXT4_ENC_UTF8_12_1 = 1;
/** s_state bits. */
export const EXT4_VALID_FS = 0x1;
export const EXT4_ERROR_FS = 0x2;
export const EXT4_ORPHAN_FS = 0x4;

export const SUPERBLOCK = struct('ext4_super_block', 1024, [
  ['s_inodes_count', 'u32le', 0x0],
  ['s_blocks_count_lo', 'u32le', 0x4],
  ['s_r_blocks_count_lo', 'u32le', 0x8],
  ['s_free_blocks_count_lo', 'u32le', 0xc],
  ['s_free_inodes_count', 'u32le', 0x10],
  ['s_first_data_block', 'u32le', 0x14],
  ['s_log_block_size', 'u32le', 0x18],
  ['s_log_cluster_size', 'u32le', 0x1c],
  ['s_blocks_per_group', 'u32le', 0x20],
  ['s_clusters_per_group', 'u32le', 0x24],
  ['s_inodes_per_group', 'u32le', 0x28],
  ['s_mtime', 'u32le', 0x2c],
  ['s_wtime', 'u32le', 0x30],
  ['s_mnt_count', 'u16le', 0x34],
  ['s_max_mnt_count', 's16le', 0x36],
  ['s_magic', 'u16le', 0x38],
  ['s_state', 'u16le', 0x3a],
  ['s_errors', 'u16le', 0x3c],
  ['s_minor_rev_level', 'u16le', 0x3e],
  ['s_lastcheck', 'u32le', 0x40],
  ['s_checkinterval', 'u32le', 0x44],
  ['s_creator_os', 'u32le', 0x48],
  ['s_rev_level', 'u32le', 0x4c],
  ['s_def_resuid', 'u16le', 0x50],
  ['s_def_resgid', 'u16le', 0x52],
  ['s_first_ino', 'u32le', 0x54],
  ['s_inode_size', 'u16le', 0x58],
  ['s_block_group_nr', 'u16le', 0x5a],
  ['s_feature_compat', 'u32le', 0x5c],
  ['s_feature_incompat', 'u32le', 0x60],
  ['s_feature_ro_compat', 'u32le', 0x64],
  ['s_uuid', 'u8[16]', 0x68],
  ['s_volume_name', 'u8[16]', 0x78],
  ['s_last_mounted', 'u8[64]', 0x88],
  ['s_algorithm_usage_bitmap', 'u32le', 0xc8],
  ['s_prealloc_blocks', 'u8', 0xcc],
  ['s_prealloc_dir_blocks', 'u8', 0xcd],
  ['s_reserved_gdt_blocks', 'u16le', 0xce],
  ['s_journal_uuid', 'u8[16]', 0xd0],
  ['s_journal_inum', 'u32le', 0xe0],
  ['s_journal_dev', 'u32le', 0xe4],
  ['s_last_orphan', 'u32le', 0xe8],
  ['s_hash_seed', 'u8[16]', 0xec],
  ['s_def_hash_version', 'u8', 0xfc],
  ['s_jnl_backup_type', 'u8', 0xfd],
  ['s_desc_size', 'u16le', 0xfe],
  ['s_default_mount_opts', 'u32le', 0x100],
  ['s_first_meta_bg', 'u32le', 0x104],
  ['s_mkfs_time', 'u32le', 0x108],
  ['s_jnl_blocks', 'u8[68]', 0x10c],
  ['s_blocks_count_hi', 'u32le', 0x150],
  ['s_r_blocks_count_hi', 'u32le', 0x154],
  ['s_free_blocks_count_hi', 'u32le', 0x158],
  ['s_min_extra_isize', 'u16le', 0x15c],
  ['s_want_extra_isize', 'u16le', 0x15e],
  ['s_flags', 'u32le', 0x160],
  ['s_raid_stride', 'u16le', 0x164],
  ['s_mmp_update_interval', 'u16le', 0x166],
  ['s_mmp_block', 'u64le', 0x168],
  ['s_raid_stripe_width', 'u32le', 0x170],
  ['s_log_groups_per_flex', 'u8', 0x174],
  ['s_checksum_type', 'u8', 0x175],
  ['s_encryption_level', 'u8', 0x176],
  ['s_reserved_pad', 'u8', 0x177],
  ['s_kbytes_written', 'u64le', 0x178],
  ['s_snapshot_inum', 'u32le', 0x180],
  ['s_snapshot_id', 'u32le', 0x184],
  ['s_snapshot_r_blocks_count', 'u64le', 0x188],
  ['s_snapshot_list', 'u32le', 0x190],
  ['s_error_count', 'u32le', 0x194],
  ['s_first_error_time', 'u32le', 0x198],
  ['s_first_error_ino', 'u32le', 0x19c],
  ['s_first_error_block', 'u64le', 0x1a0],
  ['s_first_error_func', 'u8[32]', 0x1a8],
  ['s_first_error_line', 'u32le', 0x1c8],
  ['s_last_error_time', 'u32le', 0x1cc],
  ['s_last_error_ino', 'u32le', 0x1d0],
  ['s_last_error_line', 'u32le', 0x1d4],
  ['s_last_error_block', 'u64le', 0x1d8],
  ['s_last_error_func', 'u8[32]', 0x1e0],
  ['s_mount_opts', 'u8[64]', 0x200],
  ['s_usr_quota_inum', 'u32le', 0x240],
  ['s_grp_quota_inum', 'u32le', 0x244],
  ['s_overhead_clusters', 'u32le', 0x248],
  ['s_backup_bgs_0', 'u32le', 0x24c],
  ['s_backup_bgs_1', 'u32le', 0x250],
  ['s_encrypt_algos', 'u8[4]', 0x254],
  ['s_encrypt_pw_salt', 'u8[16]', 0x258],
  ['s_lpf_ino', 'u32le', 0x268],
  ['s_prj_quota_inum', 'u32le', 0x26c],
  ['s_checksum_seed', 'u32le', 0x270],
  ['s_wtime_hi', 'u8', 0x274],
  ['s_mtime_hi', 'u8', 0x275],
  ['s_mkfs_time_hi', 'u8', 0x276],
  ['s_lastcheck_hi', 'u8', 0x277],
  ['s_first_error_time_hi', 'u8', 0x278],
  ['s_last_error_time_hi', 'u8', 0x279],
  ['s_first_error_errcode', 'u8', 0x27a],
  ['s_last_error_errcode', 'u8', 0x27b],
  ['s_encoding', 'u16le', 0x27c],
  ['s_encoding_flags', 'u16le', 0x27e],
  ['s_orphan_file_inum', 'u32le', 0x280],
  ['s_reserved', 'u8[376]', 0x284],
  ['s_checksum', 'u32le', 0x3fc],
] as const);

export type RawSuperblock = Decoded<typeof SUPERBLOCK.fields>;
export const SB_CHECKSUM_OFFSET = 0x3fc;

export type FsState = 'clean' | 'not-clean' | 'errors';

/** The validated superblock: geometry proven consistent, counts proven within the device. */
export interface Superblock {
  readonly raw: RawSuperblock;
  readonly features: FeatureSet;
  readonly blockSize: number;
  readonly blockBits: number;
  readonly clusterSize: number;
  /** log2(blocks per cluster): 0 unless bigalloc. */
  readonly clusterBits: number;
  readonly blocksCount: number;
  readonly reservedBlocksCount: number;
  readonly freeBlocksCount: number;
  readonly freeInodesCount: number;
  readonly inodesCount: number;
  readonly firstDataBlock: number;
  readonly blocksPerGroup: number;
  readonly clustersPerGroup: number;
  readonly inodesPerGroup: number;
  readonly inodeSize: number;
  readonly firstIno: number;
  readonly inodesPerBlock: number;
  /** Blocks of inode table per group (s_itb_per_group). */
  readonly inodeTableBlocks: number;
  readonly descSize: number;
  readonly descPerBlock: number;
  readonly groupsCount: number;
  /** Blocks of group descriptors (s_gdb_count). */
  readonly gdtBlocks: number;
  readonly reservedGdtBlocks: number;
  readonly firstMetaBg: number;
  /** 1 << s_log_groups_per_flex, or 1 when flex_bg is off or the log is out of range. */
  readonly groupsPerFlex: number;
  readonly revLevel: number;
  readonly creatorOs: number;
  readonly state: FsState;
  readonly stateBits: number;
  readonly needsRecovery: boolean;
  readonly errorsBehaviour: number;
  readonly mountCount: number;
  readonly maxMountCount: number;
  readonly uuid: Uint8Array;
  readonly uuidString: string;
  readonly label: string;
  readonly lastMounted: string;
  /** Seconds since the epoch, widened with the _hi bytes as ext4_get_tstamp does. */
  readonly times: { mtime: number; wtime: number; mkfsTime: number; lastcheck: number };
  readonly journal: { inum: number; dev: number; uuid: Uint8Array; backupType: number; blocks: Uint32Array };
  readonly hashSeed: Uint32Array;
  readonly defHashVersion: number;
  readonly casefold: { encoding: number; flags: number } | null;
  readonly orphanFileInum: number;
  /** s_last_orphan: head of the orphan inode list. */
  readonly firstOrphan: number;
  readonly quotaInodes: { usr: number; grp: number; prj: number };
  readonly mmpBlock: number;
  /** sparse_super2: the (up to two) groups holding backups. */
  readonly backupBgs: readonly [number, number];
  readonly overheadClusters: number;
  readonly minExtraIsize: number;
  readonly wantExtraIsize: number;
  /** metadata_csum: s_checksum_seed or crc32c(~0, uuid); also used by ea_inode hashes. */
  readonly csumSeed: number | null;
  /** Why the filesystem may only be opened read-only (unknown ro_compat...), or null. */
  readonly readOnlyReason: string | null;
  readonly warnings: readonly string[];
}

const at = { block: 0, offset: SUPERBLOCK_OFFSET };
const bounds = corruptBounds('superblock', at);

function bad(reason: string, field?: string, value?: unknown, expected?: unknown): CorruptError {
  return new CorruptError('superblock', reason, at, field, value, expected);
}

export function decodeSuperblock(bytes: Uint8Array, off = 0): RawSuperblock {
  return SUPERBLOCK.decode(bytes, off, SUPERBLOCK.size, bounds);
}

/** crc32c(~0, sb[0..0x3FC]), as ext4_superblock_csum. */
export function superblockCsum(bytes: Uint8Array, off = 0): number {
  return crc32c(0xffffffff, bytes, off, off + SB_CHECKSUM_OFFSET);
}

/** Throws ChecksumError unless metadata_csum is off or s_checksum matches. */
export function verifySuperblockCsum(bytes: Uint8Array, off = 0): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, SUPERBLOCK_SIZE);
  if ((dv.getUint32(0x64, true) & RO_COMPAT.metadata_csum) === 0) return;
  const stored = dv.getUint32(SB_CHECKSUM_OFFSET, true);
  const computed = superblockCsum(bytes, off);
  if (stored !== computed) throw new ChecksumError('superblock', at, stored, computed);
}

/** Re-signs a superblock in place (write path, tests). */
export function setSuperblockCsum(bytes: Uint8Array, off = 0): void {
  new DataView(bytes.buffer, bytes.byteOffset + off, SUPERBLOCK_SIZE).setUint32(SB_CHECKSUM_OFFSET, superblockCsum(bytes, off), true);
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('latin1');
}

export function uuidToString(u: Uint8Array): string {
  const h = Buffer.from(u).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function words(b: Uint8Array, n: number): Uint32Array {
  const out = new Uint32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, true);
  return out;
}

export interface SuperblockOptions {
  /** Bytes of the device under the filesystem: blocks_count is checked against it. */
  deviceBytes: number;
}

/**
 * Decodes and validates the superblock at bytes[off..off+1024). Corruption throws
 * CorruptError (a bad checksum ChecksumError); features we cannot read throw
 * IncompatibleError; features we can only read set readOnlyReason.
 */
export function parseSuperblock(bytes: Uint8Array, opts: SuperblockOptions, off = 0): Superblock {
  const r = decodeSuperblock(bytes, off);
  const warnings: string[] = [];
  if (r.s_magic !== EXT4_SUPER_MAGIC) throw bad('bad magic', 's_magic', r.s_magic, EXT4_SUPER_MAGIC);
  const features = new FeatureSet(r.s_feature_compat, r.s_feature_incompat, r.s_feature_ro_compat);

  // Checksum type and checksum come first: nothing else in a block that fails them counts.
  if (features.has('metadata_csum')) {
    if (r.s_checksum_type !== EXT4_CRC32C_CHKSUM) throw bad('unknown checksum type', 's_checksum_type', r.s_checksum_type, EXT4_CRC32C_CHKSUM);
    verifySuperblockCsum(bytes, off);
    if (features.has('gdt_csum')) warnings.push('metadata_csum and uninit_bg are redundant flags');
  }

  // Feature policy (ext4_check_feature_compatibility).
  if (r.s_rev_level === EXT4_GOOD_OLD_REV && (r.s_feature_compat || r.s_feature_incompat || r.s_feature_ro_compat)) {
    warnings.push('feature flags set on rev 0 fs');
  }
  const badIncompat = features.unsupportedIncompat();
  if (badIncompat.length) {
    throw new IncompatibleError(badIncompat.join(','), "couldn't mount because of unsupported optional features");
  }
  const roReasons: string[] = [];
  const badRo = features.unsupportedRoCompat();
  if (badRo.length) roReasons.push(`unsupported ro_compat features: ${badRo.join(',')}`);
  if (features.has('read_only')) roReasons.push('filesystem has the read_only feature');
  if (r.s_rev_level > EXT4_DYNAMIC_REV) roReasons.push(`revision level too high (${r.s_rev_level})`);
  if (features.has('bigalloc') && !features.has('extents')) {
    throw new IncompatibleError('bigalloc', "can't support bigalloc feature without extents feature");
  }
  if (features.has('encrypt') && r.s_encryption_level !== 0) {
    throw new IncompatibleError('encrypt', `unsupported encryption level ${r.s_encryption_level}`);
  }
  if (r.s_creator_os === EXT4_OS_HURD && features.has('64bit')) {
    throw new IncompatibleError('64bit', "the Hurd can't support 64-bit file systems");
  }

  // Block and cluster size (ext4_handle_clustersize).
  if (r.s_log_block_size > 6) throw bad('invalid log block size', 's_log_block_size', r.s_log_block_size, '<= 6');
  const blockBits = 10 + r.s_log_block_size;
  const blockSize = 1 << blockBits;
  let clusterBits = 0;
  let clustersPerGroup: number;
  const blocksPerGroup = r.s_blocks_per_group;
  if (features.has('bigalloc')) {
    if (r.s_log_cluster_size < r.s_log_block_size) throw bad('cluster size smaller than block size', 's_log_cluster_size', r.s_log_cluster_size, `>= ${r.s_log_block_size}`);
    if (r.s_log_cluster_size > 20) throw bad('invalid log cluster size', 's_log_cluster_size', r.s_log_cluster_size, '<= 20');
    clusterBits = r.s_log_cluster_size - r.s_log_block_size;
    clustersPerGroup = r.s_clusters_per_group;
    if (clustersPerGroup > blockSize * 8) throw bad('#clusters per group too big', 's_clusters_per_group', clustersPerGroup, `<= ${blockSize * 8}`);
    if (blocksPerGroup !== clustersPerGroup * 2 ** clusterBits) {
      throw bad('blocks per group and clusters per group inconsistent', 's_blocks_per_group', blocksPerGroup, clustersPerGroup * 2 ** clusterBits);
    }
  } else {
    if (r.s_log_cluster_size !== r.s_log_block_size) throw bad('fragment/cluster size != block size', 's_log_cluster_size', r.s_log_cluster_size, r.s_log_block_size);
    if (blocksPerGroup > blockSize * 8) throw bad('#blocks per group too big', 's_blocks_per_group', blocksPerGroup, `<= ${blockSize * 8}`);
    clustersPerGroup = blocksPerGroup;
  }
  if (blocksPerGroup === 0 || clustersPerGroup === 0) throw bad('zero blocks per group', 's_blocks_per_group', blocksPerGroup, '> 0');
  const clusterSize = blockSize * 2 ** clusterBits;

  // Inode geometry (ext4_inode_info_init, ext4_block_group_meta_init).
  let inodeSize = EXT4_GOOD_OLD_INODE_SIZE;
  let firstIno = EXT4_GOOD_OLD_FIRST_INO;
  if (r.s_rev_level !== EXT4_GOOD_OLD_REV) {
    inodeSize = r.s_inode_size;
    firstIno = r.s_first_ino;
    if (firstIno < EXT4_GOOD_OLD_FIRST_INO) throw bad('invalid first ino', 's_first_ino', firstIno, `>= ${EXT4_GOOD_OLD_FIRST_INO}`);
    if (inodeSize < EXT4_GOOD_OLD_INODE_SIZE || !isPow2(inodeSize) || inodeSize > blockSize) {
      throw bad('unsupported inode size', 's_inode_size', inodeSize, `power of 2 in 128..${blockSize}`);
    }
  }
  if (inodeSize > EXT4_GOOD_OLD_INODE_SIZE && features.has('extra_isize')) {
    const max = inodeSize - EXT4_GOOD_OLD_INODE_SIZE;
    if (r.s_want_extra_isize > max) throw bad('bad s_want_extra_isize', 's_want_extra_isize', r.s_want_extra_isize, `<= ${max}`);
    if (r.s_min_extra_isize > max) throw bad('bad s_min_extra_isize', 's_min_extra_isize', r.s_min_extra_isize, `<= ${max}`);
  }
  const inodesPerBlock = blockSize / inodeSize;
  const inodesPerGroup = r.s_inodes_per_group;
  if (inodesPerGroup < inodesPerBlock || inodesPerGroup > blockSize * 8) {
    throw bad('invalid inodes per group', 's_inodes_per_group', inodesPerGroup, `${inodesPerBlock}..${blockSize * 8}`);
  }
  // The kernel divides; a remainder would leave a partial inode-table block unaccounted.
  const inodeTableBlocks = Math.ceil(inodesPerGroup / inodesPerBlock);

  let descSize = EXT4_MIN_DESC_SIZE;
  if (features.has('64bit')) {
    descSize = r.s_desc_size;
    if (descSize < EXT4_MIN_DESC_SIZE_64BIT || descSize > EXT4_MAX_DESC_SIZE || !isPow2(descSize)) {
      throw bad('unsupported descriptor size', 's_desc_size', descSize, `power of 2 in ${EXT4_MIN_DESC_SIZE_64BIT}..${EXT4_MAX_DESC_SIZE}`);
    }
  }
  const descPerBlock = blockSize / descSize;

  // Geometry against the device (ext4_check_geometry).
  if (r.s_reserved_gdt_blocks > blockSize / 4) {
    throw bad('number of reserved GDT blocks insanely large', 's_reserved_gdt_blocks', r.s_reserved_gdt_blocks, `<= ${blockSize / 4}`);
  }
  const blocks64 = features.has('64bit') ? hiLo64(r.s_blocks_count_hi, r.s_blocks_count_lo) : BigInt(r.s_blocks_count_lo);
  const deviceBlocks = BigInt(Math.floor(opts.deviceBytes / blockSize));
  if (blocks64 > deviceBlocks) {
    throw bad('bad geometry: block count exceeds size of device', 's_blocks_count', blocks64, `<= ${deviceBlocks}`);
  }
  const blocksCount = Number(blocks64); // <= device blocks, so a safe integer
  const firstDataBlock = r.s_first_data_block;
  if (firstDataBlock >= blocksCount) {
    throw bad('bad geometry: first data block is beyond end of filesystem', 's_first_data_block', firstDataBlock, `< ${blocksCount}`);
  }
  if (firstDataBlock === 0 && blockSize === 1024 && clusterBits === 0) {
    throw bad('bad geometry: first data block is 0 with a 1k block and cluster size', 's_first_data_block', 0, 1);
  }
  const groupsCount = Math.floor((blocksCount - firstDataBlock + blocksPerGroup - 1) / blocksPerGroup);
  if (groupsCount > 2 ** 32 - descPerBlock) throw bad('groups count too large', 'groups', groupsCount);
  if (groupsCount * inodesPerGroup !== r.s_inodes_count) {
    throw bad('inodes count not valid', 's_inodes_count', r.s_inodes_count, groupsCount * inodesPerGroup);
  }
  const gdtBlocks = Math.ceil(groupsCount / descPerBlock);
  if (features.has('meta_bg') && r.s_first_meta_bg > gdtBlocks) {
    throw bad('first meta block group too large', 's_first_meta_bg', r.s_first_meta_bg, `<= ${gdtBlocks}`);
  }
  // The descriptors right after the superblock (before the first meta_bg) must fit on the device.
  const classicGdt = features.has('meta_bg') ? Math.min(r.s_first_meta_bg, gdtBlocks) : gdtBlocks;
  if ((blockSize === 1024 ? 2 : 1) + classicGdt > blocksCount) {
    throw bad('bad geometry: group descriptors beyond end of filesystem', 'gdt_blocks', classicGdt, `< ${blocksCount}`);
  }

  const inodesCount = r.s_inodes_count;
  const inoOk = (v: number): boolean => v >= 1 && v <= inodesCount;
  // Reserved-inode fields count only when their feature is on (the kernel ignores them
  // otherwise); a bad one is corruption where the kernel's mount would fail on it.
  const featureIno = (on: boolean, field: string, v: number): number => {
    if (!on || v === 0) return 0;
    if (!inoOk(v)) throw bad('inode number out of range', field, v, `1..${inodesCount}`);
    return v;
  };

  // Journal fields: an in-fs journal needs a valid inode; an external journal is read-only here.
  const jInum = featureIno(features.has('has_journal'), 's_journal_inum', r.s_journal_inum);
  if (features.has('has_journal')) {
    if (jInum === 0 && r.s_journal_dev === 0) throw bad('journal enabled but no journal inode or device', 's_journal_inum', 0);
    if (jInum === 0) {
      if (r.s_feature_incompat & INCOMPAT.recover) throw new IncompatibleError('journal_dev', 'external journal needs recovery');
      roReasons.push('external journal device');
    }
  }
  const orphanFileInum = featureIno(features.has('orphan_file'), 's_orphan_file_inum', r.s_orphan_file_inum);
  // Quota inodes are only opened by a read-write mount (ext4_enable_quotas): a bad one
  // leaves the filesystem readable, as the kernel's ro mount does.
  const quotaIno = (field: string, v: number): number => {
    if (!features.has('quota')) return 0;
    if (field === 's_prj_quota_inum' && !features.has('project')) return 0;
    if (v === 0 || inoOk(v)) return v;
    roReasons.push(`invalid quota inode (${field}=${v})`);
    return 0;
  };
  const quotaInodes = {
    usr: quotaIno('s_usr_quota_inum', r.s_usr_quota_inum),
    grp: quotaIno('s_grp_quota_inum', r.s_grp_quota_inum),
    prj: quotaIno('s_prj_quota_inum', r.s_prj_quota_inum),
  };
  if ((r.s_feature_incompat & INCOMPAT.recover) && !features.has('has_journal')) {
    throw bad('needs_recovery set without a journal', 's_feature_incompat', r.s_feature_incompat);
  }

  let mmpBlock = 0;
  if (features.has('mmp')) {
    if (r.s_mmp_block < BigInt(firstDataBlock + 1) || r.s_mmp_block >= blocks64) {
      throw bad('invalid MMP block in superblock', 's_mmp_block', r.s_mmp_block, `${firstDataBlock + 1}..${blocksCount - 1}`);
    }
    mmpBlock = Number(r.s_mmp_block);
  }

  let casefold: Superblock['casefold'] = null;
  if (features.has('casefold')) {
    if (r.s_encoding !== EXT4_ENC_UTF8_12_1) throw new IncompatibleError('casefold', `unknown encoding ${r.s_encoding}`);
    casefold = { encoding: r.s_encoding, flags: r.s_encoding_flags };
  }

  let csumSeed: number | null = null;
  if (features.has('csum_seed')) csumSeed = r.s_checksum_seed >>> 0;
  else if (features.has('metadata_csum') || features.has('ea_inode')) csumSeed = crc32c(0xffffffff, r.s_uuid);

  const log = r.s_log_groups_per_flex;
  const groupsPerFlex = features.has('flex_bg') && log >= 1 && log <= 31 ? 2 ** log : 1;

  const stateBits = r.s_state;
  const state: FsState = stateBits & EXT4_ERROR_FS ? 'errors' : stateBits & EXT4_VALID_FS ? 'clean' : 'not-clean';
  if (state !== 'clean') warnings.push(state === 'errors' ? 'mounting fs with errors' : 'mounting unchecked fs');

  const r64 = (hi: number, lo: number): number => {
    const v = features.has('64bit') ? hiLo64(hi, lo) : BigInt(lo);
    return v > blocks64 ? blocksCount : Number(v); // counts are advisory: clamp, as statfs does
  };
  const time = (lo: number, hi: number): number => lo + hi * 2 ** 32;

  return {
    raw: r,
    features,
    blockSize,
    blockBits,
    clusterSize,
    clusterBits,
    blocksCount,
    reservedBlocksCount: r64(r.s_r_blocks_count_hi, r.s_r_blocks_count_lo),
    freeBlocksCount: r64(r.s_free_blocks_count_hi, r.s_free_blocks_count_lo),
    freeInodesCount: Math.min(r.s_free_inodes_count, inodesCount),
    inodesCount,
    firstDataBlock,
    blocksPerGroup,
    clustersPerGroup,
    inodesPerGroup,
    inodeSize,
    firstIno,
    inodesPerBlock,
    inodeTableBlocks,
    descSize,
    descPerBlock,
    groupsCount,
    gdtBlocks,
    reservedGdtBlocks: r.s_reserved_gdt_blocks,
    firstMetaBg: r.s_first_meta_bg,
    groupsPerFlex,
    revLevel: r.s_rev_level,
    creatorOs: r.s_creator_os,
    state,
    stateBits,
    needsRecovery: (r.s_feature_incompat & INCOMPAT.recover) !== 0,
    errorsBehaviour: r.s_errors,
    mountCount: r.s_mnt_count,
    maxMountCount: r.s_max_mnt_count,
    uuid: r.s_uuid,
    uuidString: uuidToString(r.s_uuid),
    label: cString(r.s_volume_name),
    lastMounted: cString(r.s_last_mounted),
    times: {
      mtime: time(r.s_mtime, r.s_mtime_hi),
      wtime: time(r.s_wtime, r.s_wtime_hi),
      mkfsTime: time(r.s_mkfs_time, r.s_mkfs_time_hi),
      lastcheck: time(r.s_lastcheck, r.s_lastcheck_hi),
    },
    journal: { inum: jInum, dev: r.s_journal_dev, uuid: r.s_journal_uuid, backupType: r.s_jnl_backup_type, blocks: words(r.s_jnl_blocks, 17) },
    hashSeed: words(r.s_hash_seed, 4),
    defHashVersion: r.s_def_hash_version,
    casefold,
    orphanFileInum,
    firstOrphan: r.s_last_orphan,
    quotaInodes,
    mmpBlock,
    backupBgs: [r.s_backup_bgs_0, r.s_backup_bgs_1],
    overheadClusters: r.s_overhead_clusters,
    minExtraIsize: r.s_min_extra_isize,
    wantExtraIsize: r.s_want_extra_isize,
    csumSeed,
    readOnlyReason: roReasons.length ? roReasons.join('; ') : null,
    warnings,
  };
}

/** Whether metadata_csum is on (ext4_has_metadata_csum). */
export function hasMetadataCsum(sb: Superblock): boolean {
  return sb.features.has('metadata_csum');
}

/** Whether group descriptors carry a checksum (ext4_has_group_desc_csum). */
export function hasGroupDescCsum(sb: Superblock): boolean {
  return sb.features.has('metadata_csum') || sb.features.has('gdt_csum');
}

export { RO_COMPAT, INCOMPAT };

import { schemaGaps } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { ChecksumError, CorruptError, EBADMSG, EUCLEAN, IncompatibleError } from './errors.js';
import { INCOMPAT, RO_COMPAT } from './features.js';
import {
  RawSuperblock, SUPERBLOCK, SUPERBLOCK_OFFSET, decodeSuperblock, parseSuperblock, setSuperblockCsum, verifySuperblockCsum,
} from './superblock.js';
import { TEST_UUID, dumpe2fsHeader, fileSize, mkfs, readRange } from './testing/mkfs.js';

const VARIANTS: Array<[string, string[], number]> = [
  ['ext4 4k', ['-t', 'ext4', '-b', '4096'], 64 * 1024],
  ['ext4 1k', ['-t', 'ext4', '-b', '1024'], 64 * 1024],
  ['ext4 ^64bit', ['-t', 'ext4', '-O', '^64bit'], 64 * 1024],
  ['ext4 ^metadata_csum', ['-t', 'ext4', '-O', '^metadata_csum'], 64 * 1024],
  ['ext4 -I 128', ['-t', 'ext4', '-I', '128'], 64 * 1024],
  ['bigalloc', ['-t', 'ext4', '-b', '4096', '-O', 'bigalloc', '-C', '16384'], 256 * 1024],
  ['meta_bg', ['-t', 'ext4', '-O', 'meta_bg,^resize_inode'], 64 * 1024],
  ['ext2', ['-t', 'ext2'], 64 * 1024],
  ['ext3', ['-t', 'ext3'], 64 * 1024],
  ['sparse_super2', ['-t', 'ext4', '-b', '4096', '-O', 'sparse_super2'], 300 * 1024],
  ['csum_seed', ['-t', 'ext4', '-O', 'metadata_csum_seed', '-L', 'seeded'], 64 * 1024],
];

function sbOf(img: string): { bytes: Uint8Array; all: { byteLength: number } } {
  return { all: { byteLength: fileSize(img) }, bytes: readRange(img, SUPERBLOCK_OFFSET, 1024) };
}

describe('ext4_super_block schema', () => {
  test('is 1024 bytes with contiguous, non-overlapping fields', () => {
    expect(SUPERBLOCK.size).toBe(1024);
    expect(schemaGaps(SUPERBLOCK)).toEqual([]);
  });
  test('kernel offsets of landmark fields', () => {
    expect(SUPERBLOCK.offsetOf('s_magic')).toBe(0x38);
    expect(SUPERBLOCK.offsetOf('s_uuid')).toBe(0x68);
    expect(SUPERBLOCK.offsetOf('s_desc_size')).toBe(0xfe);
    expect(SUPERBLOCK.offsetOf('s_blocks_count_hi')).toBe(0x150);
    expect(SUPERBLOCK.offsetOf('s_log_groups_per_flex')).toBe(0x174);
    expect(SUPERBLOCK.offsetOf('s_backup_bgs_0')).toBe(0x24c);
    expect(SUPERBLOCK.offsetOf('s_checksum_seed')).toBe(0x270);
    expect(SUPERBLOCK.offsetOf('s_encoding')).toBe(0x27c);
    expect(SUPERBLOCK.offsetOf('s_orphan_file_inum')).toBe(0x280);
    expect(SUPERBLOCK.offsetOf('s_checksum')).toBe(0x3fc);
  });
});

describe('parse matches dumpe2fs -h', () => {
  test.each(VARIANTS)('%s', (_name, args, sizeKiB) => {
    const img = mkfs({ args, sizeKiB });
    const { bytes, all } = sbOf(img);
    const sb = parseSuperblock(bytes, { deviceBytes: all.byteLength });
    const d = dumpe2fsHeader(img);
    const num = (k: string) => Number(d.get(k));
    expect(sb.blocksCount).toBe(num('Block count'));
    expect(sb.inodesCount).toBe(num('Inode count'));
    expect(sb.blockSize).toBe(num('Block size'));
    expect(sb.firstDataBlock).toBe(num('First block'));
    expect(sb.blocksPerGroup).toBe(num('Blocks per group'));
    expect(sb.inodesPerGroup).toBe(num('Inodes per group'));
    expect(sb.inodeTableBlocks).toBe(num('Inode blocks per group'));
    expect(sb.inodeSize).toBe(num('Inode size'));
    expect(sb.firstIno).toBe(num('First inode'));
    expect(sb.freeBlocksCount).toBe(num('Free blocks'));
    expect(sb.freeInodesCount).toBe(num('Free inodes'));
    expect(sb.reservedBlocksCount).toBe(num('Reserved block count'));
    expect(sb.reservedGdtBlocks).toBe(d.has('Reserved GDT blocks') ? num('Reserved GDT blocks') : 0);
    expect(sb.uuidString).toBe(d.get('Filesystem UUID'));
    expect(sb.uuidString).toBe(TEST_UUID);
    expect(sb.label).toBe(d.get('Filesystem volume name') === '<none>' ? '' : d.get('Filesystem volume name'));
    expect(sb.state).toBe(d.get('Filesystem state') === 'clean' ? 'clean' : 'not-clean');
    expect(sb.mountCount).toBe(num('Mount count'));
    expect(sb.maxMountCount).toBe(num('Maximum mount count'));
    expect(sb.times.mkfsTime).toBe(1700000000);
    const feats = (d.get('Filesystem features') ?? '').split(/\s+/).filter(Boolean)
      .map((f) => ({ extent: 'extents', metadata_csum_seed: 'csum_seed', uninit_bg: 'gdt_csum', needs_recovery: 'recover', journal_dev: 'journal_dev' } as Record<string, string>)[f] ?? f);
    expect(sb.features.names().sort()).toEqual(feats.sort());
    expect(sb.descSize).toBe(d.has('Group descriptor size') ? num('Group descriptor size') : 32);
    if (d.has('Flex block group size')) expect(sb.groupsPerFlex).toBe(num('Flex block group size'));
    if (d.has('Journal inode')) expect(sb.journal.inum).toBe(num('Journal inode'));
    else expect(sb.journal.inum).toBe(0);
    if (d.has('First meta block group')) expect(sb.firstMetaBg).toBe(num('First meta block group'));
    if (d.has('Cluster size')) expect(sb.clusterSize).toBe(num('Cluster size'));
    if (d.has('Backup block groups')) expect(sb.backupBgs.filter((x) => x !== 0).join(' ')).toBe(d.get('Backup block groups'));
    if (d.has('Checksum seed')) expect(`0x${(sb.csumSeed ?? 0).toString(16).padStart(8, '0')}`).toBe(d.get('Checksum seed'));
    if (d.has('Checksum')) expect(`0x${sb.raw.s_checksum.toString(16).padStart(8, '0')}`).toBe(d.get('Checksum'));
    expect(sb.defHashVersion).toBe(['legacy', 'half_md4', 'tea'].indexOf(d.get('Default directory hash') ?? ''));
    expect(sb.readOnlyReason).toBeNull();
    expect(sb.groupsCount).toBe(Math.ceil((sb.blocksCount - sb.firstDataBlock) / sb.blocksPerGroup));
  });

  test('metadata_csum seed is crc32c(~0, uuid) without csum_seed, s_checksum_seed with it', () => {
    const plain = sbOf(mkfs({ args: ['-t', 'ext4'], sizeKiB: 64 * 1024 }));
    const sb = parseSuperblock(plain.bytes, { deviceBytes: plain.all.byteLength });
    expect(sb.csumSeed).toBe(crc32c(0xffffffff, sb.uuid));
    const seeded = sbOf(mkfs({ args: ['-t', 'ext4', '-O', 'metadata_csum_seed', '-L', 'seeded'], sizeKiB: 64 * 1024 }));
    const sb2 = parseSuperblock(seeded.bytes, { deviceBytes: seeded.all.byteLength });
    expect(sb2.csumSeed).toBe(sb2.raw.s_checksum_seed);
    expect(sb2.label).toBe('seeded');
    const nocsum = sbOf(mkfs({ args: ['-t', 'ext4', '-O', '^metadata_csum'], sizeKiB: 64 * 1024 }));
    expect(parseSuperblock(nocsum.bytes, { deviceBytes: nocsum.all.byteLength }).csumSeed).toBeNull();
  });
});

describe('superblock validation (one test per reason)', () => {
  const base = mkfs({ args: ['-t', 'ext4', '-b', '4096'], sizeKiB: 64 * 1024 });
  const base1k = mkfs({ args: ['-t', 'ext4', '-b', '1024'], sizeKiB: 64 * 1024 });
  const bigalloc = mkfs({ args: ['-t', 'ext4', '-b', '4096', '-O', 'bigalloc', '-C', '16384'], sizeKiB: 256 * 1024 });

  function mutate(img: string, patch: Partial<RawSuperblock> | ((b: Uint8Array) => void), opts: { resign?: boolean; deviceBytes?: number } = {}) {
    const { bytes, all } = sbOf(img);
    if (typeof patch === 'function') patch(bytes);
    else SUPERBLOCK.encode(patch, bytes);
    if (opts.resign !== false) setSuperblockCsum(bytes);
    return () => parseSuperblock(bytes, { deviceBytes: opts.deviceBytes ?? all.byteLength });
  }
  function corrupt(fn: () => unknown, reason: RegExp, field?: string): CorruptError {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptError);
    const ce = err as CorruptError;
    expect(ce.reason).toMatch(reason);
    if (field) expect(ce.field).toBe(field);
    expect(ce.errno).toBe(EUCLEAN);
    expect(ce.message).toMatch(/^corrupt superblock: /);
    return ce;
  }
  const raw = (img: string) => decodeSuperblock(sbOf(img).bytes);

  test('the pristine image parses', () => { expect(mutate(base, {})().blockSize).toBe(4096); });
  test('bad magic', () => { corrupt(mutate(base, { s_magic: 0x1234 }), /bad magic/, 's_magic'); });
  test('checksum mismatch -> ChecksumError (EBADMSG)', () => {
    const fn = mutate(base, { s_mnt_count: 7 }, { resign: false });
    expect(fn).toThrow(ChecksumError);
    try { fn(); } catch (e) { expect((e as ChecksumError).errno).toBe(EBADMSG); }
  });
  test('verify/set pair', () => {
    const { bytes } = sbOf(base);
    bytes[0x34] ^= 1;
    expect(() => verifySuperblockCsum(bytes)).toThrow(ChecksumError);
    setSuperblockCsum(bytes);
    expect(() => verifySuperblockCsum(bytes)).not.toThrow();
  });
  test('unknown checksum type', () => { corrupt(mutate(base, { s_checksum_type: 2 }), /checksum type/, 's_checksum_type'); });
  test('invalid log block size', () => { corrupt(mutate(base, { s_log_block_size: 7, s_log_cluster_size: 7 }), /log block size/, 's_log_block_size'); });
  test('cluster size != block size without bigalloc', () => { corrupt(mutate(base, { s_log_cluster_size: 3 }), /cluster size != block size/); });
  test('blocks per group too big', () => { corrupt(mutate(base, { s_blocks_per_group: 4096 * 8 + 8, s_clusters_per_group: 4096 * 8 + 8 }), /blocks per group too big/); });
  test('zero blocks per group', () => { corrupt(mutate(base, { s_blocks_per_group: 0, s_clusters_per_group: 0 }), /zero blocks per group/); });
  test('inodes per group out of range', () => {
    corrupt(mutate(base, { s_inodes_per_group: 4 }), /invalid inodes per group/);
    corrupt(mutate(base, { s_inodes_per_group: 4096 * 8 + 16 }), /invalid inodes per group/);
  });
  test('first ino below 11', () => { corrupt(mutate(base, { s_first_ino: 5 }), /invalid first ino/); });
  test('inode size not a power of two / too small / beyond block', () => {
    corrupt(mutate(base, { s_inode_size: 384 }), /unsupported inode size/);
    corrupt(mutate(base, { s_inode_size: 64 }), /unsupported inode size/);
    corrupt(mutate(base1k, { s_inode_size: 2048 }), /unsupported inode size/);
  });
  test('extra isize beyond inode', () => {
    corrupt(mutate(base, { s_want_extra_isize: 200 }), /s_want_extra_isize/);
    corrupt(mutate(base, { s_min_extra_isize: 130 }), /s_min_extra_isize/);
  });
  test('64bit descriptor size', () => {
    corrupt(mutate(base, { s_desc_size: 32 }), /unsupported descriptor size/);
    corrupt(mutate(base, { s_desc_size: 96 }), /unsupported descriptor size/);
    corrupt(mutate(base, { s_desc_size: 2048 }), /unsupported descriptor size/);
  });
  test('reserved GDT blocks insanely large', () => { corrupt(mutate(base, { s_reserved_gdt_blocks: 1025 }), /reserved GDT/); });
  test('block count beyond the device (bad geometry)', () => {
    const r = raw(base);
    corrupt(mutate(base, {}, { deviceBytes: (r.s_blocks_count_lo - 1) * 4096 }), /block count exceeds size of device/, 's_blocks_count');
    corrupt(mutate(base, { s_blocks_count_hi: 1 }), /block count exceeds/);
  });
  test('first data block beyond the end', () => { corrupt(mutate(base, { s_first_data_block: 1 << 30 }), /first data block is beyond/); });
  test('first data block 0 with 1k blocks', () => { corrupt(mutate(base1k, { s_first_data_block: 0 }), /first data block is 0/); });
  test('inodes count inconsistent with groups', () => {
    const r = raw(base);
    corrupt(mutate(base, { s_inodes_count: r.s_inodes_count + 1 }), /inodes count not valid/, 's_inodes_count');
  });
  test('first meta block group too large', () => {
    const r = raw(base);
    corrupt(mutate(base, { s_feature_incompat: r.s_feature_incompat | INCOMPAT.meta_bg, s_first_meta_bg: 50 }), /first meta block group too large/);
  });
  test('unknown incompat refuses, naming the bit', () => {
    const r = raw(base);
    const fn = mutate(base, { s_feature_incompat: r.s_feature_incompat | 0x4000000 });
    expect(fn).toThrow(IncompatibleError);
    expect(fn).toThrow(/incompat_0x4000000/);
    expect(mutate(base, { s_feature_incompat: r.s_feature_incompat | INCOMPAT.compression })).toThrow(/compression/);
  });
  test('unknown ro_compat opens read-only with a reason', () => {
    const r = raw(base);
    const sb = mutate(base, { s_feature_ro_compat: r.s_feature_ro_compat | 0x100000 })();
    expect(sb.readOnlyReason).toMatch(/ro_compat_0x100000/);
    const sb2 = mutate(base, { s_feature_ro_compat: r.s_feature_ro_compat | RO_COMPAT.read_only })();
    expect(sb2.readOnlyReason).toMatch(/read_only/);
  });
  test('revision level too high opens read-only', () => { expect(mutate(base, { s_rev_level: 2 })().readOnlyReason).toMatch(/revision level/); });
  test('journal inode out of range / missing', () => {
    corrupt(mutate(base, { s_journal_inum: 1 << 30 }), /inode number out of range/, 's_journal_inum');
    corrupt(mutate(base, { s_journal_inum: 0 }), /no journal inode/);
  });
  test('external journal: read-only, refused when it needs recovery', () => {
    const r = raw(base);
    expect(mutate(base, { s_journal_inum: 0, s_journal_dev: 0x801 })().readOnlyReason).toMatch(/external journal/);
    expect(mutate(base, { s_journal_inum: 0, s_journal_dev: 0x801, s_feature_incompat: r.s_feature_incompat | INCOMPAT.recover })).toThrow(IncompatibleError);
  });
  test('needs_recovery without a journal', () => {
    const r = raw(base);
    corrupt(mutate(base, { s_feature_compat: r.s_feature_compat & ~0x4, s_feature_incompat: r.s_feature_incompat | INCOMPAT.recover }), /needs_recovery/);
  });
  test('orphan file inode out of range (only with orphan_file)', () => {
    const r = raw(base);
    expect(mutate(base, { s_orphan_file_inum: 1 << 30 })().orphanFileInum).toBe(0);
    corrupt(mutate(base, { s_feature_compat: r.s_feature_compat | 0x1000, s_orphan_file_inum: 1 << 30 }), /out of range/, 's_orphan_file_inum');
  });
  test('invalid quota inode: read-only, as a kernel ro mount', () => {
    const r = raw(base);
    const sb = mutate(base, { s_feature_ro_compat: r.s_feature_ro_compat | RO_COMPAT.quota, s_usr_quota_inum: 0x30303030 })();
    expect(sb.readOnlyReason).toMatch(/quota/);
    expect(sb.quotaInodes.usr).toBe(0);
  });
  test('MMP block outside the filesystem', () => {
    const r = raw(base);
    corrupt(mutate(base, { s_feature_incompat: r.s_feature_incompat | INCOMPAT.mmp, s_mmp_block: 1n << 40n }), /MMP block/);
    corrupt(mutate(base, { s_feature_incompat: r.s_feature_incompat | INCOMPAT.mmp, s_mmp_block: 0n }), /MMP block/);
  });
  test('casefold with an unknown encoding is refused', () => {
    const r = raw(base);
    expect(mutate(base, { s_feature_incompat: r.s_feature_incompat | INCOMPAT.casefold, s_encoding: 9 })).toThrow(IncompatibleError);
  });
  test('bigalloc: cluster smaller than block, log too big, inconsistent groups, no extents', () => {
    const r = raw(bigalloc);
    expect(mutate(bigalloc, {})().clusterBits).toBe(2);
    corrupt(mutate(bigalloc, { s_log_cluster_size: 1 }), /cluster size smaller/);
    corrupt(mutate(bigalloc, { s_log_cluster_size: 21 }), /invalid log cluster size/);
    corrupt(mutate(bigalloc, { s_blocks_per_group: r.s_blocks_per_group - 4 }), /inconsistent/);
    corrupt(mutate(bigalloc, { s_clusters_per_group: 4096 * 8 + 1 }), /clusters per group too big/);
    expect(mutate(bigalloc, { s_feature_incompat: r.s_feature_incompat & ~INCOMPAT.extents })).toThrow(/without extents/);
  });
  test('Hurd cannot have 64bit', () => { expect(mutate(base, { s_creator_os: 1 })).toThrow(IncompatibleError); });
  test('a truncated buffer is corruption, not a RangeError', () => {
    expect(() => parseSuperblock(new Uint8Array(100), { deviceBytes: 1 << 20 })).toThrow(CorruptError);
  });
  test('state bits and times with _hi bytes', () => {
    const sb = mutate(base, { s_state: 2, s_wtime: 5, s_wtime_hi: 1 })();
    expect(sb.state).toBe('errors');
    expect(sb.times.wtime).toBe(2 ** 32 + 5);
    expect(mutate(base, { s_state: 0 })().state).toBe('not-clean');
  });
});

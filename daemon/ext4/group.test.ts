import { schemaGaps } from '../util/bytes.js';
import { BlockDevice } from './device.js';
import { ChecksumError, CorruptError, EBADMSG, IncompatibleError } from './errors.js';
import {
  GROUP_DESC, GroupTable, MAX_GROUPS, RawGroupDesc, bgHasSuper, bgNumGdb, decodeGroupDesc, descriptorLoc, groupDescCsum, loadGroups,
  setGroupDescCsum,
} from './group.js';
import { SUPERBLOCK_OFFSET, Superblock, parseSuperblock } from './superblock.js';
import { dumpe2fsGroups, mkfs, readImage } from './testing/mkfs.js';

interface Opened { sb: Superblock; bytes: Uint8Array; read: (b: number) => Uint8Array }

function open(bytes: Uint8Array | string): Opened {
  const dev = typeof bytes === 'string' ? BlockDevice.fromPath(bytes) : BlockDevice.fromBytes(bytes);
  const sb = parseSuperblock(dev.readAt(SUPERBLOCK_OFFSET, 1024), { deviceBytes: dev.size });
  return { sb, bytes: typeof bytes === 'string' ? new Uint8Array(0) : bytes, read: (b) => dev.readAt(b * sb.blockSize, sb.blockSize) };
}

const load = (o: Opened, readOnly = false): GroupTable => loadGroups(o.sb, (b) => o.read(b), { readOnly });

const VARIANTS: Array<[string, string[], number]> = [
  ['ext4 4k flex_bg', ['-t', 'ext4', '-b', '4096'], 300 * 1024],
  ['ext4 1k', ['-t', 'ext4', '-b', '1024'], 64 * 1024],
  ['ext4 ^64bit (32-byte descriptors)', ['-t', 'ext4', '-O', '^64bit'], 64 * 1024],
  ['gdt_csum (crc16)', ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg'], 64 * 1024],
  ['gdt_csum 32-byte', ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg,^64bit'], 64 * 1024],
  ['meta_bg 1k', ['-t', 'ext4', '-b', '1024', '-O', 'meta_bg,^resize_inode'], 300 * 1024],
  ['meta_bg 4k ^64bit', ['-t', 'ext4', '-b', '4096', '-O', 'meta_bg,^resize_inode,^64bit', '-g', '1024'], 300 * 1024],
  ['sparse_super2', ['-t', 'ext4', '-b', '4096', '-O', 'sparse_super2'], 300 * 1024],
  ['no sparse_super', ['-t', 'ext4', '-b', '1024', '-O', '^sparse_super,^resize_inode'], 64 * 1024],
  ['ext2 no flex_bg', ['-t', 'ext2', '-b', '1024'], 64 * 1024],
  ['bigalloc', ['-t', 'ext4', '-b', '4096', '-O', 'bigalloc', '-C', '16384'], 256 * 1024],
];

describe('ext4_group_desc schema', () => {
  test('64 bytes, contiguous', () => {
    expect(GROUP_DESC.size).toBe(64);
    expect(schemaGaps(GROUP_DESC)).toEqual([]);
    expect(GROUP_DESC.offsetOf('bg_checksum')).toBe(0x1e);
    expect(GROUP_DESC.offsetOf('bg_block_bitmap_hi')).toBe(0x20);
    expect(GROUP_DESC.offsetOf('bg_inode_bitmap_csum_hi')).toBe(0x3a);
  });
});

describe('descriptors match dumpe2fs', () => {
  test.each(VARIANTS)('%s', (_n, args, sizeKiB) => {
    const img = mkfs({ args, sizeKiB });
    const o = open(img);
    const t = load(o);
    const dump = dumpe2fsGroups(img);
    expect(t.count).toBe(dump.length);
    expect(t.count).toBe(o.sb.groupsCount);
    for (const d of dump) {
      const g = t.get(d.group);
      expect([d.group, g.blockBitmap, g.inodeBitmap, g.inodeTable]).toEqual([d.group, d.blockBitmap, d.inodeBitmap, d.inodeTable]);
      expect([d.group, g.freeBlocks, g.freeInodes, g.usedDirs]).toEqual([d.group, d.freeBlocks, d.freeInodes, d.dirs]);
      expect(bgHasSuper(o.sb, d.group)).toBe(d.primarySb || d.backupSb);
      const flags = (['INODE_UNINIT', 'BLOCK_UNINIT', 'ITABLE_ZEROED'] as const).filter((_f, i) => g.flags & (1 << i));
      // dumpe2fs shows the flags only where descriptors are checksummed (they mean nothing otherwise).
      if (o.sb.features.has('metadata_csum') || o.sb.features.has('gdt_csum')) expect(flags).toEqual(d.flags);
      if (d.csum !== null) expect(g.checksum).toBe(d.csum);
      if (d.blockBitmapCsum !== null) expect(g.blockBitmapCsum).toBe(d.blockBitmapCsum);
      if (d.inodeBitmapCsum !== null) expect(g.inodeBitmapCsum).toBe(d.inodeBitmapCsum);
      // Where dumpe2fs sees a descriptor copy, our count of descriptor blocks there is > 0.
      expect(bgNumGdb(o.sb, d.group) > 0).toBe(d.gdtAt !== null);
    }
    // Primary descriptor block locations: group 0's, and for meta_bg each metagroup's first group.
    for (let nr = 0; nr < o.sb.gdtBlocks; nr++) {
      const g = o.sb.features.has('meta_bg') && nr >= o.sb.firstMetaBg ? nr * o.sb.descPerBlock : 0;
      const at = dump[g].gdtAt;
      if (g === 0 && !o.sb.features.has('meta_bg')) expect(descriptorLoc(o.sb, nr)).toBe((at ?? -99) + nr);
      else expect(descriptorLoc(o.sb, nr)).toBe(at);
    }
  });

  test('group checksums recompute to the stored value in every group', () => {
    for (const args of [['-t', 'ext4'], ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg'], ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg,^64bit']]) {
      const o = open(mkfs({ args, sizeKiB: 64 * 1024 }));
      const blk = o.read(descriptorLoc(o.sb, 0));
      for (let g = 0; g < Math.min(o.sb.groupsCount, o.sb.descPerBlock); g++) {
        const stored = decodeGroupDesc(o.sb, blk, g * o.sb.descSize, {}).bg_checksum;
        expect(groupDescCsum(o.sb, g, blk, g * o.sb.descSize)).toBe(stored);
        expect(stored).not.toBe(0);
      }
    }
  });
});

describe('bg_has_super', () => {
  test('sparse_super: 0, 1 and powers of 3, 5, 7', () => {
    const o = open(mkfs({ args: ['-t', 'ext4', '-b', '1024'], sizeKiB: 64 * 1024 }));
    const withSuper = Array.from({ length: 400 }, (_, g) => g).filter((g) => bgHasSuper(o.sb, g));
    expect(withSuper).toEqual([0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343]);
  });
});

describe('descriptor validation (one test per reason)', () => {
  // 8 groups of 2048 1 KiB blocks: group g starts at 1 + 2048 g.
  const flexImg = readImage(mkfs({ args: ['-t', 'ext4', '-b', '1024', '-g', '2048', '-N', '2048'], sizeKiB: 16 * 1024 }));
  const plainImg = readImage(mkfs({ args: ['-t', 'ext4', '-b', '1024', '-g', '2048', '-N', '2048', '-O', '^flex_bg'], sizeKiB: 16 * 1024 }));

  function patch(base: Uint8Array, g: number, p: Partial<RawGroupDesc>, resign = true): Opened {
    const bytes = base.slice();
    const o = open(bytes);
    const nr = Math.floor(g / o.sb.descPerBlock);
    const off = descriptorLoc(o.sb, nr) * o.sb.blockSize + (g % o.sb.descPerBlock) * o.sb.descSize;
    const view = bytes.subarray(off, off + o.sb.descSize);
    const full = new Uint8Array(64);
    full.set(view);
    GROUP_DESC.encode(p, full);
    view.set(full.subarray(0, o.sb.descSize));
    if (resign) setGroupDescCsum(o.sb, g, bytes, off);
    return open(bytes);
  }
  function corrupt(o: Opened, reason: RegExp, group: number, field?: string): void {
    let err: unknown;
    try { load(o); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as CorruptError).reason).toMatch(reason);
    expect((err as CorruptError).at.group).toBe(group);
    if (field) expect((err as CorruptError).field).toBe(field);
  }

  test('pristine images load', () => {
    expect(load(open(flexImg)).count).toBe(8);
    expect(load(open(plainImg)).count).toBe(8);
  });
  test('block bitmap outside its group (no flex_bg)', () => {
    corrupt(patch(plainImg, 2, { bg_block_bitmap_lo: 100 }), /block bitmap not in group/, 2, 'bg_block_bitmap');
  });
  test('inode bitmap outside its group (no flex_bg)', () => {
    corrupt(patch(plainImg, 3, { bg_inode_bitmap_lo: 1 + 2048 * 5 }), /inode bitmap not in group/, 3, 'bg_inode_bitmap');
  });
  test('inode table running past its group (no flex_bg)', () => {
    corrupt(patch(plainImg, 1, { bg_inode_table_lo: 2049 + 2048 - 3 }), /inode table not in group/, 1, 'bg_inode_table');
  });
  test('with flex_bg, anywhere in the filesystem but not past its end', () => {
    expect(() => load(patch(flexImg, 5, { bg_block_bitmap_lo: 300 }))).not.toThrow();
    corrupt(patch(flexImg, 5, { bg_inode_table_lo: 16380 }), /inode table not in group/, 5);
    corrupt(patch(flexImg, 5, { bg_inode_table_lo: 0 }), /not in group/, 5);
  });
  test('bitmap on the superblock / on the descriptors (read-write refuses, read-only tolerates)', () => {
    const onSb = patch(flexImg, 0, { bg_block_bitmap_lo: 1 });
    corrupt(onSb, /overlaps superblock/, 0);
    const t = load(onSb, true);
    expect(t.toleratedCount).toBe(1);
    expect(t.tolerated[0]).toMatch(/overlaps superblock/);
    corrupt(patch(flexImg, 0, { bg_inode_bitmap_lo: 2 }), /overlaps block group descriptors/, 0);
  });
  test('descriptor checksum mismatch -> ChecksumError; read-only tolerates it', () => {
    const o = patch(flexImg, 4, { bg_free_inodes_count_lo: 7 }, false);
    let err: unknown;
    try { load(o); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as ChecksumError).errno).toBe(EBADMSG);
    expect((err as ChecksumError).at.group).toBe(4);
    expect(load(o, true).toleratedCount).toBe(1);
  });
  test('the 64-bit halves are used only with 64bit', () => {
    const o = patch(flexImg, 0, { bg_inode_table_hi: 1 });
    corrupt(o, /inode table not in group/, 0);
    const img32 = readImage(mkfs({ args: ['-t', 'ext4', '-O', '^64bit'], sizeKiB: 16 * 1024 }));
    const o32 = open(img32);
    const blk = descriptorLoc(o32.sb, 0) * o32.sb.blockSize;
    // Bytes past a 32-byte descriptor belong to the next one: never read as _hi halves.
    expect(load(o32).get(0).inodeTable).toBe(decodeGroupDesc(o32.sb, img32, blk, {}).bg_inode_table_lo);
  });
  test('more groups than we hold state for is refused, not allocated', () => {
    const o = open(flexImg);
    const huge = { ...o.sb, groupsCount: MAX_GROUPS + 1 } as Superblock;
    expect(() => loadGroups(huge, () => { throw new Error('must not read'); })).toThrow(IncompatibleError);
  });
  test('GroupTable.get range-checks the group number', () => {
    const t = load(open(flexImg));
    expect(() => t.get(8)).toThrow(CorruptError);
    expect(() => t.get(-1)).toThrow(CorruptError);
  });
});

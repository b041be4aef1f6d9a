import { BlockDevice } from './device.js';
import { CorruptError } from './errors.js';
import { bgHasSuper, bgNumGdb, groupFirstBlock } from './group.js';
import { openFs } from './mount.js';
import { mkfs } from './testing/mkfs.js';
import { SystemZones } from './validity.js';

describe('SystemZones (ext4_inode_block_valid)', () => {
  const z = new SystemZones(0, 1000);
  z.add(100, 10);
  z.add(105, 10); // overlapping: merged
  z.add(300, 1);
  z.add(500, 50, 8); // the journal's own blocks

  test('merges overlapping unowned zones', () => {
    expect(z.zones).toEqual([{ start: 100, end: 115 }, { start: 300, end: 301 }]);
  });
  test('ranges clear of zones are valid; touching one is not', () => {
    expect(z.valid(1, 99)).toBe(true);
    expect(z.valid(115, 185)).toBe(true);
    expect(z.valid(99, 2)).toBe(false);
    expect(z.valid(114, 1)).toBe(false);
    expect(z.valid(250, 100)).toBe(false);
    expect(z.valid(301, 199)).toBe(true);
  });
  test('the first data block and anything before it, and past the end, are invalid', () => {
    expect(z.valid(0, 1)).toBe(false);
    expect(z.valid(999, 1)).toBe(true);
    expect(z.valid(999, 2)).toBe(false);
    expect(z.valid(2 ** 53, 1)).toBe(false);
    expect(z.valid(10, -1)).toBe(false);
    expect(z.valid(1.5, 1)).toBe(false);
    const z1 = new SystemZones(1, 100);
    expect(z1.valid(1, 1)).toBe(false);
    expect(z1.valid(2, 1)).toBe(true);
  });
  test('an owned zone is valid only for its owner', () => {
    expect(z.valid(510, 5)).toBe(false);
    expect(z.valid(510, 5, 8)).toBe(true);
    expect(z.valid(495, 10, 8)).toBe(true);
    expect(z.valid(290, 20, 8)).toBe(false);
  });
  test('check() throws a CorruptError naming structure and place', () => {
    expect(() => z.check(100, 1, 'extent', { inode: 12, lblk: 3 })).toThrow(/corrupt extent: invalid block range \(inode 12, lblk 3, block=100/);
    expect(() => z.check(510, 1, 'extent', { inode: 8 })).not.toThrow();
    expect(() => z.check(510, 1, 'extent', { inode: 9 })).toThrow(CorruptError);
  });
});

describe('zones of a real filesystem', () => {
  test.each([
    ['ext4 1k', ['-t', 'ext4', '-b', '1024']],
    ['ext4 ^flex_bg', ['-t', 'ext4', '-O', '^flex_bg']],
    ['meta_bg', ['-t', 'ext4', '-O', 'meta_bg,^resize_inode']],
  ])('%s: metadata is protected, data blocks are not', (_n, args) => {
    const core = openFs(BlockDevice.fromPath(mkfs({ args: args as string[], sizeKiB: 64 * 1024 })));
    const { sb, groups, ctx } = core;
    for (let g = 0; g < groups.count; g++) {
      const d = groups.get(g);
      for (const [b, n] of [[d.blockBitmap, 1], [d.inodeBitmap, 1], [d.inodeTable, sb.inodeTableBlocks]]) {
        expect(() => ctx.checkDataRange(b, 1, 'test', {})).toThrow(CorruptError);
        expect(() => ctx.checkDataRange(b + n - 1, 1, 'test', {})).toThrow(CorruptError);
      }
      if (bgHasSuper(sb, g) && g < 5) {
        const first = groupFirstBlock(sb, g);
        for (let i = 0; i <= bgNumGdb(sb, g); i++) {
          if (first + i > sb.firstDataBlock) expect(() => ctx.checkDataRange(first + i, 1, 'test', {})).toThrow(CorruptError);
        }
      }
    }
    // The root directory's first block is data.
    const root = core.readInode(2);
    const view = new DataView(root.info.iBlock.buffer, root.info.iBlock.byteOffset, 60);
    const start = view.getUint32(20, true); // ee_start_lo of the first extent in the inode
    expect(() => ctx.checkDataRange(start, 1, 'test', { inode: 2 })).not.toThrow();
    expect(() => ctx.checkDataRange(sb.firstDataBlock, 1, 'test', {})).toThrow(CorruptError);
    expect(() => ctx.checkDataRange(sb.blocksCount - 1, 2, 'test', {})).toThrow(CorruptError);
    core.close();
  });

  test('addSystemZone protects the journal blocks except from the journal inode', () => {
    const core = openFs(BlockDevice.fromPath(mkfs({ args: ['-t', 'ext4'], sizeKiB: 64 * 1024 })));
    const j = core.readInode(8, { special: true });
    const view = new DataView(j.info.iBlock.buffer, j.info.iBlock.byteOffset, 60);
    const len = view.getUint16(16, true);
    const start = view.getUint32(20, true);
    expect(() => core.ctx.checkDataRange(start, len, 'test', { inode: 12 })).not.toThrow();
    core.addSystemZone(start, len, 8);
    expect(() => core.ctx.checkDataRange(start + 1, 1, 'test', { inode: 12 })).toThrow(CorruptError);
    expect(() => core.ctx.checkDataRange(start, len, 'test', { inode: 8 })).not.toThrow();
    core.close();
  });
});

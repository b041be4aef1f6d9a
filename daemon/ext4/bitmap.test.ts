import { BlockDevice } from './device.js';
import { ChecksumError } from './errors.js';
import { bitmapHealth, blockBitmapCsum, countSet, inodeBitmapCsum, testBit, verifyBlockBitmap, verifyInodeBitmap } from './bitmap.js';
import { openFs } from './mount.js';
import { dumpe2fsGroups, mkfs } from './testing/mkfs.js';

describe('bitmaps', () => {
  test('testBit / countSet', () => {
    const b = new Uint8Array([0b10000001, 0xff, 0]);
    expect(testBit(b, 0)).toBe(true);
    expect(testBit(b, 1)).toBe(false);
    expect(testBit(b, 7)).toBe(true);
    expect(countSet(b, 24)).toBe(10);
    expect(countSet(b, 9)).toBe(3);
    expect(countSet(b, 1000)).toBe(10);
  });

  test.each([
    ['ext4 1k', ['-t', 'ext4', '-b', '1024']],
    ['ext4 ^64bit (16-bit bitmap csums)', ['-t', 'ext4', '-O', '^64bit']],
  ])('%s: checksums verify, and used counts agree with the descriptors', (_n, args) => {
    const img = mkfs({ args: args as string[], sizeKiB: 64 * 1024, debugfs: ['write /etc/hostname f'] });
    const core = openFs(BlockDevice.fromPath(img));
    const dump = dumpe2fsGroups(img);
    const { sb, groups, ctx } = core;
    for (let g = 0; g < groups.count; g++) {
      const d = groups.get(g);
      if (!(d.flags & 2)) {
        const bb = ctx.readBlock(d.blockBitmap, 'block_bitmap');
        expect(() => verifyBlockBitmap(sb, d, bb)).not.toThrow();
        expect(blockBitmapCsum(sb, bb)).toBe(dump[g].blockBitmapCsum);
        const inGroup = Math.min(sb.blocksPerGroup, sb.blocksCount - sb.firstDataBlock - g * sb.blocksPerGroup);
        expect(inGroup - countSet(bb, inGroup)).toBe(d.freeBlocks);
      }
      if (!(d.flags & 1)) {
        const ib = ctx.readBlock(d.inodeBitmap, 'inode_bitmap');
        expect(() => verifyInodeBitmap(sb, d, ib)).not.toThrow();
        expect(inodeBitmapCsum(sb, ib)).toBe(dump[g].inodeBitmapCsum);
        expect(sb.inodesPerGroup - countSet(ib, sb.inodesPerGroup)).toBe(d.freeInodes);
      }
    }
    const h = bitmapHealth(sb, groups, ctx.readBlock);
    expect(h).toMatchObject({ groupsChecked: groups.count, badBlockBitmapCount: 0, badInodeBitmapCount: 0, truncated: false });
    core.close();
  });

  test('a damaged bitmap fails its checksum and shows up in the health summary', () => {
    const core = openFs(BlockDevice.fromPath(mkfs({ args: ['-t', 'ext4', '-b', '1024'], sizeKiB: 64 * 1024 })));
    const { sb, groups, ctx } = core;
    const d = groups.get(0);
    const bb = ctx.readBlock(d.blockBitmap, 'block_bitmap').slice();
    bb[100] ^= 0x10;
    let err: unknown;
    try { verifyBlockBitmap(sb, d, bb); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as ChecksumError).at.group).toBe(0);
    const ib = ctx.readBlock(d.inodeBitmap, 'inode_bitmap').slice();
    ib[0] ^= 1;
    expect(() => verifyInodeBitmap(sb, d, ib)).toThrow(ChecksumError);
    const h = bitmapHealth(sb, groups, (b, w) => (b === d.inodeBitmap ? ib : ctx.readBlock(b, w)), 3);
    expect(h.badInodeBitmaps).toEqual([0]);
    expect(h.badInodeBitmapCount).toBe(1);
    expect(h.truncated).toBe(true);
    expect(h.groupsChecked).toBe(3);
    core.close();
  });
});

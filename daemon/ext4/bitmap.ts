// Block and inode allocation bitmaps: one block each per group (located by the group
// descriptor), one bit per cluster / inode, little-endian bit order (bit n of the group is
// bit n%8 of byte n/8). With metadata_csum each bitmap's crc32c(fs seed, bitmap bytes)
// sits in the descriptor (low 16 bits, plus the _hi half in descriptors >= 0x3A / 0x3C
// bytes). Uninitialised groups (BLOCK_UNINIT / INODE_UNINIT) have no meaningful bitmap.
// Follows fs/ext4/bitmap.c (ext4_{block,inode}_bitmap_csum_verify) and balloc.c.

import { crc32c } from '../util/crc.js';
import { ChecksumError, Where } from './errors.js';
import {
  EXT4_BG_BLOCK_BITMAP_CSUM_HI_END, EXT4_BG_BLOCK_UNINIT, EXT4_BG_INODE_BITMAP_CSUM_HI_END, EXT4_BG_INODE_UNINIT, GroupDesc, GroupTable,
} from './group.js';
import { Superblock, hasGroupDescCsum, hasMetadataCsum } from './superblock.js';

export function testBit(bitmap: Uint8Array, n: number): boolean {
  return (bitmap[n >>> 3] & (1 << (n & 7))) !== 0;
}

/** Set bits among the first `bits` (used for free-count cross checks). */
export function countSet(bitmap: Uint8Array, bits: number): number {
  let n = 0;
  const whole = Math.min(bits >>> 3, bitmap.length);
  for (let i = 0; i < whole; i++) {
    let v = bitmap[i];
    while (v) { v &= v - 1; n++; }
  }
  for (let b = whole * 8; b < bits && (b >>> 3) < bitmap.length; b++) if (testBit(bitmap, b)) n++;
  return n;
}

function bitmapCsum(sb: Superblock, bitmap: Uint8Array, bytes: number, hasHi: boolean): number {
  const c = crc32c(sb.csumSeed ?? 0, bitmap, 0, Math.min(bytes, bitmap.length));
  return hasHi ? c : c & 0xffff;
}

/** The checksum the descriptor should hold for this block bitmap. */
export function blockBitmapCsum(sb: Superblock, bitmap: Uint8Array): number {
  return bitmapCsum(sb, bitmap, sb.clustersPerGroup / 8, sb.descSize >= EXT4_BG_BLOCK_BITMAP_CSUM_HI_END);
}

export function inodeBitmapCsum(sb: Superblock, bitmap: Uint8Array): number {
  return bitmapCsum(sb, bitmap, sb.inodesPerGroup / 8, sb.descSize >= EXT4_BG_INODE_BITMAP_CSUM_HI_END);
}

/** ext4_block_bitmap_csum_verify; BLOCK_UNINIT groups have nothing to verify. */
export function verifyBlockBitmap(sb: Superblock, gd: GroupDesc, bitmap: Uint8Array): void {
  if (!hasMetadataCsum(sb)) return;
  if (hasGroupDescCsum(sb) && (gd.flags & EXT4_BG_BLOCK_UNINIT)) return;
  const computed = blockBitmapCsum(sb, bitmap);
  const at: Where = { group: gd.group, block: gd.blockBitmap };
  if (computed !== gd.blockBitmapCsum) throw new ChecksumError('block_bitmap', at, gd.blockBitmapCsum, computed);
}

/** ext4_inode_bitmap_csum_verify; INODE_UNINIT groups have nothing to verify. */
export function verifyInodeBitmap(sb: Superblock, gd: GroupDesc, bitmap: Uint8Array): void {
  if (!hasMetadataCsum(sb)) return;
  if (hasGroupDescCsum(sb) && (gd.flags & EXT4_BG_INODE_UNINIT)) return;
  const computed = inodeBitmapCsum(sb, bitmap);
  const at: Where = { group: gd.group, block: gd.inodeBitmap };
  if (computed !== gd.inodeBitmapCsum) throw new ChecksumError('inode_bitmap', at, gd.inodeBitmapCsum, computed);
}

export interface BitmapHealth {
  groupsChecked: number;
  /** Groups whose bitmap failed its checksum, first few only. */
  badBlockBitmaps: number[];
  badInodeBitmaps: number[];
  badBlockBitmapCount: number;
  badInodeBitmapCount: number;
  /** True when the budget stopped the scan before the last group. */
  truncated: boolean;
}

/**
 * The inspect health summary: verifies bitmap checksums group by group, reading through
 * `readBlock` (the cache), for at most `maxGroups` groups.
 */
export function bitmapHealth(sb: Superblock, groups: GroupTable, readBlock: (b: number, what: string, at?: Where) => Uint8Array, maxGroups = 65536): BitmapHealth {
  const h: BitmapHealth = { groupsChecked: 0, badBlockBitmaps: [], badInodeBitmaps: [], badBlockBitmapCount: 0, badInodeBitmapCount: 0, truncated: false };
  const n = Math.min(groups.count, maxGroups);
  h.truncated = n < groups.count;
  for (let g = 0; g < n; g++) {
    const gd = groups.get(g);
    try {
      verifyBlockBitmap(sb, gd, readBlock(gd.blockBitmap, 'block_bitmap', { group: g }));
    } catch (e) {
      if (!(e instanceof ChecksumError)) throw e;
      h.badBlockBitmapCount++;
      if (h.badBlockBitmaps.length < 32) h.badBlockBitmaps.push(g);
    }
    try {
      verifyInodeBitmap(sb, gd, readBlock(gd.inodeBitmap, 'inode_bitmap', { group: g }));
    } catch (e) {
      if (!(e instanceof ChecksumError)) throw e;
      h.badInodeBitmapCount++;
      if (h.badInodeBitmaps.length < 32) h.badInodeBitmaps.push(g);
    }
    h.groupsChecked++;
  }
  return h;
}

// Block group descriptors (struct ext4_group_desc, little-endian): 32 bytes, or s_desc_size
// (>= 64) with the 64bit feature, which adds the _hi halves. They sit in the block(s) right
// after the superblock (and its sparse_super / sparse_super2 backups), or, with meta_bg,
// from s_first_meta_bg on, one descriptor block per meta group at the start of its first,
// second and last group. Checksums: metadata_csum (crc32c, low 16 bits) or gdt_csum (crc16).
// Validation follows fs/ext4/super.c ext4_check_descriptors and descriptor_loc, and
// fs/ext4/balloc.c ext4_bg_has_super / ext4_bg_num_gdb. Kernel doc: ext4/group_descr.rst.

import { Decoded, struct } from '../util/bytes.js';
import { crc16, crc32c } from '../util/crc.js';
import { ChecksumError, CorruptError, IncompatibleError, Where, corruptBounds } from './errors.js';
import { Superblock, hasMetadataCsum } from './superblock.js';

export const GROUP_DESC = struct('ext4_group_desc', 64, [
  ['bg_block_bitmap_lo', 'u32le', 0x0],
  ['bg_inode_bitmap_lo', 'u32le', 0x4],
  ['bg_inode_table_lo', 'u32le', 0x8],
  ['bg_free_blocks_count_lo', 'u16le', 0xc],
  ['bg_free_inodes_count_lo', 'u16le', 0xe],
  ['bg_used_dirs_count_lo', 'u16le', 0x10],
  ['bg_flags', 'u16le', 0x12],
  ['bg_exclude_bitmap_lo', 'u32le', 0x14],
  ['bg_block_bitmap_csum_lo', 'u16le', 0x18],
  ['bg_inode_bitmap_csum_lo', 'u16le', 0x1a],
  ['bg_itable_unused_lo', 'u16le', 0x1c],
  ['bg_checksum', 'u16le', 0x1e],
  ['bg_block_bitmap_hi', 'u32le', 0x20],
  ['bg_inode_bitmap_hi', 'u32le', 0x24],
  ['bg_inode_table_hi', 'u32le', 0x28],
  ['bg_free_blocks_count_hi', 'u16le', 0x2c],
  ['bg_free_inodes_count_hi', 'u16le', 0x2e],
  ['bg_used_dirs_count_hi', 'u16le', 0x30],
  ['bg_itable_unused_hi', 'u16le', 0x32],
  ['bg_exclude_bitmap_hi', 'u32le', 0x34],
  ['bg_block_bitmap_csum_hi', 'u16le', 0x38],
  ['bg_inode_bitmap_csum_hi', 'u16le', 0x3a],
  ['bg_reserved', 'u32le', 0x3c],
] as const);

export type RawGroupDesc = Decoded<typeof GROUP_DESC.fields>;

export const EXT4_BG_INODE_UNINIT = 0x1;
export const EXT4_BG_BLOCK_UNINIT = 0x2;
export const EXT4_BG_INODE_ZEROED = 0x4;
const BG_CHECKSUM_OFFSET = 0x1e;
/** Descriptors at least this long carry the high halves of the bitmap checksums. */
export const EXT4_BG_BLOCK_BITMAP_CSUM_HI_END = 0x3a;
export const EXT4_BG_INODE_BITMAP_CSUM_HI_END = 0x3c;

/**
 * Beyond this many groups we refuse rather than hold per-group state for all of them:
 * 2^20 groups is 128 TiB with 4 KiB blocks and default geometry; a hostile image could
 * otherwise declare tiny groups on a sparse file and make us hold hundreds of MiB.
 */
export const MAX_GROUPS = 1 << 20;

export interface GroupDesc {
  readonly group: number;
  readonly blockBitmap: number;
  readonly inodeBitmap: number;
  readonly inodeTable: number;
  readonly freeBlocks: number;
  readonly freeInodes: number;
  readonly usedDirs: number;
  readonly flags: number;
  readonly itableUnused: number;
  readonly blockBitmapCsum: number;
  readonly inodeBitmapCsum: number;
  readonly checksum: number;
}

/** ext4_bg_has_super: whether group g holds a superblock (primary or backup). */
export function bgHasSuper(sb: Superblock, g: number): boolean {
  if (g === 0) return true;
  if (sb.features.has('sparse_super2')) return g === sb.backupBgs[0] || g === sb.backupBgs[1];
  if (g <= 1 || !sb.features.has('sparse_super')) return true;
  if ((g & 1) === 0) return false;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

function isPowerOf(n: number, b: number): boolean {
  let x = b;
  while (x < n) x *= b;
  return x === n;
}

/** ext4_bg_num_gdb: descriptor blocks stored in group g (not counting reserved GDT blocks). */
export function bgNumGdb(sb: Superblock, g: number): number {
  const metagroup = Math.floor(g / sb.descPerBlock);
  if (!sb.features.has('meta_bg') || metagroup < sb.firstMetaBg) {
    if (!bgHasSuper(sb, g)) return 0;
    return sb.features.has('meta_bg') ? sb.firstMetaBg : sb.gdtBlocks;
  }
  const first = metagroup * sb.descPerBlock;
  const last = first + sb.descPerBlock - 1;
  return g === first || g === first + 1 || g === last ? 1 : 0;
}

/** Reserved GDT blocks (resize_inode) following the descriptors in group g. */
export function bgReservedGdt(sb: Superblock, g: number): number {
  if (!bgHasSuper(sb, g)) return 0;
  if (sb.features.has('meta_bg') && Math.floor(g / sb.descPerBlock) >= sb.firstMetaBg) return 0;
  return sb.reservedGdtBlocks;
}

export function groupFirstBlock(sb: Superblock, g: number): number {
  return sb.firstDataBlock + g * sb.blocksPerGroup;
}

/** Blocks in group g: blocks_per_group, except for a short last group. */
export function groupBlockCount(sb: Superblock, g: number): number {
  const first = groupFirstBlock(sb, g);
  return Math.min(sb.blocksPerGroup, sb.blocksCount - first);
}

/** The block holding the superblock itself: 1 with 1 KiB blocks, else 0. */
export function logicalSbBlock(sb: Superblock): number {
  return sb.blockSize === 1024 ? 1 : 0;
}

/** descriptor_loc: where descriptor block nr lives (primary copy). */
export function descriptorLoc(sb: Superblock, nr: number): number {
  const sbBlock = logicalSbBlock(sb);
  if (!sb.features.has('meta_bg') || nr < sb.firstMetaBg) return sbBlock + nr + 1;
  const bg = sb.descPerBlock * nr;
  let hasSuper = bgHasSuper(sb, bg) ? 1 : 0;
  // meta_bg with 1 KiB blocks: group 0's descriptor block is at 2, after the boot block and sb.
  if (sb.blockSize === 1024 && nr === 0 && sb.firstDataBlock === 0) hasSuper++;
  return hasSuper + groupFirstBlock(sb, bg);
}

/** The checksum ext4_group_desc_csum computes (0 when neither csum feature is on). */
export function groupDescCsum(sb: Superblock, g: number, desc: Uint8Array, off = 0): number {
  const le = new Uint8Array(4);
  new DataView(le.buffer).setUint32(0, g >>> 0, true);
  const size = sb.descSize;
  if (hasMetadataCsum(sb)) {
    let c = crc32c(sb.csumSeed ?? 0, le);
    c = crc32c(c, desc, off, off + BG_CHECKSUM_OFFSET);
    c = crc32c(c, new Uint8Array(2));
    if (BG_CHECKSUM_OFFSET + 2 < size) c = crc32c(c, desc, off + BG_CHECKSUM_OFFSET + 2, off + size);
    return c & 0xffff;
  }
  if (!sb.features.has('gdt_csum')) return 0;
  let c = crc16(0xffff, sb.uuid);
  c = crc16(c, le);
  c = crc16(c, desc, off, off + BG_CHECKSUM_OFFSET);
  if (sb.features.has('64bit') && BG_CHECKSUM_OFFSET + 2 < size) c = crc16(c, desc, off + BG_CHECKSUM_OFFSET + 2, off + size);
  return c;
}

export function verifyGroupDescCsum(sb: Superblock, g: number, desc: Uint8Array, off: number, at: Where): void {
  if (!hasMetadataCsum(sb) && !sb.features.has('gdt_csum')) return;
  const stored = new DataView(desc.buffer, desc.byteOffset + off, sb.descSize).getUint16(BG_CHECKSUM_OFFSET, true);
  const computed = groupDescCsum(sb, g, desc, off);
  if (stored !== computed) throw new ChecksumError('group_desc', at, stored, computed);
}

export function setGroupDescCsum(sb: Superblock, g: number, desc: Uint8Array, off = 0): void {
  new DataView(desc.buffer, desc.byteOffset + off, sb.descSize).setUint16(BG_CHECKSUM_OFFSET, groupDescCsum(sb, g, desc, off), true);
}

/** Decodes descriptor g from its block's bytes (no validation). */
export function decodeGroupDesc(sb: Superblock, bytes: Uint8Array, off: number, at: Where): RawGroupDesc {
  return GROUP_DESC.decode(bytes, off, sb.descSize, corruptBounds('group_desc', at));
}

function toDomain(sb: Superblock, g: number, r: RawGroupDesc): GroupDesc {
  // The _hi halves exist only in 64-byte descriptors; decode() reads them as 0 otherwise.
  const wide = sb.features.has('64bit') && sb.descSize >= 64;
  const hi32 = (hi: number, lo: number) => (wide ? hi * 2 ** 32 + lo : lo);
  const hi16 = (hi: number, lo: number) => (wide ? hi * 65536 + lo : lo);
  return {
    group: g,
    blockBitmap: hi32(r.bg_block_bitmap_hi, r.bg_block_bitmap_lo),
    inodeBitmap: hi32(r.bg_inode_bitmap_hi, r.bg_inode_bitmap_lo),
    inodeTable: hi32(r.bg_inode_table_hi, r.bg_inode_table_lo),
    freeBlocks: hi16(r.bg_free_blocks_count_hi, r.bg_free_blocks_count_lo),
    freeInodes: hi16(r.bg_free_inodes_count_hi, r.bg_free_inodes_count_lo),
    usedDirs: hi16(r.bg_used_dirs_count_hi, r.bg_used_dirs_count_lo),
    flags: r.bg_flags,
    itableUnused: hi16(r.bg_itable_unused_hi, r.bg_itable_unused_lo),
    blockBitmapCsum: sb.descSize >= EXT4_BG_BLOCK_BITMAP_CSUM_HI_END ? r.bg_block_bitmap_csum_hi * 65536 + r.bg_block_bitmap_csum_lo : r.bg_block_bitmap_csum_lo,
    inodeBitmapCsum: sb.descSize >= EXT4_BG_INODE_BITMAP_CSUM_HI_END ? r.bg_inode_bitmap_csum_hi * 65536 + r.bg_inode_bitmap_csum_lo : r.bg_inode_bitmap_csum_lo,
    checksum: r.bg_checksum,
  };
}

/**
 * All group descriptors, validated at load, kept in typed arrays (a hostile image may
 * declare millions of groups; objects are made on demand).
 */
export class GroupTable {
  private readonly loc: Float64Array; // block bitmap, inode bitmap, inode table per group
  private readonly counts: Uint32Array; // free blocks, free inodes, used dirs, itable unused
  private readonly flagsArr: Uint16Array;
  private readonly csums: Uint32Array; // block bitmap csum, inode bitmap csum, desc csum

  /** Problems a read-only open tolerated (as the kernel's ro mount does), first few. */
  readonly tolerated: string[] = [];
  toleratedCount = 0;

  constructor(readonly sb: Superblock, readonly count: number) {
    this.loc = new Float64Array(count * 3);
    this.counts = new Uint32Array(count * 4);
    this.flagsArr = new Uint16Array(count);
    this.csums = new Uint32Array(count * 3);
  }

  set(d: GroupDesc): void {
    const g = d.group;
    this.loc.set([d.blockBitmap, d.inodeBitmap, d.inodeTable], g * 3);
    this.counts.set([d.freeBlocks, d.freeInodes, d.usedDirs, d.itableUnused], g * 4);
    this.flagsArr[g] = d.flags;
    this.csums.set([d.blockBitmapCsum, d.inodeBitmapCsum, d.checksum], g * 3);
  }

  get(g: number): GroupDesc {
    if (!Number.isInteger(g) || g < 0 || g >= this.count) {
      throw new CorruptError('group_desc', 'group number out of range', { group: g }, 'group', g, `< ${this.count}`);
    }
    return {
      group: g,
      blockBitmap: this.loc[g * 3], inodeBitmap: this.loc[g * 3 + 1], inodeTable: this.loc[g * 3 + 2],
      freeBlocks: this.counts[g * 4], freeInodes: this.counts[g * 4 + 1], usedDirs: this.counts[g * 4 + 2],
      itableUnused: this.counts[g * 4 + 3], flags: this.flagsArr[g],
      blockBitmapCsum: this.csums[g * 3], inodeBitmapCsum: this.csums[g * 3 + 1], checksum: this.csums[g * 3 + 2],
    };
  }

  inodeTable(g: number): number { return this.get(g).inodeTable; }

  /** Sums as the kernel's percpu counters start (ext4_count_free_clusters/inodes, dirs). */
  totals(): { freeClusters: number; freeInodes: number; usedDirs: number } {
    let fc = 0; let fi = 0; let ud = 0;
    for (let g = 0; g < this.count; g++) {
      fc += this.counts[g * 4]; fi += this.counts[g * 4 + 1]; ud += this.counts[g * 4 + 2];
    }
    return { freeClusters: fc, freeInodes: fi, usedDirs: ud };
  }
}

/** Reads one metadata block (through the cache). */
export type BlockReader = (block: number, what: string, at?: Where) => Uint8Array;

/**
 * Loads and validates every descriptor (ext4_check_descriptors): bitmaps and inode table
 * inside the group (or anywhere in the fs with flex_bg), clear of the superblock and the
 * primary descriptors, and each descriptor's checksum.
 */
export function loadGroups(sb: Superblock, readBlock: BlockReader, opts: { readOnly?: boolean } = {}): GroupTable {
  const n = sb.groupsCount;
  if (n > MAX_GROUPS) throw new IncompatibleError('geometry', `${n} block groups (more than ${MAX_GROUPS} supported)`);
  const table = new GroupTable(sb, n);
  const flex = sb.features.has('flex_bg');
  const sbBlock = logicalSbBlock(sb);
  const lastBgBlock = sbBlock + bgNumGdb(sb, 0);
  const itb = sb.inodeTableBlocks;
  let firstBlock = sb.firstDataBlock;
  for (let nr = 0; nr < sb.gdtBlocks; nr++) {
    const blk = descriptorLoc(sb, nr);
    if (blk >= sb.blocksCount) {
      throw new CorruptError('group_desc', 'descriptor block beyond end of filesystem', { block: blk, group: nr * sb.descPerBlock }, 'block', blk, `< ${sb.blocksCount}`);
    }
    const bytes = readBlock(blk, 'group_desc', { block: blk });
    const gEnd = Math.min(n, (nr + 1) * sb.descPerBlock);
    for (let g = nr * sb.descPerBlock; g < gEnd; g++) {
      const off = (g % sb.descPerBlock) * sb.descSize;
      const at: Where = { group: g, block: blk, offset: off };
      const raw = decodeGroupDesc(sb, bytes, off, at);
      const d = toDomain(sb, g, raw);
      const lastBlock = g === n - 1 || flex ? sb.blocksCount - 1 : firstBlock + sb.blocksPerGroup - 1;
      // The kernel refuses these three only for a read-write mount (ext4_check_descriptors).
      const roOk = (e: CorruptError): void => {
        if (!opts.readOnly) throw e;
        table.toleratedCount++;
        if (table.tolerated.length < 16) table.tolerated.push(e.message);
      };
      const check = (what: string, field: string, b: number, len: number): void => {
        if (b === sbBlock) roOk(new CorruptError('group_desc', `${what} overlaps superblock`, at, field, b));
        else if (b >= sbBlock + 1 && b <= lastBgBlock) roOk(new CorruptError('group_desc', `${what} overlaps block group descriptors`, at, field, b));
        if (b < firstBlock || b + len - 1 > lastBlock) {
          throw new CorruptError('group_desc', `${what} not in group`, at, field, b, `${firstBlock}..${lastBlock}`);
        }
      };
      check('block bitmap', 'bg_block_bitmap', d.blockBitmap, 1);
      check('inode bitmap', 'bg_inode_bitmap', d.inodeBitmap, 1);
      check('inode table', 'bg_inode_table', d.inodeTable, itb);
      try {
        verifyGroupDescCsum(sb, g, bytes, off, at);
      } catch (e) {
        if (e instanceof ChecksumError) roOk(e); else throw e;
      }
      table.set(d);
      if (!flex) firstBlock += sb.blocksPerGroup;
    }
  }
  return table;
}

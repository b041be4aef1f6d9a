// ext2/ext3 block maps (inodes without EXT4_EXTENTS_FL): i_block holds 15 little-endian u32
// block numbers: 12 direct blocks, then one single-, one double- and one triple-indirect
// block; an indirect block is blockSize/4 more u32 pointers. A 0 pointer at any level is a
// hole over everything below it. Block numbers are 32-bit, so this map never reaches past
// 2^32 blocks; logical blocks are capped at 2^32 as for extents. Follows fs/ext4/indirect.c
// (ext4_block_to_path, ext4_get_branch) and the blockref checks of fs/ext4/block_validity.c.

import { viewOf } from '../util/bytes.js';
import { FsContext, FileBlock, InodeInfo } from './context.js';
import { CorruptError, Where } from './errors.js';
import { DEFAULT_WALK_NODES, EXT_LBLK_LIMIT, Mapping, WalkBudget } from './extent.js';

export const EXT4_NDIR_BLOCKS = 12;
export const EXT4_IND_BLOCK = 12;
export const EXT4_DIND_BLOCK = 13;
export const EXT4_TIND_BLOCK = 14;
export const EXT4_N_BLOCKS = 15;

/** One past the last logical block the map can address (capped at 2^32). */
export function indirectLimit(blockSize: number): number {
  const p = blockSize / 4;
  return Math.min(EXT4_NDIR_BLOCKS + p + p * p + p * p * p, EXT_LBLK_LIMIT);
}

interface Walk {
  ctx: FsContext;
  inode: InodeInfo;
  ptrs: number; // pointers per indirect block
  budget: WalkBudget;
  /** Indirect blocks read in this walk: ext4 never shares one, and a shared one would let
   *  three blocks stand for 2^30 mappings (work amplification on hostile images). */
  seen: Set<number>;
}

/** A single block or hole run before merging. */
type Piece = { lblk: number; len: number; pblk: number }; // pblk 0 = hole

function checkPtr(w: Walk, ptr: number, at: Where): void {
  w.ctx.checkDataRange(ptr, 1, 'indirect_block', at);
}

/**
 * Pieces of the subtree under `ptr` (a data block at level 0, an indirect block of that
 * level above) that covers [base, base + ptrs^level), clipped to [lo, hi). Recursion is at
 * most 4 deep (triple indirect -> data).
 */
function* subtree(w: Walk, ptr: number, level: number, base: number, lo: number, hi: number, at: Where): Generator<Piece> {
  if (ptr === 0) {
    yield { lblk: lo, len: hi - lo, pblk: 0 };
    return;
  }
  checkPtr(w, ptr, at);
  if (level === 0) {
    yield { lblk: lo, len: 1, pblk: ptr };
    return;
  }
  if (--w.budget.nodes < 0) {
    throw new CorruptError('indirect_block', 'walk budget exhausted', { inode: w.inode.ino, lblk: lo }, 'nodes', DEFAULT_WALK_NODES);
  }
  if (w.seen.has(ptr)) {
    throw new CorruptError('indirect_block', 'block referenced twice', { inode: w.inode.ino, block: ptr, lblk: lo }, 'block', ptr);
  }
  w.seen.add(ptr); // size <= the node budget
  const b = w.ctx.readBlock(ptr, 'indirect_block', { inode: w.inode.ino, block: ptr });
  if (b.byteLength < w.ctx.blockSize) {
    throw new CorruptError('indirect_block', 'truncated block', { inode: w.inode.ino, block: ptr }, 'bytes', b.byteLength);
  }
  const dv = viewOf(b);
  const span = w.ptrs ** (level - 1); // blocks under each entry; <= 2^42 at 64 KiB, exact
  const first = Math.floor((lo - base) / span);
  const last = Math.floor((hi - 1 - base) / span);
  for (let j = first; j <= last; j++) {
    const childBase = base + j * span;
    const clo = Math.max(lo, childBase);
    const chi = Math.min(hi, childBase + span);
    const child = dv.getUint32(j * 4, true); // j < ptrs: inside the block
    yield* subtree(w, child, level - 1, childBase, clo, chi, { inode: w.inode.ino, block: ptr, offset: j * 4, lblk: clo });
  }
}

function* pieces(w: Walk, start: number, end: number): Generator<Piece> {
  const dv = viewOf(w.inode.iBlock);
  const at: Where = { inode: w.inode.ino };
  const p = w.ptrs;
  // [first block, blocks covered, tree level] of i_block[12..14]
  const tops: Array<[number, number, number, number]> = [
    [EXT4_IND_BLOCK, EXT4_NDIR_BLOCKS, p, 1],
    [EXT4_DIND_BLOCK, EXT4_NDIR_BLOCKS + p, p * p, 2],
    [EXT4_TIND_BLOCK, EXT4_NDIR_BLOCKS + p + p * p, p * p * p, 3],
  ];
  for (let i = start; i < Math.min(end, EXT4_NDIR_BLOCKS); i++) {
    yield* subtree(w, dv.getUint32(i * 4, true), 0, i, i, i + 1, { ...at, offset: 0x28 + i * 4, lblk: i });
  }
  for (const [slot, base, span, level] of tops) {
    const lo = Math.max(start, base);
    const hi = Math.min(end, base + span);
    if (lo >= hi) continue;
    yield* subtree(w, dv.getUint32(slot * 4, true), level, base, lo, hi, { ...at, offset: 0x28 + slot * 4, lblk: lo });
  }
}

/**
 * Every mapping covering [start, end) in order, holes included, physically contiguous
 * blocks merged into one run. Blocks past the map's reach are a hole (the kernel refuses
 * to map them; i_size should never reach there).
 */
export function* indirectRuns(
  ctx: FsContext, inode: InodeInfo, start: FileBlock, end: FileBlock,
  budget: WalkBudget = { nodes: DEFAULT_WALK_NODES },
): Generator<Mapping> {
  for (const v of [start, end]) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new CorruptError('indirect_block', 'logical block out of range', { inode: inode.ino }, 'lblk', v);
    }
  }
  if (inode.iBlock.byteLength < EXT4_N_BLOCKS * 4) {
    throw new CorruptError('indirect_block', 'truncated i_block', { inode: inode.ino }, 'bytes', inode.iBlock.byteLength);
  }
  const w: Walk = { ctx, inode, ptrs: ctx.blockSize / 4, budget, seen: new Set() };
  const limit = indirectLimit(ctx.blockSize);
  let run: Piece | null = null;
  const emit = (r: Piece): Mapping => r.pblk === 0
    ? { kind: 'hole', lblk: r.lblk, len: r.len }
    : { kind: 'mapped', lblk: r.lblk, len: r.len, pblk: r.pblk, unwritten: false };
  if (start < Math.min(end, limit)) {
    for (const pc of pieces(w, start, Math.min(end, limit))) {
      if (run && ((run.pblk === 0 && pc.pblk === 0) || (run.pblk !== 0 && pc.pblk === run.pblk + run.len))) {
        run.len += pc.len;
        continue;
      }
      if (run) yield emit(run);
      run = { ...pc };
    }
  }
  const tail = Math.max(start, limit);
  if (tail < end) {
    if (run && run.pblk === 0) run.len += end - tail;
    else {
      if (run) yield emit(run);
      run = { lblk: tail, len: end - tail, pblk: 0 };
    }
  }
  if (run) yield emit(run);
}

/** The mapping at `lblk`: a run (merged forward as far as contiguous) or a hole. */
export function indirectLookup(ctx: FsContext, inode: InodeInfo, lblk: FileBlock): Mapping {
  const end = Math.min(Number.MAX_SAFE_INTEGER, lblk + EXT_LBLK_LIMIT);
  for (const m of indirectRuns(ctx, inode, lblk, Math.max(end, lblk + 1))) return m;
  return { kind: 'hole', lblk, len: 1 };
}

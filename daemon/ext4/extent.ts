// Extent trees (EXT4_EXTENTS_FL): the map from file blocks to device blocks of ext4 files.
// The root lives in the inode's 60-byte i_block (header + up to 4 entries); deeper nodes are
// whole blocks: ext4_extent_header, then eh_max entries (ext4_extent_idx in index nodes,
// ext4_extent in leaves), then, with metadata_csum, an ext4_extent_tail crc32c at
// 12 + 12 * eh_max. All little-endian. Lengths above 32768 mark unwritten (preallocated)
// extents. Follows Documentation/filesystems/ext4/dynamic.rst and fs/ext4/extents.c
// (__ext4_ext_check, ext4_valid_extent_entries, ext4_find_extent, ext4_ext_binsearch*).

import { struct, viewOf } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { FsContext, FileBlock, FsBlock, InodeInfo } from './context.js';
import { ChecksumError, CorruptError, Where } from './errors.js';

export const ext4_extent_header = struct('ext4_extent_header', 12, [
  ['eh_magic', 'u16le', 0x0],
  ['eh_entries', 'u16le', 0x2],
  ['eh_max', 'u16le', 0x4],
  ['eh_depth', 'u16le', 0x6],
  ['eh_generation', 'u32le', 0x8],
] as const);

export const ext4_extent = struct('ext4_extent', 12, [
  ['ee_block', 'u32le', 0x0],
  ['ee_len', 'u16le', 0x4],
  ['ee_start_hi', 'u16le', 0x6],
  ['ee_start_lo', 'u32le', 0x8],
] as const);

export const ext4_extent_idx = struct('ext4_extent_idx', 12, [
  ['ei_block', 'u32le', 0x0],
  ['ei_leaf_lo', 'u32le', 0x4],
  ['ei_leaf_hi', 'u16le', 0x8],
  ['ei_unused', 'u16le', 0xa],
] as const);

export const ext4_extent_tail = struct('ext4_extent_tail', 4, [
  ['et_checksum', 'u32le', 0x0],
] as const);

export const EXT4_EXT_MAGIC = 0xf30a;
export const EXT4_MAX_EXTENT_DEPTH = 5;
/** ee_len at or below this is an initialized extent; above, unwritten of ee_len - this. */
export const EXT_INIT_MAX_LEN = 32768;
/** One past the last logical block an extent tree can address (EXT_MAX_BLOCKS + 1). */
export const EXT_LBLK_LIMIT = 2 ** 32;
const HDR = 12;
const ENTRY = 12;
const ROOT_BYTES = 60;

/**
 * One piece of a file's block map, shared by extent and indirect maps: `len` blocks from
 * `lblk`, either on the device from `pblk` (unwritten: allocated but reads as zeros) or a
 * hole. Every pblk here has passed ctx.checkDataRange for the whole run.
 */
export type Mapping =
  | { kind: 'mapped'; lblk: FileBlock; len: number; pblk: FsBlock; unwritten: boolean }
  | { kind: 'hole'; lblk: FileBlock; len: number };

/** A validated leaf entry. */
export interface Extent {
  readonly lblk: FileBlock;
  readonly len: number;
  readonly pblk: FsBlock;
  readonly unwritten: boolean;
}

/**
 * A validated leaf with the logical span [lo, hi) its parents assign it: everything in the
 * span not covered by `extents` is a hole. Proved sorted, non-overlapping, inside the span.
 */
export interface Leaf {
  readonly lo: number;
  readonly hi: number;
  readonly extents: readonly Extent[];
}

interface IndexEntry { readonly lblk: number; readonly child: FsBlock }

type Node =
  | { depth: 0; leaf: Extent[] }
  | { depth: number; index: IndexEntry[] };

/** Per-call budget: tree nodes read. Lookups need at most depth + 1 <= 6. */
export interface WalkBudget { nodes: number }
export const DEFAULT_WALK_NODES = 1 << 16;

/** Max entries a node may declare (ext4_ext_max_entries with check=1: no AGGRESSIVE_TEST cap). */
export function extMaxEntries(blockSize: number, isRoot: boolean): number {
  return Math.floor(((isRoot ? ROOT_BYTES : blockSize) - HDR) / ENTRY);
}

/** The tree's depth as stored in the root header (after the header is validated). */
export function extentDepth(inode: InodeInfo): number {
  return viewOf(inode.iBlock).getUint16(6, true);
}

/** crc32c(inode seed, block bytes before the tail): ext4_extent_block_csum. */
export function extentBlockCsum(inode: InodeInfo, block: Uint8Array, ehMax: number): number {
  return crc32c(inode.csumSeed, block, 0, HDR + ENTRY * ehMax);
}

/** Verifies a non-root node's tail; throws ChecksumError (EBADMSG) on mismatch. */
export function verifyExtentBlockCsum(inode: InodeInfo, block: Uint8Array, ehMax: number, at: Where): void {
  const off = HDR + ENTRY * ehMax;
  // eh_max <= (blockSize - 12) / 12 was proved by the caller, so off + 4 <= blockSize.
  const stored = viewOf(block).getUint32(off, true);
  const computed = extentBlockCsum(inode, block, ehMax);
  if (stored !== computed) throw new ChecksumError('extent_block', at, stored, computed);
}

/** Recomputes and stores a node's tail checksum (for the write path and tests). */
export function setExtentBlockCsum(inode: InodeInfo, block: Uint8Array): void {
  const ehMax = viewOf(block).getUint16(4, true);
  const off = HDR + ENTRY * ehMax;
  if (off + 4 > block.byteLength) throw new CorruptError('extent_header', 'too large eh_max', {}, 'eh_max', ehMax);
  viewOf(block).setUint32(off, extentBlockCsum(inode, block, ehMax), true);
}

/**
 * Decodes and validates one node like __ext4_ext_check + ext4_valid_extent_entries, plus
 * the span rule the kernel leaves to e2fsck (entries stay inside [lo, hi)), which keeps
 * every map we hand out sorted and non-overlapping even on hostile trees.
 *  - bytes: the node (i_block for the root, a whole block otherwise)
 *  - depth: the depth this node must have (root: its own eh_depth, proved <= 5)
 *  - pblk: the node's block, undefined for the root
 */
export function parseExtentNode(
  ctx: FsContext, inode: InodeInfo, bytes: Uint8Array, depth: number, lo: number, hi: number, pblk?: FsBlock,
): Node {
  const isRoot = pblk === undefined;
  const at: Where = isRoot ? { inode: inode.ino } : { inode: inode.ino, block: pblk };
  if (bytes.byteLength < (isRoot ? ROOT_BYTES : ctx.blockSize)) {
    throw new CorruptError('extent_header', 'truncated node', at, 'bytes', bytes.byteLength);
  }
  const h = ext4_extent_header.decode(bytes, 0);
  if (h.eh_magic !== EXT4_EXT_MAGIC) throw new CorruptError('extent_header', 'invalid magic', at, 'eh_magic', h.eh_magic, EXT4_EXT_MAGIC);
  if (h.eh_depth !== depth) throw new CorruptError('extent_header', 'unexpected eh_depth', at, 'eh_depth', h.eh_depth, depth);
  if (h.eh_max === 0) throw new CorruptError('extent_header', 'invalid eh_max', at, 'eh_max', 0);
  const max = extMaxEntries(ctx.blockSize, isRoot);
  if (h.eh_max > max) throw new CorruptError('extent_header', 'too large eh_max', at, 'eh_max', h.eh_max, `<= ${max}`);
  if (h.eh_entries > h.eh_max) throw new CorruptError('extent_header', 'invalid eh_entries', at, 'eh_entries', h.eh_entries, `<= ${h.eh_max}`);
  if (h.eh_entries === 0 && depth > 0) throw new CorruptError('extent_header', 'eh_entries is 0 but eh_depth is > 0', at, 'eh_depth', depth);
  // Kernel order: structure first, then the checksum (ext4_extent_block_csum_verify last).
  const node: Node = depth === 0
    ? { depth: 0, leaf: parseLeafEntries(ctx, inode, bytes, h.eh_entries, isRoot, lo, hi, at) }
    : { depth, index: parseIndexEntries(ctx, inode, bytes, h.eh_entries, isRoot, lo, hi, at) };
  if (!isRoot && ctx.csumSeed !== null) verifyExtentBlockCsum(inode, bytes, h.eh_max, at);
  return node;
}

function parseLeafEntries(
  ctx: FsContext, inode: InodeInfo, b: Uint8Array, n: number, isRoot: boolean, lo: number, hi: number, at: Where,
): Extent[] {
  const out: Extent[] = [];
  let cur = lo; // the first logical block the next extent may start at
  for (let i = 0; i < n; i++) {
    const o = HDR + ENTRY * i; // i < eh_entries <= eh_max <= max: inside the node
    const { ee_block: lblk, ee_len: eeLen, ee_start_hi, ee_start_lo } = ext4_extent.decode(b, o);
    const pblk = ee_start_hi * 2 ** 32 + ee_start_lo; // 48 bits: exact
    const eat: Where = { ...at, offset: o, lblk };
    if (i === 0 && !isRoot && lblk !== lo) {
      throw new CorruptError('extent', 'first extent does not match index', eat, 'ee_block', lblk, lo);
    }
    const unwritten = eeLen > EXT_INIT_MAX_LEN;
    const len = unwritten ? eeLen - EXT_INIT_MAX_LEN : eeLen;
    if (len === 0) throw new CorruptError('extent', 'zero-length extent', eat, 'ee_len', eeLen);
    if (lblk + len > EXT_LBLK_LIMIT) throw new CorruptError('extent', 'extent wraps logical space', eat, 'ee_len', len);
    if (lblk < cur) throw new CorruptError('extent', 'overlapping extents', eat, 'ee_block', lblk, `>= ${cur}`);
    if (lblk + len > hi) throw new CorruptError('extent', 'extent outside index range', eat, 'ee_block', lblk, `end <= ${hi}`);
    ctx.checkDataRange(pblk, len, 'extent', eat);
    out.push({ lblk, len, pblk, unwritten });
    cur = lblk + len;
  }
  return out;
}

function parseIndexEntries(
  ctx: FsContext, inode: InodeInfo, b: Uint8Array, n: number, isRoot: boolean, lo: number, hi: number, at: Where,
): IndexEntry[] {
  const out: IndexEntry[] = [];
  let cur = lo;
  for (let i = 0; i < n; i++) {
    const o = HDR + ENTRY * i;
    const { ei_block: lblk, ei_leaf_hi, ei_leaf_lo } = ext4_extent_idx.decode(b, o);
    const child = ei_leaf_hi * 2 ** 32 + ei_leaf_lo;
    const eat: Where = { ...at, offset: o, lblk };
    if (i === 0 && !isRoot && lblk !== lo) {
      throw new CorruptError('extent_idx', 'first index does not match parent', eat, 'ei_block', lblk, lo);
    }
    if (lblk < cur) throw new CorruptError('extent_idx', 'overlapping index entries', eat, 'ei_block', lblk, `>= ${cur}`);
    if (lblk >= hi) throw new CorruptError('extent_idx', 'index outside parent range', eat, 'ei_block', lblk, `< ${hi}`);
    ctx.checkDataRange(child, 1, 'extent_idx', eat);
    out.push({ lblk, child });
    cur = lblk + 1;
  }
  return out;
}

/** Validates the root (ext4_ext_check_inode + ext4_find_extent's depth bound). */
function parseRoot(ctx: FsContext, inode: InodeInfo): Node {
  const at: Where = { inode: inode.ino };
  if (inode.iBlock.byteLength < ROOT_BYTES) throw new CorruptError('extent_header', 'truncated node', at, 'bytes', inode.iBlock.byteLength);
  const depth = extentDepth(inode);
  if (depth > EXT4_MAX_EXTENT_DEPTH) {
    // Magic first, so a non-extent i_block reports as such rather than as a depth.
    const magic = viewOf(inode.iBlock).getUint16(0, true);
    if (magic !== EXT4_EXT_MAGIC) throw new CorruptError('extent_header', 'invalid magic', at, 'eh_magic', magic, EXT4_EXT_MAGIC);
    throw new CorruptError('extent_header', 'too large eh_depth', at, 'eh_depth', depth, `<= ${EXT4_MAX_EXTENT_DEPTH}`);
  }
  return parseExtentNode(ctx, inode, inode.iBlock, depth, 0, EXT_LBLK_LIMIT);
}

/** ext4_ext_check_inode: validates the root in i_block (as iget does for extent inodes). */
export function checkExtentRoot(ctx: FsContext, inode: InodeInfo): void {
  parseRoot(ctx, inode);
}

/** Last entry with start <= x, or -1 (ext4_ext_binsearch / _idx). */
function searchLast<T extends { lblk: number }>(a: readonly T[], x: number): number {
  let l = 0;
  let r = a.length - 1;
  let found = -1;
  while (l <= r) {
    const m = (l + r) >>> 1;
    if (a[m].lblk <= x) { found = m; l = m + 1; } else r = m - 1;
  }
  return found;
}

/**
 * The leaf whose span holds `lblk` (< 2^32), descending from the root by binary search per
 * level. Blocks before a root's first index entry form a leaf-less hole span. Index nodes
 * come from `cache` when it holds them parsed for the same (block, depth, span).
 */
function walkToLeaf(ctx: FsContext, inode: InodeInfo, lblk: number, budget: WalkBudget, cache?: InodeLeaves): Leaf {
  let node = parseRoot(ctx, inode);
  let lo = 0;
  let hi = EXT_LBLK_LIMIT;
  // Depth strictly decreases per step (checked by parseExtentNode), so this ends in <= 5.
  while (!('leaf' in node)) {
    const idx = node.index;
    const i = searchLast(idx, lblk);
    if (i < 0) return { lo, hi: idx[0].lblk, extents: [] };
    const childLo = idx[i].lblk;
    const childHi = i + 1 < idx.length ? idx[i + 1].lblk : hi;
    const child = idx[i].child;
    const depth = node.depth - 1;
    const known = cache?.nodes.get(child);
    if (known && known.depth === depth && known.lo === childLo && known.hi === childHi) {
      node = { depth, index: known.index };
    } else {
      if (--budget.nodes < 0) {
        throw new CorruptError('extent', 'walk budget exhausted', { inode: inode.ino, lblk }, 'nodes', DEFAULT_WALK_NODES);
      }
      const bytes = ctx.readBlock(child, 'extent_block', { inode: inode.ino, block: child });
      node = parseExtentNode(ctx, inode, bytes, depth, childLo, childHi, child);
      if (cache && 'index' in node) cache.addNode(child, depth, childLo, childHi, node.index);
    }
    lo = childLo;
    hi = childHi;
  }
  return { lo, hi, extents: node.leaf };
}

/** The mapping at `lblk` from a leaf that spans it, clipped to start at lblk. */
function mapInLeaf(leaf: Leaf, lblk: number): Mapping {
  const ex = leaf.extents;
  const i = searchLast(ex, lblk);
  if (i >= 0 && lblk < ex[i].lblk + ex[i].len) {
    const e = ex[i];
    const d = lblk - e.lblk;
    return { kind: 'mapped', lblk, len: e.len - d, pblk: e.pblk + d, unwritten: e.unwritten };
  }
  const next = i + 1 < ex.length ? ex[i + 1].lblk : leaf.hi;
  return { kind: 'hole', lblk, len: next - lblk };
}

// ---- the per-inode leaf cache ---------------------------------------------------------

/** Cached entries (extents + index entries) across all inodes of one filesystem. */
const CACHE_MAX_ENTRIES = 1 << 18; // ~16 MiB of small objects at worst
const CACHE_MAX_LEAVES = 1024; // per inode; 1024 full 4 KiB leaves map >= 1.3 GiB
const CACHE_MAX_NODES = 64; // index nodes per inode

interface CachedIndex { depth: number; lo: number; hi: number; index: IndexEntry[] }

/** One inode's validated leaves (sorted by span, disjoint) and parsed index nodes. */
class InodeLeaves {
  readonly leaves: Leaf[] = [];
  readonly nodes = new Map<FsBlock, CachedIndex>();
  entries = 0;
  constructor(readonly generation: number, readonly root: Uint8Array) {}

  fresh(inode: InodeInfo): boolean {
    return this.generation === inode.generation && sameBytes(this.root, inode.iBlock);
  }

  find(lblk: number): Leaf | undefined {
    if (this.leaves.length === 0) return undefined;
    const i = searchLast(this.spans(), lblk);
    if (i < 0) return undefined;
    const l = this.leaves[i];
    return lblk < l.hi ? l : undefined;
  }

  private spanCache: Array<{ lblk: number }> | null = null;
  private spans(): Array<{ lblk: number }> {
    if (!this.spanCache) this.spanCache = this.leaves.map((l) => ({ lblk: l.lo }));
    return this.spanCache;
  }

  addLeaf(leaf: Leaf): number {
    let added = leaf.extents.length + 1;
    if (this.leaves.length >= CACHE_MAX_LEAVES) added -= this.clearLeaves();
    const i = searchLast(this.spans(), leaf.lo);
    // Spans of one consistent tree never overlap; a duplicate (same lo) is replaced.
    if (i >= 0 && this.leaves[i].lo === leaf.lo) {
      added -= this.leaves[i].extents.length + 1;
      this.leaves[i] = leaf;
    } else {
      this.leaves.splice(i + 1, 0, leaf);
    }
    this.spanCache = null;
    this.entries += added;
    return added;
  }

  addNode(block: FsBlock, depth: number, lo: number, hi: number, index: IndexEntry[]): number {
    let added = index.length + 1;
    if (this.nodes.size >= CACHE_MAX_NODES) {
      for (const n of this.nodes.values()) added -= n.index.length + 1;
      this.nodes.clear();
    }
    const old = this.nodes.get(block);
    if (old) added -= old.index.length + 1;
    this.nodes.set(block, { depth, lo, hi, index });
    this.entries += added;
    return added;
  }

  private clearLeaves(): number {
    let n = 0;
    for (const l of this.leaves) n += l.extents.length + 1;
    this.leaves.length = 0;
    this.spanCache = null;
    this.entries -= n;
    return n;
  }
}

/**
 * Validated leaves and index nodes per inode, so sequential 1 MiB reads do not re-walk the
 * tree. Bounded in total entries (LRU by inode). An inode's entry is dropped when its root
 * bytes or generation change; the write path must also call invalidate(ino) whenever it
 * rewrites a node below the root.
 */
export class ExtentCache {
  private readonly map = new Map<number, InodeLeaves>();
  private total = 0;
  constructor(private readonly maxEntries = CACHE_MAX_ENTRIES) {}

  invalidate(ino: number): void {
    const e = this.map.get(ino);
    if (e) { this.total -= e.entries; this.map.delete(ino); }
  }
  clear(): void { this.map.clear(); this.total = 0; }
  get size(): number { return this.total; }

  /** The inode's fresh entry (LRU-touched), or undefined; `create` makes one. */
  entry(inode: InodeInfo, create: boolean): InodeLeaves | undefined {
    let e = this.map.get(inode.ino);
    if (e && !e.fresh(inode)) { this.invalidate(inode.ino); e = undefined; }
    if (e) { this.map.delete(inode.ino); this.map.set(inode.ino, e); return e; }
    if (!create) return undefined;
    e = new InodeLeaves(inode.generation, inode.iBlock.slice(0, ROOT_BYTES));
    this.map.set(inode.ino, e);
    return e;
  }

  find(inode: InodeInfo, lblk: number): Leaf | undefined {
    return this.entry(inode, false)?.find(lblk);
  }

  add(inode: InodeInfo, leaf: Leaf): void {
    const e = this.entry(inode, true)!;
    this.total += e.addLeaf(leaf);
    this.trim(e);
  }

  /** Accounts entries added to `e` directly (index nodes) and trims. */
  account(e: InodeLeaves, added: number): void {
    this.total += added;
    this.trim(e);
  }

  private trim(keep: InodeLeaves): void {
    for (const [ino, e] of this.map) {
      if (this.total <= this.maxEntries) return;
      if (e === keep) continue;
      this.total -= e.entries;
      this.map.delete(ino);
    }
    if (this.total > this.maxEntries) { // one inode alone: start it over
      this.total -= keep.entries;
      keep.leaves.length = 0;
      keep.nodes.clear();
      keep.entries = 0;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (b.byteLength < a.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const caches = new WeakMap<FsContext, ExtentCache>();

/** The extent cache of one mounted filesystem (one per FsContext). */
export function extentCacheOf(ctx: FsContext): ExtentCache {
  let c = caches.get(ctx);
  if (!c) { c = new ExtentCache(); caches.set(ctx, c); }
  return c;
}

function leafFor(ctx: FsContext, inode: InodeInfo, lblk: number, budget: WalkBudget, useCache: boolean): Leaf {
  if (!useCache) return walkToLeaf(ctx, inode, lblk, budget);
  const cache = extentCacheOf(ctx);
  const e = cache.entry(inode, true)!;
  const hit = e.find(lblk);
  if (hit) return hit;
  const before = e.entries;
  const leaf = walkToLeaf(ctx, inode, lblk, budget, e);
  cache.account(e, e.entries - before); // index nodes added during the walk
  cache.add(inode, leaf);
  return leaf;
}

// ---- public lookups -------------------------------------------------------------------

function checkLblk(inode: InodeInfo, lblk: number): void {
  if (!Number.isSafeInteger(lblk) || lblk < 0) {
    throw new CorruptError('extent', 'logical block out of range', { inode: inode.ino }, 'lblk', lblk);
  }
}

/**
 * The mapping at `lblk`: mapped from there (len to the extent's end) or a hole (len to the
 * next extent or the end of the leaf span). Blocks >= 2^32 are a hole to 2^53.
 */
export function extentLookup(ctx: FsContext, inode: InodeInfo, lblk: FileBlock, useCache = true): Mapping {
  checkLblk(inode, lblk);
  if (lblk >= EXT_LBLK_LIMIT) return { kind: 'hole', lblk, len: Number.MAX_SAFE_INTEGER - lblk };
  return mapInLeaf(leafFor(ctx, inode, lblk, { nodes: EXT4_MAX_EXTENT_DEPTH + 1 }, useCache), lblk);
}

/**
 * Every mapping covering [start, end), in order, contiguous, holes included; the first
 * starts at `start` and the last is clipped to `end`. Walks leaf by leaf (each step moves
 * past one leaf span, so it ends), reading at most budget.nodes tree blocks.
 */
export function* extentRuns(
  ctx: FsContext, inode: InodeInfo, start: FileBlock, end: FileBlock,
  budget: WalkBudget = { nodes: DEFAULT_WALK_NODES }, useCache = true,
): Generator<Mapping> {
  checkLblk(inode, start);
  checkLblk(inode, end);
  let cur = start;
  const treeEnd = Math.min(end, EXT_LBLK_LIMIT);
  while (cur < treeEnd) {
    const leaf = leafFor(ctx, inode, cur, budget, useCache);
    const stop = Math.min(leaf.hi, treeEnd);
    let i = Math.max(0, searchLast(leaf.extents, cur));
    while (cur < stop) {
      const e = i < leaf.extents.length ? leaf.extents[i] : undefined;
      if (e && cur >= e.lblk + e.len) { i++; continue; }
      if (e && cur >= e.lblk) {
        const d = cur - e.lblk;
        const len = Math.min(e.len - d, stop - cur);
        yield { kind: 'mapped', lblk: cur, len, pblk: e.pblk + d, unwritten: e.unwritten };
        cur += len;
        i++;
      } else {
        const next = e ? Math.min(e.lblk, stop) : stop;
        yield { kind: 'hole', lblk: cur, len: next - cur };
        cur = next;
      }
    }
  }
  if (cur < end) yield { kind: 'hole', lblk: cur, len: end - cur };
}

/** Validates the whole tree (every node, every check) within a node budget; returns the extents count. */
export function checkExtentTree(ctx: FsContext, inode: InodeInfo, budget: WalkBudget = { nodes: DEFAULT_WALK_NODES }): number {
  let n = 0;
  for (const m of extentRuns(ctx, inode, 0, EXT_LBLK_LIMIT, budget, false)) if (m.kind === 'mapped') n++;
  return n;
}

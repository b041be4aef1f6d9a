// One view of a file's data over its three layouts: inline data (EXT4_INLINE_DATA_FL, the
// bytes live in the inode: inline.ts), extent trees (EXT4_EXTENTS_FL: extent.ts) and
// ext2/3 block maps (indirect.ts). Turns byte ranges into device byte ranges and zero
// runs for the read paths (FUSE READ, iomap), and implements SEEK_DATA/SEEK_HOLE and FIBMAP
// as fs/ext4/file.c ext4_llseek (iomap_seek_data/hole with ext4_iomap_report_ops) and
// ext4_bmap do. Offsets are byte counts as safe numbers: exact past 4 GiB and 2^32 blocks.
// bigalloc changes nothing here: extents and block maps are in block units.

import { FsContext, FileBlock, FsBlock, InodeInfo, EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL } from './context.js';
import { CorruptError, Errno, FsError } from './errors.js';
import { DEFAULT_WALK_NODES, Mapping, WalkBudget, extentLookup, extentRuns } from './extent.js';
import { indirectLookup, indirectRuns } from './indirect.js';

export type Segment =
  /** File bytes [fileOffset, +length) are device bytes [devByteOffset, +length). */
  | { kind: 'data'; fileOffset: number; devByteOffset: number; length: number }
  /** Reads as zeros: a hole, an unwritten extent, or past the last mapped block. */
  | { kind: 'zero'; fileOffset: number; length: number }
  /** Bytes held in the inode: the facade slices inlineData(ctx, inode). */
  | { kind: 'inline'; fileOffset: number; length: number };

export type FileLayout = 'inline' | 'extents' | 'blockmap';

/** Reads an inline file's whole content (inline.ts's inlineData, injected by the caller). */
export type InlineReader = (ctx: FsContext, inode: InodeInfo) => Uint8Array;

/** The largest readRangeSync request: it allocates the result up front. */
export const MAX_SYNC_READ = 16 << 20;

/** Which map serves this inode (the kernel tests inline data first, then extents). */
export function fileLayout(inode: InodeInfo): FileLayout {
  if (inode.flags & EXT4_INLINE_DATA_FL) return 'inline';
  if (inode.flags & EXT4_EXTENTS_FL) return 'extents';
  return 'blockmap';
}

/** Every block mapping covering [start, end) (logical blocks), in order, holes included. */
export function fileRuns(
  ctx: FsContext, inode: InodeInfo, start: FileBlock, end: FileBlock,
  budget: WalkBudget = { nodes: DEFAULT_WALK_NODES },
): Iterable<Mapping> {
  const layout = fileLayout(inode);
  if (layout === 'inline') throw new FsError(Errno.EINVAL, 'inline data file has no block map');
  return layout === 'extents' ? extentRuns(ctx, inode, start, end, budget) : indirectRuns(ctx, inode, start, end, budget);
}

function checkRequest(inode: InodeInfo, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError(Errno.EINVAL, `bad range ${offset}+${length}`);
  }
  if (!Number.isSafeInteger(inode.size) || inode.size < 0) {
    throw new CorruptError('inode', 'bad i_size', { inode: inode.ino }, 'i_size', inode.size);
  }
}

/**
 * The segments of file bytes [offset, offset+length) clipped to i_size, in order and
 * contiguous; device-contiguous data and neighbouring zero runs are merged, so a 1 MiB read
 * of an unfragmented file is one segment. Empty past EOF.
 */
export function mapRange(ctx: FsContext, inode: InodeInfo, offset: number, length: number): Segment[] {
  checkRequest(inode, offset, length);
  const end = Math.min(inode.size, offset + length);
  if (offset >= end) return [];
  if (fileLayout(inode) === 'inline') return [{ kind: 'inline', fileOffset: offset, length: end - offset }];
  const bs = ctx.blockSize;
  const first = Math.floor(offset / bs);
  const last = Math.ceil(end / bs);
  const out: Segment[] = [];
  for (const m of fileRuns(ctx, inode, first, last)) {
    const runStart = m.lblk * bs;
    const from = Math.max(offset, runStart);
    const to = Math.min(end, runStart + m.len * bs);
    if (from >= to) continue;
    if (m.kind === 'mapped' && !m.unwritten) {
      // pblk + len <= blocksCount (checkDataRange), and blocksCount * bs <= device size.
      const dev = m.pblk * bs + (from - runStart);
      const prev = out[out.length - 1];
      if (prev && prev.kind === 'data' && prev.devByteOffset + prev.length === dev) prev.length += to - from;
      else out.push({ kind: 'data', fileOffset: from, devByteOffset: dev, length: to - from });
    } else {
      const prev = out[out.length - 1];
      if (prev && prev.kind === 'zero') prev.length += to - from;
      else out.push({ kind: 'zero', fileOffset: from, length: to - from });
    }
  }
  return out;
}

/**
 * Small reads through ctx.readBlock (the metadata cache): directories, symlink targets,
 * xattr-less tools. The data path proper issues device reads from mapRange's segments.
 * Returns min(length, i_size - offset) bytes (empty at or past EOF).
 */
export function readRangeSync(
  ctx: FsContext, inode: InodeInfo, offset: number, length: number, inline?: InlineReader,
): Uint8Array {
  checkRequest(inode, offset, length);
  if (length > MAX_SYNC_READ) throw new FsError(Errno.EINVAL, `sync read of ${length} bytes`);
  const segs = mapRange(ctx, inode, offset, length);
  const total = segs.reduce((s, x) => s + x.length, 0);
  const out = new Uint8Array(total);
  const bs = ctx.blockSize;
  for (const s of segs) {
    const at = s.fileOffset - offset;
    if (s.kind === 'zero') continue; // already zero
    if (s.kind === 'inline') {
      if (!inline) throw new FsError(Errno.EOPNOTSUPP, 'inline data reader not supplied');
      const data = inline(ctx, inode);
      // Bytes the inline area does not hold (i_size beyond it) read as zeros.
      const src = data.subarray(Math.min(s.fileOffset, data.byteLength), Math.min(s.fileOffset + s.length, data.byteLength));
      out.set(src, at);
      continue;
    }
    let done = 0;
    while (done < s.length) {
      const dev = s.devByteOffset + done;
      const blk = Math.floor(dev / bs);
      const inBlk = dev - blk * bs;
      const n = Math.min(bs - inBlk, s.length - done);
      const b = ctx.readBlock(blk, 'file data', { inode: inode.ino, block: blk });
      out.set(b.subarray(inBlk, inBlk + n), at + done);
      done += n;
    }
  }
  return out;
}

/**
 * lseek(SEEK_DATA): the first data byte at or after `offset`. Holes and unwritten extents
 * are not data (ext4_iomap_report_ops reports IOMAP_UNWRITTEN; with no dirty page cache,
 * iomap treats it as a hole). ENXIO at or past EOF or when only holes remain.
 */
export function seekData(ctx: FsContext, inode: InodeInfo, offset: number): number {
  return seek(ctx, inode, offset, true);
}

/** lseek(SEEK_HOLE): the first hole byte at or after `offset`; i_size if none (EOF is a hole). */
export function seekHole(ctx: FsContext, inode: InodeInfo, offset: number): number {
  return seek(ctx, inode, offset, false);
}

function seek(ctx: FsContext, inode: InodeInfo, offset: number, wantData: boolean): number {
  checkRequest(inode, offset, 0);
  const size = inode.size;
  if (offset >= size) throw new FsError(Errno.ENXIO, 'seek past end of file');
  if (fileLayout(inode) === 'inline') return wantData ? offset : size;
  const bs = ctx.blockSize;
  // A whole-file scan may legitimately read many tree nodes; still bounded.
  const budget: WalkBudget = { nodes: 1 << 20 };
  for (const m of fileRuns(ctx, inode, Math.floor(offset / bs), Math.ceil(size / bs), budget)) {
    const isData = m.kind === 'mapped' && !m.unwritten;
    if (isData !== wantData) continue;
    const at = Math.max(offset, m.lblk * bs);
    if (at >= size) break;
    return at;
  }
  if (wantData) throw new FsError(Errno.ENXIO, 'no data after offset');
  return size;
}

/** FIBMAP: the device block of file block `lblk`, 0 for holes, unwritten blocks and inline files. */
export function bmap(ctx: FsContext, inode: InodeInfo, lblk: FileBlock): FsBlock {
  if (!Number.isSafeInteger(lblk) || lblk < 0) throw new FsError(Errno.EINVAL, `bad block ${lblk}`);
  const layout = fileLayout(inode);
  if (layout === 'inline') return 0;
  const m = layout === 'extents' ? extentLookup(ctx, inode, lblk) : indirectLookup(ctx, inode, lblk);
  return m.kind === 'mapped' && !m.unwritten ? m.pblk : 0;
}

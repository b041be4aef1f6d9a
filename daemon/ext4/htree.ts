// Hashed directory index (htree, "dx"): block 0 of an EXT4_INDEX_FL directory is dx_root
// (fake "." and ".." dirents, dx_root_info at byte 24, then dx_countlimit + dx_entry[]),
// interior blocks are dx_node (one fake dirent with rec_len = block size, then entries).
// Little-endian. metadata_csum puts an 8-byte dx_tail after the `limit` entries; largedir
// allows 3 levels instead of 2. Follows fs/ext4/namei.c dx_probe/ext4_htree_next_block and
// Documentation/filesystems/ext4/directory.rst ("Hash Tree Directories").

import { struct } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { FsContext, InodeInfo, EXT4_INDEX_FL } from './context.js';
import { CorruptError, ChecksumError, Where, corruptBounds } from './errors.js';
import {
  dirHash, effectiveHashVersion, DirHash, DX_HASH_LEGACY, DX_HASH_HALF_MD4, DX_HASH_TEA, DX_HASH_SIPHASH,
} from './hash.js';

/** Reads logical block `lblk` of a directory; null for a hole. */
export type ReadDirBlock = (lblk: number) => Uint8Array | null;

export const dxRootInfoSchema = struct('dx_root_info', 8, [
  ['reserved_zero', 'u32le', 0],
  ['hash_version', 'u8', 4],
  ['info_length', 'u8', 5],
  ['indirect_levels', 'u8', 6],
  ['unused_flags', 'u8', 7],
] as const);
export const dxCountLimitSchema = struct('dx_countlimit', 4, [
  ['limit', 'u16le', 0],
  ['count', 'u16le', 2],
] as const);
export const dxEntrySchema = struct('dx_entry', 8, [
  ['hash', 'u32le', 0],
  ['block', 'u32le', 4],
] as const);
export const dxTailSchema = struct('dx_tail', 8, [
  ['dt_reserved', 'u32le', 0],
  ['dt_checksum', 'u32le', 4],
] as const);

/** Where dx_root_info sits: after "." (12 bytes) and the 12-byte head of "..". */
export const DX_ROOT_INFO_OFFSET = 24;
/** dx_node entries follow one 8-byte fake dirent. */
export const DX_NODE_ENTRIES_OFFSET = 8;
const EXT4_MAX_REC_LEN = 65535;

/**
 * ext4_rec_len_from_disk as e2fsprogs writes it: for 64 KiB blocks a rec_len of 65536
 * does not fit 16 bits, so 65535 / 0 mean "whole block" and the low 2 bits carry bits 16-17.
 */
export function recLenFromDisk(v: number, blockSize: number): number {
  if (blockSize < 65536) return v;
  if (v === EXT4_MAX_REC_LEN || v === 0) return blockSize;
  return (v & 65532) | ((v & 3) << 16);
}

/** The kernel's ERR_BAD_DX_DIR: the index is unusable, so a lookup falls back to a linear scan. */
export class BadDxError extends CorruptError {
  constructor(structure: string, reason: string, at: Where, field?: string, value?: unknown, expected?: unknown) {
    super(structure, reason, at, field, value, expected);
    this.name = 'BadDxError';
  }
}

/** is_dx(): the index is used only with the dir_index feature and EXT4_INDEX_FL. */
export function isDx(ctx: FsContext, dir: InodeInfo): boolean {
  return ctx.features.has('dir_index') && (dir.flags & EXT4_INDEX_FL) !== 0;
}

/** s_flags EXT2_FLAGS_UNSIGNED_HASH, when the context carries it (default: signed, as x86). */
export function hashUnsigned(ctx: FsContext): boolean {
  return ctx.hashUnsigned === true;
}

/** Whether the context says which char signedness the hashes use (FsContext.hashUnsigned). */
export function hashSignednessKnown(ctx: FsContext): boolean {
  return typeof ctx.hashUnsigned === 'boolean';
}

function hasCsum(ctx: FsContext): boolean {
  return ctx.features.has('metadata_csum');
}

/** ext4_dir_htree_level: 3 levels with largedir, else 2. */
export function dxMaxLevels(ctx: FsContext): number {
  return ctx.features.has('largedir') ? 3 : 2;
}

/** dx_root_limit: entries that fit after the two fake dirents and the root info. */
export function dxRootLimit(ctx: FsContext, infoLength: number): number {
  let space = ctx.blockSize - 12 - 12 - infoLength;
  if (hasCsum(ctx)) space -= 8;
  return Math.floor(space / 8);
}

/** dx_node_limit: ext4_dir_rec_len(0, dir) is 8 (16 with hashes in dirents). */
export function dxNodeLimit(ctx: FsContext, dir: InodeInfo): number {
  let space = ctx.blockSize - (hashInDirent(dir) ? 16 : 8);
  if (hasCsum(ctx)) space -= 8;
  return Math.floor(space / 8);
}

/** ext4_hash_in_dirent: encrypted casefold directories store a SipHash after each name. */
export function hashInDirent(dir: InodeInfo): boolean {
  return (dir.flags & 0x800) !== 0 && (dir.flags & 0x40000000) !== 0;
}

/** get_dx_countlimit: where the countlimit of a dx block is, or null if it is no dx block. */
export function dxCountOffset(ctx: FsContext, b: Uint8Array): number | null {
  const bs = ctx.blockSize;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const rlen = recLenFromDisk(dv.getUint16(4, true), bs);
  if (rlen === bs) return DX_NODE_ENTRIES_OFFSET;
  if (rlen !== 12) return null;
  if (recLenFromDisk(dv.getUint16(12 + 4, true), bs) !== bs - 12) return null;
  if (dv.getUint32(DX_ROOT_INFO_OFFSET, true) !== 0 || dv.getUint8(DX_ROOT_INFO_OFFSET + 5) !== 8) return null;
  return 32;
}

/** ext4_dx_csum: entries up to count, then dt_reserved, then a zero dt_checksum. */
export function dxCsum(seed: number, b: Uint8Array, countOffset: number, count: number, tailOff: number): number {
  let c = crc32c(seed, b, 0, countOffset + count * 8);
  c = crc32c(c, b, tailOff, tailOff + 4);
  return crc32c(c, new Uint8Array(4));
}

interface Located { countOffset: number; limit: number; count: number; tailOff: number }

function locateTail(ctx: FsContext, b: Uint8Array, at: Where): Located {
  const countOffset = dxCountOffset(ctx, b);
  if (countOffset === null) throw new CorruptError('dx_tail', 'no dx countlimit for checksum', at);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const limit = dv.getUint16(countOffset, true);
  const count = dv.getUint16(countOffset + 2, true);
  const tailOff = countOffset + limit * 8;
  if (tailOff > ctx.blockSize - 8) {
    throw new CorruptError('dx_tail', 'no space for checksum', at, 'limit', limit, `<= ${(ctx.blockSize - 8 - countOffset) / 8}`);
  }
  if (count > limit) throw new CorruptError('dx_countlimit', 'count beyond limit', at, 'count', count, `<= ${limit}`);
  return { countOffset, limit, count, tailOff };
}

/** ext4_dx_csum_verify; a no-op without metadata_csum. */
export function verifyDxCsum(ctx: FsContext, dir: InodeInfo, b: Uint8Array, at: Where): void {
  if (!hasCsum(ctx)) return;
  const l = locateTail(ctx, b, at);
  const stored = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(l.tailOff + 4, true);
  const computed = dxCsum(dir.csumSeed, b, l.countOffset, l.count, l.tailOff);
  if (stored !== computed) throw new ChecksumError('dx_tail', at, stored, computed);
}

/** ext4_dx_csum_set: writes the dx_tail checksum into `b` (write path, tests). */
export function setDxCsum(ctx: FsContext, dir: InodeInfo, b: Uint8Array, at: Where = {}): void {
  const l = locateTail(ctx, b, at);
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(l.tailOff + 4, dxCsum(dir.csumSeed, b, l.countOffset, l.count, l.tailOff), true);
}

/**
 * ext4_read_dirblock(dir, lblk, INDEX): a hole, a block that is not shaped as a dx block,
 * or a checksum mismatch are hard errors (no linear fallback), as in the kernel.
 */
export function readIndexBlock(ctx: FsContext, dir: InodeInfo, lblk: number, nblocks: number, read: ReadDirBlock): Uint8Array {
  const at: Where = { inode: dir.ino, lblk };
  if (lblk >= nblocks) throw new CorruptError('dx_entry', 'block beyond directory size', at, 'block', lblk, `< ${nblocks}`);
  const b = read(lblk);
  if (b === null) throw new CorruptError('dx_node', 'directory hole found for htree index block', at);
  if (b.byteLength !== ctx.blockSize) throw new CorruptError('dx_node', 'short directory block', at, 'length', b.byteLength, ctx.blockSize);
  const rlen = recLenFromDisk(new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(4, true), ctx.blockSize);
  if (lblk !== 0 && rlen !== ctx.blockSize) {
    throw new CorruptError('dx_node', 'directory leaf block found instead of index block', at, 'rec_len', rlen, ctx.blockSize);
  }
  verifyDxCsum(ctx, dir, b, at);
  return b;
}

/** One level of a probe: an index block, its entries, and the entry followed. */
export interface DxFrame {
  readonly lblk: number;
  readonly block: Uint8Array;
  readonly dv: DataView;
  readonly entriesOff: number;
  readonly count: number;
  at: number;
}

export interface DxRootInfo {
  readonly hashVersion: number;
  readonly infoLength: number;
  readonly indirectLevels: number;
  readonly unusedFlags: number;
}

/** dx_root_info of block 0, with dx_probe's checks (BadDxError: fall back to linear). */
export function parseDxRoot(ctx: FsContext, dir: InodeInfo, b: Uint8Array): DxRootInfo {
  const at: Where = { inode: dir.ino, lblk: 0 };
  const raw = dxRootInfoSchema.decode(b, DX_ROOT_INFO_OFFSET, 8, corruptBounds('dx_root', at));
  const v = raw.hash_version;
  if (v !== DX_HASH_TEA && v !== DX_HASH_HALF_MD4 && v !== DX_HASH_LEGACY && v !== DX_HASH_SIPHASH) {
    throw new BadDxError('dx_root', 'unrecognised hash version', at, 'hash_version', v, '0, 1, 2 or 6');
  }
  if (hashInDirent(dir) !== (v === DX_HASH_SIPHASH)) {
    throw new BadDxError('dx_root', 'siphash if and only if hashes are in dirents', at, 'hash_version', v);
  }
  if (raw.unused_flags & 1) throw new BadDxError('dx_root', 'unimplemented hash flags', at, 'unused_flags', raw.unused_flags, 0);
  if (raw.indirect_levels >= dxMaxLevels(ctx)) {
    throw new BadDxError('dx_root', 'htree depth exceeds supported value', at, 'indirect_levels', raw.indirect_levels, `< ${dxMaxLevels(ctx)}`);
  }
  return { hashVersion: v, infoLength: raw.info_length, indirectLevels: raw.indirect_levels, unusedFlags: raw.unused_flags };
}

function frameOf(ctx: FsContext, dir: InodeInfo, lblk: number, b: Uint8Array, entriesOff: number, expectLimit: number, nblocks: number): DxFrame {
  const at: Where = { inode: dir.ino, lblk, offset: entriesOff };
  if (entriesOff + 8 > ctx.blockSize) throw new BadDxError('dx_countlimit', 'entries outside block', at, 'offset', entriesOff);
  const cl = dxCountLimitSchema.decode(b, entriesOff, 4, corruptBounds('dx_countlimit', at));
  if (cl.limit !== expectLimit) throw new BadDxError('dx_countlimit', 'limit is not what fits', at, 'limit', cl.limit, expectLimit);
  if (cl.count === 0 || cl.count > cl.limit) throw new BadDxError('dx_countlimit', 'count beyond limit', at, 'count', cl.count, `1..${cl.limit}`);
  // limit == what fits, so entriesOff + count*8 <= blockSize (proved by the limit formula).
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let prev = -1;
  for (let i = 0; i < cl.count; i++) {
    const e = entriesOff + i * 8;
    const blk = dv.getUint32(e + 4, true) & 0x0fffffff;
    if (blk >= nblocks) throw new CorruptError('dx_entry', 'block beyond directory size', { ...at, offset: e }, 'block', blk, `< ${nblocks}`);
    if (i === 0) continue; // entry 0's hash field is the countlimit
    const h = dv.getUint32(e, true);
    if (h < prev) throw new BadDxError('dx_entry', 'hashes not in increasing order', { ...at, offset: e }, 'hash', h, `>= ${prev}`);
    prev = h;
  }
  return { lblk, block: b, dv, entriesOff, count: cl.count, at: 0 };
}

function entryHash(f: DxFrame, i: number): number {
  return f.dv.getUint32(f.entriesOff + i * 8, true);
}
function entryBlock(f: DxFrame, i: number): number {
  return f.dv.getUint32(f.entriesOff + i * 8 + 4, true) & 0x0fffffff;
}

/** Binary search as dx_probe: the last entry whose hash is <= `hash` (entry 0 covers all below). */
function pick(f: DxFrame, hash: number): number {
  let p = 1;
  let q = f.count - 1;
  while (p <= q) {
    const m = p + ((q - p) >> 1);
    if (entryHash(f, m) > hash) q = m - 1;
    else p = m + 1;
  }
  return p - 1;
}

export interface DxProbe {
  readonly frames: DxFrame[];
  readonly hash: DirHash;
  readonly root: DxRootInfo;
}

/**
 * dx_probe: hashes `hashName` (already casefolded where the directory is) with the root's
 * version and walks root -> leaf. BadDxError means "index unusable, scan linearly";
 * other CorruptError/ChecksumError are hard failures, as the kernel's read errors are.
 */
export function dxProbe(ctx: FsContext, dir: InodeInfo, hashName: Uint8Array, nblocks: number, read: ReadDirBlock): DxProbe {
  const rootBlock = readIndexBlock(ctx, dir, 0, nblocks, read);
  const root = parseDxRoot(ctx, dir, rootBlock);
  const hash = dirHash(hashName, effectiveHashVersion(root.hashVersion, hashUnsigned(ctx)), ctx.hashSeed);
  if (hash === null) {
    throw new BadDxError('dx_root', 'hash not computable (siphash needs the encryption key)', { inode: dir.ino, lblk: 0 }, 'hash_version', root.hashVersion);
  }
  const frames: DxFrame[] = [];
  let f = frameOf(ctx, dir, 0, rootBlock, DX_ROOT_INFO_OFFSET + root.infoLength, dxRootLimit(ctx, root.infoLength), nblocks);
  const seen: number[] = [0];
  // indirect_levels < dxMaxLevels() <= 3 bounds this loop.
  for (let level = 0; ; level++) {
    f.at = pick(f, hash.major);
    frames.push(f);
    const blk = entryBlock(f, f.at);
    if (seen.includes(blk)) {
      throw new BadDxError('dx_entry', 'tree cycle', { inode: dir.ino, lblk: f.lblk }, 'block', blk);
    }
    if (level >= root.indirectLevels) break;
    seen.push(blk);
    const b = readIndexBlock(ctx, dir, blk, nblocks, read);
    f = frameOf(ctx, dir, blk, b, DX_NODE_ENTRIES_OFFSET, dxNodeLimit(ctx, dir), nblocks);
  }
  return { frames, hash, root };
}

/** The leaf block the deepest frame points at. */
export function currentLeaf(p: DxProbe): number {
  const f = p.frames[p.frames.length - 1];
  return entryBlock(f, f.at);
}

/**
 * ext4_htree_next_block for a lookup: advances to the next leaf if it continues the same
 * hash (its index hash, collision bit masked, equals ours). Returns false when the search
 * is over. Re-read interior nodes get the same checks as in dx_probe.
 */
export function nextLeaf(ctx: FsContext, dir: InodeInfo, p: DxProbe, nblocks: number, read: ReadDirBlock): boolean {
  const frames = p.frames;
  let i = frames.length - 1;
  let walkedUp = 0;
  for (;;) {
    const f = frames[i];
    if (++f.at < f.count) break;
    if (i === 0) return false;
    walkedUp++;
    i--;
  }
  const bhash = entryHash(frames[i], frames[i].at);
  if (((bhash & ~1) >>> 0) !== p.hash.major) return false;
  while (walkedUp-- > 0) {
    const blk = entryBlock(frames[i], frames[i].at);
    const b = readIndexBlock(ctx, dir, blk, nblocks, read);
    i++;
    frames[i] = frameOf(ctx, dir, blk, b, DX_NODE_ENTRIES_OFFSET, dxNodeLimit(ctx, dir), nblocks);
  }
  return true;
}

/** Whether a block of an htree directory is an index block (is_dx_internal_node). */
export function isDxInternalNode(ctx: FsContext, dir: InodeInfo, lblk: number, b: Uint8Array): boolean {
  if (!isDx(ctx, dir)) return false;
  if (lblk === 0) return true;
  if (b.byteLength < 8) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(0, true) === 0 && recLenFromDisk(dv.getUint16(4, true), ctx.blockSize) === ctx.blockSize;
}

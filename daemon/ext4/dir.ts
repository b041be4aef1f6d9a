// Directories: a directory file is a sequence of blocks (i_size / block size of them), each
// a chain of ext4_dir_entry_2 records (inode u32, rec_len u16, name_len u8, file_type u8,
// name), little-endian, rec_len 4-aligned; without INCOMPAT filetype the type byte is the
// high half of a 16-bit name_len and is ignored. metadata_csum ends every leaf block with a
// 12-byte ext4_dir_entry_tail; dir_index + EXT4_INDEX_FL adds the htree (htree.ts);
// inline_data keeps small directories in i_block + the system.data xattr; casefold dirs
// match names case-insensitively (casefold.ts). Follows fs/ext4/dir.c, namei.c, inline.c.

import { struct } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { FsContext, InodeInfo, EXT4_CASEFOLD_FL, EXT4_INLINE_DATA_FL } from './context.js';
import { CorruptError, ChecksumError, Errno, FsError, Where } from './errors.js';
import { bytesEqual, casefoldName, ciMatcher, foldIsExact, EXT4_ENC_STRICT_MODE_FL, EXT4_ENC_UTF8_12_1 } from './casefold.js';
import {
  BadDxError, ReadDirBlock, currentLeaf, dxProbe, hashInDirent, hashSignednessKnown, isDx, isDxInternalNode, nextLeaf,
  recLenFromDisk, verifyDxCsum,
} from './htree.js';

export type { ReadDirBlock } from './htree.js';

export const ext4DirEntry2Schema = struct('ext4_dir_entry_2', 8, [
  ['inode', 'u32le', 0],
  ['rec_len', 'u16le', 4],
  ['name_len', 'u8', 6],
  ['file_type', 'u8', 7],
] as const);
export const ext4DirEntrySchema = struct('ext4_dir_entry', 8, [
  ['inode', 'u32le', 0],
  ['rec_len', 'u16le', 4],
  ['name_len', 'u16le', 6],
] as const);
export const ext4DirEntryTailSchema = struct('ext4_dir_entry_tail', 12, [
  ['det_reserved_zero1', 'u32le', 0],
  ['det_rec_len', 'u16le', 4],
  ['det_reserved_zero2', 'u8', 6],
  ['det_reserved_ft', 'u8', 7],
  ['det_checksum', 'u32le', 8],
] as const);

export const EXT4_NAME_LEN = 255;
export const EXT4_FT_DIR_CSUM = 0xde;
/** The 4-byte parent inode number that opens an inline directory. */
export const EXT4_INLINE_DOTDOT_SIZE = 4;
export const EXT4_MIN_INLINE_DATA_SIZE = 60;

export type DirFileType = 'unknown' | 'reg' | 'dir' | 'chr' | 'blk' | 'fifo' | 'sock' | 'lnk';
const FT_NAMES: readonly DirFileType[] = ['unknown', 'reg', 'dir', 'chr', 'blk', 'fifo', 'sock', 'lnk'];
/** DT_* values (readdir d_type) per DirFileType. */
export const DT: Readonly<Record<DirFileType, number>> = {
  unknown: 0, fifo: 1, chr: 2, dir: 4, blk: 6, reg: 8, lnk: 10, sock: 12,
};

/** get_dtype(): types past EXT4_FT_MAX, or any type without the filetype feature, are unknown. */
export function fileTypeOf(ctx: FsContext, ft: number): DirFileType {
  if (!ctx.features.has('filetype') || ft >= FT_NAMES.length) return 'unknown';
  return FT_NAMES[ft];
}

export interface DirEntry {
  /** Byte offset of the record within the buffer it was decoded from. */
  readonly offset: number;
  readonly ino: number;
  readonly recLen: number;
  readonly name: Uint8Array;
  readonly rawFileType: number;
}

/** ext4_dir_rec_len: 8-byte header + name, 4-aligned, + 8 for in-dirent hashes. */
export function dirRecLen(nameLen: number, withHash = false): number {
  return ((nameLen + 8 + 3) & ~3) + (withHash ? 8 : 0);
}

function isFakeDirEntry(b: Uint8Array, off: number, nameLen: number, ft: number): boolean {
  if (nameLen > 0 && nameLen <= 2 && b[off + 8] === 0x2e && (nameLen === 1 || b[off + 9] === 0x2e)) return true;
  return ft === EXT4_FT_DIR_CSUM;
}

/**
 * __ext4_check_dir_entry on the record at `off` of `buf`, whose records span [0, size).
 * `at` places errors (inode, lblk). Returns the decoded entry; the name is a view.
 */
export function checkDirEntry(ctx: FsContext, dir: InodeInfo, buf: Uint8Array, off: number, size: number, at: Where): DirEntry {
  if (off < 0 || off + 8 > size || size > buf.byteLength) {
    throw new CorruptError('ext4_dir_entry_2', 'directory entry overrun', { ...at, offset: off }, 'offset', off, `<= ${size - 8}`);
  }
  // Hot path (every record of every block walked): plain byte reads, no allocation but the name view.
  const ino = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
  const rlen = recLenFromDisk(buf[off + 4] | (buf[off + 5] << 8), ctx.blockSize);
  const nameLen = buf[off + 6];
  const ft = buf[off + 7];
  const withHash = hashInDirent(dir) && !isFakeDirEntry(buf, off, nameLen, ft);
  const next = off + rlen;
  let reason: string | null = null;
  let expected: string | undefined;
  if (rlen < dirRecLen(1, withHash)) { reason = 'rec_len is smaller than minimal'; expected = `>= ${dirRecLen(1, withHash)}`; }
  else if (rlen % 4 !== 0) { reason = 'rec_len % 4 != 0'; expected = 'multiple of 4'; }
  else if (rlen < dirRecLen(nameLen, withHash)) { reason = 'rec_len is too small for name_len'; expected = `>= ${dirRecLen(nameLen, withHash)}`; }
  else if (next > size) { reason = 'directory entry overrun'; expected = `<= ${size - off}`; }
  else if (next > size - dirRecLen(1, hashInDirent(dir) && !ctx.features.has('metadata_csum')) && next !== size) {
    reason = 'directory entry too close to block end'; expected = `${size - off}`;
  }
  if (reason !== null) throw new CorruptError('ext4_dir_entry_2', reason, { ...at, offset: off }, 'rec_len', rlen, expected);
  if (ino > ctx.inodesCount) throw new CorruptError('ext4_dir_entry_2', 'inode out of bounds', { ...at, offset: off }, 'inode', ino, `<= ${ctx.inodesCount}`);
  return { offset: off, ino, recLen: rlen, name: buf.subarray(off + 8, off + 8 + nameLen), rawFileType: ft };
}

/** ext4_dirblock_csum: crc32c(inode seed, block up to the tail). */
export function dirBlockCsum(seed: number, b: Uint8Array, size: number): number {
  return crc32c(seed, b, 0, size);
}

/** get_dirent_tail: the tail's offset if the last 12 bytes are a well-formed tail, else null. */
export function direntTailOffset(ctx: FsContext, b: Uint8Array): number | null {
  const off = ctx.blockSize - 12;
  if (b.byteLength < ctx.blockSize) return null;
  const t = ext4DirEntryTailSchema.decode(b, off);
  if (t.det_reserved_zero1 !== 0 || recLenFromDisk(t.det_rec_len, ctx.blockSize) !== 12 ||
    t.det_reserved_zero2 !== 0 || t.det_reserved_ft !== EXT4_FT_DIR_CSUM) return null;
  return off;
}

/** ext4_dirblock_csum_verify for a leaf block; a no-op without metadata_csum. */
export function verifyDirBlockCsum(ctx: FsContext, dir: InodeInfo, b: Uint8Array, at: Where): void {
  if (!ctx.features.has('metadata_csum')) return;
  const off = direntTailOffset(ctx, b);
  if (off === null) throw new CorruptError('ext4_dir_entry_tail', 'no space for directory leaf checksum', at);
  const stored = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off + 8, true);
  const computed = dirBlockCsum(dir.csumSeed, b, off);
  if (stored !== computed) throw new ChecksumError('ext4_dir_entry_tail', at, stored, computed);
}

/** ext4_dirblock_csum_set (write path, tests): the tail must already be in place. */
export function setDirBlockCsum(ctx: FsContext, dir: InodeInfo, b: Uint8Array): void {
  const off = direntTailOffset(ctx, b);
  if (off === null) throw new CorruptError('ext4_dir_entry_tail', 'no space for directory leaf checksum', { inode: dir.ino });
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(off + 8, dirBlockCsum(dir.csumSeed, b, off), true);
}

/**
 * The "." and ".." records that open block 0 (ext4_empty_dir / e2fsck's rules): "." names
 * this directory, ".." names a non-zero inode. Not applied by lookup/readdir, which the
 * kernel does not check either; the facade uses it where the kernel does (rmdir).
 */
export function checkDotEntries(ctx: FsContext, dir: InodeInfo, block0: Uint8Array): { parent: number } {
  const at: Where = { inode: dir.ino, lblk: 0 };
  const size = Math.min(block0.byteLength, ctx.blockSize);
  const dot = checkDirEntry(ctx, dir, block0, 0, size, at);
  if (dot.ino !== dir.ino || !bytesEqual(dot.name, DOT)) {
    throw new CorruptError('ext4_dir_entry_2', "directory missing '.'", { ...at, offset: 0 }, 'inode', dot.ino, dir.ino);
  }
  const dd = checkDirEntry(ctx, dir, block0, dot.recLen, size, at);
  if (dd.ino === 0 || !bytesEqual(dd.name, DOTDOT)) {
    throw new CorruptError('ext4_dir_entry_2', "directory missing '..'", { ...at, offset: dot.recLen }, 'inode', dd.ino);
  }
  return { parent: dd.ino };
}

const DOT = Uint8Array.of(0x2e);
const DOTDOT = Uint8Array.of(0x2e, 0x2e);

/** Every record in buf[start, size) as ext4_readdir walks it (checks each one). */
function* walkRecords(ctx: FsContext, dir: InodeInfo, buf: Uint8Array, start: number, size: number, at: Where): Generator<DirEntry> {
  // Each record advances by rec_len >= 12, so at most size/12 iterations.
  for (let off = start; off < size;) {
    const e = checkDirEntry(ctx, dir, buf, off, size, at);
    yield e;
    off += e.recLen;
  }
}

/** search_dirblock: the first live record whose name matches, or null. */
function searchRecords(ctx: FsContext, dir: InodeInfo, buf: Uint8Array, start: number, size: number, at: Where, match: (n: Uint8Array) => boolean): DirEntry | null {
  for (const e of walkRecords(ctx, dir, buf, start, size, at)) {
    if (e.ino !== 0 && match(e.name)) return e;
  }
  return null;
}

/** Number of blocks the directory file has (i_size >> blockBits), bounded by the fs size. */
export function dirBlocks(ctx: FsContext, dir: InodeInfo): number {
  const n = Math.floor(dir.size / ctx.blockSize);
  if (n > ctx.blocksCount) throw new CorruptError('inode', 'directory larger than the filesystem', { inode: dir.ino }, 'i_size', dir.size);
  return n;
}

function readBlockChecked(ctx: FsContext, dir: InodeInfo, lblk: number, read: ReadDirBlock): Uint8Array | null {
  const b = read(lblk);
  if (b !== null && b.byteLength !== ctx.blockSize) {
    throw new CorruptError('ext4_dir_entry_2', 'short directory block', { inode: dir.ino, lblk }, 'length', b.byteLength, ctx.blockSize);
  }
  return b;
}

export interface LookupResult {
  readonly ino: number;
  readonly fileType: DirFileType;
}

interface NameMatch {
  match: (n: Uint8Array) => boolean;
  /** The bytes the htree hash is computed on (casefolded where the dir is). */
  hashName: Uint8Array;
  /** Whether a miss in the index is final (false when our folding may differ). */
  indexMissFinal: boolean;
}

function isCasefoldDir(ctx: FsContext, dir: InodeInfo): boolean {
  if ((dir.flags & EXT4_CASEFOLD_FL) === 0) return false;
  if (ctx.casefold === null) {
    throw new CorruptError('inode', 'casefold flag without casefold feature', { inode: dir.ino }, 'i_flags', dir.flags);
  }
  if (ctx.casefold.encoding !== EXT4_ENC_UTF8_12_1) {
    throw new CorruptError('superblock', 'unknown filename encoding', {}, 's_encoding', ctx.casefold.encoding, EXT4_ENC_UTF8_12_1);
  }
  return true;
}

function nameMatcher(ctx: FsContext, dir: InodeInfo, name: Uint8Array): NameMatch {
  if (!isCasefoldDir(ctx, dir)) return { match: (n) => bytesEqual(n, name), hashName: name, indexMissFinal: true };
  const strict = ((ctx.casefold?.flags ?? 0) & EXT4_ENC_STRICT_MODE_FL) !== 0;
  const folded = casefoldName(name);
  if (folded === null && strict) throw new FsError(Errno.EINVAL, 'name is not valid UTF-8 in a strict casefold directory');
  return { match: ciMatcher(name, folded, strict), hashName: folded ?? name, indexMissFinal: folded === null || foldIsExact(name) };
}

/**
 * Finds `name` in a directory (ext4_find_entry): inline directories from their inline
 * bytes; htree directories through the index (ext4_dx_find_entry), falling back to a
 * linear scan where the kernel does (BadDxError) or where our casefolding may not be the
 * kernel's; otherwise a linear scan of every block. null = no such entry (ENOENT).
 */
export function lookup(ctx: FsContext, dir: InodeInfo, name: Uint8Array, read: ReadDirBlock, inline?: Uint8Array): LookupResult | null {
  if (name.length === 0) return null;
  if (name.length > EXT4_NAME_LEN) throw new FsError(Errno.ENAMETOOLONG, 'name longer than 255 bytes');
  const isDotName = bytesEqual(name, DOT) || bytesEqual(name, DOTDOT);
  if ((dir.flags & EXT4_INLINE_DATA_FL) !== 0) return lookupInline(ctx, dir, name, requireInline(inline), isDotName);
  const nm = isDotName ? { match: (n: Uint8Array) => bytesEqual(n, name), hashName: name, indexMissFinal: true } : nameMatcher(ctx, dir, name);
  const nblocks = dirBlocks(ctx, dir);
  if (isDotName) return linearSearch(ctx, dir, nm.match, Math.min(1, nblocks), read);
  if (isDx(ctx, dir)) {
    try {
      const r = dxFind(ctx, dir, nm, nblocks, read);
      // Signed and unsigned hashes differ only on bytes >= 0x80: if the context does not
      // say which one the image uses, a miss on such a name is confirmed linearly.
      const final = nm.indexMissFinal && (hashSignednessKnown(ctx) || nm.hashName.every((c) => c < 0x80));
      if (r !== null || final) return r;
    } catch (e) {
      if (!(e instanceof BadDxError)) throw e;
    }
  }
  return linearSearch(ctx, dir, nm.match, nblocks, read);
}

function toResult(ctx: FsContext, e: DirEntry): LookupResult {
  return { ino: e.ino, fileType: fileTypeOf(ctx, e.rawFileType) };
}

function linearSearch(ctx: FsContext, dir: InodeInfo, match: (n: Uint8Array) => boolean, nblocks: number, read: ReadDirBlock): LookupResult | null {
  for (let lblk = 0; lblk < nblocks; lblk++) {
    const b = readBlockChecked(ctx, dir, lblk, read);
    if (b === null) continue; // holes are skipped, as ext4_bread_batch's NULL
    const at: Where = { inode: dir.ino, lblk };
    if (!isDxInternalNode(ctx, dir, lblk, b)) verifyDirBlockCsum(ctx, dir, b, at);
    const e = searchRecords(ctx, dir, b, 0, ctx.blockSize, at, match);
    if (e) return toResult(ctx, e);
  }
  return null;
}

function dxFind(ctx: FsContext, dir: InodeInfo, nm: NameMatch, nblocks: number, read: ReadDirBlock): LookupResult | null {
  const probe = dxProbe(ctx, dir, nm.hashName, nblocks, read);
  // Each step moves at least one index entry forward; a directory has at most nblocks leaves.
  for (let budget = nblocks; budget > 0; budget--) {
    const lblk = currentLeaf(probe);
    const at: Where = { inode: dir.ino, lblk };
    const b = readBlockChecked(ctx, dir, lblk, read);
    if (b === null) throw new CorruptError('ext4_dir_entry_2', 'directory hole found for htree leaf block', at);
    // __ext4_read_dirblock(DIRENT_HTREE): a block shaped like an index block is not verified.
    if (!isDxInternalNode(ctx, dir, lblk, b)) verifyDirBlockCsum(ctx, dir, b, at);
    const e = searchRecords(ctx, dir, b, 0, ctx.blockSize, at, nm.match);
    if (e) return toResult(ctx, e);
    if (!nextLeaf(ctx, dir, probe, nblocks, read)) return null;
  }
  throw new CorruptError('dx_node', 'htree walk exceeded directory size', { inode: dir.ino }, 'blocks', nblocks);
}

export interface DirListEntry {
  readonly name: Uint8Array;
  readonly ino: number;
  readonly fileType: DirFileType;
  /** Cookie that resumes after this entry. */
  readonly nextCookie: number;
}

function requireInline(inline: Uint8Array | undefined): Uint8Array {
  if (inline === undefined) throw new Error('inline directory read without its inline bytes');
  return inline;
}

/**
 * Lists a directory from `cookie` (0 = start) in on-disk order (ext4_readdir's linear
 * walk): the cookie is the byte position of the next record within the directory file, so
 * it stays valid while the directory is unchanged and re-syncs to the next record boundary
 * otherwise (as the kernel's readdir does after a change). Records with inode 0, the
 * checksum tail and htree index blocks yield nothing; dx_root's "." and ".." are real.
 */
export function* readdir(ctx: FsContext, dir: InodeInfo, cookie: number, read: ReadDirBlock, inline?: Uint8Array): Generator<DirListEntry> {
  if ((dir.flags & EXT4_INLINE_DATA_FL) !== 0) {
    yield* readdirInline(ctx, dir, cookie, requireInline(inline));
    return;
  }
  const bs = ctx.blockSize;
  const nblocks = Math.ceil(dir.size / bs);
  dirBlocks(ctx, dir);
  if (!Number.isSafeInteger(cookie) || cookie < 0) return;
  for (let lblk = Math.floor(cookie / bs); lblk < nblocks; lblk++) {
    const b = readBlockChecked(ctx, dir, lblk, read);
    if (b === null) continue;
    const at: Where = { inode: dir.ino, lblk };
    if (isDxInternalNode(ctx, dir, lblk, b)) {
      if (lblk !== 0) continue; // dx_node: one fake empty record covering the block
      verifyDxCsum(ctx, dir, b, at);
    } else {
      verifyDirBlockCsum(ctx, dir, b, at);
    }
    const base = lblk * bs;
    const end = Math.min(bs, dir.size - base);
    for (const e of walkRecords(ctx, dir, b, 0, bs, at)) {
      if (e.offset >= end) break;
      if (e.ino === 0 || base + e.offset < cookie) continue;
      yield { name: e.name, ino: e.ino, fileType: fileTypeOf(ctx, e.rawFileType), nextCookie: base + e.offset + e.recLen };
    }
  }
}

// Inline directories (ext4_read_inline_dir): the parent's inode number in i_block[0..4),
// records in i_block[4..60) and then in the system.data value. Positions follow the
// kernel's: 0 is the synthesized ".", 12 "..", and record bytes at inline offset o are at
// position o + 20 (as if "." and ".." took their usual 24 bytes).
const INLINE_DOT_POS = 0;
const INLINE_DOTDOT_POS = 12;
const INLINE_EXTRA = 20;

function inlineParent(ctx: FsContext, dir: InodeInfo, inline: Uint8Array): number {
  if (inline.byteLength < EXT4_MIN_INLINE_DATA_SIZE) {
    throw new CorruptError('inline_dir', 'inline data shorter than i_block', { inode: dir.ino }, 'length', inline.byteLength, `>= ${EXT4_MIN_INLINE_DATA_SIZE}`);
  }
  const parent = new DataView(inline.buffer, inline.byteOffset, inline.byteLength).getUint32(0, true);
  if (parent === 0 || parent > ctx.inodesCount) {
    throw new CorruptError('inline_dir', 'parent inode out of bounds', { inode: dir.ino, offset: 0 }, 'inode', parent, `1..${ctx.inodesCount}`);
  }
  return parent;
}

/** The two record regions of an inline directory, as [start, end) within the inline bytes. */
function inlineRegions(inline: Uint8Array): Array<[number, number]> {
  const r: Array<[number, number]> = [[EXT4_INLINE_DOTDOT_SIZE, EXT4_MIN_INLINE_DATA_SIZE]];
  if (inline.byteLength > EXT4_MIN_INLINE_DATA_SIZE) r.push([EXT4_MIN_INLINE_DATA_SIZE, inline.byteLength]);
  return r;
}

function lookupInline(ctx: FsContext, dir: InodeInfo, name: Uint8Array, inline: Uint8Array, isDotName: boolean): LookupResult | null {
  const parent = inlineParent(ctx, dir, inline);
  if (isDotName) return { ino: name.length === 1 ? dir.ino : parent, fileType: ctx.features.has('filetype') ? 'dir' : 'unknown' };
  const nm = nameMatcher(ctx, dir, name);
  for (const [start, end] of inlineRegions(inline)) {
    // ext4_search_dir runs on each region as its own buffer.
    const region = inline.subarray(start, end);
    const e = searchRecords(ctx, dir, region, 0, region.byteLength, { inode: dir.ino }, nm.match);
    if (e) return toResult(ctx, e);
  }
  return null;
}

function* readdirInline(ctx: FsContext, dir: InodeInfo, cookie: number, inline: Uint8Array): Generator<DirListEntry> {
  const parent = inlineParent(ctx, dir, inline);
  const dirType: DirFileType = 'dir';
  if (!Number.isSafeInteger(cookie) || cookie < 0) return;
  if (cookie <= INLINE_DOT_POS) yield { name: DOT, ino: dir.ino, fileType: dirType, nextCookie: INLINE_DOTDOT_POS };
  if (cookie <= INLINE_DOTDOT_POS) yield { name: DOTDOT, ino: parent, fileType: dirType, nextCookie: 24 };
  for (const [start, end] of inlineRegions(inline)) {
    const region = inline.subarray(start, end);
    for (const e of walkRecords(ctx, dir, region, 0, region.byteLength, { inode: dir.ino })) {
      const pos = start + e.offset + INLINE_EXTRA;
      if (e.ino === 0 || pos < cookie) continue;
      yield { name: e.name, ino: e.ino, fileType: fileTypeOf(ctx, e.rawFileType), nextCookie: pos + e.recLen };
    }
  }
}

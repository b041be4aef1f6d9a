// Extended attributes (fs/ext4/xattr.c, Documentation/filesystems/ext4/attributes.rst).
// Two places, same little-endian entry format: in the inode body after 128 + i_extra_isize
// (ext4_xattr_ibody_header: magic 0xEA020000, entries, values addressed from the first
// entry) and in one block named by i_file_acl (ext4_xattr_header, 32 bytes: magic,
// refcount, h_blocks == 1, hash, checksum; entries; values addressed from the block start).
// metadata_csum adds the block checksum; ea_inode lets a value live in the data of another
// inode (e_value_inum), checked by crc32c hashes. Validation copies check_xattrs().

import { Reader, struct, viewOf } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { ChecksumError, CorruptError, Errno, FsError, Where, corruptBounds } from './errors.js';
import { FsContext, InodeInfo, EXT4_EA_INODE_FL, S_IFLNK, S_IFMT } from './context.js';
import { diskAclToXattr } from './acl.js';

export const EXT4_XATTR_MAGIC = 0xea020000;
export const EXT4_XATTR_SIZE_MAX = 1 << 16; // XATTR_SIZE_MAX, the VFS bound as well
export const XATTR_NAME_MAX = 255;
const EXT4_XATTR_PAD = 4;
const ENTRY_SIZE = 16;
const ROOT_INO = 2;

export const XATTR_INDEX = {
  user: 1, posixAclAccess: 2, posixAclDefault: 3, trusted: 4, lustre: 5, security: 6,
  system: 7, richacl: 8, encryption: 9, hurd: 10,
} as const;

export const ext4_xattr_header = struct('ext4_xattr_header', 32, [
  ['h_magic', 'u32le', 0x0],
  ['h_refcount', 'u32le', 0x4],
  ['h_blocks', 'u32le', 0x8],
  ['h_hash', 'u32le', 0xc],
  ['h_checksum', 'u32le', 0x10],
  ['h_reserved', 'u8[12]', 0x14],
] as const);

export const ext4_xattr_entry = struct('ext4_xattr_entry', 16, [
  ['e_name_len', 'u8', 0x0],
  ['e_name_index', 'u8', 0x1],
  ['e_value_offs', 'u16le', 0x2],
  ['e_value_inum', 'u32le', 0x4],
  ['e_value_size', 'u32le', 0x8],
  ['e_hash', 'u32le', 0xc],
] as const);

/** EXT4_XATTR_LEN: an entry with its name, rounded to 4. */
export function xattrEntryLen(nameLen: number): number {
  return (nameLen + ENTRY_SIZE + 3) & ~3;
}
/** EXT4_XATTR_SIZE: a value rounded to 4. */
export function xattrValueSize(size: number): number {
  return (size + 3) & ~3;
}

export type XattrPlace = 'inode' | 'block';

/** One entry, validated; the value is not read yet. */
export interface XattrEntry {
  readonly place: XattrPlace;
  readonly index: number;
  /** e_name without prefix. */
  readonly name: Uint8Array;
  readonly valueOffs: number;
  readonly valueInum: number;
  readonly valueSize: number;
  readonly hash: number;
  /** Offset of the entry in its buffer (inode body or block), for the write path. */
  readonly entryOff: number;
}

/** The facade's access to EA inodes (the inode and extent code owns these reads). */
export interface EaInodeReader {
  /** The validated inode `ino` (any type; xattr.ts checks the EA flag itself). */
  inode(ino: number): InodeInfo;
  /** The first `size` bytes of its data; holes are corruption (ext4_xattr_inode_read). */
  read(info: InodeInfo, size: number): Uint8Array;
  /**
   * s_csum_seed where FsContext has none: the kernel derives it for ea_inode as well as for
   * metadata_csum (s_checksum_seed, else crc32c(~0, s_uuid)); FsContext sets it only for
   * metadata_csum.
   */
  readonly csumSeed?: number;
}

// ---------------------------------------------------------------- hashes and checksums

/** ext4_xattr_hash_entry: the e_hash of a block value (value as le32 words, padded). */
export function xattrHashEntry(name: Uint8Array, words: Uint32Array | readonly number[], signed = false): number {
  let hash = 0;
  for (let i = 0; i < name.length; i++) {
    // The signed variant is the hash old kernels wrote where char was signed (x86).
    const c = signed ? (name[i] << 24) >> 24 : name[i];
    hash = ((hash << 5) ^ (hash >>> 27) ^ c) >>> 0;
  }
  for (let i = 0; i < words.length; i++) {
    hash = ((hash << 16) ^ (hash >>> 16) ^ words[i]) >>> 0;
  }
  return hash >>> 0;
}

/** The value words ext4_xattr_set_entry hashes: the value padded with zeros to 4 bytes. */
export function valueWords(value: Uint8Array): Uint32Array {
  const padded = new Uint8Array(xattrValueSize(value.length));
  padded.set(value);
  const dv = viewOf(padded);
  const w = new Uint32Array(padded.length / 4);
  for (let i = 0; i < w.length; i++) w[i] = dv.getUint32(i * 4, true);
  return w;
}

/** ext4_xattr_rehash: h_hash from the entries' hashes; 0 ("never share") if any is 0. */
export function xattrBlockHash(entryHashes: readonly number[]): number {
  let hash = 0;
  for (const h of entryHashes) {
    if (h === 0) return 0;
    hash = ((hash << 16) ^ (hash >>> 16) ^ h) >>> 0;
  }
  return hash >>> 0;
}

/** ext4_xattr_block_csum: crc32c(seed, le64 block), then the block with h_checksum as 0. */
export function xattrBlockCsum(seed: number, blockNr: number, block: Uint8Array): number {
  const nr = new Uint8Array(8);
  viewOf(nr).setBigUint64(0, BigInt(blockNr), true);
  let c = crc32c(seed, nr);
  c = crc32c(c, block, 0, 16);
  c = crc32c(c, new Uint8Array(4));
  return crc32c(c, block, 20, block.length);
}

export function verifyXattrBlockCsum(ctx: FsContext, blockNr: number, block: Uint8Array, at: Where): void {
  if (ctx.csumSeed === null) return;
  const stored = viewOf(block).getUint32(16, true);
  const computed = xattrBlockCsum(ctx.csumSeed, blockNr, block);
  if (stored !== computed) throw new ChecksumError('xattr_block', at, stored, computed);
}

export function setXattrBlockCsum(ctx: FsContext, blockNr: number, block: Uint8Array): void {
  if (ctx.csumSeed === null) return;
  viewOf(block).setUint32(16, xattrBlockCsum(ctx.csumSeed, blockNr, block), true);
}

// ---------------------------------------------------------------- check_xattrs

/**
 * check_xattrs(): walks the names to the 4 zero bytes, then checks every value. `first` is
 * the offset of the first entry, `valueBase` the offset values are relative to, `end` the
 * end of the area. Returns the entries in on-disk order.
 */
function checkEntries(
  ctx: FsContext, buf: Uint8Array, first: number, valueBase: number, end: number,
  place: XattrPlace, where: Where,
): XattrEntry[] {
  const structure = place === 'block' ? 'xattr_block' : 'xattr_ibody';
  const r = new Reader(buf.subarray(0, end), corruptBounds(structure, where), structure);
  const bad = (reason: string, off: number, field?: string, value?: unknown, expected?: unknown): never => {
    throw new CorruptError(structure, reason, { ...where, offset: off }, field, value, expected);
  };
  // Names: every step advances >= 16 bytes inside `end`, so the walk is bounded by the area.
  const offs: number[] = [];
  let e = first;
  while (r.u32(e) !== 0) {
    const nameLen = r.u8(e);
    const next = e + xattrEntryLen(nameLen);
    if (next >= end) bad('e_name out of bounds', e, 'e_name_len', nameLen);
    const name = r.bytes(e + ENTRY_SIZE, nameLen);
    if (name.indexOf(0) >= 0) bad('bad e_name length', e, 'e_name_len', nameLen);
    offs.push(e);
    e = next;
  }
  const lastEnd = e + 4; // the 4 zero bytes: values may start right after them
  const out: XattrEntry[] = [];
  for (const off of offs) {
    const raw = r.struct(ext4_xattr_entry, off);
    const size = raw.e_value_size;
    const inum = raw.e_value_inum;
    if (inum !== 0 && !ctx.features.has('ea_inode')) {
      bad('ea_inode specified without ea_inode feature enabled', off, 'e_value_inum', inum);
    }
    if (inum !== 0 && (inum === ROOT_INO || !validInum(ctx, inum))) bad('invalid ea_ino', off, 'e_value_inum', inum);
    if (size > EXT4_XATTR_SIZE_MAX) bad('e_value size too large', off, 'e_value_size', size, `<= ${EXT4_XATTR_SIZE_MAX}`);
    if (size !== 0 && inum === 0) {
      const voffs = raw.e_value_offs;
      if (voffs > end - valueBase) bad('e_value out of bounds', off, 'e_value_offs', voffs);
      const value = valueBase + voffs;
      if (value < lastEnd || size > end - value || xattrValueSize(size) > end - value) {
        bad('overlapping e_value', off, 'e_value_offs', voffs);
      }
    }
    out.push({
      place, index: raw.e_name_index, name: r.bytes(off + ENTRY_SIZE, raw.e_name_len),
      valueOffs: raw.e_value_offs, valueInum: inum, valueSize: size, hash: raw.e_hash, entryOff: off,
    });
  }
  return out;
}

/** ext4_valid_inum: the root or an ordinary inode number. */
function validInum(ctx: FsContext, ino: number): boolean {
  // s_first_ino is not in FsContext yet; 11 is every rev-1 mkfs's value.
  const firstIno = (ctx as FsContext & { firstIno?: number }).firstIno ?? 11;
  return ino === ROOT_INO || (ino >= firstIno && ino <= ctx.inodesCount);
}

// ---------------------------------------------------------------- the two areas

/** The in-inode area of one inode, or null when it has none (no magic: not corruption). */
export interface IbodyArea {
  raw: Uint8Array;
  /** Offset of the first entry (= 128 + i_extra_isize + 4); values are relative to it. */
  first: number;
  entries: XattrEntry[];
}

/**
 * EXT4_INODE_HAS_XATTR_SPACE + the magic: the kernel only looks at in-inode xattrs when
 * both hold (ext4_iget_extra_inode sets EXT4_STATE_XATTR), then check_xattrs the area.
 */
export function readIbody(ctx: FsContext, inode: InodeInfo): IbodyArea | null {
  const raw = inode.raw;
  const end = Math.min(ctx.inodeSize, raw.length);
  const hdr = inode.extraEnd;
  if (hdr <= 128 || hdr + 4 + EXT4_XATTR_PAD > end) return null;
  const where: Where = { inode: inode.ino };
  if (viewOf(raw).getUint32(hdr, true) !== EXT4_XATTR_MAGIC) return null;
  const first = hdr + 4;
  if (end - hdr < 4 + 4) {
    throw new CorruptError('xattr_ibody', 'in-inode xattr block too small', where, 'i_extra_isize', hdr - 128);
  }
  return { raw, first, entries: checkEntries(ctx, raw, first, first, end, 'inode', where) };
}

export interface BlockArea {
  block: number;
  bytes: Uint8Array;
  refcount: number;
  hash: number;
  entries: XattrEntry[];
}

/** i_file_acl's block, header and checksum checked as ext4_xattr_check_block; null if 0. */
export function readXattrBlock(ctx: FsContext, inode: InodeInfo): BlockArea | null {
  const blk = inode.fileAcl;
  if (blk === 0) return null;
  const where: Where = { inode: inode.ino, block: blk };
  ctx.checkDataRange(blk, 1, 'xattr_block', where);
  const bytes = ctx.readBlock(blk, 'xattr_block', where);
  const r = new Reader(bytes, corruptBounds('xattr_block', where), 'xattr_block');
  const h = r.struct(ext4_xattr_header, 0);
  if (h.h_magic !== EXT4_XATTR_MAGIC) {
    throw new CorruptError('xattr_block', 'invalid header', where, 'h_magic', h.h_magic, EXT4_XATTR_MAGIC);
  }
  if (h.h_blocks !== 1) throw new CorruptError('xattr_block', 'invalid header', where, 'h_blocks', h.h_blocks, 1);
  verifyXattrBlockCsum(ctx, blk, bytes, where);
  const entries = checkEntries(ctx, bytes, 32, 0, bytes.length, 'block', where);
  return { block: blk, bytes, refcount: h.h_refcount, hash: h.h_hash, entries };
}

// ---------------------------------------------------------------- values

function valueOf(
  ctx: FsContext, inode: InodeInfo, e: XattrEntry, buf: Uint8Array, base: number, ea?: EaInodeReader,
): Uint8Array {
  if (e.valueInum !== 0) {
    if (!ea) throw new FsError(Errno.EOPNOTSUPP, 'xattr value in an EA inode: no reader given');
    return eaInodeValue(ctx, inode, e, ea);
  }
  if (e.valueSize === 0) return new Uint8Array(0);
  const off = base + e.valueOffs; // proven inside the area by checkEntries
  return buf.slice(off, off + e.valueSize);
}

/** ext4_xattr_inode_iget + ext4_xattr_inode_get + ext4_xattr_inode_verify_hashes. */
function eaInodeValue(ctx: FsContext, parent: InodeInfo, e: XattrEntry, ea: EaInodeReader): Uint8Array {
  const where: Where = { inode: parent.ino };
  if (e.valueInum === parent.ino) {
    throw new CorruptError('xattr_ea_inode', 'parent and EA inode have the same ino', where, 'e_value_inum', e.valueInum);
  }
  const info = ea.inode(e.valueInum);
  const eaWhere: Where = { inode: e.valueInum };
  if (!(info.flags & EXT4_EA_INODE_FL)) {
    throw new CorruptError('xattr_ea_inode', 'missing EA_INODE flag', eaWhere, 'i_flags', info.flags);
  }
  const dv = viewOf(info.raw);
  const storedHash = dv.getUint32(0x08, true); // i_atime carries the value's crc32c
  const backPtr = dv.getUint32(0x10, true); // i_mtime: Lustre's parent ino
  const lustre = e.hash !== storedHash && backPtr === parent.ino && info.generation === parent.generation;
  if (info.size !== e.valueSize) {
    throw new CorruptError('xattr_ea_inode', 'ea_inode size differs from entry size', eaWhere, 'i_size', info.size, e.valueSize);
  }
  const data = ea.read(info, e.valueSize);
  if (data.length !== e.valueSize) {
    throw new CorruptError('xattr_ea_inode', 'short EA inode read', eaWhere, 'read', data.length, e.valueSize);
  }
  if (!lustre) {
    const seed = ctx.csumSeed ?? ea.csumSeed;
    if (seed === undefined) {
      // Without the seed the hash cannot be checked, and an unchecked value is not served.
      throw new FsError(Errno.EOPNOTSUPP, 'ea_inode without a checksum seed (FsContext.csumSeed or EaInodeReader.csumSeed)');
    }
    const hash = crc32c(seed, data);
    if (hash !== storedHash) {
      throw new CorruptError('xattr_ea_inode', 'EA inode hash validation failed', eaWhere, 'i_atime', storedHash, hash);
    }
    const eh = xattrHashEntry(e.name, [hash]);
    if (eh !== e.hash && xattrHashEntry(e.name, [hash], true) !== e.hash) {
      throw new CorruptError('xattr_ea_inode', 'entry hash mismatch', where, 'e_hash', e.hash, eh);
    }
  }
  return data;
}

// ---------------------------------------------------------------- names

const PREFIX: Record<number, string> = {
  [XATTR_INDEX.user]: 'user.',
  [XATTR_INDEX.posixAclAccess]: 'system.posix_acl_access',
  [XATTR_INDEX.posixAclDefault]: 'system.posix_acl_default',
  [XATTR_INDEX.trusted]: 'trusted.',
  [XATTR_INDEX.security]: 'security.',
  [XATTR_INDEX.system]: 'system.',
  [XATTR_INDEX.richacl]: 'system.richacl',
  [XATTR_INDEX.hurd]: 'gnu.',
};

/** The full name as stored (prefix by index + e_name); unknown indexes get no prefix. */
export function fullName(index: number, name: Uint8Array): Uint8Array {
  const p = Buffer.from(PREFIX[index] ?? '', 'latin1');
  const out = new Uint8Array(p.length + name.length);
  out.set(p);
  out.set(name, p.length);
  return out;
}

/**
 * Whether the kernel's listxattr shows an entry: only indexes in ext4_xattr_handler_map
 * (user, both ACLs, trusted, security, hurd); trusted.* only for CAP_SYS_ADMIN. system.data,
 * richacl, lustre and encryption entries are never listed.
 */
export function isListed(index: number, capSysAdmin: boolean): boolean {
  switch (index) {
    case XATTR_INDEX.user: case XATTR_INDEX.posixAclAccess: case XATTR_INDEX.posixAclDefault:
    case XATTR_INDEX.security: case XATTR_INDEX.hurd:
      return true;
    case XATTR_INDEX.trusted:
      return capSysAdmin;
    default:
      return false;
  }
}

/** Resolves a getxattr name as the VFS handler table does: [index, e_name]. */
export function resolveName(full: Uint8Array): [number, Uint8Array] {
  if (full.length > XATTR_NAME_MAX) throw new FsError(Errno.ERANGE, 'xattr name too long');
  const s = Buffer.from(full).toString('latin1');
  if (s === 'system.posix_acl_access') return [XATTR_INDEX.posixAclAccess, new Uint8Array(0)];
  if (s === 'system.posix_acl_default') return [XATTR_INDEX.posixAclDefault, new Uint8Array(0)];
  for (const idx of [XATTR_INDEX.user, XATTR_INDEX.trusted, XATTR_INDEX.security, XATTR_INDEX.hurd]) {
    const p = PREFIX[idx];
    if (s.startsWith(p)) {
      if (s.length === p.length) throw new FsError(Errno.EINVAL, `xattr name is only the prefix ${p}`);
      return [idx, full.subarray(p.length)];
    }
  }
  throw new FsError(Errno.EOPNOTSUPP, 'xattr namespace not supported');
}

// ---------------------------------------------------------------- public API

export interface XattrItem extends XattrEntry {
  /** Prefix + e_name (what listxattr would print for a listed index). */
  readonly fullName: Uint8Array;
  /** The stored value (disk form for ACLs); null for EA-inode values without a reader. */
  readonly value: Uint8Array | null;
  /** Shown by the kernel's listxattr with CAP_SYS_ADMIN / without it. */
  readonly listedAdmin: boolean;
  readonly listedUser: boolean;
}

/** Every entry, in-inode first then block, each in on-disk order (ext4_listxattr's order). */
export function listXattrs(ctx: FsContext, inode: InodeInfo, ea?: EaInodeReader): XattrItem[] {
  const out: XattrItem[] = [];
  const ib = readIbody(ctx, inode);
  const add = (e: XattrEntry, buf: Uint8Array, base: number) => {
    out.push({
      ...e, fullName: fullName(e.index, e.name),
      value: e.valueInum !== 0 && !ea ? null : valueOf(ctx, inode, e, buf, base, ea),
      listedAdmin: isListed(e.index, true), listedUser: isListed(e.index, false),
    });
  };
  if (ib) for (const e of ib.entries) add(e, ib.raw, ib.first);
  const blk = readXattrBlock(ctx, inode);
  if (blk) for (const e of blk.entries) add(e, blk.bytes, 0);
  return out;
}

/** What listxattr(2) returns: the listed full names in order. */
export function listXattrNames(ctx: FsContext, inode: InodeInfo, capSysAdmin: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ib = readIbody(ctx, inode);
  if (ib) for (const e of ib.entries) if (isListed(e.index, capSysAdmin)) out.push(fullName(e.index, e.name));
  const blk = readXattrBlock(ctx, inode);
  if (blk) for (const e of blk.entries) if (isListed(e.index, capSysAdmin)) out.push(fullName(e.index, e.name));
  return out;
}

function cmpEntry(index: number, name: Uint8Array, e: XattrEntry): number {
  let c = index - e.index;
  if (!c) c = name.length - e.name.length;
  if (!c) c = Buffer.compare(Buffer.from(name), Buffer.from(e.name));
  return c;
}

/**
 * ext4_xattr_get by index and e_name: the raw stored value, or null (ENODATA). In-inode
 * entries are searched in full; block entries as the kernel's sorted search, which stops
 * at the first entry not smaller than the name (a mis-sorted block hides what follows).
 */
export function findXattr(
  ctx: FsContext, inode: InodeInfo, index: number, name: Uint8Array, ea?: EaInodeReader,
): Uint8Array | null {
  if (name.length > XATTR_NAME_MAX) throw new FsError(Errno.ERANGE, 'xattr name too long');
  const ib = readIbody(ctx, inode);
  if (ib) {
    for (const e of ib.entries) if (cmpEntry(index, name, e) === 0) return valueOf(ctx, inode, e, ib.raw, ib.first, ea);
  }
  const blk = readXattrBlock(ctx, inode);
  if (blk) {
    for (const e of blk.entries) {
      const c = cmpEntry(index, name, e);
      if (c === 0) return valueOf(ctx, inode, e, blk.bytes, 0, ea);
      if (c < 0) break;
    }
  }
  return null;
}

/**
 * getxattr(2) on a kernel mount: the bytes returned, null for ENODATA. POSIX ACLs come back
 * in the userspace (version 2) form. Permission policy (trusted.* needs CAP_SYS_ADMIN,
 * user.* only on regular files and directories) is the caller's, as in the VFS.
 */
export function getXattr(ctx: FsContext, inode: InodeInfo, full: Uint8Array, ea?: EaInodeReader): Uint8Array | null {
  const [index, name] = resolveName(full);
  const isAcl = index === XATTR_INDEX.posixAclAccess || index === XATTR_INDEX.posixAclDefault;
  // The VFS refuses ACLs on symlinks before asking ext4 (listxattr still shows them).
  if (isAcl && (inode.mode & S_IFMT) === S_IFLNK) throw new FsError(Errno.EOPNOTSUPP, 'posix ACLs on a symlink');
  const v = findXattr(ctx, inode, index, name, ea);
  if (v === null) return null;
  return isAcl ? diskAclToXattr(v, { inode: inode.ino }) : v;
}

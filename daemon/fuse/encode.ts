// Reply encoders (notifications are in notify.ts). Every encoder writes into a caller-owned buffer at an
// offset (the session passes its pooled reply buffer, body at 16 after fuse_out_header) and
// returns the bytes written, so hot replies (entry, attr, read data, dirents) allocate nothing.
// Layouts follow include/uapi/linux/fuse.h 7.45; host order little-endian.

import { viewOf } from '../util/bytes.js';
import * as A from './abi.js';
import { ProtocolError } from './errors.js';

export const OUT_HEADER = 16;

export interface Attr {
  ino: bigint; size: bigint; blocks: bigint;
  atime: bigint; mtime: bigint; ctime: bigint; atimensec: number; mtimensec: number; ctimensec: number;
  mode: number; nlink: number; uid: number; gid: number; rdev: number; blksize: number; flags?: number;
}
/** Timeouts are seconds (fractions allowed). nodeid 0 with entryValid > 0 = cached negative. */
export interface Entry { nodeid: bigint; generation?: bigint; entryValid: number; attrValid: number; attr: Attr }
export interface AttrReply { attr: Attr; attrValid: number }
export interface OpenReply { fh: bigint; openFlags?: number; backingId?: number }
export interface CreateReply { entry: Entry; open: OpenReply }
export interface Statfs {
  blocks: bigint; bfree: bigint; bavail: bigint; files: bigint; ffree: bigint;
  bsize: number; namelen: number; frsize: number;
}
export interface SxTime { sec: bigint; nsec: number }
export interface Statx {
  mask: number; blksize: number; attributes: bigint; nlink: number; uid: number; gid: number; mode: number;
  ino: bigint; size: bigint; blocks: bigint; attributesMask: bigint;
  atime: SxTime; btime: SxTime; ctime: SxTime; mtime: SxTime;
  rdevMajor: number; rdevMinor: number; devMajor: number; devMinor: number;
}
export interface StatxReply { attrValid: number; flags?: number; stat: Statx }
export interface IoctlReply { result: number; flags?: number; inIovs?: number; outIovs?: number; data?: Uint8Array }
export interface LkReply { start: bigint; end: bigint; type: number; pid: number }
export interface InitReply {
  major: number; minor: number; maxReadahead: number; flags: bigint; maxBackground: number;
  congestionThreshold: number; maxWrite: number; timeGran: number; maxPages: number;
  mapAlignment?: number; maxStackDepth?: number; requestTimeout?: number;
}
export interface DirentRec { ino: bigint; off: bigint; type: number; name: Uint8Array }

/** Splits a timeout in seconds into the kernel's (u64 sec, u32 nsec). */
export function splitValid(v: number): [bigint, number] {
  if (!Number.isFinite(v) || v <= 0) return [0n, 0];
  const s = Math.floor(v);
  const ns = Math.min(999_999_999, Math.round((v - s) * 1e9));
  return [BigInt(s), ns];
}

/** fuse_out_header at `off`. */
export function writeOutHeader(buf: Uint8Array, off: number, len: number, error: number, unique: bigint): void {
  const dv = viewOf(buf);
  dv.setUint32(off, len, true);
  dv.setInt32(off + 4, error, true);
  dv.setBigUint64(off + 8, unique, true);
}

export function writeAttr(dv: DataView, o: number, a: Attr): number {
  dv.setBigUint64(o, a.ino, true);
  dv.setBigUint64(o + 8, a.size, true);
  dv.setBigUint64(o + 16, a.blocks, true);
  dv.setBigUint64(o + 24, a.atime, true);
  dv.setBigUint64(o + 32, a.mtime, true);
  dv.setBigUint64(o + 40, a.ctime, true);
  dv.setUint32(o + 48, a.atimensec, true);
  dv.setUint32(o + 52, a.mtimensec, true);
  dv.setUint32(o + 56, a.ctimensec, true);
  dv.setUint32(o + 60, a.mode, true);
  dv.setUint32(o + 64, a.nlink, true);
  dv.setUint32(o + 68, a.uid, true);
  dv.setUint32(o + 72, a.gid, true);
  dv.setUint32(o + 76, a.rdev, true);
  dv.setUint32(o + 80, a.blksize, true);
  dv.setUint32(o + 84, a.flags ?? 0, true);
  return A.fuse_attr.size;
}

export function encodeEntry(buf: Uint8Array, o: number, e: Entry): number {
  const dv = viewOf(buf);
  const [es, ens] = splitValid(e.entryValid);
  const [as, ans] = splitValid(e.attrValid);
  dv.setBigUint64(o, e.nodeid, true);
  dv.setBigUint64(o + 8, e.generation ?? 0n, true);
  dv.setBigUint64(o + 16, es, true);
  dv.setBigUint64(o + 24, as, true);
  dv.setUint32(o + 32, ens, true);
  dv.setUint32(o + 36, ans, true);
  writeAttr(dv, o + 40, e.attr);
  return A.fuse_entry_out.size;
}

export function encodeAttrOut(buf: Uint8Array, o: number, r: AttrReply): number {
  const dv = viewOf(buf);
  const [s, ns] = splitValid(r.attrValid);
  dv.setBigUint64(o, s, true);
  dv.setUint32(o + 8, ns, true);
  dv.setUint32(o + 12, 0, true);
  writeAttr(dv, o + 16, r.attr);
  return A.fuse_attr_out.size;
}

export function encodeOpen(buf: Uint8Array, o: number, r: OpenReply): number {
  A.fuse_open_out.encode({ fh: r.fh, open_flags: r.openFlags ?? 0, backing_id: r.backingId ?? 0 }, buf, o);
  return A.fuse_open_out.size;
}

export function encodeCreate(buf: Uint8Array, o: number, r: CreateReply): number {
  const n = encodeEntry(buf, o, r.entry);
  return n + encodeOpen(buf, o + n, r.open);
}

export function encodeStatfs(buf: Uint8Array, o: number, s: Statfs): number {
  A.fuse_kstatfs.encode({
    blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree,
    bsize: s.bsize, namelen: s.namelen, frsize: s.frsize, padding: 0, spare: new Uint8Array(24),
  }, buf, o);
  return A.fuse_kstatfs.size;
}

/** u32 size replies: GETXATTR/LISTXATTR size probes (fuse_getxattr_out), WRITE (fuse_write_out). */
export function encodeSize32(buf: Uint8Array, o: number, size: number): number {
  A.fuse_getxattr_out.encode({ size, padding: 0 }, buf, o);
  return 8;
}

/** u64 replies: LSEEK (fuse_lseek_out), BMAP (fuse_bmap_out), COPY_FILE_RANGE_64. */
export function encodeU64(buf: Uint8Array, o: number, v: bigint): number {
  viewOf(buf).setBigUint64(o, v, true);
  return 8;
}

export function encodePoll(buf: Uint8Array, o: number, revents: number): number {
  A.fuse_poll_out.encode({ revents, padding: 0 }, buf, o);
  return 8;
}

export function encodeLk(buf: Uint8Array, o: number, l: LkReply): number {
  A.fuse_file_lock.encode({ start: l.start, end: l.end, type: l.type, pid: l.pid }, buf, o);
  return A.fuse_lk_out.size;
}

export function encodeIoctl(buf: Uint8Array, o: number, r: IoctlReply): number {
  A.fuse_ioctl_out.encode({ result: r.result, flags: r.flags ?? 0, in_iovs: r.inIovs ?? 0, out_iovs: r.outIovs ?? 0 }, buf, o);
  const d = r.data ?? new Uint8Array(0);
  if (o + 16 + d.byteLength > buf.byteLength) throw new ProtocolError('ioctl reply larger than out_size');
  buf.set(d, o + 16);
  return 16 + d.byteLength;
}

function writeSxTime(dv: DataView, o: number, t: SxTime): void {
  dv.setBigInt64(o, t.sec, true);
  dv.setUint32(o + 8, t.nsec, true);
  dv.setInt32(o + 12, 0, true);
}

export function encodeStatx(buf: Uint8Array, o: number, r: StatxReply): number {
  buf.fill(0, o, o + A.fuse_statx_out.size);
  const dv = viewOf(buf);
  const [s, ns] = splitValid(r.attrValid);
  dv.setBigUint64(o, s, true);
  dv.setUint32(o + 8, ns, true);
  dv.setUint32(o + 12, r.flags ?? 0, true);
  const x = o + 32;
  const st = r.stat;
  dv.setUint32(x, st.mask, true);
  dv.setUint32(x + 4, st.blksize, true);
  dv.setBigUint64(x + 8, st.attributes, true);
  dv.setUint32(x + 16, st.nlink, true);
  dv.setUint32(x + 20, st.uid, true);
  dv.setUint32(x + 24, st.gid, true);
  dv.setUint16(x + 28, st.mode, true);
  dv.setBigUint64(x + 32, st.ino, true);
  dv.setBigUint64(x + 40, st.size, true);
  dv.setBigUint64(x + 48, st.blocks, true);
  dv.setBigUint64(x + 56, st.attributesMask, true);
  writeSxTime(dv, x + 64, st.atime);
  writeSxTime(dv, x + 80, st.btime);
  writeSxTime(dv, x + 96, st.ctime);
  writeSxTime(dv, x + 112, st.mtime);
  dv.setUint32(x + 128, st.rdevMajor, true);
  dv.setUint32(x + 132, st.rdevMinor, true);
  dv.setUint32(x + 136, st.devMajor, true);
  dv.setUint32(x + 140, st.devMinor, true);
  return A.fuse_statx_out.size;
}

export function encodeInit(buf: Uint8Array, o: number, r: InitReply): number {
  A.fuse_init_out.encode({
    major: r.major, minor: r.minor, max_readahead: r.maxReadahead,
    flags: Number(r.flags & 0xffff_ffffn), max_background: r.maxBackground,
    congestion_threshold: r.congestionThreshold, max_write: r.maxWrite, time_gran: r.timeGran,
    max_pages: r.maxPages, map_alignment: r.mapAlignment ?? 0, flags2: Number((r.flags >> 32n) & 0xffff_ffffn),
    max_stack_depth: r.maxStackDepth ?? 0, request_timeout: r.requestTimeout ?? 0, unused: new Uint8Array(22),
  }, buf, o);
  return A.fuse_init_out.size;
}

/**
 * Packs fuse_dirent / fuse_direntplus records into [start, start+limit) of a reply buffer,
 * each padded to FUSE_DIRENT_ALIGN. add*() returns false, writing nothing, when the record
 * does not fit: the caller stops there and the next READDIR resumes at that entry's cookie.
 */
export class DirentPacker {
  private readonly dv: DataView;
  pos: number;
  count = 0;
  constructor(readonly buf: Uint8Array, readonly start: number, readonly limit: number) {
    this.dv = viewOf(buf);
    this.pos = start;
    if (start + limit > buf.byteLength) throw new ProtocolError('dirent limit past reply buffer');
  }
  get length(): number { return this.pos - this.start; }

  private header(o: number, d: DirentRec): void {
    this.dv.setBigUint64(o, d.ino, true);
    this.dv.setBigUint64(o + 8, d.off, true);
    this.dv.setUint32(o + 16, d.name.byteLength, true);
    this.dv.setUint32(o + 20, d.type, true);
    this.buf.set(d.name, o + 24);
  }
  private checkName(d: DirentRec): void {
    if (d.name.byteLength === 0 || d.name.byteLength > 1024 || d.name.includes(0) || d.name.includes(0x2f)) {
      throw new ProtocolError(`invalid dirent name (${d.name.byteLength} bytes)`);
    }
  }

  add(d: DirentRec): boolean {
    this.checkName(d);
    const rec = A.direntAlign(A.FUSE_NAME_OFFSET + d.name.byteLength);
    if (this.pos + rec > this.start + this.limit) return false;
    this.header(this.pos, d);
    const end = this.pos + A.FUSE_NAME_OFFSET + d.name.byteLength;
    this.buf.fill(0, end, this.pos + rec);
    this.pos += rec;
    this.count++;
    return true;
  }

  addPlus(d: DirentRec, e: Entry): boolean {
    this.checkName(d);
    const rec = A.direntAlign(A.FUSE_NAME_OFFSET_DIRENTPLUS + d.name.byteLength);
    if (this.pos + rec > this.start + this.limit) return false;
    encodeEntry(this.buf, this.pos, e);
    this.header(this.pos + A.fuse_entry_out.size, d);
    const end = this.pos + A.FUSE_NAME_OFFSET_DIRENTPLUS + d.name.byteLength;
    this.buf.fill(0, end, this.pos + rec);
    this.pos += rec;
    this.count++;
    return true;
  }
}

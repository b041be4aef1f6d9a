// The opcode table and the FuseFs interface. One row per opcode in abi.ts: name, decoder,
// the FuseFs method it calls, whether the kernel expects a reply, the minimum protocol minor,
// and a `run` that calls the method and encodes its result into the session's reply buffer.
// Only the session writes to /dev/fuse, so every request is answered at most once; FuseFs
// methods just return values or throw something with a numeric `errno`.

import * as A from './abi.js';
import { Op, type OpName } from './abi.js';
import type * as D from './decode.js';
import { decoders } from './decode.js';
import * as E from './encode.js';
import { ERANGE, FsErrno, ProtocolError } from './errors.js';

/** Who asked, about what; `signal` aborts when the kernel sends INTERRUPT for this request. */
export interface RequestContext {
  unique: bigint; opcode: number; nodeid: bigint; uid: number; gid: number; pid: number;
  signal: AbortSignal; groups: number[] | null;
}

/** What INIT told us and what we answered; FuseFs.init may inspect it. */
export interface ConnInfo {
  kernelMajor: number; kernelMinor: number; minor: number; kernelFlags: bigint; flags: bigint;
  maxWrite: number; maxReadahead: number; maxPages: number;
}

/** Returned by FuseFs.init to add or drop INIT flags (masked by what the kernel offered). */
export interface InitTweak { want?: bigint; refuse?: bigint }

export interface DirentSink {
  /** False (nothing written) when the reply buffer is full: stop and let the kernel come back. */
  add(d: E.DirentRec): boolean;
}
export interface DirentPlusSink {
  /** False when full; only entries that returned true take a lookup reference (except . and ..). */
  add(d: E.DirentRec, e: E.Entry): boolean;
}

type C = RequestContext;
/**
 * The filesystem behind a session. Missing methods answer ENOSYS. Throw an error with a
 * numeric `errno` (FsErrno) for ordinary failures; anything else becomes EIO plus one log line.
 */
export interface FuseFs {
  init?(conn: ConnInfo): InitTweak | void | Promise<InitTweak | void>;
  destroy?(): void | Promise<void>;
  /** FORGET and BATCH_FORGET: never answered. */
  forget?(items: D.ForgetOne[]): void;
  lookup?(c: C, a: D.NameArgs): Promise<E.Entry>;
  getattr?(c: C, a: D.GetattrArgs): Promise<E.AttrReply>;
  setattr?(c: C, a: D.SetattrArgs): Promise<E.AttrReply>;
  readlink?(c: C): Promise<Uint8Array>;
  symlink?(c: C, a: D.SymlinkArgs): Promise<E.Entry>;
  mknod?(c: C, a: D.MknodArgs): Promise<E.Entry>;
  mkdir?(c: C, a: D.MkdirArgs): Promise<E.Entry>;
  unlink?(c: C, a: D.NameArgs): Promise<void>;
  rmdir?(c: C, a: D.NameArgs): Promise<void>;
  /** RENAME (flags 0) and RENAME2. */
  rename?(c: C, a: D.RenameArgs): Promise<void>;
  link?(c: C, a: D.LinkArgs): Promise<E.Entry>;
  open?(c: C, a: D.OpenArgs): Promise<E.OpenReply>;
  /** Fill `dst` (a window of the reply buffer, a.size bytes at most) and return the count. */
  read?(c: C, a: D.ReadArgs, dst: Buffer): Promise<number>;
  /** Returns the bytes written. */
  write?(c: C, a: D.WriteArgs): Promise<number>;
  statfs?(c: C): Promise<E.Statfs>;
  release?(c: C, a: D.ReleaseArgs): Promise<void>;
  fsync?(c: C, a: D.FsyncArgs): Promise<void>;
  setxattr?(c: C, a: D.SetxattrArgs): Promise<void>;
  /** The whole value; the session answers size probes and ERANGE itself. */
  getxattr?(c: C, a: D.GetxattrArgs): Promise<Uint8Array>;
  /** The names (without NULs); the session joins them and answers probes/ERANGE. */
  listxattr?(c: C, a: D.ListxattrArgs): Promise<Uint8Array[]>;
  removexattr?(c: C, a: D.NameArgs): Promise<void>;
  flush?(c: C, a: D.FlushArgs): Promise<void>;
  opendir?(c: C, a: D.OpenArgs): Promise<E.OpenReply>;
  readdir?(c: C, a: D.ReadArgs, out: DirentSink): Promise<void>;
  readdirplus?(c: C, a: D.ReadArgs, out: DirentPlusSink): Promise<void>;
  releasedir?(c: C, a: D.ReleaseArgs): Promise<void>;
  fsyncdir?(c: C, a: D.FsyncArgs): Promise<void>;
  getlk?(c: C, a: D.LkArgs): Promise<E.LkReply>;
  /** SETLK (sleep false) and SETLKW (sleep true). */
  setlk?(c: C, a: D.LkArgs, sleep: boolean): Promise<void>;
  access?(c: C, a: D.AccessArgs): Promise<void>;
  create?(c: C, a: D.CreateArgs): Promise<E.CreateReply>;
  bmap?(c: C, a: D.BmapArgs): Promise<bigint>;
  ioctl?(c: C, a: D.IoctlArgs): Promise<E.IoctlReply>;
  poll?(c: C, a: D.PollArgs): Promise<number>;
  fallocate?(c: C, a: D.FallocateArgs): Promise<void>;
  lseek?(c: C, a: D.LseekArgs): Promise<bigint>;
  /** COPY_FILE_RANGE and COPY_FILE_RANGE_64: bytes copied. */
  copyFileRange?(c: C, a: D.CopyFileRangeArgs): Promise<bigint>;
  syncfs?(c: C): Promise<void>;
  tmpfile?(c: C, a: D.CreateArgs): Promise<E.CreateReply>;
  statx?(c: C, a: D.StatxArgs): Promise<E.StatxReply>;
  /** The kernel's answer to a RETRIEVE notification (c.unique = notify_unique). */
  notifyReply?(c: C, a: D.NotifyReplyArgs): void;
}

/** The session's reply buffer: the body goes at E.OUT_HEADER, at most `cap` bytes. */
export interface ReplyBuf { buf: Buffer; cap: number }

export interface OpRow<K extends keyof D.ArgsMap = keyof D.ArgsMap> {
  op: number;
  name: K;
  decode: D.Decoder<D.ArgsMap[K]>;
  method: keyof FuseFs | null;
  noReply: boolean;
  minMinor: number;
  /** Args reference the request buffer (payload data): the session must not recycle it early. */
  holdsBuffer: boolean;
  /** Handled inside the session (INIT, INTERRUPT). */
  session: boolean;
  /** Calls the method; returns the reply body length written at OUT_HEADER. */
  run: ((fs: FuseFs, c: C, a: D.ArgsMap[K], out: ReplyBuf) => Promise<number>) | null;
}

const B = E.OUT_HEADER;
const enosys = (): never => { throw new FsErrno(38); };

function need(out: ReplyBuf, n: number, what: string): void {
  if (n > out.cap) throw new ProtocolError(`${what} reply of ${n} bytes exceeds buffer ${out.cap}`);
}

/** GETXATTR/LISTXATTR semantics: size 0 = probe, value longer than size = ERANGE. */
function sizedReply(out: ReplyBuf, size: number, value: Uint8Array): number {
  if (size === 0) return E.encodeSize32(out.buf, B, value.byteLength);
  if (value.byteLength > size) throw new FsErrno(ERANGE);
  need(out, value.byteLength, 'xattr');
  out.buf.set(value, B);
  return value.byteLength;
}

function joinNames(names: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const x of names) {
    if (x.byteLength === 0 || x.includes(0)) throw new ProtocolError('listxattr name empty or with NUL');
    n += x.byteLength + 1;
  }
  const b = new Uint8Array(n);
  let o = 0;
  for (const x of names) { b.set(x, o); o += x.byteLength + 1; }
  return b;
}

type Rows = { [K in keyof D.ArgsMap]: Omit<OpRow<K>, 'op' | 'name' | 'decode'> };
const rowDefs: Rows = {
  LOOKUP: { method: 'lookup', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeEntry(o.buf, B, await (fs.lookup ? fs.lookup(c, a) : enosys())) },
  FORGET: { method: 'forget', noReply: true, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { fs.forget?.([{ nodeid: c.nodeid, nlookup: a.nlookup }]); return 0; } },
  GETATTR: { method: 'getattr', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeAttrOut(o.buf, B, await (fs.getattr ? fs.getattr(c, a) : enosys())) },
  SETATTR: { method: 'setattr', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeAttrOut(o.buf, B, await (fs.setattr ? fs.setattr(c, a) : enosys())) },
  READLINK: { method: 'readlink', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, _a, o) => {
      const t = await (fs.readlink ? fs.readlink(c) : enosys());
      need(o, t.byteLength, 'readlink');
      o.buf.set(t, B);
      return t.byteLength;
    } },
  SYMLINK: { method: 'symlink', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeEntry(o.buf, B, await (fs.symlink ? fs.symlink(c, a) : enosys())) },
  MKNOD: { method: 'mknod', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeEntry(o.buf, B, await (fs.mknod ? fs.mknod(c, a) : enosys())) },
  MKDIR: { method: 'mkdir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeEntry(o.buf, B, await (fs.mkdir ? fs.mkdir(c, a) : enosys())) },
  UNLINK: { method: 'unlink', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.unlink ? fs.unlink(c, a) : enosys()); return 0; } },
  RMDIR: { method: 'rmdir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.rmdir ? fs.rmdir(c, a) : enosys()); return 0; } },
  RENAME: { method: 'rename', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.rename ? fs.rename(c, a) : enosys()); return 0; } },
  LINK: { method: 'link', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeEntry(o.buf, B, await (fs.link ? fs.link(c, a) : enosys())) },
  OPEN: { method: 'open', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeOpen(o.buf, B, await (fs.open ? fs.open(c, a) : enosys())) },
  READ: { method: 'read', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => {
      need(o, a.size, 'read');
      const n = fs.read ? await fs.read(c, a, o.buf.subarray(B, B + a.size)) : enosys();
      if (!Number.isSafeInteger(n) || n < 0 || n > a.size) throw new ProtocolError(`read returned ${n} for size ${a.size}`);
      return n;
    } },
  WRITE: { method: 'write', noReply: false, minMinor: 0, holdsBuffer: true, session: false,
    run: async (fs, c, a, o) => {
      const n = await (fs.write ? fs.write(c, a) : enosys());
      if (!Number.isSafeInteger(n) || n < 0 || n > a.size) throw new ProtocolError(`write returned ${n} for size ${a.size}`);
      return E.encodeSize32(o.buf, B, n);
    } },
  STATFS: { method: 'statfs', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, _a, o) => E.encodeStatfs(o.buf, B, await (fs.statfs ? fs.statfs(c) : enosys())) },
  RELEASE: { method: 'release', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { if (fs.release) await fs.release(c, a); return 0; } },
  FSYNC: { method: 'fsync', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.fsync ? fs.fsync(c, a) : enosys()); return 0; } },
  SETXATTR: { method: 'setxattr', noReply: false, minMinor: 0, holdsBuffer: true, session: false,
    run: async (fs, c, a) => { await (fs.setxattr ? fs.setxattr(c, a) : enosys()); return 0; } },
  GETXATTR: { method: 'getxattr', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => sizedReply(o, a.size, await (fs.getxattr ? fs.getxattr(c, a) : enosys())) },
  LISTXATTR: { method: 'listxattr', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => sizedReply(o, a.size, joinNames(await (fs.listxattr ? fs.listxattr(c, a) : enosys()))) },
  REMOVEXATTR: { method: 'removexattr', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.removexattr ? fs.removexattr(c, a) : enosys()); return 0; } },
  FLUSH: { method: 'flush', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.flush ? fs.flush(c, a) : enosys()); return 0; } },
  INIT: { method: 'init', noReply: false, minMinor: 0, holdsBuffer: false, session: true, run: null },
  OPENDIR: { method: 'opendir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeOpen(o.buf, B, await (fs.opendir ? fs.opendir(c, a) : enosys())) },
  READDIR: { method: 'readdir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => {
      const p = new E.DirentPacker(o.buf, B, Math.min(a.size, o.cap));
      await (fs.readdir ? fs.readdir(c, a, { add: (d) => p.add(d) }) : enosys());
      return p.length;
    } },
  RELEASEDIR: { method: 'releasedir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { if (fs.releasedir) await fs.releasedir(c, a); return 0; } },
  FSYNCDIR: { method: 'fsyncdir', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.fsyncdir ? fs.fsyncdir(c, a) : enosys()); return 0; } },
  GETLK: { method: 'getlk', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeLk(o.buf, B, await (fs.getlk ? fs.getlk(c, a) : enosys())) },
  SETLK: { method: 'setlk', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.setlk ? fs.setlk(c, a, false) : enosys()); return 0; } },
  SETLKW: { method: 'setlk', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.setlk ? fs.setlk(c, a, true) : enosys()); return 0; } },
  ACCESS: { method: 'access', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.access ? fs.access(c, a) : enosys()); return 0; } },
  CREATE: { method: 'create', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeCreate(o.buf, B, await (fs.create ? fs.create(c, a) : enosys())) },
  INTERRUPT: { method: null, noReply: true, minMinor: 0, holdsBuffer: false, session: true, run: null },
  BMAP: { method: 'bmap', noReply: false, minMinor: 0, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeU64(o.buf, B, await (fs.bmap ? fs.bmap(c, a) : enosys())) },
  DESTROY: { method: 'destroy', noReply: false, minMinor: 0, holdsBuffer: false, session: true, run: null },
  IOCTL: { method: 'ioctl', noReply: false, minMinor: 11, holdsBuffer: true, session: false,
    run: async (fs, c, a, o) => {
      const r = await (fs.ioctl ? fs.ioctl(c, a) : enosys());
      if ((r.data?.byteLength ?? 0) > a.outSize) throw new ProtocolError(`ioctl out data ${r.data?.byteLength} > out_size ${a.outSize}`);
      need(o, 16 + (r.data?.byteLength ?? 0), 'ioctl');
      return E.encodeIoctl(o.buf, B, r);
    } },
  POLL: { method: 'poll', noReply: false, minMinor: 11, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodePoll(o.buf, B, await (fs.poll ? fs.poll(c, a) : enosys())) },
  NOTIFY_REPLY: { method: 'notifyReply', noReply: true, minMinor: 15, holdsBuffer: true, session: false,
    run: async (fs, c, a) => { fs.notifyReply?.(c, a); return 0; } },
  BATCH_FORGET: { method: 'forget', noReply: true, minMinor: 16, holdsBuffer: false, session: false,
    run: async (fs, _c, a) => { fs.forget?.(a.items); return 0; } },
  FALLOCATE: { method: 'fallocate', noReply: false, minMinor: 19, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.fallocate ? fs.fallocate(c, a) : enosys()); return 0; } },
  READDIRPLUS: { method: 'readdirplus', noReply: false, minMinor: 21, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => {
      const p = new E.DirentPacker(o.buf, B, Math.min(a.size, o.cap));
      await (fs.readdirplus ? fs.readdirplus(c, a, { add: (d, e) => p.addPlus(d, e) }) : enosys());
      return p.length;
    } },
  RENAME2: { method: 'rename', noReply: false, minMinor: 23, holdsBuffer: false, session: false,
    run: async (fs, c, a) => { await (fs.rename ? fs.rename(c, a) : enosys()); return 0; } },
  LSEEK: { method: 'lseek', noReply: false, minMinor: 24, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeU64(o.buf, B, await (fs.lseek ? fs.lseek(c, a) : enosys())) },
  COPY_FILE_RANGE: { method: 'copyFileRange', noReply: false, minMinor: 28, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => {
      const n = await (fs.copyFileRange ? fs.copyFileRange(c, a) : enosys());
      // The old reply is fuse_write_out: a u32 count.
      if (n < 0n || n > 0xffff_ffffn) throw new ProtocolError(`copy_file_range returned ${n}`);
      return E.encodeSize32(o.buf, B, Number(n));
    } },
  SETUPMAPPING: { method: null, noReply: false, minMinor: 31, holdsBuffer: false, session: false, run: async () => enosys() },
  REMOVEMAPPING: { method: null, noReply: false, minMinor: 31, holdsBuffer: false, session: false, run: async () => enosys() },
  SYNCFS: { method: 'syncfs', noReply: false, minMinor: 34, holdsBuffer: false, session: false,
    run: async (fs, c) => { await (fs.syncfs ? fs.syncfs(c) : enosys()); return 0; } },
  TMPFILE: { method: 'tmpfile', noReply: false, minMinor: 37, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeCreate(o.buf, B, await (fs.tmpfile ? fs.tmpfile(c, a) : enosys())) },
  STATX: { method: 'statx', noReply: false, minMinor: 39, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeStatx(o.buf, B, await (fs.statx ? fs.statx(c, a) : enosys())) },
  COPY_FILE_RANGE_64: { method: 'copyFileRange', noReply: false, minMinor: 45, holdsBuffer: false, session: false,
    run: async (fs, c, a, o) => E.encodeU64(o.buf, B, await (fs.copyFileRange ? fs.copyFileRange(c, a) : enosys())) },
  CUSE_INIT: { method: null, noReply: false, minMinor: 0, holdsBuffer: false, session: false, run: async () => enosys() },
};

/** The table, keyed by opcode number. */
export const opTable: ReadonlyMap<number, OpRow> = new Map(
  (Object.keys(rowDefs) as Array<keyof D.ArgsMap>).map((k) => {
    const row = { ...rowDefs[k], op: Op[k as OpName], name: k, decode: decoders[k] } as unknown as OpRow;
    return [row.op, row];
  }),
);


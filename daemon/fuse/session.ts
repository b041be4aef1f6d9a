// Serves one /dev/fuse fd: INIT negotiation, a read loop with several requests in flight,
// dispatch through ops.ts, per-request catch, INTERRUPT, notifications and clean shutdown.
//
// Threads: each pending fs.read() on the fd parks one libuv pool thread in read(2) until the
// kernel has a request. With `readers` = R, the pool needs R threads for the readers plus at
// least 2 for everything else (async notifications, any fs.promises the FuseFs uses), so the
// entry point must set UV_THREADPOOL_SIZE >= R + 2 before Node touches the pool. The default R
// is derived from the environment: min(4, UV_THREADPOOL_SIZE - 2), at least 1. Reading before
// the fd is mounted fails with EPERM: the session polls (10..200 ms) until INIT arrives, so it
// may be started before or after mount(2).
// Replies are one fs.writeSync per request (header and body contiguous in a pooled buffer).

import * as fs from 'node:fs';
import { log as defaultLog, type Level } from '../util/log.js';
import * as A from './abi.js';
import { Init, Op } from './abi.js';
import * as D from './decode.js';
import * as E from './encode.js';
import * as N from './notify.js';
import { EAGAIN, EINTR, EIO, ENODEV, ENOSYS, EPROTO, errnoOf, ProtocolError } from './errors.js';
import { type ConnInfo, type FuseFs, type InitTweak, opTable, type OpRow, type ReplyBuf, type RequestContext } from './ops.js';
import { printReply, printRequest } from './print.js';

const PAGE = 4096;

/** Flags we ask for unless the FuseFs or options refuse them (and the kernel must offer them). */
export const DEFAULT_WANT: bigint = Init.ASYNC_READ | Init.PARALLEL_DIROPS | Init.DO_READDIRPLUS |
  Init.READDIRPLUS_AUTO | Init.CACHE_SYMLINKS | Init.EXPORT_SUPPORT | Init.MAX_PAGES | Init.INIT_EXT |
  Init.SETXATTR_EXT | Init.BIG_WRITES | Init.HAS_EXPIRE_ONLY;

/** How the session reaches the kernel; tests substitute a scripted device. */
export interface FuseDevice {
  /** One request per call (the /dev/fuse contract). */
  read(buf: Buffer, cb: (err: NodeJS.ErrnoException | null, n: number) => void): void;
  /** One reply per call; throws an errno error (ENOENT: nobody waits for it any more). */
  write(buf: Uint8Array, len: number): void;
}

export function fdDevice(fd: number): FuseDevice {
  return {
    read: (buf, cb) => fs.read(fd, buf, 0, buf.byteLength, null, (err, n) => cb(err, n)),
    write: (buf, len) => { fs.writeSync(fd, buf, 0, len); },
  };
}

export interface SessionOptions {
  /** Defaults to fdDevice(fd). */
  device?: FuseDevice;
  /** Concurrent pending reads on the fd (each holds a libuv pool thread). */
  readers?: number;
  /** Requests being handled at once; reading pauses at the limit. Default 64. */
  maxInFlight?: number;
  /** Pages per request, 1..256 (256 = 1 MiB reads and writes). */
  maxPages?: number;
  want?: bigint;
  refuse?: bigint;
  timeGran?: number;
  maxBackground?: number;
  congestionThreshold?: number;
  maxReadahead?: number;
  /** Log every request and reply as one line (debug level). */
  debug?: boolean;
  log?: (level: Level, msg: string, fields?: Record<string, unknown>) => void;
}

/** Ops whose handlers have no side effects worth finishing: INTERRUPT answers them EINTR at once. */
const READ_ONLY_OPS: ReadonlySet<number> = new Set([
  Op.LOOKUP, Op.GETATTR, Op.READLINK, Op.READ, Op.STATFS, Op.GETXATTR, Op.LISTXATTR, Op.READDIR,
  Op.READDIRPLUS, Op.LSEEK, Op.STATX, Op.BMAP, Op.POLL, Op.GETLK, Op.SETLKW, Op.ACCESS,
]);
/** Ops whose successful reply is a fuse_entry_out that takes a lookup reference. */
const ENTRY_OPS: ReadonlySet<number> = new Set([Op.LOOKUP, Op.MKNOD, Op.MKDIR, Op.SYMLINK, Op.LINK, Op.CREATE, Op.TMPFILE]);
/** Ops whose reply can exceed a page. */
const BIG_REPLY_OPS: ReadonlySet<number> = new Set([
  Op.READ, Op.READDIR, Op.READDIRPLUS, Op.GETXATTR, Op.LISTXATTR, Op.READLINK, Op.IOCTL,
]);
const SMALL_REPLY = PAGE;
const NO_REPLY_BUF: ReplyBuf = { buf: Buffer.alloc(0), cap: 0 };

class Ctx implements RequestContext {
  ac: AbortController | null = null;
  answered = false;
  constructor(
    readonly unique: bigint, readonly opcode: number, readonly nodeid: bigint, readonly uid: number,
    readonly gid: number, readonly pid: number, readonly groups: number[] | null,
  ) {}
  /** Created on first use: most requests never look at it. */
  get signal(): AbortSignal { return (this.ac ??= new AbortController()).signal; }
  abort(): void { (this.ac ??= new AbortController()).abort(); }
}

interface Slot { buf: Buffer; id: number; stopped: boolean }

export interface SessionStats { requests: number; errors: number; unexpected: number; interrupts: number; forgets: number }

export class FuseSession {
  readonly readers: number;
  readonly maxInFlight: number;
  readonly maxPages: number;
  readonly maxWrite: number;
  readonly readBufSize: number;
  conn: ConnInfo | null = null;
  readonly stats: SessionStats = { requests: 0, errors: 0, unexpected: 0, interrupts: 0, forgets: 0 };
  /** Resolves once the kernel has gone (ENODEV/ECONNABORTED on read) and readers stopped. */
  readonly done: Promise<void>;

  private resolveDone!: () => void;
  private rejectDone!: (e: Error) => void;
  private readonly inFlight = new Map<bigint, Ctx>();
  private readonly parked: Slot[] = [];
  private readonly slots: Slot[] = [];
  private readonly bigPool: Buffer[] = [];
  private readonly smallPool: Buffer[] = [];
  private readonly reqPool: Buffer[] = [];
  private readonly bigSize: number;
  private decodeOpts: D.DecodeOptions = { setxattrExt: false };
  private initialized = false;
  private destroyed = false;
  private stopping = false;
  private started = false;
  private readonly log: NonNullable<SessionOptions['log']>;
  private readonly dev: FuseDevice;

  constructor(readonly fd: number, readonly fs: FuseFs, readonly opts: SessionOptions = {}) {
    const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
    this.readers = Math.max(1, opts.readers ?? Math.min(4, pool - 2));
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
    this.maxPages = Math.min(256, Math.max(1, opts.maxPages ?? 256));
    this.maxWrite = this.maxPages * PAGE;
    // The kernel refuses reads shorter than in_header + write_in + max_write (EINVAL).
    this.readBufSize = Math.max(A.FUSE_MIN_READ_BUFFER, this.maxWrite + PAGE);
    this.bigSize = E.OUT_HEADER + Math.max(this.maxWrite, 65536 + PAGE);
    this.log = opts.log ?? defaultLog;
    this.dev = opts.device ?? fdDevice(fd);
    this.done = new Promise((res, rej) => { this.resolveDone = res; this.rejectDone = rej; });
  }

  /** Starts the readers; returns `done`. */
  start(): Promise<void> {
    if (this.started) return this.done;
    this.started = true;
    for (let i = 0; i < this.readers; i++) {
      const s: Slot = { buf: this.takeReqBuf(), id: i, stopped: false };
      this.slots.push(s);
      this.arm(s);
    }
    return this.done;
  }

  get inFlightCount(): number { return this.inFlight.size; }

  // ---- buffers ----------------------------------------------------------------------------
  private takeReqBuf(): Buffer { return this.reqPool.pop() ?? Buffer.allocUnsafe(this.readBufSize); }
  private giveReqBuf(b: Buffer): void { if (this.reqPool.length < this.readers + 4) this.reqPool.push(b); }
  private takeReply(big: boolean): ReplyBuf {
    const b = big ? (this.bigPool.pop() ?? Buffer.allocUnsafe(this.bigSize)) : (this.smallPool.pop() ?? Buffer.allocUnsafe(SMALL_REPLY));
    return { buf: b, cap: b.byteLength - E.OUT_HEADER };
  }
  private giveReply(r: ReplyBuf): void {
    if (r.buf.byteLength === this.bigSize) { if (this.bigPool.length < 16) this.bigPool.push(r.buf); }
    else if (this.smallPool.length < 64) this.smallPool.push(r.buf);
  }

  // ---- the read loop ------------------------------------------------------------------------
  private arm(s: Slot): void {
    if (this.stopping) { this.stopSlot(s); return; }
    if (this.inFlight.size >= this.maxInFlight) { this.parked.push(s); return; }
    this.dev.read(s.buf, (err, n) => this.onRead(s, err, n));
  }

  private onRead(s: Slot, err: NodeJS.ErrnoException | null, n: number): void {
    if (err) {
      const code = err.code;
      // ENOENT: the request was interrupted while being handed over; just read again.
      if (code === 'EINTR' || code === 'EAGAIN' || code === 'ENOENT') { this.arm(s); return; }
      if (code === 'ENODEV' || code === 'ECONNABORTED') { this.shutdown(); this.stopSlot(s); return; }
      // EPERM: the fd is not attached to a mount yet (started before mount(2)): poll until it is.
      if (code === 'EPERM' && !this.initialized && !this.stopping) {
        this.unmountedPolls++;
        setTimeout(() => this.arm(s), Math.min(200, 10 * this.unmountedPolls));
        return;
      }
      this.log('error', 'fuse read failed', { code, err: err.message });
      this.shutdown(err);
      this.stopSlot(s);
      // Other readers may stay blocked in read(2) on a broken fd: settle now, not when they return.
      this.finish();
      return;
    }
    try {
      this.receive(s, n);
    } catch (e) {
      this.stats.unexpected++;
      this.log('error', 'fuse receive failed', { err: e instanceof Error ? e.message : String(e) });
    }
    this.arm(s);
  }

  private stopSlot(s: Slot): void {
    if (s.stopped) return;
    s.stopped = true;
    if (this.slots.every((x) => x.stopped)) this.finish();
  }

  private unmountedPolls = 0;
  private finishCalled = false;
  /**
   * The kernel is gone: abort what is still running (its replies can no longer be delivered),
   * wait for those handlers to return so destroy never races a half-done operation, then call
   * FuseFs.destroy once (plain `fuse` mounts get no DESTROY request) and settle `done`.
   */
  private finish(): void {
    if (this.finishCalled) return;
    this.finishCalled = true;
    const end = (): void => (this.shutdownError ? this.rejectDone(this.shutdownError) : this.resolveDone());
    for (const c of this.inFlight.values()) c.abort();
    const drained = this.inFlight.size === 0 ? Promise.resolve() : new Promise<void>((r) => { this.onDrained = r; });
    void drained.then(() => {
      if (!this.destroyed && this.initialized && this.fs.destroy) {
        this.destroyed = true;
        return Promise.resolve().then(() => this.fs.destroy?.()).catch((e: unknown) =>
          this.log('error', 'destroy failed', { err: e instanceof Error ? e.message : String(e) }));
      }
      return undefined;
    }).then(end, end);
  }
  private onDrained: (() => void) | null = null;

  private shutdownError: Error | null = null;
  private shutdown(err?: Error): void {
    if (err && !this.shutdownError) this.shutdownError = err;
    if (this.stopping) return;
    this.stopping = true;
    for (const s of this.parked.splice(0)) this.stopSlot(s);
  }

  // ---- one request ----------------------------------------------------------------------------
  private receive(s: Slot, n: number): void {
    this.stats.requests++;
    let h: D.InHeader;
    try {
      h = D.decodeHeader(s.buf, n);
    } catch (e) {
      this.stats.errors++;
      // Answer EIO when we can tell which request it was and it expects a reply.
      if (n >= 16) {
        const op = s.buf.readUInt32LE(4);
        const unique = s.buf.readBigUInt64LE(8);
        if (op !== Op.FORGET && op !== Op.BATCH_FORGET && (unique & A.FUSE_INT_REQ_BIT) === 0n) this.sendError(unique, EIO);
      }
      this.log('warn', 'bad fuse request', { err: (e as Error).message });
      return;
    }
    if (this.opts.debug) this.log('debug', printRequest(s.buf, n, this.decodeOpts));
    const row = opTable.get(h.opcode);
    if (!this.initialized && h.opcode !== Op.INIT) { this.sendError(h.unique, EIO); return; }
    // A row newer than the negotiated minor is a kernel we did not agree with: ENOSYS.
    if (!row || (this.conn && row.minMinor > this.conn.minor)) {
      if (!row?.noReply) this.sendError(h.unique, ENOSYS);
      return;
    }
    let args: unknown;
    let groups: number[] | null = null;
    try {
      const exts = D.decodeExtensions(s.buf, h);
      if (exts.length) groups = D.suppGroups(exts);
      args = row.decode(D.bodyReader(s.buf, h), this.decodeOpts);
    } catch (e) {
      this.stats.errors++;
      this.log('warn', 'malformed fuse request', { op: A.opName(h.opcode), unique: h.unique, err: (e as Error).message });
      if (!row.noReply) this.sendError(h.unique, EIO);
      return;
    }
    if (row.session) { this.sessionOp(h, row, args); return; }
    let held: Buffer | null = null;
    if (row.holdsBuffer) { held = s.buf; s.buf = this.takeReqBuf(); }
    const c = new Ctx(h.unique, h.opcode, h.nodeid, h.uid, h.gid, h.pid, groups);
    if (row.noReply) {
      if (h.opcode === Op.FORGET || h.opcode === Op.BATCH_FORGET) this.stats.forgets++;
      void this.runNoReply(row, c, args, held);
      return;
    }
    this.inFlight.set(h.unique, c);
    void this.run(row, c, args, held);
  }

  private async runNoReply(row: OpRow, c: Ctx, args: unknown, held: Buffer | null): Promise<void> {
    try {
      await row.run?.(this.fs, c, args as never, NO_REPLY_BUF);
    } catch (e) {
      this.stats.unexpected++;
      this.log('error', 'fuse handler failed', { op: row.name, unique: c.unique, err: e instanceof Error ? e.message : String(e) });
    } finally {
      if (held) this.giveReqBuf(held);
    }
  }

  private async run(row: OpRow, c: Ctx, args: unknown, held: Buffer | null): Promise<void> {
    const out = this.takeReply(BIG_REPLY_OPS.has(row.op));
    let len = 0;
    let error = 0;
    try {
      if (!row.run) throw new ProtocolError('no handler', row.op);
      len = await row.run(this.fs, c, args as never, out);
    } catch (e) {
      error = this.errorFor(row, c, e);
    }
    if (held) this.giveReqBuf(held);
    this.complete(c, out, error, len);
  }

  /** Maps a thrown value to an errno; anything without a valid errno is EIO plus one log line. */
  private errorFor(row: OpRow, c: Ctx, e: unknown): number {
    const n = e instanceof ProtocolError ? null : errnoOf(e);
    if (n !== null) return n;
    this.stats.unexpected++;
    this.log('error', 'fuse handler failed', { op: row.name, unique: c.unique, nodeid: c.nodeid, err: e instanceof Error ? e.message : String(e) });
    return EIO;
  }

  /** The one place a request's reply is written: at most once per unique. */
  private complete(c: Ctx, out: ReplyBuf, error: number, len: number): void {
    if (this.inFlight.get(c.unique) === c) this.inFlight.delete(c.unique);
    let delivered = false;
    if (!c.answered) {
      c.answered = true;
      const total = E.OUT_HEADER + (error ? 0 : len);
      E.writeOutHeader(out.buf, 0, total, error ? -error : 0, c.unique);
      if (this.opts.debug) this.log('debug', printReply(c.unique, c.opcode, error, len));
      delivered = this.write(out.buf, total) === 0;
    }
    if (!delivered && error === 0) this.dropUndelivered(c, out.buf, len);
    this.giveReply(out);
    while (this.parked.length && this.inFlight.size < this.maxInFlight) this.arm(this.parked.pop()!);
    if (this.onDrained && this.inFlight.size === 0) { this.onDrained(); this.onDrained = null; }
  }

  /**
   * A successful entry reply the kernel never received (answered EINTR first, or the write
   * failed) took lookup references the kernel will never FORGET: give them back, as libfuse
   * does. READDIRPLUS counts every record except nodeid 0 and "." / ".." (fuse_direntplus_link).
   */
  private dropUndelivered(c: Ctx, buf: Buffer, len: number): void {
    if (!this.fs.forget) return;
    const items: Array<{ nodeid: bigint; nlookup: bigint }> = [];
    if (ENTRY_OPS.has(c.opcode) && len >= A.fuse_entry_out.size) {
      const id = buf.readBigUInt64LE(E.OUT_HEADER);
      if (id !== 0n) items.push({ nodeid: id, nlookup: 1n });
    } else if (c.opcode === Op.READDIRPLUS) {
      const end = E.OUT_HEADER + len;
      for (let o = E.OUT_HEADER; o + A.FUSE_NAME_OFFSET_DIRENTPLUS <= end;) {
        const id = buf.readBigUInt64LE(o);
        const namelen = buf.readUInt32LE(o + A.fuse_entry_out.size + 16);
        const n0 = buf[o + A.FUSE_NAME_OFFSET_DIRENTPLUS];
        const n1 = buf[o + A.FUSE_NAME_OFFSET_DIRENTPLUS + 1];
        const dot = n0 === 0x2e && (namelen === 1 || (namelen === 2 && n1 === 0x2e));
        if (id !== 0n && !dot) items.push({ nodeid: id, nlookup: 1n });
        o += A.direntAlign(A.FUSE_NAME_OFFSET_DIRENTPLUS + namelen);
      }
    }
    if (!items.length) return;
    try {
      this.fs.forget(items);
    } catch (e) {
      this.log('error', 'forget of undelivered entries failed', { err: e instanceof Error ? e.message : String(e) });
    }
  }

  private sendError(unique: bigint, errno: number): void {
    const b = Buffer.allocUnsafe(E.OUT_HEADER);
    E.writeOutHeader(b, 0, E.OUT_HEADER, -errno, unique);
    this.write(b, E.OUT_HEADER);
  }

  /** Writes one reply; ENOENT means the kernel no longer waits for it (interrupted, aborted). */
  private write(b: Uint8Array, len: number): number {
    try {
      this.dev.write(b, len);
      return 0;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'ECONNABORTED') return errnoOf(e) ?? EIO;
      this.log('error', 'fuse reply write failed', { code, len, err: (e as Error).message });
      return errnoOf(e) ?? EIO;
    }
  }

  // ---- INIT, INTERRUPT, DESTROY -----------------------------------------------------------------
  private sessionOp(h: D.InHeader, row: OpRow, args: unknown): void {
    if (h.opcode === Op.INIT) { void this.init(h, args as D.InitArgs); return; }
    if (h.opcode === Op.INTERRUPT) { this.interrupt(h, args as D.InterruptArgs); return; }
    if (h.opcode === Op.DESTROY) {
      const c = new Ctx(h.unique, h.opcode, h.nodeid, h.uid, h.gid, h.pid, null);
      this.inFlight.set(h.unique, c);
      const out = this.takeReply(false);
      this.destroyed = true;
      void Promise.resolve().then(() => this.fs.destroy?.()).then(
        () => this.complete(c, out, 0, 0),
        (e: unknown) => this.complete(c, out, this.errorFor(row, c, e), 0),
      );
    }
  }

  private interrupt(h: D.InHeader, a: D.InterruptArgs): void {
    this.stats.interrupts++;
    const c = this.inFlight.get(a.unique);
    if (!c) {
      // Not seen yet (another reader holds it) or already answered: ask the kernel to requeue
      // the interrupt; if the request is gone the kernel answers our write with ENOENT.
      this.sendError(h.unique, EAGAIN);
      return;
    }
    c.abort();
    if (READ_ONLY_OPS.has(c.opcode) && !c.answered) {
      const out = this.takeReply(false);
      this.complete(c, out, EINTR, 0);
    }
  }

  private async init(h: D.InHeader, a: D.InitArgs): Promise<void> {
    const c = new Ctx(h.unique, h.opcode, h.nodeid, h.uid, h.gid, h.pid, null);
    this.inFlight.set(h.unique, c);
    const out = this.takeReply(false);
    if (this.initialized) { this.complete(c, out, EIO, 0); return; }
    if (a.major < A.FUSE_KERNEL_VERSION) {
      this.log('error', 'kernel FUSE major too old', { major: a.major, minor: a.minor });
      this.complete(c, out, EPROTO, 0);
      return;
    }
    if (a.major > A.FUSE_KERNEL_VERSION) {
      // The kernel retries INIT with our major (fuse.h version negotiation).
      const n = E.encodeInit(out.buf, E.OUT_HEADER, {
        major: A.FUSE_KERNEL_VERSION, minor: A.FUSE_KERNEL_MINOR_VERSION, maxReadahead: 0, flags: 0n,
        maxBackground: 0, congestionThreshold: 0, maxWrite: 0, timeGran: 0, maxPages: 0,
      });
      this.complete(c, out, 0, n);
      return;
    }
    // flags2 only means something when the kernel set INIT_EXT.
    const kflags = (a.flags & Init.INIT_EXT) ? a.flags : (a.flags & 0xffff_ffffn);
    const minor = Math.min(a.minor, A.FUSE_KERNEL_MINOR_VERSION);
    let want = (DEFAULT_WANT | (this.opts.want ?? 0n)) & ~(this.opts.refuse ?? 0n);
    if (!this.fs.readdirplus) want &= ~(Init.DO_READDIRPLUS | Init.READDIRPLUS_AUTO);
    const conn: ConnInfo = {
      kernelMajor: a.major, kernelMinor: a.minor, minor, kernelFlags: kflags, flags: want & kflags,
      maxWrite: this.maxWrite, maxReadahead: Math.min(a.maxReadahead, this.opts.maxReadahead ?? a.maxReadahead),
      maxPages: this.maxPages,
    };
    try {
      const tweak: InitTweak | void = await this.fs.init?.(conn);
      if (tweak) want = (want | (tweak.want ?? 0n)) & ~(tweak.refuse ?? 0n);
    } catch (e) {
      this.complete(c, out, this.errorFor(opTable.get(Op.INIT)!, c, e), 0);
      return;
    }
    const flags = want & kflags;
    conn.flags = flags;
    this.conn = conn;
    this.decodeOpts = { setxattrExt: (flags & Init.SETXATTR_EXT) !== 0n };
    this.initialized = true;
    const n = E.encodeInit(out.buf, E.OUT_HEADER, {
      major: A.FUSE_KERNEL_VERSION, minor, maxReadahead: conn.maxReadahead, flags,
      maxBackground: this.opts.maxBackground ?? 64, congestionThreshold: this.opts.congestionThreshold ?? 48,
      maxWrite: this.maxWrite, timeGran: this.opts.timeGran ?? 1, maxPages: this.maxPages,
    });
    this.complete(c, out, 0, n);
  }

  // ---- notifications ----------------------------------------------------------------------------
  /**
   * Writes a notification synchronously; returns 0 or the errno (ENOENT: the kernel has no such
   * inode/entry cached, which is normal). Never call invalEntry/delete from inside a handler
   * of a request on the same directory: the kernel holds that directory's lock while it waits
   * for our reply, and the notification waits for the lock.
   */
  notify(msg: Uint8Array): number {
    if (!this.initialized) throw new ProtocolError('notification before INIT');
    if (this.stopping) return ENODEV;
    return this.write(msg, msg.byteLength);
  }
  invalInode(nodeid: bigint, off = 0n, len = 0n): number { return this.notify(N.notifyInvalInode(nodeid, off, len)); }
  invalEntry(parent: bigint, name: Uint8Array, flags = 0): number { return this.notify(N.notifyInvalEntry(parent, name, flags)); }
  store(nodeid: bigint, offset: bigint, data: Uint8Array): number { return this.notify(N.notifyStore(nodeid, offset, data)); }
  delete(parent: bigint, child: bigint, name: Uint8Array): number { return this.notify(N.notifyDelete(parent, child, name)); }
  pollWakeup(kh: bigint): number { return this.notify(N.notifyPoll(kh)); }
  /** Asks for cached pages; the kernel answers with a NOTIFY_REPLY request (FuseFs.notifyReply). */
  retrieve(notifyUnique: bigint, nodeid: bigint, offset: bigint, size: number): number {
    return this.notify(N.notifyRetrieve(notifyUnique, nodeid, offset, size));
  }
}

// Session behaviour against a scripted device (no kernel): INIT negotiation, gatekeeping,
// ENOSYS, malformed requests, errno mapping, exactly-once replies under INTERRUPT, in-flight
// limits, FORGET never answered, shutdown on ENODEV. The live suite covers the real kernel.

import { Init, Op } from './abi.js';
import { FsErrno } from './errors.js';
import type { FuseFs, RequestContext } from './ops.js';
import { DEFAULT_WANT, type FuseDevice, FuseSession } from './session.js';
import { hex, le, request, str } from './testing/hex.js';

type Cb = (err: NodeJS.ErrnoException | null, n: number) => void;
const errno = (code: string, n: number): NodeJS.ErrnoException => Object.assign(new Error(code), { code, errno: -n });

class FakeDev implements FuseDevice {
  private queue: Array<Buffer | NodeJS.ErrnoException> = [];
  private waiting: Array<{ buf: Buffer; cb: Cb }> = [];
  replies: Buffer[] = [];
  reads = 0;
  gone: Set<bigint> = new Set();
  push(x: Buffer | NodeJS.ErrnoException): void { this.queue.push(x); this.pump(); }
  read(buf: Buffer, cb: Cb): void { this.reads++; this.waiting.push({ buf, cb }); this.pump(); }
  get pendingReads(): number { return this.waiting.length; }
  private pump(): void {
    while (this.queue.length && this.waiting.length) {
      const x = this.queue[0];
      const w = this.waiting.shift()!;
      if (x instanceof Error) {
        if (x.code !== 'ENODEV') this.queue.shift(); // ENODEV is sticky, like the device
        setImmediate(() => w.cb(x, 0));
      } else {
        this.queue.shift();
        x.copy(w.buf);
        setImmediate(() => w.cb(null, x.length));
      }
    }
  }
  write(buf: Uint8Array, len: number): void {
    const b = Buffer.from(buf.subarray(0, len));
    if (this.gone.has(b.readBigUInt64LE(8))) throw errno('ENOENT', 2);
    this.replies.push(b);
  }
  replyFor(unique: bigint): Buffer[] { return this.replies.filter((r) => r.readBigUInt64LE(8) === unique); }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await tick();
  if (!cond()) throw new Error('condition not reached');
}
const errOf = (r: Buffer): number => r.readInt32LE(4);

const OFFERED = (0x5fdn << 32n) | 0x73fffffbn;
function initReq(o: { major?: number; minor?: number; flags?: bigint; unique?: bigint } = {}): Buffer {
  const f = o.flags ?? OFFERED;
  return request(Op.INIT, hex(`${le(o.major ?? 7, 4)} ${le(o.minor ?? 45, 4)} 00 00 02 00
    ${le(f & 0xffffffffn, 4)} ${le(f >> 32n, 4)} ${'00 '.repeat(44)}`), { unique: o.unique ?? 2n, nodeid: 0n });
}

function setup(fs: FuseFs = {}, opts: { maxInFlight?: number } = {}): { dev: FakeDev; s: FuseSession; logs: string[] } {
  const dev = new FakeDev();
  const logs: string[] = [];
  const s = new FuseSession(-1, fs, { device: dev, readers: 2, ...opts, log: (l, m, f) => logs.push(`${l} ${m} ${JSON.stringify(f ?? {}, (_k, v) => typeof v === 'bigint' ? String(v) : v)}`) });
  void s.start().catch(() => undefined);
  return { dev, s, logs };
}
async function initialized(fs: FuseFs = {}, opts: { maxInFlight?: number } = {}): Promise<ReturnType<typeof setup>> {
  const t = setup(fs, opts);
  t.dev.push(initReq());
  await until(() => t.dev.replies.length === 1);
  return t;
}

describe('INIT', () => {
  test('answers 7.45 with our flags masked by the offer, 1 MiB writes, 256 pages', async () => {
    const { dev, s } = await initialized();
    const r = dev.replies[0];
    expect(r.length).toBe(80);
    expect(r.readUInt32LE(0)).toBe(80);
    expect(errOf(r)).toBe(0);
    expect(r.readUInt32LE(16)).toBe(7);
    expect(r.readUInt32LE(20)).toBe(45);
    const flags = BigInt(r.readUInt32LE(28)) | (BigInt(r.readUInt32LE(48)) << 32n);
    // no readdirplus method: the kernel must not be told to send READDIRPLUS
    expect(flags).toBe(DEFAULT_WANT & OFFERED & ~(Init.DO_READDIRPLUS | Init.READDIRPLUS_AUTO));
    expect(r.readUInt32LE(36)).toBe(1024 * 1024); // max_write
    expect(r.readUInt32LE(40)).toBe(1); // time_gran
    expect(r.readUInt16LE(44)).toBe(256); // max_pages
    expect(s.conn?.minor).toBe(45);
  });
  test('an older kernel minor is answered with that minor', async () => {
    const t = setup();
    t.dev.push(initReq({ minor: 38 }));
    await until(() => t.dev.replies.length === 1);
    expect(t.dev.replies[0].readUInt32LE(20)).toBe(38);
  });
  test('flags2 is ignored unless the kernel set INIT_EXT', async () => {
    const t = setup({ readdirplus: async () => undefined });
    t.dev.push(initReq({ flags: (OFFERED & ~Init.INIT_EXT) | Init.SECURITY_CTX }));
    await until(() => t.dev.replies.length === 1);
    expect(t.dev.replies[0].readUInt32LE(48)).toBe(0);
    expect(t.s.conn!.flags & Init.DO_READDIRPLUS).toBe(Init.DO_READDIRPLUS);
  });
  test('a newer major gets our version and INIT again; an older one EPROTO', async () => {
    const t = setup();
    t.dev.push(initReq({ major: 8 }));
    await until(() => t.dev.replies.length === 1);
    expect(t.dev.replies[0].readUInt32LE(16)).toBe(7);
    expect(t.s.conn).toBeNull();
    t.dev.push(initReq({ major: 6, unique: 4n }));
    await until(() => t.dev.replies.length === 2);
    expect(errOf(t.dev.replies[1])).toBe(-71);
    expect(t.dev.replies[1].length).toBe(16);
  });
  test('FuseFs.init can add and refuse flags', async () => {
    const t = setup({ init: () => ({ want: Init.WRITEBACK_CACHE, refuse: Init.ASYNC_READ }) });
    t.dev.push(initReq());
    await until(() => t.dev.replies.length === 1);
    expect(t.s.conn!.flags & Init.WRITEBACK_CACHE).toBe(Init.WRITEBACK_CACHE);
    expect(t.s.conn!.flags & Init.ASYNC_READ).toBe(0n);
  });
  test('requests before INIT are EIO; a second INIT is EIO', async () => {
    const t = setup();
    t.dev.push(request(Op.GETATTR, Buffer.alloc(16), { unique: 6n }));
    await until(() => t.dev.replies.length === 1);
    expect(errOf(t.dev.replies[0])).toBe(-5);
    t.dev.push(initReq());
    t.dev.push(initReq({ unique: 8n }));
    await until(() => t.dev.replies.length === 3);
    expect(errOf(t.dev.replies[2])).toBe(-5);
  });
});

describe('dispatch', () => {
  const ctxs: RequestContext[] = [];
  const fs: FuseFs = {
    lookup: async (c, a) => {
      ctxs.push(c);
      const n = Buffer.from(a.name).toString();
      if (n === 'bug') throw new TypeError('x is undefined');
      if (n === 'enoent') throw new FsErrno(2);
      if (n === 'big') throw Object.assign(new Error('weird'), { errno: 600 });
      if (n === 'node') throw errno('EACCES', 13);
      return { nodeid: 5n, entryValid: 1, attrValid: 1, attr: { ino: 5n, size: 0n, blocks: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 } };
    },
    forget: (items) => { forgot.push(...items); },
  };
  const forgot: Array<{ nodeid: bigint; nlookup: bigint }> = [];

  test('errno mapping: FsErrno, Node errors, out-of-range and bugs', async () => {
    const { dev, logs } = await initialized(fs);
    const ask = async (name: string, unique: bigint): Promise<Buffer> => {
      dev.push(request(Op.LOOKUP, hex(str(name)), { unique, uid: 7, gid: 8, pid: 9 }));
      await until(() => dev.replyFor(unique).length === 1);
      return dev.replyFor(unique)[0];
    };
    const ok = await ask('file', 10n);
    expect(ok.length).toBe(16 + 128);
    expect(ok.readBigUInt64LE(16)).toBe(5n);
    expect(ctxs[0]).toMatchObject({ unique: 10n, nodeid: 1n, uid: 7, gid: 8, pid: 9, opcode: Op.LOOKUP });
    expect(errOf(await ask('enoent', 12n))).toBe(-2);
    expect(errOf(await ask('node', 14n))).toBe(-13);
    expect((await ask('big', 16n)).length).toBe(16);
    expect(errOf(dev.replyFor(16n)[0])).toBe(-5);
    const before = logs.length;
    expect(errOf(await ask('bug', 18n))).toBe(-5);
    expect(logs.slice(before)).toHaveLength(1);
    expect(logs[before]).toMatch(/fuse handler failed.*LOOKUP.*"unique":"18".*x is undefined/);
  });

  test('unknown opcodes ENOSYS, missing methods ENOSYS, malformed requests EIO and the server goes on', async () => {
    const { dev, logs } = await initialized(fs);
    dev.push(request(99, Buffer.alloc(0), { unique: 20n }));
    dev.push(request(Op.MKDIR, hex(`ed 41 00 00 12 00 00 00 ${str('d')}`), { unique: 22n }));
    dev.push(request(Op.LOOKUP, hex('61 62'), { unique: 24n }));
    dev.push(request(Op.LOOKUP, hex(str('ok')), { unique: 26n }));
    await until(() => dev.replies.length === 5);
    expect(errOf(dev.replyFor(20n)[0])).toBe(-38);
    expect(errOf(dev.replyFor(22n)[0])).toBe(-38);
    expect(errOf(dev.replyFor(24n)[0])).toBe(-5);
    expect(errOf(dev.replyFor(26n)[0])).toBe(0);
    expect(logs.some((l) => /malformed fuse request.*LOOKUP.*not NUL-terminated/.test(l))).toBe(true);
  });

  test('a request whose length field lies is answered EIO by unique', async () => {
    const { dev } = await initialized(fs);
    const r = request(Op.LOOKUP, hex(str('a')), { unique: 28n, len: 4096 });
    dev.push(r);
    await until(() => dev.replyFor(28n).length === 1);
    expect(errOf(dev.replyFor(28n)[0])).toBe(-5);
  });

  test('FORGET and BATCH_FORGET are never answered', async () => {
    const { dev, s } = await initialized(fs);
    dev.push(request(Op.FORGET, hex(le(3, 8)), { unique: 30n, nodeid: 5n }));
    dev.push(request(Op.BATCH_FORGET, hex(`01 00 00 00 00 00 00 00 ${le(6, 8)} ${le(2, 8)}`), { unique: 32n }));
    dev.push(request(Op.LOOKUP, hex(str('ok')), { unique: 34n }));
    await until(() => dev.replyFor(34n).length === 1);
    await tick();
    expect(forgot).toEqual([{ nodeid: 5n, nlookup: 3n }, { nodeid: 6n, nlookup: 2n }]);
    expect(dev.replies.length).toBe(2); // INIT + LOOKUP
    expect(s.stats.forgets).toBe(2);
  });
});

describe('interrupts and exactly-once', () => {
  test('a READ interrupted is answered EINTR once; the handler sees the abort; its late result is dropped', async () => {
    let aborted = false;
    let release!: () => void;
    const fs: FuseFs = {
      read: (c, _a, dst) => new Promise((resolve) => {
        c.signal.addEventListener('abort', () => { aborted = true; });
        release = () => { dst.write('late'); resolve(4); };
      }),
    };
    const { dev, s } = await initialized(fs);
    dev.push(request(Op.READ, hex(`${le(1, 8)} ${le(0, 8)} ${le(4096, 4)} ${le(0, 4)} ${le(0, 8)} ${le(0, 8)}`), { unique: 40n }));
    await until(() => s.inFlightCount === 1);
    dev.push(request(Op.INTERRUPT, hex(le(40, 8)), { unique: 41n }));
    await until(() => dev.replyFor(40n).length === 1);
    expect(errOf(dev.replyFor(40n)[0])).toBe(-4);
    expect(aborted).toBe(true);
    expect(s.inFlightCount).toBe(0);
    release();
    for (let i = 0; i < 5; i++) await tick();
    expect(dev.replyFor(40n)).toHaveLength(1);
    expect(dev.replyFor(41n)).toHaveLength(0);
  });

  test('INTERRUPT for a request not (yet) seen asks the kernel to requeue it: EAGAIN on the odd unique', async () => {
    const { dev } = await initialized({});
    dev.push(request(Op.INTERRUPT, hex(le(50, 8)), { unique: 51n }));
    await until(() => dev.replyFor(51n).length === 1);
    expect(errOf(dev.replyFor(51n)[0])).toBe(-11);
  });

  test('a mutating op is only signalled: its handler decides the answer', async () => {
    const fs: FuseFs = {
      mkdir: (c) => new Promise((_res, rej) => c.signal.addEventListener('abort', () => setTimeout(() => rej(new FsErrno(4)), 5))),
    };
    const { dev } = await initialized(fs);
    dev.push(request(Op.MKDIR, hex(`ed 41 00 00 12 00 00 00 ${str('d')}`), { unique: 60n }));
    await until(() => dev.reads >= 3);
    dev.push(request(Op.INTERRUPT, hex(le(60, 8)), { unique: 61n }));
    await until(() => dev.replyFor(60n).length === 1);
    expect(errOf(dev.replyFor(60n)[0])).toBe(-4);
  });

  test('an entry reply that never reached the kernel gives its lookup reference back', async () => {
    const forgot: Array<{ nodeid: bigint; nlookup: bigint }> = [];
    let release!: () => void;
    const attr = { ino: 5n, size: 0n, blocks: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 };
    const fs: FuseFs = {
      lookup: () => new Promise((r) => { release = () => r({ nodeid: 5n, entryValid: 1, attrValid: 1, attr }); }),
      readdirplus: async (_c, _a, out) => {
        const e = { nodeid: 9n, entryValid: 1, attrValid: 1, attr };
        out.add({ ino: 1n, off: 1n, type: 4, name: Buffer.from('.') }, { ...e, nodeid: 1n });
        out.add({ ino: 1n, off: 2n, type: 4, name: Buffer.from('..') }, { ...e, nodeid: 1n });
        out.add({ ino: 9n, off: 3n, type: 8, name: Buffer.from('a') }, e);
        out.add({ ino: 10n, off: 4n, type: 8, name: Buffer.from('.b') }, { ...e, nodeid: 10n });
        out.add({ ino: 11n, off: 5n, type: 8, name: Buffer.from('c') }, { ...e, nodeid: 0n });
      },
      forget: (items) => { forgot.push(...items); },
    };
    const { dev, s } = await initialized(fs);
    dev.push(request(Op.LOOKUP, hex(str('x')), { unique: 64n }));
    await until(() => s.inFlightCount === 1);
    dev.push(request(Op.INTERRUPT, hex(le(64, 8)), { unique: 65n }));
    await until(() => dev.replyFor(64n).length === 1);
    release();
    await until(() => forgot.length === 1);
    expect(forgot).toEqual([{ nodeid: 5n, nlookup: 1n }]);
    dev.gone.add(66n);
    dev.push(request(Op.READDIRPLUS, hex(`${le(1, 8)} ${le(0, 8)} ${le(4096, 4)} ${le(0, 4)} ${le(0, 8)} ${le(0, 8)}`), { unique: 66n }));
    await until(() => forgot.length === 3);
    expect(forgot.slice(1)).toEqual([{ nodeid: 9n, nlookup: 1n }, { nodeid: 10n, nlookup: 1n }]);
  });

  test('a reply the kernel no longer wants (ENOENT) does not disturb the session', async () => {
    const { dev, logs } = await initialized({ statfs: async () => ({ blocks: 1n, bfree: 1n, bavail: 1n, files: 1n, ffree: 1n, bsize: 4096, namelen: 255, frsize: 4096 }) });
    dev.gone.add(70n);
    dev.push(request(Op.STATFS, Buffer.alloc(0), { unique: 70n }));
    dev.push(request(Op.STATFS, Buffer.alloc(0), { unique: 72n }));
    await until(() => dev.replyFor(72n).length === 1);
    expect(logs.filter((l) => l.startsWith('error'))).toEqual([]);
  });
});

describe('flow and shutdown', () => {
  test('reading pauses at maxInFlight and resumes when a request completes', async () => {
    const waiters: Array<() => void> = [];
    const fs: FuseFs = { statfs: () => new Promise((r) => waiters.push(() => r({ blocks: 1n, bfree: 1n, bavail: 1n, files: 1n, ffree: 1n, bsize: 4096, namelen: 255, frsize: 4096 }))) };
    const { dev, s } = await initialized(fs, { maxInFlight: 1 });
    dev.push(request(Op.STATFS, Buffer.alloc(0), { unique: 80n }));
    await until(() => s.inFlightCount === 1);
    for (let i = 0; i < 5; i++) await tick();
    // both readers parked: nothing is read while the one request is in flight
    expect(dev.pendingReads).toBe(1);
    dev.push(request(Op.STATFS, Buffer.alloc(0), { unique: 82n }));
    for (let i = 0; i < 5; i++) await tick();
    expect(waiters.length).toBe(2); // one reader was already waiting in read(); it got 82
    expect(dev.pendingReads).toBe(0);
    waiters[0]();
    await until(() => dev.replyFor(80n).length === 1);
    waiters[1]();
    await until(() => dev.replyFor(82n).length === 1);
    await until(() => dev.pendingReads === 2);
  });

  test('EPERM before the mount exists is retried; ENODEV resolves done and calls destroy once', async () => {
    let destroyed = 0;
    const t = setup({ destroy: () => { destroyed++; } });
    t.dev.push(errno('EPERM', 1));
    t.dev.push(initReq());
    await until(() => t.dev.replies.length === 1);
    t.dev.push(errno('ENODEV', 19));
    await t.s.done;
    expect(destroyed).toBe(1);
  });

  test('DESTROY is answered and destroy is not called again at ENODEV', async () => {
    let destroyed = 0;
    const { dev, s } = await initialized({ destroy: () => { destroyed++; } });
    dev.push(request(Op.DESTROY, Buffer.alloc(0), { unique: 90n }));
    await until(() => dev.replyFor(90n).length === 1);
    dev.push(errno('ENODEV', 19));
    await s.done;
    expect(destroyed).toBe(1);
    expect(errOf(dev.replyFor(90n)[0])).toBe(0);
  });

  test('at shutdown, running handlers are aborted and awaited before destroy', async () => {
    const order: string[] = [];
    const fs: FuseFs = {
      statfs: (c) => new Promise((_r, rej) => c.signal.addEventListener('abort', () => setTimeout(() => { order.push('handler'); rej(new FsErrno(4)); }, 10))),
      destroy: () => { order.push('destroy'); },
    };
    const { dev, s } = await initialized(fs);
    dev.push(request(Op.STATFS, Buffer.alloc(0), { unique: 96n }));
    await until(() => s.inFlightCount === 1);
    dev.push(errno('ENODEV', 19));
    await s.done;
    expect(order).toEqual(['handler', 'destroy']);
  });

  test('an unexpected read error rejects done', async () => {
    const t = setup();
    t.dev.push(errno('EBADF', 9));
    await expect(t.s.done).rejects.toThrow('EBADF');
  });
});

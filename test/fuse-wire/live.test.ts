// Live FUSE tests: the session serving an in-memory FuseFs on a real /dev/fuse mount.
// Needs root and /dev/fuse; skips visibly otherwise. All client I/O runs in child processes:
// a blocking call from this process would stall the event loop that serves it.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Init } from '../../daemon/fuse/abi.js';
import { FuseSession } from '../../daemon/fuse/session.js';
import { MemFs } from './memfs.js';
import { canMount, mountFd, type Mounted, openFuse, run } from './mountutil.js';

// The pyenv shim takes seconds to start; the system interpreter is enough for ctypes/os.
const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Resolves true if `p` settles within `ms`, false otherwise; leaves no timer behind. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => { t = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(t);
  }
}

const skip = canMount();
if (skip) console.warn(`SKIPPED test/fuse-wire/live.test.ts: ${skip} (needs root and /dev/fuse)`);
const d = skip ? describe.skip : describe;

async function waitFor(cond: () => boolean, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PY_XATTR = `
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
p = sys.argv[1].encode()
out = {}
def call(key, fn, *args):
    r = fn(*args)
    out[key] = [r, ctypes.get_errno() if r < 0 else 0]
call('probe_long', libc.getxattr, p, b'user.long', None, 0)
b = ctypes.create_string_buffer(10)
call('small_long', libc.getxattr, p, b'user.long', b, 10)
b = ctypes.create_string_buffer(2000)
call('full_long', libc.getxattr, p, b'user.long', b, 2000)
out['long_ok'] = b.raw[:1000] == b'x' * 1000
call('missing', libc.getxattr, p, b'user.nope', b, 2000)
call('list_probe', libc.listxattr, p, None, 0)
b2 = ctypes.create_string_buffer(4)
call('list_small', libc.listxattr, p, b2, 4)
b3 = ctypes.create_string_buffer(100)
r = libc.listxattr(p, b3, 100)
out['names'] = sorted(x.decode() for x in b3.raw[:r].split(b'\\0') if x)
print(json.dumps(out))
`;

const PY_SEEK = `
import os, json, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
out = [os.lseek(fd, 0, os.SEEK_HOLE), os.lseek(fd, 4096, os.SEEK_DATA), os.lseek(fd, 1048576 + 10, os.SEEK_HOLE)]
try:
    os.lseek(fd, 1048576 + 8192, os.SEEK_DATA); out.append('no-error')
except OSError as e:
    out.append(e.errno)
print(json.dumps(out))
`;

d('live FUSE session (in-memory fs)', () => {
  let tmp: string;
  let mnt: string;
  let mfs: MemFs;
  let session: FuseSession;
  let m: Mounted;
  const logs: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fusewire-'));
    mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
    mfs = new MemFs();
    const fd = openFuse();
    session = new FuseSession(fd, mfs, {
      readers: 2,
      log: (level, msg, fields) => { logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {}, (_k, v) => typeof v === 'bigint' ? v.toString() : v)}`); },
    });
    session.start();
    m = await mountFd(fd, mnt);
  });

  afterAll(async () => {
    if (m) await m.unmount();
    if (session) expect(await within(session.done, 5000)).toBe(true);
    try { fs.closeSync(m.fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('INIT negotiated: minor 45, max pages, our flags only where offered', async () => {
    const r = await run('stat', ['-c', '%F', mnt]);
    expect(r.stdout.trim()).toBe('directory');
    const c = session.conn!;
    expect(c.kernelMajor).toBe(7);
    expect(c.minor).toBe(Math.min(45, c.kernelMinor));
    expect(c.maxWrite).toBe(1024 * 1024);
    expect(c.flags & Init.MAX_PAGES).toBe(Init.MAX_PAGES);
    expect(c.flags & Init.DO_READDIRPLUS).toBe(Init.DO_READDIRPLUS);
    expect(c.flags & ~c.kernelFlags).toBe(0n);
    expect(c.flags & Init.POSIX_ACL).toBe(0n);
  });

  test('stat, cat, readlink, ls', async () => {
    const st = await run('stat', ['-c', '%s %f %h %Y %i', path.join(mnt, 'hello.txt')]);
    expect(st.stdout.trim()).toBe(`12 81a4 1 1700000001 ${mfs.root.children!.get('hello.txt')!.ino}`);
    expect((await run('cat', [path.join(mnt, 'hello.txt')])).stdout).toBe('hello world\n');
    expect((await run('readlink', [path.join(mnt, 'link')])).stdout).toBe('hello.txt\n');
    expect((await run('cat', [path.join(mnt, 'link')])).stdout).toBe('hello world\n');
    const ls = await run('ls', ['-1', mnt]);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual(['big.bin', 'boom', 'cached', 'dir', 'hang', 'hello.txt', 'link', 'slow', 'sparse']);
    const missing = await run('stat', [path.join(mnt, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such file/);
  });

  test('readdir of 3000 entries across many small replies (cookies)', async () => {
    const r = await run('ls', ['-1f', path.join(mnt, 'dir')]);
    const names = r.stdout.split('\n').filter(Boolean);
    expect(names.length).toBe(3002);
    const want = [...mfs.root.children!.get('dir')!.children!.keys()];
    expect(new Set(names)).toEqual(new Set(['.', '..', ...want]));
    // stat of an entry after readdirplus: the kernel has it already (or looks it up), either way correct
    const st = await run('stat', ['-c', '%s', path.join(mnt, 'dir', want[2999])]);
    expect(st.stdout.trim()).toBe('4');
  });

  test('getxattr/listxattr: size probes, ERANGE, ENODATA', async () => {
    const r = await run(PY, ['-c', PY_XATTR, path.join(mnt, 'hello.txt')]);
    expect(r.stderr).toBe('');
    const o = JSON.parse(r.stdout);
    expect(o.probe_long).toEqual([1000, 0]);
    expect(o.small_long).toEqual([-1, 34]);
    expect(o.full_long).toEqual([1000, 0]);
    expect(o.long_ok).toBe(true);
    expect(o.missing).toEqual([-1, 61]);
    expect(o.list_probe).toEqual([17, 0]);
    expect(o.list_small).toEqual([-1, 34]);
    expect(o.names).toEqual(['user.a', 'user.long']);
  });

  test('lseek SEEK_DATA / SEEK_HOLE', async () => {
    const r = await run(PY, ['-c', PY_SEEK, path.join(mnt, 'sparse')]);
    expect(JSON.parse(r.stdout)).toEqual([4096, 1048576, 1048576 + 4096, 6]);
  });

  test('statfs', async () => {
    const r = await run('stat', ['-f', '-c', '%b %f %a %c %d %S %l', mnt]);
    expect(r.stdout.trim()).toBe('1000 400 300 5000 1234 4096 255');
  });

  test('parallel readers of a 3 MiB file get the right bytes', async () => {
    const want = createHash('sha256').update(mfs.root.children!.get('big.bin')!.data!).digest('hex');
    const rs = await Promise.all([0, 1, 2, 3].map(() => run('sha256sum', [path.join(mnt, 'big.bin')])));
    for (const r of rs) expect(r.stdout.split(' ')[0]).toBe(want);
    // direct I/O with 1 MiB requests goes through the same path uncached
    const dd = await run('dd', [`if=${path.join(mnt, 'big.bin')}`, 'bs=1M', 'iflag=direct', 'status=none']);
    expect(createHash('sha256').update(Buffer.from(dd.stdout, 'latin1')).digest('hex')).toBe(want);
  });

  test('a slow handler does not block other requests', async () => {
    let slowDone = false;
    const slow = run('cat', [path.join(mnt, 'slow')]).then((r) => { slowDone = true; return r; });
    await new Promise((r) => setTimeout(r, 100));
    const fast = await Promise.all([1, 2, 3, 4, 5].map(() => run('stat', ['-c', '%s', path.join(mnt, 'dir', 'f0001-x')])));
    const cat = await run('cat', [path.join(mnt, 'hello.txt')]);
    // all of these were served while the slow READ (1.5 s) was still being handled
    expect(slowDone).toBe(false);
    for (const f of fast) expect(f.stdout.trim()).toBe('1');
    expect(cat.stdout).toBe('hello world\n');
    expect((await slow).stdout).toBe('slow data\n');
  });

  test('an exception in a handler answers EIO, logs one line, and the server keeps serving', async () => {
    const before = logs.length;
    const r = await run('cat', [path.join(mnt, 'boom')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Input\/output error/);
    const newLines = logs.slice(before).filter((l) => l.includes('deliberate handler bug'));
    expect(newLines.length).toBe(1);
    expect(newLines[0]).toMatch(/READ/);
    expect((await run('cat', [path.join(mnt, 'hello.txt')])).stdout).toBe('hello world\n');
  });

  test('interrupt: a reader killed mid-request is answered and the handler sees the abort', async () => {
    const p = run('cat', [path.join(mnt, 'hang')], { timeoutMs: 15000 });
    await waitFor(() => mfs.hangStarted === 1);
    const pids = (await run('pgrep', ['-f', `cat ${path.join(mnt, 'hang')}`])).stdout.trim().split('\n').filter(Boolean);
    expect(pids.length).toBe(1);
    process.kill(Number(pids[0]), 'SIGKILL');
    const r = await p;
    expect(r.signal).toBe('SIGKILL');
    await waitFor(() => mfs.hangAborted === 1);
    expect(session.stats.interrupts).toBeGreaterThanOrEqual(1);
    expect(session.inFlightCount).toBe(0);
    expect((await run('cat', [path.join(mnt, 'hello.txt')])).stdout).toBe('hello world\n');
  });

  test('notifications: STORE fills the page cache, INVAL_INODE drops it, INVAL_ENTRY / DELETE', async () => {
    const file = path.join(mnt, 'cached');
    expect((await run('cat', [file])).stdout).toBe('original\n');
    const ino = mfs.root.children!.get('cached')!.ino;
    const reads0 = mfs.readCalls;
    expect(session.store(ino, 0n, Buffer.from('STORED!!'))).toBe(0);
    expect((await run('cat', [file])).stdout).toBe('STORED!!\n');
    expect(mfs.readCalls).toBe(reads0); // served from the page cache we filled
    expect(session.invalInode(ino, 0n, 0n)).toBe(0);
    expect((await run('cat', [file])).stdout).toBe('original\n');
    expect(mfs.readCalls).toBeGreaterThan(reads0);
    await run('stat', [path.join(mnt, 'hello.txt')]);
    expect(session.invalEntry(1n, Buffer.from('hello.txt'))).toBe(0);
    expect(session.invalEntry(1n, Buffer.from('never-looked-up'))).toBe(2); // ENOENT: nothing cached
    expect(session.delete(1n, 999n, Buffer.from('never-looked-up'))).toBe(2);
    expect((await run('cat', [path.join(mnt, 'hello.txt')])).stdout).toBe('hello world\n');
  });

  test('drop_caches makes the kernel FORGET every reference it took: counts return to zero', async () => {
    await run('stat', [path.join(mnt, 'hello.txt'), path.join(mnt, 'big.bin')]);
    const forgets0 = mfs.forgotten;
    await run('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    await waitFor(() => mfs.forgotten > forgets0);
    for (const [ino, n] of mfs.lookups) {
      if (n < 0n) throw new Error(`lookup count of ${ino} went negative: ${n}`);
    }
    expect(session.stats.forgets).toBeGreaterThan(0);
    // Nothing is in use: every reference the kernel took (LOOKUPs, and the READDIRPLUS entries
    // READDIRPLUS_AUTO asked for in the 3000-entry directory) comes back: all counts reach zero.
    await waitFor(() => [...mfs.lookups.values()].every((n) => n === 0n));
    expect(mfs.lookups.size).toBeGreaterThan(100);
  });
});

d('live FUSE session: plain READDIR and unmount', () => {
  test('readdir without readdirplus, then unmount resolves the session', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fusewire2-'));
    const mnt = path.join(tmp, 'mnt');
    fs.mkdirSync(mnt);
    const mfs = new MemFs();
    const fd = openFuse();
    // The FuseFs itself turns readdirplus off through its init() hook.
    (mfs as MemFs & { init: () => unknown }).init = () => ({ refuse: Init.DO_READDIRPLUS | Init.READDIRPLUS_AUTO });
    const s = new FuseSession(fd, mfs, { readers: 2, log: () => undefined });
    const done = s.start();
    const m = await mountFd(fd, mnt);
    try {
      const r = await run('ls', ['-1f', path.join(mnt, 'dir')]);
      expect(r.stdout.split('\n').filter(Boolean).length).toBe(3002);
      expect(s.conn!.flags & Init.DO_READDIRPLUS).toBe(0n);
    } finally {
      await m.unmount();
    }
    expect(await within(done, 5000)).toBe(true);
    expect(mfs.destroyed).toBe(1);
    fs.closeSync(fd);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});

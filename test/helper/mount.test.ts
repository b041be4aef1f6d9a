// The mount helper against the real kernel (root only; skipped visibly elsewhere): each
// refusal on its own, then live mounts served by a stub server written here in raw FUSE
// bytes (INIT, GETATTR of the root, ENOSYS for the rest) over fds the helper hands off.

import { spawn } from 'node:child_process';
import {
  chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelperError, runHelper, type MountRequest, type ServerLink } from '../../helper/mount.js';
import { loadNative, nativeCandidates } from '../../helper/native.js';
import { findMount, parseMountinfo } from '../../helper/validate.js';

const root = process.getuid?.() === 0 && existsSync('/dev/fuse');
const rootDescribe = root ? describe : describe.skip;
if (!root) test.skip('helper live tests need root and /dev/fuse', () => undefined);

const STUB = String.raw`
const fs = require('fs');
const mode = process.env.STUB_MODE || 'serve';
const log = (ev, extra) => fs.appendFileSync(process.env.STUB_LOG, JSON.stringify(Object.assign({ ev, t: Date.now(), pid: process.pid }, extra || {})) + '\n');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let control, fuse, image, msg;
if (process.env.STUB_SOCKET) {
  // Started by "a runtime": listens, receives the fds with SCM_RIGHTS through the addon.
  const n = require(process.env.STUB_ADDON);
  const s = n.socket('seqpacket');
  n.bind(s, process.env.STUB_SOCKET);
  n.listen(s, 1);
  log('listening');
  control = n.accept(s);
  const r = n.recvmsg(control, 16384, 0);
  [fuse, image] = r.fds;
  msg = r.data;
} else {
  control = Number(process.env.EXT4BOX_HANDOFF_FD);
  const b = Buffer.alloc(16384);
  msg = b.subarray(0, fs.readSync(control, b, 0, b.length, null));
  fuse = msg.readInt32LE(20);
  image = msg.readInt32LE(24);
}
const head = Buffer.alloc(4);
fs.readSync(image, head, 0, 4, 0);
log('handoff', { magic: msg.subarray(0, 4).toString(), type: msg.readUInt16LE(6), flags: msg.readUInt32LE(16),
  uid: msg.readUInt32LE(28), offset: msg.readBigUInt64LE(40).toString(), imageHead: head.toString() });
if (mode === 'die') process.exit(7);
const frame = (type, body) => {
  const h = Buffer.alloc(16);
  h.write('E4BX', 0, 'latin1'); h.writeUInt16LE(1, 4); h.writeUInt16LE(type, 6); h.writeUInt32LE(16 + body.length, 8);
  return Buffer.concat([h, body]);
};
if (mode === 'fail') {
  const reason = Buffer.from('superblock checksum mismatch');
  const len = Buffer.alloc(2); len.writeUInt16LE(reason.length);
  fs.writeSync(control, frame(3, Buffer.concat([len, reason])));
  process.exit(1);
}
const buf = Buffer.alloc((1 << 20) + 8192);
for (;;) {
  let len;
  try { len = fs.readSync(fuse, buf, 0, buf.length, null); } catch (e) { log('read-end', { code: e.code }); break; }
  const opcode = buf.readUInt32LE(4), unique = buf.readBigUInt64LE(8);
  const reply = (error, body) => {
    const out = Buffer.alloc(16 + body.length);
    out.writeUInt32LE(out.length, 0); out.writeInt32LE(error, 4); out.writeBigUInt64LE(unique, 8); body.copy(out, 16);
    fs.writeSync(fuse, out);
  };
  if (opcode === 26) {
    log('init', { major: buf.readUInt32LE(40), minor: buf.readUInt32LE(44) });
    if (mode === 'slow') sleep(Number(process.env.STUB_DELAY || 600));
    if (mode === 'hang') { sleep(60000); continue; }
    const o = Buffer.alloc(64);
    o.writeUInt32LE(7, 0); o.writeUInt32LE(Math.min(buf.readUInt32LE(44), 45), 4);
    o.writeUInt32LE(buf.readUInt32LE(48), 8);            // max_readahead: what the kernel offered
    o.writeUInt32LE((1 << 22) | (1 << 5) | 1, 12);         // MAX_PAGES | BIG_WRITES | ASYNC_READ
    o.writeUInt16LE(16, 16); o.writeUInt16LE(12, 18); o.writeUInt32LE(1 << 20, 20); o.writeUInt32LE(1, 24);
    o.writeUInt16LE(256, 28);
    reply(0, o);
    log('init-replied');
    const pid = Buffer.alloc(4); pid.writeUInt32LE(process.pid);
    fs.writeSync(control, frame(2, pid));
  } else if (opcode === 3) {
    const a = Buffer.alloc(104);
    a.writeBigUInt64LE(1n, 0);                 // attr_valid 1 s
    a.writeBigUInt64LE(1n, 16);                // ino 1
    a.writeUInt32LE(0o40755, 16 + 60); a.writeUInt32LE(2, 16 + 64); a.writeUInt32LE(4096, 16 + 80);
    log('getattr'); // before the reply: the test reads the log as soon as stat() returns
    reply(0, a);
  } else if (opcode === 2 || opcode === 42 || opcode === 36) {
    // FORGET, BATCH_FORGET, INTERRUPT: never answered
  } else {
    reply(-38, Buffer.alloc(0));
  }
}
`;

let base: string;
let stubFile: string;
const addon = nativeCandidates().find((p) => existsSync(p)) ?? '';

function events(logFile: string): Array<{ ev: string; t: number; [k: string]: unknown }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ev: string; t: number });
}

function mountOf(path: string): ReturnType<typeof findMount> {
  return findMount(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), path);
}

function procMountsLine(mnt: string): string | undefined {
  return readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt);
}

function refusal(req: MountRequest, link: ServerLink = { kind: 'spawn', command: '/bin/false', args: [] }): string {
  try {
    runHelper(req, link);
  } catch (e) {
    if (e instanceof HelperError) return `${e.reason}: ${e.message}`;
    throw e;
  }
  throw new Error('helper accepted the request');
}

/** Until pid has exited (a zombie counts: jest's event loop reaps it only later). */
function waitGone(pid: number): void {
  const alive = (): boolean => {
    try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
  };
  const end = Date.now() + 5000;
  while (alive() && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  expect(alive()).toBe(false);
}

function fresh(name: string): { mnt: string; image: string; log: string } {
  const d = join(base, name);
  mkdirSync(d);
  const mnt = join(d, 'mnt');
  mkdirSync(mnt);
  const image = join(d, 'disk.img');
  const b = Buffer.alloc(1 << 20);
  b.write('IMG!', 0);
  writeFileSync(image, b);
  return { mnt, image, log: join(d, 'stub.log') };
}

function stub(log: string, mode: string): ServerLink {
  return { kind: 'spawn', command: process.execPath, args: [stubFile], env: { ...process.env, STUB_LOG: log, STUB_MODE: mode } };
}

rootDescribe('mount helper (root)', () => {
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'ext4box-helper-'));
    chmodSync(base, 0o755); // the unprivileged callers below must be able to reach their dirs
    stubFile = join(base, 'stub.cjs');
    writeFileSync(stubFile, STUB);
  });
  afterAll(() => {
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const e = parseMountinfo(l)[0];
      if (e && e.mountPoint.startsWith(base)) { try { loadNative().umount2(e.mountPoint, loadNative().constants.MNT_DETACH); } catch { /* gone */ } }
    }
    rmSync(base, { recursive: true, force: true });
  });

  describe('refusals, one by one', () => {
    test('symlinked mountpoint', () => {
      const f = fresh('symlink');
      const l = join(base, 'symlink', 'link');
      symlinkSync(f.mnt, l);
      expect(refusal({ image: f.image, mountpoint: l })).toMatch(/^mountpoint: .*is a symlink/);
    });
    test('mountpoint that is not a directory, or missing', () => {
      const f = fresh('nondir');
      expect(refusal({ image: f.image, mountpoint: f.image })).toMatch(/^mountpoint: .*is not a directory/);
      expect(refusal({ image: f.image, mountpoint: join(f.mnt, 'nope') })).toMatch(/^mountpoint: .*ENOENT/);
    });
    test.each(['/', '/usr', '/etc', '/proc/sys', '/sys/kernel', '/dev', '/var', '/run', '/tmp'])('system path %s', (p) => {
      const f = fresh(`sys${p.replace(/\//g, '_')}`);
      expect(refusal({ image: f.image, mountpoint: p })).toMatch(/^mountpoint: refusing to mount on/);
    });
    test('mountpoint neither owned nor writable by the caller', () => {
      const f = fresh('notowned');
      chmodSync(f.mnt, 0o755);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro' })).toMatch(/^mountpoint: .*neither owned nor writable by uid 65534/);
    });
    test('sticky world-writable mountpoint not owned by the caller', () => {
      const f = fresh('sticky');
      chmodSync(f.mnt, 0o1777);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro' })).toMatch(/^mountpoint: .*sticky directory not owned by uid 65534/);
      chmodSync(f.mnt, 0o777); // writable, not sticky: the mountpoint passes, the (root-only) image does not
      chmodSync(f.image, 0o600);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro' })).toMatch(/^image: /);
    });
    test('mountpoint already a mount (unless asked), and no second mount is made', () => {
      const f = fresh('mounted');
      loadNative().mount('tmpfs', f.mnt, 'tmpfs', 0, 'size=1m');
      try {
        expect(refusal({ image: f.image, mountpoint: f.mnt })).toMatch(/^mountpoint: .*already a mount point/);
        expect(mountOf(f.mnt)?.fsType).toBe('tmpfs');
      } finally { loadNative().umount2(f.mnt, 0); }
    });
    test('image the caller cannot read; image the caller cannot write for rw', () => {
      const f = fresh('image');
      chownSync(f.mnt, 65534, 65534);
      chmodSync(f.image, 0o600);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro' }))
        .toMatch(/^image: .*cannot be opened read-only by uid 65534: .*EACCES/);
      chmodSync(f.image, 0o644);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'rw' }))
        .toMatch(/^image: .*cannot be opened read-write by uid 65534/);
      expect(refusal({ image: f.mnt, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro' })).toMatch(/^image: /);
    });
    test('image that is neither a file nor a block device', () => {
      const f = fresh('chardev');
      expect(refusal({ image: '/dev/null', mountpoint: f.mnt, options: 'ro' })).toMatch(/^image: .*neither a regular file nor a block device/);
    });
    test.each(['suid', 'dev', 'fd=0', 'user_id=0', 'ro,rw', 'offset=abc'])('bad option %s', (o) => {
      const f = fresh(`opt-${o.replace(/[^a-z]/g, '_')}`);
      expect(refusal({ image: f.image, mountpoint: f.mnt, options: o })).toMatch(/^options: /);
    });
    test('allow_other for a non-root caller without user_allow_other', () => {
      let conf = '';
      try { conf = readFileSync('/etc/fuse.conf', 'utf8'); } catch { /* none */ }
      if (/^\s*user_allow_other\s*$/m.test(conf)) return; // this host allows it: nothing to refuse
      const f = fresh('allowother');
      chownSync(f.mnt, 65534, 65534);
      expect(refusal({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'ro,allow_other' })).toMatch(/^options: allow_other needs user_allow_other/);
    });
    test('after all refusals nothing under the test dir is mounted', () => {
      expect(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.mountPoint.startsWith(base))).toEqual([]);
    });
  });

  describe('live mounts with a stub server', () => {
    test('SYNC_INIT: fds handed off before mount, mount returns only after INIT is answered', () => {
      const f = fresh('live');
      const t0 = Date.now();
      const r = runHelper({ image: f.image, mountpoint: f.mnt, options: 'ro,offset=4096,errors=continue' }, stub(f.log, 'slow'));
      const t1 = Date.now();
      try {
        expect(r).toMatchObject({ source: f.image, mountpoint: f.mnt, fsType: 'fuse.ext4box', syncInit: true, iomap: false });
        const ev = events(f.log);
        const at = (name: string): number => ev.find((e) => e.ev === name)?.t ?? NaN;
        expect(ev.find((e) => e.ev === 'handoff')).toMatchObject({ magic: 'E4BX', type: 1, uid: 0, offset: '4096', imageHead: 'IMG!' });
        expect((ev.find((e) => e.ev === 'handoff')?.flags as number) & 0x23).toBe(0x23); // READ_ONLY|SYNC_INIT|FDS_INHERITED
        expect(at('handoff')).toBeLessThanOrEqual(at('init'));
        expect(at('init-replied') - at('init')).toBeGreaterThanOrEqual(550);
        expect(t1).toBeGreaterThanOrEqual(at('init-replied'));
        expect(t1 - t0).toBeGreaterThanOrEqual(550);
        expect(r.serverPid).toBeGreaterThan(0);
        // /proc/mounts: IMAGE MNT fuse.ext4box ro,nosuid,nodev,...
        const line = procMountsLine(f.mnt) ?? '';
        const [src, mnt, type, opts] = line.split(' ');
        expect([src, mnt, type]).toEqual([f.image, f.mnt, 'fuse.ext4box']);
        expect(opts.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'user_id=0', 'group_id=0', 'default_permissions']));
        expect(opts.split(',')).not.toContain('allow_other');
        // read_ahead_kb on the new bdi.
        expect(r.majorMinor).toBe(mountOf(f.mnt)?.majorMinor);
        expect(readFileSync(`/sys/class/bdi/${r.majorMinor}/read_ahead_kb`, 'utf8').trim()).toBe('1024');
        expect(r.readAheadKb).toBe(1024);
        // The kernel really talks to the stub: stat the root goes out as GETATTR.
        expect(statSync(f.mnt).isDirectory()).toBe(true);
        expect(statSync(f.mnt).ino).toBe(1);
        expect(events(f.log).some((e) => e.ev === 'getattr')).toBe(true);
      } finally {
        loadNative().umount2(f.mnt, 0);
      }
      waitGone(r.serverPid);
      expect(events(f.log).at(-1)).toMatchObject({ ev: 'read-end', code: 'ENODEV' });
      expect(procMountsLine(f.mnt)).toBeUndefined();
    });

    test('a server that dies before INIT: mount fails cleanly, nothing mounted', () => {
      const f = fresh('die');
      expect(refusal({ image: f.image, mountpoint: f.mnt, options: 'ro', timeoutMs: 10000 }, stub(f.log, 'die')))
        .toMatch(/^server: server exited before answering INIT; nothing mounted/);
      expect(events(f.log).map((e) => e.ev)).toEqual(['handoff']);
      expect(procMountsLine(f.mnt)).toBeUndefined();
    });

    test('a server that reports FAILED: its reason is the error, nothing mounted', () => {
      const f = fresh('fail');
      expect(refusal({ image: f.image, mountpoint: f.mnt, options: 'ro', timeoutMs: 10000 }, stub(f.log, 'fail')))
        .toMatch(/^server: server failed: superblock checksum mismatch/);
      expect(procMountsLine(f.mnt)).toBeUndefined();
    });

    test('a server that never answers INIT: timeout, nothing mounted', () => {
      const f = fresh('hang');
      expect(refusal({ image: f.image, mountpoint: f.mnt, options: 'ro', timeoutMs: 1500 }, stub(f.log, 'hang')))
        .toMatch(/^timeout: server did not answer INIT within 1500 ms/);
      expect(procMountsLine(f.mnt)).toBeUndefined();
      const stubPid = events(f.log).find((e) => e.ev === 'init')?.pid as number;
      expect(stubPid).toBeGreaterThan(0);
      waitGone(stubPid); // the helper kills a server it spawned when the mount fails
    });

    test('a server started by a runtime: fds over SEQPACKET with SCM_RIGHTS, rw for an owning caller', () => {
      const f = fresh('socket');
      chownSync(f.mnt, 65534, 65534);
      chownSync(f.image, 65534, 65534);
      const sock = join(base, 'socket', 'server.sock');
      const child = spawn(process.execPath, [stubFile], {
        stdio: 'ignore', env: { ...process.env, STUB_LOG: f.log, STUB_SOCKET: sock, STUB_ADDON: addon },
      });
      const end = Date.now() + 10000;
      // The socket file appears at bind(), before listen(): wait for the stub's own word.
      while (!events(f.log).some((e) => e.ev === 'listening') && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      const r = runHelper({ image: f.image, mountpoint: f.mnt, uid: 65534, gid: 65534, options: 'rw' }, { kind: 'socket', path: sock });
      try {
        expect(r.serverPid).toBe(child.pid);
        const h = events(f.log).find((e) => e.ev === 'handoff');
        expect(h).toMatchObject({ uid: 65534, imageHead: 'IMG!' });
        expect((h?.flags as number) & 0x21).toBe(0); // rw, fds not inherited
        const opts = (procMountsLine(f.mnt) ?? '').split(' ')[3].split(',');
        expect(opts).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'user_id=65534', 'group_id=65534']));
      } finally {
        loadNative().umount2(f.mnt, 0);
      }
      waitGone(child.pid ?? 0);
    });

    test('without SYNC_INIT (pre-6.18 path): mount first, then hand off, then serving', () => {
      const f = fresh('nosync');
      const r = runHelper({ image: f.image, mountpoint: f.mnt, options: 'ro', syncInit: false }, stub(f.log, 'serve'));
      try {
        expect(r.syncInit).toBe(false);
        const h = events(f.log).find((e) => e.ev === 'handoff');
        expect((h?.flags as number) & 0x2).toBe(0);
        expect(statSync(f.mnt).ino).toBe(1);
        expect(procMountsLine(f.mnt)?.split(' ')[2]).toBe('fuse.ext4box');
      } finally { loadNative().umount2(f.mnt, 0); }
      waitGone(r.serverPid);
    });

    test('without SYNC_INIT, a server that dies is still cleaned up: the mount is removed', () => {
      const f = fresh('nosync-die');
      expect(refusal({ image: f.image, mountpoint: f.mnt, options: 'ro', syncInit: false, timeoutMs: 10000 }, stub(f.log, 'die')))
        .toMatch(/^server: server exited before serving/);
      expect(procMountsLine(f.mnt)).toBeUndefined();
    });

    test('a caller-started server (kind start) gets the fds at the numbers it reports', () => {
      const f = fresh('start');
      let pid = 0;
      const r = runHelper({ image: f.image, mountpoint: f.mnt, options: 'ro' }, {
        kind: 'start',
        start: (fds) => {
          const c = spawn(process.execPath, [stubFile], {
            stdio: ['ignore', 'ignore', 'inherit', 'ignore', 'ignore', 'ignore', fds.image, fds.fuse, fds.control],
            env: { ...process.env, STUB_LOG: f.log, EXT4BOX_HANDOFF_FD: '8' }, detached: true,
          });
          c.unref();
          pid = c.pid ?? 0;
          return { fuseFd: 7, imageFd: 6, pid };
        },
      });
      try {
        expect(r.serverPid).toBe(pid);
        expect(events(f.log).find((e) => e.ev === 'handoff')).toMatchObject({ imageHead: 'IMG!' });
        expect(statSync(f.mnt).isDirectory()).toBe(true);
      } finally { loadNative().umount2(f.mnt, 0); }
      waitGone(pid);
    });

    test('over-mount when asked', () => {
      const f = fresh('over');
      loadNative().mount('tmpfs', f.mnt, 'tmpfs', 0, 'size=1m');
      try {
        const r = runHelper({ image: f.image, mountpoint: f.mnt, options: 'ro', overMount: true }, stub(f.log, 'serve'));
        expect(mountOf(f.mnt)?.fsType).toBe('fuse.ext4box');
        loadNative().umount2(f.mnt, 0);
        waitGone(r.serverPid);
        expect(mountOf(f.mnt)?.fsType).toBe('tmpfs');
      } finally { loadNative().umount2(f.mnt, loadNative().constants.MNT_DETACH); }
    });
  });
});

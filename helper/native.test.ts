// The addon's syscalls report errno faithfully and do what they say. Calls that change the
// process for good (no_new_privs, seccomp, set*id, unshare) run in a child node process.

import { execFileSync } from 'node:child_process';
import {
  closeSync, existsSync, lstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FUSE_DEV_IOC_SYNC_INIT, isErrno, loadNative, nativeCandidates, ociAction, ociArch, seccompFilterFromOci,
} from './native.js';

const root = process.getuid?.() === 0;
const rootTest = root ? test : test.skip;
const addonPath = nativeCandidates().find((p) => existsSync(p));
let dir: string;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ext4box-native-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function errOf(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  throw new Error('expected a throw');
}

/** Runs a CommonJS snippet in a fresh node with `n` = the addon; returns its stdout. */
function child(code: string): string {
  return execFileSync(process.execPath, ['-e', `const n = require(${JSON.stringify(addonPath)}); ${code}`], { encoding: 'utf8' });
}

test('the addon is built (npm run build:native)', () => {
  expect(addonPath).toBeDefined();
  expect(typeof loadNative().mount).toBe('function');
});

describe('errors', () => {
  rootTest('mount on a regular file: ENOTDIR with code, errno and syscall', () => {
    const f = join(dir, 'file');
    writeFileSync(f, 'x');
    const e = errOf(() => loadNative().mount('none', f, 'tmpfs', 0, null));
    expect(isErrno(e, 'ENOTDIR')).toBe(true);
    expect(e).toMatchObject({ code: 'ENOTDIR', errno: 20, syscall: 'mount' });
  });

  test('ioctl on a regular file: ENOTTY', () => {
    const f = join(dir, 'ioctl');
    writeFileSync(f, 'x');
    const fd = openSync(f, 'r');
    try {
      expect(errOf(() => loadNative().ioctl(fd, FUSE_DEV_IOC_SYNC_INIT, 0))).toMatchObject({ code: 'ENOTTY', errno: 25 });
      // _IOR(229, 99, 16): a 4-byte buffer would let the kernel write past it.
      expect(() => loadNative().ioctl(fd, 0x8010e563, Buffer.alloc(4))).toThrow(/must be|smaller than/);
      expect(errOf(() => loadNative().ioctl(fd, 0x8010e563, Buffer.alloc(16)))).toMatchObject({ code: 'ENOTTY' });
    } finally { closeSync(fd); }
  });

  test('ioctl on a closed fd: EBADF; umount2 of a non-mount: EINVAL or EPERM', () => {
    expect(errOf(() => loadNative().ioctl(100000, 0x5401, 0))).toMatchObject({ code: 'EBADF', errno: 9 });
    const e = errOf(() => loadNative().umount2(dir, 0));
    expect(isErrno(e, root ? 'EINVAL' : 'EPERM')).toBe(true);
  });

  test('bad arguments are TypeErrors, not syscalls', () => {
    const n = loadNative();
    expect(() => n.ioctl(-1, 0, 0)).toThrow(/must be|smaller than/);
    expect(() => n.lgetxattr('a\0b', 'user.x')).toThrow(/NUL/);
    expect(() => n.socketpair('raw' as never)).toThrow(/must be|smaller than/);
    expect(() => n.recvmsg(0, 0, 0)).toThrow(/must be|smaller than/);
    expect(() => n.sendmsg(0, Buffer.alloc(1), new Array(17).fill(0))).toThrow(/too many fds/);
  });
});

describe('unix sockets and SCM_RIGHTS', () => {
  test('a real fd crosses a SEQPACKET socketpair and still reads the file', () => {
    const n = loadNative();
    const f = join(dir, 'passed');
    writeFileSync(f, 'hello through SCM_RIGHTS');
    const [a, b] = n.socketpair('seqpacket');
    const fd = openSync(f, 'r');
    try {
      expect(n.sendmsg(a, Buffer.from('msg1'), [fd])).toBe(4);
      closeSync(fd);
      const r = n.recvmsg(b, 64, 0);
      expect(r.data.toString()).toBe('msg1');
      expect(r.fds).toHaveLength(1);
      expect(r.truncated).toBe(false);
      expect(r.ctruncated).toBe(false);
      const buf = Buffer.alloc(64);
      const got = readSync(r.fds[0], buf, 0, 64, 0);
      expect(buf.subarray(0, got).toString()).toBe('hello through SCM_RIGHTS');
      closeSync(r.fds[0]);
      // Message boundaries hold and truncation is reported.
      n.sendmsg(a, Buffer.from('0123456789'), []);
      const t = n.recvmsg(b, 4, 0);
      expect(t.data.toString()).toBe('0123');
      expect(t.truncated).toBe(true);
      expect(errOf(() => n.recvmsg(b, 16, n.constants.MSG_DONTWAIT))).toMatchObject({ code: 'EAGAIN' });
      expect(n.poll(b, n.constants.POLLIN, 0)).toBe(0);
      closeSync(a);
      expect(n.poll(b, 0, 1000) & n.constants.POLLHUP).toBeTruthy();
    } finally { closeSync(b); try { closeSync(a); } catch { /* closed */ } }
  });

  test('socket/bind/listen/connect/accept on a path, peer credentials', () => {
    const n = loadNative();
    const path = join(dir, 'sock');
    const srv = n.socket('seqpacket');
    n.bind(srv, path);
    n.listen(srv, 4);
    expect(lstatSync(path).isSocket()).toBe(true);
    const cli = n.socket('seqpacket');
    n.connect(cli, path);
    const conn = n.accept(srv);
    expect(n.peerCred(conn)).toEqual({ pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    n.sendmsg(cli, Buffer.from([1, 2, 3]), []);
    expect([...n.recvmsg(conn, 8, 0).data]).toEqual([1, 2, 3]);
    expect(errOf(() => n.connect(n.socket('seqpacket'), join(dir, 'nobody')))).toMatchObject({ code: 'ENOENT' });
    expect(errOf(() => n.bind(n.socket('seqpacket'), path))).toMatchObject({ code: 'EADDRINUSE' });
    for (const fd of [srv, cli, conn]) closeSync(fd);
  });
});

describe('extract helpers', () => {
  test('utimensat keeps nanoseconds, and AT_SYMLINK_NOFOLLOW touches the link only', () => {
    const n = loadNative();
    const f = join(dir, 'times');
    writeFileSync(f, 'x');
    n.utimensat(n.constants.AT_FDCWD, f, 1700000000n, 123456789, 1600000000, 987654321, 0);
    const st = statSync(f, { bigint: true });
    expect(st.atimeNs).toBe(1700000000123456789n);
    expect(st.mtimeNs).toBe(1600000000987654321n);
    const l = join(dir, 'times-link');
    symlinkSync(f, l);
    n.utimensat(n.constants.AT_FDCWD, l, 1000, 1, 2000, 2, n.constants.AT_SYMLINK_NOFOLLOW);
    expect(lstatSync(l, { bigint: true }).mtimeNs).toBe(2000000000002n);
    expect(statSync(f, { bigint: true }).mtimeNs).toBe(1600000000987654321n);
    // UTIME_OMIT leaves a time alone.
    n.utimensat(n.constants.AT_FDCWD, f, 5, n.constants.UTIME_OMIT, 7, 0, 0);
    expect(statSync(f, { bigint: true }).atimeNs).toBe(1700000000123456789n);
    expect(errOf(() => n.utimensat(n.constants.AT_FDCWD, join(dir, 'none'), 0, 0, 0, 0, 0))).toMatchObject({ code: 'ENOENT' });
  });

  test('xattr round trip, list, ENODATA, and user.* on a symlink refused', () => {
    const n = loadNative();
    const f = join(dir, 'xattr');
    writeFileSync(f, 'x');
    const value = Buffer.from([0, 1, 2, 255, 0]);
    n.lsetxattr(f, 'user.ext4box', value, 0);
    n.lsetxattr(f, 'user.empty', Buffer.alloc(0), 0);
    expect(n.lgetxattr(f, 'user.ext4box').equals(value)).toBe(true);
    expect(n.lgetxattr(f, 'user.empty').length).toBe(0);
    expect(n.llistxattr(f)).toEqual(expect.arrayContaining(['user.ext4box', 'user.empty']));
    expect(errOf(() => n.lgetxattr(f, 'user.nope'))).toMatchObject({ code: 'ENODATA' });
    expect(errOf(() => n.lsetxattr(f, 'user.ext4box', value, n.constants.XATTR_CREATE))).toMatchObject({ code: 'EEXIST' });
    const l = join(dir, 'xattr-link');
    symlinkSync(f, l);
    expect(errOf(() => n.lsetxattr(l, 'user.x', value, 0))).toMatchObject({ code: 'EPERM' });
    if (root) {
      n.lsetxattr(l, 'trusted.ext4box', Buffer.from('link'), 0);
      expect(n.lgetxattr(l, 'trusted.ext4box').toString()).toBe('link');
      expect(n.llistxattr(f)).not.toContain('trusted.ext4box');
    }
  });

  test('raw byte paths (not UTF-8) reach the syscall unchanged', () => {
    const n = loadNative();
    const name = Buffer.concat([Buffer.from(join(dir, 'raw-')), Buffer.from([0xff, 0xfe, 0x41])]);
    n.mknodat(n.constants.AT_FDCWD, name, n.constants.S_IFIFO | 0o600, 0, 0);
    expect(lstatSync(name).isFIFO()).toBe(true);
    n.utimensat(n.constants.AT_FDCWD, name, 10, 5, 20, 6, n.constants.AT_SYMLINK_NOFOLLOW);
    expect(lstatSync(name, { bigint: true }).mtimeNs).toBe(20000000006n);
    expect(() => n.lgetxattr(Buffer.from([0x2f, 0, 0x41]), 'user.x')).toThrow(/NUL/);
    expect(() => n.lgetxattr(Buffer.alloc(5000, 0x41), 'user.x')).toThrow(/too long/);
    expect(() => n.lgetxattr(new Uint16Array(2) as unknown as Uint8Array, 'user.x')).toThrow(/must be a string or a Uint8Array/);
  });

  test('mknodat makes a fifo relative to AT_FDCWD; EEXIST the second time', () => {
    const n = loadNative();
    const p = join(dir, 'fifo');
    n.mknodat(n.constants.AT_FDCWD, p, n.constants.S_IFIFO | 0o640, 0, 0);
    const st = lstatSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o640 & ~process.umask());
    expect(errOf(() => n.mknodat(n.constants.AT_FDCWD, p, n.constants.S_IFIFO | 0o600, 0, 0))).toMatchObject({ code: 'EEXIST' });
  });

  rootTest('mknodat makes a character device with the given major/minor', () => {
    const n = loadNative();
    const p = join(dir, 'chr');
    n.mknodat(n.constants.AT_FDCWD, p, n.constants.S_IFCHR | 0o600, 1, 3);
    const st = lstatSync(p, { bigint: true });
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe((1n << 8n) | 3n);
  });
});

describe('process-wide calls (in a child)', () => {
  test('prctl: dumpable read, no_new_privs set', () => {
    const out = child(`
      const c = n.constants;
      const before = require('fs').readFileSync('/proc/self/status', 'utf8').match(/NoNewPrivs:\\s*(\\d)/)[1];
      n.prctl(c.PR_SET_NO_NEW_PRIVS, 1);
      const after = require('fs').readFileSync('/proc/self/status', 'utf8').match(/NoNewPrivs:\\s*(\\d)/)[1];
      let e; try { n.prctl(c.PR_SET_DUMPABLE, 7); } catch (x) { e = x.code; }
      console.log(JSON.stringify({ before, after, nnp: n.prctl(c.PR_GET_NO_NEW_PRIVS, 0), bad: e }));`);
    expect(JSON.parse(out)).toEqual({ before: '0', after: '1', nnp: 1, bad: 'EINVAL' });
  });

  rootTest('prctl: PR_CAPBSET_DROP removes CAP_SYS_ADMIN from the bounding set', () => {
    const out = child(`
      const c = n.constants;
      const before = n.prctl(c.PR_CAPBSET_READ, 21);
      n.prctl(c.PR_CAPBSET_DROP, 21);
      const bnd = BigInt('0x' + require('fs').readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\\s*([0-9a-f]+)/)[1]);
      let bad; try { n.prctl(c.PR_CAPBSET_READ, 999); } catch (e) { bad = e.code; }
      console.log(JSON.stringify({ before, after: n.prctl(c.PR_CAPBSET_READ, 21), bit: Number((bnd >> 21n) & 1n), bad }));`);
    expect(JSON.parse(out)).toEqual({ before: 1, after: 0, bit: 0, bad: 'EINVAL' });
  });

  test('seccomp: an OCI profile denies mkdir with the chosen errno on every thread', () => {
    const filter = seccompFilterFromOci({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['mkdir', 'mkdirat', 'no_such_syscall_name'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
      ],
    });
    const d = join(dir, 'seccomp-made');
    const out = child(`
      const fs = require('fs');
      const skipped = n.seccompLoad(${JSON.stringify(filter, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))});
      let sync, async;
      try { fs.mkdirSync(${JSON.stringify(d)}); sync = 'made'; } catch (e) { sync = e.code; }
      // libuv runs the async mkdir on a pool thread: TSYNC must cover it.
      fs.mkdir(${JSON.stringify(d)}, (e) => {
        async = e ? e.code : 'made';
        console.log(JSON.stringify({ skipped, sync, async, mode: require('fs').readFileSync('/proc/self/status', 'utf8').match(/Seccomp:\\s*(\\d)/)[1] }));
      });`);
    expect(JSON.parse(out)).toEqual({ skipped: 1, sync: 'EACCES', async: 'EACCES', mode: '2' });
    expect(existsSync(d)).toBe(false);
  });

  test('seccomp profile mapping: OCI actions, arches, comparisons', () => {
    expect(ociAction('SCMP_ACT_ALLOW')).toBe(0x7fff0000);
    expect(ociAction('SCMP_ACT_ERRNO')).toBe(0x00050001);
    expect(ociAction('SCMP_ACT_ERRNO', 38)).toBe(0x00050026);
    expect(ociAction('SCMP_ACT_KILL_PROCESS')).toBe(0x80000000);
    expect(() => ociAction('SCMP_ACT_MAYBE')).toThrow(/unknown seccomp action/);
    expect(ociArch('SCMP_ARCH_X86_64')).toBe('x86_64');
    const f = seccompFilterFromOci({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0x1fffffffffffff, op: 'SCMP_CMP_EQ' }] }],
    });
    expect(f.rules[0].args[0][1]).toBe(4);
    expect(f.rules[0].args[0][2]).toBe(0x1fffffffffffffn);
    expect(() => seccompFilterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 64, op: 'SCMP_CMP_EQ' }] }] })).toThrow(/exact u64/);
    expect(() => seccompFilterFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'LIKE' }] }] })).toThrow(/comparison/);
  });

  rootTest('setgroups/setresgid/setresuid drop to 65534 and cannot come back', () => {
    const out = child(`
      n.setgroups([]); n.setresgid(65534, 65534, 65534); n.setresuid(65534, 65534, 65534);
      let back; try { n.setresuid(0, 0, 0); back = 'ok'; } catch (e) { back = e.code; }
      console.log(JSON.stringify({ ids: n.getresids(), groups: require('fs').readFileSync('/proc/self/status', 'utf8').match(/Groups:(.*)/)[1].trim(), back }));`);
    expect(JSON.parse(out)).toEqual({
      ids: { ruid: 65534, euid: 65534, suid: 65534, rgid: 65534, egid: 65534, sgid: 65534 }, groups: '', back: 'EPERM',
    });
  });

  rootTest('unshare: a new UTS namespace works; CLONE_NEWUSER in threaded node is EINVAL, as the kernel says', () => {
    const out = child(`
      const c = n.constants;
      n.unshare(c.CLONE_NEWUTS);
      const uts = require('fs').readlinkSync('/proc/self/ns/uts');
      let user; try { n.unshare(c.CLONE_NEWUSER); user = 'ok'; } catch (e) { user = e.code; }
      console.log(JSON.stringify({ uts, user }));`);
    const r = JSON.parse(out) as { uts: string; user: string };
    expect(r.uts).not.toBe(hostUtsNs());
    expect(r.user).toBe('EINVAL');
  });
});

function hostUtsNs(): string {
  return execFileSync('readlink', ['/proc/self/ns/uts'], { encoding: 'utf8' }).trim();
}

// deploy/seccomp.json, the one allow-list every runtime uses: every name is a real syscall
// (scmp_sys_resolver), the dangerous classes are denied, start-only entries vanish from the
// profile the server loads on itself, a node process confined by confineSelf() really loses
// sockets/exec/mount, a C probe under the same filter cannot ptrace, load modules, use bpf,
// keyctl, perf, io_uring, setns or open_by_handle_at, and node's own syscalls while reading an
// image (strace) are all in the list.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OciSeccompProfile } from '../../helper/native.js';
import { nativeAvailable } from '../../helper/native.js';
import { readSeccompProfile, selfProfile, seccompProfilePath } from '../../daemon/sandbox/policy.js';
import { runHelper } from '../../helper/mount.js';
import { buildImage } from '../fixtures/images.js';
import { lazyUnmount, liveSkipReason, repo, serverScript, walkSkipReason } from './live.js';

const profile = readSeccompProfile();
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Names unconditionally allowed (no argument filter) by a profile. */
function allowed(p: OciSeccompProfile): Set<string> {
  const out = new Set<string>();
  for (const s of p.syscalls ?? []) if (s.action === 'SCMP_ACT_ALLOW' && !(s.args ?? []).length) for (const n of s.names) out.add(n);
  return out;
}

const FORBIDDEN = ['ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount2', 'move_mount', 'fsopen', 'fsmount', 'pivot_root',
  'chroot', 'bpf', 'keyctl', 'add_key', 'request_key', 'perf_event_open', 'init_module', 'finit_module', 'delete_module',
  'kexec_load', 'reboot', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'unshare', 'setns', 'open_by_handle_at',
  'execveat', 'userfaultfd', 'setuid', 'setresuid', 'setgroups', 'capset', 'mknod', 'mknodat', 'swapon'];

describe('deploy/seccomp.json', () => {
  test('is an OCI profile that denies by default with EPERM', () => {
    expect(seccompProfilePath()).toBe(join(repo, 'deploy', 'seccomp.json'));
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    expect(profile.architectures).toContain('SCMP_ARCH_X86_64');
  });

  (has('scmp_sys_resolver') ? test : test.skip)('every syscall name resolves on x86_64 (scmp_sys_resolver)', () => {
    const names = [...new Set((profile.syscalls ?? []).flatMap((s) => s.names))];
    expect(names.length).toBeGreaterThan(100);
    const bad: string[] = [];
    for (const arch of ['x86_64']) {
      const r = spawnSync('sh', ['-c', `for n in ${names.join(' ')}; do echo "$n $(scmp_sys_resolver -a ${arch} $n)"; done`], { encoding: 'utf8' });
      for (const line of r.stdout.trim().split('\n')) {
        const [n, nr] = line.split(' ');
        // (On aarch64 the legacy calls open, stat, epoll_wait... do not exist; libseccomp skips them there.)
        if (!/^\d+$/.test(nr ?? '')) bad.push(`${arch}:${n}`);
      }
    }
    expect(bad).toEqual([]);
    // And a typo would be caught: the resolver rejects a made-up name.
    expect(spawnSync('scmp_sys_resolver', ['-a', 'x86_64', 'not_a_syscall'], { encoding: 'utf8' }).stdout.trim()).toMatch(/^-/);
  });

  test('the dangerous classes are never allowed, in either profile', () => {
    for (const p of [profile, selfProfile(profile)]) {
      const a = allowed(p);
      for (const n of FORBIDDEN) expect({ n, allowed: a.has(n) }).toEqual({ n, allowed: false });
      // Every one of them is also listed explicitly as an error, so an allow-list edit cannot let it in silently.
      const denied = new Set((p.syscalls ?? []).filter((s) => s.action === 'SCMP_ACT_ERRNO').flatMap((s) => s.names));
      for (const n of FORBIDDEN) expect({ n, denied: denied.has(n) }).toEqual({ n, denied: true });
    }
  });

  test('socket() is allowed only for AF_UNIX, and only at start; exec, bind, listen, accept, connect only at start', () => {
    const sock = (profile.syscalls ?? []).filter((s) => s.names.includes('socket'));
    expect(sock).toHaveLength(1);
    expect(sock[0].args).toEqual([{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }]);
    const self = selfProfile(profile);
    const selfNames = new Set((self.syscalls ?? []).flatMap((s) => s.names));
    for (const n of ['socket', 'execve', 'bind', 'listen', 'accept', 'accept4', 'connect', 'seccomp']) {
      expect({ n, self: selfNames.has(n) }).toEqual({ n, self: false });
    }
    expect(allowed(profile).has('execve')).toBe(true); // a runtime must exec the entry point under it
  });

  (has('strace') ? test : test.skip)('node reading and walking an ext4 image makes only allowed syscalls (strace -f)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ext4box-seccomp-'));
    try {
      const img = join(dir, 'fs.img');
      const tree = join(dir, 'tree');
      spawnSync('sh', ['-c', `mkdir -p ${tree}/d && for i in 1 2 3 4 5 6 7 8; do head -c $((i*7000)) /dev/urandom > ${tree}/d/f$i; done && ln -s d/f1 ${tree}/l`]);
      expect(spawnSync('mkfs.ext4', ['-q', '-d', tree, img, '4M'], { encoding: 'utf8' }).status).toBe(0);
      const script = join(dir, 'w.mjs');
      writeFileSync(script, `
        import { openSync } from 'node:fs';
        const { openImage } = await import(${JSON.stringify(join(repo, 'dist', 'daemon', 'ext4', 'fs.js'))});
        const { walkFs } = await import(${JSON.stringify(join(repo, 'dist', 'daemon', 'ext4', 'walk.js'))});
        const r = await walkFs(openImage(openSync(process.argv[2], 'r'), { readOnly: true }));
        if (r.files !== 8 || r.problems.length) { console.error(JSON.stringify(r)); process.exit(3); }
      `);
      const out = join(dir, 'trace');
      const r = spawnSync('strace', ['-f', '-qq', '-c', '-o', out, process.execPath, script, img], { encoding: 'utf8', timeout: 60000 });
      expect(r.status).toBe(0);
      const used = readFileSync(out, 'utf8').split('\n').slice(2)
        .map((l) => l.trim().split(/\s+/).pop() ?? '').filter((n) => /^[a-z_0-9]+$/.test(n) && n !== 'total');
      expect(used).toContain('pread64');
      const ok = allowed(profile);
      ok.add('socket'); // AF_UNIX-only entry
      expect(used.filter((n) => !ok.has(n))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (nativeAvailable() ? test : test.skip)('a node process confined by confineSelf() loses sockets, exec, mount and userns but keeps reading', () => {
    const policy = join(repo, 'dist', 'daemon', 'sandbox', 'policy.js');
    const native = join(repo, 'dist', 'helper', 'native.js');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { confineSelf } = await import(${JSON.stringify(policy)});
      const { loadNative } = await import(${JSON.stringify(native)});
      const { readFileSync } = await import('node:fs');
      const { spawnSync } = await import('node:child_process');
      const n = loadNative();
      const rep = confineSelf();
      const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code ?? e.message; } };
      const out = {
        rep,
        status: readFileSync('/proc/self/status', 'utf8').split('\\n').filter((l) => /^(NoNewPrivs|Seccomp):/.test(l)).join(';'),
        read: code(() => readFileSync(${JSON.stringify(join(repo, 'package.json'))})),
        unix: code(() => n.socket('stream')),
        pair: code(() => n.socketpair('seqpacket')),
        mount: code(() => n.mount('none', '/mnt', 'tmpfs', 0, null)),
        userns: code(() => n.unshare(n.constants.CLONE_NEWUSER)),
        exec: (() => { const r = spawnSync('/bin/true'); return r.error ? r.error.code : 'ok'; })(),
      };
      process.stdout.write(JSON.stringify(out));
    `], { encoding: 'utf8', timeout: 60000 });
    expect(r.stderr).toBe('');
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(o).toEqual({
      rep: { noNewPrivs: true, unknownSyscalls: 0 }, status: 'NoNewPrivs:\t1;Seccomp:\t2',
      read: 'ok', unix: 'EPERM', pair: 'ok', mount: 'EPERM', userns: 'EPERM', exec: 'EPERM',
    });
  });

  const cprobe = has('gcc') && nativeAvailable();
  (cprobe ? test : test.skip)('a C probe under the same filter cannot ptrace, load modules, bpf, keyctl, perf, io_uring, setns, open_by_handle_at or make AF_INET sockets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ext4box-cprobe-'));
    try {
      const src = join(dir, 'p.c');
      writeFileSync(src, String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <netinet/in.h>
static void t(const char *name, long r) { printf("%s=%s\n", name, r < 0 ? (errno == EPERM ? "EPERM" : errno == ENOSYS ? "ENOSYS" : "other") : "ok"); }
int main(void) {
  char h[64] = {0};
  t("ptrace", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, (long)getppid(), 0, 0));
  t("init_module", syscall(SYS_init_module, h, sizeof h, ""));
  t("finit_module", syscall(SYS_finit_module, 0, "", 0));
  t("delete_module", syscall(SYS_delete_module, "loop", 0));
  t("bpf", syscall(SYS_bpf, 0, h, sizeof h));
  t("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
  t("perf_event_open", syscall(SYS_perf_event_open, h, 0, -1, -1, 0));
  t("io_uring_setup", syscall(SYS_io_uring_setup, 1, h));
  t("setns", syscall(SYS_setns, 0, 0));
  t("unshare", syscall(SYS_unshare, 0x10000000));
  t("open_by_handle_at", syscall(SYS_open_by_handle_at, 0, h, 0));
  t("reboot", syscall(SYS_reboot, 0, 0, 0, 0));
  t("mount", syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, 0));
  t("socket_inet", socket(AF_INET, SOCK_STREAM, 0));
  t("socket_inet6", socket(AF_INET6, SOCK_DGRAM, 0));
  t("socket_netlink", socket(16 /* AF_NETLINK */, SOCK_RAW, 0));
  t("getpid", syscall(SYS_getpid));
  return 0;
}
`);
      const bin = join(dir, 'p');
      const cc = spawnSync('gcc', ['-O1', '-o', bin, src], { encoding: 'utf8' });
      expect(cc.stderr).toBe('');
      // Node loads the runtime profile (execve still allowed: start-only) and execs the probe,
      // which inherits exactly that filter.
      const native = join(repo, 'dist', 'helper', 'native.js');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
        const { loadNative, loadSeccompProfile } = await import(${JSON.stringify(native)});
        const { readFileSync } = await import('node:fs');
        const { execFileSync } = await import('node:child_process');
        const n = loadNative();
        n.prctl(n.constants.PR_SET_NO_NEW_PRIVS, 1);
        loadSeccompProfile(JSON.parse(readFileSync(${JSON.stringify(seccompProfilePath())}, 'utf8')));
        process.stdout.write(execFileSync(${JSON.stringify(bin)}, { encoding: 'utf8' }));
      `], { encoding: 'utf8', timeout: 60000 });
      expect(r.stderr).toBe('');
      const got = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=')));
      expect(got).toEqual({
        ptrace: 'EPERM', init_module: 'EPERM', finit_module: 'EPERM', delete_module: 'EPERM', bpf: 'EPERM', keyctl: 'EPERM',
        perf_event_open: 'EPERM', io_uring_setup: 'ENOSYS', setns: 'EPERM', unshare: 'EPERM', open_by_handle_at: 'EPERM',
        reboot: 'EPERM', mount: 'EPERM', socket_inet: 'EPERM', socket_inet6: 'EPERM', socket_netlink: 'EPERM', getpid: 'ok',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const liveSkip = liveSkipReason() ?? walkSkipReason() ?? (has('strace') ? null : 'no strace');
  (liveSkip ? test.skip : test)(`the real server serving a mount under a walker makes only allowed syscalls (strace -f)${liveSkip ? ` (${liveSkip})` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ext4box-srvtrace-'));
    const mnt = join(dir, 'mnt');
    const out = join(dir, 'trace');
    try {
      spawnSync('mkdir', [mnt]);
      runHelper({ image: buildImage('ext4').image, mountpoint: mnt, options: 'ro' },
        { kind: 'spawn', command: 'strace', args: ['-f', '-qq', '-c', '-o', out, process.execPath, serverScript], env: { ...process.env } });
      const load = spawnSync('sh', ['-c', `ls -laR ${mnt} >/dev/null && getfattr -R -d -m - ${mnt} >/dev/null 2>&1; find ${mnt} -type f -exec head -c 200000 {} + | wc -c; find ${mnt} -type l -exec readlink {} + >/dev/null; df ${mnt} >/dev/null`], { encoding: 'utf8', timeout: 120000 });
      expect(Number(load.stdout.trim())).toBeGreaterThan(100000);
      expect(spawnSync('umount', [mnt]).status).toBe(0);
      // strace writes its summary when the traced server exits (it does on unmount).
      for (let i = 0; i < 200 && !(existsSync(out) && /total/.test(readFileSync(out, 'utf8'))); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      const used = readFileSync(out, 'utf8').split('\n').slice(2)
        .map((l) => l.trim().split(/\s+/).pop() ?? '').filter((n) => /^[a-z_0-9]+$/.test(n) && n !== 'total');
      expect(used).toEqual(expect.arrayContaining(['read', 'write', 'pread64']));
      const self = allowed(selfProfile(profile));
      // execve is node's own start (before any filter) and seccomp is the server installing its
      // own filter (confineSelf, before it parses the image); everything else must be in the
      // self profile.
      expect(used.filter((n) => !self.has(n) && n !== 'execve' && n !== 'seccomp')).toEqual([]);
    } finally {
      lazyUnmount(mnt);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is the file the Dockerfile ships', () => {
    expect(readFileSync(join(repo, 'Dockerfile'), 'utf8')).toContain('COPY deploy/seccomp.json deploy/seccomp.json');
    expect(existsSync(join(repo, 'deploy', 'seccomp.json'))).toBe(true);
  });
});

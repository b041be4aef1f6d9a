// Typed wrapper over the native addon (native/ext4box_native.c, built by `npm run build:native`
// into build/Release/ext4box_native.node): the Linux syscalls Node lacks. Imported by helper/
// (privileged mount path) and by daemon/ (sandbox setup, extract CLI). Loaded lazily, so that
// importing this module never fails; the first call throws NativeMissingError if it is not built.
// Error convention: every failing syscall throws an Error with .code ('ENOTDIR'), .errno (20)
// and .syscall ('mount'); bad arguments throw TypeError. All calls are synchronous.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SocketType = 'seqpacket' | 'stream' | 'dgram';

/** Paths and names: a string (sent as UTF-8) or raw bytes (on-disk names need not be UTF-8). */
export type PathArg = string | Uint8Array;

export interface RecvResult {
  data: Buffer;
  fds: number[];
  /** MSG_TRUNC: the datagram was longer than maxLen (the rest is lost). */
  truncated: boolean;
  /** MSG_CTRUNC: more fds were sent than fit (the extra ones were closed by the kernel). */
  ctruncated: boolean;
}

export interface ResIds {
  ruid: number; euid: number; suid: number;
  rgid: number; egid: number; sgid: number;
}

/** One seccomp rule as the addon takes it: kernel SECCOMP_RET_* action, args [index, op, a, b]. */
export interface NativeSeccompRule {
  name: string;
  action: number;
  args: Array<[number, number, bigint | number, bigint | number]>;
}

export interface NativeSeccompFilter {
  defaultAction: number;
  /** libseccomp architecture names: 'x86_64', 'x86', 'x32', 'aarch64', ... */
  arches: string[];
  rules: NativeSeccompRule[];
}

export interface NativeConstants {
  AT_FDCWD: number; AT_SYMLINK_NOFOLLOW: number; UTIME_NOW: number; UTIME_OMIT: number;
  MS_RDONLY: number; MS_NOSUID: number; MS_NODEV: number; MS_NOEXEC: number; MS_BIND: number;
  MS_REC: number; MS_PRIVATE: number; MS_SLAVE: number; MS_REMOUNT: number;
  MNT_FORCE: number; MNT_DETACH: number; UMOUNT_NOFOLLOW: number;
  PR_SET_NO_NEW_PRIVS: number; PR_GET_NO_NEW_PRIVS: number; PR_SET_DUMPABLE: number;
  PR_GET_DUMPABLE: number; PR_CAPBSET_DROP: number; PR_CAPBSET_READ: number; PR_GET_SECCOMP: number;
  CLONE_NEWNS: number; CLONE_NEWUSER: number; CLONE_NEWPID: number; CLONE_NEWNET: number;
  CLONE_NEWIPC: number; CLONE_NEWUTS: number; CLONE_NEWCGROUP: number;
  XATTR_CREATE: number; XATTR_REPLACE: number; MSG_DONTWAIT: number; MSG_PEEK: number;
  POLLIN: number; POLLOUT: number; POLLHUP: number; POLLERR: number;
  S_IFIFO: number; S_IFCHR: number; S_IFBLK: number; S_IFSOCK: number;
}

export interface Native {
  /** AF_UNIX socketpair, both ends close-on-exec. */
  socketpair(type: SocketType): [number, number];
  socket(type: SocketType): number;
  bind(fd: number, path: PathArg): void;
  listen(fd: number, backlog: number): void;
  connect(fd: number, path: PathArg): void;
  /** Blocks until a peer connects; the new fd is close-on-exec. */
  accept(fd: number): number;
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** Sends one message with up to 16 fds (SCM_RIGHTS); returns bytes sent. Empty data with
   *  fds goes out as one NUL byte (ancillary data needs a data byte to ride on). */
  sendmsg(fd: number, data: Uint8Array, fds: number[]): number;
  /** Receives one message (blocks unless flags has MSG_DONTWAIT); fds arrive close-on-exec. */
  recvmsg(fd: number, maxLen: number, flags: number): RecvResult;
  /** Returns revents, 0 on timeout; timeoutMs -1 waits forever. */
  poll(fd: number, events: number, timeoutMs: number): number;
  mount(source: PathArg | null, target: PathArg, fstype: string | null, flags: number, data: string | null): void;
  /** mount(2) in a forked child, abandoned (SIGKILL) when watchFd hangs up (ENOTCONN) or on timeout (ETIMEDOUT). */
  mountWatched(source: PathArg, target: PathArg, fstype: string, flags: number, data: string, watchFd: number, timeoutMs: number): void;
  umount2(target: PathArg, flags: number): void;
  /** Integer arg by value, or a buffer (at least _IOC_SIZE bytes) by pointer, updated in place. */
  ioctl(fd: number, request: number, arg: number | bigint | Uint8Array): number;
  prctl(option: number, arg2: number): number;
  unshare(flags: number): void;
  /** -1 leaves an id unchanged; applies to every thread (glibc set*id broadcast). */
  setresuid(ruid: number, euid: number, suid: number): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  getresids(): ResIds;
  setgroups(gids: number[]): void;
  /** Loads a filter on every thread (TSYNC); returns how many syscall names were unknown here. */
  seccompLoad(filter: NativeSeccompFilter): number;
  lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, flags: number): void;
  lgetxattr(path: PathArg, name: PathArg): Buffer;
  llistxattr(path: PathArg): string[];
  mknodat(dirfd: number, path: PathArg, mode: number, major: number, minor: number): void;
  utimensat(dirfd: number, path: PathArg, atimeSec: number | bigint, atimeNsec: number,
    mtimeSec: number | bigint, mtimeNsec: number, flags: number): void;
  constants: NativeConstants;
}

/** The shape of every error a native call throws for a failed syscall. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isErrno(e: unknown, code?: string): e is ErrnoError {
  // No instanceof: errors made by the addon belong to the main realm, which is not the realm
  // of a vm context (jest) importing this module.
  if (typeof e !== 'object' || e === null) return false;
  const c = (e as Partial<ErrnoError>).code;
  return typeof c === 'string' && typeof (e as Partial<ErrnoError>).errno === 'number' && (code === undefined || c === code);
}

export class NativeMissingError extends Error {
  override name = 'NativeMissingError';
  constructor(tried: string[]) {
    super(`ext4box native addon not built (run \`npm run build:native\`); looked in: ${tried.join(', ')}`);
  }
}

const ADDON = join('build', 'Release', 'ext4box_native.node');

/** Where the addon may be: $EXT4BOX_NATIVE, then build/Release above this file (src or dist). */
export function nativeCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const out: string[] = [];
  const env = process.env.EXT4BOX_NATIVE;
  if (env) out.push(resolve(env));
  for (const up of ['..', join('..', '..'), join('..', '..', '..')]) out.push(resolve(here, up, ADDON));
  return out;
}

let cached: Native | undefined;

export function loadNative(): Native {
  if (cached) return cached;
  const tried = nativeCandidates();
  const found = tried.find((p) => existsSync(p));
  if (!found) throw new NativeMissingError(tried);
  const req = createRequire(import.meta.url);
  cached = req(found) as Native;
  return cached;
}

export function nativeAvailable(): boolean {
  try { loadNative(); return true; } catch { return false; }
}

// ---- FUSE device ioctls (KERNEL-FUSE.md §1.6): probe, never assume ----

/** _IO(229, 3), Linux 6.18+: mount(2) then waits for the server's INIT reply. */
export const FUSE_DEV_IOC_SYNC_INIT = 0xe503;
/** _IOR(229, 99, {u64 flags; u64 pad}) from the out-of-tree fuse-iomap series; ENOTTY on stock kernels. */
export const FUSE_DEV_IOC_IOMAP_SUPPORT = 0x8010e563;

// ---- OCI seccomp profile → addon filter ----

/** The subset of the OCI / Docker seccomp profile format we consume (deploy/seccomp.json). */
export interface OciSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: Array<{
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
  }>;
}

const EPERM = 1;

/** Kernel SECCOMP_RET_* value for an OCI action name (runc's mapping; ERRNO defaults to EPERM). */
export function ociAction(name: string, errnoRet?: number): number {
  const errno = errnoRet ?? EPERM;
  switch (name) {
    case 'SCMP_ACT_ALLOW': return 0x7fff0000;
    case 'SCMP_ACT_ERRNO':
      if (!Number.isInteger(errno) || errno < 0 || errno > 0xffff) throw new TypeError(`bad errnoRet ${errno}`);
      return (0x00050000 | errno) >>> 0;
    case 'SCMP_ACT_KILL': case 'SCMP_ACT_KILL_THREAD': return 0;
    case 'SCMP_ACT_KILL_PROCESS': return 0x80000000;
    case 'SCMP_ACT_TRAP': return 0x00030000;
    case 'SCMP_ACT_LOG': return 0x7ffc0000;
    case 'SCMP_ACT_TRACE': return (0x7ff00000 | (errno & 0xffff)) >>> 0;
    default: throw new TypeError(`unknown seccomp action ${name}`);
  }
}

const CMP_OPS: Record<string, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

/** 'SCMP_ARCH_X86_64' → 'x86_64' (libseccomp's own names). */
export function ociArch(name: string): string {
  const m = /^SCMP_ARCH_([A-Z0-9_]+)$/.exec(name);
  if (!m) throw new TypeError(`unknown seccomp architecture ${name}`);
  return m[1].toLowerCase();
}

export function seccompFilterFromOci(p: OciSeccompProfile): NativeSeccompFilter {
  const rules: NativeSeccompRule[] = [];
  for (const s of p.syscalls ?? []) {
    const action = ociAction(s.action, s.errnoRet);
    const args: NativeSeccompRule['args'] = (s.args ?? []).map((a) => {
      const op = CMP_OPS[a.op];
      if (op === undefined) throw new TypeError(`unknown seccomp comparison ${a.op}`);
      // OCI values are u64; the addon takes them as s64 bit patterns. JSON numbers above 2^53
      // have already lost bits, so they are refused rather than silently rounded.
      for (const x of [a.value, a.valueTwo ?? 0]) {
        if (!Number.isSafeInteger(x) || x < 0) throw new TypeError(`seccomp argument value ${x} is not an exact u64 from JSON`);
      }
      return [a.index, op, BigInt.asIntN(64, BigInt(a.value)), BigInt.asIntN(64, BigInt(a.valueTwo ?? 0))];
    });
    for (const name of s.names) rules.push({ name, action, args });
  }
  return {
    defaultAction: ociAction(p.defaultAction, p.defaultErrnoRet),
    arches: (p.architectures ?? []).map(ociArch),
    rules,
  };
}

/** Loads an OCI seccomp profile on every thread of this process; returns unknown-name count. */
export function loadSeccompProfile(p: OciSeccompProfile): number {
  return loadNative().seccompLoad(seccompFilterFromOci(p));
}

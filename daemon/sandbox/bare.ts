// The `bare` runtime: no container engine. A launcher chain of util-linux tools, started by the
// (root) supervisor with the hand-off fds at 3/4/5, builds the sandbox before node runs:
//   unshare --mount --pid --net --ipc --uts --fork --kill-child   (host userns, as root)
//     sh: tmpfs root; code bind-mounted read-only at its host paths; fresh /proc; rlimits;
//         tmpfs remounted read-only; pivot_root; old root detached
//     setpriv: uid/gid 65534, no groups, empty bounding/inheritable sets, no_new_privs
//       unshare --user --map-current-user   (a user namespace owned by 65534, created last:
//                                           a userns needs a single-threaded creator, so never node)
//         node <server> — which then loads deploy/seccomp.json on itself (policy.ts confineSelf).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerLink } from '../../helper/handoff.js';
import { codeRoot, SandboxError, SERVER_GID, SERVER_UID } from './policy.js';

export interface BareOptions {
  /** The server's argv after node (script path first); must lie inside a bound path. */
  args: string[];
  /** Extra environment for the server; besides it only PATH, EXT4BOX_SANDBOX and the spawner's
   *  EXT4BOX_HANDOFF_FD, EXT4BOX_LOG, EXT4BOX_DEBUG and UV_THREADPOOL_SIZE get through. */
  env?: Record<string, string>;
  /** Read-only paths visible in the sandbox besides node, its libraries and the code. */
  extraPaths?: string[];
  /** RLIMIT_AS in bytes (default 2 GiB: node 20 runs in 1 GiB of address space). */
  addressSpace?: number;
  /** RLIMIT_NOFILE (default 256) and RLIMIT_NPROC (default 512: counts threads of every uid-65534 task). */
  nofile?: number;
  nproc?: number;
  /** Where the server's stdout and stderr go (default: inherited; 'pipe': child().stdout/.stderr). */
  output?: 'inherit' | 'pipe' | 'ignore';
  /** Append the server's stdout/stderr to this host file (opened before the sandbox closes). */
  logFile?: string;
  /** An existing empty directory to build the root on (default: a fresh temp dir). */
  rootDir?: string;
}

/** The launcher as one argv (absolute command first), for a spawner that passes fds 3/4/5
 *  itself (the helper's `-- CMD ARGS` path). The root dir it names is left behind empty. */
export function bareCommand(opts: BareOptions): string[] {
  // The outer unshare stays on the host as the waiter of the sandbox's pid 1 and keeps its
  // stdio: the redirect goes in front of it, so no process keeps the spawner's pipes open.
  const wrap = opts.logFile
    ? ['/bin/sh', '-c', 'log=$1; shift; exec "$@" >>"$log" 2>&1 </dev/null', 'ext4box-bare', opts.logFile]
    : ['/bin/sh', '-c', 'exec "$@" 1>&2 </dev/null', 'ext4box-bare'];
  return [...wrap, ...launcherArgv({ ...opts, logFile: undefined })];
}

function launcherArgv(opts: BareOptions): string[] {
  if (opts.args.length === 0) throw new SandboxError('bare', 'no server script given');
  const lim = limits(opts);
  const root = opts.rootDir ?? mkdtempSync(join(tmpdir(), 'ext4box-bare-'));
  const script = launcherScript(root, barePaths(opts.extraPaths), [realpathSync(process.execPath), ...opts.args], lim, opts.logFile, opts.env);
  return [which('unshare'), ...UNSHARE_ARGS, '--', '/bin/sh', '-c', script, 'ext4box-bare'];
}

const UNSHARE_ARGS = ['--mount', '--pid', '--net', '--ipc', '--uts', '--fork', '--kill-child', '--propagation', 'private'];

function limits(opts: BareOptions): { as: number; nofile: number; nproc: number } {
  return { as: int('addressSpace', opts.addressSpace, 2 * 1024 ** 3), nofile: int('nofile', opts.nofile, 256), nproc: int('nproc', opts.nproc, 512) };
}

export interface BareSandbox {
  kind: 'bare';
  link: Extract<ServerLink, { kind: 'start' }>;
  /** The launcher (outer unshare) once started. */
  child(): ChildProcess | undefined;
  /** The node server's pid in the host pid namespace, once it runs (undefined before). */
  serverPid(): number | undefined;
  /** SIGKILLs the launcher (--kill-child takes the server with it) and removes the root dir. */
  stop(): void;
}

const TOOLS = ['unshare', 'setpriv', 'umount', 'env'];

/** The only variables the server inherits from its spawner (the rest of the caller's
 *  environment, secrets included, stays outside). */
const PASS_ENV = ['EXT4BOX_HANDOFF_FD', 'EXT4BOX_LOG', 'EXT4BOX_DEBUG', 'UV_THREADPOOL_SIZE'];

function which(tool: string): string {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(d, tool);
    if (d && existsSync(p)) return realpathSync(p);
  }
  throw new SandboxError('bare', `${tool} (util-linux) not found in PATH`);
}

/** The shared libraries an ELF file loads, by ldd (resolved to real files, plus the symlinks
 *  the loader will follow). Empty for non-ELF files. */
export function sharedLibraries(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) return [];
  const out = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (!m) continue;
    out.add(m[1]);
    try { out.add(realpathSync(m[1])); } catch { /* listed but absent: the loader will fail loudly */ }
  }
  return [...out];
}

/** Everything the sandbox shows, read-only: node + libraries, the launcher's tail tools, the code. */
export function barePaths(extra: string[] = []): string[] {
  const root = codeRoot();
  const bins = [realpathSync(process.execPath), ...TOOLS.map(which)];
  const paths = new Set<string>();
  for (const b of bins) {
    paths.add(b);
    for (const l of sharedLibraries(b)) paths.add(l);
  }
  for (const rel of ['package.json', 'dist', 'deploy', join('build', 'Release'), 'node_modules']) {
    const p = join(root, rel);
    if (existsSync(p)) paths.add(realpathSync(p));
  }
  const addon = join(root, 'build', 'Release', 'ext4box_native.node');
  if (existsSync(addon)) for (const l of sharedLibraries(addon)) paths.add(l);
  for (const p of extra) paths.add(realpathSync(p));
  // A path under another bound directory needs no mount of its own.
  const sorted = [...paths].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(`${q}/`) && statSync(q).isDirectory()));
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function int(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x <= 0) throw new SandboxError('bare', `bad ${name} ${x}`);
  return x;
}

/** The launcher's shell script (runs as root inside the new mount/pid/net/ipc/uts namespaces). */
export function launcherScript(root: string, paths: string[], argv: string[], lim: { as: number; nofile: number; nproc: number }, logFile?: string,
  env: Record<string, string> = {}): string {
  for (const k of Object.keys(env)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new SandboxError('bare', `bad environment name ${k}`);
  const pass = PASS_ENV.map((k) => `\${${k}+${k}="\$${k}"}`).join(' ');
  const fixed = Object.entries({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env, EXT4BOX_SANDBOX: 'bare' }).map(([k, v]) => q(`${k}=${v}`)).join(' ');
  const binds = paths.map((p) => `bind ${q(p)}`).join('\n');
  // The log is opened by root on the host side, before the pivot: the server only inherits it.
  const redirect = logFile ? `exec >>${q(logFile)} 2>&1 </dev/null\n` : '';
  // UV_THREADPOOL_SIZE must be set before node starts: the server sizes its FUSE readers from it.
  return `set -eu
${redirect}export UV_THREADPOOL_SIZE="\${UV_THREADPOOL_SIZE:-10}"
R=${q(root)}
mount -t tmpfs -o size=4m,mode=0755,nosuid,nodev ext4box-root "$R"
bind() {
  if [ -d "$1" ]; then mkdir -p "$R$1"; else mkdir -p "$R$(dirname "$1")"; : > "$R$1"; fi
  mount --bind "$1" "$R$1"
  mount -o remount,bind,ro,nosuid,nodev "$R$1"
}
${binds}
mkdir -p "$R/proc" "$R/tmp" "$R/.old"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount -o remount,ro "$R"
prlimit --pid $$ --as=${lim.as}:${lim.as} --nofile=${lim.nofile}:${lim.nofile} --nproc=${lim.nproc}:${lim.nproc} --core=0:0
cd "$R"
pivot_root . .old
cd /
umount -l /.old
exec env -i ${pass} ${fixed} \\
  setpriv --reuid=${SERVER_UID} --regid=${SERVER_GID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- \\
  unshare --user --map-current-user -- ${argv.map(q).join(' ')}
`;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (/^\d+$/.test(c)) out.push(Number(c));
    } catch { /* task gone */ }
  }
  return out;
}

/** Prepares a bare sandbox; the helper calls link.start() with the fds when it is time. */
export function bareSandbox(opts: BareOptions): BareSandbox {
  if (process.geteuid?.() !== 0) throw new SandboxError('bare', 'the bare sandbox is built by root (mount, pid and net namespaces)');
  if (opts.args.length === 0) throw new SandboxError('bare', 'no server script given');
  let proc: ChildProcess | undefined;
  let root: string | undefined;
  const link: BareSandbox['link'] = {
    kind: 'start',
    start(fds) {
      root = mkdtempSync(join(tmpdir(), 'ext4box-bare-'));
      const [cmd, ...args] = launcherArgv({ ...opts, rootDir: root });
      proc = spawn(cmd, args, {
        stdio: ['ignore', opts.output ?? 'inherit', opts.output ?? 'inherit', fds.fuse, fds.image, fds.control],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', EXT4BOX_HANDOFF_FD: '5' },
        detached: true,
      });
      proc.on('error', () => { /* seen by the helper as a hang-up of the control socket */ });
      return { fuseFd: 3, imageFd: 4, pid: proc.pid };
    },
  };
  return {
    kind: 'bare',
    link,
    child: () => proc,
    serverPid() {
      // launcher (unshare, host pid ns) → its forked child, which exec'd its way to node.
      if (!proc?.pid) return undefined;
      for (const c of childrenOf(proc.pid)) {
        try { if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'node') return c; } catch { /* gone */ }
      }
      return undefined;
    },
    stop() {
      if (proc?.pid && proc.exitCode === null && proc.signalCode === null) {
        try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      if (root) {
        // Only an empty dir on the host: the tmpfs lived in the sandbox's own mount namespace.
        try { rmdirSync(root); } catch { /* busy until the launcher is reaped */ }
      }
    },
  };
}


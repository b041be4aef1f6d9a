// The supervisor commands: `ext4box mount` runs the privileged helper (a separate process,
// dist/helper/main.js) which starts the server and mounts; `ext4box umount` takes a mount
// down (also one whose server died: ENOTCONN); `ext4box ps` lists mounts from the small
// state files kept under the state dir ($EXT4BOX_STATE_DIR or /run/ext4box), cross-checked
// with /proc/self/mountinfo. How the server is started is chosen in ONE place:
// chooseServerLink() (the sandbox runtimes plug in there).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSandboxSync } from '../sandbox/launch.js';

export type SandboxKind = 'none' | 'bare' | 'docker';

export class MountCliError extends Error {
  constructor(message: string, readonly exitCode = 1) { super(message); }
}

export interface MountOptions {
  options?: string[];
  foreground?: boolean;
  sandbox?: string;
  json?: boolean;
}

export interface MountState {
  mountpoint: string;
  image: string;
  sandbox: SandboxKind;
  serverPid: number;
  containerId?: string;
  startedAt: number;
  log: string | null;
  options: string;
}

/** How the helper reaches the server: the arguments after the helper's own, plus words for ps. */
export interface ServerLinkChoice {
  /** ['--', CMD, ARGS...] (the helper spawns it) or ['--server-socket', PATH]. */
  helperArgs: string[];
  warnings: string[];
  containerId?: string;
  /** Called when the mount failed, to undo what the choice set up (containers...). */
  cleanup?: () => void;
}

export interface LinkContext {
  repoRoot: string;
  serverMain: string;
  /** Server log file (background) or null (foreground: the terminal). */
  logFile: string | null;
  mountpoint: string;
  image: string;
}

// ---- paths ----------------------------------------------------------------------------------------
export function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj) && /"name":\s*"ext4box"/.test(fs.readFileSync(pj, 'utf8'))) return d;
    d = path.dirname(d);
  }
  throw new MountCliError('cannot find the ext4box installation (package.json)');
}

export function stateDir(): string {
  return process.env.EXT4BOX_STATE_DIR ?? '/run/ext4box';
}

/** The state file name of a mountpoint: stable, path-safe. */
export function stateKey(mountpoint: string): string {
  return createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
}

function statePath(mountpoint: string): string {
  return path.join(stateDir(), `${stateKey(mountpoint)}.json`);
}

/**
 * Absolute path of a mountpoint without touching the mount itself (a dead FUSE mount answers
 * ENOTCONN to stat): the parent is resolved, the last component kept as given.
 */
export function mountpointPath(p: string): string {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  let parent = path.dirname(abs);
  try { parent = fs.realpathSync(parent); } catch { /* keep the lexical parent */ }
  return path.join(parent, path.basename(abs));
}

// ---- the one place that decides how the server starts ---------------------------------------------------
/**
 * Decides how the helper gets a server for this mount. `none`: the helper spawns the server
 * directly, unconfined (a warning says so). `bare` and `docker` belong to the sandbox layer
 * (daemon/sandbox/), which plugs in here.
 */
export function chooseServerLink(sandbox: SandboxKind, ctx: LinkContext): ServerLinkChoice {
  switch (sandbox) {
    case 'none': {
      const node = process.execPath;
      // The server's stdout/stderr go to its log file (background) or to our stderr
      // (foreground) by an exec redirect, so it never holds the helper's result pipe open.
      // UV_THREADPOOL_SIZE must be in the environment before node starts (see server/main.ts).
      const script = ctx.logFile ? 'log=$1; shift; UV_THREADPOOL_SIZE=10 exec "$@" >>"$log" 2>&1 </dev/null'
        : 'shift; UV_THREADPOOL_SIZE=10 exec "$@" 1>&2 </dev/null';
      return {
        helperArgs: ['--', '/bin/sh', '-c', script, 'ext4box-server', ctx.logFile ?? '-', node, ctx.serverMain],
        warnings: ['--sandbox none: the server runs unconfined, as root, with the image parser exposed'],
      };
    }
    case 'bare':
    case 'docker': {
      // The sandbox layer is driven through its own entry point (dist/daemon/sandbox/launch.js):
      // this path is synchronous and dockerode is not.
      const launch = (args: string[]): string => {
        const r = spawnSync(process.execPath, [path.join(ctx.repoRoot, 'dist', 'daemon', 'sandbox', 'launch.js'), ...args],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
        if (r.status !== 0) throw new MountCliError(`ext4box: mount: ${(r.stderr || r.error?.message || `sandbox launcher exited ${r.status}`).trim().split('\n').pop()}`);
        return r.stdout.trim();
      };
      if (sandbox === 'bare') {
        // uid 65534 in fresh user/mount/pid/net/ipc/uts namespaces on an empty read-only root;
        // the helper spawns the launcher with fds 3/4/5 like any server command.
        const argv = JSON.parse(launch(['bare-command', ...(ctx.logFile ? ['--log', ctx.logFile] : []), '--', ctx.serverMain])) as string[];
        return { helperArgs: ['--', ...argv], warnings: [] };
      }
      // One locked-down container per mount, already listening; the helper passes the fds by SCM_RIGHTS.
      const s = JSON.parse(launch(['docker-start'])) as { containerId: string; socketPath: string; socketDir: string };
      return {
        helperArgs: ['--server-socket', s.socketPath],
        warnings: [],
        containerId: s.containerId.slice(0, 12),
        cleanup: () => { try { launch(['docker-stop', s.containerId, s.socketDir]); } catch { /* best effort */ } },
      };
    }
    default:
      throw new MountCliError(`unknown sandbox ${String(sandbox)}`, 2);
  }
}

// ---- mount --------------------------------------------------------------------------------------------
/** The -o list normalized for the helper; rw is refused here with one clear line. */
export function mountOptionList(raw: string[] | undefined): string {
  const out: string[] = [];
  let ro = false;
  for (const chunk of raw ?? []) {
    for (const o of chunk.split(',')) {
      const t = o.trim();
      if (!t) continue;
      if (t === 'rw') throw new MountCliError('read-write mounts are not supported yet: use -o ro');
      if (t === 'ro') ro = true;
      out.push(t);
    }
  }
  if (!ro) out.unshift('ro');
  return out.join(',');
}

function sandboxOf(s: string | undefined): SandboxKind {
  const v = s ?? process.env.EXT4BOX_SANDBOX ?? defaultSandboxSync();
  if (v !== 'none' && v !== 'bare' && v !== 'docker') throw new MountCliError(`--sandbox must be none, bare or docker, got ${v}`, 2);
  return v;
}

function writeState(s: MountState): void {
  const f = statePath(s.mountpoint);
  const tmp = `${f}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, f);
}

export function readStates(): MountState[] {
  let names: string[];
  try { names = fs.readdirSync(stateDir()); } catch { return []; }
  const out: MountState[] = [];
  for (const n of names) {
    if (!/^[0-9a-f]{16}\.json$/.test(n)) continue;
    try {
      const s = JSON.parse(fs.readFileSync(path.join(stateDir(), n), 'utf8')) as MountState;
      if (typeof s.mountpoint === 'string' && typeof s.serverPid === 'number') out.push(s);
    } catch { /* half-written or foreign: skip */ }
  }
  return out;
}

function removeState(mountpoint: string): void {
  try { fs.unlinkSync(statePath(mountpoint)); } catch { /* none */ }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

interface HelperResult { serverPid: number; mountpoint: string; warnings: string[] }

export async function cmdMount(image: string, mnt: string, o: MountOptions): Promise<void> {
  const options = mountOptionList(o.options);
  const sandbox = sandboxOf(o.sandbox);
  const root = repoRoot();
  const helperMain = path.join(root, 'dist', 'helper', 'main.js');
  const serverMain = path.join(root, 'dist', 'daemon', 'server', 'main.js');
  for (const f of [helperMain, serverMain]) if (!fs.existsSync(f)) throw new MountCliError(`${f} missing: run npm run build`);
  const mountpoint = mountpointPath(mnt);
  const dir = stateDir();
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o755 });
  const logFile = o.foreground ? null : path.join(dir, 'logs', `${stateKey(mountpoint)}.log`);
  const link = chooseServerLink(sandbox, { repoRoot: root, serverMain, logFile, mountpoint, image });
  for (const w of link.warnings) process.stderr.write(`ext4box: warning: ${w}\n`);
  const args = [helperMain, image, mnt, '-o', options, '--json', ...link.helperArgs];
  // Foreground: the server writes to our stderr, so the helper's stderr must be ours too (a
  // pipe would stay open in the server and spawnSync would wait for it forever).
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', o.foreground ? 'inherit' : 'pipe'], timeout: 120_000 });
  const err = r.stderr?.toString('utf8').trim() ?? '';
  if (r.status !== 0) {
    link.cleanup?.();
    const line = err.split('\n').filter((l) => !/warning:/.test(l)).pop() || `helper exited with ${r.status ?? r.signal}`;
    throw new MountCliError(line.replace(/^ext4box-helper: /, 'ext4box: mount: '));
  }
  let res: HelperResult;
  try { res = JSON.parse(r.stdout.toString('utf8')) as HelperResult; } catch { throw new MountCliError(`ext4box: mount: helper said ${r.stdout.toString('utf8').slice(0, 200)}`); }
  const state: MountState = {
    mountpoint: res.mountpoint, image: path.resolve(image), sandbox, serverPid: res.serverPid, containerId: link.containerId,
    startedAt: Date.now(), log: logFile, options,
  };
  writeState(state);
  if (o.json) process.stdout.write(JSON.stringify(state) + '\n');
  else process.stdout.write(`mounted ${image} on ${res.mountpoint} (server pid ${res.serverPid}, sandbox ${sandbox}${logFile ? `, log ${logFile}` : ''})\n`);
  if (o.foreground) await foreground(state);
}

/** -f: stay until Ctrl-C/SIGTERM (then unmount) or until someone else unmounts. */
async function foreground(s: MountState): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      try { unmount(s.mountpoint, { lazy: true }); } catch (e) { process.stderr.write(`ext4box: ${(e as Error).message}\n`); }
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const t = setInterval(() => {
      if (!pidAlive(s.serverPid)) { clearInterval(t); if (!stopping) { stopping = true; removeState(s.mountpoint); resolve(); } }
    }, 500);
  });
}

// ---- umount ------------------------------------------------------------------------------------------
interface MountInfoLine { mountpoint: string; fsType: string; source: string }

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function ext4boxMounts(): MountInfoLine[] {
  let text = '';
  try { text = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  const out: MountInfoLine[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    if (post[0] !== 'fuse.ext4box') continue;
    out.push({ mountpoint: unescapeMount(pre[4] ?? ''), fsType: post[0], source: unescapeMount(post[1] ?? '') });
  }
  return out;
}

export function unmount(mnt: string, o: { lazy?: boolean } = {}): { mountpoint: string; lazy: boolean } {
  const mountpoint = mountpointPath(mnt);
  if (!ext4boxMounts().some((m) => m.mountpoint === mountpoint)) {
    removeState(mountpoint);
    throw new MountCliError(`ext4box: umount: ${mountpoint} is not an ext4box mount`);
  }
  const state = readStates().find((s) => s.mountpoint === mountpoint);
  let lazy = false;
  const r = spawnSync('umount', [mountpoint], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  if (r.status !== 0) {
    const why = r.stderr?.toString('utf8').trim().split('\n').pop() ?? '';
    if (!o.lazy) throw new MountCliError(`ext4box: umount: ${mountpoint}: ${why || 'failed'}${/busy/i.test(why) ? ' (use -l to detach lazily)' : ''}`);
    const l = spawnSync('umount', ['-l', mountpoint], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    if (l.status !== 0) throw new MountCliError(`ext4box: umount: ${mountpoint}: ${l.stderr?.toString('utf8').trim() || 'lazy unmount failed'}`);
    lazy = true;
  }
  // The server sees ENODEV and exits by itself; give it a moment, then report.
  if (state && !lazy) for (let i = 0; i < 50 && pidAlive(state.serverPid); i++) sleepMs(100);
  removeState(mountpoint);
  return { mountpoint, lazy };
}

export function cmdUmount(mnt: string, o: { lazy?: boolean; json?: boolean }): void {
  const r = unmount(mnt, o);
  if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`unmounted ${r.mountpoint}${r.lazy ? ' (lazily: busy)' : ''}\n`);
}

// ---- ps -----------------------------------------------------------------------------------------------
export interface PsRow {
  mountpoint: string; image: string; sandbox: string; server: string; uptimeS: number | null;
  state: 'serving' | 'server-dead' | 'not-mounted' | 'unknown';
}

export function listMounts(): PsRow[] {
  const mounts = ext4boxMounts();
  const states = readStates();
  const rows: PsRow[] = [];
  const seen = new Set<string>();
  for (const s of states) {
    seen.add(s.mountpoint);
    const mounted = mounts.some((m) => m.mountpoint === s.mountpoint);
    const alive = pidAlive(s.serverPid);
    rows.push({
      mountpoint: s.mountpoint, image: s.image, sandbox: s.sandbox, server: s.containerId ?? String(s.serverPid),
      uptimeS: Math.max(0, Math.round((Date.now() - s.startedAt) / 1000)),
      state: !mounted ? 'not-mounted' : alive ? 'serving' : 'server-dead',
    });
  }
  for (const m of mounts) {
    if (seen.has(m.mountpoint)) continue;
    rows.push({ mountpoint: m.mountpoint, image: m.source, sandbox: '?', server: '?', uptimeS: null, state: 'unknown' });
  }
  return rows;
}

function fmtUptime(s: number | null): string {
  if (s === null) return '?';
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : m ? `${m}m${s % 60}s` : `${s}s`;
}

export function cmdPs(o: { json?: boolean }): void {
  const rows = listMounts();
  if (o.json) { process.stdout.write(JSON.stringify(rows) + '\n'); return; }
  const table = [['MOUNTPOINT', 'IMAGE', 'SANDBOX', 'SERVER', 'UPTIME', 'STATE'],
    ...rows.map((r) => [r.mountpoint, r.image, r.sandbox, r.server, fmtUptime(r.uptimeS), r.state])];
  const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('  ') + '\n');
}

/** Unmounts (lazily when busy) and never throws: for shutdown paths. */
export function unmountQuietly(mnt: string): void {
  try {
    unmount(mnt, { lazy: true });
  } catch (e) {
    process.stderr.write(`ext4box: umount ${mnt}: ${(e as Error).message}\n`);
  }
}

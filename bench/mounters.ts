// The four ways the bench mounts the same image read-only: the kernel's ext4 (loop mount,
// the baseline), fuse2fs (the FUSE peer), and ext4box with its default sandbox and with
// `--sandbox none`. mount() returns once a stat of a file inside the mount works, so its
// duration is the mount latency the bench reports; it also finds the server process so
// its peak RSS (VmHWM) can be sampled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';

export type MounterName = 'kernel' | 'fuse2fs' | 'ext4box' | 'ext4box-nosandbox';
export const MOUNTER_NAMES: MounterName[] = ['kernel', 'fuse2fs', 'ext4box', 'ext4box-nosandbox'];

export interface MountHandle {
  /** server processes (FUSE mounters); empty for the kernel */
  pids: number[];
  /** ms from starting the mount command until a stat inside the mount worked */
  latencyMs: number;
  /** what the mounter reported about itself (sandbox, server) */
  note?: string;
  umount(): Promise<void>;
}

export interface Mounter {
  name: MounterName;
  label: string;
  /** why this mounter cannot run here, or null */
  unavailable(): string | null;
  /** mount `image` read-only on `mnt`; ready when `probe` (a path inside) stats */
  mount(image: string, mnt: string, probe: string): Promise<MountHandle>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function which(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function isMounted(mnt: string): boolean {
  const target = path.resolve(mnt);
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  // Field 5 is the mount point, octal-escaped.
  return lines.some((l) => l.split(' ')[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === target);
}

/** Processes holding /dev/fuse open. */
export function fuseHolders(): Set<number> {
  const out = new Set<number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${e}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${e}/fd/${fd}`) === '/dev/fuse') {
          out.add(Number(e));
          break;
        }
      } catch {
        /* raced with close */
      }
    }
  }
  return out;
}

/** VmHWM (peak resident set) of `pid` in bytes, or null when it is gone. */
export function vmHwm(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Polls until `probe` stats on a filesystem other than the one under `mnt`. */
async function waitReady(mnt: string, probe: string, child: ChildProcess | null, timeoutMs: number, exitOk: boolean): Promise<void> {
  const parentDev = fs.statSync(path.dirname(path.resolve(mnt))).dev;
  const t0 = Date.now();
  let exited: number | null = null;
  child?.once('exit', (code, sig) => {
    exited = code ?? (sig ? 128 : 1);
  });
  for (;;) {
    try {
      if (fs.statSync(mnt).dev !== parentDev) {
        fs.statSync(probe);
        return;
      }
    } catch {
      /* not yet */
    }
    if (exited !== null && !(exitOk && exited === 0)) throw new Error(`mount command exited ${exited} before the mount was ready`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`mount not ready after ${timeoutMs} ms`);
    await sleep(1);
  }
}

async function waitExit(child: ChildProcess | null, timeoutMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    timer = setTimeout(r, timeoutMs);
  });
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function waitPidsGone(pids: number[], timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (pids.some((p) => fs.existsSync(`/proc/${p}`)) && Date.now() - t0 < timeoutMs) await sleep(5);
}

function runOk(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
}

/**
 * umount, retried while busy; a server that no longer answers is killed (the mount then
 * fails every request with ENOTCONN) and the mount detached, so one hung mounter cannot
 * hang the bench. Throws after the detach so the run records the failure.
 */
async function umountRetry(mnt: string, serverPids: number[] = []): Promise<void> {
  let last = '';
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('umount', [mnt], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    if (r.status === 0 || !isMounted(mnt)) return;
    last = r.error ? r.error.message : r.stderr.trim();
    await sleep(100);
  }
  for (const p of serverPids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  spawnSync('umount', ['-l', mnt], { timeout: 20_000, killSignal: 'SIGKILL' });
  throw new Error(`umount ${mnt} failed (${last}): server killed, mount detached`);
}

const kernel: Mounter = {
  name: 'kernel',
  label: 'kernel ext4 (loop)',
  unavailable: () => (isRoot() ? null : 'needs root (loop mount)'),
  async mount(image, mnt, probe) {
    const t0 = performance.now();
    const child = spawn('mount', ['-t', 'ext4', '-o', 'ro,loop', image, mnt], { stdio: 'ignore' });
    await waitReady(mnt, probe, child, 60_000, true);
    const latencyMs = performance.now() - t0;
    await waitExit(child, 10_000);
    return { pids: [], latencyMs, umount: () => umountRetry(mnt) };
  },
};

const fuse2fs: Mounter = {
  name: 'fuse2fs',
  label: 'fuse2fs -o ro,fakeroot',
  unavailable: () => (!isRoot() ? 'needs root' : which('fuse2fs') ? null : 'fuse2fs not installed'),
  async mount(image, mnt, probe) {
    const t0 = performance.now();
    // -f keeps it in the foreground so the child is the server and its pid is known.
    const child = spawn('fuse2fs', [image, mnt, '-f', '-o', 'ro,fakeroot'], { stdio: 'ignore' });
    try {
      await waitReady(mnt, probe, child, 60_000, false);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const latencyMs = performance.now() - t0;
    return {
      pids: child.pid ? [child.pid] : [],
      latencyMs,
      async umount() {
        try {
          await umountRetry(mnt, child.pid ? [child.pid] : []);
        } finally {
          await waitExit(child, 10_000);
        }
      },
    };
  },
};

/** dist/daemon/cli/main.js, if built and it has a `mount` command. */
export function ext4boxCli(repo: string): { cli: string } | { why: string } {
  const cli = path.join(repo, 'dist', 'daemon', 'cli', 'main.js');
  if (!fs.existsSync(cli)) return { why: `${cli} not built (npm run build)` };
  // The command list of `--help`, not `mount --help`: an unknown command may still print help.
  const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 30_000 });
  const cmds = r.stdout.split(/^Commands:$/m)[1] ?? '';
  if (!/^\s+mount\b/m.test(cmds) || !/^\s+umount\b/m.test(cmds)) {
    return { why: 'this build of the ext4box CLI has no `mount`/`umount` commands yet' };
  }
  return { cli };
}

interface PsRow {
  mountpoint: string;
  sandbox: string;
  server: string;
}

/** This mount's row of `ext4box ps --json`, or null. */
function psRow(cli: string, mnt: string): PsRow | null {
  const r = spawnSync(process.execPath, [cli, 'ps', '--json'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return null;
  try {
    const rows: unknown = JSON.parse(r.stdout);
    if (!Array.isArray(rows)) return null;
    const want = path.join(fs.realpathSync(path.dirname(path.resolve(mnt))), path.basename(mnt));
    const hit = rows.find((x): x is PsRow => typeof x === 'object' && x !== null
      && typeof (x as PsRow).mountpoint === 'string' && typeof (x as PsRow).server === 'string'
      && ((x as PsRow).mountpoint === want || (x as PsRow).mountpoint === path.resolve(mnt)));
    return hit ?? null;
  } catch {
    return null;
  }
}

function ext4box(repo: string, name: MounterName, sandbox: string | null): Mounter {
  let cached: { cli: string } | { why: string } | null = null;
  const cli = () => (cached ??= ext4boxCli(repo));
  return {
    name,
    label: sandbox ? `ext4box --sandbox ${sandbox}` : 'ext4box (default sandbox)',
    unavailable() {
      if (!isRoot()) return 'needs root';
      const c = cli();
      return 'why' in c ? c.why : null;
    },
    async mount(image, mnt, probe) {
      const c = cli();
      if ('why' in c) throw new Error(c.why);
      const before = fuseHolders();
      const args = [c.cli, 'mount', '-o', 'ro', ...(sandbox ? ['--sandbox', sandbox] : []), image, mnt];
      const t0 = performance.now();
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 8192) stderr += d.toString();
      });
      try {
        // The mount command may return once mounted or stay as the supervisor: both work.
        await waitReady(mnt, probe, child, 60_000, true);
      } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`${(e as Error).message}: ${stderr.trim().slice(0, 1000)}`);
      }
      const latencyMs = performance.now() - t0;
      // A mount command that reports failure after the mount appeared (and takes it down
      // again) must not count as a mount.
      await waitExit(child, 30_000);
      if (child.exitCode !== 0 || !isMounted(mnt)) {
        if (isMounted(mnt)) await umountRetry(mnt).catch(() => {});
        throw new Error(`mount command exited ${child.exitCode ?? child.signalCode} after the mount appeared: ${stderr.trim().slice(0, 1000)}`);
      }
      const row = psRow(c.cli, mnt);
      // `ps` names the server by pid (or by container id, whose processes we cannot name
      // here): else the server is whichever new process holds /dev/fuse.
      const psPid = row && /^\d+$/.test(row.server) ? Number(row.server) : null;
      const pids = psPid ? [psPid] : [...fuseHolders()].filter((p) => !before.has(p) && p !== child.pid);
      return {
        pids,
        latencyMs,
        note: row ? `sandbox ${row.sandbox}, server ${row.server}` : 'not listed by ext4box ps',
        async umount() {
          const r = spawnSync(process.execPath, [c.cli, 'umount', mnt], { encoding: 'utf8', timeout: 60_000 });
          try {
            if (isMounted(mnt)) {
              if (r.status !== 0) process.stderr.write(`ext4box umount ${mnt}: exit ${r.status}: ${r.error?.message ?? r.stderr}\n`);
              await umountRetry(mnt, pids);
            }
          } finally {
            await waitExit(child, 10_000);
            await waitPidsGone(pids, 10_000);
          }
        },
      };
    },
  };
}

export function allMounters(repo: string): Mounter[] {
  // (c) is the CLI's default sandbox unless EXT4BOX_BENCH_SANDBOX names one (bare, docker);
  // the sandbox it really ran in is taken from `ext4box ps` and printed with the results.
  const dflt = process.env.EXT4BOX_BENCH_SANDBOX || null;
  return [kernel, fuse2fs, ext4box(repo, 'ext4box', dflt), ext4box(repo, 'ext4box-nosandbox', 'none')];
}

export function dropCaches(): void {
  spawnSync('sync');
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
}

export { runOk };

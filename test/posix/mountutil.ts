// Test-side driver of the real supervisor: `node dist/daemon/cli/main.js mount|umount|ps`
// with a private state dir. The server must be another process than the test (the walker's
// synchronous syscalls on the mount would deadlock a server living in the jest worker), so
// these suites need a built dist/ (npm test builds it) and root with /dev/fuse.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO, 'dist', 'daemon', 'cli', 'main.js');
export const STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-state-'));

export function posixSkipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
  if (!fs.existsSync('/dev/fuse')) return 'no /dev/fuse';
  for (const f of [CLI, path.join(REPO, 'dist', 'daemon', 'server', 'main.js'), path.join(REPO, 'dist', 'helper', 'main.js')]) {
    if (!fs.existsSync(f)) return `${path.relative(REPO, f)} not built (npm run build)`;
  }
  return null;
}

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function cli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000,
    // The FUSE semantics suites run the server unconfined for speed (EXT4BOX_SANDBOX=none);
    // test/sandbox/ proves the same differential walk from inside bare and docker sandboxes.
    env: { ...process.env, EXT4BOX_SANDBOX: process.env.EXT4BOX_POSIX_SANDBOX ?? 'none', EXT4BOX_STATE_DIR: STATE_DIR, ...(opts.env ?? {}) },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface Mounted { mnt: string; serverPid: number; unmount(): void }

/** Mounts `image` read-only through the CLI on a fresh temp dir; unmount() cleans up. */
export function mountImage(image: string, extra: string[] = []): Mounted {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-mnt-'));
  const r = cli(['mount', image, mnt, '-o', 'ro', '--json', ...extra]);
  if (r.status !== 0) {
    fs.rmdirSync(mnt);
    let tail = '';
    try { tail = fs.readFileSync(path.join(STATE_DIR, 'logs', `${stateKey(mnt)}.log`), 'utf8').split('\n').slice(-5).join('\n'); } catch { /* no log */ }
    throw new Error(`ext4box mount failed (${r.status}): ${r.stderr.trim()}\nserver log: ${tail}`);
  }
  const st = JSON.parse(r.stdout.trim().split('\n').pop()!) as { serverPid: number };
  return {
    mnt, serverPid: st.serverPid,
    unmount: () => {
      const u = cli(['umount', '-l', mnt]);
      if (u.status !== 0 && !/not an ext4box mount/.test(u.stderr)) spawnSync('umount', ['-l', mnt]);
      try { fs.rmdirSync(mnt); } catch { /* still busy: left for the OS */ }
    },
  };
}

export async function withMount<T>(image: string, fn: (m: Mounted) => T | Promise<T>): Promise<T> {
  const m = mountImage(image);
  try {
    return await fn(m);
  } finally {
    m.unmount();
  }
}

export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export function waitFor(cond: () => boolean, ms: number): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  return cond();
}

/** The supervisor's state/log file key for a mountpoint (daemon/cli/mount.ts stateKey). */
export function stateKey(mountpoint: string): string {
  return createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
}

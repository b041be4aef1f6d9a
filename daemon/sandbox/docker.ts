// The `docker` runtime: one container per mount through the Docker Engine API (dockerode on
// /var/run/docker.sock): network none, read-only root, cap-drop ALL, user 65534,
// no-new-privileges, deploy/seccomp.json, pids and memory limits (a hostile image that inflates
// memory gets its container OOM-killed, not the host), and only the hand-off socket's directory
// mounted. The server listens on that SOCK_SEQPACKET socket and receives [fuse, image] by
// SCM_RIGHTS (ServerLink kind 'socket'); the helper connects once the socket is listening.

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import Docker from 'dockerode';
import type { ServerLink } from '../../helper/handoff.js';
import { codeRoot, readSeccompProfile, SandboxError, SERVER_GID, SERVER_UID } from './policy.js';

export const DOCKER_SOCKET = '/var/run/docker.sock';
/** Where the server sees its hand-off socket, inside the container. */
export const CONTAINER_SOCKET_DIR = '/run/ext4box';
export const CONTAINER_SOCKET = `${CONTAINER_SOCKET_DIR}/handoff.sock`;
export const DEFAULT_SERVER_CMD = ['/app/dist/daemon/server/main.js', '--socket', CONTAINER_SOCKET];

export function dockerEngine(socketPath = process.env.EXT4BOX_DOCKER_SOCKET ?? DOCKER_SOCKET): Docker {
  return new Docker({ socketPath, timeout: 60000 });
}

/** True when an engine answers _ping within timeoutMs. */
export async function dockerAvailable(timeoutMs = 2000, socketPath?: string): Promise<boolean> {
  const path = socketPath ?? process.env.EXT4BOX_DOCKER_SOCKET ?? DOCKER_SOCKET;
  if (!existsSync(path)) return false;
  const d = new Docker({ socketPath: path, timeout: timeoutMs });
  try {
    await d.ping();
    return true;
  } catch {
    return false;
  }
}

/** Content hash of everything runtime-local copies into the image (16 hex digits). */
export function imageContentHash(root = codeRoot()): string {
  const h = createHash('sha256');
  const files: string[] = [];
  const walk = (dir: string): void => {
    // Bounded by the repository's own tree; sorted so the hash is stable.
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const rel of ['Dockerfile', 'package.json', join('deploy', 'seccomp.json'), join('build', 'Release', 'ext4box_native.node')]) {
    const p = join(root, rel);
    if (existsSync(p)) files.push(p);
  }
  for (const rel of [join('dist', 'daemon'), join('dist', 'helper')]) if (existsSync(join(root, rel))) walk(join(root, rel));
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) {
    throw new SandboxError('docker', `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').slice(-2000)}`);
  }
}

function imageExists(tag: string): boolean {
  return spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore', timeout: 30000 }).status === 0;
}

/**
 * Builds (or finds, by content hash) the server image from the already-built tree, on the local
 * FROM-scratch base (scripts/build-base-image.sh) unless `base` names another. Returns the tag.
 */
export function buildLocalImage(opts: { base?: string; repo?: string } = {}): string {
  const root = codeRoot();
  const tag = `${opts.repo ?? 'ext4box'}:c-${imageContentHash(root)}`;
  if (imageExists(tag)) return tag;
  let base = opts.base;
  if (!base) {
    base = 'ext4box-base:local';
    run('bash', [join(root, 'scripts', 'build-base-image.sh'), base], root, 300000);
  }
  run('docker', ['build', '-q', '--build-arg', `BASE=${base}`, '--target', 'runtime-local', '-t', tag, '.'], root, 600000);
  return tag;
}

export interface DockerOptions {
  image: string;
  /** Arguments after the image's `node` entry point (default: the server's main.js). */
  cmd?: string[];
  env?: Record<string, string>;
  /** Memory limit in bytes, swap included (default 512 MiB). */
  memory?: number;
  /** Max tasks (threads count) in the container (default 128). */
  pids?: number;
  /** Host directory under which each mount's socket directory is made (default /run/ext4box). */
  socketRoot?: string;
  /** Extra read-only binds "host:container" (tests only; production passes none). */
  extraBinds?: string[];
  /** How long to wait for the server to listen (default 30 s). */
  startTimeoutMs?: number;
  engine?: Docker;
  /** Remove the container when it exits (the CLI's mounts; tests keep it to read its state). */
  autoRemove?: boolean;
}

export interface DockerSandbox {
  kind: 'docker';
  link: Extract<ServerLink, { kind: 'socket' }>;
  containerId: string;
  /** The server's pid in the host pid namespace. */
  serverPid: number;
  socketDir: string;
  logs(): Promise<string>;
  /** Exit state once stopped or dead: OOMKilled tells a memory kill apart. */
  state(): Promise<{ running: boolean; exitCode: number; oomKilled: boolean }>;
  /** Kills and removes the container and its socket directory. */
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a unix socket bound at path listens, per /proc/<pid>/net/unix (the container's netns). */
export function unixListening(pid: number, path: string): boolean {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/net/unix`, 'utf8'); } catch { return false; }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = __SO_ACCEPTCON (listening)
    if (f.length >= 8 && f[7] === path && (parseInt(f[3], 16) & 0x10000) !== 0) return true;
  }
  return false;
}

/** Multiplexed docker log stream → text (8-byte frame headers stripped). */
export function demuxLogs(b: Buffer): string {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const len = b.readUInt32BE(off + 4);
    if (off + 8 + len > b.length) break;
    parts.push(b.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function dockerSandbox(opts: DockerOptions): Promise<DockerSandbox> {
  const engine = opts.engine ?? dockerEngine();
  const memory = opts.memory ?? 512 * 1024 * 1024;
  const pids = opts.pids ?? 128;
  if (!Number.isSafeInteger(memory) || memory < 64 * 1024 * 1024) throw new SandboxError('docker', `memory limit ${memory} too small`);
  if (!Number.isSafeInteger(pids) || pids < 16) throw new SandboxError('docker', `pids limit ${pids} too small`);
  const socketRoot = opts.socketRoot ?? '/run/ext4box';
  mkdirSync(socketRoot, { recursive: true, mode: 0o755 });
  const socketDir = join(socketRoot, `m-${randomBytes(8).toString('hex')}`);
  mkdirSync(socketDir, { mode: 0o700 });
  chownSync(socketDir, SERVER_UID, SERVER_GID); // the server binds its socket here, as 65534
  const profile = readSeccompProfile();
  // UV_THREADPOOL_SIZE before node starts: the server sizes its FUSE readers from the pool.
  const env = { UV_THREADPOOL_SIZE: '10', ...(opts.env ?? {}), EXT4BOX_HANDOFF_SOCKET: CONTAINER_SOCKET, EXT4BOX_SANDBOX: 'docker' };
  let container: Docker.Container | undefined;
  const cleanup = async (): Promise<void> => {
    if (container) { try { await container.remove({ force: true }); } catch { /* gone */ } }
    rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    container = await engine.createContainer({
      Image: opts.image,
      Cmd: opts.cmd ?? DEFAULT_SERVER_CMD,
      User: `${SERVER_UID}:${SERVER_GID}`,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      WorkingDir: '/app',
      NetworkDisabled: true,
      Labels: { 'ext4box.role': 'server' },
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true', `seccomp=${JSON.stringify(profile)}`],
        Memory: memory,
        MemorySwap: memory,
        PidsLimit: pids,
        IpcMode: 'private',
        Ulimits: [{ Name: 'nofile', Soft: 256, Hard: 256 }, { Name: 'core', Soft: 0, Hard: 0 }],
        Binds: [`${socketDir}:${CONTAINER_SOCKET_DIR}:rw`, ...(opts.extraBinds ?? [])],
        Init: false,
        AutoRemove: opts.autoRemove ?? false,
      },
    });
    await container.start();
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30000);
    let pid = 0;
    for (;;) {
      const st = await container.inspect();
      if (!st.State.Running) {
        const logs = demuxLogs(await container.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer);
        throw new SandboxError('docker', `server container exited (code ${st.State.ExitCode}${st.State.OOMKilled ? ', OOM-killed' : ''}) before listening: ${logs.slice(-2000)}`);
      }
      pid = st.State.Pid;
      if (pid > 0 && unixListening(pid, CONTAINER_SOCKET)) break;
      if (Date.now() > deadline) throw new SandboxError('docker', 'server container did not listen on its hand-off socket in time');
      await sleep(50);
    }
    const c = container;
    return {
      kind: 'docker',
      link: { kind: 'socket', path: join(socketDir, 'handoff.sock') },
      containerId: c.id,
      serverPid: pid,
      socketDir,
      async logs() {
        return demuxLogs(await c.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer);
      },
      async state() {
        const s = await c.inspect();
        return { running: s.State.Running, exitCode: s.State.ExitCode, oomKilled: s.State.OOMKilled };
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    if (e instanceof SandboxError) throw e;
    throw new SandboxError('docker', `cannot start the server container: ${e instanceof Error ? e.message : String(e)}`);
  }
}

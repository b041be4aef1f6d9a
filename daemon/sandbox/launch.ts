// The sandbox layer's synchronous front door for the supervisor CLI (whose mount path is
// synchronous and runs the helper as a separate process): picks the default runtime, and
// starts/stops docker server containers in a child node process, since dockerode is async.
//   node dist/daemon/sandbox/launch.js docker-start [--image TAG] [--memory BYTES] [--pids N]
//        → one JSON line {containerId, socketPath, serverPid, socketDir, image}
//   node dist/daemon/sandbox/launch.js docker-stop CONTAINER_ID SOCKET_DIR
//   node dist/daemon/sandbox/launch.js default   → "docker" or "bare"
//   node dist/daemon/sandbox/launch.js bare-command [--log FILE] -- SERVER_ARGS... → JSON argv

import { spawnSync } from 'node:child_process';
import { realpathSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bareCommand } from './bare.js';
import { buildLocalImage, dockerAvailable, dockerEngine, dockerSandbox } from './docker.js';
import { SandboxError, type SandboxKind } from './policy.js';

export interface DockerStarted { containerId: string; socketPath: string; serverPid: number; socketDir: string; image: string }

/** docker when an engine answers, else bare (`none` is never a default). */
export async function defaultSandbox(): Promise<Exclude<SandboxKind, 'none'>> {
  return (await dockerAvailable()) ? 'docker' : 'bare';
}

function self(): string {
  return fileURLToPath(import.meta.url);
}

function runSelf(args: string[], timeoutMs: number): string {
  const r = spawnSync(process.execPath, [self(), ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new SandboxError('docker', (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop() ?? 'failed');
  return r.stdout.trim();
}

export function defaultSandboxSync(): Exclude<SandboxKind, 'none'> {
  try { return runSelf(['default'], 10000) === 'docker' ? 'docker' : 'bare'; } catch { return 'bare'; }
}

/** Starts a server container and waits until it listens (builds the local image if no tag). */
export function dockerStartSync(o: { image?: string; memory?: number; pids?: number } = {}): DockerStarted {
  const args = ['docker-start'];
  if (o.image) args.push('--image', o.image);
  if (o.memory) args.push('--memory', String(o.memory));
  if (o.pids) args.push('--pids', String(o.pids));
  return JSON.parse(runSelf(args, 900000)) as DockerStarted;
}

/** The bare launcher argv for the helper's `-- CMD ARGS` spawn path. */
export function bareCommandSync(serverArgs: string[], logFile?: string): string[] {
  return JSON.parse(runSelf(['bare-command', ...(logFile ? ['--log', logFile] : []), '--', ...serverArgs], 60000)) as string[];
}

export function dockerStopSync(containerId: string, socketDir: string): void {
  runSelf(['docker-stop', containerId, socketDir], 60000);
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv, allowPositionals: true,
    options: { image: { type: 'string' }, memory: { type: 'string' }, pids: { type: 'string' }, log: { type: 'string' } },
  });
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new SandboxError('docker', `not a number: ${v}`);
    return Number(v);
  };
  switch (positionals[0]) {
    case 'default':
      process.stdout.write(`${await defaultSandbox()}\n`);
      return;
    case 'bare-command':
      process.stdout.write(`${JSON.stringify(bareCommand({ args: positionals.slice(1), logFile: values.log }))}\n`);
      return;
    case 'docker-start': {
      const image = values.image ?? process.env.EXT4BOX_SERVER_IMAGE ?? buildLocalImage();
      const sb = await dockerSandbox({ image, memory: num(values.memory), pids: num(values.pids), autoRemove: true });
      const out: DockerStarted = { containerId: sb.containerId, socketPath: sb.link.path, serverPid: sb.serverPid, socketDir: sb.socketDir, image };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    case 'docker-stop': {
      const [, id, dir] = positionals;
      if (!id || !/^[0-9a-f]{12,64}$/.test(id)) throw new SandboxError('docker', 'docker-stop needs a container id');
      try { await dockerEngine().getContainer(id).remove({ force: true }); } catch { /* already gone */ }
      if (dir && /\/m-[0-9a-f]{16}$/.test(dir)) rmSync(dir, { recursive: true, force: true });
      return;
    }
    default:
      throw new SandboxError('policy', 'usage: launch.js default | docker-start [--image T] | docker-stop ID DIR');
  }
}

function isEntry(argv1: string | undefined): boolean {
  if (!argv1) return false;
  try { return import.meta.url === pathToFileURL(realpathSync(argv1)).href; } catch { return false; }
}

if (isEntry(process.argv[1])) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`ext4box-sandbox: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

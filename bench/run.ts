// Runs every workload for every available mounter on one image, in one process, and
// collects the figures. Mounters that cannot run here are recorded as skipped with the
// reason; a failing workload is recorded and the next one still runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSpec } from './data.js';
import { BenchImage } from './images.js';
import { MountHandle, Mounter, dropCaches, isMounted, vmHwm } from './mounters.js';
import { BenchResults, MetricKey, MounterResult, figure } from './stats.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerRequest } from './worker.js';
import { Verify, fioRandRead, tarTree } from './workloads.js';

export interface RunOptions {
  /** runs per figure: fast workloads, the 1 GiB sequential pair, fio, mounts */
  runs: { fast: number; seq: number; fio: number; mount: number };
  fioRuntimeS: number;
  /** read /big back whole (smoke) instead of sampled */
  fullVerify: boolean;
  /** per workload child (a hung mount fails the workload after this long) */
  timeoutMs: number;
  log: (s: string) => void;
}

const MIB = 1 << 20;

/** dist/bench/worker.js beside us, or under the repo's dist/ when we run from sources (jest). */
function workerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const c = [path.join(here, 'worker.js'), path.join(here, '..', 'dist', 'bench', 'worker.js')];
  const hit = c.find((p) => fs.existsSync(p));
  if (!hit) throw new Error(`bench worker not built (${c.join(' or ')}): run npm run build`);
  return hit;
}

/** Runs one workload in a child; a mounter that stops answering costs `timeoutMs`, not the run. */
function inChild<T>(req: WorkerRequest, timeoutMs: number): T {
  const r = spawnSync(process.execPath, [workerPath(), JSON.stringify(req)], {
    encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') throw new Error(`${req.op}: no answer after ${timeoutMs / 1000} s (mount hung?)`);
  if (r.status !== 0) throw new Error(`${req.op}: ${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`}: ${r.stderr.trim().slice(0, 1000)}`);
  return JSON.parse(r.stdout) as T;
}

const MOUNT_ATTEMPTS = 3;

/**
 * Mounts (retrying a failed mount up to MOUNT_ATTEMPTS times, each failure recorded in
 * `failures`: a flaky mount command is reported, but still gets its speed measured), runs
 * `f`, unmounts.
 */
async function withMount<T>(m: Mounter, img: BenchImage, mnt: string, res: MounterResult, f: (h: MountHandle) => Promise<T> | T): Promise<T> {
  let h: MountHandle | null = null;
  for (let i = 1; !h; i++) {
    res.mountAttempts++;
    try {
      h = await m.mount(img.image, mnt, path.join(mnt, 'big'));
    } catch (e) {
      res.mountFailures.push((e as Error).message.slice(0, 300));
      if (i >= MOUNT_ATTEMPTS) throw e;
    }
  }
  try {
    return await f(h);
  } finally {
    await h.umount();
  }
}

function peakRss(h: MountHandle): number | null {
  const v = h.pids.map(vmHwm).filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) / MIB : null;
}

async function runMounter(m: Mounter, img: BenchImage, opt: RunOptions): Promise<MounterResult> {
  const res: MounterResult = { name: m.name, label: m.label, status: 'ok', metrics: {}, serverPids: [], errors: [], mountAttempts: 0, mountFailures: [] };
  const why = m.unavailable();
  if (why) return { ...res, status: 'skipped', reason: why };
  const spec: DataSpec = img.spec;
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), `ext4box-bench-${m.name}-`));
  const samples: Partial<Record<MetricKey, number[]>> = {};
  const add = (k: MetricKey, v: number | null) => {
    if (v !== null) (samples[k] ??= []).push(v);
  };
  const phase = async (name: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      res.errors.push(`${name}: ${(e as Error).message}`);
      opt.log(`  ${m.name} ${name} FAILED: ${(e as Error).message}`);
    }
  };
  try {
    await phase('mount', async () => {
      for (let i = 0; i < opt.runs.mount; i++) {
        dropCaches();
        await withMount(m, img, mnt, res, (h) => add('mount', h.latencyMs));
      }
    });
    await phase('seq', async () => {
      for (let i = 0; i < opt.runs.seq; i++) {
        // Cold: nothing of the image in any cache, and a fresh server.
        dropCaches();
        await withMount(m, img, mnt, res, (h) => {
          const [cold, warm] = inChild<{ bytes: number; ms: number }[]>({ op: 'seq', file: path.join(mnt, 'big'), times: 2 }, opt.timeoutMs);
          if (cold.bytes !== spec.bigBytes || warm.bytes !== spec.bigBytes) {
            throw new Error(`read ${cold.bytes}/${warm.bytes} bytes of /big, expected ${spec.bigBytes}`);
          }
          add('seqCold', cold.bytes / MIB / (cold.ms / 1000));
          add('seqWarm', warm.bytes / MIB / (warm.ms / 1000));
          add('rssSeq', peakRss(h));
          opt.log(`  ${m.name} seq run ${i + 1}: cold ${(cold.bytes / MIB / (cold.ms / 1000)).toFixed(0)} MiB/s, warm ${(warm.bytes / MIB / (warm.ms / 1000)).toFixed(0)} MiB/s`);
        });
      }
    });
    await phase('session', () =>
      withMount(m, img, mnt, res, async (h) => {
        res.serverPids = h.pids;
        res.note = h.note;
        const many = path.join(mnt, 'many');
        // Each run starts with the kernel's caches dropped (dentries, inodes, pages); a
        // FUSE server keeps its own caches, as it would in real use.
        const each = async (k: MetricKey, n: number, f: () => number) =>
          phase(k, async () => {
            for (let i = 0; i < n; i++) {
              if (!isMounted(mnt)) throw new Error(`${mnt} is no longer mounted`);
              dropCaches();
              add(k, f());
            }
            opt.log(`  ${m.name} ${k}: ${(samples[k] ?? []).map((v) => v.toFixed(1)).join(' ')}`);
          });
        await each('randRead4k', opt.runs.fio, () => fioRandRead(path.join(mnt, 'big'), spec.bigBytes, opt.fioRuntimeS, opt.timeoutMs).iops);
        for (const op of ['stat', 'readdir', 'readSmall'] as const) {
          await each(op, opt.runs.fast, () => inChild<{ ms: number }>({ op, dir: many, n: spec.smallFiles }, opt.timeoutMs).ms);
        }
        await each('tar', opt.runs.fast, () => tarTree(mnt, opt.timeoutMs).ms);
        await phase('verify', async () => {
          res.verify = inChild<Verify>({ op: 'verify', mnt, spec, fullBig: opt.fullVerify }, opt.timeoutMs);
          if (res.verify.mismatches.length) res.errors.push(...res.verify.mismatches.map((s) => `verify: ${s}`));
        });
        add('rssPeak', peakRss(h));
      }),
    );
  } finally {
    if (isMounted(mnt)) {
      res.errors.push(`${mnt} still mounted after the run`);
    } else {
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  }
  for (const [k, v] of Object.entries(samples)) res.metrics[k as MetricKey] = figure(v);
  if (res.errors.length) res.status = Object.keys(res.metrics).length ? 'partial' : 'failed';
  return res;
}

export async function runBench(img: BenchImage, mounters: Mounter[], opt: RunOptions): Promise<BenchResults> {
  const loadavgStart = os.loadavg();
  const out: MounterResult[] = [];
  for (const m of mounters) {
    opt.log(`${m.name}: ${m.unavailable() ?? 'running'}`);
    const t0 = Date.now();
    out.push(await runMounter(m, img, opt));
    opt.log(`${m.name}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  return {
    when: new Date().toISOString(),
    host: { cpus: os.cpus().length, loadavgStart, loadavgEnd: os.loadavg(), kernel: os.release(), node: process.version },
    spec: { ...img.spec },
    runs: { ...opt.runs, fioRuntimeS: opt.fioRuntimeS },
    mounters: out,
  };
}

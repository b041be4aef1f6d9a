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
import { fioRandRead, readSmall, readdirAll, seqRead, statAll, tarTree, verifyMount } from './workloads.js';

export interface RunOptions {
  /** runs per figure: fast workloads, the 1 GiB sequential pair, fio, mounts */
  runs: { fast: number; seq: number; fio: number; mount: number };
  fioRuntimeS: number;
  /** read /big back whole (smoke) instead of sampled */
  fullVerify: boolean;
  log: (s: string) => void;
}

const MIB = 1 << 20;

async function withMount<T>(m: Mounter, img: BenchImage, mnt: string, f: (h: MountHandle) => Promise<T> | T): Promise<T> {
  const h = await m.mount(img.image, mnt, path.join(mnt, 'big'));
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
  const res: MounterResult = { name: m.name, label: m.label, status: 'ok', metrics: {}, serverPids: [], errors: [] };
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
        await withMount(m, img, mnt, (h) => add('mount', h.latencyMs));
      }
    });
    await phase('seq', async () => {
      for (let i = 0; i < opt.runs.seq; i++) {
        // Cold: nothing of the image in any cache, and a fresh server.
        dropCaches();
        await withMount(m, img, mnt, (h) => {
          const cold = seqRead(path.join(mnt, 'big'));
          const warm = seqRead(path.join(mnt, 'big'));
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
      withMount(m, img, mnt, async (h) => {
        res.serverPids = h.pids;
        res.note = h.note;
        const many = path.join(mnt, 'many');
        // Each run starts with the kernel's caches dropped (dentries, inodes, pages); a
        // FUSE server keeps its own caches, as it would in real use.
        const each = async (k: MetricKey, n: number, f: () => number) =>
          phase(k, async () => {
            for (let i = 0; i < n; i++) {
              dropCaches();
              add(k, f());
            }
            opt.log(`  ${m.name} ${k}: ${(samples[k] ?? []).map((v) => v.toFixed(1)).join(' ')}`);
          });
        await each('randRead4k', opt.runs.fio, () => fioRandRead(path.join(mnt, 'big'), spec.bigBytes, opt.fioRuntimeS).iops);
        await each('stat', opt.runs.fast, () => statAll(many, spec.smallFiles).ms);
        await each('readdir', opt.runs.fast, () => readdirAll(many, spec.smallFiles).ms);
        await each('readSmall', opt.runs.fast, () => readSmall(many, spec.smallFiles).ms);
        await each('tar', opt.runs.fast, () => tarTree(mnt).ms);
        await phase('verify', async () => {
          res.verify = verifyMount(mnt, spec, opt.fullVerify);
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

// Smoke run of `npm run bench` at tiny sizes (8 MiB file, 200 small files, 60-file tree),
// one run of each workload: every available mounter must run every workload and read back
// exactly the bytes the kernel reads (and the generator wrote). Speed is not asserted here
// (speed lives in bench/); mounters that cannot run on this machine are skipped visibly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMOKE_SPEC } from '../bench/data.js';
import { buildBenchImage } from '../bench/images.js';
import { allMounters } from '../bench/mounters.js';
import { svgChart, textReport } from '../bench/report.js';
import { runBench } from '../bench/run.js';
import { BenchResults, METRICS, figure, speedRatio } from '../bench/stats.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;

describe('bench smoke', () => {
  if (!isRoot) console.warn('bench smoke: skipped: needs root (loop and FUSE mounts, drop_caches)');
  for (const m of allMounters(repo)) {
    const why = isRoot ? m.unavailable() : null;
    if (why) console.warn(`bench smoke: mounter ${m.name} skipped: ${why}`);
  }

  (isRoot ? it : it.skip)('every available mounter runs every workload and reads back the kernel\'s bytes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-bench-smoke-'));
    try {
      const img = buildBenchImage(SMOKE_SPEC, dir);
      const mounters = allMounters(repo);
      const res = await runBench(img, mounters, {
        runs: { fast: 1, seq: 1, fio: 1, mount: 1 },
        fioRuntimeS: 1,
        fullVerify: true,
        timeoutMs: 30_000,
        log: () => {},
      });
      const ran = res.mounters.filter((m) => m.status !== 'skipped');
      expect(ran.map((m) => m.name)).toContain('kernel');
      const kernel = res.mounters.find((m) => m.name === 'kernel');
      for (const m of ran) {
        // A mount that failed and then worked on retry still ran: said, not failed.
        if (m.mountFailures.length) console.warn(`bench smoke: ${m.name}: ${m.mountFailures.length} of ${m.mountAttempts} mounts failed: ${m.mountFailures[0]}`);
        expect({ name: m.name, errors: m.errors, status: m.status }).toEqual({ name: m.name, errors: [], status: 'ok' });
        for (const d of METRICS) {
          if (m.name === 'kernel' && !d.vsKernel) continue;
          expect({ name: m.name, metric: d.key, has: (m.metrics[d.key]?.median ?? 0) > 0 }).toEqual({ name: m.name, metric: d.key, has: true });
        }
        // Whole big file, every small file, every tree file: same bytes as the kernel read.
        expect(m.verify?.mismatches).toEqual([]);
        expect(m.verify?.digest).toBe(kernel?.verify?.digest);
        expect(m.verify?.checkedBytes).toBeGreaterThan(SMOKE_SPEC.bigBytes);
      }
      expect(textReport(res)).toContain('Speed ratio to kernel');
      expect(svgChart(res)).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('bench report arithmetic', () => {
  const t = METRICS.find((d) => d.key === 'stat')!;
  const rate = METRICS.find((d) => d.key === 'seqCold')!;

  it('speed ratio inverts times and keeps rates', () => {
    expect(speedRatio(t, 200, 100)).toBe(0.5); // twice the time = half the speed
    expect(speedRatio(rate, 50, 100)).toBe(0.5);
    expect(speedRatio(rate, 0, 100)).toBeNull();
  });

  it('figure is median with min/max spread', () => {
    expect(figure([5, 1, 3])).toMatchObject({ median: 3, min: 1, max: 5, n: 3 });
    expect(figure([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('tables and targets come from the medians', () => {
    const mk = (name: 'kernel' | 'fuse2fs' | 'ext4box', seq: number, stat: number): BenchResults['mounters'][number] => ({
      name, label: name, status: 'ok', serverPids: [], errors: [], mountAttempts: 1, mountFailures: [],
      metrics: { seqCold: figure([seq]), stat: figure([stat]) },
    });
    const res: BenchResults = {
      when: 'now', host: { cpus: 2, loadavgStart: [0, 0, 0], loadavgEnd: [0, 0, 0], kernel: 'k', node: 'n' },
      spec: SMOKE_SPEC, runs: {},
      mounters: [mk('kernel', 1000, 100), mk('fuse2fs', 200, 400), mk('ext4box', 900, 250)],
    };
    const txt = textReport(res);
    expect(txt).toMatch(/seq read 1 file, cold\s+0\.20x\s+0\.90x/); // vs kernel: fuse2fs, ext4box
    expect(txt).toMatch(/stat of 200 files\s+0\.25x\s+0\.40x/);
    expect(txt).toMatch(/PASS\s+ext4box\s+cold seq read >= 0\.8x kernel: 0\.90/);
    expect(txt).toMatch(/PASS\s+ext4box\s+cold seq read >= 3x fuse2fs: 4\.50/);
    expect(txt).toMatch(/FAIL\s+ext4box\s+stat of N files >= 0\.5x kernel: 0\.40/);
    const svg = svgChart(res);
    expect(svg).toContain('<title>ext4box: 0.90x</title>');
    expect(svg).toContain('<title>fuse2fs: 0.20x</title>');
  });
});

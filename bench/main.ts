// `npm run bench`: builds (or reuses) the bench image, runs every workload for every
// available mounter, prints the tables and writes bench/out/results.json and
// bench/out/ratios.svg. Root only (loop and FUSE mounts, drop_caches).
//   node dist/bench/main.js [--smoke] [--mounters kernel,fuse2fs,...] [--runs N] [--out DIR] [--cache DIR] [--timeout S]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_SPEC, SMOKE_SPEC } from './data.js';
import { buildBenchImage } from './images.js';
import { MOUNTER_NAMES, MounterName, allMounters } from './mounters.js';
import { textReport, svgChart } from './report.js';
import { runBench } from './run.js';

// Runs as dist/bench/main.js or from bench/ under a test runner: walk up to package.json.
function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const repo = repoRoot();
  const smoke = process.argv.includes('--smoke');
  const outDir = arg('--out') ?? path.join(repo, 'bench', 'out');
  const only = arg('--mounters')?.split(',') as MounterName[] | undefined;
  for (const n of only ?? []) if (!MOUNTER_NAMES.includes(n)) throw new Error(`unknown mounter ${n} (${MOUNTER_NAMES.join(', ')})`);
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (loop mounts, FUSE mounts, /proc/sys/vm/drop_caches)\n');
    return 2;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const runsArg = arg('--runs');
  const n = runsArg ? Number(runsArg) : null;
  const cacheDir = arg('--cache') ?? process.env.EXT4BOX_BENCH_CACHE ?? path.join(repo, 'bench', 'out', 'cache');
  const img = buildBenchImage(smoke ? SMOKE_SPEC : FULL_SPEC, cacheDir, log);
  const mounters = allMounters(repo).filter((m) => !only || only.includes(m.name));
  const res = await runBench(img, mounters, {
    runs: smoke ? { fast: 1, seq: 1, fio: 1, mount: 1 } : { fast: n ?? 5, seq: n ?? 3, fio: n ?? 3, mount: n ?? 5 },
    fioRuntimeS: smoke ? 1 : 5,
    fullVerify: smoke,
    timeoutMs: (Number(arg('--timeout')) || (smoke ? 30 : 240)) * 1000,
    log,
  });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(res, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'ratios.svg'), svgChart(res));
  process.stdout.write(textReport(res) + '\n');
  process.stdout.write(`\nwrote ${path.join(outDir, 'results.json')} and ${path.join(outDir, 'ratios.svg')}\n`);
  return res.mounters.some((m) => m.status === 'failed' || m.status === 'partial') ? 1 : 0;
}

main().then((c) => process.exit(c), (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(2);
});

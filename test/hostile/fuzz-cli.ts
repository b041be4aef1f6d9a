// Long fuzz runs: `npm run fuzz -- --cases N --seed S [--image V|all] [--from I] [--no-save]`.
// Prints progress, a summary line per image, and appends every crash, hang or memory
// blow-up to test/hostile/regressions.json (replayed by the test suite on every run).
// Runs one worker process at a time: the machine is shared.

import { runCampaign, saveRegressions, summarizeCampaign, type CampaignResult } from './fuzz-run.js';
import { BASE_VARIANTS } from './mutators/bases.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const cases = Number(arg('--cases', '1000'));
  const seed = Number(arg('--seed', String(Date.now() % 100000)));
  const from = Number(arg('--from', '0'));
  const which = arg('--image', 'all');
  const save = !process.argv.includes('--no-save');
  if (!Number.isSafeInteger(cases) || cases <= 0 || !Number.isSafeInteger(seed) || !Number.isSafeInteger(from)) {
    throw new Error('usage: fuzz-cli --cases N --seed S [--image V|all] [--from I] [--no-save]');
  }
  const variants = which === 'all' ? BASE_VARIANTS.map((v) => v.name) : which.split(',');
  const per = Math.ceil(cases / variants.length);
  const results: CampaignResult[] = [];
  for (const v of variants) {
    let done = 0;
    const t0 = Date.now();
    const r = await runCampaign({
      variant: v, seed, from, count: per,
      onReady: (i) => process.stderr.write(`[${v}] ${i.regions} structures: ${JSON.stringify(i.kinds)}\n`),
      onLine: (l) => {
        done++;
        if (l.outcome === 'crash' || l.outcome === 'hang' || l.outcome === 'memory') {
          process.stderr.write(`[${v}] ${l.outcome.toUpperCase()} seed ${seed} case ${l.index}: ${l.description}\n    ${l.message ?? ''}\n`);
        }
        if (done % 500 === 0) process.stderr.write(`[${v}] ${done}/${per} cases, ${Math.round((Date.now() - t0) / 1000)} s\n`);
      },
    });
    results.push(r);
    console.log(summarizeCampaign([r]));
    if (save && r.found.length) {
      const n = saveRegressions(r.found);
      console.log(`  ${n} new regression case(s) written to test/hostile/regressions.json`);
    }
  }
  if (variants.length > 1) console.log(summarizeCampaign(results));
  const bad = results.reduce((a, r) => a + r.found.length, 0);
  process.exitCode = bad ? 1 : 0;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 2;
});

// `npm run corpus`: the offline hostile-corpus walk of the test suite, as a report: every
// image of ../shared/corpus/e2fsprogs opened (or refused) and walked in its own process,
// one line per image and the summary the issue asks for (opened / refused / errors found,
// crashes, hangs, peak RSS). --json writes the full results.
//   node dist/test/hostile/corpus-cli.js [--parallel N] [--json FILE] [NAME-FILTER]

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { corpusImages, summarize, walkMany } from './corpus-run.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { parallel: { type: 'string', default: '2' }, json: { type: 'string' } },
    allowPositionals: true,
  });
  const filter = positionals[0] ? new RegExp(positionals[0]) : null;
  const images = corpusImages().filter((p) => !filter || filter.test(p));
  if (!images.length) {
    process.stderr.write('corpus: no images found (../shared/corpus/e2fsprogs beside the repo)\n');
    process.exit(1);
  }
  const rs = await walkMany(images, Math.max(1, Number(values.parallel) || 2), 60_000, 30_000, (r) => {
    const name = r.image.split('/').pop();
    const what = r.outcome === 'opened'
      ? `opened: ${r.entries} entries, ${r.problems} typed errors${r.truncated ? `, budget hit (${r.truncated})` : ''}`
      : `${r.outcome}${r.timedOut ? ' (TIMEOUT)' : ''}: ${(r.message ?? '').split('\n')[0]}`;
    process.stdout.write(`${name}  ${what}  [${r.ms} ms, ${Math.round(r.maxRssKiB / 1024)} MiB]\n`);
  });
  process.stdout.write(summarize(rs) + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify(rs, null, 1));
  const bad = rs.filter((r) => r.outcome === 'crashed' || r.timedOut || (r.untypedProblems?.length ?? 0) > 0);
  process.exit(bad.length ? 1 : 0);
}

void main();

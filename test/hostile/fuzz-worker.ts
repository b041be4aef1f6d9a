// Child process of the mutation fuzzer: loads one base image into memory, derives its
// structure map, then for each case applies the mutation in place, opens the image, walks it
// fully within budgets, undoes the patch and prints one JSON line. The parent kills it when a
// case stays silent too long (a synchronous hang cannot be interrupted in-process) and
// resumes after the culprit, so a case's line is printed the moment it finishes.
//   node dist/test/hostile/fuzz-worker.js --image V --seed S --from A --to B
//   node dist/test/hostile/fuzz-worker.js --image V --replay FILE.json
// --dry only prints each case's description and patch (to record a hang without running it).

import { readFileSync } from 'node:fs';
import { openImage } from '../../daemon/ext4/fs.js';
import { walkFs } from '../../daemon/ext4/walk.js';
import { CorruptError, IncompatibleError, IoError, FsError } from '../../daemon/ext4/errors.js';
import { baseImagePath, baseKey, baseVariant } from './mutators/bases.js';
import { buildStructMap } from './mutators/structmap.js';
import { applyCase, applyPatch } from './mutators/mutate.js';

export type Outcome = 'refused' | 'clean' | 'typed' | 'crash' | 'hang' | 'memory';

export interface CaseLine {
  index: number;
  outcome: Outcome;
  ms: number;
  rssMiB: number;
  description: string;
  /** First untyped error (stack head) for crashes, first typed error otherwise. */
  message?: string;
  patch?: Array<{ off: number; hex: string }>;
}

export interface Regression {
  variant: string;
  seed: number;
  index: number;
  outcome: Outcome;
  description: string;
  baseKey: string;
  message?: string;
  patch: Array<{ off: number; hex: string }>;
}

/** Peak RSS a single case may reach in the worker before it counts as unbounded memory. */
export const RSS_BOUND_MIB = 448;

const isTyped = (e: unknown) => e instanceof CorruptError || e instanceof IncompatibleError || e instanceof IoError || e instanceof FsError;
const errText = (e: unknown) => (e instanceof Error ? (isTyped(e) ? e.message : (e.stack ?? e.message).split('\n').slice(0, 6).join('\n')) : String(e));

const enc = new TextEncoder();

/** Opens and walks the (mutated) image; returns the outcome and the first notable message. */
export async function exercise(img: Uint8Array, open: typeof openImage = openImage): Promise<{ outcome: Outcome; message?: string }> {
  let fs;
  try {
    fs = open(img, { cacheBytes: 4 << 20, inodeCacheEntries: 1024 });
  } catch (e) {
    return isTyped(e) ? { outcome: 'refused', message: errText(e) } : { outcome: 'crash', message: `open: ${errText(e)}` };
  }
  let typed: string | undefined;
  try {
    const extra: Array<[string, () => unknown]> = [
      ['statfs', () => fs.statfs()], ['info', () => fs.info()], ['health', () => fs.health()],
      ['resolve', () => fs.resolve(enc.encode('/sub/deeper/deepest/leaf'))], ['resolve', () => fs.resolve(enc.encode('/slowlink'))],
      ['lookup', () => fs.lookup(2, enc.encode('big'))],
    ];
    for (const [op, f] of extra) {
      try { f(); } catch (e) {
        if (!isTyped(e)) return { outcome: 'crash', message: `${op}: ${errText(e)}` };
        typed ??= `${op}: ${errText(e)}`;
      }
    }
    const w = await walkFs(fs, { entries: 20_000, bytes: 32 << 20, bytesPerFile: 4 << 20, ms: 5_000 });
    const bad = w.problems.find((p) => !p.typed);
    if (bad) return { outcome: 'crash', message: `${bad.op} ${bad.path}: ${bad.message}` };
    if (w.problems.length) typed ??= `${w.problems[0].op} ${w.problems[0].path}: ${w.problems[0].message}`;
    return typed ? { outcome: 'typed', message: typed } : { outcome: 'clean' };
  } catch (e) {
    return { outcome: 'crash', message: `walk: ${errText(e)}` };
  } finally {
    try { fs.close(); } catch { /* closing a bytes device */ }
  }
}

/**
 * Harness self-test only: EXT4BOX_FUZZ_INJECT="hang:3,crash:5,die:7" makes case 3 spin
 * forever, case 5 throw a bare TypeError from open, case 7 kill the worker, so the suite
 * can prove the watchdog, the culprit search and the classification catch each kind.
 */
function injected(i: number): typeof openImage {
  const spec = process.env.EXT4BOX_FUZZ_INJECT;
  if (!spec) return openImage;
  for (const part of spec.split(',')) {
    const [kind, at] = part.split(':');
    if (Number(at) !== i) continue;
    if (kind === 'hang') for (;;) { /* a synchronous hang, as an engine loop would be */ }
    if (kind === 'die') process.exit(9);
    if (kind === 'crash') return () => { throw new TypeError('injected: cannot read properties of undefined'); };
  }
  return openImage;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function emit(x: unknown): void {
  process.stdout.write(JSON.stringify(x) + '\n');
}

async function main(): Promise<void> {
  const variant = arg('--image') ?? 'ext4-4k';
  const v = baseVariant(variant);
  const img = new Uint8Array(readFileSync(baseImagePath(variant)));
  const replay = arg('--replay');
  if (replay) {
    const regs = (JSON.parse(readFileSync(replay, 'utf8')) as Regression[]).filter((r) => r.variant === variant);
    emit({ ready: true, key: baseKey(v) });
    for (const r of regs) {
      const undo = applyPatch(img, r.patch);
      const t0 = Date.now();
      const res = await exercise(img);
      undo();
      emit({ index: r.index, ms: Date.now() - t0, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), description: r.description, ...res } satisfies CaseLine);
    }
    return;
  }
  const seed = Number(arg('--seed') ?? 1);
  const from = Number(arg('--from') ?? 0);
  const to = Number(arg('--to') ?? from + 1);
  const { map, sign } = await buildStructMap(img);
  const kinds: Record<string, number> = {};
  for (const r of map.regions) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
  emit({ ready: true, key: baseKey(v), regions: map.regions.length, kinds });
  const dry = process.argv.includes('--dry');
  for (let i = from; i < to; i++) {
    const c = applyCase(img, map, sign, seed, i);
    const patch = c.patch.map((p) => ({ off: p.off, hex: p.hex }));
    if (dry) {
      c.undo();
      emit({ index: i, outcome: 'clean', ms: 0, rssMiB: 0, description: c.description, patch } satisfies CaseLine);
      continue;
    }
    const t0 = Date.now();
    let res: { outcome: Outcome; message?: string };
    try {
      res = await exercise(img, injected(i));
    } finally {
      c.undo();
    }
    const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    if (rssMiB > RSS_BOUND_MIB && res.outcome !== 'crash') res = { outcome: 'memory', message: `rss ${rssMiB} MiB after the case` };
    const line: CaseLine = { index: i, ms: Date.now() - t0, rssMiB, description: c.description, ...res };
    if (res.outcome === 'crash' || res.outcome === 'memory') line.patch = patch;
    emit(line);
  }
}

if (process.argv[1]?.endsWith('fuzz-worker.js')) void main();

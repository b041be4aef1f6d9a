// Test support: where the hostile corpus lives (../shared/corpus/e2fsprogs beside the repo,
// wherever the repo is cloned; $EXT4BOX_CORPUS overrides) and which of its images a
// per-structure sweep visits. test/hostile/corpus.test.ts walks every image through the
// whole engine on each run; the per-structure sweeps take a fixed, deterministic sample
// (every image whose name hints at their structure, plus every 4th other one) unless
// EXT4BOX_FULL_CORPUS=1, so `npm test` stays within its time budget.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..').replace(/\/dist$/, '');

export const CORPUS_DIR = process.env.EXT4BOX_CORPUS ?? resolve(REPO, '../shared/corpus/e2fsprogs');

/** Names (NAME.img.gz) of the corpus images, sorted; [] when the corpus is absent. */
export function corpusFiles(): string[] {
  if (!existsSync(CORPUS_DIR)) return [];
  return readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.img.gz')).sort();
}

/** The images a sweep for one structure visits: those matching `focus`, and every 4th other. */
export function corpusSample(focus: RegExp): string[] {
  const all = corpusFiles();
  if (process.env.EXT4BOX_FULL_CORPUS === '1') return all;
  return all.filter((f, i) => focus.test(f) || i % 4 === 0);
}

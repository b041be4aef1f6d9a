// Runs corpus-walk.js over many images, a few at a time, each in its own process with a
// hard timeout (a sync hang in the engine cannot be interrupted in-process).

import { spawn } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, renameSync, writeSync, createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CorpusLine } from './corpus-walk.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..').replace(/\/dist$/, '');
export const CORPUS = resolve(REPO, '../shared/corpus/e2fsprogs');
const WALKER = join(REPO, 'dist/test/hostile/corpus-walk.js');

export interface RunOutcome extends CorpusLine {
  timedOut: boolean;
  exitCode: number | null;
  stderr: string;
}

export function corpusImages(): string[] {
  if (!existsSync(CORPUS)) return [];
  return readdirSync(CORPUS).filter((f) => f.endsWith('.img.gz') || f.endsWith('.img')).sort().map((f) => join(CORPUS, f));
}

export const CORPUS_CACHE = process.env.EXT4BOX_CORPUS_CACHE ?? join(REPO, '.cache/corpus');

/**
 * Decompresses a corpus image once into the cache as a sparse file (most of these images
 * are mostly zeros), so each walk opens a path: memory then measures the engine, not a
 * gunzipped copy of the image.
 */
export async function preparedImage(gz: string): Promise<string> {
  if (!gz.endsWith('.gz')) return gz;
  const out = join(CORPUS_CACHE, gz.split('/').pop()!.replace(/\.gz$/, ''));
  if (existsSync(out)) return out;
  mkdirSync(CORPUS_CACHE, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let pos = 0;
  try {
    for await (const chunk of createReadStream(gz).pipe(createGunzip())) {
      const b = chunk as Buffer;
      for (let off = 0; off < b.length; off += 4096) {
        const piece = b.subarray(off, Math.min(off + 4096, b.length));
        if (piece.some((x) => x !== 0)) writeSync(fd, piece, 0, piece.length, pos);
        pos += piece.length;
      }
    }
    ftruncateSync(fd, pos);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  return out;
}

export function walkOne(image: string, timeoutMs: number, walkMs: number): Promise<RunOutcome> {
  return new Promise((res) => {
    if (!existsSync(WALKER)) throw new Error(`${WALKER} missing: run npm run build first`);
    const child = spawn(process.execPath, ['--max-old-space-size=768', WALKER, image, '--ms', String(walkMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { if (err.length < 4000) err += d; });
    let timedOut = false;
    const t = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      let line: CorpusLine;
      try {
        line = JSON.parse(out.trim().split('\n').pop() ?? '');
      } catch {
        line = { image, outcome: 'crashed', message: timedOut ? 'timeout' : `no result (exit ${code}): ${err.slice(0, 500)}`, ms: timeoutMs, maxRssKiB: 0 };
      }
      res({ ...line, timedOut, exitCode: code, stderr: err });
    });
  });
}

export async function walkMany(images: string[], parallel: number, timeoutMs: number, walkMs: number,
  onDone?: (r: RunOutcome) => void): Promise<RunOutcome[]> {
  const out: RunOutcome[] = new Array(images.length);
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const i = next++;
      const path = await preparedImage(images[i]);
      out[i] = { ...(await walkOne(path, timeoutMs, walkMs)), image: images[i] };
      onDone?.(out[i]);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

export function summarize(rs: RunOutcome[]): string {
  const opened = rs.filter((r) => r.outcome === 'opened').length;
  const refused = rs.filter((r) => r.outcome === 'refused').length;
  const crashed = rs.filter((r) => r.outcome === 'crashed' && !r.timedOut).length;
  const hung = rs.filter((r) => r.timedOut).length;
  const problems = rs.reduce((a, r) => a + (r.problems ?? 0), 0);
  const withProblems = rs.filter((r) => (r.problems ?? 0) > 0).length;
  const untyped = rs.reduce((a, r) => a + (r.untypedProblems?.length ?? 0), 0);
  const peak = Math.max(0, ...rs.map((r) => r.maxRssKiB));
  const slow = Math.max(0, ...rs.map((r) => r.ms));
  return `ext4box corpus: ${rs.length} images: ${opened} opened (${withProblems} with damaged spots, ${problems} typed errors), ` +
    `${refused} refused, ${crashed} crashed, ${hung} hung, ${untyped} untyped errors; peak RSS ${Math.round(peak / 1024)} MiB; slowest ${slow} ms`;
}

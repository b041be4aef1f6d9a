// The kernel's view of a fixture image, walked once per (image, walker version) and cached
// beside the image as JSON: the peers suite and the extract acceptance suite compare against
// the same oracle without each paying for a mount and a full walk.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BuiltImage } from '../fixtures/images.js';
import { walk, withKernelMount, type Walk, type WalkEntry } from './walk.js';

function walkerVersion(): string {
  const h = createHash('sha256');
  for (const f of ['./walk.ts', './walk.js']) {
    try { h.update(fs.readFileSync(fileURLToPath(new URL(f, import.meta.url)))); } catch { /* one of the two */ }
  }
  return h.digest('hex').slice(0, 12);
}

export function walkToJson(w: Walk): string {
  return JSON.stringify({ root: w.root, notes: w.notes, entries: [...w.entries.values()] },
    (_k, v: unknown) => (typeof v === 'bigint' ? { $big: v.toString() } : v));
}

export function walkFromJson(s: string): Walk {
  const o = JSON.parse(s, (_k, v: unknown) => {
    if (v && typeof v === 'object' && typeof (v as { $big?: unknown }).$big === 'string') return BigInt((v as { $big: string }).$big);
    return v;
  }) as { root: string; notes: string[]; entries: WalkEntry[] };
  return { root: o.root, notes: o.notes, entries: new Map(o.entries.map((e) => [e.path, e])) };
}

/** Full walk (btime included) of the kernel's read-only loop mount of `img`, cached. */
export async function kernelWalk(img: BuiltImage): Promise<Walk> {
  const cache = `${img.image}.kwalk-${walkerVersion()}.json`;
  if (fs.existsSync(cache)) return walkFromJson(fs.readFileSync(cache, 'utf8'));
  const w = await withKernelMount(img.image, (dir) => walk(dir, { btime: true }));
  const tmp = `${cache}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, walkToJson(w));
  fs.renameSync(tmp, cache);
  return w;
}

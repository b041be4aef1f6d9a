// The seeded, structure-aware mutation fuzzer in the suite: a fixed seed over every base
// image (a few thousand cases, deterministic, so a failure names its reproduction:
// `npm run fuzz -- --image V --seed S --from I --cases 1`), each case opened and walked in a
// worker process with a watchdog. Zero crashes, zero hangs, bounded memory. Also: every
// recorded regression replays clean, the mutator is deterministic and undoes itself, and
// re-signing works (signed damage reaches past the checksums; unsigned damage does not).

import { readFileSync } from 'node:fs';
import { runCampaign, replayRegressions, loadRegressions, summarizeCampaign, type CampaignResult } from './fuzz-run.js';
import { BASE_VARIANTS, baseImagePath, baseKey, baseVariant } from './mutators/bases.js';
import { buildStructMap, type StructMap, type SignContext } from './mutators/structmap.js';
import { applyCase } from './mutators/mutate.js';
import { exercise } from './fuzz-worker.js';
import { fixtureSkipReason } from '../fixtures/images.js';

const SEED = 20261125;
/** Cases per base image in the suite (9 images): ~2 minutes on a loaded 2-core machine. */
const CASES = Number(process.env.EXT4BOX_FUZZ_CASES ?? 360);

const skip = fixtureSkipReason();
const describeFuzz = skip ? describe.skip : describe;
if (skip) console.warn(`fuzz suite skipped: ${skip}`);

describeFuzz('mutation fuzzer: structure map and mutators (in-process)', () => {
  let img: Uint8Array;
  let map: StructMap;
  let sign: SignContext;
  beforeAll(async () => {
    img = new Uint8Array(readFileSync(baseImagePath('ext4-4k')));
    ({ map, sign } = await buildStructMap(img));
  }, 10 * 60_000);
  afterAll(() => sign?.fs.close());

  it('maps every kind of structure of the 4k metadata_csum image', () => {
    const kinds = new Set(map.regions.map((r) => r.kind));
    for (const k of ['superblock', 'group_desc', 'inode', 'extent_root', 'extent_block', 'dir_block', 'dx_root', 'xattr_block', 'xattr_ibody', 'journal_sb']) {
      expect(kinds).toContain(k);
    }
    // Regions lie inside the image and never overlap the superblock unless they are it.
    for (const r of map.regions) {
      expect(r.off + r.len).toBeLessThanOrEqual(img.length);
      for (const f of r.fields) expect(f.at + f.width).toBeLessThanOrEqual(r.len);
    }
    const root = map.regions.find((r) => r.kind === 'inode' && r.ino === 2 && r.len === 256)!;
    expect(new DataView(img.buffer, img.byteOffset + root.off).getUint16(0, true) & 0o170000).toBe(0o040000);
  });

  it('is deterministic and every case undoes itself exactly', () => {
    const before = Buffer.from(img);
    for (let i = 0; i < 200; i++) {
      const a = applyCase(img, map, sign, SEED, i);
      a.undo();
      const b = applyCase(img, map, sign, SEED, i);
      b.undo();
      expect(b.description).toBe(a.description);
      expect(b.patch.map((p) => p.hex)).toEqual(a.patch.map((p) => p.hex));
      expect(a.patch.length).toBeGreaterThanOrEqual(0);
    }
    expect(Buffer.from(img).equals(before)).toBe(true);
    const descs = new Set(Array.from({ length: 50 }, (_, i) => { const c = applyCase(img, map, sign, SEED, i); c.undo(); return c.description; }));
    expect(descs.size).toBeGreaterThan(45);
  });

  it('re-signs: signed damage rarely fails a checksum, unsigned damage usually does', async () => {
    let signed = 0; let signedCsum = 0; let unsigned = 0; let unsignedCsum = 0;
    for (let i = 0; i < 260; i++) {
      const c = applyCase(img, map, sign, SEED + 1, i);
      let res;
      try { res = await exercise(img); } finally { c.undo(); }
      if (c.patch.length === 0) continue;
      const csum = /checksum mismatch/.test(res.message ?? '');
      if (c.signed) { signed++; if (csum) signedCsum++; } else { unsigned++; if (csum) unsignedCsum++; }
      expect(res.outcome).not.toBe('crash');
    }
    expect(signed).toBeGreaterThan(160);
    expect(unsigned).toBeGreaterThan(15);
    expect(signedCsum / signed).toBeLessThan(0.08);
    expect(unsignedCsum / unsigned).toBeGreaterThan(0.4);
  }, 5 * 60_000);
});

describeFuzz('mutation fuzzer: seeded campaign over every base image', () => {
  const results: CampaignResult[] = [];
  beforeAll(async () => {
    for (const v of BASE_VARIANTS) results.push(await runCampaign({ variant: v.name, seed: SEED, from: 0, count: CASES, caseTimeoutMs: 30_000 }));
    console.log(summarizeCampaign(results));
  }, 30 * 60_000);

  const show = (r: CampaignResult) => r.found.map((f) => `${f.outcome} ${f.variant} seed ${f.seed} case ${f.index}: ${f.description} => ${f.message}`);

  it('never crashes (every failure is a typed error)', () => {
    expect(results.flatMap((r) => show(r).filter((s) => s.startsWith('crash')))).toEqual([]);
  });

  it('never hangs', () => {
    expect(results.flatMap((r) => show(r).filter((s) => s.startsWith('hang')))).toEqual([]);
  });

  it('keeps memory bounded', () => {
    expect(results.flatMap((r) => show(r).filter((s) => s.startsWith('memory')))).toEqual([]);
  });

  it('reaches every outcome on every image (the mutations bite, and not all are refused at open)', () => {
    for (const r of results) {
      const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
      expect(total).toBe(CASES);
      expect(r.counts.refused).toBeGreaterThan(0);
      expect(r.counts.typed).toBeGreaterThan(CASES / 10);
      expect(r.counts.clean).toBeGreaterThan(0);
    }
  });
});

describeFuzz('mutation fuzzer: the harness catches what it must', () => {
  it('finds an injected hang, bare TypeError and worker death, blames the right cases and goes on', async () => {
    const r = await runCampaign({ variant: 'journal', seed: SEED, from: 0, count: 9, caseTimeoutMs: 4_000,
      env: { EXT4BOX_FUZZ_INJECT: 'hang:2,crash:4,die:6' } });
    expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(9);
    expect(r.found.map((f) => [f.index, f.outcome])).toEqual([[2, 'hang'], [4, 'crash'], [6, 'crash']]);
    expect(r.found[1].message).toMatch(/TypeError: injected/);
    expect(r.found[2].message).toMatch(/worker died \(exit 9\)/);
    // Each recorded case carries its byte patch, so regressions.json replays it exactly.
    for (const f of r.found) expect(f.patch.length).toBeGreaterThan(0);
    // Replayed from their patches without the injection, the three cases run normally.
    const rep = await replayRegressions('journal', r.found, 30_000);
    expect(rep.hung).toEqual([]);
    expect(rep.lines.map((l) => [l.index, l.description])).toEqual(r.found.map((f) => [f.index, f.description]));
    expect(rep.lines.filter((l) => l.outcome === 'crash')).toEqual([]);
  }, 5 * 60_000);
});

describeFuzz('mutation fuzzer: recorded regressions', () => {
  it('replays every case in regressions.json without a crash, hang or memory blow-up', async () => {
    const regs = loadRegressions();
    const bad: string[] = [];
    for (const v of new Set(regs.map((r) => r.variant))) {
      const mine = regs.filter((r) => r.variant === v);
      if (mine.some((r) => r.baseKey !== baseKey(baseVariant(v)))) {
        console.warn(`fuzz regressions for ${v} were recorded on another base image (other mke2fs?): replayed anyway`);
      }
      const { lines, hung } = await replayRegressions(v, mine);
      for (const h of hung) bad.push(`${v} seed ${h.seed} case ${h.index}: worker hung or died (${h.description})`);
      for (const l of lines) if (l.outcome === 'crash' || l.outcome === 'memory') bad.push(`${v} case ${l.index}: ${l.outcome} ${l.message} (${l.description})`);
    }
    expect(bad).toEqual([]);
  }, 10 * 60_000);
});

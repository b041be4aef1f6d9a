import { CORPUS_DIR, corpusSample } from './testing/corpus.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, writeSync, closeSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { schemaGaps, viewOf } from '../util/bytes.js';
import { FsContext, InodeInfo, EXT4_EXTENTS_FL, S_IFMT, S_IFREG, S_IFDIR } from './context.js';
import { ChecksumError, CorruptError, FsError, IncompatibleError, IoError } from './errors.js';
import {
  ext4_extent, ext4_extent_header, ext4_extent_idx, ext4_extent_tail, extentLookup, extentRuns,
  checkExtentTree, extentCacheOf, extentDepth, setExtentBlockCsum, Mapping, EXT_LBLK_LIMIT, ExtentCache,
} from './extent.js';
import { indirectRuns } from './indirect.js';
import { bmap, mapRange, readRangeSync, seekData, seekHole } from './filemap.js';
import { openRawImage, RawImage } from './testing/rawctx.js';

const sh = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'extent-test-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** A sparse file with one block written at every other block: `n` separate extents. */
function writeAlternating(path: string, n: number, bs: number): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(bs);
  for (let i = 0; i < n; i++) {
    buf.fill(0);
    buf.writeUInt32LE(i, 0);
    buf.write(`blk${i}`, 8);
    writeSync(fd, buf, 0, bs, 2 * i * bs);
  }
  closeSync(fd);
}

function mkfs(name: string, bs: number, sizeMb: number, files: Record<string, (p: string) => void>, extra: string[] = []): string {
  const src = join(dir, `${name}-src`);
  mkdirSync(src);
  for (const [f, make] of Object.entries(files)) make(join(src, f));
  const img = join(dir, `${name}.img`);
  sh('mkfs.ext4', ['-q', '-F', '-b', String(bs), ...extra, '-d', src, img, `${sizeMb}M`]);
  return img;
}

function inoOf(img: string, path: string): number {
  const m = /Inode: (\d+)/.exec(sh('debugfs', ['-R', `stat ${path}`, img]));
  if (!m) throw new Error(`no inode for ${path}`);
  return Number(m[1]);
}

interface ExLine { level: number; max: number; lstart: number; lend: number; pstart: number; len: number; uninit: boolean }
/** debugfs `ex` lines: index entries (level < max) and leaf extents (level == max). */
function debugfsEx(img: string, path: string): ExLine[] {
  const out: ExLine[] = [];
  const re = /^\s*(\d+)\/\s*(\d+)\s+\d+\/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+(\d+)(?:\s*-\s*\d+)?\s+(\d+)\s*(Uninit)?/;
  for (const line of sh('debugfs', ['-R', `ex ${path}`, img]).split('\n')) {
    const m = re.exec(line);
    if (m) out.push({ level: +m[1], max: +m[2], lstart: +m[3], lend: +m[4], pstart: +m[5], len: +m[6], uninit: !!m[7] });
  }
  return out;
}

const mapped = (ms: Iterable<Mapping>) => [...ms].filter((m): m is Extract<Mapping, { kind: 'mapped' }> => m.kind === 'mapped');

/** Returns the error thrown by fn (failing if none). */
function thrown(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('expected a throw');
}

describe('schemas', () => {
  test('kernel sizes and contiguous fields', () => {
    expect(ext4_extent_header.size).toBe(12);
    expect(ext4_extent.size).toBe(12);
    expect(ext4_extent_idx.size).toBe(12);
    expect(ext4_extent_tail.size).toBe(4);
    expect(schemaGaps(ext4_extent_header)).toEqual([]);
    expect(schemaGaps(ext4_extent)).toEqual([]);
    expect(schemaGaps(ext4_extent_idx)).toEqual([]);
    expect(schemaGaps(ext4_extent_tail)).toEqual([]);
    expect(ext4_extent.offsetOf('ee_start_lo')).toBe(8);
    expect(ext4_extent_idx.offsetOf('ei_leaf_hi')).toBe(8);
  });
});

describe('extent trees on mkfs-built images', () => {
  let img4: string; let img1: string;
  beforeAll(() => {
    img4 = mkfs('e4k', 4096, 32, {
      small: (p) => writeFileSync(p, Buffer.alloc(10000, 7)),
      d1: (p) => writeAlternating(p, 700, 4096),
      d2: (p) => writeAlternating(p, 2000, 4096),
      empty: (p) => writeFileSync(p, ''),
    });
    img1 = mkfs('e1k', 1024, 16, {
      d1: (p) => writeAlternating(p, 100, 1024),
      d2: (p) => writeAlternating(p, 400, 1024),
    });
    sh('debugfs', ['-w', '-R', 'fallocate /small 10 29', img4]);
  });

  const cases: Array<[string, () => string, string, number, number]> = [
    ['4k small', () => img4, '/small', 0, 2],
    ['4k depth 1', () => img4, '/d1', 1, 700],
    ['4k depth 2', () => img4, '/d2', 2, 2000],
    ['1k depth 1', () => img1, '/d1', 1, 100],
    ['1k depth 2', () => img1, '/d2', 2, 400],
  ];
  test.each(cases)('%s: walk equals debugfs ex', (_n, imgf, path, depth, count) => {
    const img = imgf();
    const raw = openRawImage(img);
    const inode = raw.inode(inoOf(img, path));
    expect(inode.flags & EXT4_EXTENTS_FL).toBeTruthy();
    expect(extentDepth(inode)).toBe(depth);
    const ex = debugfsEx(img, path);
    const leaves = ex.filter((l) => l.level === l.max);
    const got = mapped(extentRuns(raw.ctx, inode, 0, EXT_LBLK_LIMIT, undefined, false));
    expect(got.map((m) => [m.lblk, m.len, m.pblk, m.unwritten])).toEqual(leaves.map((l) => [l.lstart, l.len, l.pstart, l.uninit]));
    expect(checkExtentTree(raw.ctx, inode)).toBe(leaves.length);
    if (path !== '/small') expect(leaves.length).toBe(count);
    // Every leaf extent's first and last block via lookup.
    for (const l of leaves) {
      for (const b of [l.lstart, l.lend]) {
        const m = extentLookup(raw.ctx, inode, b);
        expect(m).toEqual({ kind: 'mapped', lblk: b, len: l.lend - b + 1, pblk: l.pstart + (b - l.lstart), unwritten: l.uninit });
      }
    }
  });

  test('holes between extents and after the last one', () => {
    const raw = openRawImage(img4);
    const inode = raw.inode(inoOf(img4, '/d2'));
    expect(extentLookup(raw.ctx, inode, 1)).toEqual({ kind: 'hole', lblk: 1, len: 1 });
    const last = extentLookup(raw.ctx, inode, 4000);
    expect(last.kind).toBe('hole');
    expect(last.lblk + last.len).toBe(EXT_LBLK_LIMIT);
    const far = extentLookup(raw.ctx, inode, 2 ** 40);
    expect(far.kind).toBe('hole');
    // A range walk is contiguous and clipped.
    const runs = [...extentRuns(raw.ctx, inode, 3, 11)];
    expect(runs.map((r) => [r.kind, r.lblk, r.len])).toEqual([
      ['hole', 3, 1], ['mapped', 4, 1], ['hole', 5, 1], ['mapped', 6, 1], ['hole', 7, 1], ['mapped', 8, 1],
      ['hole', 9, 1], ['mapped', 10, 1],
    ]);
  });

  test('unwritten extents from debugfs fallocate', () => {
    const raw = openRawImage(img4);
    const inode = raw.inode(inoOf(img4, '/small'));
    const m = extentLookup(raw.ctx, inode, 12);
    expect(m.kind === 'mapped' && m.unwritten).toBe(true);
    expect(m.len).toBe(18);
  });

  test('empty file: one hole', () => {
    const raw = openRawImage(img4);
    const inode = raw.inode(inoOf(img4, '/empty'));
    expect([...extentRuns(raw.ctx, inode, 0, 10)]).toEqual([{ kind: 'hole', lblk: 0, len: 10 }]);
  });

  test('the leaf cache serves repeated lookups without tree reads, and drops on root change', () => {
    const raw = openRawImage(img4);
    let reads = 0;
    const ctx: FsContext = { ...raw.ctx, readBlock: (b, w, at) => { reads++; return raw.ctx.readBlock(b, w, at); } };
    const inode = raw.inode(inoOf(img4, '/d2'));
    extentLookup(ctx, inode, 10);
    expect(reads).toBe(2); // depth 2: one index block, one leaf
    for (let b = 0; b < 100; b++) extentLookup(ctx, inode, b);
    expect(reads).toBe(2);
    const root = inode.iBlock.slice();
    const changed: InodeInfo = { ...inode, iBlock: root };
    viewOf(root).setUint32(8, 12345, true); // eh_generation: a different root
    extentLookup(ctx, changed, 10);
    expect(reads).toBe(4);
    extentCacheOf(ctx).invalidate(inode.ino);
    extentLookup(ctx, inode, 10);
    expect(reads).toBe(6);
  });

  test('the cache is bounded: LRU inodes go first, then the current one starts over', () => {
    const raw = openRawImage(img4);
    const d2 = raw.inode(inoOf(img4, '/d2'));
    const d1 = raw.inode(inoOf(img4, '/d1'));
    const c = extentCacheOf(raw.ctx);
    c.clear();
    for (const m of extentRuns(raw.ctx, d2, 0, EXT_LBLK_LIMIT)) void m;
    expect(c.size).toBeGreaterThanOrEqual(2000);
    expect(c.size).toBeLessThan(2000 + 40);
    c.invalidate(d2.ino);
    expect(c.size).toBe(0);
    const small = new ExtentCache(800);
    const leaf = (n: number, lo: number) => ({ lo, hi: lo + 10 * n, extents: Array.from({ length: n }, (_, i) => ({ lblk: lo + 10 * i, len: 1, pblk: 5000 + i, unwritten: false })) });
    small.add(d1, leaf(300, 0));
    small.add(d2, leaf(300, 0));
    expect(small.size).toBe(602);
    small.add(d2, leaf(300, 3000)); // over 800: d1 (least recent) is evicted
    expect(small.size).toBe(602);
    expect(small.find(d1, 0)).toBeUndefined();
    expect(small.find(d2, 3005)?.lo).toBe(3000);
    small.add(d2, leaf(300, 6000)); // d2 alone is over: it starts over
    expect(small.size).toBe(0);
    expect(small.find(d2, 0)).toBeUndefined();
  });

  describe('one test per corruption reason', () => {
    let raw: RawImage; let ino1: number; let ino2: number;
    let d1: ExLine[]; let d2: ExLine[];
    beforeAll(() => {
      ino1 = inoOf(img4, '/d1'); ino2 = inoOf(img4, '/d2');
      d1 = debugfsEx(img4, '/d1'); d2 = debugfsEx(img4, '/d2');
    });
    beforeEach(() => { raw = openRawImage(img4); });

    const blk = (b: number) => raw.ctx.readBlock(b, 'test') as Uint8Array;
    /** Mutates a tree block and re-signs it, so only the structural check can fire. */
    const mutate = (ino: number, b: number, fn: (dv: DataView) => void, resign = true) => {
      const bytes = blk(b);
      fn(viewOf(bytes));
      if (resign) setExtentBlockCsum(raw.inode(ino), bytes);
    };
    const root = (ino: number) => viewOf(raw.inode(ino).iBlock);
    const walk = (ino: number) => thrown(() => checkExtentTree(raw.ctx, raw.inode(ino)));
    // d1: root (depth 1) -> 3 leaves. d2: root (depth 2) -> index nodes -> leaves.
    const leaf0 = () => d1.filter((l) => l.level === 0)[0].pstart;
    const leaf1Start = () => d1.filter((l) => l.level === 0)[1].lstart;
    const mid0 = () => d2.filter((l) => l.level === 0)[0].pstart;

    test('the pinned message: child depth must be parent depth - 1', () => {
      mutate(ino2, mid0(), (dv) => dv.setUint16(6, 3, true));
      const e = walk(ino2);
      expect(e).toBeInstanceOf(CorruptError);
      expect(e.message).toBe(`corrupt extent_header: unexpected eh_depth (inode ${ino2}, block ${mid0()}, eh_depth=3, expected 1)`);
      expect((e as CorruptError).errno).toBe(117);
    });
    test('a self-pointing index (cycle) is caught by the depth rule', () => {
      mutate(ino2, mid0(), (dv) => { dv.setUint32(12 + 4, mid0(), true); dv.setUint16(12 + 8, 0, true); });
      expect(walk(ino2).message).toMatch(/unexpected eh_depth .*eh_depth=1, expected 0/);
    });
    test('invalid magic', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(0, 0xf30b, true));
      expect(walk(ino1).message).toBe(`corrupt extent_header: invalid magic (inode ${ino1}, block ${leaf0()}, eh_magic=62219, expected 62218)`);
    });
    test('invalid eh_max', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(4, 0, true));
      expect(walk(ino1).message).toMatch(/^corrupt extent_header: invalid eh_max /);
    });
    test('too large eh_max', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(4, 341, true), false);
      expect(walk(ino1).message).toMatch(/too large eh_max .*eh_max=341, expected <= 340/);
    });
    test('too large eh_max in the root (4 entries fit)', () => {
      root(ino1).setUint16(4, 5, true);
      expect(walk(ino1).message).toMatch(/too large eh_max \(inode \d+, eh_max=5, expected <= 4\)/);
    });
    test('invalid eh_entries', () => {
      mutate(ino1, leaf0(), (dv) => { dv.setUint16(4, 300, true); dv.setUint16(2, 301, true); });
      expect(walk(ino1).message).toMatch(/invalid eh_entries .*eh_entries=301, expected <= 300/);
    });
    test('eh_entries is 0 but eh_depth is > 0', () => {
      root(ino1).setUint16(2, 0, true);
      expect(walk(ino1).message).toMatch(/eh_entries is 0 but eh_depth is > 0/);
    });
    test('too large eh_depth (root > 5)', () => {
      root(ino1).setUint16(6, 6, true);
      expect(walk(ino1).message).toMatch(/too large eh_depth .*eh_depth=6, expected <= 5/);
    });
    test('zero-length extent', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(12 * 4 + 4, 0, true));
      expect(walk(ino1).message).toMatch(/^corrupt extent: zero-length extent \(inode \d+, block \d+, lblk 6, offset 48, ee_len=0\)/);
    });
    test('extent wraps logical space', () => {
      root(ino1).setUint16(2, 1, true); // keep only the first leaf so the wrap is the first error
      mutate(ino1, leaf0(), (dv) => {
        const n = dv.getUint16(2, true);
        dv.setUint32(12 * n, 0xffffff00, true); // ee_block of the last extent (entry n-1)
        dv.setUint16(12 * n + 4, 0x200, true);
      });
      expect(walk(ino1).message).toMatch(/extent wraps logical space/);
    });
    test('overlapping extents', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint32(12 * 5, dv.getUint32(12 * 4, true), true));
      expect(walk(ino1).message).toMatch(/^corrupt extent: overlapping extents .*ee_block=6, expected >= 7/);
    });
    test('unwritten length counts: 32769 means 1 unwritten block', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(12 + 4, 32769, true));
      expect(extentLookup(raw.ctx, raw.inode(ino1), 0, false)).toMatchObject({ kind: 'mapped', len: 1, unwritten: true });
      mutate(ino1, leaf0(), (dv) => dv.setUint16(12 + 4, 32768 + 3, true)); // 3 blocks: runs into the next extent
      expect(walk(ino1).message).toMatch(/overlapping extents/);
    });
    test('first extent does not match index', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint32(12, 1, true));
      expect(walk(ino1).message).toMatch(/first extent does not match index .*ee_block=1, expected 0/);
    });
    test('extent outside index range', () => {
      mutate(ino1, leaf0(), (dv) => {
        const n = dv.getUint16(2, true);
        dv.setUint32(12 * n, leaf1Start(), true);
      });
      expect(walk(ino1).message).toMatch(/extent outside index range/);
    });
    test('physical range outside the filesystem', () => {
      mutate(ino1, leaf0(), (dv) => { dv.setUint32(12 * 2 + 8, raw.ctx.blocksCount - 1, true); dv.setUint16(12 * 2 + 4, 2, true); });
      const e = walk(ino1) as CorruptError;
      expect(e).toBeInstanceOf(CorruptError);
      expect(e.structure).toBe('extent');
      expect(e.at).toMatchObject({ inode: ino1, block: leaf0(), lblk: 2 });
    });
    test('48-bit start above the device', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(12 * 2 + 6, 0xffff, true));
      expect((walk(ino1) as CorruptError).structure).toBe('extent');
    });
    test('index child outside the filesystem', () => {
      root(ino1).setUint32(12 + 4, raw.ctx.blocksCount + 1, true);
      const e = walk(ino1) as CorruptError;
      expect(e.structure).toBe('extent_idx');
      expect(e.at).toMatchObject({ inode: ino1, lblk: 0 });
    });
    test('overlapping index entries', () => {
      root(ino1).setUint32(24, 0, true);
      expect(walk(ino1).message).toMatch(/^corrupt extent_idx: overlapping index entries/);
    });
    test('first index does not match parent', () => {
      mutate(ino2, mid0(), (dv) => dv.setUint32(12, 1, true)); // the root's entry says 0
      expect(walk(ino2).message).toMatch(/first index does not match parent .*ei_block=1, expected 0/);
    });
    test('index outside parent range', () => {
      // A second root entry starting at the mid node's last index: that entry now lies
      // past its parent's span.
      const mid = blk(mid0());
      const n = viewOf(mid).getUint16(2, true);
      const lastStart = viewOf(mid).getUint32(12 * n, true);
      root(ino2).setUint16(2, 2, true);
      root(ino2).setUint32(24, lastStart, true);
      root(ino2).setUint32(28, mid0(), true);
      expect(walk(ino2).message).toMatch(new RegExp(`index outside parent range .*ei_block=${lastStart}, expected < ${lastStart}`));
    });
    test('checksum mismatch: EBADMSG', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint32(8, 0xdead, true), false);
      const e = walk(ino1);
      expect(e).toBeInstanceOf(ChecksumError);
      expect((e as ChecksumError).errno).toBe(74);
      expect(e.message).toMatch(new RegExp(`^corrupt extent_block: checksum mismatch \\(inode ${ino1}, block ${leaf0()}, stored=`));
    });
    test('a re-signed harmless change passes (the checksum really covers the block)', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint32(8, 0xdead, true));
      expect(checkExtentTree(raw.ctx, raw.inode(ino1))).toBe(700);
    });
    test('node budget', () => {
      const e = thrown(() => [...extentRuns(raw.ctx, raw.inode(ino2), 0, EXT_LBLK_LIMIT, { nodes: 3 }, false)]);
      expect(e.message).toMatch(/walk budget exhausted/);
    });
    test('lookup path sees the same corruption', () => {
      mutate(ino1, leaf0(), (dv) => dv.setUint16(6, 3, true));
      expect(thrown(() => extentLookup(raw.ctx, raw.inode(ino1), 0, false))).toBeInstanceOf(CorruptError);
    });
  });
});

describe('random damage to a depth-2 tree', () => {
  test('every walk ends in a result or a typed error (seeded, 400 rounds)', () => {
    const img = mkfs('fuzz', 1024, 16, { d2: (p) => writeAlternating(p, 400, 1024) });
    const ino = inoOf(img, '/d2');
    const nodes = debugfsEx(img, '/d2').filter((l) => l.level < l.max).map((l) => l.pstart);
    let seed = 0x9e3779b9;
    const rnd = (n: number) => { // xorshift32: low bits as good as high ones
      seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
      return seed % n;
    };
    const typed = (e: unknown) => e instanceof CorruptError || e instanceof IoError || e instanceof FsError;
    const outcomes = new Map<string, number>();
    const raw = openRawImage(img);
    const inode = raw.inode(ino);
    const targets = [inode.iBlock, ...nodes.map((b) => raw.ctx.readBlock(b, 'test') as Uint8Array)];
    const pristine = targets.map((t) => t.slice());
    for (let round = 0; round < 400; round++) {
      targets.forEach((t, i) => t.set(pristine[i]));
      for (let k = 0, n = 1 + rnd(4); k < n; k++) {
        const t = targets[rnd(targets.length)];
        // Bias towards headers and entry fields where the checks live.
        const off = rnd(3) === 0 ? rnd(12) : rnd(Math.min(t.byteLength, 12 + 12 * 90));
        t[off] = rnd(4) === 0 ? 0 : rnd(256);
        if (t !== inode.iBlock && rnd(2) === 0) { try { setExtentBlockCsum(inode, t); } catch { /* eh_max too large */ } }
      }
      const ops: Array<() => unknown> = [
        () => checkExtentTree(raw.ctx, inode),
        () => extentLookup(raw.ctx, inode, rnd(900), false),
        () => mapRange(raw.ctx, inode, 0, 1 << 20),
        () => seekHole(raw.ctx, inode, 0),
      ];
      for (const op of ops) {
        try { op(); outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1); } catch (e) {
          if (!typed(e)) throw new Error(`round ${round}: untyped ${(e as Error).stack}`);
          const key = e instanceof CorruptError ? `${e.structure}: ${e.reason}` : (e as Error).name;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      }
      extentCacheOf(raw.ctx).clear();
    }
    targets.forEach((t, i) => t.set(pristine[i]));
    expect(checkExtentTree(raw.ctx, inode)).toBe(400); // the restore really restores
    // The damage really reached the checks: several distinct reasons fired.
    if (process.env.FUZZ_OUT) process.stderr.write(`OUT ${JSON.stringify([...outcomes])}\n`);
    expect(outcomes.size).toBeGreaterThan(8);
    expect(outcomes.get('extent_block: checksum mismatch')).toBeGreaterThan(10);
  });
});

describe('corpus: every regular file and directory of the e2fsprogs hostile images', () => {
  const corpus = CORPUS_DIR;
  const images = corpusSample(/extent|ext_|bigalloc|holedir|huge|big|64bit|zero|uninit/);
  const typed = (e: unknown) => e instanceof CorruptError || e instanceof IoError || e instanceof FsError || e instanceof IncompatibleError;
  test('walks end with a mapping or a typed error, nothing else', () => {
    expect(images.length).toBeGreaterThan(40);
    let walked = 0; let typedErrors = 0;
    for (const f of images) {
      const t0 = Date.now();
      const path = join(dir, f.replace(/\.gz$/, ''));
      writeFileSync(path, gunzipSync(readFileSync(join(corpus, f))));
      let raw: RawImage;
      try {
        raw = openRawImage(path);
        const bs = raw.ctx.blockSize;
        if (!(bs >= 1024 && bs <= 65536) || !raw.ctx.inodesPerGroup) continue;
      } catch { continue; } // rawctx trusts images; not the code under test
      const n = Math.min(raw.ctx.inodesCount, 4096);
      for (let ino = 1; ino <= n; ino++) {
        let inode: InodeInfo;
        try { inode = raw.inode(ino); } catch { continue; }
        if (!inode.raw || inode.raw.byteLength < 128) continue;
        const fmt = inode.mode & S_IFMT;
        if (fmt !== S_IFREG && fmt !== S_IFDIR) continue;
        if (inode.flags & 0x10000000) continue; // inline data
        walked++;
        try {
          if (inode.flags & EXT4_EXTENTS_FL) {
            checkExtentTree(raw.ctx, inode);
            extentLookup(raw.ctx, inode, 0, false);
          } else {
            for (const m of indirectRuns(raw.ctx, inode, 0, Math.ceil(inode.size / raw.ctx.blockSize) + 1)) void m;
          }
        } catch (e) {
          if (!typed(e)) throw new Error(`${f} inode ${ino}: untyped ${(e as Error).stack}`);
          typedErrors++;
        }
        // The facade's calls, each on its own: a typed error or a result.
        for (const op of [
          () => mapRange(raw.ctx, inode, 0, 1 << 20),
          () => readRangeSync(raw.ctx, inode, 0, 1 << 16),
          () => seekData(raw.ctx, inode, 0),
          () => seekHole(raw.ctx, inode, 0),
          () => bmap(raw.ctx, inode, 1),
        ]) {
          try { op(); } catch (e) {
            if (!typed(e)) throw new Error(`${f} inode ${ino}: untyped ${(e as Error).stack}`);
          }
        }
      }
      rmSync(path);
      expect([f, Date.now() - t0 < 20000]).toEqual([f, true]); // no image makes a walk crawl
    }
    expect(walked).toBeGreaterThan(100);
    expect(typedErrors).toBeGreaterThan(0);
  });
});

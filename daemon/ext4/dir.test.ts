// Directory reading against the kernel: images are built at test time (mkfs.ext4 -d, then
// e2fsck -fD to index large directories), listed by a kernel ro loop mount, and every name
// the kernel lists must come out of readdir and lookup (absent names must not).
import { CORPUS_DIR, corpusSample } from './testing/corpus.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRawImage, RawImage } from './testing/rawctx.js';
import { FsContext, InodeInfo } from './context.js';
import { bmap } from './filemap.js';
import { inlineArea } from './inline.js';
import { CorruptError, ChecksumError, FsError, IncompatibleError, IoError } from './errors.js';
import { schemaGaps } from '../util/bytes.js';
import {
  checkDirEntry, checkDotEntries, dirRecLen, ext4DirEntry2Schema, ext4DirEntrySchema, ext4DirEntryTailSchema,
  lookup, readdir, ReadDirBlock, setDirBlockCsum, verifyDirBlockCsum,
} from './dir.js';
import { isDx, parseDxRoot, recLenFromDisk } from './htree.js';

const root = mkdtempSync(join(tmpdir(), 'ext4box-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

export interface Built { img: string; raw: RawImage; ctx: FsContext; src: string }

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
}

function touch(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) writeFileSync(join(dir, n), '');
}

function build(name: string, mkfsArgs: string[], fill: (src: string) => void, sizeM = 16, post?: (img: string) => void, rehash = true): Built {
  const src = join(root, `${name}-src`);
  const img = join(root, `${name}.img`);
  mkdirSync(src, { recursive: true });
  fill(src);
  sh('mkfs.ext4', ['-q', '-F', '-N', '16384', ...mkfsArgs, '-d', src, img, `${sizeM}M`]);
  if (rehash) spawnSync('e2fsck', ['-fyD', img], { stdio: 'ignore' });
  post?.(img);
  const raw = openRawImage(img);
  const sflags = new DataView(raw.bytes.buffer, raw.bytes.byteOffset + 1024).getUint32(0x160, true);
  const ctx = { ...raw.ctx, hashUnsigned: (sflags & 2) !== 0 } as FsContext;
  return { img, raw, ctx, src };
}

const maps = new WeakMap<Built, Map<number, Map<number, number>>>();
function reader(b: Built, dir: InodeInfo, log?: number[]): ReadDirBlock {
  // bmap results are memoized per directory: the engine's block mapping is not under test.
  let perFs = maps.get(b);
  if (!perFs) maps.set(b, (perFs = new Map()));
  let m = perFs.get(dir.ino);
  if (!m) perFs.set(dir.ino, (m = new Map()));
  const mm = m;
  return (lblk) => {
    log?.push(lblk);
    let p = mm.get(lblk);
    if (p === undefined) mm.set(lblk, (p = bmap(b.ctx, dir, lblk)));
    return p === 0 ? null : b.ctx.readBlock(p, 'dir');
  };
}

function inodeOf(b: Built, path: string): InodeInfo {
  // Resolve through our own lookup from the root (ino 2): the walk is itself under test.
  let cur = b.raw.inode(2);
  for (const part of path.split('/').filter(Boolean)) {
    const r = lookup(b.ctx, cur, Buffer.from(part), reader(b, cur), inlineIf(b, cur));
    if (!r) throw new Error(`no ${part} in ${path}`);
    cur = b.raw.inode(r.ino);
  }
  return cur;
}

function inlineIf(b: Built, d: InodeInfo): Uint8Array | undefined {
  return (d.flags & 0x10000000) ? inlineArea(b.ctx, d) : undefined;
}

function listAll(b: Built, d: InodeInfo): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of readdir(b.ctx, d, 0, reader(b, d), inlineIf(b, d))) {
    const k = Buffer.from(e.name).toString('latin1');
    expect(m.has(k)).toBe(false);
    m.set(k, e.ino);
  }
  return m;
}

/** Names the kernel lists for `path` (ro loop mount), raw bytes as latin1; null if not root. */
function kernelNames(img: string, paths: string[]): Map<string, string[]> | null {
  if (!isRoot) return null;
  const mnt = mkdtempSync(join(root, 'mnt-'));
  const r = spawnSync('mount', ['-o', 'ro,loop', '-t', 'ext4', img, mnt]);
  if (r.status !== 0) return null;
  try {
    const out = new Map<string, string[]>();
    for (const p of paths) out.set(p, readdirSync(join(mnt, p), { encoding: 'buffer' }).map((x) => x.toString('latin1')));
    return out;
  } finally {
    spawnSync('umount', [mnt]);
  }
}

function checkDir(b: Built, path: string, kernel: string[] | undefined, opts: { maxReads?: number } = {}): void {
  const d = inodeOf(b, path);
  const listed = listAll(b, d);
  const srcNames = readdirSync(join(b.src, path), { encoding: 'buffer' }).map((x) => x.toString('latin1'));
  const want = new Set(kernel ?? srcNames);
  expect(new Set(srcNames)).toEqual(want);
  expect(listed.get('.')).toBe(d.ino);
  expect(listed.get('..')).toBeGreaterThan(0);
  listed.delete('.');
  listed.delete('..');
  expect(new Set(listed.keys())).toEqual(want);
  for (const [name, ino] of listed) {
    const log: number[] = [];
    const r = lookup(b.ctx, d, Buffer.from(name, 'latin1'), reader(b, d, log), inlineIf(b, d));
    expect(r?.ino).toBe(ino);
    if (opts.maxReads !== undefined) expect(log.length).toBeLessThanOrEqual(opts.maxReads);
    if (statSync(Buffer.concat([Buffer.from(join(b.src, path) + '/'), Buffer.from(name, 'latin1')])).isDirectory()) expect(r?.fileType).toMatch(/^(dir|unknown)$/);
  }
  for (const absent of ['nope', `${[...want][0] ?? 'x'}~`, 'x'.repeat(255)]) {
    if (!want.has(absent)) expect(lookup(b.ctx, d, Buffer.from(absent, 'latin1'), reader(b, d), inlineIf(b, d))).toBeNull();
  }
}

const pad = (i: number, w: number) => String(i).padStart(w, '0');
// Half the names carry high-bit UTF-8 bytes: that is where signed and unsigned hashes differ.
const BIG = Array.from({ length: 3000 }, (_, i) => `long-${i % 2 ? 'nàmé' : 'name'}-${pad(i, 180)}`);
const MED = Array.from({ length: 3000 }, (_, i) => `f${i}`);
const ODD = ['a', 'b'.repeat(255), 'c'.repeat(254), 'héllo', 'Ünïcödé-名前', 'Σίσυφος', 'ﬀ', 'ÿÿÿ', '\u00a0x', 'dot.', '..x'];

describe('schemas', () => {
  test('sizes and contiguity', () => {
    expect(ext4DirEntry2Schema.size).toBe(8);
    expect(ext4DirEntrySchema.size).toBe(8);
    expect(ext4DirEntryTailSchema.size).toBe(12);
    expect(schemaGaps(ext4DirEntry2Schema)).toEqual([]);
    expect(schemaGaps(ext4DirEntryTailSchema)).toEqual([]);
    expect(dirRecLen(1)).toBe(12);
    expect(dirRecLen(255)).toBe(264);
    expect(dirRecLen(4, true)).toBe(20);
  });
  test('rec_len encoding of 64 KiB blocks', () => {
    expect(recLenFromDisk(65535, 65536)).toBe(65536);
    expect(recLenFromDisk(0, 65536)).toBe(65536);
    expect(recLenFromDisk(12, 65536)).toBe(12);
    expect(recLenFromDisk(0xfffc | 1, 65536)).toBe(0x1fffc);
    expect(recLenFromDisk(4096, 4096)).toBe(4096);
  });
});

const variants: Array<[string, string[], string, boolean]> = [
  ['1k-csum-halfmd4', ['-b', '1024'], 'half_md4', false],
  ['1k-nocsum-tea-signed', ['-b', '1024', '-O', '^metadata_csum'], 'tea', true],
  ['4k-tea', ['-b', '4096'], 'tea', false],
  ['4k-legacy', ['-b', '4096'], 'legacy', false],
  ['4k-legacy-signed', ['-b', '4096'], 'legacy', true],
  ['1k-halfmd4-signed', ['-b', '1024'], 'half_md4', true],
  ['1k-ext2-nofiletype', ['-t', 'ext2', '-b', '1024', '-O', '^filetype'], 'half_md4', false],
];

describe.each(variants)('image %s', (name, args, alg, signed) => {
  let b: Built;
  let kernel: Map<string, string[]> | null;
  beforeAll(() => {
    b = build(name, args, (src) => {
      touch(join(src, 'big'), BIG);
      touch(join(src, 'med'), MED);
      touch(join(src, 'odd'), ODD);
      mkdirSync(join(src, 'odd', 'subdir'));
      mkdirSync(join(src, 'empty'));
    }, 64, (img) => {
      // The hash algorithm, and s_flags EXT2_FLAGS_SIGNED_HASH instead of unsigned, are set
      // after mkfs; e2fsck -fD then rebuilds every index with them.
      sh('tune2fs', ['-E', `hash_alg=${alg}`, img]);
      sh('debugfs', ['-w', '-R', `ssv flags ${signed ? 1 : 2}`, img]);
      spawnSync('e2fsck', ['-fyD', img], { stdio: 'ignore' });
    });
    kernel = kernelNames(b.img, ['big', 'med', 'odd', 'empty']);
  });
  test('big directory (long names) is an htree and matches', () => {
    const d = inodeOf(b, 'big');
    if (b.ctx.features.has('dir_index')) {
      expect(isDx(b.ctx, d)).toBe(true);
      const info = parseDxRoot(b.ctx, d, reader(b, d)(0)!);
      expect(info.hashVersion).toBe({ legacy: 0, half_md4: 1, tea: 2 }[alg]);
      expect((b.ctx as { hashUnsigned?: boolean }).hashUnsigned).toBe(!signed);
      expect(info.indirectLevels).toBe(b.ctx.blockSize === 1024 ? 1 : 0);
    }
    checkDir(b, 'big', kernel?.get('big'), { maxReads: b.ctx.features.has('dir_index') ? 5 : undefined });
  });
  test('3000 short names', () => checkDir(b, 'med', kernel?.get('med'), { maxReads: b.ctx.features.has('dir_index') ? 5 : undefined }));
  test('255-byte and UTF-8 names', () => checkDir(b, 'odd', kernel?.get('odd')));
  test('empty directory', () => {
    checkDir(b, 'empty', kernel?.get('empty'));
    const d = inodeOf(b, 'empty');
    expect(checkDotEntries(b.ctx, d, reader(b, d)(0)!).parent).toBe(2);
  });
  test('readdir cookies resume exactly', () => {
    const d = inodeOf(b, 'med');
    const all = [...readdir(b.ctx, d, 0, reader(b, d))];
    for (const k of [1, 2, 17, 500, all.length - 1]) {
      const rest = [...readdir(b.ctx, d, all[k - 1].nextCookie, reader(b, d))];
      expect(rest.map((e) => e.ino)).toEqual(all.slice(k).map((e) => e.ino));
    }
    // A cookie inside a record resyncs to the next record boundary.
    const mid = [...readdir(b.ctx, d, all[3].nextCookie - 4, reader(b, d))];
    expect(mid[0].ino).toBe(all[4].ino);
    expect([...readdir(b.ctx, d, d.size, reader(b, d))]).toEqual([]);
  });
  test('file types come from the filetype feature', () => {
    const d = inodeOf(b, 'odd');
    const t = lookup(b.ctx, d, Buffer.from('subdir'), reader(b, d))!.fileType;
    const f = lookup(b.ctx, d, Buffer.from('a'), reader(b, d))!.fileType;
    if (b.ctx.features.has('filetype')) expect([t, f]).toEqual(['dir', 'reg']);
    else expect([t, f]).toEqual(['unknown', 'unknown']);
  });
  test('lookup of . and .. and over-long names', () => {
    const d = inodeOf(b, 'big');
    expect(lookup(b.ctx, d, Buffer.from('.'), reader(b, d))?.ino).toBe(d.ino);
    expect(lookup(b.ctx, d, Buffer.from('..'), reader(b, d))?.ino).toBe(2);
    expect(() => lookup(b.ctx, d, new Uint8Array(256).fill(0x61), reader(b, d))).toThrow(FsError);
    expect(lookup(b.ctx, d, new Uint8Array(0), reader(b, d))).toBeNull();
  });
});

(isRoot ? describe : describe.skip)('htrees the kernel built (rw loop mount, no e2fsck -D)', () => {
  let b: Built;
  beforeAll(() => {
    const fill = (src: string) => {
      touch(join(src, 'big'), BIG);
      touch(join(src, 'med'), MED);
    };
    b = build('kernel-htree', ['-b', '1024'], () => undefined, 64, (img) => {
      const mnt = mkdtempSync(join(root, 'mnt-'));
      sh('mount', ['-o', 'loop', '-t', 'ext4', img, mnt]);
      try { fill(mnt); } finally { spawnSync('umount', [mnt]); }
    }, false);
    fill(b.src);
  });
  test('kernel-split indexes list and look up like the kernel', () => {
    const k = kernelNames(b.img, ['big', 'med']);
    for (const p of ['big', 'med']) {
      const d = inodeOf(b, p);
      expect(isDx(b.ctx, d)).toBe(true);
      checkDir(b, p, k?.get(p), { maxReads: 5 });
    }
    expect(parseDxRoot(b.ctx, inodeOf(b, 'big'), reader(b, inodeOf(b, 'big'))(0)!).indirectLevels).toBe(1);
  });
});

describe('64 KiB blocks', () => {
  test('htree and linear directories match the source tree', () => {
    const b = build('64k', ['-b', '65536'], (src) => {
      touch(join(src, 'big'), BIG);
      touch(join(src, 'odd'), ODD);
    }, 256);
    expect(b.ctx.blockSize).toBe(65536);
    const k = kernelNames(b.img, ['big', 'odd']);
    checkDir(b, 'big', k?.get('big'));
    checkDir(b, 'odd', k?.get('odd'));
  });
});

(isRoot ? describe : describe.skip)('inline_data directories (kernel-made)', () => {
  let b: Built;
  beforeAll(() => {
    // mkfs -d writes block directories; the kernel makes inline ones, so create them
    // through a rw loop mount (and mirror them in the source tree for the name oracle).
    const fill = (src: string) => {
      touch(join(src, 'tiny'), ['a', 'b']);
      touch(join(src, 'small'), Array.from({ length: 12 }, (_, i) => `entry-${i}`));
      touch(join(src, 'utf'), ['héllo', 'Σ']);
      mkdirSync(join(src, 'none'));
      touch(join(src, 'many'), Array.from({ length: 300 }, (_, i) => `m${i}`));
    };
    b = build('inline', ['-b', '4096', '-I', '512', '-O', 'inline_data'], () => undefined, 16, (img) => {
      const mnt = mkdtempSync(join(root, 'mnt-'));
      sh('mount', ['-o', 'loop', '-t', 'ext4', img, mnt]);
      try { fill(mnt); } finally { spawnSync('umount', [mnt]); }
    });
    fill(b.src);
  });
  test('small dirs are inline and list/look up like the kernel', () => {
    const k = kernelNames(b.img, ['tiny', 'small', 'utf', 'none', 'many']);
    for (const p of ['tiny', 'small', 'utf', 'none']) {
      expect(inodeOf(b, p).flags & 0x10000000).not.toBe(0);
      checkDir(b, p, k?.get(p));
    }
    checkDir(b, 'many', k?.get('many'));
  });
  test('inline . and .. are synthesized and cookies follow the kernel positions', () => {
    const d = inodeOf(b, 'small');
    const inl = inlineArea(b.ctx, d);
    const all = [...readdir(b.ctx, d, 0, reader(b, d), inl)];
    expect(all.slice(0, 2).map((e) => [Buffer.from(e.name).toString(), e.ino, e.nextCookie])).toEqual([['.', d.ino, 12], ['..', 2, 24]]);
    expect(all[2].nextCookie).toBeGreaterThan(24);
    const rest = [...readdir(b.ctx, d, all[5].nextCookie, reader(b, d), inl)];
    expect(rest.map((e) => e.ino)).toEqual(all.slice(6).map((e) => e.ino));
    expect(lookup(b.ctx, d, Buffer.from('..'), reader(b, d), inl)?.ino).toBe(2);
  });
  test('damaged inline areas', () => {
    const d = inodeOf(b, 'small');
    const inl = inlineArea(b.ctx, d).slice();
    expect(() => lookup(b.ctx, d, Buffer.from('x'), reader(b, d), inl.subarray(0, 40))).toThrow(/inline data shorter than i_block/);
    const bad = inl.slice();
    new DataView(bad.buffer).setUint32(0, b.ctx.inodesCount + 1, true);
    expect(() => [...readdir(b.ctx, d, 0, reader(b, d), bad)]).toThrow(/parent inode out of bounds/);
    const bad2 = inl.slice();
    new DataView(bad2.buffer).setUint16(4 + 4, 7, true);
    expect(() => lookup(b.ctx, d, Buffer.from('zzz'), reader(b, d), bad2)).toThrow(/rec_len is smaller than minimal/);
  });
});

describe('directory entry corruption (one test per reason)', () => {
  let b: Built;
  let d: InodeInfo;
  let blk: Uint8Array;
  beforeAll(() => {
    b = build('corrupt', ['-b', '1024'], (src) => touch(join(src, 'd'), ['alpha', 'beta', 'gamma']));
    d = inodeOf(b, 'd');
    blk = reader(b, d)(0)!.slice();
  });
  /** Mutates a copy of block 0, re-signs its checksum, and serves it as the directory. */
  function mutated(fn: (x: Uint8Array, dv: DataView) => void, resign = true): ReadDirBlock {
    const x = blk.slice();
    fn(x, new DataView(x.buffer));
    if (resign) setDirBlockCsum(b.ctx, d, x);
    return (l) => (l === 0 ? x : null);
  }
  const offs = () => {
    const o: number[] = [];
    for (let off = 0; off < 1024 - 12;) { o.push(off); off += new DataView(blk.buffer).getUint16(off + 4, true); }
    return o;
  };
  const cases: Array<[string, (x: Uint8Array, dv: DataView) => void]> = [
    ['rec_len is smaller than minimal', (x, dv) => dv.setUint16(offs()[2] + 4, 8, true)],
    ['rec_len % 4 != 0', (x, dv) => dv.setUint16(offs()[2] + 4, 14, true)],
    ['rec_len is too small for name_len', (x, dv) => { x[offs()[2] + 6] = 200; }],
    ['directory entry overrun', (x, dv) => dv.setUint16(offs()[4] + 4, 2000, true)],
    ['directory entry too close to block end', (x, dv) => dv.setUint16(offs()[4] + 4, dv.getUint16(offs()[4] + 4, true) + 4, true)],
    ['inode out of bounds', (x, dv) => dv.setUint32(offs()[2], b.ctx.inodesCount + 1, true)],
  ];
  test.each(cases)('%s', (reason, fn) => {
    const r = mutated(fn);
    let err: unknown;
    try { [...readdir(b.ctx, d, 0, r)]; } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as CorruptError).reason).toBe(reason);
    expect((err as CorruptError).message).toMatch(new RegExp(`^corrupt ext4_dir_entry_2: ${reason.replace(/[%.]/g, '.')} \\(inode ${d.ino}, lblk 0, offset \\d+, `));
    expect(() => lookup(b.ctx, d, Buffer.from('gamma'), r)).toThrow(CorruptError);
  });
  test('checksum mismatch is a ChecksumError (EBADMSG)', () => {
    const r = mutated((x) => { x[offs()[2] + 8] ^= 1; }, false);
    expect(() => [...readdir(b.ctx, d, 0, r)]).toThrow(ChecksumError);
    expect(() => lookup(b.ctx, d, Buffer.from('alpha'), r)).toThrow(expect.objectContaining({ errno: 74 }));
    expect(() => verifyDirBlockCsum(b.ctx, d, blk, {})).not.toThrow();
  });
  test('a missing checksum tail is corruption', () => {
    const r = mutated((x, dv) => { x[1024 - 12 + 7] = 0; }, false);
    expect(() => [...readdir(b.ctx, d, 0, r)]).toThrow(/no space for directory leaf checksum/);
  });
  test('missing . and ..', () => {
    expect(() => checkDotEntries(b.ctx, d, mutated((x, dv) => dv.setUint32(0, 5, true))(0)!)).toThrow(/directory missing '\.'/);
    expect(() => checkDotEntries(b.ctx, d, mutated((x, dv) => dv.setUint32(12, 0, true))(0)!)).toThrow(/directory missing '\.\.'/);
  });
  test('a short block and a directory larger than the filesystem', () => {
    expect(() => lookup(b.ctx, d, Buffer.from('x'), () => blk.subarray(0, 100))).toThrow(/short directory block/);
    expect(() => lookup(b.ctx, { ...d, size: (b.ctx.blocksCount + 1) * 1024 }, Buffer.from('x'), reader(b, d))).toThrow(/directory larger than the filesystem/);
    expect(() => checkDirEntry(b.ctx, d, blk, 1020, 1024, {})).toThrow(/directory entry overrun/);
  });
  test('holes in a linear directory are skipped', () => {
    const big = { ...d, size: 3 * 1024 };
    const r: ReadDirBlock = (l) => (l === 2 ? blk : null);
    expect(lookup(b.ctx, big, Buffer.from('beta'), r)).not.toBeNull();
    expect([...readdir(b.ctx, big, 0, r)].length).toBe(5);
  });
});

// Hostile images: walk every directory reachable from the root of each corpus image with
// readdir + lookup. Only typed errors may come out; anything else is a bug in this code.
describe('corpus sweep', () => {
  const corpus = CORPUS_DIR;
  let files: string[] = [];
  files = corpusSample(/dir|htree|_h_|hash|dx|name|dup_de|lpf|inline|casefold|encrypt|filetype/);
  const typed = (e: unknown) => e instanceof CorruptError || e instanceof FsError || e instanceof IncompatibleError || e instanceof IoError;
  (files.length ? test : test.skip)(`directories of ${files.length} corpus images`, () => {
    const stats = { images: 0, dirs: 0, entries: 0, lookups: 0, typedErrors: 0, skipped: 0 };
    for (const f of files) {
      const img = join(root, 'corpus.img');
      try {
        writeFileSync(img, gunzipSync(readFileSync(join(corpus, f))));
      } catch { stats.skipped++; continue; }
      let raw: RawImage;
      let ctx: FsContext;
      try {
        raw = openRawImage(img);
        const bs = raw.ctx.blockSize;
        if (!(bs >= 1024 && bs <= 65536) || raw.bytes.length < 2048 || raw.ctx.inodesCount === 0) { stats.skipped++; continue; }
        ctx = raw.ctx;
      } catch { stats.skipped++; continue; }
      stats.images++;
      const seen = new Set<number>([2]);
      const queue = [2];
      // Budgets: dirs per image and lookups per image keep the sweep bounded.
      for (let budget = 200; queue.length && budget > 0; budget--) {
        const ino = queue.shift()!;
        let d: InodeInfo;
        try { d = raw.inode(ino); if ((d.mode & 0o170000) !== 0o040000) continue; } catch { continue; }
        stats.dirs++;
        const read: ReadDirBlock = (l) => {
          // The block map and inline area belong to other files; their untyped failures
          // on hostile input are turned into IoError so they are not blamed on dir.ts.
          try {
            const p = bmap(ctx, d, l);
            return p === 0 ? null : ctx.readBlock(p, 'dir');
          } catch (e) {
            if (typed(e)) throw e;
            throw new IoError('bmap (foreign)', { inode: ino, lblk: l }, e);
          }
        };
        let inl: Uint8Array | undefined;
        try { inl = (d.flags & 0x10000000) ? inlineArea(ctx, d) : undefined; } catch (e) { if (typed(e)) { stats.typedErrors++; continue; } continue; }
        const names: Array<[Uint8Array, number]> = [];
        try {
          let n = 0;
          for (const e of readdir(ctx, d, 0, read, inl)) {
            names.push([e.name, e.ino]);
            if (++n > 5000) break;
          }
        } catch (e) {
          if (!typed(e)) throw e;
          stats.typedErrors++;
        }
        for (const [name, eino] of names.slice(0, 300)) {
          stats.entries++;
          try {
            stats.lookups++;
            const r = lookup(ctx, d, name, read, inl);
            if (r && !seen.has(r.ino) && r.ino === eino) { seen.add(r.ino); queue.push(r.ino); }
          } catch (e) {
            if (!typed(e)) throw e;
            stats.typedErrors++;
          }
        }
      }
    }
    console.log(`corpus sweep: ${JSON.stringify(stats)}`);
    expect(stats.images).toBeGreaterThan(50);
    expect(stats.typedErrors).toBeGreaterThan(0);
  });
});

// inline.ts against the kernel: mkfs -d -O inline_data writes small files and directories
// inline; the kernel's read of each file on a ro loop mount must equal inlineData(). Inline
// directories start with the parent's inode number (the implicit ".."). Then one test per
// rejection of ext4_find_inline_data_nolock and the i_size rule.

import { CORPUS_DIR, corpusSample } from './testing/corpus.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { viewOf } from '../util/bytes.js';
import { openRawImage, RawImage } from './testing/rawctx.js';
import { CorruptError, FsError, IoError, IncompatibleError } from './errors.js';
import { FsContext, InodeInfo } from './context.js';
import { EXT4_MIN_INLINE_DATA_SIZE, findInlineData, hasInlineData, inlineArea, inlineData } from './inline.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
let work = '';
beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'ext4box-inline-')); });
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

const FILES: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  tiny: new Uint8Array(Buffer.from('hello')),
  exactly60: new Uint8Array(60).map((_, i) => 0x41 + (i % 26)),
  spill61: new Uint8Array(61).map((_, i) => i),
  spill100: new Uint8Array(100).map((_, i) => (i * 37) & 0xff),
  spill120: new Uint8Array(120).map((_, i) => 255 - i),
  withnul: new Uint8Array([1, 0, 2, 0, 0, 3]),
  big: new Uint8Array(5000).fill(7),
};

let img = '';
let oracleMap: Record<string, number> = {};
function image(): string {
  if (img) return img;
  const src = join(work, 'src');
  mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
  for (const [n, b] of Object.entries(FILES)) writeFileSync(join(src, n), b);
  writeFileSync(join(src, 'sub', 'a'), 'a');
  img = join(work, 'inline.img');
  run('truncate', ['-s', '16M', img]);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', '-O', 'inline_data,metadata_csum', '-d', src, img]);
  const mnt = `${img}.ro`;
  mkdirSync(mnt);
  run('mount', ['-o', 'ro,loop', img, mnt]);
  try {
    oracleMap = JSON.parse(run('python3', ['-c', `
import os, sys, json
m = sys.argv[1]; out = {}
for root, dirs, files in os.walk(m):
    for n in dirs + files:
        p = os.path.join(root, n); out[os.path.relpath(p, m)] = os.lstat(p).st_ino
out['.'] = os.lstat(m).st_ino
print(json.dumps(out))`, mnt]));
    // The kernel's own read of every file is the oracle for content.
    for (const n of Object.keys(FILES)) expect(new Uint8Array(readFileSync(join(mnt, n)))).toEqual(FILES[n]);
  } finally { run('umount', [mnt]); }
  return img;
}

d('inline data: kernel oracle', () => {
  test('inline files read as the kernel reads them; large ones are not inline', () => {
    const raw = openRawImage(image());
    let inline = 0;
    for (const [n, want] of Object.entries(FILES)) {
      const inode = raw.inode(oracleMap[n]);
      if (n === 'big') { expect(hasInlineData(inode)).toBe(false); continue; }
      expect({ n, inline: hasInlineData(inode) }).toEqual({ n, inline: true });
      expect({ n, got: Buffer.from(inlineData(raw.ctx, inode)).toString('hex') }).toEqual({ n, got: Buffer.from(want).toString('hex') });
      inline++;
    }
    expect(inline).toBe(7);
    const loc = findInlineData(raw.ctx, raw.inode(oracleMap.spill120));
    expect(loc.inlineSize).toBeGreaterThanOrEqual(120);
  });

  test('inline directories: the area starts with the parent inode, i_size = inline size', () => {
    const raw = openRawImage(image());
    for (const [dir, parent] of [['sub', '.'], ['sub/deeper', 'sub']]) {
      const inode = raw.inode(oracleMap[dir]);
      expect(hasInlineData(inode)).toBe(true);
      const area = inlineArea(raw.ctx, inode);
      expect(area.length).toBe(findInlineData(raw.ctx, inode).inlineSize);
      expect(area.length).toBeGreaterThanOrEqual(EXT4_MIN_INLINE_DATA_SIZE);
      expect(viewOf(area).getUint32(0, true)).toBe(oracleMap[parent]);
      expect(inlineData(raw.ctx, inode).length).toBe(inode.size);
    }
  });
});

d('inline damage: the kernel and inlineData agree', () => {
  test('i_size past the inline data reads as zeros; a missing system.data is EUCLEAN', () => {
    const src = join(work, 'dmg.src');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'A'.repeat(100));
    writeFileSync(join(src, 'b'), 'B'.repeat(100));
    const dimg = join(work, 'dmg.img');
    run('truncate', ['-s', '8M', dimg]);
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', '-O', 'inline_data', '-d', src, dimg]);
    run('debugfs', ['-w', '-R', 'sif /a size 200', dimg]);
    run('debugfs', ['-w', '-R', 'ea_rm /b system.data', dimg]);
    const inoOf = (n: string) => Number(/Inode: (\d+)/.exec(run('debugfs', ['-R', `stat /${n}`, dimg]))![1]);
    const mnt = `${dimg}.ro`;
    mkdirSync(mnt);
    run('mount', ['-o', 'ro,loop', dimg, mnt]);
    let kernel: [string, number];
    try {
      kernel = JSON.parse(run('python3', ['-c', `
import os, sys, json
m = sys.argv[1]
def rd(n):
    try: return open(os.path.join(m, n), 'rb').read().hex()
    except OSError as e: return e.errno
print(json.dumps([rd('a'), rd('b')]))`, mnt]));
    } finally { run('umount', [mnt]); }
    const raw = openRawImage(dimg);
    const a = raw.inode(inoOf('a'));
    const stored = inlineData(raw.ctx, a);
    const served = new Uint8Array(a.size);
    served.set(stored);
    expect(Buffer.from(served).toString('hex')).toBe(kernel[0]);
    expect(kernel[1]).toBe(117);
    let err: unknown = null;
    try { inlineData(raw.ctx, raw.inode(inoOf('b'))); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as CorruptError).errno).toBe(117);
  });
});

d('inline data rejections, one per reason', () => {
  let raw: RawImage;
  let f: InodeInfo;
  beforeAll(() => { raw = openRawImage(image()); f = raw.inode(oracleMap.spill100); });
  /** The system.data entry of `f` in a copy of its raw inode. */
  const entryOff = () => findInlineData(raw.ctx, f).entryOff;
  const corrupt = (ctx: FsContext, i: InodeInfo, re: RegExp) => {
    expect(() => inlineData(ctx, i)).toThrow(CorruptError);
    expect(() => inlineData(ctx, i)).toThrow(re);
  };
  test('inline flag without the inline_data feature', () => {
    const features = Object.create(raw.ctx.features) as FsContext['features'];
    features.has = (n) => n !== 'inline_data' && raw.ctx.features.has(n);
    corrupt({ ...raw.ctx, features }, f, /without the inline_data feature/);
  });
  test('no system.data xattr', () => {
    const r2 = f.raw.slice();
    r2[entryOff() + 16 + 3] = 0x62; // "data" -> "datb"
    corrupt(raw.ctx, { ...f, raw: r2 }, /no system.data/);
  });
  test('no in-inode xattr area at all', () => {
    const r2 = f.raw.slice();
    viewOf(r2).setUint32(f.extraEnd, 0, true);
    corrupt(raw.ctx, { ...f, raw: r2 }, /no system.data/);
  });
  test('system.data value in an EA inode', () => {
    const features = Object.create(raw.ctx.features) as FsContext['features'];
    features.has = (n) => n === 'ea_inode' || raw.ctx.features.has(n);
    const r2 = f.raw.slice();
    viewOf(r2).setUint32(entryOff() + 4, 12, true);
    corrupt({ ...raw.ctx, features }, { ...f, raw: r2 }, /external xattr inode/);
  });
  test('i_size beyond the inline size: the stored bytes only (the kernel zero-fills the rest)', () => {
    const inl = findInlineData(raw.ctx, f).inlineSize;
    const got = inlineData(raw.ctx, { ...f, size: 2 ** 40 });
    expect(got.length).toBe(inl);
    expect(got.subarray(0, 100)).toEqual(FILES.spill100);
  });
  test('i_size below the inline size returns only i_size bytes', () => {
    expect(inlineData(raw.ctx, { ...f, size: 70 })).toEqual(FILES.spill100.subarray(0, 70));
  });
});

d('corpus sweep: inline inodes of every e2fsprogs test image, typed errors only', () => {
  test('inlineData never throws an untyped error', () => {
    const dir = CORPUS_DIR;
    const typed = (e: unknown) => e instanceof CorruptError || e instanceof FsError || e instanceof IoError || e instanceof IncompatibleError;
    let seen = 0; let bad = 0;
    for (const f of corpusSample(/inline|idata|dir|xattr|ea_/)) {
      const p = join(work, 'corpus.img');
      const bytes = gunzipSync(readFileSync(join(dir, f)));
      if (bytes.length < 2048 || !(bytes.readUInt32LE(1024 + 0x60) & 0x8000)) continue; // no inline_data
      writeFileSync(p, bytes);
      let im: RawImage;
      try { im = openRawImage(p); } catch { continue; }
      const c = im.ctx;
      if (!c.features.has('inline_data')) continue;
      if (!(c.blockSize >= 1024 && c.blockSize <= 65536 && c.inodeSize >= 128 && c.inodesPerGroup > 0)) continue;
      for (let n = 1; n <= Math.min(c.inodesCount, 4096); n++) {
        let info: InodeInfo;
        try {
          info = im.inode(n);
          if (!hasInlineData(info) || info.raw.length < c.inodeSize || info.extraEnd > c.inodeSize) continue;
        } catch { continue; }
        seen++;
        try { inlineData(c, info); inlineArea(c, info); } catch (e) {
          if (!typed(e)) throw new Error(`${f} inode ${n}: untyped ${String(e)}`);
          bad++;
        }
      }
    }
    expect(seen).toBeGreaterThan(5);
    expect(bad).toBeGreaterThan(0);
  });
});

// symlink.ts against the kernel: fast, slow, inline (mkfs -d writes those), a fast symlink
// that owns an xattr block (i_blocks != 0, the ea_blocks rule), and ea_inode file systems
// (the i_size rule). readlink on a ro loop mount is the oracle. Then one test per
// rejection: bad fast lengths, append/immutable, encryption, missing block 0.

import { CORPUS_DIR, corpusSample } from './testing/corpus.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, symlinkSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { viewOf } from '../util/bytes.js';
import { openRawImage, RawImage } from './testing/rawctx.js';
import { CorruptError, FsError, IoError, IncompatibleError } from './errors.js';
import { InodeInfo, S_IFLNK, S_IFMT, EXT4_EXTENTS_FL } from './context.js';
import { isFastSymlink, readSymlink, symlinkKind } from './symlink.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
let work = '';
beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'ext4box-symlink-')); });
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

/** Test-only block 0 of a file: depth-0 extent root or the first direct block pointer. */
function block0(img: RawImage) {
  return (inode: InodeInfo): Uint8Array | null => {
    const ib = viewOf(inode.iBlock);
    let pblk = 0;
    if (inode.flags & EXT4_EXTENTS_FL) {
      if (ib.getUint16(0, true) !== 0xf30a || ib.getUint16(6, true) !== 0) throw new FsError(5, 'test reader: depth 0 only');
      for (let i = 0; i < ib.getUint16(2, true); i++) {
        if (ib.getUint32(12 + 12 * i, true) === 0) pblk = ib.getUint16(12 + 12 * i + 6, true) * 2 ** 32 + ib.getUint32(12 + 12 * i + 8, true);
      }
    } else {
      pblk = ib.getUint32(0, true);
    }
    return pblk === 0 ? null : img.ctx.readBlock(pblk, 'test');
  };
}

const TARGETS: Record<string, string> = {
  fast1: 'x',
  fast59: 'f'.repeat(59),
  slow60: 's'.repeat(60),
  slow300: 'a/b/'.repeat(75),
  slowmax: 'L'.repeat(4000),
  inline80: 'i'.repeat(80),
  utf8: 'caf\u00e9/\u2603',
};

/** mkfs -d from a source tree of symlinks, then an optional kernel rw step. */
function build(name: string, mkfs: string[], kernelStep?: string): string {
  const src = join(work, `${name}.src`);
  mkdirSync(src);
  for (const [n, t] of Object.entries(TARGETS)) symlinkSync(t, join(src, n));
  const img = join(work, `${name}.img`);
  run('truncate', ['-s', '16M', img]);
  run('mkfs.ext4', ['-q', '-F', ...mkfs, '-d', src, img]);
  if (kernelStep) {
    const mnt = `${img}.mnt`;
    mkdirSync(mnt);
    run('mount', ['-o', 'loop', img, mnt]);
    try { run('sh', ['-c', kernelStep, 'sh', mnt]); } finally { run('umount', [mnt]); }
  }
  return img;
}

/** readlink(2) of every symlink on a ro loop mount: name -> [ino, target hex]. */
function oracle(img: string): Record<string, [number, string]> {
  const mnt = `${img}.ro`;
  mkdirSync(mnt, { recursive: true });
  run('mount', ['-o', 'ro,loop', img, mnt]);
  try {
    return JSON.parse(run('python3', ['-c', `
import os, sys, json, stat
m = sys.argv[1]
print(json.dumps({n: [os.lstat(os.path.join(m, n)).st_ino, os.fsencode(os.readlink(os.path.join(m, n))).hex()]
  for n in os.listdir(m) if stat.S_ISLNK(os.lstat(os.path.join(m, n)).st_mode)}))`, mnt]));
  } finally { run('umount', [mnt]); }
}

function compare(img: string): Record<string, string> {
  const raw = openRawImage(img);
  const kinds: Record<string, string> = {};
  for (const [n, [ino, want]] of Object.entries(oracle(img))) {
    const inode = raw.inode(ino);
    expect({ n, t: Buffer.from(readSymlink(raw.ctx, inode, block0(raw))).toString('hex') }).toEqual({ n, t: want });
    kinds[n] = symlinkKind(raw.ctx, inode);
  }
  return kinds;
}

let plain = '';
function plainImage(): string {
  if (!plain) {
    plain = build('plain', ['-b', '4096', '-I', '256'],
      'ln -s tiny "$1/xlink" && setfattr -h -n trusted.pad -v 0x$(printf "%0400d" 0) "$1/xlink" && ln -s "$(printf "%0100d" 7)" "$1/kslow"');
  }
  return plain;
}

d('symlinks: kernel oracle', () => {
  test('ext4 without inline_data: fast below 60 bytes, slow from 60; fast with an xattr block', () => {
    const img = plainImage();
    const kinds = compare(img);
    expect(kinds).toMatchObject({ fast1: 'fast', fast59: 'fast', slow60: 'slow', slow300: 'slow', slowmax: 'slow', xlink: 'fast', kslow: 'slow' });
    const raw = openRawImage(img);
    const x = raw.inode(oracle(img).xlink[0]);
    expect(x.fileAcl).not.toBe(0); // i_blocks counts the xattr block; still fast
  });

  test('inline_data: long targets inline (mkfs -d), equal to the kernel', () => {
    const kinds = compare(build('inline', ['-b', '4096', '-I', '256', '-O', 'inline_data']));
    expect(kinds).toMatchObject({ fast1: 'fast', fast59: 'fast', inline80: 'inline', slowmax: 'slow' });
  });

  test('ea_inode: fastness from i_size', () => {
    const kinds = compare(build('ea', ['-b', '4096', '-I', '256', '-O', 'ea_inode']));
    expect(kinds).toMatchObject({ fast1: 'fast', fast59: 'fast', slow60: 'slow' });
  });
});

d('symlink damage: the kernel and readSymlink agree', () => {
  test('NUL inside a fast target, i_size 0, no NUL after the target -> EUCLEAN; slow i_size cut', () => {
    const src = join(work, 'dmg.src');
    mkdirSync(src);
    for (const n of ['nul', 'zero', 'short']) symlinkSync('abcdefgh', join(src, n));
    symlinkSync('q'.repeat(100), join(src, 'slowcut'));
    const img = join(work, 'dmg.img');
    run('truncate', ['-s', '8M', img]);
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', '-d', src, img]);
    for (const cmd of ['sif /nul block[0] 0x00636261', 'sif /zero size 0', 'sif /short size 3', 'sif /slowcut size 10']) {
      run('debugfs', ['-w', '-R', cmd, img]);
    }
    const mnt = `${img}.ro`;
    mkdirSync(mnt);
    run('mount', ['-o', 'ro,loop', img, mnt]);
    let kernel: Record<string, [number, string | number]>;
    try {
      kernel = JSON.parse(run('python3', ['-c', `
import os, sys, json
m = sys.argv[1]; out = {}
for n in ['nul', 'zero', 'short', 'slowcut']:
    try: out[n] = [os.lstat(os.path.join(m, n)).st_ino, os.fsencode(os.readlink(os.path.join(m, n))).hex()]
    except OSError as e: out[n] = [0, e.errno]
print(json.dumps(out))`, mnt]));
    } finally { run('umount', [mnt]); }
    expect(kernel.nul[1]).toBe(117);
    expect(kernel.zero[1]).toBe(117);
    expect(kernel.short[1]).toBe(117);
    expect(kernel.slowcut[1]).toBe(Buffer.from('q'.repeat(10)).toString('hex'));
    const raw = openRawImage(img);
    // The kernel fails the lookup, so ino comes from the directory: debugfs knows it.
    const inoOf = (n: string) => Number(/Inode: (\d+)/.exec(run('debugfs', ['-R', `stat /${n}`, img]))![1]);
    for (const n of ['nul', 'zero', 'short']) {
      let err: unknown = null;
      try { readSymlink(raw.ctx, raw.inode(inoOf(n)), block0(raw)); } catch (e) { err = e; }
      expect({ n, err: err instanceof CorruptError ? (err as CorruptError).errno : err }).toEqual({ n, err: 117 });
    }
    expect(Buffer.from(readSymlink(raw.ctx, raw.inode(kernel.slowcut[0]), block0(raw))).toString('hex')).toBe(kernel.slowcut[1]);
  });
});

d('symlink rejections, one per reason', () => {
  let raw: RawImage;
  let names: Record<string, [number, string]>;
  beforeAll(() => { const img = plainImage(); raw = openRawImage(img); names = oracle(img); });
  const ino = (n: string) => raw.inode(names[n][0]);
  const read = (i: InodeInfo) => readSymlink(raw.ctx, i, block0(raw));
  const corrupt = (i: InodeInfo, re: RegExp) => {
    expect(() => read(i)).toThrow(CorruptError);
    expect(() => read(i)).toThrow(re);
  };
  test('fast: i_size 0', () => { corrupt({ ...ino('fast1'), size: 0 }, /invalid fast symlink length/); });
  test('fast: NUL inside the target', () => {
    const i = ino('fast59');
    const b = i.iBlock.slice(); b[10] = 0;
    corrupt({ ...i, iBlock: b }, /invalid fast symlink length/);
  });
  test('fast: no NUL right after the target', () => { corrupt({ ...ino('fast1'), size: 0 + 1, iBlock: new Uint8Array(60).fill(0x41) }, /invalid fast symlink length/); });
  test('fast (ea_inode rule is by size, non-ea by i_blocks): i_size 60 with i_blocks 0', () => {
    corrupt({ ...ino('fast59'), size: 60 }, /invalid fast symlink length/);
  });
  test('append/immutable flags', () => { corrupt({ ...ino('fast1'), flags: 0x10 }, /immutable or append/); });
  test('encrypted symlinks are refused with EOPNOTSUPP and a message', () => {
    try { read({ ...ino('slow300'), flags: ino('slow300').flags | 0x800 }); throw new Error('no throw'); } catch (e) {
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).errno).toBe(95);
      expect((e as Error).message).toMatch(/encrypted symlink/);
    }
  });
  test('slow: no block 0', () => { corrupt({ ...ino('slow300'), iBlock: new Uint8Array(60), flags: 0 }, /no block 0/); });
  test('slow: cut at i_size, at blocksize - 1 and at a NUL, as nd_terminate_link', () => {
    const i = ino('slowmax');
    expect(read({ ...i, size: 10 }).length).toBe(10);
    expect(read({ ...i, size: 9000 }).length).toBe(4000); // the block holds NULs after the target
    expect(isFastSymlink(raw.ctx, i)).toBe(false);
    expect(() => readSymlink(raw.ctx, { ...i, mode: (i.mode & ~S_IFMT) | 0o100000 }, block0(raw))).toThrow(FsError);
    expect((i.mode & S_IFMT) === S_IFLNK).toBe(true);
  });
});

d('corpus sweep: symlinks of every e2fsprogs test image, typed errors only', () => {
  test('readSymlink never throws an untyped error', () => {
    const dir = CORPUS_DIR;
    const typed = (e: unknown) => e instanceof CorruptError || e instanceof FsError || e instanceof IoError || e instanceof IncompatibleError;
    let links = 0; let bad = 0;
    for (const f of corpusSample(/symlink|link|fast|inline|bigalloc/)) {
      const p = join(work, 'corpus.img');
      writeFileSync(p, gunzipSync(readFileSync(join(dir, f))));
      let img: RawImage;
      try { img = openRawImage(p); } catch { continue; }
      const c = img.ctx;
      if (!(c.blockSize >= 1024 && c.blockSize <= 65536 && c.inodeSize >= 128 && c.inodesPerGroup > 0)) continue;
      const b0 = block0(img);
      const safe0 = (i: InodeInfo) => { try { return b0(i); } catch (e) { if (typed(e)) throw e; throw new FsError(5, 'test reader'); } };
      for (let n = 1; n <= Math.min(c.inodesCount, 4096); n++) {
        let info: InodeInfo;
        try {
          info = img.inode(n);
          if ((info.mode & S_IFMT) !== S_IFLNK || info.raw.length < c.inodeSize || info.extraEnd > c.inodeSize) continue;
        } catch { continue; }
        links++;
        try { readSymlink(c, info, safe0); } catch (e) {
          if (!typed(e)) throw new Error(`${f} inode ${n}: untyped ${String(e)}`);
          bad++;
        }
      }
    }
    expect(links).toBeGreaterThan(20);
    expect(bad).toBeGreaterThan(0);
  });
});

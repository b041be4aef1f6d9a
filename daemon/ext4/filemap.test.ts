import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EXT4_INLINE_DATA_FL, FsContext, InodeInfo } from './context.js';
import { FsError } from './errors.js';
import { bmap, fileLayout, mapRange, readRangeSync, seekData, seekHole, Segment } from './filemap.js';
import { openRawImage, RawImage } from './testing/rawctx.js';

const sh = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });

const GiB = 2 ** 30;
let dir: string;
const mounts: string[] = [];
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'filemap-test-')); });
afterAll(() => {
  for (const m of mounts) { try { sh('umount', [m]); } catch { /* already gone */ } }
  rmSync(dir, { recursive: true, force: true });
});

function mountRo(img: string, name: string): string {
  const mnt = join(dir, name);
  mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro,loop', img, mnt]);
  mounts.push(mnt);
  return mnt;
}
function umount(mnt: string): void {
  sh('umount', [mnt]);
  mounts.splice(mounts.indexOf(mnt), 1);
}

function inoOf(img: string, path: string): number {
  return Number(/Inode: (\d+)/.exec(sh('debugfs', ['-R', `stat ${path}`, img]))![1]);
}

function pread(path: string, off: number, len: number): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, off + got);
    if (n === 0) break;
    got += n;
  }
  closeSync(fd);
  return b.subarray(0, got);
}

/** The kernel's lseek(SEEK_DATA/SEEK_HOLE) per offset: a number or 'ENXIO'. */
function kernelSeek(path: string, offs: number[]): Array<[number | string, number | string]> {
  const py = `
import os, sys, json, errno
fd = os.open(sys.argv[1], os.O_RDONLY)
out = []
for o in json.loads(sys.stdin.read()):
    r = []
    for w in (os.SEEK_DATA, os.SEEK_HOLE):
        try: r.append(os.lseek(fd, o, w))
        except OSError as e: r.append(errno.errorcode[e.errno])
    out.append(r)
print(json.dumps(out))`;
  return JSON.parse(sh('python3', ['-c', py, path], JSON.stringify(offs)));
}
function ourSeek(ctx: FsContext, inode: InodeInfo, offs: number[]): Array<[number | string, number | string]> {
  const one = (f: () => number): number | string => {
    try { return f(); } catch (e) { if (e instanceof FsError && e.errno === 6) return 'ENXIO'; throw e; }
  };
  return offs.map((o) => [one(() => seekData(ctx, inode, o)), one(() => seekHole(ctx, inode, o))]);
}

/** What the fast data path does: device reads at the segments' byte offsets. */
function readBySegments(raw: RawImage, segs: Segment[], offset: number, total: number): Buffer {
  const out = Buffer.alloc(total);
  let at = offset;
  for (const s of segs) {
    expect(s.fileOffset).toBe(at); // contiguous, in order
    if (s.kind === 'data') out.set(raw.bytes.subarray(s.devByteOffset, s.devByteOffset + s.length), s.fileOffset - offset);
    if (s.kind === 'inline') throw new Error('inline in block file');
    at += s.length;
  }
  expect(at - offset).toBe(total);
  return out;
}

describe('4 KiB ext4: sparse > 4 GiB, fragmented, unwritten, punched', () => {
  let img: string; let mnt: string; let raw: RawImage;
  const contig = randomBytes(3 << 20);
  const marks: Array<[number, Buffer]> = [
    [0, randomBytes(8192)], [(1 << 20) + 100, randomBytes(4096)], [4 * GiB + 123, randomBytes(5000)],
    [4 * GiB - 50, randomBytes(100)], [5 * GiB - 10, randomBytes(10)],
  ];
  const ino = (p: string) => raw.inode(inoOf(img, p));

  beforeAll(() => {
    const src = join(dir, 'src4');
    mkdirSync(src);
    const fd = openSync(join(src, 'sparse'), 'w');
    for (const [o, b] of marks) writeSync(fd, b, 0, b.length, o);
    closeSync(fd);
    writeFileSync(join(src, 'contig'), contig);
    writeFileSync(join(src, 'small'), 'hello, small file\n');
    const fr = openSync(join(src, 'frag'), 'w');
    for (let i = 0; i < 600; i++) writeSync(fr, randomBytes(4096), 0, 4096, 2 * i * 4096 + (i % 3) * 1000);
    closeSync(fr);
    img = join(dir, 'a4.img');
    sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', src, img, '64M']);
    // Unwritten extents and punched holes need the kernel's rw path.
    const rw = join(dir, 'rw4');
    mkdirSync(rw);
    sh('mount', ['-o', 'loop', img, rw]);
    mounts.push(rw);
    sh('fallocate', ['-l', String(64 << 10), join(rw, 'unwritten')]);
    sh('dd', ['if=/dev/urandom', `of=${join(rw, 'unwritten')}`, 'bs=4096', 'seek=4', 'count=1', 'conv=notrunc,fsync', 'status=none']);
    writeFileSync(join(rw, 'punched'), randomBytes(256 << 10));
    sh('fallocate', ['-p', '-o', String(40960), '-l', String(8192 + 4096), join(rw, 'punched')]);
    sh('fallocate', ['-l', String(1 << 20), join(rw, 'allunwritten')]);
    umount(rw);
    mnt = mountRo(img, 'ro4');
    raw = openRawImage(img);
  });

  test('sparse 5 GiB file: bytes at every mark match the kernel, exact past 4 GiB', () => {
    const inode = ino('/sparse');
    expect(inode.size).toBe(5 * GiB);
    for (const [o, b] of marks) {
      for (const [off, len] of [[o - 300, b.length + 600], [o, b.length]] as Array<[number, number]>) {
        const lo = Math.max(0, off);
        const kern = pread(join(mnt, 'sparse'), lo, len);
        const ours = Buffer.from(readRangeSync(raw.ctx, inode, lo, len));
        expect(ours.equals(kern)).toBe(true);
        expect(readBySegments(raw, mapRange(raw.ctx, inode, lo, len), lo, kern.length).equals(kern)).toBe(true);
      }
    }
    // A 1 MiB read straddling 4 GiB: zeros, then the data.
    const segs = mapRange(raw.ctx, inode, 4 * GiB - (1 << 19), 1 << 20);
    expect(segs[0]).toEqual({ kind: 'zero', fileOffset: 4 * GiB - (1 << 19), length: (1 << 19) - 4096 });
    expect(segs.some((s) => s.kind === 'data' && s.fileOffset === 4 * GiB - 4096)).toBe(true);
    // Clipped to i_size.
    expect(mapRange(raw.ctx, inode, 5 * GiB - 4, 100).reduce((n, s) => n + s.length, 0)).toBe(4);
    expect(mapRange(raw.ctx, inode, 5 * GiB, 100)).toEqual([]);
    expect(readRangeSync(raw.ctx, inode, 6 * GiB, 10).length).toBe(0);
  });

  test('sparse file: SEEK_DATA / SEEK_HOLE equal the kernel', () => {
    const inode = ino('/sparse');
    const offs = [0, 5000, 8192, 9000, 1 << 20, (1 << 20) + 5000, 3 * GiB, 4 * GiB - 4096, 4 * GiB + 2000, 4 * GiB + 9000, 5 * GiB - 4096, 5 * GiB - 1, 5 * GiB, 6 * GiB];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'sparse'), offs));
  });

  test('contiguous file: a 1 MiB read is one device segment; contents match', () => {
    const inode = ino('/contig');
    const segs = mapRange(raw.ctx, inode, 1 << 20, 1 << 20);
    expect(segs.length).toBe(1);
    expect(segs[0].kind).toBe('data');
    const kern = readFileSync(join(mnt, 'contig'));
    expect(kern.equals(contig)).toBe(true);
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, contig.length)).equals(kern)).toBe(true);
    expect(readBySegments(raw, mapRange(raw.ctx, inode, 12345, 2 << 20), 12345, 2 << 20).equals(kern.subarray(12345, 12345 + (2 << 20)))).toBe(true);
  });

  test('fragmented file (depth >= 1): whole-file segments and unaligned reads match the kernel', () => {
    const inode = ino('/frag');
    const kern = readFileSync(join(mnt, 'frag'));
    expect(inode.size).toBe(kern.length);
    expect(readBySegments(raw, mapRange(raw.ctx, inode, 0, kern.length), 0, kern.length).equals(kern)).toBe(true);
    for (const [o, l] of [[1, 4095], [4000, 9000], [123456, 777777], [kern.length - 5000, 10000]]) {
      expect(Buffer.from(readRangeSync(raw.ctx, inode, o, l)).equals(kern.subarray(o, o + l))).toBe(true);
    }
    const offs = [0, 4096, 5000, 8192, 9000, 100000, kern.length - 1];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'frag'), offs));
  });

  test('unwritten extents read as zeros and are holes for SEEK_DATA/HOLE (iomap, no page cache)', () => {
    // A fresh mount: reading unwritten ranges leaves uptodate zero pages in the kernel's
    // page cache, which iomap then reports as data. The FUSE server has no such cache.
    umount(mnt);
    mnt = mountRo(img, 'ro4');
    const inode = ino('/unwritten');
    const offs = [0, 100, 16384, 18000, 20480, 30000, 65535];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'unwritten'), offs));
    expect(ourSeek(raw.ctx, inode, offs)).toEqual([
      [16384, 0], [16384, 100], [16384, 20480], [18000, 20480], ['ENXIO', 20480], ['ENXIO', 30000], ['ENXIO', 65535],
    ]);
    const all = ino('/allunwritten');
    expect(ourSeek(raw.ctx, all, [0, 4096])).toEqual(kernelSeek(join(mnt, 'allunwritten'), [0, 4096]));
    const kern = readFileSync(join(mnt, 'unwritten'));
    expect(kern.length).toBe(64 << 10);
    const segs = mapRange(raw.ctx, inode, 0, 64 << 10);
    expect(segs.map((s) => [s.kind, s.fileOffset, s.length])).toEqual([['zero', 0, 16384], ['data', 16384, 4096], ['zero', 20480, 45056]]);
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, 64 << 10)).equals(kern)).toBe(true);
    expect(bmap(raw.ctx, inode, 0)).toBe(0); // FIBMAP: unwritten is not mapped
    expect(bmap(raw.ctx, inode, 4)).toBeGreaterThan(0);
  });

  test('punched hole: zeros in the middle; seeks equal the kernel', () => {
    const inode = ino('/punched');
    const kern = readFileSync(join(mnt, 'punched'));
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, kern.length)).equals(kern)).toBe(true);
    expect(mapRange(raw.ctx, inode, 40960, 12288)).toEqual([{ kind: 'zero', fileOffset: 40960, length: 12288 }]);
    const offs = [0, 40960, 45000, 53248, 60000];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'punched'), offs));
  });

  test('bmap equals debugfs bmap, 0 for holes', () => {
    for (const [p, blocks] of [['/frag', [0, 1, 2, 3, 100, 599 * 2]], ['/sparse', [0, 1, 256, 257, 1048576, 1048577, 1310719]], ['/contig', [0, 500]]] as Array<[string, number[]]>) {
      const inode = ino(p);
      const cmds = blocks.map((b) => `bmap ${p} ${b}`).join('\n') + '\n';
      const cmdf = join(dir, 'bmap.cmd');
      writeFileSync(cmdf, cmds);
      const out = sh('debugfs', ['-f', cmdf, img]).split('\n').filter((l) => /^\d+/.test(l)).map((l) => parseInt(l, 10));
      expect(blocks.map((b) => bmap(raw.ctx, inode, b))).toEqual(out);
    }
  });

  test('small file, empty reads, bad requests', () => {
    const inode = ino('/small');
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, 4096)).toString()).toBe('hello, small file\n');
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 7, 5)).toString()).toBe('small');
    expect(mapRange(raw.ctx, inode, 3, 0)).toEqual([]);
    expect(() => mapRange(raw.ctx, inode, -1, 5)).toThrow(FsError);
    expect(() => mapRange(raw.ctx, inode, 0, 2 ** 60)).toThrow(FsError);
    expect(() => readRangeSync(raw.ctx, inode, 0, 1 << 30)).toThrow(FsError);
    expect(() => seekData(raw.ctx, inode, 18)).toThrow(expect.objectContaining({ errno: 6 }));
    expect(seekHole(raw.ctx, inode, 0)).toBe(18);
  });
});

describe('other block sizes and layouts', () => {
  test('1 KiB ext4 and ext2 (triple indirect): contents match the kernel', () => {
    for (const [name, mk] of [['k1ext4', 'mkfs.ext4'], ['k1ext2', 'mkfs.ext2']]) {
      const src = join(dir, `${name}-src`);
      mkdirSync(src);
      const fd = openSync(join(src, 'f'), 'w');
      const marks = [0, 5 * 1024 + 7, 300 * 1024, 70000 * 1024 + 1, 90 << 20];
      for (const o of marks) writeSync(fd, randomBytes(3000), 0, 3000, o);
      closeSync(fd);
      const img = join(dir, `${name}.img`);
      sh(mk, ['-q', '-F', '-b', '1024', '-d', src, img, '16M']);
      const raw = openRawImage(img);
      const inode = raw.inode(inoOf(img, '/f'));
      expect(fileLayout(inode)).toBe(mk === 'mkfs.ext2' ? 'blockmap' : 'extents');
      const mnt = mountRo(img, `${name}-mnt`);
      for (const o of marks) {
        const kern = pread(join(mnt, 'f'), Math.max(0, o - 2000), 7000);
        expect(Buffer.from(readRangeSync(raw.ctx, inode, Math.max(0, o - 2000), 7000)).equals(kern)).toBe(true);
        const segs = mapRange(raw.ctx, inode, Math.max(0, o - 2000), 7000);
        expect(readBySegments(raw, segs, Math.max(0, o - 2000), kern.length).equals(kern)).toBe(true);
      }
      const offs = [0, 4000, 6000, 300 * 1024, 1 << 20, 70000 * 1024, 80 << 20, (90 << 20) + 2999];
      expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'f'), offs));
      umount(mnt);
    }
  });

  test('16 TiB sparse file: logical block 2^32 - 2, byte offsets past 2^44 exact', () => {
    const src = join(dir, 'k16t-src');
    mkdirSync(src);
    const off = (2 ** 32 - 2) * 4096 + 100;
    const fd = openSync(join(src, 'huge'), 'w');
    writeSync(fd, Buffer.from('END'.repeat(1000)), 0, 3000, off);
    closeSync(fd);
    const img = join(dir, 'k16t.img');
    sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-d', src, img, '32M']);
    const raw = openRawImage(img);
    const inode = raw.inode(inoOf(img, '/huge'));
    expect(inode.size).toBe(off + 3000);
    const mnt = mountRo(img, 'k16t-mnt');
    const kern = pread(join(mnt, 'huge'), off - 5000, 9000);
    expect(kern.length).toBe(8000);
    expect(Buffer.from(readRangeSync(raw.ctx, inode, off - 5000, 9000)).equals(kern)).toBe(true);
    const segs = mapRange(raw.ctx, inode, off - 5000, 9000);
    expect(segs.map((x) => x.kind)).toEqual(['zero', 'data']);
    expect(readBySegments(raw, segs, off - 5000, 8000).equals(kern)).toBe(true);
    const offs = [0, 2 ** 40, off - 100, off, off + 2999];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'huge'), offs));
    expect(bmap(raw.ctx, inode, 2 ** 32 - 2)).toBeGreaterThan(0);
    expect(bmap(raw.ctx, inode, 2 ** 32 - 1)).toBe(0);
    expect(bmap(raw.ctx, inode, 2 ** 40)).toBe(0);
    umount(mnt);
  });

  test('bigalloc (16 KiB clusters of 4 KiB blocks): extents stay in block units', () => {
    const src = join(dir, 'big-src');
    mkdirSync(src);
    const fd = openSync(join(src, 'f'), 'w');
    const marks = [0, 4096 * 3 + 5, 4096 * 9, 1 << 20];
    for (const o of marks) writeSync(fd, randomBytes(5000), 0, 5000, o);
    closeSync(fd);
    const img = join(dir, 'bigalloc.img');
    sh('mkfs.ext4', ['-q', '-F', '-O', 'bigalloc', '-C', '16384', '-b', '4096', '-d', src, img, '64M']);
    const raw = openRawImage(img);
    expect(raw.ctx.clusterBits).toBe(2);
    const inode = raw.inode(inoOf(img, '/f'));
    const mnt = mountRo(img, 'bigalloc-mnt');
    const kern = readFileSync(join(mnt, 'f'));
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, kern.length)).equals(kern)).toBe(true);
    expect(readBySegments(raw, mapRange(raw.ctx, inode, 0, kern.length), 0, kern.length).equals(kern)).toBe(true);
    const offs = [0, 9000, 20000, 40000, 50000, 1 << 19, (1 << 20) + 4000];
    expect(ourSeek(raw.ctx, inode, offs)).toEqual(kernelSeek(join(mnt, 'f'), offs));
    umount(mnt);
  });

  test('64 KiB blocks (the kernel cannot mount them here): contents match debugfs dump', () => {
    const src = join(dir, 'k64-src');
    mkdirSync(src);
    const data = randomBytes(300000);
    writeFileSync(join(src, 'r'), data);
    const fd = openSync(join(src, 's'), 'w');
    writeSync(fd, data, 0, 70000, 5 * 65536 + 3);
    closeSync(fd);
    const img = join(dir, 'k64.img');
    sh('mkfs.ext4', ['-q', '-F', '-b', '65536', '-d', src, img, '64M']);
    const raw = openRawImage(img);
    expect(raw.ctx.blockSize).toBe(65536);
    for (const f of ['r', 's']) {
      const out = join(dir, `k64-${f}`);
      sh('debugfs', ['-R', `dump /${f} ${out}`, img]);
      const want = readFileSync(out);
      const inode = raw.inode(inoOf(img, `/${f}`));
      expect(Buffer.from(readRangeSync(raw.ctx, inode, 0, want.length + 10)).equals(want)).toBe(true);
      expect(readBySegments(raw, mapRange(raw.ctx, inode, 0, want.length), 0, want.length).equals(want)).toBe(true);
    }
    const s = raw.inode(inoOf(img, '/s'));
    expect(seekData(raw.ctx, s, 0)).toBe(5 * 65536);
    expect(seekHole(raw.ctx, s, 5 * 65536)).toBe(s.size);
  });

  test('inline data: one inline segment, data via the injected reader; bmap 0; seeks', () => {
    const src = join(dir, 'inl-src');
    mkdirSync(src);
    writeFileSync(join(src, 'tiny'), 'inline bytes!');
    const img = join(dir, 'inl.img');
    sh('mkfs.ext4', ['-q', '-F', '-O', 'inline_data', '-b', '4096', '-d', src, img, '16M']);
    const raw = openRawImage(img);
    const inode = raw.inode(inoOf(img, '/tiny'));
    expect(inode.flags & EXT4_INLINE_DATA_FL).toBeTruthy();
    expect(mapRange(raw.ctx, inode, 2, 100)).toEqual([{ kind: 'inline', fileOffset: 2, length: 11 }]);
    // Test stand-in for inline.ts: the first 60 bytes live in i_block.
    const reader = (_c: FsContext, i: InodeInfo) => i.iBlock.subarray(0, i.size);
    expect(Buffer.from(readRangeSync(raw.ctx, inode, 7, 100, reader)).toString()).toBe('bytes!');
    expect(() => readRangeSync(raw.ctx, inode, 0, 10)).toThrow(FsError);
    expect(bmap(raw.ctx, inode, 0)).toBe(0);
    expect(seekData(raw.ctx, inode, 3)).toBe(3);
    expect(seekHole(raw.ctx, inode, 3)).toBe(13);
    const mnt = mountRo(img, 'inl-mnt');
    expect(ourSeek(raw.ctx, inode, [0, 3, 12, 13, 20])).toEqual(kernelSeek(join(mnt, 'tiny'), [0, 3, 12, 13, 20]));
    expect(readFileSync(join(mnt, 'tiny')).toString()).toBe('inline bytes!');
    umount(mnt);
  });
});

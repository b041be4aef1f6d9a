import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewOf } from '../util/bytes.js';
import { EXT4_EXTENTS_FL } from './context.js';
import { CorruptError } from './errors.js';
import { Mapping } from './extent.js';
import { indirectLimit, indirectLookup, indirectRuns } from './indirect.js';
import { openRawImage, RawImage } from './testing/rawctx.js';

const sh = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'indirect-test-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** Writes one block at each listed logical block, plus `runs` of consecutive blocks. */
function sparse(path: string, bs: number, blocks: number[], runs: Array<[number, number]> = []): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(bs, 0x55);
  for (const b of blocks) { buf.writeUInt32LE(b, 0); writeSync(fd, buf, 0, bs, b * bs); }
  for (const [s, n] of runs) for (let b = s; b < s + n; b++) { buf.writeUInt32LE(b, 0); writeSync(fd, buf, 0, bs, b * bs); }
  closeSync(fd);
}

function build(name: string, mkfs: string, bs: number, sizeMb: number, make: (src: string) => void): string {
  const src = join(dir, `${name}-src`);
  mkdirSync(src);
  make(src);
  const img = join(dir, `${name}.img`);
  sh(mkfs, ['-q', '-F', '-b', String(bs), '-d', src, img, `${sizeMb}M`]);
  return img;
}

interface Stat { ino: number; blocks: Array<[number, number, number]> } // [lblk, len, pblk]
/** debugfs stat: inode number and the BLOCKS: data runs (indirect blocks skipped). */
function debugfsStat(img: string, path: string): Stat {
  const out = sh('debugfs', ['-R', `stat ${path}`, img]);
  const ino = Number(/Inode: (\d+)/.exec(out)![1]);
  const blocks: Array<[number, number, number]> = [];
  const sect = out.slice(out.indexOf('BLOCKS:'));
  for (const m of sect.matchAll(/\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?/g)) {
    const l = +m[1]; const le = m[2] ? +m[2] : l;
    blocks.push([l, le - l + 1, +m[3]]);
  }
  return { ino, blocks };
}

/** Merges physically and logically contiguous runs (debugfs splits at indirect blocks). */
function merge(runs: Array<[number, number, number]>): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const r of runs) {
    const p = out[out.length - 1];
    if (p && p[0] + p[1] === r[0] && p[2] + p[1] === r[2]) p[1] += r[1];
    else out.push([...r]);
  }
  return out;
}

const mappedOf = (ms: Iterable<Mapping>) =>
  [...ms].flatMap((m) => (m.kind === 'mapped' ? [[m.lblk, m.len, m.pblk] as [number, number, number]] : []));

function thrown(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('expected a throw');
}

// 1 KiB blocks: 12 direct, 256 single, 65536 double, then triple from 65804.
const BLOCKS_1K = [0, 5, 11, 12, 200, 267, 268, 30000, 65803, 65804, 70000, 100000, 4_000_000];

describe('ext2/ext3 block maps', () => {
  let ext2: string; let ext3: string;
  beforeAll(() => {
    ext2 = build('e2', 'mkfs.ext2', 1024, 16, (src) => sparse(join(src, 'big'), 1024, BLOCKS_1K, [[1000, 101]]));
    ext3 = build('e3', 'mkfs.ext3', 4096, 16, (src) => {
      sparse(join(src, 'f'), 4096, [0, 3, 12, 1035, 1036, 5000, 1024 + 12 + 1024 * 1024 + 7], [[20, 300]]);
    });
  });

  test('reach: direct + single + double + triple, capped at 2^32', () => {
    expect(indirectLimit(1024)).toBe(12 + 256 + 65536 + 16777216);
    expect(indirectLimit(4096)).toBe(12 + 1024 + 1024 ** 2 + 1024 ** 3);
    expect(indirectLimit(65536)).toBe(2 ** 32);
  });

  test.each([['ext2 1k (triple indirect)', () => ext2, '/big'], ['ext3 4k', () => ext3, '/f']])(
    '%s: runs equal debugfs stat', (_n, imgf, path) => {
      const img = imgf();
      const st = debugfsStat(img, path);
      const raw = openRawImage(img);
      const inode = raw.inode(st.ino);
      expect(inode.flags & EXT4_EXTENTS_FL).toBe(0);
      const runs = [...indirectRuns(raw.ctx, inode, 0, Math.ceil(inode.size / raw.ctx.blockSize))];
      // Contiguous cover of the requested range.
      let at = 0;
      for (const r of runs) { expect(r.lblk).toBe(at); expect(r.len).toBeGreaterThan(0); at += r.len; }
      expect(at).toBe(Math.ceil(inode.size / raw.ctx.blockSize));
      expect(mappedOf(runs)).toEqual(merge(st.blocks));
      // Lookup of every mapped block and the hole right after it.
      for (const [l, n, p] of st.blocks) {
        for (let i = 0; i < n; i += Math.max(1, n - 1)) {
          const m = indirectLookup(raw.ctx, inode, l + i);
          expect(m.kind === 'mapped' && m.pblk).toBe(p + i);
        }
      }
    });

  test('ext2 1k: holes at every level and past the reach', () => {
    const st = debugfsStat(ext2, '/big');
    const raw = openRawImage(ext2);
    const inode = raw.inode(st.ino);
    expect(indirectLookup(raw.ctx, inode, 1)).toEqual({ kind: 'hole', lblk: 1, len: 4 });
    expect(indirectLookup(raw.ctx, inode, 269)).toEqual({ kind: 'hole', lblk: 269, len: 1000 - 269 });
    expect(indirectLookup(raw.ctx, inode, 100001)).toEqual({ kind: 'hole', lblk: 100001, len: 4_000_000 - 100001 });
    const lim = indirectLimit(1024);
    const past = [...indirectRuns(raw.ctx, inode, lim - 2, lim + 10)];
    expect(past).toEqual([{ kind: 'hole', lblk: lim - 2, len: 12 }]);
    // The 101-block run has an indirect block in its middle on disk: two device runs.
    const p = st.blocks.find((b) => b[0] === 1000)![2];
    expect(mappedOf(indirectRuns(raw.ctx, inode, 1000, 1101))).toEqual([[1000, 36, p], [1036, 65, p + 37]]);
    expect(mappedOf(indirectRuns(raw.ctx, inode, 1001, 1030))).toEqual([[1001, 29, p + 1]]);
  });

  describe('corruption', () => {
    let raw: RawImage; let ino: number; let st: Stat;
    beforeAll(() => { st = debugfsStat(ext2, '/big'); ino = st.ino; });
    beforeEach(() => { raw = openRawImage(ext2); });
    const iblock = () => viewOf(raw.inode(ino).iBlock);
    const all = () => [...indirectRuns(raw.ctx, raw.inode(ino), 0, 4_000_001)];

    test('direct pointer outside the filesystem', () => {
      iblock().setUint32(5 * 4, raw.ctx.blocksCount + 3, true);
      const e = thrown(all) as CorruptError;
      expect(e).toBeInstanceOf(CorruptError);
      expect(e.structure).toBe('indirect_block');
      expect(e.at).toMatchObject({ inode: ino, lblk: 5 });
    });
    test('double-indirect slot outside the filesystem', () => {
      iblock().setUint32(13 * 4, 0xffffffff, true);
      const e = thrown(() => indirectLookup(raw.ctx, raw.inode(ino), 268)) as CorruptError;
      expect(e).toBeInstanceOf(CorruptError);
      expect(e.at).toMatchObject({ inode: ino, lblk: 268 });
    });
    test('a bad pointer inside an indirect block names that block', () => {
      const ind = viewOf(raw.inode(ino).iBlock).getUint32(12 * 4, true);
      viewOf(raw.ctx.readBlock(ind, 'test')).setUint32((200 - 12) * 4, raw.ctx.blocksCount, true);
      const e = thrown(() => indirectLookup(raw.ctx, raw.inode(ino), 200)) as CorruptError;
      expect(e.at).toMatchObject({ inode: ino, block: ind, offset: (200 - 12) * 4, lblk: 200 });
      // Blocks before it are still served.
      expect(indirectLookup(raw.ctx, raw.inode(ino), 12).kind).toBe('mapped');
    });
    test('a self-referencing indirect block is refused (no work amplification)', () => {
      const tind = iblock().getUint32(14 * 4, true);
      const b = viewOf(raw.ctx.readBlock(tind, 'test'));
      b.setUint32(0, tind, true); // the triple block names itself as its first double block
      const e = thrown(() => [...indirectRuns(raw.ctx, raw.inode(ino), 65804, 65804 + 3 * 65536)]) as CorruptError;
      expect(e.message).toBe(`corrupt indirect_block: block referenced twice (inode ${ino}, block ${tind}, lblk 65804, block=${tind})`);
    });
    test('one double block shared by every triple slot: refused at the second use', () => {
      const tind = iblock().getUint32(14 * 4, true);
      const b = viewOf(raw.ctx.readBlock(tind, 'test'));
      const dind = b.getUint32(0, true);
      for (let j = 1; j < 256; j++) b.setUint32(j * 4, dind, true);
      const t0 = Date.now();
      expect(thrown(() => [...indirectRuns(raw.ctx, raw.inode(ino), 0, 2 ** 32)]).message).toMatch(/referenced twice/);
      expect(Date.now() - t0).toBeLessThan(2000);
    });
    test('node budget', () => {
      const e = thrown(() => [...indirectRuns(raw.ctx, raw.inode(ino), 0, 4_000_001, { nodes: 2 })]);
      expect(e.message).toMatch(/walk budget exhausted/);
    });
    test('hostile logical block numbers are refused, not mis-computed', () => {
      expect(thrown(() => [...indirectRuns(raw.ctx, raw.inode(ino), -1, 4)])).toBeInstanceOf(CorruptError);
      expect(thrown(() => [...indirectRuns(raw.ctx, raw.inode(ino), 0, 2 ** 60)])).toBeInstanceOf(CorruptError);
    });
  });
});

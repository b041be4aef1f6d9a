// htree decoding on an index built by e2fsck -fD (1 KiB blocks, metadata_csum, two levels),
// and one test per dx_probe / read_dirblock rejection: each mutates a copy of an index
// block and re-signs its dx_tail so the mutation reaches the check under test.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRawImage } from './testing/rawctx.js';
import { FsContext, InodeInfo } from './context.js';
import { FeatureSet, INCOMPAT } from './features.js';
import { bmap } from './filemap.js';
import { ChecksumError, CorruptError } from './errors.js';
import { schemaGaps } from '../util/bytes.js';
import { lookup, ReadDirBlock, setDirBlockCsum } from './dir.js';
import {
  BadDxError, currentLeaf, dxCountLimitSchema, dxEntrySchema, dxNodeLimit, dxProbe, dxRootInfoSchema, dxRootLimit,
  dxTailSchema, nextLeaf, parseDxRoot, setDxCsum, verifyDxCsum,
} from './htree.js';

const root = mkdtempSync(join(tmpdir(), 'ext4box-htree-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = new TextEncoder();
const NAMES = Array.from({ length: 3000 }, (_, i) => `entry-${String(i).padStart(200, '0')}`);

let ctx: FsContext;
let dir: InodeInfo;
let base: ReadDirBlock;
let nblocks: number;

beforeAll(() => {
  const src = join(root, 'src');
  mkdirSync(join(src, 'd'), { recursive: true });
  for (const n of NAMES) writeFileSync(join(src, 'd', n), '');
  const img = join(root, 'h.img');
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '1024', '-N', '4096', '-d', src, img, '16M'], { stdio: 'ignore' });
  execFileSync('debugfs', ['-w', '-R', 'ssv flags 2', img], { stdio: 'ignore' });
  spawnSync('e2fsck', ['-fyD', img], { stdio: 'ignore' });
  const raw = openRawImage(img);
  ctx = { ...raw.ctx, hashUnsigned: true } as FsContext;
  const r2 = raw.inode(2);
  const rd = (d: InodeInfo): ReadDirBlock => (l) => { const p = bmap(ctx, d, l); return p ? ctx.readBlock(p, 'dir') : null; };
  dir = raw.inode(lookup(ctx, r2, enc.encode('d'), rd(r2))!.ino);
  base = rd(dir);
  nblocks = dir.size / 1024;
});

/** A directory view with some blocks replaced (mutated copies) or made holes. */
function patched(edits: Record<number, ((b: Uint8Array, dv: DataView) => void) | 'hole'>, resign = true): ReadDirBlock {
  const over = new Map<number, Uint8Array | null>();
  for (const [k, fn] of Object.entries(edits)) {
    const l = Number(k);
    if (fn === 'hole') { over.set(l, null); continue; }
    const b = base(l)!.slice();
    fn(b, new DataView(b.buffer));
    if (resign) setDxCsum(ctx, dir, b);
    over.set(l, b);
  }
  return (l) => (over.has(l) ? over.get(l)! : base(l));
}

const ROOT_ENTRIES = 32;
const rootCount = () => new DataView(base(0)!.buffer, base(0)!.byteOffset).getUint16(ROOT_ENTRIES + 2, true);
const rootEntryBlock = (i: number) => new DataView(base(0)!.buffer, base(0)!.byteOffset).getUint32(ROOT_ENTRIES + 8 * i + 4, true);

function expectBadDx(read: ReadDirBlock, reason: RegExp): void {
  let err: unknown;
  try { dxProbe(ctx, dir, enc.encode(NAMES[7]), nblocks, read); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(BadDxError);
  expect((err as Error).message).toMatch(reason);
  // ERR_BAD_DX_DIR: the lookup falls back to a linear scan and still finds names.
  for (const n of [NAMES[0], NAMES[1234], NAMES[2999]]) expect(lookup(ctx, dir, enc.encode(n), read)).not.toBeNull();
  expect(lookup(ctx, dir, enc.encode('absent'), read)).toBeNull();
}

function expectHard(read: ReadDirBlock, cls: abstract new (...a: never[]) => CorruptError, reason: RegExp, name = NAMES[7]): void {
  let err: unknown;
  try { lookup(ctx, dir, enc.encode(name), read); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(cls);
  expect(err).not.toBeInstanceOf(BadDxError);
  expect((err as Error).message).toMatch(reason);
}

describe('htree structures', () => {
  test('schemas match the kernel sizes', () => {
    expect([dxRootInfoSchema.size, dxEntrySchema.size, dxCountLimitSchema.size, dxTailSchema.size]).toEqual([8, 8, 4, 8]);
    expect(schemaGaps(dxRootInfoSchema)).toEqual([]);
    expect(schemaGaps(dxEntrySchema)).toEqual([]);
    expect(schemaGaps(dxCountLimitSchema)).toEqual([]);
    expect(schemaGaps(dxTailSchema)).toEqual([]);
    expect(dxRootLimit(ctx, 8)).toBe(123);
    expect(dxNodeLimit(ctx, dir)).toBe(126);
  });
  test('the e2fsck-built root and nodes validate and lead to the leaf holding each name', () => {
    const info = parseDxRoot(ctx, dir, base(0)!);
    expect(info).toEqual({ hashVersion: 1, infoLength: 8, indirectLevels: 1, unusedFlags: 0 });
    verifyDxCsum(ctx, dir, base(0)!, {});
    for (const n of [NAMES[0], NAMES[500], NAMES[2999]]) {
      const p = dxProbe(ctx, dir, enc.encode(n), nblocks, base);
      expect(p.frames).toHaveLength(2);
      const leaf = base(currentLeaf(p))!;
      expect(Buffer.from(leaf).includes(Buffer.from(n))).toBe(true);
    }
  });
  test('nextLeaf stops when the next leaf does not continue the hash', () => {
    const p = dxProbe(ctx, dir, enc.encode(NAMES[3]), nblocks, base);
    expect(nextLeaf(ctx, dir, p, nblocks, base)).toBe(false);
  });
  test('a collision continuation (hash|1 on the next index entry) is followed into the next leaf', () => {
    // Make the second entry of the first node carry (hash of name | 1): a continuation.
    const nodeLblk = rootEntryBlock(0);
    const node = base(nodeLblk)!;
    const dv = new DataView(node.buffer, node.byteOffset);
    const firstLeaf = dv.getUint32(8 + 4, true);
    const secondLeaf = dv.getUint32(16 + 4, true);
    const leafBytes = Buffer.from(base(firstLeaf)!);
    const name = NAMES.find((n) => leafBytes.includes(Buffer.from(n)))!;
    const h = dxProbe(ctx, dir, enc.encode(name), nblocks, base).hash.major;
    // Move the name into the second leaf only: a lookup must reach it via the continuation.
    const read = patched({
      [nodeLblk]: (b, v) => v.setUint32(16, (h | 1) >>> 0, true),
      [firstLeaf]: (b) => {
        const i = Buffer.from(b).indexOf(Buffer.from(name));
        b[i] ^= 0x20; // 'e' -> 'E': a different name in the first leaf
        setDirBlockCsum(ctx, dir, b);
      },
    }, false);
    // Re-sign the patched node (the leaf was signed above).
    const nodeCopy = read(nodeLblk)!;
    setDxCsum(ctx, dir, nodeCopy);
    const ino = lookup(ctx, dir, enc.encode(name), base)!.ino;
    // Put the original record for `name` into leaf 2 by swapping in leaf 1's bytes.
    const readSwap: ReadDirBlock = (l) => (l === secondLeaf ? base(firstLeaf) : l === firstLeaf ? read(firstLeaf) : read(l));
    expect(lookup(ctx, dir, enc.encode(name), readSwap)?.ino).toBe(ino);
    // Without the continuation bit the search stops after the first leaf.
    const readNoCont: ReadDirBlock = (l) => (l === secondLeaf ? base(firstLeaf) : l === firstLeaf ? read(firstLeaf) : base(l));
    expect(lookup(ctx, dir, enc.encode(name), readNoCont)).toBeNull();
  });
});

describe('hash signedness', () => {
  test('a wrong signedness misses high-bit names in the index; unknown signedness confirms linearly', () => {
    const hi = enc.encode('zé-not-there-but-high-bit');
    const wrong = { ...ctx, hashUnsigned: false } as FsContext;
    // The index walk under the wrong flavour reads few blocks; unknown signedness scans all.
    const log: number[] = [];
    expect(lookup(wrong, dir, hi, (l) => { log.push(l); return base(l); })).toBeNull();
    expect(log.length).toBeLessThanOrEqual(4);
    const loose: Record<string, unknown> = { ...ctx };
    delete loose.hashUnsigned;
    const unknown = loose as unknown as FsContext;
    const log2: number[] = [];
    expect(lookup(unknown, dir, hi, (l) => { log2.push(l); return base(l); })).toBeNull();
    expect(log2.length).toBeGreaterThan(nblocks / 2);
  });
});

describe('dx_probe rejections that fall back to a linear scan (BadDxError)', () => {
  test('unrecognised hash version', () => expectBadDx(patched({ 0: (b) => { b[28] = 3; } }), /unrecognised hash version/));
  test('siphash without hashes in dirents', () => expectBadDx(patched({ 0: (b) => { b[28] = 6; } }), /siphash if and only if/));
  test('unimplemented hash flags', () => expectBadDx(patched({ 0: (b) => { b[31] = 1; } }), /unimplemented hash flags/));
  test('htree depth exceeds supported value', () => expectBadDx(patched({ 0: (b) => { b[30] = 2; } }), /htree depth exceeds/));
  test('root limit is not what fits', () => expectBadDx(patched({ 0: (b, dv) => dv.setUint16(ROOT_ENTRIES, 122, true) }), /limit is not what fits/));
  test('node limit is not what fits', () => {
    const edits: Record<number, (b: Uint8Array, dv: DataView) => void> = {};
    for (let i = 0; i < rootCount(); i++) edits[rootEntryBlock(i)] = (b, dv) => { dv.setUint16(8, 125, true); dv.setUint16(10, Math.min(dv.getUint16(10, true), 100), true); };
    expectBadDx(patched(edits), /limit is not what fits/);
  });
  test('count 0', () => expectBadDx(patched({ 0: (b, dv) => dv.setUint16(ROOT_ENTRIES + 2, 0, true) }), /count beyond limit/));
  test('hashes not in increasing order', () => expectBadDx(patched({ 0: (b, dv) => dv.setUint32(ROOT_ENTRIES + 16, 0xffffffff, true) }), /hashes not in increasing order/));
  test('three levels are accepted only with largedir', () => {
    const read = patched({ 0: (b) => { b[30] = 2; } });
    expectBadDx(read, /htree depth exceeds/);
    // With largedir the depth passes dx_probe's check; this 2-level tree then fails
    // where a third level is expected (a leaf where an index block should be).
    const f = ctx.features;
    const large = { ...ctx, features: new FeatureSet(f.compat, f.incompat | INCOMPAT.largedir, f.roCompat) } as FsContext;
    expect(() => dxProbe(large, dir, enc.encode(NAMES[7]), nblocks, read)).toThrow(/leaf block found instead of index block/);
  });
  test('tree cycle back to the root', () => expectBadDx(patched({
    0: (b, dv) => { for (let i = 0; i < rootCount(); i++) dv.setUint32(ROOT_ENTRIES + 8 * i + 4, 0, true); },
  }), /tree cycle/));
});

describe('hard htree errors (no fallback, as the kernel read errors)', () => {
  test('dx_tail checksum mismatch is a ChecksumError', () => {
    expectHard(patched({ 0: (b) => { b[ROOT_ENTRIES + 8] ^= 1; } }, false), ChecksumError, /corrupt dx_tail: checksum mismatch \(inode \d+, lblk 0/);
  });
  test('no space for the dx_tail', () => expectHard(patched({ 0: (b, dv) => dv.setUint16(ROOT_ENTRIES, 124, true) }, false), CorruptError, /no space for checksum/));
  test('count beyond limit before the checksum', () => expectHard(patched({ 0: (b, dv) => dv.setUint16(ROOT_ENTRIES + 2, 124, true) }, false), CorruptError, /count beyond limit/));
  test('no dx countlimit for checksum (info_length != 8)', () => expectHard(patched({ 0: (b) => { b[29] = 16; } }, false), CorruptError, /no dx countlimit for checksum/));
  test('block beyond directory size', () => expectHard(patched({ 0: (b, dv) => dv.setUint32(ROOT_ENTRIES + 12, nblocks + 5, true) }), CorruptError, /block beyond directory size/));
  test('leaf block found instead of index block', () => {
    const edits: Record<number, (b: Uint8Array, dv: DataView) => void> = {};
    for (let i = 0; i < rootCount(); i++) edits[rootEntryBlock(i)] = (b, dv) => dv.setUint16(4, 1012, true);
    expectHard(patched(edits, false), CorruptError, /leaf block found instead of index block/);
  });
  test('hole where an index block should be', () => {
    const edits: Record<number, 'hole'> = {};
    for (let i = 0; i < rootCount(); i++) edits[rootEntryBlock(i)] = 'hole';
    expectHard(patched(edits), CorruptError, /hole found for htree index block/);
  });
  test('hole where a leaf should be', () => {
    const p = dxProbe(ctx, dir, enc.encode(NAMES[7]), nblocks, base);
    expectHard(patched({ [currentLeaf(p)]: 'hole' }), CorruptError, /hole found for htree leaf block/);
  });
  test('leaf checksum mismatch', () => {
    const p = dxProbe(ctx, dir, enc.encode(NAMES[7]), nblocks, base);
    expectHard(patched({ [currentLeaf(p)]: (b) => { b[30] ^= 1; } }, false), ChecksumError, /ext4_dir_entry_tail: checksum mismatch/);
  });
  test('a root that is not shaped as dx_root (rec_len of ".")', () => {
    expectHard(patched({ 0: (b, dv) => dv.setUint16(4, 16, true) }, false), CorruptError, /no dx countlimit for checksum/);
  });
});

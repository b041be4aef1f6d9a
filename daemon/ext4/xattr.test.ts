// xattr.ts against the kernel: images populated through a kernel rw loop mount (so every
// structure is the kernel's own writing), then compared with what a ro loop mount returns
// from listxattr/getxattr, byte for byte and in order. Corruption: one test per reason on
// mutated copies (block checksums re-signed so the mutation reaches the targeted check).

import { CORPUS_DIR, corpusSample } from './testing/corpus.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { schemaGaps, viewOf } from '../util/bytes.js';
import { crc32c } from '../util/crc.js';
import { openRawImage, RawImage } from './testing/rawctx.js';
import { ChecksumError, CorruptError, FsError, IoError, IncompatibleError } from './errors.js';
import { FsContext, InodeInfo } from './context.js';
import {
  EaInodeReader, ext4_xattr_entry, ext4_xattr_header, getXattr, listXattrNames, listXattrs, readIbody,
  readXattrBlock, setXattrBlockCsum, valueWords, xattrBlockHash, xattrHashEntry,
} from './xattr.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
let work = '';
beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'ext4box-xattr-')); });
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** mkfs, kernel rw mount, run a python populate script with the mount as argv[1], umount. */
function buildImage(name: string, mkfs: string[], populate: string, sizeMB = 16): string {
  const img = join(work, `${name}.img`);
  const mnt = join(work, `${name}.mnt`);
  mkdirSync(mnt, { recursive: true });
  run('truncate', ['-s', `${sizeMB}M`, img]);
  run('mkfs.ext4', ['-q', '-F', ...mkfs, img]);
  run('mount', ['-o', 'loop', img, mnt]);
  try {
    run('python3', ['-c', `import os, sys, subprocess\nm = sys.argv[1]\n${populate}`, mnt]);
  } finally {
    run('umount', [mnt]);
  }
  return img;
}

interface OracleFile { ino: number; names: string[]; values: Record<string, string | null> }

/** The kernel's view from a ro loop mount: listxattr order and getxattr bytes, hex. */
function oracle(img: string): Record<string, OracleFile> {
  const mnt = `${img}.ro`;
  mkdirSync(mnt, { recursive: true });
  run('mount', ['-o', 'ro,loop', img, mnt]);
  try {
    const py = `
import os, sys, json
m = sys.argv[1]; out = {}
for root, dirs, files in os.walk(m):
    for n in dirs + files:
        p = os.path.join(root, n); rel = os.path.relpath(p, m)
        if rel.startswith('lost+found'): continue
        names = os.listxattr(p, follow_symlinks=False); vals = {}
        for x in names:
            try: vals[os.fsencode(x).hex()] = os.getxattr(p, x, follow_symlinks=False).hex()
            except OSError: vals[os.fsencode(x).hex()] = None
        out[rel] = {'ino': os.lstat(p).st_ino, 'names': [os.fsencode(x).hex() for x in names], 'values': vals}
print(json.dumps(out))`;
    return JSON.parse(run('python3', ['-c', py, mnt])) as Record<string, OracleFile>;
  } finally {
    run('umount', [mnt]);
  }
}

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'));

/** Test-only EA inode reader: depth-0 extent roots or direct block maps (<= 12 blocks). */
function eaReader(img: RawImage): EaInodeReader {
  const uuid = img.bytes.subarray(1024 + 0x68, 1024 + 0x78);
  return {
    inode: (ino) => img.inode(ino),
    csumSeed: crc32c(0xffffffff, uuid),
    read(info: InodeInfo, size: number) {
      const ib = viewOf(info.iBlock);
      const out = new Uint8Array(size);
      const put = (lblk: number, pblk: number) => {
        const at = lblk * img.ctx.blockSize;
        if (at >= size) return;
        const b = img.ctx.readBlock(pblk, 'test');
        out.set(b.subarray(0, Math.min(b.length, size - at)), at);
      };
      if (info.flags & 0x80000) {
        if (ib.getUint16(0, true) !== 0xf30a || ib.getUint16(6, true) !== 0) throw new FsError(5, 'test reader: depth-0 extents only');
        for (let i = 0; i < Math.min(4, ib.getUint16(2, true)); i++) {
          const o = 12 + 12 * i;
          const len = ib.getUint16(o + 4, true);
          for (let k = 0; k < len && k < 64; k++) put(ib.getUint32(o, true) + k, ib.getUint16(o + 6, true) * 2 ** 32 + ib.getUint32(o + 8, true) + k);
        }
      } else {
        for (let k = 0; k < 12; k++) { const p = ib.getUint32(4 * k, true); if (p) put(k, p); }
      }
      return out;
    },
  };
}

function compareWithKernel(img: string): number {
  const raw = openRawImage(img);
  const ea = eaReader(raw);
  const want = oracle(img);
  let checked = 0;
  for (const [path, f] of Object.entries(want)) {
    const inode = raw.inode(f.ino);
    const names = listXattrNames(raw.ctx, inode, true).map((n) => hex(n));
    expect({ path, names }).toEqual({ path, names: f.names });
    for (const n of f.names) {
      const got = getXattr(raw.ctx, inode, Buffer.from(n, 'hex'), ea);
      expect({ path, n, v: hex(got) }).toEqual({ path, n, v: f.values[n] });
      checked++;
    }
  }
  return checked;
}

const POPULATE_MAIN = `
def mk(p, xs):
    open(os.path.join(m, p), 'w').write(p)
    for k, v in xs: os.setxattr(os.path.join(m, p), k, v)
mk('small', [('user.a', b'hello'), ('user.empty', b'')])
mk('big', [('user.big1', b'x' * 300), ('user.big2', b'y' * 200), ('user.b', b'1' * 90)])
mk('mixed', [('user.s', b'1'), ('user.l', b'z' * 500)])
mk('shared1', [('user.sh', b'q' * 400), ('user.sh2', b'r' * 333)])
mk('shared2', [('user.sh', b'q' * 400), ('user.sh2', b'r' * 333)])
mk('ns', [('security.test', b's'), ('trusted.t', b't' * 150), ('user.caf\\xc3\\xa9'.encode('latin1').decode('utf-8'), b'v' * 201)])
mk('many', [('user.' + 'n' * i, bytes([i]) * (17 * i)) for i in range(1, 12)])
mk('acl', [])
subprocess.check_call(['setfacl', '-m', 'u:1000:rw,g:100:r,u:7:x', os.path.join(m, 'acl')])
os.mkdir(os.path.join(m, 'acldir'))
subprocess.check_call(['setfacl', '-m', 'u:1000:rwx', '-d', '-m', 'u:1001:rx,g:5:w', os.path.join(m, 'acldir')])
os.symlink('small', os.path.join(m, 'link'))
`;

const mainImage = () => cached('main', () => buildImage('main', ['-b', '4096', '-I', '256', '-O', 'metadata_csum'], POPULATE_MAIN));
const eaImage = () => cached('ea', () => buildImage('ea', ['-b', '4096', '-I', '256', '-O', 'metadata_csum,ea_inode'], `
open(os.path.join(m, 'f'), 'w').write('f')
os.setxattr(os.path.join(m, 'f'), 'user.huge', bytes((i * 7 + 3) % 256 for i in range(10240)))
os.setxattr(os.path.join(m, 'f'), 'user.mid', b'M' * 5000)
os.setxattr(os.path.join(m, 'f'), 'user.small', b'a')
`));
const built = new Map<string, string>();
function cached(key: string, make: () => string): string {
  if (!built.has(key)) built.set(key, make());
  return built.get(key)!;
}

d('xattrs: kernel oracle', () => {
  test('schemas have the kernel sizes', () => {
    expect(ext4_xattr_header.size).toBe(32);
    expect(schemaGaps(ext4_xattr_header)).toEqual([]);
    expect(ext4_xattr_entry.size).toBe(16);
    expect(schemaGaps(ext4_xattr_entry)).toEqual([]);
  });

  test('256-byte inodes, 4 KiB blocks, metadata_csum: in-inode, block, shared, ACLs equal the kernel', () => {
    const img = mainImage();
    expect(compareWithKernel(img)).toBeGreaterThan(25);
    const raw = openRawImage(img);
    const want = oracle(img);
    // "small" lives in the inode, "big" spills into a block, the two shared files share one.
    const small = raw.inode(want.small.ino);
    expect(small.fileAcl).toBe(0);
    expect(readIbody(raw.ctx, small)?.entries.length).toBe(2);
    const s1 = raw.inode(want.shared1.ino);
    const s2 = raw.inode(want.shared2.ino);
    expect(s1.fileAcl).not.toBe(0);
    expect(s1.fileAcl).toBe(s2.fileAcl);
    expect(readXattrBlock(raw.ctx, s1)?.refcount).toBe(2);
    // listXattrs: in-inode first, then block, with places and raw values.
    const items = listXattrs(raw.ctx, raw.inode(want.mixed.ino));
    expect(items.map((i) => [i.place, Buffer.from(i.fullName).toString()])).toEqual([['inode', 'user.s'], ['block', 'user.l']]);
    expect(items[1].value).toEqual(new Uint8Array(500).fill(0x7a));
    // trusted.* is listed only for CAP_SYS_ADMIN.
    const ns = raw.inode(want.ns.ino);
    const plain = listXattrNames(raw.ctx, ns, false).map((n) => Buffer.from(n).toString('latin1'));
    expect(plain.some((n) => n.startsWith('trusted.'))).toBe(false);
    expect(plain.length).toBe(listXattrNames(raw.ctx, ns, true).length - 1);
  });

  test('e_hash and h_hash of kernel-written blocks match xattrHashEntry/xattrBlockHash', () => {
    const img = mainImage();
    const raw = openRawImage(img);
    const want = oracle(img);
    let n = 0;
    for (const f of ['big', 'ns', 'many', 'shared1']) {
      const blk = readXattrBlock(raw.ctx, raw.inode(want[f].ino));
      expect(blk).not.toBeNull();
      for (const e of blk!.entries) {
        const v = blk!.bytes.subarray(e.valueOffs, e.valueOffs + e.valueSize);
        expect(xattrHashEntry(e.name, valueWords(v))).toBe(e.hash);
        n++;
      }
      expect(xattrBlockHash(blk!.entries.map((e) => e.hash))).toBe(blk!.hash);
    }
    expect(n).toBeGreaterThan(10);
    // The name with high bytes hashes differently signed and unsigned: the kernel writes unsigned.
    const name = new Uint8Array([0x63, 0x61, 0x66, 0xc3, 0xa9]);
    expect(xattrHashEntry(name, [1])).not.toBe(xattrHashEntry(name, [1], true));
  });

  test('128-byte inodes, 1 KiB blocks: everything in blocks, equal to the kernel', () => {
    const img = buildImage('i128', ['-b', '1024', '-I', '128', '-O', 'metadata_csum'], POPULATE_MAIN.replace("b'z' * 500", "b'z' * 100").replace('range(1, 12)', 'range(1, 8)'));
    expect(compareWithKernel(img)).toBeGreaterThan(20);
    const raw = openRawImage(img);
    expect(readIbody(raw.ctx, raw.inode(oracle(img).small.ino))).toBeNull();
  });

  test('ea_inode: 10 KiB and 5000-byte values in EA inodes equal the kernel', () => {
    const img = eaImage();
    expect(compareWithKernel(img)).toBe(3);
    const raw = openRawImage(img);
    const f = raw.inode(oracle(img).f.ino);
    const items = listXattrs(raw.ctx, f);
    expect(items.filter((i) => i.valueInum !== 0).length).toBeGreaterThanOrEqual(1);
    expect(items.filter((i) => i.valueInum !== 0).every((i) => i.value === null)).toBe(true);
  });
});

// ---------------------------------------------------------------- corruption

/** A context whose block `blk` reads as `bytes` (a mutated copy). */
function withBlock(ctx: FsContext, blk: number, bytes: Uint8Array): FsContext {
  return { ...ctx, readBlock: (b, what, at) => (b === blk ? bytes : ctx.readBlock(b, what, at)) };
}

function expectCorrupt(fn: () => unknown, reason: string | RegExp): CorruptError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptError);
    expect((e as CorruptError).reason).toMatch(reason);
    return e as CorruptError;
  }
  throw new Error(`expected CorruptError ${reason}`);
}

d('xattr corruption, one test per reason', () => {
  let raw: RawImage;
  let big: InodeInfo;
  let small: InodeInfo;
  let blk: number;
  let pristine: Uint8Array;
  beforeAll(() => {
    const img = mainImage();
    raw = openRawImage(img);
    const want = oracle(img);
    big = raw.inode(want.big.ino);
    small = raw.inode(want.small.ino);
    blk = big.fileAcl;
    pristine = raw.ctx.readBlock(blk, 't').slice();
  });

  /** Mutates a copy of the xattr block, re-signs it (unless told not to), lists. */
  function mutateBlock(f: (b: Uint8Array, dv: DataView) => void, resign = true, ctxOver?: Partial<FsContext>) {
    const b = pristine.slice();
    f(b, viewOf(b));
    const ctx = { ...withBlock(raw.ctx, blk, b), ...ctxOver };
    if (resign) setXattrBlockCsum(ctx, blk, b);
    return () => listXattrs(ctx, big);
  }
  const E0 = 32; // first entry of a block

  test('pristine block lists', () => { expect(mutateBlock(() => {})().length).toBe(3); });
  test('invalid header: h_magic', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(0, 0xea020001, true)), 'invalid header'); });
  test('invalid header: h_blocks', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(8, 2, true)), 'invalid header'); });
  test('checksum mismatch -> ChecksumError (EBADMSG)', () => {
    const e = expectCorrupt(mutateBlock((b) => { b[4000] ^= 1; }, false), 'checksum mismatch');
    expect(e).toBeInstanceOf(ChecksumError);
    expect(e.errno).toBe(74);
  });
  test('e_name out of bounds: no terminator before the end', () => {
    expectCorrupt(mutateBlock((b) => {
      let e = E0;
      while (viewOf(b).getUint32(e, true) !== 0) e += (b[e] + 16 + 3) & ~3;
      b.fill(1, e); // every following "entry" has name_len 1: the walk runs off the block
    }), 'e_name out of bounds');
  });
  test('bad e_name length: NUL inside the name', () => { expectCorrupt(mutateBlock((b) => { b[E0 + 16] = 0; }), 'bad e_name length'); });
  test('ea_inode specified without ea_inode feature', () => {
    expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(E0 + 4, 12, true)), 'ea_inode specified without');
  });
  test('invalid ea_ino (root, and past s_inodes_count)', () => {
    const feats = Object.create(raw.ctx.features) as FsContext['features'];
    feats.has = (n) => n === 'ea_inode' || raw.ctx.features.has(n);
    expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(E0 + 4, 2, true), true, { features: feats }), 'invalid ea_ino');
    expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(E0 + 4, raw.ctx.inodesCount + 1, true), true, { features: feats }), 'invalid ea_ino');
  });
  test('e_value size too large', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(E0 + 8, 65537, true)), 'e_value size too large'); });
  test('e_value out of bounds', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint16(E0 + 2, 0xffff, true)), 'e_value out of bounds'); });
  test('overlapping e_value: into the entries', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint16(E0 + 2, 40, true)), 'overlapping e_value'); });
  test('overlapping e_value: past the end', () => { expectCorrupt(mutateBlock((_b, dv) => dv.setUint16(E0 + 2, 4094, true)), 'overlapping e_value'); });
  test('errors carry inode and block', () => {
    const e = expectCorrupt(mutateBlock((_b, dv) => dv.setUint32(0, 0, true)), 'invalid header');
    expect(e.message).toContain(`inode ${big.ino}, block ${blk}`);
  });

  test('in-inode: no magic means no in-inode xattrs, not corruption', () => {
    const r2 = small.raw.slice();
    viewOf(r2).setUint32(small.extraEnd, 0, true);
    expect(listXattrs(raw.ctx, { ...small, raw: r2 })).toEqual([]);
  });
  test('in-inode: overlapping e_value (value before the terminator)', () => {
    const r2 = small.raw.slice();
    viewOf(r2).setUint16(small.extraEnd + 4 + 2, 0, true);
    expectCorrupt(() => listXattrs(raw.ctx, { ...small, raw: r2 }), 'overlapping e_value');
  });
  test('in-inode: e_name out of bounds', () => {
    const r2 = small.raw.slice();
    r2[small.extraEnd + 4] = 200; // name_len 200 reaches past the inode
    expectCorrupt(() => listXattrs(raw.ctx, { ...small, raw: r2 }), 'e_name out of bounds');
  });

  test('getXattr resolves names as the VFS: unknown namespace, empty suffix, too long', () => {
    const name = (s: string) => Buffer.from(s, 'latin1');
    expect(() => getXattr(raw.ctx, small, name('system.data'))).toThrow(FsError);
    expect(() => getXattr(raw.ctx, small, name('user.'))).toThrow(/only the prefix/);
    expect(() => getXattr(raw.ctx, small, name('user.' + 'a'.repeat(251)))).toThrow(/too long/);
    expect(getXattr(raw.ctx, small, name('user.nope'))).toBeNull();
    expect(hex(getXattr(raw.ctx, small, name('user.a')))).toBe(Buffer.from('hello').toString('hex'));
  });
});

d('EA inode corruption', () => {
  let raw: RawImage;
  let f: InodeInfo;
  let eaIno = 0;
  beforeAll(() => {
    const img = eaImage();
    raw = openRawImage(img);
    f = raw.inode(oracle(img).f.ino);
    eaIno = listXattrs(raw.ctx, f).find((i) => i.valueInum !== 0)!.valueInum;
  });
  const reader = (patch: (dv: DataView, info: InodeInfo) => InodeInfo | void): EaInodeReader => {
    const base = eaReader(raw);
    return {
      inode: (ino) => {
        const info = base.inode(ino);
        const r2 = info.raw.slice();
        const out = patch(viewOf(r2), { ...info, raw: r2 });
        return out ?? { ...info, raw: r2 };
      },
      read: base.read,
    };
  };
  const huge = Buffer.from('user.huge');
  test('pristine', () => { expect(getXattr(raw.ctx, f, huge, eaReader(raw))?.length).toBe(10240); });
  test('missing EA_INODE flag', () => {
    expectCorrupt(() => getXattr(raw.ctx, f, huge, reader((_dv, i) => ({ ...i, flags: i.flags & ~0x200000 }))), 'missing EA_INODE flag');
  });
  test('i_size differs from e_value_size', () => {
    expectCorrupt(() => getXattr(raw.ctx, f, huge, reader((_dv, i) => ({ ...i, size: i.size + 1 }))), 'size differs');
  });
  test('value hash (i_atime) mismatch', () => {
    expectCorrupt(() => getXattr(raw.ctx, f, huge, reader((dv) => { dv.setUint32(0x08, dv.getUint32(0x08, true) ^ 1, true); })), 'hash validation failed');
  });
  test('no seed anywhere, or no reader: refused (FsError), never served unchecked', () => {
    const { csumSeed: _drop, ...noSeed } = eaReader(raw);
    expect(() => getXattr({ ...raw.ctx, csumSeed: null }, f, huge, noSeed)).toThrow(/checksum seed/);
    expect(getXattr({ ...raw.ctx, csumSeed: null }, f, huge, eaReader(raw))?.length).toBe(10240);
    expect(() => getXattr(raw.ctx, f, huge)).toThrow(FsError);
  });
  test('parent is its own EA inode', () => {
    expectCorrupt(() => getXattr(raw.ctx, { ...f, ino: eaIno }, huge, eaReader(raw)), 'same ino');
  });
  test('entry hash mismatch', () => {
    const ib = readIbody(raw.ctx, f);
    const blkArea = readXattrBlock(raw.ctx, f);
    const e = [...(ib?.entries ?? []), ...(blkArea?.entries ?? [])].find((x) => x.valueInum === eaIno)!;
    if (e.place === 'inode') {
      const r2 = f.raw.slice();
      viewOf(r2).setUint32(e.entryOff + 12, e.hash ^ 0x100, true);
      expectCorrupt(() => getXattr(raw.ctx, { ...f, raw: r2 }, huge, eaReader(raw)), 'entry hash mismatch');
    } else {
      const b = blkArea!.bytes.slice();
      viewOf(b).setUint32(e.entryOff + 12, e.hash ^ 0x100, true);
      const ctx = withBlock(raw.ctx, f.fileAcl, b);
      setXattrBlockCsum(ctx, f.fileAcl, b);
      expectCorrupt(() => getXattr(ctx, f, huge, eaReader(raw)), 'entry hash mismatch');
    }
  });
});

d('random damage', () => {
  test('3000 random mutations of kernel-written blocks and inode bodies: typed errors or a clean list', () => {
    const raw = openRawImage(mainImage());
    const want = oracle(mainImage());
    const typed = (e: unknown) => e instanceof CorruptError || e instanceof FsError;
    let seed = 0x12345678;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    let ok = 0; let bad = 0;
    for (const f of ['big', 'many', 'ns', 'mixed', 'acl', 'small']) {
      const inode = raw.inode(want[f].ino);
      for (let i = 0; i < 500; i++) {
        const r2 = inode.raw.slice();
        let ctx = raw.ctx;
        if (inode.fileAcl && rnd(2)) {
          const b = raw.ctx.readBlock(inode.fileAcl, 't').slice();
          // Damage the part that is not zero padding: header, entries and the tail of values.
          for (let k = 0; k < 1 + rnd(4); k++) { const at = rnd(3) ? rnd(256) : b.length - 1 - rnd(1024); b[at] = rnd(256); }
          ctx = withBlock(raw.ctx, inode.fileAcl, b);
          setXattrBlockCsum(ctx, inode.fileAcl, b);
        } else {
          for (let k = 0; k < 1 + rnd(4); k++) r2[inode.extraEnd + rnd(r2.length - inode.extraEnd)] = rnd(256);
        }
        const victim = { ...inode, raw: r2 };
        try {
          for (const n of listXattrNames(ctx, victim, true)) {
            try { getXattr(ctx, victim, n); } catch (e) { if (!typed(e)) throw e; }
          }
          listXattrs(ctx, victim);
          ok++;
        } catch (e) {
          if (!typed(e)) throw e;
          bad++;
        }
      }
    }
    expect(ok + bad).toBe(3000);
    expect(bad).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------- hostile corpus

function corpusImage(name: string): RawImage {
  const p = join(work, `${name}.img`);
  writeFileSync(p, gunzipSync(readFileSync(join(CORPUS_DIR, `${name}.img.gz`))));
  return openRawImage(p);
}

describe('e2fsprogs corpus images with known xattr shapes', () => {
  const emoji = (img: RawImage) => listXattrs(img.ctx, img.inode(15)).find((i) => i.valueInum !== 0)!;
  test('f_ea_signed_hash: an EA-inode entry hashed with signed chars is accepted (the kernel\'s fallback)', () => {
    const img = corpusImage('f_ea_signed_hash');
    const e = emoji(img);
    const v = getXattr(img.ctx, img.inode(15), e.fullName, eaReader(img))!;
    expect(v.length).toBe(1280);
    const h = crc32c(img.ctx.csumSeed ?? eaReader(img).csumSeed!, v);
    expect(xattrHashEntry(e.name, [h])).not.toBe(e.hash); // the unsigned hash fails here...
    expect(xattrHashEntry(e.name, [h], true)).toBe(e.hash); // ...the signed one matches
  });
  test('f_ea_unsigned_hash: the same with the unsigned hash', () => {
    const img = corpusImage('f_ea_unsigned_hash');
    const e = emoji(img);
    const v = getXattr(img.ctx, img.inode(15), e.fullName, eaReader(img))!;
    expect(xattrHashEntry(e.name, [crc32c(img.ctx.csumSeed ?? eaReader(img).csumSeed!, v)])).toBe(e.hash);
  });
  test('f_ea_inode (no metadata_csum): values in EA inodes, bad ea_ino and missing EA flag', () => {
    const img = corpusImage('f_ea_inode');
    expect(img.ctx.csumSeed).toBeNull();
    const ea = eaReader(img);
    const items = listXattrs(img.ctx, img.inode(12), ea);
    expect(items.map((i) => [i.place, Buffer.from(i.fullName).toString(), i.value?.length])).toEqual([
      ['inode', 'user.ii', 48], ['inode', 'user.ie', 4096], ['block', 'user.be', 4096], ['block', 'user.bi', 100]]);
    expect(() => listXattrs(img.ctx, img.inode(17), ea)).toThrow(/invalid ea_ino/);
    expect(() => listXattrs(img.ctx, img.inode(18), ea)).toThrow(/missing EA_INODE flag/);
    // These EA inodes are Lustre-style (i_mtime = parent ino, same generation): no hash
    // is checked, so they read even without a seed.
    const lustre = items.filter((i) => i.valueInum !== 0).map((i) => viewOf(img.inode(i.valueInum).raw).getUint32(0x10, true));
    expect(lustre).toEqual([12, 12]);
    expect(listXattrs(img.ctx, img.inode(12), { ...ea, csumSeed: undefined }).length).toBe(4);
  });
  test('f_ea_value_crash: overlapping in-inode values are corruption', () => {
    const img = corpusImage('f_ea_value_crash');
    expect(() => listXattrs(img.ctx, img.inode(12))).toThrow(/overlapping e_value/);
    expect(() => listXattrs(img.ctx, img.inode(13))).toThrow(CorruptError);
  });
  test('f_special_ea: ACLs in blocks decode to the xattr form', () => {
    const img = corpusImage('f_special_ea');
    const v = getXattr(img.ctx, img.inode(13), Buffer.from('system.posix_acl_default'));
    expect(v).not.toBeNull();
    expect(viewOf(v!).getUint32(0, true)).toBe(2);
    expect((v!.length - 4) % 8).toBe(0);
  });
});


d('corpus sweep: every inode of every e2fsprogs test image, typed errors only', () => {
  test('listXattrs never throws an untyped error', () => {
    const dir = CORPUS_DIR;
    const typed = (e: unknown) => e instanceof CorruptError || e instanceof FsError || e instanceof IoError || e instanceof IncompatibleError;
    let images = 0; let inodes = 0; let corrupt = 0; let withXattrs = 0;
    for (const f of corpusSample(/xattr|ea_|_ea|acl|eattr|inode|quota|symlink/)) {
      const p = join(work, f.replace(/\.gz$/, ''));
      writeFileSync(p, gunzipSync(readFileSync(join(dir, f))));
      let img: RawImage;
      try { img = openRawImage(p); } catch { continue; }
      const c = img.ctx;
      if (!(c.blockSize >= 1024 && c.blockSize <= 65536 && c.inodeSize >= 128 && c.inodesPerGroup > 0)) { rmSync(p); continue; }
      images++;
      const ea = eaReader(img);
      // The test reader trusts the image; its own failures become a typed EIO-like error.
      const guard = <T>(fn: () => T): T => { try { return fn(); } catch (e) { if (typed(e)) throw e; throw new FsError(5, 'test reader'); } };
      const safe: EaInodeReader = { inode: (i) => guard(() => ea.inode(i)), read: (i, n) => guard(() => ea.read(i, n)) };
      for (let ino = 1; ino <= Math.min(c.inodesCount, 4096); ino++) {
        let info: InodeInfo;
        try {
          info = img.inode(ino); // rawctx trusts the image: its own failures are not ours
          if (info.raw.length < c.inodeSize || info.extraEnd > c.inodeSize || (info.fileAcl !== 0 && info.fileAcl >= c.blocksCount)) continue;
        } catch { continue; }
        inodes++;
        try {
          const items = listXattrs(c, info);
          if (items.length) withXattrs++;
          for (const it of items) if (it.listedAdmin) getXattr(c, info, it.fullName, safe);
        } catch (e) {
          if (!typed(e)) throw new Error(`${f} inode ${ino}: untyped ${String(e)}\n${(e as Error).stack}`);
          corrupt++;
        }
      }
      rmSync(p);
    }
    expect(images).toBeGreaterThan(40);
    expect(withXattrs).toBeGreaterThan(10);
    expect(corrupt).toBeGreaterThan(0);
  });
});

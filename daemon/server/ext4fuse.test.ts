// The bridge driven directly (no kernel): node ids, lookup counts, negative entries, "." and
// "..", readdir cookies across full reply buffers, READDIRPLUS references, EROFS, xattr
// visibility, SEEK_DATA/HOLE, ioctls, pre-1970 times, and errno.ts's mapping and log lines.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openImage, type Ext4Fs } from '../ext4/fs.js';
import { ChecksumError, CorruptError, FsError, IoError } from '../ext4/errors.js';
import { mkfs, tmpDir } from '../ext4/testing/mkfs.js';
import { Op, type RequestContext, type DirentRec, type Entry } from '../fuse/index.js';
import { errnoFor } from './errno.js';
import { Ext4FuseFs } from './ext4fuse.js';

const isRoot = process.getuid?.() === 0;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function ctx(nodeid: bigint, opcode: number = Op.LOOKUP, uid = 0): RequestContext {
  return { unique: 7n, opcode, nodeid, uid, gid: 0, pid: 1, signal: new AbortController().signal, groups: null };
}

let fsx: Ext4Fs;
let br: Ext4FuseFs;
const logs: string[] = [];

beforeAll(() => {
  const src = path.join(tmpDir(), 'bridge-src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a'), 'hello bridge\n');
  fs.symlinkSync('a', path.join(src, 'ln'));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'sub', `file-${i}`), '');
  const fd = fs.openSync(path.join(src, 'sparse'), 'w');
  fs.writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 65536);
  fs.ftruncateSync(fd, 1 << 20);
  fs.closeSync(fd);
  spawnSync('touch', ['-h', '-d', '1960-06-01 00:00:00 UTC', path.join(src, 'a')]);
  if (isRoot) {
    spawnSync('setfattr', ['-n', 'user.x', '-v', 'ux', path.join(src, 'a')]);
    spawnSync('setfattr', ['-n', 'trusted.t', '-v', 'tt', path.join(src, 'a')]);
  }
  const img = mkfs({ args: ['-t', 'ext4', '-b', '4096', '-I', '256'], dir: src, sizeKiB: 16 * 1024 });
  fsx = openImage(img, { capSysAdmin: true });
  br = new Ext4FuseFs(fsx, { log: (lvl, msg, f) => logs.push(`${lvl} ${msg} ${JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`) });
});
afterAll(() => fsx?.close());

async function errnoOfCall(p: Promise<unknown>): Promise<number> {
  try { await p; } catch (e) { return (e as { errno: number }).errno; }
  return 0;
}

describe('Ext4FuseFs', () => {
  it('maps the FUSE root to inode 2 and back; other ids are inode numbers; unknown ids are ESTALE', async () => {
    const r = await br.getattr(ctx(1n, Op.GETATTR), { getattrFlags: 0, fh: 0n });
    expect(r.attr.ino).toBe(2n);
    expect(r.attr.mode & 0o170000).toBe(0o040000);
    expect(r.attr.blksize).toBe(4096);
    expect(r.attrValid).toBeGreaterThanOrEqual(3600);
    expect(Ext4FuseFs.inoOf(1n)).toBe(2);
    expect(Ext4FuseFs.nodeOf(2)).toBe(1n);
    expect(Ext4FuseFs.nodeOf(12)).toBe(12n);
    expect(await errnoOfCall(br.getattr(ctx(2n, Op.GETATTR), { getattrFlags: 0, fh: 0n }))).toBe(116);
    expect(await errnoOfCall(br.getattr(ctx(1n << 40n, Op.GETATTR), { getattrFlags: 0, fh: 0n }))).toBe(116);
  });

  it('lookup takes one reference per reply, FORGET returns them; misses are cached negative entries', async () => {
    const before = br.lookupStats.nodes;
    const e = await br.lookup(ctx(1n), { name: enc('a') });
    expect(e.nodeid).toBe(BigInt(fsx.lookup(2, enc('a'))));
    expect(e.generation).toBe(BigInt(fsx.stat(Number(e.nodeid)).generation >>> 0));
    await br.lookup(ctx(1n), { name: enc('a') });
    expect(br.lookupStats.nodes).toBe(before + 1);
    br.forget([{ nodeid: e.nodeid, nlookup: 1n }]);
    expect(br.lookupStats.nodes).toBe(before + 1);
    br.forget([{ nodeid: e.nodeid, nlookup: 1n }]);
    expect(br.lookupStats.nodes).toBe(before);
    const miss = await br.lookup(ctx(1n), { name: enc('nope') });
    expect(miss.nodeid).toBe(0n);
    expect(miss.entryValid).toBeGreaterThan(0);
    expect(br.lookupStats.nodes).toBe(before);
  });

  it('answers "." and ".." (EXPORT_SUPPORT); the root entry has generation 0', async () => {
    const sub = await br.lookup(ctx(1n), { name: enc('sub') });
    const dot = await br.lookup(ctx(sub.nodeid), { name: enc('.') });
    expect(dot.nodeid).toBe(sub.nodeid);
    const up = await br.lookup(ctx(sub.nodeid), { name: enc('..') });
    expect(up.nodeid).toBe(1n);
    expect(up.generation).toBe(0n);
    expect(up.attr.ino).toBe(2n);
    const rootUp = await br.lookup(ctx(1n), { name: enc('..') });
    expect(rootUp.nodeid).toBe(1n);
  });

  it('reads file bytes into the reply window, short at EOF', async () => {
    const ino = BigInt(fsx.lookup(2, enc('a')));
    const buf = Buffer.alloc(64);
    const n = await br.read(ctx(ino, Op.READ), { fh: 0n, offset: 0n, size: 64, readFlags: 0, lockOwner: 0n, flags: 0 }, buf);
    expect(buf.subarray(0, n).toString()).toBe('hello bridge\n');
    expect(await br.read(ctx(ino, Op.READ), { fh: 0n, offset: 1n << 60n, size: 64, readFlags: 0, lockOwner: 0n, flags: 0 }, buf)).toBe(0);
  });

  it('readdir resumes at the cookie of the last entry that fit, and loses nothing', async () => {
    const sub = BigInt(fsx.lookup(2, enc('sub')));
    const all: string[] = [];
    let off = 0n;
    for (let round = 0; round < 100; round++) {
      const got: DirentRec[] = [];
      await br.readdir(ctx(sub, Op.READDIR), { fh: 0n, offset: off, size: 4096, readFlags: 0, lockOwner: 0n, flags: 0 },
        { add: (d) => { if (got.length >= 3) return false; got.push(d); return true; } });
      if (got.length === 0) break;
      for (const d of got) all.push(dec(d.name));
      off = got[got.length - 1].off;
    }
    expect(all.sort()).toEqual(['.', '..', ...Array.from({ length: 40 }, (_, i) => `file-${i}`)].sort());
  });

  it('READDIRPLUS takes references only for accepted entries, never for . and ..', async () => {
    const sub = BigInt(fsx.lookup(2, enc('sub')));
    const before = br.lookupStats.references;
    const seen: Array<[string, Entry]> = [];
    await br.readdirplus(ctx(sub, Op.READDIRPLUS), { fh: 0n, offset: 0n, size: 4096, readFlags: 0, lockOwner: 0n, flags: 0 },
      { add: (d, e) => { if (seen.length >= 5) return false; seen.push([dec(d.name), e]); return true; } });
    expect(seen).toHaveLength(5);
    const dots = seen.filter(([n]) => n === '.' || n === '..');
    for (const [, e] of dots) expect(e.nodeid).toBe(0n);
    const others = seen.filter(([n]) => n !== '.' && n !== '..');
    for (const [, e] of others) expect(e.nodeid).toBeGreaterThan(2n);
    expect(br.lookupStats.references - before).toBe(BigInt(others.length));
    br.forget(others.map(([, e]) => ({ nodeid: e.nodeid, nlookup: 1n })));
    expect(br.lookupStats.references).toBe(before);
  });

  it('refuses write access and every write opcode with EROFS', async () => {
    const ino = BigInt(fsx.lookup(2, enc('a')));
    expect(await errnoOfCall(br.open(ctx(ino, Op.OPEN), { flags: 1, openFlags: 0 }))).toBe(30);
    expect(await errnoOfCall(br.open(ctx(ino, Op.OPEN), { flags: 0o1000, openFlags: 0 }))).toBe(30);
    expect((await br.open(ctx(ino, Op.OPEN), { flags: 0, openFlags: 0 })).openFlags).toBe(2);
    expect(await errnoOfCall(br.write())).toBe(30);
    expect(await errnoOfCall(br.mkdir())).toBe(30);
    expect(await errnoOfCall(br.access(ctx(ino, Op.ACCESS), { mask: 2 }))).toBe(30);
    await br.access(ctx(ino, Op.ACCESS), { mask: 4 });
  });

  (isRoot ? it : it.skip)('lists trusted.* only to uid 0; a missing attribute is ENODATA', async () => {
    const ino = BigInt(fsx.lookup(2, enc('a')));
    const asRoot = (await br.listxattr(ctx(ino, Op.LISTXATTR, 0), { size: 0 })).map(dec);
    const asUser = (await br.listxattr(ctx(ino, Op.LISTXATTR, 1000), { size: 0 })).map(dec);
    expect(asRoot).toEqual(expect.arrayContaining(['user.x', 'trusted.t']));
    expect(asUser).toContain('user.x');
    expect(asUser).not.toContain('trusted.t');
    expect(dec(await br.getxattr(ctx(ino, Op.GETXATTR), { size: 0, name: enc('user.x') }))).toBe('ux');
    expect(await errnoOfCall(br.getxattr(ctx(ino, Op.GETXATTR), { size: 0, name: enc('user.none') }))).toBe(61);
  });

  it('SEEK_DATA / SEEK_HOLE as ext4, ENXIO past the end', async () => {
    const ino = BigInt(fsx.lookup(2, enc('sparse')));
    const seek = (offset: bigint, whence: number): Promise<bigint> => br.lseek(ctx(ino, Op.LSEEK), { fh: 0n, offset, whence });
    expect(await seek(0n, 3)).toBe(65536n);
    expect(await seek(65536n, 4)).toBe(69632n);
    expect(await errnoOfCall(seek(1n << 21n, 3))).toBe(6);
    expect(await errnoOfCall(seek(0n, 0))).toBe(22);
  });

  it('ioctls: GETFLAGS, GETVERSION = generation, FSGETXATTR; others ENOTTY', async () => {
    const ino = BigInt(fsx.lookup(2, enc('a')));
    const io = (cmd: number, outSize: number): ReturnType<Ext4FuseFs['ioctl']> =>
      br.ioctl(ctx(ino, Op.IOCTL), { fh: 0n, flags: 0, cmd, arg: 0n, inSize: 0, outSize, data: new Uint8Array(0) });
    const fl = await io(0x80086601, 8);
    expect(Buffer.from(fl.data!).readUInt32LE(0)).toBe(fsx.getflags(Number(ino)));
    expect(Buffer.from(fl.data!).readUInt32LE(0) & 0x80000).toBe(0x80000);
    const gen = await io(0x80087601, 8);
    expect(Buffer.from(gen.data!).readUInt32LE(0)).toBe(fsx.stat(Number(ino)).generation >>> 0);
    expect((await io(0x801c581f, 28)).data!.byteLength).toBe(28);
    expect(await errnoOfCall(io(0x1234, 0))).toBe(25);
  });

  it('carries pre-1970 seconds as two\'s complement u64 in fuse_attr and signed in statx', async () => {
    const ino = BigInt(fsx.lookup(2, enc('a')));
    const st = fsx.stat(Number(ino));
    expect(st.mtime.sec).toBeLessThan(0);
    const r = await br.getattr(ctx(ino, Op.GETATTR), { getattrFlags: 0, fh: 0n });
    expect(BigInt.asIntN(64, r.attr.mtime)).toBe(BigInt(st.mtime.sec));
    const sx = await br.statx(ctx(ino, Op.STATX), { getattrFlags: 0, fh: 0n, sxFlags: 0, sxMask: 0xfff });
    expect(sx.stat.mtime.sec).toBe(BigInt(st.mtime.sec));
    expect(sx.stat.mask & 0x800).toBe(st.crtime ? 0x800 : 0);
  });

  it('statfs reports the block size as bsize and frsize', async () => {
    const s = await br.statfs(ctx(1n, Op.STATFS));
    expect(s.bsize).toBe(4096);
    expect(s.frsize).toBe(4096);
    expect(s.blocks).toBe(BigInt(fsx.statfs().blocks));
  });
});

describe('errno.ts', () => {
  it('maps engine errors to their errno with one log line for damage and bugs, none for outcomes', () => {
    const lines: string[] = [];
    const lg = (_l: string, m: string, f?: Record<string, unknown>): void => { lines.push(`${m} ${JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`); };
    const site = { opcode: Op.READ, unique: 42n, nodeid: 12n };
    expect(errnoFor(new CorruptError('extent_header', 'bad magic', { inode: 12, block: 99 }, 'eh_magic', 0x1234), site, lg)).toBe(117);
    expect(lines[0]).toMatch(/corrupt metadata .*"op":"READ".*"unique":"42".*"structure":"extent_header".*"block":99.*"field":"eh_magic"/);
    expect(lines[0]).not.toMatch(/group|lblk/);
    expect(errnoFor(new ChecksumError('inode', { inode: 12 }, 1, 2), site, lg)).toBe(74);
    expect(errnoFor(new IoError('read', { block: 5 }), site, lg)).toBe(5);
    const n = lines.length;
    expect(errnoFor(new FsError(2, 'no such entry'), site, lg)).toBe(2);
    expect(lines.length).toBe(n);
    expect(errnoFor(new TypeError('boom'), site, lg)).toBe(5);
    expect(lines[lines.length - 1]).toMatch(/internal error .*TypeError: boom/);
  });
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { schemaGaps } from '../util/bytes.js';
import { inodeCsumSeed } from './context.js';
import { BlockDevice } from './device.js';
import { ChecksumError, CorruptError, EBADMSG, FsError } from './errors.js';
import {
  ESTALE, INODE, Inode, decodeExtraTime, inodeCsum, newDecodeDev, newEncodeDev, oldDecodeDev, parseInode, setInodeCsum,
} from './inode.js';
import { Ext4Core, openFs } from './mount.js';
import { mkfs, sh, tmpDir } from './testing/mkfs.js';

const isRoot = process.getuid?.() === 0;

describe('ext4_inode schema', () => {
  test('160 bytes, contiguous, kernel offsets', () => {
    expect(INODE.size).toBe(160);
    expect(schemaGaps(INODE)).toEqual([]);
    expect(INODE.offsetOf('i_block')).toBe(0x28);
    expect(INODE.offsetOf('l_i_checksum_lo')).toBe(0x7c);
    expect(INODE.offsetOf('i_extra_isize')).toBe(0x80);
    expect(INODE.offsetOf('i_crtime')).toBe(0x90);
    expect(INODE.offsetOf('i_projid')).toBe(0x9c);
  });
});

describe('field decoders', () => {
  test('ext4_decode_extra_time', () => {
    expect(decodeExtraTime(5, 0)).toEqual({ sec: 5, nsec: 0 });
    expect(decodeExtraTime(0xfffffff0, 0)).toEqual({ sec: -16, nsec: 0 }); // pre-1970
    expect(decodeExtraTime(0xfffffff0, 1)).toEqual({ sec: 2 ** 32 - 16, nsec: 0 });
    expect(decodeExtraTime(0x80000000, 1)).toEqual({ sec: 2 ** 31, nsec: 0 }); // 2038
    expect(decodeExtraTime(0, 3 | (999999999 << 2))).toEqual({ sec: 3 * 2 ** 32, nsec: 999999999 });
  });
  test('old and new device encodings', () => {
    expect(oldDecodeDev(0x0805)).toEqual({ major: 8, minor: 5 });
    expect(newDecodeDev(0x00100a05)).toEqual({ major: 0x0a, minor: 0x105 });
    const { major, minor } = newDecodeDev(newEncodeDev(259, 70000));
    expect([major, minor]).toEqual([259, 70000]);
  });
});

/** A populated image and the kernel's stat(1) of every path in it (loop mount, root only). */
function populated(args: string[]): { img: string; kernel: Map<number, string[]> } {
  const src = path.join(tmpDir(), `src-${args.join('')}`.replace(/[^a-z0-9-]/gi, '_'));
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'small'), 'hello\n');
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(300_000, 7));
  fs.symlinkSync('short/target', path.join(src, 'fastlink'));
  fs.symlinkSync('x'.repeat(200), path.join(src, 'slowlink'));
  sh('mkfifo', [path.join(src, 'fifo')]);
  sh('mknod', [path.join(src, 'chr'), 'c', '4', '5']);
  sh('mknod', [path.join(src, 'blk'), 'b', '259', '70000']);
  fs.chownSync(path.join(src, 'small'), 100000, 200000);
  const img = mkfs({ args, sizeKiB: 32 * 1024, dir: src, debugfs: [
    'sif /small mtime_extra 0x12345679', 'sif /small atime 0xfffffff0', 'sif /small atime_extra 0x7',
    'sif /big ctime 0x7ffffff0', 'sif /dir crtime 0x80000000', 'sif /big mtime 0xffff0000',
  ] });
  const kernel = new Map<number, string[]>();
  const mnt = path.join(tmpDir(), 'mnt');
  fs.mkdirSync(mnt, { recursive: true });
  sh('mount', ['-o', 'ro,loop', img, mnt]);
  try {
    const out = sh('find', [mnt, '-exec', 'stat', '-c', '%i %f %u %g %s %h %b %.9X %.9Y %.9Z %.9W %t %T', '{}', ';']);
    for (const line of out.trim().split('\n')) { const f = line.split(' '); kernel.set(Number(f[0]), f.slice(1)); }
  } finally { sh('umount', [mnt]); }
  return { img, kernel };
}

function fmtTime(t: { sec: number; nsec: number } | null): string {
  if (!t) return '0.000000000';
  // stat prints floor seconds and ns for negative times too
  return `${t.sec}.${String(t.nsec).padStart(9, '0')}`;
}

function ours(i: Inode): string[] {
  const hex = (n: number) => n.toString(16);
  return [
    hex(i.mode), String(i.uid), String(i.gid), String(i.size), String(i.links), String(i.blocks512),
    fmtTime(i.atime), fmtTime(i.mtime), fmtTime(i.ctime), fmtTime(i.crtime),
    hex(i.rdev?.major ?? 0), hex(i.rdev?.minor ?? 0),
  ];
}

(isRoot ? describe : describe.skip)('inodes match a kernel loop mount (stat of every path)', () => {
  test.each([
    ['ext4 4k', ['-t', 'ext4', '-b', '4096']],
    ['ext4 1k, 128-byte inodes', ['-t', 'ext4', '-b', '1024', '-I', '128']],
    ['ext2', ['-t', 'ext2']],
    ['ext4 ^metadata_csum', ['-t', 'ext4', '-O', '^metadata_csum']],
  ])('%s', (_n, args) => {
    const { img, kernel } = populated(args as string[]);
    const core = openFs(BlockDevice.fromPath(img));
    expect(kernel.size).toBeGreaterThan(10);
    for (const [ino, k] of kernel) {
      const i = core.readInode(ino);
      const o = ours(i);
      if (core.sb.inodeSize === 128) { o[9] = k[9]; } // no crtime: stat prints "-" / 0
      expect([ino, ...o]).toEqual([ino, ...k]);
    }
    core.close();
  });
});

describe('inode validation (one test per reason)', () => {
  let core: Ext4Core;
  let img: string;
  beforeAll(() => {
    img = mkfs({ args: ['-t', 'ext4', '-b', '4096', '-O', '^inline_data'], sizeKiB: 32 * 1024, debugfs: ['write /etc/hostname f', 'symlink l short', 'mkdir d'] });
    core = openFs(BlockDevice.fromPath(img));
  });
  afterAll(() => core.close());

  const FILE = 12;
  const LINK = 13;
  function rawOf(ino: number): Uint8Array {
    const i = core.readInode(ino);
    return i.info.raw.slice();
  }
  function parse(raw: Uint8Array, ino: number, resign = true): Inode {
    if (resign) setInodeCsum(raw, core.sb.inodeSize, inodeCsumSeed(core.ctx.csumSeed!, ino, new DataView(raw.buffer).getUint32(0x64, true)));
    return parseInode(raw, ino, core.sb, core.ctx, { block: 0 });
  }
  function patch(ino: number, p: Partial<Record<string, number | bigint | Uint8Array>>): Uint8Array {
    const raw = rawOf(ino);
    const full = new Uint8Array(Math.max(160, raw.length));
    full.set(raw);
    INODE.encode(p as never, full);
    raw.set(full.subarray(0, raw.length));
    return raw;
  }
  function corrupt(fn: () => unknown, reason: RegExp, field?: string): void {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as CorruptError).reason).toMatch(reason);
    expect((err as CorruptError).message).toMatch(/^corrupt inode: /);
    if (field) expect((err as CorruptError).field).toBe(field);
  }

  test('pristine inodes parse, with InodeInfo for the trees', () => {
    const f = core.readInode(FILE);
    expect(f.type).toBe('file');
    expect(f.info.extraEnd).toBe(128 + 32);
    expect(f.info.iBlock.length).toBe(60);
    expect(f.info.csumSeed).toBe(inodeCsumSeed(core.ctx.csumSeed!, FILE, f.generation));
    expect(core.readInode(LINK).isFastSymlink).toBe(true);
    expect(core.readInode(2).type).toBe('dir');
    expect(core.readInode(8, { special: true }).size).toBeGreaterThan(0);
  });
  test('checksum: inodeCsum over the inode with both halves zeroed', () => {
    const raw = rawOf(FILE);
    const dv = new DataView(raw.buffer);
    const stored = (dv.getUint16(0x7c, true) | (dv.getUint16(0x82, true) << 16)) >>> 0;
    expect(inodeCsum(raw, 256, core.readInode(FILE).info.csumSeed, 32)).toBe(stored);
  });
  test('checksum mismatch -> ChecksumError (EBADMSG)', () => {
    const raw = rawOf(FILE);
    raw[0x10] ^= 1;
    let err: unknown;
    try { parse(raw, FILE, false); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ChecksumError);
    expect((err as ChecksumError).errno).toBe(EBADMSG);
    expect((err as ChecksumError).at.inode).toBe(FILE);
  });
  test('only the low 16 bits are compared when i_extra_isize does not cover i_checksum_hi', () => {
    const raw = patch(FILE, { i_extra_isize: 0 });
    expect(parse(raw, FILE).extraIsize).toBe(0);
    expect(parse(raw, FILE).crtime).toBeNull();
    expect(parse(raw, FILE).mtime.nsec).toBe(0);
  });
  test('bad extra_isize: not a multiple of 4 / past the inode', () => {
    corrupt(() => parse(patch(FILE, { i_extra_isize: 30 }), FILE), /bad extra_isize/, 'i_extra_isize');
    corrupt(() => parse(patch(FILE, { i_extra_isize: 132 }), FILE), /bad extra_isize/, 'i_extra_isize');
  });
  test('unallocated inode: ESTALE for a normal read, corruption for a special one', () => {
    const raw = patch(FILE, { i_links_count: 0, i_mode: 0 });
    let err: unknown;
    try { parse(raw, FILE); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).errno).toBe(ESTALE);
    // A never-used (zeroed) inode fails its checksum first, as in __ext4_iget; without
    // metadata_csum it is simply not in use.
    expect(() => core.readInode(50)).toThrow(ChecksumError);
    const plain = openFs(BlockDevice.fromPath(mkfs({ args: ['-t', 'ext4', '-O', '^metadata_csum'], sizeKiB: 8 * 1024 })));
    expect(() => plain.readInode(50)).toThrow(FsError);
    plain.close();
    corrupt(() => parseInode(raw, FILE, core.sb, core.ctx, {}, { special: true }), /special inode unallocated/);
  });
  test('an orphan (links 0, valid mode) is readable only for orphan processing', () => {
    const raw = patch(FILE, { i_links_count: 0 });
    expect(() => parse(raw, FILE)).toThrow(FsError);
    setInodeCsum(raw, 256, core.readInode(FILE).info.csumSeed);
    expect(parseInode(raw, FILE, core.sb, core.ctx, {}, { orphan: true }).links).toBe(0);
  });
  test('illegal inode numbers', () => {
    corrupt(() => core.readInode(0), /illegal inode number/, 'ino');
    corrupt(() => core.readInode(1), /illegal inode number/);
    corrupt(() => core.readInode(8), /illegal inode number/); // the journal, through a normal read
    corrupt(() => core.readInode(core.sb.inodesCount + 1), /illegal inode number/);
    corrupt(() => core.readInode(1.5), /illegal inode number/);
    expect(() => core.readInode(core.sb.inodesCount)).toThrow(ChecksumError); // in range, never used
  });
  test('bogus i_mode', () => { corrupt(() => parse(patch(FILE, { i_mode: 0o170644 }), FILE), /bogus i_mode/, 'i_mode'); });
  test('immutable or append-only symlink', () => {
    corrupt(() => parse(patch(LINK, { i_flags: 0x10 }), LINK), /not allowed on symlinks/);
    corrupt(() => parse(patch(LINK, { i_flags: 0x20 }), LINK), /not allowed on symlinks/);
  });
  test('fast symlink length disagreeing with i_size', () => {
    corrupt(() => parse(patch(LINK, { i_size_lo: 3 }), LINK), /invalid fast symlink length/);
    corrupt(() => parse(patch(LINK, { i_size_lo: 0 }), LINK), /invalid fast symlink length/);
  });
  test('flags whose feature is off', () => {
    corrupt(() => parse(patch(FILE, { i_flags: 0x10000000 }), FILE), /inline_data feature/);
    corrupt(() => parse(patch(FILE, { i_flags: 0x40080000 }), FILE), /casefold feature/);
    const e2 = mkfs({ args: ['-t', 'ext2'], sizeKiB: 8 * 1024, debugfs: ['write /etc/hostname f'] });
    const c2 = openFs(BlockDevice.fromPath(e2));
    const raw = c2.readInode(12).info.raw.slice();
    new DataView(raw.buffer).setUint32(0x20, 0x80000, true);
    corrupt(() => parseInode(raw, 12, c2.sb, c2.ctx, {}), /extents feature/);
    c2.close();
  });
  test('i_size with bit 63 set, or past 2^53', () => {
    corrupt(() => parse(patch(FILE, { i_size_high: 0x80000000 }), FILE), /bad i_size/, 'i_size_high');
    corrupt(() => parse(patch(FILE, { i_size_high: 0x200000 }), FILE), /2\^53/);
  });
  test('i_size_high of a directory counts only with largedir', () => {
    const d = core.readInode(14);
    expect(d.type).toBe('dir');
    const raw = patch(14, { i_size_high: 5 });
    expect(parse(raw, 14).size).toBe(d.size);
  });
  test('xattr block inside a system zone or past the end', () => {
    const itable = core.groups.get(0).inodeTable;
    corrupt(() => parse(patch(FILE, { i_file_acl_lo: itable }), FILE), /invalid block range/);
    corrupt(() => parse(patch(FILE, { i_file_acl_lo: core.sb.blocksCount }), FILE), /invalid block range/);
    corrupt(() => parse(patch(FILE, { i_file_acl_lo: 0, l_i_file_acl_high: 1 }), FILE), /invalid block range/);
  });
  test('huge_file: i_blocks_hi, and fs-block units with EXT4_HUGE_FILE_FL', () => {
    const raw = patch(FILE, { i_blocks_lo: 3, l_i_blocks_high: 1 });
    expect(parse(raw, FILE).blocks512).toBe((1n << 32n) + 3n);
    const raw2 = patch(FILE, { i_blocks_lo: 3, i_flags: 0x80000 | 0x40000 });
    expect(parse(raw2, FILE).blocks512).toBe(3n * 8n);
  });
  test('uid/gid high halves and project id', () => {
    const i = parse(patch(FILE, { l_i_uid_high: 0xffff, l_i_gid_high: 2 }), FILE);
    expect(i.uid).toBe(0xffff0000 + i.raw.i_uid);
    expect(i.gid).toBe(0x20000 + i.raw.i_gid);
  });
  test('devices: old encoding in i_block[0], new in i_block[1]', () => {
    const blk = new Uint8Array(60);
    new DataView(blk.buffer).setUint32(4, newEncodeDev(300, 3000), true);
    const i = parse(patch(FILE, { i_mode: 0o020644, i_block: blk, i_flags: 0 }), FILE);
    expect(i.rdev).toEqual({ major: 300, minor: 3000 });
    new DataView(blk.buffer).setUint32(0, 0x0305, true);
    expect(parse(patch(FILE, { i_mode: 0o060644, i_block: blk, i_flags: 0 }), FILE).rdev).toEqual({ major: 3, minor: 5 });
  });
  test('5000 seeded mutants of real inodes (re-signed): results or typed errors only', () => {
    let seed = 777;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    const untyped: string[] = [];
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < 5000; i++) {
      const ino = [2, FILE, LINK, 14][rnd(4)];
      const raw = rawOf(ino);
      for (let k = 1 + rnd(3); k > 0; k--) {
        const off = rnd(2) ? rnd(0x28) : rnd(raw.length); // half in the ext2 core fields
        raw[off] = rnd(4) === 0 ? 0xff : raw[off] ^ (1 << rnd(8));
      }
      try { parse(raw, ino); ok++; } catch (e) {
        if (e instanceof CorruptError || e instanceof FsError) bad++;
        else untyped.push(`${i}: ${(e as Error).stack}`);
      }
    }
    expect(untyped.slice(0, 3)).toEqual([]);
    expect(ok).toBeGreaterThan(500);
    expect(bad).toBeGreaterThan(100);
  });

  test('an uninitialised inode table (INODE_UNINIT) holds no live inodes', () => {
    const c = openFs(BlockDevice.fromPath(mkfs({ args: ['-t', 'ext4', '-b', '1024'], sizeKiB: 32 * 1024 })));
    const g = Array.from({ length: c.groups.count }, (_, i) => c.groups.get(i)).find((d) => d.flags & 1);
    if (!g) throw new Error('fixture has no INODE_UNINIT group');
    const ino = g.group * c.sb.inodesPerGroup + 1;
    let err: unknown;
    try { c.readInode(ino); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).errno).toBe(ESTALE);
    expect(() => c.readInode(ino, { special: true })).toThrow(CorruptError);
    c.close();
  });
});

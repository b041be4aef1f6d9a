// Orphan list and orphan file, on images whose orphans the kernel itself wrote (files
// unlinked while open, then EXT4_IOC_SHUTDOWN: the orphan records sit in the journal, so
// this also exercises replay -> overlay -> orphan read), and on debugfs-crafted chains for
// every corruption reason.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRawImage } from './testing/rawctx.js';
import { EXT4_ORPHAN_BLOCK_MAGIC, OrphanSource, orphanBlockCsum, readOrphans } from './orphan.js';
import { recoverJournal } from './journal/recovery.js';
import { applyOverlay, debugfs, openImageJournal } from './journal/testing.js';
import { ChecksumError, CorruptError } from './errors.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'orphan-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
}

/** An OrphanSource over an image file (trusted geometry from rawctx). */
function sourceOf(path: string): OrphanSource {
  const img = openRawImage(path);
  const sb = new DataView(img.bytes.buffer, img.bytes.byteOffset + 1024, 1024);
  const orphanIno = img.ctx.features.has('orphan_file') ? sb.getUint32(0x280, true) : 0;
  const inode = (ino: number) => {
    const i = img.inode(ino);
    const dv = new DataView(i.raw.buffer, i.raw.byteOffset, i.raw.byteLength);
    return { dtime: dv.getUint32(0x14, true), linksCount: dv.getUint16(0x1a, true), mode: i.mode };
  };
  let orphanFile: OrphanSource['orphanFile'];
  if (orphanIno) {
    const map = debugfs(path, `blocks <${orphanIno}>`).split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
    const of = img.inode(orphanIno);
    orphanFile = {
      ino: orphanIno, size: of.size, csumSeed: img.ctx.csumSeed === null ? null : of.csumSeed,
      mapBlock: (l) => map[l], readBlock: (b) => img.ctx.readBlock(b, 'orphan_file'),
    };
  }
  return {
    blockSize: img.ctx.blockSize, inodesCount: img.ctx.inodesCount, firstIno: sb.getUint32(0x54, true) || 11,
    lastOrphan: sb.getUint32(0xe8, true), readInode: inode, orphanFile,
  };
}

/** Files created, unlinked while open, then the fs shut down with the log flushed. */
function kernelOrphans(name: string, mkfs: string[]): string {
  const img = join(dir, `${name}.img`);
  const mnt = join(dir, `${name}.mnt`);
  sh('mkfs.ext4', ['-q', '-F', ...mkfs, img, '32M']);
  sh('mkdir', ['-p', mnt]);
  sh('mount', ['-o', 'loop', img, mnt]);
  try {
    sh('python3', ['-c', [
      'import fcntl,os,struct,sys',
      `m=${JSON.stringify(mnt)}`,
      'fds=[os.open(m+"/f%d"%i,os.O_CREAT|os.O_WRONLY) for i in range(3)]',
      '[os.write(fd,b"x"*10000) for fd in fds]',
      'os.sync()',
      '[os.unlink(m+"/f%d"%i) for i in range(3)]',
      'os.sync()',
      'd=os.open(m,os.O_RDONLY)',
      'fcntl.ioctl(d,0x8004587D,struct.pack("I",1))',
    ].join('\n')]);
  } finally {
    sh('umount', [mnt]);
  }
  // Read the image as the kernel would after replay.
  const ij = openImageJournal(img);
  const res = recoverJournal(ij.source());
  const out = `${img}.replayed`;
  writeFileSync(out, applyOverlay(ij.bytes, res.overlay, ij.blockSize));
  return out;
}

const isRoot = process.getuid?.() === 0;
const kernelTest = isRoot ? test : test.skip;

describe('kernel-written orphans', () => {
  kernelTest('orphan list (s_last_orphan chain through i_dtime)', () => {
    const img = kernelOrphans('list', ['-O', '^orphan_file']);
    const r = readOrphans(sourceOf(img));
    expect(r.listError).toBeNull();
    expect([...r.list].sort((a, b) => a - b)).toEqual([12, 13, 14]);
    expect(r.fileBlocks).toBe(0);
  });

  kernelTest('orphan file (blocks of le32 inode numbers, tail magic + crc32c)', () => {
    const img = kernelOrphans('file', ['-O', 'orphan_file']);
    const src = sourceOf(img);
    expect(src.orphanFile).toBeDefined();
    const r = readOrphans(src);
    expect(r.list).toEqual([]);
    expect([...r.fileEntries].sort((a, b) => a - b)).toEqual([13, 14, 15]);
    expect(r.badFileEntries).toEqual([]);
    expect(r.fileBlocks).toBeGreaterThan(0);
  });
});

describe('orphan list corruption (reported, not thrown: the kernel stops cleanup and mounts)', () => {
  function crafted(name: string, cmds: string[]): OrphanSource {
    const img = join(dir, `${name}.img`);
    sh('mkfs.ext4', ['-q', '-F', '-O', '^orphan_file', '-N', '64', img, '8M']);
    sh('debugfs', ['-w', '-f', '-', img], ['write /dev/null a', 'write /dev/null b', 'write /dev/null c', ...cmds].join('\n') + '\n');
    return sourceOf(img);
  }
  test('a valid crafted chain is followed in order', () => {
    const r = readOrphans(crafted('chain', ['ssv last_orphan 13', 'sif <13> dtime 12', 'sif <12> dtime 14', 'sif <14> dtime 0']));
    expect(r.list).toEqual([13, 12, 14]);
    expect(r.listError).toBeNull();
  });
  test('cycle', () => {
    const r = readOrphans(crafted('cycle', ['ssv last_orphan 12', 'sif <12> dtime 13', 'sif <13> dtime 12']));
    expect(r.list).toEqual([12, 13]);
    expect(r.listError?.message).toMatch(/orphan list has a cycle \(inode 12/);
  });
  test('inode number below s_first_ino', () => {
    const r = readOrphans(crafted('low', ['ssv last_orphan 12', 'sif <12> dtime 5']));
    expect(r.list).toEqual([12]);
    expect(r.listError?.message).toMatch(/bad orphan inode number .*ino=5/);
  });
  test('next orphan beyond s_inodes_count', () => {
    const r = readOrphans(crafted('high', ['ssv last_orphan 12', 'sif <12> dtime 100000']));
    expect(r.list).toEqual([]);
    expect(r.listError?.message).toMatch(/next orphan out of range/);
  });
  test('a linked orphan that cannot be truncated (a fifo)', () => {
    const r = readOrphans(crafted('fifo', ['mknod p p', 'ssv last_orphan 15']));
    expect(r.listError?.message).toMatch(/orphan with links cannot be truncated/);
  });
  test('an orphan whose bitmap bit is clear', () => {
    const src = crafted('bitmap', ['ssv last_orphan 12']);
    const r = readOrphans({ ...src, inodeInUse: (i) => i !== 12 });
    expect(r.listError?.message).toMatch(/orphan inode not in use/);
  });
  test('the walk budget stops a hostile chain', () => {
    // A synthetic chain longer than any real list: n -> n+1 over a huge inode count.
    const r = readOrphans({
      blockSize: 4096, inodesCount: 0xffffffff, firstIno: 11, lastOrphan: 11,
      readInode: (i) => ({ dtime: i + 1, linksCount: 0, mode: 0o100644 }),
    });
    expect(r.list.length).toBe(1 << 20);
    expect(r.listError?.message).toMatch(/orphan list too long/);
  });
});

describe('orphan file corruption (thrown: ext4_init_orphan_info fails the mount)', () => {
  function fileSource(bs: number, blocks: Uint8Array[], over: Partial<NonNullable<OrphanSource['orphanFile']>> = {}): OrphanSource {
    return {
      blockSize: bs, inodesCount: 1000, firstIno: 11, lastOrphan: 0,
      readInode: () => ({ dtime: 0, linksCount: 0, mode: 0o100644 }),
      orphanFile: { ino: 12, size: blocks.length * bs, csumSeed: 0x1234, mapBlock: (l) => 100 + l, readBlock: (b) => blocks[b - 100], ...over },
    };
  }
  function block(bs: number, entries: number[], phys: number, seed = 0x1234): Uint8Array {
    const b = new Uint8Array(bs);
    const dv = new DataView(b.buffer);
    entries.forEach((e, i) => dv.setUint32(4 * i, e, true));
    dv.setUint32(bs - 8, EXT4_ORPHAN_BLOCK_MAGIC, true);
    dv.setUint32(bs - 4, orphanBlockCsum(seed, phys, b), true);
    return b;
  }
  test('valid blocks: entries, zeros skipped, bad numbers set aside', () => {
    const r = readOrphans(fileSource(1024, [block(1024, [0, 20, 0, 5000, 30], 100), block(1024, [40], 101)]));
    expect(r.fileEntries).toEqual([20, 30, 40]);
    expect(r.badFileEntries).toEqual([5000]);
    expect(r.fileBlocks).toBe(2);
  });
  test('bad magic', () => {
    const b = block(1024, [20], 100);
    b[1024 - 8] ^= 1;
    expect(() => readOrphans(fileSource(1024, [b]))).toThrow(/corrupt orphan_file: bad magic/);
  });
  test('bad checksum (the checksum covers the physical block number)', () => {
    const b = block(1024, [20], 101); // summed as if it lived at block 101
    let err: unknown;
    try { readOrphans(fileSource(1024, [b])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ChecksumError);
  });
  test('no metadata_csum: the checksum is not checked', () => {
    const b = block(1024, [20], 101);
    expect(readOrphans(fileSource(1024, [b], { csumSeed: null })).fileEntries).toEqual([20]);
  });
  test('orphan file larger than 8 MiB', () => {
    expect(() => readOrphans(fileSource(1024, [], { size: (8 << 20) + 1024 }))).toThrow(CorruptError);
    expect(() => readOrphans(fileSource(1024, [], { size: (8 << 20) + 1024 }))).toThrow(/orphan file too big/);
  });
});

// Golden reply and notification encoding: expected bytes written by hand from the uapi
// layout (annotated hex), never produced by the encoders under test. Also the reply rows of
// the opcode table: xattr size probes/ERANGE, listxattr joining, read bounds, ENOSYS.

import { Op } from './abi.js';
import * as E from './encode.js';
import * as N from './notify.js';
import { ERANGE, FsErrno, ProtocolError } from './errors.js';
import { type FuseFs, opTable, type RequestContext } from './ops.js';
import { hex, str } from './testing/hex.js';

const attr: E.Attr = {
  ino: 2n, size: 12n, blocks: 1n, atime: 0x10n, mtime: 0x11n, ctime: 0x12n, atimensec: 5, mtimensec: 6,
  ctimensec: 7, mode: 0o100644, nlink: 1, uid: 1000, gid: 100, rdev: 0, blksize: 4096,
};
const attrHex = `
  02 00 00 00 00 00 00 00 // ino
  0c 00 00 00 00 00 00 00 // size 12
  01 00 00 00 00 00 00 00 // blocks
  10 00 00 00 00 00 00 00 // atime
  11 00 00 00 00 00 00 00 // mtime
  12 00 00 00 00 00 00 00 // ctime
  05 00 00 00 06 00 00 00 07 00 00 00 // atimensec mtimensec ctimensec
  a4 81 00 00 // mode 0100644
  01 00 00 00 // nlink
  e8 03 00 00 // uid 1000
  64 00 00 00 // gid 100
  00 00 00 00 // rdev
  00 10 00 00 // blksize 4096
  00 00 00 00 // flags`;
const entry: E.Entry = { nodeid: 2n, generation: 1n, entryValid: 1.5, attrValid: 2, attr };
const entryHex = `
  02 00 00 00 00 00 00 00 // nodeid
  01 00 00 00 00 00 00 00 // generation
  01 00 00 00 00 00 00 00 // entry_valid 1 s
  02 00 00 00 00 00 00 00 // attr_valid 2 s
  00 65 cd 1d // entry_valid_nsec 500000000
  00 00 00 00 // attr_valid_nsec
  ${attrHex}`;

function enc(n: number, f: (b: Buffer) => number): Buffer {
  const b = Buffer.alloc(n + 64, 0xee);
  const len = f(b);
  return b.subarray(0, len);
}

describe('reply goldens', () => {
  test('out_header with an error', () => {
    const b = Buffer.alloc(16);
    E.writeOutHeader(b, 0, 16, -2, 7n);
    expect(b).toEqual(hex('10 00 00 00 // len 16\n fe ff ff ff // error -ENOENT\n 07 00 00 00 00 00 00 00 // unique'));
  });
  test('fuse_entry_out (128)', () => expect(enc(128, (b) => E.encodeEntry(b, 0, entry))).toEqual(hex(entryHex)));
  test('fuse_attr_out (104)', () => {
    expect(enc(104, (b) => E.encodeAttrOut(b, 0, { attr, attrValid: 0.25 }))).toEqual(hex(`
      00 00 00 00 00 00 00 00 // attr_valid 0 s
      80 b2 e6 0e // attr_valid_nsec 250000000
      00 00 00 00 // dummy
      ${attrHex}`));
  });
  test('fuse_open_out (16)', () => {
    expect(enc(16, (b) => E.encodeOpen(b, 0, { fh: 0x1122334455667788n, openFlags: 3 }))).toEqual(hex(`
      88 77 66 55 44 33 22 11 // fh
      03 00 00 00 // open_flags DIRECT_IO|KEEP_CACHE
      00 00 00 00 // backing_id`));
  });
  test('CREATE: entry_out then open_out (144)', () => {
    expect(enc(144, (b) => E.encodeCreate(b, 0, { entry, open: { fh: 9n } }))).toEqual(hex(`${entryHex}
      09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 // open_out fh 9`));
  });
  test('fuse_statfs_out (80)', () => {
    expect(enc(80, (b) => E.encodeStatfs(b, 0, { blocks: 1000n, bfree: 400n, bavail: 300n, files: 5000n, ffree: 1234n, bsize: 4096, namelen: 255, frsize: 4096 }))).toEqual(hex(`
      e8 03 00 00 00 00 00 00 // blocks
      90 01 00 00 00 00 00 00 // bfree
      2c 01 00 00 00 00 00 00 // bavail
      88 13 00 00 00 00 00 00 // files
      d2 04 00 00 00 00 00 00 // ffree
      00 10 00 00 // bsize
      ff 00 00 00 // namelen
      00 10 00 00 // frsize
      00 00 00 00 // padding
      ${'00 '.repeat(24)} // spare[6]`));
  });
  test('getxattr_out / write_out, lseek_out / bmap_out, poll_out', () => {
    expect(enc(8, (b) => E.encodeSize32(b, 0, 1000))).toEqual(hex('e8 03 00 00 00 00 00 00 // size, padding'));
    expect(enc(8, (b) => E.encodeU64(b, 0, 0x100000n))).toEqual(hex('00 00 10 00 00 00 00 00 // offset'));
    expect(enc(8, (b) => E.encodePoll(b, 0, 5))).toEqual(hex('05 00 00 00 00 00 00 00 // revents, padding'));
  });
  test('fuse_lk_out (24)', () => {
    expect(enc(24, (b) => E.encodeLk(b, 0, { start: 1n, end: 2n, type: 2, pid: 77 }))).toEqual(hex(`
      01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 // start, end
      02 00 00 00 4d 00 00 00 // type F_UNLCK, pid`));
  });
  test('fuse_ioctl_out + data', () => {
    expect(enc(20, (b) => E.encodeIoctl(b, 0, { result: 0, data: hex('00 00 08 00') }))).toEqual(hex(`
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 // result flags in_iovs out_iovs
      00 00 08 00 // FS_EXTENTS_FL`));
  });
  test('fuse_init_out (64)', () => {
    expect(enc(64, (b) => E.encodeInit(b, 0, {
      major: 7, minor: 45, maxReadahead: 0x20000, flags: (1n << 32n) | (1n << 30n) | (1n << 22n) | 1n,
      maxBackground: 64, congestionThreshold: 48, maxWrite: 0x100000, timeGran: 1, maxPages: 256,
    }))).toEqual(hex(`
      07 00 00 00 // major
      2d 00 00 00 // minor 45
      00 00 02 00 // max_readahead
      01 00 40 40 // flags ASYNC_READ|MAX_PAGES|INIT_EXT
      40 00 30 00 // max_background 64, congestion_threshold 48
      00 00 10 00 // max_write 1 MiB
      01 00 00 00 // time_gran 1 ns
      00 01 00 00 // max_pages 256, map_alignment 0
      01 00 00 00 // flags2 SECURITY_CTX
      00 00 00 00 // max_stack_depth
      00 00 // request_timeout
      ${'00 '.repeat(22)} // unused[11]`));
  });
  test('fuse_statx_out (288)', () => {
    const t = (sec: bigint, nsec: number): E.SxTime => ({ sec, nsec });
    expect(enc(288, (b) => E.encodeStatx(b, 0, { attrValid: 1, stat: {
      mask: 0x7ff, blksize: 4096, attributes: 0n, nlink: 1, uid: 0, gid: 0, mode: 0o100644, ino: 2n, size: 12n,
      blocks: 1n, attributesMask: 0n, atime: t(0x10n, 5), btime: t(0x13n, 8), ctime: t(0x12n, 7), mtime: t(0x11n, 6),
      rdevMajor: 0, rdevMinor: 0, devMajor: 0, devMinor: 38,
    } }))).toEqual(hex(`
      01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 // attr_valid, attr_valid_nsec, flags
      ${'00 '.repeat(16)} // spare[2]
      ff 07 00 00 00 10 00 00 // mask, blksize
      00 00 00 00 00 00 00 00 // attributes
      01 00 00 00 00 00 00 00 00 00 00 00 // nlink uid gid
      a4 81 00 00 // mode (u16), __spare0
      02 00 00 00 00 00 00 00 0c 00 00 00 00 00 00 00 // ino, size
      01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 // blocks, attributes_mask
      10 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 // atime
      13 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00 // btime
      12 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 // ctime
      11 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 // mtime
      00 00 00 00 00 00 00 00 00 00 00 00 26 00 00 00 // rdev_major/minor dev_major/minor
      ${'00 '.repeat(112)} // __spare2[14]`));
  });
});

describe('dirent packing', () => {
  test('fuse_dirent records padded to 8, stop when full', () => {
    const b = Buffer.alloc(100, 0xee);
    const p = new E.DirentPacker(b, 0, 72);
    expect(p.add({ ino: 5n, off: 1n, type: 8, name: Buffer.from('a') })).toBe(true);
    expect(p.add({ ino: 6n, off: 2n, type: 4, name: Buffer.from('abcdefgh') })).toBe(true);
    expect(p.add({ ino: 7n, off: 3n, type: 8, name: Buffer.from('b') })).toBe(false);
    expect(p.length).toBe(64);
    expect(b.subarray(0, 72)).toEqual(hex(`
      05 00 00 00 00 00 00 00 // ino
      01 00 00 00 00 00 00 00 // off (cookie of the next entry)
      01 00 00 00 08 00 00 00 // namelen 1, type DT_REG
      61 00 00 00 00 00 00 00 // "a" + 7 bytes of padding
      06 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 // ino 6, off 2
      08 00 00 00 04 00 00 00 // namelen 8, type DT_DIR
      61 62 63 64 65 66 67 68 // "abcdefgh", no padding
      ee ee ee ee ee ee ee ee // untouched: the third record did not fit`));
  });
  test('fuse_direntplus: entry_out, dirent, name, padding', () => {
    const b = Buffer.alloc(200, 0xee);
    const p = new E.DirentPacker(b, 0, 200);
    expect(p.add({ ino: 2n, off: 3n, type: 8, name: Buffer.from('a') })).toBe(true);
    const q = new E.DirentPacker(b, 0, 200);
    expect(q.addPlus({ ino: 2n, off: 3n, type: 8, name: Buffer.from('a') }, entry)).toBe(true);
    expect(q.length).toBe(160);
    expect(b.subarray(0, 160)).toEqual(hex(`${entryHex}
      02 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 // ino, off
      01 00 00 00 08 00 00 00 // namelen, type
      61 00 00 00 00 00 00 00 // name + padding`));
    expect(new E.DirentPacker(b, 0, 159).addPlus({ ino: 2n, off: 3n, type: 8, name: Buffer.from('a') }, entry)).toBe(false);
  });
  test('names with / or NUL, or empty, are refused', () => {
    const p = new E.DirentPacker(Buffer.alloc(100), 0, 100);
    for (const n of ['', 'a/b', 'a\0b']) expect(() => p.add({ ino: 1n, off: 1n, type: 8, name: Buffer.from(n) })).toThrow(ProtocolError);
  });
});

describe('notification goldens', () => {
  test('INVAL_INODE', () => expect(N.notifyInvalInode(5n, -1n, 0n)).toEqual(hex(`
    28 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 // len 40, code INVAL_INODE, unique 0
    05 00 00 00 00 00 00 00 // ino
    ff ff ff ff ff ff ff ff // off -1: attributes only
    00 00 00 00 00 00 00 00 // len`)));
  test('INVAL_ENTRY', () => expect(N.notifyInvalEntry(1n, Buffer.from('a'))).toEqual(hex(`
    22 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 // len 34, code 3
    01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 // parent, namelen, flags
    ${str('a')}`)));
  test('STORE', () => expect(N.notifyStore(5n, 0x1000n, Buffer.from('xyz'))).toEqual(hex(`
    2b 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 // len 43, code 4
    05 00 00 00 00 00 00 00 00 10 00 00 00 00 00 00 // nodeid, offset
    03 00 00 00 00 00 00 00 // size, padding
    78 79 7a`)));
  test('DELETE', () => expect(N.notifyDelete(1n, 5n, Buffer.from('a'))).toEqual(hex(`
    2a 00 00 00 06 00 00 00 00 00 00 00 00 00 00 00 // len 42, code 6
    01 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 // parent, child
    01 00 00 00 00 00 00 00 // namelen, padding
    ${str('a')}`)));
  test('POLL, RESEND, PRUNE', () => {
    expect(N.notifyPoll(9n)).toEqual(hex('18 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 09 00 00 00 00 00 00 00'));
    expect(N.notifyResend()).toEqual(hex('10 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00'));
    expect(N.notifyPrune([3n])).toEqual(hex(`28 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00
      01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00`));
  });
  test('names with NUL are refused', () => expect(() => N.notifyInvalEntry(1n, Buffer.from('a\0'))).toThrow(ProtocolError));
});

describe('reply rows', () => {
  const c = { unique: 2n, opcode: 0, nodeid: 1n, uid: 0, gid: 0, pid: 0, groups: null, signal: new AbortController().signal } as RequestContext;
  const out = () => ({ buf: Buffer.alloc(16 + 4096), cap: 4096 });
  const fs: FuseFs = {
    getxattr: async () => Buffer.alloc(1000, 0x78),
    listxattr: async () => [Buffer.from('user.a'), Buffer.from('user.long')],
    read: async (_c, a, dst) => { dst.fill(0x61); return a.size + 1; },
  };
  test('GETXATTR size 0 answers the length; too small is ERANGE; enough copies the value', async () => {
    const row = opTable.get(Op.GETXATTR)!;
    const o = out();
    expect(await row.run!(fs, c, { size: 0, name: Buffer.from('user.long') } as never, o)).toBe(8);
    expect(o.buf.subarray(16, 24)).toEqual(hex('e8 03 00 00 00 00 00 00'));
    await expect(row.run!(fs, c, { size: 10, name: Buffer.from('x') } as never, out())).rejects.toMatchObject({ errno: ERANGE });
    const o2 = out();
    expect(await row.run!(fs, c, { size: 2000, name: Buffer.from('x') } as never, o2)).toBe(1000);
    expect(o2.buf.subarray(16, 1016)).toEqual(Buffer.alloc(1000, 0x78));
  });
  test('LISTXATTR joins names with NULs', async () => {
    const row = opTable.get(Op.LISTXATTR)!;
    const o = out();
    expect(await row.run!(fs, c, { size: 100 } as never, o)).toBe(17);
    expect(o.buf.subarray(16, 33)).toEqual(hex(`${str('user.a')} ${str('user.long')}`));
    await expect(row.run!(fs, c, { size: 16 } as never, out())).rejects.toMatchObject({ errno: ERANGE });
  });
  test('READ: a count beyond the request is a ProtocolError; sizes beyond the buffer are refused', async () => {
    const row = opTable.get(Op.READ)!;
    await expect(row.run!(fs, c, { size: 10 } as never, out())).rejects.toThrow(ProtocolError);
    await expect(row.run!(fs, c, { size: 5000 } as never, out())).rejects.toThrow(ProtocolError);
  });
  test('a missing method answers ENOSYS', async () => {
    await expect(opTable.get(Op.LOOKUP)!.run!({}, c, { name: Buffer.from('a') } as never, out())).rejects.toMatchObject({ errno: 38 });
    await expect(opTable.get(Op.MKDIR)!.run!({}, c, {} as never, out())).rejects.toBeInstanceOf(FsErrno);
  });
});

// Golden request decoding: every opcode's body written by hand from the uapi layout, with
// annotated hex; then malformed requests, each of which must be a ProtocolError.

import { Op } from './abi.js';
import { decodeExtensions, decodeHeader, decodeRequest, suppGroups } from './decode.js';
import { ProtocolError } from './errors.js';
import { hex, le, request, str } from './testing/hex.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const u64 = (v: bigint | number): string => le(v, 8);
const u32 = (v: number): string => le(v, 4);

const readIn = `
  ${u64(1)}            // fh
  00 20 00 00 00 00 00 00 // offset 0x2000
  00 10 00 00          // size 0x1000
  02 00 00 00          // read_flags READ_LOCKOWNER
  aa 00 00 00 00 00 00 00 // lock_owner
  00 80 00 00          // flags O_LARGEFILE
  00 00 00 00          // padding`;
const readArgs = { fh: 1n, offset: 0x2000n, size: 0x1000, readFlags: 2, lockOwner: 0xaan, flags: 0x8000 };
const releaseIn = `${u64(3)} // fh
  00 80 00 00 // flags
  01 00 00 00 // release_flags RELEASE_FLUSH
  bb 00 00 00 00 00 00 00 // lock_owner`;
const releaseArgs = { fh: 3n, flags: 0x8000, releaseFlags: 1, lockOwner: 0xbbn };
const fsyncIn = `${u64(3)} 01 00 00 00 // fh, fsync_flags FDATASYNC
  00 00 00 00 // padding`;
const lkIn = `${u64(1)} // fh
  ${u64(2)} // owner
  00 00 00 00 00 00 00 00 // lk.start
  ff ff ff ff ff ff ff 7f // lk.end
  01 00 00 00 // lk.type F_WRLCK
  4d 00 00 00 // lk.pid 77
  00 00 00 00 00 00 00 00 // lk_flags, padding`;
const lkArgs = { fh: 1n, owner: 2n, lk: { start: 0n, end: 0x7fffffffffffffffn, type: 1, pid: 77 }, lkFlags: 0 };
const createIn = `41 82 00 00 // flags O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE
  a4 81 00 00 // mode 0100644
  12 00 00 00 // umask 022
  00 00 00 00 // open_flags
`;
const copyIn = `${u64(1)} ${u64(2)} ${u64(3)} ${u64(4)} ${u64(5)} ${u64(6)} ${u64(0)} // fh_in off_in nodeid_out fh_out off_out len flags`;
const copyArgs = { fhIn: 1n, offIn: 2n, nodeidOut: 3n, fhOut: 4n, offOut: 5n, len: 6n, flags: 0n };

type Case = [name: keyof typeof Op, body: string, args: unknown, setxattrExt?: boolean];
const cases: Case[] = [
  ['LOOKUP', str('hello'), { name: b('hello') }],
  ['FORGET', '05 00 00 00 00 00 00 00 // nlookup', { nlookup: 5n }],
  ['GETATTR', '01 00 00 00 // getattr_flags GETATTR_FH\n 00 00 00 00 // dummy\n 07 00 00 00 00 00 00 00 // fh', { getattrFlags: 1, fh: 7n }],
  ['SETATTR', `
    09 00 00 00 // valid MODE|SIZE
    00 00 00 00 // padding
    02 00 00 00 00 00 00 00 // fh
    00 10 00 00 00 00 00 00 // size
    00 00 00 00 00 00 00 00 // lock_owner
    65 00 00 00 00 00 00 00 // atime
    66 00 00 00 00 00 00 00 // mtime
    67 00 00 00 00 00 00 00 // ctime
    01 00 00 00 02 00 00 00 03 00 00 00 // atimensec mtimensec ctimensec
    a4 81 00 00 // mode
    00 00 00 00 // unused4
    e8 03 00 00 // uid 1000
    64 00 00 00 // gid 100
    00 00 00 00 // unused5`,
  { valid: 9, fh: 2n, size: 0x1000n, lockOwner: 0n, atime: 0x65n, mtime: 0x66n, ctime: 0x67n, atimensec: 1, mtimensec: 2, ctimensec: 3, mode: 0o100644, uid: 1000, gid: 100 }],
  ['READLINK', '', {}],
  ['SYMLINK', `${str('ln')} ${str('target')}`, { name: b('ln'), target: b('target') }],
  ['MKNOD', `a4 11 00 00 // mode S_IFIFO|0644
    00 00 00 00 // rdev
    12 00 00 00 // umask
    00 00 00 00 // padding
    ${str('p')}`, { mode: 0o10644, rdev: 0, umask: 0o22, name: b('p') }],
  ['MKDIR', `ed 41 00 00 // mode S_IFDIR|0755
    12 00 00 00 // umask
    ${str('d')}`, { mode: 0o40755, umask: 0o22, name: b('d') }],
  ['UNLINK', str('x'), { name: b('x') }],
  ['RMDIR', str('d'), { name: b('d') }],
  ['RENAME', `05 00 00 00 00 00 00 00 // newdir
    ${str('a')} ${str('b')}`, { newdir: 5n, flags: 0, oldname: b('a'), newname: b('b') }],
  ['LINK', `09 00 00 00 00 00 00 00 // oldnodeid
    ${str('l')}`, { oldnodeid: 9n, newname: b('l') }],
  ['OPEN', '00 80 00 00 // flags\n 01 00 00 00 // open_flags KILL_SUIDGID', { flags: 0x8000, openFlags: 1 }],
  ['READ', readIn, readArgs],
  ['WRITE', `${u64(1)} // fh
    00 00 00 00 00 00 00 00 // offset
    03 00 00 00 // size
    01 00 00 00 // write_flags WRITE_CACHE
    00 00 00 00 00 00 00 00 // lock_owner
    02 00 00 00 00 00 00 00 // flags O_RDWR, padding
    61 62 63 // data "abc"`,
  { fh: 1n, offset: 0n, size: 3, writeFlags: 1, lockOwner: 0n, flags: 2, data: b('abc') }],
  ['STATFS', '', {}],
  ['RELEASE', releaseIn, releaseArgs],
  ['FSYNC', fsyncIn, { fh: 3n, fsyncFlags: 1 }],
  ['SETXATTR', `02 00 00 00 // size
    01 00 00 00 // flags XATTR_CREATE
    00 00 00 00 // setxattr_flags
    00 00 00 00 // padding
    ${str('user.a')} 68 69 // name, value "hi"`, { size: 2, flags: 1, setxattrFlags: 0, name: b('user.a'), value: b('hi') }, true],
  ['SETXATTR', `02 00 00 00 // size
    00 00 00 00 // flags (8-byte compat form without SETXATTR_EXT)
    ${str('user.a')} 68 69`, { size: 2, flags: 0, setxattrFlags: 0, name: b('user.a'), value: b('hi') }, false],
  ['GETXATTR', `40 00 00 00 00 00 00 00 // size 64, padding
    ${str('user.a')}`, { size: 64, name: b('user.a') }],
  ['LISTXATTR', '00 00 00 00 00 00 00 00 // size 0 (probe), padding', { size: 0 }],
  ['REMOVEXATTR', str('user.a'), { name: b('user.a') }],
  ['FLUSH', `${u64(3)} 00 00 00 00 00 00 00 00 // fh, unused, padding
    cc 00 00 00 00 00 00 00 // lock_owner`, { fh: 3n, lockOwner: 0xccn }],
  ['INIT', `07 00 00 00 // major
    2d 00 00 00 // minor 45
    00 00 02 00 // max_readahead 128 KiB
    fb ff ff 73 // flags (as offered by 6.18.44)
    fd 05 00 00 // flags2
    ${'00 '.repeat(44)} // unused[11]`, { major: 7, minor: 45, maxReadahead: 0x20000, flags: 0x5fd73fffffbn }],
  ['OPENDIR', '00 00 01 00 00 00 00 00 // flags O_DIRECTORY, open_flags', { flags: 0x10000, openFlags: 0 }],
  ['READDIR', readIn, readArgs],
  ['RELEASEDIR', releaseIn, releaseArgs],
  ['FSYNCDIR', fsyncIn, { fh: 3n, fsyncFlags: 1 }],
  ['GETLK', lkIn, lkArgs],
  ['SETLK', lkIn, lkArgs],
  ['SETLKW', lkIn, lkArgs],
  ['ACCESS', '04 00 00 00 00 00 00 00 // mask R_OK, padding', { mask: 4 }],
  ['CREATE', `${createIn} ${str('n')}`, { flags: 0x8241, mode: 0o100644, umask: 0o22, openFlags: 0, name: b('n') }],
  ['INTERRUPT', '10 00 00 00 00 00 00 00 // unique of the interrupted request', { unique: 16n }],
  ['BMAP', '20 00 00 00 00 00 00 00 // block\n 00 10 00 00 00 00 00 00 // blocksize, padding', { block: 0x20n, blocksize: 4096 }],
  ['DESTROY', '', {}],
  ['IOCTL', `${u64(1)} // fh
    00 00 00 00 // flags
    01 66 08 80 // cmd FS_IOC_GETFLAGS
    00 00 fd 7f 00 00 00 00 // arg
    00 00 00 00 // in_size
    04 00 00 00 // out_size`, { fh: 1n, flags: 0, cmd: 0x80086601, arg: 0x7ffd0000n, inSize: 0, outSize: 4, data: b('') }],
  ['POLL', `${u64(1)} ${u64(2)} // fh, kh
    01 00 00 00 // flags SCHEDULE_NOTIFY
    01 00 00 00 // events POLLIN`, { fh: 1n, kh: 2n, flags: 1, events: 1 }],
  ['NOTIFY_REPLY', `${u64(0)} // dummy1
    00 10 00 00 00 00 00 00 // offset
    02 00 00 00 00 00 00 00 // size, dummy2
    ${u64(0)} ${u64(0)} // dummy3, dummy4
    7a 7a // data`, { offset: 0x1000n, size: 2, data: b('zz') }],
  ['BATCH_FORGET', `02 00 00 00 00 00 00 00 // count 2, dummy
    05 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 // {nodeid 5, nlookup 1}
    06 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00 // {nodeid 6, nlookup 3}`,
  { items: [{ nodeid: 5n, nlookup: 1n }, { nodeid: 6n, nlookup: 3n }] }],
  ['FALLOCATE', `${u64(1)} ${u64(0)} // fh, offset
    00 00 01 00 00 00 00 00 // length 64 KiB
    01 00 00 00 00 00 00 00 // mode KEEP_SIZE, padding`, { fh: 1n, offset: 0n, length: 0x10000n, mode: 1 }],
  ['READDIRPLUS', readIn, readArgs],
  ['RENAME2', `05 00 00 00 00 00 00 00 // newdir
    01 00 00 00 00 00 00 00 // flags NOREPLACE, padding
    ${str('a')} ${str('b')}`, { newdir: 5n, flags: 1, oldname: b('a'), newname: b('b') }],
  ['LSEEK', `${u64(1)} 00 01 00 00 00 00 00 00 // fh, offset 0x100
    03 00 00 00 00 00 00 00 // whence SEEK_DATA, padding`, { fh: 1n, offset: 0x100n, whence: 3 }],
  ['COPY_FILE_RANGE', copyIn, copyArgs],
  ['SETUPMAPPING', `${u64(1)} ${u64(2)} ${u64(3)} ${u64(4)} ${u64(5)} // fh foffset len flags moffset`,
    { fh: 1n, foffset: 2n, len: 3n, flags: 4n, moffset: 5n }],
  ['REMOVEMAPPING', `01 00 00 00 // count
    00 10 00 00 00 00 00 00 00 20 00 00 00 00 00 00 // {moffset, len}`, { items: [{ moffset: 0x1000n, len: 0x2000n }] }],
  ['SYNCFS', '00 00 00 00 00 00 00 00 // padding', {}],
  ['TMPFILE', `${createIn} ${str('ignored')}`, { flags: 0x8241, mode: 0o100644, umask: 0o22, openFlags: 0, name: b('') }],
  ['STATX', `00 00 00 00 00 00 00 00 // getattr_flags, reserved
    ${u64(0)} // fh
    00 00 00 00 // sx_flags AT_STATX_SYNC_AS_STAT
    ff 0f 00 00 // sx_mask STATX_BASIC_STATS|BTIME`, { getattrFlags: 0, fh: 0n, sxFlags: 0, sxMask: 0xfff }],
  ['COPY_FILE_RANGE_64', copyIn, copyArgs],
  ['CUSE_INIT', '07 00 00 00', { body: b('\x07\0\0\0') }],
];

describe('request decoding goldens', () => {
  test.each(cases.map((c) => [c[0] + (c[3] === false ? ' (compat setxattr_in)' : ''), c] as const))('%s', (_n, c) => {
    const [name, body, args, ext] = c;
    const buf = request(Op[name], hex(body), { unique: 0x1234n, nodeid: 42n });
    const r = decodeRequest(buf, buf.length, { setxattrExt: ext ?? true });
    expect(r.h).toEqual({ len: buf.length, opcode: Op[name], unique: 0x1234n, nodeid: 42n, uid: 1000, gid: 100, pid: 4242, totalExtlen: 0 });
    expect(r.args).toEqual(args);
    expect(r.ext).toEqual([]);
  });

  test('every opcode has a golden case', () => {
    const covered = new Set(cases.map((c) => c[0]));
    expect(Object.keys(Op).filter((k) => !covered.has(k as keyof typeof Op))).toEqual([]);
  });

  test('header: the LOOKUP "nope" the kernel sends (len 45), byte by byte', () => {
    const buf = hex(`
      2d 00 00 00             // len 45
      01 00 00 00             // opcode LOOKUP
      04 00 00 00 00 00 00 00 // unique 4
      01 00 00 00 00 00 00 00 // nodeid FUSE_ROOT_ID
      00 00 00 00 00 00 00 00 // uid 0, gid 0
      39 30 00 00             // pid 12345
      00 00 00 00             // total_extlen 0, padding
      6e 6f 70 65 00          // "nope\\0"`);
    const r = decodeRequest(buf);
    expect(r.h).toEqual({ len: 45, opcode: 1, unique: 4n, nodeid: 1n, uid: 0, gid: 0, pid: 12345, totalExtlen: 0 });
    expect(r.args).toEqual({ name: b('nope') });
  });

  test('extensions: a supplementary-groups block after a MKDIR body', () => {
    const body = hex(`ed 41 00 00 12 00 00 00 ${str('d')} 00 00 // mkdir_in, "d\\0", pad to 8`);
    // The MKDIR body must end at the name; here the extension starts right after "d\0".
    const ext = hex(`
      10 00 00 00 // fuse_ext_header.size 16
      20 00 00 00 // type FUSE_EXT_GROUPS
      01 00 00 00 // nr_groups 1
      0a 00 00 00 // groups[0] = 10`);
    const buf = request(Op.MKDIR, Buffer.concat([body.subarray(0, 10), ext]), { extlen: 2 });
    const r = decodeRequest(buf);
    expect(r.args).toEqual({ mode: 0o40755, umask: 0o22, name: b('d') });
    expect(r.ext).toEqual([{ type: 32, data: hex('01 00 00 00 0a 00 00 00') }]);
    expect(suppGroups(r.ext)).toEqual([10]);
  });
});

describe('malformed requests are ProtocolError', () => {
  const bad = (buf: Buffer, n = buf.length, o = { setxattrExt: true }): void => {
    expect(() => decodeRequest(buf, n, o)).toThrow(ProtocolError);
  };
  test('shorter than the header', () => bad(hex('28 00 00 00 01 00 00 00'), 8));
  test('in_header.len disagrees with the bytes read', () => bad(request(Op.LOOKUP, hex(str('a')), { len: 100 })));
  test('read count shorter than in_header.len', () => {
    const buf = request(Op.LOOKUP, hex(str('abc')));
    expect(() => decodeHeader(buf, buf.length - 1)).toThrow(ProtocolError);
  });
  test('name without its NUL', () => bad(request(Op.LOOKUP, hex(str('abc', false)))));
  test('empty name', () => bad(request(Op.LOOKUP, hex('00'))));
  test('bytes after the name', () => bad(request(Op.UNLINK, hex(`${str('a')} 62`))));
  test('rename missing the second name', () => bad(request(Op.RENAME, hex(`${u64(1)} ${str('a')}`))));
  test('symlink target without NUL', () => bad(request(Op.SYMLINK, hex(`${str('a')} ${str('t', false)}`))));
  test('short fixed body (getattr_in of 8 bytes)', () => bad(request(Op.GETATTR, hex(u64(0)))));
  test('fixed body with trailing bytes (forget_in + 1)', () => bad(request(Op.FORGET, hex(`${u64(1)} 00`))));
  test('empty body where a struct is required (READ)', () => bad(request(Op.READ, Buffer.alloc(0))));
  test('write_in.size larger than the data', () => bad(request(Op.WRITE, hex(`${u64(1)} ${u64(0)} ${u32(10)} ${u32(0)} ${u64(0)} ${u64(0)} 61 62 63`))));
  test('setxattr value shorter than size', () => bad(request(Op.SETXATTR, hex(`${u32(5)} ${u32(0)} ${u64(0)} ${str('user.a')} 68`))));
  test('ioctl in_size disagrees', () => bad(request(Op.IOCTL, hex(`${u64(1)} ${u32(0)} ${u32(1)} ${u64(0)} ${u32(8)} ${u32(0)}`))));
  test('batch_forget count far beyond the body does not allocate', () =>
    bad(request(Op.BATCH_FORGET, hex(`ff ff ff ff 00 00 00 00 ${u64(1)} ${u64(1)}`))));
  test('removemapping count beyond the body', () => bad(request(Op.REMOVEMAPPING, hex(`05 00 00 00 ${u64(1)} ${u64(1)}`))));
  test('INIT body shorter than 16 bytes', () => bad(request(Op.INIT, hex(`${u32(7)} ${u32(45)}`))));
  test('unknown opcode', () => bad(request(9999, Buffer.alloc(0))));
  test('total_extlen overruns the request', () => bad(request(Op.STATFS, Buffer.alloc(8), { extlen: 2 })));
  test('extension header size below 8', () => {
    const buf = request(Op.MKDIR, hex(`ed 41 00 00 12 00 00 00 ${str('d')} 04 00 00 00 20 00 00 00`), { extlen: 1 });
    const h = decodeHeader(buf, buf.length);
    expect(() => decodeExtensions(buf, h)).toThrow(ProtocolError);
  });
  test('extension size overruns the extension area', () => {
    const buf = request(Op.MKDIR, hex(`ed 41 00 00 12 00 00 00 ${str('d')} 18 00 00 00 20 00 00 00`), { extlen: 1 });
    expect(() => decodeRequest(buf)).toThrow(ProtocolError);
  });
  test('supplementary groups count beyond its extension', () => {
    expect(() => suppGroups([{ type: 32, data: new Uint8Array(hex('09 00 00 00 01 00 00 00')) }])).toThrow(ProtocolError);
  });
  test('the error names opcode and unique', () => {
    try {
      decodeRequest(request(Op.LOOKUP, hex('61'), { unique: 77n }));
      throw new Error('no throw');
    } catch (e) {
      expect((e as Error).message).toBe('fuse protocol: name not NUL-terminated (opcode 1, unique 77)');
    }
  });
});

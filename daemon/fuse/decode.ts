// Request decoding: one bounds-checked Reader per request, one decoder per opcode. Anything
// that does not parse (short body, lengths that disagree, a name without its NUL, extension
// blocks that overrun) is a ProtocolError. Names and payloads are returned as subarrays of the
// request buffer only where noted (WRITE/SETXATTR/IOCTL/NOTIFY_REPLY data): the session keeps
// that buffer alive for those requests and recycles it immediately for all others.

import { Reader } from '../util/bytes.js';
import * as A from './abi.js';
import { Op } from './abi.js';
import { ProtocolError, protocolBounds } from './errors.js';

export interface InHeader {
  len: number; opcode: number; unique: bigint; nodeid: bigint;
  uid: number; gid: number; pid: number; totalExtlen: number;
}
export interface Extension { type: number; data: Uint8Array }

/** Decoding state that depends on INIT (e.g. the 16-byte setxattr_in). */
export interface DecodeOptions { setxattrExt: boolean }

export interface NameArgs { name: Uint8Array }
export interface ForgetArgs { nlookup: bigint }
export interface ForgetOne { nodeid: bigint; nlookup: bigint }
export interface BatchForgetArgs { items: ForgetOne[] }
export interface GetattrArgs { getattrFlags: number; fh: bigint }
export interface SetattrArgs {
  valid: number; fh: bigint; size: bigint; lockOwner: bigint; atime: bigint; mtime: bigint; ctime: bigint;
  atimensec: number; mtimensec: number; ctimensec: number; mode: number; uid: number; gid: number;
}
export interface SymlinkArgs { name: Uint8Array; target: Uint8Array }
export interface MknodArgs { mode: number; rdev: number; umask: number; name: Uint8Array }
export interface MkdirArgs { mode: number; umask: number; name: Uint8Array }
export interface RenameArgs { newdir: bigint; flags: number; oldname: Uint8Array; newname: Uint8Array }
export interface LinkArgs { oldnodeid: bigint; newname: Uint8Array }
export interface OpenArgs { flags: number; openFlags: number }
export interface ReadArgs { fh: bigint; offset: bigint; size: number; readFlags: number; lockOwner: bigint; flags: number }
export interface WriteArgs { fh: bigint; offset: bigint; size: number; writeFlags: number; lockOwner: bigint; flags: number; data: Uint8Array }
export interface ReleaseArgs { fh: bigint; flags: number; releaseFlags: number; lockOwner: bigint }
export interface FsyncArgs { fh: bigint; fsyncFlags: number }
export interface SetxattrArgs { size: number; flags: number; setxattrFlags: number; name: Uint8Array; value: Uint8Array }
export interface GetxattrArgs { size: number; name: Uint8Array }
export interface ListxattrArgs { size: number }
export interface FlushArgs { fh: bigint; lockOwner: bigint }
export interface InitArgs { major: number; minor: number; maxReadahead: number; flags: bigint }
export interface FileLock { start: bigint; end: bigint; type: number; pid: number }
export interface LkArgs { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number }
export interface AccessArgs { mask: number }
export interface CreateArgs { flags: number; mode: number; umask: number; openFlags: number; name: Uint8Array }
export interface InterruptArgs { unique: bigint }
export interface BmapArgs { block: bigint; blocksize: number }
export interface IoctlArgs { fh: bigint; flags: number; cmd: number; arg: bigint; inSize: number; outSize: number; data: Uint8Array }
export interface PollArgs { fh: bigint; kh: bigint; flags: number; events: number }
export interface NotifyReplyArgs { offset: bigint; size: number; data: Uint8Array }
export interface FallocateArgs { fh: bigint; offset: bigint; length: bigint; mode: number }
export interface LseekArgs { fh: bigint; offset: bigint; whence: number }
export interface CopyFileRangeArgs { fhIn: bigint; offIn: bigint; nodeidOut: bigint; fhOut: bigint; offOut: bigint; len: bigint; flags: bigint }
export interface SetupmappingArgs { fh: bigint; foffset: bigint; len: bigint; flags: bigint; moffset: bigint }
export interface RemovemappingArgs { items: Array<{ moffset: bigint; len: bigint }> }
export interface StatxArgs { getattrFlags: number; fh: bigint; sxFlags: number; sxMask: number }
export type EmptyArgs = Record<string, never>;
export interface RawArgs { body: Uint8Array }

/** Argument type of each opcode's decoder. */
export interface ArgsMap {
  LOOKUP: NameArgs; FORGET: ForgetArgs; GETATTR: GetattrArgs; SETATTR: SetattrArgs; READLINK: EmptyArgs;
  SYMLINK: SymlinkArgs; MKNOD: MknodArgs; MKDIR: MkdirArgs; UNLINK: NameArgs; RMDIR: NameArgs;
  RENAME: RenameArgs; LINK: LinkArgs; OPEN: OpenArgs; READ: ReadArgs; WRITE: WriteArgs; STATFS: EmptyArgs;
  RELEASE: ReleaseArgs; FSYNC: FsyncArgs; SETXATTR: SetxattrArgs; GETXATTR: GetxattrArgs;
  LISTXATTR: ListxattrArgs; REMOVEXATTR: NameArgs; FLUSH: FlushArgs; INIT: InitArgs; OPENDIR: OpenArgs;
  READDIR: ReadArgs; RELEASEDIR: ReleaseArgs; FSYNCDIR: FsyncArgs; GETLK: LkArgs; SETLK: LkArgs;
  SETLKW: LkArgs; ACCESS: AccessArgs; CREATE: CreateArgs; INTERRUPT: InterruptArgs; BMAP: BmapArgs;
  DESTROY: EmptyArgs; IOCTL: IoctlArgs; POLL: PollArgs; NOTIFY_REPLY: NotifyReplyArgs;
  BATCH_FORGET: BatchForgetArgs; FALLOCATE: FallocateArgs; READDIRPLUS: ReadArgs; RENAME2: RenameArgs;
  LSEEK: LseekArgs; COPY_FILE_RANGE: CopyFileRangeArgs; SETUPMAPPING: SetupmappingArgs;
  REMOVEMAPPING: RemovemappingArgs; SYNCFS: EmptyArgs; TMPFILE: CreateArgs; STATX: StatxArgs;
  COPY_FILE_RANGE_64: CopyFileRangeArgs; CUSE_INIT: RawArgs;
}

export type Decoder<T> = (r: Reader, o: DecodeOptions) => T;

/** A name: NUL-terminated, non-empty, copied out of the request buffer. */
function name(r: Reader, what: string): Uint8Array {
  let s: Uint8Array;
  try {
    s = r.takeCString();
  } catch {
    throw new ProtocolError(`${what} not NUL-terminated`);
  }
  if (s.byteLength === 0) throw new ProtocolError(`${what} is empty`);
  return s.slice();
}

/** Fixed-size bodies must be consumed exactly: extra bytes mean the lengths disagree. */
function done(r: Reader, what: string): void {
  if (r.remaining !== 0) throw new ProtocolError(`${what}: ${r.remaining} trailing bytes`);
}

const empty: Decoder<EmptyArgs> = (r) => { done(r, 'empty body'); return {} as EmptyArgs; };
const nameOnly: Decoder<NameArgs> = (r) => { const n = name(r, 'name'); done(r, 'name'); return { name: n }; };
const readIn: Decoder<ReadArgs> = (r) => {
  const v = r.takeStruct(A.fuse_read_in); done(r, 'read_in');
  return { fh: v.fh, offset: v.offset, size: v.size, readFlags: v.read_flags, lockOwner: v.lock_owner, flags: v.flags };
};
const openIn: Decoder<OpenArgs> = (r) => {
  const v = r.takeStruct(A.fuse_open_in); done(r, 'open_in');
  return { flags: v.flags, openFlags: v.open_flags };
};
const releaseIn: Decoder<ReleaseArgs> = (r) => {
  const v = r.takeStruct(A.fuse_release_in); done(r, 'release_in');
  return { fh: v.fh, flags: v.flags, releaseFlags: v.release_flags, lockOwner: v.lock_owner };
};
const fsyncIn: Decoder<FsyncArgs> = (r) => {
  const v = r.takeStruct(A.fuse_fsync_in); done(r, 'fsync_in');
  return { fh: v.fh, fsyncFlags: v.fsync_flags };
};
const lkIn: Decoder<LkArgs> = (r) => {
  const v = r.takeStruct(A.fuse_lk_in); done(r, 'lk_in');
  const lk = A.fuse_file_lock.decode(v.lk);
  return { fh: v.fh, owner: v.owner, lk: { start: lk.start, end: lk.end, type: lk.type, pid: lk.pid }, lkFlags: v.lk_flags };
};
const createIn: Decoder<CreateArgs> = (r) => {
  const v = r.takeStruct(A.fuse_create_in);
  const n = name(r, 'name'); done(r, 'create');
  return { flags: v.flags, mode: v.mode, umask: v.umask, openFlags: v.open_flags, name: n };
};
const copyIn: Decoder<CopyFileRangeArgs> = (r) => {
  const v = r.takeStruct(A.fuse_copy_file_range_in); done(r, 'copy_file_range_in');
  return { fhIn: v.fh_in, offIn: v.off_in, nodeidOut: v.nodeid_out, fhOut: v.fh_out, offOut: v.off_out, len: v.len, flags: v.flags };
};
function renameIn(two: boolean): Decoder<RenameArgs> {
  return (r) => {
    let newdir: bigint; let flags = 0;
    if (two) { const v = r.takeStruct(A.fuse_rename2_in); newdir = v.newdir; flags = v.flags; }
    else newdir = r.takeStruct(A.fuse_rename_in).newdir;
    const oldname = name(r, 'old name');
    const newname = name(r, 'new name');
    done(r, 'rename');
    return { newdir, flags, oldname, newname };
  };
}

/** One decoder per opcode. */
export const decoders: { [K in keyof ArgsMap]: Decoder<ArgsMap[K]> } = {
  LOOKUP: nameOnly,
  FORGET: (r) => { const v = r.takeStruct(A.fuse_forget_in); done(r, 'forget_in'); return { nlookup: v.nlookup }; },
  GETATTR: (r) => {
    const v = r.takeStruct(A.fuse_getattr_in); done(r, 'getattr_in');
    return { getattrFlags: v.getattr_flags, fh: v.fh };
  },
  SETATTR: (r) => {
    const v = r.takeStruct(A.fuse_setattr_in); done(r, 'setattr_in');
    return {
      valid: v.valid, fh: v.fh, size: v.size, lockOwner: v.lock_owner, atime: v.atime, mtime: v.mtime,
      ctime: v.ctime, atimensec: v.atimensec, mtimensec: v.mtimensec, ctimensec: v.ctimensec,
      mode: v.mode, uid: v.uid, gid: v.gid,
    };
  },
  READLINK: empty,
  SYMLINK: (r) => {
    const n = name(r, 'name'); const target = name(r, 'target'); done(r, 'symlink');
    return { name: n, target };
  },
  MKNOD: (r) => {
    const v = r.takeStruct(A.fuse_mknod_in); const n = name(r, 'name'); done(r, 'mknod');
    return { mode: v.mode, rdev: v.rdev, umask: v.umask, name: n };
  },
  MKDIR: (r) => {
    const v = r.takeStruct(A.fuse_mkdir_in); const n = name(r, 'name'); done(r, 'mkdir');
    return { mode: v.mode, umask: v.umask, name: n };
  },
  UNLINK: nameOnly,
  RMDIR: nameOnly,
  RENAME: renameIn(false),
  LINK: (r) => {
    const v = r.takeStruct(A.fuse_link_in); const n = name(r, 'name'); done(r, 'link');
    return { oldnodeid: v.oldnodeid, newname: n };
  },
  OPEN: openIn,
  READ: readIn,
  WRITE: (r) => {
    const v = r.takeStruct(A.fuse_write_in);
    if (r.remaining !== v.size) throw new ProtocolError(`write_in.size ${v.size} but ${r.remaining} data bytes`);
    const data = r.take(v.size);
    return { fh: v.fh, offset: v.offset, size: v.size, writeFlags: v.write_flags, lockOwner: v.lock_owner, flags: v.flags, data };
  },
  STATFS: empty,
  RELEASE: releaseIn,
  FSYNC: fsyncIn,
  SETXATTR: (r, o) => {
    let size: number; let flags: number; let setxattrFlags = 0;
    if (o.setxattrExt) {
      const v = r.takeStruct(A.fuse_setxattr_in);
      size = v.size; flags = v.flags; setxattrFlags = v.setxattr_flags;
    } else {
      size = r.u32(r.pos); flags = r.u32(r.pos + 4); r.pos += A.FUSE_COMPAT_SETXATTR_IN_SIZE;
    }
    const n = name(r, 'name');
    if (r.remaining !== size) throw new ProtocolError(`setxattr_in.size ${size} but ${r.remaining} value bytes`);
    return { size, flags, setxattrFlags, name: n, value: r.take(size) };
  },
  GETXATTR: (r) => {
    const v = r.takeStruct(A.fuse_getxattr_in); const n = name(r, 'name'); done(r, 'getxattr');
    return { size: v.size, name: n };
  },
  LISTXATTR: (r) => { const v = r.takeStruct(A.fuse_getxattr_in); done(r, 'getxattr_in'); return { size: v.size }; },
  REMOVEXATTR: nameOnly,
  FLUSH: (r) => {
    const v = r.takeStruct(A.fuse_flush_in); done(r, 'flush_in');
    return { fh: v.fh, lockOwner: v.lock_owner };
  },
  INIT: (r) => {
    // Old kernels send only the first 16 bytes; 7.36+ sends the full 64 with flags2.
    const have = Math.min(r.remaining, A.fuse_init_in.size);
    if (have < 16) throw new ProtocolError(`init_in: ${have} bytes`);
    const v = r.struct(A.fuse_init_in, r.pos, have);
    r.pos += r.remaining;
    return { major: v.major, minor: v.minor, maxReadahead: v.max_readahead, flags: (BigInt(v.flags2) << 32n) | BigInt(v.flags) };
  },
  OPENDIR: openIn,
  READDIR: readIn,
  RELEASEDIR: releaseIn,
  FSYNCDIR: fsyncIn,
  GETLK: lkIn,
  SETLK: lkIn,
  SETLKW: lkIn,
  ACCESS: (r) => { const v = r.takeStruct(A.fuse_access_in); done(r, 'access_in'); return { mask: v.mask }; },
  CREATE: createIn,
  INTERRUPT: (r) => { const v = r.takeStruct(A.fuse_interrupt_in); done(r, 'interrupt_in'); return { unique: v.unique }; },
  BMAP: (r) => {
    const v = r.takeStruct(A.fuse_bmap_in); done(r, 'bmap_in');
    return { block: v.block, blocksize: v.blocksize };
  },
  DESTROY: empty,
  IOCTL: (r) => {
    const v = r.takeStruct(A.fuse_ioctl_in);
    if (r.remaining !== v.in_size) throw new ProtocolError(`ioctl_in.in_size ${v.in_size} but ${r.remaining} bytes`);
    return { fh: v.fh, flags: v.flags, cmd: v.cmd, arg: v.arg, inSize: v.in_size, outSize: v.out_size, data: r.take(v.in_size) };
  },
  POLL: (r) => {
    const v = r.takeStruct(A.fuse_poll_in); done(r, 'poll_in');
    return { fh: v.fh, kh: v.kh, flags: v.flags, events: v.events };
  },
  NOTIFY_REPLY: (r) => {
    const v = r.takeStruct(A.fuse_notify_retrieve_in);
    if (r.remaining !== v.size) throw new ProtocolError(`notify_retrieve_in.size ${v.size} but ${r.remaining} bytes`);
    return { offset: v.offset, size: v.size, data: r.take(v.size) };
  },
  BATCH_FORGET: (r) => {
    const v = r.takeStruct(A.fuse_batch_forget_in);
    // Prove the count against the bytes present before allocating anything sized by it.
    if (v.count * A.fuse_forget_one.size !== r.remaining) {
      throw new ProtocolError(`batch_forget_in.count ${v.count} but ${r.remaining} bytes`);
    }
    const items: ForgetOne[] = [];
    for (let i = 0; i < v.count; i++) {
      const f = r.takeStruct(A.fuse_forget_one);
      items.push({ nodeid: f.nodeid, nlookup: f.nlookup });
    }
    return { items };
  },
  FALLOCATE: (r) => {
    const v = r.takeStruct(A.fuse_fallocate_in); done(r, 'fallocate_in');
    return { fh: v.fh, offset: v.offset, length: v.length, mode: v.mode };
  },
  READDIRPLUS: readIn,
  RENAME2: renameIn(true),
  LSEEK: (r) => {
    const v = r.takeStruct(A.fuse_lseek_in); done(r, 'lseek_in');
    return { fh: v.fh, offset: v.offset, whence: v.whence };
  },
  COPY_FILE_RANGE: copyIn,
  SETUPMAPPING: (r) => {
    const v = r.takeStruct(A.fuse_setupmapping_in); done(r, 'setupmapping_in');
    return { fh: v.fh, foffset: v.foffset, len: v.len, flags: v.flags, moffset: v.moffset };
  },
  REMOVEMAPPING: (r) => {
    const v = r.takeStruct(A.fuse_removemapping_in);
    if (v.count * A.fuse_removemapping_one.size !== r.remaining) {
      throw new ProtocolError(`removemapping_in.count ${v.count} but ${r.remaining} bytes`);
    }
    const items: Array<{ moffset: bigint; len: bigint }> = [];
    for (let i = 0; i < v.count; i++) {
      const m = r.takeStruct(A.fuse_removemapping_one);
      items.push({ moffset: m.moffset, len: m.len });
    }
    return { items };
  },
  SYNCFS: (r) => { r.takeStruct(A.fuse_syncfs_in); done(r, 'syncfs_in'); return {} as EmptyArgs; },
  // TMPFILE carries a name the server must ignore; accept it without requiring one.
  TMPFILE: (r) => {
    const v = r.takeStruct(A.fuse_create_in);
    r.pos += r.remaining;
    return { flags: v.flags, mode: v.mode, umask: v.umask, openFlags: v.open_flags, name: Buffer.alloc(0) };
  },
  STATX: (r) => {
    const v = r.takeStruct(A.fuse_statx_in); done(r, 'statx_in');
    return { getattrFlags: v.getattr_flags, fh: v.fh, sxFlags: v.sx_flags, sxMask: v.sx_mask };
  },
  COPY_FILE_RANGE_64: copyIn,
  CUSE_INIT: (r) => ({ body: r.take(r.remaining) }),
};

/** Decodes the 40-byte header of a request of `n` bytes; checks len against what was read. */
export function decodeHeader(buf: Uint8Array, n: number): InHeader {
  if (n < A.fuse_in_header.size) throw new ProtocolError(`request of ${n} bytes is shorter than fuse_in_header`);
  const r = new Reader(buf.subarray(0, n), protocolBounds, 'fuse_in_header');
  const h = r.struct(A.fuse_in_header, 0);
  if (h.len !== n) throw new ProtocolError(`in_header.len ${h.len} but read returned ${n}`, h.opcode, h.unique);
  if (h.total_extlen * 8 > n - A.fuse_in_header.size) {
    throw new ProtocolError(`total_extlen ${h.total_extlen} overruns the request`, h.opcode, h.unique);
  }
  return {
    len: h.len, opcode: h.opcode, unique: h.unique, nodeid: h.nodeid, uid: h.uid, gid: h.gid, pid: h.pid,
    totalExtlen: h.total_extlen,
  };
}

/** The extension blocks at the end of a request (FUSE_SECURITY_CTX, FUSE_CREATE_SUPP_GROUP). */
export function decodeExtensions(buf: Uint8Array, h: InHeader): Extension[] {
  const extLen = h.totalExtlen * 8;
  if (extLen === 0) return [];
  const r = new Reader(buf.subarray(h.len - extLen, h.len), protocolBounds, 'extensions');
  const out: Extension[] = [];
  while (r.remaining > 0) {
    const e = r.takeStruct(A.fuse_ext_header);
    if (e.size < A.fuse_ext_header.size || e.size % 8 !== 0 || e.size - 8 > r.remaining) {
      throw new ProtocolError(`fuse_ext_header.size ${e.size} invalid`, h.opcode, h.unique);
    }
    out.push({ type: e.type, data: r.take(e.size - 8).slice() });
  }
  return out;
}

/** Supplementary groups from a FUSE_EXT_GROUPS extension, checked against its size. */
export function suppGroups(exts: Extension[]): number[] | null {
  const e = exts.find((x) => x.type === A.FUSE_EXT_GROUPS);
  if (!e) return null;
  const r = new Reader(e.data, protocolBounds, 'fuse_supp_groups');
  const nr = r.u32(0);
  if (4 + nr * 4 > e.data.byteLength) throw new ProtocolError(`fuse_supp_groups.nr_groups ${nr} overruns`);
  const g: number[] = [];
  for (let i = 0; i < nr; i++) g.push(r.u32(4 + i * 4));
  return g;
}

/** The body of a request: after the header, before the extensions. */
export function bodyReader(buf: Uint8Array, h: InHeader): Reader {
  return new Reader(buf.subarray(A.fuse_in_header.size, h.len - h.totalExtlen * 8), protocolBounds, `${A.opName(h.opcode)} body`);
}

/** Decodes a whole request buffer (tests, print): header, args, extensions. */
export function decodeRequest(buf: Uint8Array, n: number = buf.byteLength, o: DecodeOptions = { setxattrExt: true }):
  { h: InHeader; args: unknown; ext: Extension[] } {
  const h = decodeHeader(buf, n);
  const nm = A.opName(h.opcode) as keyof ArgsMap;
  const dec = (decoders as Record<string, Decoder<unknown> | undefined>)[nm];
  if (!dec) throw new ProtocolError(`unknown opcode`, h.opcode, h.unique);
  const ext = decodeExtensions(buf, h);
  try {
    return { h, args: dec(bodyReader(buf, h), o), ext };
  } catch (e) {
    if (e instanceof ProtocolError && e.opcode === undefined) throw new ProtocolError(e.reason, h.opcode, h.unique);
    throw e;
  }
}

export { Op };

// The bridge: FuseFs (daemon/fuse) implemented read-only on the engine facade (ext4/fs.ts).
// Node ids are inode numbers, except that FUSE's root nodeid 1 is ext4's root inode 2; the
// engine is stateless by inode number, so lookup counts are kept only to answer FORGET
// correctly and to report leaks. Attributes are what the kernel's ext4 shows (st_blocks,
// st_blksize = block size, new_encode_dev rdev, ns times with pre-1970 seconds as two's
// complement u64 in fuse_attr). Every failure goes through errno.ts: one errno, one log line.

import type { Ext4Fs, Stat } from '../ext4/fs.js';
import {
  FOPEN, FsErrno, Init, type AttrReply, type ConnInfo, type DirentPlusSink, type DirentSink, type Entry, type FuseFs,
  type InitTweak, type IoctlReply, type OpenReply, type RequestContext, type Statfs, type StatxReply,
} from '../fuse/index.js';
import type * as D from '../fuse/index.js';
import type { Attr, DirentRec } from '../fuse/index.js';
import { toFsErrno, type LogFn } from './errno.js';
import { log as defaultLog } from '../util/log.js';

export const FUSE_ROOT_NODEID = 1n;
export const EXT4_ROOT_INO = 2;
/** The server is the only writer of the image: the kernel may cache names and attributes. */
export const DEFAULT_TIMEOUT_S = 86400;

const ENOENT = 2, EIO = 5, ENXIO = 6, EINVAL = 22, ENOTTY = 25, EROFS = 30, ESTALE = 116;
const O_ACCMODE = 3, O_TRUNC = 0o1000;
const W_OK = 2;
const SEEK_DATA = 3, SEEK_HOLE = 4;
const MAX_INO = 0xffff_ffff;

// ioctl numbers (include/uapi/linux/fs.h); both the long-sized and the 32-bit-compat forms,
// since fuse_fileattr_get asks with an unsigned int buffer.
const FS_IOC_GETFLAGS = 0x80086601, FS_IOC32_GETFLAGS = 0x80046601;
const FS_IOC_GETVERSION = 0x80087601, FS_IOC32_GETVERSION = 0x80047601;
const FS_IOC_FSGETXATTR = 0x801c581f;
const FSXATTR_SIZE = 28;

// statx (include/uapi/linux/stat.h)
const STATX_BASIC_STATS = 0x7ff, STATX_BTIME = 0x800;
// ext4_getattr: i_flags bit -> STATX_ATTR_* bit.
const STATX_FLAG_MAP: ReadonlyArray<[number, number]> = [
  [0x4, 0x4], // COMPR -> COMPRESSED
  [0x10, 0x10], // IMMUTABLE
  [0x20, 0x20], // APPEND
  [0x40, 0x40], // NODUMP
  [0x800, 0x800], // ENCRYPT -> ENCRYPTED
  [0x100000, 0x100000], // VERITY
  [0x2000000, 0x200000], // DAX
];
const STATX_ATTR_MASK = STATX_FLAG_MAP.reduce((m, [, s]) => m | s, 0);

const DT: Readonly<Record<Stat['type'], number>> = {
  fifo: 1, chardev: 2, dir: 4, blockdev: 6, file: 8, symlink: 10, socket: 12, unknown: 0,
};

export interface BridgeOptions {
  /** Entry and attribute timeouts in seconds (default one day). */
  timeout?: number;
  log?: LogFn;
}

export interface LookupStats { nodes: number; references: bigint }

const isDot = (n: Uint8Array): boolean => n.byteLength === 1 && n[0] === 0x2e;
const isDotDot = (n: Uint8Array): boolean => n.byteLength === 2 && n[0] === 0x2e && n[1] === 0x2e;
const TRUSTED = new TextEncoder().encode('trusted.');

function u64Time(sec: number): bigint {
  return BigInt.asUintN(64, BigInt(sec));
}

export class Ext4FuseFs implements FuseFs {
  private readonly timeout: number;
  private readonly log: LogFn;
  private readonly blockSize: number;
  /** The range ext4_lookup accepts besides the root (EXT4_FIRST_INO .. s_inodes_count). */
  private readonly firstIno: number;
  private readonly inodesCount: number;
  /** nodeid -> outstanding lookup references the kernel holds. */
  private readonly lookups = new Map<bigint, bigint>();

  constructor(readonly fs: Ext4Fs, opts: BridgeOptions = {}) {
    this.timeout = opts.timeout ?? DEFAULT_TIMEOUT_S;
    this.log = opts.log ?? defaultLog;
    this.blockSize = fs.statfs().blockSize;
    this.firstIno = fs.core.sb.firstIno;
    this.inodesCount = fs.core.sb.inodesCount;
  }

  // ---- node ids -------------------------------------------------------------------------------
  static nodeOf(ino: number): bigint {
    return ino === EXT4_ROOT_INO ? FUSE_ROOT_NODEID : BigInt(ino);
  }

  /** The inode a nodeid names; ESTALE for ids we never hand out. */
  static inoOf(nodeid: bigint): number {
    if (nodeid === FUSE_ROOT_NODEID) return EXT4_ROOT_INO;
    if (nodeid <= 2n || nodeid > BigInt(MAX_INO)) throw new FsErrno(ESTALE, `nodeid ${nodeid} unknown`);
    return Number(nodeid);
  }

  get lookupStats(): LookupStats {
    let refs = 0n;
    for (const v of this.lookups.values()) refs += v;
    return { nodes: this.lookups.size, references: refs };
  }

  private ref(nodeid: bigint): void {
    this.lookups.set(nodeid, (this.lookups.get(nodeid) ?? 0n) + 1n);
  }

  forget(items: D.ForgetOne[]): void {
    for (const { nodeid, nlookup } of items) {
      const have = this.lookups.get(nodeid);
      if (have === undefined) {
        this.log('warn', 'forget of an unknown node', { nodeid, nlookup });
        continue;
      }
      if (nlookup >= have) {
        if (nlookup > have) this.log('warn', 'forget of more references than given', { nodeid, nlookup, have });
        this.lookups.delete(nodeid);
      } else {
        this.lookups.set(nodeid, have - nlookup);
      }
    }
  }

  // ---- attributes -------------------------------------------------------------------------------
  private attrOf(st: Stat): Attr {
    return {
      ino: BigInt(st.ino),
      size: BigInt(st.size),
      blocks: BigInt(st.blocks),
      atime: u64Time(st.atime.sec), mtime: u64Time(st.mtime.sec), ctime: u64Time(st.ctime.sec),
      atimensec: st.atime.nsec, mtimensec: st.mtime.nsec, ctimensec: st.ctime.nsec,
      mode: st.mode, nlink: st.nlink, uid: st.uid, gid: st.gid,
      rdev: st.type === 'chardev' || st.type === 'blockdev' ? this.fs.rdevEncoded(st.ino) : 0,
      blksize: this.blockSize,
    };
  }

  private entryOf(ino: number): Entry {
    const st = this.fs.stat(ino);
    const nodeid = Ext4FuseFs.nodeOf(ino);
    return {
      nodeid,
      // fuse_lookup_name insists the root's generation is 0.
      generation: nodeid === FUSE_ROOT_NODEID ? 0n : BigInt(st.generation >>> 0),
      entryValid: this.timeout, attrValid: this.timeout, attr: this.attrOf(st),
    };
  }

  /** Runs an engine call, turning any failure into the errno errno.ts chooses. */
  private guard<T>(c: RequestContext, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toFsErrno(e, { opcode: c.opcode, unique: c.unique, nodeid: c.nodeid }, this.log);
    }
  }

  private async guardAsync<T>(c: RequestContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toFsErrno(e, { opcode: c.opcode, unique: c.unique, nodeid: c.nodeid }, this.log);
    }
  }

  // ---- operations ---------------------------------------------------------------------------------
  init(conn: ConnInfo): InitTweak {
    // ext4 enforces POSIX ACLs in permission checks: ask the kernel to do the same.
    void conn;
    return { want: Init.POSIX_ACL };
  }

  async lookup(c: RequestContext, a: D.NameArgs): Promise<Entry> {
    const entry = this.guard(c, () => {
      const dir = Ext4FuseFs.inoOf(c.nodeid);
      let ino: number;
      if (isDot(a.name)) ino = dir;
      else if (isDotDot(a.name)) ino = this.parentOf(dir);
      else {
        try {
          ino = this.fs.lookup(dir, a.name);
        } catch (e) {
          // A cached negative entry: the server is the only writer, the name stays absent.
          if ((e as { errno?: unknown }).errno === ENOENT) return null;
          throw e;
        }
      }
      return this.entryOf(ino);
    });
    if (entry === null) {
      return { nodeid: 0n, entryValid: this.timeout, attrValid: 0, attr: ZERO_ATTR };
    }
    this.ref(entry.nodeid);
    return entry;
  }

  /** ".." as the directory records it (EXPORT_SUPPORT sends LOOKUP ".."); the root is its own parent. */
  private parentOf(dir: number): number {
    if (dir === EXT4_ROOT_INO) return EXT4_ROOT_INO;
    try {
      return this.fs.lookup(dir, DOTDOT);
    } catch (e) {
      if ((e as { errno?: unknown }).errno !== ENOENT) throw e;
    }
    // Some directory forms answer ".." only by listing: it is within the first records.
    let n = 0;
    for (const d of this.fs.readdir(dir, 0)) {
      if (isDotDot(d.name)) {
        if (d.ino === dir && dir !== EXT4_ROOT_INO) throw new FsErrno(EIO, 'directory is its own parent');
        return d.ino;
      }
      if (++n >= 4) break;
    }
    throw new FsErrno(ENOENT, 'no .. entry');
  }

  async getattr(c: RequestContext, _a: D.GetattrArgs): Promise<AttrReply> {
    return this.guard(c, () => ({ attr: this.attrOf(this.fs.stat(Ext4FuseFs.inoOf(c.nodeid))), attrValid: this.timeout }));
  }

  async statx(c: RequestContext, _a: D.StatxArgs): Promise<StatxReply> {
    return this.guard(c, () => {
      const ino = Ext4FuseFs.inoOf(c.nodeid);
      const st = this.fs.stat(ino);
      let attributes = 0;
      for (const [fl, sx] of STATX_FLAG_MAP) if (st.flags & fl) attributes |= sx;
      const t = (x: { sec: number; nsec: number }): { sec: bigint; nsec: number } => ({ sec: BigInt(x.sec), nsec: x.nsec });
      const dev = st.type === 'chardev' || st.type === 'blockdev';
      return {
        attrValid: this.timeout,
        stat: {
          mask: STATX_BASIC_STATS | (st.crtime ? STATX_BTIME : 0), blksize: this.blockSize,
          attributes: BigInt(attributes), attributesMask: BigInt(STATX_ATTR_MASK),
          nlink: st.nlink, uid: st.uid, gid: st.gid, mode: st.mode, ino: BigInt(st.ino), size: BigInt(st.size),
          blocks: BigInt(st.blocks), atime: t(st.atime), btime: st.crtime ? t(st.crtime) : { sec: 0n, nsec: 0 },
          ctime: t(st.ctime), mtime: t(st.mtime), rdevMajor: dev ? st.rdevMajor : 0, rdevMinor: dev ? st.rdevMinor : 0,
          devMajor: 0, devMinor: 0,
        },
      };
    });
  }

  async readlink(c: RequestContext): Promise<Uint8Array> {
    return this.guard(c, () => this.fs.readlink(Ext4FuseFs.inoOf(c.nodeid)));
  }

  async open(c: RequestContext, a: D.OpenArgs): Promise<OpenReply> {
    if ((a.flags & O_ACCMODE) !== 0 || (a.flags & O_TRUNC) !== 0) throw new FsErrno(EROFS, 'read-only');
    this.guard(c, () => this.fs.stat(Ext4FuseFs.inoOf(c.nodeid)));
    return { fh: 0n, openFlags: FOPEN.KEEP_CACHE };
  }

  async read(c: RequestContext, a: D.ReadArgs, dst: Buffer): Promise<number> {
    const ino = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    if (a.offset > BigInt(Number.MAX_SAFE_INTEGER)) return 0;
    const off = Number(a.offset);
    return this.guardAsync(c, () => this.fs.read(ino, off, Math.min(a.size, dst.byteLength), dst, 0));
  }

  async release(): Promise<void> { /* no per-open state */ }
  async releasedir(): Promise<void> { /* no per-open state */ }
  async flush(): Promise<void> { /* nothing buffered: read-only */ }

  async opendir(c: RequestContext, a: D.OpenArgs): Promise<OpenReply> {
    if ((a.flags & O_ACCMODE) !== 0) throw new FsErrno(EROFS, 'read-only');
    this.guard(c, () => this.fs.stat(Ext4FuseFs.inoOf(c.nodeid)));
    return { fh: 0n, openFlags: FOPEN.KEEP_CACHE | FOPEN.CACHE_DIR };
  }

  /**
   * Lists from the cookie in a.offset; stops where the reply is full (the next READDIR
   * resumes at that entry's cookie). Damage after some entries were sent ends the batch
   * there, so the caller gets those entries and the error on its next call, as getdents does.
   */
  private listDir(c: RequestContext, a: D.ReadArgs, add: (d: DirentRec, ino: number) => boolean): void {
    const dir = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    if (a.offset > BigInt(Number.MAX_SAFE_INTEGER)) return;
    let count = 0;
    try {
      for (const e of this.fs.readdir(dir, Number(a.offset))) {
        if (e.name.byteLength === 0 || e.name.includes(0x2f) || e.name.includes(0)) {
          // verify_dirent_name: the VFS refuses such names with EIO.
          this.log('warn', 'directory entry name with / or NUL', { op: 'READDIR', unique: c.unique, inode: dir });
          if (count === 0) throw new FsErrno(EIO, 'bad entry name');
          return;
        }
        if (!add({ ino: BigInt(e.ino), off: BigInt(e.next), type: DT[e.type], name: e.name }, e.ino)) return;
        count++;
      }
    } catch (e) {
      if (count === 0) throw toFsErrno(e, { opcode: c.opcode, unique: c.unique, nodeid: c.nodeid }, this.log);
    }
  }

  async readdir(c: RequestContext, a: D.ReadArgs, out: DirentSink): Promise<void> {
    this.listDir(c, a, (d) => out.add(d));
  }

  async readdirplus(c: RequestContext, a: D.ReadArgs, out: DirentPlusSink): Promise<void> {
    const dir = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    this.listDir(c, a, (d, ino) => {
      if (isDot(d.name) || isDotDot(d.name)) return out.add(d, NO_ENTRY);
      // Anything doubtful goes without attributes: the kernel then LOOKUPs the name and gets
      // the engine's full verdict (reserved inodes, deleted inodes, damage) for it.
      let e: Entry = NO_ENTRY;
      if (ino !== dir && ino >= this.firstIno && ino <= this.inodesCount) {
        try { e = this.entryOf(ino); } catch { e = NO_ENTRY; }
      }
      if (!out.add(d, e)) return false;
      if (e.nodeid !== 0n) this.ref(e.nodeid);
      return true;
    });
  }

  async statfs(c: RequestContext): Promise<Statfs> {
    return this.guard(c, () => {
      const s = this.fs.statfs();
      return {
        blocks: BigInt(s.blocks), bfree: BigInt(s.bfree), bavail: BigInt(s.bavail), files: BigInt(s.files),
        ffree: BigInt(s.ffree), bsize: s.blockSize, namelen: s.nameMax, frsize: s.blockSize,
      };
    });
  }

  async getxattr(c: RequestContext, a: D.GetxattrArgs): Promise<Uint8Array> {
    return this.guard(c, () => this.fs.getxattr(Ext4FuseFs.inoOf(c.nodeid), a.name));
  }

  async listxattr(c: RequestContext, _a: D.ListxattrArgs): Promise<Uint8Array[]> {
    const names = this.guard(c, () => this.fs.listxattr(Ext4FuseFs.inoOf(c.nodeid)));
    // ext4_xattr_trusted_list: trusted.* only for CAP_SYS_ADMIN; the VFS does not filter lists.
    if (c.uid === 0) return names;
    return names.filter((n) => !startsWith(n, TRUSTED));
  }

  async access(c: RequestContext, a: D.AccessArgs): Promise<void> {
    this.guard(c, () => this.fs.stat(Ext4FuseFs.inoOf(c.nodeid)));
    if (a.mask & W_OK) throw new FsErrno(EROFS, 'read-only');
  }

  async lseek(c: RequestContext, a: D.LseekArgs): Promise<bigint> {
    if (a.whence !== SEEK_DATA && a.whence !== SEEK_HOLE) throw new FsErrno(EINVAL, 'only SEEK_DATA/SEEK_HOLE reach the server');
    const ino = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    if (a.offset < 0n || a.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new FsErrno(ENXIO, 'offset past the end');
    return this.guard(c, () => BigInt(this.fs.seek(ino, Number(a.offset), a.whence === SEEK_DATA ? 'data' : 'hole')));
  }

  async bmap(c: RequestContext, a: D.BmapArgs): Promise<bigint> {
    const ino = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    if (a.blocksize !== this.blockSize) throw new FsErrno(EINVAL, 'bmap block size differs from the filesystem');
    if (a.block > BigInt(MAX_INO)) return 0n;
    return this.guard(c, () => BigInt(this.fs.bmap(ino, Number(a.block))));
  }

  async ioctl(c: RequestContext, a: D.IoctlArgs): Promise<IoctlReply> {
    const ino = this.guard(c, () => Ext4FuseFs.inoOf(c.nodeid));
    const u32 = (v: number): IoctlReply => {
      if (a.outSize < 4) throw new FsErrno(EINVAL, 'ioctl out buffer too small');
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, v >>> 0, true);
      return { result: 0, data: b };
    };
    switch (a.cmd >>> 0) {
      case FS_IOC_GETFLAGS: case FS_IOC32_GETFLAGS:
        return u32(this.guard(c, () => this.fs.getflags(ino)));
      case FS_IOC_GETVERSION: case FS_IOC32_GETVERSION:
        return u32(this.guard(c, () => this.fs.stat(ino).generation));
      case FS_IOC_FSGETXATTR: {
        if (a.outSize < FSXATTR_SIZE) throw new FsErrno(EINVAL, 'ioctl out buffer too small');
        const x = this.guard(c, () => this.fs.fsxattr(ino));
        const b = new Uint8Array(FSXATTR_SIZE);
        const dv = new DataView(b.buffer);
        dv.setUint32(0, x.xflags >>> 0, true);
        dv.setUint32(4, x.extsize >>> 0, true);
        dv.setUint32(8, x.nextents >>> 0, true);
        dv.setUint32(12, x.projid >>> 0, true);
        dv.setUint32(16, x.cowextsize >>> 0, true);
        return { result: 0, data: b };
      }
      default:
        throw new FsErrno(ENOTTY, 'ioctl not supported');
    }
  }

  // ---- the read-only refusals ---------------------------------------------------------------------
  async setattr(): Promise<AttrReply> { throw new FsErrno(EROFS); }
  async symlink(): Promise<Entry> { throw new FsErrno(EROFS); }
  async mknod(): Promise<Entry> { throw new FsErrno(EROFS); }
  async mkdir(): Promise<Entry> { throw new FsErrno(EROFS); }
  async unlink(): Promise<void> { throw new FsErrno(EROFS); }
  async rmdir(): Promise<void> { throw new FsErrno(EROFS); }
  async rename(): Promise<void> { throw new FsErrno(EROFS); }
  async link(): Promise<Entry> { throw new FsErrno(EROFS); }
  async write(): Promise<number> { throw new FsErrno(EROFS); }
  async fsync(): Promise<void> { /* nothing to flush */ }
  async fsyncdir(): Promise<void> { /* nothing to flush */ }
  async setxattr(): Promise<void> { throw new FsErrno(EROFS); }
  async removexattr(): Promise<void> { throw new FsErrno(EROFS); }
  async create(): Promise<never> { throw new FsErrno(EROFS); }
  async tmpfile(): Promise<never> { throw new FsErrno(EROFS); }
  async fallocate(): Promise<void> { throw new FsErrno(EROFS); }
  async copyFileRange(): Promise<bigint> { throw new FsErrno(EROFS); }
  async syncfs(): Promise<void> { /* nothing to flush */ }
}

const DOTDOT = new Uint8Array([0x2e, 0x2e]);

const ZERO_ATTR: Attr = {
  ino: 0n, size: 0n, blocks: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0,
  mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, blksize: 0,
};
/** A direntplus record without a lookup (nodeid 0): the kernel instantiates nothing from it. */
const NO_ENTRY: Entry = { nodeid: 0n, entryValid: 0, attrValid: 0, attr: ZERO_ATTR };

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  if (a.byteLength < p.byteLength) return false;
  for (let i = 0; i < p.byteLength; i++) if (a[i] !== p[i]) return false;
  return true;
}

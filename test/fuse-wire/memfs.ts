// TEST-ONLY in-memory FuseFs: a small fixed tree used by the live suite to exercise the
// session against the real kernel. It counts lookups the way a real server must (LOOKUP and
// READDIRPLUS entries other than . and ..) and subtracts FORGETs, so tests can check both.

import type { ReadArgs } from '../../daemon/fuse/decode.js';
import type { Attr, Entry } from '../../daemon/fuse/encode.js';
import { FsErrno, ENOENT, ENODATA, ENOTDIR, EISDIR, ENXIO, EINVAL, EINTR } from '../../daemon/fuse/errors.js';
import type { DirentPlusSink, DirentSink, FuseFs, RequestContext } from '../../daemon/fuse/ops.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

export interface MemNode {
  ino: bigint;
  mode: number;
  data?: Buffer;
  /** Sparse files: [offset, length] extents of data; the rest reads as zeros. */
  extents?: Array<[number, number]>;
  size?: number;
  target?: string;
  children?: Map<string, MemNode>;
  xattrs?: Map<string, Buffer>;
  /** Behaviour hooks for tests. */
  kind?: 'slow' | 'boom' | 'hang' | 'cached';
}

export class MemFs implements FuseFs {
  readonly nodes = new Map<bigint, MemNode>();
  readonly lookups = new Map<bigint, bigint>();
  forgetCalls = 0;
  forgotten = 0n;
  readCalls = 0;
  hangStarted = 0;
  hangAborted = 0;
  destroyed = 0;
  private next = 2n;
  readonly root: MemNode;

  constructor() {
    this.root = { ino: 1n, mode: S_IFDIR | 0o755, children: new Map() };
    this.nodes.set(1n, this.root);
    const hello = this.add(this.root, 'hello.txt', { mode: S_IFREG | 0o644, data: Buffer.from('hello world\n') });
    hello.xattrs = new Map([['user.a', Buffer.from('1')], ['user.long', Buffer.alloc(1000, 0x78)]]);
    const big = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    this.add(this.root, 'big.bin', { mode: S_IFREG | 0o644, data: big });
    this.add(this.root, 'link', { mode: S_IFLNK | 0o777, target: 'hello.txt' });
    const sparse = Buffer.alloc(2 * 1024 * 1024);
    sparse.fill(0x61, 0, 4096);
    sparse.fill(0x62, 1024 * 1024, 1024 * 1024 + 4096);
    this.add(this.root, 'sparse', { mode: S_IFREG | 0o644, data: sparse, extents: [[0, 4096], [1024 * 1024, 4096]] });
    this.add(this.root, 'slow', { mode: S_IFREG | 0o644, data: Buffer.from('slow data\n'), kind: 'slow' });
    this.add(this.root, 'boom', { mode: S_IFREG | 0o644, data: Buffer.from('never\n'), kind: 'boom' });
    this.add(this.root, 'hang', { mode: S_IFREG | 0o644, data: Buffer.from('never\n'), kind: 'hang' });
    this.add(this.root, 'cached', { mode: S_IFREG | 0o644, data: Buffer.from('original\n'), kind: 'cached' });
    const dir = this.add(this.root, 'dir', { mode: S_IFDIR | 0o755, children: new Map() });
    for (let i = 0; i < 3000; i++) {
      this.add(dir, `f${String(i).padStart(4, '0')}-${'x'.repeat(i % 40)}`, { mode: S_IFREG | 0o644, data: Buffer.from(String(i)) });
    }
  }

  private add(parent: MemNode, name: string, n: Omit<MemNode, 'ino'>): MemNode {
    const node: MemNode = { ...n, ino: this.next++ };
    this.nodes.set(node.ino, node);
    parent.children!.set(name, node);
    return node;
  }

  private get(ino: bigint): MemNode {
    const n = this.nodes.get(ino);
    if (!n) throw new FsErrno(ENOENT);
    return n;
  }

  attr(n: MemNode): Attr {
    const size = n.data ? n.data.length : n.target ? n.target.length : 4096;
    return {
      ino: n.ino, size: BigInt(size), blocks: BigInt(Math.ceil(size / 512)), atime: 1700000000n,
      mtime: 1700000001n, ctime: 1700000002n, atimensec: 5, mtimensec: 6, ctimensec: 7, mode: n.mode,
      nlink: n.children ? 2 : 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
    };
  }

  private entry(n: MemNode): Entry {
    return { nodeid: n.ino, generation: 1n, entryValid: 1, attrValid: 1, attr: this.attr(n) };
  }

  private ref(ino: bigint): void { this.lookups.set(ino, (this.lookups.get(ino) ?? 0n) + 1n); }

  forget(items: Array<{ nodeid: bigint; nlookup: bigint }>): void {
    this.forgetCalls++;
    for (const it of items) {
      this.forgotten += it.nlookup;
      this.lookups.set(it.nodeid, (this.lookups.get(it.nodeid) ?? 0n) - it.nlookup);
    }
  }

  destroy(): void { this.destroyed++; }

  async lookup(c: RequestContext, a: { name: Uint8Array }): Promise<Entry> {
    const dir = this.get(c.nodeid);
    if (!dir.children) throw new FsErrno(ENOTDIR);
    const n = dir.children.get(Buffer.from(a.name).toString('latin1'));
    if (!n) throw new FsErrno(ENOENT);
    this.ref(n.ino);
    return this.entry(n);
  }

  async getattr(c: RequestContext): Promise<{ attr: Attr; attrValid: number }> {
    return { attr: this.attr(this.get(c.nodeid)), attrValid: 1 };
  }

  async readlink(c: RequestContext): Promise<Uint8Array> {
    const n = this.get(c.nodeid);
    if (n.target === undefined) throw new FsErrno(EINVAL);
    return Buffer.from(n.target);
  }

  async open(c: RequestContext): Promise<{ fh: bigint; openFlags: number }> {
    const n = this.get(c.nodeid);
    if (n.children) throw new FsErrno(EISDIR);
    // DIRECT_IO for the behaviour files so every read reaches us; KEEP_CACHE so that pages
    // pushed with NOTIFY_STORE survive the next open.
    if (n.kind === 'cached') return { fh: 7n, openFlags: 2 };
    return { fh: 7n, openFlags: n.kind ? 1 : 0 };
  }

  async read(c: RequestContext, a: ReadArgs, dst: Buffer): Promise<number> {
    this.readCalls++;
    const n = this.get(c.nodeid);
    if (n.kind === 'boom') throw new TypeError('deliberate handler bug');
    if (n.kind === 'slow') await new Promise((r) => setTimeout(r, 1500));
    if (n.kind === 'hang') {
      this.hangStarted++;
      await new Promise<void>((resolve) => {
        if (c.signal.aborted) { resolve(); return; }
        c.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.hangAborted++;
      throw new FsErrno(EINTR);
    }
    const data = n.data!;
    const off = Number(a.offset);
    if (off >= data.length) return 0;
    const end = Math.min(data.length, off + a.size);
    return data.copy(dst, 0, off, end);
  }

  async statfs(): Promise<{ blocks: bigint; bfree: bigint; bavail: bigint; files: bigint; ffree: bigint; bsize: number; namelen: number; frsize: number }> {
    return { blocks: 1000n, bfree: 400n, bavail: 300n, files: 5000n, ffree: 1234n, bsize: 4096, namelen: 255, frsize: 4096 };
  }

  async getxattr(c: RequestContext, a: { name: Uint8Array }): Promise<Uint8Array> {
    const v = this.get(c.nodeid).xattrs?.get(Buffer.from(a.name).toString('latin1'));
    if (!v) throw new FsErrno(ENODATA);
    return v;
  }

  async listxattr(c: RequestContext): Promise<Uint8Array[]> {
    return [...(this.get(c.nodeid).xattrs?.keys() ?? [])].map((k) => Buffer.from(k));
  }

  async opendir(c: RequestContext): Promise<{ fh: bigint }> {
    if (!this.get(c.nodeid).children) throw new FsErrno(ENOTDIR);
    return { fh: 9n };
  }

  private listing(ino: bigint): Array<[string, MemNode, number]> {
    const n = this.get(ino);
    if (!n.children) throw new FsErrno(ENOTDIR);
    const out: Array<[string, MemNode, number]> = [['.', n, DT_DIR], ['..', this.root, DT_DIR]];
    for (const [k, v] of n.children) out.push([k, v, v.children ? DT_DIR : v.target !== undefined ? DT_LNK : DT_REG]);
    return out;
  }

  async readdir(c: RequestContext, a: ReadArgs, out: DirentSink): Promise<void> {
    const l = this.listing(c.nodeid);
    for (let i = Number(a.offset); i < l.length; i++) {
      const [name, n, type] = l[i];
      if (!out.add({ ino: n.ino, off: BigInt(i + 1), type, name: Buffer.from(name) })) break;
    }
  }

  async readdirplus(c: RequestContext, a: ReadArgs, out: DirentPlusSink): Promise<void> {
    const l = this.listing(c.nodeid);
    for (let i = Number(a.offset); i < l.length; i++) {
      const [name, n, type] = l[i];
      const dot = name === '.' || name === '..';
      const e = dot ? { ...this.entry(n), nodeid: 0n } : this.entry(n);
      if (!out.add({ ino: n.ino, off: BigInt(i + 1), type, name: Buffer.from(name) }, e)) break;
      if (!dot) this.ref(n.ino);
    }
  }

  async lseek(c: RequestContext, a: { offset: bigint; whence: number }): Promise<bigint> {
    const n = this.get(c.nodeid);
    const size = n.data?.length ?? 0;
    const off = Number(a.offset);
    if (off >= size) throw new FsErrno(ENXIO);
    const ext = n.extents ?? [[0, size]];
    if (a.whence === SEEK_DATA) {
      for (const [s, l] of ext) if (off < s + l) return BigInt(Math.max(off, s));
      throw new FsErrno(ENXIO);
    }
    if (a.whence === SEEK_HOLE) {
      for (const [s, l] of ext) if (off >= s && off < s + l) return BigInt(s + l);
      return BigInt(off);
    }
    throw new FsErrno(EINVAL);
  }
}

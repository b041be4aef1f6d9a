// `ext4box extract IMAGE DEST`: the whole tree copied out as the kernel shows it, without
// mounting: DEST takes the root directory's metadata; modes (incl. setuid/sticky), owners
// (when root), atime/mtime to the nanosecond, xattrs incl. POSIX ACLs, symlinks with raw
// byte targets, hardlinks, device nodes, fifos and sockets, sparse files kept sparse.
// Damaged entries are reported one line each and skipped; the rest is extracted.

import * as nfs from 'node:fs';
import type { Ext4Fs } from '../ext4/fs.js';
import type { Stat } from '../ext4/api.js';
import { describeError } from './errors.js';
import { displayName } from './output.js';
import type { PosixExtras } from './posix.js';

export interface ExtractOptions {
  owners: boolean;
  xattrs: boolean;
  progress: boolean;
  posix: PosixExtras;
  onError?: (path: string, message: string) => void;
}

export interface ExtractResult {
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  specials: number;
  bytes: number;
  errors: number;
}

const SLASH = Buffer.from('/');
const CHUNK = 1 << 20;

interface PendingDir { ino: number; path: Buffer; st: Stat }

export async function extractTree(fs: Ext4Fs, dest: string, o: ExtractOptions): Promise<ExtractResult> {
  const res: ExtractResult = { dirs: 0, files: 0, symlinks: 0, hardlinks: 0, specials: 0, bytes: 0, errors: 0 };
  const fail = (p: Buffer, e: unknown) => {
    res.errors++;
    o.onError?.(displayName(p), describeError(e));
  };
  const linked = new Map<number, Buffer>();
  const seenDirs = new Set<number>();
  const buf = Buffer.allocUnsafe(CHUNK);
  const bar = o.progress ? await makeBar(fs) : null;

  const root = fs.stat(2);
  const destB = Buffer.from(dest);
  nfs.mkdirSync(destB, { recursive: true });
  // Children are visited depth-first with an explicit stack; a directory's own metadata is
  // applied after its children (writing them changes its mtime, and a 0555 dir must stay
  // writable while we fill it).
  const post: PendingDir[] = [];
  const stack: Array<{ ino: number; path: Buffer; depth: number }> = [{ ino: 2, path: destB, depth: 0 }];
  seenDirs.add(2);
  post.push({ ino: 2, path: destB, st: root });
  res.dirs++;
  while (stack.length) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = [...fs.readdir(d.ino)];
    } catch (e) {
      fail(d.path, e);
      continue;
    }
    for (const e of entries) {
      if (isDot(e.name)) continue;
      const p = Buffer.concat([d.path, SLASH, Buffer.from(e.name)]);
      bar?.increment();
      let st: Stat;
      try {
        st = fs.stat(e.ino);
      } catch (err) {
        fail(p, err);
        continue;
      }
      try {
        if (st.type === 'dir') {
          if (seenDirs.has(e.ino)) throw new Error(`directory inode ${e.ino} reached twice (directory loop or hardlinked directory): skipped`);
          seenDirs.add(e.ino);
          nfs.mkdirSync(p, { mode: 0o700 });
          res.dirs++;
          post.push({ ino: e.ino, path: p, st });
          stack.push({ ino: e.ino, path: p, depth: d.depth + 1 });
          continue;
        }
        if (st.nlink > 1) {
          const first = linked.get(e.ino);
          if (first) {
            nfs.linkSync(first, p);
            res.hardlinks++;
            continue;
          }
        }
        if (st.type === 'file') {
          res.bytes += await writeFile(fs, e.ino, st, p, buf);
          res.files++;
        } else if (st.type === 'symlink') {
          nfs.symlinkSync(Buffer.from(fs.readlink(e.ino)), p);
          res.symlinks++;
        } else {
          o.posix.mknod(p, st.mode, st.rdevMajor, st.rdevMinor);
          res.specials++;
        }
        applyMeta(fs, e.ino, st, p, o);
        if (st.nlink > 1) linked.set(e.ino, p);
      } catch (err) {
        fail(p, err);
      }
    }
  }
  for (let i = post.length - 1; i >= 0; i--) {
    const d = post[i];
    try {
      applyMeta(fs, d.ino, d.st, d.path, o);
    } catch (err) {
      fail(d.path, err);
    }
  }
  bar?.stop();
  return res;
}

function isDot(n: Uint8Array): boolean {
  return (n.length === 1 && n[0] === 0x2e) || (n.length === 2 && n[0] === 0x2e && n[1] === 0x2e);
}

/** Writes only the data segments: holes and unwritten extents stay holes in the copy. */
async function writeFile(fs: Ext4Fs, ino: number, st: Stat, p: Buffer, buf: Buffer): Promise<number> {
  const fd = nfs.openSync(p, nfs.constants.O_WRONLY | nfs.constants.O_CREAT | nfs.constants.O_EXCL, 0o600);
  let written = 0;
  try {
    for (const seg of fs.mapRange(ino, 0, st.size)) {
      if (seg.kind === 'zero') continue;
      for (let off = 0; off < seg.length; off += CHUNK) {
        const len = Math.min(CHUNK, seg.length - off);
        const n = await fs.read(ino, seg.fileOffset + off, len, buf);
        if (n !== len) throw new Error(`short read at ${seg.fileOffset + off}: ${n} of ${len}`);
        let done = 0;
        while (done < n) done += nfs.writeSync(fd, buf, done, n - done, seg.fileOffset + off + done);
        written += n;
      }
    }
    nfs.ftruncateSync(fd, st.size);
  } finally {
    nfs.closeSync(fd);
  }
  return written;
}

/** Owner, xattrs, mode, times — in the order that keeps each from undoing the others. */
function applyMeta(fs: Ext4Fs, ino: number, st: Stat, p: Buffer, o: ExtractOptions): void {
  const isLink = st.type === 'symlink';
  if (o.owners) nfs.lchownSync(p, st.uid, st.gid);
  if (o.xattrs) {
    for (const name of fs.listxattr(ino)) {
      const value = fs.getxattr(ino, name);
      o.posix.lsetxattr(p, Buffer.from(name), Buffer.from(value));
    }
  }
  if (!isLink) nfs.chmodSync(p, st.mode & 0o7777);
  o.posix.lutimens(p, st.atime, st.mtime);
}

async function makeBar(fs: Ext4Fs): Promise<{ increment(): void; stop(): void } | null> {
  if (!process.stderr.isTTY) return null;
  const { default: progress } = await import('cli-progress');
  const info = fs.info();
  const bar = new progress.SingleBar({
    format: 'extract [{bar}] {percentage}% | {value}/{total} entries | {eta_formatted}',
    stream: process.stderr,
    clearOnComplete: true,
  }, progress.Presets.shades_classic);
  bar.start(Math.max(1, info.inodesCount - info.freeInodes), 0);
  return { increment: () => bar.increment(), stop: () => bar.stop() };
}

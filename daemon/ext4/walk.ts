// A full read-only walk over an opened filesystem: every directory listed, every entry
// stat'ed, every file read, every link and xattr fetched. Each damaged spot is recorded
// as (path, operation, errno, message) and the walk goes on, within fixed budgets. It is
// `ext4box check`, the hostile-corpus test and the fuzz harness's oracle of "no crash".

import type { Ext4Fs } from './fs.js';
import { errnoOf, CorruptError, IoError, FsError, IncompatibleError } from './errors.js';

export interface WalkBudget {
  /** Max entries visited (names seen in directories). */
  entries: number;
  /** Max bytes of file data read in total. */
  bytes: number;
  /** Max bytes read per file. */
  bytesPerFile: number;
  /** Wall-clock limit in ms; the walk stops (truncated) when reached. */
  ms: number;
}

export const DEFAULT_BUDGET: WalkBudget = { entries: 200_000, bytes: 256 << 20, bytesPerFile: 16 << 20, ms: 60_000 };

export interface WalkProblem {
  path: string;
  op: 'readdir' | 'stat' | 'read' | 'readlink' | 'listxattr' | 'getxattr' | 'lookup';
  errno: number;
  message: string;
  /** false when the thrown value was not one of the engine's typed errors (a bug). */
  typed: boolean;
}

export interface WalkResult {
  dirs: number;
  files: number;
  symlinks: number;
  others: number;
  entries: number;
  bytesRead: number;
  xattrs: number;
  problems: WalkProblem[];
  truncated: string | null;
}

const dec = new TextDecoder();

export async function walkFs(fs: Ext4Fs, budget: WalkBudget = DEFAULT_BUDGET): Promise<WalkResult> {
  const r: WalkResult = { dirs: 0, files: 0, symlinks: 0, others: 0, entries: 0, bytesRead: 0, xattrs: 0, problems: [], truncated: null };
  const start = Date.now();
  const seen = new Set<number>();
  const buf = Buffer.allocUnsafe(1 << 20);
  const note = (path: string, op: WalkProblem['op'], e: unknown) => {
    const typed = e instanceof CorruptError || e instanceof IoError || e instanceof FsError || e instanceof IncompatibleError;
    if (r.problems.length < 10_000) r.problems.push({ path, op, errno: errnoOf(e), message: e instanceof Error ? e.message : String(e), typed });
  };
  const stack: Array<{ ino: number; path: string }> = [{ ino: 2, path: '/' }];
  seen.add(2);
  const visitXattrs = (ino: number, path: string) => {
    let names: Uint8Array[];
    try {
      names = fs.listxattr(ino);
    } catch (e) {
      note(path, 'listxattr', e);
      return;
    }
    for (const n of names) {
      try {
        fs.getxattr(ino, n);
        r.xattrs++;
      } catch (e) {
        note(path + ' @' + dec.decode(n), 'getxattr', e);
      }
    }
  };
  visitXattrs(2, '/');
  while (stack.length) {
    const d = stack.pop()!;
    r.dirs++;
    try {
      for (const e of fs.readdir(d.ino)) {
        if (++r.entries > budget.entries) { r.truncated = 'entries'; return r; }
        if (Date.now() - start > budget.ms) { r.truncated = 'time'; return r; }
        const nm = dec.decode(e.name);
        if (nm === '.' || nm === '..') continue;
        const path = d.path === '/' ? `/${nm}` : `${d.path}/${nm}`;
        let st;
        try {
          st = fs.stat(e.ino);
        } catch (err) {
          note(path, 'stat', err);
          continue;
        }
        visitXattrs(e.ino, path);
        if (st.type === 'dir') {
          if (!seen.has(e.ino)) { seen.add(e.ino); stack.push({ ino: e.ino, path }); }
          continue;
        }
        if (st.type === 'symlink') {
          r.symlinks++;
          try { fs.readlink(e.ino); } catch (err) { note(path, 'readlink', err); }
          continue;
        }
        if (st.type !== 'file') { r.others++; continue; }
        r.files++;
        if (seen.has(e.ino)) continue;
        seen.add(e.ino);
        const limit = Math.min(st.size, budget.bytesPerFile);
        try {
          for (let off = 0; off < limit; off += buf.length) {
            if (r.bytesRead > budget.bytes) { r.truncated = 'bytes'; return r; }
            const n = await fs.read(e.ino, off, Math.min(buf.length, limit - off), buf);
            r.bytesRead += n;
            if (n === 0) break;
          }
        } catch (err) {
          note(path, 'read', err);
        }
      }
    } catch (e) {
      note(d.path, 'readdir', e);
    }
  }
  return r;
}

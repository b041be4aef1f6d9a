// The canonical walker: one description of a directory tree that any two trees can be
// compared by — a kernel loop mount of an image (the oracle), an extracted copy, a FUSE
// mount. Names are raw bytes (readdir with encoding 'buffer'); times are ns from lstat
// {bigint:true}; xattrs (all namespaces, ACLs included) come from one `getfattr -R` per walk;
// birth times from `stat %W` (Node has no statx); hole layout from a python3 SEEK_DATA
// helper (Node has no lseek). Everything is lstat-ed before anything is read, and files are
// opened O_NOATIME, so the walk records atimes before it could disturb them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { PYTHON, run } from '../fixtures/exec.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'socket';

export interface WalkEntry {
  /** '/'-rooted display path: UTF-8 as is; '\\', control and invalid bytes as \xNN. */
  path: string;
  type: EntryType;
  /** Permission and special bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  nlink: number;
  /** Device numbers of chr/blk nodes. */
  rdev?: { major: number; minor: number };
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** null when the filesystem does not report a birth time; undefined when not asked. */
  btimeNs?: bigint | null;
  /** Symlink target, escaped like paths. */
  target?: string;
  /** xattr name → value hex. */
  xattrs: Record<string, string>;
  /** Regular files: chunked sha256 (see contentDigest); 'skipped:SIZE' above contentLimit;
   *  'short-read:OFFSET' when reads hit EOF before st_size. */
  content?: string;
  /** Regular files: data ranges [start, end) from SEEK_DATA/SEEK_HOLE, when asked. */
  layout?: Array<[number, number]>;
  /** Non-directories with nlink > 1: all names of this inode seen in the walk, sorted. */
  links?: string[];
  ino: bigint;
}

export interface Walk {
  root: string;
  entries: Map<string, WalkEntry>;
  /** Things the walk could not do (tool missing, unsupported field), one line each. */
  notes: string[];
}

export interface WalkOptions {
  /** Record content digests (default true). */
  content?: boolean;
  /** Files larger than this are not read (default: no limit). */
  contentLimit?: bigint;
  /** Record xattrs via getfattr (default true). */
  xattrs?: boolean;
  /** Record birth times via stat(1) (default false). */
  btime?: boolean;
  /** Record SEEK_DATA/SEEK_HOLE layout (default false; the digest uses it anyway when available). */
  layout?: boolean;
  /** Budget on entries, so a looping or runaway tree fails instead of hanging (default 200000). */
  maxEntries?: number;
}

// ---- names ---------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Display form of raw name bytes; injective, so distinct names never collide. */
export function showBytes(b: Buffer): string {
  let valid = true;
  let s = '';
  try { s = utf8.decode(b); } catch { valid = false; }
  if (valid) {
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (ch === '\\') out += '\\\\';
      else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else out += ch;
    }
    return out;
  }
  let out = '';
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function typeOf(st: fs.BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chr';
  if (st.isBlockDevice()) return 'blk';
  return 'socket';
}

// Linux's new_decode_dev layout of st_rdev.
function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

// ---- helpers run once per walk -------------------------------------------------------------

/** Parses `getfattr -R -d -m - -e hex -h --absolute-names` output: raw path → name → hex. */
export function parseGetfattr(out: Buffer): Map<string, Record<string, string>> {
  const res = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | null = null;
  // latin1 keeps one char per byte, so raw name bytes survive the split.
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      const raw = unescapeOctal(line.slice(8));
      cur = {};
      res.set(raw.toString('hex'), cur);
    } else if (line.length > 0 && cur) {
      const eq = line.indexOf('=');
      const name = unescapeOctal(eq < 0 ? line : line.slice(0, eq)).toString('utf8');
      const v = eq < 0 ? '' : line.slice(eq + 1);
      if (v !== '' && !v.startsWith('0x')) throw new Error(`getfattr: unexpected value encoding: ${line}`);
      cur[name] = v.slice(2).toLowerCase();
    }
  }
  return res;
}

function unescapeOctal(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      out.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      out.push(s.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(out);
}

const PY_SEEKMAP = String.raw`
import errno, json, os, sys
paths = sys.stdin.buffer.read().split(b'\0')[:-1]
res = []
for p in paths:
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
    except PermissionError:
        fd = os.open(p, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size; segs = []; off = 0
        try:
            while off < size:
                try:
                    d = os.lseek(fd, off, os.SEEK_DATA)
                except OSError as e:
                    if e.errno == errno.ENXIO: break
                    raise
                h = os.lseek(fd, d, os.SEEK_HOLE)
                segs.append([d, h]); off = h
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.EOPNOTSUPP): raise
            segs = [[0, size]] if size else []
        res.append(segs)
    finally:
        os.close(fd)
json.dump(res, sys.stdout)
`;

const CHUNK = 65536;
const ZERO = Buffer.alloc(CHUNK);

/**
 * sha256 over 64 KiB chunks, each fed as 'D'+bytes, or 'Z'+length when all zero: equal
 * digests iff equal bytes, and a 4 GiB hole costs nothing to hash when its layout is known.
 */
export function contentDigest(raw: Buffer, size: bigint, data: Array<[number, number]> | null): string {
  const h = createHash('sha256');
  h.update(`size:${size}\n`);
  let fd: number;
  try {
    fd = fs.openSync(raw, fs.constants.O_RDONLY | fs.constants.O_NOATIME);
  } catch {
    fd = fs.openSync(raw, fs.constants.O_RDONLY);
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const n = Number(size);
    let seg = 0;
    for (let off = 0; off < n; off += CHUNK) {
      const len = Math.min(CHUNK, n - off);
      let read = true;
      if (data) {
        while (seg < data.length && data[seg][1] <= off) seg++;
        read = seg < data.length && data[seg][0] < off + len;
      }
      let zero = true;
      if (read) {
        let got = 0;
        while (got < len) {
          const r = fs.readSync(fd, buf, got, len - got, off + got);
          // A peer that ends a file early is a difference to report, not a walker failure.
          if (r === 0) return `short-read:${off + got}`;
          got += r;
        }
        zero = buf.subarray(0, len).equals(ZERO.subarray(0, len));
      }
      if (zero) h.update(`Z${len}`);
      else { h.update('D'); h.update(buf.subarray(0, len)); }
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

// ---- the walk -------------------------------------------------------------------------------

export function walk(root: string, opts: WalkOptions = {}): Walk {
  const maxEntries = opts.maxEntries ?? 200_000;
  const rootRaw = Buffer.from(path.resolve(root));
  const entries = new Map<string, WalkEntry>();
  const raws = new Map<string, Buffer>();
  const notes: string[] = [];

  // Pass 1: lstat everything (before any read can touch an atime), readdir after lstat.
  const stack: Array<{ raw: Buffer; rel: Buffer }> = [{ raw: rootRaw, rel: Buffer.alloc(0) }];
  while (stack.length > 0) {
    const { raw, rel } = stack.pop()!;
    if (entries.size >= maxEntries) throw new Error(`walk of ${root}: more than ${maxEntries} entries`);
    const st = fs.lstatSync(raw, { bigint: true });
    const shown = rel.length === 0 ? '/' : showBytes(rel);
    const type = typeOf(st);
    const e: WalkEntry = {
      path: shown, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
      size: st.size, nlink: Number(st.nlink), atimeNs: st.atimeNs, mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs, xattrs: {}, ino: st.ino,
    };
    if (type === 'chr' || type === 'blk') e.rdev = splitDev(st.rdev);
    if (type === 'symlink') e.target = showBytes(fs.readlinkSync(raw, { encoding: 'buffer' }));
    if (entries.has(shown)) throw new Error(`walk of ${root}: two entries display as ${shown}`);
    entries.set(shown, e);
    raws.set(shown, raw);
    if (type === 'dir') {
      const names = fs.readdirSync(raw, { encoding: 'buffer' }).sort(Buffer.compare);
      for (let i = names.length - 1; i >= 0; i--) {
        const childRel = Buffer.concat([rel, Buffer.from('/'), names[i]]);
        stack.push({ raw: Buffer.concat([raw, Buffer.from('/'), names[i]]), rel: childRel });
      }
    }
  }

  // Hardlink groups, by inode number within this one walk.
  const byIno = new Map<bigint, string[]>();
  for (const e of entries.values()) {
    if (e.type === 'dir' || e.nlink < 2) continue;
    const g = byIno.get(e.ino) ?? [];
    g.push(e.path);
    byIno.set(e.ino, g);
  }
  for (const g of byIno.values()) {
    g.sort();
    for (const p of g) entries.get(p)!.links = g;
  }

  if (opts.xattrs ?? true) {
    // Arguments travel as UTF-8 strings: an ASCII root maps back to the same bytes.
    const rootStr = rootRaw.toString('latin1');
    if (!/^[\x20-\x7e]+$/.test(rootStr)) throw new Error(`walk root must be an ASCII path: ${root}`);
    const r = run('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '-h', '--absolute-names', rootStr],
      { env: { ...process.env, LC_ALL: 'C' }, okStatus: [0, 1], timeoutMs: 600_000 });
    if (r.status !== 0) notes.push(`getfattr: ${r.stderr.trim().split('\n')[0]}`);
    const x = parseGetfattr(r.stdout);
    for (const [shown, raw] of raws) {
      const got = x.get(raw.toString('hex'));
      if (got) entries.get(shown)!.xattrs = got;
    }
  }

  if (opts.btime) {
    const order = [...raws.keys()];
    const input = Buffer.concat(order.flatMap((k) => [raws.get(k)!, Buffer.from([0])]));
    const r = run('xargs', ['-0', 'stat', '--printf=%.9W\\n', '--'], { input, timeoutMs: 600_000 });
    const lines = r.stdout.toString().split('\n');
    let unknown = 0;
    order.forEach((k, i) => {
      const v = lines[i] ?? '0';
      const [s, ns = '0'] = v.split('.');
      const t = BigInt(s) * 1_000_000_000n + BigInt(ns.padEnd(9, '0').slice(0, 9));
      entries.get(k)!.btimeNs = t === 0n ? null : t;
      if (t === 0n) unknown++;
    });
    if (unknown > 0) notes.push(`btime unknown for ${unknown} entries`);
  }

  if (opts.content ?? true) {
    const limit = opts.contentLimit;
    const files = [...entries.values()].filter((e) => e.type === 'file');
    const toRead = files.filter((e) => limit === undefined || e.size <= limit);
    for (const e of files) if (!toRead.includes(e)) e.content = `skipped:${e.size}`;
    let layouts: Array<Array<[number, number]>> | null = null;
    try {
      const input = Buffer.concat(toRead.flatMap((e) => [raws.get(e.path)!, Buffer.from([0])]));
      const r = run(PYTHON, ['-c', PY_SEEKMAP], { input, timeoutMs: 600_000 });
      layouts = JSON.parse(r.stdout.toString()) as Array<Array<[number, number]>>;
      if (layouts.length !== toRead.length) throw new Error('seekmap: count mismatch');
    } catch (err) {
      notes.push(`no hole layout (${(err as Error).message.split('\n')[0]}): read every byte`);
      layouts = null;
    }
    toRead.forEach((e, i) => {
      const lay = layouts ? layouts[i] : null;
      if (opts.layout && lay) e.layout = lay;
      e.content = contentDigest(raws.get(e.path)!, e.size, lay);
    });
  }
  return { root, entries, notes };
}

// ---- comparison -----------------------------------------------------------------------------

export type TimeField = 'atime' | 'mtime' | 'ctime' | 'btime';
export type Field = 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'dirSize' | 'nlink' | 'rdev' | 'target'
  | 'xattrs' | 'content' | 'layout' | 'links';

export interface DiffOptions {
  /** Times to compare (default: atime, mtime). */
  times?: TimeField[];
  /** Fields to leave out (default: ['dirSize', 'layout']: directory sizes are layout, not content). */
  ignore?: Field[];
  /** Paths to leave out entirely (and their subtrees, if the predicate says so). */
  ignorePath?: (p: string) => boolean;
  /** xattr names never compared (default: security.selinux, which hosts add on their own). */
  ignoreXattr?: RegExp;
}

const showTime = (ns: bigint | null | undefined): string => {
  if (ns === undefined) return 'not recorded';
  if (ns === null) return 'unknown';
  const s = ns / 1_000_000_000n;
  let r = ns % 1_000_000_000n;
  let sec = s;
  if (r < 0n) { r += 1_000_000_000n; sec -= 1n; }
  return `${sec}.${r.toString().padStart(9, '0')}`;
};

/** One line per difference between two walks: "PATH: field expected X, got Y". */
export function diffWalks(expected: Walk, actual: Walk, opts: DiffOptions = {}): string[] {
  const times = opts.times ?? ['atime', 'mtime'];
  const ignore = new Set<Field>(opts.ignore ?? ['dirSize', 'layout']);
  const skipX = opts.ignoreXattr ?? /^security\.selinux$/;
  const skipP = opts.ignorePath ?? (() => false);
  const out: string[] = [];
  const keys = [...new Set([...expected.entries.keys(), ...actual.entries.keys()])].sort();
  for (const k of keys) {
    if (skipP(k)) continue;
    const a = expected.entries.get(k);
    const b = actual.entries.get(k);
    if (!b) { out.push(`${k}: missing (expected ${a!.type})`); continue; }
    if (!a) { out.push(`${k}: unexpected ${b.type}`); continue; }
    const cmp = (f: Field, x: unknown, y: unknown): void => {
      if (ignore.has(f)) return;
      const sx = typeof x === 'object' ? JSON.stringify(x) : String(x);
      const sy = typeof y === 'object' ? JSON.stringify(y) : String(y);
      if (sx !== sy) out.push(`${k}: ${f} expected ${sx}, got ${sy}`);
    };
    cmp('type', a.type, b.type);
    if (a.type !== b.type) continue;
    if (!ignore.has('mode') && a.mode !== b.mode) out.push(`${k}: mode expected 0${a.mode.toString(8)}, got 0${b.mode.toString(8)}`);
    cmp('uid', a.uid, b.uid);
    cmp('gid', a.gid, b.gid);
    cmp(a.type === 'dir' ? 'dirSize' : 'size', a.size, b.size);
    cmp('nlink', a.nlink, b.nlink);
    if (a.rdev || b.rdev) cmp('rdev', a.rdev ? `${a.rdev.major}:${a.rdev.minor}` : 'none', b.rdev ? `${b.rdev.major}:${b.rdev.minor}` : 'none');
    if (a.type === 'symlink') cmp('target', a.target, b.target);
    if (a.type === 'file') cmp('content', a.content, b.content);
    if (a.type === 'file' && (a.layout || b.layout)) cmp('layout', a.layout, b.layout);
    if (a.links || b.links) cmp('links', (a.links ?? []).join(' | '), (b.links ?? []).join(' | '));
    if (!ignore.has('xattrs')) {
      const names = [...new Set([...Object.keys(a.xattrs), ...Object.keys(b.xattrs)])].sort();
      for (const n of names) {
        if (skipX.test(n)) continue;
        const va = a.xattrs[n];
        const vb = b.xattrs[n];
        if (vb === undefined) out.push(`${k}: xattr ${n} missing`);
        else if (va === undefined) out.push(`${k}: xattr ${n} unexpected (0x${vb.slice(0, 64)})`);
        else if (va !== vb) out.push(`${k}: xattr ${n} expected 0x${va.slice(0, 64)}${va.length > 64 ? '…' : ''} (${va.length / 2} bytes), got 0x${vb.slice(0, 64)}${vb.length > 64 ? '…' : ''} (${vb.length / 2} bytes)`);
      }
    }
    for (const t of times) {
      const x = t === 'btime' ? a.btimeNs : a[`${t}Ns`];
      const y = t === 'btime' ? b.btimeNs : b[`${t}Ns`];
      if (x !== y) out.push(`${k}: ${t} expected ${showTime(x)}, got ${showTime(y)}`);
    }
  }
  return out;
}

// ---- kernel mounts --------------------------------------------------------------------------

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function unmount(dir: string): void {
  for (let i = 0; i < 5; i++) {
    try { run('umount', [dir], { timeoutMs: 60_000 }); return; } catch { sleepMs(200 * (i + 1)); }
  }
  // Still busy after retries: detach lazily so the run goes on; the loop device frees itself.
  run('umount', ['-l', dir], { timeoutMs: 60_000 });
}

/**
 * Loop-mounts `image` read-only (autoclear loop device), runs fn(mountDir), and always
 * unmounts and removes the mount point, whether fn returns, throws, or rejects.
 */
export async function withKernelMount<T>(image: string, fn: (dir: string) => T | Promise<T>,
  options = 'ro,loop'): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-kmnt-'));
  try {
    run('mount', ['-o', options, image, dir], { timeoutMs: 60_000 });
    try {
      return await fn(dir);
    } finally {
      unmount(dir);
    }
  } finally {
    fs.rmdirSync(dir);
  }
}

/** Mounts `image` with fuse2fs read-only, runs fn, always unmounts. */
export async function withFuse2fsMount<T>(image: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-f2fs-'));
  try {
    run('fuse2fs', ['-o', 'ro', image, dir], { timeoutMs: 60_000 });
    try {
      return await fn(dir);
    } finally {
      unmount(dir);
    }
  } finally {
    fs.rmdirSync(dir);
  }
}

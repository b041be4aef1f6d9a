// Text and JSON rendering for the CLI. On-disk names are bytes an attacker chose: they are
// shown escaped (never raw control characters on a terminal) in text mode, and in JSON as
// UTF-8 when valid, else as {"hex": ...}.

import type { Stat, Timespec, FileType } from '../ext4/api.js';

const TYPE_CHAR: Record<FileType, string> = {
  file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's', unknown: '?',
};

/** `ls -l` style mode string, incl. setuid/setgid/sticky letters. */
export function modeString(type: FileType, mode: number): string {
  const r = (bit: number, c: string) => (mode & bit ? c : '-');
  const x = (bit: number, special: number, on: string, off: string) =>
    mode & special ? (mode & bit ? on : off) : mode & bit ? 'x' : '-';
  return TYPE_CHAR[type] +
    r(0o400, 'r') + r(0o200, 'w') + x(0o100, 0o4000, 's', 'S') +
    r(0o40, 'r') + r(0o20, 'w') + x(0o10, 0o2000, 's', 'S') +
    r(0o4, 'r') + r(0o2, 'w') + x(0o1, 0o1000, 't', 'T');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes as UTF-8 or returns null when they are not valid UTF-8. */
export function strictUtf8(b: Uint8Array): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

/** A name safe to print on a terminal: invalid UTF-8 and control characters escaped. */
export function displayName(b: Uint8Array): string {
  const s = strictUtf8(b);
  if (s === null) {
    let out = '';
    for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    return out;
  }
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f\u0080-\u009f\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** A name for JSON: a string when valid UTF-8, else its hex. */
export function jsonName(b: Uint8Array): string | { hex: string } {
  const s = strictUtf8(b);
  return s ?? { hex: Buffer.from(b).toString('hex') };
}

/** ISO-8601 UTC with nanoseconds; works before 1970 and after 2038. */
export function isoTime(t: Timespec): string {
  const ms = t.sec * 1000;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return `${t.sec}.${String(t.nsec).padStart(9, '0')}`;
  const base = d.toISOString().replace(/\.\d{3}Z$/, '');
  return `${base}.${String(t.nsec).padStart(9, '0')}Z`;
}

export function lsTime(t: Timespec): string {
  const d = new Date(t.sec * 1000);
  if (Number.isNaN(d.getTime())) return String(t.sec);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

export function statJson(s: Stat): Record<string, unknown> {
  return {
    ino: s.ino, type: s.type, mode: '0' + (s.mode & 0o7777).toString(8).padStart(4, '0'), nlink: s.nlink,
    uid: s.uid, gid: s.gid, size: s.size, blocks: s.blocks, generation: s.generation,
    flags: '0x' + s.flags.toString(16), projid: s.projid,
    atime: isoTime(s.atime), mtime: isoTime(s.mtime), ctime: isoTime(s.ctime),
    crtime: s.crtime ? isoTime(s.crtime) : null,
    rdev: s.type === 'chardev' || s.type === 'blockdev' ? { major: s.rdevMajor, minor: s.rdevMinor } : undefined,
  };
}

/** JSON with bigint support, one document per call. */
export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2) + '\n');
}

/** Aligned `key: value` lines. */
export function printKv(rows: Array<[string, unknown]>): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${(k + ':').padEnd(w + 2)}${v}\n`);
}

// The offline commands: inspect, ls, cat, stat. They need no mount and no privilege: the
// engine reads the image file directly, replaying the journal in memory when needed.

import { statSync } from 'node:fs';
import { openImage, type Ext4Fs } from '../ext4/fs.js';
import { FsError } from '../ext4/errors.js';
import { CliError, describeError, UsageError } from './errors.js';
import { displayName, isoTime, jsonName, lsTime, modeString, printJson, printKv, statJson, strictUtf8 } from './output.js';
import type { FsInfo, Stat } from '../ext4/api.js';

export interface ImageOptions {
  offset?: string;
  partition?: string;
  journal?: boolean;
  json?: boolean;
  debug?: boolean;
}

export function openFromOptions(image: string, o: ImageOptions): Ext4Fs {
  if (o.offset !== undefined && o.partition !== undefined) throw new UsageError('--offset and --partition exclude each other');
  let offset: number | undefined;
  if (o.offset !== undefined) {
    if (!/^\d+$/.test(o.offset)) throw new UsageError(`--offset wants a byte count, got '${o.offset}'`);
    offset = Number(o.offset);
    if (!Number.isSafeInteger(offset)) throw new UsageError(`--offset too large: ${o.offset}`);
  }
  let partition: number | undefined;
  if (o.partition !== undefined) {
    if (!/^[1-9]\d{0,3}$/.test(o.partition)) throw new UsageError(`--partition wants a partition number from 1, got '${o.partition}'`);
    partition = Number(o.partition);
  }
  try {
    statSync(image);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`cannot open ${image}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)}`);
  }
  return openImage(image, { offset, partition, replayJournal: o.journal !== false });
}

const enc = new TextEncoder();

/** Resolves PATH inside the image (absolute or relative to /), not following a final symlink. */
export function resolvePath(fs: Ext4Fs, path: string, followFinal = false): number {
  try {
    return fs.resolve(enc.encode(path), { followFinal });
  } catch (e) {
    if (e instanceof FsError) throw new FsError(e.errno, `${path}: ${e.message}`);
    throw e;
  }
}

export function cmdInspect(image: string, o: ImageOptions & { groups?: boolean }): void {
  const fs = openFromOptions(image, o);
  try {
    const info = fs.info();
    const health = fs.health({ groups: true });
    if (o.json) {
      printJson({ ...info, health, groups: o.groups ? fs.groupSummaries() : undefined });
      return;
    }
    printInfo(info);
    if (o.groups) {
      process.stdout.write('\nGroups:\n');
      for (const g of fs.groupSummaries()) {
        process.stdout.write(`  ${String(g.group).padStart(5)}  blocks ${g.firstBlock}-${g.lastBlock}  bitmap ${g.blockBitmap}/${g.inodeBitmap}  itable ${g.inodeTable}  free ${g.freeBlocks}b/${g.freeInodes}i  ${g.flags.join(',')}\n`);
      }
    }
    process.stdout.write(`\nHealth: ${health.findings.length === 0 ? 'no damage found' : `${health.findings.length} problem(s)`}` +
      ` (superblock${health.checked.superblock ? ' ok' : ' BAD'}, ${health.checked.groups} group descriptors and bitmaps checked` +
      `${info.journal ? `, journal ${health.checked.journal ? 'ok' : 'damaged'}` : ''})\n`);
    for (const f of health.findings.slice(0, 50)) {
      process.stdout.write(`  ${f.structure} ${f.where}: ${f.problem}\n`);
    }
    if (health.findings.length > 50) process.stdout.write(`  ... ${health.findings.length - 50} more\n`);
  } finally {
    fs.close();
  }
}

function printInfo(i: FsInfo): void {
  const t = (s: number) => (s ? new Date(s * 1000).toISOString() : 'never');
  const rows: Array<[string, unknown]> = [
    ['Volume name', i.volumeName || '<none>'],
    ['UUID', i.uuid],
    ['State', i.state.join(', ')],
    ['Features', i.features.join(' ')],
    ['Block size', i.blockSize],
  ];
  if (i.clusterSize !== i.blockSize) rows.push(['Cluster size', i.clusterSize]);
  rows.push(
    ['Blocks', `${i.blocksCount} (${i.freeBlocks} free, ${i.reservedBlocks} reserved)`],
    ['Inodes', `${i.inodesCount} (${i.freeInodes} free), ${i.inodeSize} bytes each`],
    ['Groups', `${i.groupCount} (${i.blocksPerGroup} blocks, ${i.inodesPerGroup} inodes each; descriptors ${i.descSize} bytes)`],
    ['Revision', i.revLevel],
    ['Created by', i.creatorOs],
    ['Created', t(i.createdAt)],
    ['Last mounted', `${t(i.mountedAt)}${i.lastMounted ? ` on ${i.lastMounted}` : ''}`],
    ['Last written', t(i.writtenAt)],
    ['Mount count', `${i.mountCount}${i.maxMountCount > 0 ? ` of ${i.maxMountCount}` : ''}`],
    ['Directory hash', i.hashVersion],
    ['Checksum seed', i.checksumSeed ?? 'none (no metadata_csum)'],
    ['Access', i.readOnly ? `read-only${i.readOnlyReason ? ` (${i.readOnlyReason})` : ''}` : 'read-write'],
  );
  if (i.journal) {
    const j = i.journal;
    rows.push(['Journal', `inode ${j.inode}, ${j.blocks} blocks, ${j.checksum}${j.features.length ? `, ${j.features.join(' ')}` : ''}`]);
    rows.push(['Journal state', j.needsRecovery
      ? `needs recovery: ${j.replayed ? `replayed in memory (${j.transactions} transactions, ${j.blocksReplayed} blocks, ${j.revoked} revoked)` : 'NOT replayed'}`
      : 'clean']);
    if (j.fastCommitBlocks) rows.push(['Fast commit', `${j.fastCommitBlocks} blocks`]);
    for (const n of j.notes) rows.push(['Journal note', n]);
  } else {
    rows.push(['Journal', 'none']);
  }
  rows.push(['Orphans', i.orphans.length ? i.orphans.slice(0, 20).join(' ') + (i.orphans.length > 20 ? ' ...' : '') : 'none']);
  if (i.errorCount) {
    rows.push(['Errors recorded', i.errorCount]);
    if (i.firstError) rows.push(['First error', i.firstError]);
    if (i.lastError) rows.push(['Last error', i.lastError]);
  }
  printKv(rows);
}

interface LsRow { name: Uint8Array; st: Stat | null; err: string | null; target: Uint8Array | null }

export function cmdLs(image: string, path: string, o: ImageOptions & { long?: boolean; all?: boolean }): void {
  const fs = openFromOptions(image, o);
  try {
    const ino = resolvePath(fs, path);
    const st = fs.stat(ino);
    const rows: LsRow[] = [];
    const row = (name: Uint8Array, child: number): LsRow => {
      try {
        const cs = fs.stat(child);
        const target = cs.type === 'symlink' && o.long ? safe(() => fs.readlink(child)) : null;
        return { name, st: cs, err: null, target };
      } catch (e) {
        return { name, st: null, err: describeError(e), target: null };
      }
    };
    if (st.type !== 'dir') {
      rows.push(row(enc.encode(path), ino));
    } else {
      for (const e of fs.readdir(ino)) {
        const dot = e.name.length <= 2 && e.name.every((c) => c === 0x2e);
        if (dot && !o.all) continue;
        rows.push(row(e.name, e.ino));
      }
      rows.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    }
    if (o.json) {
      printJson(rows.map((r) => ({
        name: jsonName(r.name), ...(r.st ? statJson(r.st) : {}), error: r.err ?? undefined,
        target: r.target ? jsonName(r.target) : undefined,
      })));
      return;
    }
    for (const r of rows) {
      const name = displayName(r.name);
      if (!o.long) { process.stdout.write(name + '\n'); continue; }
      if (!r.st) { process.stdout.write(`?????????? ${name}: ${r.err}\n`); continue; }
      const s = r.st;
      const size = s.type === 'chardev' || s.type === 'blockdev' ? `${s.rdevMajor}, ${s.rdevMinor}` : String(s.size);
      process.stdout.write(`${modeString(s.type, s.mode)} ${String(s.nlink).padStart(3)} ${String(s.uid).padStart(5)} ${String(s.gid).padStart(5)} ` +
        `${size.padStart(10)} ${lsTime(s.mtime)} ${name}${r.target ? ` -> ${displayName(r.target)}` : ''}\n`);
    }
  } finally {
    fs.close();
  }
}

function safe<T>(f: () => T): T | null {
  try { return f(); } catch { return null; }
}

export async function cmdCat(image: string, path: string, o: ImageOptions): Promise<void> {
  const fs = openFromOptions(image, o);
  try {
    const ino = resolvePath(fs, path, true);
    const st = fs.stat(ino);
    if (st.type === 'dir') throw new UsageError(`${path}: is a directory`);
    if (st.type !== 'file') throw new UsageError(`${path}: not a regular file (${st.type})`);
    const chunk = 1 << 20;
    const buf = Buffer.allocUnsafe(chunk);
    for (let off = 0; off < st.size; off += chunk) {
      const n = await fs.read(ino, off, Math.min(chunk, st.size - off), buf);
      if (n <= 0) break;
      if (!process.stdout.write(buf.subarray(0, n))) await new Promise((r) => process.stdout.once('drain', r));
      if (n < Math.min(chunk, st.size - off)) break;
    }
  } finally {
    fs.close();
  }
}

export function cmdStat(image: string, path: string, o: ImageOptions): void {
  const fs = openFromOptions(image, o);
  try {
    const ino = resolvePath(fs, path);
    const s = fs.stat(ino);
    const target = s.type === 'symlink' ? fs.readlink(ino) : null;
    const xattrs = fs.listxattr(ino).map((name) => ({ name, value: fs.getxattr(ino, name) }));
    if (o.json) {
      printJson({
        path, ...statJson(s), target: target ? jsonName(target) : undefined,
        xattrs: xattrs.map((x) => ({ name: jsonName(x.name), value: Buffer.from(x.value).toString('hex') })),
      });
      return;
    }
    const rows: Array<[string, unknown]> = [
      ['File', path + (target ? ` -> ${displayName(target)}` : '')],
      ['Inode', `${s.ino} (generation ${s.generation})`],
      ['Type', s.type],
      ['Mode', `0${(s.mode & 0o7777).toString(8).padStart(4, '0')} ${modeString(s.type, s.mode)}`],
      ['Links', s.nlink],
      ['Owner', `uid ${s.uid}, gid ${s.gid}`],
      ['Size', `${s.size} bytes, ${s.blocks} 512-byte blocks`],
    ];
    if (s.type === 'chardev' || s.type === 'blockdev') rows.push(['Device', `${s.rdevMajor}:${s.rdevMinor}`]);
    rows.push(['Flags', `0x${s.flags.toString(16)}`]);
    if (s.projid) rows.push(['Project', s.projid]);
    rows.push(['Access', isoTime(s.atime)], ['Modify', isoTime(s.mtime)], ['Change', isoTime(s.ctime)]);
    rows.push(['Birth', s.crtime ? isoTime(s.crtime) : '-']);
    printKv(rows);
    if (xattrs.length) {
      process.stdout.write('Xattrs:\n');
      for (const x of xattrs) process.stdout.write(`  ${displayName(x.name)} = ${showValue(x.value)}\n`);
    }
  } finally {
    fs.close();
  }
}

/** A value as text when printable, else hex (as getfattr -e text/hex would choose). */
function showValue(v: Uint8Array): string {
  const s = strictUtf8(v.length && v[v.length - 1] === 0 ? v.subarray(0, v.length - 1) : v);
  // eslint-disable-next-line no-control-regex
  if (s !== null && !/[\x00-\x08\x0e-\x1f\x7f]/.test(s)) return JSON.stringify(s);
  return '0x' + Buffer.from(v).toString('hex');
}

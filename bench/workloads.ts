// The timed workloads, run against a mounted bench image (any mounter), and the untimed
// read-back check against the data generator. Reads go through plain syscalls from this
// process (1 MiB read(2)s, lstat, getdents, open/read/close) or through fio and tar, the
// way a user's tools would hit the mount.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DataSpec, bigChunk, smallContent, smallName, treeContent, treeFiles } from './data.js';

const MIB = 1 << 20;

/** Reads `file` start to end in 1 MiB read(2)s; returns bytes read and ms. */
export function seqRead(file: string): { bytes: number; ms: number } {
  const buf = Buffer.allocUnsafe(MIB);
  const t0 = performance.now();
  const fd = fs.openSync(file, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, MIB, null);
      if (n === 0) break;
      bytes += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, ms: performance.now() - t0 };
}

/** fio 4 KiB random reads, psync, one job, fixed runtime; returns IOPS. */
export function fioRandRead(file: string, size: number, runtimeS: number, timeoutMs: number): { iops: number } {
  const r = spawnSync('fio', [
    '--name=randread', `--filename=${file}`, '--readonly', '--rw=randread', '--bs=4k',
    '--ioengine=psync', `--size=${size}`, `--runtime=${runtimeS}`, '--time_based',
    '--randrepeat=1', '--norandommap', '--invalidate=1', '--output-format=json',
  ], { encoding: 'utf8', maxBuffer: 16 << 20, timeout: runtimeS * 1000 + timeoutMs, killSignal: 'SIGKILL' });
  if (r.error) throw new Error(`fio: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`fio exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  // fio may print warnings before the JSON document.
  const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: { read: { iops: number }; error: number }[] };
  const job = doc.jobs[0];
  if (!job || job.error) throw new Error(`fio job failed: ${JSON.stringify(job?.error)}`);
  return { iops: job.read.iops };
}

/** lstat of every name in /many, by name (no readdir first, so each is a lookup). */
export function statAll(dir: string, n: number): { ms: number } {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fs.lstatSync(path.join(dir, smallName(i)));
  return { ms: performance.now() - t0 };
}

export function readdirAll(dir: string, n: number): { ms: number } {
  const t0 = performance.now();
  const names = fs.readdirSync(dir);
  const ms = performance.now() - t0;
  if (names.length !== n) throw new Error(`readdir ${dir}: ${names.length} entries, expected ${n}`);
  return { ms };
}

export function readSmall(dir: string, n: number): { ms: number; bytes: number } {
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += fs.readFileSync(path.join(dir, smallName(i))).length;
  return { ms: performance.now() - t0, bytes };
}

/** `tar c` of the tree into a pipe (GNU tar skips reading files when writing to /dev/null). */
export function tarTree(mnt: string, timeoutMs: number): { ms: number; bytes: number } {
  const t0 = performance.now();
  // timeout(1) kills its whole process group (tar too), not only the shell.
  const r = spawnSync('timeout', ['-s', 'KILL', String(Math.ceil(timeoutMs / 1000)),
    'bash', '-c', 'set -o pipefail; tar cf - -C "$1" src | wc -c', 'tar', mnt], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`tar: ${r.error.message}`);
  if (r.status === 137) throw new Error(`tar: no answer after ${timeoutMs / 1000} s (mount hung?)`);
  if (r.status !== 0) throw new Error(`tar exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
  return { ms, bytes: Number(r.stdout.trim()) };
}

export interface Verify {
  /** sha256 over everything read back, in a fixed order */
  digest: string;
  mismatches: string[];
  checkedBytes: number;
}

/**
 * Reads the data back and compares it with the generator: all of /many and /src, and
 * /big whole (`fullBig`) or 32 sampled MiB plus its first and last MiB.
 */
export function verifyMount(mnt: string, spec: DataSpec, fullBig: boolean): Verify {
  const h = crypto.createHash('sha256');
  const mismatches: string[] = [];
  let checkedBytes = 0;
  const check = (what: string, got: Buffer, want: Buffer) => {
    h.update(what).update(got);
    checkedBytes += got.length;
    if (!got.equals(want) && mismatches.length < 20) mismatches.push(`${what}: ${got.length} bytes differ from the generator's ${want.length}`);
  };
  const big = path.join(mnt, 'big');
  const st = fs.statSync(big);
  if (st.size !== spec.bigBytes) mismatches.push(`/big: size ${st.size}, expected ${spec.bigBytes}`);
  const chunks = spec.bigBytes / MIB;
  const offs = new Set<number>();
  if (fullBig) for (let c = 0; c < chunks; c++) offs.add(c);
  else {
    offs.add(0).add(chunks - 1);
    for (let k = 0; k < 32; k++) offs.add(crypto.createHash('sha256').update(`pick:${k}`).digest().readUInt32LE(0) % chunks);
  }
  const fd = fs.openSync(big, 'r');
  try {
    const buf = Buffer.alloc(MIB);
    for (const c of [...offs].sort((a, b) => a - b)) {
      const n = fs.readSync(fd, buf, 0, MIB, c * MIB);
      check(`/big@${c}MiB`, buf.subarray(0, n), bigChunk(c * MIB, MIB));
    }
  } finally {
    fs.closeSync(fd);
  }
  const names = fs.readdirSync(path.join(mnt, 'many')).sort();
  const want = Array.from({ length: spec.smallFiles }, (_, i) => smallName(i));
  if (names.join('/') !== want.join('/')) mismatches.push(`/many: ${names.length} names, expected ${want.length} (f00000…)`);
  for (let i = 0; i < spec.smallFiles; i++) check(`/many/${smallName(i)}`, fs.readFileSync(path.join(mnt, 'many', smallName(i))), smallContent(i));
  for (const f of treeFiles(spec)) check(`/src/${f.rel}`, fs.readFileSync(path.join(mnt, 'src', f.rel)), treeContent(f));
  return { digest: h.digest('hex'), mismatches, checkedBytes };
}

// Test support only: small throwaway images built at test time with mkfs.ext4 (and
// optional debugfs -w commands) in a temp dir, plus the e2fsprogs oracles the tests compare
// against (dumpe2fs -h, debugfs stat). Cached per process by argument list.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export const TEST_UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const FAKE_TIME = '1700000000';

let tmpRoot: string | null = null;
export function tmpDir(): string {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-core-'));
    // Jest workers exit normally at the end of a run: take the images with them.
    process.once('exit', cleanupTmp);
  }
  return tmpRoot;
}

export function cleanupTmp(): void {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = null;
}

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, {
    input, encoding: 'utf8', timeout: 60_000, env: { ...process.env, E2FSPROGS_FAKE_TIME: FAKE_TIME, MKE2FS_DEVICE_SECTSIZE: '512' },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export interface MkfsSpec {
  /** mkfs arguments (besides -F -q -U and the image path), e.g. ['-t','ext4','-b','1024']. */
  args: string[];
  sizeKiB?: number;
  /** Directory to populate from (mkfs -d). */
  dir?: string;
  /** debugfs -w commands run after mkfs. */
  debugfs?: string[];
}

const built = new Map<string, string>();

/** Builds (once per process) and returns the path of a pristine image; copy before mutating. */
export function mkfs(spec: MkfsSpec): string {
  const key = JSON.stringify(spec);
  const hit = built.get(key);
  if (hit) return hit;
  const img = path.join(tmpDir(), `img${built.size}.img`);
  fs.writeFileSync(img, '');
  fs.truncateSync(img, (spec.sizeKiB ?? 32 * 1024) * 1024);
  const args = ['-F', '-q', '-U', TEST_UUID, '-E', `hash_seed=${TEST_UUID}`, ...spec.args];
  if (spec.dir) args.push('-d', spec.dir);
  sh('mkfs.ext4', [...args, img]);
  if (spec.debugfs?.length) sh('debugfs', ['-w', '-f', '-', img], spec.debugfs.join('\n') + '\n');
  built.set(key, img);
  return img;
}

/** A writable copy of an image (for mutation tests). */
export function copyImage(img: string): string {
  const p = path.join(tmpDir(), `copy${Math.random().toString(36).slice(2)}.img`);
  fs.copyFileSync(img, p);
  return p;
}

export function readImage(img: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(img));
}

export function writeImage(img: string, bytes: Uint8Array): void {
  fs.writeFileSync(img, bytes);
}

/** dumpe2fs -h as a field -> value map ("Block count" -> "8192"). */
export function dumpe2fsHeader(img: string): Map<string, string> {
  const out = sh('dumpe2fs', ['-h', img]);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

export interface DumpGroup {
  group: number;
  primarySb: boolean;
  backupSb: boolean;
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  dirs: number;
  flags: string[];
  /** The descriptor checksum dumpe2fs prints, or null. */
  csum: number | null;
  blockBitmapCsum: number | null;
  inodeBitmapCsum: number | null;
  /** First block of the descriptor copy in this group ("Group descriptor(s) at"), or null. */
  gdtAt: number | null;
}

/** The per-group part of `dumpe2fs` output. */
export function dumpe2fsGroups(img: string): DumpGroup[] {
  const out = sh('dumpe2fs', [img]);
  const groups: DumpGroup[] = [];
  let cur: DumpGroup | null = null;
  for (const line of out.split('\n')) {
    const gm = /^Group (\d+): \(Blocks [^)]*\)\s*(?:csum (0x[0-9a-f]+)\s*)?(?:\[([^\]]*)\])?/.exec(line);
    if (gm) {
      cur = {
        group: Number(gm[1]), primarySb: false, backupSb: false, blockBitmap: -1, inodeBitmap: -1, inodeTable: -1, freeBlocks: -1,
        freeInodes: -1, dirs: -1, flags: gm[3] ? gm[3].split(', ') : [], csum: gm[2] ? Number(gm[2]) : null,
        blockBitmapCsum: null, inodeBitmapCsum: null, gdtAt: null,
      };
      groups.push(cur);
      continue;
    }
    if (!cur) continue;
    if (/Primary superblock at/.test(line)) cur.primarySb = true;
    if (/Backup superblock at/.test(line)) cur.backupSb = true;
    let m = /Block bitmap at (\d+)(?:.*csum (0x[0-9a-f]+))?/.exec(line);
    if (m) { cur.blockBitmap = Number(m[1]); cur.blockBitmapCsum = m[2] ? Number(m[2]) : null; }
    m = /Inode bitmap at (\d+)(?:.*csum (0x[0-9a-f]+))?/.exec(line);
    if (m) { cur.inodeBitmap = Number(m[1]); cur.inodeBitmapCsum = m[2] ? Number(m[2]) : null; }
    m = /Group descriptors? at (\d+)/.exec(line);
    if (m) cur.gdtAt = Number(m[1]);
    m = /Inode table at (\d+)/.exec(line);
    if (m) cur.inodeTable = Number(m[1]);
    m = /(\d+) free (?:blocks|clusters), (\d+) free inodes, (\d+) directories/.exec(line);
    if (m) { cur.freeBlocks = Number(m[1]); cur.freeInodes = Number(m[2]); cur.dirs = Number(m[3]); }
  }
  return groups;
}

/** debugfs `stat <ino>` output. */
export function debugfsStat(img: string, ino: number): string {
  return sh('debugfs', ['-R', `stat <${ino}>`, img]);
}

/** gunzips a corpus image into the temp dir. */
export function gunzipTo(gz: string): string {
  const out = path.join(tmpDir(), path.basename(gz).replace(/\.gz$/, ''));
  if (!fs.existsSync(out)) {
    fs.writeFileSync(out, zlib.gunzipSync(fs.readFileSync(gz)));
  }
  return out;
}

/** `len` bytes at `off` of a file, without reading the rest. */
export function readRange(img: string, off: number, len: number): Uint8Array {
  const fd = fs.openSync(img, 'r');
  try {
    const b = new Uint8Array(len);
    fs.readSync(fd, b, 0, len, off);
    return b;
  } finally { fs.closeSync(fd); }
}

/** Overwrites bytes at `off` in a file. */
export function writeRange(img: string, off: number, bytes: Uint8Array): void {
  const fd = fs.openSync(img, 'r+');
  try { fs.writeSync(fd, bytes, 0, bytes.length, off); } finally { fs.closeSync(fd); }
}

export function fileSize(img: string): number {
  return fs.statSync(img).size;
}

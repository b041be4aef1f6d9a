// Builds the bench image once per data spec and caches it by a hash of the spec and the
// generator version: /big (one non-sparse file for sequential and random reads), /many
// (small files in one htree directory) and /src (a source-like tree for tar). Built with
// mkfs.ext4 -d from a staging dir, then e2fsck -fyD so /many is an htree as the kernel
// would have made it by inserting one name at a time.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATA_VERSION, DataSpec, bigChunk, smallContent, smallName, treeContent, treeFiles } from './data.js';

export interface BenchImage {
  image: string;
  spec: DataSpec;
}

function run(cmd: string, args: string[], okCodes: number[] = [0]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (!okCodes.includes(r.status ?? -1)) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).slice(0, 2000)}`);
  }
  return r.stdout;
}

function imageBytes(spec: DataSpec): number {
  // Data plus per-file slack (small files use up to 2 blocks + dir entries) plus 25%
  // for metadata; at least 64 MiB so mkfs picks ordinary ext4 geometry.
  const data = spec.bigBytes + spec.smallFiles * 12_288 + treeFiles(spec).reduce((a, f) => a + f.size + 4096, 0);
  const mib = Math.max(64, Math.ceil((data * 1.25) / (1 << 20)));
  return mib * (1 << 20);
}

function stage(spec: DataSpec, dir: string): void {
  const fd = fs.openSync(path.join(dir, 'big'), 'w');
  try {
    const chunk = 1 << 20;
    for (let off = 0; off < spec.bigBytes; off += chunk) {
      const n = Math.min(chunk, spec.bigBytes - off);
      fs.writeSync(fd, bigChunk(off, n), 0, n, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.mkdirSync(path.join(dir, 'many'));
  for (let i = 0; i < spec.smallFiles; i++) fs.writeFileSync(path.join(dir, 'many', smallName(i)), smallContent(i));
  for (const f of treeFiles(spec)) {
    const p = path.join(dir, 'src', f.rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, treeContent(f));
  }
}

/** The cached image for `spec` under `cacheDir`, built now if missing. */
export function buildBenchImage(spec: DataSpec, cacheDir: string, log: (s: string) => void = () => {}): BenchImage {
  const key = crypto.createHash('sha256').update(JSON.stringify({ spec, DATA_VERSION })).digest('hex').slice(0, 12);
  fs.mkdirSync(cacheDir, { recursive: true });
  const image = path.join(cacheDir, `bench-${key}.img`);
  if (fs.existsSync(image)) return { image, spec };
  const staging = fs.mkdtempSync(path.join(cacheDir, 'staging-'));
  const tmp = `${image}.tmp`;
  try {
    log(`building bench image ${image} (${(imageBytes(spec) / (1 << 20)).toFixed(0)} MiB)…`);
    stage(spec, staging);
    fs.rmSync(tmp, { force: true });
    run('mkfs.ext4', ['-F', '-q', '-b', '4096', '-L', 'bench', '-d', staging, tmp, `${imageBytes(spec) / 1024}k`]);
    // e2fsck exits 1 when it changed something (the -D rebuild always does).
    run('e2fsck', ['-fyD', tmp], [0, 1]);
    run('e2fsck', ['-fn', tmp]);
    fs.renameSync(tmp, image);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.rmSync(tmp, { force: true });
  }
  return { image, spec };
}

// Base images of the mutation fuzzer: small (8–16 MiB), varied filesystems built at test
// time with mke2fs -d from a small deterministic tree, then e2fsck -fyD (htree dirs) and
// debugfs -w for what -d cannot express (xattrs in inode and block, a pending journal
// transaction). Cached under .cache/fuzz by a hash of (variant, builder version, mke2fs
// version) with the fixtures' lock-and-rename convention, so parallel workers build once.
// Everything is deterministic (fixed UUID, hash seed, fake time, PRNG file contents): a
// (variant, seed, case) triple names the same bytes on every machine with e2fsprogs 1.47.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { run } from '../../fixtures/exec.js';
import { FIXTURE_TIME, FIXTURE_UUID, FIXTURE_HASH_SEED, buildOnce, mkfsVersion } from '../../fixtures/images.js';
import { Prng } from './prng.js';

const BUILDER_VERSION = 4;

export interface BaseVariant {
  name: string;
  fsType: 'ext2' | 'ext3' | 'ext4';
  blockSize: number;
  inodeSize: number;
  sizeKiB: number;
  features?: string[];
  /** Extra -E options. */
  extended?: string[];
  /** Extra mke2fs args (-g, -J ...). */
  args?: string[];
  /** Number of extents in the sparse file (deep extent trees). */
  sparseExtents: number;
  /** Leave a committed, unreplayed journal transaction (needs_recovery). */
  pendingJournal?: boolean;
  /** Entries in the htree directory. */
  bigDir: number;
  /** Name length padding in the htree directory: long names make a 2-level tree (dx nodes). */
  bigDirPad?: number;
  /** Entries of a casefolded directory /cf made with debugfs (mke2fs -d cannot set +F). */
  casefoldDir?: number;
}

export const BASE_VARIANTS: readonly BaseVariant[] = [
  { name: 'ext4-4k', fsType: 'ext4', blockSize: 4096, inodeSize: 256, sizeKiB: 16384, sparseExtents: 400, bigDir: 500 },
  { name: 'ext4-1k', fsType: 'ext4', blockSize: 1024, inodeSize: 256, sizeKiB: 12288, args: ['-g', '2048'], sparseExtents: 700, bigDir: 700, bigDirPad: 200 },
  { name: 'inline', fsType: 'ext4', blockSize: 4096, inodeSize: 256, sizeKiB: 16384, features: ['inline_data'], sparseExtents: 20, bigDir: 60 },
  { name: 'gdt-csum', fsType: 'ext4', blockSize: 1024, inodeSize: 128, sizeKiB: 8192, features: ['^metadata_csum', 'uninit_bg', '^64bit'], args: ['-g', '2048'], sparseExtents: 60, bigDir: 200 },
  { name: 'ext2', fsType: 'ext2', blockSize: 1024, inodeSize: 128, sizeKiB: 8192, args: ['-g', '2048'], sparseExtents: 40, bigDir: 200 },
  { name: 'journal', fsType: 'ext4', blockSize: 1024, inodeSize: 256, sizeKiB: 12288, args: ['-g', '4096'], sparseExtents: 30, bigDir: 40, pendingJournal: true },
  { name: 'bigalloc', fsType: 'ext4', blockSize: 4096, inodeSize: 256, sizeKiB: 32768, features: ['bigalloc'], args: ['-C', '16384'], sparseExtents: 60, bigDir: 120 },
  { name: 'casefold', fsType: 'ext4', blockSize: 4096, inodeSize: 256, sizeKiB: 16384, features: ['casefold'], extended: ['encoding=utf8'], sparseExtents: 20, bigDir: 40, casefoldDir: 400 },
  { name: 'meta-bg', fsType: 'ext4', blockSize: 1024, inodeSize: 256, sizeKiB: 12288, features: ['meta_bg', '^resize_inode'], args: ['-g', '1024'], sparseExtents: 60, bigDir: 120 },
];

export function baseVariant(name: string): BaseVariant {
  const v = BASE_VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown fuzz base image ${name} (known: ${BASE_VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}

function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..').replace(/\/dist$/, '');
}

export function fuzzCacheDir(): string {
  const d = process.env.EXT4BOX_FUZZ_CACHE ?? path.join(repoRoot(), '.cache', 'fuzz');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** The small tree every base image holds (contents from a PRNG, so reproducible). */
function materialize(v: BaseVariant, dir: string): void {
  const rng = new Prng(0x5eed);
  const bytes = (n: number) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = rng.u32() & 0xff; return b; };
  fs.mkdirSync(path.join(dir, 'sub/deeper/deepest'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'tiny'), 'tiny file\n');
  fs.writeFileSync(path.join(dir, 'small'), bytes(3000));
  fs.writeFileSync(path.join(dir, 'sub/medium'), bytes(70_000));
  // Past 12 + 256 blocks of 1 KiB: double-indirect blocks on ext2.
  fs.writeFileSync(path.join(dir, 'sub/deeper/large'), bytes(400_000));
  fs.writeFileSync(path.join(dir, 'sub/deeper/deepest/leaf'), 'leaf\n');
  // Alternate data and holes so each chunk is its own extent: a tree of depth 1 or 2.
  const fd = fs.openSync(path.join(dir, 'sparse'), 'w');
  for (let i = 0; i < v.sparseExtents; i++) fs.writeSync(fd, bytes(16), 0, 16, i * 2 * v.blockSize);
  fs.closeSync(fd);
  fs.symlinkSync('tiny', path.join(dir, 'fastlink'));
  // Longer than the 60 bytes of i_block: a slow symlink, to a target that exists.
  fs.symlinkSync(`${'./'.repeat(40)}sub/deeper/deepest/leaf`, path.join(dir, 'slowlink'));
  fs.mkdirSync(path.join(dir, 'big'));
  for (let i = 0; i < v.bigDir; i++) fs.writeFileSync(path.join(dir, 'big', `entry-${i.toString().padStart(4, '0')}-${'x'.repeat(v.bigDirPad ?? i % 40)}`), i % 7 === 0 ? `${i}` : '');
  fs.mkdirSync(path.join(dir, 'inl'));
  fs.writeFileSync(path.join(dir, 'inl/a'), 'a');
  fs.writeFileSync(path.join(dir, 'inl/b'), 'bb');
}

export function baseKey(v: BaseVariant): string {
  return createHash('sha256').update(JSON.stringify({ BUILDER_VERSION, v, mkfs: mkfsVersion() })).digest('hex').slice(0, 16);
}

/** Path of the cached base image `name`, building it first if needed. */
export function baseImagePath(name: string): string {
  const v = baseVariant(name);
  const out = path.join(fuzzCacheDir(), `${v.name}-${baseKey(v)}.img`);
  buildOnce(out, (tmp) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-fuzzbase-'));
    try {
      const src = path.join(work, 'src');
      fs.mkdirSync(src);
      materialize(v, src);
      const env = { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXTURE_TIME) };
      const args = ['-q', '-F', '-t', v.fsType, '-b', String(v.blockSize), '-I', String(v.inodeSize), '-N', '1024',
        '-U', FIXTURE_UUID, '-E', [`hash_seed=${FIXTURE_HASH_SEED}`, 'root_owner=0:0', ...(v.extended ?? [])].join(',')];
      if (v.features?.length) args.push('-O', v.features.join(','));
      args.push(...(v.args ?? []), '-d', src, tmp, `${v.sizeKiB}k`);
      run('mke2fs', args, { env, timeoutMs: 120_000 });
      run('e2fsck', ['-fyD', tmp], { env, okStatus: [0, 1], timeoutMs: 120_000 });
      // xattrs: a small one stays in the inode (256-byte inodes), a large one needs a block.
      const big = Buffer.alloc(Math.min(v.blockSize - 200, 2000), 0x61).toString();
      const valFile = path.join(work, 'val');
      fs.writeFileSync(valFile, big);
      const cmds = ['ea_set /small user.small hello', `ea_set -f ${valFile} /small user.big`,
        'ea_set /sub user.dir-attr x', `ea_set -f ${valFile} /tiny user.blockattr`, 'ea_set /tiny user.t2 yy'];
      if (v.pendingJournal) {
        const data = path.join(work, 'jdata');
        fs.writeFileSync(data, Buffer.alloc(v.blockSize * 2, 0x4a));
        // Overwrites two free blocks and revokes a third: replay has something to do.
        cmds.push('jo -c', `jw -b 9000,9001 ${data}`, 'jw -r 9002', 'jc');
      }
      if (v.casefoldDir) {
        // An empty directory may take +F; debugfs then links names with the casefold hash,
        // and the second e2fsck -D indexes it as a casefolded htree.
        cmds.push('mkdir /cf', 'set_inode_field /cf flags 0x40080000');
        for (let i = 0; i < v.casefoldDir; i++) cmds.push(`write ${valFile} /cf/Name-${i}-${'ÄÖü'.repeat(i % 3)}`);
      }
      run('debugfs', ['-w', '-f', '-', tmp], { input: cmds.join('\n') + '\n', env, timeoutMs: 60_000 });
      if (v.casefoldDir) run('e2fsck', ['-fyD', tmp], { env, okStatus: [0, 1], timeoutMs: 120_000 });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  return out;
}

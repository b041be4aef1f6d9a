// The hostile corpus mounted read-only through ext4box: every mount either serves or is
// refused with one line; every walk (names, lstat, bounded reads, readlink, xattrs,
// SEEK_DATA/SEEK_HOLE) finishes; every failure an operation meets is an errno the kernel
// would give for damage (EIO, EUCLEAN, EBADMSG) or an ordinary outcome; and the server stays
// up to the end. npm test runs a spread of 32 images (about 5 s each: three node processes per mount); EXT4BOX_CORPUS_ALL=1 runs all of
// them and prints the counts (the `corpus:mount` script). With fuse2fs installed, the same
// walk through fuse2fs is recorded beside ours (information, not asserted).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PYTHON, haveTool } from '../fixtures/exec.js';
import { corpusImages, preparedImage } from '../hostile/corpus-run.js';
import { cli, pidAlive, posixSkipReason } from './mountutil.js';

const why = posixSkipReason() ?? (PYTHON ? null : 'python3 missing') ?? (fs.existsSync('/work/shared/corpus/e2fsprogs') ? null : 'no corpus');
if (why) console.warn(`posix corpus: skipped: ${why}`);
const ALL = process.env.EXT4BOX_CORPUS_ALL === '1';

// errno -> allowed: damage (EIO, EUCLEAN, EBADMSG) and ordinary outcomes a damaged tree
// produces (names whose inode is gone, loops, a non-directory where a directory was).
const ALLOWED = new Set([5, 117, 74, 2, 116, 40, 20, 61, 36, 6, 22, 95]);

const WALKER = String.raw`
import os, sys, json, errno
root = sys.argv[1]; budget = 4000
errs = {}; ops = 0; entries = 0
def err(op, e):
    k = '%s:%d' % (op, e.errno or 0); errs[k] = errs.get(k, 0) + 1
stack = [root]
while stack and entries < budget:
    p = stack.pop(); entries += 1
    try: st = os.lstat(p); ops += 1
    except OSError as e: err('lstat', e); continue
    try: os.listxattr(p, follow_symlinks=False); ops += 1
    except OSError as e: err('listxattr', e)
    import stat as S
    if S.S_ISDIR(st.st_mode):
        try:
            for n in sorted(os.listdir(p)): stack.append(os.path.join(p, n))
            ops += 1
        except OSError as e: err('readdir', e)
    elif S.S_ISLNK(st.st_mode):
        try: os.readlink(p); ops += 1
        except OSError as e: err('readlink', e)
    elif S.S_ISREG(st.st_mode):
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
            try:
                try: os.lseek(fd, 0, os.SEEK_DATA); ops += 1
                except OSError as e: err('seek_data', e)
                try: os.lseek(fd, 0, os.SEEK_HOLE); ops += 1
                except OSError as e: err('seek_hole', e)
                got = 0
                while got < (1 << 20):
                    b = os.read(fd, 262144); ops += 1
                    if not b: break
                    got += len(b)
            finally: os.close(fd)
        except OSError as e: err('read', e)
print(json.dumps({'entries': entries, 'ops': ops, 'errors': errs}))
`;

interface WalkResult { entries: number; ops: number; errors: Record<string, number> }

function walkMount(mnt: string): WalkResult | string {
  const r = spawnSync(PYTHON!, ['-c', WALKER, mnt], { encoding: 'utf8', timeout: 90_000 });
  if (r.status !== 0) return `walker exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as WalkResult;
}

function fuse2fsWalk(image: string): WalkResult | string {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-f2fs-'));
  try {
    const m = spawnSync('fuse2fs', ['-o', 'ro,fakeroot', image, mnt], { encoding: 'utf8', timeout: 30_000 });
    if (m.status !== 0) return `fuse2fs refused: ${m.stderr.trim().split('\n').pop()}`;
    try { return walkMount(mnt); } finally { spawnSync('umount', ['-l', mnt]); }
  } finally {
    try { fs.rmdirSync(mnt); } catch { /* busy */ }
  }
}

function pick(all: string[]): string[] {
  if (ALL) return all;
  const step = Math.max(1, Math.floor(all.length / 32));
  return all.filter((_, i) => i % step === 0).slice(0, 32);
}

const images = why ? [] : pick(corpusImages());

describe('hostile corpus through an ext4box mount', () => {
  const tally = { mounted: 0, refused: 0, walked: 0, failures: 0, bad: [] as string[] };
  afterAll(() => {
    if (images.length) console.log(`corpus mount: ${images.length} images, ${tally.mounted} mounted, ${tally.refused} refused, ${tally.walked} walked, ${tally.failures} operation failures (all damage errnos)${tally.bad.length ? `; BAD: ${tally.bad.join('; ')}` : ''}`);
  });
  (why ? it.skip : it).each(images.length ? images : ['none'])('%s', async (gz) => {
    const image = await preparedImage(gz);
    const name = path.basename(gz);
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-mnt-'));
    try {
      const r = cli(['mount', image, mnt, '-o', 'ro', '--json'], { timeoutMs: 60_000 });
      if (r.status !== 0) {
        // Refused: exactly one error line (after the unconfined warning), nothing mounted.
        tally.refused++;
        const lines = r.stderr.trim().split('\n').filter((l) => !/warning:/.test(l));
        expect(lines).toHaveLength(1);
        expect(r.status).toBe(1);
        expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${mnt} `);
        return;
      }
      tally.mounted++;
      const pid = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { serverPid: number }).serverPid;
      const w = walkMount(mnt);
      if (haveTool('fuse2fs') && ALL) console.log(`${name}: ext4box ${JSON.stringify(w)} | fuse2fs ${JSON.stringify(fuse2fsWalk(image))}`);
      expect(typeof w).toBe('object');
      const res = w as WalkResult;
      tally.walked++;
      for (const [k, n] of Object.entries(res.errors)) {
        tally.failures += n;
        const errno = Number(k.split(':')[1]);
        if (!ALLOWED.has(errno)) tally.bad.push(`${name} ${k}`);
        expect(`${k}:${ALLOWED.has(errno)}`).toBe(`${k}:true`);
      }
      expect(pidAlive(pid)).toBe(true);
      expect(fs.statSync(mnt).isDirectory()).toBe(true);
    } finally {
      cli(['umount', '-l', mnt]);
      try { fs.rmdirSync(mnt); } catch { /* busy */ }
      if (image.startsWith(os.tmpdir())) fs.rmSync(image, { force: true });
    }
  }, 180_000);
});

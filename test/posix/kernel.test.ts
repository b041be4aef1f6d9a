// Differential: for every fixture variant, the ext4box mount shows exactly what the kernel's
// read-only loop mount of the same image shows — names, types, modes, owners, sizes, nlink,
// rdev, symlink targets, hardlink groups, xattrs (ACLs included), content (the digest reads
// through SEEK_DATA/SEEK_HOLE, so hole layout counts) and atime/mtime/ctime/btime to the ns.
import { VARIANTS, buildImage, fixtureSkipReason, kernelMountSkipReason } from '../fixtures/images.js';
import { kernelWalk } from '../kernel-diff/oracle.js';
import { spawnSync } from 'node:child_process';
import { PYTHON } from '../fixtures/exec.js';
import { diffWalks, walk, withKernelMount } from '../kernel-diff/walk.js';
import { posixSkipReason, withMount } from './mountutil.js';

const base = posixSkipReason() ?? fixtureSkipReason();

describe.each(VARIANTS.map((v) => v.name))('variant %s: ext4box mount vs kernel mount', (name) => {
  const why = base ?? kernelMountSkipReason(name);
  if (why) console.warn(`posix kernel-diff ${name}: skipped: ${why}`);
  (why ? it.skip : it)('walks identical, times to the ns', async () => {
    const img = buildImage(name);
    const kernel = await kernelWalk(img);
    const ours = await withMount(img.image, (m) => walk(m.mnt, { btime: true }));
    expect(ours.entries.size).toBe(kernel.entries.size);
    expect(diffWalks(kernel, ours, { times: ['atime', 'mtime', 'ctime', 'btime'] })).toEqual([]);
  }, 300_000);
});

// SEEK_DATA/SEEK_HOLE maps of the sparse and fragmented files, on an extent and an
// indirect-block variant: the data/hole boundaries themselves, not only the bytes.
const SEEKMAP = String.raw`
import os, sys, json
out = {}
for d in ('sparse', 'frag'):
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n); fd = os.open(p, os.O_RDONLY); size = os.fstat(fd).st_size; runs = []; off = 0
        try:
            while off < size:
                try: s = os.lseek(fd, off, os.SEEK_DATA)
                except OSError: break
                e = os.lseek(fd, s, os.SEEK_HOLE); runs.append([s, e]); off = e
        finally: os.close(fd)
        out[p] = runs
print(json.dumps(out, sort_keys=True))
`;

describe.each(['ext4', 'ext2'])('variant %s: SEEK_DATA/SEEK_HOLE maps', (name) => {
  const why = base ?? kernelMountSkipReason(name) ?? (PYTHON ? null : 'python3 missing');
  (why ? it.skip : it)('equal the kernel\'s', async () => {
    const img = buildImage(name);
    const map = (dir: string): string => {
      const r = spawnSync(PYTHON!, ['-c', SEEKMAP], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    };
    const k = await withKernelMount(img.image, map);
    expect(Object.keys(JSON.parse(k) as object).length).toBeGreaterThan(3);
    const o = await withMount(img.image, (m) => map(m.mnt));
    expect(o).toBe(k);
  }, 120_000);
});

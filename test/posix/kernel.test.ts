// Differential: for every fixture variant, the ext4box mount shows exactly what the kernel's
// read-only loop mount of the same image shows — names, types, modes, owners, sizes, nlink,
// rdev, symlink targets, hardlink groups, xattrs (ACLs included), content (the digest reads
// through SEEK_DATA/SEEK_HOLE, so hole layout counts) and atime/mtime/ctime/btime to the ns.
import { VARIANTS, buildImage, fixtureSkipReason, kernelMountSkipReason } from '../fixtures/images.js';
import { kernelWalk } from '../kernel-diff/oracle.js';
import { diffWalks, walk } from '../kernel-diff/walk.js';
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

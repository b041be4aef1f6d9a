// THE acceptance test: for every fixture variant, `ext4box extract IMAGE DEST` must
// reproduce exactly what the kernel shows when it mounts the image: names (raw bytes), types,
// modes incl. setuid/setgid/sticky, owners, sizes, contents, link counts and hardlink
// groups, symlink targets, device numbers, all xattrs incl. POSIX ACLs, and atime/mtime to
// the nanosecond. DEST is an existing empty directory and takes the root directory's
// metadata. ctime and btime cannot be restored by a userspace copy and are not compared.
// A missing CLI build is a failure, never a skip: this is the test that says the engine works.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../fixtures/exec.js';
import { VARIANTS, buildImage, fixtureSkipReason, kernelMountSkipReason } from '../fixtures/images.js';
import { diffWalks, walk, withKernelMount } from './walk.js';
import { kernelWalk } from './oracle.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repo, 'dist', 'daemon', 'cli', 'main.js');

describe.each(VARIANTS.map((v) => v.name))('extract %s matches the kernel', (name) => {
  const why = fixtureSkipReason() ?? kernelMountSkipReason(name);
  if (why) console.warn(`kernel-diff extract ${name}: skipped: ${why}`);
  (why ? it.skip : it)('kernel walk == walk of `ext4box extract`', async () => {
    if (!fs.existsSync(cli)) {
      throw new Error(`${cli} does not exist: run \`npm run build\` (the extract CLI is required by this test)`);
    }
    const img = buildImage(name);
    const kernel = await kernelWalk(img);
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), `ext4box-extract-${name}-`));
    try {
      run(process.execPath, [cli, 'extract', img.image, dest], { timeoutMs: 600_000 });
      const got = walk(dest);
      const d = diffWalks(kernel, got, { times: ['atime', 'mtime'] });
      expect(d.slice(0, 200)).toEqual([]);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  }, 900_000);
});

// Control: a perfect extractor (`cp -a` from the kernel mount, which keeps modes, owners,
// ns times, xattrs/ACLs, hardlinks, devices and holes) must pass the very same comparison,
// so a failure above is the CLI's, not the harness's.
describe('harness control', () => {
  const why = fixtureSkipReason() ?? kernelMountSkipReason('ext4');
  (why ? it.skip : it)('cp -a of the kernel mount passes the acceptance comparison', async () => {
    const img = buildImage('ext4');
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-cpa-'));
    try {
      const kernel = await withKernelMount(img.image, (dir) => {
        const k = walk(dir);
        run('cp', ['-a', '--sparse=always', `${dir}/.`, dest], { timeoutMs: 600_000 });
        return k;
      });
      const got = walk(dest);
      expect(diffWalks(kernel, got, { times: ['atime', 'mtime'] })).toEqual([]);
      // ...and the comparison is not vacuous: one changed mode is caught.
      fs.chmodSync(path.join(dest, 'README'), 0o600);
      expect(diffWalks(kernel, walk(dest), { times: ['mtime'] })).toEqual(['/README: mode expected 0644, got 0600']);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  }, 900_000);
});

// Sanity suite: for every fixture variant, the kernel's view (the oracle) must show what the
// spec asked for, and the walker must be able to walk two independent peers: `debugfs rdump`
// output and a fuse2fs mount. Peers differ from the kernel in known ways (rdump drops xattrs
// and ns times; fuse2fs has its own limits), so their differences are recorded as
// information under .cache/kernel-diff-reports/, not asserted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, haveTool } from '../fixtures/exec.js';
import { VARIANTS, buildImage, cacheDir, fixtureSkipReason, kernelMountSkipReason } from '../fixtures/images.js';
import { diffWalks, walk, withFuse2fsMount, withKernelMount, type Walk } from './walk.js';
import { kernelFactFailures } from './facts.js';
import { kernelWalk } from './oracle.js';

const reportDir = path.join(cacheDir(), '..', 'kernel-diff-reports');

function report(name: string, lines: string[], notes: string[]): void {
  fs.mkdirSync(reportDir, { recursive: true });
  fs.writeFileSync(path.join(reportDir, `${name}.txt`), [...notes.map((n) => `note: ${n}`), ...lines].join('\n') + '\n');
}

function skipFor(variantName: string, needs: string[] = []): string | null {
  const fx = fixtureSkipReason();
  if (fx) return fx;
  for (const t of needs) if (!haveTool(t)) return `${t} not installed`;
  return kernelMountSkipReason(variantName);
}

function bigLimitWalk(dir: string): Walk {
  // Peers without SEEK_DATA would read the 4 GiB hole byte by byte: cap what they read.
  return walk(dir, { contentLimit: 64n * 1024n * 1024n });
}

/**
 * rdump of everything but /sparse: debugfs writes holes as zeros, and a 4 GiB file would
 * cost more than the rest of the suite. Returns the dump root.
 */
function rdumpTree(image: string, tmp: string, top: string[]): string {
  const srcs = top.filter((t) => t !== 'sparse').map((t) => `/${t}`);
  run('debugfs', ['-R', `rdump ${srcs.join(' ')} ${tmp}`, image], { timeoutMs: 600_000 });
  return tmp;
}

const notSparse = (p: string): boolean => p === '/' || p === '/sparse' || p.startsWith('/sparse/');

// fuse2fs answers ~3 ms per request: walking every variant through it costs minutes, so by
// default it runs on a spread of layouts; EXT4BOX_ALL_PEERS=1 runs it on all.
const FUSE2FS_VARIANTS = new Set(['ext4', 'ext2-1k-128']);

describe.each(VARIANTS.map((v) => v.name))('variant %s: kernel oracle and peers', (name) => {
  const why = skipFor(name);
  if (why) console.warn(`kernel-diff peers ${name}: skipped: ${why}`);
  const itK = why ? it.skip : it;
  const f2Why = why ?? (haveTool('fuse2fs') ? null
    : 'fuse2fs not installed') ?? (FUSE2FS_VARIANTS.has(name) || process.env.EXT4BOX_ALL_PEERS === '1' ? null
    : 'fuse2fs peer runs on a subset of variants (EXT4BOX_ALL_PEERS=1 for all)');
  if (!why && f2Why) console.warn(`kernel-diff fuse2fs ${name}: skipped: ${f2Why}`);
  const itF = f2Why ? it.skip : it;
  // Without the kernel oracle (casefold without CONFIG_UNICODE, 64k blocks), rdump is still
  // walked and compared with the materialized source tree.
  const noKernelWhy = fixtureSkipReason() ?? (why ? null : 'the kernel mounts this variant: the oracle tests above cover it');
  const itP = noKernelWhy ? it.skip : it;
  let kernel: Walk | undefined;

  itK('the kernel view shows the spec', async () => {
    const img = buildImage(name);
    kernel = await kernelWalk(img);
    expect(kernel.entries.size).toBeGreaterThan(3200);
    expect(kernelFactFailures(kernel, img.manifest)).toEqual([]);
    // A fresh read-only mount walks the same, times included: the (cached) oracle is stable.
    const again = await withKernelMount(img.image, (dir) => walk(dir, { btime: true, content: false }));
    expect(diffWalks(kernel, again, { times: ['atime', 'mtime', 'ctime', 'btime'], ignore: ['content', 'dirSize', 'layout'] })).toEqual([]);
  }, 600_000);

  itK('debugfs rdump is walkable; differences from the kernel are recorded', async () => {
    const img = buildImage(name);
    const k = kernel ?? await kernelWalk(img);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-rdump-'));
    try {
      const top = [...k.entries.keys()].filter((p) => /^\/[^/]+$/.test(p)).map((p) => p.slice(1));
      const r = walk(rdumpTree(img.image, tmp, top));
      expect(r.entries.size).toBeGreaterThan(3200);
      const d = diffWalks(k, r, { ignorePath: notSparse });
      report(`${name}-rdump`, d, r.notes);
      // Sanity of the comparison itself: both walks saw the same names (rdump skips
      // device nodes, fifos and sockets by design).
      expect(d.filter((l) => /: (missing|unexpected) /.test(l) && !/missing \(expected (chr|blk|fifo|socket)\)$/.test(l))).toEqual([]);
      // rdump copies bytes: regular file contents must agree with the kernel's. Except
      // debugfs 1.47.0 dumps an inline-data file as all 60 bytes of i_block, whatever its size.
      if (!img.manifest.variant.features?.includes('inline_data')) {
        expect(d.filter((l) => / content expected /.test(l))).toEqual([]);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 600_000);

  itF('fuse2fs mount is walkable; differences from the kernel are recorded', async () => {
    const img = buildImage(name);
    const k = kernel ?? await kernelWalk(img);
    const f = await withFuse2fsMount(img.image, (dir) => bigLimitWalk(dir));
    expect(f.entries.size).toBeGreaterThan(3200);
    const d = diffWalks(k, f, { times: ['atime', 'mtime', 'ctime'] });
    report(`${name}-fuse2fs`, d, f.notes);
    expect(d.filter((l) => /: (missing|unexpected) /.test(l))).toEqual([]);
  }, 600_000);

  itP('without a kernel oracle: rdump is walked against the source tree', async () => {
    const img = buildImage(name);
    const src = walk(img.manifest.source, { btime: false });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-rdump-'));
    try {
      const top = [...src.entries.keys()].filter((p) => /^\/[^/]+$/.test(p)).map((p) => p.slice(1));
      const r = walk(rdumpTree(img.image, tmp, top));
      expect(r.entries.size).toBeGreaterThan(3200);
      // mke2fs adds lost+found; the source has none.
      const d = diffWalks(src, r, { ignorePath: (p) => notSparse(p) || p.startsWith('/lost+found') });
      report(`${name}-source-vs-rdump`, d, r.notes);
      expect(d.filter((l) => /: (missing|unexpected) /.test(l) && !/missing \(expected (chr|blk|fifo|socket)\)$/.test(l))).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 600_000);
});

// `ext4box serve --config FILE`: mounts every entry, serves until SIGTERM, then unmounts all.
// Root + /dev/fuse (skips visibly elsewhere); config errors are one line, exit 2.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServeConfig } from '../../daemon/cli/serve.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'dist/daemon/cli/main.js');
const root = process.getuid?.() === 0 && existsSync('/dev/fuse');
if (!root) console.warn('serve: live test skipped (needs root and /dev/fuse)');

const mounted = (mnt: string) => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);

describe('ext4box serve', () => {
  it('validates the config with one line per problem', () => {
    expect(() => parseServeConfig('mounts: []', 'c.yaml')).toThrow(/non-empty 'mounts' list/);
    expect(() => parseServeConfig('mounts:\n  - image: a\n', 'c.yaml')).toThrow(/mounts\[0\]: 'mountpoint'/);
    expect(() => parseServeConfig('mounts:\n  - {image: a, mountpoint: b, sandbox: vm}\n', 'c.yaml')).toThrow(/'sandbox' must be/);
    expect(() => parseServeConfig(': :\n\t-', 'c.yaml')).toThrow(/not valid YAML/);
    expect(parseServeConfig('mounts:\n  - {image: a, mountpoint: b, options: [ro, allow_other]}\n', 'c.yaml'))
      .toEqual([{ image: 'a', mountpoint: 'b', options: ['ro', 'allow_other'], sandbox: undefined }]);
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', '/nonexistent.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  (root ? it : it.skip)('mounts every entry, serves, and unmounts all on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ext4box-serve-'));
    try {
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src', 'f.txt'), 'served\n');
      const img = join(dir, 'img');
      execFileSync('mkfs.ext4', ['-q', '-F', '-d', join(dir, 'src'), img, '8M']);
      const mnts = [join(dir, 'm1'), join(dir, 'm2')];
      mnts.forEach((m) => mkdirSync(m));
      const cfg = join(dir, 'mounts.yaml');
      writeFileSync(cfg, `mounts:\n${mnts.map((m) => `  - {image: ${img}, mountpoint: ${m}, options: [ro], sandbox: none}\n`).join('')}`);
      const child = spawn(process.execPath, [CLI, 'serve', '--config', cfg], {
        stdio: 'ignore', env: { ...process.env, EXT4BOX_STATE_DIR: join(dir, 'state') },
      });
      const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      for (let i = 0; i < 300 && !mnts.every(mounted); i++) await new Promise((r) => setTimeout(r, 100));
      expect(mnts.map(mounted)).toEqual([true, true]);
      for (const m of mnts) expect(readFileSync(join(m, 'f.txt'), 'utf8')).toBe('served\n');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(mnts.map(mounted)).toEqual([false, false]);
    } finally {
      for (const m of ['m1', 'm2']) spawnSync('umount', ['-l', join(dir, m)]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

// Behaviour of a live ext4box mount as processes see it: concurrent readers, bulk stat and
// ls -l against the kernel's view, unmounting with open files, a killed server (ENOTCONN)
// cleaned up by `ext4box umount`, `ext4box ps`, the rw refusal, and mount(8) through
// helper/mount.fuse.ext4box.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { buildImage, fixtureSkipReason, kernelMountSkipReason } from '../fixtures/images.js';
import type { TreeSpec } from '../fixtures/tree.js';
import { withKernelMount } from '../kernel-diff/walk.js';
import { cli, mountImage, pidAlive, posixSkipReason, REPO, STATE_DIR, waitFor, withMount } from './mountutil.js';

const why = posixSkipReason() ?? fixtureSkipReason() ?? kernelMountSkipReason('ext4');
if (why) console.warn(`posix behaviour: skipped: ${why}`);
const itP = why ? it.skip : it;

function sh(cmd: string, cwd: string): string {
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function shAsync(cmd: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/sh', ['-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const t = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => { clearTimeout(t); if (code === 0) resolve(out); else reject(new Error(`${cmd}: exit ${code}: ${err}`)); });
  });
}

// Every regular file below 64 MiB (the 4 GiB sparse file stays out), digested.
const DIGEST_ALL = "find . -type f -size -65536k -print0 | sort -z | xargs -0 md5sum";

describe('live ext4box mount behaviour', () => {
  itP('8 parallel readers of the whole tree all read what the kernel reads', async () => {
    const img = buildImage('ext4');
    const expected = await withKernelMount(img.image, (d) => sh(DIGEST_ALL, d));
    expect(expected.split('\n').length).toBeGreaterThan(3000);
    await withMount(img.image, async (m) => {
      const outs = await Promise.all(Array.from({ length: 8 }, () => shAsync(DIGEST_ALL, m.mnt)));
      for (const o of outs) expect(o).toBe(expected);
      expect(pidAlive(m.serverPid)).toBe(true);
    });
  }, 300_000);

  itP('ls -l of the 3100-entry directory and stat of 10 000 entries equal the kernel', async () => {
    // 10 000 names over 100 inodes (hard links): the variant's inode count stays enough.
    const many: TreeSpec = {
      type: 'dir', entries: [{ name: 'many', node: { type: 'dir', entries: Array.from({ length: 10_000 }, (_, i) => ({
        name: `f${String(i).padStart(5, '0')}${'y'.repeat(i % 23)}`,
        node: i < 100
          ? { type: 'file' as const, content: { kind: 'bytes' as const, data: Buffer.from(i % 7 === 0 ? `n${i}` : '') }, mode: 0o600 + i }
          : { type: 'hardlink' as const, to: `many/f${String(i % 100).padStart(5, '0')}${'y'.repeat((i % 100) % 23)}` },
      })) } }],
    };
    const rich = buildImage('ext4');
    const big = buildImage('ext4', many);
    const LS = 'ls -la --time-style=full-iso bigdir';
    const STAT = "find many -print0 | xargs -0 stat --printf='%n %f %s %b %B %h %u %g %i %X.%x %Y %Z %W\\n'";
    const kLs = await withKernelMount(rich.image, (d) => sh(LS, d));
    const kStat = await withKernelMount(big.image, (d) => sh(STAT, d));
    expect(kLs.split('\n').length).toBeGreaterThan(3100);
    expect(kStat.split('\n').length).toBeGreaterThan(10_000);
    const oLs = await withMount(rich.image, (m) => sh(LS, m.mnt));
    expect(oLs).toBe(kLs);
    const oStat = await withMount(big.image, (m) => sh(STAT, m.mnt));
    expect(oStat).toBe(kStat);
  }, 300_000);

  itP('unmount with open files: refused while busy, -l detaches, open fds keep reading, the server exits after close', () => {
    const img = buildImage('ext4');
    const m = mountImage(img.image);
    let fd = -1;
    try {
      fd = fs.openSync(path.join(m.mnt, 'README'), 'r');
      const before = fs.readFileSync(fd).toString();
      const busy = cli(['umount', m.mnt]);
      expect(busy.status).not.toBe(0);
      expect(busy.stderr).toMatch(/busy.*-l/s);
      const lazy = cli(['umount', '-l', m.mnt]);
      expect(lazy.status).toBe(0);
      expect(lazy.stdout).toMatch(/lazily/);
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      expect(buf.subarray(0, n).toString()).toBe(before);
      fs.closeSync(fd);
      fd = -1;
      expect(waitFor(() => !pidAlive(m.serverPid), 10_000)).toBe(true);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
      m.unmount();
    }
  }, 120_000);

  itP('a killed server leaves an ENOTCONN mount that ps reports and ext4box umount removes', () => {
    const img = buildImage('ext4');
    const m = mountImage(img.image);
    try {
      const ps1 = JSON.parse(cli(['ps', '--json']).stdout) as Array<{ mountpoint: string; state: string; server: string }>;
      expect(ps1.find((r) => r.mountpoint === m.mnt)).toMatchObject({ state: 'serving', server: String(m.serverPid) });
      process.kill(m.serverPid, 'SIGKILL');
      expect(waitFor(() => !pidAlive(m.serverPid), 5000)).toBe(true);
      let code = '';
      try { fs.statSync(m.mnt); } catch (e) { code = (e as NodeJS.ErrnoException).code ?? ''; }
      expect(code).toBe('ENOTCONN');
      const ps2 = JSON.parse(cli(['ps', '--json']).stdout) as Array<{ mountpoint: string; state: string }>;
      expect(ps2.find((r) => r.mountpoint === m.mnt)?.state).toBe('server-dead');
      const u = cli(['umount', m.mnt]);
      expect(u.stderr).toBe('');
      expect(u.status).toBe(0);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${m.mnt} `);
      expect(fs.existsSync(path.join(STATE_DIR, fs.readdirSync(STATE_DIR).find((f) => f.endsWith('.json')) ?? 'none'))).toBe(false);
    } finally {
      m.unmount();
    }
  }, 120_000);

  itP('rw is refused with one line; unknown sandboxes are usage errors', () => {
    const img = buildImage('ext4');
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-mnt-'));
    try {
      const rw = cli(['mount', img.image, mnt, '-o', 'rw']);
      expect(rw.status).toBe(1);
      expect(rw.stderr.trim().split('\n')).toEqual(['ext4box: read-write mounts are not supported yet: use -o ro']);
      const bad = cli(['mount', img.image, mnt, '--sandbox', 'vm']);
      expect(bad.status).toBe(2);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${mnt} `);
    } finally {
      fs.rmdirSync(mnt);
    }
  });

  itP('mount -t fuse.ext4box works through helper/mount.fuse.ext4box', () => {
    const target = '/sbin/mount.fuse.ext4box';
    const script = path.join(REPO, 'helper', 'mount.fuse.ext4box');
    let installed = false;
    if (!fs.existsSync(target)) { fs.symlinkSync(script, target); installed = true; }
    else if (fs.realpathSync(target) !== fs.realpathSync(script)) { console.warn(`${target} is someone else's: not testing mount(8)`); return; }
    const img = buildImage('ext4');
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-mnt-'));
    try {
      const r = spawnSync('mount', ['-t', 'fuse.ext4box', img.image, mnt, '-o', 'ro'], {
        encoding: 'utf8', timeout: 120_000, env: { ...process.env, EXT4BOX_STATE_DIR: STATE_DIR },
      });
      expect(r.stderr.replace(/^ext4box: warning:.*\n/m, '')).toBe('');
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(mnt, 'README'), 'utf8').length).toBeGreaterThan(0);
      expect(cli(['umount', mnt]).status).toBe(0);
    } finally {
      spawnSync('umount', ['-l', mnt]);
      try { fs.rmdirSync(mnt); } catch { /* busy */ }
      if (installed) fs.unlinkSync(target);
    }
  }, 120_000);
});

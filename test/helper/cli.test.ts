// The helper's command line (main()) and the mount(8) entry point helper/mount.fuse.ext4box.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../helper/main.js';
import { loadNative } from '../../helper/native.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(repo, 'helper', 'mount.fuse.ext4box');
const root = process.getuid?.() === 0 && existsSync('/dev/fuse');
let dir: string;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'ext4box-cli-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function capture(fn: () => number): { rc: number; out: string; err: string } {
  let out = '', err = '';
  const o = process.stdout.write, e = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  try {
    return { rc: fn(), out, err };
  } finally { process.stdout.write = o; process.stderr.write = e; }
}

describe('mount.fuse.ext4box', () => {
  // A stand-in for the supervisor CLI that prints the argv it was given.
  function run(args: string[]): { status: number | null; argv: string[]; stderr: string } {
    const fake = join(dir, 'fake-cli.cjs');
    writeFileSync(fake, 'process.stdout.write(JSON.stringify(process.argv.slice(2)))');
    const r = spawnSync(script, args, { env: { ...process.env, EXT4BOX_CLI: fake }, encoding: 'utf8' });
    return { status: r.status, argv: r.status === 0 ? JSON.parse(r.stdout) as string[] : [], stderr: r.stderr };
  }
  test('mount(8) arguments become `ext4box mount IMAGE MNT -o OPTS`', () => {
    expect(run(['/img', '/mnt', '-o', 'ro,noatime'])).toMatchObject({ status: 0, argv: ['mount', '/img', '/mnt', '-o', 'ro,noatime'] });
    expect(run(['/img', '/mnt', '-n', '-s', '-o', 'ro', '-t', 'fuse.ext4box']).argv).toEqual(['mount', '/img', '/mnt', '-o', 'ro']);
    expect(run(['/img', '/mnt', '-r', '-oallow_other']).argv).toEqual(['mount', '/img', '/mnt', '-o', 'ro,allow_other']);
    expect(run(['/i m g', '/m n t']).argv).toEqual(['mount', '/i m g', '/m n t']);
  });
  test('bad invocations fail with one line', () => {
    expect(run(['/img']).status).toBe(1);
    const r = run(['/img', '/mnt', '--bogus']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unexpected argument: --bogus/);
    expect(run(['/img', '/mnt', '-o']).status).toBe(1);
  });
  test('without EXT4BOX_CLI it execs the repo dist CLI', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).toContain('dist/daemon/cli/main.js');
    expect(execFileSync('sh', ['-n', script]).length).toBe(0);
  });
});

describe('helper CLI main()', () => {
  test('usage and argument errors exit 2', () => {
    expect(capture(() => main([])).rc).toBe(2);
    expect(capture(() => main(['/i', '/m'])).rc).toBe(2); // no server given
    expect(capture(() => main(['/i', '/m', '--server-socket', '/s', '--', 'x'])).rc).toBe(2);
    expect(capture(() => main(['/i', '/m', '--uid', 'abc', '--', 'x'])).rc).toBe(2);
    expect(capture(() => main(['/i', '/m', '--nope', '--', 'x'])).rc).toBe(2);
  });

  (root ? test : test.skip)('a refusal is one line on stderr and exit 1; a mount prints JSON and exits 0', () => {
    const r = capture(() => main(['/nonexistent.img', '/usr', '-o', 'ro', '--', '/bin/true']));
    expect(r.rc).toBe(1);
    expect(r.err).toBe('ext4box-helper: refusing to mount on /usr: inside system tree /usr\n');

    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const image = join(dir, 'disk.img');
    writeFileSync(image, Buffer.alloc(65536));
    // The smallest server: answer INIT, report serving, exit on unmount.
    const server = join(dir, 'server.cjs');
    writeFileSync(server, String.raw`
      const fs = require('fs');
      const b = Buffer.alloc(1 << 21);
      fs.readSync(5, b, 0, 16384, null);
      for (;;) {
        let n; try { n = fs.readSync(3, b, 0, b.length, null); } catch { process.exit(0); }
        const op = b.readUInt32LE(4), u = b.readBigUInt64LE(8);
        if (op === 2 || op === 42 || op === 36) continue;
        const body = op === 26 ? Buffer.alloc(64) : Buffer.alloc(0);
        if (op === 26) { body.writeUInt32LE(7, 0); body.writeUInt32LE(31, 4); body.writeUInt32LE(4096, 20); }
        const o = Buffer.alloc(16 + body.length);
        o.writeUInt32LE(o.length, 0); o.writeInt32LE(op === 26 ? 0 : -38, 4); o.writeBigUInt64LE(u, 8); body.copy(o, 16);
        fs.writeSync(3, o);
        if (op === 26) { const s = Buffer.alloc(20); s.write('E4BX'); s.writeUInt16LE(1, 4); s.writeUInt16LE(2, 6); s.writeUInt32LE(20, 8); s.writeUInt32LE(process.pid, 16); fs.writeSync(5, s); }
      }`);
    chmodSync(server, 0o644);
    const ok = capture(() => main([image, mnt, '-o', 'ro', '--json', '--', process.execPath, server]));
    try {
      expect(ok.err).toBe('');
      expect(ok.rc).toBe(0);
      expect(JSON.parse(ok.out)).toMatchObject({ source: image, mountpoint: mnt, fsType: 'fuse.ext4box', syncInit: true });
    } finally {
      try { loadNative().umount2(mnt, 0); } catch { /* not mounted: the expectations above already failed */ }
    }
  });
});

// The offline CLI as a user runs it: `node dist/daemon/cli/main.js ...` on images built here.
// Output content, --json structure, --offset/--partition, and the error contract: one line
// on stderr, non-zero exit, no stack trace unless --debug.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, symlinkSync, openSync, writeSync, closeSync, readdirSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'dist/daemon/cli/main.js');
let dir: string;
let img: string;
const big = Buffer.alloc(300_000).map((_, i) => (i * 7 + (i >> 9)) & 0xff);

function run(...args: string[]): { code: number; out: string; err: string; outBuf: Buffer } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout.toString(), err: r.stderr.toString(), outBuf: r.stdout };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build`);
  dir = mkdtempSync(join(tmpdir(), 'ext4box-cli-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'dir/sub'), { recursive: true });
  writeFileSync(join(src, 'hello.txt'), 'hello world\n');
  writeFileSync(join(src, 'dir/big.bin'), big);
  symlinkSync('../hello.txt', join(src, 'dir/link'));
  execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', join(src, 'hello.txt')]);
  img = join(dir, 'fs.img');
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'clitest', '-d', src, img, '16M']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ext4box offline commands', () => {
  it('inspect names the volume, features and a clean health summary', () => {
    const r = run('inspect', img);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Volume name:\s+clitest/);
    expect(r.out).toMatch(/Features:.*\bextents\b.*\bmetadata_csum\b/);
    expect(r.out).toMatch(/Health: no damage found/);
  });

  it('inspect --json is one parseable document with the geometry', () => {
    const j = JSON.parse(run('inspect', '--json', img).out);
    expect(j.volumeName).toBe('clitest');
    expect(j.blockSize).toBeGreaterThanOrEqual(1024);
    expect(j.features).toContain('has_journal');
    expect(j.health.findings).toEqual([]);
  });

  it('ls lists names; ls -l shows mode, size and link targets', () => {
    expect(run('ls', img, '/').out.split('\n').filter(Boolean)).toEqual(['dir', 'hello.txt', 'lost+found']);
    const l = run('ls', '-l', img, '/dir').out;
    expect(l).toMatch(/^-rw-r--r-- .* 300000 .* big\.bin$/m);
    expect(l).toMatch(/^lrwxrwxrwx .* link -> \.\.\/hello\.txt$/m);
    expect(l).toMatch(/^drwxr-xr-x .* sub$/m);
    expect(run('ls', '-a', img, '/dir/sub').out.split('\n').filter(Boolean)).toEqual(['.', '..']);
  });

  it('cat writes the exact bytes, following a symlink', () => {
    expect(run('cat', img, '/dir/big.bin').outBuf.equals(big)).toBe(true);
    expect(run('cat', img, '/dir/link').out).toBe('hello world\n');
  });

  it('stat shows the inode and its xattrs', () => {
    const r = run('stat', img, '/hello.txt');
    expect(r.out).toMatch(/Size:\s+12 bytes/);
    expect(r.out).toMatch(/user\.color = "blue"/);
    const j = JSON.parse(run('stat', '--json', img, '/hello.txt').out);
    expect(j.xattrs).toEqual([{ name: 'user.color', value: Buffer.from('blue').toString('hex') }]);
  });

  it('--offset reads a filesystem inside a larger image', () => {
    const off = 3 * 1024 * 1024;
    const wrapped = join(dir, 'wrapped.img');
    const fd = openSync(wrapped, 'w');
    writeSync(fd, readFileSync(img), 0, undefined, off);
    closeSync(fd);
    expect(run('cat', '--offset', String(off), wrapped, '/hello.txt').out).toBe('hello world\n');
  });

  it('--partition N reads partition N of an MBR disk image', () => {
    const disk = join(dir, 'disk.img');
    const fd = openSync(disk, 'w');
    writeSync(fd, readFileSync(img), 0, undefined, 2048 * 512);
    writeSync(fd, Buffer.alloc(1), 0, 1, 2048 * 512 + 16 * 1024 * 1024 + 1024 * 1024);
    closeSync(fd);
    // One primary partition written by hand: type 0x83 at LBA 2048, 32768 sectors.
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(32768, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const dfd = openSync(disk, 'r+');
    writeSync(dfd, mbr, 0, 512, 0);
    closeSync(dfd);
    expect(run('cat', '--partition', '1', disk, '/hello.txt').out).toBe('hello world\n');
    const r = run('ls', '--partition', '2', disk);
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('extract copies the tree with contents, links and xattrs', () => {
    const dest = join(dir, 'out');
    const r = run('extract', '--no-progress', img, dest);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dest, 'dir/big.bin')).equals(big)).toBe(true);
    expect(readlinkSync(join(dest, 'dir/link'))).toBe('../hello.txt');
    expect(execFileSync('getfattr', ['--only-values', '-n', 'user.color', join(dest, 'hello.txt')]).toString()).toBe('blue');
    expect(readdirSync(dest).sort()).toEqual(['dir', 'hello.txt', 'lost+found']);
    expect(lstatSync(join(dest, 'lost+found')).mode & 0o777).toBe(0o700);
  });
});

describe('errors: one clear line, non-zero exit, no stack trace', () => {
  const cases: Array<[string, string[], RegExp, number]> = [
    ['missing image', ['ls', '/nonexistent.img'], /cannot open \/nonexistent\.img: no such file/, 1],
    ['missing path', ['ls', '', '/nope'], /\/nope: no such entry \[ENOENT\]/, 1],
    ['cat of a directory', ['cat', '', '/dir'], /\/dir: is a directory/, 2],
    ['bad offset', ['ls', '--offset', 'ten', ''], /--offset wants a byte count/, 2],
    ['bad partition', ['ls', '--partition', '0', ''], /--partition wants a partition number/, 2],
    ['not ext4', ['inspect', 'JUNK'], /corrupt superblock|unsupported/, 1],
    ['unknown command', ['frobnicate'], /unknown command/, 2],
  ];
  for (const [name, args, re, code] of cases) {
    it(name, () => {
      const junk = join(dir, 'junk.img');
      writeFileSync(junk, Buffer.alloc(1 << 20, 0x41));
      const r = run(...args.map((a) => (a === '' ? img : a === 'JUNK' ? junk : a)));
      expect(r.code).toBe(code);
      const lines = r.err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('--debug adds the stack trace', () => {
    const r = run('ls', '--debug', img, '/nope');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\n\s+at /);
  });
});

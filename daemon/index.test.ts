// The library surface: what `import { openImage } from 'ext4box'` gives, on an image built
// here with mkfs.ext4 -d. Three ways to open (path, fd, bytes), typed errors on misuse.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage, FsError, CorruptError, IncompatibleError } from './index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
let dir: string;
let img: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ext4box-lib-'));
  const src = join(dir, 'src');
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc/hostname'), 'sandbox\n');
  symlinkSync('etc/hostname', join(src, 'name'));
  img = join(dir, 'img');
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', src, img, '8M']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('library API', () => {
  it('opens from a path, an fd and bytes, and reads the same file', () => {
    const fd = openSync(img, 'r');
    const sources = [img, fd, new Uint8Array(readFileSync(img))];
    for (const s of sources) {
      const fs = openImage(s);
      const ino = fs.resolve(enc.encode('/etc/hostname'));
      const st = fs.stat(ino);
      expect(st.type).toBe('file');
      expect(dec.decode(fs.readSync(ino, 0, st.size))).toBe('sandbox\n');
      expect(dec.decode(fs.readlink(fs.resolve(enc.encode('name'), { followFinal: false })))).toBe('etc/hostname');
      expect(fs.resolve(enc.encode('/name'))).toBe(ino);
      fs.close();
    }
    closeSync(fd);
  });

  it('lists the root like the kernel: ., .., etc, lost+found, name', () => {
    const fs = openImage(img);
    const names = [...fs.readdir(2)].map((e) => dec.decode(e.name)).sort();
    expect(names).toEqual(['.', '..', 'etc', 'lost+found', 'name']);
    fs.close();
  });

  it('reports a missing name as ENOENT and a non-ext4 input as a typed refusal', () => {
    const fs = openImage(img);
    expect(() => fs.resolve(enc.encode('/nope'))).toThrow(FsError);
    fs.close();
    const junk = new Uint8Array(1 << 20).fill(0x5a);
    let err: unknown;
    try { openImage(junk); } catch (e) { err = e; }
    expect(err instanceof CorruptError || err instanceof IncompatibleError).toBe(true);
  });
});

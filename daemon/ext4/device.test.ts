import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlockDevice } from './device.js';
import { IoError } from './errors.js';
import { sh, tmpDir } from './testing/mkfs.js';

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

describe('BlockDevice', () => {
  const data = pattern(64 * 1024);
  let file: string;
  beforeAll(() => {
    file = path.join(tmpDir(), 'dev.bin');
    fs.writeFileSync(file, data);
  });

  test.each(['bytes', 'path', 'fd'] as const)('%s: sync reads through a window', (kind) => {
    let fd = -1;
    const w = { offset: 4096, length: 8192 };
    const dev = kind === 'bytes' ? BlockDevice.fromBytes(data, w)
      : kind === 'path' ? BlockDevice.fromPath(file, w)
        : BlockDevice.fromFd(fd = fs.openSync(file, 'r'), w);
    expect(dev.size).toBe(8192);
    expect(dev.readAt(0, 16)).toEqual(data.subarray(4096, 4112));
    expect(dev.readAt(8192 - 4, 4)).toEqual(data.subarray(4096 + 8188, 4096 + 8192));
    expect(() => dev.readAt(8190, 4)).toThrow(IoError);
    expect(() => dev.readAt(-1, 4)).toThrow(IoError);
    expect(() => dev.readAt(2 ** 60, 4)).toThrow(IoError);
    dev.close();
    if (fd >= 0) { expect(() => fs.fstatSync(fd)).not.toThrow(); fs.closeSync(fd); } // not owned: left open
  });

  test('a file shorter than it claims gives IoError on the short read', async () => {
    const short = path.join(tmpDir(), 'short.bin');
    fs.writeFileSync(short, data.subarray(0, 10000));
    const fd = fs.openSync(short, 'r');
    const dev = BlockDevice.fromFd(fd, { owns: true });
    fs.truncateSync(short, 5000); // shrinks under us
    expect(() => dev.readAt(4096, 4096)).toThrow(/short read/);
    await expect(dev.readInto(new Uint8Array(8192), 0, 8192, 0)).rejects.toThrow(IoError);
    dev.close();
  });

  test('readInto: async bulk reads clipped at the end of the window', async () => {
    const dev = BlockDevice.fromPath(file, { offset: 1000, length: 3000 });
    const buf = new Uint8Array(5000);
    expect(await dev.readInto(buf, 100, 2000, 500)).toBe(2000);
    expect(buf.subarray(100, 2100)).toEqual(data.subarray(1500, 3500));
    expect(await dev.readInto(buf, 0, 4000, 2500)).toBe(500);
    expect(await dev.readInto(buf, 0, 100, 3000)).toBe(0);
    await expect(dev.readInto(buf, 4990, 100, 0)).rejects.toThrow(IoError);
    dev.close();
  });

  test('windows: past the end refused, nested windows compose, closing a window keeps the parent', () => {
    expect(() => BlockDevice.fromBytes(data, { offset: 70000 })).toThrow(IoError);
    expect(() => BlockDevice.fromBytes(data, { offset: 1000, length: 65536 })).toThrow(IoError);
    const dev = BlockDevice.fromPath(file);
    const w = dev.window(1024, 4096);
    const ww = w.window(1024, 1024);
    expect(ww.readAt(0, 8)).toEqual(data.subarray(2048, 2056));
    ww.close();
    w.close();
    expect(dev.readAt(0, 4)).toEqual(data.subarray(0, 4));
    expect(() => dev.window(60000, 8000)).toThrow(IoError);
    dev.close();
  });

  test('writes only when opened writable', () => {
    const copy = path.join(tmpDir(), 'w.bin');
    fs.writeFileSync(copy, data);
    const ro = BlockDevice.fromPath(copy);
    expect(() => ro.writeSync(new Uint8Array(4), 0, 4, 0)).toThrow(IoError);
    ro.close();
    const rw = BlockDevice.fromPath(copy, { writable: true, offset: 100 });
    rw.writeSync(new Uint8Array([1, 2, 3, 4]), 0, 4, 10);
    expect(() => rw.writeSync(new Uint8Array(4), 0, 4, rw.size - 2)).toThrow(IoError);
    rw.close();
    expect(fs.readFileSync(copy).subarray(110, 114)).toEqual(Buffer.from([1, 2, 3, 4]));
  });

  (process.getuid?.() === 0 ? test : test.skip)('a block device reports its size (sysfs), reads like the file behind it', () => {
    const backing = path.join(tmpDir(), 'loop.bin');
    fs.writeFileSync(backing, pattern(3 * 1024 * 1024));
    const loop = sh('losetup', ['-f', '--show', backing]).trim();
    try {
      const dev = BlockDevice.fromPath(loop, { offset: 512 });
      expect(dev.size).toBe(3 * 1024 * 1024 - 512);
      expect(dev.readAt(1000, 8)).toEqual(pattern(2000).subarray(1512, 1520));
      dev.close();
    } finally {
      sh('losetup', ['-d', loop]);
    }
  });

  test('a missing path is an IoError', () => {
    expect(() => BlockDevice.fromPath('/nonexistent/x.img')).toThrow(IoError);
  });
});

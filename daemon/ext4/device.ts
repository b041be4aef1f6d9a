// The block device under the engine: an image file, a block device fd, or bytes in memory,
// seen through a byte window (offset + length) so a partition reads like a whole disk.
// Metadata reads are synchronous pread()s (fs.readSync with a position); bulk file data
// uses the async readInto so a large READ never blocks the event loop. Every short read is
// an IoError: the engine never sees a partially filled buffer. This is the only file in
// ext4/ that may import node:fs (test/layers.test.ts enforces it).

import * as fs from 'node:fs';
import { IoError } from './errors.js';

export interface DeviceWindow {
  /** Byte offset of the window on the underlying file/device (a partition's start). */
  offset?: number;
  /** Bytes in the window; default: everything after offset. */
  length?: number;
}

export interface OpenPathOptions extends DeviceWindow {
  writable?: boolean;
}

interface Backend {
  readSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number;
  read(buf: Uint8Array, bufOff: number, len: number, pos: number): Promise<number>;
  writeSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number;
  size(): number;
  close(): void;
}

function checkWindowArg(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new IoError(`bad ${what} ${v}`, {});
}

class FdBackend implements Backend {
  constructor(private fd: number, private readonly owns: boolean, private readonly writable: boolean) {}
  readSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number {
    return fs.readSync(this.fd, buf, bufOff, len, pos);
  }
  read(buf: Uint8Array, bufOff: number, len: number, pos: number): Promise<number> {
    return new Promise((resolve, reject) => {
      fs.read(this.fd, buf, bufOff, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }
  writeSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number {
    if (!this.writable) throw new IoError('write to read-only device', { offset: pos });
    return fs.writeSync(this.fd, buf, bufOff, len, pos);
  }
  size(): number {
    const st = fs.fstatSync(this.fd);
    if (st.isFile()) return st.size;
    if (st.isBlockDevice()) return blockDeviceSize(this.fd, st);
    throw new IoError('device is neither a regular file nor a block device', {});
  }
  close(): void {
    if (this.owns && this.fd >= 0) { fs.closeSync(this.fd); this.fd = -1; }
  }
}

/**
 * A block device reports size 0 through fstat and Node has no BLKGETSIZE64: ask sysfs,
 * and where sysfs is hidden (the sandbox) find the end by probing reads, which is
 * O(log size) single-byte preads.
 */
function blockDeviceSize(fd: number, st: fs.Stats): number {
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  try {
    const sectors = Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
    if (Number.isSafeInteger(sectors) && sectors >= 0) return sectors * 512;
  } catch { /* fall through to probing */ }
  const one = new Uint8Array(1);
  const readable = (pos: number): boolean => {
    try { return fs.readSync(fd, one, 0, 1, pos) === 1; } catch { return false; }
  };
  if (!readable(0)) return 0;
  let lo = 0; // readable
  let hi = 1;
  while (hi < 2 ** 52 && readable(hi)) { lo = hi; hi *= 2; }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (readable(mid)) lo = mid; else hi = mid;
  }
  return lo + 1;
}

class BytesBackend implements Backend {
  constructor(private readonly bytes: Uint8Array) {}
  readSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number {
    if (pos >= this.bytes.byteLength) return 0;
    const n = Math.min(len, this.bytes.byteLength - pos);
    buf.set(this.bytes.subarray(pos, pos + n), bufOff);
    return n;
  }
  read(buf: Uint8Array, bufOff: number, len: number, pos: number): Promise<number> {
    return Promise.resolve(this.readSync(buf, bufOff, len, pos));
  }
  writeSync(buf: Uint8Array, bufOff: number, len: number, pos: number): number {
    if (pos >= this.bytes.byteLength) return 0;
    const n = Math.min(len, this.bytes.byteLength - pos);
    this.bytes.set(buf.subarray(bufOff, bufOff + n), pos);
    return n;
  }
  size(): number { return this.bytes.byteLength; }
  close(): void { /* nothing to release */ }
}

export class BlockDevice {
  /** Bytes readable through this window. */
  readonly size: number;
  private constructor(private readonly backend: Backend, readonly offset: number, size: number, private readonly shared: boolean) {
    this.size = size;
  }

  private static make(backend: Backend, w: DeviceWindow): BlockDevice {
    const offset = w.offset ?? 0;
    checkWindowArg(offset, 'offset');
    const total = backend.size();
    if (offset > total) throw new IoError('window starts past the end of the device', { offset });
    let length = total - offset;
    if (w.length !== undefined) {
      checkWindowArg(w.length, 'length');
      if (w.length > length) throw new IoError('window ends past the end of the device', { offset: offset + w.length });
      length = w.length;
    }
    return new BlockDevice(backend, offset, length, false);
  }

  static fromPath(path: string, opts: OpenPathOptions = {}): BlockDevice {
    let fd: number;
    try {
      fd = fs.openSync(path, opts.writable ? 'r+' : 'r');
    } catch (e) {
      throw new IoError(`open ${path}`, {}, e);
    }
    try {
      return BlockDevice.make(new FdBackend(fd, true, opts.writable ?? false), opts);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** An fd handed to us (the helper's image fd): closed by close() only if `owns`. */
  static fromFd(fd: number, opts: OpenPathOptions & { owns?: boolean } = {}): BlockDevice {
    return BlockDevice.make(new FdBackend(fd, opts.owns ?? false, opts.writable ?? false), opts);
  }

  static fromBytes(bytes: Uint8Array, w: DeviceWindow = {}): BlockDevice {
    return BlockDevice.make(new BytesBackend(bytes), w);
  }

  /** A narrower window on the same backend (a partition); closing it leaves the parent open. */
  window(offset: number, length: number): BlockDevice {
    checkWindowArg(offset, 'offset');
    checkWindowArg(length, 'length');
    if (offset + length > this.size) throw new IoError('window ends past the end of the device', { offset: offset + length });
    return new BlockDevice(this.backend, this.offset + offset, length, true);
  }

  private checkRange(len: number, devOffset: number, op: string): void {
    if (!Number.isSafeInteger(devOffset) || !Number.isSafeInteger(len) || devOffset < 0 || len < 0 || devOffset + len > this.size) {
      throw new IoError(`${op} beyond end of device (size ${this.size})`, { offset: devOffset });
    }
  }

  /** Fills buf[bufOff, bufOff+len) from devOffset or throws IoError (never a short read). */
  readSync(buf: Uint8Array, bufOff: number, len: number, devOffset: number): void {
    this.checkRange(len, devOffset, 'read');
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = this.backend.readSync(buf, bufOff + done, len - done, this.offset + devOffset + done);
      } catch (e) {
        throw new IoError('read', { offset: devOffset + done }, e);
      }
      if (n <= 0) throw new IoError(`short read (${done} of ${len} bytes)`, { offset: devOffset });
      done += n;
    }
  }

  /** A fresh buffer with `len` bytes at devOffset. */
  readAt(devOffset: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.readSync(b, 0, len, devOffset);
    return b;
  }

  /**
   * Bulk data: reads up to len bytes, clipped at the end of the window; resolves to the
   * bytes read. A short read before the window's end is an IoError.
   */
  async readInto(buf: Uint8Array, bufOff: number, len: number, devOffset: number): Promise<number> {
    if (!Number.isSafeInteger(devOffset) || devOffset < 0 || !Number.isSafeInteger(len) || len < 0) {
      throw new IoError('bad read range', { offset: devOffset });
    }
    if (bufOff < 0 || bufOff + len > buf.byteLength) throw new IoError('read buffer too small', { offset: devOffset });
    const want = Math.max(0, Math.min(len, this.size - devOffset));
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        n = await this.backend.read(buf, bufOff + done, want - done, this.offset + devOffset + done);
      } catch (e) {
        throw new IoError('read', { offset: devOffset + done }, e);
      }
      if (n <= 0) throw new IoError(`short read (${done} of ${want} bytes)`, { offset: devOffset });
      done += n;
    }
    return done;
  }

  /** For the write path to come: writes all of buf[bufOff, bufOff+len) or throws IoError. */
  writeSync(buf: Uint8Array, bufOff: number, len: number, devOffset: number): void {
    this.checkRange(len, devOffset, 'write');
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        n = this.backend.writeSync(buf, bufOff + done, len - done, this.offset + devOffset + done);
      } catch (e) {
        if (e instanceof IoError) throw e;
        throw new IoError('write', { offset: devOffset + done }, e);
      }
      if (n <= 0) throw new IoError(`short write (${done} of ${len} bytes)`, { offset: devOffset });
      done += n;
    }
  }

  close(): void {
    if (!this.shared) this.backend.close();
  }
}

// Deterministic bench data: every byte of every file is a pure function of (spec, path,
// offset), so any mounter's read-back is checked against the generator itself, with no
// copy of the data kept anywhere. Bytes come from AES-128-CTR keystreams (fast, random
// access by counter: no compression or dedup can flatter a mounter).
import * as crypto from 'node:crypto';

export interface DataSpec {
  /** size of /big in bytes (multiple of 1 MiB) */
  bigBytes: number;
  /** number of files in /many (names f00000…) */
  smallFiles: number;
  /** number of files in the /src tree */
  treeFiles: number;
}

export const FULL_SPEC: DataSpec = { bigBytes: 1 << 30, smallFiles: 10_000, treeFiles: 4_000 };
export const SMOKE_SPEC: DataSpec = { bigBytes: 8 << 20, smallFiles: 200, treeFiles: 60 };

// Bump when the generator changes: it is part of the image cache key.
export const DATA_VERSION = 1;

function keyFor(label: string): Buffer {
  return crypto.createHash('sha256').update(`ext4box-bench:${label}`).digest().subarray(0, 16);
}

/** `length` bytes of stream `label` starting at `offset` (offset % 16 == 0). */
export function streamBytes(label: string, offset: number, length: number): Buffer {
  if (offset % 16 !== 0) throw new Error(`streamBytes: offset ${offset} not 16-aligned`);
  const iv = Buffer.alloc(16);
  // The counter block is big-endian; 2^53/16 fits in the low 8 bytes.
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  const c = crypto.createCipheriv('aes-128-ctr', keyFor(label), iv);
  return c.update(Buffer.alloc(length));
}

export function bigChunk(offset: number, length: number): Buffer {
  return streamBytes('big', offset, length);
}

export function smallName(i: number): string {
  return `f${String(i).padStart(5, '0')}`;
}

/** 1..8192 bytes, spread so most files need one or two 4 KiB blocks. */
export function smallSize(i: number): number {
  const h = crypto.createHash('sha256').update(`size:${i}`).digest();
  return 1 + (h.readUInt32LE(0) % 8192);
}

export function smallContent(i: number): Buffer {
  return streamBytes(`small:${i}`, 0, smallSize(i));
}

export interface TreeFile {
  /** path relative to /src */
  rel: string;
  size: number;
}

/** A source-like tree: nested dirs (3 levels, ~20 files each), sizes skewed small like code. */
export function treeFiles(spec: DataSpec): TreeFile[] {
  const out: TreeFile[] = [];
  for (let i = 0; i < spec.treeFiles; i++) {
    const h = crypto.createHash('sha256').update(`tree:${i}`).digest();
    const d1 = Math.floor(i / 400);
    const d2 = Math.floor(i / 60) % 7;
    const d3 = Math.floor(i / 20) % 3;
    // Log-uniform between 64 B and 64 KiB: many small headers, a few big files.
    const size = Math.floor(64 * Math.pow(1024, h.readUInt32LE(0) / 0x1_0000_0000));
    out.push({ rel: `dir${d1}/sub${d2}/leaf${d3}/file${i}.${i % 3 === 0 ? 'h' : 'c'}`, size });
  }
  return out;
}

export function treeContent(f: TreeFile): Buffer {
  return streamBytes(`tree:${f.rel}`, 0, f.size);
}

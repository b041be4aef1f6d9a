// Test support only: a minimal FsContext read straight from a (valid, mkfs-built) image,
// so structure decoders can be unit-tested on real blocks independently of superblock.ts
// and inode.ts. It trusts the image; production code never uses it.

import { readFileSync } from 'node:fs';
import { crc32c } from '../../util/crc.js';
import { FeatureSet, INCOMPAT, RO_COMPAT } from '../features.js';
import { FsContext, InodeInfo, inodeCsumSeed } from '../context.js';
import { CorruptError } from '../errors.js';

export interface RawImage {
  ctx: FsContext;
  bytes: Uint8Array;
  inode(ino: number): InodeInfo;
}

export function openRawImage(path: string): RawImage {
  const bytes = new Uint8Array(readFileSync(path));
  const sb = new DataView(bytes.buffer, bytes.byteOffset + 1024, 1024);
  const u32 = (o: number) => sb.getUint32(o, true);
  const u16 = (o: number) => sb.getUint16(o, true);
  const blockSize = 1024 << u32(0x18);
  const incompat = u32(0x60);
  const roCompat = u32(0x64);
  const features = new FeatureSet(u32(0x5c), incompat, roCompat);
  const is64 = (incompat & INCOMPAT['64bit']) !== 0;
  const blocksCount = u32(0x04) + (is64 ? u32(0x150) * 2 ** 32 : 0);
  const uuid = bytes.subarray(1024 + 0x68, 1024 + 0x78);
  let csumSeed: number | null = null;
  if (roCompat & RO_COMPAT.metadata_csum) {
    csumSeed = incompat & INCOMPAT.csum_seed ? u32(0x270) : crc32c(0xffffffff, uuid);
  }
  const hashSeed = new Uint32Array(4);
  for (let i = 0; i < 4; i++) hashSeed[i] = u32(0xec + 4 * i);
  const inodeSize = u16(0x58) || 128;
  const inodesPerGroup = u32(0x28);
  const descSize = is64 ? u16(0xfe) : 32;
  const firstDataBlock = u32(0x14);
  const ctx: FsContext = {
    blockSize,
    blockBits: Math.log2(blockSize),
    blocksCount,
    firstDataBlock,
    inodesCount: u32(0x00),
    inodesPerGroup,
    firstIno: u32(0x4c) === 1 ? u32(0x54) : 11,
    inodeSize,
    clusterBits: (roCompat & RO_COMPAT.bigalloc) ? u32(0x1c) - u32(0x18) : 0,
    features,
    csumSeed,
    hashSeed,
    defHashVersion: sb.getUint8(0xfc),
    hashUnsigned: (u32(0x160) & 2) !== 0,
    casefold: (incompat & INCOMPAT.casefold) ? { encoding: u16(0x27c), flags: u16(0x27e) } : null,
    readBlock(block: number, what: string) {
      if (!Number.isSafeInteger(block) || block < 0 || block >= blocksCount) {
        throw new CorruptError(what, 'block out of range', { block }, 'block', block, `< ${blocksCount}`);
      }
      return bytes.subarray(block * blockSize, (block + 1) * blockSize);
    },
    checkDataRange(start: number, count: number, structure: string, at) {
      if (start < firstDataBlock || start + count > blocksCount || count < 0) {
        throw new CorruptError(structure, 'block range outside filesystem', at, 'block', start);
      }
    },
  };
  const inode = (ino: number): InodeInfo => {
    const g = Math.floor((ino - 1) / inodesPerGroup);
    const idx = (ino - 1) % inodesPerGroup;
    const gdt = (firstDataBlock + 1) * blockSize + g * descSize;
    const gd = new DataView(bytes.buffer, bytes.byteOffset + gdt, descSize);
    const itable = gd.getUint32(0x8, true) + (is64 && descSize >= 64 ? gd.getUint32(0x28, true) * 2 ** 32 : 0);
    const off = itable * blockSize + idx * inodeSize;
    const raw = bytes.subarray(off, off + inodeSize);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const generation = dv.getUint32(0x64, true);
    const extra = inodeSize > 128 ? dv.getUint16(0x80, true) : 0;
    return {
      ino,
      generation,
      mode: dv.getUint16(0, true),
      flags: dv.getUint32(0x20, true),
      size: dv.getUint32(0x4, true) + dv.getUint32(0x6c, true) * 2 ** 32,
      iBlock: raw.subarray(0x28, 0x28 + 60),
      raw,
      extraEnd: 128 + extra,
      fileAcl: dv.getUint32(0x68, true) + dv.getUint16(0x76, true) * 2 ** 32,
      csumSeed: csumSeed === null ? 0 : inodeCsumSeed(csumSeed, ino, generation),
    };
  };
  return { ctx, bytes, inode };
}

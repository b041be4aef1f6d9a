import { crc32 } from 'node:zlib';
import { BlockDevice } from './device.js';
import { CorruptError, FsError } from './errors.js';
import { openFs } from './mount.js';
import { openPartition, readPartitions } from './partition.js';
import { mkfs, readImage } from './testing/mkfs.js';

const MiB = 1 << 20;

function mbrEntry(disk: Uint8Array, sectorOff: number, i: number, type: number, lba: number, sectors: number): void {
  const dv = new DataView(disk.buffer, disk.byteOffset);
  const o = sectorOff + 446 + 16 * i;
  disk[o + 4] = type;
  dv.setUint32(o + 8, lba, true);
  dv.setUint32(o + 12, sectors, true);
  disk[sectorOff + 510] = 0x55;
  disk[sectorOff + 511] = 0xaa;
}

/** 16 MiB disk: p1 1..4 MiB (0x83), p2 4..6 MiB, extended 6..16 MiB with logicals 5 and 6. */
function mbrDisk(): Uint8Array {
  const d = new Uint8Array(16 * MiB);
  mbrEntry(d, 0, 0, 0x83, 2048, 6144);
  mbrEntry(d, 0, 1, 0x83, 8192, 4096);
  mbrEntry(d, 0, 2, 0x05, 12288, 20480);
  // EBR 1 at 12288: logical 5 at +2048 for 4096 sectors, link to EBR 2 at ext+8192
  mbrEntry(d, 12288 * 512, 0, 0x83, 2048, 4096);
  mbrEntry(d, 12288 * 512, 1, 0x05, 8192, 8192);
  // EBR 2 at 20480: logical 6 at +2048 for 2048 sectors, end of chain
  mbrEntry(d, 20480 * 512, 0, 0x82, 2048, 2048);
  return d;
}

function gptDisk(entries: Array<[number, number, string]>): Uint8Array {
  const d = new Uint8Array(16 * MiB);
  mbrEntry(d, 0, 0, 0xee, 1, 32767);
  const dv = new DataView(d.buffer);
  const arr = d.subarray(2 * 512, 2 * 512 + 128 * 128);
  const adv = new DataView(arr.buffer, arr.byteOffset, arr.byteLength);
  entries.forEach(([first, last, name], i) => {
    const o = i * 128;
    arr.set([0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4], o); // Linux data
    arr[o + 16] = i + 1;
    adv.setBigUint64(o + 32, BigInt(first), true);
    adv.setBigUint64(o + 40, BigInt(last), true);
    Buffer.from(name, 'utf16le').copy(Buffer.from(arr.buffer, arr.byteOffset + o + 56, 72));
  });
  const h = 512;
  d.set(Buffer.from('EFI PART', 'latin1'), h);
  dv.setUint32(h + 8, 0x10000, true);
  dv.setUint32(h + 12, 92, true);
  dv.setBigUint64(h + 24, 1n, true);
  dv.setBigUint64(h + 32, BigInt(d.length / 512 - 1), true);
  dv.setBigUint64(h + 40, 34n, true);
  dv.setBigUint64(h + 48, BigInt(d.length / 512 - 34), true);
  dv.setBigUint64(h + 72, 2n, true);
  dv.setUint32(h + 80, 128, true);
  dv.setUint32(h + 84, 128, true);
  dv.setUint32(h + 88, crc32(arr) >>> 0, true);
  dv.setUint32(h + 16, crc32(d.subarray(h, h + 92)) >>> 0, true);
  return d;
}

describe('partition tables', () => {
  test('MBR with primaries and a chain of logicals, numbered like Linux', () => {
    const parts = readPartitions(BlockDevice.fromBytes(mbrDisk()));
    expect(parts.map((p) => [p.index, p.startByte / MiB, p.sizeBytes / MiB, p.type])).toEqual([
      [1, 1, 3, '0x83'], [2, 4, 2, '0x83'], [5, 7, 2, '0x83'], [6, 11, 1, '0x82'],
    ]);
  });

  test('an ext4 filesystem inside a partition opens through --partition', () => {
    const disk = mbrDisk();
    const fsImg = readImage(mkfs({ args: ['-t', 'ext4', '-b', '1024', '-L', 'inpart'], sizeKiB: 2048 }));
    disk.set(fsImg, 7 * MiB);
    const core = openFs(openPartition(BlockDevice.fromBytes(disk), 5));
    expect(core.sb.label).toBe('inpart');
    expect(core.readInode(2).type).toBe('dir');
    expect(() => openPartition(BlockDevice.fromBytes(disk), 3)).toThrow(FsError);
    expect(() => openPartition(BlockDevice.fromBytes(disk), 3)).toThrow(/partitions: 1, 2, 5, 6/);
  });

  test('GPT: entries with names; the CRCs are checked', () => {
    const disk = gptDisk([[2048, 4095, 'boot'], [4096, 32733, 'root']]);
    const parts = readPartitions(BlockDevice.fromBytes(disk));
    expect(parts.map((p) => [p.index, p.startByte, p.sizeBytes, p.name, p.scheme])).toEqual([
      [1, MiB, MiB, 'boot', 'gpt'], [2, 2 * MiB, (32733 - 4096 + 1) * 512, 'root', 'gpt'],
    ]);
    expect(parts[0].type).toBe('0fc63daf-8483-4772-8e79-3d69d8477de4');
    const badHdr = disk.slice();
    badHdr[512 + 40] ^= 1;
    expect(() => readPartitions(BlockDevice.fromBytes(badHdr))).toThrow(/header CRC/);
    const badArr = disk.slice();
    badArr[1024 + 50] ^= 1;
    expect(() => readPartitions(BlockDevice.fromBytes(badArr))).toThrow(/entry array CRC/);
  });

  test('hostile tables: outside the device, EBR loops, absurd GPT sizes', () => {
    const past = new Uint8Array(MiB);
    mbrEntry(past, 0, 0, 0x83, 2048, 4096);
    expect(() => readPartitions(BlockDevice.fromBytes(past))).toThrow(CorruptError);
    const loop = mbrDisk();
    mbrEntry(loop, 20480 * 512, 1, 0x05, 0, 8192); // EBR 2 links back to EBR 1
    expect(() => readPartitions(BlockDevice.fromBytes(loop))).toThrow(/loops/);
    const gpt = gptDisk([[2048, 4095, 'a']]);
    const dv = new DataView(gpt.buffer);
    dv.setUint32(512 + 80, 1 << 30, true);
    dv.setUint32(512 + 16, 0, true);
    dv.setUint32(512 + 16, crc32(gpt.subarray(512, 512 + 92)) >>> 0, true);
    expect(() => readPartitions(BlockDevice.fromBytes(gpt))).toThrow(/too many GPT entries/);
    const backwards = gptDisk([[4095, 2048, 'a']]);
    expect(() => readPartitions(BlockDevice.fromBytes(backwards))).toThrow(/ends before it starts/);
  });

  test('a bare filesystem or blank disk has no partitions', () => {
    expect(readPartitions(BlockDevice.fromBytes(readImage(mkfs({ args: ['-t', 'ext4'], sizeKiB: 2048 }))))).toEqual([]);
    expect(readPartitions(BlockDevice.fromBytes(new Uint8Array(4096)))).toEqual([]);
    expect(readPartitions(BlockDevice.fromBytes(new Uint8Array(100)))).toEqual([]);
  });
});

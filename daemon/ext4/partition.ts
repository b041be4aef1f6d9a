// Partition tables, so `--partition N` can serve one filesystem out of a whole-disk image.
// MBR: sector 0, 0x55AA at byte 510, four 16-byte entries at 446 (LBA start/count, u32 LE);
// extended partitions (types 0x05/0x0F/0x85) chain EBRs whose entries are relative to the
// extended partition, numbered 5, 6, ... like Linux. GPT: protective MBR (type 0xEE), header
// "EFI PART" at LBA 1 (CRC32 over header_size bytes), entry array at partition_entry_lba
// (CRC32 over num_entries * entry_size), entries with first/last LBA (u64 LE, inclusive).
// Everything is validated against the device size; EBR chains and entry counts are bounded.

import { crc32 } from 'node:zlib';
import { BlockDevice } from './device.js';
import { CorruptError, FsError, Errno } from './errors.js';

export interface Partition {
  /** 1-based, as Linux names them (sda1..sda4 primary, sda5+ logical; GPT in table order). */
  index: number;
  startByte: number;
  sizeBytes: number;
  /** MBR: "0x83"; GPT: the partition type GUID. */
  type: string;
  scheme: 'mbr' | 'gpt';
  name?: string;
}

const MAX_LOGICAL = 128;
const MAX_GPT_ENTRIES = 1024;
const GPT_SIG = 'EFI PART';

function bad(reason: string, field?: string, value?: unknown, expected?: unknown): CorruptError {
  return new CorruptError('partition_table', reason, { offset: 0 }, field, value, expected);
}

function guid(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const tail = Buffer.from(b.subarray(8, 16)).toString('hex');
  return `${h(dv.getUint32(0, true), 8)}-${h(dv.getUint16(4, true), 4)}-${h(dv.getUint16(6, true), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

function isExtended(t: number): boolean {
  return t === 0x05 || t === 0x0f || t === 0x85;
}

interface MbrEntry { type: number; lba: number; sectors: number }

function mbrEntries(sector: Uint8Array): MbrEntry[] | null {
  if (sector[510] !== 0x55 || sector[511] !== 0xaa) return null;
  const dv = new DataView(sector.buffer, sector.byteOffset, 512);
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + 16 * i;
    out.push({ type: sector[o + 4], lba: dv.getUint32(o + 8, true), sectors: dv.getUint32(o + 12, true) });
  }
  return out;
}

function checkSpan(dev: BlockDevice, start: number, size: number, what: string): void {
  if (size <= 0 || start < 512 || start + size > dev.size) {
    throw bad(`${what} outside the device`, 'start', start, `+${size} <= ${dev.size}`);
  }
}

function readMbr(dev: BlockDevice, entries: MbrEntry[]): Partition[] {
  const parts: Partition[] = [];
  let extended: MbrEntry | null = null;
  entries.forEach((e, i) => {
    if (e.type === 0 || e.sectors === 0) return;
    const startByte = e.lba * 512;
    const sizeBytes = e.sectors * 512;
    checkSpan(dev, startByte, sizeBytes, `partition ${i + 1}`);
    if (isExtended(e.type)) { if (!extended) extended = e; return; }
    parts.push({ index: i + 1, startByte, sizeBytes, type: `0x${e.type.toString(16).padStart(2, '0')}`, scheme: 'mbr' });
  });
  const ext = extended as MbrEntry | null;
  if (ext) {
    // Logical partitions: each EBR's first entry is relative to the EBR, its second entry
    // (the link) relative to the extended partition's start. Bounded and cycle-checked.
    const seen = new Set<number>();
    let ebr = ext.lba;
    let index = 5;
    for (let n = 0; n < MAX_LOGICAL && ebr !== 0; n++) {
      if (seen.has(ebr)) throw bad('EBR chain loops', 'lba', ebr);
      seen.add(ebr);
      if (ebr < ext.lba || ebr >= ext.lba + ext.sectors) throw bad('EBR outside extended partition', 'lba', ebr);
      const sec = dev.readAt(ebr * 512, 512);
      const es = mbrEntries(sec);
      if (!es) throw bad('EBR without signature', 'lba', ebr);
      const [data, link] = es;
      if (data.type !== 0 && data.sectors !== 0) {
        const startByte = (ebr + data.lba) * 512;
        const sizeBytes = data.sectors * 512;
        checkSpan(dev, startByte, sizeBytes, `partition ${index}`);
        parts.push({ index, startByte, sizeBytes, type: `0x${data.type.toString(16).padStart(2, '0')}`, scheme: 'mbr' });
      }
      index++;
      ebr = isExtended(link.type) && link.sectors !== 0 ? ext.lba + link.lba : 0;
    }
  }
  return parts.sort((a, b) => a.index - b.index);
}

function readGpt(dev: BlockDevice, sectorSize: number): Partition[] | null {
  if (dev.size < sectorSize * 3) return null;
  const hdr = dev.readAt(sectorSize, sectorSize);
  if (Buffer.from(hdr.subarray(0, 8)).toString('latin1') !== GPT_SIG) return null;
  const dv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  const hdrSize = dv.getUint32(12, true);
  if (hdrSize < 92 || hdrSize > sectorSize) throw bad('bad GPT header size', 'header_size', hdrSize, `92..${sectorSize}`);
  const stored = dv.getUint32(16, true);
  const copy = hdr.slice(0, hdrSize);
  new DataView(copy.buffer).setUint32(16, 0, true);
  const computed = crc32(copy) >>> 0;
  if (stored !== computed) throw bad('GPT header CRC mismatch', 'header_crc32', stored, computed);
  const entriesLba = dv.getBigUint64(72, true);
  const num = dv.getUint32(80, true);
  const esize = dv.getUint32(84, true);
  if (num > MAX_GPT_ENTRIES) throw bad('too many GPT entries', 'num_partition_entries', num, `<= ${MAX_GPT_ENTRIES}`);
  if (esize < 128 || esize > 4096 || esize % 8 !== 0) throw bad('bad GPT entry size', 'sizeof_partition_entry', esize, '128..4096');
  const arrBytes = num * esize;
  const arrStart = Number(entriesLba) * sectorSize;
  if (entriesLba < 2n || entriesLba > BigInt(Math.floor(dev.size / sectorSize)) || arrStart + arrBytes > dev.size) {
    throw bad('GPT entry array outside the device', 'partition_entry_lba', entriesLba);
  }
  const arr = dev.readAt(arrStart, arrBytes);
  const arrCrc = dv.getUint32(88, true);
  if ((crc32(arr) >>> 0) !== arrCrc) throw bad('GPT entry array CRC mismatch', 'partition_entry_array_crc32', arrCrc, crc32(arr) >>> 0);
  const parts: Partition[] = [];
  const adv = new DataView(arr.buffer, arr.byteOffset, arr.byteLength);
  for (let i = 0; i < num; i++) {
    const o = i * esize;
    const type = arr.subarray(o, o + 16);
    if (type.every((x) => x === 0)) continue;
    const first = adv.getBigUint64(o + 32, true);
    const last = adv.getBigUint64(o + 40, true);
    if (last < first) throw bad(`GPT partition ${i + 1} ends before it starts`, 'last_lba', last, `>= ${first}`);
    const ss = BigInt(sectorSize);
    const startB = first * ss;
    const sizeB = (last - first + 1n) * ss;
    if (startB + sizeB > BigInt(dev.size)) throw bad(`GPT partition ${i + 1} outside the device`, 'last_lba', last);
    const nameRaw = Buffer.from(arr.subarray(o + 56, o + Math.min(128, esize)));
    const name = nameRaw.toString('utf16le').replace(/\0.*$/s, '');
    parts.push({ index: i + 1, startByte: Number(startB), sizeBytes: Number(sizeB), type: guid(type), scheme: 'gpt', name });
  }
  return parts;
}

/** The partitions of a whole-disk device: [] when it has no partition table. */
export function readPartitions(dev: BlockDevice): Partition[] {
  if (dev.size < 512) return [];
  const mbr = mbrEntries(dev.readAt(0, 512));
  if (!mbr) return [];
  if (mbr.some((e) => e.type === 0xee)) {
    for (const ss of [512, 4096]) {
      const g = readGpt(dev, ss);
      if (g) return g;
    }
    throw bad('protective MBR without a GPT header');
  }
  // An ext2/3/4 superblock at 1024 with a stray 55AA is a filesystem, not a disk label.
  if (dev.size >= 2048) {
    const sbm = dev.readAt(1024 + 0x38, 2);
    if (sbm[0] === 0x53 && sbm[1] === 0xef && mbr.every((e) => e.type === 0)) return [];
  }
  return readMbr(dev, mbr);
}

/** `--partition N`: the window of partition N, or ENXIO naming what exists. */
export function openPartition(dev: BlockDevice, index: number): BlockDevice {
  const parts = readPartitions(dev);
  const p = parts.find((x) => x.index === index);
  if (!p) {
    const have = parts.map((x) => x.index).join(', ') || 'none';
    throw new FsError(Errno.ENXIO, `no partition ${index} (partitions: ${have})`);
  }
  return dev.window(p.startByte, p.sizeBytes);
}

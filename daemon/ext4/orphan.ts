// Orphan inodes: files unlinked or truncated while open when the fs went down, that the
// kernel finishes deleting/truncating at mount (fs/ext4/orphan.c). Two on-disk forms:
//   - the orphan list: s_last_orphan (superblock 0xE8) heads a chain linked through each
//     orphan's i_dtime (the kernel's NEXT_ORPHAN), little-endian like all of ext4;
//   - the orphan file (compat orphan_file, s_orphan_file_inum at 0x280): blocks of le32
//     inode numbers ending in ext4_orphan_block_tail {ob_magic 0x0b10ca04, ob_checksum},
//     the checksum (metadata_csum) being crc32c(inode seed, le64 physical block, entries).
// The read path only reports them (orphans are unreachable by name anyway). Inode reads go
// through callbacks so this file does not depend on inode.ts.

import { crc32c } from '../util/crc.js';
import { ChecksumError, CorruptError, corruptBounds } from './errors.js';
import { Reader, struct } from '../util/bytes.js';

export const EXT4_ORPHAN_BLOCK_MAGIC = 0x0b10ca04;
/** The kernel's "artificial limit" on the orphan file (ext4_init_orphan_info). */
export const ORPHAN_FILE_MAX_BYTES = 8 << 20;
/** Walk budget for the list: the kernel deletes as it walks; we only read, so we bound it. */
export const ORPHAN_LIST_MAX = 1 << 20;

export const orphanBlockTail = struct('ext4_orphan_block_tail', 8, [
  ['ob_magic', 'u32le', 0x0],
  ['ob_checksum', 'u32le', 0x4],
] as const);

/** What the orphan code needs to know about one inode on the list. */
export interface OrphanInode {
  /** i_dtime: for an orphan, the next orphan's number. */
  readonly dtime: number;
  readonly linksCount: number;
  readonly mode: number;
}

export interface OrphanFileSource {
  readonly ino: number;
  /** i_size of the orphan file inode. */
  readonly size: number;
  /** Per-inode checksum seed of the orphan file (metadata_csum), null without metadata_csum. */
  readonly csumSeed: number | null;
  mapBlock(lblk: number): number;
  readBlock(block: number): Uint8Array;
}

export interface OrphanSource {
  readonly blockSize: number;
  readonly inodesCount: number;
  /** EXT4_FIRST_INO: s_first_ino (11 on rev 0). */
  readonly firstIno: number;
  /** s_last_orphan, 0 if the list is empty. */
  readonly lastOrphan: number;
  readInode(ino: number): OrphanInode;
  /** Optional: the inode bitmap bit (ext4_orphan_get refuses an orphan that is not in use). */
  inodeInUse?(ino: number): boolean;
  /** Present when compat orphan_file is set. */
  readonly orphanFile?: OrphanFileSource;
}

export interface OrphanReport {
  /** The orphan list in chain order, up to the first bad entry. */
  readonly list: number[];
  /**
   * Why the list walk stopped early. The kernel stops orphan cleanup at a bad orphan and
   * keeps mounting, so this is reported, not thrown.
   */
  readonly listError: CorruptError | null;
  /** Non-zero entries of the orphan file that pass ext4_orphan_get's checks. */
  readonly fileEntries: number[];
  /** Entries the kernel would skip as bad orphans. */
  readonly badFileEntries: number[];
  readonly fileBlocks: number;
}

const S_IFMT = 0o170000;
const truncatable = (mode: number) => {
  const t = mode & S_IFMT;
  return t === 0o100000 || t === 0o040000 || t === 0o120000;
};

/** ext4_orphan_get's checks; returns a reason or null. */
function badOrphan(src: OrphanSource, ino: number): { reason: string; field: string; value: number; expected: string } | null {
  if (!Number.isInteger(ino) || ino < src.firstIno || ino > src.inodesCount) {
    return { reason: 'bad orphan inode number', field: 'ino', value: ino, expected: `${src.firstIno}..${src.inodesCount}` };
  }
  if (src.inodeInUse && !src.inodeInUse(ino)) return { reason: 'orphan inode not in use', field: 'ino', value: ino, expected: 'bitmap bit set' };
  const inode = src.readInode(ino);
  if (inode.linksCount && !truncatable(inode.mode)) {
    return { reason: 'orphan with links cannot be truncated', field: 'i_mode', value: inode.mode, expected: 'regular, directory or symlink' };
  }
  if (inode.dtime > src.inodesCount) {
    return { reason: 'next orphan out of range', field: 'i_dtime', value: inode.dtime, expected: `<= ${src.inodesCount}` };
  }
  return null;
}

/**
 * Reads the orphan list and the orphan file. Orphan-file damage throws (the kernel's
 * ext4_init_orphan_info fails the mount); list damage is reported in listError.
 */
export function readOrphans(src: OrphanSource): OrphanReport {
  const list: number[] = [];
  let listError: CorruptError | null = null;
  const seen = new Set<number>();
  let ino = src.lastOrphan >>> 0;
  while (ino !== 0) {
    if (seen.has(ino)) {
      listError = new CorruptError('orphan_list', 'orphan list has a cycle', { inode: ino }, 'ino', ino);
      break;
    }
    if (list.length >= ORPHAN_LIST_MAX) {
      listError = new CorruptError('orphan_list', 'orphan list too long', { inode: ino }, 'length', list.length, `<= ${ORPHAN_LIST_MAX}`);
      break;
    }
    const bad = badOrphan(src, ino);
    if (bad) {
      listError = new CorruptError('orphan_list', bad.reason, { inode: ino }, bad.field, bad.value, bad.expected);
      break;
    }
    seen.add(ino);
    list.push(ino);
    ino = src.readInode(ino).dtime >>> 0;
  }
  const file = src.orphanFile ? readOrphanFile(src, src.orphanFile) : { entries: [], bad: [], blocks: 0 };
  return { list, listError, fileEntries: file.entries, badFileEntries: file.bad, fileBlocks: file.blocks };
}

/** ext4_orphan_file_block_csum: crc32c(seed, le64 physical block) then the entries. */
export function orphanBlockCsum(seed: number, physBlock: number, b: Uint8Array): number {
  const nr = new Uint8Array(8);
  new DataView(nr.buffer).setBigUint64(0, BigInt(physBlock), true);
  return crc32c(crc32c(seed, nr), b, 0, b.byteLength - orphanBlockTail.size);
}

function readOrphanFile(src: OrphanSource, of: OrphanFileSource): { entries: number[]; bad: number[]; blocks: number } {
  if (!Number.isSafeInteger(of.size) || of.size < 0 || of.size > ORPHAN_FILE_MAX_BYTES) {
    throw new CorruptError('orphan_file', 'orphan file too big', { inode: of.ino }, 'i_size', of.size, `<= ${ORPHAN_FILE_MAX_BYTES}`);
  }
  const bs = src.blockSize;
  const blocks = Math.floor(of.size / bs);
  const perBlock = (bs - orphanBlockTail.size) / 4;
  const entries: number[] = [];
  const bad: number[] = [];
  for (let lblk = 0; lblk < blocks; lblk++) {
    const phys = of.mapBlock(lblk);
    const b = of.readBlock(phys);
    const at = { inode: of.ino, block: phys, lblk };
    const r = new Reader(b, corruptBounds('orphan_file', at), 'orphan_file');
    if (b.byteLength !== bs) throw new CorruptError('orphan_file', 'short block', at, 'length', b.byteLength, bs);
    const tail = r.struct(orphanBlockTail, bs - orphanBlockTail.size);
    if (tail.ob_magic !== EXT4_ORPHAN_BLOCK_MAGIC) {
      throw new CorruptError('orphan_file', 'bad magic', at, 'ob_magic', tail.ob_magic, EXT4_ORPHAN_BLOCK_MAGIC);
    }
    if (of.csumSeed !== null) {
      const calc = orphanBlockCsum(of.csumSeed, phys, b);
      if (calc !== tail.ob_checksum) throw new ChecksumError('orphan_file', at, tail.ob_checksum, calc);
    }
    for (let j = 0; j < perBlock; j++) {
      const ino = r.u32(4 * j);
      if (ino === 0) continue;
      if (badOrphan(src, ino)) bad.push(ino);
      else entries.push(ino);
    }
  }
  return { entries, bad, blocks };
}

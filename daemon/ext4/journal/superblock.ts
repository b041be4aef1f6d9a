// The jbd2 journal superblock (journal_superblock_t, include/linux/jbd2.h): block 0 of the
// journal (the journal inode's first logical block for an internal journal), 1024 bytes,
// BIG-endian like every jbd2 structure. v1 (blocktype 3) has no feature words; v2
// (blocktype 4) adds compat/incompat/ro_compat features, the uuid, and with CSUM_V2/V3 a
// crc32c over the whole struct. FAST_COMMIT carves s_num_fc_blks off the end of the log.
// Validation follows the kernel's journal_check_superblock / journal_load_superblock.

import { crc32c } from '../../util/crc.js';
import { Reader, struct } from '../../util/bytes.js';
import { ChecksumError, CorruptError, IncompatibleError, corruptBounds } from '../errors.js';

export const JBD2_MAGIC_NUMBER = 0xc03b3998;
export const JBD2_DESCRIPTOR_BLOCK = 1;
export const JBD2_COMMIT_BLOCK = 2;
export const JBD2_SUPERBLOCK_V1 = 3;
export const JBD2_SUPERBLOCK_V2 = 4;
export const JBD2_REVOKE_BLOCK = 5;

export const JBD2_FEATURE_COMPAT_CHECKSUM = 0x1;
export const JBD2_FEATURE_INCOMPAT_REVOKE = 0x1;
export const JBD2_FEATURE_INCOMPAT_64BIT = 0x2;
export const JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT = 0x4;
export const JBD2_FEATURE_INCOMPAT_CSUM_V2 = 0x8;
export const JBD2_FEATURE_INCOMPAT_CSUM_V3 = 0x10;
export const JBD2_FEATURE_INCOMPAT_FAST_COMMIT = 0x20;
const JBD2_KNOWN_ROCOMPAT_FEATURES = 0;
const JBD2_KNOWN_INCOMPAT_FEATURES = 0x3f;

export const JBD2_CRC32C_CHKSUM = 4;
export const JBD2_MIN_JOURNAL_BLOCKS = 1024;
export const JBD2_DEFAULT_FAST_COMMIT_BLOCKS = 256;

export const journalHeader = struct('journal_header_t', 12, [
  ['h_magic', 'u32be', 0x0],
  ['h_blocktype', 'u32be', 0x4],
  ['h_sequence', 'u32be', 0x8],
] as const);

export const journalSuperblock = struct('journal_superblock_t', 1024, [
  ['h_magic', 'u32be', 0x0],
  ['h_blocktype', 'u32be', 0x4],
  ['h_sequence', 'u32be', 0x8],
  ['s_blocksize', 'u32be', 0xc],
  ['s_maxlen', 'u32be', 0x10],
  ['s_first', 'u32be', 0x14],
  ['s_sequence', 'u32be', 0x18],
  ['s_start', 'u32be', 0x1c],
  ['s_errno', 'u32be', 0x20],
  ['s_feature_compat', 'u32be', 0x24],
  ['s_feature_incompat', 'u32be', 0x28],
  ['s_feature_ro_compat', 'u32be', 0x2c],
  ['s_uuid', 'u8[16]', 0x30],
  ['s_nr_users', 'u32be', 0x40],
  ['s_dynsuper', 'u32be', 0x44],
  ['s_max_transaction', 'u32be', 0x48],
  ['s_max_trans_data', 'u32be', 0x4c],
  ['s_checksum_type', 'u8', 0x50],
  ['s_padding2', 'u8[3]', 0x51],
  ['s_num_fc_blks', 'u32be', 0x54],
  ['s_head', 'u32be', 0x58],
  ['s_padding', 'u8[160]', 0x5c],
  ['s_checksum', 'u32be', 0xfc],
  ['s_users', 'u8[768]', 0x100],
] as const);

const SB_CHECKSUM_OFF = 0xfc;

/** The validated journal superblock as the recovery passes use it. */
export interface JournalSuperblock {
  /** 1 or 2 (blocktype 3 / 4). Features are only honoured for v2, as in the kernel. */
  readonly formatVersion: 1 | 2;
  readonly blockSize: number;
  /** s_maxlen: total journal length in blocks (the kernel's j_total_len). */
  readonly maxLen: number;
  /** s_first: first log block. */
  readonly first: number;
  /** j_last: end (exclusive) of the circular log; s_maxlen minus the fast-commit area. */
  readonly last: number;
  readonly sequence: number;
  /** s_start: 0 means the journal is clean. */
  readonly start: number;
  /** s_errno, signed (the kernel records an abort's -errno here). */
  readonly errno: number;
  readonly compat: number;
  readonly incompat: number;
  readonly roCompat: number;
  readonly uuid: Uint8Array;
  readonly nrUsers: number;
  /** 0 (none), 1 (COMPAT_CHECKSUM crc32_be commits), 2 or 3 (crc32c). */
  readonly checksumVersion: 0 | 1 | 2 | 3;
  /** crc32c(~0, s_uuid) when csum v2/v3 (the kernel's j_csum_seed), else 0. */
  readonly csumSeed: number;
  readonly has64bit: boolean;
  readonly asyncCommit: boolean;
  /** Fast-commit area [fcFirst, fcLast] in journal blocks, or null without FAST_COMMIT. */
  readonly fastCommit: { readonly first: number; readonly last: number; readonly blocks: number } | null;
  /** Bytes of one block tag in a descriptor block (the kernel's journal_tag_bytes). */
  readonly tagBytes: number;
}

/** crc32c(~0, superblock with s_checksum as zero), the kernel's jbd2_superblock_csum. */
export function journalSuperblockCsum(b: Uint8Array): number {
  let c = crc32c(0xffffffff, b, 0, SB_CHECKSUM_OFF);
  c = crc32c(c, new Uint8Array(4));
  return crc32c(c, b, SB_CHECKSUM_OFF + 4, 1024);
}

/** Sets s_checksum (tests build hostile journals with it; the read path never writes). */
export function setJournalSuperblockCsum(b: Uint8Array): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(SB_CHECKSUM_OFF, journalSuperblockCsum(b), false);
}

const S = 'journal_superblock';

/**
 * Decodes and validates block 0 of the journal. `fsBlockSize` is the filesystem's block
 * size (the kernel's j_blocksize for an internal journal) and `totalLen` the journal
 * inode's length in blocks (j_total_len before s_maxlen shrinks it).
 */
export function parseJournalSuperblock(b: Uint8Array, fsBlockSize: number, totalLen: number, block = 0): JournalSuperblock {
  const at = { block };
  const raw = new Reader(b, corruptBounds(S, at), S).struct(journalSuperblock, 0);
  if (raw.h_magic !== JBD2_MAGIC_NUMBER) {
    throw new CorruptError(S, 'no valid journal superblock found', at, 'h_magic', raw.h_magic, JBD2_MAGIC_NUMBER);
  }
  if (raw.s_blocksize !== fsBlockSize) {
    throw new CorruptError(S, 'journal block size mismatch', at, 's_blocksize', raw.s_blocksize, fsBlockSize);
  }
  if (raw.h_blocktype !== JBD2_SUPERBLOCK_V1 && raw.h_blocktype !== JBD2_SUPERBLOCK_V2) {
    throw new CorruptError(S, 'unrecognised superblock format ID', at, 'h_blocktype', raw.h_blocktype, '3 or 4');
  }
  if (raw.s_maxlen > totalLen) {
    throw new CorruptError(S, 'journal file too short', at, 's_maxlen', raw.s_maxlen, `<= ${totalLen}`);
  }
  const maxLen = raw.s_maxlen;
  if (raw.s_first === 0 || raw.s_first >= maxLen) {
    throw new CorruptError(S, 'invalid start block of journal', at, 's_first', raw.s_first, `1..${maxLen - 1}`);
  }
  const v2 = raw.h_blocktype === JBD2_SUPERBLOCK_V2;
  // The kernel's jbd2_has_feature_*() are false on a v1 superblock whatever the words say.
  const compat = v2 ? raw.s_feature_compat : 0;
  const incompat = v2 ? raw.s_feature_incompat : 0;
  const roCompat = v2 ? raw.s_feature_ro_compat : 0;
  if ((roCompat & ~JBD2_KNOWN_ROCOMPAT_FEATURES) !== 0 || (incompat & ~JBD2_KNOWN_INCOMPAT_FEATURES) >>> 0 !== 0) {
    throw new IncompatibleError('journal features', `unrecognised features on journal (incompat 0x${incompat.toString(16)}, ro_compat 0x${roCompat.toString(16)})`);
  }
  const fc = (incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT) !== 0;
  const numFc = fc ? (raw.s_num_fc_blks || JBD2_DEFAULT_FAST_COMMIT_BLOCKS) : 0;
  if (v2 && (maxLen < JBD2_MIN_JOURNAL_BLOCKS || maxLen - JBD2_MIN_JOURNAL_BLOCKS < numFc)) {
    throw new CorruptError(S, 'journal file too short', at, 's_maxlen', maxLen, `>= ${JBD2_MIN_JOURNAL_BLOCKS} + ${numFc} fast-commit blocks`);
  }
  const csum2 = (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2) !== 0;
  const csum3 = (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3) !== 0;
  const csum1 = (compat & JBD2_FEATURE_COMPAT_CHECKSUM) !== 0;
  if (csum2 && csum3) {
    throw new CorruptError(S, "can't enable checksumming v2 and v3 at the same time", at, 's_feature_incompat', incompat);
  }
  if ((csum2 || csum3) && csum1) {
    throw new CorruptError(S, "can't enable checksumming v1 and v2/3 at the same time", at, 's_feature_compat', compat);
  }
  let csumSeed = 0;
  if (csum2 || csum3) {
    if (raw.s_checksum_type !== JBD2_CRC32C_CHKSUM) {
      throw new CorruptError(S, 'unknown checksum type', at, 's_checksum_type', raw.s_checksum_type, JBD2_CRC32C_CHKSUM);
    }
    const calc = journalSuperblockCsum(b);
    if (calc !== raw.s_checksum) throw new ChecksumError(S, at, raw.s_checksum, calc);
    csumSeed = crc32c(0xffffffff, raw.s_uuid);
  }
  const has64bit = (incompat & JBD2_FEATURE_INCOMPAT_64BIT) !== 0;
  // j_last / j_fc_first / j_fc_last exactly as journal_load_superblock sets them.
  const last = maxLen - numFc;
  // Stricter than the kernel: with s_first inside the fast-commit area the kernel's wrap()
  // subtracts a negative span and walks off the log; we refuse such a journal instead.
  if (raw.s_first >= last) {
    throw new CorruptError(S, 'log area empty', at, 's_first', raw.s_first, `< ${last}`);
  }
  return {
    formatVersion: v2 ? 2 : 1,
    blockSize: raw.s_blocksize,
    maxLen,
    first: raw.s_first,
    last,
    sequence: raw.s_sequence,
    start: raw.s_start,
    errno: raw.s_errno | 0,
    compat,
    incompat,
    roCompat,
    uuid: raw.s_uuid,
    nrUsers: raw.s_nr_users,
    checksumVersion: csum3 ? 3 : csum2 ? 2 : csum1 ? 1 : 0,
    csumSeed,
    has64bit,
    asyncCommit: (incompat & JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT) !== 0,
    fastCommit: fc ? { first: last + 1, last: maxLen, blocks: numFc } : null,
    tagBytes: journalTagBytes(csum2, csum3, has64bit),
  };
}

/**
 * journal_tag_bytes(): tag3 is 16 bytes; otherwise journal_block_tag_t (12) plus 2 for a
 * v2 checksum (a historical quirk the on-disk format keeps) minus 4 without 64bit.
 */
export function journalTagBytes(csum2: boolean, csum3: boolean, has64bit: boolean): number {
  if (csum3) return 16;
  let sz = 12;
  if (csum2) sz += 2;
  return has64bit ? sz : sz - 4;
}

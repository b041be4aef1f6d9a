// The jbd2 log blocks other than the superblock (include/linux/jbd2.h), all BIG-endian and
// each starting with journal_header_t {h_magic, h_blocktype, h_sequence}:
//   descriptor: tags (journal_block_tag_t, or journal_block_tag3_t with CSUM_V3) each
//     followed by a 16-byte uuid unless SAME_UUID; a jbd2_journal_block_tail (crc32c) at
//     the block's end with CSUM_V2/V3; 64BIT adds t_blocknr_high.
//   commit: commit_header (v1 crc32_be sum in h_chksum[0], v2/3 crc32c of the block there).
//   revoke: jbd2_journal_revoke_header_t {header, r_count} then 4- or 8-byte block numbers.

import { crc32c } from '../../util/crc.js';
import { Reader, struct } from '../../util/bytes.js';
import { CorruptError, corruptBounds } from '../errors.js';
import { JournalSuperblock } from './superblock.js';

export const JBD2_FLAG_ESCAPE = 1;
export const JBD2_FLAG_SAME_UUID = 2;
export const JBD2_FLAG_DELETED = 4;
export const JBD2_FLAG_LAST_TAG = 8;

export const JBD2_CRC32_CHKSUM = 1;
export const JBD2_CRC32_CHKSUM_SIZE = 4;

export const JOURNAL_HEADER_SIZE = 12;
export const BLOCK_TAIL_SIZE = 4;

export const journalBlockTag3 = struct('journal_block_tag3_t', 16, [
  ['t_blocknr', 'u32be', 0x0],
  ['t_flags', 'u32be', 0x4],
  ['t_blocknr_high', 'u32be', 0x8],
  ['t_checksum', 'u32be', 0xc],
] as const);

export const journalBlockTag = struct('journal_block_tag_t', 12, [
  ['t_blocknr', 'u32be', 0x0],
  ['t_checksum', 'u16be', 0x4],
  ['t_flags', 'u16be', 0x6],
  ['t_blocknr_high', 'u32be', 0x8],
] as const);

export const commitHeader = struct('commit_header', 60, [
  ['h_magic', 'u32be', 0x0],
  ['h_blocktype', 'u32be', 0x4],
  ['h_sequence', 'u32be', 0x8],
  ['h_chksum_type', 'u8', 0xc],
  ['h_chksum_size', 'u8', 0xd],
  ['h_padding', 'u8[2]', 0xe],
  ['h_chksum', 'u8[32]', 0x10],
  ['h_commit_sec', 'u64be', 0x30],
  ['h_commit_nsec', 'u32be', 0x38],
] as const);

export const revokeHeader = struct('jbd2_journal_revoke_header_t', 16, [
  ['h_magic', 'u32be', 0x0],
  ['h_blocktype', 'u32be', 0x4],
  ['h_sequence', 'u32be', 0x8],
  ['r_count', 'u32be', 0xc],
] as const);

export const blockTail = struct('jbd2_journal_block_tail', 4, [
  ['t_checksum', 'u32be', 0x0],
] as const);

/** One descriptor tag: where the next log block goes and how to restore it. */
export interface BlockTag {
  /** Target fs block as a bigint (64BIT journals carry 64-bit numbers; validated later). */
  readonly blocknr: bigint;
  readonly flags: number;
  /** t_checksum: 16 bits for v2, 32 for v3, 0 otherwise. */
  readonly checksum: number;
}

/**
 * The tags of a descriptor block, in order, exactly as count_tags()/do_one_pass() walk
 * them: the walk stops at LAST_TAG or when the next tag would not fit before the tail. The
 * result is bounded by blockSize / tagBytes, so a hostile block cannot make it large.
 */
export function descriptorTags(b: Uint8Array, jsb: JournalSuperblock, at: { block: number }): BlockTag[] {
  const r = new Reader(b, corruptBounds('journal_descriptor', at), 'journal_descriptor');
  const size = jsb.blockSize - (jsb.checksumVersion >= 2 ? BLOCK_TAIL_SIZE : 0);
  const tb = jsb.tagBytes;
  const tags: BlockTag[] = [];
  let p = JOURNAL_HEADER_SIZE;
  while (p + tb <= size) {
    // t_flags is the low half of tag3's be32 t_flags and tag_t's be16 at offset 6 alike,
    // so the kernel reads it as be16 at offset 6 for both layouts.
    const flags = r.u16be(p + 6);
    const lo = r.u32be(p);
    const hi = jsb.has64bit ? r.u32be(p + 8) : 0;
    const checksum = jsb.checksumVersion === 3 ? r.u32be(p + 12) : jsb.checksumVersion === 2 ? r.u16be(p + 4) : 0;
    tags.push({ blocknr: (BigInt(hi) << 32n) | BigInt(lo), flags, checksum });
    p += tb;
    if (!(flags & JBD2_FLAG_SAME_UUID)) p += 16;
    if (flags & JBD2_FLAG_LAST_TAG) break;
  }
  return tags;
}

/** crc32c over the block with the 4-byte field at `off` taken as zero. */
function csumWithHole(seed: number, b: Uint8Array, off: number): number {
  let c = crc32c(seed, b, 0, off);
  c = crc32c(c, ZERO4);
  return crc32c(c, b, off + 4, b.byteLength);
}
const ZERO4 = new Uint8Array(4);

/** Stored and computed checksum of a v2/v3 block; null when the journal has none. */
export interface CsumPair { readonly stored: number; readonly computed: number }

/** The block tail checksum of a descriptor or revoke block (jbd2_descriptor_block_csum_verify). */
export function descriptorBlockCsum(b: Uint8Array, jsb: JournalSuperblock): CsumPair | null {
  if (jsb.checksumVersion < 2) return null;
  const off = jsb.blockSize - BLOCK_TAIL_SIZE;
  const stored = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, false);
  return { stored, computed: csumWithHole(jsb.csumSeed, b, off) };
}

export function descriptorBlockCsumOk(b: Uint8Array, jsb: JournalSuperblock): boolean {
  const c = descriptorBlockCsum(b, jsb);
  return c === null || c.stored === c.computed;
}

/** jbd2_commit_block_csum_verify: crc32c of the block with h_chksum[0] zeroed. */
export function commitBlockCsumOk(b: Uint8Array, jsb: JournalSuperblock): boolean {
  if (jsb.checksumVersion < 2) return true;
  const stored = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0x10, false);
  return csumWithHole(jsb.csumSeed, b, 0x10) === stored;
}

/** The data block checksum a tag carries: crc32c(seed, be32 sequence) then the block. */
export function blockTagCsum(data: Uint8Array, sequence: number, jsb: JournalSuperblock): number {
  const seq = new Uint8Array(4);
  new DataView(seq.buffer).setUint32(0, sequence >>> 0, false);
  const c = crc32c(crc32c(jsb.csumSeed, seq), data);
  return jsb.checksumVersion === 3 ? c : c & 0xffff;
}

/** jbd2_block_tag_csum_verify: v2 keeps the low 16 bits, v3 all 32; true without v2/v3. */
export function blockTagCsumOk(tag: BlockTag, data: Uint8Array, sequence: number, jsb: JournalSuperblock): boolean {
  if (jsb.checksumVersion < 2) return true;
  return tag.checksum === blockTagCsum(data, sequence, jsb);
}

/** The decoded commit block fields recovery needs. */
export interface CommitBlock {
  readonly chksumType: number;
  readonly chksumSize: number;
  /** h_chksum[0] as a be32. */
  readonly chksum0: number;
  readonly commitSec: bigint;
}

export function decodeCommit(b: Uint8Array, at: { block: number }): CommitBlock {
  const raw = new Reader(b, corruptBounds('journal_commit', at), 'journal_commit').struct(commitHeader, 0);
  const dv = new DataView(raw.h_chksum.buffer, raw.h_chksum.byteOffset, 4);
  return { chksumType: raw.h_chksum_type, chksumSize: raw.h_chksum_size, chksum0: dv.getUint32(0, false), commitSec: raw.h_commit_sec };
}

/**
 * The block numbers of a revoke block, as scan_revoke_records(): r_count is the used bytes
 * including the header, at most the block size less the checksum tail (the kernel returns
 * -EINVAL beyond, which fails recovery). Bounded by blockSize / 4 entries.
 */
export function revokeRecords(b: Uint8Array, jsb: JournalSuperblock, at: { block: number }): bigint[] {
  const r = new Reader(b, corruptBounds('journal_revoke', at), 'journal_revoke');
  const raw = r.struct(revokeHeader, 0);
  const csumSize = jsb.checksumVersion >= 2 ? BLOCK_TAIL_SIZE : 0;
  const max = raw.r_count;
  if (max > jsb.blockSize - csumSize) {
    throw new CorruptError('journal_revoke', 'r_count past the block', at, 'r_count', max, `<= ${jsb.blockSize - csumSize}`);
  }
  const recLen = jsb.has64bit ? 8 : 4;
  const out: bigint[] = [];
  for (let off = revokeHeader.size; off + recLen <= max; off += recLen) {
    out.push(recLen === 4 ? BigInt(r.u32be(off)) : r.u64be(off));
  }
  return out;
}

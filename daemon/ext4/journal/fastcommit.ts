// The ext4 fast-commit area (fs/ext4/fast_commit.[ch]): with jbd2 FAST_COMMIT the last
// s_num_fc_blks blocks of the journal (default 256) hold little-endian TLV records
// (struct ext4_fc_tl {le16 fc_tag, le16 fc_len} + value). A fast commit opens with HEAD
// {le32 fc_features, le32 fc_tid} and closes with TAIL {le32 fc_tid, le32 fc_crc}, the crc
// being crc32c (seed 0) over every TLV since the previous tail up to the tail's fc_crc.
// Replaying them is inode-level work (ranges, links, inodes) the block-only journal cannot
// do: this file runs the kernel's scan phase (ext4_fc_replay_scan) to learn whether the
// kernel would replay anything, or would fail recovery, and reports; it never replays.

import { crc32c } from '../../util/crc.js';
import { ChecksumError, CorruptError, IncompatibleError } from '../errors.js';
import { JournalSuperblock } from './superblock.js';

export const EXT4_FC_TAG_ADD_RANGE = 0x1;
export const EXT4_FC_TAG_DEL_RANGE = 0x2;
export const EXT4_FC_TAG_CREAT = 0x3;
export const EXT4_FC_TAG_LINK = 0x4;
export const EXT4_FC_TAG_UNLINK = 0x5;
export const EXT4_FC_TAG_INODE = 0x6;
export const EXT4_FC_TAG_PAD = 0x7;
export const EXT4_FC_TAG_TAIL = 0x8;
export const EXT4_FC_TAG_HEAD = 0x9;
const EXT4_FC_TAG_BASE_LEN = 4;
const EXT4_FC_SUPPORTED_FEATURES = 0;
const EXT4_NAME_LEN = 255;
const EXT4_GOOD_OLD_INODE_SIZE = 128;

export interface FastCommitInfo {
  /** Blocks in the fast-commit area (s_num_fc_blks or the default 256). */
  readonly areaBlocks: number;
  /** Blocks the scan looked at. */
  readonly blocksScanned: number;
  /** fc_tid of the HEAD opening the area, or null if the area does not open with one. */
  readonly headTid: number | null;
  /** The kernel's fc_replay_num_tags: tags of complete, checksummed fast commits for the expected tid. */
  readonly tagsToReplay: number;
  /** tagsToReplay > 0: the kernel (rw mount) would replay these fast commits. */
  readonly wouldReplay: boolean;
  /** Always false: fast commits are detected, not replayed. */
  readonly replayed: false;
  readonly summary: string;
}

/** ext4_fc_value_len_isvalid. */
function valueLenValid(tag: number, len: number, inodeSize: number): boolean {
  switch (tag) {
    case EXT4_FC_TAG_ADD_RANGE: return len === 16;
    case EXT4_FC_TAG_DEL_RANGE: return len === 12;
    case EXT4_FC_TAG_CREAT: case EXT4_FC_TAG_LINK: case EXT4_FC_TAG_UNLINK:
      return len - 8 >= 1 && len - 8 <= EXT4_NAME_LEN;
    case EXT4_FC_TAG_INODE: return len - 4 >= EXT4_GOOD_OLD_INODE_SIZE && len - 4 <= inodeSize;
    case EXT4_FC_TAG_PAD: return true;
    case EXT4_FC_TAG_TAIL: return len >= 8;
    case EXT4_FC_TAG_HEAD: return len === 8;
    default: return false;
  }
}

/**
 * The scan phase over [j_fc_first, j_fc_last] as fc_do_one_pass + ext4_fc_replay_scan run
 * it. `expectedTid` is info->end_transaction. Throws where the kernel's scan returns an
 * error (which fails recovery): EFSBADCRC for a bad first tail, ECANCELED for a bad first
 * tag, EOPNOTSUPP for unknown fc_features, and the jread past s_maxlen the kernel's loop
 * performs when every block asks to continue. Bounded by the area's size.
 */
export function scanFastCommitArea(jsb: JournalSuperblock, expectedTid: number, inodeSize: number, read: (lblk: number) => Uint8Array): FastCommitInfo {
  const fc = jsb.fastCommit;
  if (!fc) throw new Error('scanFastCommitArea without FAST_COMMIT');
  const where = (lblk: number) => ({ lblk });
  let numTags = 0;
  let curTag = 0;
  let crc = 0;
  let headTid: number | null = null;
  let scanned = 0;
  let stop = false;
  for (let lblk = fc.first; lblk <= fc.last && !stop; lblk++) {
    // fc.last is s_maxlen itself: reading it fails in the kernel's jread, and so here.
    const b = read(lblk);
    scanned++;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const end = b.byteLength;
    if (lblk === fc.first) {
      if (dv.getUint16(0, true) !== EXT4_FC_TAG_HEAD) break; // "check if we can stop early"
      headTid = dv.getUint32(EXT4_FC_TAG_BASE_LEN + 4, true);
    }
    for (let cur = 0; cur <= end - EXT4_FC_TAG_BASE_LEN;) {
      const tag = dv.getUint16(cur, true);
      const len = dv.getUint16(cur + 2, true);
      const val = cur + EXT4_FC_TAG_BASE_LEN;
      if (len > end - val || !valueLenValid(tag, len, inodeSize)) {
        if (numTags) { stop = true; break; }
        throw new CorruptError('fast_commit', 'bad fast-commit tag', where(lblk), 'fc_tag', tag, `valid tag with fitting length (fc_len=${len})`);
      }
      if (tag === EXT4_FC_TAG_HEAD) {
        const features = dv.getUint32(val, true);
        if (features & ~EXT4_FC_SUPPORTED_FEATURES) {
          throw new IncompatibleError('fast_commit', `unsupported fast-commit features 0x${features.toString(16)}`);
        }
        if (dv.getUint32(val + 4, true) !== expectedTid >>> 0) { stop = true; break; }
        curTag++;
        crc = crc32c(crc, b, cur, val + len);
      } else if (tag === EXT4_FC_TAG_TAIL) {
        curTag++;
        crc = crc32c(crc, b, cur, val + 4);
        const tid = dv.getUint32(val, true);
        const stored = dv.getUint32(val + 4, true);
        if (tid === expectedTid >>> 0 && stored === crc) {
          numTags = curTag;
        } else {
          if (!numTags) throw new ChecksumError('fast_commit', where(lblk), stored, crc);
          stop = true;
          break;
        }
        crc = 0;
      } else {
        curTag++;
        crc = crc32c(crc, b, cur, val + len);
      }
      cur = val + len;
    }
  }
  const wouldReplay = numTags > 0;
  const summary = `fast commit area present, ${fc.blocks} blocks, ${scanned} scanned, ${numTags} tags to replay` +
    (headTid === null ? '' : ` (head tid ${headTid}, expected ${expectedTid >>> 0})`) +
    (wouldReplay ? ': the kernel would replay them on a rw mount; NOT replayed (inode-level fast-commit replay unsupported)' : ': nothing to replay');
  return { areaBlocks: fc.blocks, blocksScanned: scanned, headTid, tagsToReplay: numTags, wouldReplay, replayed: false, summary };
}

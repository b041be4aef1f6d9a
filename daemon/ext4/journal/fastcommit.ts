// The ext4 fast-commit area (fs/ext4/fast_commit.h): with jbd2 FAST_COMMIT the last
// s_num_fc_blks blocks of the journal (default 256) hold little-endian TLV records
// (struct ext4_fc_tl {le16 fc_tag, le16 fc_len} + value). A fast commit starts with a HEAD
// tag {le32 fc_features, le32 fc_tid} and ends with a TAIL {le32 fc_tid, le32 fc_crc}.
// Replaying them means inode-level work (ranges, links, inodes) that the block-only journal
// cannot do, so this file only detects and reports them; the kernel replays them when the
// HEAD's tid is the transaction after the last full commit.

import { JournalSuperblock } from './superblock.js';

export const EXT4_FC_TAG_ADD_RANGE = 0x1;
export const EXT4_FC_TAG_HEAD = 0x9;
const EXT4_FC_TAG_MAX = 0x9;
const EXT4_FC_TAG_BASE_LEN = 4;

export interface FastCommitInfo {
  /** Blocks in the fast-commit area (s_num_fc_blks or the default 256). */
  readonly areaBlocks: number;
  /** Consecutive blocks from the area's start that begin with a well-formed known tag. */
  readonly blocksWithTags: number;
  /** fc_tid of the HEAD at the area's start, or null if there is none. */
  readonly headTid: number | null;
  /** The HEAD's tid is the expected one: the kernel would replay these fast commits. */
  readonly wouldReplay: boolean;
  /** Always false: fast commits are detected, not replayed. */
  readonly replayed: false;
  readonly summary: string;
}

/**
 * Looks at the fast-commit area after the main log. `expectedTid` is the kernel's
 * info->end_transaction (the first transaction not in the main log). Reads at most the
 * area's blocks that lie inside s_maxlen (the kernel's loop also stops at the first read
 * past it), and stops at the first block without a tag.
 */
export function scanFastCommitArea(jsb: JournalSuperblock, expectedTid: number, read: (lblk: number) => Uint8Array): FastCommitInfo {
  const fc = jsb.fastCommit;
  if (!fc) throw new Error('scanFastCommitArea without FAST_COMMIT');
  let blocksWithTags = 0;
  let headTid: number | null = null;
  for (let lblk = fc.first; lblk < jsb.maxLen; lblk++) {
    const b = read(lblk);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const tag = dv.getUint16(0, true);
    const len = dv.getUint16(2, true);
    if (tag < 1 || tag > EXT4_FC_TAG_MAX || EXT4_FC_TAG_BASE_LEN + len > b.byteLength) break;
    if (lblk === fc.first && tag === EXT4_FC_TAG_HEAD && len >= 8) headTid = dv.getUint32(EXT4_FC_TAG_BASE_LEN + 4, true);
    blocksWithTags++;
  }
  const wouldReplay = headTid !== null && headTid === expectedTid >>> 0;
  const summary = `fast commit area present, ${fc.blocks} blocks, ${blocksWithTags} blocks with tags found` +
    (headTid === null ? '' : `, head tid ${headTid}`) +
    (wouldReplay ? ': the kernel would replay them; NOT replayed (inode-level fast-commit replay unsupported)' : ': nothing to replay');
  return { areaBlocks: fc.blocks, blocksWithTags, headTid, wouldReplay, replayed: false, summary };
}

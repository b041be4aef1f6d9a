// jbd2 log recovery in memory (fs/jbd2/recovery.c): the three passes of do_one_pass over
// the circular log [s_first, j_last) starting at s_start / s_sequence. Nothing is written:
// PASS_REPLAY fills an overlay (fs block -> replayed bytes) that the facade installs under
// its block cache, so a dirty image reads as the kernel shows it after mounting. The
// journal knows only blocks: the caller maps journal blocks to fs blocks and reads them.
// All jbd2 structures are big-endian; csum v2/v3 use crc32c seeded by the journal uuid.

import { ChecksumError, CorruptError, IncompatibleError, IoError } from '../errors.js';
import {
  JBD2_COMMIT_BLOCK, JBD2_DESCRIPTOR_BLOCK, JBD2_MAGIC_NUMBER, JBD2_REVOKE_BLOCK,
  JournalSuperblock, parseJournalSuperblock,
} from './superblock.js';
import {
  BlockTag, JBD2_CRC32_CHKSUM, JBD2_CRC32_CHKSUM_SIZE, JBD2_FLAG_ESCAPE, blockTagCsum, blockTagCsumOk,
  commitBlockCsumOk, decodeCommit, descriptorBlockCsum, descriptorTags, revokeRecords,
} from './blocks.js';
import { crc32be } from '../../util/crc.js';
import { FastCommitInfo, scanFastCommitArea } from './fastcommit.js';

/** What recovery needs from the filesystem: blocks only, never inodes. */
export interface JournalSource {
  /** The filesystem block size (the journal's must match). */
  readonly blockSize: number;
  /** Length of the journal inode in blocks (i_size >> block bits): the kernel's j_total_len. */
  readonly journalBlocks: number;
  /** Journal logical block -> fs block (the journal inode's extent/indirect map). */
  mapJournalBlock(lblk: number): number;
  /** Reads one fs block straight from the device (never through the overlay). */
  readFsBlock(block: number): Uint8Array;
  /** s_uuid of the filesystem, only to report whether the journal's uuid matches. */
  readonly fsUuid?: Uint8Array;
  /** s_blocks_count: every replay target must lie below it. */
  readonly fsBlocksCount: number;
  /**
   * The fs superblock's needs_recovery (INCOMPAT_RECOVER). Without it the kernel wipes a
   * dirty log instead of replaying it (ext4_load_journal -> jbd2_journal_wipe).
   */
  readonly needsRecovery: boolean;
  /** s_inode_size, for validating fast-commit INODE records; default 256. */
  readonly fsInodeSize?: number;
  /** Cap on replayed bytes held in memory; default 256 MiB. */
  readonly maxOverlayBytes?: number;
  /** Cap on distinct revoked block numbers; default 1M. */
  readonly maxRevokeRecords?: number;
  /** For error messages only (s_journal_inum). */
  readonly journalInode?: number;
}

export interface RecoveryInfo {
  /** True when the log was dirty and the fs asked for recovery: the overlay holds the replay. */
  readonly needsRecovery: boolean;
  /** s_start was 0: the journal was cleanly unmounted. */
  readonly journalClean: boolean;
  /** The log was dirty but the fs was not flagged needs_recovery: ignored, as the kernel does. */
  readonly ignoredDirtyLog: boolean;
  readonly formatVersion: 1 | 2;
  readonly checksumVersion: 0 | 1 | 2 | 3;
  readonly features: { readonly compat: number; readonly incompat: number; readonly roCompat: number };
  readonly transactionsReplayed: number;
  /** The first and the last transaction replayed (equal to s_sequence and one less when none). */
  readonly firstTid: number;
  readonly lastTid: number;
  /** Number of block writes replayed (the kernel's nr_replays) and distinct blocks. */
  readonly blocksReplayed: number;
  readonly distinctBlocks: number;
  /** Revoke records in the log (nr_revokes, counted by PASS_SCAN) and tags skipped because revoked. */
  readonly revokedBlocks: number;
  readonly revokeHits: number;
  /** The replayed log crossed j_last and continued at s_first. */
  readonly logWrapped: boolean;
  /** s_errno: a non-zero value is an abort the kernel reports as a previous-mount error. */
  readonly errno: number;
  readonly uuidMatchesFs: boolean | null;
  readonly fastCommit: FastCommitInfo | null;
  /** Human notes about what was seen (stale blocks ignored, fast commits not replayed...). */
  readonly errors: string[];
}

export interface RecoveryResult {
  readonly overlay: Map<number, Uint8Array>;
  readonly info: RecoveryInfo;
  readonly superblock: JournalSuperblock;
}

const DEFAULT_MAX_OVERLAY = 256 * 1024 * 1024;
const DEFAULT_MAX_REVOKES = 1 << 20;

type Pass = 'scan' | 'revoke' | 'replay';

/** tid_gt / tid_geq: sequence numbers compare modulo 2^32 as the kernel does. */
export function tidGt(x: number, y: number): boolean { return ((x - y) | 0) > 0; }
export function tidGeq(x: number, y: number): boolean { return ((x - y) | 0) >= 0; }

interface Recovery {
  readonly src: JournalSource;
  readonly jsb: JournalSuperblock;
  readonly ino: number;
  startTransaction: number;
  /** 0 = not yet known, exactly like the kernel's info->end_transaction. */
  endTransaction: number;
  failedCommit: number;
  logWrapped: boolean;
  nrReplays: number;
  nrRevokes: number;
  nrRevokeHits: number;
  /** blocknr (number when safe, else bigint) -> highest revoking tid. */
  readonly revoke: Map<number | bigint, number>;
  readonly overlay: Map<number, Uint8Array>;
  readonly notes: string[];
}

/**
 * Replays the journal in memory. Throws CorruptError/ChecksumError where the kernel's
 * jbd2_journal_load fails (so the mount is refused), IncompatibleError for an external
 * journal or a replay that exceeds the memory caps, IoError from the callbacks.
 */
export function recoverJournal(src: JournalSource): RecoveryResult {
  const ino = src.journalInode ?? 8;
  if (!Number.isSafeInteger(src.journalBlocks) || src.journalBlocks < 1) {
    throw new CorruptError('journal', 'journal inode has no blocks', { inode: ino }, 'blocks', src.journalBlocks, '>= 1');
  }
  const sbBlock = mapChecked(src, ino, 0);
  const jsb = parseJournalSuperblock(readChecked(src, ino, sbBlock, 0), src.blockSize, src.journalBlocks, sbBlock);
  const r: Recovery = {
    src, jsb, ino, startTransaction: jsb.sequence, endTransaction: 0, failedCommit: 0, logWrapped: false,
    nrReplays: 0, nrRevokes: 0, nrRevokeHits: 0, revoke: new Map(), overlay: new Map(), notes: [],
  };
  const uuidMatchesFs = src.fsUuid && jsb.formatVersion === 2 ? equalBytes(src.fsUuid, jsb.uuid) : null;
  const base = {
    formatVersion: jsb.formatVersion,
    checksumVersion: jsb.checksumVersion,
    features: { compat: jsb.compat, incompat: jsb.incompat, roCompat: jsb.roCompat },
    errno: jsb.errno,
    uuidMatchesFs,
  };
  const clean = jsb.start === 0;
  if (clean || !src.needsRecovery) {
    if (!clean) r.notes.push('journal has a dirty log but the filesystem is not flagged needs_recovery: ignored (the kernel wipes it)');
    return {
      overlay: r.overlay,
      superblock: jsb,
      info: {
        ...base, needsRecovery: false, journalClean: clean, ignoredDirtyLog: !clean,
        transactionsReplayed: 0, firstTid: jsb.sequence, lastTid: (jsb.sequence - 1) >>> 0, logWrapped: false,
        blocksReplayed: 0, distinctBlocks: 0, revokedBlocks: 0, revokeHits: 0,
        fastCommit: null, errors: r.notes,
      },
    };
  }
  onePass(r, 'scan');
  if (r.failedCommit) {
    // jbd2_journal_load: a failed commit (checksum mismatch without async_commit) makes the
    // load fail with EFSCORRUPTED once the passes ran; nothing is written here, so the
    // remaining passes cannot change the outcome and we refuse at once.
    throw new CorruptError('journal', 'journal transaction is corrupt', { inode: ino }, 'transaction', r.failedCommit);
  }
  const fastCommit = jsb.fastCommit ? scanFastCommitArea(jsb, r.endTransaction, src.fsInodeSize ?? 256, (lblk) => jread(r, lblk)) : null;
  if (fastCommit) r.notes.push(fastCommit.summary);
  onePass(r, 'revoke');
  onePass(r, 'replay');
  const replayed = (r.endTransaction - r.startTransaction) >>> 0;
  return {
    overlay: r.overlay,
    superblock: jsb,
    info: {
      ...base, needsRecovery: true, journalClean: false, ignoredDirtyLog: false,
      transactionsReplayed: replayed, firstTid: r.startTransaction, lastTid: (r.endTransaction - 1) >>> 0,
      logWrapped: r.logWrapped,
      blocksReplayed: r.nrReplays, distinctBlocks: r.overlay.size, revokedBlocks: r.nrRevokes,
      revokeHits: r.nrRevokeHits, fastCommit, errors: r.notes,
    },
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function mapChecked(src: JournalSource, ino: number, lblk: number): number {
  const fsb = src.mapJournalBlock(lblk);
  if (!Number.isSafeInteger(fsb) || fsb <= 0 || fsb >= src.fsBlocksCount) {
    throw new CorruptError('journal', 'journal block mapped outside the filesystem', { inode: ino, lblk }, 'block', fsb, `1..${src.fsBlocksCount - 1}`);
  }
  return fsb;
}

function readChecked(src: JournalSource, ino: number, fsb: number, lblk: number): Uint8Array {
  const b = src.readFsBlock(fsb);
  if (b.byteLength !== src.blockSize) {
    throw new IoError('short journal block read', { inode: ino, block: fsb, lblk });
  }
  return b;
}

/** jread(): a log block by journal offset; offsets at or past s_maxlen are corruption. */
function jread(r: Recovery, offset: number): Uint8Array {
  if (offset >= r.jsb.maxLen) {
    throw new CorruptError('journal', 'log block past the end of the journal', { inode: r.ino, lblk: offset }, 'offset', offset, `< ${r.jsb.maxLen}`);
  }
  return readChecked(r.src, r.ino, mapChecked(r.src, r.ino, offset), offset);
}

/** wrap(): the log is circular over [s_first, j_last). */
function wrap(jsb: JournalSuperblock, v: number): number {
  return v >= jsb.last ? v - (jsb.last - jsb.first) : v;
}

function revokeKey(b: bigint): number | bigint {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** jbd2_journal_set_revoke: remember the newest transaction revoking a block. */
function setRevoke(r: Recovery, blocknr: bigint, seq: number): void {
  const k = revokeKey(blocknr);
  const cur = r.revoke.get(k);
  if (cur === undefined) {
    if (r.revoke.size >= (r.src.maxRevokeRecords ?? DEFAULT_MAX_REVOKES)) {
      throw new IncompatibleError('journal replay', `more than ${r.revoke.size} revoked blocks: too large to replay in memory`);
    }
    r.revoke.set(k, seq);
  } else if (tidGt(seq, cur)) {
    r.revoke.set(k, seq);
  }
}

/** jbd2_journal_test_revoke: revoked in a transaction at or after `seq`. */
function testRevoke(r: Recovery, blocknr: bigint, seq: number): boolean {
  const cur = r.revoke.get(revokeKey(blocknr));
  return cur !== undefined && !tidGt(seq, cur);
}

/** do_one_pass(): one walk of the log; throws where the kernel returns an error. */
function onePass(r: Recovery, pass: Pass): void {
  const { jsb } = r;
  const ringSize = jsb.last - jsb.first;
  let nextCommit = jsb.sequence;
  let nextLog = jsb.start;
  if (pass === 'scan') r.startTransaction = nextCommit;
  let crc32Sum = 0xffffffff;
  let needCheckCommitTime = false;
  // The first stale-or-corrupt block PASS_SCAN tolerated, for the error if it was not stale.
  let badCsum: ChecksumError | null = null;
  let lastCommitTime = 0n;
  let success: Error | null = null;
  let blockError = false;
  // A valid log never holds more blocks than the ring (the kernel keeps free space between
  // head and tail), so consuming more than ring + 1 positions means a self-overlapping,
  // hostile log: the kernel would spin until tids wrap, we stop.
  let consumed = 0;
  const consume = (n: number) => {
    consumed += n;
    if (consumed > ringSize + 1) {
      throw new CorruptError('journal', 'log longer than the journal', { inode: r.ino }, 'blocks', consumed, `<= ${ringSize + 1}`);
    }
  };

  scan: for (;;) {
    if (pass !== 'scan' && tidGeq(nextCommit, r.endTransaction)) break;
    const at = { inode: r.ino, lblk: nextLog };
    const bh = jread(r, nextLog);
    consume(1);
    const here = nextLog;
    nextLog = wrap(jsb, nextLog + 1);
    const dv = new DataView(bh.buffer, bh.byteOffset, bh.byteLength);
    if (dv.getUint32(0, false) !== JBD2_MAGIC_NUMBER) break;
    const blocktype = dv.getUint32(4, false);
    const sequence = dv.getUint32(8, false);
    if (sequence !== nextCommit) break;

    switch (blocktype) {
      case JBD2_DESCRIPTOR_BLOCK: {
        const dc = descriptorBlockCsum(bh, jsb);
        if (dc && dc.stored !== dc.computed) {
          const e = new ChecksumError('journal_descriptor', at, dc.stored, dc.computed);
          // PASS_SCAN can meet stale blocks (lazy journal init): judged at the commit.
          if (pass !== 'scan') throw e;
          badCsum ??= e;
          needCheckCommitTime = true;
        }
        const tags = descriptorTags(bh, jsb, { block: here });
        if (pass !== 'replay') {
          if (pass === 'scan' && jsb.checksumVersion === 1 && !needCheckCommitTime && !r.endTransaction) {
            // calc_chksums: crc32_be over the descriptor and every block it describes.
            crc32Sum = crc32be(crc32Sum, bh);
            for (let i = 0; i < tags.length; i++) {
              consume(1);
              const io = nextLog;
              nextLog = wrap(jsb, nextLog + 1);
              crc32Sum = crc32be(crc32Sum, jread(r, io));
            }
            continue;
          }
          consume(tags.length);
          nextLog = wrap(jsb, nextLog + tags.length);
          continue;
        }
        for (const tag of tags) {
          consume(1);
          const io = nextLog;
          nextLog = wrap(jsb, nextLog + 1);
          if (io < jsb.start) r.logWrapped = true;
          const obh = jread(r, io);
          if (testRevoke(r, tag.blocknr, nextCommit)) {
            r.nrRevokeHits++;
            continue;
          }
          if (!blockTagCsumOk(tag, obh, sequence, jsb)) {
            // The kernel skips the block, finishes the pass, then fails recovery (EFSBADCRC).
            success ??= new ChecksumError('journal_block', { inode: r.ino, lblk: io, block: tag.blocknr }, tag.checksum, blockTagCsum(obh, sequence, jsb));
            blockError = true;
            continue;
          }
          replayBlock(r, tag, obh, io);
        }
        continue;
      }
      case JBD2_COMMIT_BLOCK: {
        const cb = decodeCommit(bh, { block: here });
        const commitTime = cb.commitSec;
        if (needCheckCommitTime) {
          if (commitTime >= lastCommitTime) {
            // "Invalid checksum found in transaction": not stale, so real corruption.
            throw badCsum ?? new ChecksumError('journal', { inode: r.ino, lblk: here }, 0, 0);
          }
          r.notes.push(`invalid checksum ignored in transaction ${nextCommit}, likely stale data: end of log`);
          break scan;
        }
        let chksumError = false;
        if (pass === 'scan' && jsb.checksumVersion === 1) {
          if (r.endTransaction) {
            r.failedCommit = r.endTransaction;
            break scan;
          }
          const ok = (crc32Sum === cb.chksum0 && cb.chksumType === JBD2_CRC32_CHKSUM && cb.chksumSize === JBD2_CRC32_CHKSUM_SIZE) ||
            (cb.chksumType === 0 && cb.chksumSize === 0 && cb.chksum0 === 0);
          if (!ok) chksumError = true;
          crc32Sum = 0xffffffff;
        }
        if (chksumError || (pass === 'scan' && !commitBlockCsumOk(bh, jsb))) {
          if (commitTime < lastCommitTime) {
            r.notes.push(`invalid checksum ignored in transaction ${nextCommit}, likely stale data: end of log`);
            break scan;
          }
          r.endTransaction = nextCommit;
          if (!jsb.asyncCommit) {
            r.failedCommit = nextCommit;
            break scan;
          }
          r.notes.push(`commit checksum mismatch in transaction ${nextCommit} (async_commit): log ends before it`);
        }
        if (pass === 'scan') lastCommitTime = commitTime;
        nextCommit = (nextCommit + 1) >>> 0;
        continue;
      }
      case JBD2_REVOKE_BLOCK: {
        const rc = pass === 'scan' ? descriptorBlockCsum(bh, jsb) : null;
        if (rc && rc.stored !== rc.computed) {
          badCsum ??= new ChecksumError('journal_revoke', at, rc.stored, rc.computed);
          needCheckCommitTime = true;
        }
        if (pass === 'replay') continue;
        // Since Linux 6.14 (a399af4e3b1a, sizing the revoke table) PASS_SCAN parses every
        // revoke block too, so a bad r_count fails recovery even in a transaction that
        // never committed; nr_revokes is counted there.
        const recs = revokeRecords(bh, jsb, { block: here });
        if (pass === 'scan') {
          r.nrRevokes += recs.length;
          continue;
        }
        for (const b of recs) setRevoke(r, b, nextCommit);
        continue;
      }
      default:
        break scan;
    }
  }

  if (pass === 'scan') {
    if (!r.endTransaction) r.endTransaction = nextCommit;
  } else if (r.endTransaction !== nextCommit) {
    success ??= new CorruptError('journal', `recovery pass ${pass} ended at the wrong transaction`, { inode: r.ino }, 'transaction', nextCommit, r.endTransaction);
  }
  if (blockError && !success) success = new IoError('journal replay', { inode: r.ino });
  if (success) throw success;
}

/** The PASS_REPLAY write: validated target, escaped magic restored, memory bounded. */
function replayBlock(r: Recovery, tag: BlockTag, data: Uint8Array, io: number): void {
  const { src } = r;
  if (tag.blocknr >= BigInt(src.fsBlocksCount)) {
    throw new CorruptError('journal_block', 'replay target outside the filesystem', { inode: r.ino, lblk: io }, 'blocknr', tag.blocknr, `< ${src.fsBlocksCount}`);
  }
  const target = Number(tag.blocknr);
  if (!r.overlay.has(target)) {
    const cap = src.maxOverlayBytes ?? DEFAULT_MAX_OVERLAY;
    if ((r.overlay.size + 1) * src.blockSize > cap) {
      throw new IncompatibleError('journal replay', `replay needs more than ${Math.floor(cap / 1048576)} MiB of memory`);
    }
  }
  const copy = data.slice();
  if (tag.flags & JBD2_FLAG_ESCAPE) new DataView(copy.buffer).setUint32(0, JBD2_MAGIC_NUMBER, false);
  r.overlay.set(target, copy);
  r.nrReplays++;
}

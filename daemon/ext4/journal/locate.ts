// Where the journal lives, decided from the ext4 superblock before any journal block is
// read (the kernel's ext4_load_journal / ext4_get_journal_inode): an internal journal is an
// inode (s_journal_inum, usually 8); a journal on another device (s_journal_dev /
// s_journal_uuid) is not supported; an image that IS a journal device (incompat
// journal_dev) is not a filesystem. Takes plain values so it needs no superblock code.

import { CorruptError, IncompatibleError } from '../errors.js';

export interface JournalLocationInput {
  /** compat has_journal. */
  readonly hasJournal: boolean;
  /** incompat journal_dev: the image is an external journal device. */
  readonly isJournalDevice: boolean;
  /** s_journal_inum (0xE0). */
  readonly journalInum: number;
  /** s_journal_dev (0xE4). */
  readonly journalDev: number;
  /** Whether s_journal_uuid (0xD0) is non-zero. */
  readonly journalUuidSet: boolean;
  readonly inodesCount: number;
}

/** The journal inode to read, or null when the filesystem has no journal. */
export function locateJournal(x: JournalLocationInput): number | null {
  if (x.isJournalDevice) {
    throw new IncompatibleError('journal_dev', 'the image is an external journal device, not a filesystem');
  }
  if (!x.hasJournal) return null;
  if (x.journalInum && x.journalDev) {
    throw new CorruptError('superblock', 'filesystem has both journal inode and journal device', {}, 's_journal_dev', x.journalDev, 0);
  }
  if (!x.journalInum) {
    if (x.journalDev || x.journalUuidSet) {
      throw new IncompatibleError('external journal', 'the journal is on a separate device; external journals are not supported');
    }
    throw new CorruptError('superblock', 'has_journal set but no journal inode or device', {}, 's_journal_inum', 0);
  }
  if (x.journalInum > x.inodesCount) {
    throw new CorruptError('superblock', 'journal inode number out of range', {}, 's_journal_inum', x.journalInum, `<= ${x.inodesCount}`);
  }
  return x.journalInum;
}

/** ext4_get_journal_inode's checks on the inode itself (deleted, not a regular file). */
export function checkJournalInode(ino: number, mode: number, linksCount: number): void {
  if (!linksCount) throw new CorruptError('journal_inode', 'journal inode is deleted', { inode: ino }, 'i_links_count', 0, '>= 1');
  if ((mode & 0o170000) !== 0o100000) {
    throw new CorruptError('journal_inode', 'invalid journal inode', { inode: ino }, 'i_mode', mode.toString(8), 'regular file');
  }
}

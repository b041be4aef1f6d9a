// The engine's public types: what fs.ts (the facade), the FUSE bridge, the CLI and library
// users see. Plain data, no classes from the structure files leak through here.

import type { Segment } from './filemap.js';

export type FileType = 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

/** A timestamp exactly as the kernel shows it: seconds may be negative (pre-1970). */
export interface Timespec {
  sec: number;
  nsec: number;
}

export interface Stat {
  ino: number;
  generation: number;
  type: FileType;
  /** st_mode: type bits and permission bits, as stat(2). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  /** st_blocks in 512-byte units, as the kernel reports (huge_file aware). */
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** Creation time when the inode records one (extra fields), else null. */
  crtime: Timespec | null;
  rdevMajor: number;
  rdevMinor: number;
  /** i_flags (EXT4_*_FL). */
  flags: number;
  projid: number;
}

export interface DirEntry {
  name: Uint8Array;
  ino: number;
  type: FileType;
  /** Cookie that resumes the listing after this entry. */
  next: number;
}

export interface StatFs {
  blockSize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  nameMax: number;
  fsid: [number, number];
}

export interface FsxAttr {
  xflags: number;
  extsize: number;
  nextents: number;
  projid: number;
  cowextsize: number;
}

export type { Segment };

export function fileTypeOfMode(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'chardev';
    case 0o060000: return 'blockdev';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'unknown';
  }
}

/** DT_* values for readdir (fuse_dirent.type / getdents). */
export function dtOf(t: FileType): number {
  switch (t) {
    case 'fifo': return 1;
    case 'chardev': return 2;
    case 'dir': return 4;
    case 'blockdev': return 6;
    case 'file': return 8;
    case 'symlink': return 10;
    case 'socket': return 12;
    default: return 0;
  }
}

/** What `inspect` shows and the library reports about an opened image. */
export interface FsInfo {
  volumeName: string;
  uuid: string;
  blockSize: number;
  clusterSize: number;
  blocksCount: number;
  freeBlocks: number;
  reservedBlocks: number;
  inodesCount: number;
  freeInodes: number;
  inodeSize: number;
  groupCount: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  descSize: number;
  features: string[];
  /** clean, not clean, errors, needs_recovery ... */
  state: string[];
  revLevel: number;
  creatorOs: string;
  lastMounted: string;
  createdAt: number;
  mountedAt: number;
  writtenAt: number;
  mountCount: number;
  maxMountCount: number;
  hashVersion: string;
  checksumSeed: string | null;
  readOnly: boolean;
  readOnlyReason: string | null;
  journal: JournalInfo | null;
  orphans: number[];
  errorCount: number;
  firstError: string | null;
  lastError: string | null;
}

export interface JournalInfo {
  inode: number;
  blocks: number;
  needsRecovery: boolean;
  replayed: boolean;
  transactions: number;
  blocksReplayed: number;
  revoked: number;
  checksum: string;
  features: string[];
  fastCommitBlocks: number;
  notes: string[];
}

/** One finding of the health summary: a structure, where, and what is wrong. */
export interface HealthFinding {
  structure: string;
  where: string;
  problem: string;
  errno: number;
}

export interface HealthReport {
  checked: { groups: number; superblock: boolean; journal: boolean };
  findings: HealthFinding[];
}

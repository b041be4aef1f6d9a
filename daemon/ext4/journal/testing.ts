// Test support only: a JournalSource straight from an image file (geometry from the primary
// superblock, the journal inode's block map from `debugfs -R "blocks <N>"`), an overlay
// applier, and the e2fsprogs oracle (debugfs `jr` replays the journal with e2fsprogs' copy
// of recovery.c). Production code never imports this file.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { JournalSource } from './recovery.js';

export interface ImageJournal {
  readonly bytes: Uint8Array;
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly journalInum: number;
  readonly journalMap: number[];
  readonly needsRecovery: boolean;
  readonly uuid: Uint8Array;
  source(over?: Partial<JournalSource>): JournalSource;
}

export function debugfs(img: string, req: string, write = false): string {
  const args = write ? ['-w', '-R', req, img] : ['-R', req, img];
  return execFileSync('debugfs', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

export function openImageJournal(path: string, bytesIn?: Uint8Array): ImageJournal {
  const bytes = bytesIn ?? new Uint8Array(readFileSync(path));
  const sb = new DataView(bytes.buffer, bytes.byteOffset + 1024, 1024);
  const blockSize = 1024 << sb.getUint32(0x18, true);
  const incompat = sb.getUint32(0x60, true);
  const blocksCount = sb.getUint32(0x4, true) + ((incompat & 0x80) ? sb.getUint32(0x150, true) * 2 ** 32 : 0);
  const journalInum = sb.getUint32(0xe0, true);
  const out = journalInum ? debugfs(path, `blocks <${journalInum}>`) : '';
  const journalMap = out.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
  const uuid = bytes.slice(1024 + 0x68, 1024 + 0x78);
  const needsRecovery = (incompat & 0x4) !== 0;
  return {
    bytes, blockSize, blocksCount, journalInum, journalMap, needsRecovery, uuid,
    source(over = {}) {
      return {
        blockSize,
        journalBlocks: journalMap.length,
        mapJournalBlock: (l) => journalMap[l] ?? 0,
        readFsBlock: (n) => bytes.subarray(n * blockSize, (n + 1) * blockSize),
        fsUuid: uuid,
        fsBlocksCount: blocksCount,
        needsRecovery,
        journalInode: journalInum,
        ...over,
      };
    },
  };
}

/** The image as it reads through the overlay. */
export function applyOverlay(bytes: Uint8Array, overlay: Map<number, Uint8Array>, blockSize: number): Uint8Array {
  const out = bytes.slice();
  for (const [b, data] of overlay) out.set(data, b * blockSize);
  return out;
}

/**
 * Block numbers where two images differ, ignoring the listed blocks (the fs superblock's
 * block and the journal superblock, which recovery tools rewrite after replaying).
 */
export function diffBlocks(a: Uint8Array, b: Uint8Array, blockSize: number, ignore: Set<number>): number[] {
  const out: number[] = [];
  const n = Math.min(a.byteLength, b.byteLength) / blockSize;
  for (let i = 0; i < n; i++) {
    if (ignore.has(i)) continue;
    const o = i * blockSize;
    for (let k = 0; k < blockSize; k++) {
      if (a[o + k] !== b[o + k]) { out.push(i); break; }
    }
  }
  return out;
}

// block_validity: the "system zones" of a filesystem — superblock and descriptor copies,
// block and inode bitmaps, inode tables, and the journal inode's blocks — as a sorted,
// merged interval set. checkDataRange() is the kernel's ext4_inode_block_valid(): a range
// a file may map must lie after s_first_data_block, end within s_blocks_count, and overlap
// no system zone unless the zone belongs to that very inode (the journal reads its own).
// Follows fs/ext4/block_validity.c (ext4_setup_system_zone, add_system_zone).

import { CorruptError, Where } from './errors.js';
import { GroupTable, bgHasSuper, bgNumGdb, groupFirstBlock } from './group.js';
import { Superblock } from './superblock.js';

interface Zone { start: number; end: number } // [start, end)

/** Sorts and merges intervals into disjoint, increasing ones. */
function merge(zs: Zone[]): Zone[] {
  zs.sort((a, b) => a.start - b.start);
  const out: Zone[] = [];
  for (const z of zs) {
    const last = out[out.length - 1];
    if (last && z.start <= last.end) last.end = Math.max(last.end, z.end);
    else out.push({ start: z.start, end: z.end });
  }
  return out;
}

/** Whether disjoint sorted `zs` has a zone overlapping [start, end). */
function overlaps(zs: readonly Zone[], start: number, end: number): boolean {
  let lo = 0; let hi = zs.length;
  while (lo < hi) { // first zone with end > start
    const mid = (lo + hi) >> 1;
    if (zs[mid].end <= start) lo = mid + 1; else hi = mid;
  }
  return lo < zs.length && zs[lo].start < end;
}

export class SystemZones {
  private pending: Zone[] = [];
  private common: Zone[] = [];
  /** Zones owned by one inode (the journal): that inode may map them, nobody else. */
  private readonly owned = new Map<number, Zone[]>();

  constructor(readonly firstDataBlock: number, readonly blocksCount: number) {}

  /** Adds [start, start+count) owned by `ino` (0: no owner). */
  add(start: number, count: number, ino = 0): void {
    if (!(count > 0)) return;
    const z = { start, end: start + count };
    if (ino === 0) {
      this.pending.push(z);
      // Merge in batches: flex_bg layouts collapse to a few runs, so memory follows the
      // merged size, not the number of groups.
      if (this.pending.length >= 65536) this.normalize();
      return;
    }
    const list = this.owned.get(ino) ?? [];
    list.push(z);
    this.owned.set(ino, merge(list));
  }

  private normalize(): void {
    if (this.pending.length === 0) return;
    this.common = merge([...this.common, ...this.pending]);
    this.pending = [];
  }

  /** Disjoint unowned zones (tests, inspect). */
  get zones(): readonly Zone[] { this.normalize(); return this.common; }

  /** Whether [start, start+count) may be mapped by inode `ino` (ext4_inode_block_valid). */
  valid(start: number, count: number, ino = 0): boolean {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || count < 0) return false;
    if (start <= this.firstDataBlock || start + count > this.blocksCount) return false;
    if (count === 0) return true;
    this.normalize();
    const end = start + count;
    if (overlaps(this.common, start, end)) return false;
    for (const [owner, zs] of this.owned) {
      if (owner !== ino && overlaps(zs, start, end)) return false;
    }
    return true;
  }

  /** Throws CorruptError unless valid(); `at.inode` names the owner allowed into its zones. */
  check(start: number, count: number, structure: string, at: Where): void {
    const ino = typeof at.inode === 'number' ? at.inode : 0;
    if (!this.valid(start, count, ino)) {
      throw new CorruptError(structure, 'invalid block range', at, 'block', start, `${count} blocks outside system zones in ${this.firstDataBlock + 1}..${this.blocksCount - 1}`);
    }
  }
}

/**
 * ext4_setup_system_zone: superblock + descriptors of groups < 5 or at a flex boundary
 * (the kernel skips the other backups for speed), every bitmap and inode table.
 * The journal's blocks are added later by whoever maps the journal inode (addJournal).
 */
export function buildSystemZones(sb: Superblock, groups: GroupTable): SystemZones {
  const z = new SystemZones(sb.firstDataBlock, sb.blocksCount);
  for (let g = 0; g < groups.count; g++) {
    if (bgHasSuper(sb, g) && (g < 5 || g % sb.groupsPerFlex === 0)) {
      z.add(groupFirstBlock(sb, g), bgNumGdb(sb, g) + 1);
    }
    const d = groups.get(g);
    z.add(d.blockBitmap, 1);
    z.add(d.inodeBitmap, 1);
    z.add(d.inodeTable, sb.inodeTableBlocks);
  }
  return z;
}

// The opened-filesystem core: superblock (validated against the device), group
// descriptors (validated as ext4_check_descriptors), system zones (block_validity), the
// bounded block cache, and inode reads (__ext4_iget). It is what fs.ts, the journal and the
// trees build on: `ctx` is the FsContext every structure decoder takes. A journal replay
// overlay can be installed after open (the journal is found through this very core): the
// core then drops its cache and re-reads the superblock and descriptors through it.

import type { StatFs } from './api.js';
import { BitmapHealth, bitmapHealth } from './bitmap.js';
import { BlockCache, DEFAULT_CACHE_BYTES } from './cache.js';
import { FsContext } from './context.js';
import { BlockDevice } from './device.js';
import { CorruptError, FsError, Where } from './errors.js';
import { EXT4_BG_INODE_UNINIT, GroupTable, bgHasSuper, bgNumGdb, bgReservedGdt, groupFirstBlock, loadGroups } from './group.js';
import { ESTALE, Inode, InodeReadOptions, checkInodeNumber, inodeLocation, parseInode } from './inode.js';
import { SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock, hasGroupDescCsum, parseSuperblock } from './superblock.js';
import { SystemZones, buildSystemZones } from './validity.js';

export interface OpenOptions {
  /** Clean-buffer budget of the metadata cache (default 32 MiB). */
  cacheBytes?: number;
  /**
   * The caller opens read-only: descriptor checksum mismatches and bitmaps overlapping the
   * superblock/descriptors are tolerated (and reported in readOnlyReason) as the kernel's
   * ro mount tolerates them.
   */
  readOnly?: boolean;
  /** statfs without subtracting metadata overhead (mount -o minixdf). */
  minixdf?: boolean;
  /** A journal replay overlay known before open (block -> bytes). */
  overlay?: ReadonlyMap<number, Uint8Array>;
}

/** statfs(2) numbers as ext4_statfs computes them (the public StatFs of api.ts). */
export type StatFsNumbers = StatFs;

export const EXT4_NAME_LEN = 255;

/** Reads the 1024 superblock bytes, taking them from the overlay when it holds that block. */
function superblockBytes(dev: BlockDevice, overlay: ReadonlyMap<number, Uint8Array> | null): Uint8Array {
  if (dev.size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) {
    throw new CorruptError('superblock', 'device too small for a superblock', { offset: SUPERBLOCK_OFFSET }, 'size', dev.size, `>= ${SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE}`);
  }
  const bytes = dev.readAt(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE);
  if (!overlay || overlay.size === 0) return bytes;
  const log = new DataView(bytes.buffer).getUint32(0x18, true);
  if (log > 6) return bytes; // parseSuperblock reports it
  const bs = 1024 << log;
  const blk = bs === 1024 ? 1 : 0;
  const ov = overlay.get(blk);
  if (!ov) return bytes;
  const off = bs === 1024 ? 0 : SUPERBLOCK_OFFSET;
  return ov.slice(off, off + SUPERBLOCK_SIZE);
}

interface Loaded {
  sb: Superblock;
  groups: GroupTable;
  zones: SystemZones;
  ctx: FsContext;
}

export class Ext4Core {
  readonly cache: BlockCache;
  private state!: Loaded;
  private overlayInstalled = false;
  private extraZones: Array<[number, number, number]> = [];
  private overheadCache: number | null = null;

  private constructor(readonly device: BlockDevice, private readonly opts: OpenOptions, sb: Superblock) {
    this.cache = new BlockCache(device, sb.blockSize, { maxBytes: opts.cacheBytes ?? DEFAULT_CACHE_BYTES });
    if (opts.overlay) { this.cache.setOverlay(opts.overlay); this.overlayInstalled = true; }
    this.load(sb);
  }

  static open(device: BlockDevice, opts: OpenOptions = {}): Ext4Core {
    const sb = parseSuperblock(superblockBytes(device, opts.overlay ?? null), { deviceBytes: device.size });
    return new Ext4Core(device, opts, sb);
  }

  get sb(): Superblock { return this.state.sb; }
  get groups(): GroupTable { return this.state.groups; }
  get zones(): SystemZones { return this.state.zones; }
  get ctx(): FsContext { return this.state.ctx; }
  /** Why writes are refused (unknown ro_compat, external journal...), or null. */
  get readOnlyReason(): string | null {
    const g = this.state.groups;
    const parts = [this.state.sb.readOnlyReason, g.toleratedCount ? `${g.toleratedCount} group descriptor problem(s) tolerated read-only` : null];
    const r = parts.filter((x) => x !== null).join('; ');
    return r || null;
  }
  /** The journal needs replay and no overlay has been installed yet. */
  get recoveryPending(): boolean { return this.state.sb.needsRecovery && !this.overlayInstalled; }

  private load(sb: Superblock): void {
    const cache = this.cache;
    if (sb.blockSize !== cache.blockSize) {
      throw new CorruptError('superblock', 'block size changed by journal replay', { offset: SUPERBLOCK_OFFSET }, 's_log_block_size', sb.blockSize, cache.blockSize);
    }
    const blocksCount = sb.blocksCount;
    const readBlock = (block: number, what: string, at?: Where): Uint8Array => {
      if (!Number.isSafeInteger(block) || block < 0 || block >= blocksCount) {
        throw new CorruptError(what, 'block number out of range', { ...at, block }, 'block', block, `< ${blocksCount}`);
      }
      return cache.read(block);
    };
    const groups = loadGroups(sb, readBlock, { readOnly: this.opts.readOnly });
    const zones = buildSystemZones(sb, groups);
    for (const [s, c, ino] of this.extraZones) zones.add(s, c, ino);
    const ctx: FsContext = {
      blockSize: sb.blockSize,
      blockBits: sb.blockBits,
      blocksCount,
      firstDataBlock: sb.firstDataBlock,
      inodesCount: sb.inodesCount,
      inodesPerGroup: sb.inodesPerGroup,
      firstIno: sb.firstIno,
      inodeSize: sb.inodeSize,
      clusterBits: sb.clusterBits,
      features: sb.features,
      csumSeed: sb.features.has('metadata_csum') ? sb.csumSeed : null,
      hashSeed: sb.hashSeed,
      defHashVersion: sb.defHashVersion,
      hashUnsigned: (sb.raw.s_flags & 2) !== 0,
      casefold: sb.casefold,
      readBlock,
      checkDataRange: (start, count, structure, at) => zones.check(start, count, structure, at),
    };
    this.state = { sb, groups, zones, ctx };
    this.overheadCache = null;
  }

  /**
   * Installs the journal replay result: later reads see recovered blocks. The superblock
   * and descriptors are re-read and re-validated through it (replay may rewrite them).
   */
  installOverlay(overlay: ReadonlyMap<number, Uint8Array>): void {
    this.cache.setOverlay(overlay);
    this.overlayInstalled = true;
    const sb = parseSuperblock(superblockBytes(this.device, overlay), { deviceBytes: this.device.size });
    this.load(sb);
  }

  /**
   * Marks blocks an inode owns as system zone (the journal's extents, as
   * ext4_protect_reserved_inode): only that inode may map them afterwards.
   */
  addSystemZone(start: number, count: number, ownerIno: number): void {
    this.state.zones.add(start, count, ownerIno);
    this.extraZones.push([start, count, ownerIno]);
  }

  /** __ext4_iget: number check, location, raw read, checksum and field validation. */
  readInode(ino: number, opts: InodeReadOptions = {}): Inode {
    const { sb, groups, ctx } = this.state;
    checkInodeNumber(sb, ino, opts);
    const g = Math.floor((ino - 1) / sb.inodesPerGroup);
    const gd = groups.get(g);
    // An uninitialised inode table holds nothing live (e2fsprogs reads such inodes as zero).
    if (hasGroupDescCsum(sb) && (gd.flags & EXT4_BG_INODE_UNINIT)) {
      if (opts.special) throw new CorruptError('inode', 'special inode unallocated', { inode: ino, group: g }, 'bg_flags', gd.flags);
      throw new FsError(ESTALE, `inode ${ino} is not in use`);
    }
    const loc = inodeLocation(sb, gd.inodeTable, ino);
    const at: Where = { block: loc.block, offset: loc.offset };
    const blk = ctx.readBlock(loc.block, 'inode', { inode: ino });
    const raw = blk.slice(loc.offset, loc.offset + sb.inodeSize);
    return parseInode(raw, ino, sb, ctx, at, opts);
  }

  /** Metadata overhead in blocks, as ext4_calculate_overhead (cached until reload). */
  overheadBlocks(): number {
    if (this.overheadCache !== null) return this.overheadCache;
    const { sb, groups } = this.state;
    let overhead: number;
    if (sb.features.has('bigalloc') && sb.overheadClusters > 0 && sb.overheadClusters <= sb.blocksCount) {
      overhead = sb.overheadClusters * 2 ** sb.clusterBits;
    } else {
      let clusters = Math.floor(sb.firstDataBlock / 2 ** sb.clusterBits);
      clusters += sb.features.has('bigalloc') ? bigallocOverhead(sb, groups) : plainOverhead(sb, groups);
      clusters += Math.ceil(this.journalBlocks() / 2 ** sb.clusterBits);
      overhead = clusters * 2 ** sb.clusterBits;
    }
    this.overheadCache = overhead;
    return overhead;
  }

  private journalBlocks(): number {
    const sb = this.state.sb;
    if (!sb.features.has('has_journal') || sb.journal.inum === 0) return 0;
    try {
      return Math.floor(this.readInode(sb.journal.inum, { special: true }).size / sb.blockSize);
    } catch (e) {
      if (e instanceof CorruptError || e instanceof FsError) return 0; // kernel: "can't get journal size"
      throw e;
    }
  }

  /** ext4_statfs. */
  statfs(): StatFsNumbers {
    const { sb, groups } = this.state;
    const ratio = 2 ** sb.clusterBits;
    const overhead = this.opts.minixdf ? 0 : this.overheadBlocks();
    const totals = groups.totals();
    const bfree = totals.freeClusters * ratio;
    const resvClusters = sb.features.has('extents') ? Math.min(Math.floor(Math.floor(sb.blocksCount / ratio) / 50), 4096) : 0;
    const reserved = sb.reservedBlocksCount + resvClusters * ratio;
    return {
      blockSize: sb.blockSize,
      blocks: Math.max(0, sb.blocksCount - overhead),
      bfree,
      bavail: bfree < reserved ? 0 : bfree - reserved,
      files: sb.inodesCount,
      ffree: totals.freeInodes,
      nameMax: EXT4_NAME_LEN,
      fsid: uuidToFsid(sb.uuid),
    };
  }

  bitmapHealth(maxGroups?: number): BitmapHealth {
    const { sb, groups, ctx } = this.state;
    return bitmapHealth(sb, groups, ctx.readBlock, maxGroups);
  }

  close(): void {
    this.device.close();
  }
}

/**
 * count_overhead without bigalloc: ext4_num_base_meta_blocks (superblock, descriptors and
 * reserved GDT blocks) + inode table + two bitmaps per group.
 */
function plainOverhead(sb: Superblock, groups: GroupTable): number {
  let n = 0;
  for (let g = 0; g < groups.count; g++) {
    n += (bgHasSuper(sb, g) ? 1 : 0) + bgNumGdb(sb, g) + bgReservedGdt(sb, g) + sb.inodeTableBlocks + 2;
  }
  return n;
}

/**
 * count_overhead with bigalloc: the clusters of each group that hold metadata, counted
 * once. Groups are cluster-aligned (first data block 0), so this is the number of distinct
 * clusters covered by metadata runs; runs are merged as intervals, never expanded per block.
 * Like the kernel, an inode table is counted only when it ends before its group's last block.
 */
function bigallocOverhead(sb: Superblock, groups: GroupTable): number {
  const ratio = 2 ** sb.clusterBits;
  const runs: Array<[number, number]> = []; // [first cluster, last cluster]
  const add = (b: number, n: number): void => {
    if (n > 0) runs.push([Math.floor(b / ratio), Math.floor((b + n - 1) / ratio)]);
  };
  const groupOf = (b: number): number => Math.floor((b - sb.firstDataBlock) / sb.blocksPerGroup);
  for (let g = 0; g < groups.count; g++) {
    const d = groups.get(g);
    add(d.blockBitmap, 1);
    add(d.inodeBitmap, 1);
    const last = groupFirstBlock(sb, groupOf(d.inodeTable)) + sb.blocksPerGroup - 1;
    if (d.inodeTable + sb.inodeTableBlocks <= last) add(d.inodeTable, sb.inodeTableBlocks);
    const meta = (bgHasSuper(sb, g) ? 1 : 0) + Math.min(bgNumGdb(sb, g), sb.blocksPerGroup - 1);
    add(groupFirstBlock(sb, g), meta);
  }
  runs.sort((x, y) => x[0] - y[0]);
  let n = 0;
  let end = -1;
  for (const [a, b] of runs) {
    if (b <= end) continue;
    n += b - Math.max(a, end + 1) + 1;
    end = b;
  }
  return n;
}

/** uuid_to_fsid: the two halves of le64(uuid[0..8]) ^ le64(uuid[8..16]). */
export function uuidToFsid(uuid: Uint8Array): [number, number] {
  const dv = new DataView(uuid.buffer, uuid.byteOffset, 16);
  return [(dv.getUint32(0, true) ^ dv.getUint32(8, true)) >>> 0, (dv.getUint32(4, true) ^ dv.getUint32(12, true)) >>> 0];
}

export function openFs(device: BlockDevice, opts: OpenOptions = {}): Ext4Core {
  return Ext4Core.open(device, opts);
}


// The bounded metadata block cache. Every metadata read in the engine goes through get(),
// synchronously. Buffers carry their block number, bytes and a dirty flag, and the cache
// has hook slots for the write path (markDirty/flush callbacks, a journal hook) that the
// read path leaves empty. Journal replay fills an overlay (block -> bytes) that wins over
// the device, so an image that needs recovery reads as after recovery without being written.
// Replacement is CLOCK (second chance) over a Map's insertion order: a hit only sets a
// flag (moving Map entries on every hit makes V8 rehash a near-full table constantly);
// eviction gives referenced buffers one more round. Dirty buffers are pinned until flushed.

import { BlockDevice } from './device.js';
import { IoError } from './errors.js';

export interface CacheBuffer {
  readonly block: number;
  /** Shared bytes: readers never mutate them; writers mutate then markDirty(). */
  readonly data: Uint8Array;
  dirty: boolean;
}

/** The journal's slot: it sees every buffer a transaction dirties (write path to come). */
export interface JournalHook {
  dirtied(buf: CacheBuffer): void;
}

export interface CacheHooks {
  /** Called after a buffer is loaded from the device or the overlay. */
  onLoad?(buf: CacheBuffer): void;
  onMarkDirty?(buf: CacheBuffer): void;
  /** Replaces the default write-back (device.writeSync) when set. */
  writeBack?(bufs: readonly CacheBuffer[]): void;
}

export interface CacheOptions {
  /** Byte budget for clean buffers; default 32 MiB. */
  maxBytes?: number;
  hooks?: CacheHooks;
}

export const DEFAULT_CACHE_BYTES = 32 << 20;

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  overlayHits: number;
  buffers: number;
  bytes: number;
}

export class BlockCache {
  private readonly map = new Map<number, CacheBuffer>();
  /** Blocks hit since they were last passed by the eviction hand. */
  private readonly referenced = new Set<number>();
  private overlayMap: ReadonlyMap<number, Uint8Array> | null = null;
  private bytes = 0;
  private readonly maxBytes: number;
  readonly hooks: CacheHooks;
  journal: JournalHook | null = null;
  readonly stats: CacheStats = { hits: 0, misses: 0, evictions: 0, overlayHits: 0, buffers: 0, bytes: 0 };

  constructor(private readonly dev: BlockDevice, readonly blockSize: number, opts: CacheOptions = {}) {
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new IoError(`bad cache block size ${blockSize}`, {});
    this.maxBytes = Math.max(opts.maxBytes ?? DEFAULT_CACHE_BYTES, blockSize * 16);
    this.hooks = opts.hooks ?? {};
  }

  /** Blocks the device can hold; callers range-check on-disk numbers against blocksCount first. */
  get deviceBlocks(): number {
    return Math.floor(this.dev.size / this.blockSize);
  }

  /**
   * The buffer for `block`, loading it (overlay first, then the device) on a miss.
   * Throws IoError when the block lies past the device.
   */
  get(block: number): CacheBuffer {
    const hit = this.map.get(block);
    if (hit) {
      this.stats.hits++;
      this.referenced.add(block);
      return hit;
    }
    this.stats.misses++;
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.deviceBlocks) {
      throw new IoError(`block beyond end of device (${this.deviceBlocks} blocks)`, { block });
    }
    const data = new Uint8Array(this.blockSize);
    const ov = this.overlayMap?.get(block);
    if (ov) {
      this.stats.overlayHits++;
      data.set(ov.subarray(0, this.blockSize));
    } else {
      this.dev.readSync(data, 0, this.blockSize, block * this.blockSize);
    }
    const buf: CacheBuffer = { block, data, dirty: false };
    this.insert(buf);
    this.hooks.onLoad?.(buf);
    return buf;
  }

  /** The bytes of `block` (shared, read-only by convention). */
  read(block: number): Uint8Array {
    return this.get(block).data;
  }

  /** Whether `block` is currently cached (tests, read-ahead decisions). */
  has(block: number): boolean {
    return this.map.has(block);
  }

  markDirty(buf: CacheBuffer): void {
    if (this.map.get(buf.block) !== buf) throw new IoError('markDirty on a buffer not in the cache', { block: buf.block });
    buf.dirty = true;
    this.journal?.dirtied(buf);
    this.hooks.onMarkDirty?.(buf);
  }

  dirtyBuffers(): CacheBuffer[] {
    return [...this.map.values()].filter((b) => b.dirty);
  }

  /** Writes dirty buffers back (through the hook, else to the device) and unpins them. */
  flush(): void {
    const dirty = this.dirtyBuffers().sort((a, b) => a.block - b.block);
    if (dirty.length === 0) return;
    if (this.hooks.writeBack) this.hooks.writeBack(dirty);
    else for (const b of dirty) this.dev.writeSync(b.data, 0, this.blockSize, b.block * this.blockSize);
    for (const b of dirty) b.dirty = false;
    this.evict();
  }

  /**
   * Installs the journal-replay overlay and drops every clean buffer, so later reads see
   * the recovered blocks. Dirty buffers are kept: they are newer than any replay.
   */
  setOverlay(overlay: ReadonlyMap<number, Uint8Array> | null): void {
    if (overlay) {
      for (const [blk, bytes] of overlay) {
        if (!Number.isSafeInteger(blk) || blk < 0 || bytes.byteLength < this.blockSize) {
          throw new IoError('overlay block is malformed', { block: blk });
        }
      }
    }
    this.overlayMap = overlay;
    this.invalidate();
  }

  get overlay(): ReadonlyMap<number, Uint8Array> | null {
    return this.overlayMap;
  }

  /** Drops clean buffers (one block, or all): the image may have changed underneath. */
  invalidate(block?: number): void {
    if (block !== undefined) {
      const b = this.map.get(block);
      if (b && !b.dirty) this.remove(b);
      return;
    }
    for (const b of [...this.map.values()]) if (!b.dirty) this.remove(b);
  }

  private insert(buf: CacheBuffer): void {
    this.map.set(buf.block, buf);
    this.bytes += buf.data.byteLength;
    this.evict();
    this.syncStats();
  }

  private remove(buf: CacheBuffer): void {
    this.map.delete(buf.block);
    this.referenced.delete(buf.block);
    this.bytes -= buf.data.byteLength;
    this.syncStats();
  }

  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    // Two passes at most: the first may only clear reference flags (moving those buffers
    // behind the hand), the second then finds an unreferenced clean buffer if one exists.
    for (let pass = 0; pass < 2 && this.bytes > this.maxBytes; pass++) {
      const n = this.map.size;
      let i = 0;
      for (const b of this.map.values()) {
        if (this.bytes <= this.maxBytes || i++ >= n) break;
        if (b.dirty) continue;
        if (this.referenced.delete(b.block)) {
          this.map.delete(b.block);
          this.map.set(b.block, b); // second chance: to the back
          continue;
        }
        this.map.delete(b.block);
        this.bytes -= b.data.byteLength;
        this.stats.evictions++;
      }
    }
    this.syncStats();
  }

  private syncStats(): void {
    this.stats.buffers = this.map.size;
    this.stats.bytes = this.bytes;
  }
}

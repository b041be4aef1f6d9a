import { BlockCache } from './cache.js';
import { BlockDevice } from './device.js';
import { IoError } from './errors.js';

const BS = 1024;
function device(blocks: number): { dev: BlockDevice; bytes: Uint8Array } {
  const bytes = new Uint8Array(blocks * BS);
  for (let b = 0; b < blocks; b++) bytes.fill(b & 0xff, b * BS, (b + 1) * BS);
  return { dev: BlockDevice.fromBytes(bytes), bytes };
}

describe('BlockCache', () => {
  test('reads blocks, hits the second time', () => {
    const { dev } = device(64);
    const c = new BlockCache(dev, BS);
    expect(c.read(5)[0]).toBe(5);
    expect(c.read(5)[BS - 1]).toBe(5);
    expect(c.stats.misses).toBe(1);
    expect(c.stats.hits).toBe(1);
    expect(c.get(5)).toBe(c.get(5));
  });

  test('bounded by bytes, least recently used evicted first', () => {
    const { dev } = device(64);
    const c = new BlockCache(dev, BS, { maxBytes: 16 * BS });
    for (let b = 0; b < 16; b++) c.read(b);
    c.read(0); // refresh 0
    c.read(16); // evicts 1, the oldest
    expect(c.has(0)).toBe(true);
    expect(c.has(1)).toBe(false);
    expect(c.stats.buffers).toBe(16);
    expect(c.stats.bytes).toBe(16 * BS);
    for (let b = 20; b < 64; b++) c.read(b);
    expect(c.stats.buffers).toBe(16);
    expect(c.stats.evictions).toBe(64 - 20 + 1);
  });

  test('dirty buffers are pinned until flushed, then written back', () => {
    const { dev, bytes } = device(64);
    const c = new BlockCache(dev, BS, { maxBytes: 16 * BS });
    const b3 = c.get(3);
    b3.data[0] = 0xaa;
    c.markDirty(b3);
    for (let b = 10; b < 60; b++) c.read(b);
    expect(c.has(3)).toBe(true);
    expect(c.dirtyBuffers().map((b) => b.block)).toEqual([3]);
    expect(bytes[3 * BS]).toBe(3);
    c.flush();
    expect(bytes[3 * BS]).toBe(0xaa);
    expect(b3.dirty).toBe(false);
    expect(c.has(3)).toBe(true);
    c.read(60); // block 3 is clean now and the least recently used
    expect(c.has(3)).toBe(false);
  });

  test('hooks: journal sees dirtied buffers, writeBack replaces device writes', () => {
    const { dev, bytes } = device(8);
    const seen: number[] = [];
    const written: number[] = [];
    const c = new BlockCache(dev, BS, { hooks: { writeBack: (bufs) => bufs.forEach((b) => written.push(b.block)) } });
    c.journal = { dirtied: (b) => seen.push(b.block) };
    c.markDirty(c.get(2));
    c.markDirty(c.get(1));
    c.flush();
    expect(seen).toEqual([2, 1]);
    expect(written).toEqual([1, 2]);
    expect(bytes[BS]).toBe(1);
    expect(() => c.markDirty({ block: 7, data: new Uint8Array(BS), dirty: false })).toThrow(IoError);
  });

  test('the overlay wins over the device and replaces cached clean blocks', () => {
    const { dev } = device(8);
    const c = new BlockCache(dev, BS);
    expect(c.read(4)[0]).toBe(4);
    c.setOverlay(new Map([[4, new Uint8Array(BS).fill(0x44)]]));
    expect(c.read(4)[0]).toBe(0x44);
    expect(c.read(5)[0]).toBe(5);
    expect(c.stats.overlayHits).toBe(1);
    c.setOverlay(null);
    expect(c.read(4)[0]).toBe(4);
    expect(() => c.setOverlay(new Map([[1, new Uint8Array(10)]]))).toThrow(IoError);
  });

  test('blocks past the device are IoError; invalidate drops clean buffers', () => {
    const { dev } = device(8);
    const c = new BlockCache(dev, BS);
    expect(() => c.read(8)).toThrow(IoError);
    expect(() => c.read(-1)).toThrow(IoError);
    c.read(1);
    c.invalidate(1);
    expect(c.has(1)).toBe(false);
    c.read(2);
    c.invalidate();
    expect(c.stats.buffers).toBe(0);
  });
});

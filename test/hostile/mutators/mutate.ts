// Structure-aware mutations: a case (seed, index) picks 1–3 structures from the map, and for
// each a field by its schema set to a boundary value (0, 1, max, max-1, off by one, a
// related size, a pointer at another structure or at itself, a huge count), or a bit flip,
// an entry duplicated or swapped, a range zeroed. Then, for most cases, every checksum that
// covers the changed bytes is recomputed so the damage reaches the deep checks; the rest are
// left unsigned to exercise the checksum paths. A case yields a byte patch that can be
// undone, so one in-memory image serves thousands of cases.

import { Prng } from './prng.js';
import type { Field, Region, Signer, SignContext, StructMap } from './structmap.js';
import { setSuperblockCsum } from '../../../daemon/ext4/superblock.js';
import { setGroupDescCsum } from '../../../daemon/ext4/group.js';
import { setInodeCsum } from '../../../daemon/ext4/inode.js';
import { inodeCsumSeed } from '../../../daemon/ext4/context.js';
import { setExtentBlockCsum } from '../../../daemon/ext4/extent.js';
import { setDirBlockCsum } from '../../../daemon/ext4/dir.js';
import { setDxCsum } from '../../../daemon/ext4/htree.js';
import { setXattrBlockCsum } from '../../../daemon/ext4/xattr.js';
import { setJournalSuperblockCsum } from '../../../daemon/ext4/journal/superblock.js';
import { crc32c } from '../../../daemon/util/crc.js';

export interface PatchPiece {
  off: number;
  /** Bytes after the mutation (hex), and before it (for undo). */
  hex: string;
  old: Uint8Array;
}

export interface Case {
  seed: number;
  index: number;
  description: string;
  signed: boolean;
  patch: PatchPiece[];
}

/** Records the original bytes of every range touched, so the case can be undone. */
class Tracker {
  readonly saved = new Map<number, number>();
  constructor(readonly img: Uint8Array) {}
  touch(off: number, len: number): void {
    for (let i = off; i < off + len && i < this.img.length; i++) if (!this.saved.has(i)) this.saved.set(i, this.img[i]);
  }
}

function readField(img: Uint8Array, off: number, f: Field): bigint {
  const dv = new DataView(img.buffer, img.byteOffset + off + f.at, f.width);
  switch (f.width) {
    case 1: return BigInt(dv.getUint8(0));
    case 2: return BigInt(dv.getUint16(0, !f.be));
    case 4: return BigInt(dv.getUint32(0, !f.be));
    default: return dv.getBigUint64(0, !f.be);
  }
}

function writeField(t: Tracker, off: number, f: Field, v: bigint): void {
  const mask = (1n << BigInt(f.width * 8)) - 1n;
  const x = ((v % (mask + 1n)) + (mask + 1n)) & mask;
  t.touch(off + f.at, f.width);
  const dv = new DataView(t.img.buffer, t.img.byteOffset + off + f.at, f.width);
  switch (f.width) {
    case 1: dv.setUint8(0, Number(x)); break;
    case 2: dv.setUint16(0, Number(x), !f.be); break;
    case 4: dv.setUint32(0, Number(x), !f.be); break;
    default: dv.setBigUint64(0, x, !f.be);
  }
}

function interestingValue(rng: Prng, map: StructMap, r: Region, f: Field, cur: bigint): { v: bigint; why: string } {
  const max = (1n << BigInt(f.width * 8)) - 1n;
  const opts: Array<() => [bigint, string]> = [
    () => [0n, '0'], () => [1n, '1'], () => [max, 'max'], () => [max - 1n, 'max-1'],
    () => [max >> 1n, 'max/2'], () => [(max >> 1n) + 1n, 'max/2+1'],
    () => [cur + 1n, 'cur+1'], () => [cur - 1n, 'cur-1'], () => [cur * 2n, 'cur*2'], () => [cur + 8n, 'cur+8'],
    () => [cur ^ (1n << BigInt(rng.int(f.width * 8))), 'bitflip'],
    () => [BigInt(rng.u32()) & max, 'random'],
    () => [BigInt(map.blockSize), 'blocksize'], () => [BigInt(map.blockSize + 1), 'blocksize+1'],
    () => [BigInt(r.len - f.at), 'bytes-left'], () => [BigInt(r.len - f.at + 1), 'bytes-left+1'],
    () => [BigInt(map.blocksCount), 'blocks_count'], () => [BigInt(map.blocksCount - 1), 'blocks_count-1'],
    () => [BigInt(map.inodesCount), 'inodes_count'], () => [BigInt(map.inodesCount + 1), 'inodes_count+1'],
    () => [0xffffn, '0xffff'], () => [0x10000n, '0x10000'], () => [0x7fffffffn, 'int_max'],
  ];
  if (f.ptr || rng.chance(0.15)) {
    opts.push(() => [BigInt(rng.pick(map.blocks)), 'other-structure'], () => [BigInt(r.block ?? 0), 'self-block']);
  }
  if (f.inoRef || rng.chance(0.1)) {
    opts.push(() => [BigInt(rng.pick(map.inodes)), 'other-inode'], () => [BigInt(r.ino ?? 2), 'self-inode'], () => [2n, 'root-ino']);
  }
  const sem = SEMANTIC[f.name.slice(f.name.lastIndexOf('.') + 1)];
  if (sem && rng.chance(0.45)) return sem(rng, cur);
  const [v, why] = rng.pick(opts)();
  return { v, why };
}

const INODE_FLAG_BITS = [0x80000, 0x10000000, 0x1000, 0x200000, 0x40000, 0x40000000, 0x800, 0x100000, 0x4000, 0x10, 0x20, 0x2000000];
const FILE_TYPES = [0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000, 0, 0o170000];
const flipBit = (bits: number) => (rng: Prng, cur: bigint) => {
  const bit = rng.int(bits);
  return { v: cur ^ (1n << BigInt(bit)), why: `toggle bit ${bit}` };
};

/** Field-specific values that change meaning rather than magnitude (flags, types, levels). */
const SEMANTIC: Record<string, (rng: Prng, cur: bigint) => { v: bigint; why: string }> = {
  i_flags: (rng, cur) => { const b = rng.pick(INODE_FLAG_BITS); return { v: cur ^ BigInt(b), why: `toggle flag 0x${b.toString(16)}` }; },
  i_mode: (rng, cur) => { const t = rng.pick(FILE_TYPES); return { v: (cur & 0o7777n) | BigInt(t), why: `file type 0o${t.toString(8)}` }; },
  i_links_count: (rng) => ({ v: BigInt(rng.pick([0, 1, 2, 65000, 65535])), why: 'links' }),
  i_extra_isize: (rng) => ({ v: BigInt(rng.pick([0, 2, 4, 28, 30, 32, 33, 96, 128, 160, 252])), why: 'extra_isize' }),
  s_feature_compat: flipBit(12),
  s_feature_incompat: flipBit(20),
  s_feature_ro_compat: flipBit(18),
  s_log_block_size: (rng) => ({ v: BigInt(rng.int(8)), why: 'log block size' }),
  s_log_cluster_size: (rng) => ({ v: BigInt(rng.int(8)), why: 'log cluster size' }),
  s_log_groups_per_flex: (rng) => ({ v: BigInt(rng.pick([0, 1, 4, 16, 31, 32, 64])), why: 'log groups per flex' }),
  s_rev_level: (rng) => ({ v: BigInt(rng.int(3)), why: 'rev level' }),
  s_inode_size: (rng) => ({ v: BigInt(rng.pick([0, 64, 127, 128, 129, 255, 256, 512, 1024, 4096, 8192])), why: 'inode size' }),
  s_desc_size: (rng) => ({ v: BigInt(rng.pick([0, 16, 32, 33, 63, 64, 65, 128, 1024])), why: 'desc size' }),
  s_def_hash_version: (rng) => ({ v: BigInt(rng.int(8)), why: 'hash version' }),
  eh_depth: (rng) => ({ v: BigInt(rng.int(7)), why: 'depth' }),
  eh_magic: (rng, cur) => ({ v: rng.chance(0.5) ? 0n : cur ^ 1n, why: 'magic' }),
  indirect_levels: (rng) => ({ v: BigInt(rng.int(5)), why: 'levels' }),
  hash_version: (rng) => ({ v: BigInt(rng.int(8)), why: 'hash version' }),
  info_length: (rng) => ({ v: BigInt(rng.pick([0, 4, 7, 8, 9, 16, 255])), why: 'info length' }),
  e_name_index: (rng) => ({ v: BigInt(rng.int(12)), why: 'name index' }),
  h_blocktype: (rng) => ({ v: BigInt(1 + rng.int(6)), why: 'block type' }),
  bg_flags: (rng) => ({ v: BigInt(rng.int(8)), why: 'bg flags' }),
};

function mutateOnce(rng: Prng, map: StructMap, t: Tracker, r: Region): string {
  const img = t.img;
  const where = `${r.kind}${r.ino !== null ? ` ino ${r.ino}` : ''}${r.block !== null ? ` blk ${r.block}` : ''}`;
  const op = rng.int(100);
  if (op < 62 && r.fields.length) {
    const f = rng.pick(r.fields);
    const cur = readField(img, r.off, f);
    const { v, why } = interestingValue(rng, map, r, f, cur);
    writeField(t, r.off, f, v);
    return `${where}: ${f.name} ${cur} -> ${readField(img, r.off, f)} (${why})`;
  }
  if (op < 76) {
    const n = 1 + rng.int(4);
    const bits: number[] = [];
    for (let i = 0; i < n; i++) {
      const bit = rng.int(r.len * 8);
      t.touch(r.off + (bit >> 3), 1);
      img[r.off + (bit >> 3)] ^= 1 << (bit & 7);
      bits.push(bit);
    }
    return `${where}: flip bits ${bits.join(',')}`;
  }
  if (op < 86 && r.entries.length >= 2) {
    const a = rng.pick(r.entries);
    const b = rng.pick(r.entries.filter((e) => e !== a));
    const size = Math.min(a.size, b.size);
    const A = img.slice(r.off + a.at, r.off + a.at + size);
    const B = img.slice(r.off + b.at, r.off + b.at + size);
    t.touch(r.off + a.at, size);
    t.touch(r.off + b.at, size);
    if (rng.chance(0.5)) {
      img.set(A, r.off + b.at);
      return `${where}: duplicate entry @${a.at} over @${b.at}`;
    }
    img.set(B, r.off + a.at);
    img.set(A, r.off + b.at);
    return `${where}: swap entries @${a.at} and @${b.at}`;
  }
  if (op < 90 && r.len <= 65536) {
    // Type-preserving confusion: another structure of the same kind copied over this one
    // (re-signed as this one below), e.g. an extent block over its sibling or parent.
    const peers = (kindCache.get(map)?.get(r.kind) ?? []).filter((p) => p !== r && p.len === r.len);
    if (peers.length) {
      const p = rng.pick(peers);
      t.touch(r.off, r.len);
      img.copyWithin(r.off, p.off, p.off + p.len);
      return `${where}: overwritten by ${p.kind}${p.ino !== null ? ` ino ${p.ino}` : ''}${p.block !== null ? ` blk ${p.block}` : ''}`;
    }
  }
  if (op < 95) {
    const at = rng.int(r.len);
    const len = Math.min(1 + rng.int(32), r.len - at);
    t.touch(r.off + at, len);
    const fill = rng.pick([0, 0xff, rng.u32() & 0xff]);
    img.fill(fill, r.off + at, r.off + at + len);
    return `${where}: fill ${len} bytes @${at} with 0x${fill.toString(16)}`;
  }
  // Several fields of the same structure at once (counts that agree with each other).
  const fs = r.fields.length ? [rng.pick(r.fields), rng.pick(r.fields)] : [];
  const parts = fs.map((f) => {
    const cur = readField(img, r.off, f);
    const { v, why } = interestingValue(rng, map, r, f, cur);
    writeField(t, r.off, f, v);
    return `${f.name} ${cur} -> ${readField(img, r.off, f)} (${why})`;
  });
  return `${where}: ${parts.join('; ') || 'no fields'}`;
}

/** Recomputes one checksum in place; a signer that no longer applies (tail gone) is skipped. */
function sign(t: Tracker, sc: SignContext, s: Signer): void {
  const img = t.img;
  const fs = sc.fs;
  const sb = fs.core.sb;
  const bs = sb.blockSize;
  const metaCsum = sb.features.has('metadata_csum');
  try {
    switch (s.t) {
      case 'sb':
        if (!metaCsum) return;
        t.touch(1024 + 0x3fc, 4);
        setSuperblockCsum(img, 1024);
        return;
      case 'gd':
        if (!metaCsum && !sb.features.has('gdt_csum')) return;
        t.touch(s.off + 0x1e, 2);
        setGroupDescCsum(sb, s.group, img, s.off);
        return;
      case 'inode': {
        if (!metaCsum || sc.fs.ctx.csumSeed === null) return;
        const raw = img.subarray(s.off, s.off + sb.inodeSize);
        const gen = new DataView(raw.buffer, raw.byteOffset).getUint32(0x64, true);
        t.touch(s.off + 0x7c, 2);
        t.touch(s.off + 0x82, 2);
        setInodeCsum(raw, sb.inodeSize, inodeCsumSeed(sc.fs.ctx.csumSeed, s.ino, gen));
        return;
      }
      case 'extent': {
        const info = sc.infos.get(s.ino);
        if (!info) return;
        t.touch(s.off, bs);
        setExtentBlockCsum(info, img.subarray(s.off, s.off + bs));
        return;
      }
      case 'dirleaf': case 'dx': {
        const info = sc.infos.get(s.ino);
        if (!info) return;
        t.touch(s.off + bs - 8, 8);
        const b = img.subarray(s.off, s.off + bs);
        if (s.t === 'dirleaf') setDirBlockCsum(fs.ctx, info, b);
        else setDxCsum(fs.ctx, info, b);
        return;
      }
      case 'xattr':
        t.touch(s.off + 16, 4);
        setXattrBlockCsum(fs.ctx, s.block, img.subarray(s.off, s.off + bs));
        return;
      case 'jsb':
        if (!sc.jsb || sc.jsb.checksumVersion < 2) return;
        t.touch(s.off + 0xfc, 4);
        setJournalSuperblockCsum(img.subarray(s.off, s.off + 1024));
        return;
      case 'jdesc': case 'jcommit': {
        if (!sc.jsb || sc.jsb.checksumVersion < 2) return;
        const hole = s.t === 'jdesc' ? bs - 4 : 0x10;
        const b = img.subarray(s.off, s.off + bs);
        let c = crc32c(sc.jsb.csumSeed, b, 0, hole);
        c = crc32c(c, new Uint8Array(4));
        c = crc32c(c, b, hole + 4, bs);
        t.touch(s.off + hole, 4);
        new DataView(b.buffer, b.byteOffset).setUint32(hole, c >>> 0, false);
        return;
      }
    }
  } catch {
    // The mutation destroyed what the checksum's placement depends on (a dirent tail, a dx
    // count): the block stays as mutated, which is a fine test input too.
  }
}

/** Picks structures evenly by kind first, so hundreds of inodes do not drown the superblock. */
function pickRegion(rng: Prng, map: StructMap, byKind: Map<string, Region[]>): Region {
  const kinds = [...byKind.keys()];
  return rng.pick(byKind.get(rng.pick(kinds))!);
}

const kindCache = new WeakMap<StructMap, Map<string, Region[]>>();

/** Applies case (seed, index) to `img` in place; call undo() to restore the base bytes. */
export function applyCase(img: Uint8Array, map: StructMap, sc: SignContext, seed: number, index: number): Case & { undo: () => void } {
  let byKind = kindCache.get(map);
  if (!byKind) {
    byKind = new Map();
    for (const r of map.regions) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
    kindCache.set(map, byKind);
  }
  const rng = Prng.forCase(seed, index);
  const t = new Tracker(img);
  // One case in ten is heavy: 3–8 mutations, mostly stacked on one structure, so counts,
  // sizes and pointers that each pass alone can disagree with each other.
  const heavy = rng.chance(0.1);
  const n = heavy ? 3 + rng.int(6) : 1 + (rng.chance(0.3) ? 1 : 0) + (rng.chance(0.1) ? 1 : 0);
  const descs: string[] = [];
  const touched: Region[] = [];
  for (let i = 0; i < n; i++) {
    const r = heavy && touched.length && rng.chance(0.7) ? touched[0] : pickRegion(rng, map, byKind);
    descs.push(mutateOnce(rng, map, t, r));
    touched.push(r);
  }
  const signed = rng.chance(0.85);
  if (signed) {
    // Inner structures first (dir/extent tails), the inode or descriptor that holds them last.
    const signers = touched.flatMap((r) => r.signers);
    const order = ['extent', 'dirleaf', 'dx', 'xattr', 'jdesc', 'jcommit', 'inode', 'gd', 'jsb', 'sb'];
    signers.sort((a, b) => order.indexOf(a.t) - order.indexOf(b.t));
    for (const s of signers) sign(t, sc, s);
  }
  const patch = packPatch(img, t.saved);
  return {
    seed, index, signed, patch,
    description: `${descs.join(' | ')}${signed ? '' : ' [unsigned]'}`,
    undo: () => { for (const [i, v] of t.saved) img[i] = v; },
  };
}

function packPatch(img: Uint8Array, saved: Map<number, number>): PatchPiece[] {
  const offs = [...saved.keys()].filter((i) => img[i] !== saved.get(i)).sort((a, b) => a - b);
  const out: PatchPiece[] = [];
  for (let i = 0; i < offs.length;) {
    let j = i + 1;
    while (j < offs.length && offs[j] === offs[j - 1] + 1) j++;
    const off = offs[i];
    const len = offs[j - 1] - off + 1;
    out.push({ off, hex: Buffer.from(img.subarray(off, off + len)).toString('hex'), old: Uint8Array.from(offs.slice(i, j).map((o) => saved.get(o)!)) });
    i = j;
  }
  return out;
}

/** Applies a stored patch (regression replay) in place; returns the undo. */
export function applyPatch(img: Uint8Array, patch: Array<{ off: number; hex: string }>): () => void {
  const saved: Array<[number, Uint8Array]> = [];
  for (const p of patch) {
    const b = Buffer.from(p.hex, 'hex');
    saved.push([p.off, img.slice(p.off, p.off + b.length)]);
    img.set(b, p.off);
  }
  return () => { for (const [off, b] of saved.reverse()) img.set(b, off); };
}

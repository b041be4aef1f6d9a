// The structure map of a base image: where each metadata structure lives (byte offset and
// length in the image), its fields (from the decoders' schemas: offset, width, endianness)
// and which checksum covers it. Derived with the engine itself: the FsContext readBlock of
// an opened Ext4Fs is wrapped to record (block, what, inode) while walkFs visits every
// directory, inode, file, link and xattr; the superblock, descriptors and journal blocks
// are located from the decoded superblock and the journal inode's block map.

import { openImage, type Ext4Fs } from '../../../daemon/ext4/fs.js';
import { walkFs } from '../../../daemon/ext4/walk.js';
import type { InodeInfo } from '../../../daemon/ext4/context.js';
import { EXT4_INDEX_FL, EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL } from '../../../daemon/ext4/context.js';
import { SUPERBLOCK } from '../../../daemon/ext4/superblock.js';
import { GROUP_DESC, descriptorLoc } from '../../../daemon/ext4/group.js';
import { INODE, inodeLocation } from '../../../daemon/ext4/inode.js';
import { ext4_extent_header, ext4_extent, ext4_extent_idx } from '../../../daemon/ext4/extent.js';
import { ext4DirEntry2Schema } from '../../../daemon/ext4/dir.js';
import { dxRootInfoSchema, dxCountLimitSchema, dxEntrySchema } from '../../../daemon/ext4/htree.js';
import { ext4_xattr_header, ext4_xattr_entry, EXT4_XATTR_MAGIC, xattrEntryLen } from '../../../daemon/ext4/xattr.js';
import { journalSuperblock, journalHeader, JBD2_MAGIC_NUMBER, parseJournalSuperblock, type JournalSuperblock } from '../../../daemon/ext4/journal/superblock.js';
import { fileRuns } from '../../../daemon/ext4/filemap.js';
import type { FieldSpec } from '../../../daemon/util/bytes.js';

export type RegionKind = 'superblock' | 'group_desc' | 'inode' | 'block_map' | 'extent_root' | 'extent_block' | 'indirect_block'
  | 'dir_block' | 'dx_root' | 'dx_node' | 'xattr_block' | 'xattr_ibody' | 'inline_data'
  | 'journal_sb' | 'journal_desc' | 'journal_commit' | 'journal_revoke';

export interface Field {
  name: string;
  /** Offset inside the region. */
  at: number;
  width: 1 | 2 | 4 | 8;
  be: boolean;
  /** Holds a block number (mutations may point it at another structure or itself). */
  ptr?: boolean;
  /** Holds an inode number. */
  inoRef?: boolean;
}

/** A checksum to recompute after a mutation; offsets are absolute in the image. */
export type Signer =
  | { t: 'sb' }
  | { t: 'gd'; group: number; off: number }
  | { t: 'inode'; ino: number; off: number }
  | { t: 'extent'; ino: number; off: number }
  | { t: 'dirleaf'; ino: number; off: number }
  | { t: 'dx'; ino: number; off: number }
  | { t: 'xattr'; block: number; off: number }
  | { t: 'jsb'; off: number }
  | { t: 'jdesc'; off: number }
  | { t: 'jcommit'; off: number };

export interface Region {
  kind: RegionKind;
  off: number;
  len: number;
  block: number | null;
  ino: number | null;
  fields: Field[];
  /** Entry spans (inside the region) for duplication and shuffles. */
  entries: Array<{ at: number; size: number }>;
  signers: Signer[];
}

export interface StructMap {
  blockSize: number;
  blocksCount: number;
  inodesCount: number;
  regions: Region[];
  /** Blocks of all mapped structures (targets for "points at another structure"). */
  blocks: number[];
  inodes: number[];
}

/** What the signers need from the pristine image (decoded once, never from mutated bytes). */
export interface SignContext {
  fs: Ext4Fs;
  infos: Map<number, InodeInfo>;
  jsb: JournalSuperblock | null;
}

const PTR_FIELDS = new Set(['bg_block_bitmap_lo', 'bg_inode_bitmap_lo', 'bg_inode_table_lo', 'bg_block_bitmap_hi', 'bg_inode_bitmap_hi',
  'bg_inode_table_hi', 'ee_start_lo', 'ei_leaf_lo', 'i_file_acl_lo', 'block', 's_first_data_block', 's_first_meta_bg', 'slot',
  'i_block[0]', 't_blocknr', 's_first', 's_start']);
const INO_FIELDS = new Set(['inode', 's_journal_inum', 's_last_orphan', 's_first_ino', 'e_value_inum', 's_orphan_file_inum', 's_usr_quota_inum']);

function fieldsOf(s: { readonly fields: readonly FieldSpec[] }, base: number, limit: number, prefix = ''): Field[] {
  const out: Field[] = [];
  for (const [name, t, off] of s.fields) {
    if (t.startsWith('u8[')) continue;
    const width = (t === 'u8' ? 1 : t.includes('16') ? 2 : t.includes('32') ? 4 : 8) as Field['width'];
    if (off + width > limit) continue;
    out.push({ name: prefix + name, at: base + off, width, be: t.endsWith('be'), ptr: PTR_FIELDS.has(name), inoRef: INO_FIELDS.has(name) });
  }
  return out;
}

function rawFields(name: string, base: number, count: number, width: 4, ptr: boolean): Field[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${name}[${i}]`, at: base + i * width, width, be: false, ptr }));
}

export async function buildStructMap(bytes: Uint8Array): Promise<{ map: StructMap; sign: SignContext }> {
  const fs = openImage(bytes.slice(), { replayJournal: false });
  const ctx = fs.ctx;
  const sb = fs.core.sb;
  const bs = sb.blockSize;
  const seen = new Map<number, { what: string; ino: number | undefined; lblk: number | undefined }>();
  const inodes = new Set<number>();
  const inner = ctx.readBlock.bind(ctx);
  (ctx as { readBlock: typeof ctx.readBlock }).readBlock = (block, what, at) => {
    const ino = at?.inode === undefined ? undefined : Number(at.inode);
    const lblk = at?.lblk === undefined ? undefined : Number(at.lblk);
    if (what === 'inode' && ino !== undefined) inodes.add(ino);
    else if (!seen.has(block)) seen.set(block, { what, ino, lblk });
    return inner(block, what, at);
  };
  await walkFs(fs, { entries: 100_000, bytes: 64 << 20, bytesPerFile: 8 << 20, ms: 60_000 });
  const infoOf = (ino: number): InodeInfo => (ino < sb.firstIno && ino !== 2 ? fs.core.readInode(ino, { special: true }).info : fs.inode(ino).info);
  for (const ino of [2, 7, 8, 11]) { try { infoOf(ino); inodes.add(ino); } catch { /* absent */ } }
  (ctx as { readBlock: typeof ctx.readBlock }).readBlock = inner;

  const regions: Region[] = [];
  const infos = new Map<number, InodeInfo>();
  const metaCsum = sb.features.has('metadata_csum');
  // Superblock.
  regions.push({ kind: 'superblock', off: 1024, len: 1024, block: bs === 1024 ? 1 : 0, ino: null,
    fields: fieldsOf(SUPERBLOCK, 0, 1024), entries: [], signers: [{ t: 'sb' }] });
  // Group descriptors (primary copies).
  for (let g = 0; g < sb.groupsCount && g < 64; g++) {
    const blk = descriptorLoc(sb, Math.floor(g / sb.descPerBlock));
    const off = blk * bs + (g % sb.descPerBlock) * sb.descSize;
    regions.push({ kind: 'group_desc', off, len: sb.descSize, block: blk, ino: null, fields: fieldsOf(GROUP_DESC, 0, sb.descSize),
      entries: [], signers: [{ t: 'gd', group: g, off }] });
  }
  // Inodes seen by the walk, their in-inode extent roots, xattr areas and inline data.
  for (const ino of [...inodes].sort((a, b) => a - b)) {
    let info: InodeInfo;
    try { info = infoOf(ino); } catch { continue; }
    infos.set(ino, info);
    const g = Math.floor((ino - 1) / sb.inodesPerGroup);
    const loc = inodeLocation(sb, fs.core.groups.get(g).inodeTable, ino);
    const off = loc.block * bs + loc.offset;
    const isig: Signer = { t: 'inode', ino, off };
    regions.push({ kind: 'inode', off, len: sb.inodeSize, block: loc.block, ino, fields: fieldsOf(INODE, 0, sb.inodeSize),
      entries: [], signers: [isig] });
    if (info.flags & EXT4_EXTENTS_FL) {
      const fields = fieldsOf(ext4_extent_header, 0, 12);
      const depth = new DataView(info.iBlock.buffer, info.iBlock.byteOffset).getUint16(6, true);
      for (let i = 0; i < 4; i++) fields.push(...fieldsOf(depth ? ext4_extent_idx : ext4_extent, 12 + i * 12, 12, `[${i}].`));
      regions.push({ kind: 'extent_root', off: off + 0x28, len: 60, block: loc.block, ino, fields,
        entries: [0, 1, 2, 3].map((i) => ({ at: 12 + i * 12, size: 12 })), signers: [isig] });
    } else if (info.flags & EXT4_INLINE_DATA_FL) {
      regions.push({ kind: 'inline_data', off: off + 0x28, len: 60, block: loc.block, ino,
        fields: rawFields('i_block', 0, 15, 4, false), entries: [], signers: [isig] });
    } else {
      regions.push({ kind: 'block_map', off: off + 0x28, len: 60, block: loc.block, ino,
        fields: rawFields('i_block', 0, 15, 4, true), entries: [], signers: [isig] });
    }
    const raw = info.raw;
    if (info.extraEnd + 4 <= sb.inodeSize && new DataView(raw.buffer, raw.byteOffset).getUint32(info.extraEnd, true) === EXT4_XATTR_MAGIC) {
      const r = xattrRegion(raw, info.extraEnd + 4, sb.inodeSize, 'xattr_ibody', off + info.extraEnd, loc.block, ino, [isig], info.extraEnd);
      if (r) regions.push(r);
    }
  }
  // Blocks recorded by the walk.
  for (const [block, s] of seen) {
    const off = block * bs;
    const b = bytes.subarray(off, off + bs);
    const info = s.ino !== undefined ? infos.get(s.ino) : undefined;
    if (s.what === 'extent_block' && info) {
      const fields = fieldsOf(ext4_extent_header, 0, 12);
      const dv = new DataView(b.buffer, b.byteOffset);
      const depth = dv.getUint16(6, true);
      const n = Math.min(dv.getUint16(2, true) + 1, Math.floor((bs - 12) / 12));
      const entries = [];
      for (let i = 0; i < n; i++) {
        fields.push(...fieldsOf(depth ? ext4_extent_idx : ext4_extent, 12 + i * 12, 12, `[${i}].`));
        entries.push({ at: 12 + i * 12, size: 12 });
      }
      regions.push({ kind: 'extent_block', off, len: bs, block, ino: s.ino!, fields, entries,
        signers: metaCsum ? [{ t: 'extent', ino: s.ino!, off }] : [] });
    } else if (s.what === 'indirect_block') {
      regions.push({ kind: 'indirect_block', off, len: bs, block, ino: s.ino ?? null,
        fields: rawFields('slot', 0, Math.min(bs / 4, 64), 4, true), entries: Array.from({ length: 16 }, (_, i) => ({ at: i * 4, size: 4 })), signers: [] });
    } else if (s.what === 'directory block' && info) {
      regions.push(dirRegion(b, off, block, info, s.lblk ?? 0, bs, metaCsum));
    } else if (s.what === 'xattr_block') {
      const r = xattrRegion(b, 32, bs, 'xattr_block', off, block, s.ino ?? null, metaCsum ? [{ t: 'xattr', block, off }] : [], 0);
      if (r) { r.fields.unshift(...fieldsOf(ext4_xattr_header, 0, 32)); regions.push(r); }
    }
  }
  // Journal: superblock, descriptor, commit and revoke blocks found by their magic.
  let jsb: JournalSuperblock | null = null;
  const jino = fs.journalInode;
  if (jino !== null && sb.features.has('has_journal')) {
    try {
      const info = infoOf(jino);
      const nblocks = Math.min(Math.floor(info.size / bs), 4096);
      const map: number[] = [];
      for (const m of fileRuns(ctx, info, 0, nblocks)) if (m.kind === 'mapped') for (let i = 0; i < m.len; i++) map.push(m.pblk + i);
      if (map.length) jsb = parseJournalSuperblock(bytes.subarray(map[0] * bs, map[0] * bs + bs), bs, nblocks, map[0]);
      for (let j = 0; j < map.length; j++) {
        const off = map[j] * bs;
        const dv = new DataView(bytes.buffer, bytes.byteOffset + off, bs);
        if (dv.getUint32(0, false) !== JBD2_MAGIC_NUMBER) continue;
        const type = dv.getUint32(4, false);
        if (type === 3 || type === 4) {
          regions.push({ kind: 'journal_sb', off, len: 1024, block: map[j], ino: jino, fields: fieldsOf(journalSuperblock, 0, 1024),
            entries: [], signers: [{ t: 'jsb', off }] });
        } else if (type === 1 && jsb) {
          const fields = fieldsOf(journalHeader, 0, 12);
          const entries = [];
          for (let i = 0; i < 8 && 12 + (i + 1) * jsb.tagBytes <= bs; i++) {
            const at = 12 + i * jsb.tagBytes;
            fields.push({ name: `tag[${i}].t_blocknr`, at, width: 4, be: true, ptr: true }, { name: `tag[${i}].t_flags`, at: at + 4, width: 4, be: true });
            entries.push({ at, size: jsb.tagBytes });
          }
          regions.push({ kind: 'journal_desc', off, len: bs, block: map[j], ino: jino, fields, entries, signers: [{ t: 'jdesc', off }] });
        } else if (type === 2) {
          const fields = fieldsOf(journalHeader, 0, 12);
          fields.push({ name: 'h_chksum_type', at: 12, width: 1, be: true }, { name: 'h_chksum_size', at: 13, width: 1, be: true },
            { name: 'h_commit_sec', at: 48, width: 8, be: true }, { name: 'h_commit_nsec', at: 56, width: 4, be: true });
          regions.push({ kind: 'journal_commit', off, len: bs, block: map[j], ino: jino, fields, entries: [], signers: [{ t: 'jcommit', off }] });
        } else if (type === 5) {
          const fields = fieldsOf(journalHeader, 0, 12);
          fields.push({ name: 'r_count', at: 12, width: 4, be: true }, { name: 'revoke[0]', at: 16, width: 8, be: true, ptr: true });
          regions.push({ kind: 'journal_revoke', off, len: bs, block: map[j], ino: jino, fields, entries: [], signers: [{ t: 'jdesc', off }] });
        }
      }
    } catch { /* an unreadable journal simply contributes no regions */ }
  }
  const map: StructMap = {
    blockSize: bs, blocksCount: sb.blocksCount, inodesCount: sb.inodesCount, regions,
    blocks: [...new Set(regions.map((r) => r.block).filter((b): b is number => b !== null))].sort((a, b) => a - b),
    inodes: [...infos.keys()],
  };
  return { map, sign: { fs, infos, jsb } };
}

function dirRegion(b: Uint8Array, off: number, block: number, info: InodeInfo, lblk: number, bs: number, metaCsum: boolean): Region {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const htree = (info.flags & EXT4_INDEX_FL) !== 0;
  const fakeNode = dv.getUint32(0, true) === 0 && (dv.getUint16(4, true) === bs || (bs === 65536 && dv.getUint16(4, true) === 0));
  if (htree && (lblk === 0 || fakeNode)) {
    const root = lblk === 0;
    const cl = root ? 0x20 : 8;
    const fields = root ? fieldsOf(dxRootInfoSchema, 0x18, 8) : fieldsOf(ext4DirEntry2Schema, 0, 8);
    if (root) fields.unshift(...fieldsOf(ext4DirEntry2Schema, 0, 8, '.'), ...fieldsOf(ext4DirEntry2Schema, 12, 8, '..'));
    fields.push(...fieldsOf(dxCountLimitSchema, cl, 4));
    const count = Math.min(dv.getUint16(cl + 2, true), 32);
    const entries = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) fields.push(...fieldsOf(dxEntrySchema, cl + i * 8, 8, `[${i}].`));
      else fields.push({ name: '[0].block', at: cl + 4, width: 4, be: false, ptr: false });
      entries.push({ at: cl + i * 8, size: 8 });
    }
    return { kind: root ? 'dx_root' : 'dx_node', off, len: bs, block, ino: info.ino, fields, entries: entries.slice(1),
      signers: metaCsum ? [{ t: 'dx', ino: info.ino, off }] : [] };
  }
  const fields: Field[] = [];
  const entries = [];
  for (let p = 0, n = 0; p + 8 <= bs && n < 200; n++) {
    const rl = dv.getUint16(p + 4, true);
    fields.push(...fieldsOf(ext4DirEntry2Schema, p, 8, `@${p}.`));
    entries.push({ at: p, size: 8 });
    if (rl < 8) break;
    p += rl;
  }
  return { kind: 'dir_block', off, len: bs, block, ino: info.ino, fields, entries,
    signers: metaCsum ? [{ t: 'dirleaf', ino: info.ino, off }] : [] };
}

function xattrRegion(b: Uint8Array, first: number, end: number, kind: 'xattr_block' | 'xattr_ibody', off: number, block: number,
  ino: number | null, signers: Signer[], base: number): Region | null {
  const fields: Field[] = [];
  const entries = [];
  for (let p = first, n = 0; p + 16 <= end && n < 32; n++) {
    if (new DataView(b.buffer, b.byteOffset).getUint32(p, true) === 0) break;
    fields.push(...fieldsOf(ext4_xattr_entry, p - base, 16, `[${n}].`));
    entries.push({ at: p - base, size: 16 });
    p += xattrEntryLen(b[p]);
  }
  if (kind === 'xattr_ibody') fields.push({ name: 'h_magic', at: 0, width: 4, be: false });
  return { kind, off, len: end - base, block, ino, fields, entries, signers };
}

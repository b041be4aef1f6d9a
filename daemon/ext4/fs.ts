// The engine's one public facade: opens an image (path, fd or bytes; offset or partition),
// replays a dirty journal in memory, and serves inode-level operations — stat, lookup,
// readdir, read, readlink, xattrs, statfs, SEEK_DATA/HOLE, bmap — to the FUSE bridge, the
// CLI and library users. It composes the structure files and adds only the rules that sit
// between them (ext4_lookup's checks, path resolution, the overlay on bulk data reads).

import { BlockDevice } from './device.js';
import { Ext4Core, openFs } from './mount.js';
import { openPartition } from './partition.js';
import { Inode, EXT4_JOURNAL_INO } from './inode.js';
import { FsContext, InodeInfo, S_IFDIR, S_IFMT, EXT4_INLINE_DATA_FL, EXT4_EA_INODE_FL, EXT4_EXTENTS_FL } from './context.js';
import { checkExtentRoot } from './extent.js';
import { findInlineData } from './inline.js';
import { CorruptError, Errno, FsError, IncompatibleError } from './errors.js';
import { Segment, mapRange, readRangeSync, seekData, seekHole, bmap as fileBmap, fileRuns } from './filemap.js';
import { inlineArea, inlineData } from './inline.js';
import { lookup as dirLookup, readdir as dirReaddir, DirFileType } from './dir.js';
import { EaInodeReader, getXattr, listXattrNames, readIbody } from './xattr.js';
import { iBlocks512, readSymlink } from './symlink.js';
import { locateJournal, checkJournalInode } from './journal/locate.js';
import { recoverJournal, RecoveryInfo } from './journal/recovery.js';
import { parseJournalSuperblock, JournalSuperblock } from './journal/superblock.js';
import { readOrphans, OrphanReport } from './orphan.js';
import type { DirEntry, FileType, FsInfo, FsxAttr, HealthFinding, HealthReport, Stat, StatFs, JournalInfo } from './api.js';

export type { DirEntry, FileType, FsInfo, FsxAttr, HealthReport, Stat, StatFs, Segment, JournalInfo };

export interface OpenImageOptions {
  /** Byte offset of the filesystem in the image (whole-disk images). */
  offset?: number;
  /** Partition number (1-based, MBR or GPT) instead of an offset. */
  partition?: number;
  /** Replay a dirty journal in memory (default true): read what the kernel would show. */
  replayJournal?: boolean;
  /** Metadata cache budget in bytes (default 32 MiB). */
  cacheBytes?: number;
  /** List trusted.* xattrs (the kernel shows them only to CAP_SYS_ADMIN). Default: euid 0. */
  capSysAdmin?: boolean;
  /** Bounded inode cache entries (default 8192). */
  inodeCacheEntries?: number;
}

const MAX_SYMLINK_HOPS = 40; // the VFS's MAXSYMLINKS
const MAX_PATH_COMPONENTS = 4096;
const EXT4_FL_USER_VISIBLE = 0x705bdfff;

const TYPE_OF_DIRENT: Record<DirFileType, FileType> = {
  unknown: 'unknown', reg: 'file', dir: 'dir', chr: 'chardev', blk: 'blockdev', fifo: 'fifo', sock: 'socket', lnk: 'symlink',
};
const TYPE_OF_INODE: Record<Inode['type'], FileType> = {
  file: 'file', dir: 'dir', symlink: 'symlink', chr: 'chardev', blk: 'blockdev', fifo: 'fifo', sock: 'socket', bootloader: 'unknown',
};

/**
 * Opens an image read-only. `source` is a path, an open fd (not closed by close()) or
 * the image bytes. Throws IncompatibleError for images we refuse, CorruptError/
 * ChecksumError for damage that prevents mounting, IoError for device errors.
 */
export function openImage(source: string | number | Uint8Array, opts: OpenImageOptions = {}): Ext4Fs {
  let dev: BlockDevice;
  const window = opts.offset !== undefined ? { offset: opts.offset } : {};
  if (typeof source === 'string') dev = BlockDevice.fromPath(source, window);
  else if (typeof source === 'number') dev = BlockDevice.fromFd(source, window);
  else dev = BlockDevice.fromBytes(source, window);
  try {
    if (opts.partition !== undefined) dev = openPartition(dev, opts.partition);
    return Ext4Fs.open(dev, opts);
  } catch (e) {
    dev.close();
    throw e;
  }
}

export class Ext4Fs {
  // Two generations instead of an LRU: a hit in `young` costs one Map.get, a hit in `old`
  // promotes; when `young` fills, it becomes `old`. No delete+set churn on the hot path.
  private young = new Map<number, Inode>();
  private old = new Map<number, Inode>();
  private readonly inodeCacheMax: number;
  private readonly capSysAdmin: boolean;
  private readonly ea: EaInodeReader;

  private constructor(
    readonly core: Ext4Core,
    private journal: JournalState | null,
    opts: OpenImageOptions,
  ) {
    this.inodeCacheMax = opts.inodeCacheEntries ?? 8192;
    this.capSysAdmin = opts.capSysAdmin ?? (process.geteuid?.() === 0);
    this.ea = {
      // EA inodes are read past the cache and past igetChecks (EXT4_IGET_EA_INODE).
      inode: (ino: number) => this.core.readInode(ino).info,
      read: (info: InodeInfo, size: number) => readRangeSync(this.ctx, info, 0, size, inlineData),
      csumSeed: this.core.sb.csumSeed ?? undefined,
    };
  }

  static open(dev: BlockDevice, opts: OpenImageOptions): Ext4Fs {
    const core = openFs(dev, { readOnly: true, cacheBytes: opts.cacheBytes });
    try {
      const journal = Ext4Fs.loadJournal(core, opts.replayJournal !== false);
      return new Ext4Fs(core, journal, opts);
    } catch (e) {
      core.close();
      throw e;
    }
  }

  /**
   * ext4_load_journal for a read-only view: find the journal inode, protect its blocks,
   * and when the superblock asks for recovery replay the log into the cache overlay.
   */
  private static loadJournal(core: Ext4Core, replay: boolean): Ext4Fs['journal'] {
    const sb = core.sb;
    const ino = locateJournal({
      hasJournal: sb.features.has('has_journal'),
      isJournalDevice: sb.features.has('journal_dev'),
      journalInum: sb.journal.inum,
      journalDev: sb.journal.dev,
      journalUuidSet: sb.journal.uuid.some((b) => b !== 0),
      inodesCount: sb.inodesCount,
    });
    if (ino === null) {
      if (sb.needsRecovery) throw new CorruptError('superblock', 'needs_recovery set without a journal', {}, 's_feature_incompat', sb.features.incompat);
      return null;
    }
    const inode = core.readInode(ino, { special: true });
    checkJournalInode(ino, inode.mode, inode.links);
    const ctx = core.ctx;
    const blocks = Math.floor(inode.size / ctx.blockSize);
    // The journal's own blocks: a map built once (bounded by the inode's size), and marked
    // as a system zone so no file may claim them (ext4_protect_reserved_inode).
    const map: number[] = [];
    if (blocks > (1 << 22)) throw new CorruptError('journal_inode', 'journal too large', { inode: ino }, 'i_size', inode.size);
    for (const m of fileRuns(ctx, inode.info, 0, blocks)) {
      if (m.kind !== 'mapped') throw new CorruptError('journal_inode', 'hole in journal', { inode: ino, lblk: m.lblk });
      for (let i = 0; i < m.len && map.length < blocks; i++) map.push(m.pblk + i);
    }
    for (let i = 0; i < map.length;) {
      let j = i + 1;
      while (j < map.length && map[j] === map[j - 1] + 1) j++;
      core.addSystemZone(map[i], j - i, ino);
      i = j;
    }
    const notes: string[] = [];
    // The journal superblock for inspect; on a clean fs damage here is only a note (the
    // kernel would refuse to load the journal, but ro,noload still reads the fs).
    let jsb: JournalSuperblock | null = null;
    try {
      if (map.length) jsb = parseJournalSuperblock(ctx.readBlock(map[0], 'journal_superblock', { inode: ino }), ctx.blockSize, blocks, map[0]);
    } catch (e) {
      if (sb.needsRecovery && replay) throw e;
      notes.push(e instanceof Error ? e.message : String(e));
    }
    if (!sb.needsRecovery) return { ino, blocks, jsb, info: null, replayed: false, notes, overlay: null };
    if (!replay) {
      notes.push('journal replay disabled (--no-journal): showing the image as written');
      return { ino, blocks, jsb, info: null, replayed: false, notes, overlay: null };
    }
    const res = recoverJournal({
      blockSize: ctx.blockSize,
      journalBlocks: blocks,
      mapJournalBlock: (lblk) => {
        if (!Number.isSafeInteger(lblk) || lblk < 0 || lblk >= map.length) {
          throw new CorruptError('journal', 'journal block out of range', { inode: ino, lblk }, 'lblk', lblk, `< ${map.length}`);
        }
        return map[lblk];
      },
      readFsBlock: (b) => core.device.readAt(b * ctx.blockSize, ctx.blockSize),
      fsUuid: sb.uuid,
      fsBlocksCount: sb.blocksCount,
      needsRecovery: true,
      fsInodeSize: sb.inodeSize,
      journalInode: ino,
    });
    core.installOverlay(res.overlay);
    notes.push(...res.info.errors);
    return { ino, blocks, jsb, info: res.info, replayed: true, notes, overlay: res.overlay };
  }

  get ctx(): FsContext {
    return this.core.ctx;
  }

  /** The validated inode `ino` (bounded cache; the image is read-only to us). */
  inode(ino: number): Inode {
    const y = this.young.get(ino);
    if (y) return y;
    let inode = this.old.get(ino);
    if (!inode) {
      inode = this.core.readInode(ino);
      this.igetChecks(inode);
    }
    if (this.young.size >= this.inodeCacheMax / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(ino, inode);
    return inode;
  }

  /**
   * What ext4_iget checks beyond the inode itself, so damage there makes the whole inode
   * unreadable as on a kernel mount: an EA inode reached as a file, the extent root, the
   * in-inode xattr area (ext4_iget_extra_inode) and the inline data entry.
   */
  private igetChecks(inode: Inode): void {
    const info = inode.info;
    if (info.flags & EXT4_EA_INODE_FL) {
      throw new CorruptError('inode', 'unexpected EA_INODE flag', { inode: inode.ino }, 'i_flags', info.flags);
    }
    const t = inode.type;
    if ((info.flags & EXT4_EXTENTS_FL) && (t === 'file' || t === 'dir' || (t === 'symlink' && !inode.isFastSymlink))) {
      checkExtentRoot(this.ctx, info);
    }
    if (this.ctx.inodeSize > 128) readIbody(this.ctx, info);
    if (info.flags & EXT4_INLINE_DATA_FL) findInlineData(this.ctx, info);
  }

  stat(ino: number): Stat {
    const i = this.inode(ino);
    return {
      ino,
      generation: i.generation,
      type: TYPE_OF_INODE[i.type],
      mode: i.mode,
      nlink: i.links,
      uid: i.uid,
      gid: i.gid,
      size: i.size,
      blocks: iBlocks512(this.ctx, i.info),
      atime: i.atime,
      mtime: i.mtime,
      ctime: i.ctime,
      crtime: i.crtime,
      rdevMajor: i.rdev?.major ?? 0,
      rdevMinor: i.rdev?.minor ?? 0,
      flags: i.flags,
      projid: i.projid,
    };
  }

  /** rdev as the kernel's new_encode_dev (fuse_attr.rdev). */
  rdevEncoded(ino: number): number {
    return this.inode(ino).rdevEncoded;
  }

  private dirInode(ino: number): Inode {
    const d = this.inode(ino);
    if ((d.mode & S_IFMT) !== S_IFDIR) throw new FsError(Errno.ENOTDIR, `inode ${ino} is not a directory`);
    return d;
  }

  /** Reads logical block `lblk` of an inode's data through the cache; null for a hole. */
  private fileBlock(info: InodeInfo, lblk: number): Uint8Array | null {
    for (const m of fileRuns(this.ctx, info, lblk, lblk + 1)) {
      if (m.kind !== 'mapped') return null;
      const pblk = m.pblk + (lblk - m.lblk);
      return this.ctx.readBlock(pblk, 'directory block', { inode: info.ino, lblk });
    }
    return null;
  }

  private inlineOf(info: InodeInfo): Uint8Array | undefined {
    return info.flags & EXT4_INLINE_DATA_FL ? inlineArea(this.ctx, info) : undefined;
  }

  /**
   * ext4_lookup: the entry's inode number, with the kernel's checks on what the entry
   * names (a valid inode number, not the directory itself, an inode in use).
   */
  lookup(dirIno: number, name: Uint8Array): number {
    const d = this.dirInode(dirIno);
    const r = dirLookup(this.ctx, d.info, name, (lblk) => this.fileBlock(d.info, lblk), this.inlineOf(d.info));
    if (r === null) throw new FsError(Errno.ENOENT, 'no such entry');
    const ino = r.ino;
    const sb = this.core.sb;
    if (ino !== 2 && (ino < sb.firstIno || ino > sb.inodesCount)) {
      throw new CorruptError('ext4_dir_entry_2', 'bad inode number', { inode: dirIno }, 'inode', ino);
    }
    const isDot = name.length === 1 && name[0] === 0x2e;
    if (ino === dirIno && !isDot) throw new CorruptError('ext4_dir_entry_2', 'entry linked to its own directory', { inode: dirIno }, 'inode', ino);
    try {
      this.inode(ino);
    } catch (e) {
      if (e instanceof FsError && e.errno === 116) {
        throw new CorruptError('ext4_dir_entry_2', 'deleted inode referenced', { inode: dirIno }, 'inode', ino);
      }
      throw e;
    }
    return ino;
  }

  /**
   * Resolves a path from the root (a leading '/' is optional), following symlinks in the
   * middle and — with followFinal — at the end; '..' is the on-disk parent entry.
   */
  resolve(path: Uint8Array, opts: { followFinal: boolean } = { followFinal: true }): number {
    let hops = 0;
    const parts: Uint8Array[] = splitPath(path).reverse();
    const dirs: number[] = [2];
    let cur = 2;
    let steps = 0;
    while (parts.length) {
      if (++steps > MAX_PATH_COMPONENTS) throw new FsError(Errno.ENAMETOOLONG, 'path too long');
      const name = parts.pop()!;
      if (name.length === 1 && name[0] === 0x2e) continue;
      if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) {
        if (dirs.length > 1) dirs.pop();
        cur = dirs[dirs.length - 1];
        continue;
      }
      const child = this.lookup(cur, name);
      const st = this.inode(child);
      const last = parts.length === 0;
      if (st.type === 'symlink' && (!last || opts.followFinal)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsError(Errno.ELOOP, 'too many levels of symbolic links');
        const target = this.readlink(child);
        const tparts = splitPath(target).reverse();
        if (target[0] === 0x2f) { dirs.length = 1; cur = 2; }
        parts.push(...tparts);
        continue;
      }
      if (!last && st.type !== 'dir') throw new FsError(Errno.ENOTDIR, 'not a directory');
      if (st.type === 'dir') dirs.push(child);
      cur = child;
      if (last) return child;
    }
    return cur;
  }

  /** Directory entries from `cookie` (0 = start), "." and ".." included, in on-disk order. */
  *readdir(ino: number, cookie = 0): Generator<DirEntry> {
    const d = this.dirInode(ino);
    for (const e of dirReaddir(this.ctx, d.info, cookie, (lblk) => this.fileBlock(d.info, lblk), this.inlineOf(d.info))) {
      yield { name: e.name, ino: e.ino, type: TYPE_OF_DIRENT[e.fileType], next: e.nextCookie };
    }
  }

  /** The segments of [offset, offset+length) clipped to i_size: device runs, zeros, inline. */
  mapRange(ino: number, offset: number, length: number): Segment[] {
    return mapRange(this.ctx, this.inode(ino).info, offset, length);
  }

  /**
   * Reads file bytes into `buf` (from bufOff): device runs are read asynchronously straight
   * into the buffer; holes and unwritten extents are zero-filled. Returns the bytes read
   * (short at end of file). Blocks replayed from the journal win over the device.
   */
  async read(ino: number, offset: number, length: number, buf: Uint8Array, bufOff = 0): Promise<number> {
    const info = this.inode(ino).info;
    if ((info.mode & S_IFMT) === S_IFDIR) throw new FsError(Errno.EISDIR, 'is a directory');
    if (length > buf.byteLength - bufOff) throw new FsError(Errno.EINVAL, 'buffer too small');
    const segs = mapRange(this.ctx, info, offset, length);
    let total = 0;
    for (const s of segs) {
      const at = bufOff + (s.fileOffset - offset);
      if (s.kind === 'zero') {
        buf.fill(0, at, at + s.length);
      } else if (s.kind === 'inline') {
        const data = inlineData(this.ctx, info);
        const src = data.subarray(Math.min(s.fileOffset, data.length), Math.min(s.fileOffset + s.length, data.length));
        buf.set(src, at);
        buf.fill(0, at + src.length, at + s.length);
      } else {
        const n = await this.core.device.readInto(buf, at, s.length, s.devByteOffset);
        if (n !== s.length) throw new CorruptError('extent', 'data beyond end of device', { inode: ino }, 'offset', s.devByteOffset);
        this.patchOverlay(buf, at, s.devByteOffset, s.length);
      }
      total += s.length;
    }
    return total;
  }

  /** Small synchronous read (library convenience; at most 16 MiB). */
  readSync(ino: number, offset: number, length: number): Uint8Array {
    return readRangeSync(this.ctx, this.inode(ino).info, offset, length, inlineData);
  }

  private patchOverlay(buf: Uint8Array, at: number, dev: number, len: number): void {
    const ov = this.overlayMap();
    if (!ov || ov.size === 0) return;
    const bs = this.ctx.blockSize;
    const first = Math.floor(dev / bs);
    const last = Math.floor((dev + len - 1) / bs);
    if (last - first + 1 > ov.size) {
      for (const [blk, data] of ov) if (blk >= first && blk <= last) copyBlock(buf, at, dev, len, blk, bs, data);
    } else {
      for (let blk = first; blk <= last; blk++) {
        const data = ov.get(blk);
        if (data) copyBlock(buf, at, dev, len, blk, bs, data);
      }
    }
  }

  private overlayMap(): ReadonlyMap<number, Uint8Array> | null {
    return this.journal?.overlay ?? null;
  }

  readlink(ino: number): Uint8Array {
    const info = this.inode(ino).info;
    return readSymlink(this.ctx, info, (i) => this.fileBlock(i, 0));
  }

  listxattr(ino: number): Uint8Array[] {
    return listXattrNames(this.ctx, this.inode(ino).info, this.capSysAdmin);
  }

  /** The value as getxattr(2) returns it (ACLs in the posix_acl_xattr form); ENODATA if absent. */
  getxattr(ino: number, name: Uint8Array | string): Uint8Array {
    const full = typeof name === 'string' ? new TextEncoder().encode(name) : name;
    const v = getXattr(this.ctx, this.inode(ino).info, full, this.ea);
    if (v === null) throw new FsError(Errno.ENODATA, 'no such attribute');
    return v;
  }

  statfs(): StatFs {
    return this.core.statfs();
  }

  /** lseek SEEK_DATA / SEEK_HOLE; ENXIO past the end (or no data after offset). */
  seek(ino: number, offset: number, whence: 'data' | 'hole'): number {
    const info = this.inode(ino).info;
    return whence === 'data' ? seekData(this.ctx, info, offset) : seekHole(this.ctx, info, offset);
  }

  /** FIBMAP: device block of file block `lblk` (0 for holes). */
  bmap(ino: number, lblk: number): number {
    return fileBmap(this.ctx, this.inode(ino).info, lblk);
  }

  /** FS_IOC_GETFLAGS: i_flags & EXT4_FL_USER_VISIBLE. */
  getflags(ino: number): number {
    return (this.inode(ino).flags & EXT4_FL_USER_VISIBLE) >>> 0;
  }

  /** FS_IOC_FSGETXATTR, as ext4_fileattr_get / ext4_iflags_to_xflags. */
  fsxattr(ino: number): FsxAttr {
    const f = this.inode(ino).flags;
    let x = 0;
    if (f & 0x8) x |= 0x80; // SYNC -> FS_XFLAG_SYNC
    if (f & 0x10) x |= 0x8; // IMMUTABLE
    if (f & 0x20) x |= 0x10; // APPEND
    if (f & 0x40) x |= 0x2000; // NODUMP
    if (f & 0x80) x |= 0x40; // NOATIME
    if (f & 0x20000000) x |= 0x200; // PROJINHERIT
    if (f & 0x2000000) x |= 0x8000; // DAX
    return { xflags: x, extsize: 0, nextents: 0, projid: this.inode(ino).projid, cowextsize: 0 };
  }

  info(): FsInfo {
    const sb = this.core.sb;
    const st = this.statfs();
    const states: string[] = [sb.state === 'clean' ? 'clean' : sb.state === 'errors' ? 'errors' : 'not clean'];
    if (sb.needsRecovery) states.push('needs_recovery');
    const orphans = this.orphans();
    const j = this.journal;
    let journal: JournalInfo | null = null;
    if (j) {
      const i = j.info;
      const jsb = j.jsb;
      journal = {
        inode: j.ino,
        blocks: j.blocks,
        needsRecovery: sb.needsRecovery,
        replayed: j.replayed,
        transactions: i?.transactionsReplayed ?? 0,
        blocksReplayed: i?.blocksReplayed ?? 0,
        revoked: i?.revokedBlocks ?? 0,
        checksum: jsb ? (jsb.checksumVersion ? `checksum v${jsb.checksumVersion}` : 'no checksums') : 'unreadable superblock',
        features: jsb ? journalFeatureNames(jsb) : [],
        fastCommitBlocks: i?.fastCommit?.areaBlocks ?? 0,
        notes: j.notes,
      };
    }
    const raw = sb.raw as unknown as Record<string, number>;
    return {
      volumeName: sb.label,
      uuid: sb.uuidString,
      blockSize: sb.blockSize,
      clusterSize: sb.clusterSize,
      blocksCount: sb.blocksCount,
      freeBlocks: st.bfree,
      reservedBlocks: sb.reservedBlocksCount,
      inodesCount: sb.inodesCount,
      freeInodes: st.ffree,
      inodeSize: sb.inodeSize,
      groupCount: sb.groupsCount,
      blocksPerGroup: sb.blocksPerGroup,
      inodesPerGroup: sb.inodesPerGroup,
      descSize: sb.descSize,
      features: sb.features.names(),
      state: states,
      revLevel: sb.revLevel,
      creatorOs: ['Linux', 'Hurd', 'Masix', 'FreeBSD', 'Lites'][sb.creatorOs] ?? `os ${sb.creatorOs}`,
      lastMounted: sb.lastMounted,
      createdAt: sb.times.mkfsTime,
      mountedAt: sb.times.mtime,
      writtenAt: sb.times.wtime,
      mountCount: sb.mountCount,
      maxMountCount: sb.maxMountCount,
      hashVersion: ['legacy', 'half_md4', 'tea', 'legacy_unsigned', 'half_md4_unsigned', 'tea_unsigned', 'siphash'][sb.defHashVersion] ?? `unknown (${sb.defHashVersion})`,
      checksumSeed: sb.csumSeed !== null && sb.features.has('metadata_csum') ? `0x${sb.csumSeed.toString(16).padStart(8, '0')}` : null,
      readOnly: true,
      readOnlyReason: this.core.readOnlyReason,
      journal,
      orphans: [...orphans.list, ...orphans.fileEntries],
      errorCount: raw.s_error_count ?? 0,
      firstError: raw.s_first_error_time ? `at ${new Date(raw.s_first_error_time * 1000).toISOString()} inode ${raw.s_first_error_ino} block ${raw.s_first_error_block}` : null,
      lastError: raw.s_last_error_time ? `at ${new Date(raw.s_last_error_time * 1000).toISOString()} inode ${raw.s_last_error_ino} block ${raw.s_last_error_block}` : null,
    };
  }

  private orphanCache: OrphanReport | null = null;

  /** The orphan list and orphan file (for reporting: orphans are unreachable by name). */
  orphans(): OrphanReport {
    if (this.orphanCache) return this.orphanCache;
    const sb = this.core.sb;
    const ctx = this.ctx;
    let orphanFile;
    if (sb.features.has('orphan_file') && sb.orphanFileInum) {
      try {
        const oi = this.core.readInode(sb.orphanFileInum, { special: true }).info;
        orphanFile = {
          ino: oi.ino, size: oi.size, csumSeed: ctx.csumSeed === null ? null : oi.csumSeed,
          mapBlock: (lblk: number) => {
            const b = fileBmap(ctx, oi, lblk);
            if (!b) throw new CorruptError('orphan_file', 'hole in orphan file', { inode: oi.ino, lblk });
            return b;
          },
          readBlock: (b: number) => ctx.readBlock(b, 'orphan_file', { inode: oi.ino }),
        };
      } catch (e) {
        if (!(e instanceof CorruptError || e instanceof FsError)) throw e;
      }
    }
    try {
      this.orphanCache = readOrphans({
        blockSize: ctx.blockSize, inodesCount: sb.inodesCount, firstIno: sb.firstIno, lastOrphan: sb.firstOrphan,
        readInode: (ino) => {
          const i = this.core.readInode(ino, { orphan: true });
          return { dtime: i.dtime, linksCount: i.links, mode: i.mode };
        },
        orphanFile,
      });
    } catch (e) {
      if (!(e instanceof CorruptError || e instanceof FsError || e instanceof IncompatibleError)) throw e;
      this.orphanCache = { list: [], listError: e instanceof CorruptError ? e : null, fileEntries: [], badFileEntries: [], fileBlocks: 0 };
    }
    return this.orphanCache;
  }

  /** The health summary of `inspect`: what the open tolerated and what the checks found. */
  health(opts: { groups?: boolean } = {}): HealthReport {
    const findings: HealthFinding[] = [];
    const g = this.core.groups;
    for (const t of g.tolerated) findings.push({ structure: 'group_desc', where: '', problem: t, errno: 117 });
    if (g.toleratedCount > g.tolerated.length) {
      findings.push({ structure: 'group_desc', where: '', problem: `${g.toleratedCount - g.tolerated.length} more descriptor problems`, errno: 117 });
    }
    let groupsChecked = 0;
    if (opts.groups !== false) {
      const h = this.core.bitmapHealth();
      groupsChecked = h.groupsChecked;
      for (const b of h.badBlockBitmaps) findings.push({ structure: 'block_bitmap', where: `group ${b}`, problem: 'checksum mismatch', errno: 74 });
      for (const b of h.badInodeBitmaps) findings.push({ structure: 'inode_bitmap', where: `group ${b}`, problem: 'checksum mismatch', errno: 74 });
      const more = h.badBlockBitmapCount + h.badInodeBitmapCount - h.badBlockBitmaps.length - h.badInodeBitmaps.length;
      if (more > 0) findings.push({ structure: 'bitmap', where: '', problem: `${more} more bitmap checksum mismatches`, errno: 74 });
    }
    const o = this.orphans();
    if (o.listError) findings.push({ structure: 'orphan_list', where: '', problem: o.listError.message, errno: 117 });
    for (const b of o.badFileEntries.slice(0, 16)) findings.push({ structure: 'orphan_file', where: `inode ${b}`, problem: 'bad orphan entry', errno: 117 });
    let journalOk = true;
    if (this.journal?.info && this.journal.info.errors.length) journalOk = this.journal.info.errno === 0;
    if (this.journal?.info?.errno) findings.push({ structure: 'journal', where: '', problem: `journal aborted with errno ${this.journal.info.errno}`, errno: 5 });
    const sb = this.core.sb;
    if (sb.state === 'errors') findings.push({ structure: 'superblock', where: '', problem: 'filesystem marked as having errors', errno: 117 });
    for (const w of sb.warnings) findings.push({ structure: 'superblock', where: '', problem: w, errno: 0 });
    return { checked: { groups: groupsChecked, superblock: true, journal: journalOk }, findings };
  }

  groupSummaries(): Array<{ group: number; firstBlock: number; lastBlock: number; blockBitmap: number; inodeBitmap: number; inodeTable: number; freeBlocks: number; freeInodes: number; flags: string[] }> {
    const sb = this.core.sb;
    const out = [];
    for (let i = 0; i < this.core.groups.count; i++) {
      const d = this.core.groups.get(i);
      const first = sb.firstDataBlock + i * sb.blocksPerGroup;
      const flags: string[] = [];
      if (d.flags & 1) flags.push('INODE_UNINIT');
      if (d.flags & 2) flags.push('BLOCK_UNINIT');
      if (d.flags & 4) flags.push('ITABLE_ZEROED');
      out.push({
        group: i, firstBlock: first, lastBlock: Math.min(first + sb.blocksPerGroup, sb.blocksCount) - 1,
        blockBitmap: d.blockBitmap, inodeBitmap: d.inodeBitmap, inodeTable: d.inodeTable,
        freeBlocks: d.freeBlocks, freeInodes: d.freeInodes, flags,
      });
    }
    return out;
  }

  /** The journal inode number, or null (so callers can hide it as the kernel does). */
  get journalInode(): number | null {
    return this.journal?.ino ?? (this.core.sb.features.has('has_journal') ? EXT4_JOURNAL_INO : null);
  }

  close(): void {
    this.young.clear();
    this.old.clear();
    this.core.close();
  }
}

interface JournalState {
  ino: number;
  blocks: number;
  jsb: JournalSuperblock | null;
  info: RecoveryInfo | null;
  replayed: boolean;
  notes: string[];
  overlay: ReadonlyMap<number, Uint8Array> | null;
}

function journalFeatureNames(j: JournalSuperblock): string[] {
  const out: string[] = [];
  if (j.compat & 0x1) out.push('journal_checksum');
  const inc: Array<[number, string]> = [[0x1, 'journal_incompat_revoke'], [0x2, 'journal_64bit'], [0x4, 'journal_async_commit'],
    [0x8, 'journal_checksum_v2'], [0x10, 'journal_checksum_v3'], [0x20, 'journal_fast_commit']];
  for (const [bit, name] of inc) if (j.incompat & bit) out.push(name);
  return out;
}

function copyBlock(buf: Uint8Array, at: number, dev: number, len: number, blk: number, bs: number, data: Uint8Array): void {
  const bStart = blk * bs;
  const from = Math.max(bStart, dev);
  const to = Math.min(bStart + bs, dev + len);
  if (from >= to) return;
  buf.set(data.subarray(from - bStart, to - bStart), at + (from - dev));
}

function splitPath(p: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      if (i > s) out.push(p.subarray(s, i));
      s = i + 1;
    }
  }
  return out;
}

// The FUSE kernel ABI, protocol 7.45 (Linux 6.18), mirroring include/uapi/linux/fuse.h:
// opcodes, INIT flag bits, open/attr/setattr flag sets, notify codes and every struct the
// wire carries, as struct() schemas with the kernel's field names and offsets. All fields are
// host order, which on every platform we run on is little-endian. Nothing here does I/O.

import { struct } from '../util/bytes.js';

export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR_VERSION = 45;
export const FUSE_MIN_READ_BUFFER = 8192;
export const FUSE_ROOT_ID = 1n;
export const FUSE_INT_REQ_BIT = 1n;
export const FUSE_UNIQUE_RESEND = 1n << 63n;

/** enum fuse_opcode. */
export const Op = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25,
  INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32,
  SETLKW: 33, ACCESS: 34, CREATE: 35, INTERRUPT: 36, BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40,
  NOTIFY_REPLY: 41, BATCH_FORGET: 42, FALLOCATE: 43, READDIRPLUS: 44, RENAME2: 45, LSEEK: 46,
  COPY_FILE_RANGE: 47, SETUPMAPPING: 48, REMOVEMAPPING: 49, SYNCFS: 50, TMPFILE: 51, STATX: 52,
  COPY_FILE_RANGE_64: 53, CUSE_INIT: 4096,
} as const;
export type OpName = keyof typeof Op;
export type Opcode = (typeof Op)[OpName];

const opNames = new Map<number, OpName>(Object.entries(Op).map(([k, v]) => [v, k as OpName]));
export function opName(op: number): string { return opNames.get(op) ?? `OP_${op}`; }

/** enum fuse_notify_code. */
export const Notify = {
  POLL: 1, INVAL_INODE: 2, INVAL_ENTRY: 3, STORE: 4, RETRIEVE: 5, DELETE: 6, RESEND: 7,
  INC_EPOCH: 8, PRUNE: 9,
} as const;

/** INIT flags as bit numbers: flags = bits 0..31, flags2 = bits 32..63 (bigint masks). */
export const Init = {
  ASYNC_READ: 1n << 0n, POSIX_LOCKS: 1n << 1n, FILE_OPS: 1n << 2n, ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n, BIG_WRITES: 1n << 5n, DONT_MASK: 1n << 6n, SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n, SPLICE_READ: 1n << 9n, FLOCK_LOCKS: 1n << 10n, HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n, DO_READDIRPLUS: 1n << 13n, READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n, WRITEBACK_CACHE: 1n << 16n, NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n, HANDLE_KILLPRIV: 1n << 19n, POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n, MAX_PAGES: 1n << 22n, CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n, EXPLICIT_INVAL_DATA: 1n << 25n, MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n, HANDLE_KILLPRIV_V2: 1n << 28n, SETXATTR_EXT: 1n << 29n,
  INIT_EXT: 1n << 30n, INIT_RESERVED: 1n << 31n, SECURITY_CTX: 1n << 32n,
  HAS_INODE_DAX: 1n << 33n, CREATE_SUPP_GROUP: 1n << 34n, HAS_EXPIRE_ONLY: 1n << 35n,
  DIRECT_IO_ALLOW_MMAP: 1n << 36n, PASSTHROUGH: 1n << 37n, NO_EXPORT_SUPPORT: 1n << 38n,
  HAS_RESEND: 1n << 39n, ALLOW_IDMAP: 1n << 40n, OVER_IO_URING: 1n << 41n,
  REQUEST_TIMEOUT: 1n << 42n,
} as const;
export type InitFlagName = keyof typeof Init;

export function initFlagNames(flags: bigint): string[] {
  return Object.entries(Init).filter(([, v]) => (flags & v) !== 0n).map(([k]) => k);
}

/** fuse_setattr_in.valid. */
export const FATTR = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5, FH: 1 << 6,
  ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8, LOCKOWNER: 1 << 9, CTIME: 1 << 10, KILL_SUIDGID: 1 << 11,
} as const;

/** fuse_open_out.open_flags. */
export const FOPEN = {
  DIRECT_IO: 1 << 0, KEEP_CACHE: 1 << 1, NONSEEKABLE: 1 << 2, CACHE_DIR: 1 << 3, STREAM: 1 << 4,
  NOFLUSH: 1 << 5, PARALLEL_DIRECT_WRITES: 1 << 6, PASSTHROUGH: 1 << 7,
} as const;

export const FUSE_ATTR_SUBMOUNT = 1 << 0;
export const FUSE_ATTR_DAX = 1 << 1;
export const FUSE_OPEN_KILL_SUIDGID = 1 << 0;
export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_RELEASE_FLUSH = 1 << 0;
export const FUSE_RELEASE_FLOCK_UNLOCK = 1 << 1;
export const FUSE_LK_FLOCK = 1 << 0;
export const FUSE_WRITE_CACHE = 1 << 0;
export const FUSE_WRITE_LOCKOWNER = 1 << 1;
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2;
export const FUSE_READ_LOCKOWNER = 1 << 1;
export const FUSE_FSYNC_FDATASYNC = 1 << 0;
export const FUSE_SETXATTR_ACL_KILL_SGID = 1 << 0;
export const FUSE_EXPIRE_ONLY = 1 << 0;
export const FUSE_POLL_SCHEDULE_NOTIFY = 1 << 0;
export const FUSE_IOCTL = { COMPAT: 1 << 0, UNRESTRICTED: 1 << 1, RETRY: 1 << 2, BIT32: 1 << 3, DIR: 1 << 4, COMPAT_X32: 1 << 5 } as const;
export const FUSE_IOCTL_MAX_IOV = 256;
export const FUSE_INVALID_UIDGID = 0xffffffff;
export const FUSE_EXT_GROUPS = 32;
export const FUSE_MAX_NR_SECCTX = 31;
export const FUSE_COMPAT_SETXATTR_IN_SIZE = 8;
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

/** FUSE_DIRENT_ALIGN: dirents are padded to 8 bytes. */
export function direntAlign(x: number): number { return (x + 7) & ~7; }

// ---- headers -------------------------------------------------------------------------
export const fuse_in_header = struct('fuse_in_header', 40, [
  ['len', 'u32le', 0], ['opcode', 'u32le', 4], ['unique', 'u64le', 8], ['nodeid', 'u64le', 16],
  ['uid', 'u32le', 24], ['gid', 'u32le', 28], ['pid', 'u32le', 32], ['total_extlen', 'u16le', 36],
  ['padding', 'u16le', 38],
] as const);
export const fuse_out_header = struct('fuse_out_header', 16, [
  ['len', 'u32le', 0], ['error', 's32le', 4], ['unique', 'u64le', 8],
] as const);
export const fuse_ext_header = struct('fuse_ext_header', 8, [['size', 'u32le', 0], ['type', 'u32le', 4]] as const);
export const fuse_supp_groups = struct('fuse_supp_groups', 4, [['nr_groups', 'u32le', 0]] as const);
export const fuse_secctx_header = struct('fuse_secctx_header', 8, [['size', 'u32le', 0], ['nr_secctx', 'u32le', 4]] as const);
export const fuse_secctx = struct('fuse_secctx', 8, [['size', 'u32le', 0], ['padding', 'u32le', 4]] as const);

// ---- attributes ------------------------------------------------------------------------
export const fuse_attr = struct('fuse_attr', 88, [
  ['ino', 'u64le', 0], ['size', 'u64le', 8], ['blocks', 'u64le', 16], ['atime', 'u64le', 24],
  ['mtime', 'u64le', 32], ['ctime', 'u64le', 40], ['atimensec', 'u32le', 48], ['mtimensec', 'u32le', 52],
  ['ctimensec', 'u32le', 56], ['mode', 'u32le', 60], ['nlink', 'u32le', 64], ['uid', 'u32le', 68],
  ['gid', 'u32le', 72], ['rdev', 'u32le', 76], ['blksize', 'u32le', 80], ['flags', 'u32le', 84],
] as const);
export const fuse_entry_out = struct('fuse_entry_out', 128, [
  ['nodeid', 'u64le', 0], ['generation', 'u64le', 8], ['entry_valid', 'u64le', 16], ['attr_valid', 'u64le', 24],
  ['entry_valid_nsec', 'u32le', 32], ['attr_valid_nsec', 'u32le', 36], ['attr', 'u8[88]', 40],
] as const);
export const fuse_attr_out = struct('fuse_attr_out', 104, [
  ['attr_valid', 'u64le', 0], ['attr_valid_nsec', 'u32le', 8], ['dummy', 'u32le', 12], ['attr', 'u8[88]', 16],
] as const);
export const fuse_sx_time = struct('fuse_sx_time', 16, [
  ['tv_sec', 's64le', 0], ['tv_nsec', 'u32le', 8], ['__reserved', 's32le', 12],
] as const);
export const fuse_statx = struct('fuse_statx', 256, [
  ['mask', 'u32le', 0], ['blksize', 'u32le', 4], ['attributes', 'u64le', 8], ['nlink', 'u32le', 16],
  ['uid', 'u32le', 20], ['gid', 'u32le', 24], ['mode', 'u16le', 28], ['__spare0', 'u16le', 30],
  ['ino', 'u64le', 32], ['size', 'u64le', 40], ['blocks', 'u64le', 48], ['attributes_mask', 'u64le', 56],
  ['atime', 'u8[16]', 64], ['btime', 'u8[16]', 80], ['ctime', 'u8[16]', 96], ['mtime', 'u8[16]', 112],
  ['rdev_major', 'u32le', 128], ['rdev_minor', 'u32le', 132], ['dev_major', 'u32le', 136],
  ['dev_minor', 'u32le', 140], ['__spare2', 'u8[112]', 144],
] as const);
export const fuse_statx_in = struct('fuse_statx_in', 24, [
  ['getattr_flags', 'u32le', 0], ['reserved', 'u32le', 4], ['fh', 'u64le', 8], ['sx_flags', 'u32le', 16],
  ['sx_mask', 'u32le', 20],
] as const);
export const fuse_statx_out = struct('fuse_statx_out', 288, [
  ['attr_valid', 'u64le', 0], ['attr_valid_nsec', 'u32le', 8], ['flags', 'u32le', 12],
  ['spare', 'u8[16]', 16], ['stat', 'u8[256]', 32],
] as const);
export const fuse_kstatfs = struct('fuse_kstatfs', 80, [
  ['blocks', 'u64le', 0], ['bfree', 'u64le', 8], ['bavail', 'u64le', 16], ['files', 'u64le', 24],
  ['ffree', 'u64le', 32], ['bsize', 'u32le', 40], ['namelen', 'u32le', 44], ['frsize', 'u32le', 48],
  ['padding', 'u32le', 52], ['spare', 'u8[24]', 56],
] as const);
export const fuse_file_lock = struct('fuse_file_lock', 24, [
  ['start', 'u64le', 0], ['end', 'u64le', 8], ['type', 'u32le', 16], ['pid', 'u32le', 20],
] as const);

// ---- request bodies ----------------------------------------------------------------------
export const fuse_forget_in = struct('fuse_forget_in', 8, [['nlookup', 'u64le', 0]] as const);
export const fuse_forget_one = struct('fuse_forget_one', 16, [['nodeid', 'u64le', 0], ['nlookup', 'u64le', 8]] as const);
export const fuse_batch_forget_in = struct('fuse_batch_forget_in', 8, [['count', 'u32le', 0], ['dummy', 'u32le', 4]] as const);
export const fuse_getattr_in = struct('fuse_getattr_in', 16, [
  ['getattr_flags', 'u32le', 0], ['dummy', 'u32le', 4], ['fh', 'u64le', 8],
] as const);
export const fuse_mknod_in = struct('fuse_mknod_in', 16, [
  ['mode', 'u32le', 0], ['rdev', 'u32le', 4], ['umask', 'u32le', 8], ['padding', 'u32le', 12],
] as const);
export const fuse_mkdir_in = struct('fuse_mkdir_in', 8, [['mode', 'u32le', 0], ['umask', 'u32le', 4]] as const);
export const fuse_rename_in = struct('fuse_rename_in', 8, [['newdir', 'u64le', 0]] as const);
export const fuse_rename2_in = struct('fuse_rename2_in', 16, [
  ['newdir', 'u64le', 0], ['flags', 'u32le', 8], ['padding', 'u32le', 12],
] as const);
export const fuse_link_in = struct('fuse_link_in', 8, [['oldnodeid', 'u64le', 0]] as const);
export const fuse_setattr_in = struct('fuse_setattr_in', 88, [
  ['valid', 'u32le', 0], ['padding', 'u32le', 4], ['fh', 'u64le', 8], ['size', 'u64le', 16],
  ['lock_owner', 'u64le', 24], ['atime', 'u64le', 32], ['mtime', 'u64le', 40], ['ctime', 'u64le', 48],
  ['atimensec', 'u32le', 56], ['mtimensec', 'u32le', 60], ['ctimensec', 'u32le', 64], ['mode', 'u32le', 68],
  ['unused4', 'u32le', 72], ['uid', 'u32le', 76], ['gid', 'u32le', 80], ['unused5', 'u32le', 84],
] as const);
export const fuse_open_in = struct('fuse_open_in', 8, [['flags', 'u32le', 0], ['open_flags', 'u32le', 4]] as const);
export const fuse_create_in = struct('fuse_create_in', 16, [
  ['flags', 'u32le', 0], ['mode', 'u32le', 4], ['umask', 'u32le', 8], ['open_flags', 'u32le', 12],
] as const);
export const fuse_open_out = struct('fuse_open_out', 16, [
  ['fh', 'u64le', 0], ['open_flags', 'u32le', 8], ['backing_id', 's32le', 12],
] as const);
export const fuse_release_in = struct('fuse_release_in', 24, [
  ['fh', 'u64le', 0], ['flags', 'u32le', 8], ['release_flags', 'u32le', 12], ['lock_owner', 'u64le', 16],
] as const);
export const fuse_flush_in = struct('fuse_flush_in', 24, [
  ['fh', 'u64le', 0], ['unused', 'u32le', 8], ['padding', 'u32le', 12], ['lock_owner', 'u64le', 16],
] as const);
export const fuse_read_in = struct('fuse_read_in', 40, [
  ['fh', 'u64le', 0], ['offset', 'u64le', 8], ['size', 'u32le', 16], ['read_flags', 'u32le', 20],
  ['lock_owner', 'u64le', 24], ['flags', 'u32le', 32], ['padding', 'u32le', 36],
] as const);
export const fuse_write_in = struct('fuse_write_in', 40, [
  ['fh', 'u64le', 0], ['offset', 'u64le', 8], ['size', 'u32le', 16], ['write_flags', 'u32le', 20],
  ['lock_owner', 'u64le', 24], ['flags', 'u32le', 32], ['padding', 'u32le', 36],
] as const);
export const fuse_write_out = struct('fuse_write_out', 8, [['size', 'u32le', 0], ['padding', 'u32le', 4]] as const);
export const fuse_statfs_out = struct('fuse_statfs_out', 80, [['st', 'u8[80]', 0]] as const);
export const fuse_fsync_in = struct('fuse_fsync_in', 16, [
  ['fh', 'u64le', 0], ['fsync_flags', 'u32le', 8], ['padding', 'u32le', 12],
] as const);
export const fuse_setxattr_in = struct('fuse_setxattr_in', 16, [
  ['size', 'u32le', 0], ['flags', 'u32le', 4], ['setxattr_flags', 'u32le', 8], ['padding', 'u32le', 12],
] as const);
export const fuse_getxattr_in = struct('fuse_getxattr_in', 8, [['size', 'u32le', 0], ['padding', 'u32le', 4]] as const);
export const fuse_getxattr_out = struct('fuse_getxattr_out', 8, [['size', 'u32le', 0], ['padding', 'u32le', 4]] as const);
export const fuse_lk_in = struct('fuse_lk_in', 48, [
  ['fh', 'u64le', 0], ['owner', 'u64le', 8], ['lk', 'u8[24]', 16], ['lk_flags', 'u32le', 40], ['padding', 'u32le', 44],
] as const);
export const fuse_lk_out = struct('fuse_lk_out', 24, [['lk', 'u8[24]', 0]] as const);
export const fuse_access_in = struct('fuse_access_in', 8, [['mask', 'u32le', 0], ['padding', 'u32le', 4]] as const);
export const fuse_init_in = struct('fuse_init_in', 64, [
  ['major', 'u32le', 0], ['minor', 'u32le', 4], ['max_readahead', 'u32le', 8], ['flags', 'u32le', 12],
  ['flags2', 'u32le', 16], ['unused', 'u8[44]', 20],
] as const);
export const fuse_init_out = struct('fuse_init_out', 64, [
  ['major', 'u32le', 0], ['minor', 'u32le', 4], ['max_readahead', 'u32le', 8], ['flags', 'u32le', 12],
  ['max_background', 'u16le', 16], ['congestion_threshold', 'u16le', 18], ['max_write', 'u32le', 20],
  ['time_gran', 'u32le', 24], ['max_pages', 'u16le', 28], ['map_alignment', 'u16le', 30],
  ['flags2', 'u32le', 32], ['max_stack_depth', 'u32le', 36], ['request_timeout', 'u16le', 40],
  ['unused', 'u8[22]', 42],
] as const);
export const fuse_interrupt_in = struct('fuse_interrupt_in', 8, [['unique', 'u64le', 0]] as const);
export const fuse_bmap_in = struct('fuse_bmap_in', 16, [
  ['block', 'u64le', 0], ['blocksize', 'u32le', 8], ['padding', 'u32le', 12],
] as const);
export const fuse_bmap_out = struct('fuse_bmap_out', 8, [['block', 'u64le', 0]] as const);
export const fuse_ioctl_in = struct('fuse_ioctl_in', 32, [
  ['fh', 'u64le', 0], ['flags', 'u32le', 8], ['cmd', 'u32le', 12], ['arg', 'u64le', 16],
  ['in_size', 'u32le', 24], ['out_size', 'u32le', 28],
] as const);
export const fuse_ioctl_iovec = struct('fuse_ioctl_iovec', 16, [['base', 'u64le', 0], ['len', 'u64le', 8]] as const);
export const fuse_ioctl_out = struct('fuse_ioctl_out', 16, [
  ['result', 's32le', 0], ['flags', 'u32le', 4], ['in_iovs', 'u32le', 8], ['out_iovs', 'u32le', 12],
] as const);
export const fuse_poll_in = struct('fuse_poll_in', 24, [
  ['fh', 'u64le', 0], ['kh', 'u64le', 8], ['flags', 'u32le', 16], ['events', 'u32le', 20],
] as const);
export const fuse_poll_out = struct('fuse_poll_out', 8, [['revents', 'u32le', 0], ['padding', 'u32le', 4]] as const);
export const fuse_fallocate_in = struct('fuse_fallocate_in', 32, [
  ['fh', 'u64le', 0], ['offset', 'u64le', 8], ['length', 'u64le', 16], ['mode', 'u32le', 24], ['padding', 'u32le', 28],
] as const);
export const fuse_lseek_in = struct('fuse_lseek_in', 24, [
  ['fh', 'u64le', 0], ['offset', 'u64le', 8], ['whence', 'u32le', 16], ['padding', 'u32le', 20],
] as const);
export const fuse_lseek_out = struct('fuse_lseek_out', 8, [['offset', 'u64le', 0]] as const);
export const fuse_copy_file_range_in = struct('fuse_copy_file_range_in', 56, [
  ['fh_in', 'u64le', 0], ['off_in', 'u64le', 8], ['nodeid_out', 'u64le', 16], ['fh_out', 'u64le', 24],
  ['off_out', 'u64le', 32], ['len', 'u64le', 40], ['flags', 'u64le', 48],
] as const);
export const fuse_copy_file_range_out = struct('fuse_copy_file_range_out', 8, [['bytes_copied', 'u64le', 0]] as const);
export const fuse_setupmapping_in = struct('fuse_setupmapping_in', 40, [
  ['fh', 'u64le', 0], ['foffset', 'u64le', 8], ['len', 'u64le', 16], ['flags', 'u64le', 24], ['moffset', 'u64le', 32],
] as const);
export const fuse_removemapping_in = struct('fuse_removemapping_in', 4, [['count', 'u32le', 0]] as const);
export const fuse_removemapping_one = struct('fuse_removemapping_one', 16, [['moffset', 'u64le', 0], ['len', 'u64le', 8]] as const);
export const fuse_syncfs_in = struct('fuse_syncfs_in', 8, [['padding', 'u64le', 0]] as const);
export const fuse_notify_retrieve_in = struct('fuse_notify_retrieve_in', 40, [
  ['dummy1', 'u64le', 0], ['offset', 'u64le', 8], ['size', 'u32le', 16], ['dummy2', 'u32le', 20],
  ['dummy3', 'u64le', 24], ['dummy4', 'u64le', 32],
] as const);

// ---- directory records -------------------------------------------------------------------
export const fuse_dirent = struct('fuse_dirent', 24, [
  ['ino', 'u64le', 0], ['off', 'u64le', 8], ['namelen', 'u32le', 16], ['type', 'u32le', 20],
] as const);
export const FUSE_NAME_OFFSET = 24;
export const FUSE_NAME_OFFSET_DIRENTPLUS = 152;

// ---- notifications (server -> kernel, unique 0) --------------------------------------------
export const fuse_notify_poll_wakeup_out = struct('fuse_notify_poll_wakeup_out', 8, [['kh', 'u64le', 0]] as const);
export const fuse_notify_inval_inode_out = struct('fuse_notify_inval_inode_out', 24, [
  ['ino', 'u64le', 0], ['off', 's64le', 8], ['len', 's64le', 16],
] as const);
export const fuse_notify_inval_entry_out = struct('fuse_notify_inval_entry_out', 16, [
  ['parent', 'u64le', 0], ['namelen', 'u32le', 8], ['flags', 'u32le', 12],
] as const);
export const fuse_notify_delete_out = struct('fuse_notify_delete_out', 24, [
  ['parent', 'u64le', 0], ['child', 'u64le', 8], ['namelen', 'u32le', 16], ['padding', 'u32le', 20],
] as const);
export const fuse_notify_store_out = struct('fuse_notify_store_out', 24, [
  ['nodeid', 'u64le', 0], ['offset', 'u64le', 8], ['size', 'u32le', 16], ['padding', 'u32le', 20],
] as const);
export const fuse_notify_retrieve_out = struct('fuse_notify_retrieve_out', 32, [
  ['notify_unique', 'u64le', 0], ['nodeid', 'u64le', 8], ['offset', 'u64le', 16], ['size', 'u32le', 24],
  ['padding', 'u32le', 28],
] as const);
export const fuse_notify_prune_out = struct('fuse_notify_prune_out', 16, [
  ['count', 'u32le', 0], ['padding', 'u32le', 4], ['spare', 'u64le', 8],
] as const);

/** Every schema, for the size/contiguity self-test. */
export const allSchemas = [
  fuse_in_header, fuse_out_header, fuse_ext_header, fuse_supp_groups, fuse_secctx_header, fuse_secctx,
  fuse_attr, fuse_entry_out, fuse_attr_out, fuse_sx_time, fuse_statx, fuse_statx_in, fuse_statx_out,
  fuse_kstatfs, fuse_file_lock, fuse_forget_in, fuse_forget_one, fuse_batch_forget_in, fuse_getattr_in,
  fuse_mknod_in, fuse_mkdir_in, fuse_rename_in, fuse_rename2_in, fuse_link_in, fuse_setattr_in,
  fuse_open_in, fuse_create_in, fuse_open_out, fuse_release_in, fuse_flush_in, fuse_read_in,
  fuse_write_in, fuse_write_out, fuse_statfs_out, fuse_fsync_in, fuse_setxattr_in, fuse_getxattr_in,
  fuse_getxattr_out, fuse_lk_in, fuse_lk_out, fuse_access_in, fuse_init_in, fuse_init_out,
  fuse_interrupt_in, fuse_bmap_in, fuse_bmap_out, fuse_ioctl_in, fuse_ioctl_iovec, fuse_ioctl_out,
  fuse_poll_in, fuse_poll_out, fuse_fallocate_in, fuse_lseek_in, fuse_lseek_out,
  fuse_copy_file_range_in, fuse_copy_file_range_out, fuse_setupmapping_in, fuse_removemapping_in,
  fuse_removemapping_one, fuse_syncfs_in, fuse_notify_retrieve_in, fuse_dirent,
  fuse_notify_poll_wakeup_out, fuse_notify_inval_inode_out, fuse_notify_inval_entry_out,
  fuse_notify_delete_out, fuse_notify_store_out, fuse_notify_retrieve_out, fuse_notify_prune_out,
] as const;

// The FUSE layer's public surface for the server bridge and entry points: the session, the
// FuseFs contract and its argument/result types, errors, and the ABI constants they need.
// Nothing here knows about ext4; the server maps engine results onto these types.

export { FuseSession, fdDevice, DEFAULT_WANT, type FuseDevice, type SessionOptions, type SessionStats } from './session.js';
export type { FuseFs, RequestContext, ConnInfo, InitTweak, DirentSink, DirentPlusSink } from './ops.js';
export type * from './decode.js';
export type {
  Attr, Entry, AttrReply, OpenReply, CreateReply, Statfs, Statx, StatxReply, SxTime, IoctlReply, LkReply, DirentRec,
} from './encode.js';
export { FsErrno, ProtocolError, errnoOf } from './errors.js';
export * as errno from './errors.js';
export {
  Op, Init, FATTR, FOPEN, FUSE_ROOT_ID, FUSE_GETATTR_FH, FUSE_EXPIRE_ONLY, RENAME_NOREPLACE, RENAME_EXCHANGE,
  RENAME_WHITEOUT, FUSE_WRITE_CACHE, FUSE_FSYNC_FDATASYNC, FUSE_RELEASE_FLUSH, FUSE_OPEN_KILL_SUIDGID, opName,
} from './abi.js';

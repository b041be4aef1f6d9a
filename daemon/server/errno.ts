// The ONE place where a failure inside a FUSE request becomes an errno and a log line.
// Engine errors carry their own errno (CorruptError -> EUCLEAN, ChecksumError -> EBADMSG,
// IoError -> EIO, FsError -> its errno); anything else is a bug and answers EIO. Ordinary
// outcomes (ENOENT, ENODATA, ENXIO...) are not logged: a walk produces thousands of them.

import { ChecksumError, CorruptError, FsError, IncompatibleError, IoError } from '../ext4/errors.js';
import { FsErrno, opName } from '../fuse/index.js';
import { log as defaultLog, type Level } from '../util/log.js';

export const EIO = 5;
export const EUCLEAN = 117;
export const EBADMSG = 74;

export type LogFn = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

/** What the log line says about the request that failed. */
export interface ErrorSite { opcode: number; unique: bigint; nodeid?: bigint }

/** Only the fields that are known: the line stays short and greppable. */
function defined(f: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) out[k] = v;
  return out;
}

function validErrno(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 512;
}

/**
 * The errno for `e`, logging one line for damage, device errors and bugs. Never throws.
 */
export function errnoFor(e: unknown, site: ErrorSite, log: LogFn = defaultLog): number {
  const op = opName(site.opcode);
  if (e instanceof CorruptError) {
    const errno = e instanceof ChecksumError ? EBADMSG : EUCLEAN;
    log('warn', 'corrupt metadata', defined({
      op, unique: site.unique, nodeid: site.nodeid, errno, structure: e.structure, reason: e.reason,
      inode: e.at.inode, block: e.at.block, group: e.at.group, lblk: e.at.lblk, field: e.field, value: e.value,
    }));
    return errno;
  }
  if (e instanceof IoError) {
    log('warn', 'device error', defined({ op, unique: site.unique, nodeid: site.nodeid, errno: EIO, err: e.message }));
    return EIO;
  }
  if (e instanceof FsError) return validErrno(e.errno) ? e.errno : EIO;
  if (e instanceof FsErrno) return validErrno(e.errno) ? e.errno : EIO;
  if (e instanceof IncompatibleError) {
    log('warn', 'unsupported feature', { op, unique: site.unique, nodeid: site.nodeid, feature: e.feature, reason: e.reason });
    return validErrno(e.errno) ? e.errno : EIO;
  }
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  log('error', 'internal error', defined({ op, unique: site.unique, nodeid: site.nodeid, errno: EIO, err: msg }));
  return EIO;
}

/** The FsErrno to throw back to the session for `e` (see errnoFor). */
export function toFsErrno(e: unknown, site: ErrorSite, log?: LogFn): FsErrno {
  if (e instanceof FsErrno && validErrno(e.errno)) return e;
  return new FsErrno(errnoFor(e, site, log));
}

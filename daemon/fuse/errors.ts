// Errors of the FUSE protocol layer. A request the kernel sent that does not parse is a
// ProtocolError: the session answers it EIO (or drops it when no reply is allowed) and keeps
// serving. FsErrno is what a FuseFs method throws to answer with a specific errno.

import type { BoundsErrorFactory } from '../util/bytes.js';

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EEXIST = 17;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ENODATA = 61;
export const EPROTO = 71;
export const EOPNOTSUPP = 95;
export const ENODEV = 19;
export const ENXIO = 6;
export const ENOTTY = 25;

/** A malformed request from the kernel (or a test): short, bad lengths, missing NUL. */
export class ProtocolError extends Error {
  readonly errno: number = EIO;
  constructor(readonly reason: string, readonly opcode?: number, readonly unique?: bigint) {
    super(`fuse protocol: ${reason}${opcode !== undefined ? ` (opcode ${opcode}` + (unique !== undefined ? `, unique ${unique})` : ')') : ''}`);
    this.name = 'ProtocolError';
  }
}

/** The Reader bounds factory for request parsing. */
export const protocolBounds: BoundsErrorFactory = (off, width, length, what) =>
  new ProtocolError(`${what}: need ${width} bytes at ${off}, have ${length}`);

/** Thrown by FuseFs methods (or anything with a numeric `errno`) to answer -errno. */
export class FsErrno extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? `errno ${errno}`);
    this.name = 'FsErrno';
  }
}

/** The errno an error carries, if it carries a valid one: 0 < errno < 512 (kernel rule). */
export function errnoOf(e: unknown): number | null {
  if (typeof e !== 'object' || e === null) return null;
  const n = (e as { errno?: unknown }).errno;
  if (typeof n !== 'number' || !Number.isInteger(n)) return null;
  // Node's system errors carry errno < 0 (libuv style): accept them as -errno.
  const v = n < 0 ? -n : n;
  return v > 0 && v < 512 ? v : null;
}

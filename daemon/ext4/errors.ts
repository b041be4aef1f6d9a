// The engine's closed set of failures. The engine throws and never logs; the server's
// errno.ts (and the CLI) turn these into an errno and one line. The message format of
// CorruptError is pinned by tests: tools and users grep for it.
//   corrupt extent_header: unexpected eh_depth (inode 12, block 22, eh_depth=3, expected 1)

import { BoundsErrorFactory } from '../util/bytes.js';
import { RangeCheckError } from '../util/checked.js';

export const EIO = 5;
export const EUCLEAN = 117; // the kernel's EFSCORRUPTED
export const EBADMSG = 74; // the kernel's EFSBADCRC

/** Where in the image a problem sits; every field optional, printed in this order. */
export interface Where {
  inode?: number | bigint;
  block?: number | bigint;
  group?: number;
  offset?: number;
  lblk?: number; // logical block within a file/dir
}

function fmtWhere(at: Where, field?: string, value?: unknown, expected?: unknown): string {
  const parts: string[] = [];
  if (at.inode !== undefined) parts.push(`inode ${at.inode}`);
  if (at.block !== undefined) parts.push(`block ${at.block}`);
  if (at.group !== undefined) parts.push(`group ${at.group}`);
  if (at.lblk !== undefined) parts.push(`lblk ${at.lblk}`);
  if (at.offset !== undefined) parts.push(`offset ${at.offset}`);
  if (field !== undefined) parts.push(`${field}=${fmtValue(value)}`);
  if (expected !== undefined) parts.push(`expected ${fmtValue(expected)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function fmtValue(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && (v > 0xffff || v < 0) && v > 0 && v <= 0xffffffff) {
    return `0x${v.toString(16)}`;
  }
  return String(v);
}

/** Damage in an on-disk structure: EUCLEAN. */
export class CorruptError extends Error {
  readonly errno: number = EUCLEAN;
  constructor(
    readonly structure: string,
    readonly reason: string,
    readonly at: Where = {},
    readonly field?: string,
    readonly value?: unknown,
    readonly expected?: unknown,
  ) {
    super(`corrupt ${structure}: ${reason}${fmtWhere(at, field, value, expected)}`);
    this.name = 'CorruptError';
  }
}

/** A checksum mismatch: EBADMSG (the kernel's EFSBADCRC). */
export class ChecksumError extends CorruptError {
  override readonly errno: number = EBADMSG;
  constructor(structure: string, at: Where, stored: number, computed: number) {
    super(structure, 'checksum mismatch', at, 'stored', `0x${(stored >>> 0).toString(16)}`, `0x${(computed >>> 0).toString(16)}`);
    this.name = 'ChecksumError';
  }
}

/** The image uses something we do not implement: refuse the mount or force read-only. */
export class IncompatibleError extends Error {
  readonly errno: number = EUCLEAN;
  constructor(readonly feature: string, readonly reason: string, readonly readOnlyOk = false) {
    super(`unsupported ${feature}: ${reason}`);
    this.name = 'IncompatibleError';
  }
}

/** The device failed or is short: EIO. */
export class IoError extends Error {
  readonly errno: number = EIO;
  constructor(readonly op: string, readonly at: Where, override readonly cause?: unknown) {
    super(`I/O error: ${op}${fmtWhere(at)}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'IoError';
  }
}

/** An ordinary outcome (ENOENT, ENOTDIR, ENODATA, ERANGE, EROFS...) carried as an errno. */
export class FsError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
    this.name = 'FsError';
  }
}

export const Errno = {
  EPERM: 1, ENOENT: 2, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13,
  EEXIST: 17, EXDEV: 18, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EFBIG: 27, ENOSPC: 28, EROFS: 30,
  EMLINK: 31, ERANGE: 34, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61,
  EOVERFLOW: 75, EBADMSG, EOPNOTSUPP: 95, EUCLEAN, ENOTTY: 25, ESPIPE: 29,
} as const;

/** A Reader bounds factory producing CorruptError for one structure at one place. */
export function corruptBounds(structure: string, at: Where): BoundsErrorFactory {
  return (off, width, length) =>
    new CorruptError(structure, 'truncated structure', { ...at, offset: off }, 'need', off + width, `<= ${length}`);
}

/** Converts a checked-arithmetic overflow into corruption of a named structure. */
export function rangeToCorrupt<T>(structure: string, at: Where, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeCheckError) throw new CorruptError(structure, 'value out of range', at, e.what, e.value);
    throw e;
  }
}

/** errno for any thrown value: typed errors carry theirs; anything else is EIO. */
export function errnoOf(e: unknown): number {
  if (e instanceof CorruptError || e instanceof IoError || e instanceof FsError || e instanceof IncompatibleError) return e.errno;
  return EIO;
}

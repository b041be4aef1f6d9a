// The CLI's one rule for failure: one clear line on stderr, a non-zero exit, no stack
// trace unless --debug. Usage errors exit 2, everything else 1.

import { CorruptError, FsError, IncompatibleError, IoError } from '../ext4/errors.js';
import { sanitize } from '../util/log.js';

/** A failure the user can act on (missing image...): one line, exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const ERRNO_NAME: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 13: 'EACCES', 17: 'EEXIST', 20: 'ENOTDIR', 21: 'EISDIR',
  22: 'EINVAL', 28: 'ENOSPC', 30: 'EROFS', 34: 'ERANGE', 36: 'ENAMETOOLONG', 40: 'ELOOP',
  61: 'ENODATA', 74: 'EBADMSG', 95: 'EOPNOTSUPP', 117: 'EUCLEAN',
};

export function errnoName(n: number): string {
  return ERRNO_NAME[n] ?? `errno ${n}`;
}

/** The one line shown for an error (without the program prefix). */
export function describeError(e: unknown): string {
  if (e instanceof CorruptError) return `${e.message} [${errnoName(e.errno)}]`;
  if (e instanceof IoError) return `${e.message} [EIO]`;
  if (e instanceof IncompatibleError) return e.message;
  if (e instanceof FsError) return `${e.message} [${errnoName(e.errno)}]`;
  if (e instanceof UsageError) return e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${e.message} [${code}]` : e.message;
  }
  return String(e);
}

export function exitWithError(e: unknown, debug: boolean): never {
  process.stderr.write(`ext4box: ${sanitize(describeError(e), 2000)}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  process.exit(e instanceof UsageError ? 2 : 1);
}

/** Parses a non-negative integer option value or throws a UsageError naming the option. */
export function parseCount(v: string, opt: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${opt} wants a non-negative integer, got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${opt} is too large: ${v}`);
  return n;
}

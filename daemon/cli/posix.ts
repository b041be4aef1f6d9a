// The few POSIX calls extract needs that Node lacks (lsetxattr, mknod, utimensat with
// nanoseconds), from the project's native addon. Paths and names are raw bytes: on-disk
// names need not be UTF-8.

import { loadNative, type Native } from '../../helper/native.js';
import type { Timespec } from '../ext4/api.js';

export interface PosixExtras {
  lsetxattr(path: Buffer, name: Buffer, value: Buffer): void;
  mknod(path: Buffer, mode: number, major: number, minor: number): void;
  lutimens(path: Buffer, atime: Timespec, mtime: Timespec): void;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

export function loadPosix(): PosixExtras {
  const n: Native = loadNative();
  return {
    lsetxattr: (p, name, value) => n.lsetxattr(p, name, value, 0),
    mknod: (p, mode, major, minor) => n.mknodat(AT_FDCWD, p, mode, major, minor),
    lutimens: (p, a, m) => n.utimensat(AT_FDCWD, p, a.sec, a.nsec, m.sec, m.nsec, AT_SYMLINK_NOFOLLOW),
  };
}

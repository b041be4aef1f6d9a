// The ext4box library: read ext2/3/4 images from Node without mounting and without
// privilege. Everything here is read-only and safe on hostile images: damage surfaces as
// typed errors (CorruptError -> EUCLEAN, ChecksumError -> EBADMSG, IoError -> EIO).
//
//   import { openImage } from 'ext4box';
//   const fs = openImage('disk.img');
//   const ino = fs.resolve(new TextEncoder().encode('/etc/hostname'));
//   console.log(new TextDecoder().decode(fs.readSync(ino, 0, fs.stat(ino).size)));
//   fs.close();

export { openImage, Ext4Fs } from './ext4/fs.js';
export type { OpenImageOptions } from './ext4/fs.js';
export type { DirEntry, FileType, FsInfo, FsxAttr, HealthReport, HealthFinding, JournalInfo, Stat, StatFs, Timespec, Segment } from './ext4/api.js';
export { CorruptError, ChecksumError, IoError, FsError, IncompatibleError, errnoOf } from './ext4/errors.js';
export { walkFs, DEFAULT_BUDGET } from './ext4/walk.js';
export type { WalkBudget, WalkResult, WalkProblem } from './ext4/walk.js';

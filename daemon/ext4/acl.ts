// POSIX ACLs as ext4 stores them: the value of the xattr with e_name_index 2 (access) or 3
// (default) and an empty name. Little-endian: ext4_acl_header {a_version=1} then entries,
// 4-byte short ones {e_tag, e_perm} for USER_OBJ/GROUP_OBJ/MASK/OTHER and 8-byte ones with
// e_id for USER/GROUP (fs/ext4/acl.h, acl.c ext4_acl_from_disk/ext4_acl_to_disk). Userspace
// sees another form (include/uapi/linux/posix_acl_xattr.h): header {a_version=2} then
// 8-byte {e_tag u16, e_perm u16, e_id u32} entries, ACL_UNDEFINED_ID for the short tags.

import { Reader, Writer, viewOf } from '../util/bytes.js';
import { CorruptError, Errno, FsError, Where, corruptBounds } from './errors.js';

export const EXT4_ACL_VERSION = 0x0001;
export const POSIX_ACL_XATTR_VERSION = 0x0002;
export const ACL_UNDEFINED_ID = 0xffffffff;

export const ACL_USER_OBJ = 0x01;
export const ACL_USER = 0x02;
export const ACL_GROUP_OBJ = 0x04;
export const ACL_GROUP = 0x08;
export const ACL_MASK = 0x10;
export const ACL_OTHER = 0x20;

const HEADER = 4; // sizeof(ext4_acl_header)
const SHORT = 4; // sizeof(ext4_acl_entry_short)
const LONG = 8; // sizeof(ext4_acl_entry)
const XATTR_ENTRY = 8; // sizeof(struct posix_acl_xattr_entry)

export interface AclEntry {
  tag: number;
  perm: number;
  /** uid/gid for ACL_USER/ACL_GROUP; ACL_UNDEFINED_ID for the others. */
  id: number;
}

/**
 * An on-disk ACL the kernel rejects. ext4_acl_from_disk returns -EINVAL, and that is what
 * getxattr reports on a kernel mount, so the errno stays EINVAL while the error keeps the
 * corruption's structure/field for the log line.
 */
export class AclCorruptError extends CorruptError {
  override readonly errno: number = Errno.EINVAL;
  constructor(reason: string, at: Where, field?: string, value?: unknown, expected?: unknown) {
    super('ext4_acl', reason, at, field, value, expected);
    this.name = 'AclCorruptError';
  }
}

/** ext4_acl_count: the number of entries a value of `size` bytes holds, or -1. */
export function ext4AclCount(size: number): number {
  const body = size - HEADER;
  const s = body - 4 * SHORT;
  if (s < 0) {
    if (body % SHORT) return -1;
    return body / SHORT;
  }
  if (s % LONG) return -1;
  return s / LONG + 4;
}

/**
 * ext4_acl_from_disk: null for an ACL with no entries (the kernel's "no ACL", ENODATA).
 * The entry count is bounded by the value size (<= XATTR_SIZE_MAX), never by a field.
 */
export function aclFromDisk(value: Uint8Array, at: Where = {}): AclEntry[] | null {
  const r = new Reader(value, corruptBounds('ext4_acl', at), 'ext4_acl');
  if (value.length < HEADER) throw new AclCorruptError('value shorter than header', at, 'size', value.length, `>= ${HEADER}`);
  const version = r.u32(0);
  if (version !== EXT4_ACL_VERSION) throw new AclCorruptError('bad a_version', at, 'a_version', version, EXT4_ACL_VERSION);
  const count = ext4AclCount(value.length);
  if (count < 0) throw new AclCorruptError('size is not a whole number of entries', at, 'size', value.length);
  if (count === 0) return null;
  const out: AclEntry[] = [];
  let off = HEADER;
  for (let n = 0; n < count; n++) {
    if (off + SHORT > value.length) throw new AclCorruptError('entry past end', { ...at, offset: off }, 'entry', n);
    const tag = r.u16(off);
    const perm = r.u16(off + 2);
    switch (tag) {
      case ACL_USER_OBJ: case ACL_GROUP_OBJ: case ACL_MASK: case ACL_OTHER:
        out.push({ tag, perm, id: ACL_UNDEFINED_ID });
        off += SHORT;
        break;
      case ACL_USER: case ACL_GROUP:
        if (off + LONG > value.length) throw new AclCorruptError('entry past end', { ...at, offset: off }, 'entry', n);
        out.push({ tag, perm, id: r.u32(off + 4) });
        off += LONG;
        break;
      default:
        throw new AclCorruptError('unknown e_tag', { ...at, offset: off }, 'e_tag', tag);
    }
  }
  if (off !== value.length) throw new AclCorruptError('entries do not fill the value', at, 'end', off, value.length);
  return out;
}

/** posix_acl_to_xattr: the bytes getxattr("system.posix_acl_*") returns. */
export function aclToXattr(entries: readonly AclEntry[]): Uint8Array {
  const w = new Writer(new Uint8Array(4 + XATTR_ENTRY * entries.length));
  w.u32(POSIX_ACL_XATTR_VERSION);
  for (const e of entries) {
    const hasId = e.tag === ACL_USER || e.tag === ACL_GROUP;
    w.u16(e.tag).u16(e.perm).u32(hasId ? e.id : ACL_UNDEFINED_ID);
  }
  return w.buf;
}

/**
 * posix_acl_from_xattr + posix_acl_valid: the userspace form a setxattr brings, checked as
 * the kernel does before anything reaches the disk. Errors are the caller's (EINVAL), not
 * corruption. Returns null for an empty ACL (header only), which removes the xattr.
 */
export function aclFromXattr(value: Uint8Array): AclEntry[] | null {
  if (value.length < 4) throw new FsError(Errno.EINVAL, 'posix acl: value shorter than header');
  const dv = viewOf(value);
  if (dv.getUint32(0, true) !== POSIX_ACL_XATTR_VERSION) throw new FsError(Errno.EOPNOTSUPP, 'posix acl: bad a_version');
  const body = value.length - 4;
  if (body % XATTR_ENTRY) throw new FsError(Errno.EINVAL, 'posix acl: size is not a whole number of entries');
  const count = body / XATTR_ENTRY;
  if (count === 0) return null;
  const out: AclEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = 4 + i * XATTR_ENTRY;
    const tag = dv.getUint16(o, true);
    const perm = dv.getUint16(o + 2, true);
    const id = dv.getUint32(o + 4, true);
    switch (tag) {
      case ACL_USER_OBJ: case ACL_GROUP_OBJ: case ACL_MASK: case ACL_OTHER:
        out.push({ tag, perm, id: ACL_UNDEFINED_ID });
        break;
      case ACL_USER: case ACL_GROUP:
        if (id === ACL_UNDEFINED_ID) throw new FsError(Errno.EINVAL, 'posix acl: invalid id');
        out.push({ tag, perm, id });
        break;
      default:
        throw new FsError(Errno.EINVAL, `posix acl: unknown tag 0x${tag.toString(16)}`);
    }
  }
  aclValid(out);
  return out;
}

/**
 * posix_acl_valid: permissions within rwx, tags in canonical order (USER_OBJ, USER...,
 * GROUP_OBJ, GROUP..., MASK, OTHER), ids ascending and unique within USER and GROUP,
 * exactly one of each *_OBJ and OTHER, a MASK required when named entries exist.
 */
export function aclValid(entries: readonly AclEntry[]): void {
  const bad = (why: string): never => { throw new FsError(Errno.EINVAL, `posix acl: ${why}`); };
  let state = ACL_USER_OBJ;
  let needsMask = false;
  let prevId = -1;
  for (const e of entries) {
    if (e.perm & ~7) bad('permission bits outside rwx');
    switch (e.tag) {
      case ACL_USER_OBJ:
        if (state !== ACL_USER_OBJ) bad('misplaced ACL_USER_OBJ');
        state = ACL_USER; prevId = -1;
        break;
      case ACL_USER:
        if (state !== ACL_USER) bad('misplaced ACL_USER');
        if (e.id <= prevId) bad('ACL_USER ids not ascending');
        prevId = e.id; needsMask = true;
        break;
      case ACL_GROUP_OBJ:
        if (state !== ACL_USER) bad('misplaced ACL_GROUP_OBJ');
        state = ACL_GROUP; prevId = -1;
        break;
      case ACL_GROUP:
        if (state !== ACL_GROUP) bad('misplaced ACL_GROUP');
        if (e.id <= prevId) bad('ACL_GROUP ids not ascending');
        prevId = e.id; needsMask = true;
        break;
      case ACL_MASK:
        if (state !== ACL_GROUP) bad('misplaced ACL_MASK');
        state = ACL_OTHER;
        break;
      case ACL_OTHER:
        if (state === ACL_OTHER || (state === ACL_GROUP && !needsMask)) { state = 0; break; }
        bad('misplaced ACL_OTHER');
        break;
      default:
        bad('unknown tag');
    }
  }
  if (state !== 0) bad('incomplete ACL');
}

/** ext4_acl_to_disk: the value stored under e_name_index 2/3, name "". */
export function aclToDisk(entries: readonly AclEntry[]): Uint8Array {
  let size = HEADER;
  for (const e of entries) size += e.tag === ACL_USER || e.tag === ACL_GROUP ? LONG : SHORT;
  const w = new Writer(new Uint8Array(size));
  w.u32(EXT4_ACL_VERSION);
  for (const e of entries) {
    switch (e.tag) {
      case ACL_USER: case ACL_GROUP:
        w.u16(e.tag).u16(e.perm).u32(e.id);
        break;
      case ACL_USER_OBJ: case ACL_GROUP_OBJ: case ACL_MASK: case ACL_OTHER:
        w.u16(e.tag).u16(e.perm);
        break;
      default:
        throw new FsError(Errno.EINVAL, `posix acl: unknown tag 0x${e.tag.toString(16)}`);
    }
  }
  return w.buf;
}

/** The disk form -> what getxattr returns; null when the kernel would say ENODATA. */
export function diskAclToXattr(value: Uint8Array, at: Where = {}): Uint8Array | null {
  if (value.length === 0) return null; // ext4_get_acl: a 0-byte value is "no ACL"
  const acl = aclFromDisk(value, at);
  return acl === null ? null : aclToXattr(acl);
}

// acl.ts: the kernel writes ACLs (setfacl on an rw loop mount); we decode the disk form,
// re-encode it byte-identically, and produce exactly what getxattr returns on a ro mount.
// The inverse (setxattr form -> disk) is checked with posix_acl_valid's rules.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRawImage } from './testing/rawctx.js';
import { CorruptError, FsError } from './errors.js';
import {
  ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_UNDEFINED_ID, ACL_USER, ACL_USER_OBJ, AclCorruptError, AclEntry,
  aclFromDisk, aclFromXattr, aclToDisk, aclToXattr, diskAclToXattr, ext4AclCount,
} from './acl.js';
import { XATTR_INDEX, findXattr, getXattr, listXattrNames } from './xattr.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });

function disk(entries: Array<[number, number, number?]>): Uint8Array {
  const parts: number[] = [1, 0, 0, 0];
  for (const [tag, perm, id] of entries) {
    parts.push(tag & 0xff, tag >> 8, perm & 0xff, perm >> 8);
    if (id !== undefined) parts.push(id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, (id >>> 24) & 0xff);
  }
  return new Uint8Array(parts);
}

function expectAclCorrupt(v: Uint8Array, reason: RegExp): void {
  try {
    aclFromDisk(v, { inode: 12 });
  } catch (e) {
    expect(e).toBeInstanceOf(AclCorruptError);
    expect(e).toBeInstanceOf(CorruptError);
    expect((e as AclCorruptError).errno).toBe(22); // EINVAL, as ext4_acl_from_disk
    expect((e as AclCorruptError).reason).toMatch(reason);
    return;
  }
  throw new Error('expected AclCorruptError');
}

describe('ext4 ACL disk form', () => {
  const minimal = disk([[ACL_USER_OBJ, 6], [ACL_GROUP_OBJ, 4], [ACL_OTHER, 4]]);
  const named = disk([[ACL_USER_OBJ, 7], [ACL_USER, 6, 1000], [ACL_GROUP_OBJ, 5], [ACL_GROUP, 4, 100], [ACL_MASK, 7], [ACL_OTHER, 0]]);

  test('ext4_acl_count', () => {
    expect(ext4AclCount(4 + 3 * 4)).toBe(3);
    expect(ext4AclCount(4 + 4 * 4)).toBe(4);
    expect(ext4AclCount(4 + 4 * 4 + 2 * 8)).toBe(6);
    expect(ext4AclCount(4 + 3 * 4 + 2)).toBe(-1);
    expect(ext4AclCount(4 + 4 * 4 + 4)).toBe(-1);
    expect(ext4AclCount(4)).toBe(0);
  });

  test('decode and re-encode are inverse; xattr form has version 2 and ACL_UNDEFINED_ID', () => {
    const acl = aclFromDisk(named)!;
    expect(acl).toEqual([
      { tag: ACL_USER_OBJ, perm: 7, id: ACL_UNDEFINED_ID }, { tag: ACL_USER, perm: 6, id: 1000 },
      { tag: ACL_GROUP_OBJ, perm: 5, id: ACL_UNDEFINED_ID }, { tag: ACL_GROUP, perm: 4, id: 100 },
      { tag: ACL_MASK, perm: 7, id: ACL_UNDEFINED_ID }, { tag: ACL_OTHER, perm: 0, id: ACL_UNDEFINED_ID },
    ]);
    expect(aclToDisk(acl)).toEqual(named);
    const x = aclToXattr(acl);
    expect(Buffer.from(x).toString('hex')).toBe(
      '02000000' + '01000700ffffffff' + '02000600e8030000' + '04000500ffffffff' + '0800040064000000' + '10000700ffffffff' + '20000000ffffffff');
    expect(aclFromXattr(x)).toEqual(acl);
    expect(aclToDisk(aclFromXattr(aclToXattr(aclFromDisk(minimal)!))!)).toEqual(minimal);
  });

  test('no entries / empty value are "no ACL" (ENODATA), not errors', () => {
    expect(aclFromDisk(new Uint8Array([1, 0, 0, 0]))).toBeNull();
    expect(diskAclToXattr(new Uint8Array(0))).toBeNull();
  });

  test('corrupt: value shorter than header', () => { expectAclCorrupt(new Uint8Array([1, 0]), /shorter than header/); });
  test('corrupt: bad a_version', () => { const v = minimal.slice(); v[0] = 2; expectAclCorrupt(v, /a_version/); });
  test('corrupt: size not a whole number of entries', () => { expectAclCorrupt(minimal.subarray(0, minimal.length - 2), /whole number/); });
  test('corrupt: unknown e_tag', () => { const v = minimal.slice(); v[4] = 0x40; expectAclCorrupt(v, /unknown e_tag/); });
  test('corrupt: long entries run past the end', () => {
    // 28 bytes = 5 entries by ext4_acl_count, but three 8-byte USER entries leave no room for more.
    expectAclCorrupt(disk([[ACL_USER, 1, 1], [ACL_USER, 1, 2], [ACL_USER, 1, 3]]), /past end/);
  });
  test('corrupt: entries do not fill the value', () => {
    // 28 bytes = 5 entries, all short: they end at 24.
    const v = new Uint8Array(28);
    v.set(disk([[ACL_USER_OBJ, 6], [ACL_GROUP_OBJ, 4], [ACL_MASK, 4], [ACL_OTHER, 4], [ACL_OTHER, 4]]));
    expectAclCorrupt(v, /do not fill/);
  });

  test('setxattr form validation follows posix_acl_valid / posix_acl_from_xattr', () => {
    const x = (es: AclEntry[], version = 2) => { const b = aclToXattr(es); b[0] = version; return b; };
    const e = (tag: number, perm: number, id = ACL_UNDEFINED_ID): AclEntry => ({ tag, perm, id });
    const ok = [e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 4)];
    expect(aclFromXattr(x(ok))).toEqual(ok);
    expect(aclFromXattr(new Uint8Array([2, 0, 0, 0]))).toBeNull();
    const errno = (b: Uint8Array) => { try { aclFromXattr(b); return 0; } catch (err) { return (err as FsError).errno; } };
    expect(errno(x(ok, 1))).toBe(95); // EOPNOTSUPP: wrong version
    expect(errno(x([e(ACL_GROUP_OBJ, 4), e(ACL_USER_OBJ, 6), e(ACL_OTHER, 4)]))).toBe(22); // order
    expect(errno(x([e(ACL_USER_OBJ, 6), e(ACL_USER, 6, 5), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 4)]))).toBe(22); // mask missing
    expect(errno(x([e(ACL_USER_OBJ, 6), e(ACL_USER, 6, 5), e(ACL_USER, 6, 5), e(ACL_GROUP_OBJ, 4), e(ACL_MASK, 4), e(ACL_OTHER, 4)]))).toBe(22); // duplicate id
    expect(errno(x([e(ACL_USER_OBJ, 8), e(ACL_GROUP_OBJ, 4), e(ACL_OTHER, 4)]))).toBe(22); // perm bits
    expect(errno(x([e(ACL_USER_OBJ, 6), e(ACL_GROUP_OBJ, 4)]))).toBe(22); // incomplete
    expect(errno(new Uint8Array([2, 0, 0, 0, 1, 0]))).toBe(22); // partial entry
  });
});

d('ACLs written by the kernel', () => {
  let work = '';
  afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });
  test('disk form round-trips byte for byte and converts to exactly what getxattr returns', () => {
    work = mkdtempSync(join(tmpdir(), 'ext4box-acl-'));
    const img = join(work, 'a.img');
    const mnt = join(work, 'm');
    mkdirSync(mnt);
    run('truncate', ['-s', '16M', img]);
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', img]);
    run('mount', ['-o', 'loop', img, mnt]);
    try {
      run('touch', [join(mnt, 'f')]);
      run('setfacl', ['-m', 'u:1000:rw,u:65534:r,g:100:r,g:0:x,m:rwx', join(mnt, 'f')]);
      mkdirSync(join(mnt, 'dir'));
      run('setfacl', ['-d', '-m', 'u:1001:rx,g:5:w', join(mnt, 'dir')]);
    } finally { run('umount', [mnt]); }
    run('mount', ['-o', 'ro,loop', img, mnt]);
    let kernel: Record<string, [number, string | null, string | null]>;
    try {
      kernel = JSON.parse(run('python3', ['-c', `
import os, sys, json
def g(p, n):
    try: return os.getxattr(p, n).hex()
    except OSError: return None
m = sys.argv[1]
print(json.dumps({n: [os.stat(os.path.join(m, n)).st_ino, g(os.path.join(m, n), 'system.posix_acl_access'), g(os.path.join(m, n), 'system.posix_acl_default')] for n in ['f', 'dir']}))`, mnt]));
    } finally { run('umount', [mnt]); }
    const raw = openRawImage(img);
    let seen = 0;
    for (const [ino, access, def] of Object.values(kernel)) {
      const inode = raw.inode(ino);
      for (const [index, want] of [[XATTR_INDEX.posixAclAccess, access], [XATTR_INDEX.posixAclDefault, def]] as const) {
        const v = findXattr(raw.ctx, inode, index, new Uint8Array(0));
        expect(v === null ? null : Buffer.from(diskAclToXattr(v)!).toString('hex')).toBe(want);
        if (v) {
          expect(aclToDisk(aclFromDisk(v)!)).toEqual(v);
          expect(aclToDisk(aclFromXattr(Buffer.from(want!, 'hex'))!)).toEqual(v);
          seen++;
        }
      }
    }
    expect(seen).toBe(2); // f: access; dir: default only (-d leaves the access ACL minimal = none)
  });

  test('ACL on a symlink: listed, but getxattr is EOPNOTSUPP; a default ACL on a file is returned; a bad disk ACL is EINVAL', () => {
    const src = join(work, 's');
    mkdirSync(src);
    run('ln', ['-s', 'target', join(src, 'l')]);
    run('touch', [join(src, 'f')]);
    run('touch', [join(src, 'g')]);
    const img = join(work, 's.img');
    run('truncate', ['-s', '8M', img]);
    run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-I', '256', '-d', src, img]);
    const v2 = aclToXattr([{ tag: ACL_USER_OBJ, perm: 6, id: ACL_UNDEFINED_ID }, { tag: ACL_GROUP_OBJ, perm: 4, id: ACL_UNDEFINED_ID }, { tag: ACL_OTHER, perm: 4, id: ACL_UNDEFINED_ID }]);
    const bin = join(work, 'acl.bin');
    writeFileSync(bin, v2);
    run('debugfs', ['-w', '-R', `ea_set -f ${bin} /l system.posix_acl_access`, img]);
    run('debugfs', ['-w', '-R', `ea_set -f ${bin} /f system.posix_acl_default`, img]);
    // A disk-form ACL with a_version 2: ext4_acl_from_disk rejects it with EINVAL.
    const bad = aclToDisk(aclFromXattr(v2)!);
    bad[0] = 2;
    writeFileSync(bin, bad);
    run('debugfs', ['-w', '-R', `ea_set -r -f ${bin} /g system.posix_acl_access`, img]);
    const mnt = join(work, 'sm');
    mkdirSync(mnt);
    run('mount', ['-o', 'ro,loop', img, mnt]);
    let k: Array<[number, string[], string | number]>;
    try {
      k = JSON.parse(run('python3', ['-c', `
import os, sys, json
m = sys.argv[1]; out = []
for n, x in [('l', 'system.posix_acl_access'), ('f', 'system.posix_acl_default'), ('g', 'system.posix_acl_access')]:
    p = os.path.join(m, n)
    try: v = os.getxattr(p, x, follow_symlinks=False).hex()
    except OSError as e: v = e.errno
    out.append([os.lstat(p).st_ino, os.listxattr(p, follow_symlinks=False), v])
print(json.dumps(out))`, mnt]));
    } finally { run('umount', [mnt]); }
    const raw = openRawImage(img);
    const [[lino, lnames, lval], [fino, fnames, fval], [gino, , gval]] = k;
    expect(gval).toBe(22);
    let err: unknown = null;
    try { getXattr(raw.ctx, raw.inode(gino), Buffer.from('system.posix_acl_access')); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AclCorruptError);
    expect((err as AclCorruptError).errno).toBe(gval);
    expect(lval).toBe(95);
    expect(listXattrNames(raw.ctx, raw.inode(lino), true).map((n) => Buffer.from(n).toString())).toEqual(lnames);
    expect(() => getXattr(raw.ctx, raw.inode(lino), Buffer.from('system.posix_acl_access'))).toThrow(FsError);
    expect(listXattrNames(raw.ctx, raw.inode(fino), true).map((n) => Buffer.from(n).toString())).toEqual(fnames);
    expect(Buffer.from(getXattr(raw.ctx, raw.inode(fino), Buffer.from('system.posix_acl_default'))!).toString('hex')).toBe(fval);
  });
});

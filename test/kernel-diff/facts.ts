// What the kernel's view of a fixture image must show, derived from the rich tree spec and
// the variant: proves the fixture builder and the walker work before any peer is compared.
// Known mke2fs 1.47.0 -d losses are encoded here (the kernel's view is the truth).
import type { Manifest } from '../fixtures/images.js';
import type { Walk } from './walk.js';

const GiB = 1024n ** 3n;

/** Returns one line per fact the walk contradicts (empty = all hold). */
export function kernelFactFailures(w: Walk, m: Manifest): string[] {
  const bad: string[] = [];
  const v = m.variant;
  const get = (p: string) => w.entries.get(p);
  const want = (p: string, what: string, ok: (e: NonNullable<ReturnType<typeof get>>) => boolean): void => {
    const e = get(p);
    if (!e) bad.push(`${p}: missing (${what})`);
    else if (!ok(e)) bad.push(`${p}: ${what} (got ${JSON.stringify(e, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)).slice(0, 300)})`);
  };

  const bigdir = [...w.entries.keys()].filter((k) => k.startsWith('/bigdir/')).length;
  if (bigdir !== 3100) bad.push(`/bigdir: ${bigdir} entries, expected 3100`);
  want('/hard/a', 'three names', (e) => e.nlink === 3 && (e.links ?? []).join() === '/hard/a,/hard/b,/hard/c');
  want('/hard-elsewhere', 'hardlink across dirs', (e) => (e.links ?? []).join() === '/hard-elsewhere,/small/s59');
  for (const n of [59, 60, 61]) want(`/links/t${n}`, `${n}-byte target`, (e) => e.type === 'symlink' && e.target!.length === n);
  want('/links/t-long', 'long target', (e) => e.target!.length === Math.min(4000, v.blockSize - 1));
  want('/links/owned', 'symlink owner', (e) => e.uid === 1234 && e.gid === 5678);
  want('/dev/bigdev', 'chr 259:300000', (e) => e.type === 'chr' && e.rdev!.major === 259 && e.rdev!.minor === 300000);
  want('/dev/null', 'chr 1:3', (e) => e.type === 'chr' && e.rdev!.major === 1 && e.rdev!.minor === 3);
  want('/dev/loop0', 'blk 7:0', (e) => e.type === 'blk' && e.rdev!.major === 7 && e.gid === 6);
  want('/dev/fifo', 'fifo', (e) => e.type === 'fifo' && e.mode === 0o600);
  want('/dev/sock', 'socket', (e) => e.type === 'socket');
  want('/modes/setuid', 'mode 04755', (e) => e.mode === 0o4755);
  want('/modes/all-special', 'mode 07777', (e) => e.mode === 0o7777);
  want('/modes/sticky-dir', 'mode 01777', (e) => e.type === 'dir' && e.mode === 0o1777);
  want('/owners/high-ids', '32-bit ids', (e) => e.uid === 4000000 && e.gid === 3000000);
  const large = Math.min(3072, v.blockSize - 256);
  want('/xattrs/large', `user.big of ${large} bytes`, (e) => (e.xattrs['user.big'] ?? '').length === 2 * large);
  want('/xattrs/small', 'small xattrs', (e) => e.xattrs['user.a'] === '31' && e.xattrs['user.empty'] === ''
    && e.xattrs['trusted.t'] === Buffer.from('trusted value').toString('hex') && e.xattrs['security.ext4box'] === '000102ff');
  want('/xattrs', 'xattr on a directory', (e) => e.xattrs['user.on-dir'] !== undefined);
  want('/links/owned', 'trusted xattr on a symlink', (e) => e.xattrs['trusted.on-link'] !== undefined);
  want('/acl/file', 'access ACL', (e) => e.xattrs['system.posix_acl_access'] !== undefined);
  want('/acl/dir', 'default ACL', (e) => e.xattrs['system.posix_acl_default'] !== undefined);
  want('/names/bad\\xff\\xfe\\x80', 'non-UTF-8 name', (e) => e.type === 'file');
  want(`/names/${'n'.repeat(255)}`, '255-byte name', (e) => e.type === 'file');
  want('/names/café', 'NFC name', () => true);
  want('/names/cafe\u0301', 'NFD name, distinct from NFC', () => true);
  want(`/deep/${Array.from({ length: 40 }, (_x, i) => `d${String(i + 1).padStart(2, '0')}`).join('/')}/bottom.txt`, '40 levels', (e) => e.size === 18n);
  want('/big.bin', '5 MiB', (e) => e.size === 5n * 1024n * 1024n + 123n);
  // mke2fs 1.47.0 -d with inline_data cuts sparse files short; the kernel shows the damage.
  if (!v.features?.includes('inline_data')) {
    want('/sparse/past-4g', 'size 4 GiB + 64 KiB', (e) => e.size === 4n * GiB + 65536n);
  }
  if (m.kernelRw.ok) {
    for (const f of m.fragmented) want(`/${f}`, 'fragmented file', (e) => e.size > 100000n);
    if (v.inodeSize >= 256) {
      want('/times/after-2038', 'mtime 5000000000.987654321', (e) => e.mtimeNs === 5000000000987654321n);
      want('/times/before-1970', 'mtime -1000000000 + .876543211', (e) => e.mtimeNs === -1000000000n * 1000000000n + 876543211n);
      want('/times/dir-2040', 'dir mtime past 2038', (e) => e.mtimeNs === 2208988800000000042n);
      want('/', 'root mtime', (e) => e.mtimeNs === 1600000000111111111n);
    } else {
      // 128-byte inodes: whole seconds, clamped to a signed 32-bit range by the kernel.
      want('/times/before-1970', 'mtime whole seconds', (e) => e.mtimeNs === -1000000000n * 1000000000n);
      want('/times/after-2038', 'mtime clamped to 2038', (e) => e.mtimeNs === 2147483647n * 1000000000n);
    }
  }
  return bad;
}

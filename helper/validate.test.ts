// Pure checks of the mount helper: privileges, option allow-list, system paths, mountinfo.

import {
  checkPrivileges, checkSystemPath, findMount, HelperError, kernelMountData, parseMountinfo, parseOptions, readCapEff,
  userAllowOther,
} from './validate.js';

function reasonOf(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof HelperError) return `${e.reason}: ${e.message}`; throw e; }
  return 'accepted';
}

describe('privileges', () => {
  const capSysAdmin = 1n << 21n;
  test('setuid or setgid execution is refused', () => {
    expect(reasonOf(() => checkPrivileges({ ruid: 1000, euid: 0, rgid: 1000, egid: 1000, capEff: ~0n }))).toMatch(/^setuid: refusing to run setuid/);
    expect(reasonOf(() => checkPrivileges({ ruid: 0, euid: 0, rgid: 5, egid: 0, capEff: ~0n }))).toMatch(/^setuid:/);
  });
  test('root, or CAP_SYS_ADMIN, is required', () => {
    expect(reasonOf(() => checkPrivileges({ ruid: 0, euid: 0, rgid: 0, egid: 0, capEff: 0n }))).toBe('accepted');
    expect(reasonOf(() => checkPrivileges({ ruid: 7, euid: 7, rgid: 7, egid: 7, capEff: capSysAdmin }))).toBe('accepted');
    expect(reasonOf(() => checkPrivileges({ ruid: 7, euid: 7, rgid: 7, egid: 7, capEff: capSysAdmin >> 1n }))).toMatch(/^privileges: needs root or CAP_SYS_ADMIN/);
  });
  test('CapEff parsing', () => {
    expect(readCapEff('Name:\tx\nCapEff:\t0000000000200000\n')).toBe(capSysAdmin);
    expect(() => readCapEff('Name: x\n')).toThrow(HelperError);
  });
});

describe('options', () => {
  test('allow-listed options', () => {
    const o = parseOptions('ro,allow_other,default_permissions,nosuid,nodev,noexec,noatime,offset=1048576,errors=remount-ro,x-systemd.automount,defaults');
    expect(o).toMatchObject({ readOnly: true, allowOther: true, noexec: true, noatime: true, offset: 1048576n, serverOptions: ['errors=remount-ro'] });
    expect(parseOptions('')).toMatchObject({ readOnly: false, allowOther: false, offset: 0n });
    expect(parseOptions('partition=2').serverOptions).toEqual(['partition=2']);
  });
  test.each([
    ['suid', /option not allowed: suid/],
    ['dev', /option not allowed: dev/],
    ['fd=3', /option not allowed: fd/],
    ['user_id=0', /option not allowed: user_id/],
    ['rootmode=100000', /option not allowed: rootmode/],
    ['subtype=ext4', /option not allowed: subtype/],
    ['blksize=4096', /option not allowed: blksize/],
    ['ro=1', /takes no value/],
    ['ro,rw', /both ro and rw/],
    ['offset=-1', /decimal byte count/],
    ['offset=0x10', /decimal byte count/],
    ['offset=99999999999999999999', /decimal byte count|too large/],
    ['offset=9223372036854775808', /too large/],
    ['partition=0', /partition=/],
    ['partition=1,offset=512', /exclusive/],
    ['errors=ignore', /errors=/],
    ['context=system_u:object_r:tmp_t', /option not allowed: context/],
  ])('%s is refused', (opt, why) => {
    expect(reasonOf(() => parseOptions(opt))).toMatch(why);
  });
  test('overlong option string', () => {
    expect(reasonOf(() => parseOptions('ro,'.repeat(2000)))).toMatch(/longer than 4096/);
  });
  test('user_allow_other in fuse.conf', () => {
    expect(userAllowOther(undefined)).toBe(false);
    expect(userAllowOther('# user_allow_other\nmount_max = 10\n')).toBe(false);
    expect(userAllowOther('mount_max = 10\n  user_allow_other  # yes\n')).toBe(true);
  });
  test('kernel mount data is built, never copied from the user', () => {
    expect(kernelMountData(7, 1000, 100, false)).toBe('fd=7,rootmode=40000,user_id=1000,group_id=100,default_permissions');
    expect(kernelMountData(3, 0, 0, true)).toBe('fd=3,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other');
  });
});

describe('system paths', () => {
  test.each(['/', '/etc', '/etc/fstab.d', '/proc', '/proc/1/root', '/sys/fs', '/dev', '/dev/shm', '/usr', '/usr/local/share', '/boot',
    '/bin', '/sbin', '/lib', '/lib64', '/lib/modules', '/libexec', '/var', '/run', '/tmp', '/home', '/root', '/mnt', '/var/lib', '/var/'])('%s is refused', (p) => {
    expect(reasonOf(() => checkSystemPath(p))).toMatch(/^mountpoint: refusing/);
  });
  test.each(['/mnt/image', '/tmp/x', '/var/lib/kubelet/pods/u/volumes/v', '/run/media/u/disk', '/home/u/mnt', '/srv/data/m', '/library'])('%s is allowed', (p) => {
    expect(reasonOf(() => checkSystemPath(p))).toBe('accepted');
  });
});

describe('mountinfo', () => {
  const text = [
    '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '90 22 0:55 / /tmp/with\\040space rw,nosuid,nodev,relatime shared:40 - fuse.ext4box /img/a\\040b.img rw,user_id=0,group_id=0',
    'garbage line',
    '91 22 0:56 / /mnt/x rw - tmpfs tmpfs rw',
    '92 91 0:57 / /mnt/x rw - fuse.ext4box /i rw',
  ].join('\n');
  test('escapes and optional fields', () => {
    const e = parseMountinfo(text);
    expect(e).toHaveLength(4);
    expect(e[1]).toEqual({ majorMinor: '0:55', mountPoint: '/tmp/with space', fsType: 'fuse.ext4box', source: '/img/a b.img' });
  });
  test('the newest mount on a path wins', () => {
    expect(findMount(parseMountinfo(text), '/mnt/x')?.majorMinor).toBe('0:57');
    expect(findMount(parseMountinfo(text), '/mnt/y')).toBeUndefined();
  });
});

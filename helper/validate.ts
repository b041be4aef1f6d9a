// Request validation for the mount helper, as fusermount3 does and stricter: the helper's own
// privileges, the option allow-list, the mountpoint (existing directory, no symlink, not a
// system path, not already a mount) and the mount option string given to the kernel.
// Everything here is a check that refuses with one line (HelperError); nothing mounts.

import { readFileSync } from 'node:fs';

export class HelperError extends Error {
  override name = 'HelperError';
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

// ---- privileges ----

export interface Privileges {
  ruid: number; euid: number; rgid: number; egid: number;
  /** CapEff from /proc/self/status. */
  capEff: bigint;
}

const CAP_SYS_ADMIN = 21n;

export function readCapEff(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  if (!m) throw new HelperError('privileges', 'cannot read CapEff from /proc/self/status');
  return BigInt('0x' + m[1]);
}

/** Refuses setuid/setgid execution and a helper without root or CAP_SYS_ADMIN. */
export function checkPrivileges(p: Privileges): void {
  if (p.ruid !== p.euid || p.rgid !== p.egid) {
    throw new HelperError('setuid', `refusing to run setuid/setgid (real uid ${p.ruid}/gid ${p.rgid}, effective uid ${p.euid}/gid ${p.egid}): run it as root or with CAP_SYS_ADMIN`);
  }
  if (p.euid !== 0 && ((p.capEff >> CAP_SYS_ADMIN) & 1n) === 0n) {
    throw new HelperError('privileges', 'needs root or CAP_SYS_ADMIN to mount');
  }
}

// ---- options ----

export interface MountOptions {
  readOnly: boolean;
  allowOther: boolean;
  /** Always true: the kernel enforces modes; the server never decides access on its own. */
  defaultPermissions: true;
  noexec: boolean;
  noatime: boolean;
  offset: bigint;
  partition: number | undefined;
  /** Options for the server itself (errors=...), passed through in the hand-off. */
  serverOptions: string[];
}

const MAX_OFFSET = (1n << 63n) - 1n;

/** Parses the user's -o list against the allow-list; anything else is refused by name. */
export function parseOptions(list: string): MountOptions {
  const o: MountOptions = {
    readOnly: false, allowOther: false, defaultPermissions: true, noexec: false, noatime: false,
    offset: 0n, partition: undefined, serverOptions: [],
  };
  let sawRo = false, sawRw = false;
  if (list.length > 4096) throw new HelperError('options', 'option string longer than 4096 bytes');
  for (const raw of list.split(',')) {
    const opt = raw.trim();
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const val = eq < 0 ? undefined : opt.slice(eq + 1);
    const flag = (): void => {
      if (val !== undefined) throw new HelperError('options', `option ${key} takes no value`);
    };
    switch (key) {
      case 'ro': flag(); o.readOnly = true; sawRo = true; break;
      case 'rw': flag(); o.readOnly = false; sawRw = true; break;
      case 'allow_other': flag(); o.allowOther = true; break;
      case 'default_permissions': flag(); break;
      // Forced anyway; accepted so fstab lines can say them.
      case 'nosuid': case 'nodev': flag(); break;
      case 'noexec': flag(); o.noexec = true; break;
      case 'exec': flag(); o.noexec = false; break;
      case 'noatime': flag(); o.noatime = true; break;
      case 'atime': case 'relatime': flag(); o.noatime = false; break;
      // mount(8)/fstab bookkeeping words that mean nothing to the kernel or the server.
      case 'defaults': case 'auto': case 'noauto': case 'nofail': case '_netdev': case 'user': case 'nouser': flag(); break;
      case 'offset': {
        if (val === undefined || !/^(0|[1-9][0-9]{0,18})$/.test(val)) throw new HelperError('options', `offset= needs a decimal byte count, got ${JSON.stringify(val)}`);
        const n = BigInt(val);
        if (n > MAX_OFFSET) throw new HelperError('options', `offset=${val} too large`);
        o.offset = n;
        break;
      }
      case 'partition': {
        if (val === undefined || !/^[1-9][0-9]{0,2}$/.test(val)) throw new HelperError('options', `partition= needs a number 1..999, got ${JSON.stringify(val)}`);
        o.partition = Number(val);
        o.serverOptions.push(`partition=${val}`);
        break;
      }
      case 'errors': {
        if (val !== 'continue' && val !== 'remount-ro' && val !== 'panic') throw new HelperError('options', `errors= must be continue, remount-ro or panic, got ${JSON.stringify(val)}`);
        o.serverOptions.push(`errors=${val}`);
        break;
      }
      default:
        // x-* are userspace annotations (systemd, mount(8)); never for the kernel.
        if (key.startsWith('x-')) break;
        throw new HelperError('options', `option not allowed: ${key}`);
    }
  }
  if (sawRo && sawRw) throw new HelperError('options', 'both ro and rw given');
  if (o.partition !== undefined && o.offset !== 0n) throw new HelperError('options', 'offset= and partition= are exclusive');
  return o;
}

/** user_allow_other in /etc/fuse.conf gates allow_other for non-root callers (fusermount3 rule). */
export function userAllowOther(conf: string | undefined): boolean {
  if (conf === undefined) return false;
  return conf.split('\n').some((l) => l.replace(/#.*/, '').trim() === 'user_allow_other');
}

// ---- mountpoint ----

// Nothing is ever mounted on or under these (their contents are the system itself).
const SYSTEM_TREES = ['/proc', '/sys', '/dev', '/etc', '/usr', '/boot', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
// These directories themselves are refused; places under them (/var/lib/kubelet/..., /run/media/...,
// /tmp/x, /home/u/mnt) are fine.
const SYSTEM_DIRS = new Set(['/', '/var', '/var/lib', '/var/log', '/var/tmp', '/run', '/tmp', '/home', '/root', '/mnt',
  '/media', '/opt', '/srv', '/snap', '/efi', '/lost+found']);

/** Refuses a (resolved, absolute) mountpoint that is a system path. */
export function checkSystemPath(real: string): void {
  const p = real.length > 1 ? real.replace(/\/+$/, '') : real;
  if (SYSTEM_DIRS.has(p)) throw new HelperError('mountpoint', `refusing to mount on system directory ${p}`);
  for (const t of SYSTEM_TREES) {
    if (p === t || p.startsWith(t + '/')) throw new HelperError('mountpoint', `refusing to mount on ${p}: inside system tree ${t}`);
  }
  if (/^\/lib(32|64|x32|exec)?(\/|$)/.test(p)) throw new HelperError('mountpoint', `refusing to mount on ${p}: inside a system library tree`);
}

/** Decodes the octal escapes /proc/self/mountinfo uses for space, tab, newline, backslash. */
export function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountinfoEntry { majorMinor: string; mountPoint: string; fsType: string; source: string }

export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || sep + 2 >= f.length) continue;
    out.push({ majorMinor: f[2], mountPoint: unescapeMountinfo(f[4]), fsType: f[sep + 1], source: unescapeMountinfo(f[sep + 2]) });
  }
  return out;
}

/** The newest mount whose mount point is exactly `real` (mountinfo lists mounts oldest first). */
export function findMount(entries: MountinfoEntry[], real: string): MountinfoEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i].mountPoint === real) return entries[i];
  return undefined;
}

/** Mount data for fuse: everything the kernel needs and nothing the user typed verbatim. */
export function kernelMountData(fuseFd: number, uid: number, gid: number, allowOther: boolean): string {
  const parts = [`fd=${fuseFd}`, 'rootmode=40000', `user_id=${uid}`, `group_id=${gid}`, 'default_permissions'];
  if (allowOther) parts.push('allow_other');
  return parts.join(',');
}

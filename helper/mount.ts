// The privileged mount path: validate the request, open the image and /dev/fuse, hand both
// to the server (fd inheritance or SCM_RIGHTS over SOCK_SEQPACKET, protocol in handoff.ts),
// mount(2) fuse.ext4box with nosuid,nodev, raise read_ahead_kb, wait for SERVING. Any failure
// after the mount unmounts again; the helper never reads a byte of the image.

import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants as fsc, fstatSync, statSync, lstatSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeMessage, encodeHandoff, HandoffError, HANDOFF_MAX_BYTES, MSG_FAILED, MSG_SERVING } from './handoff.js';
import { FUSE_DEV_IOC_IOMAP_SUPPORT, FUSE_DEV_IOC_SYNC_INIT, isErrno, loadNative, type Native } from './native.js';
import {
  checkPrivileges, checkSystemPath, findMount, HelperError, kernelMountData, parseMountinfo, parseOptions,
  readCapEff, userAllowOther,
} from './validate.js';

export { HelperError } from './validate.js';

export interface MountRequest {
  image: string;
  mountpoint: string;
  /** The user's -o list, checked against the allow-list. */
  options?: string;
  /** The caller the mount is for (user_id=/group_id=, permission checks); default the real ids. */
  uid?: number;
  gid?: number;
  /** Allow mounting on top of an existing mount point. */
  overMount?: boolean;
  /** How long to wait for the server's INIT reply and SERVING message (ms, default 30 s). */
  timeoutMs?: number;
  /** read_ahead_kb for the new bdi (default 1024: lets 1 MiB reads through). */
  readAheadKb?: number;
  /** false skips FUSE_DEV_IOC_SYNC_INIT and takes the pre-6.18 mount-then-serve path. */
  syncInit?: boolean;
}

/** Child fd numbers by convention when the helper spawns the server. */
export const CHILD_FUSE_FD = 3;
export const CHILD_IMAGE_FD = 4;
export const CHILD_CONTROL_FD = 5;

export type { ServerLink } from './handoff.js';
import type { ServerLink } from './handoff.js';

export interface MountResult {
  source: string;
  mountpoint: string;
  fsType: 'fuse.ext4box';
  majorMinor: string;
  serverPid: number;
  syncInit: boolean;
  iomap: boolean;
  readAheadKb: number | undefined;
  warnings: string[];
}

interface Ids { uid: number; gid: number; groups: number[] }

function fail(reason: string, msg: string): never {
  throw new HelperError(reason, msg);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs fn with the caller's real+effective ids (saved ids stay root so we can come back). */
function asCaller<T>(n: Native, who: Ids, fn: () => T): T {
  if (process.geteuid?.() !== 0) return fn(); // not root: we are the caller ourselves (checked before)
  const saved = n.getresids();
  const groups = process.getgroups?.() ?? [];
  n.setgroups(who.groups);
  n.setresgid(who.gid, who.gid, -1);
  n.setresuid(who.uid, who.uid, -1);
  try {
    return fn();
  } finally {
    n.setresuid(saved.ruid, saved.euid, saved.suid);
    n.setresgid(saved.rgid, saved.egid, saved.sgid);
    n.setgroups(groups);
  }
}

function callerGroups(uid: number, gid: number): number[] {
  if (uid === process.getuid?.() && gid === process.getgid?.()) return process.getgroups?.() ?? [gid];
  // Supplementary groups from /etc/group by user name; unknown users get only their gid.
  try {
    const name = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(uid))?.[0];
    const out = new Set<number>([gid]);
    if (name) {
      for (const l of readFileSync('/etc/group', 'utf8').split('\n')) {
        const f = l.split(':');
        if (f.length >= 4 && f[3].split(',').includes(name) && /^\d+$/.test(f[2])) out.add(Number(f[2]));
      }
    }
    return [...out];
  } catch {
    return [gid];
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits for SERVING on the control socket; FAILED, a hang-up or the timeout are errors. */
function waitServing(n: Native, control: number, deadline: number): number {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) fail('timeout', 'server did not report serving in time');
    const rev = n.poll(control, n.constants.POLLIN, Math.min(left, 1000));
    if (rev === 0) continue;
    if (rev & n.constants.POLLIN) {
      const r = n.recvmsg(control, HANDOFF_MAX_BYTES + 1, n.constants.MSG_DONTWAIT);
      for (const fd of r.fds) closeSync(fd); // the server has nothing to send us but words
      if (r.data.length === 0) fail('server', 'server exited before serving (control socket closed)');
      let m;
      try {
        m = decodeMessage(r.data);
      } catch (e) {
        if (e instanceof HandoffError) fail('server', `server sent a bad message: ${e.message}`);
        throw e;
      }
      if (m.type === MSG_SERVING) return m.pid;
      if (m.type === MSG_FAILED) fail('server', `server failed: ${m.reason}`);
      fail('server', `server sent message type ${m.type} instead of serving`);
    }
    if (rev & (n.constants.POLLHUP | n.constants.POLLERR)) fail('server', 'server exited before serving');
  }
}

/** A FAILED message a dead server left on the control socket, if any (its reason beats ours). */
function serverLastWords(n: Native, control: number): string | undefined {
  try {
    const r = n.recvmsg(control, HANDOFF_MAX_BYTES + 1, n.constants.MSG_DONTWAIT);
    for (const fd of r.fds) closeSync(fd);
    const m = decodeMessage(r.data);
    return m.type === MSG_FAILED ? `server failed: ${m.reason}` : undefined;
  } catch {
    return undefined;
  }
}

function majorMinorOf(real: string): string | undefined {
  return findMount(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), real)?.majorMinor;
}

export function runHelper(req: MountRequest, link: ServerLink): MountResult {
  const n = loadNative();
  const ids = n.getresids();
  checkPrivileges({ ruid: ids.ruid, euid: ids.euid, rgid: ids.rgid, egid: ids.egid, capEff: readCapEff() });
  const uid = req.uid ?? ids.ruid;
  const gid = req.gid ?? ids.rgid;
  if (!Number.isInteger(uid) || uid < 0 || uid > 0xfffffffe || !Number.isInteger(gid) || gid < 0 || gid > 0xfffffffe) {
    fail('caller', `bad caller ids ${uid}:${gid}`);
  }
  if (ids.euid !== 0 && (uid !== ids.ruid || gid !== ids.rgid)) fail('caller', 'only root may mount for another uid/gid');
  const opts = parseOptions(req.options ?? '');
  if (opts.allowOther && uid !== 0) {
    let conf: string | undefined;
    try { conf = readFileSync('/etc/fuse.conf', 'utf8'); } catch { conf = undefined; }
    if (!userAllowOther(conf)) fail('options', 'allow_other needs user_allow_other in /etc/fuse.conf for a non-root caller');
  }
  const who: Ids = { uid, gid, groups: callerGroups(uid, gid) };
  const timeoutMs = req.timeoutMs ?? 30000;
  const warnings: string[] = [];
  const fds: number[] = [];
  const closeAll = (): void => { for (const fd of fds.splice(0)) { try { closeSync(fd); } catch { /* already gone */ } } };

  let mounted = false;
  let real = '';
  let spawnedPid = 0;
  try {
    // Mountpoint: pinned as an O_PATH fd opened as the caller (search permission on every
    // component is the caller's), never through a symlink; mount(2) goes through that fd.
    let st;
    try { st = lstatSync(req.mountpoint); } catch (e) { fail('mountpoint', `mountpoint ${req.mountpoint}: ${errText(e)}`); }
    if (st.isSymbolicLink()) fail('mountpoint', `mountpoint ${req.mountpoint} is a symlink`);
    if (!st.isDirectory()) fail('mountpoint', `mountpoint ${req.mountpoint} is not a directory`);
    const O_PATH = 0o10000000;
    let mntFd: number;
    try {
      mntFd = asCaller(n, who, () => openSync(req.mountpoint, O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW));
    } catch (e) { fail('mountpoint', `mountpoint ${req.mountpoint}: ${errText(e)}`); }
    fds.push(mntFd);
    const pinned = fstatSync(mntFd);
    if (!pinned.isDirectory() || pinned.ino !== st.ino || pinned.dev !== st.dev) fail('mountpoint', `mountpoint ${req.mountpoint} changed while checking`);
    real = readlinkSync(`/proc/self/fd/${mntFd}`);
    if (!real.startsWith('/') || real.includes(' (deleted)')) fail('mountpoint', `mountpoint ${req.mountpoint} resolves to ${real}`);
    checkSystemPath(real);
    if (pinned.uid !== uid && uid !== 0 && (pinned.mode & 0o1000) !== 0) {
      // fusermount3's rule: a sticky directory (a /tmp-like place) is mountable only by its owner.
      fail('mountpoint', `mountpoint ${real} is a sticky directory not owned by uid ${uid}`);
    }
    if (pinned.uid !== uid) {
      // Not the owner: the caller must be able to write it. access(2) checks the real ids,
      // which asCaller switched; the path is re-checked against the pinned fd afterwards.
      let writable = false;
      try { asCaller(n, who, () => accessSync(real, fsc.W_OK)); writable = true; } catch { writable = false; }
      if (!writable) fail('mountpoint', `mountpoint ${real} is neither owned nor writable by uid ${uid}`);
      const again = statSync(real);
      if (again.ino !== pinned.ino || again.dev !== pinned.dev) fail('mountpoint', `mountpoint ${real} changed while checking`);
    }
    if (!req.overMount) {
      const parent = lstatSync(dirname(real));
      if (findMount(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), real) || parent.dev !== pinned.dev) {
        fail('mountpoint', `${real} is already a mount point`);
      }
    }

    // Image: opened as the caller, so the caller's read (and for rw write) permission decides.
    let imageFd: number;
    const flags = opts.readOnly ? fsc.O_RDONLY : fsc.O_RDWR | fsc.O_EXCL;
    try {
      imageFd = asCaller(n, who, () => openSync(req.image, flags | fsc.O_NOCTTY | fsc.O_NONBLOCK));
    } catch (e) {
      fail('image', `image ${req.image} cannot be opened ${opts.readOnly ? 'read-only' : 'read-write'} by uid ${uid}: ${errText(e)}`);
    }
    fds.push(imageFd);
    const ist = fstatSync(imageFd);
    if (!ist.isFile() && !ist.isBlockDevice()) fail('image', `image ${req.image} is neither a regular file nor a block device`);

    // /dev/fuse, SYNC_INIT (6.18+) and the iomap probe.
    let fuseFd: number;
    try { fuseFd = openSync('/dev/fuse', fsc.O_RDWR); } catch (e) { fail('fuse', `cannot open /dev/fuse: ${errText(e)}`); }
    fds.push(fuseFd);
    let syncInit = req.syncInit ?? true;
    if (syncInit) {
      try {
        n.ioctl(fuseFd, FUSE_DEV_IOC_SYNC_INIT, 0);
      } catch (e) {
        if (!isErrno(e, 'ENOTTY') && !isErrno(e, 'EINVAL')) fail('fuse', `FUSE_DEV_IOC_SYNC_INIT: ${errText(e)}`);
        syncInit = false;
        warnings.push('kernel has no FUSE_DEV_IOC_SYNC_INIT: mounting before the server answers INIT');
      }
    }
    let iomapFlags = 0n;
    const probe = Buffer.alloc(16);
    try {
      n.ioctl(fuseFd, FUSE_DEV_IOC_IOMAP_SUPPORT, probe);
      iomapFlags = probe.readBigUInt64LE(0);
    } catch (e) {
      if (!isErrno(e)) throw e;
      iomapFlags = 0n; // ENOTTY on stock kernels: no iomap, not an error
    }

    // The server and its control socket.
    let control: number;
    let childFuse = -1, childImage = -1;
    let serverPid = 0;
    let passFds = false;
    if (link.kind === 'socket') {
      control = n.socket('seqpacket');
      fds.push(control);
      try { n.connect(control, link.path); } catch (e) { fail('server', `cannot reach the server at ${link.path}: ${errText(e)}`); }
      serverPid = n.peerCred(control).pid;
      passFds = true;
    } else {
      const [mine, theirs] = n.socketpair('seqpacket');
      control = mine;
      fds.push(mine, theirs);
      if (link.kind === 'spawn') {
        const child = spawn(link.command, link.args, {
          stdio: ['ignore', 'inherit', 'inherit', fuseFd, imageFd, theirs],
          env: { ...(link.env ?? process.env), EXT4BOX_HANDOFF_FD: String(CHILD_CONTROL_FD) },
          detached: true,
        });
        child.on('error', () => { /* reported below as a hang-up of the control socket */ });
        child.unref();
        serverPid = child.pid ?? 0;
        spawnedPid = serverPid;
        childFuse = CHILD_FUSE_FD;
        childImage = CHILD_IMAGE_FD;
      } else {
        const s = link.start({ fuse: fuseFd, image: imageFd, control: theirs });
        childFuse = s.fuseFd;
        childImage = s.imageFd;
        serverPid = s.pid ?? 0;
      }
      // Our copy of the server's end must go, or its death would never hang up the socket.
      closeSync(theirs);
      fds.splice(fds.indexOf(theirs), 1);
    }
    const message = encodeHandoff({
      readOnly: opts.readOnly, syncInit, iomap: iomapFlags !== 0n, allowOther: opts.allowOther,
      defaultPermissions: true, fdsInherited: !passFds, fuseFd: passFds ? -1 : childFuse,
      imageFd: passFds ? -1 : childImage, uid, gid, offset: opts.offset, length: 0n, iomapFlags,
      imagePath: req.image, mountpoint: real, options: opts.serverOptions.join(','),
    });
    const send = (): void => {
      try { n.sendmsg(control, message, passFds ? [fuseFd, imageFd] : []); } catch (e) { fail('server', `hand-off to the server failed: ${errText(e)}`); }
    };
    const c = n.constants;
    const mflags = c.MS_NOSUID | c.MS_NODEV | (opts.readOnly ? c.MS_RDONLY : 0) | (opts.noexec ? c.MS_NOEXEC : 0)
      | (opts.noatime ? 1024 /* MS_NOATIME */ : 0);
    const data = kernelMountData(fuseFd, uid, gid, opts.allowOther);
    const deadline = Date.now() + timeoutMs;
    const before = majorMinorOf(real);
    const doMount = (): void => {
      try {
        n.mountWatched(req.image, `/proc/self/fd/${mntFd}`, 'fuse.ext4box', mflags, data, control, timeoutMs);
        mounted = true;
      } catch (e) {
        // A mount that won the race with our kill is still a mount: take it down below.
        const now = findMount(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), real);
        if (now && now.fsType === 'fuse.ext4box' && now.majorMinor !== before) mounted = true;
        if (isErrno(e, 'ENOTCONN')) fail('server', `${serverLastWords(n, control) ?? 'server exited before answering INIT'}; nothing mounted`);
        if (isErrno(e, 'ETIMEDOUT')) fail('timeout', `server did not answer INIT within ${timeoutMs} ms; nothing mounted`);
        fail('mount', `mount of ${real} failed: ${errText(e)}`);
      }
    };
    if (syncInit) { send(); doMount(); } else { doMount(); send(); }
    // The server holds the fuse and image fds now; ours must close so its death aborts the mount.
    closeSync(fuseFd); fds.splice(fds.indexOf(fuseFd), 1);
    closeSync(imageFd); fds.splice(fds.indexOf(imageFd), 1);
    // The pid the server reports is in its own pid namespace (1 inside a bare sandbox):
    // only use it when neither the spawn nor the socket's peer credentials told us one.
    const pid = waitServing(n, control, deadline);
    if (pid && !serverPid) serverPid = pid;

    const majorMinor = majorMinorOf(real);
    if (!majorMinor) fail('mount', `${real} is not in /proc/self/mountinfo after mounting`);
    let readAheadKb: number | undefined;
    const want = req.readAheadKb ?? 1024;
    try {
      writeFileSync(`/sys/class/bdi/${majorMinor}/read_ahead_kb`, `${want}\n`);
      readAheadKb = Number(readFileSync(`/sys/class/bdi/${majorMinor}/read_ahead_kb`, 'utf8').trim());
    } catch (e) {
      warnings.push(`could not raise read_ahead_kb for ${majorMinor}: ${errText(e)}`);
    }
    closeAll();
    return {
      source: req.image, mountpoint: real, fsType: 'fuse.ext4box', majorMinor, serverPid, syncInit,
      iomap: iomapFlags !== 0n, readAheadKb, warnings,
    };
  } catch (e) {
    if (mounted && real) {
      // Lazy: a server that hangs must not keep the helper in umount(2).
      for (let i = 0; i < 3; i++) {
        try { n.umount2(real, n.constants.MNT_DETACH | n.constants.UMOUNT_NOFOLLOW); break; } catch { sleepMs(50); }
      }
    }
    closeAll();
    // A server we started ourselves and that is not serving a mount has nothing left to do.
    if (spawnedPid > 0) { try { process.kill(spawnedPid, 'SIGKILL'); } catch { /* already gone */ } }
    if (e instanceof HelperError) throw e;
    throw new HelperError('internal', errText(e));
  }
}

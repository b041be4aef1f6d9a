#!/usr/bin/env node
// The server process: receives the hand-off from the mount helper (inherited fds announced by
// EXT4BOX_HANDOFF_FD, or --socket PATH where a runtime started us and the helper connects to
// pass the fds with SCM_RIGHTS), opens the image read-only, serves /dev/fuse, answers SERVING
// once INIT is answered (FAILED + exit 1 on a fatal error) and exits 0 when the kernel goes
// away (unmount). It does not care who started it: bare, docker or a sidecar look the same.
//   node dist/daemon/server/main.js [--socket PATH] [--log FILE] [--debug]

// Threads: each pending /dev/fuse read parks a libuv pool thread and image reads need pool
// threads too. The ESM loader has already started the pool (with UV_THREADPOOL_SIZE as the
// environment gave it, default 4) by the time this module runs, so whoever starts the server
// sets UV_THREADPOOL_SIZE (the supervisor uses 10); here we only size the readers to leave
// at least two threads for image I/O whatever the pool turned out to be.
const POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
const READERS = Math.max(1, Math.min(4, POOL - 2));

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { openImage, type Ext4Fs } from '../ext4/fs.js';
import { FuseSession } from '../fuse/index.js';
import { log, setLogLevel, setLogSink } from '../util/log.js';
import { decodeMessage, encodeFailed, encodeServing, HANDOFF_MAX_BYTES, MSG_HANDOFF, type Handoff } from '../../helper/handoff.js';
import { Ext4FuseFs } from './ext4fuse.js';
import { confineSelf } from '../sandbox/policy.js';

class FatalError extends Error {}

interface Received { handoff: Handoff; fuseFd: number; imageFd: number; control: number }

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One datagram from a SOCK_SEQPACKET fd with plain read(2) (no addon needed). */
function readDatagram(fd: number, timeoutMs: number): Buffer {
  const buf = Buffer.alloc(HANDOFF_MAX_BYTES + 1);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const n = fs.readSync(fd, buf, 0, buf.byteLength, null);
      return buf.subarray(0, n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'EAGAIN' || code === 'EINTR') && Date.now() < deadline) { sleepMs(10); continue; }
      throw new FatalError(`cannot read the hand-off: ${(e as Error).message}`);
    }
  }
}

function decodeHandoff(b: Uint8Array): Handoff {
  if (b.byteLength === 0) throw new FatalError('the helper closed the control socket before the hand-off');
  let m;
  try { m = decodeMessage(b); } catch (e) { throw new FatalError((e as Error).message); }
  if (m.type !== MSG_HANDOFF) throw new FatalError(`expected a hand-off message, got type ${m.type}`);
  return m;
}

function receiveInherited(controlFd: number): Received {
  const h = decodeHandoff(readDatagram(controlFd, 30000));
  if (!h.fdsInherited || h.fuseFd < 0 || h.imageFd < 0) throw new FatalError('hand-off on an inherited control fd must name inherited fds');
  for (const fd of [h.fuseFd, h.imageFd]) {
    try { fs.fstatSync(fd); } catch { throw new FatalError(`hand-off names fd ${fd}, which is not open`); }
  }
  return { handoff: h, fuseFd: h.fuseFd, imageFd: h.imageFd, control: controlFd };
}

async function receiveOnSocket(path: string): Promise<Received> {
  const { loadNative } = await import('../../helper/native.js');
  const n = loadNative();
  try { fs.unlinkSync(path); } catch { /* not there */ }
  const lfd = n.socket('seqpacket');
  n.bind(lfd, path);
  n.listen(lfd, 1);
  log('info', 'waiting for the hand-off', { socket: path });
  const conn = n.accept(lfd);
  fs.closeSync(lfd);
  try { fs.unlinkSync(path); } catch { /* removed by someone else */ }
  const r = n.recvmsg(conn, HANDOFF_MAX_BYTES + 1, 0);
  const h = decodeHandoff(r.data);
  if (h.fdsInherited || r.fds.length !== 2) {
    for (const fd of r.fds) fs.closeSync(fd);
    throw new FatalError(`hand-off over a socket must carry exactly 2 fds, got ${r.fds.length}`);
  }
  return { handoff: h, fuseFd: r.fds[0], imageFd: r.fds[1], control: conn };
}

/** partition=N from the server options the helper forwards (it validated the list). */
function partitionOf(options: string): number | undefined {
  for (const o of options.split(',')) {
    const m = /^partition=([1-9][0-9]{0,2})$/.exec(o.trim());
    if (m) return Number(m[1]);
  }
  return undefined;
}

function send(control: number, msg: Uint8Array): void {
  try { fs.writeSync(control, msg); } catch (e) { log('warn', 'control socket write failed', { err: (e as Error).message }); }
}

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv, allowPositionals: false,
    options: { socket: { type: 'string' }, log: { type: 'string' }, debug: { type: 'boolean' } },
  });
  if (v.log) {
    const lfd = fs.openSync(v.log, 'a', 0o600);
    setLogSink((line) => { try { fs.writeSync(lfd, `${new Date().toISOString()} ${line}\n`); } catch { /* disk full: drop */ } });
  }
  if (v.debug) setLogLevel('debug');
  // stdout/stderr may be pipes whose readers are gone (the helper exited): never die of EPIPE.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  let control = -1;
  let fsys: Ext4Fs | null = null;
  try {
    let r: Received;
    if (v.socket !== undefined) r = await receiveOnSocket(v.socket);
    else {
      const env = process.env.EXT4BOX_HANDOFF_FD;
      if (!env || !/^\d{1,6}$/.test(env)) throw new FatalError('no hand-off: set EXT4BOX_HANDOFF_FD or give --socket PATH');
      r = receiveInherited(Number(env));
    }
    control = r.control;
    const h = r.handoff;
    if (!h.readOnly) throw new FatalError('read-write mounts are not supported yet: mount with -o ro');
    if (h.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new FatalError(`offset ${h.offset} too large`);
    const partition = partitionOf(h.options);
    // Second line of defence in every runtime (none, bare, docker, sidecar): no_new_privs and
    // the seccomp allow-list minus its start-only entries, before the first byte of the image
    // is parsed. Failing to confine is fatal: a server that cannot confine itself must not
    // parse a hostile image.
    if (process.env.EXT4BOX_NO_SELF_CONFINE !== '1') {
      try {
        confineSelf();
      } catch (e) {
        throw new FatalError(`cannot confine the server (seccomp/no_new_privs): ${(e as Error).message}`);
      }
    }
    try {
      // The server lists every xattr namespace; the bridge decides per request who sees trusted.*.
      fsys = openImage(r.imageFd, { offset: h.offset > 0n ? Number(h.offset) : undefined, partition, capSysAdmin: true });
    } catch (e) {
      throw new FatalError(`cannot open ${h.imagePath}: ${(e as Error).message}`);
    }
    // ext4_fill_super refuses a root that is not a directory with blocks and a size.
    let root;
    try { root = fsys.stat(2); } catch (e) { throw new FatalError(`get root inode failed: ${(e as Error).message}`); }
    if (root.type !== 'dir' || root.blocks === 0 || root.size === 0) throw new FatalError('corrupt root inode, run e2fsck');
    const bridge = new Ext4FuseFs(fsys);
    let session: FuseSession | null = null;
    let served = false;
    const origInit = bridge.init.bind(bridge);
    bridge.init = (conn) => {
      const t = origInit(conn);
      // The INIT reply is written right after init returns: report SERVING after that.
      setImmediate(() => {
        if (served || !session?.conn) return;
        served = true;
        send(control, encodeServing(process.pid));
        // The control fd stays open: the helper watches it for a hang-up while its mount(2)
        // may still be returning, and a hang-up then would make it abandon a good mount.
        log('info', 'serving', { image: h.imagePath, mountpoint: h.mountpoint, pid: process.pid });
      });
      return t;
    };
    session = new FuseSession(r.fuseFd, bridge, { debug: v.debug ?? process.env.EXT4BOX_DEBUG === '1', readers: READERS });
    const done = session.start();
    await done;
    log('info', 'unmounted: session ended', { mountpoint: h.mountpoint, requests: session.stats.requests, leftLookups: bridge.lookupStats.nodes });
    if (control >= 0 && !served) send(control, encodeFailed('the kernel ended the session before INIT'));
    return 0;
  } catch (e) {
    const reason = e instanceof FatalError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    log('error', 'server failed', { reason });
    if (control >= 0) send(control, encodeFailed(reason));
    return 1;
  } finally {
    try { fsys?.close(); } catch { /* closing */ }
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
  log('error', 'server crashed', { err: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});

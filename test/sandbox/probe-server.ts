// TEST-ONLY entry point (never shipped: .dockerignore drops dist/test, production builds have no
// such file): a minimal FUSE server that receives the hand-off like the real server (inherited
// fds 3/4/5 with EXT4BOX_HANDOFF_FD, or SCM_RIGHTS on EXT4BOX_HANDOFF_SOCKET), confines itself
// with policy.ts confineSelf() exactly as the server must, then tries every escape the sandbox
// must stop and prints one line `EXT4BOX_PROBE {json}` on stderr before serving INIT/GETATTR.

import { closeSync, openSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { decodeMessage, encodeServing, MSG_HANDOFF } from '../../helper/handoff.js';
import { loadNative } from '../../helper/native.js';
import { confineSelf } from '../../daemon/sandbox/policy.js';

type Outcome = { ok: false; error: string } | { ok: true; detail?: string };

const n = loadNative();

function receive(): { control: number; fuse: number; image: number } {
  const at = process.argv.indexOf('--socket');
  const sockPath = at > 0 ? process.argv[at + 1] : process.env.EXT4BOX_HANDOFF_SOCKET;
  let control: number;
  let fds: number[] = [];
  if (sockPath) {
    const s = n.socket('seqpacket');
    n.bind(s, sockPath);
    n.listen(s, 1);
    control = n.accept(s);
    closeSync(s);
    const r = n.recvmsg(control, 16384, 0);
    fds = r.fds;
    const m = decodeMessage(r.data);
    if (m.type !== MSG_HANDOFF || fds.length !== 2) throw new Error('bad hand-off');
    return { control, fuse: fds[0], image: fds[1] };
  }
  control = Number(process.env.EXT4BOX_HANDOFF_FD);
  const r = n.recvmsg(control, 16384, 0);
  const m = decodeMessage(r.data);
  if (m.type !== MSG_HANDOFF) throw new Error('bad hand-off');
  return { control, fuse: m.fuseFd, image: m.imageFd };
}

function attempt(fn: () => string | undefined): Outcome {
  try {
    const detail = fn();
    return { ok: true, detail };
  } catch (e) {
    const x = e as { code?: string; message?: string };
    return { ok: false, error: x.code ?? x.message ?? String(e) };
  }
}

function netAttempt(start: (done: (o: Outcome) => void) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ ok: false, error: 'timeout' }), 3000);
    try {
      start((o) => { clearTimeout(t); resolve(o); });
    } catch (e) {
      clearTimeout(t);
      resolve({ ok: false, error: (e as { code?: string }).code ?? String(e) });
    }
  });
}

async function probes(): Promise<Record<string, Outcome>> {
  const out: Record<string, Outcome> = {};
  const hostFile = process.env.PROBE_HOST_FILE ?? '/etc/shadow';
  out.openHostFile = attempt(() => { readFileSync(hostFile); return hostFile; });
  out.listRoot = { ok: true, detail: readdirSync('/').sort().join(',') };
  out.socketUnix = attempt(() => { n.socket('stream'); return undefined; });
  out.socketInet = await netAttempt((done) => {
    const s = createSocket('udp4');
    s.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    s.bind(0, () => done({ ok: true }));
  });
  out.connectLoopback = await netAttempt((done) => {
    const c = connect({ host: '127.0.0.1', port: Number(process.env.PROBE_PORT ?? 22) });
    c.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    c.on('connect', () => { c.destroy(); done({ ok: true }); });
  });
  out.listenTcp = await netAttempt((done) => {
    const s = createServer();
    s.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, error: e.code ?? e.message }));
    s.listen(0, '127.0.0.1', () => { s.close(); done({ ok: true }); });
  });
  out.mount = attempt(() => { n.mount('none', '/tmp', 'tmpfs', 0, null); return undefined; });
  out.unshareUserns = attempt(() => { n.unshare(n.constants.CLONE_NEWUSER); return undefined; });
  out.setuidRoot = attempt(() => { n.setresuid(0, 0, 0); return undefined; });
  out.execve = attempt(() => {
    const r = spawnSync(process.execPath, ['-e', '0'], { timeout: 5000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`exit ${r.status} ${r.signal ?? ''}`);
    return undefined;
  });
  const other = process.env.PROBE_OTHER_PID ?? '1';
  out.procOther = attempt(() => readFileSync(`/proc/${other}/environ`, 'latin1').slice(0, 40));
  out.procOtherRoot = attempt(() => readdirSync(`/proc/${other}/root/`).join(','));
  out.devFuse = attempt(() => { closeSync(openSync('/dev/fuse', 'r+')); return undefined; });
  out.status = { ok: true, detail: readFileSync('/proc/self/status', 'utf8').split('\n').filter((l) => /^(Uid|Gid|CapEff|CapPrm|NoNewPrivs|Seccomp):/.test(l)).join(';') };
  out.netDev = attempt(() => readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean).join(','));
  return out;
}

function frame(body: Buffer, unique: bigint, error: number): Buffer {
  const out = Buffer.alloc(16 + body.length);
  out.writeUInt32LE(out.length, 0); out.writeInt32LE(error, 4); out.writeBigUInt64LE(unique, 8); body.copy(out, 16);
  return out;
}

function serve(fuse: number, control: number): void {
  const buf = Buffer.alloc((1 << 20) + 8192);
  for (;;) {
    let len: number;
    try { len = readSync(fuse, buf, 0, buf.length, null); } catch { return; }
    if (len < 16) return;
    const opcode = buf.readUInt32LE(4), unique = buf.readBigUInt64LE(8);
    if (opcode === 26) { // INIT
      const o = Buffer.alloc(64);
      o.writeUInt32LE(7, 0); o.writeUInt32LE(Math.min(buf.readUInt32LE(44), 45), 4);
      o.writeUInt32LE(buf.readUInt32LE(48), 8); o.writeUInt32LE((1 << 22) | (1 << 5) | 1, 12);
      o.writeUInt16LE(16, 16); o.writeUInt16LE(12, 18); o.writeUInt32LE(1 << 20, 20); o.writeUInt32LE(1, 24); o.writeUInt16LE(256, 28);
      writeSync(fuse, frame(o, unique, 0));
      writeSync(control, encodeServing(process.pid));
    } else if (opcode === 3) { // GETATTR of the root
      const a = Buffer.alloc(104);
      a.writeBigUInt64LE(1n, 0); a.writeBigUInt64LE(1n, 16);
      a.writeUInt32LE(0o40755, 16 + 60); a.writeUInt32LE(2, 16 + 64); a.writeUInt32LE(4096, 16 + 80);
      writeSync(fuse, frame(a, unique, 0));
    } else if (opcode !== 2 && opcode !== 42 && opcode !== 36) {
      writeSync(fuse, frame(Buffer.alloc(0), unique, -38));
    }
  }
}

async function main(): Promise<void> {
  const { control, fuse, image } = receive();
  const report = confineSelf();
  const head = Buffer.alloc(4);
  readSync(image, head, 0, 4, 0);
  const results = await probes();
  process.stderr.write(`EXT4BOX_PROBE ${JSON.stringify({ report, imageHead: head.toString('latin1'), results })}\n`);
  serve(fuse, control);
}

main().catch((e: unknown) => {
  process.stderr.write(`EXT4BOX_PROBE_FAILED ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});

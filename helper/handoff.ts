// The hand-off wire codec between the mount helper and the ext4 server: pure, no I/O.
//
// Transport: one AF_UNIX SOCK_SEQPACKET connection (the "control socket"); every message is
// exactly one datagram. Two ways to get the fds and the socket to the server:
//  - inherited (the helper starts the server): the server is spawned with the fuse fd, the
//    image fd and its end of a socketpair inherited; HANDOFF carries their fd numbers in the
//    server's table and FLAG_FDS_INHERITED; no SCM_RIGHTS. Node can read/write a SEQPACKET fd
//    with fs.readSync/fs.writeSync, so this mode needs no addon in the server.
//  - passed (a runtime started the server: docker, k8s sidecar): the server listens on a
//    SEQPACKET socket at a path both can reach (e.g. a shared dir); the helper connects and
//    sends HANDOFF with SCM_RIGHTS fds [fuse, image] (fuseFd/imageFd fields are -1); the
//    server receives with the addon's recvmsg().
// Sequence: helper → HANDOFF; server starts reading the fuse fd; helper mount(2)s (with
// SYNC_INIT, mount returns once the server answered INIT; without it the helper mounts
// *before* sending HANDOFF, since a not-yet-mounted fd gives EPERM on read); server → SERVING
// once INIT is answered (or FAILED with one line); helper raises read_ahead_kb and exits 0.
// A closed control socket before SERVING means the server died: the helper unmounts.
//
// Layout, little-endian. Header (16 bytes):
//   0 u8[4] magic "E4BX"   4 u16 version (=1)   6 u16 type   8 u32 total length   12 u32 0
// HANDOFF (type 1) body:
//  16 u32 flags (FLAG_*)          20 s32 fuseFd (-1: SCM_RIGHTS fds[0])
//  24 s32 imageFd (-1: fds[1])    28 u32 uid (mount owner, user_id=)   32 u32 gid
//  36 u32 0                       40 u64 offset (image bytes)   48 u64 length (0: to the end)
//  56 u64 iomapFlags (FUSE_DEV_IOC_IOMAP_SUPPORT result; 0: no iomap)
//  64 str imagePath   str mountpoint   str options (the allow-listed user options, comma list)
//  where str = u16 byte length + UTF-8 bytes (each ≤ 4096 bytes)
// SERVING (type 2) body: 16 u32 server pid.
// FAILED (type 3) body: 16 str reason (one line).

export const HANDOFF_MAGIC = 'E4BX';
export const HANDOFF_VERSION = 1;
export const HANDOFF_MAX_BYTES = 16384;
const MAX_STR = 4096;
const HEADER = 16;
const FIXED_HANDOFF = 64;

export const MSG_HANDOFF = 1;
export const MSG_SERVING = 2;
export const MSG_FAILED = 3;

export const FLAG_READ_ONLY = 1 << 0;
export const FLAG_SYNC_INIT = 1 << 1;
export const FLAG_IOMAP = 1 << 2;
export const FLAG_ALLOW_OTHER = 1 << 3;
export const FLAG_DEFAULT_PERMISSIONS = 1 << 4;
export const FLAG_FDS_INHERITED = 1 << 5;
const KNOWN_FLAGS = 0x3f;

export interface Handoff {
  type: typeof MSG_HANDOFF;
  readOnly: boolean;
  syncInit: boolean;
  iomap: boolean;
  allowOther: boolean;
  defaultPermissions: boolean;
  fdsInherited: boolean;
  /** Fd numbers in the receiver's table when inherited; -1 when they come as SCM_RIGHTS [fuse, image]. */
  fuseFd: number;
  imageFd: number;
  uid: number;
  gid: number;
  offset: bigint;
  length: bigint;
  iomapFlags: bigint;
  imagePath: string;
  mountpoint: string;
  options: string;
}

export interface Serving { type: typeof MSG_SERVING; pid: number }
export interface Failed { type: typeof MSG_FAILED; reason: string }
export type HandoffMessage = Handoff | Serving | Failed;

export type HandoffErrorKind = 'truncated' | 'magic' | 'version' | 'type' | 'length' | 'field';

export class HandoffError extends Error {
  override name = 'HandoffError';
  constructor(readonly kind: HandoffErrorKind, detail: string) {
    super(`bad hand-off message: ${kind}: ${detail}`);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function header(view: DataView, type: number, total: number): void {
  for (let i = 0; i < 4; i++) view.setUint8(i, HANDOFF_MAGIC.charCodeAt(i));
  view.setUint16(4, HANDOFF_VERSION, true);
  view.setUint16(6, type, true);
  view.setUint32(8, total, true);
  view.setUint32(12, 0, true);
}

function strBytes(s: string, field: string): Uint8Array {
  const b = enc.encode(s);
  if (b.length > MAX_STR) throw new HandoffError('field', `${field} longer than ${MAX_STR} bytes`);
  return b;
}

function u32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new HandoffError('field', `${field}=${v}`);
  return v;
}

function s32fd(v: number, field: string): number {
  if (!Number.isInteger(v) || v < -1 || v > 0x7fffffff) throw new HandoffError('field', `${field}=${v}`);
  return v;
}

function u64(v: bigint, field: string): bigint {
  if (v < 0n || v > 0xffffffffffffffffn) throw new HandoffError('field', `${field}=${v}`);
  return v;
}

export function encodeHandoff(m: Omit<Handoff, 'type'>): Uint8Array {
  const strs = [strBytes(m.imagePath, 'imagePath'), strBytes(m.mountpoint, 'mountpoint'), strBytes(m.options, 'options')];
  const total = FIXED_HANDOFF + strs.reduce((n, s) => n + 2 + s.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  header(v, MSG_HANDOFF, total);
  const flags = (m.readOnly ? FLAG_READ_ONLY : 0) | (m.syncInit ? FLAG_SYNC_INIT : 0) | (m.iomap ? FLAG_IOMAP : 0)
    | (m.allowOther ? FLAG_ALLOW_OTHER : 0) | (m.defaultPermissions ? FLAG_DEFAULT_PERMISSIONS : 0)
    | (m.fdsInherited ? FLAG_FDS_INHERITED : 0);
  v.setUint32(16, flags, true);
  v.setInt32(20, s32fd(m.fuseFd, 'fuseFd'), true);
  v.setInt32(24, s32fd(m.imageFd, 'imageFd'), true);
  v.setUint32(28, u32(m.uid, 'uid'), true);
  v.setUint32(32, u32(m.gid, 'gid'), true);
  v.setUint32(36, 0, true);
  v.setBigUint64(40, u64(m.offset, 'offset'), true);
  v.setBigUint64(48, u64(m.length, 'length'), true);
  v.setBigUint64(56, u64(m.iomapFlags, 'iomapFlags'), true);
  let off = FIXED_HANDOFF;
  for (const s of strs) {
    v.setUint16(off, s.length, true);
    out.set(s, off + 2);
    off += 2 + s.length;
  }
  return out;
}

export function encodeServing(pid: number): Uint8Array {
  const out = new Uint8Array(HEADER + 4);
  const v = new DataView(out.buffer);
  header(v, MSG_SERVING, out.length);
  v.setUint32(16, u32(pid, 'pid'), true);
  return out;
}

export function encodeFailed(reason: string): Uint8Array {
  // One line, bounded: the helper prints it verbatim.
  const line = reason.replace(/[\r\n]+/g, ' ');
  let b = enc.encode(line);
  if (b.length > MAX_STR) b = enc.encode(line.slice(0, 1000));
  const out = new Uint8Array(HEADER + 2 + b.length);
  const v = new DataView(out.buffer);
  header(v, MSG_FAILED, out.length);
  v.setUint16(16, b.length, true);
  out.set(b, 18);
  return out;
}

class Cursor {
  constructor(private readonly b: Uint8Array, private readonly v: DataView, public off: number) {}
  need(n: number, what: string): void {
    if (this.off + n > this.b.length) throw new HandoffError('truncated', `${what} at ${this.off} needs ${n} bytes, have ${this.b.length - this.off}`);
  }
  str(what: string): string {
    this.need(2, what);
    const n = this.v.getUint16(this.off, true);
    if (n > MAX_STR) throw new HandoffError('field', `${what} length ${n} > ${MAX_STR}`);
    this.need(2 + n, what);
    const s = this.b.subarray(this.off + 2, this.off + 2 + n);
    this.off += 2 + n;
    let text: string;
    try { text = dec.decode(s); } catch { throw new HandoffError('field', `${what} is not UTF-8`); }
    if (text.includes('\0')) throw new HandoffError('field', `${what} contains NUL`);
    return text;
  }
}

/** Decodes one datagram; throws HandoffError for anything not exactly a known message. */
export function decodeMessage(b: Uint8Array): HandoffMessage {
  if (b.length < HEADER) throw new HandoffError('truncated', `${b.length} bytes < header ${HEADER}`);
  if (b.length > HANDOFF_MAX_BYTES) throw new HandoffError('length', `${b.length} bytes > ${HANDOFF_MAX_BYTES}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < 4; i++) {
    if (b[i] !== HANDOFF_MAGIC.charCodeAt(i)) throw new HandoffError('magic', 'not an ext4box hand-off message');
  }
  const version = v.getUint16(4, true);
  if (version !== HANDOFF_VERSION) throw new HandoffError('version', `version ${version}, this side speaks ${HANDOFF_VERSION}`);
  const type = v.getUint16(6, true);
  const total = v.getUint32(8, true);
  if (total !== b.length) {
    throw new HandoffError(total > b.length ? 'truncated' : 'length', `header says ${total} bytes, datagram has ${b.length}`);
  }
  if (v.getUint32(12, true) !== 0) throw new HandoffError('field', 'reserved header word not zero');
  const c = new Cursor(b, v, HEADER);
  switch (type) {
    case MSG_HANDOFF: {
      c.need(FIXED_HANDOFF - HEADER, 'handoff');
      const flags = v.getUint32(16, true);
      if (flags & ~KNOWN_FLAGS) throw new HandoffError('field', `unknown flags 0x${flags.toString(16)}`);
      const fuseFd = v.getInt32(20, true);
      const imageFd = v.getInt32(24, true);
      if (fuseFd < -1 || imageFd < -1) throw new HandoffError('field', `fd numbers ${fuseFd}, ${imageFd}`);
      const inherited = (flags & FLAG_FDS_INHERITED) !== 0;
      if (inherited !== (fuseFd >= 0) || inherited !== (imageFd >= 0)) {
        throw new HandoffError('field', 'fd numbers must be given exactly when the fds are inherited');
      }
      if (v.getUint32(36, true) !== 0) throw new HandoffError('field', 'reserved word not zero');
      c.off = FIXED_HANDOFF;
      const imagePath = c.str('imagePath');
      const mountpoint = c.str('mountpoint');
      const options = c.str('options');
      if (c.off !== b.length) throw new HandoffError('length', `${b.length - c.off} trailing bytes`);
      return {
        type: MSG_HANDOFF,
        readOnly: (flags & FLAG_READ_ONLY) !== 0,
        syncInit: (flags & FLAG_SYNC_INIT) !== 0,
        iomap: (flags & FLAG_IOMAP) !== 0,
        allowOther: (flags & FLAG_ALLOW_OTHER) !== 0,
        defaultPermissions: (flags & FLAG_DEFAULT_PERMISSIONS) !== 0,
        fdsInherited: inherited,
        fuseFd, imageFd,
        uid: v.getUint32(28, true),
        gid: v.getUint32(32, true),
        offset: v.getBigUint64(40, true),
        length: v.getBigUint64(48, true),
        iomapFlags: v.getBigUint64(56, true),
        imagePath, mountpoint, options,
      };
    }
    case MSG_SERVING:
      if (b.length !== HEADER + 4) throw new HandoffError(b.length < HEADER + 4 ? 'truncated' : 'length', `serving is ${b.length} bytes`);
      return { type: MSG_SERVING, pid: v.getUint32(16, true) };
    case MSG_FAILED: {
      const reason = c.str('reason');
      if (c.off !== b.length) throw new HandoffError('length', `${b.length - c.off} trailing bytes`);
      return { type: MSG_FAILED, reason };
    }
    default:
      throw new HandoffError('type', `unknown message type ${type}`);
  }
}

/**
 * How a server receives the hand-off: the contract between the helper and whoever starts
 * servers (the supervisor, a sandbox runtime, a Kubernetes sidecar).
 */
export type ServerLink =
  /** The helper spawns the server (detached) with fds 3 = fuse, 4 = image, 5 = control socket
   *  and EXT4BOX_HANDOFF_FD=5 in its environment. */
  | { kind: 'spawn'; command: string; args: string[]; env?: NodeJS.ProcessEnv }
  /** The caller starts the server itself with the three fds inherited, and says which fd
   *  numbers fuse and image have in the server (the control fd number is its own business). */
  | { kind: 'start'; start(fds: { fuse: number; image: number; control: number }): { fuseFd: number; imageFd: number; pid?: number } }
  /** A server already runs (container, sidecar) and listens on a SEQPACKET socket at path. */
  | { kind: 'socket'; path: string };


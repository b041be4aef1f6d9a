// Notifications: server -> kernel messages with unique 0 and the notify code in the error
// field (fuse_notify_code, uapi fuse.h 7.45). Each builder returns one whole message, ready
// for a single write; names are checked (non-empty, no NUL) because the kernel requires
// size == header + namelen + 1 exactly. FuseSession.notify() writes them.

import { viewOf } from '../util/bytes.js';
import * as A from './abi.js';
import { Notify } from './abi.js';
import { OUT_HEADER, writeOutHeader } from './encode.js';
import { ProtocolError } from './errors.js';

function notifyMsg(code: number, bodyLen: number, fill: (b: Uint8Array, o: number) => void): Buffer {
  const b = Buffer.alloc(OUT_HEADER + bodyLen);
  writeOutHeader(b, 0, b.byteLength, code, 0n);
  fill(b, OUT_HEADER);
  return b;
}

export function notifyInvalInode(ino: bigint, off: bigint, len: bigint): Buffer {
  return notifyMsg(Notify.INVAL_INODE, 24, (b, o) => A.fuse_notify_inval_inode_out.encode({ ino, off, len }, b, o));
}

function checkNotifyName(name: Uint8Array): void {
  if (name.byteLength === 0 || name.byteLength > 1024 || name.includes(0)) throw new ProtocolError('invalid notify name');
}

export function notifyInvalEntry(parent: bigint, name: Uint8Array, flags = 0): Buffer {
  checkNotifyName(name);
  return notifyMsg(Notify.INVAL_ENTRY, 16 + name.byteLength + 1, (b, o) => {
    A.fuse_notify_inval_entry_out.encode({ parent, namelen: name.byteLength, flags }, b, o);
    b.set(name, o + 16);
  });
}

export function notifyDelete(parent: bigint, child: bigint, name: Uint8Array): Buffer {
  checkNotifyName(name);
  return notifyMsg(Notify.DELETE, 24 + name.byteLength + 1, (b, o) => {
    A.fuse_notify_delete_out.encode({ parent, child, namelen: name.byteLength, padding: 0 }, b, o);
    b.set(name, o + 24);
  });
}

export function notifyStore(nodeid: bigint, offset: bigint, data: Uint8Array): Buffer {
  return notifyMsg(Notify.STORE, 24 + data.byteLength, (b, o) => {
    A.fuse_notify_store_out.encode({ nodeid, offset, size: data.byteLength, padding: 0 }, b, o);
    b.set(data, o + 24);
  });
}

export function notifyRetrieve(notifyUnique: bigint, nodeid: bigint, offset: bigint, size: number): Buffer {
  return notifyMsg(Notify.RETRIEVE, 32, (b, o) =>
    A.fuse_notify_retrieve_out.encode({ notify_unique: notifyUnique, nodeid, offset, size, padding: 0 }, b, o));
}

export function notifyPoll(kh: bigint): Buffer {
  return notifyMsg(Notify.POLL, 8, (b, o) => A.fuse_notify_poll_wakeup_out.encode({ kh }, b, o));
}

export function notifyResend(): Buffer { return notifyMsg(Notify.RESEND, 0, () => undefined); }
export function notifyIncEpoch(): Buffer { return notifyMsg(Notify.INC_EPOCH, 0, () => undefined); }

export function notifyPrune(nodeids: bigint[]): Buffer {
  return notifyMsg(Notify.PRUNE, 16 + nodeids.length * 8, (b, o) => {
    A.fuse_notify_prune_out.encode({ count: nodeids.length, padding: 0, spare: 0n }, b, o);
    const dv = viewOf(b);
    nodeids.forEach((n, i) => dv.setBigUint64(o + 16 + i * 8, n, true));
  });
}

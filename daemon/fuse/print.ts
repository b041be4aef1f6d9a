// Debug one-liners for requests and replies: opcode name, unique, nodeid, and the decoded
// arguments with names shown as sanitized text. Used by the session at debug level and by
// tests; never throws (a request that does not decode prints as such).

import { sanitize } from '../util/log.js';
import { opName } from './abi.js';
import { decodeRequest, type DecodeOptions } from './decode.js';

function fmt(v: unknown, depth = 0): string {
  if (v instanceof Uint8Array) {
    const s = Buffer.from(v.subarray(0, 64)).toString('latin1');
    return v.byteLength > 64 ? `"${sanitize(s)}"…(${v.byteLength})` : `"${sanitize(s)}"`;
  }
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => fmt(x, depth + 1));
    return `[${items.join(',')}${v.length > 8 ? `,…(${v.length})` : ''}]`;
  }
  if (typeof v === 'object' && v !== null && depth < 3) {
    return `{${Object.entries(v).map(([k, x]) => `${k}=${fmt(x, depth + 1)}`).join(' ')}}`;
  }
  return String(v);
}

/** "LOOKUP unique=4 nodeid=1 uid=0 gid=0 pid=77 name="hello"" */
export function printRequest(buf: Uint8Array, n: number = buf.byteLength, o: DecodeOptions = { setxattrExt: true }): string {
  try {
    const { h, args } = decodeRequest(buf, n, o);
    const a = typeof args === 'object' && args !== null
      ? Object.entries(args).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')
      : '';
    return `${opName(h.opcode)} unique=${h.unique} nodeid=${h.nodeid} uid=${h.uid} gid=${h.gid} pid=${h.pid}${a ? ' ' + a : ''}`;
  } catch (e) {
    return `<undecodable request of ${n} bytes: ${sanitize(e instanceof Error ? e.message : String(e))}>`;
  }
}

/** "reply unique=4 LOOKUP ok 128 bytes" / "reply unique=4 LOOKUP error -2" */
export function printReply(unique: bigint, opcode: number, errno: number, len: number): string {
  return errno
    ? `reply unique=${unique} ${opName(opcode)} error -${errno}`
    : `reply unique=${unique} ${opName(opcode)} ok ${len} bytes`;
}

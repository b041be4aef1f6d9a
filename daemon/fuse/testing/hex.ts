// TEST-ONLY helpers for byte-exact goldens: annotated hex ("07 00 00 00  // major") to bytes,
// and little-endian field spelling that is independent of the encoders under test.

/** Parses hex pairs, ignoring whitespace, '|' separators and // comments to end of line. */
export function hex(s: string): Buffer {
  const clean = s.split('\n').map((l) => l.replace(/\/\/.*$/, '')).join(' ').replace(/[\s|]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${clean}`);
  return Buffer.from(clean, 'hex');
}

/** Little-endian hex of an unsigned integer of `bytes` width. */
export function le(v: number | bigint, bytes: number): string {
  let x = BigInt(v);
  if (x < 0n) x += 1n << BigInt(bytes * 8);
  const out: string[] = [];
  for (let i = 0; i < bytes; i++) { out.push((x & 0xffn).toString(16).padStart(2, '0')); x >>= 8n; }
  return out.join(' ');
}

/** ASCII text as hex, optionally NUL-terminated. */
export function str(s: string, nul = true): string {
  return Buffer.from(s + (nul ? '\0' : ''), 'latin1').toString('hex').replace(/(..)/g, '$1 ').trim();
}

/** A fuse_in_header spelled field by field (40 bytes) followed by `body`. */
export function request(opcode: number, body: Buffer, o: { unique?: bigint; nodeid?: bigint; uid?: number; gid?: number; pid?: number; extlen?: number; len?: number } = {}): Buffer {
  const len = o.len ?? 40 + body.length;
  return Buffer.concat([hex(`
    ${le(len, 4)}             // len
    ${le(opcode, 4)}          // opcode
    ${le(o.unique ?? 2n, 8)}  // unique
    ${le(o.nodeid ?? 1n, 8)}  // nodeid
    ${le(o.uid ?? 1000, 4)}   // uid
    ${le(o.gid ?? 100, 4)}    // gid
    ${le(o.pid ?? 4242, 4)}   // pid
    ${le(o.extlen ?? 0, 2)}   // total_extlen
    00 00                     // padding
  `), body]);
}

// The checksums ext4 and jbd2 use, bit-compatible with the kernel's lib/crc32.c and
// lib/crc16.c: crc32c (Castagnoli, reflected, *no* pre/post inversion: callers pass the
// seed, ext4 starts from ~0), crc16 (ANSI, reflected, for gdt_csum), and crc32_be
// (jbd2's v1 commit checksum). crc32c is sliced by 8: it runs on every metadata block.

function makeTables(poly: number, n: number): Uint32Array[] {
  const t: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t0[i] = c >>> 0;
  }
  t.push(t0);
  for (let s = 1; s < n; s++) {
    const prev = t[s - 1];
    const ts = new Uint32Array(256);
    for (let i = 0; i < 256; i++) ts[i] = ((prev[i] >>> 8) ^ t0[prev[i] & 0xff]) >>> 0;
    t.push(ts);
  }
  return t;
}

const C = makeTables(0x82f63b78, 8);
const [C0, C1, C2, C3, C4, C5, C6, C7] = C;

/** The kernel's crc32c(seed, data, len): raw register in and out. */
export function crc32c(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let crc = seed >>> 0;
  let i = start;
  // Slicing-by-8 over the aligned middle.
  while (end - i >= 8) {
    const a = (crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    crc = C7[a & 0xff] ^ C6[(a >>> 8) & 0xff] ^ C5[(a >>> 16) & 0xff] ^ C4[a >>> 24] ^
      C3[data[i + 4]] ^ C2[data[i + 5]] ^ C1[data[i + 6]] ^ C0[data[i + 7]];
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ C0[(crc ^ data[i++]) & 0xff];
  return crc >>> 0;
}

/** crc32c over `n` zero bytes (checksum holes) without allocating them. */
export function crc32cZeros(seed: number, n: number): number {
  let crc = seed >>> 0;
  for (let i = 0; i < n; i++) crc = (crc >>> 8) ^ C0[crc & 0xff];
  return crc >>> 0;
}

const T16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** The kernel's crc16(crc, data, len) (lib/crc16.c): reflected 0x8005, raw register. */
export function crc16(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let crc = seed & 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ T16[(crc ^ data[i]) & 0xff];
  return crc & 0xffff;
}

const TBE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The kernel's crc32_be(seed, data, len): big-endian CRC32, raw register (jbd2 v1). */
export function crc32be(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let crc = seed >>> 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ TBE[((crc >>> 24) ^ data[i]) & 0xff]) >>> 0;
  return crc >>> 0;
}

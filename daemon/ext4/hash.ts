// The htree directory hashes of fs/ext4/hash.c: legacy (dx_hack_hash), half-MD4 and TEA,
// each in a "signed" and an "unsigned" flavour (how name bytes >= 0x80 are widened: as C
// signed char on x86, as unsigned char elsewhere; the superblock's s_flags says which one
// the image was written with). Seeded by s_hash_seed (all-zero seed -> MD4 initial words).
// Pure arithmetic on 32-bit words; no on-disk structure. SipHash (encrypted+casefold dirs)
// needs the fscrypt key and is not computable here.

export const DX_HASH_LEGACY = 0;
export const DX_HASH_HALF_MD4 = 1;
export const DX_HASH_TEA = 2;
export const DX_HASH_LEGACY_UNSIGNED = 3;
export const DX_HASH_HALF_MD4_UNSIGNED = 4;
export const DX_HASH_TEA_UNSIGNED = 5;
export const DX_HASH_SIPHASH = 6;

/** The kernel's EXT4_HTREE_EOF_32BIT: hashes are never allowed to take this value. */
export const EXT4_HTREE_EOF_32BIT = 0x7fffffff;

export interface DirHash {
  /** The major hash, low bit clear (the low bit marks collision continuation in dx_entry). */
  readonly major: number;
  readonly minor: number;
}

const DEFAULT_SEED = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

function teaTransform(buf: number[], inp: Uint32Array): void {
  let sum = 0;
  let b0 = buf[0];
  let b1 = buf[1];
  const a = inp[0], b = inp[1], c = inp[2], d = inp[3];
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b)) >>> 0)) >>> 0;
    b1 = (b1 + ((((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d)) >>> 0)) >>> 0;
  }
  buf[0] = (buf[0] + b0) >>> 0;
  buf[1] = (buf[1] + b1) >>> 0;
}

const K2 = 0o13240474631;
const K3 = 0o15666365641;
const F = (x: number, y: number, z: number): number => z ^ (x & (y ^ z));
const G = (x: number, y: number, z: number): number => ((x & y) + ((x ^ y) & z)) >>> 0;
const H = (x: number, y: number, z: number): number => x ^ y ^ z;

function R(f: typeof F, w: number, x: number, y: number, z: number, k: number, s: number): number {
  return rol32((w + f(x, y, z) + k) >>> 0, s);
}

function halfMd4Transform(buf: number[], inp: Uint32Array): void {
  let a = buf[0], b = buf[1], c = buf[2], d = buf[3];
  // Round 1
  a = R(F, a, b, c, d, inp[0], 3); d = R(F, d, a, b, c, inp[1], 7);
  c = R(F, c, d, a, b, inp[2], 11); b = R(F, b, c, d, a, inp[3], 19);
  a = R(F, a, b, c, d, inp[4], 3); d = R(F, d, a, b, c, inp[5], 7);
  c = R(F, c, d, a, b, inp[6], 11); b = R(F, b, c, d, a, inp[7], 19);
  // Round 2
  a = R(G, a, b, c, d, (inp[1] + K2) >>> 0, 3); d = R(G, d, a, b, c, (inp[3] + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (inp[5] + K2) >>> 0, 9); b = R(G, b, c, d, a, (inp[7] + K2) >>> 0, 13);
  a = R(G, a, b, c, d, (inp[0] + K2) >>> 0, 3); d = R(G, d, a, b, c, (inp[2] + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (inp[4] + K2) >>> 0, 9); b = R(G, b, c, d, a, (inp[6] + K2) >>> 0, 13);
  // Round 3
  a = R(H, a, b, c, d, (inp[3] + K3) >>> 0, 3); d = R(H, d, a, b, c, (inp[7] + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (inp[2] + K3) >>> 0, 11); b = R(H, b, c, d, a, (inp[6] + K3) >>> 0, 15);
  a = R(H, a, b, c, d, (inp[1] + K3) >>> 0, 3); d = R(H, d, a, b, c, (inp[5] + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (inp[0] + K3) >>> 0, 11); b = R(H, b, c, d, a, (inp[4] + K3) >>> 0, 15);
  buf[0] = (buf[0] + a) >>> 0;
  buf[1] = (buf[1] + b) >>> 0;
  buf[2] = (buf[2] + c) >>> 0;
  buf[3] = (buf[3] + d) >>> 0;
}

/** Byte i of the name widened as the flavour's C char type. */
function charAt(msg: Uint8Array, i: number, signed: boolean): number {
  const v = msg[i];
  return signed && v >= 0x80 ? v - 0x100 : v;
}

/** str2hashbuf_{signed,unsigned}: packs up to num*4 bytes into num words, padded. */
function str2hashbuf(msg: Uint8Array, off: number, len: number, out: Uint32Array, num: number, signed: boolean): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const n = Math.min(len, num * 4);
  let o = 0;
  for (let i = 0; i < n; i++) {
    val = (charAt(msg, off + i, signed) + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[o++] = val;
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out[o++] = val;
  while (--num >= 0) out[o++] = pad;
}

function dxHackHash(name: Uint8Array, signed: boolean): number {
  let hash0 = 0x12a3fe2d;
  let hash1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    let hash = (hash1 + ((hash0 ^ Math.imul(charAt(name, i, signed), 7152373)) >>> 0)) >>> 0;
    if (hash & 0x80000000) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

/**
 * __ext4fs_dirhash for one already-resolved version (signed/unsigned applied by the
 * caller: root hash_version + 3 when the superblock says unsigned). Returns null for
 * versions that cannot be computed (SipHash without a key, unknown numbers), where the
 * kernel returns an error.
 */
export function dirHash(name: Uint8Array, version: number, seed: Uint32Array | readonly number[] | null): DirHash | null {
  const buf = DEFAULT_SEED.slice();
  if (seed && seed.length >= 4 && (seed[0] | seed[1] | seed[2] | seed[3]) !== 0) {
    for (let i = 0; i < 4; i++) buf[i] = seed[i] >>> 0;
  }
  let hash: number;
  let minor = 0;
  switch (version) {
    case DX_HASH_LEGACY_UNSIGNED: hash = dxHackHash(name, false); break;
    case DX_HASH_LEGACY: hash = dxHackHash(name, true); break;
    case DX_HASH_HALF_MD4:
    case DX_HASH_HALF_MD4_UNSIGNED: {
      const signed = version === DX_HASH_HALF_MD4;
      const inp = new Uint32Array(8);
      for (let p = 0, len = name.length; len > 0; len -= 32, p += 32) {
        str2hashbuf(name, p, len, inp, 8, signed);
        halfMd4Transform(buf, inp);
      }
      minor = buf[2];
      hash = buf[1];
      break;
    }
    case DX_HASH_TEA:
    case DX_HASH_TEA_UNSIGNED: {
      const signed = version === DX_HASH_TEA;
      const inp = new Uint32Array(4);
      for (let p = 0, len = name.length; len > 0; len -= 16, p += 16) {
        str2hashbuf(name, p, len, inp, 4, signed);
        teaTransform(buf, inp);
      }
      hash = buf[0];
      minor = buf[1];
      break;
    }
    default:
      return null;
  }
  hash = (hash & ~1) >>> 0;
  if (hash === (EXT4_HTREE_EOF_32BIT << 1) >>> 0) hash = ((EXT4_HTREE_EOF_32BIT - 1) << 1) >>> 0;
  return { major: hash, minor: minor >>> 0 };
}

/**
 * The version dx_probe actually hashes with: the root's legacy/half_md4/tea number plus 3
 * when the filesystem uses unsigned char hashing (s_flags EXT2_FLAGS_UNSIGNED_HASH).
 */
export function effectiveHashVersion(rootVersion: number, unsignedHash: boolean): number {
  return rootVersion <= DX_HASH_TEA && unsignedHash ? rootVersion + 3 : rootVersion;
}

export const EXT2_FLAGS_SIGNED_HASH = 0x1;
export const EXT2_FLAGS_UNSIGNED_HASH = 0x2;

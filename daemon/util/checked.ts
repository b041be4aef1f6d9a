// Checked integer arithmetic for on-disk numbers. Every value read from an image is
// hostile: 64-bit fields stay bigint until a checked conversion proves they fit in a
// double's 53 bits, and sums/products of on-disk counts are checked before use.

/** Thrown when a value does not fit; callers in ext4/ and fuse/ wrap it in their own error. */
export class RangeCheckError extends Error {
  constructor(readonly what: string, readonly value: bigint | number) {
    super(`${what} out of range: ${value}`);
    this.name = 'RangeCheckError';
  }
}

export const U32_MAX = 0xffff_ffff;
export const U64_MAX = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Combines a hi:lo pair of u32 halves into an exact bigint. */
export function hiLo64(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** hi:lo as a number when the result is provably < 2^53; otherwise null. */
export function hiLoSafe(hi: number, lo: number): number | null {
  const h = hi >>> 0;
  if (h >= 0x20_0000) return null;
  return h * 0x1_0000_0000 + (lo >>> 0);
}

/** bigint -> number, or throws RangeCheckError naming `what`. */
export function toSafe(v: bigint, what: string): number {
  if (v < 0n || v > MAX_SAFE) throw new RangeCheckError(what, v);
  return Number(v);
}

export function isSafeNonNeg(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** a + b for non-negative safe integers, or throws. */
export function addSafe(a: number, b: number, what: string): number {
  const r = a + b;
  if (!Number.isSafeInteger(r) || r < 0) throw new RangeCheckError(what, r);
  return r;
}

/** a * b for non-negative safe integers, or throws. */
export function mulSafe(a: number, b: number, what: string): number {
  const r = a * b;
  if (!Number.isSafeInteger(r) || r < 0) throw new RangeCheckError(what, r);
  return r;
}

/** ceil(a / b) for positive b. */
export function divCeil(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/** Whether n is a power of two (n > 0). */
export function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(n) && (n & (n - 1)) === 0 && n <= 0x4000_0000;
}

/** Sign-extends a 32-bit value to a JS number. */
export function s32(v: number): number {
  return v | 0;
}

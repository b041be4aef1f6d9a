// Deterministic PRNG for the fuzzer: splitmix32 seeding into mulberry32. A case is named by
// (seed, index) and `Prng.forCase` derives its stream from both, so any case can be
// regenerated alone without replaying the ones before it.

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  static forCase(seed: number, index: number): Prng {
    let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (index >>> 0) ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = Math.imul(h ^ Math.floor(index / 2 ** 32) ^ (h >>> 16), 0x27d4eb2f) >>> 0;
    return new Prng(h ^ (h >>> 15));
  }

  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty list');
    return xs[this.int(xs.length)];
  }
}

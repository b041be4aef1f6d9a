import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirHash, effectiveHashVersion, DX_HASH_SIPHASH, DX_HASH_TEA } from './hash.js';

// Golden values come from debugfs `dx_hash` (e2fsprogs' own implementation of the same
// hashes), computed at test time for every version, signed and unsigned, with and
// without a seed, on ASCII and high-bit names.
const enc = new TextEncoder();
const NAMES = [
  'a', 'abc', 'hello.txt', 'héllo', 'Ünïcödé-名前', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(33),
  'file-0001', 'ÿÿÿÿ', 'ﬀ', 'long-'.repeat(51), 'é'.repeat(127), '\u00a0tab', 'Σίσυφος',
];
const SEED_UUID = '01234567-89ab-cdef-0123-456789abcdef';

function uuidWords(u: string): Uint32Array {
  const hex = u.replace(/-/g, '');
  const b = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
  const dv = new DataView(b.buffer);
  return Uint32Array.from([0, 1, 2, 3].map((i) => dv.getUint32(4 * i, true)));
}

let dir: string;
let img: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ext4box-hash-'));
  img = join(dir, 'h.img');
  execFileSync('mkfs.ext4', ['-q', '-F', img, '2M'], { stdio: 'ignore' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function debugfsHashes(version: number, seed: string | null): Array<[number, number]> {
  const cmds = NAMES.map((n) => `dx_hash -h ${version}${seed ? ` -s ${seed}` : ''} ${n}`).join('\n') + '\n';
  const f = join(dir, `cmds-${version}-${seed ? 's' : 'n'}`);
  writeFileSync(f, cmds);
  const out = execFileSync('debugfs', ['-f', f, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const res = [...out.matchAll(/Hash of .* is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/g)].map((m) => [parseInt(m[1], 16), parseInt(m[2], 16)] as [number, number]);
  expect(res).toHaveLength(NAMES.length);
  return res;
}

describe('dirHash against debugfs dx_hash', () => {
  for (const version of [0, 1, 2, 3, 4, 5]) {
    for (const seeded of [false, true]) {
      test(`version ${version} ${seeded ? 'seeded' : 'default seed'}`, () => {
        const golden = debugfsHashes(version, seeded ? SEED_UUID : null);
        const seed = seeded ? uuidWords(SEED_UUID) : null;
        NAMES.forEach((n, i) => {
          const h = dirHash(enc.encode(n), version, seed);
          expect([n, h?.major, h?.minor]).toEqual([n, golden[i][0], golden[i][1]]);
        });
      });
    }
  }
});

describe('dirHash rules', () => {
  test('signed and unsigned differ only on high-bit bytes', () => {
    for (const v of [0, 1, 2]) {
      expect(dirHash(enc.encode('plain'), v, null)).toEqual(dirHash(enc.encode('plain'), v + 3, null));
      expect(dirHash(enc.encode('héllo'), v, null)).not.toEqual(dirHash(enc.encode('héllo'), v + 3, null));
    }
  });
  test('an all-zero seed means the default seed', () => {
    expect(dirHash(enc.encode('abc'), 1, new Uint32Array(4))).toEqual(dirHash(enc.encode('abc'), 1, null));
  });
  test('major hash low bit is always clear', () => {
    for (let i = 0; i < 200; i++) {
      for (const v of [0, 1, 2, 3, 4, 5]) expect(dirHash(enc.encode(`n${i}`), v, null)!.major & 1).toBe(0);
    }
  });
  test('siphash and unknown versions are not computable', () => {
    expect(dirHash(enc.encode('a'), DX_HASH_SIPHASH, null)).toBeNull();
    expect(dirHash(enc.encode('a'), 7, null)).toBeNull();
    expect(dirHash(enc.encode('a'), 255, null)).toBeNull();
  });
  test('effectiveHashVersion adds 3 only to legacy/half_md4/tea when unsigned', () => {
    expect(effectiveHashVersion(DX_HASH_TEA, true)).toBe(5);
    expect(effectiveHashVersion(DX_HASH_TEA, false)).toBe(2);
    expect(effectiveHashVersion(DX_HASH_SIPHASH, true)).toBe(6);
  });
});

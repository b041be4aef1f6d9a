// Casefolding against e2fsprogs (whose fs/unicode tables are the kernel's UTF-8 12.1 ones):
// `debugfs dx_hash -c -e utf8` hashes the casefolded name, so equal hashes mean our fold
// produced the same bytes. The kernel here has no CONFIG_UNICODE, so casefold directories
// are made by mkfs -d + setting EXT4_CASEFOLD_FL + e2fsck -fD (which rehashes casefolded).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { casefoldName, casefoldString, ciMatcher, decodeUtf8, foldIsExact } from './casefold.js';
import { dirHash } from './hash.js';
import { openRawImage } from './testing/rawctx.js';
import { FsContext, InodeInfo } from './context.js';
import { bmap } from './filemap.js';
import { lookup, readdir, ReadDirBlock } from './dir.js';
import { isDx } from './htree.js';
import { CorruptError, FsError } from './errors.js';

const root = mkdtempSync(join(tmpdir(), 'ext4box-cf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = new TextEncoder();

const TRICKY = [
  'abc', 'ABC', 'Straße', 'STRASSE', 'ẞ', 'ß', 'ı', 'I', 'İ', 'i̇', 'ΣΊΣΥΦΟΣ', 'σίσυφος', 'ς', 'K', 'k', 'Å', 'å',
  'ﬀ', 'FF', 'ǅ', 'ǆ', 'ᾳ', 'ᾼ', 'ΐ', 'ŉ', 'ǰ', 'é', 'é', 'Ꭰ', 'ꭰ', 'ᏸ', 'Ᏸ', '한글', 'µ', 'ſ', 'ẛ', 'Ⅻ', 'Ⓐ', 'Ａ',
  'ﬅ', 'ﬓ', 'ϴ', 'Ა', 'ა', 'ǈ', 'Ὠι', 'ᾨ', 'x\u0345', 'e\u0301\u0323',
];

describe('casefold hash goldens (debugfs dx_hash -c -e utf8)', () => {
  let img: string;
  beforeAll(() => {
    img = join(root, 'h.img');
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', 'casefold', img, '4M'], { stdio: 'ignore' });
  });
  test.each([1, 2, 0, 4])('version %i', (v) => {
    const f = join(root, `cmds-${v}`);
    writeFileSync(f, TRICKY.map((n) => `dx_hash -c -e utf8 -h ${v} ${n}`).join('\n') + '\n');
    const out = execFileSync('debugfs', ['-f', f, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const golden = [...out.matchAll(/Hash of .* is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/g)].map((m) => [parseInt(m[1], 16), parseInt(m[2], 16)]);
    expect(golden).toHaveLength(TRICKY.length);
    TRICKY.forEach((n, i) => {
      const h = dirHash(casefoldName(enc.encode(n))!, v, null)!;
      expect([n, h.major, h.minor]).toEqual([n, golden[i][0], golden[i][1]]);
    });
  });
});

describe('casefold rules', () => {
  test('folds', () => {
    expect(casefoldString('Straße')).toBe('strasse');
    expect(casefoldString('ẞ')).toBe('ss');
    expect(casefoldString('ı')).toBe('ı');
    expect(casefoldString('ΣΑΣ')).toBe('σασ');
    expect(casefoldString('ꭰ')).toBe('Ꭰ');
    expect(casefoldString('é')).toBe('e\u0301');
  });
  test('a leading U+FEFF is part of the name', () => {
    expect(casefoldName(enc.encode('\ufeffA'))).toEqual(enc.encode('\ufeffa'));
  });
  test('invalid UTF-8', () => {
    expect(decodeUtf8(Uint8Array.of(0xff))).toBeNull();
    expect(decodeUtf8(Uint8Array.of(0xc0, 0xaf))).toBeNull(); // overlong
    expect(decodeUtf8(Uint8Array.of(0xed, 0xa0, 0x80))).toBeNull(); // surrogate
    expect(casefoldName(Uint8Array.of(0x41, 0xff))).toBeNull();
    expect(foldIsExact(enc.encode('ABC'))).toBe(true);
    expect(foldIsExact(enc.encode('é'))).toBe(false);
  });
  test('matcher: strict refuses invalid entries, non-strict compares bytes', () => {
    const bad = Uint8Array.of(0x61, 0xff);
    expect(ciMatcher(bad, null, false)(bad)).toBe(true);
    expect(ciMatcher(bad, null, true)(bad)).toBe(false);
    expect(ciMatcher(bad, null, false)(enc.encode('a'))).toBe(false);
    const n = enc.encode('ABC');
    expect(ciMatcher(n, casefoldName(n), true)(enc.encode('abc'))).toBe(true);
    expect(ciMatcher(n, casefoldName(n), false)(bad)).toBe(false);
  });
});

interface Cf { ctx: FsContext; dir: InodeInfo; read: ReadDirBlock; names: Buffer[]; bad: InodeInfo; readBad: ReadDirBlock }

function buildCf(name: string, extra: string[]): Cf {
  const src = join(root, `${name}-src`);
  const img = join(root, `${name}.img`);
  mkdirSync(join(src, 'cf'), { recursive: true });
  const names: Buffer[] = [];
  for (let i = 0; i < 600; i++) names.push(Buffer.from(`Name-${i}-${i % 3 ? 'Straße' : 'Plain'}`));
  names.push(Buffer.from('ÉCOLE'), Buffer.from('ﬀ'), Buffer.from('Ꭰ-cherokee'));
  for (const n of names) writeFileSync(Buffer.concat([Buffer.from(join(src, 'cf') + '/'), n]), '');
  // e2fsck -D cannot rehash a directory holding invalid UTF-8, so that name lives in a
  // small linear casefold directory of its own.
  mkdirSync(join(src, 'cfbad'));
  writeFileSync(join(src, 'cfbad', 'Good'), '');
  if (extra.includes('invalid')) writeFileSync(Buffer.concat([Buffer.from(join(src, 'cfbad') + '/'), Buffer.from([0x62, 0x61, 0x64, 0xff])]), '');
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '1024', '-O', 'casefold', ...(extra.includes('strict') ? ['-E', 'encoding_flags=strict'] : []), '-d', src, img, '8M'], { stdio: 'ignore' });
  execFileSync('debugfs', ['-w', '-R', 'set_inode_field /cf flags 0x40080000', img], { stdio: 'ignore' });
  execFileSync('debugfs', ['-w', '-R', 'set_inode_field /cfbad flags 0x40080000', img], { stdio: 'ignore' });
  spawnSync('e2fsck', ['-fyD', img], { stdio: 'ignore' });
  const raw = openRawImage(img);
  const ctx = raw.ctx;
  const rootIno = raw.inode(2);
  const rd = (d: InodeInfo): ReadDirBlock => (l) => { const p = bmap(ctx, d, l); return p ? ctx.readBlock(p, 'dir') : null; };
  const r = lookup(ctx, rootIno, enc.encode('cf'), rd(rootIno))!;
  const dir = raw.inode(r.ino);
  const bad = raw.inode(lookup(ctx, rootIno, enc.encode('cfbad'), rd(rootIno))!.ino);
  return { ctx, dir, read: rd(dir), names, bad, readBad: rd(bad) };
}

describe('casefold directory (e2fsck-indexed)', () => {
  let t: Cf;
  beforeAll(() => { t = buildCf('cf', ['invalid']); });
  test('the directory is a casefold htree', () => {
    expect(t.dir.flags & 0x40000000).not.toBe(0);
    expect(isDx(t.ctx, t.dir)).toBe(true);
  });
  test('readdir lists the names as stored', () => {
    const got = new Set([...readdir(t.ctx, t.dir, 0, t.read)].map((e) => Buffer.from(e.name).toString('latin1')));
    got.delete('.');
    got.delete('..');
    expect(got).toEqual(new Set(t.names.map((n) => n.toString('latin1'))));
  });
  test('every name is found in any case, through the index', () => {
    for (const n of t.names) {
      const s = decodeUtf8(n);
      if (s === null) continue;
      const base = lookup(t.ctx, t.dir, n, t.read);
      expect(base).not.toBeNull();
      for (const v of [s.toUpperCase(), s.toLowerCase(), s.normalize('NFD')]) {
        const log: number[] = [];
        const r = lookup(t.ctx, t.dir, enc.encode(v), (l) => { log.push(l); return t.read(l); });
        expect([v, r?.ino]).toEqual([v, base!.ino]);
        if (foldIsExact(enc.encode(v))) expect(log.length).toBeLessThanOrEqual(3);
      }
    }
    expect(lookup(t.ctx, t.dir, enc.encode('name-1-strasse'), t.read)).not.toBeNull();
    expect(lookup(t.ctx, t.dir, enc.encode('école'), t.read)).not.toBeNull();
    expect(lookup(t.ctx, t.dir, enc.encode('FF'), t.read)).not.toBeNull();
    expect(lookup(t.ctx, t.dir, enc.encode('name-1-strasze'), t.read)).toBeNull();
  });
  test('invalid UTF-8 names match byte for byte when not strict', () => {
    expect(lookup(t.ctx, t.bad, Uint8Array.of(0x62, 0x61, 0x64, 0xff), t.readBad)).not.toBeNull();
    expect(lookup(t.ctx, t.bad, Uint8Array.of(0x42, 0x41, 0x44, 0xff), t.readBad)).toBeNull();
    expect(lookup(t.ctx, t.bad, enc.encode('GOOD'), t.readBad)).not.toBeNull();
  });
  test('strict mode refuses invalid names (EINVAL)', () => {
    const s = buildCf('cfstrict', ['strict']);
    expect(s.ctx.casefold?.flags).toBe(1);
    expect(() => lookup(s.ctx, s.dir, Uint8Array.of(0x62, 0xff), s.read)).toThrow(FsError);
    expect(lookup(s.ctx, s.dir, enc.encode('NAME-3-PLAIN'), s.read)).not.toBeNull();
  });
  test('casefold flag without the feature is corruption', () => {
    const ctx = { ...t.ctx, casefold: null } as FsContext;
    expect(() => lookup(ctx, t.dir, enc.encode('x'), t.read)).toThrow(CorruptError);
  });
});

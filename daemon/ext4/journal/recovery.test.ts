// Journal recovery against the e2fsprogs oracle (debugfs `jr`) and the kernel (loop mount),
// on journals written at test time by debugfs (jo/jw/jc) and by the kernel itself
// (EXT4_IOC_SHUTDOWN with LOGFLUSH: the log is committed, never checkpointed).

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverJournal } from './recovery.js';
import { applyOverlay, debugfs, diffBlocks, openImageJournal } from './testing.js';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'jbd2-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function sh(cmd: string, args: string[], input?: string, cwd?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

/** mkfs + a debugfs journal session; returns the image path. */
export function debugfsJournal(name: string, mkfsOpts: string[], size: string, session: string[], files: Record<string, Buffer> = {}): string {
  const img = join(dir, `${name}.img`);
  sh('mkfs.ext4', ['-q', '-F', ...mkfsOpts, img, size]);
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  const out = sh('debugfs', ['-w', '-f', '-', img], session.join('\n') + '\n', dir);
  if (/error|No such|not open|usage/i.test(out)) throw new Error(`debugfs session failed: ${out}`);
  return img;
}

/** Replays with e2fsprogs on a copy and returns its bytes. */
function oracleJr(img: string): Uint8Array {
  const copy = `${img}.jr`;
  copyFileSync(img, copy);
  debugfs(copy, 'jr', true);
  return new Uint8Array(readFileSync(copy));
}

function expectMatchesOracle(img: string, oracle: Uint8Array, extraIgnore: number[] = []) {
  const ij = openImageJournal(img);
  const res = recoverJournal(ij.source());
  const mine = applyOverlay(ij.bytes, res.overlay, ij.blockSize);
  const sbBlock = ij.blockSize === 1024 ? 1 : 0;
  const ignore = new Set([sbBlock, ij.journalMap[0], ...extraIgnore]);
  expect(diffBlocks(mine, oracle, ij.blockSize, ignore)).toEqual([]);
  // The replay changed something: the comparison is not vacuous.
  expect(diffBlocks(ij.bytes, oracle, ij.blockSize, ignore).length).toBeGreaterThan(0);
  return res;
}

describe('debugfs-written journals vs debugfs jr', () => {
  const cases: Array<[string, string[], string, string]> = [
    ['64bit-1k-nocsum', ['-b', '1024'], '8M', 'jo'],
    ['64bit-1k-csum3', ['-b', '1024'], '8M', 'jo -c'],
    ['32bit-4k-csum3', ['-b', '4096', '-O', '^64bit'], '16M', 'jo -c'],
    ['32bit-4k-csum2', ['-b', '4096', '-O', '^64bit'], '16M', 'jo -c -v 2'],
    ['32bit-1k-plain', ['-b', '1024', '-O', '^64bit,^metadata_csum'], '8M', 'jo'],
  ];
  for (const [name, mkfs, size, jo] of cases) {
    test(`${name}: replay equals e2fsprogs, revoked block untouched`, () => {
      const bs = Number(mkfs[1]);
      const img = debugfsJournal(name, mkfs, size, [
        jo,
        'jw -b 300,301,302 dA',
        'jw -b 302,303 dB',
        'jw -r 300',
        'jw -b 304 dC',
        'jc',
      ], { dA: pattern(3 * bs, 1), dB: pattern(2 * bs, 2), dC: pattern(bs, 3) });
      const before = new Uint8Array(readFileSync(img));
      const res = expectMatchesOracle(img, oracleJr(img));
      const { info, overlay } = res;
      expect(info.needsRecovery).toBe(true);
      expect(info.transactionsReplayed).toBe(4);
      expect(info.revokedBlocks).toBe(1);
      expect(info.revokeHits).toBe(1);
      expect([...overlay.keys()].sort((a, b) => a - b)).toEqual([301, 302, 303, 304]);
      // 302 is written twice: the later transaction wins.
      expect(Buffer.from(overlay.get(302)!)).toEqual(pattern(2 * bs, 2).subarray(0, bs));
      expect(Buffer.from(overlay.get(301)!)).toEqual(pattern(3 * bs, 1).subarray(bs, 2 * bs));
      // Revoked in a later transaction: not replayed, the image's block stays.
      expect(overlay.has(300)).toBe(false);
      expect(Buffer.from(before.subarray(300 * bs, 301 * bs)).equals(pattern(3 * bs, 1).subarray(0, bs))).toBe(false);
      const expectCsum = jo.includes('-v 1') ? 1 : jo.includes('-v 2') ? 2 : jo.includes('-c') ? 3 : 0;
      expect(info.checksumVersion).toBe(expectCsum);
    });
  }

  for (const [name, mkfs] of [['32bit-4k-csum1', ['-b', '4096', '-O', '^64bit,^metadata_csum']], ['64bit-2k-csum1', ['-b', '2048', '-O', '^metadata_csum']]] as Array<[string, string[]]>) {
    test(`${name}: crc32_be commit checksums over descriptor + data verify and replay`, () => {
      const bs = Number(mkfs[1]);
      const img = debugfsJournal(name, mkfs, '16M', ['jo -c', 'jw -b 300,301,302 dA', 'jw -b 302,303 dB', 'jc'],
        { dA: pattern(3 * bs, 4), dB: pattern(2 * bs, 5) });
      const res = expectMatchesOracle(img, oracleJr(img));
      expect(res.info.checksumVersion).toBe(1);
      expect(res.info.transactionsReplayed).toBe(2);
      expect([...res.overlay.keys()].sort((a, b) => a - b)).toEqual([300, 301, 302, 303]);
    });
  }

  test('v1 checksums: a commit whose crc32_be does not match refuses recovery (the kernel: "transaction 2 is corrupt")', () => {
    // debugfs sums the revoke block into the v1 commit checksum; the kernel's writer and
    // recovery never do, so the kernel refuses this journal (checked against a real mount
    // in the kernel suite below) and so must we.
    const img = debugfsJournal('csum1-revoke', ['-b', '4096', '-O', '^64bit,^metadata_csum'], '16M',
      ['jo -c', 'jw -b 300 dA', 'jw -b 304 -r 300 dC', 'jc'], { dA: pattern(4096, 6), dC: pattern(4096, 7) });
    expect(() => recoverJournal(openImageJournal(img).source())).toThrow(/journal transaction is corrupt .*transaction=2/);
  });

  test('a block revoked and rewritten in a later transaction is replayed from the later one', () => {
    const img = debugfsJournal('revoke-then-write', ['-b', '1024'], '8M', [
      'jo -c', 'jw -b 400 dA', 'jw -r 400', 'jw -b 400 dB', 'jc',
    ], { dA: pattern(1024, 7), dB: pattern(1024, 8) });
    const res = expectMatchesOracle(img, oracleJr(img));
    expect(Buffer.from(res.overlay.get(400)!)).toEqual(pattern(1024, 8));
  });

  test('escaped blocks get their jbd2 magic back', () => {
    const d = pattern(1024, 9);
    d.writeUInt32BE(0xc03b3998, 0);
    const img = debugfsJournal('escape', ['-b', '1024'], '8M', ['jo -c', 'jw -b 500 dE', 'jc'], { dE: d });
    const res = expectMatchesOracle(img, oracleJr(img));
    expect(Buffer.from(res.overlay.get(500)!)).toEqual(d);
  });

  test('an uncommitted transaction (jw -c) is not replayed', () => {
    const img = debugfsJournal('nocommit', ['-b', '1024'], '8M', [
      'jo -c', 'jw -b 600 dA', 'jw -b 601 -c dB', 'jc',
    ], { dA: pattern(1024, 10), dB: pattern(1024, 11) });
    const res = recoverJournal(openImageJournal(img).source());
    expect([...res.overlay.keys()]).toEqual([600]);
    expect(res.info.transactionsReplayed).toBe(1);
  });

  test('a clean journal replays nothing; a dirty log without needs_recovery is ignored', () => {
    const clean = join(dir, 'clean.img');
    sh('mkfs.ext4', ['-q', '-F', clean, '8M']);
    const c = recoverJournal(openImageJournal(clean).source());
    expect(c.info.journalClean).toBe(true);
    expect(c.info.needsRecovery).toBe(false);
    expect(c.overlay.size).toBe(0);
    const img = debugfsJournal('ignored', ['-b', '1024'], '8M', ['jo', 'jw -b 700 dA', 'jc'], { dA: pattern(1024, 12) });
    const r = recoverJournal(openImageJournal(img).source({ needsRecovery: false }));
    expect(r.overlay.size).toBe(0);
    expect(r.info.ignoredDirtyLog).toBe(true);
  });
});

const isRoot = process.getuid?.() === 0;
const kernelTest = isRoot ? test : test.skip;

describe('kernel-written journals (loop mount, EXT4_IOC_SHUTDOWN LOGFLUSH)', () => {
  /** Runs `script` in a rw loop mount, then shuts the fs down leaving the log dirty. */
  function kernelDirty(name: string, mkfs: string[], size: string, script: string, opts = ''): string {
    const img = join(dir, `${name}.img`);
    const mnt = join(dir, `${name}.mnt`);
    sh('mkfs.ext4', ['-q', '-F', ...mkfs, img, size]);
    sh('mkdir', ['-p', mnt]);
    sh('mount', ['-o', `loop${opts ? ',' + opts : ''}`, img, mnt]);
    try {
      sh('sh', ['-c', script], undefined);
      sh('python3', ['-c', `import fcntl,os,struct\nfd=os.open(${JSON.stringify(mnt)},os.O_RDONLY)\nfcntl.ioctl(fd,0x8004587D,struct.pack('I',1))`]);
    } finally {
      sh('umount', [mnt]);
    }
    return img;
  }

  /** The kernel's own replay: mount a copy and unmount it. */
  function oracleKernel(img: string): Uint8Array {
    const copy = `${img}.k`;
    const mnt = `${img}.kmnt`;
    copyFileSync(img, copy);
    sh('mkdir', ['-p', mnt]);
    // A read-only mount on a writable loop device: the kernel replays, nothing else runs.
    const dev = sh('losetup', ['-f', '--show', copy]).trim();
    try {
      sh('mount', ['-o', 'ro', dev, mnt]);
      sh('umount', [mnt]);
    } finally {
      sh('losetup', ['-d', dev]);
    }
    return new Uint8Array(readFileSync(copy));
  }

  const kcases: Array<[string, string[], string, number]> = [
    ['k-4k-csum3', ['-b', '4096'], '', 3],
    ['k-1k-32bit', ['-b', '1024', '-O', '^64bit,^metadata_csum'], '', 0],
    ['k-2k-csum1', ['-b', '2048', '-O', '^metadata_csum'], 'journal_checksum', 1],
    ['k-4k-async', ['-b', '4096', '-O', '^metadata_csum,^64bit'], 'journal_async_commit,data=writeback', 1],
  ];
  for (const [name, mkfs, opts, csumVersion] of kcases) {
    kernelTest(`${name}: files, dirs, deletes (revokes): our overlay equals the kernel's replay`, () => {
      const m = join(dir, `${name}.mnt`);
      const img = kernelDirty(name, mkfs, '64M', [
        `mkdir -p ${m}/a/b ${m}/gone`,
        `for i in $(seq 1 40); do head -c $((i*700)) /dev/urandom > ${m}/a/f$i; done`,
        `for i in $(seq 1 300); do touch ${m}/gone/n$i; done`,
        'sync',
        `rm -rf ${m}/gone`,
        `for i in $(seq 1 10); do echo $i > ${m}/a/b/x$i; done`,
        `sync`,
      ].join(' && '), opts);
      const oracle = oracleKernel(img);
      const ij = openImageJournal(img);
      expect(ij.needsRecovery).toBe(true);
      const res = recoverJournal(ij.source());
      expect(res.info.transactionsReplayed).toBeGreaterThan(0);
      expect(res.info.checksumVersion).toBe(csumVersion);
      if (opts.startsWith('journal_async_commit')) expect(res.info.features.incompat & 0x4).toBe(0x4);
      expect(res.info.revokedBlocks).toBeGreaterThan(0);
      const mine = applyOverlay(ij.bytes, res.overlay, ij.blockSize);
      const sbBlock = ij.blockSize === 1024 ? 1 : 0;
      const ignore = new Set([sbBlock, ...ij.journalMap]);
      // Every block the overlay replaced must be what the kernel wrote, byte for byte.
      for (const b of res.overlay.keys()) {
        if (ignore.has(b)) continue;
        expect([b, Buffer.from(mine.subarray(b * ij.blockSize, (b + 1) * ij.blockSize)).equals(Buffer.from(oracle.subarray(b * ij.blockSize, (b + 1) * ij.blockSize)))]).toEqual([b, true]);
      }
      // And nothing the kernel changed outside the journal escaped the overlay.
      expect(diffBlocks(mine, oracle, ij.blockSize, ignore)).toEqual([]);
    });
  }

  kernelTest('a small journal whose live log wraps round j_last: equal to the kernel\'s replay', () => {
    const m = join(dir, 'wrap.mnt');
    // 1 MiB journal of 1 KiB blocks; rounds of ~150 metadata blocks each, committed with
    // sync, until logdump (reading the backing file) shows the live log ending below its
    // start: it straddles j_last. Checkpoint timing varies, so the loop polls for it.
    const img = join(dir, 'wrap.img');
    const script = [
      `for r in $(seq 1 80); do mkdir -p ${m}/r$r; for i in $(seq 1 300); do : > ${m}/r$r/f$i; done; sync;`,
      `  l=$(debugfs -R logdump ${img} 2>/dev/null);`,
      `  s=$(echo "$l" | sed -n 's/^Journal starts at block \\([0-9]*\\).*/\\1/p');`,
      `  e=$(echo "$l" | sed -n 's/.* at block \\([0-9]*\\): end of journal.*/\\1/p');`,
      `  if [ -n "$s" ] && [ -n "$e" ] && [ "$e" -lt "$s" ]; then break; fi; done`,
    ].join('\n');
    kernelDirty('wrap', ['-b', '1024', '-J', 'size=1', '-N', '30000'], '64M', script);
    const oracle = oracleKernel(img);
    const ij = openImageJournal(img);
    const res = recoverJournal(ij.source());
    expect(res.info.transactionsReplayed).toBeGreaterThan(0);
    const mine = applyOverlay(ij.bytes, res.overlay, ij.blockSize);
    expect(diffBlocks(mine, oracle, ij.blockSize, new Set([1, ...ij.journalMap]))).toEqual([]);
    expect(res.info.logWrapped).toBe(true);
  });

  kernelTest('the kernel also refuses the debugfs v1 revoke-only-checksum journal (EUCLEAN)', () => {
    const img = debugfsJournal('csum1-revoke-k', ['-b', '4096', '-O', '^64bit,^metadata_csum'], '16M',
      ['jo -c', 'jw -b 300 dA', 'jw -b 304 -r 300 dC', 'jc'], { dA: pattern(4096, 6), dC: pattern(4096, 7) });
    expect(() => oracleKernel(img)).toThrow(/Structure needs cleaning/);
    expect(() => recoverJournal(openImageJournal(img).source())).toThrow(/journal transaction is corrupt/);
  });
});

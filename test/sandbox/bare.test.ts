// The bare runtime, proven from the outside on live mounts (root only; skipped visibly
// elsewhere): the probe server (test-only entry point) confines itself like the real server
// must, the test reads its /proc status and namespaces from the host, and the probe reports
// that every escape failed; then the real server serves the differential walk from a bare sandbox.

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bareSandbox, launcherScript, barePaths } from '../../daemon/sandbox/bare.js';
import {
  differentialWalk, ESCAPES, freshDir, hostSecret, lazyUnmount, liveSkipReason, mountWith, netDevices, ownNamespaces,
  parseProbe, probeImage, probeScript, procStatus, rootListing, serverScript, tmpBase, walkSkipReason, confinePreload, type ProbeReport,
} from './live.js';

const skip = liveSkipReason();
if (skip) test.skip(`bare sandbox: ${skip}`, () => undefined);
const d = skip ? describe.skip : describe;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('bare launcher script (no root needed)', () => {
  test('binds code read-only, drops to 65534 with no caps and no_new_privs, user namespace created last', () => {
    const s = launcherScript('/r', ['/usr/bin/node', '/x/dist'], ['/usr/bin/node', '/x/dist/s.js'], { as: 1 << 30, nofile: 64, nproc: 100 });
    expect(s).toContain("mount -o remount,bind,ro,nosuid,nodev \"$R$1\"");
    expect(s).toContain("bind '/usr/bin/node'");
    expect(s).toContain('mount -o remount,ro "$R"');
    expect(s).toMatch(/pivot_root \. \.old\ncd \/\numount -l \/\.old/);
    expect(s).toContain('--reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs');
    expect(s).toMatch(/unshare --user --map-current-user -- '\/usr\/bin\/node' '\/x\/dist\/s\.js'\n$/);
    expect(s).toContain('--as=1073741824:1073741824 --nofile=64:64 --nproc=100:100');
  });
  test('the server gets a clean environment: only the hand-off fd, log switches, pool size and what the caller names', () => {
    const s = launcherScript('/r', [], ['/n'], { as: 1, nofile: 1, nproc: 1 }, undefined, { PROBE: 'a b' });
    expect(s).toMatch(/exec env -i \$\{EXT4BOX_HANDOFF_FD\+EXT4BOX_HANDOFF_FD="\$EXT4BOX_HANDOFF_FD"\} /);
    expect(s).toContain("'PROBE=a b' 'EXT4BOX_SANDBOX=bare'");
    const r = spawnSync('sh', ['-c', s.split('\n').filter((l) => /^exec env -i/.test(l))[0].replace(/^exec /, '').replace(/\\$/, 'sh -c env')],
      { encoding: 'utf8', env: { EXT4BOX_HANDOFF_FD: '5', SECRET_TOKEN: 'x', HOME: '/root' } });
    expect(r.stdout.trim().split('\n').sort()).toEqual(['EXT4BOX_HANDOFF_FD=5', 'EXT4BOX_SANDBOX=bare', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'PROBE=a b', 'PWD=' + process.cwd()].sort());
    expect(() => launcherScript('/r', [], ['/n'], { as: 1, nofile: 1, nproc: 1 }, undefined, { 'A;rm': 'x' })).toThrow(/bad environment name/);
  });
  test('quotes hostile paths', () => {
    const s = launcherScript("/r'; rm -rf /; '", [], ["/a'b"], { as: 1, nofile: 1, nproc: 1 });
    expect(s).toContain("R='/r'\\''; rm -rf /; '\\'''");
    expect(s).toContain("'/a'\\''b'");
  });
  test('the root holds node, its libraries and the code, and nothing of the host besides', () => {
    const p = barePaths();
    expect(p.some((x) => x.endsWith('/node'))).toBe(true);
    expect(p.some((x) => /libc\.so/.test(x))).toBe(true);
    expect(p.some((x) => x.endsWith('/dist'))).toBe(true);
    for (const bad of ['/', '/etc', '/home', '/root', '/usr', '/usr/lib', '/var', '/tmp', '/dev']) expect(p).not.toContain(bad);
  });
});

d('bare sandbox, live (root)', () => {
  let base: string;
  beforeAll(() => { base = tmpBase('bare'); });
  afterAll(() => { rmSync(base, { recursive: true, force: true }); });

  test('the probe server is confined: 65534, no caps, no_new_privs, seccomp, own namespaces, only lo, no host root; every escape fails', async () => {
    const dir = freshDir(base, 'probe');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const secret = hostSecret(dir);
    const sb = bareSandbox({ args: [probeScript], output: 'pipe', env: { PROBE_HOST_FILE: secret, PROBE_OTHER_PID: String(process.pid), PROBE_PORT: '1' } });
    let err = '';
    try {
      const r = mountWith(probeImage(dir), mnt, sb.link);
      sb.child()?.stderr?.on('data', (b: Buffer) => { err += b.toString(); });
      expect(r.fsType).toBe('fuse.ext4box');
      const pid = sb.serverPid();
      expect(pid).toBeGreaterThan(1);
      const st = procStatus(pid!);
      expect(st.uid).toEqual(['65534', '65534', '65534', '65534']);
      expect(st.gid).toEqual(['65534', '65534', '65534', '65534']);
      expect(st.capEff).toBe('0000000000000000');
      expect(st.noNewPrivs).toBe('1');
      expect(st.seccomp).toBe('2');
      expect(ownNamespaces(pid!).sort()).toEqual(['ipc', 'mnt', 'net', 'pid', 'user', 'uts']);
      expect(netDevices(pid!)).toEqual(['lo']);
      const root = rootListing(pid!);
      for (const host of ['etc', 'home', 'root', 'var', 'boot', 'dev', 'sys']) expect(root).not.toContain(host);
      // The mount answers (GETATTR of the root through the probe server).
      expect(spawnSync('stat', ['-c', '%i', mnt], { encoding: 'utf8' }).stdout.trim()).toBe('1');
      for (let i = 0; i < 100 && !/EXT4BOX_PROBE/.test(err); i++) await sleep(50);
      const rep: ProbeReport = parseProbe(err);
      expect(rep.imageHead).toBe('IMG!'); // the image fd works after confinement
      expect(rep.report).toEqual({ noNewPrivs: true, unknownSyscalls: 0 });
      for (const [name, want] of Object.entries(ESCAPES)) {
        const o = rep.results[name];
        expect({ name, ok: o.ok }).toEqual({ name, ok: false });
        expect({ name, error: o.error }).toEqual({ name, error: expect.stringMatching(want) });
      }
      expect(rep.results.netDev.detail).toBe('lo');
      expect(rep.results.listRoot.detail?.split(',')).not.toContain('etc');
    } finally {
      lazyUnmount(mnt);
      sb.stop();
    }
  });

  const wskip = skip ?? walkSkipReason();
  (wskip ? test.skip : test)(`the real server, confined by confineSelf(), serves the read-only differential walk from a bare sandbox${wskip ? ` (${wskip})` : ''}`, async () => {
    const r = await differentialWalk('ext4', async (image) => {
      const dir = freshDir(base, 'walk');
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const sb = bareSandbox({ args: ['--import', confinePreload, serverScript], output: 'ignore' });
      const done = async (): Promise<void> => { lazyUnmount(mnt); sb.stop(); };
      try {
        mountWith(image, mnt, sb.link);
        const pid = sb.serverPid();
        expect(pid).toBeGreaterThan(1);
        expect(procStatus(pid!).uid).toEqual(['65534', '65534', '65534', '65534']);
        expect(procStatus(pid!).capEff).toBe('0000000000000000');
        expect(procStatus(pid!).noNewPrivs).toBe('1');
        expect(procStatus(pid!).seccomp).toBe('2');
      } catch (e) {
        await done();
        throw e;
      }
      return { dir: mnt, done };
    });
    expect(r.entries).toBeGreaterThan(5);
    expect(r.diffs).toEqual([]);
  });
});

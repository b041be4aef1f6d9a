// The docker runtime, proven from the outside on live mounts. @needs-docker (CI starts dockerd
// for files with this token). Root only; skipped visibly when no engine answers. The server
// image is built once per content hash on the local FROM-scratch base; the probe image adds
// only the test-only probe server on top of it.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLocalImage, dockerAvailable, dockerEngine, dockerSandbox, type DockerSandbox } from '../../daemon/sandbox/docker.js';
import {
  differentialWalk, ESCAPES, freshDir, hostSecret, lazyUnmount, liveSkipReason, mountWith, netDevices, ownNamespaces,
  parseProbe, probeImage, probeScript, procStatus, rootListing, tmpBase, walkSkipReason,
} from './live.js';

let skip = liveSkipReason();
const engine = skip ? false : await dockerAvailable(5000);
if (!skip && !engine) skip = 'no Docker engine answers on /var/run/docker.sock';
if (skip) test.skip(`docker sandbox: ${skip}`, () => undefined);
const d = skip ? describe.skip : describe;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

d('docker sandbox, live (root, dockerd)', () => {
  let base: string;
  let image: string;
  let probeTag: string;
  beforeAll(() => {
    base = tmpBase('docker');
    image = buildLocalImage();
    probeTag = image.replace(/^ext4box:/, 'ext4box-probe:');
    if (spawnSync('docker', ['image', 'inspect', probeTag], { stdio: 'ignore' }).status !== 0) {
      const ctx = mkdtempSync(join(tmpdir(), 'ext4box-probe-ctx-'));
      copyFileSync(probeScript, join(ctx, 'probe-server.js'));
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${image}\nCOPY probe-server.js /app/dist/test/sandbox/probe-server.js\n`);
      const r = spawnSync('docker', ['build', '-q', '-t', probeTag, ctx], { encoding: 'utf8', timeout: 300000 });
      rmSync(ctx, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`probe image build failed: ${r.stderr}`);
    }
  }, 900000);
  afterAll(() => { rmSync(base, { recursive: true, force: true }); });

  test('the production image carries no test code and runs as 65534', async () => {
    const info = await dockerEngine().getImage(image).inspect();
    expect(info.Config.User).toBe('65534:65534');
    const r = spawnSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'node', image, '-e',
      "process.stdout.write(String(require('fs').existsSync('/app/dist/test')))"], { encoding: 'utf8', timeout: 60000 });
    expect(r.stdout).toBe('false');
  });

  test('the probe server is confined: 65534, no caps, no_new_privs, seccomp, own namespaces, only lo, no host root; every escape fails', async () => {
    const dir = freshDir(base, 'probe');
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const secret = hostSecret(dir);
    const sb: DockerSandbox = await dockerSandbox({
      image: probeTag, cmd: ['/app/dist/test/sandbox/probe-server.js', '--socket', '/run/ext4box/handoff.sock'],
      env: { PROBE_HOST_FILE: secret, PROBE_OTHER_PID: String(process.pid), PROBE_PORT: '1' },
      socketRoot: join(base, 'sockets'),
    });
    try {
      const c = await dockerEngine().getContainer(sb.containerId).inspect();
      expect(c.HostConfig.NetworkMode).toBe('none');
      expect(c.HostConfig.ReadonlyRootfs).toBe(true);
      expect(c.HostConfig.CapDrop).toEqual(['ALL']);
      expect(c.Config.User).toBe('65534:65534');
      expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(c.HostConfig.Memory).toBeGreaterThan(0);
      expect(c.HostConfig.PidsLimit).toBeGreaterThan(0);
      expect(c.Mounts.map((m) => m.Destination)).toEqual(['/run/ext4box']);
      const r = mountWith(probeImage(dir), mnt, sb.link);
      expect(r.fsType).toBe('fuse.ext4box');
      const st = procStatus(sb.serverPid);
      expect(st.uid).toEqual(['65534', '65534', '65534', '65534']);
      expect(st.capEff).toBe('0000000000000000');
      expect(st.noNewPrivs).toBe('1');
      expect(st.seccomp).toBe('2');
      // Docker 20.10 makes no user namespace unless the daemon is configured for it.
      expect(ownNamespaces(sb.serverPid)).toEqual(expect.arrayContaining(['ipc', 'mnt', 'net', 'pid', 'uts']));
      expect(netDevices(sb.serverPid)).toEqual(['lo']);
      const root = rootListing(sb.serverPid);
      for (const host of ['home', 'root', 'var', 'boot', 'work']) expect(root).not.toContain(host);
      expect(spawnSync('stat', ['-c', '%i', mnt], { encoding: 'utf8' }).stdout.trim()).toBe('1');
      let logs = '';
      for (let i = 0; i < 100 && !/EXT4BOX_PROBE/.test(logs); i++) { await sleep(50); logs = await sb.logs(); }
      const rep = parseProbe(logs);
      expect(rep.imageHead).toBe('IMG!');
      expect(rep.report.noNewPrivs).toBe(true);
      for (const [name, want] of Object.entries(ESCAPES)) {
        const o = rep.results[name];
        expect({ name, ok: o.ok }).toEqual({ name, ok: false });
        expect({ name, error: o.error }).toEqual({ name, error: expect.stringMatching(want) });
      }
      expect(rep.results.netDev.detail).toBe('lo');
    } finally {
      lazyUnmount(mnt);
      await sb.stop();
    }
  });

  test('a server that inflates memory is OOM-killed inside its container, not the host', async () => {
    await expect(dockerSandbox({
      image, cmd: ['-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));'], memory: 96 * 1024 * 1024,
      socketRoot: join(base, 'sockets'), startTimeoutMs: 60000,
    })).rejects.toThrow(/OOM-killed/);
  });

  const wskip = skip ?? walkSkipReason();
  (wskip ? test.skip : test)(`the real server serves the read-only differential walk from its container${wskip ? ` (${wskip})` : ''}`, async () => {
    const r = await differentialWalk('ext4', async (img) => {
      const dir = freshDir(base, 'walk');
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const sb = await dockerSandbox({ image, socketRoot: join(base, 'sockets') });
      const done = async (): Promise<void> => { lazyUnmount(mnt); await sb.stop(); };
      try {
        mountWith(img, mnt, sb.link);
        expect(procStatus(sb.serverPid).uid).toEqual(['65534', '65534', '65534', '65534']);
        expect(procStatus(sb.serverPid).seccomp).toBe('2');
      } catch (e) {
        const logs = await sb.logs().catch(() => '');
        await done();
        throw new Error(`${e instanceof Error ? e.message : String(e)}; server log: ${logs.slice(-1500)}`);
      }
      return { dir: mnt, done };
    });
    expect(r.entries).toBeGreaterThan(5);
    expect(r.diffs).toEqual([]);
  });
});

// TEST-ONLY mounting without the native helper: open /dev/fuse here, let util-linux mount(8)
// inherit it as fd 3 and mount with fd=3. Without FUSE_DEV_IOC_SYNC_INIT the mount returns
// before INIT; the kernel queues INIT on the fd and the session (started first) answers it.
// Unmount is lazy (umount -l) so a wedged server cannot hang the test run.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export function canMount(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
  if (!fs.existsSync('/dev/fuse')) return 'no /dev/fuse';
  return null;
}

export function run(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}):
  Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    p.on('error', (e) => { clearTimeout(t); reject(e); });
    p.on('close', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
}

export interface Mounted { fd: number; mnt: string; unmount(): Promise<void> }

/** Opens /dev/fuse; call mountFd once the session on it is started. */
export function openFuse(): number { return fs.openSync('/dev/fuse', 'r+'); }

export function mountFd(fd: number, mnt: string, subtype = 'ext4boxtest'): Promise<Mounted> {
  return new Promise((resolve, reject) => {
    const p = spawn('mount', ['-i', '-t', `fuse.${subtype}`, '-o',
      'fd=3,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other', 'ext4boxtest', mnt],
    { stdio: ['ignore', 'inherit', 'inherit', fd] });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`mount exited ${code}`)); return; }
      resolve({
        fd, mnt,
        unmount: async () => { await run('umount', ['-l', mnt]); },
      });
    });
  });
}

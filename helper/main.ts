// CLI entry of the privileged mount helper (run as root or with CAP_SYS_ADMIN, never setuid):
//   node dist/helper/main.js IMAGE MOUNTPOINT [-o OPTS] [--uid U --gid G] [--over-mount]
//        [--timeout MS] [--json] (--server-socket PATH | -- SERVER_CMD [ARGS...])
// With `-- CMD ARGS`, the helper spawns the server with fd 3 = /dev/fuse, 4 = image, 5 = the
// control socket (EXT4BOX_HANDOFF_FD=5); with --server-socket it connects to a server that
// already listens there and passes the fds with SCM_RIGHTS (protocol: helper/handoff.ts).
// Success: one line (text or JSON) on stdout, exit 0. Failure: one line on stderr, exit 1,
// nothing left mounted.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HelperError, runHelper, type ServerLink } from './mount.js';

const USAGE = 'usage: helper/main.js IMAGE MOUNTPOINT [-o OPTS] [--uid U --gid G] [--over-mount] [--timeout MS] [--json] (--server-socket PATH | -- SERVER_CMD [ARGS...])';

class UsageError extends Error {}

function intArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new UsageError(`--${name} needs a number`);
  return Number(v);
}

/** Returns the exit code: 0 mounted, 1 refused or failed (one line on stderr), 2 usage. */
export function main(argv: string[]): number {
  try {
    return run(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`ext4box-helper: ${e.message}\n${USAGE}\n`);
    return 2;
  }
}

function run(argv: string[]): number {
  const dd = argv.indexOf('--');
  const mine = dd < 0 ? argv : argv.slice(0, dd);
  const serverCmd = dd < 0 ? [] : argv.slice(dd + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: mine,
      allowPositionals: true,
      options: {
        options: { type: 'string', short: 'o' },
        uid: { type: 'string' }, gid: { type: 'string' },
        'over-mount': { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' },
        'server-socket': { type: 'string' }, 'read-ahead-kb': { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values: v, positionals: pos } = parsed;
  if (pos.length !== 2) throw new UsageError('need IMAGE and MOUNTPOINT');
  let link: ServerLink;
  if (v['server-socket'] !== undefined) {
    if (serverCmd.length) throw new UsageError('give either --server-socket or a server command, not both');
    link = { kind: 'socket', path: v['server-socket'] };
  } else {
    if (!serverCmd.length) throw new UsageError('no server: give --server-socket PATH or -- SERVER_CMD [ARGS...]');
    link = { kind: 'spawn', command: serverCmd[0], args: serverCmd.slice(1) };
  }
  const req = {
    image: pos[0], mountpoint: pos[1], options: v.options ?? '',
    uid: intArg(v.uid, 'uid'), gid: intArg(v.gid, 'gid'), overMount: v['over-mount'] ?? false,
    timeoutMs: intArg(v.timeout, 'timeout'), readAheadKb: intArg(v['read-ahead-kb'], 'read-ahead-kb'),
  };
  try {
    const r = runHelper(req, link);
    for (const w of r.warnings) process.stderr.write(`ext4box-helper: warning: ${w}\n`);
    if (v.json) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`mounted ${r.source} on ${r.mountpoint} (fuse.ext4box ${r.majorMinor}, server pid ${r.serverPid}${r.syncInit ? ', sync init' : ''}${r.iomap ? ', iomap' : ''})\n`);
    return 0;
  } catch (e) {
    const msg = e instanceof HelperError ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`ext4box-helper: ${msg}\n`);
    return 1;
  }
}

function isEntry(argv1: string): boolean {
  try { return import.meta.url === pathToFileURL(realpathSync(argv1)).href; } catch { return false; }
}

// Run only as the entry point, not when imported by tests or the supervisor.
if (process.argv[1] && isEntry(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}

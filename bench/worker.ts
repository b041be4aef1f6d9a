// One workload in a child process: `node worker.js '<json request>'` prints one JSON result.
// The bench runs reads here, not in its own process, because a FUSE server that stops
// answering leaves the reader blocked in the kernel: the parent kills the child after a
// timeout (FUSE waits are killable) and records a failure instead of hanging.
import { DataSpec } from './data.js';
import { readSmall, readdirAll, seqRead, statAll, verifyMount } from './workloads.js';

export type WorkerRequest =
  | { op: 'seq'; file: string; times: number }
  | { op: 'stat' | 'readdir' | 'readSmall'; dir: string; n: number }
  | { op: 'verify'; mnt: string; spec: DataSpec; fullBig: boolean };

function serve(req: WorkerRequest): unknown {
  switch (req.op) {
    case 'seq':
      return Array.from({ length: req.times }, () => seqRead(req.file));
    case 'stat':
      return statAll(req.dir, req.n);
    case 'readdir':
      return readdirAll(req.dir, req.n);
    case 'readSmall':
      return readSmall(req.dir, req.n);
    case 'verify':
      return verifyMount(req.mnt, req.spec, req.fullBig);
  }
}

try {
  process.stdout.write(JSON.stringify(serve(JSON.parse(process.argv[2] ?? '{}') as WorkerRequest)) + '\n');
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

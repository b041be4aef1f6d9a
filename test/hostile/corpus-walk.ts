// Child process of the hostile-corpus suite and of `npm run corpus`: opens one image
// (gzip allowed), walks it fully within budgets and prints one JSON line. Run in its own
// process so a hang is a timeout the parent sees and memory is measured per image.
//   node dist/test/hostile/corpus-walk.js IMAGE[.gz] [--ms N]

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { openImage } from '../../daemon/ext4/fs.js';
import { walkFs, DEFAULT_BUDGET } from '../../daemon/ext4/walk.js';
import { CorruptError, IncompatibleError, IoError, FsError } from '../../daemon/ext4/errors.js';

export interface CorpusLine {
  image: string;
  outcome: 'opened' | 'refused' | 'crashed';
  message?: string;
  errorKind?: string;
  entries?: number;
  files?: number;
  dirs?: number;
  bytesRead?: number;
  problems?: number;
  untypedProblems?: Array<{ path: string; op: string; message: string }>;
  problemSamples?: string[];
  truncated?: string | null;
  ms: number;
  maxRssKiB: number;
}

/**
 * This process's own peak RSS: VmHWM of its address space. getrusage's maxrss is no use here:
 * Linux carries the pre-exec high-water mark (the forked copy of a large parent, e.g. a jest
 * worker) into the child's maxrss.
 */
function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const image = process.argv[2];
  const msArg = process.argv.indexOf('--ms');
  const ms = msArg > 0 ? Number(process.argv[msArg + 1]) : 20_000;
  const t0 = Date.now();
  const line: CorpusLine = { image, outcome: 'opened', ms: 0, maxRssKiB: 0 };
  try {
    let bytes: Uint8Array = readFileSync(image);
    if (image.endsWith('.gz')) bytes = gunzipSync(bytes, { maxOutputLength: 1 << 30 });
    let fs;
    try {
      fs = openImage(bytes, {});
    } catch (e) {
      const typed = e instanceof CorruptError || e instanceof IncompatibleError || e instanceof IoError || e instanceof FsError;
      line.outcome = typed ? 'refused' : 'crashed';
      line.errorKind = e instanceof Error ? e.name : typeof e;
      line.message = e instanceof Error ? (typed ? e.message : e.stack ?? e.message) : String(e);
      return;
    }
    try {
      const w = await walkFs(fs, { ...DEFAULT_BUDGET, ms });
      line.entries = w.entries;
      line.files = w.files;
      line.dirs = w.dirs;
      line.bytesRead = w.bytesRead;
      line.problems = w.problems.length;
      line.problemSamples = w.problems.slice(0, 5).map((p) => `${p.op} ${p.path}: ${p.message}`);
      line.untypedProblems = w.problems.filter((p) => !p.typed).map((p) => ({ path: p.path, op: p.op, message: p.message }));
      line.truncated = w.truncated;
    } finally {
      fs.close();
    }
  } catch (e) {
    line.outcome = 'crashed';
    line.errorKind = e instanceof Error ? e.name : typeof e;
    line.message = e instanceof Error ? e.stack ?? e.message : String(e);
  } finally {
    line.ms = Date.now() - t0;
    line.maxRssKiB = peakRssKiB();
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

void main();

// The fuzz harness's parent side: runs ranges of cases in fuzz-worker child processes with a
// per-case watchdog (a worker silent for caseTimeoutMs is killed), finds the culprit of a
// kill or a worker death (the case after the last line printed), confirms it alone, and
// resumes after it. Counts outcomes, collects crashes/hangs/memory blow-ups as regression
// cases, and replays recorded regressions.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './corpus-run.js';
import type { CaseLine, Outcome, Regression } from './fuzz-worker.js';

const WORKER = join(REPO, 'dist/test/hostile/fuzz-worker.js');
export const REGRESSIONS = join(REPO, 'test/hostile/regressions.json');

export interface CampaignOptions {
  variant: string;
  seed: number;
  from: number;
  count: number;
  /** A case silent this long is a hang (the walk's own budget is 5 s). */
  caseTimeoutMs?: number;
  onLine?: (l: CaseLine) => void;
  onReady?: (info: { regions: number; kinds: Record<string, number>; key: string }) => void;
  /** Extra environment for the workers (the harness self-test's EXT4BOX_FUZZ_INJECT). */
  env?: Record<string, string>;
}

export interface CampaignResult {
  variant: string;
  seed: number;
  counts: Record<Outcome, number>;
  found: Regression[];
  key: string;
  ms: number;
  maxCaseMs: number;
  peakRssMiB: number;
}

interface WorkerRun {
  lines: CaseLine[];
  ready: { regions: number; kinds: Record<string, number>; key: string } | null;
  killed: boolean;
  exitCode: number | null;
  stderr: string;
}

function runWorker(args: string[], caseTimeoutMs: number, startTimeoutMs: number, onLine?: (l: CaseLine) => void,
  onReady?: CampaignOptions['onReady'], env?: Record<string, string>): Promise<WorkerRun> {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} missing: run npm run build first`);
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--max-old-space-size=512', WORKER, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    const r: WorkerRun = { lines: [], ready: null, killed: false, exitCode: null, stderr: '' };
    let buf = '';
    let timer: NodeJS.Timeout;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => { r.killed = true; child.kill('SIGKILL'); }, ms);
    };
    arm(startTimeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const s = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let x: unknown;
        try { x = JSON.parse(s); } catch { continue; }
        const o = x as { ready?: boolean } & CaseLine & { regions: number; kinds: Record<string, number>; key: string };
        if (o.ready) { r.ready = { regions: o.regions, kinds: o.kinds, key: o.key }; onReady?.(r.ready); } else { r.lines.push(o); onLine?.(o); }
        arm(caseTimeoutMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => { if (r.stderr.length < 8000) r.stderr += d.toString(); });
    child.on('close', (code) => {
      clearTimeout(timer);
      r.exitCode = code;
      res(r);
    });
  });
}

const STARTUP_MS = 10 * 60_000; // the first worker may build the base image

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const t0 = Date.now();
  const caseTimeoutMs = o.caseTimeoutMs ?? 30_000;
  const counts: Record<Outcome, number> = { refused: 0, clean: 0, typed: 0, crash: 0, hang: 0, memory: 0 };
  const found: Regression[] = [];
  let key = '';
  let maxCaseMs = 0;
  let peak = 0;
  const record = (l: CaseLine) => {
    counts[l.outcome]++;
    maxCaseMs = Math.max(maxCaseMs, l.ms);
    peak = Math.max(peak, l.rssMiB);
    if (l.outcome === 'crash' || l.outcome === 'memory' || l.outcome === 'hang') {
      found.push({ variant: o.variant, seed: o.seed, index: l.index, outcome: l.outcome, description: l.description, baseKey: key,
        message: l.message, patch: l.patch ?? [] });
    }
    o.onLine?.(l);
  };
  const end = o.from + o.count;
  let next = o.from;
  while (next < end) {
    const r = await runWorker(['--image', o.variant, '--seed', String(o.seed), '--from', String(next), '--to', String(end)],
      caseTimeoutMs, STARTUP_MS, record, (info) => { key = info.key; o.onReady?.(info); }, o.env);
    const last = r.lines.length ? r.lines[r.lines.length - 1].index : next - 1;
    if (!r.killed && r.exitCode === 0 && last === end - 1) break;
    if (!r.ready) throw new Error(`fuzz worker failed to start (exit ${r.exitCode}): ${r.stderr.slice(0, 2000)}`);
    // The culprit is the case after the last line; confirm it alone before blaming it.
    const suspect = last + 1;
    const solo = await runWorker(['--image', o.variant, '--seed', String(o.seed), '--from', String(suspect), '--to', String(suspect + 1)],
      caseTimeoutMs, STARTUP_MS, undefined, undefined, o.env);
    const dry = await runWorker(['--image', o.variant, '--seed', String(o.seed), '--from', String(suspect), '--to', String(suspect + 1), '--dry'],
      caseTimeoutMs, STARTUP_MS);
    const desc = dry.lines[0];
    if (solo.lines.length === 1 && !solo.killed) {
      record(solo.lines[0]); // not reproducible alone (machine load, or state from earlier cases): counted as run
    } else {
      const outcome: Outcome = solo.killed ? 'hang' : /heap out of memory|Allocation failed/i.test(solo.stderr) ? 'memory' : 'crash';
      record({ index: suspect, outcome, ms: solo.killed ? caseTimeoutMs : 0, rssMiB: 0, description: desc?.description ?? '?', patch: desc?.patch,
        message: solo.killed ? `silent for ${caseTimeoutMs} ms` : `worker died (exit ${solo.exitCode}): ${solo.stderr.slice(-600)}` });
    }
    next = suspect + 1;
  }
  return { variant: o.variant, seed: o.seed, counts, found, key, ms: Date.now() - t0, maxCaseMs, peakRssMiB: peak };
}

export function summarizeCampaign(rs: CampaignResult[]): string {
  const c: Record<string, number> = {};
  let n = 0;
  for (const r of rs) for (const [k, v] of Object.entries(r.counts)) { c[k] = (c[k] ?? 0) + v; n += v; }
  const peak = Math.max(0, ...rs.map((r) => r.peakRssMiB));
  const slow = Math.max(0, ...rs.map((r) => r.maxCaseMs));
  return `ext4box fuzz: ${n} cases on ${rs.map((r) => `${r.variant}@${r.seed}`).join(',')}: ${c.refused ?? 0} refused at open, ` +
    `${c.clean ?? 0} opened clean, ${c.typed ?? 0} opened with typed errors, ${c.crash ?? 0} CRASH, ${c.hang ?? 0} HANG, ` +
    `${c.memory ?? 0} over memory bound; peak worker RSS ${peak} MiB; slowest case ${slow} ms`;
}

export function loadRegressions(): Regression[] {
  if (!existsSync(REGRESSIONS)) return [];
  return JSON.parse(readFileSync(REGRESSIONS, 'utf8')) as Regression[];
}

/** Adds new regression cases (deduplicated by variant/seed/index) to regressions.json. */
export function saveRegressions(add: Regression[]): number {
  const cur = loadRegressions();
  const have = new Set(cur.map((r) => `${r.variant}/${r.seed}/${r.index}`));
  const fresh = add.filter((r) => !have.has(`${r.variant}/${r.seed}/${r.index}`));
  if (fresh.length) writeFileSync(REGRESSIONS, JSON.stringify([...cur, ...fresh], null, 1) + '\n');
  return fresh.length;
}

/** Replays recorded regressions of one variant: one line per case (a hang is a killed worker). */
export async function replayRegressions(variant: string, regs: Regression[], caseTimeoutMs = 30_000): Promise<{ lines: CaseLine[]; hung: Regression[]; key: string }> {
  const mine = regs.filter((r) => r.variant === variant);
  const dir = mkdtempSync(join(tmpdir(), 'ext4box-fuzz-replay-'));
  const hung: Regression[] = [];
  const lines: CaseLine[] = [];
  let key = '';
  try {
    let rest = mine;
    while (rest.length) {
      const f = join(dir, 'regs.json');
      writeFileSync(f, JSON.stringify(rest));
      const r = await runWorker(['--image', variant, '--replay', f], caseTimeoutMs, STARTUP_MS, undefined, (i) => { key = i.key; });
      lines.push(...r.lines);
      if (!r.killed && r.exitCode === 0) break;
      if (!r.ready) throw new Error(`replay worker failed to start: ${r.stderr.slice(0, 2000)}`);
      const culprit = rest[r.lines.length];
      hung.push(culprit);
      rest = rest.slice(r.lines.length + 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { lines, hung, key };
}

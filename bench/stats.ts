// Result types shared by the runner and the report, and the statistics each figure is
// reported with (median of the runs, with min and max as the spread).
import type { MounterName } from './mounters.js';
import type { Verify } from './workloads.js';

export type MetricKey =
  | 'seqCold' | 'seqWarm' | 'randRead4k' | 'stat' | 'readdir' | 'readSmall' | 'tar' | 'mount' | 'rssSeq' | 'rssPeak';

export interface MetricDef {
  key: MetricKey;
  title: string;
  unit: string;
  /** true for rates (MiB/s, IOPS), false for times and sizes */
  higherIsBetter: boolean;
  /** compared with the kernel (false: the kernel has no server process) */
  vsKernel: boolean;
}

export const METRICS: MetricDef[] = [
  { key: 'seqCold', title: 'seq read 1 file, cold', unit: 'MiB/s', higherIsBetter: true, vsKernel: true },
  { key: 'seqWarm', title: 'seq re-read, warm', unit: 'MiB/s', higherIsBetter: true, vsKernel: true },
  { key: 'randRead4k', title: '4 KiB random read (fio psync)', unit: 'IOPS', higherIsBetter: true, vsKernel: true },
  { key: 'stat', title: 'stat of N files', unit: 'ms', higherIsBetter: false, vsKernel: true },
  { key: 'readdir', title: 'readdir of N-entry dir', unit: 'ms', higherIsBetter: false, vsKernel: true },
  { key: 'readSmall', title: 'read N small files', unit: 'ms', higherIsBetter: false, vsKernel: true },
  { key: 'tar', title: 'tar c source tree', unit: 'ms', higherIsBetter: false, vsKernel: true },
  { key: 'mount', title: 'mount until first stat', unit: 'ms', higherIsBetter: false, vsKernel: true },
  { key: 'rssSeq', title: 'server peak RSS, streaming big file', unit: 'MiB', higherIsBetter: false, vsKernel: false },
  { key: 'rssPeak', title: 'server peak RSS, whole session', unit: 'MiB', higherIsBetter: false, vsKernel: false },
];

export interface Figure {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

export function figure(samples: number[]): Figure {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length, samples };
}

export interface MounterResult {
  name: MounterName;
  label: string;
  status: 'ok' | 'partial' | 'failed' | 'skipped';
  reason?: string;
  metrics: Partial<Record<MetricKey, Figure>>;
  serverPids: number[];
  note?: string;
  mountAttempts: number;
  /** mount commands that failed (each retried; see MOUNT_ATTEMPTS in run.ts) */
  mountFailures: string[];
  verify?: Verify;
  errors: string[];
}

export interface BenchResults {
  when: string;
  host: { cpus: number; loadavgStart: number[]; loadavgEnd: number[]; kernel: string; node: string };
  spec: { bigBytes: number; smallFiles: number; treeFiles: number };
  runs: Record<string, number>;
  mounters: MounterResult[];
}

/** Speed ratio of `x` to `base` (higher is better for both kinds of metric). */
export function speedRatio(def: MetricDef, x: number, base: number): number | null {
  if (!(x > 0) || !(base > 0)) return null;
  return def.higherIsBetter ? x / base : base / x;
}

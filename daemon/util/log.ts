// One-line structured logging. The engine never logs; the server and CLI do, through here,
// so a hostile image can never make us write unbounded or multi-line output.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = order[(process.env.EXT4BOX_LOG as Level) ?? 'info'] ?? order.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(l: Level): void { threshold = order[l]; }
export function setLogSink(f: (line: string) => void): void { sink = f; }

/** Strips control characters and caps length: on-disk names reach log lines. */
export function sanitize(s: string, max = 512): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < threshold) return;
  const kv = Object.entries(fields).map(([k, v]) => `${k}=${sanitize(String(v), 200)}`).join(' ');
  sink(`ext4box ${level}: ${sanitize(msg)}${kv ? ' ' + kv : ''}`);
}

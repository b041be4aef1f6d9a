// Turns bench results into the printed tables (absolute figures, then speed ratios to the
// kernel and to fuse2fs) and a hand-drawn SVG bar chart of the ratios to the kernel.
import { BenchResults, METRICS, MetricDef, MounterResult, speedRatio } from './stats.js';

export interface Target {
  metric: string;
  mounter: string;
  what: string;
  check: (r: BenchResults) => number | null;
  ok: (v: number) => boolean;
}

function med(r: BenchResults, mounter: string, key: string): number | null {
  const m = r.mounters.find((x) => x.name === mounter);
  return m?.metrics[key as keyof MounterResult['metrics']]?.median ?? null;
}

function ratio(r: BenchResults, mounter: string, base: string, key: string): number | null {
  const def = METRICS.find((d) => d.key === key);
  const a = med(r, mounter, key);
  const b = med(r, base, key);
  return def && a !== null && b !== null ? speedRatio(def, a, b) : null;
}

// The issue's targets (issue 6), checked for both ext4box mounters.
export function targets(): Target[] {
  const t: Target[] = [];
  for (const m of ['ext4box', 'ext4box-nosandbox']) {
    const vs = (key: string, base: string, min: number, what: string) =>
      t.push({ metric: key, mounter: m, what, check: (r) => ratio(r, m, base, key), ok: (v) => v >= min });
    vs('seqCold', 'kernel', 0.8, 'cold seq read >= 0.8x kernel');
    vs('seqCold', 'fuse2fs', 3, 'cold seq read >= 3x fuse2fs');
    vs('seqWarm', 'kernel', 0.9, 'warm re-read >= 0.9x kernel');
    vs('randRead4k', 'kernel', 0.5, '4 KiB random read >= 0.5x kernel');
    vs('stat', 'kernel', 0.5, 'stat of N files >= 0.5x kernel');
    vs('readdir', 'kernel', 0.5, 'readdir of N entries >= 0.5x kernel');
    t.push({ metric: 'rssSeq', mounter: m, what: 'server RSS <= 150 MiB streaming the big file', check: (r) => med(r, m, 'rssSeq'), ok: (v) => v <= 150 });
  }
  t.push({ metric: 'mount', mounter: 'ext4box-nosandbox', what: 'mount ready <= 300 ms (unconfined)', check: (r) => med(r, 'ext4box-nosandbox', 'mount'), ok: (v) => v <= 300 });
  t.push({ metric: 'mount', mounter: 'ext4box', what: 'mount ready <= 1.5 s (default sandbox)', check: (r) => med(r, 'ext4box', 'mount'), ok: (v) => v <= 1500 });
  return t;
}

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((s, c) => (c === 0 ? s.padEnd(w[c]) : s.padStart(w[c]))).join('  ')).join('\n');
}

function title(def: MetricDef, r: BenchResults): string {
  return def.title.replace(/\bN\b/, String(r.spec.smallFiles));
}

export function textReport(r: BenchResults): string {
  const ms = r.mounters;
  const out: string[] = [];
  out.push(`ext4box bench ${r.when}: big file ${r.spec.bigBytes / (1 << 20)} MiB, ${r.spec.smallFiles} small files, ${r.spec.treeFiles}-file tree`);
  out.push(`host: ${r.host.cpus} cpus, kernel ${r.host.kernel}, node ${r.host.node}, load avg start ${r.host.loadavgStart.map(fmt).join(' ')}, end ${r.host.loadavgEnd.map(fmt).join(' ')}`);
  out.push(`runs: ${JSON.stringify(r.runs)}`);
  for (const m of ms) {
    if (m.note) out.push(`${m.name}: ${m.label}: ${m.note}`);
    if (m.mountFailures.length) {
      out.push(`${m.name}: ${m.mountFailures.length} of ${m.mountAttempts} mount attempts FAILED (retried), first: ${m.mountFailures[0]}`);
    }
    if (m.status !== 'ok') out.push(`${m.name}: ${m.status}${m.reason ? `: ${m.reason}` : ''}${m.errors.length ? `\n    ${m.errors.join('\n    ')}` : ''}`);
  }
  out.push('', 'Absolute figures: median [min–max]');
  const abs: string[][] = [['', 'unit', ...ms.map((m) => m.name)]];
  for (const d of METRICS) {
    abs.push([title(d, r), d.unit, ...ms.map((m) => {
      const f = m.metrics[d.key];
      if (!f) return m.name === 'kernel' && !d.vsKernel ? 'n/a' : '-';
      return `${fmt(f.median)} [${fmt(f.min)}–${fmt(f.max)}]`;
    })]);
  }
  out.push(table(abs));
  for (const base of ['kernel', 'fuse2fs']) {
    if (!ms.some((m) => m.name === base && m.status !== 'skipped')) continue;
    out.push('', `Speed ratio to ${base} (higher is better; 1.00 = as fast as ${base})`);
    const others = ms.filter((m) => m.name !== base);
    const rows: string[][] = [['', ...others.map((m) => m.name)]];
    for (const d of METRICS) {
      if (base === 'kernel' && !d.vsKernel) continue;
      rows.push([title(d, r), ...others.map((m) => {
        const v = ratio(r, m.name, base, d.key);
        return v === null ? '-' : `${fmt(v)}x`;
      })]);
    }
    out.push(table(rows));
  }
  out.push('', 'Targets (issue 6)');
  for (const t of targets()) {
    const v = t.check(r);
    out.push(`  ${v === null ? 'n/a ' : t.ok(v) ? 'PASS' : 'FAIL'}  ${t.mounter.padEnd(18)} ${t.what}${v === null ? '' : `: ${fmt(v)}`}`);
  }
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const COLORS: Record<string, string> = { fuse2fs: '#9e9e9e', ext4box: '#1f77b4', 'ext4box-nosandbox': '#ff7f0e' };

/** Horizontal grouped bars: one group per workload, one bar per FUSE mounter, ratio to the kernel. */
export function svgChart(r: BenchResults): string {
  const series = r.mounters.filter((m) => m.name !== 'kernel' && m.status !== 'skipped');
  const defs = METRICS.filter((d) => d.vsKernel);
  const vals = defs.map((d) => series.map((m) => ratio(r, m.name, 'kernel', d.key)));
  const maxV = Math.max(1.2, ...vals.flat().filter((v): v is number => v !== null));
  const left = 230, right = 90, barH = 14, gap = 10, top = 50, width = 900;
  const plotW = width - left - right;
  const groupH = Math.max(1, series.length) * barH + gap;
  const height = top + defs.length * groupH + 60;
  const x = (v: number) => left + (Math.min(v, maxV) / maxV) * plotW;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="100%" height="100%" fill="white"/>`);
  o.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">Speed relative to the kernel's ext4 (higher is better; 1.0 = kernel)</text>`);
  o.push(`<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${esc(`median of runs; ${r.when}; load avg ${r.host.loadavgStart.map(fmt).join(' ')}`)}</text>`);
  for (let t = 0; t <= maxV + 1e-9; t += maxV > 4 ? 1 : 0.25) {
    o.push(`<line x1="${x(t).toFixed(1)}" y1="${top - 4}" x2="${x(t).toFixed(1)}" y2="${top + defs.length * groupH}" stroke="#eee"/>`);
    o.push(`<text x="${x(t).toFixed(1)}" y="${top + defs.length * groupH + 14}" text-anchor="middle" fill="#555">${fmt(t)}</text>`);
  }
  defs.forEach((d, gi) => {
    const gy = top + gi * groupH;
    o.push(`<text x="${left - 8}" y="${gy + (series.length * barH) / 2 + 4}" text-anchor="end">${esc(title(d, r))}</text>`);
    series.forEach((m, si) => {
      const v = vals[gi][si];
      const y = gy + si * barH;
      if (v === null) {
        o.push(`<text x="${left + 4}" y="${y + barH - 3}" fill="#999">${esc(m.name)}: n/a</text>`);
        return;
      }
      o.push(`<rect x="${left}" y="${y}" width="${(x(v) - left).toFixed(1)}" height="${barH - 2}" fill="${COLORS[m.name] ?? '#666'}"><title>${esc(`${m.name}: ${fmt(v)}x`)}</title></rect>`);
      o.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 3}">${fmt(v)}x${v > maxV ? ' (clipped)' : ''}</text>`);
    });
  });
  o.push(`<line x1="${x(1).toFixed(1)}" y1="${top - 4}" x2="${x(1).toFixed(1)}" y2="${top + defs.length * groupH}" stroke="black" stroke-dasharray="4 3"/>`);
  const ly = height - 22;
  series.forEach((m, i) => {
    const lx = left + i * 200;
    o.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[m.name] ?? '#666'}"/>`);
    o.push(`<text x="${lx + 18}" y="${ly}">${esc(m.label)}</text>`);
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

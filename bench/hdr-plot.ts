// The HDR percentile plot as a self-contained SVG string (no fonts, scripts or files): latency
// against percentile with the percentile axis stretched as in HdrHistogram's plotter, x =
// log10(1 / (1 - p)), so 90%, 99%, 99.9%, 99.99% ... are equally spaced and the tail is visible.
// Used by the throughput report's latency section (bench/report.ts, latencySection) and by the
// latency bench.
//
//   import { percentilePlotSvg, percentilePoints } from './hdr-plot.js';
//   const points = percentilePoints((p) => histogram.getValueAtPercentile(p)); // hdr-histogram-js, p in percent
//   const svg = percentilePlotSvg([{ name: 'clob release', points }], { title: 'order -> ack' });
//
// Percentiles are in PERCENT (0..100), as hdr-histogram-js's getValueAtPercentile takes them.
// The 100th percentile (the max) cannot sit at x = infinity: it is drawn at the right edge of the
// axis, one decade beyond the largest finite percentile given, and its tick is labelled "max".

export interface PercentilePoint { percentile: number; valueNs: number }
export interface PercentileSeries { name: string; points: PercentilePoint[]; color?: string }

export interface PercentilePlotOptions {
  width?: number;
  height?: number;
  title?: string;
  /** Latency axis: 'log' (default: tails span decades) or 'linear'. */
  yScale?: 'log' | 'linear';
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** "850 ns", "12.5 us", "3.2 ms", "1.05 s". */
export function formatNs(ns: number): string {
  if (ns < 1e3) return `${+ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${+(ns / 1e3).toPrecision(3)} us`;
  if (ns < 1e9) return `${+(ns / 1e6).toPrecision(3)} ms`;
  return `${+(ns / 1e9).toPrecision(3)} s`;
}

/** Percentile label: 0%, 50%, 90%, 99%, 99.9%, ... */
function percentLabel(nines: number): string {
  if (nines === 0) return '0%';
  const p = 100 * (1 - 10 ** -nines);
  return `${+p.toFixed(Math.max(0, Math.ceil(nines) - 2))}%`;
}

/**
 * The percentiles a plot wants: in each decade of 1/(1-p) the points 1-(1-p0)*{1, 0.5, 0.2},
 * i.e. 0, 50, 80, 90, 95, 98, 99, 99.5, 99.8, 99.9 ... up to `nines` nines, then 100.
 */
export function standardPercentiles(nines = 6): number[] {
  const out = [0];
  for (let d = 0; d < nines; d++) {
    for (const f of [0.5, 0.2, 0.1]) out.push(+(100 * (1 - f * 10 ** -d)).toFixed(d + 3));
  }
  out.push(100);
  return [...new Set(out)];
}

/** Samples a histogram (any `percentile in percent -> value in ns` function) at the standard percentiles. */
export function percentilePoints(valueAt: (percentile: number) => number, percentiles = standardPercentiles()): PercentilePoint[] {
  return percentiles.map((percentile) => ({ percentile, valueNs: valueAt(percentile) }));
}

/** The SVG plot, one polyline (with dots) per series. An empty input gives a plot saying so. */
export function percentilePlotSvg(series: PercentileSeries[], opts: PercentilePlotOptions = {}): string {
  const W = opts.width ?? 720, H = opts.height ?? 380;
  const left = 72, right = 16, top = opts.title ? 34 : 14, bottom = 48;
  const pw = W - left - right, ph = H - top - bottom;
  const yLog = (opts.yScale ?? 'log') === 'log';
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.valueNs) && Number.isFinite(p.percentile));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img">`);
  if (opts.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`);
  if (all.length === 0) {
    parts.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle" fill="#666">no data</text></svg>`);
    return parts.join('');
  }

  // x: nines = log10(1 / (1 - p)); the max (p = 100) goes one decade past the largest finite p.
  const finite = all.filter((p) => p.percentile < 100).map((p) => -Math.log10(1 - p.percentile / 100));
  const maxFinite = finite.length ? Math.max(...finite) : 0;
  const xMax = Math.max(1, Math.ceil(maxFinite - 1e-6) + (all.some((p) => p.percentile >= 100) ? 1 : 0)); // 1e-6: 1 - 0.999999 is not exact
  const nines = (p: number) => (p >= 100 ? xMax : Math.max(0, -Math.log10(1 - p / 100)));
  const X = (p: number) => left + (nines(p) / xMax) * pw;

  // y
  const vals = all.map((p) => p.valueNs);
  let yLo: number, yHi: number;
  if (yLog) {
    yLo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...vals))));
    yHi = 10 ** Math.ceil(Math.log10(Math.max(yLo * 10, ...vals)));
  } else {
    yLo = 0;
    const hi = Math.max(1, ...vals);
    const step = 10 ** Math.floor(Math.log10(hi));
    yHi = Math.ceil(hi / step) * step;
  }
  const Y = (v: number) => {
    const f = yLog ? (Math.log10(Math.max(v, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo)) : (v - yLo) / (yHi - yLo);
    return top + ph - f * ph;
  };

  // grid and axes
  for (let k = 0; k <= xMax; k++) {
    const x = left + (k / xMax) * pw;
    const label = k === xMax && all.some((p) => p.percentile >= 100) ? 'max' : percentLabel(k);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${top + ph + 16}" text-anchor="middle">${label}</text>`);
  }
  const yTicks: number[] = [];
  if (yLog) for (let v = yLo; v <= yHi * 1.0001; v *= 10) yTicks.push(v);
  else { const step = (yHi - yLo) / 5; for (let i = 0; i <= 5; i++) yTicks.push(yLo + i * step); }
  for (const v of yTicks) {
    const y = Y(v);
    parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + pw}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${escapeXml(formatNs(v))}</text>`);
  }
  parts.push(`<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle">percentile (x = 1/(1-p), log scale)</text>`);
  parts.push(`<text x="14" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + ph / 2})">latency${yLog ? ' (log scale)' : ''}</text>`);

  // series
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p.valueNs) && Number.isFinite(p.percentile)).sort((a, b) => a.percentile - b.percentile);
    if (pts.length === 0) return;
    const xy = pts.map((p) => `${X(p.percentile).toFixed(1)},${Y(p.valueNs).toFixed(1)}`);
    parts.push(`<g class="series"><title>${escapeXml(s.name)}</title>`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${xy.join(' ')}"/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${X(p.percentile).toFixed(1)}" cy="${Y(p.valueNs).toFixed(1)}" r="2.5" fill="${color}"><title>${escapeXml(`${s.name}: p${p.percentile} = ${formatNs(p.valueNs)}`)}</title></circle>`);
    }
    parts.push('</g>');
    // legend: top left inside the plot, where latency curves (rising to the right) rarely are
    const lx = left + 10, ly = top + 16 + 15 * i;
    parts.push(`<rect x="${lx}" y="${ly - 6}" width="14" height="4" fill="${color}"/><text x="${lx + 20}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

// Results of `clob bench throughput` as files: JSON (everything, machine info included, for
// scripts and for --baseline) and a single self-contained HTML page (inline CSS and SVG, no
// scripts, no server, no network) with the throughput table, a bar chart, the clob/peer ratios,
// the book check and the machine.
//
// The latency half of `clob bench` plugs in through `latencySection(histograms)`: give
// renderHtml({ latency }) the series (arrays of { percentile, valueNs }, see bench/hdr-plot.ts)
// and the page gets an HDR percentile plot and a percentile table. With no latency series the
// section is left out.
import { writeFileSync } from 'node:fs';
import { describeMachine } from './machine.js';
import { escapeXml, formatNs, percentilePlotSvg, type PercentileSeries } from './hdr-plot.js';
import { ENGINE_LABELS, fmtRate, type ThroughputReport } from './throughput.js';

/** One latency distribution to show: a name and its percentile points (percent, ns). */
export type LatencyHistogram = PercentileSeries;

/** A series with, optionally, its exact table percentiles (else the table reads them off the points). */
export interface LatencySeries extends PercentileSeries {
  row?: { p50: number; p90: number; p99: number; p999: number; p9999: number; max: number; count?: number };
}

/** One plot of the latency section (e.g. one offered rate): its series and notes under it. */
export interface LatencyPlotGroup {
  title: string;
  series: LatencySeries[];
  /** Lines under the plot (e.g. which engines did not run this rate). */
  notes?: string[];
}

export interface HtmlReportOptions {
  /** The latency half's histograms: one plot of these series, or one plot per group (e.g. per rate); omitted: no latency section. */
  latency?: LatencyHistogram[] | LatencyPlotGroup[];
  title?: string;
}

const esc = escapeXml;

/** The head of a self-contained report page (no scripts, no links): shared style plus `css`. */
export function pageHead(title: string, css = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.notes { font-size: 12px; color: #555; }
code { background: #f3f3f3; padding: 1px 4px; }
${css}
</style>
</head>
<body>`;
}

export function writeJsonReport(report: ThroughputReport, path: string): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

export function writeHtmlReport(report: ThroughputReport, path: string, opts: HtmlReportOptions = {}): void {
  writeFileSync(path, renderHtml(report, opts));
}

const isGroup = (x: LatencyHistogram | LatencyPlotGroup): x is LatencyPlotGroup => Array.isArray((x as LatencyPlotGroup).series);

/** A table of selected percentiles, one row per series. */
export function latencyTable(series: LatencySeries[]): string {
  const wanted = [50, 90, 99, 99.9, 99.99, 100];
  const at = (h: LatencySeries, p: number) => {
    if (h.row) return [h.row.p50, h.row.p90, h.row.p99, h.row.p999, h.row.p9999, h.row.max][wanted.indexOf(p)];
    // the smallest given percentile >= p (the histogram's own value there), else the largest
    const pts = [...h.points].sort((a, b) => a.percentile - b.percentile);
    return (pts.find((x) => x.percentile >= p) ?? pts[pts.length - 1])?.valueNs;
  };
  const rows = series.map((h) => `<tr><th>${esc(h.name)}</th>${wanted.map((p) => {
    const v = at(h, p);
    return `<td class="n">${v === undefined ? '-' : esc(formatNs(v))}</td>`;
  }).join('')}</tr>`).join('\n');
  return `<table>
<thead><tr><th>series</th>${wanted.map((p) => `<th>${p === 100 ? 'max' : `p${p}`}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

/**
 * HOOK for the latency half: an HTML section with HDR percentile plots and tables of selected
 * percentiles. Given series: one plot of them all. Given groups (e.g. one per offered rate): one
 * plot and one table per group. Returns '' when there is nothing to show.
 */
export function latencySection(histograms: LatencyHistogram[] | LatencyPlotGroup[] | undefined, opts: { heading?: string; intro?: string } = {}): string {
  if (!histograms || histograms.length === 0) return '';
  const groups: LatencyPlotGroup[] = (histograms as (LatencyHistogram | LatencyPlotGroup)[]).every(isGroup)
    ? (histograms as LatencyPlotGroup[])
    : [{ title: 'latency by percentile', series: histograms as LatencyHistogram[] }];
  const body = groups.map((g) => `<figure class="latency-plot">
${percentilePlotSvg(g.series, { title: g.title })}
${g.series.length ? latencyTable(g.series) : ''}
${(g.notes ?? []).map((n) => `<p class="notes">${esc(n)}</p>`).join('\n')}
</figure>`).join('\n');
  return `<section id="latency">
<h2>${esc(opts.heading ?? 'Latency')}</h2>
${opts.intro ? `<p>${esc(opts.intro)}</p>\n` : ''}${body}
</section>`;
}

/** Horizontal bars, log scale, median commands/s with a min..max whisker, grouped by workload. */
export function throughputChartSvg(report: ThroughputReport): string {
  const rows = report.workloads.flatMap((w) => w.rows.filter((r) => r.range === 'full' || !r.engine.startsWith('clob')).map((r) => ({ w: w.workload, r })));
  const colors: Record<string, string> = { 'clob-release': '#1f77b4', 'clob-scalar': '#6baed6', 'simple-book': '#ff7f0e', 'nodejs-order-book': '#d62728' };
  const barH = 14, gap = 4, groupGap = 14, left = 260, right = 90, top = 24;
  const W = 900, pw = W - left - right;
  let height = top;
  for (let i = 0; i < rows.length; i++) height += barH + gap + (i > 0 && rows[i].w !== rows[i - 1].w ? groupGap : 0);
  const H = height + 40;
  const all = rows.flatMap(({ r }) => [r.minCommandsPerSec, r.maxCommandsPerSec]).filter((x) => x > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all, 1e6)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, lo * 10)));
  const X = (v: number) => left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img">`];
  parts.push(`<text x="${left}" y="14" font-weight="bold">median commands/s (log scale), whisker = min..max over runs</text>`);
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    const x = X(v);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${height}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${height + 14}" text-anchor="middle">${fmtRate(v)}</text>`);
  }
  let y = top;
  rows.forEach(({ w, r }, i) => {
    if (i > 0 && w !== rows[i - 1].w) y += groupGap;
    const label = `${w}  ${ENGINE_LABELS[r.engine]} (${r.commands.toLocaleString('en-US')})`;
    parts.push(`<text x="${left - 6}" y="${y + barH - 3}" text-anchor="end">${esc(label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, X(r.medianCommandsPerSec) - left).toFixed(1)}" height="${barH}" fill="${colors[r.engine]}"><title>${esc(`${label}: ${fmtRate(r.medianCommandsPerSec)} commands/s`)}</title></rect>`);
    parts.push(`<line x1="${X(r.minCommandsPerSec).toFixed(1)}" y1="${y + barH / 2}" x2="${X(r.maxCommandsPerSec).toFixed(1)}" y2="${y + barH / 2}" stroke="#000"/>`);
    parts.push(`<text x="${(X(r.maxCommandsPerSec) + 4).toFixed(1)}" y="${y + barH - 3}">${fmtRate(r.medianCommandsPerSec)}</text>`);
    y += barH + gap;
  });
  parts.push('</svg>');
  return parts.join('');
}

export function renderHtml(report: ThroughputReport, opts: HtmlReportOptions = {}): string {
  const title = opts.title ?? 'clob bench throughput';
  const mib = (b?: number) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);
  const rows = report.workloads.flatMap((w) => w.rows.map((r) => `<tr class="${r.engine}"><td>${esc(w.workload)}</td><td>${esc(ENGINE_LABELS[r.engine])}</td><td>${r.range}</td>` +
    `<td class="n">${r.commands.toLocaleString('en-US')}</td><td class="n">${fmtRate(r.medianCommandsPerSec)}</td><td class="n">${fmtRate(r.minCommandsPerSec)}..${fmtRate(r.maxCommandsPerSec)}</td>` +
    `<td class="n">${r.medianNsPerCommand.toFixed(0)}</td><td class="n">${r.eventsPerCommand === undefined ? '-' : r.eventsPerCommand.toFixed(2)}</td>` +
    `<td class="n">${r.gcs.reduce((a, b) => a + b, 0)}</td><td class="n">${mib(r.medianPeakRssBytes)}</td><td class="n">${mib(r.medianInputRssBytes)}</td><td class="n">${mib(r.wasmMemoryBytes)}</td></tr>`)).join('\n');
  const ratioRows = report.peers ? report.workloads.map((w) => `<tr><td>${esc(w.workload)}</td>${w.ratios.map((x) => `<td class="n">${x.release.toFixed(1)}x</td><td class="n">${x.scalar.toFixed(1)}x</td>`).join('')}</tr>`).join('\n') : '';
  const ratioHead = report.peers && report.workloads[0] ? report.workloads[0].ratios.map((x) => `<th>release / ${esc(x.peer)}</th><th>scalar / ${esc(x.peer)}</th>`).join('') : '';
  const checks = report.workloads.flatMap((w) => w.bookCheck.map((b) => `<tr class="${b.agree ? 'ok' : 'bad'}"><td>${esc(w.workload)}</td><td class="n">${b.at.toLocaleString('en-US')}</td><td>${b.engines.map((e) => esc(ENGINE_LABELS[e])).join(', ')}</td><td class="n">${b.runs}</td><td class="n">${b.symbols}</td><td>${b.agree ? 'same book' : esc(`DIFFER: ${b.mismatch}`)}</td></tr>`)).join('\n');
  const h = report.headline;
  const headline = h ? `<p class="headline">Headline: clob release on the worst equity regime (<b>${esc(h.workload)}</b>): <b>${fmtRate(h.medianCommandsPerSec)} commands/s</b> median [${fmtRate(h.minCommandsPerSec)}..${fmtRate(h.maxCommandsPerSec)}]${h.vsPeers.map((v) => `, ${v.ratio.toFixed(1)}x ${esc(v.peer)}`).join('')}.</p>` : '';
  const baseline = report.baseline ? `<section id="baseline"><h2>Against the baseline</h2><p>${esc(report.baseline.baselinePath)}${report.baseline.warnings.map((w) => `<br>warning: ${esc(w)}`).join('')}</p>
<table><thead><tr><th>row</th><th>baseline</th><th>now</th><th>change</th><th>noise</th><th>verdict</th></tr></thead><tbody>
${report.baseline.rows.map((r) => `<tr class="${r.verdict === 'REGRESSION' ? 'bad' : ''}"><td>${esc(r.row)}</td><td class="n">${r.baseline === undefined ? '-' : fmtRate(r.baseline)}</td><td class="n">${r.now === undefined ? '-' : fmtRate(r.now)}</td><td class="n">${r.changePct === undefined ? '-' : `${r.changePct.toFixed(1)}%`}</td><td class="n">${r.noisePct === undefined ? '-' : `${r.noisePct.toFixed(1)}%`}</td><td>${esc(r.verdict)}</td></tr>`).join('\n')}
</tbody></table></section>` : '';
  const m = report.machine;
  return `${pageHead(title, `tr.clob-release td { background: #eef5fb; }
tr.bad td { background: #fde0e0; }
.headline { font-size: 16px; }`)}
<h1>${esc(title)}</h1>
${headline}
<p>Book check: <b>${report.booksAgree ? 'all engines end with the same book' : 'ENGINES DISAGREE: the figures are not comparable'}</b>.</p>
<p>Made by <code>${esc(report.command)}</code> on ${esc(report.startedAt)} in ${report.seconds.toFixed(0)} s.</p>
<section id="throughput">
<h2>Throughput</h2>
${throughputChartSvg(report)}
<table>
<thead><tr><th>workload</th><th>engine</th><th>range</th><th>commands</th><th>median cmd/s</th><th>min..max</th><th>ns/cmd</th><th>events/cmd</th><th>GCs in window</th><th>peak RSS</th><th>RSS before engine</th><th>Wasm memory</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>
${report.peers ? `<section id="ratios">
<h2>clob / peer (median commands/s on the same ${report.peerCount.toLocaleString('en-US')} commands)</h2>
<table>
<thead><tr><th>workload</th>${ratioHead}</tr></thead>
<tbody>
${ratioRows}
</tbody>
</table>
</section>` : ''}
<section id="books">
<h2>Book check</h2>
<table>
<thead><tr><th>workload</th><th>after commands</th><th>engines</th><th>runs</th><th>symbols</th><th>result</th></tr></thead>
<tbody>
${checks}
</tbody>
</table>
</section>
${baseline}
${latencySection(opts.latency)}
<section id="machine">
<h2>Machine</h2>
<p>${esc(describeMachine(m))}; load average at start ${m.loadAverage.join(' ')}, at end ${report.loadAverageEnd.join(' ')}.</p>
<ul class="notes">${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}<li>Shared machine: read medians and ratios, not absolute promises.</li></ul>
</section>
</body>
</html>
`;
}

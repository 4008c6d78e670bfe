// `clob bench latency --html <file>`: one self-contained HTML page (inline CSS and SVG; no
// scripts, no server, no network) with, per offered rate, the HDR percentile plot (x = 1/(1-p),
// log scale: HdrHistogram's standard plot) with one series per engine (clob, and the peers with
// --peers) and a table of its percentiles; then each engine's percentile table over the rates,
// the peer/clob ratios, why each ladder stopped, the clock, the machine and the exact command.
//
// The plots come from bench/report.ts's latencySection (one group per rate), the same hook the
// throughput report uses; latencyPlotGroups(report) turns a LatencyReport (or its --json file,
// readLatencyJson) into those groups, so a throughput page can embed a latency run:
//   renderHtml(throughputReport, { latency: latencyPlotGroups(readLatencyJson('lat.json')) })
import { readFileSync, writeFileSync } from 'node:fs';
import { describeMachine } from './machine.js';
import { escapeXml as esc } from './hdr-plot.js';
import { formatNs } from './hdr-export.js';
import { latencySection, pageHead, type LatencyPlotGroup, type LatencySeries } from './report.js';
import type { EngineLadder, LatencyReport, LatencyStep } from './latency.js';

/** One color per engine, the same in every plot (and as in the throughput chart). */
export const ENGINE_COLORS: Record<string, string> = {
  'clob-release': '#1f77b4', 'clob-scalar': '#6baed6', 'clob-debug': '#9467bd', 'simple-book': '#ff7f0e', 'nodejs-order-book': '#d62728',
};

const fmtRate = (r: number) => (r >= 1e6 ? `${+(r / 1e6).toFixed(2)}M` : `${+(r / 1e3).toFixed(1)}k`);

/** Every ladder of the report, clob first. */
export function ladders(report: LatencyReport): EngineLadder[] {
  const clob: EngineLadder = { engine: `clob-${report.build}`, label: `clob ${report.build}`, steps: report.steps, stopped: report.stopped };
  return [clob, ...(report.peers ?? [])];
}

/** One plot group per offered rate (ascending), one series per engine that ran the rate. */
export function latencyPlotGroups(report: LatencyReport): LatencyPlotGroup[] {
  const all = ladders(report);
  const rates = [...new Set(all.flatMap((l) => l.steps.map((s) => s.rate)))].sort((a, b) => a - b);
  return rates.map((rate) => {
    const series: LatencySeries[] = [];
    const notes: string[] = [];
    for (const l of all) {
      const s = l.steps.find((x) => x.rate === rate);
      if (s) {
        series.push({ name: `${l.label} (${s.commands.toLocaleString('en-US')} cmds, ${fmtRate(s.achievedRate)}/s achieved)`, points: s.latencyPoints, color: ENGINE_COLORS[l.engine], row: s.latency });
      } else {
        notes.push(`${l.label}: not run at ${fmtRate(rate)}/s (${l.stopped}).`);
      }
    }
    return { title: `${report.workload}, ${fmtRate(rate)} commands/s offered: latency by percentile`, series, notes };
  });
}

function ladderTable(l: EngineLadder): string {
  const rows = l.steps.map((s: LatencyStep) => {
    const r = s.latency;
    return `<tr><td>${fmtRate(s.rate)}/s</td>${[r.p50, r.p90, r.p99, r.p999, r.p9999, r.max].map((v) => `<td class="n">${esc(formatNs(v))}</td>`).join('')}` +
      `<td class="n">${s.commands.toLocaleString('en-US')}</td><td class="n">${s.seconds.toFixed(2)} s</td><td class="n">${fmtRate(s.achievedRate)}/s</td>` +
      `<td class="n">${esc(formatNs(s.service.p50))}</td><td class="n">${s.meanBatch.toFixed(1)}</td><td class="n">${s.maxBacklog}</td><td class="n">${s.gcs}</td></tr>`;
  }).join('\n');
  return `<h3>${esc(l.label)}</h3>
<table class="${esc(l.engine)}">
<thead><tr><th>offered rate</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>commands</th><th>time</th><th>achieved</th><th>in-core p50 /cmd</th><th>cmds/step</th><th>max backlog</th><th>GCs</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="notes">stopped: ${esc(l.stopped)}</p>`;
}

function comparisonTable(report: LatencyReport): string {
  if (!report.comparison || !report.peers) return '';
  const r = (x?: number) => (x === undefined ? '-' : `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`);
  const head = report.peers.map((p) => `<th>${esc(p.label)} p50</th><th>${esc(p.label)} p99</th>`).join('');
  const rows = report.comparison.map((c) => `<tr><td>${fmtRate(c.rate)}/s</td>${c.peers.map((x) => `<td class="n">${r(x.p50Ratio)}</td><td class="n">${r(x.p99Ratio)}</td>`).join('')}</tr>`).join('\n');
  return `<section id="ratios">
<h2>peer / clob ${esc(report.build)} latency at the same offered rate</h2>
<p class="notes">Greater than 1: the peer is slower. '-': one of the two did not run that rate (its median had passed the limit at a lower rate).</p>
<table>
<thead><tr><th>offered rate</th>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

export function renderLatencyHtml(report: LatencyReport): string {
  const title = `clob bench latency: ${report.workload}`;
  const m = report.machine;
  const engines = ladders(report);
  const c = report.clock;
  return `${pageHead(title, 'figure { margin: 0 0 28px; }')}
<h1>${esc(title)}</h1>
<p>Made by <code>${esc(report.command)}</code> on ${esc(report.startedAt)}.</p>
<p>${esc(report.description)}. Seed ${report.seed}, at most ${report.batch} due commands per engine step, median limit ${esc(formatNs(report.medianLimitNs))} per engine.</p>
<p class="notes">Open loop: command i of a step is planned at t0 + i / rate before the step starts; latency = completion of the engine step that processed it - its planned send time, so time spent queued behind a slow step counts (no coordinated omission). Each step starts from a fresh engine with the workload's setup applied untimed. ${report.peers ? 'The peers (after clob\'s ladder, in the same process) get the same stream, planned times, rates and batching; each due command is one apply() of a RawCommand decoded before the clock. ' : ''}HDR histograms: 1 ns .. 10 s, 3 significant digits.</p>
${latencySection(latencyPlotGroups(report), { heading: 'Latency by percentile, per offered rate' })}
<section id="tables">
<h2>Percentile tables</h2>
${engines.map(ladderTable).join('\n')}
</section>
${comparisonTable(report)}
<section id="machine">
<h2>Machine and clock</h2>
<p>${esc(describeMachine(m))}; load average at start ${m.loadAverage.join(' ')}, at end ${report.loadAverageEnd.join(' ')}.</p>
<p>Clock: ${esc(c.used)}${c.spinner ? `; idle wait: calibrated busy loop (${c.spinner.nsPerIter.toFixed(2)} ns/iteration, wakes ${c.spinner.marginNs} ns early)` : '; idle wait: clock polling'}. Cost per reading: ${c.costs.map((x) => `${esc(x.name)} ${x.nsPerRead.toFixed(1)} ns`).join(', ')}.</p>
<p class="notes">Shared machine: compare engines within one run, not absolute figures across runs. The compressed HDR histograms of every step are in the --json output.</p>
</section>
</body>
</html>
`;
}

export function writeLatencyHtml(report: LatencyReport, path: string): void {
  writeFileSync(path, renderLatencyHtml(report));
}

/** A `clob bench latency --json` file. */
export function readLatencyJson(path: string): LatencyReport {
  const r = JSON.parse(readFileSync(path, 'utf8')) as LatencyReport;
  if (r.bench !== 'latency' || !Array.isArray(r.steps)) throw new Error(`${path} is not a 'clob bench latency --json' file`);
  // files from before --peers/--html have no command line
  r.command ??= 'clob bench latency (command not recorded)';
  r.startedAt ??= '';
  return r;
}

// Comparing a throughput run with an earlier one (`clob bench throughput --baseline old.json`).
//
// How to read the table:
//
//   row                                      baseline      now   change   noise  verdict
//   equity-flow:crash clob release             4.10M     3.20M   -22.0%    6.1%  REGRESSION
//   core-mix clob release                      5.02M     4.90M    -2.4%    5.3%  within noise
//
// - row: workload and engine; "@peer-size" rows are the first peerCount commands (the peers'
//   range, and clob's first batch). Rows match by name; a different --count is warned about.
// - baseline / now: median commands/s over the runs of each file.
// - change: now / baseline - 1.
// - noise: how much this row moves between runs ANYWAY, measured, not assumed: the larger of the
//   two files' relative range of run rates, (max - min) / median, and at least `floorPct` (2%).
//   With one run per file there is no spread to measure and only the floor applies: use --runs 3
//   or more for a meaningful threshold.
// - verdict: REGRESSION when the median fell by more than the noise; faster when it rose by more
//   than the noise; otherwise within noise. "new" / "missing": the row is in one file only.
// A change within the noise is not evidence of anything on a shared machine; a REGRESSION is a
// drop larger than any two runs of the same code were seen to differ. Rerun on a quiet machine
// before trusting either file's absolute figures. The CLI exits 2 when a row is a REGRESSION.
import { readFileSync } from 'node:fs';
import type { ThroughputReport, ThroughputRow } from './throughput.js';
import { ENGINE_LABELS, fmtRate, median } from './throughput.js';

export type Verdict = 'REGRESSION' | 'faster' | 'within noise' | 'new' | 'missing';

export interface BaselineRow {
  row: string;
  baseline?: number;
  now?: number;
  changePct?: number;
  noisePct?: number;
  verdict: Verdict;
}

export interface BaselineComparison {
  baselinePath: string;
  rows: BaselineRow[];
  regressions: number;
  warnings: string[];
}

export interface BaselineOptions {
  /** Smallest threshold in percent, whatever the spread (default 2). */
  floorPct?: number;
}


/** Relative range of the run rates, percent: (max - min) / median * 100. */
export function spreadPct(rates: number[]): number {
  if (rates.length < 2) return 0;
  return ((Math.max(...rates) - Math.min(...rates)) / median(rates)) * 100;
}

export function rowName(r: Pick<ThroughputRow, 'workload' | 'engine' | 'range'>): string {
  return `${r.workload} ${ENGINE_LABELS[r.engine]}${r.range === 'peer-size' ? ' @peer-size' : ''}`;
}

/** Compares two reports row by row (pure: no file access). */
export function compareReports(current: ThroughputReport, baseline: ThroughputReport, baselinePath = '(baseline)', opts: BaselineOptions = {}): BaselineComparison {
  const floor = opts.floorPct ?? 2;
  const warnings: string[] = [];
  if (baseline.bench !== 'throughput') warnings.push(`${baselinePath} is not a throughput report (bench: ${String(baseline.bench)})`);
  if (baseline.count !== current.count) warnings.push(`measured commands differ: baseline ${baseline.count}, now ${current.count}`);
  if (baseline.peerCount !== current.peerCount) warnings.push(`peer commands differ: baseline ${baseline.peerCount}, now ${current.peerCount}`);
  if (baseline.seed !== current.seed) warnings.push(`seeds differ: baseline ${baseline.seed}, now ${current.seed} (different streams)`);
  if (baseline.machine?.cpu !== current.machine.cpu || baseline.machine?.cores !== current.machine.cores) {
    warnings.push(`different machine: baseline ${baseline.machine?.cpu} x${baseline.machine?.cores}, now ${current.machine.cpu} x${current.machine.cores}`);
  }
  if (baseline.machine?.node !== current.machine.node) warnings.push(`different node: baseline ${baseline.machine?.node}, now ${current.machine.node}`);
  if (current.runs < 2 || baseline.runs < 2) warnings.push(`a file has a single run: no measured noise, only the ${floor}% floor`);

  const before = new Map<string, ThroughputRow>();
  for (const w of baseline.workloads ?? []) for (const r of w.rows) before.set(rowName(r), r);
  const rows: BaselineRow[] = [];
  const seen = new Set<string>();
  for (const w of current.workloads) {
    for (const r of w.rows) {
      const name = rowName(r);
      seen.add(name);
      const b = before.get(name);
      if (!b) { rows.push({ row: name, now: r.medianCommandsPerSec, verdict: 'new' }); continue; }
      const changePct = (r.medianCommandsPerSec / b.medianCommandsPerSec - 1) * 100;
      const noisePct = Math.max(floor, spreadPct(b.rates), spreadPct(r.rates));
      const verdict: Verdict = changePct < -noisePct ? 'REGRESSION' : changePct > noisePct ? 'faster' : 'within noise';
      rows.push({ row: name, baseline: b.medianCommandsPerSec, now: r.medianCommandsPerSec, changePct, noisePct, verdict });
    }
  }
  for (const [name, b] of before) if (!seen.has(name)) rows.push({ row: name, baseline: b.medianCommandsPerSec, verdict: 'missing' });
  return { baselinePath, rows, regressions: rows.filter((r) => r.verdict === 'REGRESSION').length, warnings };
}

/** Reads a JSON report written by --json and compares `current` with it. */
export function compareWithBaseline(current: ThroughputReport, baselinePath: string, opts: BaselineOptions = {}): BaselineComparison {
  let baseline: ThroughputReport;
  try {
    baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as ThroughputReport;
  } catch (err) {
    throw new Error(`cannot read the baseline ${baselinePath}: ${(err as Error).message}`);
  }
  return compareReports(current, baseline, baselinePath, opts);
}

export function formatBaselineTable(cmp: BaselineComparison): string {
  const w = Math.max(3, ...cmp.rows.map((r) => r.row.length));
  const out = [`against the baseline ${cmp.baselinePath} (commands/s medians; noise = the larger run-to-run range of either file):`];
  for (const warning of cmp.warnings) out.push(`warning: ${warning}`);
  out.push(`${'row'.padEnd(w)} | ${'baseline'.padStart(9)} | ${'now'.padStart(9)} | ${'change'.padStart(8)} | ${'noise'.padStart(6)} | verdict`);
  for (const r of cmp.rows) {
    out.push(`${r.row.padEnd(w)} | ${(r.baseline === undefined ? '-' : fmtRate(r.baseline)).padStart(9)} | ${(r.now === undefined ? '-' : fmtRate(r.now)).padStart(9)} | ` +
      `${(r.changePct === undefined ? '-' : `${r.changePct >= 0 ? '+' : ''}${r.changePct.toFixed(1)}%`).padStart(8)} | ${(r.noisePct === undefined ? '-' : `${r.noisePct.toFixed(1)}%`).padStart(6)} | ${r.verdict}`);
  }
  out.push(cmp.regressions ? `${cmp.regressions} regression(s) beyond the measured noise` : 'no regression beyond the measured noise');
  return out.join('\n');
}

// `clob bench throughput`: the book check catches engines that did different things, the
// baseline comparison flags a clear regression but not a within-noise change, the HTML report is
// well formed, the HDR plot, the CLI's option parsing, and a tiny end-to-end run with the peers.
// No timed assertions: figures are only checked to exist and be positive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import {
  runThroughput, BookMismatchError, WORKLOADS, DEFAULTS, expandWorkloads, childExecArgv, median, checkBooks,
  type ThroughputReport, type ThroughputRow,
} from '../bench/throughput.js';
import type { BookState } from '../bench/throughput-runner.js';
import { compareReports, compareWithBaseline, spreadPct } from '../bench/baseline.js';
import { renderHtml, latencySection } from '../bench/report.js';
import { percentilePlotSvg, percentilePoints, standardPercentiles } from '../bench/hdr-plot.js';
import { registerThroughputCommands, WORKLOAD_CHOICES, THROUGHPUT_DEFAULTS } from '../bench/register-bench.js';
import { integer } from '../src/cli-args.js';
import { machineInfo } from '../bench/machine.js';

const dir = mkdtempSync(join(tmpdir(), 'clob-bench-report-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// ---- helpers -----------------------------------------------------------------------------------

function fakeRow(workload: string, engine: ThroughputRow['engine'], rates: number[], range: ThroughputRow['range'] = 'full'): ThroughputRow {
  const m = median(rates);
  return {
    workload, engine, range, commands: 1000, rates, medianCommandsPerSec: m, minCommandsPerSec: Math.min(...rates),
    maxCommandsPerSec: Math.max(...rates), medianNsPerCommand: 1e9 / m, gcs: rates.map(() => 0),
    peakRssBytes: rates.map(() => 100 * 2 ** 20), medianPeakRssBytes: 100 * 2 ** 20, medianInputRssBytes: 60 * 2 ** 20,
  };
}

function fakeReport(rows: Record<string, { release: number[]; nob?: number[] }>): ThroughputReport {
  const workloads = Object.entries(rows).map(([workload, r]) => ({
    workload, setup: 1, count: 1000, peerCount: 1000, symbols: 1, sizing: { maxOrders: 1, maxSymbols: 1, ladderTicks: 1 }, generateSeconds: 0,
    rows: [fakeRow(workload, 'clob-release', r.release), ...(r.nob ? [fakeRow(workload, 'nodejs-order-book', r.nob, 'peer-size')] : [])],
    ratios: r.nob ? [{ peer: 'nodejs-order-book' as const, release: median(r.release) / median(r.nob), scalar: 1 }] : [],
    bookCheck: [{ at: 1000, engines: ['clob-release' as const], runs: 3, symbols: 1, agree: true, digestsAgree: true }],
  }));
  return {
    bench: 'throughput', command: 'clob bench throughput (test)', seed: 1, count: 1000, peerCount: 1000, runs: 3, peers: true,
    startedAt: new Date(0).toISOString(), seconds: 1, machine: machineInfo(), loadAverageEnd: [0, 0, 0], workloads,
    booksAgree: true, notes: ['a <note> & more'],
  };
}

/** Tags balance (void elements and self-closing tags aside): "well-formed enough" for a browser. */
function assertBalanced(html: string): void {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    const tag = name.toLowerCase();
    if (self || VOID.has(tag)) continue;
    if (!close) stack.push(tag);
    else {
      const open = stack.pop();
      assert.is(open, tag, `</${tag}> closes <${open}>`);
    }
  }
  assert.equal(stack, [], 'unclosed tags');
}

// ---- the book check ----------------------------------------------------------------------------

test('checkBooks: equal books agree, a different quantity is reported with the symbol', () => {
  const side = (qty: string) => ({ best: '100', qty, orders: 2, levels: 1 });
  const book = (qty: string, digest?: string): BookState => ({ at: 10, digest, symbols: [{ symbol: 3, bid: side(qty), ask: { best: null, qty: '0', orders: 0, levels: 0 } }] });
  assert.ok(checkBooks(10, [{ engine: 'clob-release', run: 0, book: book('5', 'a') }, { engine: 'simple-book', run: 0, book: book('5') }]).agree);
  const bad = checkBooks(10, [{ engine: 'clob-release', run: 0, book: book('5') }, { engine: 'simple-book', run: 1, book: book('6') }]);
  assert.not.ok(bad.agree);
  assert.match(bad.mismatch!, /symbol 3/);
  assert.match(bad.mismatch!, /simple-book \(run 2\)/);
  const digests = checkBooks(10, [{ engine: 'clob-release', run: 0, book: book('5', 'a') }, { engine: 'clob-scalar', run: 0, book: book('5', 'b') }]);
  assert.not.ok(digests.agree, 'same summaries but different digests');
});

test('runThroughput throws BookMismatchError when one engine is fed a different stream', async () => {
  const json = join(dir, 'mismatch.json');
  try {
    await runThroughput({ workloads: ['equity-flow:crash'], count: 4000, peerCount: 4000, runs: 1, seed: 3, peers: true, quiet: true, json, perturb: 'nodejs-order-book' });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, BookMismatchError);
    assert.match((err as Error).message, /nodejs-order-book/);
    assert.not.ok((err as BookMismatchError).report.booksAgree);
  }
  // the results are still written, marked as disagreeing
  assert.is(JSON.parse(readFileSync(json, 'utf8')).booksAgree, false);
});

// ---- baseline -----------------------------------------------------------------------------------

test('baseline: a clear regression is flagged, a change within the measured noise is not', () => {
  const base = fakeReport({ 'core-mix': { release: [10e6, 10.2e6, 9.8e6] }, 'equity-flow:crash': { release: [4e6, 4.4e6, 3.6e6] } });
  // core-mix falls 30% (noise ~4%): regression; crash falls 10% but its runs spread 20%: noise
  const now = fakeReport({ 'core-mix': { release: [7e6, 7.1e6, 6.9e6] }, 'equity-flow:crash': { release: [3.6e6, 3.7e6, 3.5e6] } });
  const cmp = compareReports(now, base, 'base.json');
  const row = (name: string) => cmp.rows.find((r) => r.row === name)!;
  assert.is(row('core-mix clob release').verdict, 'REGRESSION');
  assert.ok(Math.abs(row('core-mix clob release').changePct! + 30) < 0.01);
  assert.is(row('equity-flow:crash clob release').verdict, 'within noise');
  assert.ok(Math.abs(row('equity-flow:crash clob release').noisePct! - 20) < 0.01, 'noise = the relative range of the runs');
  assert.is(cmp.regressions, 1);
  // faster, new and missing rows; and the same through a file
  const faster = compareReports(fakeReport({ 'core-mix': { release: [13e6, 13e6, 13e6] }, 'multi-symbol': { release: [1e6] } }), base);
  assert.is(faster.rows.find((r) => r.row === 'core-mix clob release')!.verdict, 'faster');
  assert.is(faster.rows.find((r) => r.row === 'multi-symbol clob release')!.verdict, 'new');
  assert.is(faster.rows.find((r) => r.row === 'equity-flow:crash clob release')!.verdict, 'missing');
  const path = join(dir, 'base.json');
  writeFileSync(path, JSON.stringify(base));
  assert.is(compareWithBaseline(now, path).regressions, 1);
  assert.is(compareWithBaseline(base, path).regressions, 0, 'a file against itself');
  assert.is(spreadPct([1]), 0);
});

// ---- HTML and the HDR plot ----------------------------------------------------------------------

test('hdr plot: an <svg> with a line per series, percentiles evenly spaced in 1/(1-p)', () => {
  const ps = standardPercentiles(4);
  assert.is(ps[0], 0);
  assert.is(ps[ps.length - 1], 100);
  for (let i = 1; i < ps.length; i++) assert.ok(ps[i] > ps[i - 1], 'increasing');
  assert.ok(ps.includes(99.9));
  const a = percentilePoints((p) => 1000 + p * 10, ps);
  const b = percentilePoints((p) => 200 * (1 + 1 / (100.0001 - p)), ps);
  const svg = percentilePlotSvg([{ name: 'release <fast>', points: a }, { name: 'scalar', points: b }], { title: 'test & plot' });
  assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'));
  assert.is(svg.match(/<polyline/g)!.length, 2);
  assert.ok(svg.includes('release &lt;fast&gt;') && svg.includes('test &amp; plot'), 'text escaped');
  for (const label of ['90%', '99%', '99.9%', 'max']) assert.ok(svg.includes(`>${label}</text>`), label);
  const x = (label: string) => Number(svg.match(new RegExp(`<text x="([\\d.]+)"[^>]*>${label.replace('.', '\\.')}</text>`))![1]);
  assert.ok(Math.abs((x('99%') - x('90%')) - (x('99.9%') - x('99%'))) < 0.2, 'decades equally spaced');
  assertBalanced(svg);
  assert.match(percentilePlotSvg([]), /no data/);
  assert.ok(percentilePlotSvg([{ name: 'lin', points: a }], { yScale: 'linear' }).includes('<polyline'));
});

test('html report: self-contained, balanced, with the svg, the table rows, the ratios and the latency hook', () => {
  const report = fakeReport({ 'core-mix': { release: [10e6, 11e6, 9e6], nob: [1e5, 1.1e5, 0.9e5] }, 'equity-flow:crash': { release: [4e6], nob: [2e5] } });
  report.baseline = compareReports(report, report, 'same.json');
  const html = renderHtml(report);
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.not.match(html, /<script|<link|src="http/, 'no external resources or scripts');
  assert.ok(html.includes('<svg'));
  assertBalanced(html);
  const rows = html.match(/<tr class="clob-release">/g) ?? [];
  assert.is(rows.length, 2, 'one clob release row per workload');
  assert.ok(html.includes('<td>core-mix</td><td>clob release</td>'));
  assert.ok(html.includes('<td>equity-flow:crash</td><td>nodejs-order-book</td>'));
  assert.ok(html.includes('100.0x'), 'the core-mix ratio 10M / 100k');
  assert.ok(html.includes('a &lt;note&gt; &amp; more'), 'notes escaped');
  assert.ok(html.includes('id="baseline"'));
  assert.not.ok(html.includes('id="latency"'), 'no latency section without histograms');
  assert.is(latencySection(undefined), '');
  const series = [{ name: 'order->ack', points: percentilePoints((p) => 500 + p * 20) }];
  const withLatency = renderHtml(report, { latency: series });
  assert.ok(withLatency.includes('id="latency"'));
  assert.is((withLatency.match(/<svg/g) ?? []).length, 2, 'throughput chart + HDR plot');
  assertBalanced(withLatency);
});

// ---- CLI ----------------------------------------------------------------------------------------

test('cli: bench throughput options, defaults and bad values', () => {
  assert.equal(WORKLOAD_CHOICES.filter((w) => w !== 'all' && w !== 'equity-flow'), [...WORKLOADS]);
  assert.equal(THROUGHPUT_DEFAULTS, DEFAULTS);
  assert.equal(expandWorkloads(['equity-flow', 'core-mix', 'equity-flow:crash']), [...WORKLOADS.slice(1, 6), 'core-mix']);
  assert.equal(expandWorkloads(['all']), [...WORKLOADS]);
  assert.throws(() => expandWorkloads(['nope']), /unknown workload/);
  assert.is(integer('--n', 1, 10)('1_0'), 10);
  assert.throws(() => integer('--n', 1, 10)('11'), /from 1 to 10/);
  assert.throws(() => integer('--n', 0)(''), /integer/);

  const make = () => {
    const program = new Command('clob').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    const bench = program.command('bench');
    registerThroughputCommands(bench);
    return program;
  };
  for (const bad of [['--count', '12x'], ['--runs', '0'], ['--workload', 'nope'], ['--peer-count', '-5']]) {
    try {
      make().parse(['bench', 'throughput', ...bad], { from: 'user' });
      assert.unreachable(`accepted ${bad.join(' ')}`);
    } catch (err) {
      assert.instance(err, CommanderError);
      assert.match((err as CommanderError).code, /invalidArgument/, bad.join(' '));
    }
  }
  let help = '';
  const program = new Command('clob').exitOverride().configureOutput({ writeOut: (s) => { help += s; }, writeErr: () => {} });
  registerThroughputCommands(program.command('bench'));
  try { program.parse(['bench', 'throughput', '--help'], { from: 'user' }); } catch { /* help exits */ }
  for (const opt of ['--workload', '--count', '--peer-count', '--runs', '--seed', '--no-peers', '--json', '--html', '--baseline', 'Exit status']) {
    assert.ok(help.includes(opt), `help mentions ${opt}`);
  }
  // the runner child gets the loaders but never the parent's -e script (that forks forever)
  assert.equal(childExecArgv('/x/throughput-runner.ts', ['-e', 'import("x")', '--import', 'tsx']), ['--import', 'tsx', '--expose-gc']);
  assert.equal(childExecArgv('/x/throughput-runner.ts', ['--eval', 'x']), ['--import', 'tsx', '--expose-gc']);
  assert.equal(childExecArgv('/x/throughput-runner.js', ['-p', 'x']), ['--expose-gc']);
});

// ---- end to end -----------------------------------------------------------------------------------

test('runThroughput end to end: ~20k commands, clob and both peers, books agree, files written', async () => {
  const json = join(dir, 'e2e.json'), html = join(dir, 'e2e.html');
  const report = await runThroughput({ workloads: ['equity-flow:crash'], count: 20_000, peerCount: 8_000, runs: 2, seed: 7, peers: true, quiet: true, json, html });
  assert.ok(report.booksAgree);
  const w = report.workloads[0];
  assert.is(w.workload, 'equity-flow:crash');
  assert.equal(w.rows.map((r) => `${r.engine}/${r.range}/${r.commands}`), [
    'clob-release/full/20000', 'clob-scalar/full/20000', 'simple-book/peer-size/8000', 'nodejs-order-book/peer-size/8000',
    'clob-release/peer-size/8000', 'clob-scalar/peer-size/8000',
  ]);
  for (const r of w.rows) {
    assert.is(r.rates.length, 2);
    assert.ok(r.medianCommandsPerSec > 0 && r.minCommandsPerSec <= r.medianCommandsPerSec && r.medianCommandsPerSec <= r.maxCommandsPerSec);
    if (r.range === 'full' || !r.engine.startsWith('clob')) assert.ok(r.medianPeakRssBytes! > 10 * 2 ** 20, 'peak RSS measured');
  }
  assert.equal(w.bookCheck.map((b) => [b.at, b.engines.length, b.runs, b.agree]), [[8000, 4, 2, true], [20000, 2, 2, true]]);
  assert.equal(w.ratios.map((x) => x.peer), ['simple-book', 'nodejs-order-book']);
  assert.ok(w.ratios.every((x) => x.release > 0 && Number.isFinite(x.release)));
  assert.is(report.headline!.workload, 'equity-flow:crash');
  const saved = JSON.parse(readFileSync(json, 'utf8')) as ThroughputReport;
  assert.is(saved.machine.cores, machineInfo().cores);
  assert.is(saved.loadAverageEnd.length, 3);
  const page = readFileSync(html, 'utf8');
  assert.ok(page.includes('<svg') && page.includes('equity-flow:crash'));
});

test.run();

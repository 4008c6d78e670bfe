// `clob bench latency --peers --html`: the peers driven through the same injectable open-loop
// driver (a fake clock that advances per clock read and per applied command, so no timed
// assertions), each engine's ladder stopping at its own median limit, the peer/clob comparison,
// and the HTML report (one HDR plot per rate, one series per engine, percentile axis labels).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchLog, driveOpenLoop, hdrInit, prepareWorkload, lazyDecoder, peerFactory, runPeerLadder, summarizeStep, compareLadders,
  formatComparisonTable, runLatency, LATENCY_PEERS, type ApplyPeer, type EngineLadder, type LatencyReport, type LatencyStep,
} from '../bench/latency.js';
import { renderLatencyHtml, latencyPlotGroups, readLatencyJson } from '../bench/latency-report.js';
import { latencySection } from '../bench/report.js';
import { commandLine } from '../bench/register-latency.js';
import { machineInfo } from '../bench/machine.js';
import type { PercentileRow } from '../bench/hdr-export.js';

const dir = mkdtempSync(join(tmpdir(), 'clob-bench-latency-report-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function monotonic(row: PercentileRow): boolean {
  const v = [row.p50, row.p90, row.p99, row.p999, row.p9999, row.max];
  return v.every((x, i) => i === 0 || v[i - 1] <= x);
}

function checkStep(s: LatencyStep): void {
  assert.ok(monotonic(s.latency), JSON.stringify(s.latency));
  assert.ok(monotonic(s.service), JSON.stringify(s.service));
  assert.is(s.latency.count, s.commands);
  const pts = s.latencyPoints;
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i].percentile > pts[i - 1].percentile);
    assert.ok(pts[i].valueNs >= pts[i - 1].valueNs);
  }
  assert.is(pts[pts.length - 1].percentile, 100);
  assert.type(s.latencyHistogram, 'string');
}

/** Fake time: every clock read costs 100 ns, every applied command `costNs`. */
function fakeTime() {
  const c = { t: 1e6 };
  return { c, now: () => (c.t += 100) };
}

// ---- peers through the injectable loop -----------------------------------------------------------

test('peers: real SimpleBook and nodejs-order-book on the same schedule, fake clock; tables monotonic; each stops at its own limit', async () => {
  await hdrInit();
  const p = prepareWorkload('core-mix', 5, 8000, false);
  const decoder = lazyDecoder(p.encoded);
  // nodejs-order-book "costs" 3 us per command: it keeps up at 100k and 200k/s, not at 400k/s
  const cost: Record<string, number> = { 'simple-book': 200, 'nodejs-order-book': 3000 };
  const rates = [100_000, 200_000, 400_000, 800_000];
  const ladders: EngineLadder[] = [];
  for (const name of LATENCY_PEERS) {
    const { c, now } = fakeTime();
    const make = await peerFactory(name);
    const applied: number[] = [];
    const makePeer = (): ApplyPeer => {
      const peer = make();
      let n = 0;
      applied.push(0);
      const k = applied.length - 1;
      return { apply(cmd) { peer.apply(cmd); c.t += cost[name]; applied[k] = ++n; } };
    };
    const said: string[] = [];
    const l = await runPeerLadder({
      engine: name, makePeer, commands: (n) => decoder.upTo(n), setup: p.setup, available: p.available,
      rates, seconds: 0.01, batch: 16, medianLimitNs: 50_000, now, warmup: false, say: (s) => said.push(s),
    });
    ladders.push(l);
    for (const s of l.steps) checkStep(s);
    // every command of every step applied once, after the setup prefix
    assert.equal(applied, l.steps.map((s) => p.setup + s.commands));
    assert.equal(l.steps.map((s) => s.commands), rates.slice(0, l.steps.length).map((r) => Math.min(p.available, r / 100)));
    if (name === 'simple-book') {
      assert.is(l.steps.length, 4);
      assert.is(l.stopped, 'all rates ran');
      for (const s of l.steps) assert.ok(s.latency.p50 < 50_000);
    } else {
      assert.equal(l.steps.map((s) => s.rate), [100_000, 200_000, 400_000], 'stops after the first rate over the limit');
      assert.match(l.stopped, /passed the limit .* at 400k\/s/);
      assert.ok(said.some((s) => /no higher rates for nodejs-order-book \(the other engines keep stepping\)/.test(s)));
      assert.ok(l.steps[2].latency.p50 > l.steps[0].latency.p50);
      // in-core time per command is the fake cost plus the step's share of one clock read (100 ns)
      assert.ok(l.steps[0].service.p50 >= 3000 && l.steps[0].service.p50 <= 3100 + 3, String(l.steps[0].service.p50));
    }
  }
  // the comparison: a ratio only where both ran
  const clob = ladders[0].steps.map((s) => ({ ...s })); // stand-in "clob" ladder: simple-book's steps
  const cmp = compareLadders(clob.slice(0, 3), ladders);
  assert.equal(cmp.map((r) => r.rate), rates);
  assert.ok(Math.abs(cmp[0].peers[0].p50Ratio! - 1) < 1e-9);
  assert.ok(cmp[0].peers[1].p50Ratio! > 1);
  assert.is(cmp[3].peers[0].p50Ratio, undefined, 'clob did not run 800k');
  assert.is(cmp[2].peers[1].p99Ratio! > 1, true);
  const table = formatComparisonTable('clob release', ladders, cmp);
  assert.match(table, /nodejs-order-book p50/);
  assert.is(table.split('\n').length, 2 + rates.length);
  assert.match(table.split('\n')[5], /^800k\s+\|\s+-\s+-/);
});

// ---- HTML report ------------------------------------------------------------------------------

/** A step of a fake engine: `costNs` per command, each clock read 100 ns. */
function fakeStep(rate: number, costNs: number, count = 3000): LatencyStep {
  let t = 1e6;
  const log = new BatchLog(count);
  const drive = driveOpenLoop({ count, rate, batch: 16, now: () => (t += 100), step: (_f, n) => { t += costNs * n; }, log });
  return summarizeStep(rate, count, log, drive, { count: 0, totalMs: 0 });
}

function fakeReport(): LatencyReport {
  const m = machineInfo();
  const rates = [100_000, 250_000, 500_000];
  return {
    bench: 'latency', command: 'clob bench latency --rates 100k,250k,500k --peers --html x.html', startedAt: '2025-01-01T00:00:00.000Z',
    workload: 'core-mix', description: 'core-mix <test>', build: 'release', seed: 1, batch: 16, medianLimitNs: 100_000,
    clock: { used: 'performance.now', costs: [{ name: 'performance.now', nsPerRead: 30, minStepNs: 30 }] }, machine: m, loadAverageEnd: m.loadAverage,
    steps: rates.map((r) => fakeStep(r, 100)), stopped: 'all rates ran',
    peers: [
      { engine: 'simple-book', label: 'simple-book', steps: rates.slice(0, 2).map((r) => fakeStep(r, 1000)), stopped: 'median latency 1ms passed the limit 100µs at 250k/s' },
      { engine: 'nodejs-order-book', label: 'nodejs-order-book', steps: rates.slice(0, 1).map((r) => fakeStep(r, 5000)), stopped: 'median latency 9ms passed the limit 100µs at 100k/s' },
    ],
  };
}

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

test('html: one <svg> per rate, one series line per engine that ran it, percentile axis labels, self-contained', async () => {
  await hdrInit();
  const report = fakeReport();
  report.comparison = compareLadders(report.steps, report.peers!);
  const html = renderLatencyHtml(report);
  assert.ok(html.startsWith('<!doctype html>') && html.trimEnd().endsWith('</html>'));
  assert.not.match(html, /<script|<link|src="|href="http/, 'no scripts or external resources');
  const plots = svgs(html);
  assert.is(plots.length, 3, 'one plot per rate');
  assert.equal(plots.map((s) => (s.match(/<polyline/g) ?? []).length), [3, 2, 1], 'one series per engine that ran the rate');
  for (const s of plots) {
    for (const label of ['90%', '99%', '99.9%', 'max']) assert.ok(s.includes(`>${label}</text>`), label);
    assert.ok(s.includes('percentile (x = 1/(1-p), log scale)'));
  }
  assert.ok(plots[0].includes('clob release') && plots[0].includes('simple-book') && plots[0].includes('nodejs-order-book'));
  // same color per engine in every plot
  assert.ok(plots.every((s) => s.includes('stroke="#1f77b4"')));
  assert.ok(plots[1].includes('stroke="#ff7f0e"') && !plots[1].includes('stroke="#d62728"'));
  assert.ok(html.includes('nodejs-order-book: not run at 250k/s'));
  assert.ok(html.includes(report.command), 'the command line');
  assert.ok(html.includes('core-mix &lt;test&gt;'), 'escaped');
  assert.ok(html.includes(report.machine.cpu.replace(/&/g, '&amp;')), 'machine info');
  assert.ok(html.includes('id="ratios"') && html.includes('<h3>simple-book</h3>'));
  // tables: p50 of clob at 100k/s as printed in its row
  assert.equal(html.match(/<table class="(clob-release|simple-book|nodejs-order-book)">/g)!.length, 3);
  // well formed enough: every opened element closed
  for (const tag of ['svg', 'table', 'section', 'figure', 'g', 'tr', 'p']) {
    const open = (html.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length;
    const close = (html.match(new RegExp(`</${tag}>`, 'g')) ?? []).length;
    assert.is(open, close, tag);
  }

  // the JSON round trip gives the same plots (what `bench throughput --html` can embed)
  const file = join(dir, 'lat.json');
  writeFileSync(file, JSON.stringify(report));
  const back = readLatencyJson(file);
  const groups = latencyPlotGroups(back);
  assert.is(groups.length, 3);
  assert.is(svgs(latencySection(groups)).length, 3);
  // the old single-plot form of the hook still works
  assert.is(svgs(latencySection(groups[0].series)).length, 1);
  writeFileSync(join(dir, 'x.json'), '{"bench":"throughput"}');
  assert.throws(() => readLatencyJson(join(dir, 'x.json')), /not a 'clob bench latency --json' file/);
});

test('command line recorded as typed (quoted where needed)', () => {
  assert.is(commandLine(['node', 'src/cli.ts', 'bench', 'latency', '--rates', '100k,250k', '--peers']), 'clob bench latency --rates 100k,250k --peers');
  assert.is(commandLine(['node', 'cli', '--html', "my report's.html"]), `clob --html 'my report'\\''s.html'`);
});

test('runLatency --peers --html end to end on a tiny real run (no timed assertions)', async () => {
  const html = join(dir, 'lat.html');
  const json = join(dir, 'lat.json');
  const r = await runLatency({ workload: 'core-mix', rates: [20_000, 40_000], seconds: 0.03, seed: 3, batch: 32, medianLimitNs: 1e9, print: false, peers: true, html, json, command: 'clob bench latency (test)' });
  assert.is(r.steps.length, 2);
  assert.equal(r.peers!.map((p) => p.engine), ['simple-book', 'nodejs-order-book']);
  for (const p of r.peers!) {
    assert.is(p.steps.length, 2);
    for (const s of p.steps) checkStep(s);
    assert.equal(p.steps.map((s) => s.commands), r.steps.map((s) => s.commands), 'same commands per rate as clob');
  }
  assert.is(r.comparison!.length, 2);
  const page = readFileSync(html, 'utf8');
  assert.equal(svgs(page).map((s) => (s.match(/<polyline/g) ?? []).length), [3, 3]);
  assert.ok(page.includes('clob bench latency (test)'));
  const j = JSON.parse(readFileSync(json, 'utf8')) as LatencyReport;
  assert.type(j.peers![1].steps[0].latencyHistogram, 'string');
  assert.is(j.command, 'clob bench latency (test)');
});

test.run();

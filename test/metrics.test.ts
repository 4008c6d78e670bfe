// The metrics endpoint of `clob start` (src/server/metrics.ts): the Prometheus text format, the
// summary of latencies, and the HTTP answers (the server test scrapes a running server).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderMetrics, LatencySummary, serveMetrics, type Metric } from '../src/server/metrics.js';

test('renderMetrics: HELP/TYPE lines, label escaping, summaries with sum and count, special values', () => {
  const metrics: Metric[] = [
    { name: 'a_total', help: 'Things.\nTwo lines \\ here', type: 'counter', value: 3 },
    { name: 'b', help: 'By label.', type: 'gauge', value: [{ labels: { path: 'x"y\\z' }, value: 1.5 }, { labels: { path: 'w' }, value: NaN }] },
    { name: 'c', help: 'Inf.', type: 'gauge', value: Infinity },
  ];
  assert.is(renderMetrics(metrics), [
    '# HELP a_total Things.\\nTwo lines \\\\ here', '# TYPE a_total counter', 'a_total 3',
    '# HELP b By label.', '# TYPE b gauge', 'b{path="x\\"y\\\\z"} 1.5', 'b{path="w"} NaN',
    '# HELP c Inf.', '# TYPE c gauge', 'c +Inf', '',
  ].join('\n'));
});

test('LatencySummary: quantiles in seconds from millisecond observations; empty before any', () => {
  const s = new LatencySummary('lat_seconds', 'Latency.');
  assert.equal(s.metric().value, []);
  assert.is(s.metric().count, 0);
  for (let i = 1; i <= 100; i++) s.observeMs(i); // 1..100 ms
  const m = s.metric();
  assert.is(m.count, 100);
  assert.ok(Math.abs(m.sum! - 5.05) < 1e-9, `sum ${m.sum}`);
  const q = Object.fromEntries((m.value as { labels: Record<string, string>; value: number }[]).map((v) => [v.labels.quantile, v.value]));
  assert.ok(Math.abs(q['0.5'] - 0.05) < 0.0001, `p50 ${q['0.5']}`);
  assert.ok(Math.abs(q['1'] - 0.1) < 0.0001, `max ${q['1']}`);
  assert.match(renderMetrics([m]), /^lat_seconds_count 100$/m);
});

test('serveMetrics: /metrics, /healthz 200 then 503, 404 and 405 with a reason, a failing collector is a 500 and the endpoint keeps serving', async () => {
  let fail = false;
  let ok = true;
  const ep = await serveMetrics('127.0.0.1', 0, () => {
    if (fail) throw new Error('broken gauge');
    return [{ name: 'up', help: 'Up.', type: 'gauge', value: 1 }];
  }, () => ({ ok, detail: { lastSeq: 7 } }));
  try {
    const url = (p: string) => `http://127.0.0.1:${ep.port}${p}`;
    assert.match(await (await fetch(url('/metrics'))).text(), /^up 1$/m);
    const h = await fetch(url('/healthz'));
    assert.equal([h.status, await h.json()], [200, { status: 'ok', lastSeq: 7 }]);
    ok = false;
    assert.is((await fetch(url('/healthz'))).status, 503);
    const nf = await fetch(url('/other'));
    assert.equal([nf.status, await nf.text()], [404, 'not found: /other (try /metrics or /healthz)\n']);
    assert.is((await fetch(url('/metrics'), { method: 'POST' })).status, 405);
    fail = true;
    const broken = await fetch(url('/metrics'));
    assert.equal([broken.status, await broken.text()], [500, 'metrics failed: broken gauge\n']);
    fail = false;
    assert.is((await fetch(url('/metrics'))).status, 200);
  } finally {
    await ep.close();
  }
});

test.run();

// The latency benchmark's machinery (bench/latency.ts, bench/hiccups.ts, bench/hdr-export.ts,
// bench/register-latency.ts). No timed assertions: a fake clock and a fake engine step drive the
// open-loop driver, so what is checked is behaviour (latency counts from the planned send time,
// a stall shows up in every command planned during it, tables and plot points are ordered).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from 'commander';
import {
  BatchLog, driveOpenLoop, forEachLatency, recordLatencies, recordServiceTimes, hdrInit, newLatencyHistogram,
  runLatency, type DriveResult,
} from '../bench/latency.js';
import { detectStalls, matchGcs, runHiccups } from '../bench/hiccups.js';
import { percentilePoints, percentileRow, toCompressedBase64, fromCompressedBase64, type PercentileRow } from '../bench/hdr-export.js';
import { parseRates } from '../bench/register-latency.js';
import { integer as integerOption } from '../src/cli-args.js';

const RATE = 1_000_000; // 1 command per 1,000 ns of fake time
const COUNT = 4000;
const STALL_AT = 500; // the step holding this command stalls once
const STALL_NS = 1_000_000;

/** A fake clock (each reading advances 100 ns) and an engine step (50 ns per command, one 1 ms stall). */
function fakeRun(batch = 16): { log: BatchLog; drive: DriveResult; stallEnd: number; stallFirst: number } {
  let t = 1_000_000;
  let stalled = false;
  let stallEnd = 0;
  let stallFirst = -1;
  const now = () => (t += 100);
  const step = (first: number, count: number) => {
    t += 50 * count;
    if (!stalled && first <= STALL_AT && STALL_AT < first + count) {
      stalled = true;
      stallFirst = first;
      t += STALL_NS;
      stallEnd = t;
    }
  };
  const log = new BatchLog(COUNT);
  const drive = driveOpenLoop({ count: COUNT, rate: RATE, batch, now, step, log });
  return { log, drive, stallEnd, stallFirst };
}

function latencies(log: BatchLog, drive: DriveResult): Float64Array {
  const out = new Float64Array(COUNT).fill(NaN);
  forEachLatency(log, drive, (j, ns) => { out[j] = ns; });
  return out;
}

test('every command is sent once, in order, never before its planned time', () => {
  const { log, drive } = fakeRun();
  let next = 0;
  for (let b = 0; b < log.batches; b++) {
    assert.is(log.first[b], next);
    assert.ok(log.count[b] >= 1 && log.count[b] <= 16);
    // the step started at or after the planned time of the last command it sent
    assert.ok(log.start[b] >= drive.t0 + (log.first[b] + log.count[b] - 1) * drive.intervalNs);
    next += log.count[b];
  }
  assert.is(next, COUNT);
});

test('latency counts from the planned time: a stall shows up in every command planned during it', () => {
  const { log, drive, stallEnd, stallFirst } = fakeRun();
  const lat = latencies(log, drive);
  assert.ok(stallFirst >= 0);
  // every command planned between the stalled step's first command and the end of the stall
  // completed at or after the stall's end, and its latency says so
  let during = 0;
  for (let j = stallFirst; j < COUNT; j++) {
    const planned = drive.t0 + j * drive.intervalNs;
    if (planned > stallEnd) break;
    during++;
    assert.ok(lat[j] >= stallEnd - planned - 1e-6, `command ${j}: latency ${lat[j]} < ${stallEnd - planned}`);
  }
  assert.ok(during >= 990, `${during} commands planned during the 1 ms stall`); // ~1,000 at 1M/s
  // the command planned just after the stall began waited nearly the whole stall (no coordinated omission)
  assert.ok(lat[stallFirst + 1] > 0.9 * STALL_NS);
  // before the stall and well after it the fake engine keeps up: small latencies
  assert.ok(lat[stallFirst - 10] < 5_000);
  assert.ok(lat[COUNT - 1] < 5_000);
  // the backlog the stall built is what the driver met
  assert.ok(drive.maxBacklog >= 900);
});

test('batches: the completion time of a step applies to each command in it', () => {
  const { log, drive } = fakeRun(64);
  const lat = latencies(log, drive);
  for (let b = 0; b < log.batches; b++) {
    for (let j = log.first[b]; j < log.first[b] + log.count[b]; j++) {
      assert.ok(Math.abs(lat[j] - (log.end[b] - (drive.t0 + j * drive.intervalNs))) < 1e-6);
    }
  }
});

function monotonic(row: PercentileRow): boolean {
  const v = [row.p50, row.p90, row.p99, row.p999, row.p9999, row.max];
  return v.every((x, i) => i === 0 || v[i - 1] <= x);
}

test('percentile rows are monotonic; hdr-export points are sorted and end at 100', async () => {
  await hdrInit();
  const { log, drive } = fakeRun();
  const lat = newLatencyHistogram();
  const svc = newLatencyHistogram();
  try {
    recordLatencies(log, drive, lat);
    recordServiceTimes(log, svc);
    assert.is(lat.totalCount, COUNT);
    assert.is(svc.totalCount, COUNT);
    const row = percentileRow(lat);
    assert.ok(monotonic(row), JSON.stringify(row));
    assert.ok(monotonic(percentileRow(svc)));
    assert.ok(row.max >= STALL_NS * 0.99);
    const pts = percentilePoints(lat);
    assert.ok(pts.length > 10);
    for (let i = 1; i < pts.length; i++) {
      assert.ok(pts[i].percentile > pts[i - 1].percentile, `percentiles at ${i}`);
      assert.ok(pts[i].valueNs >= pts[i - 1].valueNs, `values at ${i}`);
    }
    assert.is(pts[0].percentile, 0);
    assert.is(pts[pts.length - 1].percentile, 100);
    assert.is(pts[pts.length - 1].valueNs, lat.maxValue);
    const back = fromCompressedBase64(toCompressedBase64(lat));
    assert.is(back.totalCount, lat.totalCount);
    // the encoding keeps counts per bucket: the max comes back as its bucket's value (3 digits)
    assert.ok(Math.abs(back.maxValue - lat.maxValue) <= lat.maxValue * 1e-3);
  } finally {
    lat.destroy();
    svc.destroy();
  }
  assert.equal(percentilePoints({ totalCount: 0, maxValue: 0, getValueAtPercentile: () => 0 }), []);
});

test('hiccup detection lists the injected stall and the GCs that overlap it', () => {
  const { log, drive, stallFirst } = fakeRun();
  const stalls = detectStalls(log, drive, 100_000);
  assert.is(stalls.length, 1);
  const s = stalls[0];
  assert.is(s.firstCommand, stallFirst);
  assert.ok(s.worstNs >= STALL_NS);
  assert.ok(s.commands > 900);
  assert.ok(Math.abs(s.offsetMs - stallFirst / 1000) < 1e-9); // planned at command / 1M per second
  assert.ok(s.endOffsetMs > s.offsetMs + 0.99);
  const gcInside = { offsetMs: s.offsetMs + 0.2, durationMs: 0.5, kind: 'minor' };
  const gcJustBefore = { offsetMs: s.offsetMs - 0.15, durationMs: 0.1, kind: 'minor' }; // ends 0.05 ms before: inside the window
  const gcFar = { offsetMs: s.endOffsetMs + 5, durationMs: 0.1, kind: 'major' };
  matchGcs(stalls, [gcInside, gcJustBefore, gcFar], 0.2);
  assert.equal(s.gcs, [gcInside, gcJustBefore]);
  assert.is(detectStalls(log, drive, 10 * STALL_NS).length, 0);
});

test('runLatency and runHiccups run end to end on a tiny real run', async () => {
  const report = await runLatency({ workload: 'core-mix', rates: [20_000, 40_000], seconds: 0.05, seed: 3, batch: 32, medianLimitNs: 1e9, print: false });
  assert.is(report.steps.length, 2);
  for (const s of report.steps) {
    assert.ok(monotonic(s.latency));
    assert.ok(monotonic(s.service));
    assert.is(s.latency.count, s.commands);
    assert.is(s.latencyPoints[s.latencyPoints.length - 1].percentile, 100);
    assert.type(s.latencyHistogram, 'string');
  }
  assert.is(report.steps[0].commands, 1000);
  // a median limit of 1 ns stops the ladder after the first rate
  const stopped = await runLatency({ workload: 'core-mix', rates: [20_000, 40_000], seconds: 0.02, seed: 3, batch: 32, medianLimitNs: 1, print: false });
  assert.is(stopped.steps.length, 1);
  assert.match(stopped.stopped, /passed the limit/);
  const h = await runHiccups({ rate: 20_000, seconds: 0.05, thresholdUs: 1e6, seed: 3, print: false });
  assert.is(h.commands, 1000);
  assert.is(h.stalls.length, 0);
});

test('CLI option parsers reject bad values naming the option', () => {
  assert.equal(parseRates('250k, 1M,2000000'), [250_000, 1_000_000, 2_000_000]);
  assert.is(parseRates('auto'), 'auto');
  assert.throws(() => parseRates('fast'), (e: unknown) => e instanceof InvalidArgumentError && /--rates/.test((e as Error).message));
  assert.throws(() => parseRates(''), (e: unknown) => e instanceof InvalidArgumentError);
  const batch = integerOption('--batch', 1, 100);
  assert.is(batch('64'), 64);
  assert.throws(() => batch('0'), (e: unknown) => e instanceof InvalidArgumentError && /--batch/.test((e as Error).message));
  assert.throws(() => batch('1.5'), (e: unknown) => e instanceof InvalidArgumentError);
});

test.run();

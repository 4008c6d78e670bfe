// bench/wire.ts at tiny counts: the report's shape and its checks (every message sent came back
// as the bytes sent / the ack of the order sent), not its figures (no timed assertions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { native } from '../src/native.js';
import { runWire, formatWireReport, fileSystemOf, type ModeResult, type WireOptions } from '../bench/wire.js';

const tiny: WireOptions = { rounds: 2, pingPong: 30, rate: 2000, seconds: 0.025, warmup: 5, clob: [], say: () => {} };

function checkMode(where: string, m: ModeResult | undefined, perRound: number, rounds: number): void {
  assert.ok(m, `${where}: measured`);
  assert.is(m!.sent, perRound * rounds, `${where}: sent`);
  assert.is(m!.returned, m!.sent, `${where}: every message came back`);
  assert.is(m!.mismatched, 0, `${where}: every reply was the one sent`);
  const l = m!.latency;
  assert.is(l.count, m!.returned, `${where}: one latency recorded per reply`);
  assert.ok(l.p50 > 0, `${where}: p50 ${l.p50}`);
  assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${where}: percentiles ordered ${JSON.stringify(l)}`);
  assert.is(m!.roundP50Ns.length, rounds, `${where}: a median per round`);
  assert.type(m!.histogram, 'string');
}

test('bench wire: every path in both modes, every reply checked, ratios to the C floor, JSON and text', async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'clob-wire-test-'));
  const json = join(dir, 'wire.json');
  try {
    const report = await runWire({ ...tiny, clob: [{ io: 'net', durability: 'fsync' }, { io: 'net', durability: 'none' }], dataRoot: dir, json });
    const names = report.paths.map((p) => p.name);
    assert.equal(names, [...(native ? ['c-echo'] : []), 'node-echo', 'clob-net-fsync', 'clob-net-none']);
    const openCount = Math.round(tiny.rate * tiny.seconds);
    for (const p of report.paths) {
      checkMode(`${p.name} ping-pong`, p.pingPong, tiny.pingPong, tiny.rounds);
      checkMode(`${p.name} open loop`, p.openLoop, openCount, tiny.rounds);
      assert.ok(p.openLoop!.fromSend, `${p.name}: open loop also measured from the write`);
      assert.ok(p.openLoop!.fromSend!.count === p.openLoop!.returned);
      if (p.name.startsWith('clob')) {
        assert.is(p.pingPong!.rejected, 0, `${p.name}: no order rejected`);
        assert.is(p.openLoop!.rejected, 0, `${p.name}: no order rejected`);
        assert.equal([p.requestBytes, p.replyBytes], [80, 80]);
      } else assert.equal([p.requestBytes, p.replyBytes], [48, 48]);
      const hasRatio = native !== undefined && p.name !== 'c-echo';
      assert.is(p.pingPong!.ratioToFloor !== undefined, hasRatio, `${p.name}: ratio iff a floor and not the floor`);
      if (hasRatio) assert.ok(Math.abs(p.pingPong!.ratioToFloor!.p50 * report.paths[0].pingPong!.latency.p50 - p.pingPong!.latency.p50) < 1e-6 * p.pingPong!.latency.p50);
    }
    assert.is(report.dataRoot.path, dir);
    assert.is(report.dataRoot.fileSystem, fileSystemOf(dir));
    assert.equal(JSON.parse(readFileSync(json, 'utf8')).paths.map((p: { name: string }) => p.name), names);
    const text = formatWireReport(report);
    for (const p of report.paths) assert.ok(text.includes(p.label), `text names ${p.label}`);
    assert.not.match(text, /CHECK:/);
    // the servers' data directories are removed, the JSON stays
    assert.equal(readdirSync(dir), ['wire.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench wire: without the floor the report says so and gives no ratios', async () => {
  const report = await runWire({ ...tiny, noFloor: true, rate: 0 });
  assert.equal(report.paths.map((p) => p.name), ['node-echo']);
  assert.type(report.floorMissing, 'string');
  assert.is(report.paths[0].pingPong!.ratioToFloor, undefined);
  assert.is(report.paths[0].openLoop, undefined);
  assert.match(formatWireReport(report), /NO C FLOOR/);
});

test('bench wire: bad options are refused before anything starts', async () => {
  for (const [bad, message] of [
    [{ rounds: 0 }, /rounds must be an integer >= 1/],
    [{ pingPong: 0, rate: 0 }, /nothing to measure/],
    [{ rate: -5 }, /rate must be from 0/],
    [{ seconds: 0 }, /seconds must be in/],
    [{ rate: 10, seconds: 0.01 }, /at least one message/],
  ] as const) {
    await runWire({ ...tiny, ...bad }).then(() => assert.unreachable(JSON.stringify(bad)), (e: Error) => assert.match(e.message, message));
  }
});

test('bench wire: a server that cannot start fails the run with its reason', async () => {
  await runWire({ ...tiny, clob: [{ io: 'no-such-io', durability: 'none' }] }).then(
    () => assert.unreachable('an unknown --io must fail'),
    (e: Error) => assert.match(e.message, /clob start \(no-such-io, none\) exited with 2 before listening/),
  );
});

test.run();

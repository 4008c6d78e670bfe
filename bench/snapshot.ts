// Snapshot cost at the engine's default size (DEMO_SYMBOLS, --orders resting orders), three parts:
//   1. engine.snapshot() into a fresh buffer (every 4 KiB page faulted in) against a reused one;
//   2. where the time of `clob start`'s old inline path goes, phase by phase (all synchronous but
//      the file I/O): digest, copy, the snapshot's CRC-32, the file's body CRC-32, write + fsync +
//      rename + directory fsync, retention;
//   3. the server's snapshot, before (inline: writeSnapshotBytes(engine.snapshot(buffer),
//      engine.digest()), both CRCs on the main thread) and after (SnapshotWriter: capture on the
//      main thread, CRCs on a worker, async I/O), alternated run by run: the event loop's longest
//      block (perf_hooks.monitorEventLoopDelay, 1 ms resolution: its max), the synchronous part
//      timed directly (after only: capture()), and the total until retention is done.
// The journal's commit, which the server also awaits, is not part of it.
//   node --import tsx bench/snapshot.ts [--runs 7] [--orders 100000] [--dir <dir>] [--json <file>]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { Engine } from '../src/engine.js';
import { DEMO_SYMBOLS } from '../src/stdio-server.js';
import { checksumRanges, crc32Ranges } from '../src/snapshot-format.js';
import { writeSnapshotBytes } from '../src/journal/snapshots.js';
import { enforceRetention } from '../src/journal/retention.js';
import { SnapshotWriter } from '../src/journal/snapshot-writer.js';
import { machineInfo, describeMachine } from './machine.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, orders: { type: 'string', default: '100000' }, dir: { type: 'string' }, json: { type: 'string' } } });
const runs = Number(values.runs);
const orders = Number(values.orders);
const command = `node --import tsx bench/snapshot.ts --runs ${runs} --orders ${orders}${values.dir ? ` --dir ${values.dir}` : ''}`;
const machine = machineInfo();
console.log(`machine: ${describeMachine(machine)}`);
console.log(`command: ${command}`);

const engine = new Engine({ symbols: DEMO_SYMBOLS });
// Resting orders on both sides of symbol 1, 5,000 price levels a side.
for (let i = 0; i < orders; i++) {
  const buy = i % 2 === 1;
  engine.newOrder({ symbol: 1, orderId: i + 1, side: buy ? 'buy' : 'sell', price: buy ? 400_000 - (i % 5000) : 600_000 + (i % 5000), quantity: 1 + (i % 7) });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => `median ${median(xs).toFixed(3)} ms (${xs.map((x) => x.toFixed(3)).join(' ')})`;
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
console.log(`default engine (${engine.maxOrders} orders, ${engine.ladderTicks} ladder ticks), ${engine.liveOrders} resting orders: snapshot of ${mib(engine.maxSnapshotBytes)} MiB`);

// ---- 1. fresh against reused buffer -------------------------------------------------------------
const fresh: number[] = [];
const reused: number[] = [];
let buffer: Uint8Array | undefined;
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  const bytes = engine.snapshot();
  fresh.push(performance.now() - t);
  t = performance.now();
  buffer = engine.snapshot(buffer ?? bytes);
  reused.push(performance.now() - t);
}
console.log('1. engine.snapshot()');
console.log(`  into a fresh buffer:  ${fmt(fresh)}`);
console.log(`  into a reused buffer: ${fmt(reused)}`);

// ---- 2. phases of the inline path ---------------------------------------------------------------
const base = mkdtempSync(join(values.dir ?? tmpdir(), 'clob-bench-snapshot-'));
const phases: Record<string, number[]> = {};
const phase = (name: string, ms: number) => (phases[name] ??= []).push(ms);
{
  const dir = mkdtempSync(join(base, 'phases-'));
  const checked = new Map<string, string | undefined>();
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    engine.digest();
    phase('digest', performance.now() - t);
    t = performance.now();
    const { bytes, digest } = engine.captureSnapshot(buffer);
    phase('capture (digest + copy)', performance.now() - t);
    t = performance.now();
    crc32Ranges(bytes, checksumRanges(bytes.length));
    phase('snapshot CRC-32', performance.now() - t);
    t = performance.now();
    const bodyCrc = crc32(bytes);
    phase('file body CRC-32', performance.now() - t);
    t = performance.now();
    const info = await writeSnapshotBytes(dir, bytes, digest, r + 1, bodyCrc);
    phase('write + fsync + rename + dir fsync (async)', performance.now() - t);
    checked.set(info.path, undefined);
    t = performance.now();
    await enforceRetention(dir, { keepSnapshots: 2, checked });
    phase('retention (async unlinks, dir fsyncs)', performance.now() - t);
  }
  console.log('2. the phases (the inline path ran digest twice, copy, both CRCs on the main thread)');
  for (const [name, xs] of Object.entries(phases)) console.log(`  ${name.padEnd(44)} ${fmt(xs)}`);
}

// ---- 3. the server's snapshot, before and after ---------------------------------------------------
interface Row { blockMs: number; syncMs?: number; totalMs: number }
const results: { before: Row[]; after: Row[] } = { before: [], after: [] };
const writer = await SnapshotWriter.start(engine);
const dirs = { before: mkdtempSync(join(base, 'before-')), after: mkdtempSync(join(base, 'after-')) };
const checks = { before: new Map<string, string | undefined>(), after: new Map<string, string | undefined>() };
let inlineBuffer: Uint8Array | undefined = engine.snapshot(); // the server's reused buffer, faulted in
let seq = 0;
const idle = () => new Promise((r) => setTimeout(r, 20));
for (let r = 0; r < runs; r++) {
  for (const path of ['before', 'after'] as const) {
    seq++;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    await idle(); // its timer runs before the snapshot starts
    const t0 = performance.now();
    let syncMs: number | undefined;
    let file: string;
    if (path === 'before') {
      inlineBuffer = engine.snapshot(inlineBuffer);
      file = (await writeSnapshotBytes(dirs.before, inlineBuffer, engine.digest(), seq)).path;
    } else {
      const captured = writer.capture(engine);
      syncMs = performance.now() - t0;
      file = (await writer.write(dirs.after, await writer.seal(captured), seq)).path;
    }
    checks[path].set(file, undefined);
    await enforceRetention(dirs[path], { keepSnapshots: 2, checked: checks[path] });
    const totalMs = performance.now() - t0;
    await idle(); // let the histogram see the loop run again after the last block
    h.disable();
    results[path].push({ blockMs: h.max / 1e6, syncMs, totalMs });
  }
}
await writer.close();
console.log('3. the server\'s snapshot, alternated before/after (event-loop block = monitorEventLoopDelay max)');
for (const path of ['before', 'after'] as const) {
  const rows = results[path];
  console.log(`  ${path}: event-loop block ${fmt(rows.map((x) => x.blockMs))}`);
  if (path === 'after') console.log(`         synchronous capture ${fmt(rows.map((x) => x.syncMs!))}`);
  console.log(`         total ${fmt(rows.map((x) => x.totalMs))}`);
}
const ratio = median(results.before.map((x) => x.blockMs)) / median(results.after.map((x) => x.blockMs));
console.log(`  event-loop block, median before / median after: ${ratio.toFixed(2)}`);
rmSync(base, { recursive: true, force: true });
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ command, machine, orders, snapshotBytes: engine.maxSnapshotBytes, fresh, reused, phases, ...results }, null, 2)}\n`);
  console.log(`results written to ${values.json}`);
}

// Snapshot cost at the engine's default size (DEMO_SYMBOLS, --orders resting orders), three parts:
//   1. engine.snapshot() into a fresh buffer (every 4 KiB page faulted in) against a reused one;
//   2. where the time goes, phase by phase, for the whole arena (what format 2 copied) and for its
//      used extents (format 3): digest, copy, the snapshot's CRC-32, the file's body CRC-32, write
//      + fsync + rename + directory fsync (async I/O), retention (async unlinks, directory fsyncs);
//   3. `clob start`'s snapshot before and after, alternated run by run. Before (e0e43ce) is
//      re-enacted with the same calls on the whole arena: engine.snapshot() (digest, copy, CRC)
//      into a reused buffer, engine.digest() again, writeSnapshotBytes() with the body CRC on the
//      main thread. After: SnapshotWriter (capture on the main thread, CRCs on its worker). For
//      each: the event loop's longest block (perf_hooks.monitorEventLoopDelay, 1 ms resolution,
//      its max), the synchronous part timed directly (after: capture()), and the total until
//      retention is done. The journal commit the server also awaits is not part of it.
//   node --import tsx bench/snapshot.ts [--runs 7] [--orders 100000] [--dir <dir>] [--json <file>]
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { Engine } from '../src/engine.js';
import { DEMO_SYMBOLS } from '../src/stdio-server.js';
import { checksumRanges, crc32Ranges, decodeSnapshotHeader, encodeSnapshot } from '../src/snapshot-format.js';
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
// The whole arena, as format 2 copied it (the release build's memory is shared: liveBook() has it).
const { memory, arena: arenaAt } = engine.liveBook();
const wholeArena = new Uint8Array(memory.buffer, arenaAt, decodeSnapshotHeader(engine.snapshot()).arenaBytes);
const fields = () => ({ maxOrders: engine.maxOrders, maxSymbols: engine.maxSymbols, ladderTicks: engine.ladderTicks, digest: engine.digest(), nextSeq: 1n });

// ---- 1. fresh against reused buffer -------------------------------------------------------------
const fresh: number[] = [];
const reused: number[] = [];
const buffer = new Uint8Array(engine.maxSnapshotBytes);
let snapshotBytes = 0;
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  engine.snapshot();
  fresh.push(performance.now() - t);
  t = performance.now();
  snapshotBytes = engine.snapshot(buffer).length;
  reused.push(performance.now() - t);
}
console.log(`default engine (${engine.maxOrders} orders, ${engine.ladderTicks} ladder ticks), ${engine.liveOrders} resting orders: arena of ${mib(wholeArena.length)} MiB, snapshot (format 3) of ${mib(snapshotBytes)} MiB`);
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
  const whole = new Uint8Array(wholeArena.length + 64 + 8);
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    engine.digest();
    phase('digest', performance.now() - t);
    t = performance.now();
    whole.set(wholeArena, 72);
    phase('whole arena: copy', performance.now() - t);
    t = performance.now();
    crc32(whole);
    phase('whole arena: CRC-32 (each of the two)', performance.now() - t);
    t = performance.now();
    const { bytes, digest } = engine.captureSnapshot(buffer);
    phase('extents: capture (digest + copy)', performance.now() - t);
    t = performance.now();
    crc32Ranges(bytes, checksumRanges(bytes.length));
    phase('extents: CRC-32 (each of the two)', performance.now() - t);
    const bodyCrc = crc32(bytes);
    t = performance.now();
    const info = await writeSnapshotBytes(dir, bytes, digest, r + 1, bodyCrc);
    phase('extents: write + fsync + rename + dir fsync', performance.now() - t);
    checked.set(info.path, undefined);
    t = performance.now();
    await enforceRetention(dir, { keepSnapshots: 2, checked });
    phase('retention', performance.now() - t);
  }
  console.log('2. the phases');
  for (const [name, xs] of Object.entries(phases)) console.log(`  ${name.padEnd(44)} ${fmt(xs)}`);
}

// ---- 3. the server's snapshot, before and after ---------------------------------------------------
interface Row { blockMs: number; syncMs?: number; totalMs: number }
const results: { idle: Row[]; before: Row[]; after: Row[] } = { idle: [], before: [], after: [] };
const writer = await SnapshotWriter.start(engine);
const dirs = { before: mkdtempSync(join(base, 'before-')), after: mkdtempSync(join(base, 'after-')) };
const checks = { before: new Map<string, string | undefined>(), after: new Map<string, string | undefined>() };
let inlineBuffer = encodeSnapshot(fields(), wholeArena); // the old server's reused buffer, faulted in
let seq = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The snapshot (or, idle, 50 ms without one: the floor of the measure on a busy machine). */
async function take(path: 'idle' | 'before' | 'after'): Promise<number | undefined> {
  if (path === 'idle') return void (await sleep(50));
  seq++;
  let file: string;
  let syncMs: number | undefined;
  if (path === 'before') {
    inlineBuffer = encodeSnapshot(fields(), wholeArena, inlineBuffer);
    file = (await writeSnapshotBytes(dirs.before, inlineBuffer, engine.digest(), seq)).path;
  } else {
    const t0 = performance.now();
    const captured = writer.capture(engine);
    syncMs = performance.now() - t0;
    file = (await writer.write(dirs.after, await writer.seal(captured), seq)).path;
  }
  checks[path].set(file, undefined);
  await enforceRetention(dirs[path], { keepSnapshots: 2, checked: checks[path] });
  return syncMs;
}
for (let r = 0; r < runs; r++) {
  for (const path of ['idle', 'before', 'after'] as const) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    await sleep(20); // its timer runs before the snapshot starts
    const t0 = performance.now();
    const syncMs = await take(path);
    const totalMs = performance.now() - t0;
    await sleep(20); // the loop runs again after the last block: the histogram sees it
    h.disable();
    results[path].push({ blockMs: h.max / 1e6, syncMs, totalMs });
  }
}
await writer.close();
console.log('3. the server\'s snapshot, alternated idle/before/after (event-loop block = monitorEventLoopDelay max; idle: 50 ms without a snapshot)');
for (const path of ['idle', 'before', 'after'] as const) {
  const rows = results[path];
  console.log(`  ${path}: event-loop block ${fmt(rows.map((x) => x.blockMs))}`);
  if (path === 'after') console.log(`         synchronous capture ${fmt(rows.map((x) => x.syncMs!))}`);
  if (path !== 'idle') console.log(`         total ${fmt(rows.map((x) => x.totalMs))}`);
}
const ratio = median(results.before.map((x) => x.blockMs)) / median(results.after.map((x) => x.blockMs));
console.log(`  event-loop block, median before / median after: ${ratio.toFixed(2)}`);
rmSync(base, { recursive: true, force: true });
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ command, machine, orders, snapshotBytes: engine.maxSnapshotBytes, fresh, reused, phases, ...results }, null, 2)}\n`);
  console.log(`results written to ${values.json}`);
}

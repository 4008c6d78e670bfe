// bench micro: mitata micro-benchmarks of the core's operations through the batch path, the
// 'release' (SIMD) and 'scalar' builds side by side.
//
// Every bench owns a fresh engine holding a prepared book (below), and one or more pre-encoded
// batches that it cycles through; one mitata iteration = engine.commands.append(batch) + one
// engine.run() (one Wasm call), so the JS->Wasm call and the 64-byte copies are amortized over
// the batch. The table after mitata's divides its average time per iteration by the operations in
// the batch. Each batch leaves the book as it found it (or rotates it in a cycle of batches that
// does), so the state stays valid however many iterations mitata runs; setup checks one full
// cycle (no unexpected reject, same resting order count) before measuring.
//
// The book (one symbol, tick 1, lot 1, band 1..65536; maxOrders 65,536, so the id index has
// 131,072 slots): 48,000 background orders (24,000 bids over 20,000..20,999, 24,000 asks over
// 40,000..40,999, 24 per level), i.e. the id index is ~37% full, plus what each bench adds:
//
//   add + cancel        K pairs: a passive GTC bid joining the tail of an existing level
//                       (prices 20,000 + k), then K cancels of those orders (tail cancels).
//                       Per operation = one add + one cancel.
//   cancel head         a 2,048-order level (bid 29,000); K pairs of: cancel the head, re-add it
//                       (same id, price, quantity: it joins the tail). The level rotates; the
//                       batches cycle through the ids so every cancel names the current head.
//   cancel middle       the same, cancelling the order at position 1,024 (the suffix from 1,024 on
//                       rotates with period 1,024).
//   match one level     a 1,024-order best ask level (31,000, 10 lots each); K pairs of: an IOC
//                       buy for 10 at 31,000 (fills exactly the head order: one trade, one level
//                       update), then the filled maker re-added (same id) at the tail.
//   sweep N levels      N one-order ask levels 31,000..31,000+N-1 (10 lots each); each repetition
//                       is an IOC buy for 10N up to the Nth price (N trades, N levels emptied), then
//                       the N makers re-added (N new levels). Per operation = one sweep + N adds.
//   id miss             K cancels of ids never seen: a miss in the id index, then a reject event
//                       (UNKNOWN_ORDER). Per operation = one cancel. State untouched.
//
// SIMD vs scalar: the two builds are the same source; the only SIMD code is the id index's probe
// (assembly/idindex.ts findPos: after the home slot misses, 16 tags per i8x16 compare instead of
// one at a time), and the release build also has bulk memory (memory.fill, only in init) and
// sign-extension / non-trapping conversions (scattered single instructions). Every bench above
// looks ids up (new orders check for a duplicate id; cancels find the order), so every bench
// exercises findPos; the difference shows where probe runs are long, i.e. with a full index.
//
//   clob bench micro [--batch 256] [--sweep 10] [--filter regex]
import { bench, group, run, summary } from 'mitata';
import * as L from '../assembly/layout.js';
import { Engine } from '../src/engine.js';
import type { CoreBuild } from '../src/core.js';
import type { RawCommand } from '../src/records.js';
import { emptyCommand } from '../src/records.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';

export interface MicroOptions {
  /** Operations per batch (K). */
  batch?: number;
  /** Levels taken by the sweep bench (N). */
  sweep?: number;
  /** Only benches whose name matches. */
  filter?: RegExp;
  builds?: CoreBuild[];
  /** mitata's output format (default 'mitata'). */
  format?: 'mitata' | 'json' | 'quiet' | 'markdown';
}

const SYMBOL = 1;
const BG_PER_SIDE = 24_000;

function order(id: number, side: number, price: number, qty: number, tif = L.TIF_GTC, account = 1): RawCommand {
  const c = emptyCommand();
  c.type = L.CMD_NEW;
  c.symbol = SYMBOL;
  c.account = account;
  c.side = side;
  c.orderType = L.ORDER_LIMIT;
  c.tif = tif;
  c.stp = L.STP_NONE;
  c.orderId = BigInt(id);
  c.price = BigInt(price);
  c.quantity = BigInt(qty);
  c.seq = 1n;
  return c;
}

function cancel(id: number, account = 1): RawCommand {
  const c = emptyCommand();
  c.type = L.CMD_CANCEL;
  c.symbol = SYMBOL;
  c.account = account;
  c.orderId = BigInt(id);
  c.seq = 1n;
  return c;
}

function addSymbol(): RawCommand {
  const c = emptyCommand();
  c.type = L.CMD_ADD_SYMBOL;
  c.symbol = SYMBOL;
  c.orderId = 1n; // tick
  c.price = 1n; // lot
  c.quantity = 1n; // band min
  c.clientOrderId = 65_536n; // band max
  return c;
}

function runAll(engine: Engine, cmds: RawCommand[]): void {
  const bytes = encodeCommands(cmds);
  const cap = engine.commands.capacity;
  for (let k = 0; k < cmds.length; k += cap) {
    engine.commands.append(bytes, k, Math.min(cap, cmds.length - k));
    engine.run();
  }
}

/** A fresh engine with the background book. */
function bookEngine(build: CoreBuild, batch: number): Engine {
  const engine = new Engine({ build, maxOrders: 1 << 16, maxSymbols: 2, ladderTicks: 65_536, batchSize: Math.max(4096, 4 * batch) });
  const cmds: RawCommand[] = [addSymbol()];
  for (let k = 0; k < BG_PER_SIDE; k++) {
    cmds.push(order(1 + k, L.SIDE_BUY, 20_000 + (k % 1000), 10));
    cmds.push(order(1 + BG_PER_SIDE + k, L.SIDE_SELL, 40_000 + (k % 1000), 10));
  }
  runAll(engine, cmds);
  return engine;
}

interface MicroCase {
  name: string;
  /** Operations per batch (what the per-operation figure divides by). */
  ops: number;
  opLabel: string;
  /** Commands to place before measuring (besides the background book). */
  prepare: RawCommand[];
  /** The batches to cycle through (state-neutral over a whole cycle). */
  batches: RawCommand[][];
  /** Rejects expected per cycle. */
  rejectsPerCycle: number;
}

function cases(K: number, N: number): MicroCase[] {
  const out: MicroCase[] = [];
  const ID = 1_000_000;

  // add + cancel (tail)
  {
    const b: RawCommand[] = [];
    for (let k = 0; k < K; k++) b.push(order(ID + k, L.SIDE_BUY, 20_000 + (k % 1000), 10, L.TIF_GTC, 2));
    for (let k = 0; k < K; k++) b.push(cancel(ID + k, 2));
    out.push({ name: 'add + cancel (tail)', ops: K, opLabel: 'pair', prepare: [], batches: [b], rejectsPerCycle: 0 });
  }

  // cancel at position m of a deep level, re-adding the order at the tail: the suffix from m rotates
  const deepLevel = (name: string, m: number) => {
    const depth = 2048;
    const ids = Array.from({ length: depth }, (_, k) => ID + k);
    const prepare = ids.map((id) => order(id, L.SIDE_BUY, 29_000, 10));
    const period = depth - m; // the suffix rotates with this period
    const cycle = lcm(period, K) / K;
    const batches: RawCommand[][] = [];
    let p = 0;
    for (let b = 0; b < cycle; b++) {
      const batch: RawCommand[] = [];
      for (let k = 0; k < K; k++, p++) {
        const id = ids[m + (p % period)];
        batch.push(cancel(id), order(id, L.SIDE_BUY, 29_000, 10));
      }
      batches.push(batch);
    }
    out.push({ name, ops: K, opLabel: 'cancel+re-add', prepare, batches, rejectsPerCycle: 0 });
  };
  deepLevel('cancel head (2,048-deep level)', 0);
  deepLevel('cancel middle (position 1,024)', 1024);

  // match one level: IOC takes exactly the head of a 1,024-order best ask; the maker is re-added
  {
    const depth = 1024;
    const ids = Array.from({ length: depth }, (_, k) => ID + k);
    const prepare = ids.map((id) => order(id, L.SIDE_SELL, 31_000, 10));
    const cycle = lcm(depth, K) / K;
    const batches: RawCommand[][] = [];
    let p = 0;
    for (let b = 0; b < cycle; b++) {
      const batch: RawCommand[] = [];
      for (let k = 0; k < K; k++, p++) {
        batch.push(order(9_000_000, L.SIDE_BUY, 31_000, 10, L.TIF_IOC, 3), order(ids[p % depth], L.SIDE_SELL, 31_000, 10));
      }
      batches.push(batch);
    }
    out.push({ name: 'match one level (IOC takes 1 order)', ops: K, opLabel: 'IOC+re-add', prepare, batches, rejectsPerCycle: 0 });
  }

  // sweep N one-order levels, then re-add them
  {
    const ids = Array.from({ length: N }, (_, k) => ID + k);
    const prepare = ids.map((id, k) => order(id, L.SIDE_SELL, 31_000 + k, 10));
    const reps = Math.max(1, Math.floor(K / (N + 1)));
    const batch: RawCommand[] = [];
    for (let r = 0; r < reps; r++) {
      batch.push(order(9_000_000, L.SIDE_BUY, 31_000 + N - 1, 10 * N, L.TIF_IOC, 3));
      ids.forEach((id, k) => batch.push(order(id, L.SIDE_SELL, 31_000 + k, 10)));
    }
    out.push({ name: `sweep ${N} levels (IOC) + ${N} re-adds`, ops: reps, opLabel: 'sweep', prepare, batches: [batch], rejectsPerCycle: 0 });
  }

  // id miss: cancel ids never seen
  {
    const b: RawCommand[] = [];
    for (let k = 0; k < K; k++) b.push(cancel(2_000_000_000 + k * 7919));
    out.push({ name: 'id miss (cancel of unknown id)', ops: K, opLabel: 'cancel', prepare: [], batches: [b], rejectsPerCycle: K });
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** Builds the engine for one case and returns the measured function (one batch per call). */
function prepareCase(c: MicroCase, build: CoreBuild, batch: number): () => void {
  const engine = bookEngine(build, batch);
  runAll(engine, c.prepare);
  const encoded = c.batches.map((b) => encodeCommands(b));
  const sizes = c.batches.map((b) => b.length);
  // check one full cycle: the rejects we expect and the resting count unchanged
  const live = engine.liveOrders;
  let rejects = 0;
  for (let i = 0; i < encoded.length; i++) {
    engine.commands.append(encoded[i], 0, sizes[i]);
    engine.run((ev) => {
      for (let k = 0; k < ev.count; k++) if (ev.select(k).type === L.EV_REJECTED) rejects++;
    });
  }
  if (rejects !== c.rejectsPerCycle * (c.rejectsPerCycle ? encoded.length : 1) || engine.liveOrders !== live) {
    throw new Error(`micro bench '${c.name}' (${build}): a cycle gave ${rejects} rejects and ${engine.liveOrders} resting orders (expected ${c.rejectsPerCycle} and ${live})`);
  }
  const w = engine.commands;
  let i = 0;
  const n = encoded.length;
  return () => {
    w.append(encoded[i], 0, sizes[i]);
    engine.run();
    i = i + 1 === n ? 0 : i + 1;
  };
}

export interface MicroRow { name: string; build: CoreBuild; opLabel: string; nsPerIteration: number; nsPerOp: number; ops: number }

export async function runMicro(opts: MicroOptions = {}): Promise<MicroRow[]> {
  const K = opts.batch ?? 256;
  const N = opts.sweep ?? 10;
  const builds = opts.builds ?? ['release', 'scalar'];
  console.log(`machine: ${describeMachine(machineInfo())}`);
  console.log(`batch K = ${K} operations per iteration (one append + one run()); sweep N = ${N}; figures below are per iteration, then per operation`);
  const all = cases(K, N).filter((c) => !opts.filter || opts.filter.test(c.name));
  const meta = new Map<string, { c: MicroCase; build: CoreBuild }>();
  for (const c of all) {
    summary(() => {
      group(c.name, () => {
        for (const build of builds) {
          const label = `${c.name} [${build}]`;
          meta.set(label, { c, build });
          bench(label, function* () {
            const f = prepareCase(c, build, K);
            yield f;
          });
        }
      });
    });
  }
  const result = await run({ format: opts.format ?? 'mitata' });
  const rows: MicroRow[] = [];
  for (const t of result.benchmarks) {
    for (const r of t.runs) {
      const m = meta.get(r.name);
      if (!m || !r.stats) {
        if (r.error) console.log(`${r.name}: ${String((r.error as Error).message ?? r.error)}`);
        continue;
      }
      rows.push({ name: m.c.name, build: m.build, opLabel: m.c.opLabel, nsPerIteration: r.stats.avg, ops: m.c.ops, nsPerOp: r.stats.avg / m.c.ops });
    }
  }
  console.log('\nper operation (mitata average per iteration / operations per batch):');
  console.log(`${'bench'.padEnd(40)} | ${'per'.padEnd(14)} | ${builds.map((b) => b.padStart(9)).join(' | ')}${builds.length === 2 ? ' | ratio' : ''}`);
  for (const c of all) {
    const v = builds.map((b) => rows.find((r) => r.name === c.name && r.build === b)?.nsPerOp);
    const ratio = v.length === 2 && v[0] && v[1] ? ` | ${(v[1] / v[0]).toFixed(2)}x` : '';
    console.log(`${c.name.padEnd(40)} | ${c.opLabel.padEnd(14)} | ${v.map((x) => (x === undefined ? '-' : `${x.toFixed(1)} ns`).padStart(9)).join(' | ')}${ratio}`);
  }
  if (builds.length === 2) console.log(`ratio = ${builds[1]} / ${builds[0]} (above 1: ${builds[0]} is faster)`);
  return rows;
}

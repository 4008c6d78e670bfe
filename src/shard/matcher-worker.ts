// One matching worker of the sharded engine: the single writer of its shard's books.
//
// It runs on its own thread (workers/matcher.mjs registers tsx and imports this file), over the
// ONE shared WebAssembly.Memory the host laid out (protocol.ts ShardRegions): its own instance of
// the core (whose globals are thread-local) runs the shard's arena. The loop:
//
//   n = inbound.available()               a contiguous run of command records in ring slots
//   core.process(arena, run, k, out, room) in place: one Wasm call per chunk of a run (k <= n stops
//                                          at a barrier; the core stops after layout.ts EVENT_CHUNK events)
//   events land straight in outbound ring slots, then publish; release the inbound slots
//
// The outbound ring is written without a copy: the matcher is its only producer, so it knows the
// next sequence (`outNext`); it checks that the slots from there to the wrap are free (against the
// consumer's CONSUMED word) and hold the worst case of one command (3 per resting order + 8),
// lets the core write there, and then claims and publishes exactly the events written. When the
// slots before the wrap are too few, it pads them (protocol.ts PAD_TYPE) and starts at slot 0.
// The resting-order count (for the worst case) and the events written are read from the arena
// header (layout.ts H_*), not asked of the core: process() is the loop's only Wasm call.
//
// The loop never blocks the thread for long: when idle it sleeps with Atomics.waitAsync (the
// router's publish wakes it), and when busy it yields to the event loop every couple of
// milliseconds, so the control plane (comlink: stats, barrier ops) is always served.
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { encodeSnapshot } from '../snapshot-format.js';
import * as Comlink from 'comlink';
import { createRequire } from 'node:module';
import * as layout from '../../assembly/layout.js';
import * as ringLayout from '../../assembly/ring-layout.js';
import { instantiateCore } from '../core.js';
import { SpscRing } from '../ring.js';
import { writeCommand } from '../records.js';
import { fromI64 } from '../int.js';
import { native } from '../native.js';
import { addSymbolCommand } from '../engine.js';
import {
  CTL_TYPE, CTL_MAGIC, CTL_MAGIC_AT, PAD_TYPE, CNT_DONE, CNT_STATE, STATE_RUNNING, STATE_DRAINED,
  type MatcherData, type MatcherApi, type MatcherStats, type ControlOp, type BarrierResult, type DepthRow,
} from './protocol.js';

const L = { ...layout }; // plain object: module namespaces are getters under tsx
const R = { ...ringLayout };
const require = createRequire(import.meta.url);
const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (ep: unknown) => Comlink.Endpoint;

const d = workerData as MatcherData;
const reg = d.regions;
const memory = d.memory;
const buffer = memory.buffer;
const u8 = new Uint8Array(buffer);
const u16 = new Uint16Array(buffer);
const u32 = new Uint32Array(buffer);
const i32 = new Int32Array(buffer);
const view = new DataView(buffer);
const MASK31 = R.RING_SEQ_MASK;
const YIELD_EVERY_MS = 2;
const IDLE_WAIT_MS = 50; // an idle matcher re-polls at least this often (also after a missed wake)

// ---- pinning -----------------------------------------------------------------------------------

let cpu = -1;
let pinError: string | undefined;
if (d.cpu >= 0) {
  if (!native) pinError = 'native helper not loaded';
  else {
    try {
      const got = native.setAffinity([d.cpu]);
      cpu = got.length === 1 ? got[0] : -1;
    } catch (e) {
      pinError = String((e as Error).message ?? e);
    }
  }
}

// ---- the core and the rings ----------------------------------------------------------------------

// Fault in this shard's pages now, from this thread (first touch also places them on this
// thread's NUMA node), instead of during traffic: a first write to a fresh page costs a page fault,
// and the outbound ring alone is tens of MiB (measured: 0.8M vs 4M commands/s while faulting).
// Nothing else touches these regions before ready() resolves; the arena is still all zero.
function prefault(at: number, bytes: number): void {
  for (let p = at, end = at + bytes; p < end; p += 4096) u8[p] = u8[p];
}
// Bind this shard's regions to the NUMA node of the CPU its matcher is pinned to, before the first
// touch, so its pages are local to it (mbind; on a single node the helper says so and does nothing).
function placeMemory(): string {
  if (cpu < 0 || !native) return 'first touch by the matcher (not pinned)';
  const node = native.topology().cpus.find((c) => c.cpu === cpu)?.node ?? -1;
  if (node < 0) return `first touch by the matcher (CPU ${cpu} has no NUMA node)`;
  const regions: [number, number][] = [[reg.arena, reg.arenaBytes], [reg.inbound, SpscRing.bytesFor(reg.inboundSlots)], [reg.outbound, SpscRing.bytesFor(reg.outboundSlots)]];
  for (const [at, bytes] of regions) {
    const r = native.bindMemory(u8.subarray(at, at + bytes), node);
    if (!r.applied) return `first touch by the matcher on CPU ${cpu} (not bound to node ${node}: ${r.reason})`;
  }
  return `bound to NUMA node ${node} (matcher on CPU ${cpu})`;
}
const memoryPolicy = placeMemory();
prefault(reg.arena, reg.arenaBytes);
prefault(reg.inbound, SpscRing.bytesFor(reg.inboundSlots));
prefault(reg.outbound, SpscRing.bytesFor(reg.outboundSlots));

const core = instantiateCore(d.build, memory);
const arena = reg.arena;
if (core.init(arena, d.maxOrders, d.maxSymbols, d.ladderTicks, 1) !== 0) throw new Error(`shard ${reg.shard}: the core refused its limits`);
const inbound = new SpscRing(memory, reg.inbound);
const outbound = new SpscRing(memory, reg.outbound);
const outCap = outbound.capacity;
const outMask = outbound.mask;
const iOutConsumed = (reg.outbound + R.RING_H_CONSUMED) >> 2;
const iOutProdSleeping = (reg.outbound + R.RING_H_PROD_SLEEPING) >> 2;
const iInSleeping = (reg.inbound + R.RING_H_CONS_SLEEPING) >> 2;
const iInWake = (reg.inbound + R.RING_H_WAKE) >> 2;
const iInClosed = (reg.inbound + R.RING_H_CLOSED) >> 2;
let outNext = i32[(reg.outbound + R.RING_H_CLAIM) >> 2]; // this thread is the only producer
let outConsumed = Atomics.load(i32, iOutConsumed);
const iDone = (reg.counters >> 2) + CNT_DONE;
let done = 0;
const cmdSlot = reg.scratch + reg.scratchBytes - L.CMD_SIZE; // control-plane command record
const io = reg.scratch; // query rows and the digest

const stats: MatcherStats = {
  shard: reg.shard, threadId, cpu, pinError, memoryPolicy, commands: 0, events: 0, runs: 0, barriers: 0,
  idleSpins: 0, sleeps: 0, outboundFull: 0, padding: 0, yields: 0, coreMs: 0,
};

// ---- output room ---------------------------------------------------------------------------------

/** The next command's worst case in events (3 per resting order + 8), from the arena header. */
const worstCase = () => u32[(arena + L.H_LIVE_ORDERS) >> 2] * L.EVENTS_PER_TOUCHED_ORDER + L.EVENTS_PER_COMMAND_BASE;
/** Events the last process() call wrote, from the arena header. */
const eventsWritten = () => u32[(arena + L.H_EVENTS_WRITTEN) >> 2];

/**
 * Contiguous free event slots at outNext holding at least `need`, padding up to the wrap first if
 * the slots before it are too few; 0 when the host has not consumed enough yet.
 */
function outRoom(need: number): number {
  let toWrap = outCap - (outNext & outMask);
  let free = outCap - ((outNext - outConsumed) & MASK31);
  if (free < need + L.EVENT_CHUNK || free < toWrap) {
    outConsumed = Atomics.load(i32, iOutConsumed);
    free = outCap - ((outNext - outConsumed) & MASK31);
  }
  if (toWrap < need) {
    if (free < toWrap) return 0;
    // Pad the tail: type 0 in every slot, the count in the last one.
    for (let k = 0; k < toWrap; k++) u8[outbound.slotOffset(outNext + k) + L.EVT_TYPE] = PAD_TYPE;
    u32[(outbound.slotOffset(outNext + toWrap - 1) + L.EVT_AUX32) >> 2] = toWrap;
    claimAndPublish(toWrap);
    stats.padding += toWrap;
    free -= toWrap;
    toWrap = outCap;
  }
  if (free < need) return 0;
  return free < toWrap ? free : toWrap;
}

function claimAndPublish(n: number): void {
  const seq = outbound.tryClaim(n);
  if (seq !== outNext) throw new Error(`shard ${reg.shard}: outbound claim ${seq}, expected ${outNext}`);
  outbound.publish(seq, n);
  outNext = (outNext + n) & MASK31;
}

/** Marks `n` inbound slots handled (after their events were published) and releases them. */
function handled(n: number): void {
  inbound.release(n);
  done = (done + n) | 0;
  Atomics.store(i32, iDone, done);
}

// ---- the hot path --------------------------------------------------------------------------------

const BLOCKED_OUT = -1;
const BLOCKED_CTL = -2;

const isBarrier = (at: number) => u8[at] === CTL_TYPE && u16[(at + CTL_MAGIC_AT) >> 1] === CTL_MAGIC;

/** One step: runs the ready run (up to a barrier) or one barrier. Slots handled, 0 if none ready. */
function step(): number {
  const n = inbound.available();
  if (n === 0) return 0;
  const at = inbound.readOffset;
  if (isBarrier(at)) return barrier(at) ? 1 : BLOCKED_CTL;
  let k = 1;
  while (k < n && !(u8[at + (k << 6)] === CTL_TYPE && isBarrier(at + (k << 6)))) k++;
  const need = worstCase();
  const room = outRoom(need);
  if (room === 0) {
    stats.outboundFull++;
    return BLOCKED_OUT;
  }
  const t0 = performance.now();
  const ran = core.process(arena, at, k, outbound.slotOffset(outNext), room);
  stats.coreMs += performance.now() - t0;
  if (ran <= 0) throw new Error(`shard ${reg.shard}: core.process returned ${ran} with room ${room} >= ${need}`);
  const m = eventsWritten();
  if (m > 0) claimAndPublish(m);
  handled(ran);
  stats.runs++;
  stats.commands += ran;
  stats.events += m;
  return ran;
}

// ---- barriers (control plane, in band) -----------------------------------------------------------

const pending = new Map<number, { op: ControlOp; resolve: (r: BarrierResult) => void; reject: (e: unknown) => void }>();
let wakeLoop: (() => void) | undefined; // set while the loop waits for a control op to arrive

/** Runs the barrier at `at` if its op has arrived (true), else false (the loop yields and retries). */
function barrier(at: number): boolean {
  const id = i32[(at + L.CMD_ORDER_ID) >> 2];
  const entry = pending.get(id);
  if (!entry) return false;
  const base = { shard: reg.shard, commands: stats.commands, events: stats.events };
  let result: BarrierResult;
  try {
    result = runOp(entry.op, base);
  } catch (e) {
    if (e === BLOCKED) return false; // no event room yet: retry later, nothing was done
    pending.delete(id);
    handled(1);
    entry.reject(e);
    return true;
  }
  pending.delete(id);
  stats.barriers++;
  handled(1);
  entry.resolve(result);
  return true;
}

const BLOCKED = Symbol('blocked');

function runOp(op: ControlOp, base: BarrierResult): BarrierResult {
  switch (op.op) {
    case 'sync': return base;
    case 'digest': return { ...base, digest: digest() };
    case 'snapshot': return { ...base, digest: digest(), snapshot: snapshot() };
    case 'depth': return { ...base, depth: op.symbols.map((s) => ({ symbol: s, bids: levels(s, L.SIDE_BUY, op.levels), asks: levels(s, L.SIDE_SELL, op.levels) })) };
    case 'add-symbol': {
      const room = outRoom(worstCase());
      if (room === 0) throw BLOCKED;
      writeCommand(view, cmdSlot, addSymbolCommand(op.spec));
      const first = outNext;
      if (core.process(arena, cmdSlot, 1, outbound.slotOffset(first), room) !== 1) throw new Error('add-symbol did not run');
      const m = eventsWritten();
      const copy = u8.slice(outbound.slotOffset(first), outbound.slotOffset(first) + m * L.EVT_SIZE);
      if (m > 0) claimAndPublish(m);
      stats.events += m;
      return { ...base, eventRecords: copy };
    }
    default: throw new TypeError(`unknown control op ${JSON.stringify(op)}`);
  }
}

function digest(): bigint {
  core.digest(arena, io);
  return view.getBigUint64(io, true);
}

function levels(symbol: number, side: number, max: number): DepthRow[] {
  const n = core.depth(arena, symbol, side, max, io);
  const out: DepthRow[] = [];
  for (let k = 0; k < n; k++) {
    const row = io + k * L.DEPTH_ROW_SIZE;
    out.push({
      price: fromI64(view.getBigInt64(row + L.DEPTH_PRICE, true), false),
      quantity: fromI64(view.getBigInt64(row + L.DEPTH_TOTAL, true), false),
      orders: view.getUint32(row + L.DEPTH_COUNT, true),
    });
  }
  return out;
}

// Engine.snapshot()'s format, so Engine.restore() reads a shard's snapshot.
function snapshot(): Uint8Array {
  return encodeSnapshot({ maxOrders: d.maxOrders, maxSymbols: d.maxSymbols, ladderTicks: d.ladderTicks, digest: digest(), nextSeq: 1n },
    u8.subarray(arena, arena + reg.arenaBytes));
}

// ---- the loop ------------------------------------------------------------------------------------

// Atomics.waitAsync is in V8 (Node 16+) but in TypeScript's lib only from es2024.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Sleeps until the router publishes (or closes), without blocking the event loop. */
async function sleepOnInbound(): Promise<void> {
  Atomics.store(i32, iInSleeping, 1);
  const wake = Atomics.load(i32, iInWake);
  if (inbound.available() > 0 || Atomics.load(i32, iInClosed) !== 0) {
    Atomics.store(i32, iInSleeping, 0);
    return;
  }
  stats.sleeps++;
  const w = waitAsync(i32, iInWake, wake, IDLE_WAIT_MS);
  if (w.async) await w.value;
  Atomics.store(i32, iInSleeping, 0);
}

/** Waits for the host to consume events (its release notifies CONSUMED when producers sleep). */
async function sleepOnOutbound(): Promise<void> {
  Atomics.add(i32, iOutProdSleeping, 1);
  const c = Atomics.load(i32, iOutConsumed);
  if (c === outConsumed) {
    const w = waitAsync(i32, iOutConsumed, c, IDLE_WAIT_MS);
    if (w.async) await w.value;
  }
  Atomics.sub(i32, iOutProdSleeping, 1);
}

let drainedResolve: ((s: MatcherStats) => void) | undefined;
const drainedPromise = new Promise<MatcherStats>((resolve) => { drainedResolve = resolve; });

async function loop(): Promise<void> {
  let lastYield = performance.now();
  let sinceCheck = 0;
  for (;;) {
    const r = step();
    if (r > 0) {
      if (++sinceCheck >= 64) {
        sinceCheck = 0;
        const now = performance.now();
        if (now - lastYield >= YIELD_EVERY_MS) {
          stats.yields++;
          await tick();
          lastYield = performance.now();
        }
      }
      continue;
    }
    if (r === BLOCKED_OUT) {
      await sleepOnOutbound();
      lastYield = performance.now();
      continue;
    }
    if (r === BLOCKED_CTL) {
      // The barrier's op is still in the message queue: let the event loop deliver it.
      await new Promise<void>((resolve) => { wakeLoop = resolve; setTimeout(resolve, IDLE_WAIT_MS); });
      wakeLoop = undefined;
      lastYield = performance.now();
      continue;
    }
    // Nothing ready: spin a little, then sleep.
    let spins = 0;
    while (spins < d.spins && inbound.available() === 0 && Atomics.load(i32, iInClosed) === 0) spins++;
    stats.idleSpins += spins;
    if (inbound.available() > 0) continue;
    if (Atomics.load(i32, iInClosed) !== 0) {
      if (inbound.available() > 0) continue; // published before the close
      break;
    }
    await sleepOnInbound();
    lastYield = performance.now();
  }
  // Closed and drained: every command's events are published. Close the event ring.
  outbound.close();
  Atomics.store(i32, (reg.counters >> 2) + CNT_STATE, STATE_DRAINED);
  for (const [, p] of pending) p.reject(new Error(`shard ${reg.shard} shut down before this barrier`));
  pending.clear();
  drainedResolve!({ ...stats });
}

// ---- start: symbols, then the control plane, then the loop -----------------------------------------

for (const spec of d.symbols) {
  writeCommand(view, cmdSlot, addSymbolCommand(spec));
  // Events go to the scratch rows (not published), as Engine's constructor discards them.
  if (core.process(arena, cmdSlot, 1, io, L.EVENTS_PER_COMMAND_BASE) !== 1) throw new Error('add-symbol did not run');
  if (u8[io + L.EVT_TYPE] === L.EV_REJECTED) throw new RangeError(`symbol ${spec.id}: rejected with reason ${u8[io + L.EVT_REASON]}`);
}

const api: MatcherApi = {
  async ready() { return { ...stats }; },
  control(id: number, op: ControlOp) {
    return new Promise<BarrierResult>((resolve, reject) => {
      pending.set(id, { op, resolve, reject });
      wakeLoop?.();
    }).then((r) => (r.snapshot ? Comlink.transfer(r, [r.snapshot.buffer]) : r));
  },
  stats() { return { ...stats }; },
  drained() { return drainedPromise; },
  exit() { setImmediate(() => parentPort!.close()); },
};
Comlink.expose(api, nodeEndpoint(parentPort));
Atomics.store(i32, (reg.counters >> 2) + CNT_STATE, STATE_RUNNING);
loop().catch((e) => {
  // A broken matcher must not hang the host: report through the exit code.
  console.error(`clob shard ${reg.shard}: matcher failed:`, e);
  process.exit(1);
});

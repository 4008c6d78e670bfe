// ShardedEngine: symbols sharded across matching workers, one shared WebAssembly.Memory.
//
// Memory map (bytes, 64-byte aligned regions, above the core's reserved first 64 KiB):
//   counters   one 64-byte line per shard (protocol.ts CNT_*): slots handled, state
//   router     (the caller's only) symbol -> shard table, one cursor per shard
//              (assembly/scatter-layout.ts), STAGE_RECORDS staged command records, and per
//              shard a backlog of `backlogRecords` records held while its inbound ring is full
//   per shard: scratch   query rows, the digest, one control-plane command slot
//              inbound   SPSC ring of 64-byte command records (router -> matcher), `inboundSlots`
//              outbound  SPSC ring of 64-byte event records (matcher -> host), a power of two
//                        >= 3 * maxOrders + 8 + EVENT_CHUNK (the worst case of one command plus a
//                        chunk, so the matcher can always make progress; docs/SHARDS.md)
//              arena     the shard's books (the core lays it out)
//
// Threads: the caller's thread routes (stages a run of records in the shared memory, then one
// Wasm call, rings.wasm scatterRecords, copies each into its shard's inbound ring slot) and hands
// over events (reads each shard's outbound ring); each matcher is the
// single writer of its shard's books. The control plane (barrier ops, stats, shutdown) goes over
// comlink; every barrier op is also a record in the inbound ring, so it happens at a definite
// point of the shard's command stream (a sequence barrier).
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as Comlink from 'comlink';
import * as layout from '../../assembly/layout.js';
import * as ringLayout from '../../assembly/ring-layout.js';
import * as scatterLayout from '../../assembly/scatter-layout.js';
import { usesSharedMemory, arenaBytesFor, alignRegion, wasmDir, MAX_PAGES, WASM_PAGE, FIRST_HOST_BYTE, QUERY_SCRATCH_BYTES, type CoreBuild } from '../core.js';
import { SpscRing } from '../ring.js';
import { EventReader } from '../batch.js';
import { readEvent } from '../records.js';
import { toEngineEvent, type EngineEvent } from '../events.js';
import { native } from '../native.js';
import type { SymbolSpec } from '../engine.js';
import {
  CTL_TYPE, CTL_MAGIC, CTL_MAGIC_AT, PAD_TYPE, CNT_BYTES, CNT_DONE, CNT_STATE, STATE_DRAINED,
  type ShardRegions, type MatcherData, type MatcherApi, type MatcherStats, type ControlOp, type BarrierResult, type SymbolDepth,
} from './protocol.js';

const L = { ...layout };
const R = { ...ringLayout };
const S = { ...scatterLayout };
const require = createRequire(import.meta.url);
const nodeEndpoint = require('comlink/dist/umd/node-adapter.js') as (ep: unknown) => Comlink.Endpoint;

const align = alignRegion;
/** Records route() stages in the shared memory at a time (256 KiB: stays in the caller's L2). */
const STAGE_RECORDS = 4096;
type ScatterRecords = (src: number, count: number, table: number, maxSymbols: number, cursors: number, shards: number, special: number) => number;
let scatterModule: WebAssembly.Module | undefined;
const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(2, n)));
// Compiled (dist/src/shard/*.js), the worker is the compiled matcher-worker.js itself; run from
// the TypeScript sources, workers/matcher.mjs registers tsx first (workers do not inherit it).
const MATCHER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../workers/matcher.mjs', import.meta.url)
  : new URL('./matcher-worker.js', import.meta.url);

/** Which shard owns a symbol: a map (symbol id -> shard) or a function of the id. */
export type ShardAssignment = Record<number, number> | ((symbol: number, shards: number) => number);

/** The default assignment: a Fibonacci hash of the symbol id, stable across runs and machines. */
export function defaultShardOf(symbol: number, shards: number): number {
  return ((Math.imul(symbol >>> 0, 0x9e3779b1) >>> 0) * shards) / 4294967296 >>> 0;
}

export interface ShardedEngineOptions {
  /** Matching workers (1..64). */
  shards: number;
  /** Symbols added before traffic, each on its shard (an invalid one throws). */
  symbols?: SymbolSpec[];
  /** Resting orders at most, PER SHARD (default 262,144). */
  maxOrders?: number;
  /** Symbol ids 1..maxSymbols (the same id space on every shard; default 1,024). */
  maxSymbols?: number;
  /** Price-ladder entries PER SHARD: the sum of the band widths of its symbols (default 4,194,304). */
  ladderTicks?: number;
  /** release (default) or debug: a shared-memory build (scalar has no shared memory). */
  build?: Exclude<CoreBuild, 'scalar'>;
  /** Pin each matcher to a CPU with the native helper (if it loads). */
  pin?: boolean;
  /** Symbol -> shard (default defaultShardOf). Symbols a map leaves out use defaultShardOf. */
  assign?: ShardAssignment;
  /** Inbound ring slots per shard, a power of two (default 16,384: 1 MiB). */
  inboundSlots?: number;
  /** Records the router holds per shard, in order, while that shard's inbound ring is full, routing the other shards' records meanwhile; a power of two (default 16,384: 1 MiB). */
  backlogRecords?: number;
  /** Empty polls before an idle matcher sleeps (default 1,000, a few microseconds: on an oversubscribed machine a spinning matcher takes the CPU the router needs). */
  spins?: number;
  /** The router publishes each shard's written slots about every this many records per shard (one Wasm call routes publishEvery x shards records; default 64), and at the end of each route() call. */
  publishEvery?: number;
  /**
   * Receives events, shard by shard, in each shard's order: `events` is a flyweight over the
   * shard's outbound ring slots, valid only during the call (copy what you keep).
   */
  onEvents?: (events: EventReader, shard: number) => void;
}

export interface ShardStats extends MatcherStats {
  /** Records the router wrote to this shard (commands, broadcast copies and barriers). */
  routed: number;
  /** Slots waiting in the inbound ring, records held in the router's backlog for it, and events waiting in the outbound ring, right now. */
  inboundDepth: number;
  backlogDepth: number;
  outboundDepth: number;
}

export interface ShardSnapshot {
  shard: number;
  /** Engine.snapshot() format: `Engine.restore(bytes)` gives a single engine with this shard's books. */
  bytes: Uint8Array;
  digest: bigint;
  /** Commands the shard had run at the barrier. */
  commands: number;
}

/** An EventReader whose records are one run of ring slots. */
class RunReader extends EventReader {
  setRun(at: number, count: number): void {
    (this as unknown as { base: number }).base = at;
    this.count = count;
  }
}

interface Shard {
  index: number;
  regions: ShardRegions;
  inbound: SpscRing;
  outbound: SpscRing;
  worker: Worker;
  remote: Comlink.Remote<MatcherApi>;
  /** First unpublished claimed sequence and how many slots are written but unpublished. */
  pendingFirst: number;
  pending: number;
  /** Slots routed, mod 2^32 (compared with the matcher's CNT_DONE). */
  routed: number;
  exited: boolean;
  exitCode: number | undefined;
  error: Error | undefined;
  cpu: number;
}

export class ShardedEngine {
  readonly shards: number;
  readonly memory: WebAssembly.Memory;
  readonly maxOrders: number;
  readonly maxSymbols: number;
  readonly ladderTicks: number;
  readonly build: CoreBuild;
  /** What pinning did: the CPU of each matcher (-1 unpinned) and why. */
  readonly pinning: { requested: boolean; cpus: number[]; note: string };
  /** Events handed to onEvents so far (padding excluded). */
  eventsDelivered = 0;
  /** Times the router found a shard's inbound ring AND its backlog full, and the ms it then spent waiting for room (polling events and moving the other shards' held records meanwhile). */
  readonly routerWaits = { full: 0, ms: 0 };
  onEvents: ((events: EventReader, shard: number) => void) | undefined;

  private readonly shardList: Shard[];
  private readonly table: Uint8Array; // symbol id -> shard, for ids 1..maxSymbols, in the router region
  private readonly tableAt: number;
  private readonly cursorsAt: number; // one scatter cursor per shard
  private readonly ctlWords = new Int32Array(L.CMD_SIZE >> 2); // a barrier record, built here and put like any record
  private readonly stageAt: number; // STAGE_RECORDS command records
  private readonly scatter: ScatterRecords;
  private readonly assign: (symbol: number) => number;
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly reader: RunReader;
  private readonly publishEvery: number;
  private nextOp = 1;
  private closed = false;
  private source: Uint8Array | undefined;
  private sourceWords: Int32Array = new Int32Array(0);

  private constructor(opts: ShardedEngineOptions, regions: ShardRegions[], memory: WebAssembly.Memory, router: { table: number; cursors: number; stage: number; backlogs: number; backlogRecords: number }, limits: { maxOrders: number; maxSymbols: number; ladderTicks: number }) {
    this.shards = opts.shards;
    this.memory = memory;
    this.maxOrders = limits.maxOrders;
    this.maxSymbols = limits.maxSymbols;
    this.ladderTicks = limits.ladderTicks;
    this.build = opts.build ?? 'release';
    this.onEvents = opts.onEvents;
    this.publishEvery = opts.publishEvery ?? 64;
    const buffer = memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.reader = new RunReader(buffer, 0, 0);
    const assign = opts.assign;
    const shards = this.shards;
    const fn = typeof assign === 'function'
      ? (s: number) => assign(s, shards)
      : assign
        ? (s: number) => (Object.prototype.hasOwnProperty.call(assign, s) ? assign[s] : defaultShardOf(s, shards))
        : (s: number) => defaultShardOf(s, shards);
    this.assign = (s: number) => {
      const k = fn(s);
      if (!Number.isInteger(k) || k < 0 || k >= shards) throw new RangeError(`assign: symbol ${s} -> shard ${k}, not 0..${shards - 1}`);
      return k;
    };
    this.tableAt = router.table;
    this.cursorsAt = router.cursors;
    this.stageAt = router.stage;
    this.table = this.u8.subarray(this.tableAt, this.tableAt + this.maxSymbols + 1);
    for (let s = 1; s <= this.maxSymbols; s++) this.table[s] = this.assign(s);
    this.shardList = regions.map((r) => ({
      index: r.shard, regions: r,
      inbound: new SpscRing(memory, r.inbound), outbound: new SpscRing(memory, r.outbound),
      worker: undefined as unknown as Worker, remote: undefined as unknown as Comlink.Remote<MatcherApi>,
      pendingFirst: 0, pending: 0, routed: 0, exited: false, exitCode: undefined, error: undefined, cpu: -1,
    }));
    for (const sh of this.shardList) {
      const c = (this.cursorsAt + sh.index * S.SCATTER_CURSOR) >> 2;
      this.i32[c + (S.SCATTER_SLOTS_AT >> 2)] = sh.inbound.slotsAt;
      this.i32[c + (S.SCATTER_MASK >> 2)] = sh.inbound.mask;
      const heldAt = router.backlogs + sh.index * router.backlogRecords * L.CMD_SIZE;
      this.i32[c + (S.SCATTER_HELD_AT >> 2)] = heldAt;
      this.i32[c + (S.SCATTER_HELD_MASK >> 2)] = router.backlogRecords - 1;
      this.u8.fill(0, heldAt, heldAt + router.backlogRecords * L.CMD_SIZE); // first touch now, not during traffic
    }
    // rings.wasm imports the memory alone and has no statics: an instance on this thread is free.
    scatterModule ??= new WebAssembly.Module(readFileSync(join(wasmDir(), 'rings.wasm')));
    const rings = new WebAssembly.Instance(scatterModule, { env: { memory } });
    this.scatter = rings.exports.scatterRecords as ScatterRecords;
    this.pinning = { requested: opts.pin === true, cpus: this.shardList.map(() => -1), note: 'not requested' };
  }

  /**
   * Lays out the shared memory, starts every matcher (40-130 ms each, in parallel) and waits until
   * all of them run: create before traffic, never per request.
   */
  static async create(opts: ShardedEngineOptions): Promise<ShardedEngine> {
    const shards = opts.shards;
    if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new RangeError(`shards must be an integer from 1 to 64; got ${String(shards)}`);
    const build = opts.build ?? 'release';
    if (!usesSharedMemory(build)) throw new RangeError(`build '${build}' has no shared memory: the sharded engine needs release or debug`);
    const maxOrders = opts.maxOrders ?? 1 << 18;
    const maxSymbols = opts.maxSymbols ?? 1024;
    const ladderTicks = opts.ladderTicks ?? 1 << 22;
    const inboundSlots = opts.inboundSlots ?? 16384;
    const backlogRecords = opts.backlogRecords ?? 16384;
    if (!(maxOrders >= 1 && maxOrders <= L.MAX_ORDERS)) throw new RangeError(`maxOrders must be 1..${L.MAX_ORDERS}`);
    if (inboundSlots !== pow2(inboundSlots) || inboundSlots > R.RING_MAX_CAPACITY) throw new RangeError('inboundSlots must be a power of two up to 2^24');
    if (backlogRecords !== pow2(backlogRecords) || backlogRecords > R.RING_MAX_CAPACITY) throw new RangeError('backlogRecords must be a power of two from 2 up to 2^24');
    const outboundSlots = pow2(maxOrders * L.EVENTS_PER_TOUCHED_ORDER + L.EVENTS_PER_COMMAND_BASE + L.EVENT_CHUNK);
    if (outboundSlots > R.RING_MAX_CAPACITY) throw new RangeError('maxOrders too large for one outbound ring');

    if (!usesSharedMemory(build)) throw new RangeError(`the sharded engine needs a build with shared memory (release or debug); got '${build}'`);
    const arenaBytes = arenaBytesFor(build, maxOrders, maxSymbols, ladderTicks);
    if (arenaBytes === 0) throw new RangeError('maxOrders, maxSymbols and ladderTicks together need more than 4 GiB');
    const scratchBytes = align(QUERY_SCRATCH_BYTES + L.CMD_SIZE);

    let at = FIRST_HOST_BYTE;
    const countersAt = at;
    at += shards * CNT_BYTES;
    const router = { table: at, cursors: 0, stage: 0, backlogs: 0, backlogRecords };
    at = align(at + maxSymbols + 1);
    router.cursors = at; at = align(at + shards * S.SCATTER_CURSOR);
    router.stage = at; at = align(at + STAGE_RECORDS * L.CMD_SIZE);
    router.backlogs = at; at = align(at + shards * backlogRecords * L.CMD_SIZE);
    const regions: ShardRegions[] = [];
    for (let k = 0; k < shards; k++) {
      const scratch = at; at = align(at + scratchBytes);
      const inbound = at; at = align(at + SpscRing.bytesFor(inboundSlots));
      const outbound = at; at = align(at + SpscRing.bytesFor(outboundSlots));
      const arena = at; at = align(at + arenaBytes);
      regions.push({ shard: k, arena, arenaBytes, inbound, inboundSlots, outbound, outboundSlots, scratch, scratchBytes, counters: countersAt + k * CNT_BYTES });
    }
    const pages = Math.ceil(at / WASM_PAGE);
    if (pages > MAX_PAGES) throw new RangeError(`the sharded layout needs ${pages} pages (${(at / 2 ** 30).toFixed(2)} GiB); the limit is 4 GiB: lower maxOrders, ladderTicks or shards`);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
    for (const r of regions) {
      SpscRing.init(memory, r.inbound, inboundSlots, { wait: 'blocking' });
      SpscRing.init(memory, r.outbound, outboundSlots, { wait: 'blocking' });
    }

    const engine = new ShardedEngine(opts, regions, memory, router, { maxOrders, maxSymbols, ladderTicks });
    const cpus = engine.planPinning();
    const bySymbol: SymbolSpec[][] = regions.map(() => []);
    for (const spec of opts.symbols ?? []) bySymbol[engine.shardOf(Number(spec.id))].push(spec);

    const started: Promise<MatcherStats>[] = [];
    for (const sh of engine.shardList) {
      const data: MatcherData = {
        memory, regions: sh.regions, shards, build, maxOrders, maxSymbols, ladderTicks,
        symbols: bySymbol[sh.index], cpu: cpus[sh.index], spins: opts.spins ?? 1000,
      };
      const worker = new Worker(MATCHER_URL, { workerData: data });
      sh.worker = worker;
      sh.remote = Comlink.wrap<MatcherApi>(nodeEndpoint(worker));
      const exited = new Promise<never>((_, reject) => {
        worker.once('error', (e) => { sh.error = e; reject(e); });
        worker.once('exit', (code) => {
          sh.exited = true;
          sh.exitCode = code;
          reject(sh.error ?? new Error(`shard ${sh.index}: matcher exited with code ${code}`));
        });
      });
      exited.catch(() => undefined);
      started.push(Promise.race([sh.remote.ready(), exited]));
    }
    try {
      const ready = await Promise.all(started);
      ready.forEach((s, k) => { engine.shardList[k].cpu = s.cpu; engine.pinning.cpus[k] = s.cpu; });
      const errs = ready.filter((s) => s.pinError).map((s) => `shard ${s.shard}: ${s.pinError}`);
      if (errs.length) (engine.pinning as { note: string }).note += `; failed: ${errs.join('; ')}`;
    } catch (e) {
      await engine.terminate();
      throw e;
    }
    return engine;
  }

  /** CPUs for the matchers (-1 = unpinned), and the note that explains the choice. */
  private planPinning(): number[] {
    const none = this.shardList.map(() => -1);
    const p = this.pinning as { requested: boolean; cpus: number[]; note: string };
    if (!p.requested) return none;
    if (!native) { p.note = 'requested, but the native helper did not load: unpinned'; return none; }
    const allowed = native.getAffinity();
    if (allowed.length > this.shards) {
      // One core each, and the first allowed CPU left to the caller's thread (router + event consumer).
      p.note = `one CPU per matcher (${allowed.slice(1, 1 + this.shards).join(',')}); CPU ${allowed[0]} left to the caller (unpinned)`;
      return this.shardList.map((s) => allowed[1 + s.index]);
    }
    // Not enough CPUs for the matchers plus the caller: one CPU per matcher while they last
    // (round robin beyond), the caller unpinned so the kernel runs it wherever a matcher sleeps.
    p.note = `${allowed.length} CPUs for ${this.shards} matchers + the caller: matcher k on CPU ${allowed.length >= this.shards ? 'k' : 'k mod ' + allowed.length} (${this.shardList.map((s) => allowed[s.index % allowed.length]).join(',')}); the caller unpinned shares them`;
    return this.shardList.map((s) => allowed[s.index % allowed.length]);
  }

  /** The shard that owns a symbol (symbol 0 and ids beyond maxSymbols included). */
  shardOf(symbol: number): number {
    if (symbol === 0) return 0;
    return symbol <= this.maxSymbols ? this.table[symbol] : this.assign(symbol);
  }

  // ---- router ------------------------------------------------------------------------------------

  /**
   * Routes `count` encoded 64-byte command records from `source`, starting at record `first`:
   * each is copied into a slot of its shard's inbound ring or, while that ring is full, into the
   * shard's backlog in the router's memory (in order; it moves to the ring before any newer
   * record of that shard, at the next route(), poll(), flush() or barrier). Runs of records are
   * staged in the shared memory (one copy of STAGE_RECORDS records) and scattered by one Wasm
   * call per `publishEvery x shards` records, each followed by one publish per shard; the records
   * the Wasm router leaves to the host (symbol 0: a MASS_CANCEL with symbol 0 and an account goes
   * to every shard; ids beyond maxSymbols; barrier look-alikes; a shard whose backlog is full)
   * go one by one. Only a shard whose ring and backlog are both full makes it wait (publishing,
   * polling events and moving the other shards' records meanwhile).
   */
  route(source: Uint8Array, first: number, count: number): void {
    if (this.closed) throw new Error('the sharded engine is shut down');
    if (first < 0 || (first + count) * L.CMD_SIZE > source.length) throw new RangeError(`records ${first}..${first + count} are not all in the source`);
    if (source !== this.source) {
      if (source.byteOffset % 4 !== 0) throw new RangeError('source must start on a 4-byte boundary');
      this.source = source;
      this.sourceWords = new Int32Array(source.buffer, source.byteOffset, source.length >>> 2);
    }
    const batch = this.publishEvery * this.shards;
    for (let r = first, end = first + count; r < end;) {
      const n = Math.min(end - r, STAGE_RECORDS);
      this.u8.set(source.subarray(r * L.CMD_SIZE, (r + n) * L.CMD_SIZE), this.stageAt);
      for (let i = 0; i < n;) {
        const ask = Math.min(n - i, batch);
        const got = this.scatterRun(this.stageAt + i * L.CMD_SIZE, ask);
        i += got;
        if (got < ask) this.routeOne(this.sourceWords, (r + i++) << 4);
      }
      r += n;
    }
    this.publish();
  }

  /** Records held in shard k's backlog. */
  private held(k: number): number {
    return this.i32[((this.cursorsAt + k * S.SCATTER_CURSOR + S.SCATTER_HELD) >> 2)];
  }

  /**
   * One Wasm call: moves held records into rings with room, then scatters up to `n` staged
   * records at `at` (n = 0: only the move); claims and publishes what it wrote. Returns the
   * records routed.
   */
  private scatterRun(at: number, n: number): number {
    const i32 = this.i32;
    const shards = this.shardList;
    for (let k = 0; k < shards.length; k++) {
      const ring = shards[k].inbound;
      const c = (this.cursorsAt + k * S.SCATTER_CURSOR) >> 2;
      i32[c + (S.SCATTER_NEXT >> 2)] = ring.claimSequence;
      i32[c + (S.SCATTER_ROOM >> 2)] = ring.room(n + i32[c + (S.SCATTER_HELD >> 2)]);
    }
    const routed = this.scatter(at, n, this.tableAt, this.maxSymbols, this.cursorsAt, shards.length, CTL_TYPE);
    for (let k = 0; k < shards.length; k++) {
      const sh = shards[k];
      const c = (this.cursorsAt + k * S.SCATTER_CURSOR) >> 2;
      const written = (i32[c + (S.SCATTER_NEXT >> 2)] - sh.inbound.claimSequence) & R.RING_SEQ_MASK;
      if (written === 0) continue;
      const seq = sh.inbound.tryClaim(written); // never -1: the slots were free
      if (sh.pending === 0) sh.pendingFirst = seq;
      sh.pending += written;
      this.publishShard(sh);
    }
    return routed;
  }

  /** Moves held records into the rings as far as they have room (no wait). */
  private moveHeld(): void {
    for (let k = 0; k < this.shards; k++) {
      if (this.held(k) !== 0) { this.scatterRun(this.stageAt, 0); return; }
    }
  }

  /** Routes the one record at src[w] (16 words) by the rules in route(). */
  private routeOne(src: Int32Array, w: number): void {
    const shards = this.shardList;
    const symbol = src[w + (L.CMD_SYMBOL >> 2)] >>> 0;
    if (symbol === 0) {
      if ((src[w] & 0xff) === L.CMD_MASS_CANCEL && src[w + (L.CMD_ACCOUNT >> 2)] !== 0) {
        for (let k = 0; k < shards.length; k++) this.put(shards[k], src, w, false);
      } else this.put(shards[0], src, w, false);
    } else this.put(shards[this.shardOf(symbol)], src, w, false);
  }

  /**
   * Copies one record (16 words at src[w]) into the next slot of `sh`'s inbound ring, or behind
   * the records its backlog holds (waiting only if that is full too). `barrier`: the record is a
   * barrier (the magic is set), else a look-alike's magic is cleared.
   */
  private put(sh: Shard, src: Int32Array, w: number, barrier: boolean): void {
    const i32 = this.i32;
    const c = (this.cursorsAt + sh.index * S.SCATTER_CURSOR) >> 2;
    let at: number;
    let seq = -1;
    if (i32[c + (S.SCATTER_HELD >> 2)] === 0) seq = sh.inbound.tryClaim(1);
    if (seq >= 0) {
      at = sh.inbound.slotOffset(seq);
    } else {
      const mask = i32[c + (S.SCATTER_HELD_MASK >> 2)];
      if (i32[c + (S.SCATTER_HELD >> 2)] > mask) this.waitForBacklogRoom(sh);
      const end = i32[c + (S.SCATTER_HELD_END >> 2)];
      at = i32[c + (S.SCATTER_HELD_AT >> 2)] + end * L.CMD_SIZE;
      i32[c + (S.SCATTER_HELD_END >> 2)] = (end + 1) & mask;
      i32[c + (S.SCATTER_HELD >> 2)]++;
    }
    let d = at >> 2;
    for (let k = 0; k < 16; k++) i32[d++] = src[w + k];
    if (barrier) this.u16[(at + CTL_MAGIC_AT) >> 1] = CTL_MAGIC;
    else if (this.u8[at] === CTL_TYPE && this.u16[(at + CTL_MAGIC_AT) >> 1] === CTL_MAGIC) this.u16[(at + CTL_MAGIC_AT) >> 1] = 0;
    if (seq < 0) return;
    if (sh.pending === 0) sh.pendingFirst = seq;
    sh.pending++;
    this.publishShard(sh);
  }

  /** `sh`'s ring and backlog are full: publish, poll events (the matcher may wait for event room) and move held records until its backlog has room. */
  private waitForBacklogRoom(sh: Shard): void {
    const t0 = performance.now();
    this.routerWaits.full++;
    const mask = this.i32[(this.cursorsAt + sh.index * S.SCATTER_CURSOR + S.SCATTER_HELD_MASK) >> 2];
    this.waitUntil(sh, () => this.held(sh.index) <= mask);
    this.routerWaits.ms += performance.now() - t0;
  }

  /** Blocks until every held record is in its ring (flush, shutdown). */
  private emptyBacklogs(): void {
    for (const sh of this.shardList) if (this.held(sh.index) !== 0) this.waitUntil(sh, () => this.held(sh.index) === 0);
  }

  /** Publishes, polls events and moves held records (every shard's), sleeping on `sh`'s consumer sequence, until `done()`. */
  private waitUntil(sh: Shard, done: () => boolean): void {
    const i32 = this.i32;
    const iConsumed = (sh.regions.inbound + R.RING_H_CONSUMED) >> 2;
    const iProdSleeping = (sh.regions.inbound + R.RING_H_PROD_SLEEPING) >> 2;
    let spins = 0;
    const since = Date.now();
    for (;;) {
      this.poll();
      if (done()) return;
      this.checkAlive(since);
      if (++spins < 64) continue;
      // Sleep on the matcher's consumer sequence (its release notifies sleeping producers).
      Atomics.add(i32, iProdSleeping, 1);
      const c = Atomics.load(i32, iConsumed);
      if (sh.inbound.room(1) === 0) Atomics.wait(i32, iConsumed, c, 1);
      Atomics.sub(i32, iProdSleeping, 1);
    }
  }

  private publishShard(sh: Shard): void {
    if (sh.pending === 0) return;
    sh.inbound.publish(sh.pendingFirst, sh.pending);
    sh.routed = (sh.routed + sh.pending) | 0;
    sh.pending = 0;
  }

  /** Makes every written command visible to its matcher. */
  publish(): void {
    for (const sh of this.shardList) this.publishShard(sh);
  }

  // ---- events ------------------------------------------------------------------------------------

  /**
   * Hands every event the matchers have published to onEvents, shard by shard (each shard's
   * events in order; per symbol, that is the symbol's order). First moves held records into
   * rings with room and publishes pending commands.
   * Returns the number of events delivered.
   */
  poll(): number {
    this.moveHeld();
    let delivered = 0;
    for (const sh of this.shardList) {
      this.publishShard(sh);
      delivered += this.drainShard(sh);
    }
    this.eventsDelivered += delivered;
    return delivered;
  }

  private drainShard(sh: Shard): number {
    const out = sh.outbound;
    let delivered = 0;
    for (;;) {
      const n = out.available();
      if (n === 0) return delivered;
      const at = out.readOffset;
      let deliver = n;
      if (((at - out.slotsAt) >> 6) + n === out.capacity) {
        const last = at + ((n - 1) << 6);
        if (this.u8[last + L.EVT_TYPE] === PAD_TYPE) deliver = Math.max(0, n - this.u32[(last + L.EVT_AUX32) >> 2]);
      }
      if (deliver > 0 && this.onEvents) {
        this.reader.setRun(at, deliver);
        this.onEvents(this.reader, sh.index);
      }
      delivered += deliver;
      out.release(n);
    }
  }

  /** True when every routed command of every shard has been run and its events delivered. */
  private caughtUp(): boolean {
    for (const sh of this.shardList) {
      if (sh.pending !== 0 || this.held(sh.index) !== 0 || Atomics.load(this.i32, (sh.regions.counters >> 2) + CNT_DONE) !== sh.routed) return false;
    }
    this.poll(); // everything counted as done was published before the count
    return true;
  }

  /**
   * Blocks the caller's thread until every command routed so far has run and its events have
   * been delivered to onEvents. (Synchronous: the matchers are other threads.)
   */
  flush(): void {
    this.emptyBacklogs();
    this.publish();
    const since = Date.now();
    let spins = 0;
    let k = 0;
    while (!this.caughtUp()) {
      if (this.poll() > 0) { spins = 0; continue; }
      this.checkAlive(since);
      if (++spins < 256) continue;
      // Sleep on one shard's event ring (its publish wakes a consumer that says it sleeps).
      const sh = this.shardList[k++ % this.shardList.length];
      const base = sh.regions.outbound;
      const i32 = this.i32;
      Atomics.store(i32, (base + R.RING_H_CONS_SLEEPING) >> 2, 1);
      const wake = Atomics.load(i32, (base + R.RING_H_WAKE) >> 2);
      if (sh.outbound.available() === 0) Atomics.wait(i32, (base + R.RING_H_WAKE) >> 2, wake, 1);
      Atomics.store(i32, (base + R.RING_H_CONS_SLEEPING) >> 2, 0);
    }
  }

  private checkAlive(since: number): void {
    for (const sh of this.shardList) {
      // 'exit' events need the event loop; a matcher that died mid-run shows as no progress.
      if (sh.exited && sh.exitCode !== 0) throw new Error(`shard ${sh.index}: matcher exited (${sh.exitCode})`);
    }
    if (Date.now() - since > 60_000) throw new Error('sharded engine: no progress for 60 s (a matcher died or the event ring is never drained)');
  }

  /** Polls events while the event loop runs, until `p` settles (control-plane answers need both). */
  private async pumpUntil<T>(p: Promise<T>): Promise<T> {
    let settled = false;
    const done = p.finally(() => { settled = true; });
    done.catch(() => undefined);
    while (!settled) {
      this.poll();
      for (const sh of this.shardList) if (sh.exited && sh.exitCode !== 0) throw new Error(`shard ${sh.index}: matcher exited (${sh.exitCode})`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return done;
  }

  // ---- control plane -----------------------------------------------------------------------------

  /** Runs `op` on `shards` at a barrier placed after every command routed so far. */
  private async barrier(op: ControlOp, shards: number[] = this.shardList.map((s) => s.index)): Promise<BarrierResult[]> {
    if (this.closed) throw new Error('the sharded engine is shut down');
    const id = this.nextOp++;
    const answers = shards.map((k) => this.shardList[k].remote.control(id, op) as Promise<BarrierResult>);
    const ctl = this.ctlWords;
    ctl.fill(0);
    ctl[0] = CTL_TYPE; // the type byte (little-endian); put() sets the magic
    ctl[L.CMD_ORDER_ID >> 2] = id;
    for (const k of shards) this.put(this.shardList[k], ctl, 0, true); // behind what the shard's backlog holds; poll() moves it
    return this.pumpUntil(Promise.all(answers));
  }

  /**
   * Adds a symbol on its shard, after every command routed so far (commands routed after this
   * call see it). Its SYMBOL_STATUS (or REJECTED) event is also in the event stream, in order.
   */
  async addSymbol(spec: SymbolSpec): Promise<EngineEvent[]> {
    const [r] = await this.barrier({ op: 'add-symbol', spec }, [this.shardOf(Number(spec.id))]);
    const bytes = r.eventRecords!;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: EngineEvent[] = [];
    for (let at = 0; at < bytes.length; at += L.EVT_SIZE) out.push(toEngineEvent(readEvent(v, at), false));
    return out;
  }

  /** The state digest of each shard's books (index = shard), at a barrier. */
  async digests(): Promise<bigint[]> {
    return (await this.barrier({ op: 'digest' })).map((r) => r.digest!);
  }

  /** Each shard's arena at a barrier, in Engine.snapshot() format (Engine.restore reads it). */
  async snapshot(): Promise<ShardSnapshot[]> {
    return (await this.barrier({ op: 'snapshot' })).map((r) => ({ shard: r.shard, bytes: r.snapshot!, digest: r.digest!, commands: r.commands }));
  }

  /** Up to `levels` price levels per side of each symbol, at a barrier. Unknown symbols give empty books. */
  async depth(symbols: number[], levels = 10): Promise<Map<number, SymbolDepth>> {
    const byShard = new Map<number, number[]>();
    for (const s of symbols) {
      const k = this.shardOf(s);
      if (!byShard.has(k)) byShard.set(k, []);
      byShard.get(k)!.push(s);
    }
    const out = new Map<number, SymbolDepth>();
    await Promise.all([...byShard].map(async ([k, syms]) => {
      const [r] = await this.barrier({ op: 'depth', symbols: syms, levels }, [k]);
      for (const d of r.depth!) out.set(d.symbol, d);
    }));
    return out;
  }

  /** Waits (with events flowing to onEvents) until every shard has passed a barrier after all routed commands. */
  async sync(): Promise<void> {
    await this.barrier({ op: 'sync' });
  }

  /** Per-shard counters from each matcher (comlink) plus ring depths read here. */
  async stats(): Promise<ShardStats[]> {
    const all = await Promise.all(this.shardList.map((sh) => sh.remote.stats() as Promise<MatcherStats>));
    return all.map((s, k) => {
      const sh = this.shardList[k];
      return { ...s, routed: sh.routed >>> 0, inboundDepth: sh.inbound.size(), backlogDepth: this.held(k), outboundDepth: sh.outbound.size() };
    });
  }

  /**
   * Stops cleanly and loses nothing: closes every inbound ring (after publishing), keeps polling
   * events until each matcher has run everything routed and closed its event ring, then lets the
   * workers exit. Returns the matchers' final counters.
   */
  async shutdown(): Promise<MatcherStats[]> {
    if (this.closed) throw new Error('already shut down');
    this.emptyBacklogs();
    this.publish();
    this.closed = true;
    for (const sh of this.shardList) sh.inbound.close();
    const finals = await this.pumpUntil(Promise.all(this.shardList.map((sh) => sh.remote.drained() as Promise<MatcherStats>)));
    // Drained was resolved after the event ring was closed; everything is published: take it.
    for (const sh of this.shardList) {
      if (Atomics.load(this.i32, (sh.regions.counters >> 2) + CNT_STATE) !== STATE_DRAINED) throw new Error(`shard ${sh.index} is not drained`);
    }
    this.poll();
    await Promise.all(this.shardList.map((sh) => this.exitWorker(sh)));
    return finals;
  }

  private async exitWorker(sh: Shard): Promise<void> {
    if (sh.exited) return;
    const gone = new Promise<void>((resolve) => sh.worker.once('exit', () => resolve()));
    try {
      sh.remote.exit();
      sh.remote[Comlink.releaseProxy]();
    } catch { /* the port may be closed already */ }
    const timer = setTimeout(() => void sh.worker.terminate(), 5000);
    await gone;
    clearTimeout(timer);
  }

  /** Stops the workers at once, losing whatever is in flight (tests' cleanup, failures). */
  async terminate(): Promise<void> {
    this.closed = true;
    await Promise.all(this.shardList.map(async (sh) => {
      if (!sh.worker || sh.exited) return;
      try { sh.remote[Comlink.releaseProxy](); } catch { /* closed */ }
      await sh.worker.terminate();
    }));
  }

  /** Whether every worker has exited. */
  get stopped(): boolean {
    return this.shardList.every((sh) => sh.exited);
  }

  /** Exit codes of the workers (undefined while running). */
  get exitCodes(): (number | undefined)[] {
    return this.shardList.map((sh) => sh.exitCode);
  }

  /** Records routed to each shard so far (published), mod 2^32. */
  get routedPerShard(): number[] {
    return this.shardList.map((sh) => sh.routed >>> 0);
  }
}

// Tests of the sharded engine (src/shard/, workers/matcher.mjs; docs/SHARDS.md).
//
// The oracle is the single-threaded Engine on the same stream. A random multi-symbol stream
// (test/support/random-stream.ts, every command type, bad input mixed in) is made to use globally
// unique order ids (the sharded engine checks DUPLICATE_ORDER_ID per shard only), then:
//   - per symbol, the event stream of 1 and 2 shards equals the single engine's, with trade ids
//     blanked (trade ids count per shard);
//   - per shard, the raw event stream (trade ids included) and the digest equal those of a single
//     Engine fed exactly the records routed to that shard;
//   - per symbol, the whole book depth equals the single engine's; each shard's snapshot restores
//     into an Engine with the same digest.
// No timed assertions. Every test terminates its workers, also when it fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as layout from '../assembly/layout.js';
import { Engine, type EngineOptions } from '../src/engine.js';
import { writeCommand, emptyCommand, type RawCommand } from '../src/records.js';
import type { EventReader } from '../src/batch.js';
import { ShardedEngine, type ShardedEngineOptions } from '../src/shard/sharded-engine.js';
import { CTL_TYPE, CTL_MAGIC, CTL_MAGIC_AT, type ControlOp } from '../src/shard/protocol.js';
import type { SpscRing } from '../src/ring.js';
import { randomStream, collect } from './support/random-stream.js';

const L = { ...layout };
const SYMBOLS = 8;
const COUNT = 200_000;
const LIMITS = { maxOrders: 65_536, maxSymbols: SYMBOLS + 2, ladderTicks: 1 << 20 };
const ALL_LEVELS = 4096;

// ---- the stream ----------------------------------------------------------------------------------

/** Re-ids every NEW whose id was used before, so that no two NEWs share an id; cancels and modifies follow. */
function globallyUniqueIds(cmds: RawCommand[]): RawCommand[] {
  const used = new Set<bigint>();
  const renamed = new Map<bigint, bigint>();
  let fresh = 1n << 40n;
  for (const c of cmds) {
    if (c.type === L.CMD_NEW && c.orderId > 0n) {
      if (used.has(c.orderId)) {
        const id = fresh++;
        renamed.set(c.orderId, id);
        c.orderId = id;
      } else used.add(c.orderId);
    } else if ((c.type === L.CMD_CANCEL || c.type === L.CMD_MODIFY) && renamed.has(c.orderId)) {
      c.orderId = renamed.get(c.orderId)!;
    }
  }
  return cmds;
}

function encode(cmds: RawCommand[]): Uint8Array {
  const bytes = new Uint8Array(cmds.length * L.CMD_SIZE);
  const view = new DataView(bytes.buffer);
  cmds.forEach((c, k) => writeCommand(view, k * L.CMD_SIZE, c));
  return bytes;
}

const stream = encode(globallyUniqueIds(collect(randomStream({ seed: 4242, count: COUNT, symbols: SYMBOLS, depth: 'deep' }))));
const streamView = new DataView(stream.buffer);
const typeAt = (k: number) => stream[k * L.CMD_SIZE + L.CMD_TYPE];
const symbolAt = (k: number) => streamView.getUint32(k * L.CMD_SIZE + L.CMD_SYMBOL, true);
const accountAt = (k: number) => streamView.getUint32(k * L.CMD_SIZE + L.CMD_ACCOUNT, true);

// ---- collecting events ---------------------------------------------------------------------------

/** Growing byte log of 64-byte event records. */
class Log {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  push(src: Uint8Array, at: number): void {
    if (this.length + 64 > this.bytes.length) {
      const next = new Uint8Array(this.bytes.length * 2);
      next.set(this.bytes.subarray(0, this.length));
      this.bytes = next;
    }
    this.bytes.set(src.subarray(at, at + 64), this.length);
    this.length += 64;
  }
  get view(): Uint8Array { return this.bytes.subarray(0, this.length); }
  get count(): number { return this.length / 64; }
}

/** Per-symbol logs with trade ids blanked, and one raw log, from a stream of event chunks. */
class Collector {
  readonly bySymbol = new Map<number, Log>();
  readonly raw = new Log();
  readonly types = new Map<number, number>();
  readonly reasons = new Map<number, number>();
  constructor(private readonly keepRaw = true) {}
  add(memory: Uint8Array, ev: EventReader): void {
    for (let i = 0; i < ev.count; i++) {
      ev.select(i);
      const at = ev.offset;
      if (this.keepRaw) this.raw.push(memory, at);
      const symbol = ev.symbol;
      let log = this.bySymbol.get(symbol);
      if (!log) this.bySymbol.set(symbol, (log = new Log()));
      log.push(memory, at);
      const type = ev.type;
      this.types.set(type, (this.types.get(type) ?? 0) + 1);
      if (type === L.EV_REJECTED || type === L.EV_CANCELLED) this.reasons.set(type * 256 + ev.reason, (this.reasons.get(type * 256 + ev.reason) ?? 0) + 1);
      if (type === L.EV_TRADE) log.bytes.fill(0, log.length - 64 + L.EVT_AUX64B, log.length - 64 + L.EVT_AUX64B + 8); // trade ids are per shard
    }
  }
}

const engineOptions: EngineOptions = { ...LIMITS };

/** Runs records of `source` (all, or those `pick` selects) through a single Engine. */
function runSingle(pick?: (k: number) => boolean, source = stream): { engine: Engine; events: Collector } {
  const engine = new Engine(engineOptions);
  const events = new Collector();
  const mem = new Uint8Array(engine.memory.buffer);
  const w = engine.commands;
  for (let k = 0, n = source.length / L.CMD_SIZE; k < n; k++) {
    if (pick && !pick(k)) continue;
    w.append(source, k, 1);
    if (w.count === w.capacity) engine.run((ev) => events.add(mem, ev));
  }
  engine.run((ev) => events.add(mem, ev));
  return { engine, events };
}

const single = runSingle();

function equalLogs(a: Log | undefined, b: Log | undefined, what: string): void {
  const x = a?.view ?? new Uint8Array(0);
  const y = b?.view ?? new Uint8Array(0);
  if (Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.length), Buffer.from(y.buffer, y.byteOffset, y.length)) === 0) return;
  let first = 0;
  while (first < Math.min(x.length, y.length) && x[first] === y[first]) first++;
  assert.unreachable(`${what}: ${x.length / 64} vs ${y.length / 64} events, first difference in event ${Math.floor(first / 64)} (byte ${first % 64})`);
}

/** Creates an engine, runs `body`, and always stops its workers. */
async function withEngine(opts: Omit<ShardedEngineOptions, 'onEvents'>, body: (engine: ShardedEngine, events: Collector[]) => Promise<void>): Promise<void> {
  const events: Collector[] = [];
  let engine: ShardedEngine | undefined;
  try {
    engine = await ShardedEngine.create({ ...opts });
    const mem = new Uint8Array(engine.memory.buffer);
    for (let k = 0; k < opts.shards; k++) events.push(new Collector());
    engine.onEvents = (ev, shard) => events[shard].add(mem, ev);
    await body(engine, events);
  } finally {
    if (engine && !engine.stopped) await engine.terminate();
  }
}

/** Whether stream record k goes to shard `shard` (the routing rule, restated from docs/SHARDS.md). */
function routedTo(engine: ShardedEngine, shard: number, k: number): boolean {
  const symbol = symbolAt(k);
  if (symbol === 0) return (typeAt(k) === L.CMD_MASS_CANCEL && accountAt(k) !== 0) || shard === 0;
  return engine.shardOf(symbol) === shard;
}

// ---- tests ---------------------------------------------------------------------------------------

test('the stream exercises what the equivalence depends on', () => {
  const trades = single.events.types.get(L.EV_TRADE) ?? 0;
  const massCancelled = single.events.reasons.get(L.EV_CANCELLED * 256 + L.CXL_MASS_CANCEL) ?? 0;
  let broadcasts = 0;
  for (let k = 0; k < COUNT; k++) if (typeAt(k) === L.CMD_MASS_CANCEL && symbolAt(k) === 0 && accountAt(k) !== 0) broadcasts++;
  assert.ok(trades > 10_000, `trades: ${trades}`);
  assert.ok(broadcasts >= 10, `mass cancels across all symbols: ${broadcasts}`);
  assert.ok(massCancelled > 100, `orders mass-cancelled: ${massCancelled}`);
  // Limits roomy enough that per-shard capacities never decide an outcome.
  assert.is(single.events.reasons.get(L.EV_REJECTED * 256 + L.REJ_ORDER_CAPACITY) ?? 0, 0);
  assert.is(single.events.reasons.get(L.EV_REJECTED * 256 + L.REJ_DUPLICATE_ORDER_ID) ?? 0, 0);
});

for (const shards of [1, 2]) {
  test(`${shards} shard(s): per-symbol events, per-shard streams, digests, depth and snapshots equal the single engine's`, async () => {
    await withEngine({ shards, ...LIMITS }, async (engine, events) => {
      if (shards === 2) {
        const owners = new Set(Array.from({ length: SYMBOLS }, (_, k) => engine.shardOf(k + 1)));
        assert.is(owners.size, 2, 'the default assignment spreads 8 symbols over both shards');
      }
      // Route in uneven chunks, merging events as we go.
      for (let k = 0; k < COUNT;) {
        const n = Math.min(COUNT - k, 1 + ((k * 7919) % 3000));
        engine.route(stream, k, n);
        engine.poll();
        k += n;
      }
      engine.flush();

      // Per symbol: the single engine's events, in its order (trade ids blanked).
      const merged = new Map<number, Log>();
      for (const c of events) for (const [s, log] of c.bySymbol) {
        assert.not.ok(merged.has(s), `symbol ${s} has events from two shards`);
        merged.set(s, log);
      }
      assert.equal([...merged.keys()].sort((a, b) => a - b), [...single.events.bySymbol.keys()].sort((a, b) => a - b));
      for (const [s, log] of single.events.bySymbol) equalLogs(merged.get(s), log, `symbol ${s}`);

      // Per shard: exactly a single engine fed this shard's records (trade ids and digest included).
      const digests = await engine.digests();
      const snaps = await engine.snapshot();
      for (let shard = 0; shard < shards; shard++) {
        const ref = shards === 1 ? single : runSingle((k) => routedTo(engine, shard, k));
        equalLogs(events[shard].raw, ref.events.raw, `shard ${shard} raw stream`);
        assert.is(digests[shard], ref.engine.digest(), `shard ${shard} digest`);
        const restored = Engine.restore(snaps[shard].bytes);
        assert.is(restored.digest(), digests[shard], `shard ${shard} snapshot restores`);
        assert.is(restored.liveOrders, ref.engine.liveOrders);
      }

      // Per symbol: the whole book.
      const ids = Array.from({ length: SYMBOLS + 3 }, (_, k) => k + 1);
      const depth = await engine.depth(ids, ALL_LEVELS);
      for (const s of ids) {
        let want: unknown = { bids: [], asks: [] };
        try { want = single.engine.depth(s, ALL_LEVELS); } catch { /* never added */ }
        const got = depth.get(s)!;
        assert.equal({ bids: got.bids, asks: got.asks }, want, `depth of symbol ${s}`);
      }

      const stats = await engine.stats();
      assert.is(stats.reduce((a, s) => a + s.events, 0), single.events.raw.count);
      await engine.shutdown();
      assert.ok(engine.stopped);
      assert.equal(engine.exitCodes, Array(shards).fill(0));
    });
  });
}

// The router is one Wasm call per run of records (rings.wasm scatterRecords); it hands back to
// the host every record it must not route itself. This stream has all of them, often: broadcasts
// and other symbol-0 commands (from the random stream), ids beyond maxSymbols (routed by the
// assign function), barrier look-alikes (type CTL_TYPE with the magic), and rings so small or
// so large that records wait in a full ring's backlog (or the backlog fills too and the router
// waits) or a run spans many publishes; route() calls cross the staging size (4,096 records)
// and start at odd records.
test('the Wasm router: per-symbol events equal the single engine\'s across every hand-off to the host', async () => {
  const n = 60_000;
  const source = stream.slice(0, n * L.CMD_SIZE);
  const v = new DataView(source.buffer);
  let lookAlikes = 0;
  let beyond = 0;
  for (let k = 0; k < n; k++) {
    const at = k * L.CMD_SIZE;
    if (k % 997 === 5) { source[at + L.CMD_TYPE] = CTL_TYPE; v.setUint16(at + CTL_MAGIC_AT, CTL_MAGIC, true); lookAlikes++; }
    else if (k % 1009 === 7) { v.setUint32(at + L.CMD_SYMBOL, LIMITS.maxSymbols + 1 + (k % 5), true); beyond++; }
  }
  const ref = runSingle(undefined, source);
  assert.ok((ref.events.types.get(L.EV_REJECTED) ?? 0) >= lookAlikes + beyond, 'look-alikes and unknown ids are rejected by both');
  const configs: [string, Omit<ShardedEngineOptions, 'onEvents'>, number[]][] = [
    ['64-slot rings, a publish per record', { shards: 2, ...LIMITS, inboundSlots: 64, publishEvery: 1 }, [1, 5000, 37, 4096, 4097, 2]],
    ['64-slot rings, 2-record backlogs (the router waits often)', { shards: 2, ...LIMITS, inboundSlots: 64, backlogRecords: 2 }, [700, 1, 4097, 64]],
    ['large rings and runs, an assign function', { shards: 2, ...LIMITS, inboundSlots: 1 << 16, publishEvery: 4096, assign: (s, shards) => s % shards }, [9000, 3, 12_345, 64]],
  ];
  for (const [what, opts, chunks] of configs) {
    await withEngine(opts, async (engine, events) => {
      for (let k = 0, c = 0; k < n; c++) {
        const m = Math.min(n - k, chunks[c % chunks.length]);
        engine.route(source, k, m);
        if (c % 3 === 0) engine.poll();
        k += m;
      }
      engine.flush();
      const merged = new Map<number, Log>();
      for (const c of events) for (const [s, log] of c.bySymbol) {
        assert.not.ok(merged.has(s), `${what}: symbol ${s} has events from two shards`);
        merged.set(s, log);
      }
      assert.equal([...merged.keys()].sort((a, b) => a - b), [...ref.events.bySymbol.keys()].sort((a, b) => a - b), what);
      for (const [s, log] of ref.events.bySymbol) equalLogs(merged.get(s), log, `${what}: symbol ${s}`);
      for (let shard = 0; shard < 2; shard++) {
        const own = runSingle((k) => {
          const symbol = v.getUint32(k * L.CMD_SIZE + L.CMD_SYMBOL, true);
          if (symbol === 0) return (source[k * L.CMD_SIZE] === L.CMD_MASS_CANCEL && v.getUint32(k * L.CMD_SIZE + L.CMD_ACCOUNT, true) !== 0) || shard === 0;
          return engine.shardOf(symbol) === shard;
        }, source);
        equalLogs(events[shard].raw, own.events.raw, `${what}: shard ${shard} raw stream`);
        assert.is((await engine.digests())[shard], own.engine.digest(), `${what}: shard ${shard} digest`);
      }
      await engine.shutdown();
    });
  }
});

// A full ring stops only its own shard: with shard 0's matcher parked on a barrier (its ring full,
// the rest of its records held in the router's backlog), shard 1's records are still routed and
// run, a broadcast reaches shard 1 in order and a barrier on shard 1 passes. A router that waited
// on the full ring would never return from route() (it fails after 60 s without progress).
test('a full ring does not block the other shard: records for it are held while the other shard runs', async () => {
  const symbols = [1, 2].map((id) => ({ id, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }));
  const cmds: RawCommand[] = [];
  for (let k = 0; k < 2001; k++) {
    const c = emptyCommand();
    if (k === 1000) { c.type = L.CMD_MASS_CANCEL; c.symbol = 0; c.account = 1; } // every shard, in order
    else {
      c.type = L.CMD_NEW; c.symbol = 1 + (k % 2); c.account = 1 + ((k >> 1) % 2); c.side = L.SIDE_BUY; c.orderType = L.ORDER_LIMIT; c.tif = L.TIF_GTC;
      c.orderId = BigInt(k + 1); c.price = BigInt(1 + (k % 500)); c.quantity = 3n;
    }
    c.seq = BigInt(k + 1);
    cmds.push(c);
  }
  const bytes = encode(cmds);
  const ref = new Engine({ maxOrders: 4096, maxSymbols: 8, ladderTicks: 10_000, symbols });
  const refEvents = new Collector();
  const refMem = new Uint8Array(ref.memory.buffer);
  ref.commands.append(bytes, 0, cmds.length);
  ref.run((ev) => refEvents.add(refMem, ev));

  await withEngine({ shards: 2, maxOrders: 4096, maxSymbols: 8, ladderTicks: 10_000, symbols, assign: { 1: 0, 2: 1 }, inboundSlots: 64, backlogRecords: 2048 }, async (engine, events) => {
    // Park shard 0: a barrier whose op is not sent yet (the matcher retries until it arrives).
    const PARK = 1 << 30;
    const shard0 = (engine as unknown as { shardList: { inbound: SpscRing; remote: { control(id: number, op: ControlOp): Promise<unknown> } }[] }).shardList[0];
    const seq = shard0.inbound.tryClaim(1);
    const at = shard0.inbound.slotOffset(seq);
    const mem = new Uint8Array(engine.memory.buffer);
    const view = new DataView(engine.memory.buffer);
    mem.fill(0, at, at + L.CMD_SIZE);
    mem[at] = CTL_TYPE;
    view.setUint16(at + CTL_MAGIC_AT, CTL_MAGIC, true);
    view.setUint32(at + L.CMD_ORDER_ID, PARK, true);
    shard0.inbound.publish(seq, 1);

    for (let k = 0; k < cmds.length; k += 100) { // 1,000 commands per shard and a broadcast, 64-slot rings
      engine.route(bytes, k, Math.min(100, cmds.length - k));
      engine.poll();
    }
    await engine.depth([2], 10); // a barrier on shard 1 alone passes
    engine.poll();
    equalLogs(events[1].bySymbol.get(2), refEvents.bySymbol.get(2), 'symbol 2 (shard 1), while shard 0 is parked');
    const [s0, s1] = await engine.stats();
    assert.is(s0.commands, 0, 'shard 0 is parked');
    assert.is(s0.backlogDepth, 1001 - 63, 'shard 0: 63 records behind the barrier in its ring, the rest of its 1,001 held');
    assert.is(s1.commands, 1001);
    assert.is(events[0].raw.count, 0);

    await shard0.remote.control(PARK, { op: 'sync' });
    await engine.sync(); // behind shard 0's held records, which move into its ring as it runs them
    engine.poll();
    for (const [s, log] of refEvents.bySymbol) equalLogs(events[s === 0 ? 0 : engine.shardOf(s)].bySymbol.get(s), log, `symbol ${s}`);
    await engine.shutdown();
  });
});

test('shutdown right after routing loses nothing: every command\'s events come out', async () => {
  await withEngine({ shards: 2, ...LIMITS, inboundSlots: 1024 }, async (engine, events) => {
    engine.route(stream, 0, COUNT); // no flush, no barrier: the rings are full of work
    const finals = await engine.shutdown();
    const total = events.reduce((a, c) => a + c.raw.count, 0);
    assert.is(total, single.events.raw.count);
    assert.is(engine.eventsDelivered, single.events.raw.count);
    const broadcasts = (() => { let b = 0; for (let k = 0; k < COUNT; k++) if (typeAt(k) === L.CMD_MASS_CANCEL && symbolAt(k) === 0 && accountAt(k) !== 0) b++; return b; })();
    assert.is(finals.reduce((a, s) => a + s.commands, 0), COUNT + broadcasts, 'each command ran once on its shard, each broadcast once per shard');
    assert.ok(engine.stopped);
    assert.equal(engine.exitCodes, [0, 0]);
  });
});

test('mass cancel by account across shards cancels exactly that account\'s orders on every shard', async () => {
  const symbols = [1, 2, 3, 4].map((id) => ({ id, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }));
  const cmds: RawCommand[] = [];
  let seq = 0;
  const order = (symbol: number, account: number, side: number, price: number) => {
    const c = emptyCommand();
    c.type = L.CMD_NEW; c.symbol = symbol; c.account = account; c.side = side; c.orderType = L.ORDER_LIMIT; c.tif = L.TIF_GTC;
    c.orderId = BigInt(cmds.length + 1); c.price = BigInt(price); c.quantity = 5n; c.seq = BigInt(++seq);
    cmds.push(c);
  };
  for (const s of symbols) for (const account of [1, 2, 3]) {
    order(s.id, account, L.SIDE_BUY, 100 + account);
    order(s.id, account, L.SIDE_SELL, 200 + account);
  }
  const mass = (symbol: number, account: number) => {
    const c = emptyCommand();
    c.type = L.CMD_MASS_CANCEL; c.symbol = symbol; c.account = account; c.seq = BigInt(++seq);
    cmds.push(c);
  };
  mass(0, 2); // account 2, every symbol
  mass(0, 0); // neither: MALFORMED, once
  mass(3, 1); // account 1 on symbol 3 only
  const bytes = encode(cmds);

  const ref = new Engine({ maxOrders: 1000, maxSymbols: 8, ladderTicks: 10_000, symbols });
  const refEvents = new Collector();
  const refMem = new Uint8Array(ref.memory.buffer);
  ref.commands.append(bytes, 0, cmds.length);
  ref.run((ev) => refEvents.add(refMem, ev));

  // Symbols 1, 3 on shard 0 and 2, 4 on shard 1, whatever the default hash says.
  await withEngine({ shards: 2, maxOrders: 1000, maxSymbols: 8, ladderTicks: 10_000, symbols, assign: { 1: 0, 2: 1, 3: 0, 4: 1 } }, async (engine, events) => {
    engine.route(bytes, 0, cmds.length);
    engine.flush();
    const cancelledBy = new Map<number, number[]>();
    for (const c of events) {
      const log = c.raw.view;
      const v = new DataView(log.buffer, log.byteOffset, log.length);
      for (let at = 0; at < log.length; at += 64) {
        if (log[at + L.EVT_TYPE] !== L.EV_CANCELLED) continue;
        assert.is(log[at + L.EVT_REASON], L.CXL_MASS_CANCEL);
        const account = v.getUint32(at + L.EVT_ACCOUNT, true);
        const symbol = v.getUint32(at + L.EVT_SYMBOL, true);
        if (!cancelledBy.has(account)) cancelledBy.set(account, []);
        cancelledBy.get(account)!.push(symbol);
      }
    }
    assert.equal(cancelledBy.get(2)!.sort(), [1, 1, 2, 2, 3, 3, 4, 4], 'both orders of account 2 on all four symbols, both shards');
    assert.equal(cancelledBy.get(1), [3, 3], 'account 1 only on symbol 3');
    assert.not.ok(cancelledBy.has(3));
    const malformed = events.map((c) => c.reasons.get(L.EV_REJECTED * 256 + L.REJ_MALFORMED) ?? 0);
    assert.equal(malformed, [1, 0], 'symbol 0 and account 0 is rejected once, by shard 0');
    for (const [s, log] of refEvents.bySymbol) {
      const owner = s === 0 ? 0 : engine.shardOf(s);
      equalLogs(events[owner].bySymbol.get(s), log, `symbol ${s}`);
    }
    const depth = await engine.depth([1, 2, 3, 4], 10);
    for (const s of [1, 2, 3, 4]) assert.equal({ bids: depth.get(s)!.bids, asks: depth.get(s)!.asks }, ref.depth(s, 10));
    await engine.shutdown();
  });
});

test('workers start before traffic, take control-plane calls, and stop cleanly', async () => {
  await withEngine({ shards: 2, maxOrders: 1000, maxSymbols: 8, ladderTicks: 10_000, pin: true }, async (engine, events) => {
    // create() resolved: every matcher runs, before any command.
    const before = await engine.stats();
    assert.is(before.length, 2);
    for (const s of before) {
      assert.is(s.commands, 0);
      assert.is(s.inboundDepth, 0);
      assert.ok(s.threadId > 0);
      // A pinned matcher binds its memory to its CPU's NUMA node (here one node: the helper says so).
      if (s.cpu >= 0) assert.match(s.memoryPolicy, /bound to NUMA node|not bound to node \d+: single NUMA node/);
      else assert.match(s.memoryPolicy, /first touch/);
    }
    assert.is(engine.stopped, false);
    assert.equal(engine.pinning.cpus.length, 2); // pinned or -1, by what the machine allows
    const added = await engine.addSymbol({ id: 5, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 100 });
    assert.equal(added.map((e) => e.type), ['symbol-status']);
    const again = await engine.addSymbol({ id: 5, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 100 });
    assert.equal(again.map((e) => e.type === 'rejected' && e.reason), ['duplicate-symbol']);
    engine.flush();
    assert.is(events[engine.shardOf(5)].raw.count, 2, 'control-plane events are in the event stream too');
    await engine.shutdown();
    assert.ok(engine.stopped);
    assert.equal(engine.exitCodes, [0, 0]);
    assert.throws(() => engine.route(new Uint8Array(64), 0, 1), /shut down/);
  });
});

test.run();

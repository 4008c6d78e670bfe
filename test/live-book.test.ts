// Deferred reuse of freed slots and the live-book reader API, on one thread (deterministic):
// limbo order, what a guard and a hazard hold back, forced reuse at capacity, and that none of it
// changes events or digests. The threaded stress is test/live-book-stress.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine, type EngineOptions } from '../src/engine.js';
import { LiveBookReader } from '../src/live-book-reader.js';
import { instantiateCore } from '../src/core.js';
import { writeCommand, type RawCommand } from '../src/records.js';
import * as L from '../assembly/layout.js';
import { randomStream, collect, streamLimits } from './support/random-stream.js';

const SYMBOL = { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 };
const make = (opts: EngineOptions = {}) => new Engine({ maxOrders: 64, maxSymbols: 2, ladderTicks: 2000, symbols: [SYMBOL], ...opts });
const slotOf = (e: Engine, id: number) => Number(e.order(id)!.handle & 0xffffffffn);
let nextId = 1;
const rest = (e: Engine, price = 100, side: 'buy' | 'sell' = 'buy') => {
  const id = nextId++;
  const ev = e.newOrder({ symbol: 1, orderId: id, side, price, quantity: 5 });
  assert.ok(ev.some((x) => x.type === 'accepted'), `order ${id} accepted`);
  return id;
};

const cancelThenNew = (e: Engine, a: number) => {
  const id = nextId++;
  e.runRaw([
    { type: L.CMD_CANCEL, side: 0, orderType: 0, tif: 0, flags: 0, stp: 0, symbol: 1, account: 0, orderId: BigInt(a), price: 0n, quantity: 0n, clientOrderId: 0n, seq: 1000n, timestamp: 0n },
    { type: L.CMD_NEW, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, flags: 0, stp: 0, symbol: 1, account: 0, orderId: BigInt(id), price: 101n, quantity: 5n, clientOrderId: 0n, seq: 1001n, timestamp: 0n },
  ]);
  return id;
};

test('no reader registered: a freed slot is reusable at once (nothing is guarded)', () => {
  const e = make();
  const a = rest(e);
  const s = slotOf(e, a);
  assert.is(slotOf(e, cancelThenNew(e, a)), s, 'reused inside the batch that freed it');
  assert.equal(e.limbo(), { orders: 0, levels: 0, forcedOrders: 0, forcedLevels: 0 }, 'limbo never used');
});

test('a registered reader outside any guard: a freed slot waits for the end of its batch, then is reused', () => {
  const e = make();
  const r = new LiveBookReader(e.liveBook());
  const a = rest(e);
  const s = slotOf(e, a);
  assert.is.not(slotOf(e, cancelThenNew(e, a)), s, 'not reused inside the batch that freed it');
  assert.equal(e.limbo(), { orders: 0, levels: 0, forcedOrders: 0, forcedLevels: 0 }, 'limbo empty after the batch');
  const b = rest(e, 102);
  assert.is(slotOf(e, b), s, 'reused in a later batch');
  r.close();
});

test('registration takes effect at the next batch and ends with the reader: guarded, then not; leftover limbo drains', () => {
  const e = make();
  const a = rest(e), b = rest(e, 101);
  const r = new LiveBookReader(e.liveBook());
  r.guard(() => e.cancel({ symbol: 1, orderId: a }));
  assert.is(e.limbo().orders, 1, 'freed inside the guard: held');
  r.close();
  const s = slotOf(e, b);
  assert.is(slotOf(e, cancelThenNew(e, b)), s, 'the reader left: reused at once again');
  assert.equal(e.limbo(), { orders: 0, levels: 0, forcedOrders: 0, forcedLevels: 0 }, 'what it held drained at that batch end');
  const again = new LiveBookReader(e.liveBook());
  const c = rest(e, 103);
  const t = slotOf(e, c);
  assert.is.not(slotOf(e, cancelThenNew(e, c)), t, 'a new reader: guarded again from the next batch');
  again.close();
});

/**
 * A second (debug) instance of the core over an engine's memory that runs a batch in parts
 * (processPart, a test hook): between the parts its matcher is stopped inside the batch. Commands
 * and events go to the last reader record's scratch (no reader uses it while parts run).
 */
const stoppable = (e: Engine) => {
  const core = instantiateCore('debug', e.memory);
  const book = e.liveBook();
  const at = book.scratch + (L.LIVE_READERS - 1) * book.scratchBytes;
  const view = new DataView(e.memory.buffer);
  return (commands: RawCommand[], part: number) => {
    commands.forEach((c, k) => writeCommand(view, at + k * L.CMD_SIZE, c));
    const eventsAt = at + commands.length * L.CMD_SIZE;
    const room = Math.floor((book.scratchBytes - commands.length * L.CMD_SIZE) / L.EVT_SIZE);
    assert.is(core.processPart(book.arena, at, commands.length, eventsAt, room, part), commands.length, 'the part ran');
  };
};
const cmd = (type: number, id: number, price = 0n): RawCommand => ({ type, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, flags: 0, stp: 0, symbol: 1, account: 0, orderId: BigInt(id), price, quantity: 5n, clientOrderId: 0n, seq: 2000n, timestamp: 0n });

test('a reader registering while an unguarded batch runs does not read before it ends (matcher stopped inside the batch)', () => {
  const e = make({ build: 'debug' });
  const part = stoppable(e);
  const a = rest(e);
  const s = slotOf(e, a);
  part([cmd(L.CMD_NEW, nextId++, 150n)], L.BATCH_PART_BEGIN); // no reader yet: this batch runs unguarded
  let r: LiveBookReader | undefined;
  let refused: unknown;
  try {
    r = new LiveBookReader(e.liveBook(), { registerTimeoutMs: 20 });
  } catch (err) {
    refused = err;
  }
  if (r) {
    // Registered inside the batch: what that reader could meet in the rest of it.
    const reader = r;
    reader.guard(() => {
      assert.is(Number(reader.order(a)!.handle & 0xffffffffn), s, 'the reader reached the order\'s slot');
      const c = nextId++;
      part([cmd(L.CMD_CANCEL, a), cmd(L.CMD_NEW, c, 101n)], 0);
      assert.is.not(slotOf(e, c), s, 'a slot the reader reached inside its guard was reused while it was inside');
    });
  }
  assert.instance(refused, Error, 'registration did not complete while the batch ran');
  assert.match((refused as Error).message, /inside batch \d+ for over 20 ms/);
  part([], L.BATCH_PART_FINISH);
  const readers = Array.from({ length: L.LIVE_READERS }, () => new LiveBookReader(e.liveBook()));
  assert.is(readers.length, L.LIVE_READERS, 'the refused registration gave its record back');
  for (const x of readers.slice(1)) x.close();
  const b = rest(e, 102);
  const t = slotOf(e, b);
  assert.is.not(slotOf(e, cancelThenNew(e, b)), t, 'registered once the batch ended: the next batch is guarded');
  readers[0].close();
});

test('processPart is a debug-build hook only', () => {
  const e = make();
  const core = instantiateCore('release', e.memory);
  assert.is(core.processPart(e.liveBook().arena, 0, 0, 0, 0, L.BATCH_PART_BEGIN), L.BATCH_PART_DEBUG_ONLY);
});

test('a reader inside a guard holds back every slot freed meanwhile; after it exits they are reused', () => {
  const e = make();
  const ids = [rest(e, 100), rest(e, 101), rest(e, 102)];
  const freed = new Set(ids.map((id) => slotOf(e, id)));
  const r = new LiveBookReader(e.liveBook());
  r.guard(() => {
    for (const id of ids) e.cancel({ symbol: 1, orderId: id });
    assert.is(e.limbo().orders, 3, 'three order slots in limbo');
    assert.is(e.limbo().levels, 3, 'and their three levels');
    for (let k = 0; k < 10; k++) assert.not.ok(freed.has(slotOf(e, rest(e, 200 + k))), 'a slot freed inside the guard is not reused');
    assert.is(e.limbo().orders, 3, 'still held');
  });
  const later = rest(e, 300);
  assert.is(e.limbo().orders, 0, 'released at the first batch end after exit');
  assert.ok(freed.has(slotOf(e, rest(e, 301))) || freed.has(slotOf(e, later)), 'then reused');
  assert.is(e.limbo().forcedOrders, 0);
  r.close();
});

test('a guard entered after a batch end does not hold back what was freed before it', () => {
  const e = make();
  const a = rest(e);
  const s = slotOf(e, a);
  e.cancel({ symbol: 1, orderId: a });
  const r = new LiveBookReader(e.liveBook());
  r.guard(() => {
    assert.is(slotOf(e, rest(e, 150)), s, 'the slot was released at its batch end, before the guard');
  });
  r.close();
});

test('a hazard pointer holds back one order slot, without a guard; released, it is reused', () => {
  const e = make();
  const a = rest(e);
  const info = e.order(a)!;
  const s = Number(info.handle & 0xffffffffn);
  const r = new LiveBookReader(e.liveBook());
  r.hold(info.handle);
  e.cancel({ symbol: 1, orderId: a });
  for (let k = 0; k < 5; k++) assert.is.not(slotOf(e, rest(e, 110 + k)), s, 'held slot not reused');
  assert.is(e.limbo().orders, 1, 'only the held slot waits');
  r.release();
  rest(e, 130);
  assert.is(e.limbo().orders, 0);
  assert.is(slotOf(e, rest(e, 131)), s, 'reused once released');
  r.close();
});

test('capacity: a stalled reader never blocks the matcher; slots come out of limbo early (hazards last) and events do not change', () => {
  const run = (withReader: boolean) => {
    nextId = 1000;
    const e = make({ maxOrders: 4 });
    const r = withReader ? new LiveBookReader(e.liveBook()) : undefined;
    const body = () => {
      const events: unknown[] = [];
      const first = [rest(e, 10), rest(e, 11), rest(e, 12), rest(e, 13)];
      const held = e.order(first[0])!.handle & 0xffffffffn;
      r?.hold(held);
      for (const id of first) events.push(e.cancel({ symbol: 1, orderId: id }));
      const again: number[] = [];
      for (let k = 0; k < 3; k++) again.push(rest(e, 20 + k));
      const heldSlotUsed = again.some((id) => BigInt(slotOf(e, id)) === held);
      again.push(rest(e, 23)); // the fourth needs the held slot: taken anyway
      events.push(e.newOrder({ symbol: 1, orderId: 9999, side: 'buy', price: 30, quantity: 1 }));
      return { events, heldSlotUsed, limbo: e.limbo() };
    };
    const out = r ? r.guard(body) : body();
    r?.close();
    return { ...out, digest: e.digest(), depth: e.depth(1, 10) };
  };
  const plain = run(false);
  const stalled = run(true);
  assert.equal(stalled.events, plain.events, 'same events');
  assert.is(stalled.digest, plain.digest, 'same digest');
  assert.equal(stalled.depth, plain.depth);
  assert.is(plain.limbo.forcedOrders, 0);
  assert.is(stalled.limbo.forcedOrders, 4, 'every slot came out of limbo early');
  assert.ok(stalled.limbo.forcedLevels >= 4, `levels too (${stalled.limbo.forcedLevels})`);
  assert.not.ok(stalled.heldSlotUsed, 'the hazard-held slot was skipped while others were left');
});

test('a random stream with a reader holding a guard throughout: same events and digest as without; every write section closed', () => {
  const opts = { seed: 11, count: 20_000, symbols: 3, depth: 'shallow' as const };
  const commands = collect(randomStream(opts));
  const limits = streamLimits(opts);
  const a = new Engine({ ...limits, batchSize: 64 });
  const b = new Engine({ ...limits, batchSize: 64 });
  const r = new LiveBookReader(b.liveBook());
  const ea = a.runRaw(commands);
  const eb = r.guard(() => b.runRaw(commands));
  assert.equal(eb, ea, 'events');
  assert.is(b.digest(), a.digest(), 'digest');
  assert.ok(b.limbo().forcedOrders > 0, `capacity was reached with the reader stalled (${b.limbo().forcedOrders} forced)`);
  // Every batch ran guarded: every write section it opened is closed (a seq left odd would make
  // these reads retry until READ_BUSY).
  for (let s = 1; s <= 3; s++) {
    const d = b.depth(s, 20);
    assert.equal(r.depth(s, 20), d, `depth ${s}`);
    for (const [side, levels] of [['buy', d.bids], ['sell', d.asks]] as const) {
      for (const lv of levels.slice(0, 3)) {
        const q = b.queue(s, side, lv.price);
        assert.equal(r.queue(s, side, lv.price), q, `queue ${s} ${side} ${lv.price}`);
        for (const o of q.slice(0, 5)) assert.equal(r.order(o.orderId), b.order(o.orderId), `order ${o.orderId}`);
      }
    }
  }
  assert.is(r.stats().retries, 0, 'no section left open');
  r.close();
});

test('reader reads equal the engine\'s own queries on a quiet book (release and debug)', () => {
  for (const build of ['release', 'debug'] as const) {
    const opts = { seed: 5, count: 8_000, symbols: 3, depth: 'deep' as const };
    const e = new Engine({ ...streamLimits(opts), build });
    e.runRaw(collect(randomStream(opts)));
    const r = new LiveBookReader(e.liveBook());
    let orders = 0;
    for (let s = 1; s <= 3; s++) {
      const d = e.depth(s, 50);
      assert.equal(r.depth(s, 50), d, `${build} depth ${s}`);
      for (const [side, levels] of [['buy', d.bids], ['sell', d.asks]] as const) {
        for (const lv of levels.slice(0, 5)) {
          const q = e.queue(s, side, lv.price);
          assert.equal(r.queue(s, side, lv.price), q, `${build} queue ${s} ${side} ${lv.price}`);
          // The raw read's level row, after the queue rows, is the level's depth row.
          const n = r.queueRows(s, side === 'buy' ? L.SIDE_BUY : L.SIDE_SELL, BigInt(lv.price), 1000);
          const at = r.rows + n * L.QUEUE_ROW_SIZE;
          const level = { price: Number(r.view.getBigInt64(at + L.DEPTH_PRICE, true)), quantity: Number(r.view.getBigInt64(at + L.DEPTH_TOTAL, true)), orders: r.view.getUint32(at + L.DEPTH_COUNT, true) };
          assert.equal([n, level], [q.length, lv], `${build} queue ${s} ${side} ${lv.price}: its level row`);
          for (const o of q) {
            assert.equal(r.order(o.orderId), e.order(o.orderId), `${build} order ${o.orderId}`);
            orders++;
          }
        }
      }
    }
    assert.ok(orders > 50, `compared ${orders} orders`);
    assert.is(r.order(123456789), undefined, 'an id that is not resting');
    assert.ok(r.stats().reads > orders);
    assert.is(r.stats().retries, 0, 'nothing changed, nothing retried');
    r.close();
  }
});

test('bad use: scalar build, too many readers, unknown symbol, close inside a guard, closed reader', () => {
  assert.throws(() => make({ build: 'scalar' }).liveBook(), /no shared memory/);
  const e = make();
  const readers = Array.from({ length: L.LIVE_READERS }, () => new LiveBookReader(e.liveBook()));
  assert.equal(readers.map((r) => r.index), [0, 1, 2, 3]);
  assert.throws(() => new LiveBookReader(e.liveBook()), /reader records of this engine are taken/);
  readers[3].close();
  const again = new LiveBookReader(e.liveBook());
  assert.is(again.index, 3, 'a closed record is reused');
  assert.throws(() => readers[0].depth(7), /unknown symbol 7/);
  assert.throws(() => readers[0].hold(1n, 0), /k must be 1, 2 or 3/);
  assert.throws(() => readers[0].guard(() => readers[0].close()), /inside a guard/);
  readers[0].close();
  assert.throws(() => readers[0].depth(1), /closed/);
  assert.throws(() => new LiveBookReader({} as never), /LiveBook from Engine.liveBook/);
});

test('restore: the snapshot\'s reader records are cleared, its limbo drains', () => {
  const e = make();
  const r = new LiveBookReader(e.liveBook());
  const ids = [rest(e, 100), rest(e, 101)];
  r.guard(() => {
    e.cancel({ symbol: 1, orderId: ids[0] });
    const b = Engine.restore(e.snapshot());
    assert.is(b.digest(), e.digest());
    assert.is(b.limbo().orders, 1, 'limbo came along');
    const readers = Array.from({ length: L.LIVE_READERS }, () => new LiveBookReader(b.liveBook()));
    assert.is(readers.length, L.LIVE_READERS, 'every record is free in the restored engine');
    for (const x of readers) x.close();
    rest(b, 120);
    assert.is(b.limbo().orders, 0, 'no reader of its own: limbo drained at its first batch end');
  });
  r.close();
});

test.run();

// Rule-by-rule tests of the matching engine against docs/SEMANTICS.md: every test asserts the exact
// events of each command (type, every field, order) and the book afterwards (depth, queue, order()).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine, type EngineOptions, type NewOrder, type CancelOrder, type ModifyOrder, type MassCancel, type SymbolSpec } from '../src/engine.js';
import type { EngineEvent } from '../src/events.js';
import type { Int } from '../src/int.js';
import type { Side, SelfTradePrevention } from '../src/codes.js';
import * as L from '../assembly/layout.js';
import { emptyCommand, type RawCommand, type RawEvent } from '../src/records.js';

// ---- harness ------------------------------------------------------------------------------------

type Ev = Record<string, unknown>;
const SYM1: SymbolSpec = { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 2000 };

function engine(opts: EngineOptions = {}): Engine {
  return new Engine({ maxOrders: 10000, maxSymbols: 8, ladderTicks: 100000, symbols: [SYM1], ...opts });
}

/** Checks that all events of one command share one seq, newer than the last command's, then drops it. */
function strip(got: EngineEvent[], last: { seq: bigint }): Ev[] {
  if (got.length > 0) {
    const seq = BigInt(got[0].seq);
    for (const e of got) assert.is(BigInt(e.seq), seq, 'every event of a command carries its seq');
    assert.ok(seq > last.seq, `seq ${seq} should grow past ${last.seq}`);
    last.seq = seq;
  }
  return got.map(({ seq: _seq, ...rest }) => rest as Ev);
}

const acc = (orderId: Int, side: Side, price: Int, quantity: Int, account = 0, clientOrderId: Int = 0): Ev =>
  ({ type: 'accepted', orderId, side, price, quantity, account, clientOrderId });
const rej = (reason: string, orderId: Int = 0, account = 0, clientOrderId: Int = 0): Ev =>
  ({ type: 'rejected', reason, orderId, account, clientOrderId });
const trd = (tradeId: Int, makerId: Int, takerId: Int, price: Int, quantity: Int, aggressor: Side, makerAccount = 0, takerAccount = 0): Ev =>
  ({ type: 'trade', tradeId, makerId, takerId, price, quantity, aggressor, makerAccount, takerAccount });
const cxl = (reason: string, orderId: Int, side: Side, price: Int, quantity: Int, leaves: Int, account = 0, clientOrderId: Int = 0): Ev =>
  ({ type: 'cancelled', reason, orderId, side, price, quantity, leaves, account, clientOrderId });
const mod = (orderId: Int, side: Side, price: Int, quantity: Int, account = 0, clientOrderId: Int = 0): Ev =>
  ({ type: 'modified', orderId, side, price, quantity, account, clientOrderId });
const lvl = (side: Side, price: Int, quantity: Int, orders: number): Ev => ({ type: 'level', side, price, quantity, orders });
const status = (s: 'active' | 'halted'): Ev => ({ type: 'symbol-status', status: s });
const on = (symbol: number, e: Ev): Ev => ({ ...e, symbol });

/** JSON that shows bigints (as "123n"). */
const js = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
const opp = (s: Side): Side => (s === 'buy' ? 'sell' : 'buy');

type LevelRow = [Int, Int, number];

const I64_FIELDS = ['orderId', 'price', 'quantity', 'clientOrderId', 'leaves', 'tradeId', 'makerId', 'takerId'];
/** With `bigint: true` every i64 field comes back as a bigint: expectations follow. */
function bigFields(e: Ev, big: boolean): Ev {
  if (!big) return e;
  const out: Ev = { ...e };
  for (const k of I64_FIELDS) if (typeof out[k] === 'number') out[k] = BigInt(out[k] as number);
  return out;
}

class Book {
  readonly e: Engine;
  private last = { seq: 0n };
  /** `quiet`: replay commands without checking their events (engines returning numbers, not bigints). */
  constructor(e: Engine = engine(), readonly symbol = 1, readonly quiet = false) { this.e = e; }

  private check(got: EngineEvent[], command: string, want: Ev[], msg?: string): EngineEvent[] {
    if (this.quiet) return got;
    const big = (this.e as unknown as { bigint: boolean }).bigint;
    assert.equal(strip(got, this.last), want.map((w) => bigFields({ command, symbol: this.symbol, ...w }, big)), msg);
    return got;
  }
  new(o: Omit<NewOrder, 'symbol'> & { symbol?: number }, want: Ev[], msg?: string) {
    return this.check(this.e.newOrder({ symbol: this.symbol, ...o }), 'new', want, msg);
  }
  cancel(o: Omit<CancelOrder, 'symbol'> & { symbol?: number }, want: Ev[], msg?: string) {
    return this.check(this.e.cancel({ symbol: this.symbol, ...o }), 'cancel', want, msg);
  }
  modify(o: Omit<ModifyOrder, 'symbol'> & { symbol?: number }, want: Ev[], msg?: string) {
    return this.check(this.e.modify({ symbol: this.symbol, ...o }), 'modify', want, msg);
  }
  mass(o: MassCancel, want: Ev[], msg?: string) { return this.check(this.e.massCancel(o), 'mass-cancel', want, msg); }
  halt(symbol: number, cancelOrders: boolean, want: Ev[]) { return this.check(this.e.halt(symbol, { cancelOrders }), 'halt', want); }
  resume(symbol: number, want: Ev[]) { return this.check(this.e.resume(symbol), 'resume', want); }
  add(spec: SymbolSpec, want: Ev[]) { return this.check(this.e.addSymbol(spec), 'add-symbol', want); }

  /** A resting order: its ACCEPTED then its LEVEL (level total and count given). */
  rest(orderId: Int, side: Side, price: Int, quantity: Int, levelTotal: Int, levelCount: number, extra: Partial<NewOrder> = {}) {
    const account = extra.account ?? 0;
    this.new({ orderId, side, price, quantity, ...extra },
      [acc(orderId, side, price, quantity, account, extra.clientOrderId ?? 0), lvl(side, price, levelTotal, levelCount)]);
  }

  depth(bids: LevelRow[], asks: LevelRow[], symbol = this.symbol) {
    if (this.quiet) return;
    const d = this.e.depth(symbol, 100);
    assert.equal(d, {
      bids: bids.map(([price, quantity, orders]) => ({ price, quantity, orders })),
      asks: asks.map(([price, quantity, orders]) => ({ price, quantity, orders })),
    }, 'depth');
  }
  queue(side: Side, price: Int, rows: [Int, Int][], symbol = this.symbol) {
    if (this.quiet) return;
    const q = this.e.queue(symbol, side, price).map((o) => [o.orderId, o.quantity]);
    assert.equal(q, rows, `queue ${side} ${price}`);
  }
  /** Runs fn, expecting it changes nothing: digest, live orders and depth stay. */
  unchanged(fn: () => void) {
    const digest = this.e.digest();
    const live = this.e.liveOrders;
    const depth = js(this.e.depth(this.symbol, 100));
    fn();
    assert.is(this.e.digest(), digest, 'digest unchanged');
    assert.is(this.e.liveOrders, live, 'live orders unchanged');
    assert.is(js(this.e.depth(this.symbol, 100)), depth, 'depth unchanged');
  }
}

// ---- FIFO ---------------------------------------------------------------------------------------

for (const side of ['buy', 'sell'] as Side[]) {
  test(`FIFO survives cancelling head, middle and tail (${side} queue)`, () => {
    const b = new Book();
    const P = 100;
    let total = 0;
    for (let id = 1; id <= 5; id++) {
      total += 10 + id;
      b.rest(id, side, P, 10 + id, total, id, { account: id });
    }
    b.queue(side, P, [[1, 11], [2, 12], [3, 13], [4, 14], [5, 15]]);

    b.cancel({ orderId: 1, account: 1 }, [cxl('request', 1, side, P, 11, 0, 1), lvl(side, P, 54, 4)]);
    b.queue(side, P, [[2, 12], [3, 13], [4, 14], [5, 15]]);
    b.cancel({ orderId: 3, account: 3 }, [cxl('request', 3, side, P, 13, 0, 3), lvl(side, P, 41, 3)]);
    b.queue(side, P, [[2, 12], [4, 14], [5, 15]]);
    b.cancel({ orderId: 5, account: 5 }, [cxl('request', 5, side, P, 15, 0, 5), lvl(side, P, 26, 2)]);
    b.queue(side, P, [[2, 12], [4, 14]]);
    b.rest(6, side, P, 16, 42, 3, { account: 6 });
    b.queue(side, P, [[2, 12], [4, 14], [6, 16]]);
    assert.is(b.e.order(1), undefined);
    assert.is(b.e.order(3), undefined);
    assert.is(b.e.order(5), undefined);

    const t = opp(side);
    b.new({ orderId: 7, side: t, price: P, quantity: 30, account: 9 }, [
      acc(7, t, P, 30, 9),
      trd(1, 2, 7, P, 12, t, 2, 9),
      trd(2, 4, 7, P, 14, t, 4, 9),
      trd(3, 6, 7, P, 4, t, 6, 9),
      lvl(side, P, 12, 1),
    ]);
    b.queue(side, P, [[6, 12]]);
    assert.is(b.e.order(6)?.quantity, 12);
    assert.is(b.e.order(2), undefined);
    assert.is(b.e.order(7), undefined);
    b.new({ orderId: 8, side: t, price: P, quantity: 12, account: 9 }, [
      acc(8, t, P, 12, 9), trd(4, 6, 8, P, 12, t, 6, 9), lvl(side, P, 0, 0),
    ]);
    b.depth([], []);
    assert.is(b.e.liveOrders, 0);
  });

  test(`cancelling the best level leaves no phantom best (${side} side)`, () => {
    const b = new Book();
    const better = (k: number) => (side === 'buy' ? 100 - k : 100 + k); // k ticks worse than the best
    b.rest(1, side, better(0), 5, 5, 1);
    b.rest(2, side, better(1), 6, 6, 1);
    b.rest(3, side, better(1), 7, 13, 2);
    b.rest(4, side, better(3), 8, 8, 1);
    const best = () => (side === 'buy' ? b.e.bestBid(1) : b.e.bestAsk(1));
    assert.equal(best(), { price: better(0), quantity: 5, orders: 1 });

    b.cancel({ orderId: 1 }, [cxl('request', 1, side, better(0), 5, 0), lvl(side, better(0), 0, 0)]);
    assert.equal(best(), { price: better(1), quantity: 13, orders: 2 });
    // An opposite order at the old best price must rest, not trade against a ghost.
    const t = opp(side);
    b.rest(9, t, better(0), 1, 1, 1);
    b.cancel({ orderId: 9 }, [cxl('request', 9, t, better(0), 1, 0), lvl(t, better(0), 0, 0)]);

    b.cancel({ orderId: 2 }, [cxl('request', 2, side, better(1), 6, 0), lvl(side, better(1), 7, 1)]);
    assert.equal(best(), { price: better(1), quantity: 7, orders: 1 });
    b.cancel({ orderId: 3 }, [cxl('request', 3, side, better(1), 7, 0), lvl(side, better(1), 0, 0)]);
    assert.equal(best(), { price: better(3), quantity: 8, orders: 1 });
    b.rest(10, t, better(2), 1, 1, 1); // between the remaining level and the cancelled ones: rests
    b.cancel({ orderId: 10 }, [cxl('request', 10, t, better(2), 1, 0), lvl(t, better(2), 0, 0)]);
    b.cancel({ orderId: 4 }, [cxl('request', 4, side, better(3), 8, 0), lvl(side, better(3), 0, 0)]);
    assert.is(best(), undefined);
    assert.is(side === 'buy' ? b.e.bestAsk(1) : b.e.bestBid(1), undefined);
    b.depth([], []);
    // A market order now finds nothing.
    b.new({ orderId: 11, side: t, quantity: 3, orderType: 'market' }, [acc(11, t, 0, 3), cxl('ioc', 11, t, 0, 3, 0)]);
    // And a new best level appears normally afterwards.
    b.rest(12, side, better(5), 2, 2, 1);
    assert.equal(best(), { price: better(5), quantity: 2, orders: 1 });
  });

  test(`a marketable limit sweeps best-first and rests at its own limit (${side} taker)`, () => {
    const b = new Book();
    const m = opp(side);
    const px = (k: number) => (side === 'buy' ? 100 + k : 100 - k); // k ticks worse for the taker
    b.rest(1, m, px(1), 5, 5, 1, { account: 1 });
    b.rest(2, m, px(2), 3, 3, 1, { account: 2 });
    b.rest(3, m, px(2), 4, 7, 2, { account: 3 });
    b.rest(4, m, px(4), 5, 5, 1, { account: 4 });
    b.rest(5, m, px(1) === 101 ? 200 : 1, 1, 1, 1); // far away, never reached
    b.new({ orderId: 10, side, price: px(3), quantity: 20, account: 7, clientOrderId: 70 }, [
      acc(10, side, px(3), 20, 7, 70),
      trd(1, 1, 10, px(1), 5, side, 1, 7),
      lvl(m, px(1), 0, 0),
      trd(2, 2, 10, px(2), 3, side, 2, 7),
      trd(3, 3, 10, px(2), 4, side, 3, 7),
      lvl(m, px(2), 0, 0),
      lvl(side, px(3), 8, 1),
    ]);
    const far: LevelRow = [px(1) === 101 ? 200 : 1, 1, 1];
    if (side === 'buy') b.depth([[px(3), 8, 1]], [[px(4), 5, 1], far]);
    else b.depth([[px(4), 5, 1], far], [[px(3), 8, 1]]);
    assert.equal(b.e.order(10), { orderId: 10, symbol: 1, side, price: px(3), quantity: 8, account: 7, clientOrderId: 70, handle: b.e.order(10)!.handle });
    b.queue(side, px(3), [[10, 8]]);
  });
}

// ---- trade price ------------------------------------------------------------------------------

test('trades print at the maker price, both directions, including a repricing modify', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 5, 5, 1, { account: 1 });
  b.new({ orderId: 2, side: 'buy', price: 105, quantity: 5, account: 2 }, [
    acc(2, 'buy', 105, 5, 2), trd(1, 1, 2, 100, 5, 'buy', 1, 2), lvl('sell', 100, 0, 0),
  ]);
  b.rest(3, 'buy', 100, 5, 5, 1, { account: 1 });
  b.new({ orderId: 4, side: 'sell', price: 95, quantity: 5, account: 2 }, [
    acc(4, 'sell', 95, 5, 2), trd(2, 3, 4, 100, 5, 'sell', 1, 2), lvl('buy', 100, 0, 0),
  ]);
  b.depth([], []);

  // A bid repriced through the spread takes at the ask's price.
  b.rest(5, 'buy', 98, 10, 10, 1, { account: 1 });
  b.rest(6, 'sell', 102, 4, 4, 1, { account: 2 });
  b.modify({ orderId: 5, price: 103, quantity: 10, account: 1, clientOrderId: 77 }, [
    mod(5, 'buy', 103, 10, 1, 77),
    lvl('buy', 98, 0, 0),
    trd(3, 6, 5, 102, 4, 'buy', 2, 1),
    lvl('sell', 102, 0, 0),
    lvl('buy', 103, 6, 1),
  ]);
  b.depth([[103, 6, 1]], []);
  assert.is(b.e.order(5)?.price, 103);
  assert.is(b.e.order(5)?.clientOrderId, 77);

  // An ask repriced through two bid levels takes at each bid's price, then rests at its new limit.
  b.rest(7, 'sell', 110, 10, 10, 1, { account: 2 });
  b.rest(8, 'buy', 104, 3, 3, 1, { account: 1 });
  b.modify({ orderId: 7, price: 101, quantity: 10, account: 2 }, [
    mod(7, 'sell', 101, 10, 2, 0),
    lvl('sell', 110, 0, 0),
    trd(4, 8, 7, 104, 3, 'sell', 1, 2),
    lvl('buy', 104, 0, 0),
    trd(5, 5, 7, 103, 6, 'sell', 1, 2),
    lvl('buy', 103, 0, 0),
    lvl('sell', 101, 1, 1),
  ]);
  b.depth([], [[101, 1, 1]]);
  assert.is(b.e.order(5), undefined);
  assert.is(b.e.order(7)?.quantity, 1);
});

// ---- priority -----------------------------------------------------------------------------------

test('partial fill keeps place; same-price decrease keeps priority; increase or reprice loses it', () => {
  const b = new Book();
  b.rest(1, 'buy', 100, 10, 10, 1, { account: 1 });
  b.rest(2, 'buy', 100, 10, 20, 2, { account: 2 });
  b.new({ orderId: 3, side: 'sell', price: 100, quantity: 4, account: 3 }, [
    acc(3, 'sell', 100, 4, 3), trd(1, 1, 3, 100, 4, 'sell', 1, 3), lvl('buy', 100, 16, 2),
  ]);
  b.queue('buy', 100, [[1, 6], [2, 10]]);
  assert.is(b.e.order(1)?.quantity, 6);

  // decrease at the same price: keeps priority
  b.modify({ orderId: 1, price: 100, quantity: 3, account: 1, clientOrderId: 11 }, [mod(1, 'buy', 100, 3, 1, 11), lvl('buy', 100, 13, 2)]);
  b.queue('buy', 100, [[1, 3], [2, 10]]);
  // same price, same quantity: keeps priority too (the client id changes)
  b.modify({ orderId: 1, price: 100, quantity: 3, account: 1, clientOrderId: 12 }, [mod(1, 'buy', 100, 3, 1, 12), lvl('buy', 100, 13, 2)]);
  b.queue('buy', 100, [[1, 3], [2, 10]]);
  assert.is(b.e.order(1)?.clientOrderId, 12);

  // increase: loses priority (removed from the level, then rests at its tail)
  b.modify({ orderId: 1, price: 100, quantity: 5, account: 1 }, [
    mod(1, 'buy', 100, 5, 1, 0), lvl('buy', 100, 10, 1), lvl('buy', 100, 15, 2),
  ]);
  b.queue('buy', 100, [[2, 10], [1, 5]]);
  b.new({ orderId: 4, side: 'sell', price: 100, quantity: 12, account: 3 }, [
    acc(4, 'sell', 100, 12, 3), trd(2, 2, 4, 100, 10, 'sell', 2, 3), trd(3, 1, 4, 100, 2, 'sell', 1, 3), lvl('buy', 100, 3, 1),
  ]);
  b.queue('buy', 100, [[1, 3]]);

  // reprice: loses priority
  b.rest(7, 'buy', 99, 10, 10, 1, { account: 7 });
  b.rest(8, 'buy', 99, 10, 20, 2, { account: 8 });
  b.modify({ orderId: 7, price: 100, quantity: 10, account: 7 }, [mod(7, 'buy', 100, 10, 7), lvl('buy', 99, 10, 1), lvl('buy', 100, 13, 2)]);
  b.queue('buy', 100, [[1, 3], [7, 10]]);
  b.modify({ orderId: 1, price: 99, quantity: 3, account: 1 }, [mod(1, 'buy', 99, 3, 1), lvl('buy', 100, 10, 1), lvl('buy', 99, 13, 2)]);
  b.queue('buy', 99, [[8, 10], [1, 3]]);
  b.modify({ orderId: 1, price: 100, quantity: 2, account: 1 }, [mod(1, 'buy', 100, 2, 1), lvl('buy', 99, 10, 1), lvl('buy', 100, 12, 2)]);
  b.queue('buy', 100, [[7, 10], [1, 2]]);
  b.depth([[100, 12, 2], [99, 10, 1]], []);
  b.new({ orderId: 9, side: 'sell', price: 99, quantity: 22, account: 3 }, [
    acc(9, 'sell', 99, 22, 3),
    trd(4, 7, 9, 100, 10, 'sell', 7, 3), trd(5, 1, 9, 100, 2, 'sell', 1, 3), lvl('buy', 100, 0, 0),
    trd(6, 8, 9, 99, 10, 'sell', 8, 3), lvl('buy', 99, 0, 0),
  ]);
  b.depth([], []);
});

// ---- IOC and market ----------------------------------------------------------------------------

test('IOC remainder is cancelled and reported', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 5, 5, 1, { account: 1 });
  b.new({ orderId: 2, side: 'buy', price: 100, quantity: 8, tif: 'ioc', account: 2, clientOrderId: 9 }, [
    acc(2, 'buy', 100, 8, 2, 9), trd(1, 1, 2, 100, 5, 'buy', 1, 2), lvl('sell', 100, 0, 0), cxl('ioc', 2, 'buy', 100, 3, 0, 2, 9),
  ]);
  assert.is(b.e.order(2), undefined);
  assert.is(b.e.liveOrders, 0);
  b.depth([], []);
  // no cross at all: the whole quantity is cancelled
  b.rest(3, 'sell', 100, 5, 5, 1);
  b.unchanged(() => b.new({ orderId: 4, side: 'buy', price: 99, quantity: 5, tif: 'ioc' }, [acc(4, 'buy', 99, 5), cxl('ioc', 4, 'buy', 99, 5, 0)]));
  // fully filled: no CANCELLED
  b.new({ orderId: 5, side: 'buy', price: 100, quantity: 5, tif: 'ioc' }, [acc(5, 'buy', 100, 5), trd(2, 3, 5, 100, 5, 'buy'), lvl('sell', 100, 0, 0)]);
  // IOC sell
  b.rest(6, 'buy', 100, 2, 2, 1);
  b.new({ orderId: 7, side: 'sell', price: 90, quantity: 5, tif: 'ioc' }, [
    acc(7, 'sell', 90, 5), trd(3, 6, 7, 100, 2, 'sell'), lvl('buy', 100, 0, 0), cxl('ioc', 7, 'sell', 90, 3, 0),
  ]);
  b.depth([], []);
});

test('market orders: without and with protection price, and on an empty book', () => {
  const b = new Book();
  // empty book, both sides
  b.unchanged(() => b.new({ orderId: 1, side: 'buy', quantity: 4, orderType: 'market' }, [acc(1, 'buy', 0, 4), cxl('ioc', 1, 'buy', 0, 4, 0)]));
  b.unchanged(() => b.new({ orderId: 1, side: 'sell', quantity: 4, orderType: 'market', account: 3, clientOrderId: 8 }, [acc(1, 'sell', 0, 4, 3, 8), cxl('ioc', 1, 'sell', 0, 4, 0, 3, 8)]));
  b.unchanged(() => b.new({ orderId: 1, side: 'sell', quantity: 4, orderType: 'market', price: 50 }, [acc(1, 'sell', 50, 4), cxl('ioc', 1, 'sell', 50, 4, 0)]));
  b.unchanged(() => b.new({ orderId: 1, side: 'buy', quantity: 4, orderType: 'market', tif: 'fok' }, [acc(1, 'buy', 0, 4), cxl('fok', 1, 'buy', 0, 4, 0)]));

  // no protection: crosses every level
  b.rest(6, 'sell', 100, 5, 5, 1);
  b.rest(7, 'sell', 101, 5, 5, 1);
  b.rest(8, 'sell', 1500, 5, 5, 1);
  b.new({ orderId: 9, side: 'buy', quantity: 12, orderType: 'market' }, [
    acc(9, 'buy', 0, 12),
    trd(1, 6, 9, 100, 5, 'buy'), lvl('sell', 100, 0, 0),
    trd(2, 7, 9, 101, 5, 'buy'), lvl('sell', 101, 0, 0),
    trd(3, 8, 9, 1500, 2, 'buy'), lvl('sell', 1500, 3, 1),
  ]);
  b.new({ orderId: 10, side: 'buy', quantity: 10, orderType: 'market' }, [
    acc(10, 'buy', 0, 10), trd(4, 8, 10, 1500, 3, 'buy'), lvl('sell', 1500, 0, 0), cxl('ioc', 10, 'buy', 0, 7, 0),
  ]);
  b.depth([], []);

  // protection price: stops at the worst acceptable level, remainder cancelled
  b.rest(11, 'sell', 100, 5, 5, 1);
  b.rest(12, 'sell', 101, 5, 5, 1);
  b.rest(13, 'sell', 102, 5, 5, 1);
  b.new({ orderId: 14, side: 'buy', quantity: 12, orderType: 'market', price: 101 }, [
    acc(14, 'buy', 101, 12),
    trd(5, 11, 14, 100, 5, 'buy'), lvl('sell', 100, 0, 0),
    trd(6, 12, 14, 101, 5, 'buy'), lvl('sell', 101, 0, 0),
    cxl('ioc', 14, 'buy', 101, 2, 0),
  ]);
  b.depth([], [[102, 5, 1]]);
  b.rest(15, 'buy', 99, 5, 5, 1);
  b.rest(16, 'buy', 98, 5, 5, 1);
  b.new({ orderId: 17, side: 'sell', quantity: 8, orderType: 'market', price: 99 }, [
    acc(17, 'sell', 99, 8), trd(7, 15, 17, 99, 5, 'sell'), lvl('buy', 99, 0, 0), cxl('ioc', 17, 'sell', 99, 3, 0),
  ]);
  b.new({ orderId: 18, side: 'sell', quantity: 8, orderType: 'market' }, [
    acc(18, 'sell', 0, 8), trd(8, 16, 18, 98, 5, 'sell'), lvl('buy', 98, 0, 0), cxl('ioc', 18, 'sell', 0, 3, 0),
  ]);
  b.depth([], [[102, 5, 1]]);
  // market GTC is invalid
  b.unchanged(() => b.new({ orderId: 19, side: 'buy', quantity: 1, orderType: 'market', tif: 'gtc' }, [rej('invalid-tif', 19)]));
});

// ---- FOK ----------------------------------------------------------------------------------------

test('FOK is all or nothing', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 5, 5, 1, { account: 1 });
  b.rest(2, 'sell', 101, 5, 5, 1, { account: 2 });
  b.rest(3, 'sell', 102, 5, 5, 1, { account: 3 });
  b.unchanged(() => b.new({ orderId: 10, side: 'buy', price: 101, quantity: 11, tif: 'fok', account: 9, clientOrderId: 4 }, [
    acc(10, 'buy', 101, 11, 9, 4), cxl('fok', 10, 'buy', 101, 11, 0, 9, 4),
  ]));
  b.unchanged(() => b.new({ orderId: 10, side: 'buy', quantity: 16, tif: 'fok', orderType: 'market' }, [acc(10, 'buy', 0, 16), cxl('fok', 10, 'buy', 0, 16, 0)]));
  b.unchanged(() => b.new({ orderId: 10, side: 'buy', quantity: 11, tif: 'fok', orderType: 'market', price: 101 }, [acc(10, 'buy', 101, 11), cxl('fok', 10, 'buy', 101, 11, 0)]));
  b.new({ orderId: 11, side: 'buy', price: 101, quantity: 10, tif: 'fok', account: 9 }, [
    acc(11, 'buy', 101, 10, 9),
    trd(1, 1, 11, 100, 5, 'buy', 1, 9), lvl('sell', 100, 0, 0),
    trd(2, 2, 11, 101, 5, 'buy', 2, 9), lvl('sell', 101, 0, 0),
  ]);
  b.depth([], [[102, 5, 1]]);
  assert.is(b.e.order(11), undefined);
  // partial fill of the last maker
  b.new({ orderId: 12, side: 'buy', price: 102, quantity: 3, tif: 'fok' }, [acc(12, 'buy', 102, 3), trd(3, 3, 12, 102, 3, 'buy', 3, 0), lvl('sell', 102, 2, 1)]);
  // sell side
  b.rest(20, 'buy', 90, 4, 4, 1);
  b.rest(21, 'buy', 89, 4, 4, 1);
  b.unchanged(() => b.new({ orderId: 22, side: 'sell', price: 89, quantity: 9, tif: 'fok' }, [acc(22, 'sell', 89, 9), cxl('fok', 22, 'sell', 89, 9, 0)]));
  b.new({ orderId: 22, side: 'sell', price: 89, quantity: 8, tif: 'fok' }, [
    acc(22, 'sell', 89, 8), trd(4, 20, 22, 90, 4, 'sell'), lvl('buy', 90, 0, 0), trd(5, 21, 22, 89, 4, 'sell'), lvl('buy', 89, 0, 0),
  ]);
  b.depth([], [[102, 2, 1]]);
});

test('FOK with own-account liquidity under each STP mode', () => {
  // own (account 7) first in the queue, then another account's order; 10 in all, 5 not own
  const setup = () => {
    const b = new Book();
    b.rest(1, 'sell', 100, 5, 5, 1, { account: 7 });
    b.rest(2, 'sell', 100, 5, 10, 2, { account: 8 });
    return b;
  };
  for (const stp of ['cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement'] as SelfTradePrevention[]) {
    const b = setup();
    b.unchanged(() => b.new({ orderId: 9, side: 'buy', price: 100, quantity: 10, tif: 'fok', account: 7, stp }, [
      acc(9, 'buy', 100, 10, 7), cxl('fok', 9, 'buy', 100, 10, 0, 7),
    ], stp));
    b.queue('sell', 100, [[1, 5], [2, 5]]);
  }
  {
    // stp none: own orders count, and trade
    const b = setup();
    b.new({ orderId: 9, side: 'buy', price: 100, quantity: 10, tif: 'fok', account: 7 }, [
      acc(9, 'buy', 100, 10, 7), trd(1, 1, 9, 100, 5, 'buy', 7, 7), trd(2, 2, 9, 100, 5, 'buy', 8, 7), lvl('sell', 100, 0, 0),
    ]);
  }
  {
    // cancel-oldest: own skipped in the walk, then cancelled by the match
    const b = new Book();
    b.rest(1, 'sell', 100, 5, 5, 1, { account: 7 });
    b.rest(2, 'sell', 100, 10, 15, 2, { account: 8 });
    b.new({ orderId: 9, side: 'buy', price: 100, quantity: 10, tif: 'fok', account: 7, stp: 'cancel-oldest' }, [
      acc(9, 'buy', 100, 10, 7), cxl('self-trade', 1, 'sell', 100, 5, 0, 7), trd(1, 2, 9, 100, 10, 'buy', 8, 7), lvl('sell', 100, 0, 0),
    ]);
    b.depth([], []);
  }
  for (const stp of ['cancel-newest', 'cancel-both', 'decrement'] as SelfTradePrevention[]) {
    // enough before reaching the own order: fills, the own order untouched
    const b = new Book();
    b.rest(2, 'sell', 100, 10, 10, 1, { account: 8 });
    b.rest(1, 'sell', 100, 5, 15, 2, { account: 7 });
    b.new({ orderId: 9, side: 'buy', price: 100, quantity: 10, tif: 'fok', account: 7, stp }, [
      acc(9, 'buy', 100, 10, 7), trd(1, 2, 9, 100, 10, 'buy', 8, 7), lvl('sell', 100, 5, 1),
    ], stp);
    b.queue('sell', 100, [[1, 5]]);
    // one more unit than the others hold: the own order stops the walk
    b.rest(3, 'sell', 101, 5, 5, 1, { account: 8 });
    b.unchanged(() => b.new({ orderId: 10, side: 'buy', price: 101, quantity: 1, tif: 'fok', account: 7, stp }, [
      acc(10, 'buy', 101, 1, 7), cxl('fok', 10, 'buy', 101, 1, 0, 7),
    ], stp));
  }
});

// ---- post-only -----------------------------------------------------------------------------------

test('post-only never trades', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 5, 5, 1);
  b.unchanged(() => b.new({ orderId: 2, side: 'buy', price: 100, quantity: 5, postOnly: true, account: 3, clientOrderId: 4 }, [rej('post-only-would-cross', 2, 3, 4)]));
  b.unchanged(() => b.new({ orderId: 2, side: 'buy', price: 101, quantity: 5, postOnly: true }, [rej('post-only-would-cross', 2)]));
  b.rest(2, 'buy', 99, 5, 5, 1, { postOnly: true, account: 3 });
  assert.equal(b.e.queue(1, 'buy', 99)[0], { orderId: 2, quantity: 5, account: 3, clientOrderId: 0, postOnly: true, stp: 'none' });
  b.unchanged(() => b.new({ orderId: 3, side: 'sell', price: 99, quantity: 1, postOnly: true }, [rej('post-only-would-cross', 3)]));
  b.rest(3, 'sell', 101, 1, 1, 1, { postOnly: true });
  b.rest(4, 'sell', 100, 1, 6, 2, { postOnly: true });
  b.depth([[99, 5, 1]], [[100, 6, 2], [101, 1, 1]]);
  b.queue('sell', 100, [[1, 5], [4, 1]]);
  // post-only on an empty opposite side rests, at any price
  const c = new Book();
  c.rest(1, 'buy', 2000, 5, 5, 1, { postOnly: true });
  c.unchanged(() => c.new({ orderId: 2, side: 'sell', price: 1, quantity: 5, postOnly: true }, [rej('post-only-would-cross', 2)]));
  c.cancel({ orderId: 1 }, [cxl('request', 1, 'buy', 2000, 5, 0), lvl('buy', 2000, 0, 0)]);
  c.rest(2, 'sell', 1, 5, 5, 1, { postOnly: true, tif: 'gtc', orderType: 'limit' });
  c.depth([], [[1, 5, 1]]);
});

test('post-only with IOC, FOK or market is invalid-tif; a post-only modify through the spread is rejected', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 5, 5, 1);
  b.unchanged(() => b.new({ orderId: 2, side: 'buy', price: 90, quantity: 5, postOnly: true, tif: 'ioc' }, [rej('invalid-tif', 2)]));
  b.unchanged(() => b.new({ orderId: 2, side: 'buy', price: 90, quantity: 5, postOnly: true, tif: 'fok' }, [rej('invalid-tif', 2)]));
  b.unchanged(() => b.new({ orderId: 2, side: 'buy', quantity: 5, postOnly: true, orderType: 'market' }, [rej('invalid-tif', 2)]));
  b.rest(2, 'buy', 99, 5, 5, 1, { postOnly: true, account: 1 });
  b.unchanged(() => b.modify({ orderId: 2, price: 100, quantity: 5, account: 1, clientOrderId: 6 }, [rej('post-only-would-cross', 2, 1, 6)]));
  // same price, smaller: keeps priority, no cross check needed
  b.modify({ orderId: 2, price: 99, quantity: 4, account: 1 }, [mod(2, 'buy', 99, 4, 1), lvl('buy', 99, 4, 1)]);
  b.modify({ orderId: 2, price: 98, quantity: 4, account: 1 }, [mod(2, 'buy', 98, 4, 1), lvl('buy', 99, 0, 0), lvl('buy', 98, 4, 1)]);
  b.depth([[98, 4, 1]], [[100, 5, 1]]);
  assert.is(b.e.queue(1, 'buy', 98)[0].postOnly, true);
});

// ---- unknown-order, not-owner, id reuse -----------------------------------------------------------

test('cancel/modify of filled, cancelled, never-seen ids; not-owner; ids reusable', () => {
  const b = engine({ symbols: [SYM1, { id: 2, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }] });
  const k = new Book(b);
  k.rest(1, 'sell', 100, 5, 5, 1, { account: 1 });
  k.new({ orderId: 2, side: 'buy', price: 100, quantity: 5, account: 2 }, [acc(2, 'buy', 100, 5, 2), trd(1, 1, 2, 100, 5, 'buy', 1, 2), lvl('sell', 100, 0, 0)]);
  k.rest(3, 'buy', 90, 5, 5, 1, { account: 3 });
  k.cancel({ orderId: 3, account: 3 }, [cxl('request', 3, 'buy', 90, 5, 0, 3), lvl('buy', 90, 0, 0)]);
  k.unchanged(() => {
    k.cancel({ orderId: 1, account: 1 }, [rej('unknown-order', 1, 1)]);
    k.cancel({ orderId: 2, account: 2 }, [rej('unknown-order', 2, 2)]);
    k.cancel({ orderId: 3, account: 3 }, [rej('unknown-order', 3, 3)]);
    k.cancel({ orderId: 999 }, [rej('unknown-order', 999)]);
    k.modify({ orderId: 1, price: 100, quantity: 5, account: 1, clientOrderId: 55 }, [rej('unknown-order', 1, 1, 55)]);
    k.modify({ orderId: 2, price: 100, quantity: 5, account: 2 }, [rej('unknown-order', 2, 2)]);
    k.modify({ orderId: 3, price: 90, quantity: 5, account: 3 }, [rej('unknown-order', 3, 3)]);
    k.modify({ orderId: 999, price: 90, quantity: 5 }, [rej('unknown-order', 999)]);
  });
  // ids reusable after fill (1, 2) and after cancel (3)
  k.rest(1, 'buy', 95, 7, 7, 1, { account: 4, clientOrderId: 41 });
  k.rest(2, 'buy', 95, 8, 15, 2, { account: 5 });
  k.rest(3, 'sell', 120, 9, 9, 1, { account: 6 });
  assert.equal(b.order(1), { orderId: 1, symbol: 1, side: 'buy', price: 95, quantity: 7, account: 4, clientOrderId: 41, handle: b.order(1)!.handle });
  assert.is(b.order(3)?.side, 'sell');
  // a live id in another symbol is unknown there
  k.unchanged(() => {
    assert.equal(strip(b.cancel({ symbol: 2, orderId: 1, account: 4 }), { seq: 0n }), [on(2, { command: 'cancel', ...rej('unknown-order', 1, 4) })]);
    assert.equal(strip(b.modify({ symbol: 2, orderId: 1, account: 4, price: 95, quantity: 7 }), { seq: 0n }), [on(2, { command: 'modify', ...rej('unknown-order', 1, 4) })]);
  });
  // another account: not-owner
  k.unchanged(() => {
    k.cancel({ orderId: 1, account: 5 }, [rej('not-owner', 1, 5)]);
    k.cancel({ orderId: 1 }, [rej('not-owner', 1, 0)]);
    k.modify({ orderId: 1, price: 96, quantity: 7, account: 6, clientOrderId: 3 }, [rej('not-owner', 1, 6, 3)]);
  });
  k.cancel({ orderId: 1, account: 4 }, [cxl('request', 1, 'buy', 95, 7, 0, 4, 41), lvl('buy', 95, 8, 1)]);
  k.queue('buy', 95, [[2, 8]]);
});

// ---- a 5,000-fill sweep ----------------------------------------------------------------------

test('one order sweeps 5,000 resting orders over 100 levels', () => {
  const e = engine({ symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 2000 }] });
  const N = 5000;
  const LEVELS = 100;
  const price = (i: number) => 1001 + ((i - 1) % LEVELS);
  const qty = (i: number) => ((i - 1) % 7) + 1;
  const account = (i: number) => (i % 3) + 1;
  let total = 0;
  for (let i = 1; i <= N; i++) {
    const ev = e.newOrder({ symbol: 1, orderId: i, side: 'sell', price: price(i), quantity: qty(i), account: account(i) });
    assert.is(ev.length, 2);
    total += qty(i);
  }
  assert.is(e.liveOrders, N);
  assert.is(e.depth(1, 1000).asks.length, LEVELS);
  const got = strip(e.newOrder({ symbol: 1, orderId: 10001, side: 'buy', price: 1100, quantity: total, account: 9 }), { seq: 0n });
  const want: Ev[] = [{ command: 'new', symbol: 1, ...acc(10001, 'buy', 1100, total, 9) }];
  let tradeId = 1;
  for (let k = 0; k < LEVELS; k++) {
    for (let i = k + 1; i <= N; i += LEVELS) {
      want.push({ command: 'new', symbol: 1, ...trd(tradeId++, i, 10001, 1001 + k, qty(i), 'buy', account(i), 9) });
    }
    want.push({ command: 'new', symbol: 1, ...lvl('sell', 1001 + k, 0, 0) });
  }
  assert.is(got.length, 1 + N + LEVELS);
  assert.is(got.filter((x) => x.type === 'trade').length, N);
  assert.is(got.filter((x) => x.type === 'level').length, LEVELS);
  assert.equal(got, want);
  assert.equal(e.depth(1, 1000), { bids: [], asks: [] });
  assert.is(e.liveOrders, 0);
  assert.is(e.bestAsk(1), undefined);
  // the next trade id continues
  e.newOrder({ symbol: 1, orderId: 1, side: 'sell', price: 1000, quantity: 1 });
  const next = e.newOrder({ symbol: 1, orderId: 2, side: 'buy', price: 1000, quantity: 1 });
  assert.is((next[1] as { tradeId: Int }).tradeId, N + 1);
});

// ---- the representable ceiling ----------------------------------------------------------------

test('prices at the i64 ceiling: orders and trades there, digest stable across builds and restore', () => {
  const I64_MAX = (1n << 63n) - 1n;
  const Q = BigInt(L.MAX_ORDER_QUANTITY);
  // ticks 1 and 7 divide 2^63-1: the band ends at 2^63-1 itself; ticks 1000 and 3: just below it
  const specs: SymbolSpec[] = [1n, 1000n, 7n, 3n].map((tick, k) => {
    const max = (I64_MAX / tick) * tick;
    return { id: k + 1, tickSize: tick, lotSize: 1n, minPrice: max - 999n * tick, maxPrice: max };
  });
  assert.is(specs[0].maxPrice, I64_MAX);
  assert.is(specs[1].maxPrice, 9223372036854775000n);
  assert.is(specs[2].maxPrice, I64_MAX);
  assert.is(specs[3].maxPrice, I64_MAX - 1n);
  const script = (e: Engine, quiet = false) => {
    for (const s of specs) {
      const sym = s.id;
      const max = BigInt(s.maxPrice);
      const min = BigInt(s.minPrice);
      const tick = BigInt(s.tickSize);
      const b = new Book(e, sym, quiet);
      const id = (n: bigint) => n + 100n * BigInt(sym);
      const tid = (n: number) => BigInt(n + (sym - 1) * 8);
      b.rest(id(1n), 'sell', max, Q, Q, 1);
      b.rest(id(2n), 'sell', max - tick, 5n, 5n, 1);
      b.rest(id(3n), 'sell', max, Q, 2n * Q, 2);
      if (!quiet) assert.equal(e.bestAsk(sym), { price: max - tick, quantity: 5n, orders: 1 });
      b.new({ orderId: id(4n), side: 'buy', price: max, quantity: 7n, account: 2 }, [
        acc(id(4n), 'buy', max, 7n, 2),
        trd(tid(1), id(2n), id(4n), max - tick, 5n, 'buy', 0, 2), lvl('sell', max - tick, 0n, 0),
        trd(tid(2), id(1n), id(4n), max, 2n, 'buy', 0, 2), lvl('sell', max, 2n * Q - 2n, 2),
      ]);
      if (!quiet) assert.equal(e.bestAsk(sym), { price: max, quantity: 2n * Q - 2n, orders: 2 });
      b.new({ orderId: id(5n), side: 'buy', price: max, quantity: Q, account: 3 }, [
        acc(id(5n), 'buy', max, Q, 3),
        trd(tid(3), id(1n), id(5n), max, Q - 2n, 'buy', 0, 3),
        trd(tid(4), id(3n), id(5n), max, 2n, 'buy', 0, 3),
        lvl('sell', max, Q - 2n, 1),
      ]);
      b.new({ orderId: id(6n), side: 'buy', price: max, quantity: Q, account: 5 }, [
        acc(id(6n), 'buy', max, Q, 5),
        trd(tid(5), id(3n), id(6n), max, Q - 2n, 'buy', 0, 5),
        lvl('sell', max, 0n, 0),
        lvl('buy', max, 2n, 1),
      ]);
      if (!quiet) assert.equal(e.bestBid(sym), { price: max, quantity: 2n, orders: 1 });
      assert.is(e.bestAsk(sym), undefined);
      assert.is(e.order(id(6n))?.price, max);
      b.rest(id(7n), 'buy', max, Q, Q + 2n, 2);
      b.rest(id(8n), 'buy', min, 1n, 1n, 1);
      b.depth([[max, Q + 2n, 2], [min, 1n, 1]], []);
      b.queue('buy', max, [[id(6n), 2n], [id(7n), Q]]);
      if (!quiet) b.unchanged(() => {
        if (max < I64_MAX) {
          b.new({ orderId: id(9n), side: 'sell', price: max + 1n, quantity: 1n }, [rej('price-out-of-band', id(9n))]);
          b.new({ orderId: id(9n), side: 'buy', orderType: 'market', price: I64_MAX, quantity: 1n }, [rej('price-out-of-band', id(9n))]);
        } else {
          b.new({ orderId: id(9n), side: 'buy', orderType: 'market', price: I64_MAX, quantity: 1n }, [acc(id(9n), 'buy', I64_MAX, 1n), cxl('ioc', id(9n), 'buy', I64_MAX, 1n, 0n)]);
        }
        if (tick > 1n) b.new({ orderId: id(9n), side: 'sell', price: max - 1n, quantity: 1n }, [rej('price-off-tick', id(9n))]);
        b.new({ orderId: id(9n), side: 'sell', price: min - tick, quantity: 1n }, [rej('price-out-of-band', id(9n))]);
        b.new({ orderId: id(9n), side: 'buy', price: max, quantity: Q + 1n }, [rej('quantity-too-large', id(9n))]);
        assert.throws(() => e.newOrder({ symbol: sym, orderId: 1n, side: 'buy', price: I64_MAX + 1n, quantity: 1n }), (err: Error) => err instanceof RangeError && /price/.test(err.message));
      });
      // a protected market sell at the ceiling takes that level only
      b.new({ orderId: id(10n), side: 'sell', orderType: 'market', price: max, quantity: Q, account: 4 }, [
        acc(id(10n), 'sell', max, Q, 4),
        trd(tid(6), id(6n), id(10n), max, 2n, 'sell', 5, 4),
        trd(tid(7), id(7n), id(10n), max, Q - 2n, 'sell', 0, 4),
        lvl('buy', max, 2n, 1),
      ]);
      b.new({ orderId: id(10n), side: 'sell', orderType: 'market', price: max, quantity: 5n, account: 4 }, [
        acc(id(10n), 'sell', max, 5n, 4),
        trd(tid(8), id(7n), id(10n), max, 2n, 'sell', 0, 4),
        lvl('buy', max, 0n, 0),
        cxl('ioc', id(10n), 'sell', max, 3n, 0n, 4),
      ]);
      b.modify({ orderId: id(8n), price: max, quantity: 3n }, [mod(id(8n), 'buy', max, 3n), lvl('buy', min, 0n, 0), lvl('buy', max, 3n, 1)]);
      b.depth([[max, 3n, 1]], []);
    }
  };
  const make = (build: 'release' | 'scalar', bigint: boolean) =>
    new Engine({ maxOrders: 1000, maxSymbols: 4, ladderTicks: 4000, bigint, build, symbols: specs });
  const a = make('release', true);
  const d0 = a.digest();
  script(a);
  const d = a.digest();
  assert.is.not(d, d0);
  assert.is(a.digest(), d, 'digest is stable across calls');
  assert.is(a.liveOrders, 4);
  const s = make('scalar', true);
  script(s);
  assert.is(s.digest(), d, 'the scalar build agrees');
  const r = Engine.restore(a.snapshot(), { bigint: true });
  assert.is(r.digest(), d, 'a restored engine agrees');
  for (const spec of specs) assert.equal(r.depth(spec.id), a.depth(spec.id));
  // without bigint: values beyond 2^53 still come back exact, as bigints
  const n = make('release', false);
  script(n, true);
  assert.is(n.digest(), d);
  assert.is(n.bestBid(1)?.price, I64_MAX);
  assert.is(n.bestBid(1)?.quantity, 3);
});

// ---- self-trade prevention ---------------------------------------------------------------------

/** Own order 1 (account 5, 10 @100) ahead of order 2 (account 6, 10 @100). */
function stpBook(): Book {
  const b = new Book();
  b.rest(1, 'sell', 100, 10, 10, 1, { account: 5 });
  b.rest(2, 'sell', 100, 10, 20, 2, { account: 6 });
  return b;
}
const taker = (stp: SelfTradePrevention, quantity = 15) => ({ orderId: 9, side: 'buy' as Side, price: 100, quantity, account: 5, stp });

test('STP none: a self-trade prints', () => {
  const b = stpBook();
  b.new(taker('none'), [acc(9, 'buy', 100, 15, 5), trd(1, 1, 9, 100, 10, 'buy', 5, 5), trd(2, 2, 9, 100, 5, 'buy', 6, 5), lvl('sell', 100, 5, 1)]);
  b.queue('sell', 100, [[2, 5]]);
  assert.is(b.e.order(9), undefined);
  // the maker's own stp mode does not matter, only the taker's
  const c = new Book();
  c.rest(1, 'sell', 100, 10, 10, 1, { account: 5, stp: 'cancel-both' });
  c.new(taker('none', 4), [acc(9, 'buy', 100, 4, 5), trd(1, 1, 9, 100, 4, 'buy', 5, 5), lvl('sell', 100, 6, 1)]);
  // and another account is never a self-trade
  c.new({ ...taker('cancel-both', 4), account: 6 }, [acc(9, 'buy', 100, 4, 6), trd(2, 1, 9, 100, 4, 'buy', 5, 6), lvl('sell', 100, 2, 1)]);
});

test('STP cancel-newest: the taker remainder is cancelled, the maker stays', () => {
  const b = stpBook();
  b.unchanged(() => b.new(taker('cancel-newest'), [acc(9, 'buy', 100, 15, 5), cxl('self-trade', 9, 'buy', 100, 15, 0, 5)]));
  b.queue('sell', 100, [[1, 10], [2, 10]]);
  // after trading with another account first: the touched level is reported, then the cancel
  const c = new Book();
  c.rest(2, 'sell', 100, 5, 5, 1, { account: 6 });
  c.rest(1, 'sell', 100, 10, 15, 2, { account: 5 });
  c.rest(3, 'sell', 101, 10, 10, 1, { account: 6 });
  c.new({ ...taker('cancel-newest'), price: 101 }, [
    acc(9, 'buy', 101, 15, 5), trd(1, 2, 9, 100, 5, 'buy', 6, 5), lvl('sell', 100, 10, 1), cxl('self-trade', 9, 'buy', 101, 10, 0, 5),
  ]);
  c.depth([], [[100, 10, 1], [101, 10, 1]]);
  c.queue('sell', 100, [[1, 10]]);
});

test('STP cancel-oldest: the own maker is cancelled and matching goes on', () => {
  const b = stpBook();
  b.new(taker('cancel-oldest'), [
    acc(9, 'buy', 100, 15, 5), cxl('self-trade', 1, 'sell', 100, 10, 0, 5), trd(1, 2, 9, 100, 10, 'buy', 6, 5), lvl('sell', 100, 0, 0), lvl('buy', 100, 5, 1),
  ]);
  b.depth([[100, 5, 1]], []);
  assert.is(b.e.order(1), undefined);
  assert.is(b.e.order(9)?.quantity, 5);
});

test('STP cancel-both: the own maker and the taker remainder are cancelled', () => {
  const b = stpBook();
  b.new(taker('cancel-both'), [
    acc(9, 'buy', 100, 15, 5), cxl('self-trade', 1, 'sell', 100, 10, 0, 5), lvl('sell', 100, 10, 1), cxl('self-trade', 9, 'buy', 100, 15, 0, 5),
  ]);
  b.depth([], [[100, 10, 1]]);
  b.queue('sell', 100, [[2, 10]]);
  // own order alone at a deeper level: that level empties, then the taker is cancelled
  const c = new Book();
  c.rest(2, 'sell', 100, 5, 5, 1, { account: 6 });
  c.rest(1, 'sell', 101, 10, 10, 1, { account: 5 });
  c.rest(3, 'sell', 102, 10, 10, 1, { account: 6 });
  c.new({ ...taker('cancel-both'), price: 102 }, [
    acc(9, 'buy', 102, 15, 5),
    trd(1, 2, 9, 100, 5, 'buy', 6, 5), lvl('sell', 100, 0, 0),
    cxl('self-trade', 1, 'sell', 101, 10, 0, 5), lvl('sell', 101, 0, 0),
    cxl('self-trade', 9, 'buy', 102, 10, 0, 5),
  ]);
  c.depth([], [[102, 10, 1]]);
});

test('STP decrement: maker smaller, taker smaller, equal', () => {
  // maker smaller: the own maker goes, the taker shrinks and trades on with the next maker
  const b = stpBook();
  b.new(taker('decrement'), [
    acc(9, 'buy', 100, 15, 5),
    cxl('self-trade', 1, 'sell', 100, 10, 0, 5),
    cxl('self-trade', 9, 'buy', 100, 10, 5, 5),
    trd(1, 2, 9, 100, 5, 'buy', 6, 5),
    lvl('sell', 100, 5, 1),
  ]);
  b.queue('sell', 100, [[2, 5]]);
  assert.is(b.e.order(9), undefined);
  // maker smaller, alone: the taker remainder rests
  const c = new Book();
  c.rest(1, 'sell', 100, 10, 10, 1, { account: 5 });
  c.new(taker('decrement'), [
    acc(9, 'buy', 100, 15, 5), cxl('self-trade', 1, 'sell', 100, 10, 0, 5), cxl('self-trade', 9, 'buy', 100, 10, 5, 5), lvl('sell', 100, 0, 0), lvl('buy', 100, 5, 1),
  ]);
  c.depth([[100, 5, 1]], []);
  // taker smaller: the maker shrinks and keeps its place
  const d = stpBook();
  d.new(taker('decrement', 4), [
    acc(9, 'buy', 100, 4, 5), cxl('self-trade', 1, 'sell', 100, 4, 6, 5), cxl('self-trade', 9, 'buy', 100, 4, 0, 5), lvl('sell', 100, 16, 2),
  ]);
  d.queue('sell', 100, [[1, 6], [2, 10]]);
  assert.is(d.e.order(1)?.quantity, 6);
  // equal: both gone, no trade
  const f = stpBook();
  f.new(taker('decrement', 10), [
    acc(9, 'buy', 100, 10, 5), cxl('self-trade', 1, 'sell', 100, 10, 0, 5), cxl('self-trade', 9, 'buy', 100, 10, 0, 5), lvl('sell', 100, 10, 1),
  ]);
  f.queue('sell', 100, [[2, 10]]);
  // no trade id was used
  f.new({ orderId: 10, side: 'buy', price: 100, quantity: 1 }, [acc(10, 'buy', 100, 1), trd(1, 2, 10, 100, 1, 'buy', 6, 0), lvl('sell', 100, 9, 1)]);
});

test('STP applies to a modify that reprices through the spread (the order is the taker)', () => {
  const b = new Book();
  b.rest(1, 'sell', 100, 10, 10, 1, { account: 5 });
  b.rest(9, 'buy', 99, 4, 4, 1, { account: 5, stp: 'cancel-newest' });
  b.modify({ orderId: 9, price: 100, quantity: 4, account: 5 }, [
    mod(9, 'buy', 100, 4, 5), lvl('buy', 99, 0, 0), cxl('self-trade', 9, 'buy', 100, 4, 0, 5),
  ]);
  b.depth([], [[100, 10, 1]]);
  assert.is(b.e.order(9), undefined);
  b.rest(8, 'buy', 99, 4, 4, 1, { account: 5, stp: 'decrement' });
  b.modify({ orderId: 8, price: 100, quantity: 4, account: 5 }, [
    mod(8, 'buy', 100, 4, 5), lvl('buy', 99, 0, 0), cxl('self-trade', 1, 'sell', 100, 4, 6, 5), cxl('self-trade', 8, 'buy', 100, 4, 0, 5), lvl('sell', 100, 6, 1),
  ]);
});

// ---- every reject reason ---------------------------------------------------------------------

const rawNew = (over: Partial<RawCommand>): RawCommand => ({
  ...emptyCommand(), type: L.CMD_NEW, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, symbol: 1, account: 4,
  orderId: 50n, price: 100n, quantity: 1n, clientOrderId: 77n, seq: 1000n, ...over,
});
const rawRejected = (cmd: RawCommand, reason: number, withOrder: boolean): RawEvent => ({
  type: L.EV_REJECTED, side: 0, reason, cmdType: cmd.type, symbol: cmd.symbol, account: cmd.account, aux32: 0,
  orderId: withOrder ? cmd.orderId : 0n, price: 0n, quantity: 0n, aux64: 0n, aux64b: withOrder ? cmd.clientOrderId : 0n, seq: cmd.seq,
});

function rejectBook(): Book {
  const e = new Engine({
    maxOrders: 100, maxSymbols: 4, ladderTicks: 1200,
    symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }, { id: 2, tickSize: 5, lotSize: 10, minPrice: 100, maxPrice: 500 }],
  });
  const b = new Book(e);
  b.rest(1, 'sell', 100, 5, 5, 1, { account: 1 });
  b.rest(2, 'buy', 90, 5, 5, 1, { account: 1, postOnly: true });
  assert.equal(strip(e.newOrder({ symbol: 2, orderId: 3, side: 'buy', price: 200, quantity: 10, account: 2 }), { seq: 0n }).length, 2);
  return b;
}

test('every reject reason of NEW, each leaving the digest unchanged', () => {
  const b = rejectBook();
  const e = b.e;
  const raw = (cmd: RawCommand, reason: number, withOrder = true) =>
    b.unchanged(() => assert.equal(e.runRaw([cmd]), [rawRejected(cmd, reason, withOrder)], js(cmd)));
  // 1 malformed: codes outside their ranges, unknown flag bits, protection on a limit order
  for (const over of [{ side: 0 }, { side: 3 }, { orderType: 0 }, { orderType: 3 }, { tif: 0 }, { tif: 4 }, { stp: 5 }, { stp: 255 }, { flags: 4 }, { flags: 0x80 }, { flags: L.FLAG_PROTECTED }]) {
    raw(rawNew(over), L.REJ_MALFORMED);
  }
  raw(rawNew({ side: 3, orderId: 0n, symbol: 9 }), L.REJ_MALFORMED); // malformed is checked first
  const n = (o: Partial<NewOrder>, reason: string) => {
    const order = { symbol: 1, orderId: 50, side: 'buy' as Side, price: 100, quantity: 1, account: 4, clientOrderId: 77, ...o } as NewOrder;
    const sym = order.symbol;
    b.unchanged(() => assert.equal(strip(e.newOrder(order), { seq: 0n }),
      [{ command: 'new', symbol: sym, ...rej(reason, order.orderId, 4, 77) }], `${reason} ${js(o)}`));
  };
  // 2
  n({ orderId: 0 }, 'invalid-order-id');
  n({ orderId: -1 }, 'invalid-order-id');
  n({ orderId: 0, symbol: 9 }, 'invalid-order-id');
  // 3
  n({ symbol: 9 }, 'unknown-symbol');
  n({ symbol: 0 }, 'unknown-symbol');
  n({ symbol: 3, quantity: 0 }, 'unknown-symbol');
  // 5
  n({ orderType: 'market', tif: 'gtc' }, 'invalid-tif');
  n({ postOnly: true, tif: 'ioc' }, 'invalid-tif');
  n({ postOnly: true, tif: 'fok' }, 'invalid-tif');
  n({ postOnly: true, orderType: 'market' }, 'invalid-tif');
  n({ orderType: 'market', tif: 'gtc', quantity: 0 }, 'invalid-tif');
  // 6
  n({ quantity: 0 }, 'invalid-quantity');
  n({ quantity: -5 }, 'invalid-quantity');
  n({ symbol: 2, price: 200, quantity: 15 }, 'invalid-quantity');
  n({ quantity: 0, price: 5000 }, 'invalid-quantity');
  n({ quantity: L.MAX_ORDER_QUANTITY + 1 }, 'quantity-too-large');
  n({ symbol: 2, price: 200, quantity: L.MAX_ORDER_QUANTITY + 1 }, 'quantity-too-large'); // also off lot: too large first
  n({ quantity: L.MAX_ORDER_QUANTITY + 1, price: 5000 }, 'quantity-too-large');
  // 7
  n({ price: 0 }, 'price-out-of-band');
  n({ price: 1001 }, 'price-out-of-band');
  n({ price: -100 }, 'price-out-of-band');
  n({ symbol: 2, price: 95, quantity: 10 }, 'price-out-of-band');
  n({ symbol: 2, price: 505, quantity: 10 }, 'price-out-of-band');
  n({ symbol: 2, price: 501, quantity: 10 }, 'price-out-of-band');
  n({ orderType: 'market', price: 1001 }, 'price-out-of-band');
  n({ orderType: 'market', price: 0 }, 'price-out-of-band');
  n({ symbol: 2, price: 201, quantity: 10 }, 'price-off-tick');
  n({ symbol: 2, orderType: 'market', price: 201, quantity: 10 }, 'price-off-tick');
  n({ symbol: 2, price: 201, quantity: 10, orderId: 1 }, 'price-off-tick');
  // 8: live anywhere in the engine
  n({ orderId: 1 }, 'duplicate-order-id');
  n({ orderId: 3, price: 500 }, 'duplicate-order-id');
  n({ orderId: 1, symbol: 2, price: 200, quantity: 10, tif: 'ioc' }, 'duplicate-order-id');
  n({ orderId: 1, postOnly: true }, 'duplicate-order-id');
  // 10
  n({ postOnly: true }, 'post-only-would-cross');
  n({ postOnly: true, price: 150 }, 'post-only-would-cross');
  n({ side: 'sell', postOnly: true, price: 90 }, 'post-only-would-cross');
  n({ side: 'sell', postOnly: true, price: 80 }, 'post-only-would-cross');
  // 4 (halting changes the status, so the baseline is taken while halted)
  b.halt(1, false, [status('halted')]);
  n({}, 'symbol-halted');
  n({ quantity: 0 }, 'symbol-halted');
  n({ orderType: 'market', tif: 'gtc' }, 'symbol-halted');
  n({ symbol: 9 }, 'unknown-symbol');
  b.resume(1, [status('active')]);
  // the quantity ceiling itself is fine
  b.unchanged(() => b.new({ orderId: 50, side: 'buy', price: 99, quantity: L.MAX_ORDER_QUANTITY, tif: 'ioc' }, [
    acc(50, 'buy', 99, L.MAX_ORDER_QUANTITY), cxl('ioc', 50, 'buy', 99, L.MAX_ORDER_QUANTITY, 0),
  ]));
});

test('every reject reason of CANCEL, MODIFY, MASS_CANCEL, HALT, RESUME and unknown commands', () => {
  const b = rejectBook();
  const e = b.e;
  const one = (got: EngineEvent[], command: string, symbol: number, want: Ev) =>
    assert.equal(strip(got, { seq: 0n }), [{ command, symbol, ...want }]);
  const m = (o: Partial<ModifyOrder>, reason: string) => {
    const mo = { symbol: 1, orderId: 1, price: 100, quantity: 5, account: 1, clientOrderId: 66, ...o } as ModifyOrder;
    one(e.modify(mo), 'modify', mo.symbol, rej(reason, mo.orderId, mo.account, 66));
  };
  b.unchanged(() => {
    one(e.cancel({ symbol: 1, orderId: 0, account: 1 }), 'cancel', 1, rej('invalid-order-id', 0, 1));
    one(e.cancel({ symbol: 9, orderId: -3, account: 1 }), 'cancel', 9, rej('invalid-order-id', -3, 1));
    one(e.cancel({ symbol: 9, orderId: 1, account: 1 }), 'cancel', 9, rej('unknown-symbol', 1, 1));
    one(e.cancel({ symbol: 2, orderId: 1, account: 1 }), 'cancel', 2, rej('unknown-order', 1, 1));
    one(e.cancel({ symbol: 1, orderId: 7, account: 1 }), 'cancel', 1, rej('unknown-order', 7, 1));
    one(e.cancel({ symbol: 1, orderId: 1, account: 2 }), 'cancel', 1, rej('not-owner', 1, 2));

    m({ orderId: 0 }, 'invalid-order-id');
    m({ orderId: -1, symbol: 9 }, 'invalid-order-id');
    m({ symbol: 9 }, 'unknown-symbol');
    m({ orderId: 7 }, 'unknown-order');
    m({ symbol: 2 }, 'unknown-order');
    m({ orderId: 7, quantity: 0 }, 'unknown-order');
    m({ account: 2 }, 'not-owner');
    m({ account: 2, quantity: 0 }, 'not-owner');
    m({ quantity: 0 }, 'invalid-quantity');
    m({ quantity: -5 }, 'invalid-quantity');
    m({ quantity: L.MAX_ORDER_QUANTITY + 1 }, 'quantity-too-large');
    m({ symbol: 2, orderId: 3, account: 2, price: 200, quantity: 15 }, 'invalid-quantity');
    m({ symbol: 2, orderId: 3, account: 2, price: 200, quantity: 0 }, 'invalid-quantity');
    m({ price: 1001 }, 'price-out-of-band');
    m({ price: 0, quantity: 0 }, 'invalid-quantity');
    m({ symbol: 2, orderId: 3, account: 2, price: 505, quantity: 10 }, 'price-out-of-band');
    m({ symbol: 2, orderId: 3, account: 2, price: 203, quantity: 10 }, 'price-off-tick');
    m({ orderId: 2, price: 100, quantity: 5 }, 'post-only-would-cross');
    m({ orderId: 2, price: 101, quantity: 5 }, 'post-only-would-cross');

    one(e.massCancel({}), 'mass-cancel', 0, rej('malformed'));
    one(e.massCancel({ symbol: 0, account: 0 }), 'mass-cancel', 0, rej('malformed'));
    one(e.massCancel({ symbol: 9 }), 'mass-cancel', 9, rej('unknown-symbol'));
    one(e.massCancel({ symbol: 9, account: 1 }), 'mass-cancel', 9, rej('unknown-symbol', 0, 1));
    one(e.halt(9), 'halt', 9, rej('unknown-symbol'));
    one(e.halt(0, { cancelOrders: true }), 'halt', 0, rej('unknown-symbol'));
    one(e.resume(9), 'resume', 9, rej('unknown-symbol'));
    one(e.resume(0), 'resume', 0, rej('unknown-symbol'));
    // no orders in scope: no events at all
    assert.equal(e.massCancel({ account: 99 }), []);
    assert.equal(e.massCancel({ symbol: 2, account: 1 }), []);

    const raw = (cmd: RawCommand, reason: number, withOrder: boolean) =>
      assert.equal(e.runRaw([cmd]), [rawRejected(cmd, reason, withOrder)], `raw type ${cmd.type} flags ${cmd.flags}`);
    const halt = (over: Partial<RawCommand>) => ({ ...emptyCommand(), type: L.CMD_HALT, symbol: 1, seq: 2000n, ...over });
    raw(halt({ flags: 2 }), L.REJ_MALFORMED, false);
    raw(halt({ flags: 3 }), L.REJ_MALFORMED, false);
    raw(halt({ flags: 0x80, symbol: 9 }), L.REJ_UNKNOWN_SYMBOL, false); // unknown symbol first
    for (const type of [0, 8, 9, 255]) raw({ ...emptyCommand(), type, symbol: 1, account: 3, orderId: 1n, clientOrderId: 5n, seq: 3000n }, L.REJ_MALFORMED, false);
    // a raw reject of each order command also zeroes the fields REJECTED does not list
    raw(rawNew({ orderId: 1n }), L.REJ_DUPLICATE_ORDER_ID, true);
    raw({ ...emptyCommand(), type: L.CMD_CANCEL, symbol: 1, account: 2, orderId: 1n, price: 100n, quantity: 5n, clientOrderId: 9n, seq: 4000n }, L.REJ_NOT_OWNER, true);
    raw({ ...emptyCommand(), type: L.CMD_MODIFY, symbol: 1, account: 1, orderId: 1n, price: 100n, quantity: 0n, clientOrderId: 9n, seq: 4001n }, L.REJ_INVALID_QUANTITY, true);
    raw({ ...emptyCommand(), type: L.CMD_MASS_CANCEL, seq: 4002n }, L.REJ_MALFORMED, false);
  });

  // MODIFY while halted: symbol-halted (after the id and symbol checks); cancels still work
  b.halt(1, false, [status('halted')]);
  b.unchanged(() => {
    m({}, 'symbol-halted');
    m({ orderId: 7 }, 'symbol-halted');
    m({ quantity: 0 }, 'symbol-halted');
    m({ orderId: 0 }, 'invalid-order-id');
    m({ symbol: 9 }, 'unknown-symbol');
    one(e.cancel({ symbol: 1, orderId: 7, account: 1 }), 'cancel', 1, rej('unknown-order', 7, 1));
    one(e.cancel({ symbol: 1, orderId: 1, account: 2 }), 'cancel', 1, rej('not-owner', 1, 2));
  });
});

test('ADD_SYMBOL rejects: invalid-symbol-config, symbol-capacity, duplicate-symbol', () => {
  // ladder: 1200 ticks; symbol 1 uses 1000, symbol 2 uses 81: 119 left
  const b = rejectBook();
  const e = b.e;
  const add = (spec: Partial<SymbolSpec>, reason: string) => {
    const s = { id: 3, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10, ...spec } as SymbolSpec;
    b.unchanged(() => assert.equal(strip(e.addSymbol(s), { seq: 0n }), [{ command: 'add-symbol', symbol: s.id, ...rej(reason) }], `${reason} ${js(spec)}`));
  };
  add({ id: 0 }, 'invalid-symbol-config');
  add({ id: 0, tickSize: 0 }, 'invalid-symbol-config');
  add({ id: 5 }, 'symbol-capacity');
  add({ id: 1000, tickSize: 0 }, 'symbol-capacity');
  add({ id: 1 }, 'duplicate-symbol');
  add({ id: 2, tickSize: 0 }, 'duplicate-symbol');
  add({ tickSize: 0 }, 'invalid-symbol-config');
  add({ tickSize: -1 }, 'invalid-symbol-config');
  add({ lotSize: 0 }, 'invalid-symbol-config');
  add({ lotSize: -10 }, 'invalid-symbol-config');
  add({ minPrice: 11, maxPrice: 10 }, 'invalid-symbol-config');
  add({ tickSize: 5, minPrice: 3, maxPrice: 10 }, 'invalid-symbol-config');
  add({ tickSize: 5, minPrice: 5, maxPrice: 12 }, 'invalid-symbol-config');
  add({ minPrice: 1, maxPrice: 120 }, 'symbol-capacity'); // 120 ticks > 119 left
  add({ tickSize: 10, minPrice: 0, maxPrice: 1190 }, 'symbol-capacity'); // 120 ticks
  add({ tickSize: 2, minPrice: 0, maxPrice: 1n << 40n }, 'symbol-capacity');
  add({ minPrice: 1, maxPrice: (1n << 63n) - 1n }, 'symbol-capacity');
  add({ minPrice: -(1n << 63n), maxPrice: (1n << 63n) - 1n }, 'symbol-capacity');
  // exactly what is left fits; then nothing more does
  b.add({ id: 3, tickSize: 10, lotSize: 1, minPrice: 10, maxPrice: 1190 }, [on(3, status('active'))]);
  add({ id: 4, minPrice: 5, maxPrice: 5 }, 'symbol-capacity');
  new Book(e, 3).rest(20, 'buy', 1190, 1, 1, 1);
  
  // the constructor throws on an invalid symbol
  assert.throws(() => engine({ maxSymbols: 2, symbols: [{ id: 3, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10 }] }), (err: Error) => err instanceof RangeError && /symbol-capacity/.test(err.message));
  assert.throws(() => engine({ symbols: [SYM1, SYM1] }), (err: Error) => err instanceof RangeError && /duplicate-symbol/.test(err.message));
});

test('order-capacity: a GTC limit is refused while maxOrders rest, even if it would fill', () => {
  const e = new Engine({ maxOrders: 3, maxSymbols: 1, ladderTicks: 1000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }] });
  const b = new Book(e);
  b.rest(1, 'buy', 100, 5, 5, 1);
  b.rest(2, 'buy', 99, 5, 5, 1);
  b.rest(3, 'buy', 98, 5, 5, 1);
  b.unchanged(() => {
    b.new({ orderId: 4, side: 'sell', price: 98, quantity: 1, account: 2, clientOrderId: 3 }, [rej('order-capacity', 4, 2, 3)]);
    b.new({ orderId: 4, side: 'sell', price: 200, quantity: 1, postOnly: true }, [rej('order-capacity', 4)]);
    b.new({ orderId: 4, side: 'buy', price: 50, quantity: 1 }, [rej('order-capacity', 4)]);
    // checked after duplicate-order-id and before post-only
    b.new({ orderId: 1, side: 'buy', price: 50, quantity: 1 }, [rej('duplicate-order-id', 1)]);
    b.new({ orderId: 4, side: 'sell', price: 100, quantity: 1, postOnly: true }, [rej('order-capacity', 4)]);
  });
  // IOC, FOK and market orders never rest: allowed
  b.new({ orderId: 4, side: 'sell', price: 100, quantity: 1, tif: 'ioc' }, [acc(4, 'sell', 100, 1), trd(1, 1, 4, 100, 1, 'sell'), lvl('buy', 100, 4, 1)]);
  b.new({ orderId: 4, side: 'sell', price: 100, quantity: 1, tif: 'fok' }, [acc(4, 'sell', 100, 1), trd(2, 1, 4, 100, 1, 'sell'), lvl('buy', 100, 3, 1)]);
  b.new({ orderId: 4, side: 'sell', quantity: 1, orderType: 'market' }, [acc(4, 'sell', 0, 1), trd(3, 1, 4, 100, 1, 'sell'), lvl('buy', 100, 2, 1)]);
  // a modify keeps its slot: growing an order at capacity is fine
  b.modify({ orderId: 3, price: 98, quantity: 9 }, [mod(3, 'buy', 98, 9), lvl('buy', 98, 0, 0), lvl('buy', 98, 9, 1)]);
  // a fill frees a slot
  b.new({ orderId: 4, side: 'sell', price: 100, quantity: 2, tif: 'ioc' }, [acc(4, 'sell', 100, 2), trd(4, 1, 4, 100, 2, 'sell'), lvl('buy', 100, 0, 0)]);
  assert.is(e.liveOrders, 2);
  b.rest(4, 'sell', 101, 1, 1, 1);
  b.unchanged(() => b.new({ orderId: 5, side: 'sell', price: 102, quantity: 1 }, [rej('order-capacity', 5)]));
  // and a cancel frees one
  b.cancel({ orderId: 4 }, [cxl('request', 4, 'sell', 101, 1, 0), lvl('sell', 101, 0, 0)]);
  b.rest(5, 'sell', 102, 1, 1, 1);
});

// ---- mass cancel and halt ---------------------------------------------------------------------

function twoSymbols(): Book {
  const e = engine({ symbols: [SYM1, { id: 2, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 }] });
  const b = new Book(e);
  const s2 = new Book(e, 2);
  b.rest(1, 'buy', 100, 1, 1, 1, { account: 1 });
  b.rest(2, 'buy', 100, 2, 3, 2, { account: 2 });
  b.rest(3, 'buy', 99, 3, 3, 1, { account: 1 });
  b.rest(4, 'sell', 101, 4, 4, 1, { account: 1 });
  b.rest(5, 'sell', 102, 5, 5, 1, { account: 2 });
  b.rest(9, 'buy', 100, 9, 12, 3, { account: 3 });
  s2.rest(6, 'buy', 50, 6, 6, 1, { account: 1 });
  s2.rest(7, 'sell', 60, 7, 7, 1, { account: 2 });
  s2.rest(8, 'sell', 60, 8, 15, 2, { account: 1 });
  s2.rest(10, 'sell', 61, 10, 10, 1, { account: 2 });
  return b;
}

test('mass cancel by account, by symbol, by both', () => {
  const b = twoSymbols();
  b.mass({ account: 1 }, [
    cxl('mass-cancel', 1, 'buy', 100, 1, 0, 1), lvl('buy', 100, 11, 2),
    cxl('mass-cancel', 3, 'buy', 99, 3, 0, 1), lvl('buy', 99, 0, 0),
    cxl('mass-cancel', 4, 'sell', 101, 4, 0, 1), lvl('sell', 101, 0, 0),
    on(2, cxl('mass-cancel', 6, 'buy', 50, 6, 0, 1)), on(2, lvl('buy', 50, 0, 0)),
    on(2, cxl('mass-cancel', 8, 'sell', 60, 8, 0, 1)), on(2, lvl('sell', 60, 7, 1)),
  ]);
  b.mass({ account: 1 }, []);
  b.depth([[100, 11, 2]], [[102, 5, 1]]);
  b.depth([], [[60, 7, 1], [61, 10, 1]], 2);
  b.queue('buy', 100, [[2, 2], [9, 9]]);
  b.mass({ symbol: 1, account: 2 }, [
    cxl('mass-cancel', 2, 'buy', 100, 2, 0, 2), lvl('buy', 100, 9, 1),
    cxl('mass-cancel', 5, 'sell', 102, 5, 0, 2), lvl('sell', 102, 0, 0),
  ]);
  b.depth([[100, 9, 1]], []);
  b.depth([], [[60, 7, 1], [61, 10, 1]], 2); // account 2's orders in symbol 2 stay
  b.mass({ symbol: 2 }, [
    on(2, cxl('mass-cancel', 7, 'sell', 60, 7, 0, 2)), on(2, lvl('sell', 60, 0, 0)),
    on(2, cxl('mass-cancel', 10, 'sell', 61, 10, 0, 2)), on(2, lvl('sell', 61, 0, 0)),
  ]);
  b.mass({ symbol: 2 }, []);
  assert.is(b.e.liveOrders, 1);
  assert.equal(b.e.order(9)?.quantity, 9);
});

test('halt without cancelling: new orders and modifies rejected, cancels and mass cancels accepted; resume', () => {
  const b = twoSymbols();
  const depth1 = b.e.depth(1);
  b.halt(1, false, [status('halted')]);
  assert.equal(b.e.depth(1), depth1);
  b.unchanged(() => {
    b.new({ orderId: 20, side: 'buy', price: 101, quantity: 1, account: 7, clientOrderId: 8 }, [rej('symbol-halted', 20, 7, 8)]);
    b.new({ orderId: 20, side: 'sell', quantity: 1, orderType: 'market' }, [rej('symbol-halted', 20)]);
    b.modify({ orderId: 1, price: 100, quantity: 1, account: 1 }, [rej('symbol-halted', 1, 1)]);
  });
  // symbol 2 still trades
  new Book(b.e, 2).new({ orderId: 20, side: 'buy', price: 60, quantity: 1, account: 3 }, [
    on(2, acc(20, 'buy', 60, 1, 3)), on(2, trd(1, 7, 20, 60, 1, 'buy', 2, 3)), on(2, lvl('sell', 60, 14, 2)),
  ]);
  b.cancel({ orderId: 3, account: 1 }, [cxl('request', 3, 'buy', 99, 3, 0, 1), lvl('buy', 99, 0, 0)]);
  b.mass({ symbol: 1, account: 2 }, [
    cxl('mass-cancel', 2, 'buy', 100, 2, 0, 2), lvl('buy', 100, 10, 2),
    cxl('mass-cancel', 5, 'sell', 102, 5, 0, 2), lvl('sell', 102, 0, 0),
  ]);
  b.resume(1, [status('active')]);
  b.new({ orderId: 21, side: 'sell', price: 100, quantity: 2, account: 4 }, [
    acc(21, 'sell', 100, 2, 4), trd(2, 1, 21, 100, 1, 'sell', 1, 4), trd(3, 9, 21, 100, 1, 'sell', 3, 4), lvl('buy', 100, 8, 1),
  ]);
  b.modify({ orderId: 9, price: 100, quantity: 5, account: 3 }, [mod(9, 'buy', 100, 5, 3), lvl('buy', 100, 5, 1)]);
});

test('halt with cancelling orders: status first, then every order cancelled with reason halt', () => {
  const b = twoSymbols();
  b.halt(1, true, [
    status('halted'),
    cxl('halt', 1, 'buy', 100, 1, 0, 1), cxl('halt', 2, 'buy', 100, 2, 0, 2), cxl('halt', 9, 'buy', 100, 9, 0, 3), lvl('buy', 100, 0, 0),
    cxl('halt', 3, 'buy', 99, 3, 0, 1), lvl('buy', 99, 0, 0),
    cxl('halt', 4, 'sell', 101, 4, 0, 1), lvl('sell', 101, 0, 0),
    cxl('halt', 5, 'sell', 102, 5, 0, 2), lvl('sell', 102, 0, 0),
  ]);
  b.depth([], []);
  b.depth([[50, 6, 1]], [[60, 15, 2], [61, 10, 1]], 2);
  assert.is(b.e.liveOrders, 4);
  // ids freed by the halt are reusable (in the other symbol, which is active)
  new Book(b.e, 2).rest(1, 'buy', 40, 1, 1, 1);
  b.unchanged(() => b.new({ orderId: 30, side: 'buy', price: 100, quantity: 1 }, [rej('symbol-halted', 30)]));
  b.unchanged(() => b.cancel({ orderId: 2, account: 2 }, [rej('unknown-order', 2, 2)]));
  b.halt(1, true, [status('halted')]); // halting again with an empty book: only the status
  b.resume(1, [status('active')]);
  b.rest(30, 'buy', 100, 1, 1, 1);
  b.halt(2, false, [on(2, status('halted'))]);
  b.resume(2, [on(2, status('active'))]);
});

// ---- the API edge ------------------------------------------------------------------------------

test('bad values at the API edge throw a TypeError/RangeError naming the field', () => {
  const b = new Book();
  b.rest(1, 'buy', 100, 5, 5, 1);
  const e = b.e;
  const throwsNaming = (fn: () => unknown, kind: typeof TypeError | typeof RangeError, field: RegExp) =>
    b.unchanged(() => assert.throws(fn, (err: Error) => err instanceof kind && field.test(err.message), `${kind.name} ${field}`));
  const base = { symbol: 1, orderId: 2, side: 'buy' as Side, price: 100, quantity: 1 };
  throwsNaming(() => e.newOrder({ ...base, price: 1.5 }), TypeError, /^price/);
  throwsNaming(() => e.newOrder({ ...base, quantity: '3' as unknown as number }), TypeError, /^quantity/);
  throwsNaming(() => e.newOrder({ ...base, orderId: 2 ** 60 }), RangeError, /^orderId/);
  throwsNaming(() => e.newOrder({ ...base, side: 'bye' as Side }), TypeError, /^side/);
  throwsNaming(() => e.newOrder({ ...base, orderType: 'stop' as 'limit' }), TypeError, /^orderType/);
  throwsNaming(() => e.newOrder({ ...base, tif: 'day' as 'gtc' }), TypeError, /^tif/);
  throwsNaming(() => e.newOrder({ ...base, stp: 'both' as 'none' }), TypeError, /^stp/);
  throwsNaming(() => e.newOrder({ ...base, price: undefined }), TypeError, /price/);
  throwsNaming(() => e.newOrder({ ...base, price: NaN }), TypeError, /^price/);
  throwsNaming(() => e.newOrder({ ...base, quantity: 2n ** 63n }), RangeError, /^quantity/);
  throwsNaming(() => e.newOrder({ ...base, symbol: -1 }), RangeError, /^symbol/);
  throwsNaming(() => e.newOrder({ ...base, account: 2 ** 32 }), RangeError, /^account/);
  throwsNaming(() => e.newOrder({ ...base, clientOrderId: 0.5 }), TypeError, /^clientOrderId/);
  throwsNaming(() => e.cancel({ symbol: 1, orderId: 1.5 }), TypeError, /^orderId/);
  throwsNaming(() => e.modify({ symbol: 1, orderId: 1, price: 100.25, quantity: 5 }), TypeError, /^price/);
  throwsNaming(() => e.modify({ symbol: 1, orderId: 1, price: 100, quantity: '5' as unknown as number }), TypeError, /^quantity/);
  throwsNaming(() => e.queue(1, 'bye' as Side, 100), TypeError, /^side/);
  throwsNaming(() => e.order(2 ** 60), RangeError, /^orderId/);
  // the seq counter is not consumed by a throw: the next command's events follow on
  b.rest(2, 'buy', 100, 1, 6, 2);
});

test('best price moves correctly over a sparse ladder (bitmap word and summary boundaries, both sides)', () => {
  const e = new Engine({ maxOrders: 1000, maxSymbols: 1, ladderTicks: 300001, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 0, maxPrice: 300000 }] });
  const b = new Book(e);
  const bids = [0, 1, 63, 64, 65, 127, 4095, 4096, 4097, 8191, 70000, 99999];
  const asks = [100000, 100001, 100063, 100064, 131071, 131072, 196607, 262143, 262144, 299999, 300000];
  let id = 1;
  for (const p of [...bids].reverse()) b.rest(id++, 'buy', p, 1, 1, 1);
  for (const p of asks) b.rest(id++, 'sell', p, 1, 1, 1);
  b.depth(bids.slice().reverse().map((p) => [p, 1, 1] as LevelRow), asks.map((p) => [p, 1, 1] as LevelRow));
  // cancel the best bid again and again: the next one down becomes best, never a phantom
  for (let k = bids.length - 1; k >= 0; k--) {
    assert.equal(e.bestBid(1), { price: bids[k], quantity: 1, orders: 1 });
    b.cancel({ orderId: bids.length - k }, [cxl('request', bids.length - k, 'buy', bids[k], 1, 0), lvl('buy', bids[k], 0, 0)]);
  }
  assert.is(e.bestBid(1), undefined);
  for (let k = 0; k < asks.length; k++) {
    assert.equal(e.bestAsk(1), { price: asks[k], quantity: 1, orders: 1 });
    b.cancel({ orderId: bids.length + 1 + k }, [cxl('request', bids.length + 1 + k, 'sell', asks[k], 1, 0), lvl('sell', asks[k], 0, 0)]);
  }
  assert.is(e.bestAsk(1), undefined);
  // the same levels again, emptied by one sweep each way
  for (const p of asks) b.rest(id++, 'sell', p, 1, 1, 1);
  const firstAsk = id - asks.length;
  const sweep = [acc(500, 'buy', 300000, asks.length, 0)];
  asks.forEach((p, k) => sweep.push(trd(k + 1, firstAsk + k, 500, p, 1, 'buy'), lvl('sell', p, 0, 0)));
  b.new({ orderId: 500, side: 'buy', price: 300000, quantity: asks.length }, sweep);
  for (const p of bids) b.rest(id++, 'buy', p, 1, 1, 1);
  const firstBid = id - bids.length;
  const down = [acc(501, 'sell', 0, bids.length + 1)];
  [...bids].reverse().forEach((p, k) => down.push(trd(asks.length + k + 1, firstBid + bids.length - 1 - k, 501, p, 1, 'sell'), lvl('buy', p, 0, 0)));
  down.push(lvl('sell', 0, 1, 1));
  b.new({ orderId: 501, side: 'sell', price: 0, quantity: bids.length + 1 }, down);
  b.depth([], [[0, 1, 1]]);
});

test('ids stay findable through heavy churn (id index deletion, reuse after cancel and fill)', () => {
  const e = engine({ maxOrders: 2000 });
  const live = new Map<number, { side: Side; price: number; qty: number }>();
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  // a small id space forces reuse; multiples of a large power of two stress the hash's high bits
  const idOf = (k: number) => (k % 2 === 0 ? k + 1 : k * 2 ** 20 + 1);
  for (let step = 0; step < 20000; step++) {
    const id = idOf(rnd(3000));
    const o = live.get(id);
    if (o) {
      const ev = e.cancel({ symbol: 1, orderId: id });
      assert.is(ev[0].type, 'cancelled', `cancel ${id} at step ${step}`);
      live.delete(id);
    } else if (live.size < 2000) {
      const side: Side = rnd(2) === 0 ? 'buy' : 'sell';
      const price = side === 'buy' ? 900 + rnd(100) : 1001 + rnd(100);
      const ev = e.newOrder({ symbol: 1, orderId: id, side, price, quantity: 1 + rnd(5) });
      assert.is(ev[0].type, 'accepted', `new ${id} at step ${step}`);
      live.set(id, { side, price, qty: (ev[0] as { quantity: number }).quantity });
    }
    if (step % 1000 === 999) {
      assert.is(e.liveOrders, live.size);
      for (let k = 0; k < 3000; k++) {
        const i = idOf(k);
        const want = live.get(i);
        const got = e.order(i);
        if (!want) assert.is(got, undefined, `order ${i} should be gone`);
        else assert.equal([got?.side, got?.price, got?.quantity], [want.side, want.price, want.qty], `order ${i}`);
      }
    }
  }
  // fill everything: every id leaves the index
  const t1 = e.newOrder({ symbol: 1, orderId: 1e9, side: 'buy', orderType: 'market', quantity: 1e6 });
  const t2 = e.newOrder({ symbol: 1, orderId: 1e9, side: 'sell', orderType: 'market', quantity: 1e6 });
  assert.is(t1.filter((x) => x.type === 'trade').length + t2.filter((x) => x.type === 'trade').length, live.size);
  assert.is(e.liveOrders, 0);
  for (const i of live.keys()) assert.is(e.order(i), undefined);
});

test('submit() takes any command tagged with its type and gives the same events as the named methods', () => {
  const spec = { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1000 };
  const a = new Engine({ maxOrders: 100, ladderTicks: 2000 });
  const b = new Engine({ maxOrders: 100, ladderTicks: 2000 });
  const strip = (evs: EngineEvent[]) => evs.map(({ seq: _, ...rest }) => rest);
  assert.equal(strip(a.submit({ type: 'add-symbol', ...spec })), strip(b.addSymbol(spec)));
  assert.equal(strip(a.submit({ type: 'new', symbol: 1, orderId: 1, side: 'sell', price: 10, quantity: 5 })), strip(b.newOrder({ symbol: 1, orderId: 1, side: 'sell', price: 10, quantity: 5 })));
  assert.equal(strip(a.submit({ type: 'new', symbol: 1, orderId: 2, side: 'buy', orderType: 'market', quantity: 2 })), strip(b.newOrder({ symbol: 1, orderId: 2, side: 'buy', orderType: 'market', quantity: 2 })));
  assert.equal(strip(a.submit({ type: 'modify', symbol: 1, orderId: 1, price: 11, quantity: 3 })), strip(b.modify({ symbol: 1, orderId: 1, price: 11, quantity: 3 })));
  assert.equal(strip(a.submit({ type: 'halt', symbol: 1, cancelOrders: true })), strip(b.halt(1, { cancelOrders: true })));
  assert.equal(strip(a.submit({ type: 'resume', symbol: 1 })), strip(b.resume(1)));
  assert.equal(strip(a.submit({ type: 'mass-cancel', account: 3 })), strip(b.massCancel({ account: 3 })));
  assert.equal(strip(a.submit({ type: 'cancel', symbol: 1, orderId: 1 })), strip(b.cancel({ symbol: 1, orderId: 1 })));
  assert.is(a.digest(), b.digest());
  assert.throws(() => a.submit({ type: 'buy' } as never), /type must be one of/);
  assert.throws(() => a.submit(null as never), TypeError);
});

test.run();

// Tests of the reference book alone: hand-checked scenarios of docs/SEMANTICS.md, event by event
// and field by field, then random streams for robustness, internal consistency and determinism.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as L from '../assembly/layout.js';
import { emptyCommand, emptyEvent, type RawCommand, type RawEvent } from '../src/records.js';
import { ReferenceBook } from './reference/book.js';
import { collect, randomStream, streamLimits, type StreamOptions } from './support/random-stream.js';

const LIMITS = { maxOrders: 1000, maxSymbols: 8, ladderTicks: 100_000 };
const SYM = 1;
const TICK = 5n;
const LOT = 10n;
const BAND_MIN = 1000n;
const BAND_MAX = 2000n;

function cmd(fields: Partial<RawCommand>): RawCommand {
  return { ...emptyCommand(), ...fields };
}

function ev(fields: Partial<RawEvent>): RawEvent {
  return { ...emptyEvent(), ...fields };
}

function addSymbol(symbol = SYM, tick = TICK, lot = LOT, bandMin = BAND_MIN, bandMax = BAND_MAX, seq = 0n): RawCommand {
  return cmd({
    type: L.CMD_ADD_SYMBOL, symbol, orderId: tick, price: lot, quantity: bandMin, clientOrderId: bandMax, seq,
  });
}

interface NewFields {
  id: bigint; side: number; price?: bigint; qty: bigint; account?: number; tif?: number;
  type?: number; flags?: number; stp?: number; client?: bigint; seq?: bigint; symbol?: number;
}

function newOrder(f: NewFields): RawCommand {
  return cmd({
    type: L.CMD_NEW, symbol: f.symbol ?? SYM, side: f.side, orderType: f.type ?? L.ORDER_LIMIT,
    tif: f.tif ?? L.TIF_GTC, flags: f.flags ?? 0, stp: f.stp ?? L.STP_NONE, account: f.account ?? 1,
    orderId: f.id, price: f.price ?? 0n, quantity: f.qty, clientOrderId: f.client ?? 0n, seq: f.seq ?? 0n,
  });
}

/** A book with symbol 1 added (tick 5, lot 10, band 1000..2000). */
function fresh(limits = LIMITS): ReferenceBook {
  const b = new ReferenceBook(limits);
  const out = b.apply(addSymbol());
  assert.equal(out, [ev({ type: L.EV_SYMBOL_STATUS, cmdType: L.CMD_ADD_SYMBOL, reason: L.STATUS_ACTIVE, symbol: SYM })]);
  return b;
}

const B = L.SIDE_BUY;
const S = L.SIDE_SELL;

// ---- Hand-checked scenarios ------------------------------------------------------------------

test('a simple cross: ACCEPTED, TRADE, LEVEL(ask gone), LEVEL(bid rests), in order, every field', () => {
  const b = fresh();
  assert.equal(b.apply(newOrder({ id: 7n, side: S, price: 1500n, qty: 30n, account: 2, client: 70n, seq: 1n })), [
    ev({ type: L.EV_ACCEPTED, cmdType: L.CMD_NEW, seq: 1n, side: S, symbol: SYM, account: 2, orderId: 7n, price: 1500n, quantity: 30n, aux64: 30n, aux64b: 70n }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_NEW, seq: 1n, side: S, symbol: SYM, price: 1500n, quantity: 30n, aux32: 1 }),
  ]);
  assert.equal(b.apply(newOrder({ id: 8n, side: B, price: 1505n, qty: 50n, account: 3, client: -4n, seq: 2n })), [
    ev({ type: L.EV_ACCEPTED, cmdType: L.CMD_NEW, seq: 2n, side: B, symbol: SYM, account: 3, orderId: 8n, price: 1505n, quantity: 50n, aux64: 50n, aux64b: -4n }),
    ev({ type: L.EV_TRADE, cmdType: L.CMD_NEW, seq: 2n, side: B, symbol: SYM, account: 2, aux32: 3, orderId: 7n, price: 1500n, quantity: 30n, aux64: 8n, aux64b: 1n }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_NEW, seq: 2n, side: S, symbol: SYM, price: 1500n, quantity: 0n, aux32: 0 }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_NEW, seq: 2n, side: B, symbol: SYM, price: 1505n, quantity: 20n, aux32: 1 }),
  ]);
  assert.is(b.liveOrders(), 1);
  assert.equal(b.best(SYM, B), { price: 1505n, total: 20n, count: 1 });
  assert.is(b.best(SYM, S), undefined);
  assert.equal(b.order(8n), { orderId: 8n, symbol: SYM, side: B, price: 1505n, remaining: 20n, account: 3, clientOrderId: -4n });
  assert.is(b.order(7n), undefined);
});

test('a sweep: FIFO within a level, best level first, trade ids count on, final LEVEL of the touched level', () => {
  const b = fresh();
  b.apply(newOrder({ id: 1n, side: B, price: 1200n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 2n, side: B, price: 1200n, qty: 20n, account: 2 }));
  b.apply(newOrder({ id: 3n, side: B, price: 1195n, qty: 30n, account: 3 }));
  b.apply(newOrder({ id: 4n, side: B, price: 1190n, qty: 40n, account: 4 }));
  assert.equal(b.depth(SYM, B, 10).map((l) => l.price), [1200n, 1195n, 1190n]);
  const out = b.apply(newOrder({ id: 9n, side: S, price: 1195n, qty: 50n, account: 9, tif: L.TIF_IOC, seq: 5n }));
  const base = { cmdType: L.CMD_NEW, seq: 5n, symbol: SYM };
  assert.equal(out, [
    ev({ ...base, type: L.EV_ACCEPTED, side: S, account: 9, orderId: 9n, price: 1195n, quantity: 50n, aux64: 50n }),
    ev({ ...base, type: L.EV_TRADE, side: S, account: 1, aux32: 9, orderId: 1n, price: 1200n, quantity: 10n, aux64: 9n, aux64b: 1n }),
    ev({ ...base, type: L.EV_TRADE, side: S, account: 2, aux32: 9, orderId: 2n, price: 1200n, quantity: 20n, aux64: 9n, aux64b: 2n }),
    ev({ ...base, type: L.EV_LEVEL, side: B, price: 1200n, quantity: 0n, aux32: 0 }),
    ev({ ...base, type: L.EV_TRADE, side: S, account: 3, aux32: 9, orderId: 3n, price: 1195n, quantity: 20n, aux64: 9n, aux64b: 3n }),
    ev({ ...base, type: L.EV_LEVEL, side: B, price: 1195n, quantity: 10n, aux32: 1 }),
  ]);
  // The IOC filled whole: no CANCELLED. 1190 never crossed.
  assert.equal(b.depth(SYM, B, 10), [
    { price: 1195n, total: 10n, count: 1 }, { price: 1190n, total: 40n, count: 1 },
  ]);
  // An IOC remainder is cancelled; the next trade id is 4.
  const out2 = b.apply(newOrder({ id: 10n, side: S, price: 1195n, qty: 30n, account: 9, tif: L.TIF_IOC, client: 5n }));
  assert.equal(out2.map((e) => [e.type, e.reason, e.quantity, e.aux64, e.aux64b]), [
    [L.EV_ACCEPTED, 0, 30n, 30n, 5n],
    [L.EV_TRADE, 0, 10n, 10n, 4n],
    [L.EV_LEVEL, 0, 0n, 0n, 0n],
    [L.EV_CANCELLED, L.CXL_IOC, 20n, 0n, 5n],
  ]);
});

test('market orders: bare ones cross every level and report price 0; protected ones stop at the protection', () => {
  const b = fresh();
  b.apply(newOrder({ id: 1n, side: S, price: 1500n, qty: 10n }));
  b.apply(newOrder({ id: 2n, side: S, price: 1900n, qty: 10n }));
  const bare = b.apply(newOrder({ id: 3n, side: B, type: L.ORDER_MARKET, tif: L.TIF_IOC, price: -77n, qty: 30n, account: 2 }));
  assert.equal(bare.map((e) => [e.type, e.price, e.quantity]), [
    [L.EV_ACCEPTED, 0n, 30n], [L.EV_TRADE, 1500n, 10n], [L.EV_LEVEL, 1500n, 0n],
    [L.EV_TRADE, 1900n, 10n], [L.EV_LEVEL, 1900n, 0n], [L.EV_CANCELLED, 0n, 10n],
  ]);
  assert.is(bare[5].reason, L.CXL_IOC);
  b.apply(newOrder({ id: 4n, side: S, price: 1500n, qty: 10n }));
  b.apply(newOrder({ id: 5n, side: S, price: 1900n, qty: 10n }));
  const prot = b.apply(newOrder({ id: 6n, side: B, type: L.ORDER_MARKET, tif: L.TIF_IOC, flags: L.FLAG_PROTECTED, price: 1600n, qty: 30n, account: 2 }));
  assert.equal(prot.map((e) => [e.type, e.price, e.quantity]), [
    [L.EV_ACCEPTED, 1600n, 30n], [L.EV_TRADE, 1500n, 10n], [L.EV_LEVEL, 1500n, 0n], [L.EV_CANCELLED, 1600n, 20n],
  ]);
  // The protection price is validated like a limit price; a bare market order's price is not.
  assert.is(b.apply(newOrder({ id: 7n, side: B, type: L.ORDER_MARKET, tif: L.TIF_IOC, flags: L.FLAG_PROTECTED, price: 1601n, qty: 10n }))[0].reason, L.REJ_PRICE_OFF_TICK);
  assert.is(b.apply(newOrder({ id: 7n, side: B, type: L.ORDER_MARKET, tif: L.TIF_IOC, price: 1601n, qty: 10n }))[0].type, L.EV_ACCEPTED);
});

test('FOK: whole or nothing; the walk skips own orders under CANCEL_OLDEST and fails on them otherwise', () => {
  const b = fresh();
  b.apply(newOrder({ id: 1n, side: S, price: 1500n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 2n, side: S, price: 1505n, qty: 20n, account: 2 }));
  const fail = b.apply(newOrder({ id: 3n, side: B, price: 1505n, qty: 40n, account: 3, tif: L.TIF_FOK, client: 33n, seq: 9n }));
  assert.equal(fail, [
    ev({ type: L.EV_ACCEPTED, cmdType: L.CMD_NEW, seq: 9n, side: B, symbol: SYM, account: 3, orderId: 3n, price: 1505n, quantity: 40n, aux64: 40n, aux64b: 33n }),
    ev({ type: L.EV_CANCELLED, reason: L.CXL_FOK, cmdType: L.CMD_NEW, seq: 9n, side: B, symbol: SYM, account: 3, orderId: 3n, price: 1505n, quantity: 40n, aux64: 0n, aux64b: 33n }),
  ]);
  // Own order (account 1) first: DECREMENT fails the walk, CANCEL_OLDEST skips it (then cancels it).
  assert.is(b.apply(newOrder({ id: 4n, side: B, price: 1505n, qty: 20n, account: 1, tif: L.TIF_FOK, stp: L.STP_DECREMENT }))[1].reason, L.CXL_FOK);
  assert.is(b.apply(newOrder({ id: 4n, side: B, price: 1505n, qty: 30n, account: 1, tif: L.TIF_FOK, stp: L.STP_CANCEL_OLDEST }))[1].reason, L.CXL_FOK);
  const ok = b.apply(newOrder({ id: 4n, side: B, price: 1505n, qty: 20n, account: 1, tif: L.TIF_FOK, stp: L.STP_CANCEL_OLDEST }));
  assert.equal(ok.map((e) => [e.type, e.reason, e.orderId, e.quantity]), [
    [L.EV_ACCEPTED, 0, 4n, 20n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 1n, 10n],
    [L.EV_LEVEL, 0, 0n, 0n],
    [L.EV_TRADE, 0, 2n, 20n],
    [L.EV_LEVEL, 0, 0n, 0n],
  ]);
  assert.is(b.liveOrders(), 0);
});

test('self-trade prevention: each mode, event by event', () => {
  const setup = (): ReferenceBook => {
    const b = fresh();
    b.apply(newOrder({ id: 1n, side: S, price: 1500n, qty: 10n, account: 2 }));
    b.apply(newOrder({ id: 2n, side: S, price: 1500n, qty: 30n, account: 1 }));
    b.apply(newOrder({ id: 3n, side: S, price: 1500n, qty: 10n, account: 2 }));
    return b;
  };
  const shape = (out: RawEvent[]) => out.map((e) => [e.type, e.reason, e.orderId, e.quantity, e.aux64]);
  const taker = (stp: number, qty = 40n) => newOrder({ id: 9n, side: B, price: 1500n, qty, account: 1, stp });

  // CANCEL_NEWEST: trades 1, stops at 2 and cancels the rest of the taker; LEVEL before CANCELLED.
  let b = setup();
  assert.equal(shape(b.apply(taker(L.STP_CANCEL_NEWEST))), [
    [L.EV_ACCEPTED, 0, 9n, 40n, 40n], [L.EV_TRADE, 0, 1n, 10n, 9n],
    [L.EV_LEVEL, 0, 0n, 40n, 0n], [L.EV_CANCELLED, L.CXL_SELF_TRADE, 9n, 30n, 0n],
  ]);
  // A CANCEL_NEWEST stop at the head of a level touches nothing: no LEVEL.
  assert.equal(shape(b.apply(newOrder({ id: 10n, side: B, price: 1500n, qty: 10n, account: 1, stp: L.STP_CANCEL_NEWEST }))), [
    [L.EV_ACCEPTED, 0, 10n, 10n, 10n], [L.EV_CANCELLED, L.CXL_SELF_TRADE, 10n, 10n, 0n],
  ]);
  // CANCEL_OLDEST: the resting own order goes, matching goes on.
  b = setup();
  assert.equal(shape(b.apply(taker(L.STP_CANCEL_OLDEST))), [
    [L.EV_ACCEPTED, 0, 9n, 40n, 40n], [L.EV_TRADE, 0, 1n, 10n, 9n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 2n, 30n, 0n], [L.EV_TRADE, 0, 3n, 10n, 9n],
    [L.EV_LEVEL, 0, 0n, 0n, 0n], [L.EV_LEVEL, 0, 0n, 20n, 0n],
  ]);
  assert.equal(b.best(SYM, B), { price: 1500n, total: 20n, count: 1 });
  // CANCEL_BOTH: the resting one goes, then the taker's remainder.
  b = setup();
  assert.equal(shape(b.apply(taker(L.STP_CANCEL_BOTH))), [
    [L.EV_ACCEPTED, 0, 9n, 40n, 40n], [L.EV_TRADE, 0, 1n, 10n, 9n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 2n, 30n, 0n], [L.EV_LEVEL, 0, 0n, 10n, 0n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 9n, 30n, 0n],
  ]);
  // DECREMENT: both shrink by the smaller quantity, no trade printed.
  b = setup();
  assert.equal(shape(b.apply(taker(L.STP_DECREMENT, 20n))), [
    [L.EV_ACCEPTED, 0, 9n, 20n, 20n], [L.EV_TRADE, 0, 1n, 10n, 9n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 2n, 10n, 20n], [L.EV_CANCELLED, L.CXL_SELF_TRADE, 9n, 10n, 0n],
    [L.EV_LEVEL, 0, 0n, 30n, 0n],
  ]);
  assert.equal(b.queue(SYM, S, 1500n).map((q) => [q.orderId, q.remaining]), [[2n, 20n], [3n, 10n]]);
  // DECREMENT down to zero on both sides at once: the maker goes, the level reports it.
  assert.equal(shape(b.apply(newOrder({ id: 11n, side: B, price: 1500n, qty: 20n, account: 1, stp: L.STP_DECREMENT }))), [
    [L.EV_ACCEPTED, 0, 11n, 20n, 20n],
    [L.EV_CANCELLED, L.CXL_SELF_TRADE, 2n, 20n, 0n], [L.EV_CANCELLED, L.CXL_SELF_TRADE, 11n, 20n, 0n],
    [L.EV_LEVEL, 0, 0n, 10n, 0n],
  ]);
  // STP_NONE: a self-trade is a trade.
  b = setup();
  assert.equal(shape(b.apply(taker(L.STP_NONE, 50n))).filter((e) => e[0] === L.EV_TRADE).length, 3);
});

test('validation: the first failing check decides; rejects carry the documented fields and change nothing', () => {
  const b = fresh({ ...LIMITS, maxOrders: 2 });
  b.apply(newOrder({ id: 1n, side: S, price: 1500n, qty: 10n }));
  const d0 = b.digest();
  const reason = (c: RawCommand) => {
    const out = b.apply(c);
    assert.is(out.length, 1);
    assert.is(out[0].type, L.EV_REJECTED);
    return out[0].reason;
  };
  const ok: NewFields = { id: 5n, side: B, price: 1400n, qty: 10n };
  assert.is(reason(newOrder({ ...ok, side: 3, id: 0n, symbol: 99 })), L.REJ_MALFORMED);
  assert.is(reason(newOrder({ ...ok, stp: L.STP_MAX + 1 })), L.REJ_MALFORMED);
  assert.is(reason(newOrder({ ...ok, flags: L.FLAG_PROTECTED })), L.REJ_MALFORMED); // protected limit
  assert.is(reason(newOrder({ ...ok, flags: 4 })), L.REJ_MALFORMED);
  assert.is(reason(newOrder({ ...ok, id: -1n, symbol: 99 })), L.REJ_INVALID_ORDER_ID);
  assert.is(reason(newOrder({ ...ok, symbol: 99, tif: L.TIF_GTC, type: L.ORDER_MARKET })), L.REJ_UNKNOWN_SYMBOL);
  assert.is(reason(newOrder({ ...ok, type: L.ORDER_MARKET, qty: 0n })), L.REJ_INVALID_TIF); // market GTC
  assert.is(reason(newOrder({ ...ok, flags: L.FLAG_POST_ONLY, tif: L.TIF_IOC, qty: 0n })), L.REJ_INVALID_TIF);
  assert.is(reason(newOrder({ ...ok, qty: 0n, price: 1n })), L.REJ_INVALID_QUANTITY);
  assert.is(reason(newOrder({ ...ok, qty: BigInt(L.MAX_ORDER_QUANTITY) + 10n })), L.REJ_QUANTITY_TOO_LARGE);
  assert.is(reason(newOrder({ ...ok, qty: 15n, price: 1n })), L.REJ_INVALID_QUANTITY); // off lot
  assert.is(reason(newOrder({ ...ok, price: 2005n })), L.REJ_PRICE_OUT_OF_BAND);
  assert.is(reason(newOrder({ ...ok, price: 1401n, id: 1n })), L.REJ_PRICE_OFF_TICK);
  assert.is(reason(newOrder({ ...ok, id: 1n, flags: L.FLAG_POST_ONLY, price: 1500n })), L.REJ_DUPLICATE_ORDER_ID);
  assert.is(reason(cmd({ type: 8, symbol: 3, account: 4, orderId: 5n, clientOrderId: 6n })), L.REJ_MALFORMED);
  // Field contents: NEW rejects echo the order id and client id as given; others do not.
  assert.equal(b.apply(newOrder({ ...ok, id: -9n, client: 77n, account: 4, seq: 12n })), [
    ev({ type: L.EV_REJECTED, cmdType: L.CMD_NEW, seq: 12n, reason: L.REJ_INVALID_ORDER_ID, symbol: SYM, account: 4, orderId: -9n, aux64b: 77n }),
  ]);
  assert.equal(b.apply(cmd({ type: 0, symbol: 3, account: 4, orderId: 5n, clientOrderId: 6n, seq: 13n })), [
    ev({ type: L.EV_REJECTED, cmdType: 0, seq: 13n, reason: L.REJ_MALFORMED, symbol: 3, account: 4 }),
  ]);
  // Capacity counts resting orders, applies to GTC limits only, before the post-only check.
  b.apply(newOrder({ id: 2n, side: S, price: 1600n, qty: 10n }));
  assert.is(reason(newOrder({ ...ok, price: 1500n, flags: L.FLAG_POST_ONLY })), L.REJ_ORDER_CAPACITY);
  assert.is(b.apply(newOrder({ ...ok, price: 1500n, tif: L.TIF_IOC }))[1].type, L.EV_TRADE);
  assert.is(reason(newOrder({ ...ok, price: 1600n, flags: L.FLAG_POST_ONLY })), L.REJ_POST_ONLY_WOULD_CROSS);
  assert.is(b.apply(newOrder({ ...ok, price: 1595n, flags: L.FLAG_POST_ONLY }))[0].type, L.EV_ACCEPTED);
  b.apply(cmd({ type: L.CMD_CANCEL, symbol: SYM, account: 1, orderId: 5n }));
  // Halted: NEW and MODIFY rejected after the symbol check; CANCEL allowed.
  b.apply(newOrder({ id: 3n, side: S, price: 1700n, qty: 10n }));
  b.apply(cmd({ type: L.CMD_HALT, symbol: SYM }));
  assert.is(reason(newOrder({ ...ok, qty: 0n })), L.REJ_SYMBOL_HALTED);
  assert.is(reason(cmd({ type: L.CMD_MODIFY, symbol: SYM, account: 1, orderId: 3n, price: 1700n, quantity: 0n })), L.REJ_SYMBOL_HALTED);
  assert.is(b.apply(cmd({ type: L.CMD_CANCEL, symbol: SYM, account: 1, orderId: 3n }))[0].type, L.EV_CANCELLED);
  b.apply(cmd({ type: L.CMD_RESUME, symbol: SYM }));
  assert.ok(b.digest() !== d0);
});

test('CANCEL and MODIFY checks, in order', () => {
  const b = fresh();
  b.apply(addSymbol(2));
  b.apply(newOrder({ id: 1n, side: B, price: 1500n, qty: 20n, account: 1 }));
  const reason = (f: Partial<RawCommand>) => b.apply(cmd({ symbol: SYM, account: 1, orderId: 1n, price: 1500n, quantity: 20n, ...f }))[0].reason;
  for (const type of [L.CMD_CANCEL, L.CMD_MODIFY]) {
    assert.is(reason({ type, orderId: 0n, symbol: 77 }), L.REJ_INVALID_ORDER_ID);
    assert.is(reason({ type, symbol: 77, account: 5 }), L.REJ_UNKNOWN_SYMBOL);
    assert.is(reason({ type, symbol: 2, account: 5 }), L.REJ_UNKNOWN_ORDER); // right id, other symbol
    assert.is(reason({ type, orderId: 2n, account: 5 }), L.REJ_UNKNOWN_ORDER);
    assert.is(reason({ type, account: 5, quantity: 0n }), L.REJ_NOT_OWNER);
  }
  assert.is(reason({ type: L.CMD_MODIFY, quantity: 0n, price: 1n }), L.REJ_INVALID_QUANTITY);
  assert.is(reason({ type: L.CMD_MODIFY, quantity: 25n, price: 1n }), L.REJ_INVALID_QUANTITY);
  assert.is(reason({ type: L.CMD_MODIFY, price: 999n }), L.REJ_PRICE_OUT_OF_BAND);
  assert.is(reason({ type: L.CMD_MODIFY, price: 1502n }), L.REJ_PRICE_OFF_TICK);
  assert.equal(b.apply(cmd({ type: L.CMD_CANCEL, symbol: SYM, account: 1, orderId: 1n, seq: 4n, clientOrderId: 99n })), [
    ev({ type: L.EV_CANCELLED, cmdType: L.CMD_CANCEL, seq: 4n, reason: L.CXL_REQUEST, side: B, symbol: SYM, account: 1, orderId: 1n, price: 1500n, quantity: 20n, aux64: 0n }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_CANCEL, seq: 4n, side: B, symbol: SYM, price: 1500n, quantity: 0n, aux32: 0 }),
  ]);
  assert.is(b.liveOrders(), 0);
});

test('MODIFY: keeps priority when the price stays and it does not grow; otherwise re-enters as a taker', () => {
  const b = fresh();
  b.apply(newOrder({ id: 1n, side: B, price: 1500n, qty: 20n, account: 1, client: 1n }));
  b.apply(newOrder({ id: 2n, side: B, price: 1500n, qty: 20n, account: 2, flags: L.FLAG_POST_ONLY }));
  b.apply(newOrder({ id: 3n, side: S, price: 1510n, qty: 50n, account: 3 }));
  const mod = (id: bigint, account: number, price: bigint, quantity: bigint, client = 0n) =>
    b.apply(cmd({ type: L.CMD_MODIFY, symbol: SYM, account, orderId: id, price, quantity, clientOrderId: client, seq: 3n, side: 99 }));
  // Size down: keeps its place.
  assert.equal(mod(1n, 1, 1500n, 10n, 11n), [
    ev({ type: L.EV_MODIFIED, cmdType: L.CMD_MODIFY, seq: 3n, side: B, symbol: SYM, account: 1, orderId: 1n, price: 1500n, quantity: 10n, aux64: 10n, aux64b: 11n }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_MODIFY, seq: 3n, side: B, symbol: SYM, price: 1500n, quantity: 30n, aux32: 2 }),
  ]);
  assert.equal(b.queue(SYM, B, 1500n).map((q) => q.orderId), [1n, 2n]);
  // Size up at the same price: to the back, two LEVELs (out, in).
  assert.equal(mod(1n, 1, 1500n, 30n).map((e) => [e.type, e.quantity, e.aux32]), [
    [L.EV_MODIFIED, 30n, 0], [L.EV_LEVEL, 20n, 1], [L.EV_LEVEL, 50n, 2],
  ]);
  assert.equal(b.queue(SYM, B, 1500n).map((q) => q.orderId), [2n, 1n]);
  // A post-only order that would cross when repriced is rejected; not when it keeps priority.
  assert.is(mod(2n, 2, 1510n, 20n)[0].reason, L.REJ_POST_ONLY_WOULD_CROSS);
  assert.is(mod(2n, 2, 1500n, 10n)[0].type, L.EV_MODIFIED);
  // Through the spread: MODIFIED, LEVEL(old), TRADE, LEVEL(maker), LEVEL(rest).
  const through = mod(1n, 1, 1515n, 60n, 8n);
  assert.equal(through.map((e) => [e.type, e.side, e.price, e.quantity, e.aux64]), [
    [L.EV_MODIFIED, B, 1515n, 60n, 60n], [L.EV_LEVEL, B, 1500n, 10n, 0n],
    [L.EV_TRADE, B, 1510n, 50n, 1n], [L.EV_LEVEL, S, 1510n, 0n, 0n], [L.EV_LEVEL, B, 1515n, 10n, 0n],
  ]);
  assert.equal(b.order(1n), { orderId: 1n, symbol: SYM, side: B, price: 1515n, remaining: 10n, account: 1, clientOrderId: 8n });
  // Filled whole on a reprice: it leaves the engine, and its id can be used again.
  b.apply(newOrder({ id: 4n, side: S, price: 1520n, qty: 10n, account: 3 }));
  mod(1n, 1, 1520n, 10n);
  assert.is(b.order(1n), undefined);
  assert.is(b.apply(newOrder({ id: 1n, side: B, price: 1400n, qty: 10n }))[0].type, L.EV_ACCEPTED);
});

test('MASS_CANCEL and HALT: scope, order of events, LEVEL per level', () => {
  const b = fresh();
  b.apply(addSymbol(2));
  b.apply(newOrder({ id: 1n, side: B, price: 1500n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 2n, side: B, price: 1505n, qty: 10n, account: 2 }));
  b.apply(newOrder({ id: 3n, side: B, price: 1505n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 4n, side: S, price: 1600n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 5n, side: S, price: 1600n, qty: 10n, account: 1, symbol: 2 }));
  assert.is(b.apply(cmd({ type: L.CMD_MASS_CANCEL }))[0].reason, L.REJ_MALFORMED);
  assert.is(b.apply(cmd({ type: L.CMD_MASS_CANCEL, symbol: 9 }))[0].reason, L.REJ_UNKNOWN_SYMBOL);
  assert.equal(b.apply(cmd({ type: L.CMD_MASS_CANCEL, account: 7 })), []);
  const out = b.apply(cmd({ type: L.CMD_MASS_CANCEL, account: 1 }));
  assert.equal(out.map((e) => [e.type, e.reason, e.symbol, e.orderId, e.price, e.quantity, e.aux32]), [
    [L.EV_CANCELLED, L.CXL_MASS_CANCEL, 1, 3n, 1505n, 10n, 0], [L.EV_LEVEL, 0, 1, 0n, 1505n, 10n, 1],
    [L.EV_CANCELLED, L.CXL_MASS_CANCEL, 1, 1n, 1500n, 10n, 0], [L.EV_LEVEL, 0, 1, 0n, 1500n, 0n, 0],
    [L.EV_CANCELLED, L.CXL_MASS_CANCEL, 1, 4n, 1600n, 10n, 0], [L.EV_LEVEL, 0, 1, 0n, 1600n, 0n, 0],
    [L.EV_CANCELLED, L.CXL_MASS_CANCEL, 2, 5n, 1600n, 10n, 0], [L.EV_LEVEL, 0, 2, 0n, 1600n, 0n, 0],
  ]);
  assert.is(b.apply(cmd({ type: L.CMD_HALT, symbol: SYM, flags: 2 }))[0].reason, L.REJ_MALFORMED);
  assert.is(b.apply(cmd({ type: L.CMD_HALT, symbol: 9, flags: 2 }))[0].reason, L.REJ_UNKNOWN_SYMBOL);
  assert.equal(b.apply(cmd({ type: L.CMD_HALT, symbol: SYM, flags: L.HALT_CANCEL_ORDERS, seq: 8n })), [
    ev({ type: L.EV_SYMBOL_STATUS, cmdType: L.CMD_HALT, seq: 8n, reason: L.STATUS_HALTED, symbol: SYM }),
    ev({ type: L.EV_CANCELLED, cmdType: L.CMD_HALT, seq: 8n, reason: L.CXL_HALT, side: B, symbol: SYM, account: 2, orderId: 2n, price: 1505n, quantity: 10n }),
    ev({ type: L.EV_LEVEL, cmdType: L.CMD_HALT, seq: 8n, side: B, symbol: SYM, price: 1505n }),
  ]);
  assert.equal(b.apply(cmd({ type: L.CMD_RESUME, symbol: SYM })).map((e) => [e.type, e.reason]), [[L.EV_SYMBOL_STATUS, L.STATUS_ACTIVE]]);
  assert.is(b.liveOrders(), 0);
});

test('ADD_SYMBOL: checks in order, exact (unwrapped) band width against the ladder', () => {
  const b = new ReferenceBook({ maxOrders: 10, maxSymbols: 4, ladderTicks: 301 });
  const I64_MIN = -(1n << 63n);
  const I64_MAX = (1n << 63n) - 1n;
  const reason = (c: RawCommand) => b.apply(c)[0].reason;
  assert.is(reason(addSymbol(0, 0n)), L.REJ_INVALID_SYMBOL_CONFIG);
  assert.is(reason(addSymbol(5, 0n)), L.REJ_SYMBOL_CAPACITY);
  assert.is(reason(addSymbol(1, 0n)), L.REJ_INVALID_SYMBOL_CONFIG);
  assert.is(reason(addSymbol(1, 5n, 0n)), L.REJ_INVALID_SYMBOL_CONFIG);
  assert.is(reason(addSymbol(1, 5n, 1n, 1000n, 995n)), L.REJ_INVALID_SYMBOL_CONFIG);
  assert.is(reason(addSymbol(1, 5n, 1n, 1001n, 2000n)), L.REJ_INVALID_SYMBOL_CONFIG);
  // Widths of 2^64 and 2^63 ticks must not wrap to something that fits.
  assert.is(reason(addSymbol(1, 1n, 1n, I64_MIN, I64_MAX)), L.REJ_SYMBOL_CAPACITY);
  assert.is(reason(addSymbol(1, 2n, 1n, I64_MIN, I64_MAX - 1n)), L.REJ_SYMBOL_CAPACITY);
  assert.is(reason(addSymbol(1, 1n, 1n, 0n, I64_MAX)), L.REJ_SYMBOL_CAPACITY);
  // Negative bands are fine; 201 ticks, then 100 fit exactly, then nothing.
  assert.is(b.apply(addSymbol(1, 5n, 1n, -500n, 500n))[0].type, L.EV_SYMBOL_STATUS);
  assert.is(reason(addSymbol(1, 5n, 1n, -500n, 500n)), L.REJ_DUPLICATE_SYMBOL);
  assert.is(reason(addSymbol(2, 1n, 1n, 0n, 100n)), L.REJ_SYMBOL_CAPACITY);
  assert.is(b.apply(addSymbol(2, 1n, 1n, 0n, 99n))[0].type, L.EV_SYMBOL_STATUS);
  assert.is(reason(addSymbol(3, 1n, 1n, 7n, 7n)), L.REJ_SYMBOL_CAPACITY);
  // Orders at negative prices trade like any other.
  b.apply(newOrder({ id: 1n, symbol: 1, side: S, price: -200n, qty: 3n }));
  const out = b.apply(newOrder({ id: 2n, symbol: 1, side: B, price: -195n, qty: 3n, account: 2 }));
  assert.equal(out.map((e) => [e.type, e.price]), [[L.EV_ACCEPTED, -195n], [L.EV_TRADE, -200n], [L.EV_LEVEL, -200n]]);
  assert.is(reason(newOrder({ id: 3n, symbol: 1, side: B, price: -502n, qty: 3n })), L.REJ_PRICE_OUT_OF_BAND);
  assert.is(reason(newOrder({ id: 3n, symbol: 1, side: B, price: -197n, qty: 3n })), L.REJ_PRICE_OFF_TICK);
});

test('raw fields are read as their record widths (u8, u32, i64 wrap)', () => {
  const b = fresh();
  const out = b.apply(newOrder({ id: (1n << 64n) + 5n, side: B + 256, symbol: SYM + 2 ** 32, price: 1500n, qty: 10n, account: -1, seq: -1n }));
  assert.equal(out[0], ev({
    type: L.EV_ACCEPTED, cmdType: L.CMD_NEW, seq: -1n, side: B, symbol: SYM, account: 0xffffffff,
    orderId: 5n, price: 1500n, quantity: 10n, aux64: 10n,
  }));
});

test('digest: FNV-1a of the documented words, history-independent', () => {
  const fnv = (words: bigint[]) => {
    let h = 0xcbf29ce484222325n;
    for (const w of words) h = BigInt.asUintN(64, (h ^ BigInt.asUintN(64, w)) * 0x100000001b3n);
    return h;
  };
  const empty = new ReferenceBook(LIMITS);
  assert.is(empty.digest(), fnv([0n, 1n]));
  const b = new ReferenceBook(LIMITS);
  b.apply(addSymbol(1, 5n, 10n, -1000n, 2000n));
  b.apply(newOrder({ id: 9n, side: B, price: -5n, qty: 20n, account: 3, client: -2n, flags: L.FLAG_POST_ONLY, stp: L.STP_DECREMENT }));
  b.apply(newOrder({ id: 4n, side: B, price: -5n, qty: 10n, account: 1 }));
  b.apply(newOrder({ id: 6n, side: S, price: 10n, qty: 30n, account: 1 }));
  assert.is(b.digest(), fnv([
    3n, 1n,
    1n, BigInt(L.STATUS_ACTIVE), 5n, 10n, -1000n, 2000n,
    1n, -5n, 30n, 2n, 9n, 3n, 20n, -2n, BigInt(L.FLAG_POST_ONLY), BigInt(L.STP_DECREMENT), 4n, 1n, 10n, 0n, 0n, 0n,
    1n, 10n, 30n, 1n, 6n, 1n, 30n, 0n, 0n, 0n,
  ]));
  // The same book reached another way has the same digest; a trade moves the trade id.
  const c = new ReferenceBook(LIMITS);
  c.apply(addSymbol(1, 5n, 10n, -1000n, 2000n));
  c.apply(newOrder({ id: 9n, side: B, price: -10n, qty: 50n, account: 3, client: 1n, flags: L.FLAG_POST_ONLY, stp: L.STP_DECREMENT }));
  c.apply(newOrder({ id: 4n, side: B, price: -5n, qty: 10n, account: 1 }));
  c.apply(cmd({ type: L.CMD_MODIFY, symbol: 1, account: 3, orderId: 9n, price: -5n, quantity: 20n, clientOrderId: -2n }));
  c.apply(cmd({ type: L.CMD_MODIFY, symbol: 1, account: 1, orderId: 4n, price: -5n, quantity: 20n })); // to the back
  c.apply(cmd({ type: L.CMD_MODIFY, symbol: 1, account: 1, orderId: 4n, price: -5n, quantity: 10n })); // stays there
  c.apply(newOrder({ id: 6n, side: S, price: 10n, qty: 30n, account: 1 }));
  assert.is(c.digest(), b.digest());
  c.apply(newOrder({ id: 7n, side: B, price: 10n, qty: 10n, account: 2, tif: L.TIF_IOC }));
  assert.ok(c.digest() !== b.digest());
});

// ---- Random streams --------------------------------------------------------------------------

/** Book invariants through the public API: totals add up, levels strictly ordered, never crossed. */
function checkInvariants(b: ReferenceBook, symbols: number, where: string): void {
  let resting = 0;
  for (let s = 1; s <= symbols + 3; s++) {
    for (const side of [B, S]) {
      const levels = b.depth(s, side, Infinity);
      for (let i = 0; i < levels.length; i++) {
        const l = levels[i];
        const q = b.queue(s, side, l.price);
        assert.ok(l.count > 0 && q.length === l.count, `${where}: count at ${s}/${side}/${l.price}`);
        assert.is(q.reduce((a, o) => a + o.remaining, 0n), l.total, `${where}: total`);
        for (const o of q) {
          assert.ok(o.remaining > 0n, `${where}: empty order`);
          assert.equal(b.order(o.orderId)?.price, l.price, `${where}: order map`);
        }
        if (i > 0) assert.ok(side === B ? levels[i - 1].price > l.price : levels[i - 1].price < l.price, `${where}: level order`);
        resting += l.count;
      }
    }
    const bid = b.best(s, B);
    const ask = b.best(s, S);
    if (bid && ask) assert.ok(bid.price < ask.price, `${where}: crossed book on symbol ${s}`);
  }
  assert.is(resting, b.liveOrders(), `${where}: resting count`);
}

function run(opts: StreamOptions, every = 0): { digest: bigint; ms: number; events: number; kinds: Map<string, number>; book: ReferenceBook } {
  const book = new ReferenceBook(streamLimits(opts));
  const cmds = collect(randomStream(opts));
  assert.is(cmds.length, opts.count);
  const kinds = new Map<string, number>();
  let events = 0;
  let ms = 0; // apply() alone, not the checks around it
  for (let i = 0; i < cmds.length; i++) {
    assert.is(cmds[i].seq, BigInt(i));
    const t0 = performance.now();
    const out = book.apply(cmds[i]);
    ms += performance.now() - t0;
    events += out.length;
    for (const e of out) {
      assert.is(e.seq, cmds[i].seq);
      const k = `${e.type}/${e.reason}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    if (every > 0 && i % every === 0) checkInvariants(book, opts.symbols, `after #${i}`);
  }
  checkInvariants(book, opts.symbols, 'at the end');
  return { digest: book.digest(), ms, events, kinds, book };
}

test('random stream (deep, 200k): no throw, every outcome occurs, deterministic digest; time printed', () => {
  const opts: StreamOptions = { seed: 42, count: 200_000, symbols: 4, depth: 'deep' };
  const a = run(opts);
  console.log(`    reference, deep: ${opts.count} commands, ${a.events} events in ${a.ms.toFixed(0)} ms = ${Math.round(opts.count / a.ms * 1000)} commands/s, ${a.book.liveOrders()} resting`);
  const b = run(opts);
  assert.is(b.digest, a.digest);
  assert.ok(run({ ...opts, seed: 43, count: 20_000 }).digest !== a.digest);
  // Every event type, cancel reason and (nearly) every reject reason shows up.
  const has = (type: number, reason = 0) => (a.kinds.get(`${type}/${reason}`) ?? 0) > 0;
  for (const t of [L.EV_ACCEPTED, L.EV_TRADE, L.EV_MODIFIED, L.EV_LEVEL]) assert.ok(has(t), `event ${t}`);
  for (const r of [L.CXL_REQUEST, L.CXL_IOC, L.CXL_FOK, L.CXL_SELF_TRADE, L.CXL_MASS_CANCEL, L.CXL_HALT]) assert.ok(has(L.EV_CANCELLED, r), `cancel ${r}`);
  for (let r = 1; r <= L.REJ_MAX; r++) {
    if (r === L.REJ_ORDER_CAPACITY) continue; // deep limits are roomy; the shallow test covers it
    assert.ok(has(L.EV_REJECTED, r), `reject ${r}`);
  }
  assert.ok(a.book.liveOrders() > 1000, 'deep books are deep');
});

test('random stream (shallow): invariants after every command; capacity rejects happen', () => {
  const opts: StreamOptions = { seed: 7, count: 60_000, symbols: 3, depth: 'shallow', badInputShare: 0.05 };
  const a = run(opts, 1);
  console.log(`    reference, shallow: ${opts.count} commands (with invariant checks) in ${a.ms.toFixed(0)} ms`);
  assert.ok((a.kinds.get(`${L.EV_REJECTED}/${L.REJ_ORDER_CAPACITY}`) ?? 0) > 0);
  assert.ok((a.kinds.get(`${L.EV_TRADE}/0`) ?? 0) > 1000);
  const fast = run({ ...opts, count: 200_000 });
  console.log(`    reference, shallow: ${200_000} commands in ${fast.ms.toFixed(0)} ms = ${Math.round(200_000 / fast.ms * 1000)} commands/s`);
});

test('randomStream: same seed, same commands; count and seq as asked', () => {
  const opts: StreamOptions = { seed: 5, count: 5000, symbols: 2, depth: 'deep' };
  const a = collect(randomStream(opts));
  const b = collect(randomStream(opts));
  assert.equal(a, b);
  assert.is(a.length, 5000);
  assert.equal(a.slice(0, 2).map((c) => [c.type, c.symbol, c.seq]), [[L.CMD_ADD_SYMBOL, 1, 0n], [L.CMD_ADD_SYMBOL, 2, 1n]]);
  assert.is(collect(randomStream(opts), 10).length, 10);
  assert.is(collect(randomStream({ ...opts, count: 1 })).length, 1);
});

test.run();

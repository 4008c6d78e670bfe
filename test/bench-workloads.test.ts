// The benchmark workloads (bench/workloads) and the comparison peers (bench/peers): determinism,
// promised mix shares, prices on tick and in band, book size regulation, and identical end-of-run
// books between SimpleBook and the nodejs-order-book adapter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as L from '../assembly/layout.js';
import type { RawCommand } from '../src/records.js';
import { Rng } from '../bench/workloads/rng.js';
import { coreMix, coreMixSetupLength } from '../bench/workloads/core-mix.js';
import { equityFlow, EQUITY_REGIMES, type Regime } from '../bench/workloads/equity-flow.js';
import { multiSymbol, multiSymbolSetupLength } from '../bench/workloads/multi-symbol.js';
import { SimpleBook } from '../bench/peers/simple-book.js';
import { NodejsOrderBookPeer } from '../bench/peers/nodejs-order-book.js';

const REGIMES: Regime[] = ['fixed', 'normal', 'volatile', 'stressed', 'crash'];
const CORE_N = 50_000;
const EQUITY_N = 40_000;

const memo = new Map<string, RawCommand[]>();
function cached(key: string, make: () => RawCommand[]): RawCommand[] {
  let v = memo.get(key);
  if (!v) memo.set(key, (v = make()));
  return v;
}
const core = () => cached('core', () => coreMix({ seed: 42, count: CORE_N }));
const equity = (r: Regime) => cached(`eq-${r}`, () => equityFlow({ seed: 42, count: EQUITY_N, regime: r }));
const MULTI = { seed: 42, count: 60_000, symbols: 300 };
const multi = () => cached('multi', () => multiSymbol(MULTI));

function key(c: RawCommand): string {
  return `${c.type},${c.side},${c.orderType},${c.tif},${c.flags},${c.stp},${c.symbol},${c.account},${c.orderId},${c.price},${c.quantity},${c.clientOrderId},${c.seq},${c.timestamp}`;
}
function same(a: RawCommand[], b: RawCommand[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (key(a[i]) !== key(b[i])) return false;
  return true;
}

type Kind = 'gtc' | 'ioc' | 'market' | 'fok' | 'cancel' | 'modify' | 'other';
function kind(c: RawCommand): Kind {
  if (c.type === L.CMD_CANCEL) return 'cancel';
  if (c.type === L.CMD_MODIFY) return 'modify';
  if (c.type !== L.CMD_NEW) return 'other';
  if (c.orderType === L.ORDER_MARKET) return 'market';
  return c.tif === L.TIF_GTC ? 'gtc' : c.tif === L.TIF_IOC ? 'ioc' : 'fok';
}
function shares(cmds: RawCommand[], from = 0): Record<Kind, number> {
  const n: Record<Kind, number> = { gtc: 0, ioc: 0, market: 0, fok: 0, cancel: 0, modify: 0, other: 0 };
  for (let i = from; i < cmds.length; i++) n[kind(cmds[i])]++;
  const total = cmds.length - from;
  for (const k in n) n[k as Kind] /= total;
  return n;
}
function within(x: number, lo: number, hi: number, what: string): void {
  assert.ok(x >= lo && x <= hi, `${what} = ${x.toFixed(4)}, expected ${lo}..${hi}`);
}

/** Every price on its symbol's tick and inside its band, every quantity a positive lot multiple. */
function checkPricesAndQuantities(cmds: RawCommand[]): void {
  const sym = new Map<number, { tick: bigint; lot: bigint; lo: bigint; hi: bigint }>();
  for (const c of cmds) {
    if (c.type === L.CMD_ADD_SYMBOL) {
      sym.set(c.symbol, { tick: c.orderId, lot: c.price, lo: c.quantity, hi: c.clientOrderId });
      continue;
    }
    if (c.stp !== L.STP_NONE) assert.unreachable('stp set');
    const s = sym.get(c.symbol);
    assert.ok(s, `command for symbol ${c.symbol} before its ADD_SYMBOL`);
    if (c.type === L.CMD_CANCEL) continue;
    assert.ok(c.quantity > 0n && c.quantity % s!.lot === 0n, `quantity ${c.quantity} lot ${s!.lot}`);
    const priced = !(c.type === L.CMD_NEW && c.orderType === L.ORDER_MARKET && (c.flags & L.FLAG_PROTECTED) === 0);
    if (!priced) {
      assert.is(c.price, 0n);
      continue;
    }
    if (c.price % s!.tick !== 0n || c.price < s!.lo || c.price > s!.hi) {
      assert.unreachable(`price ${c.price} off tick ${s!.tick} or outside [${s!.lo}, ${s!.hi}] at seq ${c.seq}`);
    }
  }
}

function compareWithNodejsOrderBook(cmds: RawCommand[], symbols: number[]): void {
  const a = new SimpleBook();
  const b = new NodejsOrderBookPeer();
  a.applyAll(cmds);
  b.applyAll(cmds);
  for (const s of symbols) {
    assert.equal(b.summary(s), a.summary(s), `summary of symbol ${s}`);
    assert.equal(b.depth(s), a.depth(s), `depth of symbol ${s}`);
  }
}

// ---- rng --------------------------------------------------------------------------------------

test('rng: deterministic, and its draws have the right moments', () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xs = Array.from({ length: 8 }, () => a.u32());
  assert.equal(Array.from({ length: 8 }, () => b.u32()), xs);
  assert.not.equal(Array.from({ length: 8 }, () => c.u32()), xs);
  const r = new Rng(1);
  const N = 200_000;
  let ints = 0, exps = 0, norm = 0, norm2 = 0, paretoOver10 = 0, intMin = Infinity, intMax = -Infinity;
  for (let i = 0; i < N; i++) {
    const k = r.int(3, 9);
    ints += k;
    intMin = Math.min(intMin, k);
    intMax = Math.max(intMax, k);
    exps += r.exp(5);
    const z = r.normal(2, 3);
    norm += z;
    norm2 += (z - 2) * (z - 2);
    if (r.pareto(1, 1.5) > 10) paretoOver10++;
  }
  assert.is(intMin, 3);
  assert.is(intMax, 9);
  within(ints / N, 5.95, 6.05, 'uniform int mean');
  within(exps / N, 4.9, 5.1, 'exponential mean');
  within(norm / N, 1.97, 2.03, 'normal mean');
  within(Math.sqrt(norm2 / N), 2.97, 3.03, 'normal sd');
  within(paretoOver10 / N, 0.0296, 0.0336, 'pareto tail P(X > 10) = 10^-1.5');
});

// ---- determinism ------------------------------------------------------------------------------

test('workloads: same seed -> identical commands, other seed -> different', () => {
  assert.ok(same(coreMix({ seed: 42, count: CORE_N }), core()));
  assert.not.ok(same(coreMix({ seed: 43, count: 10_000 }), core().slice(0, 10_000)));
  for (const r of REGIMES) {
    assert.ok(same(equityFlow({ seed: 9, count: 5000, regime: r }), equityFlow({ seed: 9, count: 5000, regime: r })), r);
    assert.not.ok(same(equityFlow({ seed: 10, count: 5000, regime: r }), equityFlow({ seed: 9, count: 5000, regime: r })), r);
  }
  assert.ok(same(multiSymbol({ seed: 5, count: 8000, symbols: 100 }), multiSymbol({ seed: 5, count: 8000, symbols: 100 })));
});

test('workloads: exact count, ADD_SYMBOL first, seq 1..n, non-decreasing timestamps, fresh ids', () => {
  for (const cmds of [core(), multi(), ...REGIMES.map(equity)]) {
    assert.is(cmds[0].type, L.CMD_ADD_SYMBOL);
    const seen = new Set<bigint>();
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i];
      assert.is(c.seq, BigInt(i + 1));
      if (i > 0 && c.timestamp < cmds[i - 1].timestamp) assert.unreachable('timestamp went back');
      if (c.type === L.CMD_NEW) {
        if (seen.has(c.orderId)) assert.unreachable(`order id ${c.orderId} reused`);
        seen.add(c.orderId);
      }
    }
  }
  assert.is(core().length, CORE_N);
  assert.is(equity('normal').length, EQUITY_N);
  assert.is(coreMix({ seed: 1, count: 3 }).length, 3);
});

// ---- mix shares -------------------------------------------------------------------------------

test('core-mix: promised shares after the setup', () => {
  const cmds = core();
  const setup = coreMixSetupLength({ seed: 42, count: CORE_N });
  assert.is(setup, 5001);
  for (let i = 1; i < setup; i++) assert.is(kind(cmds[i]), 'gtc');
  const s = shares(cmds, setup);
  within(s.gtc, 0.47, 0.56, 'NEW GTC');
  within(s.cancel, 0.30, 0.36, 'CANCEL');
  within(s.ioc + s.market + s.fok, 0.085, 0.115, 'IOC + market + FOK');
  within(s.ioc, 0.05, 0.07, 'IOC');
  within(s.market, 0.02, 0.04, 'market');
  within(s.fok, 0.005, 0.015, 'FOK');
  within(s.modify, 0.04, 0.06, 'MODIFY');
  // cancels and modifies always name live orders with the right account
  const book = new SimpleBook();
  book.applyAll(cmds);
  assert.is(book.totalRejects(), 0);
});

test('equity-flow: IOC share per regime, cancels, modifies, a few stale commands', () => {
  for (const r of REGIMES) {
    const cmds = equity(r);
    const s = shares(cmds, 1);
    const news = s.gtc + s.ioc;
    within(s.ioc / news, EQUITY_REGIMES[r].iocShare - 0.015, EQUITY_REGIMES[r].iocShare + 0.015, `${r}: IOC / NEW`);
    assert.is(s.market + s.fok + s.other, 0, r);
    within(s.cancel, 0.10, 0.45, `${r}: CANCEL`);
    within(s.modify, 0.015, 0.09, `${r}: MODIFY`);
    const book = new SimpleBook();
    book.applyAll(cmds);
    const stale = book.rejects[L.REJ_UNKNOWN_ORDER] / cmds.length;
    within(stale, 0.001, 0.05, `${r}: stale cancels/modifies`);
    assert.is(book.totalRejects(), book.rejects[L.REJ_UNKNOWN_ORDER], `${r}: only stale rejects`);
  }
  // the regimes differ: trading intensity grows with volatility
  const trades = REGIMES.map((r) => {
    const b = new SimpleBook();
    b.applyAll(equity(r));
    return b.summary(1).trades;
  });
  assert.ok(trades[0] < trades[2] && trades[2] < trades[4], `trades by regime ${trades}`);
});

test('multi-symbol: core-mix shares and Pareto-skewed activity', () => {
  const cmds = multi();
  const setup = multiSymbolSetupLength(MULTI);
  for (let i = 0; i < MULTI.symbols; i++) assert.is(cmds[i].type, L.CMD_ADD_SYMBOL);
  const s = shares(cmds, setup);
  within(s.gtc, 0.47, 0.56, 'NEW GTC');
  within(s.cancel, 0.30, 0.36, 'CANCEL');
  within(s.ioc + s.market + s.fok, 0.085, 0.115, 'takers');
  within(s.modify, 0.04, 0.06, 'MODIFY');
  const per = new Map<number, number>();
  for (let i = setup; i < cmds.length; i++) per.set(cmds[i].symbol, (per.get(cmds[i].symbol) ?? 0) + 1);
  const sorted = [...per.values()].sort((a, b) => b - a);
  const top20 = sorted.slice(0, MULTI.symbols / 5).reduce((a, b) => a + b, 0) / (cmds.length - setup);
  within(top20, 0.5, 0.95, 'activity share of the top 20% of symbols');
  const book = new SimpleBook();
  book.applyAll(cmds);
  assert.is(book.totalRejects(), 0);
});

// ---- prices -----------------------------------------------------------------------------------

test('every price on tick and inside the band, quantities positive lot multiples', () => {
  checkPricesAndQuantities(core());
  checkPricesAndQuantities(multi());
  for (const r of REGIMES) checkPricesAndQuantities(equity(r));
});

// ---- book size --------------------------------------------------------------------------------

test('core-mix: the book settles near restingTarget', () => {
  for (const [cmds, target, setup] of [
    [core(), 5000, coreMixSetupLength({ seed: 42, count: CORE_N })],
    [coreMix({ seed: 3, count: 20_000, restingTarget: 1000 }), 1000, 1001],
  ] as const) {
    const book = new SimpleBook();
    let sum = 0, n = 0, min = Infinity, max = 0;
    for (let i = 0; i < cmds.length; i++) {
      book.apply(cmds[i]);
      if (i >= setup + 2000) {
        const r = book.restingOrdersOf(1);
        sum += r;
        n++;
        min = Math.min(min, r);
        max = Math.max(max, r);
      }
    }
    within(sum / n / target, 0.93, 1.07, `mean resting / target (${target})`);
    within(min / target, 0.85, 1.15, 'min resting / target');
    within(max / target, 0.85, 1.15, 'max resting / target');
  }
});

// ---- peers ------------------------------------------------------------------------------------

test('SimpleBook: priority, FOK, protected market, post-only, modify', () => {
  const b = new SimpleBook();
  const cmd = (o: Partial<RawCommand>): RawCommand => ({
    type: L.CMD_NEW, side: L.SIDE_SELL, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, flags: 0, stp: 0, symbol: 1,
    account: 1, orderId: 0n, price: 0n, quantity: 0n, clientOrderId: 0n, seq: 0n, timestamp: 0n, ...o,
  });
  b.apply(cmd({ type: L.CMD_ADD_SYMBOL, orderId: 5n, price: 10n, quantity: 100n, clientOrderId: 1000n }));
  b.apply(cmd({ orderId: 1n, price: 500n, quantity: 30n }));
  b.apply(cmd({ orderId: 2n, price: 500n, quantity: 30n }));
  b.apply(cmd({ orderId: 3n, price: 505n, quantity: 10n }));
  b.apply(cmd({ orderId: 4n, price: 502n, quantity: 10n })); //  off tick
  b.apply(cmd({ orderId: 4n, price: 1005n, quantity: 10n })); // out of band
  b.apply(cmd({ orderId: 4n, price: 505n, quantity: 15n })); //  not a lot multiple
  b.apply(cmd({ orderId: 3n, price: 510n, quantity: 10n })); //  duplicate live id
  assert.is(b.rejects[L.REJ_PRICE_OFF_TICK], 1);
  assert.is(b.rejects[L.REJ_PRICE_OUT_OF_BAND], 1);
  assert.is(b.rejects[L.REJ_INVALID_QUANTITY], 1);
  assert.is(b.rejects[L.REJ_DUPLICATE_ORDER_ID], 1);
  // quantity decrease keeps priority: order 1 stays ahead of 2
  b.apply(cmd({ type: L.CMD_MODIFY, orderId: 1n, price: 500n, quantity: 20n }));
  b.apply(cmd({ side: L.SIDE_BUY, tif: L.TIF_IOC, orderId: 10n, price: 500n, quantity: 20n, account: 2 }));
  assert.not.ok(b.isLive(1));
  assert.ok(b.isLive(2));
  // FOK that cannot fill changes nothing; one that can, fills
  b.apply(cmd({ side: L.SIDE_BUY, tif: L.TIF_FOK, orderId: 11n, price: 505n, quantity: 50n, account: 2 }));
  assert.is(b.summary(1).restingQty, 40n);
  b.apply(cmd({ side: L.SIDE_BUY, tif: L.TIF_FOK, orderId: 12n, price: 505n, quantity: 40n, account: 2 }));
  assert.is(b.summary(1).restingOrders, 0);
  // post-only crossing is rejected; protected market stops at its price
  b.apply(cmd({ orderId: 20n, price: 600n, quantity: 10n }));
  b.apply(cmd({ orderId: 21n, price: 700n, quantity: 10n }));
  b.apply(cmd({ side: L.SIDE_BUY, flags: L.FLAG_POST_ONLY, orderId: 22n, price: 600n, quantity: 10n }));
  assert.is(b.rejects[L.REJ_POST_ONLY_WOULD_CROSS], 1);
  b.apply(cmd({ side: L.SIDE_BUY, orderType: L.ORDER_MARKET, tif: L.TIF_IOC, flags: L.FLAG_PROTECTED, orderId: 23n, price: 650n, quantity: 20n }));
  assert.equal(b.summary(1), { bestBid: undefined, bestAsk: 700n, restingQty: 10n, restingOrders: 1, trades: 4, tradedQty: 70n });
  // reprice loses priority and trades; cancel by a non-owner is rejected
  b.apply(cmd({ side: L.SIDE_BUY, orderId: 30n, price: 650n, quantity: 10n, account: 3 }));
  b.apply(cmd({ type: L.CMD_CANCEL, orderId: 30n, account: 4 }));
  assert.is(b.rejects[L.REJ_NOT_OWNER], 1);
  b.apply(cmd({ type: L.CMD_MODIFY, orderId: 30n, account: 3, price: 700n, quantity: 10n }));
  assert.equal(b.summary(1), { bestBid: undefined, bestAsk: undefined, restingQty: 0n, restingOrders: 0, trades: 5, tradedQty: 80n });
});

test('SimpleBook and nodejs-order-book end with identical books: core-mix 50k', () => {
  compareWithNodejsOrderBook(core(), [1]);
});

test('SimpleBook and nodejs-order-book end with identical books: every equity-flow regime', () => {
  for (const r of REGIMES) compareWithNodejsOrderBook(equity(r), [1]);
});

test('SimpleBook and nodejs-order-book end with identical books: multi-symbol', () => {
  const cmds = multiSymbol({ seed: 11, count: 20_000, symbols: 100 });
  compareWithNodejsOrderBook(cmds, Array.from({ length: 100 }, (_, i) => i + 1));
});

test('the public modify() of nodejs-order-book loses priority on decreases: books diverge', () => {
  const cmds = core();
  const a = new SimpleBook();
  const b = new NodejsOrderBookPeer({ modifyKeepsPriority: false });
  a.applyAll(cmds);
  b.applyAll(cmds);
  assert.not.equal(b.depth(1), a.depth(1));
});

test.run();

// A single-symbol equity-style order flow in simulated time.
//
// - New orders arrive as a Poisson process (mean gap 10 us of simulated time: 100k orders/s).
// - The mid follows a geometric Brownian motion, dS = S (mu dt + sigma dW), with per-regime
//   drift mu and volatility sigma per simulated second (EQUITY_REGIMES); 'fixed' holds the mid
//   constant. The mid is clamped to [1.5 x bandMin, bandMax / 1.5], so no price ever leaves the band.
// - Each arrival is an IOC limit order (regime share) priced through the mid by a power-law
//   distance, or a passive GTC limit order on its own side of the mid at a power-law distance
//   (Pareto, alpha 1.5, at least 0.5 tick: half the orders join the touch), capped at 2000 ticks.
//   Sizes are uniform 1..10 lots. Passive orders only cross when the mid has moved through older
//   orders, which is how drift and volatility turn into trades.
// - Every order that rests gets one pending action in simulated time: a cancel after an
//   exponential lifetime (90%: mean 20 ms; 10%: mean 300 ms), or, for 15% of them, first a modify
//   (after a mean 10 ms: half reprice to the current mid's placement, half resize to 1..10 lots)
//   and then such a cancel.
// - Stale commands, on purpose: an action that finds its order gone (filled) is still sent 10% of
//   the time (else dropped); 3% of cancels and modifies are sent again shortly after (mean 50 us),
//   so the duplicate cancel is rejected and the duplicate modify re-applies the same values.
// Ids 1, 2, 3, ... never reused; STP_NONE; accounts 1..1000. The generator applies every command
// to a SimpleBook to know which orders are live.
import * as L from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';
import { SimpleBook } from '../peers/simple-book.js';
import { Emitter, clamp } from './emit.js';
import { Rng } from './rng.js';

export type Regime = 'fixed' | 'normal' | 'volatile' | 'stressed' | 'crash';

export interface EquityFlowOptions {
  seed: number;
  count: number;
  regime: Regime;
  symbol?: number;
}

/**
 * Per simulated second: drift and volatility of the mid, and the share of arrivals that are IOC.
 * Simulated time is compressed (100k orders per second on one symbol), so the volatilities are
 * calibrated in ticks per order lifetime: over a typical 20 ms lifetime the mid moves about 2 ticks
 * (normal), 6 (volatile), 11 (stressed), 17 (crash) at a 20000-tick mid. A crash run falls about
 * 5% per simulated second (~ per 300k commands) and reaches the mid floor after some 12M commands.
 */
export const EQUITY_REGIMES: Record<Regime, { drift: number; vol: number; iocShare: number }> = {
  fixed: { drift: 0, vol: 0, iocShare: 0.08 },
  normal: { drift: 0, vol: 0.0007, iocShare: 0.08 },
  volatile: { drift: 0, vol: 0.002, iocShare: 0.1 },
  stressed: { drift: -0.01, vol: 0.004, iocShare: 0.15 },
  crash: { drift: -0.05, vol: 0.006, iocShare: 0.2 },
};

/**
 * The symbol: price unit = 1 cent, tick 1 cent, lot 100 shares, start mid 200.005 (20000.5 cents),
 * band 2.00 .. 800.00.
 */
export const EQUITY_SYMBOL = { tick: 1, lot: 100, startMid: 20000.5, bandMin: 200, bandMax: 80_000 } as const;

const ARRIVAL_GAP_NS = 10_000;
const MAX_DISTANCE_TICKS = 2000;

const ACT_CANCEL = 0;
const ACT_MODIFY = 1;

interface Action {
  time: number;
  order: number; // tie-break: insertion order, for determinism
  kind: number;
  id: number;
  account: number;
  side: number;
  price: number; // last price sent for this order
  qty: number; //   last quantity sent for this order
  duplicate: boolean;
}

/** Binary min-heap of actions by (time, order). */
class ActionHeap {
  private a: Action[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Action | undefined {
    return this.a[0];
  }
  private static less(x: Action, y: Action): boolean {
    return x.time < y.time || (x.time === y.time && x.order < y.order);
  }
  push(x: Action): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!ActionHeap.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Action {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && ActionHeap.less(a[l], a[m])) m = l;
        if (r < a.length && ActionHeap.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

export function equityFlow(opts: EquityFlowOptions): RawCommand[] {
  const { seed, count, regime, symbol = 1 } = opts;
  const R = EQUITY_REGIMES[regime];
  if (!R) throw new Error(`unknown regime ${regime}`);
  const S = EQUITY_SYMBOL;
  const rng = new Rng(seed);
  const book = new SimpleBook();
  const em = new Emitter(book);
  const heap = new ActionHeap();
  let actionOrder = 0;
  let nextId = 1;

  const midLo = S.bandMin * 1.5, midHi = S.bandMax / 1.5;
  let logMid = Math.log(S.startMid);
  let midTime = 0;
  const advanceMid = (t: number): number => {
    const dt = (t - midTime) / 1e9;
    midTime = t;
    if (R.vol > 0 || R.drift !== 0) {
      logMid += (R.drift - (R.vol * R.vol) / 2) * dt + R.vol * Math.sqrt(dt) * rng.normal();
      logMid = clamp(logMid, Math.log(midLo), Math.log(midHi));
    }
    return Math.exp(logMid) / S.tick; // in ticks, fractional
  };
  const distance = (): number => Math.min(rng.pareto(0.5, 1.5), MAX_DISTANCE_TICKS);
  const px = (ticks: number): number => clamp(ticks * S.tick, S.bandMin, S.bandMax);
  /** Passive price on `buy`'s own side of the mid (in ticks, fractional). */
  const passive = (mid: number, buy: boolean): number => {
    const d = distance();
    return px(buy ? Math.floor(mid - d) : Math.ceil(mid + d));
  };
  const schedule = (a: Omit<Action, 'order'>): void => heap.push({ ...a, order: actionOrder++ });
  const lifetime = (): number => rng.exp(rng.chance(0.9) ? 20e6 : 300e6);

  em.addSymbol(symbol, S.tick, S.lot, S.bandMin, S.bandMax);
  let nextArrival = rng.exp(ARRIVAL_GAP_NS);

  while (em.length < count) {
    const top = heap.peek();
    if (top && top.time <= nextArrival) {
      const a = heap.pop();
      em.now = a.time;
      const mid = advanceMid(a.time);
      const live = book.isLive(a.id);
      if (a.kind === ACT_CANCEL) {
        if (live || rng.chance(0.1)) em.cancel(symbol, a.account, a.id);
        if (live && !a.duplicate && rng.chance(0.03)) {
          schedule({ ...a, time: a.time + rng.exp(50_000), duplicate: true });
        }
      } else {
        let price = a.price, qty = a.qty;
        if (live && !a.duplicate) {
          if (rng.chance(0.5)) price = passive(mid, a.side === L.SIDE_BUY);
          else qty = S.lot * rng.int(1, 10);
        }
        if (live || rng.chance(0.1)) em.modify(symbol, a.account, a.id, price, qty);
        if (live && !a.duplicate) {
          if (rng.chance(0.03)) schedule({ ...a, price, qty, time: a.time + rng.exp(50_000), duplicate: true });
          schedule({ ...a, kind: ACT_CANCEL, price, qty, time: a.time + lifetime(), duplicate: false });
        }
      }
      continue;
    }
    em.now = nextArrival;
    const mid = advanceMid(nextArrival);
    nextArrival += rng.exp(ARRIVAL_GAP_NS);
    const buy = rng.chance(0.5);
    const side = buy ? L.SIDE_BUY : L.SIDE_SELL;
    const account = rng.int(1, 1000);
    const qty = S.lot * rng.int(1, 10);
    const id = nextId++;
    if (rng.chance(R.iocShare)) {
      // priced through the mid by a power-law distance: takes what rests up to there
      const d = distance();
      em.newOrder(symbol, account, id, side, L.ORDER_LIMIT, L.TIF_IOC, 0, px(buy ? Math.ceil(mid + d) : Math.floor(mid - d)), qty);
      continue;
    }
    const price = passive(mid, buy);
    em.newOrder(symbol, account, id, side, L.ORDER_LIMIT, L.TIF_GTC, 0, price, qty);
    if (!book.isLive(id)) continue; // filled on arrival
    if (rng.chance(0.15)) {
      schedule({ time: em.now + rng.exp(10e6), kind: ACT_MODIFY, id, account, side, price, qty, duplicate: false });
    } else {
      schedule({ time: em.now + lifetime(), kind: ACT_CANCEL, id, account, side, price, qty, duplicate: false });
    }
  }
  return em.out;
}

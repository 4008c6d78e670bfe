// The headline single-symbol workload.
//
// Layout of the returned array (exactly `count` commands, seq = 1..count):
//   [0]                    ADD_SYMBOL (tick 5, lot 10, band center +/- 5000 ticks)
//   [1 .. 1 + warmup)      passive GTC limit orders that build the book up to ~restingTarget
//   [1 + warmup .. count)  the steady-state mix (see coreMixSetupLength to skip the setup):
//     ~50%  NEW limit GTC near the touch (a few marketable), sizes 1..10 lots
//     ~33%  CANCEL of a live order (uniform over the live set; never stale)
//     ~10%  taking orders: IOC limit 6%, market 3% (a third with protection), FOK limit 1%
//      5%  MODIFY of a live order: half reduce quantity (keeps priority), a quarter increase it,
//           a quarter reprice by 1..3 ticks (both lose priority; a reprice may trade)
// The NEW/CANCEL split is regulated (+/-2.5 points) to hold ~restingTarget resting orders.
// Prices are placed around a reference price: the last trade, pulled gently toward the band's
// center, and clamped into the band. Every price is on tick, every quantity a lot multiple.
// The generator applies each command to a SimpleBook as it goes, so cancels and modifies always
// name live orders with their owner's account. Order ids are 1, 2, 3, ... never reused.
// Self-trade prevention is never set (STP_NONE); accounts are drawn from 1..100.
import * as L from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';
import { SimpleBook } from '../peers/simple-book.js';
import { Emitter, LiveIds, clamp } from './emit.js';
import { Rng } from './rng.js';

export interface CoreMixOptions {
  seed: number;
  count: number;
  restingTarget?: number;
  symbol?: number;
  /** Passive orders placed before the mix starts; defaults to restingTarget. */
  warmup?: number;
}

/** The core-mix symbol's configuration (price units; the center is the first reference price). */
export const CORE_MIX_SYMBOL = { tick: 5, lot: 10, center: 100_000, halfWidthTicks: 5000 } as const;

/** Number of setup commands (ADD_SYMBOL + warm-up) at the start of a core-mix. */
export function coreMixSetupLength(opts: CoreMixOptions): number {
  return Math.min(opts.count, 1 + (opts.warmup ?? opts.restingTarget ?? 5000));
}

export interface FlowConfig {
  symbol: number;
  tick: number;
  lot: number;
  /** Reference price before the first trade; also where the reference is pulled back to. */
  center: number;
  bandMin: number;
  bandMax: number;
  restingTarget: number;
  /** Mean distance of a passive order from the reference, in ticks (exponential). */
  depthTicks: number;
}

/** Shared order-id counter and accounts, so several flows (symbols) never collide. */
export interface FlowShared {
  rng: Rng;
  em: Emitter;
  book: SimpleBook;
  nextId: number;
}

/** One symbol's core-mix flow. Used by coreMix (one symbol) and multiSymbol (many). */
export class CoreFlow {
  private readonly live = new LiveIds();
  private readonly rnd: () => number;

  constructor(readonly cfg: FlowConfig, private readonly sh: FlowShared) {
    this.rnd = () => sh.rng.float();
  }

  addSymbol(): void {
    const c = this.cfg;
    this.sh.em.addSymbol(c.symbol, c.tick, c.lot, c.bandMin, c.bandMax);
  }

  /** Reference price: the last trade (or the center), pulled toward the center, on tick. */
  private ref(): number {
    const c = this.cfg;
    const last = this.sh.book.lastTradePrice(c.symbol) || c.center;
    const t = Math.round((last + (c.center - last) * 0.002) / c.tick) * c.tick;
    return clamp(t, c.bandMin, c.bandMax);
  }

  private px(p: number): number {
    return clamp(p, this.cfg.bandMin, this.cfg.bandMax);
  }

  private newId(): number {
    return this.sh.nextId++;
  }

  private account(): number {
    return this.sh.rng.int(1, 100);
  }

  /** A passive GTC order that does not cross the reference (warm-up). */
  warm(): void {
    const c = this.cfg, rng = this.sh.rng;
    const buy = rng.chance(0.5);
    const d = (1 + Math.floor(rng.exp(c.depthTicks))) * c.tick;
    const ref = this.ref();
    const id = this.newId();
    this.sh.em.newOrder(c.symbol, this.account(), id, buy ? L.SIDE_BUY : L.SIDE_SELL, L.ORDER_LIMIT, L.TIF_GTC, 0,
      this.px(buy ? ref - d : ref + d), c.lot * rng.int(1, 10));
    this.live.add(id);
  }

  /** A GTC limit near the touch; about 3% are priced through the reference and may trade. */
  private gtc(): void {
    const c = this.cfg, rng = this.sh.rng;
    const buy = rng.chance(0.5);
    const ref = this.ref();
    let d: number;
    if (rng.chance(0.03)) d = -rng.int(1, 3) * c.tick;
    else d = Math.floor(rng.exp(c.depthTicks)) * c.tick;
    const id = this.newId();
    this.sh.em.newOrder(c.symbol, this.account(), id, buy ? L.SIDE_BUY : L.SIDE_SELL, L.ORDER_LIMIT, L.TIF_GTC, 0,
      this.px(buy ? ref - d : ref + d), c.lot * rng.int(1, 10));
    this.live.add(id);
  }

  /** IOC (60%), market (30%, a third of them protected) or FOK (10%) taking from the touch. */
  private taker(): void {
    const c = this.cfg, rng = this.sh.rng, book = this.sh.book;
    const buy = rng.chance(0.5);
    const ref = this.ref();
    const touch = (buy ? book.bestAskNum(c.symbol) : book.bestBidNum(c.symbol)) ?? ref;
    const through = (ticks: number): number => this.px(buy ? touch + ticks * c.tick : touch - ticks * c.tick);
    const side = buy ? L.SIDE_BUY : L.SIDE_SELL;
    const qty = c.lot * rng.int(1, 20);
    const u = rng.float();
    if (u < 0.6) {
      this.sh.em.newOrder(c.symbol, this.account(), this.newId(), side, L.ORDER_LIMIT, L.TIF_IOC, 0, through(rng.int(0, 2)), qty);
    } else if (u < 0.9) {
      const prot = rng.chance(1 / 3);
      this.sh.em.newOrder(c.symbol, this.account(), this.newId(), side, L.ORDER_MARKET, L.TIF_IOC,
        prot ? L.FLAG_PROTECTED : 0, prot ? through(5) : 0, qty);
    } else {
      this.sh.em.newOrder(c.symbol, this.account(), this.newId(), side, L.ORDER_LIMIT, L.TIF_FOK, 0, through(rng.int(0, 2)), qty);
    }
  }

  private cancel(): boolean {
    const book = this.sh.book;
    const id = this.live.pick(this.rnd, book, true);
    if (id === 0) return false;
    this.sh.em.cancel(this.cfg.symbol, book.order(id)!.account, id);
    return true;
  }

  private modify(): boolean {
    const c = this.cfg, rng = this.sh.rng, book = this.sh.book;
    const id = this.live.pick(this.rnd, book, false);
    if (id === 0) return false;
    const o = book.order(id)!;
    const u = rng.float();
    let price = o.price, qty = o.rem;
    if (u < 0.5 && o.rem > c.lot) qty = c.lot * rng.int(1, o.rem / c.lot - 1);
    else if (u < 0.75) qty = o.rem + c.lot * rng.int(1, 5);
    else price = this.px(o.price + (rng.chance(0.5) ? 1 : -1) * rng.int(1, 3) * c.tick);
    this.sh.em.modify(c.symbol, o.account, id, price, qty);
    return true;
  }

  /** One command of the steady-state mix. */
  step(): void {
    const c = this.cfg, rng = this.sh.rng;
    const liveNow = this.sh.book.restingOrdersOf(c.symbol);
    // regulation: -1 (too few resting) .. +1 (too many), linear within +/-5% of the target
    const f = clamp((liveNow - c.restingTarget) / Math.max(1, 0.05 * c.restingTarget), -1, 1);
    const pNew = 0.515 - 0.025 * f;
    const pCancel = 0.335 + 0.025 * f;
    const u = rng.float();
    if (u < pNew) this.gtc();
    else if (u < pNew + pCancel) {
      if (!this.cancel()) this.gtc();
    } else if (u < pNew + pCancel + 0.1) this.taker();
    else if (!this.modify()) this.gtc();
  }
}

export function coreMix(opts: CoreMixOptions): RawCommand[] {
  const { seed, count, restingTarget = 5000, symbol = 1 } = opts;
  const warmup = opts.warmup ?? restingTarget;
  const S = CORE_MIX_SYMBOL;
  const book = new SimpleBook();
  const em = new Emitter(book);
  const sh: FlowShared = { rng: new Rng(seed), em, book, nextId: 1 };
  const flow = new CoreFlow({
    symbol, tick: S.tick, lot: S.lot, center: S.center,
    bandMin: S.center - S.halfWidthTicks * S.tick, bandMax: S.center + S.halfWidthTicks * S.tick,
    restingTarget, depthTicks: 20,
  }, sh);
  if (count <= 0) return em.out;
  flow.addSymbol();
  for (let i = 0; i < warmup && em.length < count; i++) {
    em.now += sh.rng.exp(1000);
    flow.warm();
  }
  while (em.length < count) {
    em.now += sh.rng.exp(1000);
    flow.step();
  }
  return em.out;
}

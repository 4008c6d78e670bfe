// A seeded, deterministic random command stream for differential tests.
//
// It first adds symbols 1..symbols, then mixes every command and outcome of docs/SEMANTICS.md:
// passive and aggressive limit orders (GTC / IOC / FOK, post-only, every STP mode, a handful of
// accounts so self-trades are common), protected and bare market orders, cancels and modifies of
// live, dead, never-seen and foreign orders, mass cancels, halts and resumes, symbol re-adds and
// bad configs, and a share of malformed input of every kind.
//
// To aim its cancels and modifies at live orders and keep the books at the wanted depth, it keeps
// a small shadow book of its own (numbers, no events). The shadow follows the documented matching
// closely but is only a guide: when it is wrong the stream is still valid, just less well aimed.
// Everything is a pure function of the options, so a seed reproduces a stream exactly.
import * as layout from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';

// A plain-object copy of the layout constants: under tsx the module namespace is a set of getters,
// which cost a fifth of the run time in hot loops. Same names, same values, one source.
const L = { ...layout };

export interface StreamOptions {
  seed: number;
  /** Commands in all, the initial ADD_SYMBOLs included. */
  count: number;
  symbols: number;
  depth: 'shallow' | 'deep';
  /** Share of deliberately bad commands, 0..1 (default 0.03). */
  badInputShare?: number;
  /**
   * The limits of the engine the stream will run against (default streamLimits(opts)); the
   * stream's shadow book follows capacity and symbol-table outcomes under them, for better aim.
   */
  limits?: StreamLimits;
}

export interface StreamLimits {
  maxOrders: number;
  maxSymbols: number;
  ladderTicks: number;
}

export interface SymbolConfig {
  tick: number;
  lot: number;
  bandMin: number;
  bandMax: number;
  /** Band width in ticks: (bandMax - bandMin) / tick + 1. */
  width: number;
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const MAXQ = L.MAX_ORDER_QUANTITY;
const ACCOUNTS = 6;
/** Extra symbol ids the stream tries to add after the initial ones (1..symbols). */
const EXTRA_SYMBOLS = 3;

// ---- PRNG ------------------------------------------------------------------------------------

/** mulberry32: tiny, fast, good enough for test streams, and identical on every platform. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** A geometric-ish non-negative integer with the given mean. */
  geo(mean: number): number {
    return Math.floor(-Math.log(1 - this.next()) * mean);
  }
}

// ---- Symbols and limits ----------------------------------------------------------------------

/**
 * The configuration the stream uses for symbol `id`: a pure function of (seed, id), so the limits
 * below can be computed without running the stream. Every fourth symbol has its band around 0,
 * so negative prices are exercised.
 */
export function symbolConfig(seed: number, id: number): SymbolConfig {
  const r = new Rng((seed ^ Math.imul(id, 0x9e3779b1)) >>> 0);
  r.u32();
  const tick = r.pick([1, 5, 5, 10, 25]);
  const lot = r.pick([1, 1, 10, 100]);
  const half = r.range(200, 2000);
  const midTicks = id % 4 === 3 ? 0 : r.range(1000, 400000);
  const bandMin = (midTicks - half) * tick;
  const bandMax = (midTicks + half) * tick;
  return { tick, lot, bandMin, bandMax, width: 2 * half + 1 };
}

/**
 * Engine limits that suit a stream: every initial symbol fits, then exactly one of the extra
 * symbols it tries to add fits the ladder (the next is SYMBOL_CAPACITY by ladder space, the one
 * after by id). Shallow streams get a tight maxOrders, so ORDER_CAPACITY happens now and then.
 */
export function streamLimits(opts: StreamOptions): StreamLimits {
  let ladderTicks = 0;
  for (let id = 1; id <= opts.symbols; id++) ladderTicks += symbolConfig(opts.seed, id).width;
  ladderTicks += symbolConfig(opts.seed, opts.symbols + 1).width;
  const maxOrders = opts.depth === 'deep' ? opts.symbols * 5000 : opts.symbols * 40;
  return { maxOrders, maxSymbols: opts.symbols + 2, ladderTicks };
}

// ---- Shadow book -----------------------------------------------------------------------------

interface SOrder {
  id: number;
  sym: number;
  side: number;
  /** Price as a tick index: price = bandMin + k * tick. */
  k: number;
  /** Remaining quantity in lots. */
  lots: number;
  account: number;
  stp: number;
  postOnly: boolean;
}

interface SLevel {
  k: number;
  orders: SOrder[];
}

interface SSymbol {
  id: number;
  cfg: SymbolConfig;
  halted: boolean;
  /** Command index at which the stream resumes it (when halted). */
  resumeAt: number;
  /** Best first. */
  bids: SLevel[];
  asks: SLevel[];
  count: number;
  /** Where new passive orders go when a side is empty. */
  midK: number;
}

function betterK(side: number, a: number, b: number): boolean {
  return side === L.SIDE_BUY ? a > b : a < b;
}

function crossesK(takerSide: number, limit: number | null, k: number): boolean {
  if (limit === null) return true;
  return takerSide === L.SIDE_BUY ? k <= limit : k >= limit;
}

function opposite(side: number): number {
  return side === L.SIDE_BUY ? L.SIDE_SELL : L.SIDE_BUY;
}

class Shadow {
  /** The symbols the stream believes added, ascending by id. */
  readonly syms: SSymbol[] = [];
  readonly byId = new Map<number, SSymbol>();
  readonly live = new Map<number, SOrder>();
  /** Ids of orders that are gone, for id reuse and cancels of dead orders (bounded). */
  readonly dead: number[] = [];

  constructor(readonly maxOrders: number) {}

  addSymbol(id: number, cfg: SymbolConfig): void {
    const s: SSymbol = {
      id, cfg, halted: false, resumeAt: 0, bids: [], asks: [], count: 0, midK: (cfg.width - 1) >> 1,
    };
    this.byId.set(id, s);
    this.syms.push(s);
    this.syms.sort((a, b) => a.id - b.id);
  }

  levels(s: SSymbol, side: number): SLevel[] {
    return side === L.SIDE_BUY ? s.bids : s.asks;
  }

  bestK(s: SSymbol, side: number): number | undefined {
    return this.levels(s, side)[0]?.k;
  }

  private gone(o: SOrder): void {
    this.live.delete(o.id);
    const s = this.byId.get(o.sym)!;
    s.count--;
    if (this.dead.length < 4096) this.dead.push(o.id);
    else this.dead[o.id & 4095] = o.id;
  }

  private index(levels: SLevel[], side: number, k: number): number {
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (betterK(side, levels[mid].k, k)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private rest(s: SSymbol, o: SOrder): void {
    const levels = this.levels(s, o.side);
    const i = this.index(levels, o.side, o.k);
    let level = levels[i];
    if (!level || level.k !== o.k) {
      level = { k: o.k, orders: [] };
      levels.splice(i, 0, level);
    }
    level.orders.push(o);
    this.live.set(o.id, o);
    s.count++;
  }

  private detach(s: SSymbol, o: SOrder): void {
    const levels = this.levels(s, o.side);
    const i = this.index(levels, o.side, o.k);
    const level = levels[i];
    if (!level || level.k !== o.k) return;
    const j = level.orders.indexOf(o);
    if (j >= 0) level.orders.splice(j, 1);
    if (level.orders.length === 0) levels.splice(i, 1);
  }

  remove(o: SOrder): void {
    this.detach(this.byId.get(o.sym)!, o);
    this.gone(o);
  }

  private fok(s: SSymbol, t: SOrder, limit: number | null): boolean {
    let sum = 0;
    for (const level of this.levels(s, opposite(t.side))) {
      if (!crossesK(t.side, limit, level.k)) return false;
      for (const m of level.orders) {
        if (t.stp !== L.STP_NONE && m.account === t.account) {
          if (t.stp === L.STP_CANCEL_OLDEST) continue;
          return false;
        }
        sum += m.lots;
        if (sum >= t.lots) return true;
      }
    }
    return false;
  }

  /** Matches t; true when it stopped with a self-trade. */
  private match(s: SSymbol, t: SOrder, limit: number | null): boolean {
    const opp = this.levels(s, opposite(t.side));
    while (t.lots > 0) {
      const level = opp[0];
      if (!level || !crossesK(t.side, limit, level.k)) return false;
      const m = level.orders[0];
      if (t.stp !== L.STP_NONE && m.account === t.account) {
        if (t.stp === L.STP_CANCEL_NEWEST) return true;
        if (t.stp === L.STP_DECREMENT) {
          const d = Math.min(m.lots, t.lots);
          m.lots -= d;
          t.lots -= d;
          if (m.lots === 0) this.remove(m);
          continue;
        }
        this.remove(m);
        if (t.stp === L.STP_CANCEL_BOTH) return true;
        continue;
      }
      const q = Math.min(m.lots, t.lots);
      m.lots -= q;
      t.lots -= q;
      if (m.lots === 0) this.remove(m);
    }
    return false;
  }

  /** A NEW the stream believes valid (the caller checked the static fields). */
  newOrder(t: SOrder, limit: number | null, tif: number, market: boolean): void {
    const s = this.byId.get(t.sym)!;
    if (s.halted || this.live.has(t.id)) return;
    if (!market && tif === L.TIF_GTC && this.live.size >= this.maxOrders) return;
    const bestOpp = this.bestK(s, opposite(t.side));
    if (t.postOnly && bestOpp !== undefined && crossesK(t.side, t.k, bestOpp)) return;
    if (tif === L.TIF_FOK && !this.fok(s, t, limit)) return;
    const stp = this.match(s, t, limit);
    if (!stp && t.lots > 0 && tif === L.TIF_GTC && !market) this.rest(s, t);
  }

  /** A MODIFY the stream believes valid: price k, remaining lots. */
  modify(o: SOrder, k: number, lots: number): void {
    const s = this.byId.get(o.sym)!;
    if (s.halted) return;
    if (k === o.k && lots <= o.lots) {
      o.lots = lots;
      return;
    }
    const bestOpp = this.bestK(s, opposite(o.side));
    if (o.postOnly && bestOpp !== undefined && crossesK(o.side, k, bestOpp)) return;
    this.detach(s, o);
    this.live.delete(o.id);
    s.count--;
    o.k = k;
    o.lots = lots;
    const stp = this.match(s, o, k);
    if (!stp && o.lots > 0) this.rest(s, o);
    else if (this.dead.length < 4096) this.dead.push(o.id);
  }

  cancelWhere(s: SSymbol, account: number): void {
    for (const levels of [s.bids, s.asks]) {
      for (const level of [...levels]) {
        for (const o of [...level.orders]) if (account === 0 || o.account === account) this.remove(o);
      }
    }
  }
}

// ---- The stream ------------------------------------------------------------------------------

function blank(seq: number): RawCommand {
  return {
    type: 0, side: 0, orderType: 0, tif: 0, flags: 0, stp: 0, symbol: 0, account: 0,
    orderId: 0n, price: 0n, quantity: 0n, clientOrderId: 0n,
    seq: BigInt(seq), timestamp: BigInt(seq) * 1000n + 17n,
  };
}

function addSymbolCommand(seq: number, id: number, cfg: SymbolConfig): RawCommand {
  const c = blank(seq);
  c.type = L.CMD_ADD_SYMBOL;
  c.symbol = id;
  c.orderId = BigInt(cfg.tick);
  c.price = BigInt(cfg.lot);
  c.quantity = BigInt(cfg.bandMin);
  c.clientOrderId = BigInt(cfg.bandMax);
  return c;
}

/** The generator's state and its command builders; randomStream drives it. */
class Streamer {
  readonly r: Rng;
  readonly shadow: Shadow;
  readonly deep: boolean;
  readonly target: number;
  readonly bad: number;
  readonly nSym: number;
  readonly maxSymbols: number;
  /** Ladder ticks left, as the stream expects them under its limits. */
  ladderLeft: number;
  /** Whether a valid add of an extra symbol was tried yet (the first goes to symbols + 1). */
  triedExtra = false;
  nextId = 1;
  seq = 0;

  constructor(readonly opts: StreamOptions) {
    this.r = new Rng(opts.seed ^ 0x5eed1234);
    this.deep = opts.depth === 'deep';
    this.target = this.deep ? 2000 : 30;
    this.bad = opts.badInputShare ?? 0.03;
    this.nSym = opts.symbols;
    const limits = opts.limits ?? streamLimits(opts);
    this.maxSymbols = limits.maxSymbols;
    this.ladderLeft = limits.ladderTicks;
    this.shadow = new Shadow(limits.maxOrders);
    for (let id = 1; id <= opts.symbols; id++) this.believeAdded(id, symbolConfig(opts.seed, id));
  }

  /** Follows an ADD_SYMBOL with a valid config the way the engine will (under its limits). */
  believeAdded(id: number, cfg: SymbolConfig): void {
    if (id < 1 || id > this.maxSymbols || this.shadow.byId.has(id) || cfg.width > this.ladderLeft) return;
    this.ladderLeft -= cfg.width;
    this.shadow.addSymbol(id, cfg);
  }

  // -- small helpers --

  price(s: SSymbol, k: number): bigint {
    return BigInt(s.cfg.bandMin + k * s.cfg.tick);
  }

  qty(s: SSymbol, lots: number): bigint {
    return BigInt(lots) * BigInt(s.cfg.lot);
  }

  clamp(s: SSymbol, k: number): number {
    return Math.max(0, Math.min(s.cfg.width - 1, k));
  }

  clientId(): bigint {
    const r = this.r;
    const x = r.next();
    if (x < 0.9) return BigInt(r.u32());
    if (x < 0.95) return 0n;
    if (x < 0.97) return -BigInt(r.range(1, 1000000));
    return r.pick([I64_MIN, I64_MAX, -1n]);
  }

  account(): number {
    return 1 + this.r.int(ACCOUNTS);
  }

  stp(): number {
    return this.r.chance(0.4) ? L.STP_NONE : 1 + this.r.int(L.STP_MAX);
  }

  /** A fresh id mostly; sometimes the id of an order that is gone, so ids get reused. */
  freshId(): number {
    const dead = this.shadow.dead;
    if (dead.length > 0 && this.r.chance(0.05)) {
      const id = this.r.pick(dead);
      if (!this.shadow.live.has(id)) return id;
    }
    return this.nextId++;
  }

  liveOrder(s?: SSymbol): SOrder | undefined {
    // Sample from the chosen symbol's book: a random level, a random order in it.
    const syms = s ? [s] : this.shadow.syms;
    const sym = this.r.pick(syms);
    const side = this.r.chance(0.5) ? L.SIDE_BUY : L.SIDE_SELL;
    let levels = this.shadow.levels(sym, side);
    if (levels.length === 0) levels = this.shadow.levels(sym, opposite(side));
    if (levels.length === 0) return undefined;
    // Bias toward the touch, where the action is.
    const li = Math.min(levels.length - 1, this.r.geo(this.deep ? 12 : 3));
    const level = levels[li];
    return this.r.pick(level.orders);
  }

  pickSymbol(): SSymbol {
    return this.r.pick(this.shadow.syms);
  }

  /** A price index near the touch on `side`, passive (behind the opposite best). */
  passiveK(s: SSymbol, side: number): number {
    const oppBest = this.shadow.bestK(s, opposite(side));
    const ownBest = this.shadow.bestK(s, side);
    const d = this.r.geo(this.deep ? 14 : 3);
    let anchor: number;
    if (oppBest !== undefined) anchor = side === L.SIDE_BUY ? oppBest - 1 : oppBest + 1;
    else if (ownBest !== undefined) anchor = side === L.SIDE_BUY ? ownBest + 1 : ownBest - 1;
    else anchor = side === L.SIDE_BUY ? s.midK - 1 : s.midK + 1;
    return this.clamp(s, side === L.SIDE_BUY ? anchor - d : anchor + d);
  }

  /** A price index through the opposite best by a few ticks (or near the mid if it is empty). */
  aggressiveK(s: SSymbol, side: number): number {
    const oppBest = this.shadow.bestK(s, opposite(side));
    const base = oppBest ?? s.midK;
    const d = this.r.geo(this.deep ? 3 : 2);
    return this.clamp(s, side === L.SIDE_BUY ? base + d : base - d);
  }

  /** Aggressor side, leaning against drift so the book stays near the middle of its band. */
  aggressorSide(s: SSymbol): number {
    const bb = this.shadow.bestK(s, L.SIDE_BUY);
    const ba = this.shadow.bestK(s, L.SIDE_SELL);
    const mid = bb !== undefined && ba !== undefined ? (bb + ba) / 2 : s.midK;
    const center = (s.cfg.width - 1) / 2;
    const pBuy = 0.5 + 0.4 * ((center - mid) / s.cfg.width);
    return this.r.chance(pBuy) ? L.SIDE_BUY : L.SIDE_SELL;
  }

  lots(): number {
    const r = this.r;
    return r.chance(0.8) ? r.range(1, 10) : r.range(11, 100);
  }

  // -- command builders (each also tells the shadow what it expects) --

  newCommand(s: SSymbol, o: SOrder, orderType: number, tif: number, flags: number, priceK: number | null): RawCommand {
    const c = blank(this.seq);
    c.type = L.CMD_NEW;
    c.side = o.side;
    c.orderType = orderType;
    c.tif = tif;
    c.flags = flags;
    c.stp = o.stp;
    c.symbol = s.id;
    c.account = o.account;
    c.orderId = BigInt(o.id);
    c.price = priceK === null ? 0n : this.price(s, priceK);
    c.quantity = this.qty(s, o.lots);
    c.clientOrderId = this.clientId();
    return c;
  }

  order(s: SSymbol, side: number, k: number, lots: number, postOnly = false): SOrder {
    return {
      id: this.freshId(), sym: s.id, side, k, lots, account: this.account(), stp: this.stp(), postOnly,
    };
  }

  passiveNew(s: SSymbol): RawCommand {
    const side = this.r.chance(0.5) ? L.SIDE_BUY : L.SIDE_SELL;
    const postOnly = this.r.chance(0.15);
    const o = this.order(s, side, this.passiveK(s, side), this.lots(), postOnly);
    const c = this.newCommand(s, o, L.ORDER_LIMIT, L.TIF_GTC, postOnly ? L.FLAG_POST_ONLY : 0, o.k);
    this.shadow.newOrder(o, o.k, L.TIF_GTC, false);
    return c;
  }

  aggressiveNew(s: SSymbol): RawCommand {
    const side = this.aggressorSide(s);
    const tif = this.r.pick([L.TIF_GTC, L.TIF_GTC, L.TIF_IOC, L.TIF_IOC, L.TIF_FOK]);
    const lots = this.deep ? this.r.range(1, 40) : this.r.range(1, 60);
    const o = this.order(s, side, this.aggressiveK(s, side), lots);
    const c = this.newCommand(s, o, L.ORDER_LIMIT, tif, 0, o.k);
    this.shadow.newOrder(o, o.k, tif, false);
    return c;
  }

  /** A post-only order at or through the opposite best: mostly POST_ONLY_WOULD_CROSS. */
  postOnlyCross(s: SSymbol): RawCommand {
    const side = this.r.chance(0.5) ? L.SIDE_BUY : L.SIDE_SELL;
    const o = this.order(s, side, this.aggressiveK(s, side), this.lots(), true);
    const c = this.newCommand(s, o, L.ORDER_LIMIT, L.TIF_GTC, L.FLAG_POST_ONLY, o.k);
    this.shadow.newOrder(o, o.k, L.TIF_GTC, false);
    return c;
  }

  marketNew(s: SSymbol): RawCommand {
    const side = this.aggressorSide(s);
    const tif = this.r.chance(0.75) ? L.TIF_IOC : L.TIF_FOK;
    const lots = this.deep ? this.r.range(1, 60) : this.r.range(1, 80);
    const isProtected = this.r.chance(0.5);
    const k = isProtected ? this.aggressiveK(s, side) : 0;
    const o = this.order(s, side, k, lots);
    const c = this.newCommand(s, o, L.ORDER_MARKET, tif, isProtected ? L.FLAG_PROTECTED : 0,
      isProtected ? k : null);
    // A bare market order's price field is ignored: sometimes put garbage there.
    if (!isProtected && this.r.chance(0.2)) c.price = this.r.pick([-1n, 7n, I64_MAX, I64_MIN]);
    this.shadow.newOrder(o, isProtected ? k : null, tif, true);
    return c;
  }

  cancelCommand(s: SSymbol): RawCommand {
    const r = this.r;
    const c = blank(this.seq);
    c.type = L.CMD_CANCEL;
    c.clientOrderId = this.clientId();
    const x = r.next();
    const o = this.liveOrder(s);
    if (o && x < 0.82) {
      c.symbol = o.sym;
      c.account = o.account;
      c.orderId = BigInt(o.id);
      this.shadow.remove(o); // believed to succeed (also when the shadow drifted)
    } else if (o && x < 0.88) {
      c.symbol = o.sym;
      c.account = 1 + ((o.account + r.int(ACCOUNTS - 1)) % ACCOUNTS); // another account
      c.orderId = BigInt(o.id);
    } else if (o && x < 0.92 && this.nSym > 1) {
      c.symbol = 1 + (o.sym % this.nSym); // right id, wrong symbol
      c.account = o.account;
      c.orderId = BigInt(o.id);
    } else if (x < 0.97 && this.shadow.dead.length > 0) {
      const id = r.pick(this.shadow.dead);
      c.symbol = s.id;
      c.account = this.account();
      c.orderId = BigInt(id);
      const still = this.shadow.live.get(id);
      if (still && still.sym === c.symbol && still.account === c.account) this.shadow.remove(still);
    } else {
      c.symbol = s.id;
      c.account = this.account();
      c.orderId = BigInt(this.nextId + 1000000 + r.int(1000000)); // never seen
    }
    return c;
  }

  modifyCommand(s: SSymbol): RawCommand {
    const r = this.r;
    const c = blank(this.seq);
    c.type = L.CMD_MODIFY;
    c.clientOrderId = this.clientId();
    const o = this.liveOrder(s);
    if (!o) { // an empty book: a never-seen id
      c.symbol = s.id;
      c.account = this.account();
      c.orderId = BigInt(this.nextId + 5000000);
      c.price = this.price(s, s.midK);
      c.quantity = this.qty(s, 1);
      return c;
    }
    c.symbol = o.sym;
    c.account = o.account;
    c.orderId = BigInt(o.id);
    // Some go to the wrong owner: NOT_OWNER.
    if (r.chance(0.04)) c.account = 1 + (o.account % ACCOUNTS);
    // Also make one of the side/flags fields odd: MODIFY ignores them.
    if (r.chance(0.05)) c.side = r.pick([0, 3, 255]);
    let k = o.k;
    let lots = o.lots;
    const x = r.next();
    if (x < 0.3) {
      k = this.clamp(s, o.k + r.range(-3, 3)); // reprice (sometimes to the same price)
    } else if (x < 0.5) {
      lots = Math.max(1, o.lots - r.range(0, o.lots)); // size down, same price: keeps priority
    } else if (x < 0.62) {
      lots = o.lots + r.range(1, 10); // size up, same price: loses priority
    } else if (x < 0.74) {
      k = this.aggressiveK(s, o.side); // through the spread
      lots = Math.max(1, o.lots + r.range(-3, 10));
    } else if (x < 0.8) {
      // no change at all
    } else {
      k = this.passiveK(s, o.side);
      lots = this.lots();
    }
    c.price = this.price(s, k);
    c.quantity = this.qty(s, lots);
    if (c.account === o.account) this.shadow.modify(o, k, lots);
    return c;
  }

  massCancelCommand(): RawCommand {
    const r = this.r;
    const c = blank(this.seq);
    c.type = L.CMD_MASS_CANCEL;
    const x = r.next();
    const wholeSymbol = this.deep ? 0.1 : 0.35;
    if (x < wholeSymbol) {
      c.symbol = this.pickSymbol().id;
    } else if (x < 0.8) {
      c.symbol = this.pickSymbol().id;
      c.account = this.account();
    } else {
      c.account = this.account(); // every symbol
    }
    for (const s of this.shadow.syms) {
      if (c.symbol === 0 || c.symbol === s.id) this.shadow.cancelWhere(s, c.account);
    }
    return c;
  }

  haltCommand(s: SSymbol): RawCommand {
    const c = blank(this.seq);
    c.type = L.CMD_HALT;
    c.symbol = s.id;
    c.account = this.r.chance(0.8) ? 0 : this.account();
    c.flags = this.r.chance(this.deep ? 0.3 : 0.5) ? L.HALT_CANCEL_ORDERS : 0;
    s.halted = true;
    s.resumeAt = this.seq + this.r.range(10, 150);
    if (c.flags !== 0) this.shadow.cancelWhere(s, 0);
    return c;
  }

  resumeCommand(s: SSymbol): RawCommand {
    const c = blank(this.seq);
    c.type = L.CMD_RESUME;
    c.symbol = s.id;
    s.halted = false;
    return c;
  }

  /**
   * Re-adds (DUPLICATE_SYMBOL), valid adds of extra symbols (under streamLimits the first fits
   * the ladder, the next is SYMBOL_CAPACITY by ladder space, the one after by id) and bad configs.
   */
  addSymbolExtra(): RawCommand {
    const r = this.r;
    const x = r.next();
    if (x < 0.3) {
      const id = this.pickSymbol().id;
      return addSymbolCommand(this.seq, id, symbolConfig(this.opts.seed, id));
    }
    if (x < 0.55) {
      const id = this.triedExtra ? this.nSym + 1 + r.int(EXTRA_SYMBOLS) : this.nSym + 1;
      this.triedExtra = true;
      const cfg = symbolConfig(this.opts.seed, id);
      this.believeAdded(id, cfg);
      return addSymbolCommand(this.seq, id, cfg);
    }
    // Bad configs go to ids the valid adds never succeed on: symbols + 2 fails the ladder after
    // symbols + 1 under streamLimits; symbols + 4 is never added but is inside roomier tables.
    const id = r.chance(0.15) ? 0 : this.nSym + (r.chance(0.5) ? 2 : 1 + EXTRA_SYMBOLS);
    const cfg = symbolConfig(this.opts.seed, id);
    const c = addSymbolCommand(this.seq, id, cfg);
    switch (r.int(9)) {
      case 0: c.orderId = r.pick([0n, -5n, I64_MIN]); break; // tick <= 0
      case 1: c.price = r.pick([0n, -1n, I64_MIN]); break; // lot <= 0
      case 2: [c.quantity, c.clientOrderId] = [c.clientOrderId, c.quantity - c.orderId]; break; // min > max
      case 3: c.orderId = 7n; c.quantity = 7n * 11n + 3n; c.clientOrderId = 7n * 50n; break; // off tick
      case 4: c.orderId = 1n; c.quantity = I64_MIN; c.clientOrderId = I64_MAX; break; // width 2^64
      case 5: c.orderId = 1n; c.quantity = 0n; c.clientOrderId = I64_MAX; break; // width 2^63
      case 6: c.orderId = 2n; c.quantity = I64_MIN; c.clientOrderId = I64_MAX - 1n; break; // 2^63
      case 7: c.symbol = r.pick([0xffffffff, this.nSym + 100]); break; // id beyond the table
      default: { // a one-tick band on symbols + 3: beyond streamLimits' table, added in roomier ones
        const one = symbolConfig(this.opts.seed, this.nSym + EXTRA_SYMBOLS);
        c.symbol = this.nSym + EXTRA_SYMBOLS;
        c.orderId = BigInt(one.tick);
        c.price = BigInt(one.lot);
        c.quantity = c.clientOrderId = BigInt(one.bandMax);
        this.believeAdded(c.symbol, { ...one, bandMin: one.bandMax, width: 1 });
        break;
      }
    }
    return c;
  }

  // -- bad input --

  /** One deliberately bad command, sometimes with a second fault to exercise the check order. */
  badCommand(): RawCommand {
    const r = this.r;
    const s = this.pickSymbol();
    const side = r.chance(0.5) ? L.SIDE_BUY : L.SIDE_SELL;
    const o = this.order(s, side, this.passiveK(s, side), this.lots());
    const kind = r.int(24);
    const c = this.newCommand(s, o, L.ORDER_LIMIT, L.TIF_GTC, 0, o.k);
    const tick = BigInt(s.cfg.tick);
    const lot = BigInt(s.cfg.lot);
    switch (kind) {
      case 0: c.quantity = 0n; break;
      case 1: c.quantity = r.pick([-lot, -1n, I64_MIN]); break;
      case 2: c.quantity = lot > 1n ? c.quantity + 1n : 0n; break;
      case 3: c.quantity = r.pick([(BigInt(MAXQ) / lot + 1n) * lot, I64_MAX, BigInt(MAXQ) + 1n]); break;
      case 4: c.price = tick > 1n ? c.price + 1n : BigInt(s.cfg.bandMax) + tick; break;
      case 5: c.price = r.pick([BigInt(s.cfg.bandMin) - tick, BigInt(s.cfg.bandMax) + tick, I64_MIN, I64_MAX]); break;
      case 6: c.side = r.pick([0, 3, 255]); break;
      case 7: c.orderType = r.pick([0, 3, 255]); break;
      case 8: c.tif = r.pick([0, 4, 255]); break;
      case 9: c.stp = r.pick([L.STP_MAX + 1, 200, 255]); break;
      case 10: c.flags = r.pick([4, 0x80, 0xff, L.FLAG_PROTECTED, L.FLAG_PROTECTED | L.FLAG_POST_ONLY]); break;
      case 11: c.flags = L.FLAG_POST_ONLY; c.tif = r.pick([L.TIF_IOC, L.TIF_FOK]); break;
      case 12: c.orderType = L.ORDER_MARKET; c.tif = L.TIF_GTC; break;
      case 13: c.orderType = L.ORDER_MARKET; c.tif = L.TIF_IOC; c.flags = r.pick([L.FLAG_POST_ONLY, 3]); break;
      case 14: c.type = r.pick([0, 8, 9, 255]); break;
      case 15: c.orderId = r.pick([0n, -1n, I64_MIN]); break;
      case 16: {
        const live = this.liveOrder();
        if (live) c.orderId = BigInt(live.id); // DUPLICATE_ORDER_ID (a live id, any symbol)
        else c.orderId = 0n;
        break;
      }
      case 17: c.symbol = r.pick([0, this.nSym + 50, 0xffffffff]); break;
      case 18: c.orderType = L.ORDER_MARKET; c.tif = L.TIF_IOC; c.flags = L.FLAG_PROTECTED;
        c.price = r.chance(0.5) && tick > 1n ? c.price + 1n : BigInt(s.cfg.bandMax) + tick; break;
      case 19: { // CANCEL with a bad id or symbol
        c.type = L.CMD_CANCEL;
        if (r.chance(0.5)) c.orderId = r.pick([0n, -7n]);
        else c.symbol = r.pick([0, this.nSym + 9]);
        break;
      }
      case 20: { // MODIFY with bad fields, aimed at a live order (of whatever symbol it is on)
        const live = this.liveOrder();
        const ls = live ? this.shadow.byId.get(live.sym)! : s;
        const lt = BigInt(ls.cfg.tick);
        c.type = L.CMD_MODIFY;
        if (live) {
          c.symbol = live.sym;
          c.account = live.account;
          c.orderId = BigInt(live.id);
          c.price = this.price(ls, live.k);
          c.quantity = this.qty(ls, live.lots);
        }
        switch (r.int(5)) {
          case 0: c.quantity = r.pick([0n, -1n]); break;
          case 1: c.quantity = BigInt(MAXQ) * 2n; break;
          case 2: c.price = lt > 1n ? c.price + 1n : I64_MAX; break;
          case 3: c.price = BigInt(ls.cfg.bandMin) - 1000n * lt; break;
          default: c.orderId = r.pick([0n, -3n]); break;
        }
        break;
      }
      case 21: c.type = L.CMD_MASS_CANCEL; c.symbol = r.chance(0.7) ? 0 : this.nSym + 1 + EXTRA_SYMBOLS; c.account = c.symbol === 0 ? 0 : c.account; break;
      case 22: c.type = L.CMD_HALT; c.flags = r.pick([2, 3, 0x80]); c.symbol = r.chance(0.7) ? s.id : 0; break;
      default: c.type = L.CMD_RESUME; c.symbol = r.pick([0, this.nSym + 1 + EXTRA_SYMBOLS, 0xfffffffe]); break;
    }
    // A second fault now and then: the first failing check in the documented order must win.
    if (r.chance(0.3) && c.type === L.CMD_NEW) {
      switch (r.int(4)) {
        // Each stays a fault on its own, so a bad command never turns valid.
        case 0: c.orderId = 0n; break;
        case 1: c.quantity = c.quantity > 0n ? -c.quantity : 0n; break;
        case 2: c.tif = 9; break;
        default: c.price = BigInt(s.cfg.bandMax) + 1000n * tick; break;
      }
    }
    // Bad input is not tracked by the shadow: if it slips through (it rarely can), the shadow is
    // merely a little off, which only blunts the aim of later commands.
    this.freshUnused(o);
    return c;
  }

  /** An id allocated for a bad command that will not rest: give it back to the dead pool. */
  private freshUnused(o: SOrder): void {
    if (!this.shadow.live.has(o.id) && this.shadow.dead.length < 4096) this.shadow.dead.push(o.id);
  }

  // -- the mix --

  next(): RawCommand {
    const r = this.r;
    // Scheduled resumes first: halts are short.
    for (const s of this.shadow.syms) {
      if (s.halted && this.seq >= s.resumeAt) return this.resumeCommand(s);
    }
    if (r.chance(this.bad)) return this.badCommand();
    const x = r.next();
    if (x < 0.0002) return this.haltCommand(this.pickSymbol());
    if (x < 0.0003) return this.resumeCommand(this.pickSymbol()); // possibly already active
    if (x < 0.0006) return this.addSymbolExtra();
    if (x < (this.deep ? 0.001 : 0.003)) return this.massCancelCommand();

    const s = this.pickSymbol();
    // Inflow of passive orders falls and cancels rise with the fill, so each book hovers around
    // its target (deep: 1,000-3,000 orders, shallow: a few dozen); the first orders come fast.
    const fill = s.count / this.target;
    const wPassive = fill < 0.4 ? 200 : Math.max(4, 80 * (1.6 - fill));
    const wCancel = 4 + 26 * fill;
    // Weights: passive, cancel, modify, aggressive, market, post-only cross.
    const weights = [wPassive, wCancel, 14, this.deep ? 9 : 14, 4, 2];
    let total = 0;
    for (const w of weights) total += w;
    let y = r.next() * total;
    let choice = 0;
    while (choice < weights.length - 1 && y >= weights[choice]) y -= weights[choice++];
    switch (choice) {
      case 0: return this.passiveNew(s);
      case 1: return this.cancelCommand(s);
      case 2: return this.modifyCommand(s);
      case 3: return this.aggressiveNew(s);
      case 4: return this.marketNew(s);
      default: return this.postOnlyCross(s);
    }
  }
}

/**
 * A deterministic random command stream: ADD_SYMBOL for 1..symbols first, then the mix. seq is
 * the command's index. Best run against an engine built with opts.limits ?? streamLimits(opts).
 */
export function* randomStream(opts: StreamOptions): Generator<RawCommand> {
  const st = new Streamer(opts);
  for (; st.seq < opts.count && st.seq < opts.symbols; st.seq++) {
    const id = st.seq + 1;
    yield addSymbolCommand(st.seq, id, symbolConfig(opts.seed, id));
  }
  for (; st.seq < opts.count; st.seq++) yield st.next();
}

/** The first n commands of a generator (all of them if n is omitted). */
export function collect<T>(gen: Iterable<T>, n = Infinity): T[] {
  const out: T[] = [];
  if (n <= 0) return out;
  for (const x of gen) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

// The reference order book: the oracle of the differential tests.
//
// It implements docs/SEMANTICS.md as literally as it can, and is written to be obviously correct,
// not fast: per symbol and side a best-first array of price levels, each a FIFO array of orders,
// a Map from order id to resting order, and bigint for every i64 quantity. Each command handler
// follows the spec's wording step by step; when in doubt, the spec wins and this file is the bug.
//
// Codes and limits come from assembly/layout.ts only; no number of the contract is restated here.
import * as layout from '../../assembly/layout.js';
import { emptyEvent, type RawCommand, type RawEvent } from '../../src/records.js';

// A plain-object copy of the layout constants: under tsx the module namespace is a set of getters,
// which cost a fifth of the run time in hot loops. Same names, same values, one source.
const L = { ...layout };

const MAX_QUANTITY = BigInt(L.MAX_ORDER_QUANTITY);

/** An order resting on a book (or, while a command runs, the taker order being matched). */
interface Order {
  orderId: bigint;
  symbol: number;
  side: number;
  /** The limit price; for a market taker the protection price or 0 (what ACCEPTED reports). */
  price: bigint;
  rem: bigint;
  account: number;
  clientOrderId: bigint;
  /** The NEW command's flags byte (only FLAG_POST_ONLY can be set on an order that rests). */
  flags: number;
  stp: number;
}

interface Level {
  side: number;
  price: bigint;
  /** Sum of the orders' remaining quantities. */
  total: bigint;
  /** FIFO: the head trades first. */
  orders: Order[];
}

interface SymbolBook {
  id: number;
  status: number;
  tick: bigint;
  lot: bigint;
  bandMin: bigint;
  bandMax: bigint;
  /** Best first: highest bid first. */
  bids: Level[];
  /** Best first: lowest ask first. */
  asks: Level[];
}

export interface ReferenceLimits {
  maxOrders: number;
  maxSymbols: number;
  ladderTicks: number;
}

export interface LevelView {
  price: bigint;
  total: bigint;
  count: number;
}

export interface QueueEntry {
  orderId: bigint;
  account: number;
  remaining: bigint;
  clientOrderId: bigint;
}

export interface OrderView {
  orderId: bigint;
  symbol: number;
  side: number;
  price: bigint;
  remaining: bigint;
  account: number;
  clientOrderId: bigint;
}

// ---- Field normalisation ---------------------------------------------------------------------
// A RawCommand reaches the core through its 64-byte record, so each field is what writeCommand
// leaves in the record: u8 fields modulo 2^8, u32 fields modulo 2^32, i64 fields wrapped to signed
// 64 bits. Normalising first makes the reference see exactly what the core sees, whatever the
// object held (and keeps it from ever throwing on odd values).

function u8(x: unknown): number {
  if (typeof x === 'number') return (x >>> 0) & 0xff;
  if (typeof x === 'bigint') return Number(BigInt.asUintN(8, x));
  return 0;
}

function u32(x: unknown): number {
  if (typeof x === 'number') return x >>> 0;
  if (typeof x === 'bigint') return Number(BigInt.asUintN(32, x));
  return 0;
}

function i64(x: unknown): bigint {
  if (typeof x === 'bigint') return BigInt.asIntN(64, x);
  if (typeof x === 'number' && Number.isFinite(x)) return BigInt.asIntN(64, BigInt(Math.trunc(x)));
  return 0n;
}

function normalize(c: RawCommand): RawCommand {
  return {
    type: u8(c.type),
    side: u8(c.side),
    orderType: u8(c.orderType),
    tif: u8(c.tif),
    flags: u8(c.flags),
    stp: u8(c.stp),
    symbol: u32(c.symbol),
    account: u32(c.account),
    orderId: i64(c.orderId),
    price: i64(c.price),
    quantity: i64(c.quantity),
    clientOrderId: i64(c.clientOrderId),
    seq: i64(c.seq),
    timestamp: i64(c.timestamp),
  };
}

// ---- Price helpers ---------------------------------------------------------------------------

/** Is price a better than price b for a level on this side? (bids: higher, asks: lower) */
function better(side: number, a: bigint, b: bigint): boolean {
  return side === L.SIDE_BUY ? a > b : a < b;
}

/**
 * Does a taker on side `takerSide` with limit `limit` cross an opposite level at `levelPrice`?
 * `limit` null is a market order without protection: it crosses every level.
 */
function crosses(takerSide: number, limit: bigint | null, levelPrice: bigint): boolean {
  if (limit === null) return true;
  return takerSide === L.SIDE_BUY ? levelPrice <= limit : levelPrice >= limit;
}

/** Step 6 of NEW (also used by MODIFY): the quantity checks, 0 if it passes. */
function quantityReject(book: SymbolBook, q: bigint): number {
  if (q <= 0n) return L.REJ_INVALID_QUANTITY;
  if (q > MAX_QUANTITY) return L.REJ_QUANTITY_TOO_LARGE;
  if (q % book.lot !== 0n) return L.REJ_INVALID_QUANTITY;
  return 0;
}

/** Step 7 of NEW (also used by MODIFY): the price checks, 0 if it passes. */
function priceReject(book: SymbolBook, p: bigint): number {
  if (p < book.bandMin || p > book.bandMax) return L.REJ_PRICE_OUT_OF_BAND;
  // "A multiple of tick": zero remainder under truncated division, whatever the sign.
  if (p % book.tick !== 0n) return L.REJ_PRICE_OFF_TICK;
  return 0;
}

export class ReferenceBook {
  private readonly limits: ReferenceLimits;
  private readonly symbols = new Map<number, SymbolBook>();
  /** Added symbol ids, ascending (MASS_CANCEL of all symbols and the digest walk them in order). */
  private symbolIds: number[] = [];
  /** Every resting order of the engine, by id (order ids are unique engine-wide). */
  private readonly orders = new Map<bigint, Order>();
  private ladderTicksUsed = 0n;
  private nextTradeId = 1n;

  // The command being applied and the events it has produced so far.
  private cmd: RawCommand = normalize({} as RawCommand);
  private out: RawEvent[] = [];

  constructor(limits: ReferenceLimits) {
    this.limits = { ...limits };
  }

  // ---- Public API ----------------------------------------------------------------------------

  /** Applies one command and returns the events it causes, in order. Never throws on bad input. */
  apply(raw: RawCommand): RawEvent[] {
    const c = normalize(raw);
    this.cmd = c;
    this.out = [];
    switch (c.type) {
      case L.CMD_NEW: this.newOrder(c); break;
      case L.CMD_CANCEL: this.cancel(c); break;
      case L.CMD_MODIFY: this.modify(c); break;
      case L.CMD_MASS_CANCEL: this.massCancel(c); break;
      case L.CMD_ADD_SYMBOL: this.addSymbol(c); break;
      case L.CMD_HALT: this.halt(c); break;
      case L.CMD_RESUME: this.resume(c); break;
      default: this.reject(L.REJ_MALFORMED, false); break;
    }
    const events = this.out;
    this.out = [];
    return events;
  }

  liveOrders(): number {
    return this.orders.size;
  }

  best(symbol: number, side: number): LevelView | undefined {
    return this.depth(symbol, side, 1)[0];
  }

  depth(symbol: number, side: number, levels: number): LevelView[] {
    const book = this.symbols.get(symbol);
    if (!book || (side !== L.SIDE_BUY && side !== L.SIDE_SELL)) return [];
    return this.sideOf(book, side)
      .slice(0, Math.max(0, levels))
      .map((l) => ({ price: l.price, total: l.total, count: l.orders.length }));
  }

  queue(symbol: number, side: number, price: bigint): QueueEntry[] {
    const book = this.symbols.get(symbol);
    if (!book || (side !== L.SIDE_BUY && side !== L.SIDE_SELL)) return [];
    const level = this.sideOf(book, side).find((l) => l.price === price);
    if (!level) return [];
    return level.orders.map((o) => ({
      orderId: o.orderId, account: o.account, remaining: o.rem, clientOrderId: o.clientOrderId,
    }));
  }

  order(orderId: bigint): OrderView | undefined {
    const o = this.orders.get(orderId);
    if (!o) return undefined;
    return {
      orderId: o.orderId, symbol: o.symbol, side: o.side, price: o.price, remaining: o.rem,
      account: o.account, clientOrderId: o.clientOrderId,
    };
  }

  /** The state digest of SEMANTICS.md: FNV-1a over 64-bit words. */
  digest(): bigint {
    const MASK = (1n << 64n) - 1n;
    const PRIME = 0x100000001b3n;
    let h = 0xcbf29ce484222325n;
    const word = (w: bigint | number): void => {
      // Negative i64 words enter as their two's-complement u64 value.
      h = ((h ^ BigInt.asUintN(64, BigInt(w))) * PRIME) & MASK;
    };
    word(this.orders.size);
    word(this.nextTradeId);
    for (const id of this.symbolIds) {
      const book = this.symbols.get(id)!;
      word(book.id);
      word(book.status);
      word(book.tick);
      word(book.lot);
      word(book.bandMin);
      word(book.bandMax);
      for (const levels of [book.bids, book.asks]) {
        word(levels.length);
        for (const level of levels) {
          word(level.price);
          word(level.total);
          word(level.orders.length);
          for (const o of level.orders) {
            word(o.orderId);
            word(o.account);
            word(o.rem);
            word(o.clientOrderId);
            word(o.flags);
            word(o.stp);
          }
        }
      }
    }
    return h;
  }

  // ---- Events --------------------------------------------------------------------------------

  /** A fresh event carrying the causing command's type and seq. */
  private event(type: number): RawEvent {
    const e = emptyEvent();
    e.type = type;
    e.cmdType = this.cmd.type;
    e.seq = this.cmd.seq;
    this.out.push(e);
    return e;
  }

  /** REJECTED: reason, symbol, account; for NEW/CANCEL/MODIFY also the order id and client id. */
  private reject(reason: number, withOrder: boolean): void {
    const e = this.event(L.EV_REJECTED);
    e.reason = reason;
    e.symbol = this.cmd.symbol;
    e.account = this.cmd.account;
    if (withOrder) {
      e.orderId = this.cmd.orderId;
      e.aux64b = this.cmd.clientOrderId;
    }
  }

  /** ACCEPTED / CANCELLED / MODIFIED: the order's own fields plus a quantity and the leaves. */
  private orderEvent(type: number, reason: number, o: Order, quantity: bigint, leaves: bigint): void {
    const e = this.event(type);
    e.reason = reason;
    e.side = o.side;
    e.symbol = o.symbol;
    e.account = o.account;
    e.orderId = o.orderId;
    e.price = o.price;
    e.quantity = quantity;
    e.aux64 = leaves;
    e.aux64b = o.clientOrderId;
  }

  private cancelled(o: Order, reason: number, quantity: bigint, leaves: bigint): void {
    this.orderEvent(L.EV_CANCELLED, reason, o, quantity, leaves);
  }

  /** LEVEL: the level's state after the change (total 0 and count 0 once it is empty). */
  private levelEvent(book: SymbolBook, level: Level): void {
    const e = this.event(L.EV_LEVEL);
    e.side = level.side;
    e.symbol = book.id;
    e.price = level.price;
    e.quantity = level.total;
    e.aux32 = level.orders.length;
  }

  private trade(maker: Order, taker: Order, quantity: bigint): void {
    const e = this.event(L.EV_TRADE);
    e.side = taker.side;
    e.symbol = maker.symbol;
    e.account = maker.account;
    e.aux32 = taker.account;
    e.orderId = maker.orderId;
    e.price = maker.price;
    e.quantity = quantity;
    e.aux64 = taker.orderId;
    e.aux64b = this.nextTradeId;
    this.nextTradeId += 1n;
  }

  private symbolStatus(book: SymbolBook): void {
    const e = this.event(L.EV_SYMBOL_STATUS);
    e.reason = book.status;
    e.symbol = book.id;
  }

  // ---- Book structure ------------------------------------------------------------------------

  private sideOf(book: SymbolBook, side: number): Level[] {
    return side === L.SIDE_BUY ? book.bids : book.asks;
  }

  private oppositeOf(book: SymbolBook, side: number): Level[] {
    return side === L.SIDE_BUY ? book.asks : book.bids;
  }

  /** Index of the first level of `levels` (best first) that is not better than `price`. */
  private levelIndex(levels: Level[], side: number, price: bigint): number {
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (better(side, levels[mid].price, price)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Appends o at the tail of its price level (creating the level) and records it as resting. */
  private rest(book: SymbolBook, o: Order): Level {
    const levels = this.sideOf(book, o.side);
    const i = this.levelIndex(levels, o.side, o.price);
    let level = levels[i];
    if (!level || level.price !== o.price) {
      level = { side: o.side, price: o.price, total: 0n, orders: [] };
      levels.splice(i, 0, level);
    }
    level.orders.push(o);
    level.total += o.rem;
    this.orders.set(o.orderId, o);
    return level;
  }

  /**
   * Takes o out of its level (dropping the level once empty) and returns the level, whose total
   * and count are then the "after" values. The order stays in the id map: callers decide.
   */
  private detach(book: SymbolBook, o: Order): Level {
    const levels = this.sideOf(book, o.side);
    const i = this.levelIndex(levels, o.side, o.price);
    const level = levels[i];
    level.orders.splice(level.orders.indexOf(o), 1);
    level.total -= o.rem;
    if (level.orders.length === 0) levels.splice(i, 1);
    return level;
  }

  /** Does the opposite best level cross `price` for an order on `side`? (post-only checks) */
  private bestCrosses(book: SymbolBook, side: number, price: bigint): boolean {
    const best = this.oppositeOf(book, side)[0];
    return best !== undefined && crosses(side, price, best.price);
  }

  // ---- NEW -----------------------------------------------------------------------------------

  /** NEW validation, steps 1..10 of SEMANTICS.md in order; 0 when the order is accepted. */
  private newReject(c: RawCommand): number {
    const isLimit = c.orderType === L.ORDER_LIMIT;
    const isMarket = c.orderType === L.ORDER_MARKET;
    const postOnly = (c.flags & L.FLAG_POST_ONLY) !== 0;
    const isProtected = (c.flags & L.FLAG_PROTECTED) !== 0;
    // 1
    if (
      (c.side !== L.SIDE_BUY && c.side !== L.SIDE_SELL) ||
      (!isLimit && !isMarket) ||
      (c.tif !== L.TIF_GTC && c.tif !== L.TIF_IOC && c.tif !== L.TIF_FOK) ||
      c.stp > L.STP_MAX ||
      (c.flags & ~L.FLAGS_KNOWN) !== 0 ||
      (isLimit && isProtected)
    ) return L.REJ_MALFORMED;
    // 2
    if (c.orderId <= 0n) return L.REJ_INVALID_ORDER_ID;
    // 3, 4
    const book = this.symbols.get(c.symbol);
    if (!book) return L.REJ_UNKNOWN_SYMBOL;
    if (book.status === L.STATUS_HALTED) return L.REJ_SYMBOL_HALTED;
    // 5
    if ((isMarket && c.tif === L.TIF_GTC) || (postOnly && !(isLimit && c.tif === L.TIF_GTC))) {
      return L.REJ_INVALID_TIF;
    }
    // 6
    const q = quantityReject(book, c.quantity);
    if (q !== 0) return q;
    // 7: an unprotected market order's price field is ignored altogether.
    if (isLimit || isProtected) {
      const p = priceReject(book, c.price);
      if (p !== 0) return p;
    }
    // 8
    if (this.orders.has(c.orderId)) return L.REJ_DUPLICATE_ORDER_ID;
    // 9: a GTC limit order could rest, so it needs a free slot even if it would fill at once.
    if (isLimit && c.tif === L.TIF_GTC && this.orders.size >= this.limits.maxOrders) {
      return L.REJ_ORDER_CAPACITY;
    }
    // 10
    if (postOnly && this.bestCrosses(book, c.side, c.price)) return L.REJ_POST_ONLY_WOULD_CROSS;
    return 0;
  }

  private newOrder(c: RawCommand): void {
    const reason = this.newReject(c);
    if (reason !== 0) return this.reject(reason, true);

    const book = this.symbols.get(c.symbol)!;
    const isMarket = c.orderType === L.ORDER_MARKET;
    const isProtected = (c.flags & L.FLAG_PROTECTED) !== 0;
    // The price the events report: the limit, the protection price, or 0 for a bare market order.
    const price = isMarket && !isProtected ? 0n : c.price;
    // The matching limit: null = crosses every level.
    const limit = isMarket && !isProtected ? null : c.price;
    const taker: Order = {
      orderId: c.orderId, symbol: c.symbol, side: c.side, price, rem: c.quantity,
      account: c.account, clientOrderId: c.clientOrderId, flags: c.flags, stp: c.stp,
    };
    this.orderEvent(L.EV_ACCEPTED, 0, taker, taker.rem, taker.rem);

    if (c.tif === L.TIF_FOK && !this.fokCanFill(book, taker, limit)) {
      this.cancelled(taker, L.CXL_FOK, taker.rem, 0n);
      return;
    }
    const selfTrade = this.match(book, taker, limit);
    this.close(book, taker, selfTrade, c.tif === L.TIF_GTC && !isMarket);
  }

  /**
   * The FOK walk: best level first, FIFO within a level, while the level crosses. Own-account
   * orders are skipped under CANCEL_OLDEST (matching will cancel them) and fail the walk under any
   * other mode but NONE (matching would stop or shrink the taker). Succeeds as soon as the other
   * orders add up to the quantity, so own orders further down do not matter.
   */
  private fokCanFill(book: SymbolBook, taker: Order, limit: bigint | null): boolean {
    let sum = 0n;
    for (const level of this.oppositeOf(book, taker.side)) {
      if (!crosses(taker.side, limit, level.price)) return false;
      for (const m of level.orders) {
        if (taker.stp !== L.STP_NONE && m.account === taker.account) {
          if (taker.stp === L.STP_CANCEL_OLDEST) continue;
          return false;
        }
        sum += m.rem;
        if (sum >= taker.rem) return true;
      }
    }
    return false;
  }

  /**
   * **match** of SEMANTICS.md, line by line. Returns true when it stopped with a self-trade.
   * `touched` remembers whether an order of the current level was traded, cancelled or decremented,
   * which decides the final LEVEL event; a CANCEL_NEWEST stop at a level's head touches nothing.
   */
  private match(book: SymbolBook, taker: Order, limit: bigint | null): boolean {
    const opposite = this.oppositeOf(book, taker.side);
    let current: Level | undefined;
    let touched = false;
    let selfTrade = false;
    while (taker.rem > 0n) {
      const level = opposite[0];
      if (level === undefined || !crosses(taker.side, limit, level.price)) break;
      if (level !== current) {
        current = level;
        touched = false;
      }
      const m = level.orders[0];
      if (taker.stp !== L.STP_NONE && m.account === taker.account) {
        if (taker.stp === L.STP_CANCEL_NEWEST) {
          selfTrade = true;
          break;
        }
        if (taker.stp === L.STP_DECREMENT) {
          const d = m.rem < taker.rem ? m.rem : taker.rem;
          m.rem -= d;
          level.total -= d;
          this.cancelled(m, L.CXL_SELF_TRADE, d, m.rem);
          if (m.rem === 0n) this.removeResting(book, m);
          taker.rem -= d;
          this.cancelled(taker, L.CXL_SELF_TRADE, d, taker.rem);
        } else {
          // CANCEL_OLDEST, CANCEL_BOTH: the resting order goes.
          this.cancelled(m, L.CXL_SELF_TRADE, m.rem, 0n);
          this.removeResting(book, m);
          if (taker.stp === L.STP_CANCEL_BOTH) selfTrade = true;
        }
      } else {
        const q = m.rem < taker.rem ? m.rem : taker.rem;
        this.trade(m, taker, q);
        m.rem -= q;
        level.total -= q;
        taker.rem -= q;
        if (m.rem === 0n) this.removeResting(book, m);
      }
      touched = true;
      // removeResting dropped the level from the side once empty; report it as gone.
      if (level.orders.length === 0) {
        this.levelEvent(book, level);
        current = undefined;
      }
      if (selfTrade) break;
    }
    if (current !== undefined && touched) this.levelEvent(book, current);
    return selfTrade;
  }

  /** Removes a resting order from its level and from the engine. */
  private removeResting(book: SymbolBook, o: Order): Level {
    const level = this.detach(book, o);
    this.orders.delete(o.orderId);
    return level;
  }

  /**
   * **close**: a self-trade stop cancels the rest; otherwise a remainder is cancelled (market,
   * IOC; FOK never has one after its walk passed) or rests at the tail of its level (GTC).
   */
  private close(book: SymbolBook, taker: Order, selfTrade: boolean, gtc: boolean): void {
    if (selfTrade) {
      this.cancelled(taker, L.CXL_SELF_TRADE, taker.rem, 0n);
      taker.rem = 0n;
    } else if (taker.rem > 0n) {
      if (gtc) {
        this.levelEvent(book, this.rest(book, taker));
        return;
      }
      this.cancelled(taker, L.CXL_IOC, taker.rem, 0n);
      taker.rem = 0n;
    }
    // Not resting: a repriced order (MODIFY) that was still in the id map leaves the engine.
    this.orders.delete(taker.orderId);
  }

  // ---- CANCEL / MODIFY -----------------------------------------------------------------------

  /** The checks CANCEL and MODIFY share, in the documented order; returns the order or rejects. */
  private ownedOrder(c: RawCommand, checkHalted: boolean): [SymbolBook, Order] | undefined {
    if (c.orderId <= 0n) return void this.reject(L.REJ_INVALID_ORDER_ID, true);
    const book = this.symbols.get(c.symbol);
    if (!book) return void this.reject(L.REJ_UNKNOWN_SYMBOL, true);
    if (checkHalted && book.status === L.STATUS_HALTED) {
      return void this.reject(L.REJ_SYMBOL_HALTED, true);
    }
    const o = this.orders.get(c.orderId);
    if (!o || o.symbol !== c.symbol) return void this.reject(L.REJ_UNKNOWN_ORDER, true);
    if (o.account !== c.account) return void this.reject(L.REJ_NOT_OWNER, true);
    return [book, o];
  }

  private cancel(c: RawCommand): void {
    const found = this.ownedOrder(c, false); // allowed while halted
    if (!found) return;
    const [book, o] = found;
    this.cancelled(o, L.CXL_REQUEST, o.rem, 0n);
    this.levelEvent(book, this.removeResting(book, o));
  }

  private modify(c: RawCommand): void {
    const found = this.ownedOrder(c, true);
    if (!found) return;
    const [book, o] = found;
    const q = quantityReject(book, c.quantity);
    if (q !== 0) return this.reject(q, true);
    const p = priceReject(book, c.price);
    if (p !== 0) return this.reject(p, true);

    // Same price, not growing: it keeps its place in the queue.
    if (c.price === o.price && c.quantity <= o.rem) {
      const levels = this.sideOf(book, o.side);
      const level = levels[this.levelIndex(levels, o.side, o.price)];
      level.total += c.quantity - o.rem;
      o.rem = c.quantity;
      o.clientOrderId = c.clientOrderId;
      this.orderEvent(L.EV_MODIFIED, 0, o, o.rem, o.rem);
      this.levelEvent(book, level);
      return;
    }

    // It loses priority: re-enter as a GTC taker at the new price.
    if ((o.flags & L.FLAG_POST_ONLY) !== 0 && this.bestCrosses(book, o.side, c.price)) {
      return this.reject(L.REJ_POST_ONLY_WOULD_CROSS, true);
    }
    const old = this.detach(book, o); // stays in the id map: it keeps its id while it matches
    o.price = c.price;
    o.rem = c.quantity;
    o.clientOrderId = c.clientOrderId;
    this.orderEvent(L.EV_MODIFIED, 0, o, o.rem, o.rem);
    this.levelEvent(book, old);
    const selfTrade = this.match(book, o, o.price);
    this.close(book, o, selfTrade, true);
  }

  // ---- MASS_CANCEL / HALT ----------------------------------------------------------------------

  private massCancel(c: RawCommand): void {
    if (c.symbol === 0 && c.account === 0) return this.reject(L.REJ_MALFORMED, false);
    if (c.symbol !== 0 && !this.symbols.has(c.symbol)) {
      return this.reject(L.REJ_UNKNOWN_SYMBOL, false);
    }
    const ids = c.symbol === 0 ? this.symbolIds : [c.symbol];
    for (const id of ids) this.cancelWhere(this.symbols.get(id)!, c.account, L.CXL_MASS_CANCEL);
  }

  /**
   * Cancels every order of `account` (any account if 0) on a symbol: bids then asks, best level
   * first, FIFO within a level; a LEVEL after each level that lost an order.
   */
  private cancelWhere(book: SymbolBook, account: number, reason: number): void {
    for (const levels of [book.bids, book.asks]) {
      for (const level of [...levels]) {
        let removed = false;
        for (const o of [...level.orders]) {
          if (account !== 0 && o.account !== account) continue;
          this.cancelled(o, reason, o.rem, 0n);
          this.removeResting(book, o);
          removed = true;
        }
        if (removed) this.levelEvent(book, level);
      }
    }
  }

  private halt(c: RawCommand): void {
    const book = this.symbols.get(c.symbol);
    if (!book) return this.reject(L.REJ_UNKNOWN_SYMBOL, false);
    if ((c.flags & ~L.HALT_CANCEL_ORDERS) !== 0) return this.reject(L.REJ_MALFORMED, false);
    book.status = L.STATUS_HALTED;
    this.symbolStatus(book);
    if ((c.flags & L.HALT_CANCEL_ORDERS) !== 0) this.cancelWhere(book, 0, L.CXL_HALT);
  }

  private resume(c: RawCommand): void {
    const book = this.symbols.get(c.symbol);
    if (!book) return this.reject(L.REJ_UNKNOWN_SYMBOL, false);
    book.status = L.STATUS_ACTIVE;
    this.symbolStatus(book);
  }

  // ---- ADD_SYMBOL ----------------------------------------------------------------------------

  private addSymbol(c: RawCommand): void {
    const tick = c.orderId;
    const lot = c.price;
    const bandMin = c.quantity;
    const bandMax = c.clientOrderId;
    if (c.symbol === 0) return this.reject(L.REJ_INVALID_SYMBOL_CONFIG, false);
    if (c.symbol > this.limits.maxSymbols) return this.reject(L.REJ_SYMBOL_CAPACITY, false);
    if (this.symbols.has(c.symbol)) return this.reject(L.REJ_DUPLICATE_SYMBOL, false);
    if (
      tick <= 0n || lot <= 0n || bandMin > bandMax ||
      bandMin % tick !== 0n || bandMax % tick !== 0n
    ) return this.reject(L.REJ_INVALID_SYMBOL_CONFIG, false);
    // Exact in bigint; the core must compute this width without wrapping (it can reach 2^64).
    const width = (bandMax - bandMin) / tick + 1n;
    if (width > BigInt(this.limits.ladderTicks) - this.ladderTicksUsed) {
      return this.reject(L.REJ_SYMBOL_CAPACITY, false);
    }
    this.ladderTicksUsed += width;
    const book: SymbolBook = {
      id: c.symbol, status: L.STATUS_ACTIVE, tick, lot, bandMin, bandMax, bids: [], asks: [],
    };
    this.symbols.set(c.symbol, book);
    this.symbolIds = [...this.symbolIds, c.symbol].sort((a, b) => a - b);
    this.symbolStatus(book);
  }
}

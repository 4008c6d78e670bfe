// The "straightforward TypeScript book written for the comparison": what a competent engineer
// writes in an afternoon. Per symbol and side, a sorted array of price levels (best level at the
// END of the array, so the touch is an O(1) push/pop and inserts near it move few elements), a FIFO
// array per level (a head index instead of shift(), compacted now and then), and a Map from order
// id to order. JS numbers inside (every value the workloads produce fits in 2^53; ADD_SYMBOL
// refuses bands that do not), bigint only at the edge (RawCommand in, summary/depth out).
//
// Semantics: those of docs/SEMANTICS.md for every command type (NEW limit GTC/IOC/FOK, post-only,
// market with or without protection, CANCEL, MODIFY, MASS_CANCEL, ADD_SYMBOL, HALT, RESUME),
// validation order and reject reasons included, with ONE exception: self-trade prevention. Only
// STP_NONE is implemented (self-trades print as ordinary trades); a NEW with any other stp mode
// throws. The workloads never set stp. No events are emitted: the book counts rejects by reason,
// trades and traded volume, and exposes queries the workload generators use to track live orders.
import * as L from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';
import type { BookSummary, Depth, DepthLevel, Peer } from './types.js';

interface Order {
  id: number;
  account: number;
  side: number;
  symbol: number;
  price: number;
  rem: number;
  flags: number;
  clientOrderId: bigint;
}

interface Level {
  price: number;
  orders: Order[];
  head: number; //    orders[head] is the FIFO head; orders[0..head) are gone
  total: number;
  count: number;
}

interface SymbolBook {
  id: number;
  tick: number;
  lot: number;
  bandMin: number;
  bandMax: number;
  halted: boolean;
  bids: Level[]; //   ascending price: best (highest) bid last
  asks: Level[]; //   descending price: best (lowest) ask last
  restingOrders: number;
  restingQty: number;
  trades: number;
  tradedQty: number;
  lastTradePrice: number; // 0 before the first trade
}

export interface SimpleBookOptions {
  maxOrders?: number;
  maxSymbols?: number;
  ladderTicks?: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class SimpleBook implements Peer {
  readonly name = 'simple-book';
  private readonly maxOrders: number;
  private readonly maxSymbols: number;
  private ladderLeft: number;
  private readonly symbols: (SymbolBook | undefined)[] = [];
  private readonly orders = new Map<number, Order>();
  /** Rejects by reason code (index = REJ_*). */
  readonly rejects = new Uint32Array(L.REJ_MAX + 1);
  /** Commands applied, by command type code (index = CMD_*; 0 = unknown types). */
  readonly applied = new Uint32Array(8);
  /** Orders removed by a CANCEL command (not rejected). */
  cancelsDone = 0;

  constructor(opts: SimpleBookOptions = {}) {
    this.maxOrders = Math.min(opts.maxOrders ?? L.MAX_ORDERS, L.MAX_ORDERS);
    this.maxSymbols = opts.maxSymbols ?? 1 << 20;
    this.ladderLeft = opts.ladderTicks ?? Infinity;
  }

  // ---- queries (used by the workload generators) -------------------------------------------

  /** Number of resting orders, engine-wide. */
  get restingOrders(): number {
    return this.orders.size;
  }
  isLive(orderId: number): boolean {
    return this.orders.has(orderId);
  }
  /** The live order's side, price and remaining quantity, or undefined. */
  order(orderId: number): { side: number; symbol: number; account: number; price: number; rem: number } | undefined {
    return this.orders.get(orderId);
  }
  restingOrdersOf(symbol: number): number {
    return this.symbols[symbol]?.restingOrders ?? 0;
  }
  bestBidNum(symbol: number): number | undefined {
    const s = this.symbols[symbol];
    return s && s.bids.length ? s.bids[s.bids.length - 1].price : undefined;
  }
  bestAskNum(symbol: number): number | undefined {
    const s = this.symbols[symbol];
    return s && s.asks.length ? s.asks[s.asks.length - 1].price : undefined;
  }
  bestBid(symbol: number): bigint | undefined {
    const p = this.bestBidNum(symbol);
    return p === undefined ? undefined : BigInt(p);
  }
  bestAsk(symbol: number): bigint | undefined {
    const p = this.bestAskNum(symbol);
    return p === undefined ? undefined : BigInt(p);
  }
  /** Price of the symbol's last trade, 0 before its first. */
  lastTradePrice(symbol: number): number {
    return this.symbols[symbol]?.lastTradePrice ?? 0;
  }
  totalRejects(): number {
    let n = 0;
    for (const r of this.rejects) n += r;
    return n;
  }

  summary(symbol: number): BookSummary {
    const s = this.symbols[symbol];
    if (!s) return { bestBid: undefined, bestAsk: undefined, restingQty: 0n, restingOrders: 0, trades: 0, tradedQty: 0n };
    return {
      bestBid: this.bestBid(symbol),
      bestAsk: this.bestAsk(symbol),
      restingQty: BigInt(s.restingQty),
      restingOrders: s.restingOrders,
      trades: s.trades,
      tradedQty: BigInt(s.tradedQty),
    };
  }

  depth(symbol: number): Depth {
    const s = this.symbols[symbol];
    const side = (levels: Level[]): DepthLevel[] => {
      const out: DepthLevel[] = [];
      for (let i = levels.length - 1; i >= 0; i--) {
        const l = levels[i];
        out.push([BigInt(l.price), BigInt(l.total), l.count]);
      }
      return out;
    };
    return s ? { bids: side(s.bids), asks: side(s.asks) } : { bids: [], asks: [] };
  }

  // ---- commands ------------------------------------------------------------------------------

  applyAll(cmds: readonly RawCommand[]): void {
    for (let i = 0; i < cmds.length; i++) this.apply(cmds[i]);
  }

  apply(c: RawCommand): void {
    const t = c.type;
    this.applied[t >= 1 && t <= 7 ? t : 0]++;
    switch (t) {
      case L.CMD_NEW: return this.newOrder(c);
      case L.CMD_CANCEL: return this.cancel(c);
      case L.CMD_MODIFY: return this.modify(c);
      case L.CMD_MASS_CANCEL: return this.massCancel(c);
      case L.CMD_ADD_SYMBOL: return this.addSymbol(c);
      case L.CMD_HALT: return this.halt(c);
      case L.CMD_RESUME: return this.resume(c);
      default: this.rejects[L.REJ_MALFORMED]++;
    }
  }

  private reject(reason: number): void {
    this.rejects[reason]++;
  }

  private newOrder(c: RawCommand): void {
    const side = c.side, type = c.orderType, tif = c.tif, flags = c.flags;
    if ((side !== L.SIDE_BUY && side !== L.SIDE_SELL) || (type !== L.ORDER_LIMIT && type !== L.ORDER_MARKET) ||
        tif < L.TIF_GTC || tif > L.TIF_FOK || c.stp > L.STP_MAX || (flags & ~L.FLAGS_KNOWN) !== 0 ||
        ((flags & L.FLAG_PROTECTED) !== 0 && type === L.ORDER_LIMIT)) return this.reject(L.REJ_MALFORMED);
    if (c.stp !== L.STP_NONE) throw new Error('SimpleBook implements STP_NONE only');
    if (c.orderId <= 0n) return this.reject(L.REJ_INVALID_ORDER_ID);
    const s = this.symbols[c.symbol];
    if (!s) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    if (s.halted) return this.reject(L.REJ_SYMBOL_HALTED);
    const postOnly = (flags & L.FLAG_POST_ONLY) !== 0;
    if ((type === L.ORDER_MARKET && tif === L.TIF_GTC) || (postOnly && (type !== L.ORDER_LIMIT || tif !== L.TIF_GTC))) {
      return this.reject(L.REJ_INVALID_TIF);
    }
    const reason = this.checkQuantity(s, c.quantity);
    if (reason) return this.reject(reason);
    const priced = type === L.ORDER_LIMIT || (flags & L.FLAG_PROTECTED) !== 0;
    if (priced) {
      const r = this.checkPrice(s, c.price);
      if (r) return this.reject(r);
    }
    const id = Number(c.orderId);
    if (this.orders.has(id)) return this.reject(L.REJ_DUPLICATE_ORDER_ID);
    if (type === L.ORDER_LIMIT && tif === L.TIF_GTC && this.orders.size >= this.maxOrders) {
      return this.reject(L.REJ_ORDER_CAPACITY);
    }
    const qty = Number(c.quantity);
    const buy = side === L.SIDE_BUY;
    // limit: the price; market: the protection price, or +/-Infinity (crosses every level)
    const limit = priced ? Number(c.price) : buy ? Infinity : -Infinity;
    if (postOnly && this.crosses(s, buy, limit)) return this.reject(L.REJ_POST_ONLY_WOULD_CROSS);
    // ACCEPTED
    if (tif === L.TIF_FOK && !this.canFill(s, buy, limit, qty)) return; // CANCELLED(FOK)
    const rem = this.match(s, buy, limit, qty);
    if (rem > 0 && tif === L.TIF_GTC) {
      this.rest(s, { id, account: c.account, side, symbol: s.id, price: limit, rem, flags, clientOrderId: c.clientOrderId });
    } // else CANCELLED(IOC) for a remainder
  }

  private checkQuantity(s: SymbolBook, q: bigint): number {
    if (q <= 0n) return L.REJ_INVALID_QUANTITY;
    if (q > BigInt(L.MAX_ORDER_QUANTITY)) return L.REJ_QUANTITY_TOO_LARGE;
    if (Number(q) % s.lot !== 0) return L.REJ_INVALID_QUANTITY;
    return 0;
  }

  private checkPrice(s: SymbolBook, p: bigint): number {
    // Bands lie within +/-2^53, where rounding a bigint to a number keeps it on the same side of
    // either bound: comparing numbers is exact here.
    const n = Number(p);
    if (n < s.bandMin || n > s.bandMax) return L.REJ_PRICE_OUT_OF_BAND;
    if (n % s.tick !== 0) return L.REJ_PRICE_OFF_TICK;
    return 0;
  }

  private crosses(s: SymbolBook, buy: boolean, limit: number): boolean {
    const opp = buy ? s.asks : s.bids;
    if (opp.length === 0) return false;
    const q = opp[opp.length - 1].price;
    return buy ? q <= limit : q >= limit;
  }

  private canFill(s: SymbolBook, buy: boolean, limit: number, qty: number): boolean {
    const opp = buy ? s.asks : s.bids;
    let sum = 0;
    for (let i = opp.length - 1; i >= 0; i--) {
      const l = opp[i];
      if (buy ? l.price > limit : l.price < limit) break;
      sum += l.total;
      if (sum >= qty) return true;
    }
    return false;
  }

  /** Trades the taker against the opposite side; returns the remaining quantity. */
  private match(s: SymbolBook, buy: boolean, limit: number, qty: number): number {
    const opp = buy ? s.asks : s.bids;
    let rem = qty;
    while (rem > 0 && opp.length > 0) {
      const lvl = opp[opp.length - 1];
      if (buy ? lvl.price > limit : lvl.price < limit) break;
      const orders = lvl.orders;
      let h = lvl.head;
      while (rem > 0 && h < orders.length) {
        const m = orders[h];
        const q = m.rem < rem ? m.rem : rem;
        m.rem -= q;
        rem -= q;
        lvl.total -= q;
        s.restingQty -= q;
        s.trades++;
        s.tradedQty += q;
        if (m.rem === 0) {
          (orders as (Order | undefined)[])[h] = undefined;
          h++;
          lvl.count--;
          s.restingOrders--;
          this.orders.delete(m.id);
        }
      }
      lvl.head = h;
      s.lastTradePrice = lvl.price;
      if (lvl.count === 0) opp.pop();
      else if (h > 32 && h * 2 > orders.length) {
        orders.splice(0, h);
        lvl.head = 0;
      }
    }
    return rem;
  }

  /** Index of the level with this price in a side array, or -(insertion point) - 1. */
  private static find(levels: Level[], price: number, buy: boolean): number {
    let lo = 0, hi = levels.length - 1;
    // search from the touch end first: most prices are near the best level
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = levels[mid].price;
      if (p === price) return mid;
      // bids ascending, asks descending
      if (buy ? p < price : p > price) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  private rest(s: SymbolBook, o: Order): void {
    const buy = o.side === L.SIDE_BUY;
    const levels = buy ? s.bids : s.asks;
    let lvl: Level;
    const n = levels.length;
    if (n > 0 && levels[n - 1].price === o.price) lvl = levels[n - 1];
    else {
      const i = SimpleBook.find(levels, o.price, buy);
      if (i >= 0) lvl = levels[i];
      else {
        lvl = { price: o.price, orders: [], head: 0, total: 0, count: 0 };
        const at = -i - 1;
        if (at === n) levels.push(lvl);
        else levels.splice(at, 0, lvl);
      }
    }
    lvl.orders.push(o);
    lvl.total += o.rem;
    lvl.count++;
    s.restingOrders++;
    s.restingQty += o.rem;
    this.orders.set(o.id, o);
  }

  /** Removes a resting order from its level (and the level if it empties) and from the id map. */
  private unlink(s: SymbolBook, o: Order): void {
    const buy = o.side === L.SIDE_BUY;
    const levels = buy ? s.bids : s.asks;
    const li = SimpleBook.find(levels, o.price, buy);
    const lvl = levels[li];
    if (lvl.count === 1) {
      levels.splice(li, 1);
    } else {
      const orders = lvl.orders;
      const k = orders.indexOf(o, lvl.head);
      if (k === lvl.head) {
        (orders as (Order | undefined)[])[k] = undefined;
        lvl.head++;
      } else orders.splice(k, 1);
      lvl.total -= o.rem;
      lvl.count--;
    }
    s.restingOrders--;
    s.restingQty -= o.rem;
    this.orders.delete(o.id);
  }

  private cancel(c: RawCommand): void {
    if (c.orderId <= 0n) return this.reject(L.REJ_INVALID_ORDER_ID);
    const s = this.symbols[c.symbol];
    if (!s) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    const o = this.orders.get(Number(c.orderId));
    if (!o || o.symbol !== s.id) return this.reject(L.REJ_UNKNOWN_ORDER);
    if (o.account !== c.account) return this.reject(L.REJ_NOT_OWNER);
    this.unlink(s, o);
    this.cancelsDone++;
  }

  private modify(c: RawCommand): void {
    if (c.orderId <= 0n) return this.reject(L.REJ_INVALID_ORDER_ID);
    const s = this.symbols[c.symbol];
    if (!s) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    if (s.halted) return this.reject(L.REJ_SYMBOL_HALTED);
    const o = this.orders.get(Number(c.orderId));
    if (!o || o.symbol !== s.id) return this.reject(L.REJ_UNKNOWN_ORDER);
    if (o.account !== c.account) return this.reject(L.REJ_NOT_OWNER);
    let r = this.checkQuantity(s, c.quantity);
    if (r) return this.reject(r);
    r = this.checkPrice(s, c.price);
    if (r) return this.reject(r);
    const price = Number(c.price), qty = Number(c.quantity);
    const buy = o.side === L.SIDE_BUY;
    if (price === o.price && qty <= o.rem) {
      // keeps its place: only the level total changes
      const levels = buy ? s.bids : s.asks;
      const lvl = levels[SimpleBook.find(levels, price, buy)];
      lvl.total -= o.rem - qty;
      s.restingQty -= o.rem - qty;
      o.rem = qty;
      o.clientOrderId = c.clientOrderId;
      return;
    }
    if ((o.flags & L.FLAG_POST_ONLY) !== 0 && this.crosses(s, buy, price)) return this.reject(L.REJ_POST_ONLY_WOULD_CROSS);
    this.unlink(s, o);
    o.price = price;
    o.clientOrderId = c.clientOrderId;
    const rem = this.match(s, buy, price, qty);
    if (rem > 0) {
      o.rem = rem;
      this.rest(s, o);
    }
  }

  private massCancel(c: RawCommand): void {
    if (c.symbol === 0 && c.account === 0) return this.reject(L.REJ_MALFORMED);
    if (c.symbol !== 0 && !this.symbols[c.symbol]) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    if (c.symbol !== 0) this.cancelAllOf(this.symbols[c.symbol]!, c.account);
    else for (const s of this.symbols) if (s) this.cancelAllOf(s, c.account);
  }

  private cancelAllOf(s: SymbolBook, account: number): void {
    for (const levels of [s.bids, s.asks]) {
      for (let i = levels.length - 1; i >= 0; i--) {
        const lvl = levels[i];
        const kept: Order[] = [];
        for (let k = lvl.head; k < lvl.orders.length; k++) {
          const o = lvl.orders[k];
          if (account === 0 || o.account === account) {
            lvl.total -= o.rem;
            lvl.count--;
            s.restingOrders--;
            s.restingQty -= o.rem;
            this.orders.delete(o.id);
          } else kept.push(o);
        }
        lvl.orders = kept;
        lvl.head = 0;
        if (lvl.count === 0) levels.splice(i, 1);
      }
    }
  }

  private addSymbol(c: RawCommand): void {
    const id = c.symbol;
    if (id === 0) return this.reject(L.REJ_INVALID_SYMBOL_CONFIG);
    if (id > this.maxSymbols) return this.reject(L.REJ_SYMBOL_CAPACITY);
    if (this.symbols[id]) return this.reject(L.REJ_DUPLICATE_SYMBOL);
    const tick = c.orderId, lot = c.price, bandMin = c.quantity, bandMax = c.clientOrderId;
    if (tick <= 0n || lot <= 0n || bandMin > bandMax || bandMin % tick !== 0n || bandMax % tick !== 0n) {
      return this.reject(L.REJ_INVALID_SYMBOL_CONFIG);
    }
    const width = Number((bandMax - bandMin) / tick + 1n);
    if (width > this.ladderLeft) return this.reject(L.REJ_SYMBOL_CAPACITY);
    for (const v of [tick, lot, bandMin, bandMax]) {
      if (v > BigInt(MAX_SAFE) || v < -BigInt(MAX_SAFE)) throw new Error('SimpleBook: symbol values beyond 2^53 are not supported');
    }
    this.ladderLeft -= width;
    this.symbols[id] = {
      id, tick: Number(tick), lot: Number(lot), bandMin: Number(bandMin), bandMax: Number(bandMax), halted: false,
      bids: [], asks: [], restingOrders: 0, restingQty: 0, trades: 0, tradedQty: 0, lastTradePrice: 0,
    };
  }

  private halt(c: RawCommand): void {
    const s = this.symbols[c.symbol];
    if (!s) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    if ((c.flags & ~L.HALT_CANCEL_ORDERS) !== 0) return this.reject(L.REJ_MALFORMED);
    s.halted = true;
    if (c.flags & L.HALT_CANCEL_ORDERS) this.cancelAllOf(s, 0);
  }

  private resume(c: RawCommand): void {
    const s = this.symbols[c.symbol];
    if (!s) return this.reject(L.REJ_UNKNOWN_SYMBOL);
    s.halted = false;
  }
}

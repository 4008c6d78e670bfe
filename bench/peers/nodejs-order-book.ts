// Adapter: drives the npm package `nodejs-order-book` (written against 10.1.1) with clob's
// RawCommands, one OrderBook instance per symbol, and reports the same summary()/depth() as
// SimpleBook so the bench can check that both end with the same book.
//
// How each command maps, and where the package's semantics differ from docs/SEMANTICS.md:
//
// - ADD_SYMBOL: `new OrderBook()` for the symbol; the adapter keeps tick/lot/band itself, because
//   the package has no symbol configuration. NEW/MODIFY are checked here like clob does (known
//   symbol, quantity > 0 and a lot multiple, price in band and on tick); a failing command is
//   counted as rejected and not sent. Not checked (the workloads never need it): order ids unique
//   engine-wide (the package only refuses an id live in the SAME book), halts, capacity, account
//   ownership on CANCEL/MODIFY (the package has none).
// - NEW limit GTC / IOC / FOK -> `limit({ timeInForce })`; post-only -> `postOnly: true`. Same
//   effect on the book: the package's IOC rests the remainder and cancels it at once; its FOK
//   pre-check sums the crossing levels like clob's (no STP involved).
// - NEW market without protection -> `market()`. Market WITH protection (FLAG_PROTECTED): the
//   package has no protection price, so it is sent as `limit({ timeInForce: 'IOC', price:
//   protection })`, which is the same thing (sweep while the level crosses, cancel the rest).
// - CANCEL -> `cancel(id)` on the symbol's book (unknown ids are a no-op, as clob's reject is).
// - MODIFY: the package's `modify()` always cancels and re-inserts (the order loses time priority
//   even for a pure quantity decrease, and is matched as a GTC taker; it also drops the order's
//   STP mode). clob keeps priority when the price is unchanged and the quantity does not grow.
//   To keep the books identical the adapter sends that case through the package's OWN internal
//   in-place path, `OrderSide.updateOrderSize(order, { size })` (what older releases' modify did;
//   O(1), no re-insert), and every other modify through `modify(id, { price, size })`.
//   Pass { modifyKeepsPriority: false } to use the public `modify()` for everything: then
//   priority-keeping modifies (MODIFY with the same price and a quantity <= the remaining one)
//   make the books diverge and must be excluded from workloads for a fair comparison.
//   Modify of a post-only order that would cross: the package cancels the order and then fails
//   (the order is gone); clob rejects and leaves it. The workloads never send post-only orders.
// - STP: only STP_NONE is mapped (the package's EXPIRE_* modes are not clob's CANCEL_* modes in
//   every detail, e.g. no DECREMENT); a NEW with another stp mode throws. Accounts are not sent.
// - MASS_CANCEL, HALT, RESUME: not supported (throw); the workloads never send them.
// - Trades: the package reports fully filled makers in `done` (plus the taker itself when it
//   filled completely) and the last partially filled maker in `partial`; the adapter counts one
//   trade per maker touched and quantity = size - quantityLeft, i.e. clob's TRADE events.
// - Ids are passed as JS numbers (the package types them as strings but only uses them as object
//   keys and with ===; numbers avoid a string conversion per command).
import * as L from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';
import { OrderBook } from 'nodejs-order-book';
import type { BookSummary, Depth, DepthLevel, Peer } from './types.js';

interface Sym {
  ob: OrderBook;
  /** The package's private fields this adapter reads (typed `private` in its .d.ts). */
  raw: any;
  tick: number;
  lot: number;
  bandMin: number;
  bandMax: number;
  trades: number;
  tradedQty: number;
}

interface Resp {
  done: { id: unknown }[];
  partial: { id: unknown } | null;
  partialQuantityProcessed: number;
  quantityLeft: number;
  err: unknown;
}

export interface NodejsOrderBookPeerOptions {
  /** Keep time priority on same-price quantity decreases, as clob does (default true). */
  modifyKeepsPriority?: boolean;
}

export class NodejsOrderBookPeer implements Peer {
  readonly name = 'nodejs-order-book';
  private readonly symbols: (Sym | undefined)[] = [];
  private readonly keepPriority: boolean;
  /** Commands refused: invalid for clob, unknown ids, and limit orders the package answered with an error (FOK not fillable, post-only crossing). */
  rejected = 0;

  constructor(opts: NodejsOrderBookPeerOptions = {}) {
    this.keepPriority = opts.modifyKeepsPriority ?? true;
  }

  applyAll(cmds: readonly RawCommand[]): void {
    for (let i = 0; i < cmds.length; i++) this.apply(cmds[i]);
  }

  apply(c: RawCommand): void {
    switch (c.type) {
      case L.CMD_NEW: return this.newOrder(c);
      case L.CMD_CANCEL: {
        const s = this.symbols[c.symbol];
        if (!s) { this.rejected++; return; }
        if (s.ob.cancel(Number(c.orderId) as unknown as string) === undefined) this.rejected++;
        return;
      }
      case L.CMD_MODIFY: return this.modify(c);
      case L.CMD_ADD_SYMBOL: return this.addSymbol(c);
      default: throw new Error(`nodejs-order-book adapter: command type ${c.type} not supported`);
    }
  }

  private addSymbol(c: RawCommand): void {
    if (c.symbol === 0 || this.symbols[c.symbol] || c.orderId <= 0n || c.price <= 0n || c.quantity > c.clientOrderId ||
        c.quantity % c.orderId !== 0n || c.clientOrderId % c.orderId !== 0n) {
      this.rejected++;
      return;
    }
    const ob = new OrderBook();
    this.symbols[c.symbol] = {
      ob, raw: ob as any, tick: Number(c.orderId), lot: Number(c.price), bandMin: Number(c.quantity),
      bandMax: Number(c.clientOrderId), trades: 0, tradedQty: 0,
    };
  }

  private validQty(s: Sym, q: number): boolean {
    return q > 0 && q <= L.MAX_ORDER_QUANTITY && q % s.lot === 0;
  }

  private validPrice(s: Sym, p: number): boolean {
    return p >= s.bandMin && p <= s.bandMax && p % s.tick === 0;
  }

  /** Counts the trades of one taker from the package's response. */
  private count(s: Sym, r: Resp, takerId: unknown, size: number): void {
    if (r.err !== null) return;
    const done = r.done;
    let makers = 0;
    for (let i = 0; i < done.length; i++) if (done[i].id !== takerId) makers++;
    if (r.partial !== null && r.partial.id !== takerId && r.partialQuantityProcessed > 0) makers++;
    s.trades += makers;
    s.tradedQty += size - r.quantityLeft;
  }

  private newOrder(c: RawCommand): void {
    const s = this.symbols[c.symbol];
    if (c.stp !== L.STP_NONE) throw new Error('nodejs-order-book adapter maps STP_NONE only');
    const size = Number(c.quantity);
    const price = Number(c.price);
    const market = c.orderType === L.ORDER_MARKET;
    const protectedMkt = market && (c.flags & L.FLAG_PROTECTED) !== 0;
    if (!s || !this.validQty(s, size) || ((!market || protectedMkt) && !this.validPrice(s, price)) ||
        (market && c.tif === L.TIF_GTC)) {
      this.rejected++;
      return;
    }
    const side = (c.side === L.SIDE_BUY ? 'buy' : 'sell') as any;
    const id = Number(c.orderId) as unknown as string;
    if (market && !protectedMkt) {
      const r = s.ob.market({ side, size }) as unknown as Resp;
      this.count(s, r, undefined, size);
      return;
    }
    const timeInForce = (protectedMkt || c.tif === L.TIF_IOC ? 'IOC' : c.tif === L.TIF_FOK ? 'FOK' : 'GTC') as any;
    const postOnly = (c.flags & L.FLAG_POST_ONLY) !== 0;
    const r = s.ob.limit(postOnly ? { side, id, size, price, timeInForce, postOnly } : { side, id, size, price, timeInForce }) as unknown as Resp;
    if (r.err !== null) this.rejected++;
    this.count(s, r, id, size);
  }

  private modify(c: RawCommand): void {
    const s = this.symbols[c.symbol];
    const size = Number(c.quantity);
    const price = Number(c.price);
    if (!s || !this.validQty(s, size) || !this.validPrice(s, price)) {
      this.rejected++;
      return;
    }
    const id = Number(c.orderId) as unknown as string;
    const order = s.raw.orders[id];
    if (order === undefined) {
      this.rejected++;
      return;
    }
    if (this.keepPriority && order.price === price && size <= order.size) {
      (order.side === 'buy' ? s.raw.bids : s.raw.asks).updateOrderSize(order, { size });
      return;
    }
    const r = s.ob.modify(id, { price, size }) as unknown as Resp;
    this.count(s, r, id, size);
  }

  summary(symbol: number): BookSummary {
    const s = this.symbols[symbol];
    if (!s) return { bestBid: undefined, bestAsk: undefined, restingQty: 0n, restingOrders: 0, trades: 0, tradedQty: 0n };
    const d = this.depth(symbol);
    let qty = 0n, orders = 0;
    for (const side of [d.bids, d.asks]) for (const [, total, count] of side) { qty += total; orders += count; }
    return {
      bestBid: d.bids.length ? d.bids[0][0] : undefined,
      bestAsk: d.asks.length ? d.asks[0][0] : undefined,
      restingQty: qty,
      restingOrders: orders,
      trades: s.trades,
      tradedQty: BigInt(s.tradedQty),
    };
  }

  depth(symbol: number): Depth {
    const s = this.symbols[symbol];
    if (!s) return { bids: [], asks: [] };
    const side = (os: any): DepthLevel[] => {
      const out: DepthLevel[] = [];
      // the tree is ordered best first on both sides (bids compare descending)
      os.priceTree().forEach((price: number, q: any) => {
        out.push([BigInt(price), BigInt(q.volume()), q.len()]);
      });
      return out;
    };
    return { bids: side(s.raw.bids), asks: side(s.raw.asks) };
  }
}

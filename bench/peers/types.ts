// What every peer in the comparison exposes, so the bench can check that all engines end with the
// same book after the same workload.
import type { RawCommand } from '../../src/records.js';

/** End-of-run state of one symbol's book. Prices and quantities in the workload's integer units. */
export interface BookSummary {
  bestBid: bigint | undefined;
  bestAsk: bigint | undefined;
  /** Sum of the remaining quantity of every resting order, both sides. */
  restingQty: bigint;
  restingOrders: number;
  /** One per maker fill (a TRADE event in clob's terms). */
  trades: number;
  tradedQty: bigint;
}

/** One price level, best first: price, total remaining quantity, number of orders. */
export type DepthLevel = [price: bigint, total: bigint, count: number];

export interface Depth {
  bids: DepthLevel[];
  asks: DepthLevel[];
}

export interface Peer {
  readonly name: string;
  apply(cmd: RawCommand): void;
  summary(symbol: number): BookSummary;
  depth(symbol: number): Depth;
}

export function sameSummary(a: BookSummary, b: BookSummary): boolean {
  return a.bestBid === b.bestBid && a.bestAsk === b.bestAsk && a.restingQty === b.restingQty &&
    a.restingOrders === b.restingOrders && a.trades === b.trades && a.tradedQty === b.tradedQty;
}

// Shared helpers for the workload generators: command construction with sequence numbers and
// simulated timestamps, and the lazily cleaned list of order ids a generator believes are live.
import * as L from '../../assembly/layout.js';
import type { RawCommand } from '../../src/records.js';
import type { SimpleBook } from '../peers/simple-book.js';

/** Builds commands in order, numbering them (seq = 1, 2, ...) and stamping simulated time. */
export class Emitter {
  readonly out: RawCommand[] = [];
  /** Simulated time in nanoseconds, advanced by the generator. */
  now = 0;
  constructor(readonly book: SimpleBook) {}

  get length(): number {
    return this.out.length;
  }

  private push(c: RawCommand): RawCommand {
    this.out.push(c);
    this.book.apply(c);
    return c;
  }

  addSymbol(symbol: number, tick: number, lot: number, bandMin: number, bandMax: number): RawCommand {
    return this.push({
      type: L.CMD_ADD_SYMBOL, side: 0, orderType: 0, tif: 0, flags: 0, stp: L.STP_NONE, symbol, account: 0,
      orderId: BigInt(tick), price: BigInt(lot), quantity: BigInt(bandMin), clientOrderId: BigInt(bandMax),
      seq: BigInt(this.out.length + 1), timestamp: BigInt(Math.floor(this.now)),
    });
  }

  newOrder(symbol: number, account: number, orderId: number, side: number, orderType: number, tif: number,
           flags: number, price: number, quantity: number): RawCommand {
    return this.push({
      type: L.CMD_NEW, side, orderType, tif, flags, stp: L.STP_NONE, symbol, account,
      orderId: BigInt(orderId), price: BigInt(price), quantity: BigInt(quantity), clientOrderId: BigInt(orderId),
      seq: BigInt(this.out.length + 1), timestamp: BigInt(Math.floor(this.now)),
    });
  }

  cancel(symbol: number, account: number, orderId: number): RawCommand {
    return this.push({
      type: L.CMD_CANCEL, side: 0, orderType: 0, tif: 0, flags: 0, stp: L.STP_NONE, symbol, account,
      orderId: BigInt(orderId), price: 0n, quantity: 0n, clientOrderId: BigInt(orderId),
      seq: BigInt(this.out.length + 1), timestamp: BigInt(Math.floor(this.now)),
    });
  }

  modify(symbol: number, account: number, orderId: number, price: number, quantity: number): RawCommand {
    return this.push({
      type: L.CMD_MODIFY, side: 0, orderType: 0, tif: 0, flags: 0, stp: L.STP_NONE, symbol, account,
      orderId: BigInt(orderId), price: BigInt(price), quantity: BigInt(quantity), clientOrderId: BigInt(orderId),
      seq: BigInt(this.out.length + 1), timestamp: BigInt(Math.floor(this.now)),
    });
  }
}

/**
 * Ids of orders that may be live, with lazy deletion: `pick` draws uniformly among the entries,
 * drops the dead ones it meets (filled or cancelled, as the book says) and returns a live one.
 */
export class LiveIds {
  private ids: number[] = [];
  add(id: number): void {
    this.ids.push(id);
  }
  get size(): number {
    return this.ids.length;
  }
  /** A uniformly drawn live id (removed from the list when `remove` is set), or 0 when none is live. */
  pick(rnd: () => number, book: SimpleBook, remove: boolean): number {
    const ids = this.ids;
    while (ids.length > 0) {
      const i = Math.floor(rnd() * ids.length);
      const id = ids[i];
      const live = book.isLive(id);
      if (!live || remove) {
        ids[i] = ids[ids.length - 1];
        ids.pop();
      }
      if (live) return id;
    }
    return 0;
  }
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

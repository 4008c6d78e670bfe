// One side of one symbol's L2 book, kept from LEVEL events: parallel typed arrays sorted WORST
// first, so the best level is the last entry (O(1) to read) and the levels that change most (near
// the touch) are the cheapest to insert or remove: copyWithin moves only the levels better than the
// one that changes. No allocation except when the side outgrows its arrays (doubling).
import * as L from '../../assembly/layout.js';

export class LevelSide {
  price: Float64Array;
  total: Float64Array;
  orders: Uint32Array;
  /** Levels held. */
  size = 0;
  /** true: bids (best = highest price); false: asks (best = lowest). */
  constructor(readonly bids: boolean, capacity = 16) {
    this.price = new Float64Array(capacity);
    this.total = new Float64Array(capacity);
    this.orders = new Uint32Array(capacity);
  }

  /**
   * Index of `price` in the worst-first order: the level's index if present, else -(insertion point) - 1.
   * Searched from the best end, where nearly all changes happen.
   */
  find(price: number): number {
    const p = this.price;
    // Worst first: bids ascending, asks descending. Normalise so "k < price" means "worse than".
    let lo = 0;
    let hi = this.size;
    if (this.bids) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (p[mid] < price) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (p[mid] > price) lo = mid + 1;
        else hi = mid;
      }
    }
    return lo < this.size && p[lo] === price ? lo : -lo - 1;
  }

  /** The order count at `price` (0 if there is no level). */
  ordersAt(price: number): number {
    const i = this.find(price);
    return i >= 0 ? this.orders[i] : 0;
  }

  /** Applies a LEVEL event: sets the level's total and count; total 0 removes it. */
  set(price: number, total: number, orders: number): void {
    const i = this.find(price);
    if (i >= 0) {
      if (total === 0) {
        const n = this.size;
        this.price.copyWithin(i, i + 1, n);
        this.total.copyWithin(i, i + 1, n);
        this.orders.copyWithin(i, i + 1, n);
        this.size = n - 1;
      } else {
        this.total[i] = total;
        this.orders[i] = orders;
      }
      return;
    }
    if (total === 0) return; // removing a level we do not hold: nothing to do
    const at = -i - 1;
    if (this.size === this.price.length) this.grow();
    const n = this.size;
    this.price.copyWithin(at + 1, at, n);
    this.total.copyWithin(at + 1, at, n);
    this.orders.copyWithin(at + 1, at, n);
    this.price[at] = price;
    this.total[at] = total;
    this.orders[at] = orders;
    this.size = n + 1;
  }

  clear(): void {
    this.size = 0;
  }

  private grow(): void {
    const cap = this.price.length * 2;
    const price = new Float64Array(cap);
    const total = new Float64Array(cap);
    const orders = new Uint32Array(cap);
    price.set(this.price);
    total.set(this.total);
    orders.set(this.orders);
    this.price = price;
    this.total = total;
    this.orders = orders;
  }
}

/** A symbol's L2 book: both sides. */
export class LevelBook {
  readonly bids = new LevelSide(true);
  readonly asks = new LevelSide(false);
  side(side: number): LevelSide {
    return side === L.SIDE_BUY ? this.bids : this.asks;
  }
}

// Reading an engine's books from another thread while its matcher runs (issue 4; docs/CONCURRENCY.md
// "Reading a live book"). The engine gives out a LiveBook (its shared memory and where its arena
// and the readers' scratch are); any thread attaches a LiveBookReader to it, which runs its own
// instance of the core over that memory (instantiation writes nothing into it) and reads through
// the core's reader exports: depth and queues under an epoch guard, single orders under a hazard
// pointer, every row validated and re-read if the matcher changed it meanwhile. The matcher never
// waits for a reader; a reader never sees a freed slot (unless it stalls while the matcher runs
// out of capacity: then its validation sees the reuse and it reads again).
import * as layout from '../assembly/layout.js';
import { instantiateCore, type CoreBuild, type CoreExports } from './core.js';
import { SIDES, codeOf, type Side } from './codes.js';
import { fromI64, toI64, toU32, type Int } from './int.js';
import type { Level } from './engine.js';
import { readOrderRow, readQueueRow, type OrderInfo, type QueuedOrder } from './query-rows.js';

const L = { ...layout }; // plain object: module namespaces are getters under tsx (hot reads)

/** What Engine.liveBook() returns; post it to a worker in workerData (the memory is shared). */
export interface LiveBook {
  memory: WebAssembly.Memory;
  arena: number;
  build: CoreBuild;
  /** The first reader's query scratch; reader p's is at scratch + p * scratchBytes. */
  scratch: number;
  scratchBytes: number;
}

export interface ReaderStats { reads: number; retries: number }

const MAX_ROWS_OF = (bytes: number, row: number) => Math.floor(bytes / row);
/**
 * Calls of a read that comes back READ_BUSY (the matcher changed what it read READ_MAX_RETRIES
 * times in a row: preempted inside a write section, on a loaded machine) before giving up.
 */
const BUSY_CALLS = 64;
/** How long a new reader waits, by default, for a batch that was running when it registered. */
const REGISTER_TIMEOUT_MS = 5000;
/** Spins on the batch state before the wait starts sleeping between looks (a batch usually ends within them). */
const REGISTER_SPINS = 1 << 16;
const REGISTER_SLEEP_MS = 0.2;

export class LiveBookReader {
  /** The reader record this thread holds (0..LIVE_READERS-1). */
  readonly index: number;
  /** Where the raw read methods leave their rows (layout.ts DEPTH_/QUEUE_/ORDER_ rows). */
  readonly rows: number;
  readonly view: DataView;
  private readonly core: CoreExports;
  private readonly arena: number;
  private readonly maxDepthRows: number;
  private readonly maxQueueRows: number;
  private readonly bigint: boolean;
  private closed = false;

  /**
   * Attaches to an engine's books from the calling thread; throws if every reader record is taken,
   * or if a batch that was running when it registered has not ended after `registerTimeoutMs`
   * (5,000; the matcher stopped or died inside it: the record is given back).
   */
  constructor(book: LiveBook, options: { bigint?: boolean; registerTimeoutMs?: number } = {}) {
    if (!book || !(book.memory instanceof WebAssembly.Memory) || !Number.isInteger(book.arena)) throw new TypeError('a LiveBook from Engine.liveBook() is required');
    this.core = instantiateCore(book.build, book.memory);
    this.arena = book.arena;
    const p = this.core.readerRegister(this.arena);
    if (p === L.READ_NO_SLOT) throw new Error(`all ${L.LIVE_READERS} live-book reader records of this engine are taken`);
    if (p < 0) throw new Error(`the ${book.build} build cannot read a live book (no threads)`);
    this.awaitBatchEnd(p, options.registerTimeoutMs ?? REGISTER_TIMEOUT_MS);
    this.index = p;
    this.rows = book.scratch + p * book.scratchBytes;
    this.view = new DataView(book.memory.buffer);
    this.maxDepthRows = MAX_ROWS_OF(book.scratchBytes, L.DEPTH_ROW_SIZE);
    this.maxQueueRows = MAX_ROWS_OF(book.scratchBytes - L.DEPTH_ROW_SIZE, L.QUEUE_ROW_SIZE); // room for the level's row after them
    this.bigint = options.bigint ?? false;
  }

  /**
   * The second half of the registration handshake (assembly/batch-gate.ts): a batch that was
   * running when this reader claimed its record may not have seen the claim (unguarded: slots
   * reused at once, no write sections), so reading starts only after it ends. On the reader's
   * thread; the matcher never waits.
   */
  private awaitBatchEnd(p: number, timeoutMs: number): void {
    const running = this.core.readerBatchState(this.arena) >>> 0;
    if ((running & L.BATCH_RUNNING) === 0) return;
    for (let k = 0; k < REGISTER_SPINS; k++) if (this.core.readerBatchState(this.arena) >>> 0 !== running) return;
    const deadline = performance.now() + timeoutMs;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    while (this.core.readerBatchState(this.arena) >>> 0 === running) {
      if (performance.now() > deadline) {
        this.core.readerUnregister(this.arena, p);
        throw new Error(`the matcher has been inside batch ${Math.floor(running / L.BATCH_COUNT_UNIT)} for over ${timeoutMs} ms since this reader registered: stopped or dead mid-batch? (the reader record is given back; try again once it runs)`);
      }
      Atomics.wait(sleeper, 0, 0, REGISTER_SLEEP_MS);
    }
  }

  private check(code: number, what: string, symbol?: number): number {
    if (code >= 0) return code;
    if (this.closed) throw new Error('this LiveBookReader is closed');
    if (code === L.READ_UNKNOWN_SYMBOL) throw new RangeError(`unknown symbol ${symbol}`);
    if (code === L.READ_BUSY) throw new Error(`${what}: the matcher changed what was being read ${BUSY_CALLS * L.READ_MAX_RETRIES} times in a row (is it stuck inside a write?)`);
    throw new Error(`${what}: not a registered reader (code ${code})`);
  }

  // ---- raw reads: rows at this.rows, no allocation --------------------------------------------

  /** Up to `levels` depth rows of a side (layout.ts SIDE_ code), best first. Returns the row count. */
  depthRows(symbol: number, side: number, levels: number): number {
    let code = L.READ_BUSY;
    for (let k = 0; k < BUSY_CALLS && code === L.READ_BUSY; k++) code = this.core.readDepth(this.arena, this.index, symbol, side, Math.min(levels, this.maxDepthRows), this.rows);
    return this.check(code, 'depth', symbol);
  }

  /**
   * The queue rows at a price (bigint) on a side, up to max. Returns the row count n; when n > 0,
   * the level's depth row as read in the same walk follows at rows + n * QUEUE_ROW_SIZE.
   */
  queueRows(symbol: number, side: number, price: bigint, max: number): number {
    let code = L.READ_BUSY;
    for (let k = 0; k < BUSY_CALLS && code === L.READ_BUSY; k++) {
      this.view.setBigInt64(this.rows, price, true);
      code = this.core.readQueue(this.arena, this.index, symbol, side, Math.min(max, this.maxQueueRows), this.rows);
    }
    return this.check(code, 'queue', symbol);
  }

  /** Looks an order up by id (bigint); true and an order row at this.rows if it is resting. */
  orderRow(orderId: bigint): boolean {
    let code = L.READ_BUSY;
    for (let k = 0; k < BUSY_CALLS && code === L.READ_BUSY; k++) {
      this.view.setBigInt64(this.rows + L.ORDER_ID, orderId, true);
      code = this.core.readOrder(this.arena, this.index, this.rows);
    }
    return this.check(code, 'order') === L.READ_FOUND;
  }

  // ---- object reads (the Engine's query shapes) -------------------------------------------------

  private int(at: number): Int {
    return fromI64(this.view.getBigInt64(at, true), this.bigint);
  }

  depth(symbol: number, levels = 10): { bids: Level[]; asks: Level[] } {
    const side = (code: number) => {
      const n = this.depthRows(toU32(symbol, 'symbol'), code, levels);
      const out: Level[] = [];
      for (let k = 0; k < n; k++) {
        const row = this.rows + k * L.DEPTH_ROW_SIZE;
        out.push({ price: this.int(row + L.DEPTH_PRICE), quantity: this.int(row + L.DEPTH_TOTAL), orders: this.view.getUint32(row + L.DEPTH_COUNT, true) });
      }
      return out;
    };
    return { bids: side(L.SIDE_BUY), asks: side(L.SIDE_SELL) };
  }

  queue(symbol: number, side: Side, price: Int, limit = 1000): QueuedOrder[] {
    const n = this.queueRows(toU32(symbol, 'symbol'), codeOf(SIDES, side, 'side'), toI64(price, 'price'), limit);
    const out: QueuedOrder[] = [];
    for (let k = 0; k < n; k++) out.push(readQueueRow(this.view, this.rows + k * L.QUEUE_ROW_SIZE, this.bigint));
    return out;
  }

  order(orderId: Int): OrderInfo | undefined {
    if (!this.orderRow(toI64(orderId, 'orderId'))) return undefined;
    return readOrderRow(this.view, this.rows, this.bigint);
  }

  // ---- guards and holds ---------------------------------------------------------------------------

  /** Runs fn inside one epoch guard: no slot read by the reads inside is reused before it returns. */
  guard<T>(fn: () => T): T {
    this.check(this.core.readerEnter(this.arena, this.index), 'guard');
    try {
      return fn();
    } finally {
      this.core.readerExit(this.arena, this.index);
    }
  }

  /**
   * Holds an order's slot (its handle, from order()) with hazard pointer k (1..3; 0 is order()'s):
   * the slot is not reused until release(k), whatever the epoch does.
   */
  hold(handle: bigint, k = 1): void {
    if (!Number.isInteger(k) || k < 1 || k > 3) throw new RangeError(`k must be 1, 2 or 3; got ${String(k)}`);
    this.check(this.core.readerProtect(this.arena, this.index, k, Number(handle & 0xffffffffn)), 'hold');
  }

  release(k = 1): void {
    if (!Number.isInteger(k) || k < 1 || k > 3) throw new RangeError(`k must be 1, 2 or 3; got ${String(k)}`);
    this.check(this.core.readerProtect(this.arena, this.index, k, -1), 'release');
  }

  /** Rows read and reads repeated because the matcher changed what was being read. */
  stats(): ReaderStats {
    this.check(this.core.readerCounters(this.arena, this.index, this.rows), 'stats');
    return { reads: this.view.getUint32(this.rows, true), retries: this.view.getUint32(this.rows + 4, true) };
  }

  /** Gives the reader record back (throws inside a guard). */
  close(): void {
    if (this.closed) return;
    for (let k = 1; k <= 3; k++) this.core.readerProtect(this.arena, this.index, k, -1);
    const code = this.core.readerUnregister(this.arena, this.index);
    if (code !== 0) throw new Error(`close() inside a guard (code ${code})`);
    this.closed = true;
  }
}

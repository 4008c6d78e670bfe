// Engine: an in-process, multi-symbol matching engine over one Wasm memory.
//
// Memory map (bytes, each region 64-byte aligned, all above the core's reserved first 64 KiB):
//   scratch  query results (depth/queue/order rows, digest)
//   submit   one command record for the object API
//   readers  one query scratch per live-book reader record (layout.ts LIVE_READERS)
//   commands the batch input region (CommandWriter)
//   events   the output region (EventReader); sized so any command's worst case fits
//   arena    the books: pools, index, ladders (laid out by the core)
import * as L from '../assembly/layout.js';
import { encodeUnsealedSnapshot, sealSnapshot, crc32Ranges, checksumRanges, decodeSnapshotHeader, copyExtents, maxSnapshotSize, type Extent } from './snapshot-format.js';
import { CoreBuild, CoreExports, instantiateCore, usesSharedMemory, MAX_PAGES, WASM_PAGE, FIRST_HOST_BYTE, QUERY_ROWS, QUERY_SCRATCH_BYTES, alignRegion, arenaBytesFor } from './core.js';
import { CommandWriter, EventReader } from './batch.js';
import { RawCommand, emptyCommand, writeCommand, readEvent, RawEvent } from './records.js';
import { EngineEvent, toEngineEvent } from './events.js';
import type { LiveBook } from './live-book-reader.js';
import { Int, toI64, toU32, fromI64 } from './int.js';
import { readOrderRow, readQueueRow, type OrderInfo, type QueuedOrder } from './query-rows.js';
import { Side, OrderType, TimeInForce, SelfTradePrevention, SIDES, ORDER_TYPES, TIFS, STP_MODES, codeOf } from './codes.js';

export interface SymbolSpec {
  /** 1..maxSymbols */
  id: number;
  /** Prices must be multiples of it (price units). */
  tickSize: Int;
  /** Quantities must be multiples of it. */
  lotSize: Int;
  /** The price band: orders priced outside it are rejected. Its width in ticks uses ladder space. */
  minPrice: Int;
  maxPrice: Int;
}

export interface EngineOptions {
  /** Resting orders at most (default 262,144; at most 4,194,304). */
  maxOrders?: number;
  /** Symbol ids 1..maxSymbols (default 1,024). */
  maxSymbols?: number;
  /** Price-ladder entries shared by all symbols: the sum of their band widths in ticks (default 4,194,304). */
  ladderTicks?: number;
  /** Commands per batch in the zero-copy path (default 4,096). */
  batchSize?: number;
  /**
   * Event records the output region holds (default: the minimum plus 16,384). The minimum is the
   * worst case of one command: 3 per resting order + 8. A batch whose events do not fit is run
   * in several chunks, each handed to run()'s callback.
   */
  eventCapacity?: number;
  /** Which Wasm build runs the book (default 'release'). */
  build?: CoreBuild;
  /** Return every i64 field as a bigint (default: numbers, and bigint only beyond 2^53). */
  bigint?: boolean;
  /** Symbols to add at creation; an invalid one throws. */
  symbols?: SymbolSpec[];
}

export interface NewOrder {
  symbol: number;
  orderId: Int;
  side: Side;
  quantity: Int;
  /** Limit price; for a market order, the optional protection (worst) price. */
  price?: Int;
  orderType?: OrderType;
  tif?: TimeInForce;
  postOnly?: boolean;
  account?: number;
  clientOrderId?: Int;
  stp?: SelfTradePrevention;
  timestamp?: Int;
}
export interface CancelOrder { symbol: number; orderId: Int; account?: number; timestamp?: Int }
export interface ModifyOrder { symbol: number; orderId: Int; price: Int; quantity: Int; account?: number; clientOrderId?: Int; timestamp?: Int }
export interface MassCancel { symbol?: number; account?: number; timestamp?: Int }

/** Any command, for submit(): the object API's commands tagged with their `type`. */
export type Command =
  | ({ type: 'new' } & NewOrder)
  | ({ type: 'cancel' } & CancelOrder)
  | ({ type: 'modify' } & ModifyOrder)
  | ({ type: 'mass-cancel' } & MassCancel)
  | ({ type: 'add-symbol' } & SymbolSpec)
  | { type: 'halt'; symbol: number; cancelOrders?: boolean }
  | { type: 'resume'; symbol: number };

export interface Level { price: Int; quantity: Int; orders: number }
export type { QueuedOrder, OrderInfo };
/** Freed slots waiting until no reader can see them (docs/CONCURRENCY.md "Reading a live book"). */
export interface LimboStats { orders: number; levels: number; forcedOrders: number; forcedLevels: number }

/** The ADD_SYMBOL record for a symbol spec (its i64 fields checked; see layout.ts for the slots it reuses). */
export function addSymbolCommand(spec: SymbolSpec): RawCommand {
  const c = emptyCommand();
  c.type = L.CMD_ADD_SYMBOL;
  c.symbol = toU32(spec.id, 'id');
  c.orderId = toI64(spec.tickSize, 'tickSize');
  c.price = toI64(spec.lotSize, 'lotSize');
  c.quantity = toI64(spec.minPrice, 'minPrice');
  c.clientOrderId = toI64(spec.maxPrice, 'maxPrice');
  return c;
}

function positiveInt(value: unknown, field: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${field} must be an integer from 1 to ${max}; got ${String(value)}`);
  }
  return value;
}

export class Engine {
  readonly eventCapacity: number;
  readonly maxOrders: number;
  readonly maxSymbols: number;
  readonly ladderTicks: number;
  readonly build: CoreBuild;
  /** Zero-copy input: write commands here, then call run(). */
  readonly commands: CommandWriter;
  /** Zero-copy output: valid inside run()'s callback. */
  readonly events: EventReader;
  readonly memory: WebAssembly.Memory;
  /** log2 of the order-id index's capacity (benchmarks use it to build colliding ids). */
  readonly idIndexBits: number;

  private readonly core: CoreExports;
  private readonly bigint: boolean;
  private readonly view: DataView;
  private readonly scratch: number;
  private readonly submitAt: number;
  private readonly readersAt: number;
  private readonly commandsAt: number;
  private readonly eventsAt: number;
  private readonly arena: number;
  private readonly arenaBytes: number;
  private nextSeq = 1n;

  constructor(options: EngineOptions = {}) {
    this.maxOrders = positiveInt(options.maxOrders, 'maxOrders', L.MAX_ORDERS, 1 << 18);
    this.maxSymbols = positiveInt(options.maxSymbols, 'maxSymbols', 1 << 20, 1024);
    this.ladderTicks = positiveInt(options.ladderTicks, 'ladderTicks', 1 << 28, 1 << 22);
    const batchSize = positiveInt(options.batchSize, 'batchSize', 1 << 24, 4096);
    this.build = options.build ?? 'release';
    this.bigint = options.bigint ?? false;

    this.scratch = FIRST_HOST_BYTE;
    this.submitAt = alignRegion(this.scratch + QUERY_SCRATCH_BYTES);
    this.readersAt = alignRegion(this.submitAt + L.CMD_SIZE);
    this.commandsAt = alignRegion(this.readersAt + L.LIVE_READERS * QUERY_SCRATCH_BYTES);
    this.eventsAt = alignRegion(this.commandsAt + batchSize * L.CMD_SIZE);
    const minEvents = this.maxOrders * L.EVENTS_PER_TOUCHED_ORDER + L.EVENTS_PER_COMMAND_BASE;
    this.eventCapacity = options.eventCapacity ?? minEvents + 16_384;
    if (!Number.isInteger(this.eventCapacity) || this.eventCapacity < minEvents || this.eventCapacity > 1 << 26) {
      throw new RangeError(`eventCapacity must be an integer from ${minEvents} (3 per order + 8) to ${1 << 26}; got ${String(options.eventCapacity)}`);
    }
    this.arena = alignRegion(this.eventsAt + this.eventCapacity * L.EVT_SIZE);

    // Instantiate against a one-page memory first only to ask the core how big the arena is.
    this.arenaBytes = arenaBytesFor(this.build, this.maxOrders, this.maxSymbols, this.ladderTicks);
    if (this.arenaBytes === 0) throw new RangeError('maxOrders, maxSymbols and ladderTicks together need more than 4 GiB');
    const pages = Math.ceil((this.arena + this.arenaBytes) / WASM_PAGE);
    if (pages > MAX_PAGES) throw new RangeError(`this configuration needs ${pages} pages of Wasm memory; the limit is ${MAX_PAGES} (4 GiB): lower maxOrders or ladderTicks`);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: usesSharedMemory(this.build) } as WebAssembly.MemoryDescriptor);
    this.core = instantiateCore(this.build, this.memory);
    this.idIndexBits = this.core.indexCapacityBits(this.maxOrders);
    this.view = new DataView(this.memory.buffer);
    this.commands = new CommandWriter(this.memory.buffer, this.commandsAt, batchSize);
    this.events = new EventReader(this.memory.buffer, this.eventsAt, this.eventCapacity);
    if (this.core.init(this.arena, this.maxOrders, this.maxSymbols, this.ladderTicks, 1) !== 0) {
      throw new RangeError('the core refused these limits');
    }
    for (const spec of options.symbols ?? []) {
      const [event] = this.addSymbol(spec);
      if (event.type === 'rejected') throw new RangeError(`symbol ${spec.id}: ${event.reason}`);
    }
  }

  // ---- batch path ---------------------------------------------------------------------------

  /**
   * Runs the commands written to `commands` (then resets it). The core writes events in chunks
   * of about layout.ts EVENT_CHUNK (it stops there by itself, so they are read while in cache);
   * `onEvents` is called for each chunk with `events` positioned over it (events.count records).
   * Returns the number of events. No allocation, one call into Wasm per chunk.
   */
  run(onEvents?: (events: EventReader) => void): number {
    const total = this.commands.count;
    let done = 0;
    let events = 0;
    while (done < total) {
      const ran = this.core.process(this.arena, this.commandsAt + done * L.CMD_SIZE, total - done, this.eventsAt, this.eventCapacity);
      if (ran < 0) throw new Error('clob: event region too small for one command (cannot happen with the engine\'s sizing)');
      done += ran;
      const n = this.eventsWritten();
      events += n;
      this.events.count = n;
      if (onEvents) onEvents(this.events);
    }
    this.commands.reset();
    return events;
  }

  /** Events the last process() call wrote: the core leaves the count in the arena header. */
  private eventsWritten(): number {
    return this.view.getUint32(this.arena + L.H_EVENTS_WRITTEN, true);
  }

  /** Runs raw command records and returns raw events (tests, tools, the reference comparison). */
  runRaw(commands: RawCommand[]): RawEvent[] {
    const out: RawEvent[] = [];
    for (let i = 0; i < commands.length; i += this.commands.capacity) {
      const chunk = commands.slice(i, i + this.commands.capacity);
      chunk.forEach((c, k) => writeCommand(this.view, this.commandsAt + k * L.CMD_SIZE, c));
      this.commands.count = chunk.length;
      this.run((ev) => {
        for (let k = 0; k < ev.count; k++) out.push(readEvent(this.view, this.eventsAt + k * L.EVT_SIZE));
      });
    }
    return out;
  }

  // ---- object API ---------------------------------------------------------------------------

  /** Runs any command given as an object tagged with its `type`, and returns the events it caused. */
  submit(command: Command): EngineEvent[] {
    if (typeof command !== 'object' || command === null) throw new TypeError('a command must be an object with a type');
    switch (command.type) {
      case 'new': return this.newOrder(command);
      case 'cancel': return this.cancel(command);
      case 'modify': return this.modify(command);
      case 'mass-cancel': return this.massCancel(command);
      case 'add-symbol': return this.addSymbol(command);
      case 'halt': return this.halt(command.symbol, { cancelOrders: command.cancelOrders === true });
      case 'resume': return this.resume(command.symbol);
      default:
        throw new TypeError(`type must be one of 'new', 'cancel', 'modify', 'mass-cancel', 'add-symbol', 'halt', 'resume'; got ${JSON.stringify((command as { type: unknown }).type)}`);
    }
  }

  /** Runs one command record and returns the events it caused. */
  private run1(cmd: RawCommand): EngineEvent[] {
    if (cmd.seq === 0n) cmd.seq = this.nextSeq++;
    writeCommand(this.view, this.submitAt, cmd);
    const ran = this.core.process(this.arena, this.submitAt, 1, this.eventsAt, this.eventCapacity);
    if (ran !== 1) throw new Error('clob: the core did not run the command');
    const n = this.eventsWritten();
    const out: EngineEvent[] = new Array(n);
    for (let k = 0; k < n; k++) out[k] = toEngineEvent(readEvent(this.view, this.eventsAt + k * L.EVT_SIZE), this.bigint);
    return out;
  }

  addSymbol(spec: SymbolSpec): EngineEvent[] {
    return this.run1(addSymbolCommand(spec));
  }

  newOrder(o: NewOrder): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_NEW;
    c.symbol = toU32(o.symbol, 'symbol');
    c.account = toU32(o.account ?? 0, 'account');
    c.side = codeOf(SIDES, o.side, 'side');
    c.orderType = codeOf(ORDER_TYPES, o.orderType ?? 'limit', 'orderType');
    const market = c.orderType === L.ORDER_MARKET;
    c.tif = codeOf(TIFS, o.tif ?? (market ? 'ioc' : 'gtc'), 'tif');
    c.stp = codeOf(STP_MODES, o.stp ?? 'none', 'stp');
    c.orderId = toI64(o.orderId, 'orderId');
    c.quantity = toI64(o.quantity, 'quantity');
    if (o.price !== undefined) c.price = toI64(o.price, 'price');
    else if (!market) throw new TypeError('price is required for a limit order');
    if (o.postOnly) c.flags |= L.FLAG_POST_ONLY;
    if (market && o.price !== undefined) c.flags |= L.FLAG_PROTECTED;
    c.clientOrderId = toI64(o.clientOrderId ?? 0, 'clientOrderId');
    c.timestamp = toI64(o.timestamp ?? 0, 'timestamp');
    return this.run1(c);
  }

  cancel(o: CancelOrder): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_CANCEL;
    c.symbol = toU32(o.symbol, 'symbol');
    c.account = toU32(o.account ?? 0, 'account');
    c.orderId = toI64(o.orderId, 'orderId');
    c.timestamp = toI64(o.timestamp ?? 0, 'timestamp');
    return this.run1(c);
  }

  modify(o: ModifyOrder): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_MODIFY;
    c.symbol = toU32(o.symbol, 'symbol');
    c.account = toU32(o.account ?? 0, 'account');
    c.orderId = toI64(o.orderId, 'orderId');
    c.price = toI64(o.price, 'price');
    c.quantity = toI64(o.quantity, 'quantity');
    c.clientOrderId = toI64(o.clientOrderId ?? 0, 'clientOrderId');
    c.timestamp = toI64(o.timestamp ?? 0, 'timestamp');
    return this.run1(c);
  }

  massCancel(o: MassCancel): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_MASS_CANCEL;
    c.symbol = toU32(o.symbol ?? 0, 'symbol');
    c.account = toU32(o.account ?? 0, 'account');
    c.timestamp = toI64(o.timestamp ?? 0, 'timestamp');
    return this.run1(c);
  }

  halt(symbol: number, options: { cancelOrders?: boolean } = {}): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_HALT;
    c.symbol = toU32(symbol, 'symbol');
    c.flags = options.cancelOrders ? L.HALT_CANCEL_ORDERS : 0;
    return this.run1(c);
  }

  resume(symbol: number): EngineEvent[] {
    const c = emptyCommand();
    c.type = L.CMD_RESUME;
    c.symbol = toU32(symbol, 'symbol');
    return this.run1(c);
  }

  // ---- queries ------------------------------------------------------------------------------

  private int(at: number): Int {
    return fromI64(this.view.getBigInt64(at, true), this.bigint);
  }

  private side(side: Side): number {
    return codeOf(SIDES, side, 'side');
  }

  /** Up to `levels` price levels per side, best first. */
  depth(symbol: number, levels = 10): { bids: Level[]; asks: Level[] } {
    return { bids: this.levels(symbol, L.SIDE_BUY, levels), asks: this.levels(symbol, L.SIDE_SELL, levels) };
  }

  private levels(symbol: number, side: number, levels: number): Level[] {
    const max = positiveInt(levels, 'levels', QUERY_ROWS, 10);
    const n = this.core.depth(this.arena, toU32(symbol, 'symbol'), side, max, this.scratch);
    if (n < 0) throw new RangeError(`unknown symbol ${symbol}`);
    const out: Level[] = [];
    for (let k = 0; k < n; k++) {
      const row = this.scratch + k * L.DEPTH_ROW_SIZE;
      out.push({ price: this.int(row + L.DEPTH_PRICE), quantity: this.int(row + L.DEPTH_TOTAL), orders: this.view.getUint32(row + L.DEPTH_COUNT, true) });
    }
    return out;
  }

  bestBid(symbol: number): Level | undefined {
    return this.levels(symbol, L.SIDE_BUY, 1)[0];
  }

  bestAsk(symbol: number): Level | undefined {
    return this.levels(symbol, L.SIDE_SELL, 1)[0];
  }

  /** The time-priority queue at one price (L3), first in line first, up to `limit` orders. */
  queue(symbol: number, side: Side, price: Int, limit = 1000): QueuedOrder[] {
    const max = positiveInt(limit, 'limit', QUERY_ROWS, 1000);
    this.view.setBigInt64(this.scratch, toI64(price, 'price'), true);
    const n = this.core.queue(this.arena, toU32(symbol, 'symbol'), this.side(side), max, this.scratch);
    if (n < 0) throw new RangeError(`unknown symbol ${symbol}`);
    const out: QueuedOrder[] = [];
    for (let k = 0; k < n; k++) out.push(readQueueRow(this.view, this.scratch + k * L.QUEUE_ROW_SIZE, this.bigint));
    return out;
  }

  /** A resting order by id, or undefined if it is not resting. */
  order(orderId: Int): OrderInfo | undefined {
    this.view.setBigInt64(this.scratch + L.ORDER_ID, toI64(orderId, 'orderId'), true);
    return this.core.findOrder(this.arena, this.scratch) === 1 ? this.orderRow() : undefined;
  }

  /**
   * The order a handle (from order()) names, or undefined once that order is gone: the slot's
   * generation moves on when it is freed, so an old handle never reaches the slot's next order.
   */
  orderByHandle(handle: bigint): OrderInfo | undefined {
    if (typeof handle !== 'bigint' || handle < 0n || handle >= 1n << 64n) throw new TypeError('handle must be a bigint from order()');
    this.view.setBigUint64(this.scratch + L.ORDER_HANDLE, handle, true);
    return this.core.findByHandle(this.arena, this.scratch) === 1 ? this.orderRow() : undefined;
  }

  private orderRow(): OrderInfo {
    return readOrderRow(this.view, this.scratch, this.bigint);
  }

  /** Resting orders in all books. */
  get liveOrders(): number {
    return this.core.liveOrders(this.arena) >>> 0;
  }

  /** Freed order and level slots in limbo now, and how many were taken out of it early (a reader stalled while capacity ran out). */
  limbo(): LimboStats {
    this.core.limboStats(this.arena, this.scratch);
    const u = (k: number) => this.view.getUint32(this.scratch + 4 * k, true);
    return { orders: u(0), levels: u(1), forcedOrders: u(2), forcedLevels: u(3) };
  }

  /**
   * What a LiveBookReader on another thread needs to read this engine's books while it runs (post
   * it in workerData: the memory is shared). Threads builds only: the scalar build has no shared memory.
   */
  liveBook(): LiveBook {
    if (!usesSharedMemory(this.build)) throw new Error(`the ${this.build} build has no shared memory: live-book readers need the release or debug build`);
    return { memory: this.memory, arena: this.arena, build: this.build, scratch: this.readersAt, scratchBytes: QUERY_SCRATCH_BYTES };
  }

  /** The 64-bit state digest (docs/SEMANTICS.md): equal books give equal digests. */
  digest(): bigint {
    this.core.digest(this.arena, this.scratch);
    return this.view.getBigUint64(this.scratch, true);
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /**
   * The whole state as bytes: a header, then the arena (which holds only relative links) but for
   * its never-used tails (snapshot-format.ts). The header carries a CRC-32 of everything and the
   * state digest, so a damaged copy never restores. Pass an earlier snapshot's bytes (or a buffer
   * of maxSnapshotBytes) as `into` to reuse that buffer (the result is a view of it): copying
   * into fresh memory costs a page fault per 4 KiB, most of a large snapshot's time.
   */
  snapshot(into?: Uint8Array): Uint8Array {
    const { bytes } = this.captureSnapshot(into);
    return sealSnapshot(bytes, crc32Ranges(bytes, checksumRanges(bytes.length)));
  }

  /** The largest snapshot this engine can produce: the size of a buffer `into` always fits. */
  get maxSnapshotBytes(): number {
    return maxSnapshotSize(this.arenaBytes);
  }

  /**
   * The part of snapshot() that must run between two batches: the digest and the copy, into
   * `into` when it is large enough. The bytes are not sealed yet: sealSnapshot() with the CRC-32
   * of checksumRanges() (snapshot-format.ts) finishes them, on any thread (a CRC worker's).
   */
  captureSnapshot(into?: Uint8Array): { bytes: Uint8Array; digest: bigint } {
    const digest = this.digest();
    const n = this.core.snapshotExtents(this.arena, this.scratch);
    const extents = Array.from({ length: n }, (_, k): Extent => [this.view.getUint32(this.scratch + 8 * k, true), this.view.getUint32(this.scratch + 8 * k + 4, true)]);
    const arena = new Uint8Array(this.memory.buffer, this.arena, this.arenaBytes);
    const bytes = encodeUnsealedSnapshot({ maxOrders: this.maxOrders, maxSymbols: this.maxSymbols, ladderTicks: this.ladderTicks, digest, nextSeq: this.nextSeq }, arena, extents, into);
    return { bytes, digest };
  }

  /**
   * A new engine holding a snapshot's state. The arena's CRC-32 and then the state digest are
   * checked, so damaged bytes throw instead of restoring. (A snapshot is trusted input otherwise:
   * the checksum catches damage, not a forger.)
   */
  static restore(bytes: Uint8Array, options: Pick<EngineOptions, 'build' | 'bigint' | 'batchSize'> = {}): Engine {
    const h = decodeSnapshotHeader(bytes);
    const engine = new Engine({ ...options, maxOrders: h.maxOrders, maxSymbols: h.maxSymbols, ladderTicks: h.ladderTicks });
    if (h.arenaBytes !== engine.arenaBytes) throw new RangeError('snapshot is truncated or its size does not match its limits');
    copyExtents(bytes, h, new Uint8Array(engine.memory.buffer, engine.arena, h.arenaBytes)); // the rest is fresh: zero
    if ((engine.core.arenaBytes(engine.arena) >>> 0) !== h.arenaBytes) throw new RangeError('snapshot arena header is corrupt');
    engine.core.resetReaders(engine.arena);
    engine.nextSeq = h.nextSeq;
    if (engine.digest() !== h.digest) throw new RangeError('snapshot digest mismatch: the bytes are corrupt');
    return engine;
  }
}

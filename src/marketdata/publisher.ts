// MarketDataPublisher: turns the engine's event records into sequenced market-data messages
// (docs/MARKETDATA.md). Fed once per engine batch (once per event chunk) with the EventReader the
// engine hands run()'s callback; encodes into one reusable buffer and hands the bytes to its sinks
// (the UDP and TCP transports, or a test). No allocation per event in the steady state.
//
// State it keeps, per symbol, from the events alone (never by querying the engine):
//   - the L2 book (LevelSide: sorted typed arrays, best level last), from LEVEL events. It gives the
//     BBO after each chunk, the L2 snapshots, and the order counts that tell a MODIFY that kept its
//     priority from one that lost it (see onLevel). Keeping it here rather than calling
//     engine.depth(symbol, 1) for touched symbols means: no call into the engine and no allocation
//     per batch (depth() builds objects), snapshots that are by construction valid at the sequence
//     they carry, and a publisher that can run in a market-data worker that reads event records
//     from the outbound ring and has no access to the book at all.
//   - the last BBO published, and per (channel, symbol) and per channel sequence numbers.
// L3 snapshots (order by order, in time priority) need each level's queue, which the events do not
// carry in full: they come from an optional L3Source (an Engine fits), queried between batches.
import * as L from '../../assembly/layout.js';
import * as M from '../../assembly/marketdata-layout.js';
import { EventReader } from '../batch.js';
import { LevelBook } from './levels.js';
import { Writer } from './writer.js';
import { writeHeader, writeI64, writeU32 } from './codec.js';

/** Where encoded messages go. Bytes are valid only during the call. */
export interface MarketDataSink {
  /** Whole messages, bytes [0, length) of `bytes`, in publication order (any channels mixed). */
  onMessages(bytes: Uint8Array, length: number): void;
  /** The end of one onEvents() call (or of a snapshot round): flush what was buffered. */
  onFlush?(): void;
}

/** What an L3 snapshot reads: an Engine fits. */
export interface L3Source {
  depth(symbol: number, levels?: number): { bids: { price: number | bigint; quantity: number | bigint; orders: number }[]; asks: { price: number | bigint; quantity: number | bigint; orders: number }[] };
  queue(symbol: number, side: 'buy' | 'sell', price: number | bigint, limit?: number): { orderId: number | bigint; quantity: number | bigint }[];
}

export interface PublisherOptions {
  /** Symbol ids 1..maxSymbols (an Engine's maxSymbols). */
  maxSymbols: number;
  /** After this many LEVEL messages of a symbol since its last L2 snapshot, publish one on CH_L2 (0: never; default 0). */
  snapshotEvery?: number;
  /** Largest datagram the transports send; snapshot parts are cut to fit (default 1400). */
  mtu?: number;
  /** Encoding buffer bytes (default 256 KiB); handed to the sinks whenever it fills. */
  bufferBytes?: number;
  /** Source of L3 snapshots (default none: L3 snapshot requests answer L2 only). */
  l3?: L3Source;
}

const EMPTY = 0;
// BBO state per symbol: 6 numbers.
const BBO_FIELDS = 6;

export class MarketDataPublisher {
  readonly maxSymbols: number;
  readonly snapshotEvery: number;
  readonly mtu: number;
  /** Rows per snapshot part. */
  readonly l2RowsPerPart: number;
  readonly l3RowsPerPart: number;
  /** Messages published (statistics). */
  messages = 0;
  /** The engine seq (CMD_SEQ) of the last command whose events were published. */
  lastEngineSeq = 0;
  private scratch = new Uint8Array(0);
  private scratchReader: EventReader | undefined;

  private readonly sinks: MarketDataSink[] = [];
  private readonly out: Writer;
  private readonly books: (LevelBook | undefined)[];
  /** Sequence numbers: [channel * (maxSymbols + 1) + symbol]. */
  private readonly symbolSeqs: Float64Array;
  private readonly channelSeqs = new Float64Array(M.CH_MAX + 1);
  private readonly bbo: Float64Array;
  private readonly levelsSinceSnapshot: Float64Array;
  private readonly touched: Uint8Array;
  private readonly touchedList: Int32Array;
  private nTouched = 0;
  private l3: L3Source | undefined;

  // The order being matched (a NEW after ACCEPTED, or a MODIFY that lost priority): it rests, and
  // gets an ORDER_ADD, when a LEVEL event on its own side at its price follows with leaves left.
  private pActive = false;
  private pId = 0;
  private pSide = 0;
  private pPrice = 0;
  private pLeaves = 0;
  private pSymbol = 0;
  // A MODIFIED waiting for the LEVEL of its old level (always the next event).
  private mActive = false;
  private mId = 0;
  private mPrice = 0;
  private mQty = 0;
  private mSymbol = 0;

  constructor(options: PublisherOptions) {
    this.maxSymbols = options.maxSymbols;
    this.snapshotEvery = options.snapshotEvery ?? 0;
    this.mtu = options.mtu ?? 1400;
    const fixed = M.MD_HEADER_SIZE + M.BODY_SNAPSHOT;
    if (!Number.isInteger(this.mtu) || this.mtu < fixed + M.L3_ROW_SIZE || this.mtu > M.MD_MAX_MESSAGE) {
      throw new RangeError(`mtu must be an integer from ${fixed + M.L3_ROW_SIZE} to ${M.MD_MAX_MESSAGE}`);
    }
    this.l2RowsPerPart = Math.floor((this.mtu - fixed) / M.L2_ROW_SIZE);
    this.l3RowsPerPart = Math.floor((this.mtu - fixed) / M.L3_ROW_SIZE);
    const n = this.maxSymbols + 1;
    this.books = new Array(n).fill(undefined);
    this.symbolSeqs = new Float64Array((M.CH_MAX + 1) * n);
    this.bbo = new Float64Array(n * BBO_FIELDS);
    this.levelsSinceSnapshot = new Float64Array(n);
    this.touched = new Uint8Array(n);
    this.touchedList = new Int32Array(n);
    this.out = new Writer(Math.max(options.bufferBytes ?? 256 * 1024, 2 * M.MD_MAX_MESSAGE), (w) => this.drain(w));
    this.l3 = options.l3;
  }

  addSink(sink: MarketDataSink): void {
    this.sinks.push(sink);
  }

  removeSink(sink: MarketDataSink): void {
    const i = this.sinks.indexOf(sink);
    if (i >= 0) this.sinks.splice(i, 1);
  }

  setL3Source(source: L3Source | undefined): void {
    this.l3 = source;
  }

  /** The last sequence number used on `channel` for `symbol` (0: none yet). */
  symbolSeq(channel: number, symbol: number): number {
    return this.symbolSeqs[channel * (this.maxSymbols + 1) + symbol];
  }

  /** The last sequence number used on `channel`, all symbols. */
  channelSeq(channel: number): number {
    return this.channelSeqs[channel];
  }

  /** Symbols that have had book events, ascending. */
  symbols(): number[] {
    const out: number[] = [];
    for (let s = 1; s <= this.maxSymbols; s++) if (this.books[s] !== undefined) out.push(s);
    return out;
  }

  /** The publisher's L2 book of a symbol, best first (tests, tools). */
  book(symbol: number): { bids: { price: number; quantity: number; orders: number }[]; asks: { price: number; quantity: number; orders: number }[] } {
    const b = this.books[symbol];
    const side = (s: LevelBook['bids'] | undefined) => {
      const out: { price: number; quantity: number; orders: number }[] = [];
      if (s) for (let i = s.size - 1; i >= 0; i--) out.push({ price: s.price[i], quantity: s.total[i], orders: s.orders[i] });
      return out;
    };
    return { bids: side(b?.bids), asks: side(b?.asks) };
  }

  /**
   * Starts from an engine that already holds orders (a server recovered from its journal): copies
   * each symbol's levels (up to 4,096 per side) into the publisher's books and takes the BBO as
   * published, without publishing anything. For a symbol with orders, sequence 1 of L1, L2 and L3
   * stands for the seeded state, so subscribers start from snapshots. `lastEngineSeq`: the engine seq the state is at (the recovered seq).
   */
  seed(source: Pick<L3Source, 'depth'>, lastEngineSeq = 0): void {
    for (let s = 1; s <= this.maxSymbols; s++) {
      let d: ReturnType<L3Source['depth']>;
      try {
        d = source.depth(s, 4096);
      } catch {
        continue; // not added
      }
      const book = this.bookOf(s);
      book.bids.clear();
      book.asks.clear();
      for (const [levels, side] of [[d.bids, book.bids], [d.asks, book.asks]] as const) {
        for (const l of levels) {
          side.set(Number(l.price), Number(l.quantity), l.orders);
        }
      }
      const at = s * BBO_FIELDS;
      const b = book.bids;
      const a = book.asks;
      this.bbo[at] = b.size > 0 ? b.price[b.size - 1] : EMPTY;
      this.bbo[at + 1] = b.size > 0 ? b.total[b.size - 1] : 0;
      this.bbo[at + 2] = b.size > 0 ? b.orders[b.size - 1] : 0;
      this.bbo[at + 3] = a.size > 0 ? a.price[a.size - 1] : EMPTY;
      this.bbo[at + 4] = a.size > 0 ? a.total[a.size - 1] : 0;
      this.bbo[at + 5] = a.size > 0 ? a.orders[a.size - 1] : 0;
      if (b.size + a.size > 0) {
        // Sequence 1 of each book channel is the seeded state (no message): a subscriber that
        // starts from an empty book at 0 sees 2 as a gap and fetches a snapshot.
        const n = this.maxSymbols + 1;
        this.symbolSeqs[M.CH_L1 * n + s] = 1;
        this.symbolSeqs[M.CH_L2 * n + s] = 1;
        this.symbolSeqs[M.CH_L3 * n + s] = 1;
      }
    }
    this.lastEngineSeq = lastEngineSeq;
  }

  // ---- the event path ------------------------------------------------------------------------

  /** Encodes the messages of one chunk of event records and hands them to the sinks. */
  onEvents(ev: EventReader): void {
    this.consume(ev);
    this.endOfChunk();
  }

  /**
   * The same for a batch whose event records are a byte copy (the server's durable-batch hook,
   * src/gateway/server.ts DurableBatch): copied into a reusable buffer and read there.
   */
  onBatch(batch: { events: Uint8Array; count: number; lastSeq: number }): void {
    const n = batch.count * L.EVT_SIZE;
    if (this.scratch.length < n || this.scratchReader === undefined) {
      this.scratch = new Uint8Array(Math.max(n, 2 * this.scratch.length, 64 * L.EVT_SIZE));
      this.scratchReader = new EventReader(this.scratch.buffer, 0, this.scratch.length / L.EVT_SIZE);
    }
    this.scratch.set(batch.events.subarray(0, n));
    this.scratchReader.count = batch.count;
    this.consume(this.scratchReader);
    this.lastEngineSeq = batch.lastSeq;
    this.endOfChunk();
  }

  private consume(ev: EventReader): void {
    const n = ev.count;
    if (n > 0) this.lastEngineSeq = ev.select(n - 1).seq;
    for (let i = 0; i < n; i++) {
      ev.select(i);
      switch (ev.type) {
        case L.EV_ACCEPTED:
          this.mActive = false;
          this.pActive = true;
          this.pId = ev.orderId;
          this.pSide = ev.side;
          this.pPrice = ev.price;
          this.pLeaves = ev.leaves;
          this.pSymbol = ev.symbol;
          break;
        case L.EV_MODIFIED:
          this.pActive = false;
          this.mActive = true;
          this.mId = ev.orderId;
          this.mPrice = ev.price;
          this.mQty = ev.quantity;
          this.mSymbol = ev.symbol;
          break;
        case L.EV_TRADE:
          this.onTrade(ev);
          break;
        case L.EV_CANCELLED:
          this.onCancelled(ev);
          break;
        case L.EV_LEVEL:
          this.onLevel(ev);
          break;
        default: // REJECTED, SYMBOL_STATUS: nothing is being matched any more
          this.pActive = false;
          this.mActive = false;
      }
    }
  }

  private touch(symbol: number): void {
    if (this.touched[symbol] === 0) {
      this.touched[symbol] = 1;
      this.touchedList[this.nTouched++] = symbol;
    }
  }

  private bookOf(symbol: number): LevelBook {
    let b = this.books[symbol];
    if (b === undefined) {
      b = new LevelBook();
      this.books[symbol] = b;
    }
    return b;
  }

  /** Reserves a sequenced message and writes its header; returns the body's offset in out.buf. */
  private begin(type: number, channel: number, symbol: number, body: number): number {
    const length = M.MD_HEADER_SIZE + body;
    const at = this.out.reserve(length);
    const k = channel * (this.maxSymbols + 1) + symbol;
    const seq = this.symbolSeqs[k] + 1;
    this.symbolSeqs[k] = seq;
    const cseq = this.channelSeqs[channel] + 1;
    this.channelSeqs[channel] = cseq;
    writeHeader(this.out.buf, at, length, type, channel, 0, symbol, 0, seq, cseq);
    this.messages++;
    return at + M.MD_HEADER_SIZE;
  }

  private order(type: number, symbol: number, orderId: number, side: number, price: number, quantity: number, tradeId: number): void {
    const b = this.begin(type, M.CH_L3, symbol, M.BODY_ORDER);
    const buf = this.out.buf;
    writeI64(buf, b + M.ORD_ID, orderId);
    writeI64(buf, b + M.ORD_PRICE, price);
    writeI64(buf, b + M.ORD_QUANTITY, quantity);
    writeI64(buf, b + M.ORD_TRADE_ID, tradeId);
    buf[b + M.ORD_SIDE] = side;
  }

  private onTrade(ev: EventReader): void {
    const symbol = ev.symbol;
    const price = ev.price;
    const qty = ev.quantity;
    const tradeId = ev.tradeId;
    const makerId = ev.makerId;
    const takerId = ev.takerId;
    const side = ev.side;
    const b = this.begin(M.MDM_TRADE, M.CH_TRADES, symbol, M.BODY_TRADE);
    const buf = this.out.buf;
    writeI64(buf, b + M.TRADE_PRICE, price);
    writeI64(buf, b + M.TRADE_QUANTITY, qty);
    writeI64(buf, b + M.TRADE_ID, tradeId);
    writeI64(buf, b + M.TRADE_MAKER_ID, makerId);
    writeI64(buf, b + M.TRADE_TAKER_ID, takerId);
    buf[b + M.TRADE_SIDE] = side;
    this.order(M.MDM_ORDER_EXECUTE, symbol, makerId, side === L.SIDE_BUY ? L.SIDE_SELL : L.SIDE_BUY, price, qty, tradeId);
    if (this.pActive && takerId === this.pId && symbol === this.pSymbol) {
      this.pLeaves -= qty;
      if (this.pLeaves <= 0) this.pActive = false;
    }
    this.touch(symbol);
  }

  private onCancelled(ev: EventReader): void {
    const symbol = ev.symbol;
    const orderId = ev.orderId;
    const leaves = ev.leaves;
    if (this.pActive && orderId === this.pId && symbol === this.pSymbol) {
      // The order being matched (IOC/FOK remainder, self-trade): it never rested.
      this.pLeaves = leaves;
      if (leaves <= 0) this.pActive = false;
      return;
    }
    // A resting order: gone, or reduced in place by a self-trade DECREMENT (it keeps its priority).
    if (leaves === 0) this.order(M.MDM_ORDER_DELETE, symbol, orderId, ev.side, ev.price, ev.quantity, 0);
    else this.order(M.MDM_ORDER_MODIFY, symbol, orderId, ev.side, ev.price, leaves, 0);
    this.touch(symbol);
  }

  private onLevel(ev: EventReader): void {
    const symbol = ev.symbol;
    const side = ev.side;
    const price = ev.price;
    const total = ev.quantity;
    const orders = ev.orders;
    const levels = this.bookOf(symbol).side(side);
    if (this.mActive && symbol === this.mSymbol) {
      // The old level of a modified order. Its count tells what happened: unchanged, the order kept
      // its place (quantity down, same price); one less, it left the level to be matched and
      // maybe rest again (repriced or grown), which the pending-order logic then reports.
      this.mActive = false;
      const i = levels.find(price);
      const before = i >= 0 ? levels.orders[i] : 0;
      if (orders === before && total > 0) {
        this.order(M.MDM_ORDER_MODIFY, symbol, this.mId, side, price, this.mQty, 0);
      } else {
        this.order(M.MDM_ORDER_DELETE, symbol, this.mId, side, price, (i >= 0 ? levels.total[i] : 0) - total, 0);
        this.pActive = true;
        this.pId = this.mId;
        this.pSide = side;
        this.pPrice = this.mPrice;
        this.pLeaves = this.mQty;
        this.pSymbol = symbol;
      }
    } else if (this.pActive && symbol === this.pSymbol && side === this.pSide && price === this.pPrice && this.pLeaves > 0) {
      // The order being matched came to rest at the tail of its level.
      this.order(M.MDM_ORDER_ADD, symbol, this.pId, side, price, this.pLeaves, 0);
      this.pActive = false;
    }
    levels.set(price, total, orders);
    const b = this.begin(M.MDM_LEVEL, M.CH_L2, symbol, M.BODY_LEVEL);
    const buf = this.out.buf;
    writeI64(buf, b + M.LEVEL_PRICE, price);
    writeI64(buf, b + M.LEVEL_QUANTITY, total);
    writeU32(buf, b + M.LEVEL_ORDERS, orders);
    buf[b + M.LEVEL_SIDE] = side;
    this.levelsSinceSnapshot[symbol]++;
    this.touch(symbol);
  }

  /** BBO changes and due snapshots of the touched symbols, then the flush. */
  private endOfChunk(): void {
    for (let k = 0; k < this.nTouched; k++) {
      const symbol = this.touchedList[k];
      this.touched[symbol] = 0;
      this.publishBboIfChanged(symbol);
      if (this.snapshotEvery > 0 && this.levelsSinceSnapshot[symbol] >= this.snapshotEvery) this.publishL2Snapshot(symbol);
    }
    this.nTouched = 0;
    this.flush();
  }

  private publishBboIfChanged(symbol: number): void {
    const book = this.books[symbol];
    const s = this.bbo;
    const at = symbol * BBO_FIELDS;
    let bp = EMPTY, bq = 0, bn = 0, ap = EMPTY, aq = 0, an = 0;
    if (book !== undefined) {
      const b = book.bids;
      if (b.size > 0) { bp = b.price[b.size - 1]; bq = b.total[b.size - 1]; bn = b.orders[b.size - 1]; }
      const a = book.asks;
      if (a.size > 0) { ap = a.price[a.size - 1]; aq = a.total[a.size - 1]; an = a.orders[a.size - 1]; }
    }
    if (s[at] === bp && s[at + 1] === bq && s[at + 2] === bn && s[at + 3] === ap && s[at + 4] === aq && s[at + 5] === an) return;
    s[at] = bp; s[at + 1] = bq; s[at + 2] = bn; s[at + 3] = ap; s[at + 4] = aq; s[at + 5] = an;
    const body = this.begin(M.MDM_BBO, M.CH_L1, symbol, M.BODY_BBO);
    this.writeBboBody(this.out.buf, body, symbol);
  }

  private writeBboBody(buf: Uint8Array, b: number, symbol: number): void {
    const s = this.bbo;
    const at = symbol * BBO_FIELDS;
    writeI64(buf, b + M.BBO_BID_PRICE, s[at]);
    writeI64(buf, b + M.BBO_BID_QUANTITY, s[at + 1]);
    writeU32(buf, b + M.BBO_BID_ORDERS, s[at + 2]);
    writeI64(buf, b + M.BBO_ASK_PRICE, s[at + 3]);
    writeI64(buf, b + M.BBO_ASK_QUANTITY, s[at + 4]);
    writeU32(buf, b + M.BBO_ASK_ORDERS, s[at + 5]);
  }

  /** Hands the buffered messages to the sinks and tells them to flush. */
  flush(): void {
    this.drain(this.out);
    for (const sink of this.sinks) sink.onFlush?.();
  }

  private drain(w: Writer): void {
    if (w.pos === 0) return;
    for (const sink of this.sinks) sink.onMessages(w.buf, w.pos);
    w.pos = 0;
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** An L2 snapshot of `symbol` in the stream (CH_L2, channel-sequenced), as `snapshotEvery` does. */
  publishL2Snapshot(symbol: number): void {
    this.writeL2Snapshot(this.out, symbol, 0, 0, true);
    this.levelsSinceSnapshot[symbol] = 0;
  }

  /** L2 snapshots of every symbol with a book, in the stream, then a flush (the periodic timer's job). */
  publishSnapshots(): void {
    for (let s = 1; s <= this.maxSymbols; s++) if (this.books[s] !== undefined) this.publishL2Snapshot(s);
    this.flush();
  }

  /**
   * Writes an L2 snapshot of `symbol` as parts into `w`, valid at the symbol's CH_L2 sequence.
   * inStream: channel-sequenced (UDP/TCP stream); else a TCP answer: MDF_REPLAY, MD_REF = ref.
   */
  writeL2Snapshot(w: Writer, symbol: number, flags: number, ref: number, inStream: boolean): void {
    const book = this.books[symbol];
    const nb = book?.bids.size ?? 0;
    const na = book?.asks.size ?? 0;
    const rows = nb + na;
    const per = this.l2RowsPerPart;
    const parts = Math.max(1, Math.ceil(rows / per));
    const seq = this.symbolSeq(M.CH_L2, symbol);
    let r = 0;
    for (let part = 0; part < parts; part++) {
      const count = Math.min(per, rows - r);
      const length = M.MD_HEADER_SIZE + M.BODY_SNAPSHOT + count * M.L2_ROW_SIZE;
      const at = w.reserve(length);
      const buf = w.buf;
      let cseq = 0;
      if (inStream) {
        cseq = this.channelSeqs[M.CH_L2] + 1;
        this.channelSeqs[M.CH_L2] = cseq;
        this.messages++;
      }
      writeHeader(buf, at, length, M.MDM_L2_SNAPSHOT, M.CH_L2, flags, symbol, ref, seq, cseq);
      const f = at + M.MD_HEADER_SIZE;
      writeU32(buf, f + M.SNAP_PART, part);
      writeU32(buf, f + M.SNAP_PARTS, parts);
      writeU32(buf, f + M.SNAP_ROWS, count);
      let row = f + M.BODY_SNAPSHOT;
      for (let k = 0; k < count; k++, r++, row += M.L2_ROW_SIZE) {
        const side = r < nb ? book!.bids : book!.asks;
        const i = side.size - 1 - (r < nb ? r : r - nb);
        writeI64(buf, row + M.L2_ROW_PRICE, side.price[i]);
        writeI64(buf, row + M.L2_ROW_QUANTITY, side.total[i]);
        writeU32(buf, row + M.L2_ROW_ORDERS, side.orders[i]);
        buf[row + M.L2_ROW_SIDE] = r < nb ? L.SIDE_BUY : L.SIDE_SELL;
      }
    }
  }

  /**
   * Writes an L3 snapshot (a TCP answer) of `symbol`, valid at its CH_L3 sequence: every resting
   * order, bids then asks, levels best first, each level in time priority. Read from the L3 source,
   * which must be in step with the events this publisher has seen (call it between batches).
   * Returns false when there is no L3 source.
   */
  writeL3Snapshot(w: Writer, symbol: number, ref: number): boolean {
    const src = this.l3;
    if (src === undefined) return false;
    const ids: number[] = [];
    const prices: number[] = [];
    const qtys: number[] = [];
    const sides: number[] = [];
    let depth: ReturnType<L3Source['depth']> = { bids: [], asks: [] };
    try {
      depth = src.depth(symbol, 4096);
    } catch {
      // unknown symbol: an empty book
    }
    for (const [levels, side, name] of [[depth.bids, L.SIDE_BUY, 'buy'], [depth.asks, L.SIDE_SELL, 'sell']] as const) {
      for (const level of levels) {
        for (const o of src.queue(symbol, name, level.price, 4096)) {
          ids.push(Number(o.orderId));
          prices.push(Number(level.price));
          qtys.push(Number(o.quantity));
          sides.push(side);
        }
      }
    }
    const rows = ids.length;
    const per = this.l3RowsPerPart;
    const parts = Math.max(1, Math.ceil(rows / per));
    const seq = this.symbolSeq(M.CH_L3, symbol);
    let r = 0;
    for (let part = 0; part < parts; part++) {
      const count = Math.min(per, rows - r);
      const length = M.MD_HEADER_SIZE + M.BODY_SNAPSHOT + count * M.L3_ROW_SIZE;
      const at = w.reserve(length);
      const buf = w.buf;
      writeHeader(buf, at, length, M.MDM_L3_SNAPSHOT, M.CH_L3, M.MDF_REPLAY, symbol, ref, seq, 0);
      const f = at + M.MD_HEADER_SIZE;
      writeU32(buf, f + M.SNAP_PART, part);
      writeU32(buf, f + M.SNAP_PARTS, parts);
      writeU32(buf, f + M.SNAP_ROWS, count);
      let row = f + M.BODY_SNAPSHOT;
      for (let k = 0; k < count; k++, r++, row += M.L3_ROW_SIZE) {
        writeI64(buf, row + M.L3_ROW_ORDER_ID, ids[r]);
        writeI64(buf, row + M.L3_ROW_PRICE, prices[r]);
        writeI64(buf, row + M.L3_ROW_QUANTITY, qtys[r]);
        buf[row + M.L3_ROW_SIDE] = sides[r];
      }
    }
    return true;
  }

  /** The current BBO of `symbol` as a MDF_REPLAY message (a TCP answer), at its CH_L1 sequence. */
  writeBbo(w: Writer, symbol: number, ref: number): void {
    const length = M.MD_HEADER_SIZE + M.BODY_BBO;
    const at = w.reserve(length);
    writeHeader(w.buf, at, length, M.MDM_BBO, M.CH_L1, M.MDF_REPLAY, symbol, ref, this.symbolSeq(M.CH_L1, symbol), 0);
    this.writeBboBody(w.buf, at + M.MD_HEADER_SIZE, symbol);
  }
}

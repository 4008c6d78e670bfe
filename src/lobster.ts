// LOBSTER (lobsterdata.com) message and orderbook files: reading them from the published zip,
// parsing them into typed rows, and converting the messages into a clob command stream.
//
// What a LOBSTER file is, and why the conversion is not one command per message
// -----------------------------------------------------------------------------
// A LOBSTER file of depth N holds only the events that touched the N best price levels, and the
// orderbook file holds those N levels after every message. With N = 1 (the free GOOG sample), an
// order placed behind the best price is never "added" in the file; if it later reaches the top
// (the level in front of it empties) its executions and deletes name an order id the file never
// introduced, and the orderbook file shows liquidity that no message created. The book at 09:30
// also holds liquidity whose orders were added before the window. So a faithful replay needs:
//
//  1. Seeding. Before the first message the book is seeded with one synthetic order per side for
//     the level-1 liquidity of the book *before* message 0: orderbook row 0 (the book after it)
//     with message 0's own effect undone (its size added back if it removed liquidity at the top).
//
//  2. Unknown order ids (decided from the message alone, before it runs). A delete (type 3) or
//     partial cancel (type 2) of an id we never saw reduces the synthetic liquidity at that price
//     by its size (MODIFY down, which keeps priority, or CANCEL). An execution (type 4) of an
//     unseen id "materializes" the order: the named order takes the place of the first synthetic
//     order at that price (its quantity carved out of it), so that the aggressive order that
//     follows meets it where it stood in the queue. clob only appends at a level's tail, so this
//     re-queues that synthetic order and every order behind it (CANCEL each, then NEW them back in
//     order, the named order first): priority of everything else is unchanged. If the price level
//     holds no synthetic liquidity, the named order is put at the head of the level (the orders
//     in front of it must have left while the level was outside the window). Whatever the
//     synthetic liquidity cannot cover is taken from named orders of the level: the level's total
//     matched the previous orderbook row, so they must have left unseen (whole orders adding up to
//     exactly that many shares if there are such, else the oldest first; see takeNamed).
//
//  3. Resynchronisation (decided from the orderbook row, after the message ran and after the
//     replay measured its top of book, so agreement figures are never flattered by it). When the
//     reconstructed best bid/ask (price and size) differs from orderbook row i, orders are
//     adjusted so that the book entering message i+1 shows row i at the top:
//       - levels better than the row's best (stale: their orders left while outside the window)
//         are cancelled;
//       - at the row's best price, missing quantity is injected as one synthetic order at the
//         tail (it was added while the level was outside the window, i.e. before anything that
//         arrives from now on); excess quantity is removed from synthetic orders first (newest
//         first), then from LOBSTER orders whose deletion we missed (as in 2, via takeNamed).
//     Every row where this happens is one where the replay disagreed with the file, so the number
//     of resync rows equals the number of disagreeing rows outside halts.
//     Levels behind the best are invisible in a depth-1 file and left alone.
//
// Mapping of message types (prices in LOBSTER units, $0.0001; tick 100 = $0.01; lot 1 share):
//   1 new limit order      -> NEW limit GTC, id = LOBSTER id, account LOBSTER_ACCOUNT
//   2 partial cancel       -> MODIFY to (remaining - size) at the same price (keeps priority);
//                             CANCEL if nothing would remain
//   3 delete               -> CANCEL
//   4 visible execution    -> NEW limit IOC on the opposite side at that price and size, account
//                             AGGRESSOR_ACCOUNT: with time priority right it trades against the
//                             named order only (the replay checks every TRADE's maker id)
//   5 hidden execution     -> nothing (hidden liquidity is not in the visible book); counted
//   7 trading halt         -> price -1: HALT; price 0 (quoting resumes) or 1 (trading resumes):
//                             RESUME (clob has no quote-only state; no trade prints while quoting)
//
// Synthetic orders (seed, resync) use SYNTHETIC_ACCOUNT and ids from SYNTHETIC_ID_BASE; the
// aggressive orders use AGGRESSOR_ACCOUNT and ids from AGGRESSOR_ID_BASE; LOBSTER ids are below
// both (checked when parsing).
import { readFileSync } from 'node:fs';
import * as L from '../assembly/layout.js';
import { unzip } from './zip.js';
import { RawCommand, emptyCommand, writeCommand } from './records.js';

export const LOBSTER_SYMBOL = 1;
export const LOBSTER_TICK = 100;
export const LOBSTER_LOT = 1;
/** $0 .. $2000 in LOBSTER units: any price of the day. */
export const LOBSTER_BAND_MIN = 0;
export const LOBSTER_BAND_MAX = 20_000_000;
export const LOBSTER_ACCOUNT = 1;
export const SYNTHETIC_ACCOUNT = 2;
export const AGGRESSOR_ACCOUNT = 3;
export const SYNTHETIC_ID_BASE = 1_000_000_000_000;
export const AGGRESSOR_ID_BASE = 2_000_000_000_000;
/** The empty-side markers of LOBSTER's orderbook file. */
export const EMPTY_ASK = 9_999_999_999;
export const EMPTY_BID = -9_999_999_999;

// ---- typed rows ---------------------------------------------------------------------------------

export interface LobsterMessage {
  /** Nanoseconds after midnight (exact: parsed from the decimal text). */
  timeNs: number;
  type: 1 | 2 | 3 | 4 | 5 | 7;
  orderId: number;
  size: number;
  price: number;
  /** 1 buy order, -1 sell order (for executions: the resting order's side). */
  direction: 1 | -1;
}

/** One orderbook row, level 1 (deeper levels, if the file has them, are kept in `levels`). */
export interface LobsterBookRow {
  askPrice: number; askSize: number; bidPrice: number; bidSize: number;
  /** All levels as [askPrice, askSize, bidPrice, bidSize] repeated. */
  levels?: number[];
}

export class LobsterParseError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, message: string) {
    super(`${file}: line ${line}, column ${column}: ${message}`);
    this.name = 'LobsterParseError';
  }
}

const MESSAGE_COLUMNS = ['time', 'event type', 'order id', 'size', 'price', 'direction'];
const INTEGER = /^-?\d+$/;
const DECIMAL = /^(\d+)(?:\.(\d{1,9}))?$/;

function lines(text: string): string[] {
  const out = text.split(/\r?\n/);
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

function intField(file: string, line: number, col: number, name: string, raw: string): number {
  const s = raw.trim();
  if (!INTEGER.test(s)) throw new LobsterParseError(file, line, col, `${name}: expected an integer, got '${raw}'`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new LobsterParseError(file, line, col, `${name}: ${s} is too large`);
  return n;
}

/** Parses a LOBSTER message file (CSV, no header, 6 columns). `file` names it in errors. */
export function parseMessages(text: string, file = 'message file'): LobsterMessage[] {
  const rows = lines(text);
  const out: LobsterMessage[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const line = i + 1;
    const f = rows[i].split(',');
    if (f.length !== 6) {
      // the column named is the first missing one, or the first extra one
      throw new LobsterParseError(file, line, Math.min(f.length, 6) + 1,
        `expected 6 columns (${MESSAGE_COLUMNS.join(', ')}), got ${f.length}`);
    }
    const t = DECIMAL.exec(f[0].trim());
    if (!t) throw new LobsterParseError(file, line, 1, `time: expected seconds after midnight like 34200.015105074, got '${f[0]}'`);
    const timeNs = Number(t[1]) * 1e9 + Number((t[2] ?? '').padEnd(9, '0'));
    if (!Number.isSafeInteger(timeNs)) throw new LobsterParseError(file, line, 1, `time: ${f[0]} is out of range`);
    const type = intField(file, line, 2, 'event type', f[1]);
    if (type !== 1 && type !== 2 && type !== 3 && type !== 4 && type !== 5 && type !== 7) {
      throw new LobsterParseError(file, line, 2, `event type: expected 1, 2, 3, 4, 5 or 7, got '${f[1]}'`);
    }
    const orderId = intField(file, line, 3, 'order id', f[2]);
    const size = intField(file, line, 4, 'size', f[3]);
    const price = intField(file, line, 5, 'price', f[4]);
    const direction = intField(file, line, 6, 'direction', f[5]);
    if (direction !== 1 && direction !== -1) throw new LobsterParseError(file, line, 6, `direction: expected 1 or -1, got '${f[5]}'`);
    if (type === 7) {
      if (price !== -1 && price !== 0 && price !== 1) throw new LobsterParseError(file, line, 5, `price: a halt message (type 7) has price -1, 0 or 1, got ${price}`);
    } else {
      if (orderId < 0 || orderId >= SYNTHETIC_ID_BASE) throw new LobsterParseError(file, line, 3, `order id: expected 0 to ${SYNTHETIC_ID_BASE - 1}, got ${orderId}`);
      if (size <= 0) throw new LobsterParseError(file, line, 4, `size: expected a positive number of shares, got ${size}`);
      if (price <= 0) throw new LobsterParseError(file, line, 5, `price: expected a positive price (dollars x 10000), got ${price}`);
      if (type !== 5 && orderId === 0) throw new LobsterParseError(file, line, 3, `order id: event type ${type} needs an order id, got 0`);
    }
    out[i] = { timeNs, type, orderId, size, price, direction };
  }
  return out;
}

/** Parses a LOBSTER orderbook file (CSV, no header, 4 columns per level). */
export function parseOrderbook(text: string, file = 'orderbook file'): LobsterBookRow[] {
  const rows = lines(text);
  const out: LobsterBookRow[] = new Array(rows.length);
  let width = -1;
  const names = ['ask price', 'ask size', 'bid price', 'bid size'];
  for (let i = 0; i < rows.length; i++) {
    const line = i + 1;
    const f = rows[i].split(',');
    if (width < 0) {
      if (f.length === 0 || f.length % 4 !== 0) throw new LobsterParseError(file, line, f.length, `expected 4 columns per level (ask price, ask size, bid price, bid size), got ${f.length}`);
      width = f.length;
    } else if (f.length !== width) {
      throw new LobsterParseError(file, line, Math.min(f.length, width) + 1, `expected ${width} columns like line 1, got ${f.length}`);
    }
    const v = f.map((s, k) => intField(file, line, k + 1, `level ${(k >> 2) + 1} ${names[k & 3]}`, s));
    for (let k = 0; k < v.length; k += 4) {
      if (v[k + 1] < 0) throw new LobsterParseError(file, line, k + 2, `ask size: expected >= 0, got ${v[k + 1]}`);
      if (v[k + 3] < 0) throw new LobsterParseError(file, line, k + 4, `bid size: expected >= 0, got ${v[k + 3]}`);
      if (v[k] <= 0 && v[k] !== EMPTY_BID) throw new LobsterParseError(file, line, k + 1, `ask price: expected a positive price or ${EMPTY_ASK}, got ${v[k]}`);
      if (v[k + 2] <= 0 && v[k + 2] !== EMPTY_BID) throw new LobsterParseError(file, line, k + 3, `bid price: expected a positive price or ${EMPTY_BID}, got ${v[k + 2]}`);
    }
    out[i] = { askPrice: v[0], askSize: v[1], bidPrice: v[2], bidSize: v[3], levels: width > 4 ? v : undefined };
  }
  return out;
}

export interface LobsterDay {
  messageFile: string;
  orderbookFile: string;
  messages: LobsterMessage[];
  book: LobsterBookRow[];
}

/** Reads a LOBSTER zip (one *_message_N.csv and one *_orderbook_N.csv) into typed rows. */
export function readLobsterZip(zipPath: string): LobsterDay {
  const bytes = readFileSync(zipPath);
  const label = zipPath;
  const files = unzip(bytes, label);
  const pick = (kind: string): [string, Uint8Array] => {
    const found = [...files].filter(([name]) => new RegExp(`_${kind}_\\d+\\.csv$`).test(name));
    if (found.length !== 1) {
      throw new Error(`${label}: expected exactly one LOBSTER ${kind} file (*_${kind}_<levels>.csv), found ${found.length === 0 ? 'none' : found.map(([n]) => n).join(', ')}; entries: ${[...files.keys()].join(', ')}`);
    }
    return found[0];
  };
  const [messageFile, m] = pick('message');
  const [orderbookFile, b] = pick('orderbook');
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const messages = parseMessages(decoder.decode(m), `${label}:${messageFile}`);
  const book = parseOrderbook(decoder.decode(b), `${label}:${orderbookFile}`);
  if (messages.length !== book.length) {
    throw new Error(`${label}: ${messageFile} has ${messages.length} rows but ${orderbookFile} has ${book.length}; LOBSTER writes one orderbook row per message`);
  }
  if (messages.length === 0) throw new Error(`${label}: ${messageFile} is empty`);
  return { messageFile, orderbookFile, messages, book };
}

// ---- the shadow book ----------------------------------------------------------------------------
// The converter keeps its own small FIFO book (the same price-time rules as docs/SEMANTICS.md for
// the few commands it emits) to decide seeding, materialization and resync. The replay checks the
// engine's top of book against it at every message, so it doubles as a differential check.

interface SOrder { id: number; buy: boolean; price: number; qty: number; account: number }

class ShadowBook {
  readonly orders = new Map<number, SOrder>();
  readonly bids = new Map<number, SOrder[]>();
  readonly asks = new Map<number, SOrder[]>();

  side(buy: boolean): Map<number, SOrder[]> {
    return buy ? this.bids : this.asks;
  }

  best(buy: boolean): number | undefined {
    let best: number | undefined;
    for (const p of this.side(buy).keys()) if (best === undefined || (buy ? p > best : p < best)) best = p;
    return best;
  }

  level(buy: boolean, price: number): SOrder[] {
    return this.side(buy).get(price) ?? [];
  }

  total(buy: boolean, price: number): number {
    let t = 0;
    for (const o of this.level(buy, price)) t += o.qty;
    return t;
  }

  add(o: SOrder): void {
    this.orders.set(o.id, o);
    const side = this.side(o.buy);
    const q = side.get(o.price);
    if (q) q.push(o); else side.set(o.price, [o]);
  }

  remove(o: SOrder): void {
    this.orders.delete(o.id);
    const side = this.side(o.buy);
    const q = side.get(o.price)!;
    q.splice(q.indexOf(o), 1);
    if (q.length === 0) side.delete(o.price);
  }
}

/**
 * A set of whole orders whose quantities add up to exactly `qty` (subset sum), preferring the oldest
 * orders, or undefined. Orders behind the top leave by whole deletes (partial cancels are rare and
 * executions happen only at the top), so unseen departures are whole orders.
 */
function wholeOrders(list: SOrder[], qty: number): SOrder[] | undefined {
  if (qty > 1_000_000 || list.length > 64) return undefined;
  // via[s] = index + 1 of the order that first reached sum s (orders taken oldest first)
  const via = new Int32Array(qty + 1);
  via[0] = -1;
  for (let k = 0; k < list.length && via[qty] === 0; k++) {
    const q = list[k].qty;
    for (let s = qty; s >= q; s--) if (via[s] === 0 && via[s - q] !== 0) via[s] = k + 1;
  }
  if (via[qty] === 0) return undefined;
  const out: SOrder[] = [];
  for (let s = qty; s > 0; s -= list[via[s] - 1].qty) out.push(list[via[s] - 1]);
  return out;
}

// ---- the converted stream -------------------------------------------------------------------------

/** What a command in the stream is for. */
export const KIND_SETUP = 0; //    ADD_SYMBOL
export const KIND_SEED = 1; //     synthetic orders for the liquidity at the open
export const KIND_MESSAGE = 2; //  the message's own command(s)
export const KIND_PREFIX = 3; //   unknown-id handling before a message (materialization)
export const KIND_RESYNC = 4; //   adjustments to match the orderbook row after a message
export const KIND_NAMES = ['setup', 'seed', 'message', 'unknown-id', 'resync'] as const;

/** Per-message flags. */
export const F_UNKNOWN_ID = 1; //      referenced an id the replay never saw
export const F_UNCOVERED = 2; //       ... and the price level had too little synthetic liquidity for it
export const F_REQUEUED = 4; //        materialization re-queued orders of the level
export const F_RESYNC = 8; //          the row after it needed a resync
export const F_HALTED = 16; //         the symbol was halted when it ran
export const F_REJECT_EXPECTED = 32; // the message's command is expected to be rejected (e.g. NEW while halted)
export const F_NOT_AT_HEAD = 64; //    a type-4 whose named order was not first in its queue (shadow book)

export interface ConversionStats {
  messages: number;
  byType: Record<string, number>;
  commands: number;
  commandsByKind: Record<string, number>;
  seedOrders: number;
  unknownIds: { partialCancel: number; delete: number; execution: number };
  /** Unknown ids whose price level lacked enough synthetic liquidity to carve them from. */
  uncovered: number;
  /** Materializations that re-queued orders (cancel + re-add behind the named order). */
  requeues: number;
  requeuedOrders: number;
  /** Type-4 messages whose named order was not first in its queue in the shadow book. */
  executionsNotAtHead: number;
  /** Shares taken from named (LOBSTER) orders judged to have left unseen (unknown-id cover, resync excess). */
  staleNamedShares: number;
  /** Rows after which the book had to be resynchronised, and what it took. */
  resyncRows: number;
  resync: { staleLevelsCancelled: number; staleOrdersCancelled: number; injections: number; injectedShares: number; reductions: number; reducedShares: number };
  /** Messages skipped or mapped with a caveat. */
  hiddenExecutions: number;
  halts: number;
  resumes: number;
  partialCancelsToZero: number;
  deleteSizeMismatches: number;
  peakLiveOrders: number;
}

export interface ConvertedStream {
  day: LobsterDay;
  /** Encoded 64-byte command records; seq = index + 1. */
  commands: Uint8Array;
  count: number;
  kinds: Uint8Array;
  /** Index of the first command belonging to message i (its unknown-id handling included); [n] = count. */
  messageStart: Int32Array;
  /** Index just after message i's own commands: the replay measures row i here, before its resync. */
  measureAt: Int32Array;
  /** For type-4 messages, the index of the aggressive IOC command; else -1. */
  iocAt: Int32Array;
  flags: Uint8Array;
  /** The shadow book's best [askPrice, askSize, bidPrice, bidSize] at each measure point (empty: LOBSTER markers). */
  shadowTop: Float64Array;
  stats: ConversionStats;
  maxLiveOrders: number;
}

class Emitter {
  bytes = new Uint8Array(64 * 65536);
  view = new DataView(this.bytes.buffer);
  kinds = new Uint8Array(65536);
  count = 0;
  kind = KIND_SETUP;
  timestamp = 0;
  private readonly cmd: RawCommand = emptyCommand();

  private push(fill: (c: RawCommand) => void): number {
    if (this.count * L.CMD_SIZE >= this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
      const k = new Uint8Array(this.kinds.length * 2);
      k.set(this.kinds);
      this.kinds = k;
    }
    const c = this.cmd;
    Object.assign(c, emptyCommand());
    c.symbol = LOBSTER_SYMBOL;
    c.seq = BigInt(this.count + 1);
    c.timestamp = BigInt(this.timestamp);
    fill(c);
    writeCommand(this.view, this.count * L.CMD_SIZE, c);
    this.kinds[this.count] = this.kind;
    return this.count++;
  }

  addSymbol(): void {
    this.push((c) => {
      c.type = L.CMD_ADD_SYMBOL;
      c.orderId = BigInt(LOBSTER_TICK);
      c.price = BigInt(LOBSTER_LOT);
      c.quantity = BigInt(LOBSTER_BAND_MIN);
      c.clientOrderId = BigInt(LOBSTER_BAND_MAX);
    });
  }

  newOrder(account: number, buy: boolean, id: number, price: number, qty: number, tif: number): number {
    return this.push((c) => {
      c.type = L.CMD_NEW;
      c.account = account;
      c.side = buy ? L.SIDE_BUY : L.SIDE_SELL;
      c.orderType = L.ORDER_LIMIT;
      c.tif = tif;
      c.stp = L.STP_NONE;
      c.orderId = BigInt(id);
      c.price = BigInt(price);
      c.quantity = BigInt(qty);
    });
  }

  cancel(account: number, id: number): number {
    return this.push((c) => {
      c.type = L.CMD_CANCEL;
      c.account = account;
      c.orderId = BigInt(id);
    });
  }

  modify(account: number, id: number, price: number, qty: number): number {
    return this.push((c) => {
      c.type = L.CMD_MODIFY;
      c.account = account;
      c.orderId = BigInt(id);
      c.price = BigInt(price);
      c.quantity = BigInt(qty);
    });
  }

  halt(): number {
    return this.push((c) => { c.type = L.CMD_HALT; });
  }

  resume(): number {
    return this.push((c) => { c.type = L.CMD_RESUME; });
  }
}

/** Converts a parsed LOBSTER day into a clob command stream (see the top of this file). */
export function convertLobster(day: LobsterDay): ConvertedStream {
  const { messages, book: rows } = day;
  const n = messages.length;
  const e = new Emitter();
  const book = new ShadowBook();
  const messageStart = new Int32Array(n + 1);
  const measureAt = new Int32Array(n);
  const iocAt = new Int32Array(n).fill(-1);
  const flags = new Uint8Array(n);
  const shadowTop = new Float64Array(n * 4);
  let nextSynthetic = SYNTHETIC_ID_BASE;
  let nextAggressor = AGGRESSOR_ID_BASE;
  let halted = false;
  let peakLive = 0;
  let cur = 0; // the message being converted
  const stats: ConversionStats = {
    messages: n, byType: {}, commands: 0, commandsByKind: {}, seedOrders: 0,
    unknownIds: { partialCancel: 0, delete: 0, execution: 0 }, uncovered: 0, requeues: 0, requeuedOrders: 0,
    executionsNotAtHead: 0, staleNamedShares: 0, resyncRows: 0,
    resync: { staleLevelsCancelled: 0, staleOrdersCancelled: 0, injections: 0, injectedShares: 0, reductions: 0, reducedShares: 0 },
    hiddenExecutions: 0, halts: 0, resumes: 0, partialCancelsToZero: 0, deleteSizeMismatches: 0, peakLiveOrders: 0,
  };

  // -- shadow + emit helpers (each keeps the shadow book equal to what the engine will hold) --
  const rest = (account: number, buy: boolean, id: number, price: number, qty: number): SOrder => {
    e.newOrder(account, buy, id, price, qty, L.TIF_GTC);
    const o: SOrder = { id, buy, price, qty, account };
    book.add(o);
    if (book.orders.size > peakLive) peakLive = book.orders.size;
    return o;
  };
  const synthetic = (buy: boolean, price: number, qty: number): SOrder => rest(SYNTHETIC_ACCOUNT, buy, nextSynthetic++, price, qty);
  const cancel = (o: SOrder): void => {
    e.cancel(o.account, o.id);
    book.remove(o);
  };
  /** Reduces an order by `by` (< its quantity: MODIFY, keeps priority; else CANCEL). */
  const reduce = (o: SOrder, by: number): void => {
    if (by >= o.qty) { cancel(o); return; }
    if (halted) { // MODIFY is refused while halted (CANCEL is not): the engine rejects it
      flags[cur] |= F_REJECT_EXPECTED;
      e.modify(o.account, o.id, o.price, o.qty - by);
      return;
    }
    o.qty -= by;
    e.modify(o.account, o.id, o.price, o.qty);
  };
  /** Takes up to `qty` from the synthetic orders at a level (newest first); returns what it could not. */
  const takeSynthetic = (buy: boolean, price: number, qty: number): number => {
    const level = book.level(buy, price);
    for (let k = level.length - 1; k >= 0 && qty > 0; k--) {
      const o = level[k];
      if (o.account !== SYNTHETIC_ACCOUNT) continue;
      const d = Math.min(qty, o.qty);
      reduce(o, d);
      qty -= d;
    }
    return qty;
  };
  /**
   * Takes `qty` from the LOBSTER orders of a level (not `except`): liquidity that, by the level's
   * total, must have left unseen. Whole orders adding up to exactly `qty` if there are such (see
   * wholeOrders), else the oldest first, the last one partly. Returns what it could not take.
   * (Measured on the GOOG sample: whole-orders-oldest-first gives 7,671 of 7,765 executions against
   * the named order; plain oldest-first 7,639, newest-first 7,651.)
   */
  const takeNamed = (buy: boolean, price: number, qty: number, except?: SOrder): number => {
    const level = book.level(buy, price).filter((o) => o.account === LOBSTER_ACCOUNT && o !== except);
    if (qty <= 0 || level.length === 0) return qty;
    for (const o of wholeOrders(level, qty) ?? level) {
      if (qty === 0) break;
      const d = Math.min(qty, o.qty);
      reduce(o, d);
      stats.staleNamedShares += d;
      qty -= d;
    }
    return qty;
  };
  const top = (buy: boolean): [number, number] => {
    const p = book.best(buy);
    return p === undefined ? [buy ? EMPTY_BID : EMPTY_ASK, 0] : [p, book.total(buy, p)];
  };
  const crosses = (buy: boolean, limit: number, p: number) => (buy ? p <= limit : p >= limit);

  /** Materializes an unseen order id at the position of the first synthetic order of its level. */
  const materialize = (id: number, buy: boolean, price: number, qty: number, i: number): void => {
    const level = book.level(buy, price).slice();
    let at = level.findIndex((o) => o.account === SYNTHETIC_ACCOUNT);
    let cover = 0;
    for (const o of level) if (o.account === SYNTHETIC_ACCOUNT) cover += o.qty;
    if (cover < qty) { stats.uncovered++; flags[i] |= F_UNCOVERED; }
    if (at < 0) at = 0; // no synthetic liquidity: the orders in front must have gone unseen
    // Carve the named order's quantity out of the synthetic orders from `at` on (queue order).
    const requeue = level.slice(at);
    const keepQty = new Map<SOrder, number>();
    let need = qty;
    for (const o of requeue) {
      if (o.account === SYNTHETIC_ACCOUNT && need > 0) {
        const d = Math.min(need, o.qty);
        need -= d;
        keepQty.set(o, o.qty - d);
      } else {
        keepQty.set(o, o.qty);
      }
    }
    if (requeue.length > 0) {
      stats.requeues++;
      stats.requeuedOrders += requeue.length;
      flags[i] |= F_REQUEUED;
    }
    for (const o of requeue) cancel(o);
    const named = rest(LOBSTER_ACCOUNT, buy, id, price, qty);
    for (const o of requeue) {
      const q = keepQty.get(o)!;
      if (q > 0) rest(o.account, o.buy, o.id, o.price, q);
    }
    // The level's total matched the previous orderbook row, and the named order's shares were part
    // of it: what the synthetic liquidity could not cover was held by named orders that left unseen.
    if (need > 0 && book.best(buy) === price) takeNamed(buy, price, need, named);
  };

  // -- seeding: the level-1 book before message 0 --
  e.addSymbol();
  e.kind = KIND_SEED;
  {
    const r = rows[0];
    const m = messages[0];
    let bid: [number, number] | undefined = r.bidPrice === EMPTY_BID ? undefined : [r.bidPrice, r.bidSize];
    let ask: [number, number] | undefined = r.askPrice === EMPTY_ASK ? undefined : [r.askPrice, r.askSize];
    const mine = m.direction === 1 ? bid : ask;
    if (m.type === 2 || m.type === 3 || m.type === 4) {
      // message 0 removed m.size at m.price: it was there before (at the top, or a level it emptied)
      if (mine && mine[0] === m.price) mine[1] += m.size;
      else if (m.direction === 1) bid = [m.price, m.size];
      else ask = [m.price, m.size];
    } else if (m.type === 1 && mine && mine[0] === m.price) {
      mine[1] -= m.size; // message 0 added it
      if (mine[1] <= 0) { if (m.direction === 1) bid = undefined; else ask = undefined; }
    }
    e.timestamp = m.timeNs;
    if (bid) { synthetic(true, bid[0], bid[1]); stats.seedOrders++; }
    if (ask) { synthetic(false, ask[0], ask[1]); stats.seedOrders++; }
  }

  for (let i = 0; i < n; i++) {
    const m = messages[i];
    const buy = m.direction === 1;
    cur = i;
    messageStart[i] = e.count;
    e.timestamp = m.timeNs;
    stats.byType[m.type] = (stats.byType[m.type] ?? 0) + 1;
    if (halted) flags[i] |= F_HALTED;

    // -- unknown order ids (from the message alone) --
    let known = book.orders.get(m.orderId);
    if (known && (known.account !== LOBSTER_ACCOUNT || known.buy !== buy || known.price !== m.price)) known = undefined;
    e.kind = KIND_PREFIX;
    if ((m.type === 2 || m.type === 3 || m.type === 4) && !known) {
      flags[i] |= F_UNKNOWN_ID;
      if (m.type === 4) {
        stats.unknownIds.execution++;
        if (!halted) materialize(m.orderId, buy, m.price, m.size, i); // (while halted the IOC is refused anyway)
        known = book.orders.get(m.orderId);
      } else {
        if (m.type === 2) stats.unknownIds.partialCancel++; else stats.unknownIds.delete++;
        // its effect: the liquidity it names leaves the synthetic part of its level
        e.kind = KIND_MESSAGE;
        const short = takeSynthetic(buy, m.price, m.size);
        if (short > 0) {
          stats.uncovered++;
          flags[i] |= F_UNCOVERED;
          // as in materialize(): the level total was right, so the rest left with unseen named orders
          if (book.best(buy) === m.price) takeNamed(buy, m.price, short);
        }
      }
    }

    // -- the message's own command --
    e.kind = KIND_MESSAGE;
    switch (m.type) {
      case 1:
        if (halted) {
          flags[i] |= F_REJECT_EXPECTED; // NEW while halted: the engine rejects it
          e.newOrder(LOBSTER_ACCOUNT, buy, m.orderId, m.price, m.size, L.TIF_GTC);
        } else if (book.orders.has(m.orderId)) {
          flags[i] |= F_REJECT_EXPECTED; // duplicate id: rejected
          e.newOrder(LOBSTER_ACCOUNT, buy, m.orderId, m.price, m.size, L.TIF_GTC);
        } else {
          rest(LOBSTER_ACCOUNT, buy, m.orderId, m.price, m.size);
        }
        break;
      case 2:
        if (known) {
          if (m.size >= known.qty) stats.partialCancelsToZero++;
          if (halted && m.size < known.qty) { flags[i] |= F_REJECT_EXPECTED; e.modify(LOBSTER_ACCOUNT, known.id, known.price, known.qty - m.size); }
          else reduce(known, m.size);
        }
        break;
      case 3:
        if (known) {
          if (known.qty !== m.size) stats.deleteSizeMismatches++;
          cancel(known);
        }
        break;
      case 4: {
        const level = book.level(buy, m.price);
        if (!known || level[0] !== known || book.best(buy) !== m.price) { stats.executionsNotAtHead++; flags[i] |= F_NOT_AT_HEAD; }
        iocAt[i] = e.newOrder(AGGRESSOR_ACCOUNT, !buy, nextAggressor++, m.price, m.size, L.TIF_IOC);
        if (halted) { flags[i] |= F_REJECT_EXPECTED; break; }
        let rem = m.size;
        while (rem > 0) {
          const p = book.best(buy);
          if (p === undefined || !crosses(!buy, m.price, p)) break;
          const head = book.level(buy, p)[0];
          const q = Math.min(rem, head.qty);
          head.qty -= q;
          rem -= q;
          if (head.qty === 0) book.remove(head);
        }
        break;
      }
      case 5:
        stats.hiddenExecutions++;
        break;
      case 7:
        if (m.price === -1) { stats.halts++; e.halt(); halted = true; }
        else { stats.resumes++; e.resume(); halted = false; }
        break;
    }
    measureAt[i] = e.count;
    const [bp, bs] = top(true);
    const [ap, as] = top(false);
    shadowTop.set([ap, as, bp, bs], i * 4);

    // -- resync to orderbook row i (after the measure point) --
    e.kind = KIND_RESYNC;
    const r = rows[i];
    if (!halted && (ap !== r.askPrice || as !== r.askSize || bp !== r.bidPrice || bs !== r.bidSize)) {
      flags[i] |= F_RESYNC;
      stats.resyncRows++;
      const sides: [boolean, number, number][] = [[true, r.bidPrice, r.bidSize], [false, r.askPrice, r.askSize]];
      for (const [b, price] of sides) {
        const empty = b ? price === EMPTY_BID : price === EMPTY_ASK;
        for (let p = book.best(b); p !== undefined && (empty || (b ? p > price : p < price)); p = book.best(b)) {
          stats.resync.staleLevelsCancelled++;
          for (const o of book.level(b, p).slice()) { cancel(o); stats.resync.staleOrdersCancelled++; }
        }
      }
      for (const [b, price, size] of sides) {
        if (b ? price === EMPTY_BID : price === EMPTY_ASK) continue;
        const have = book.total(b, price);
        if (have < size) {
          synthetic(b, price, size - have);
          stats.resync.injections++;
          stats.resync.injectedShares += size - have;
        } else if (have > size) {
          let excess = have - size;
          stats.resync.reductions++;
          stats.resync.reducedShares += excess;
          excess = takeSynthetic(b, price, excess);
          takeNamed(b, price, excess);
        }
      }
    }
  }
  messageStart[n] = e.count;
  for (let k = 0; k < e.count; k++) {
    const name = KIND_NAMES[e.kinds[k]];
    stats.commandsByKind[name] = (stats.commandsByKind[name] ?? 0) + 1;
  }
  stats.commands = e.count;
  stats.peakLiveOrders = peakLive;
  return {
    day, commands: e.bytes.subarray(0, e.count * L.CMD_SIZE), count: e.count, kinds: e.kinds.subarray(0, e.count),
    messageStart, measureAt, iocAt, flags, shadowTop, stats, maxLiveOrders: peakLive,
  };
}

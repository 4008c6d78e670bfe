// MarketDataSubscriber: builds L1, L2 (and optionally L3) books per symbol from the market-data
// stream (docs/MARKETDATA.md), over UDP (with TCP or WebSocket for snapshots), or over TCP or
// WebSocket alone.
//
// Book channels (L2, L3) are kept exact: each message's per-symbol sequence must be the previous
// one + 1. A jump (a lost datagram, or joining late) is a gap: the subscriber asks the publisher
// (over its TCP or WebSocket connection) for a snapshot of that symbol, buffers the symbol's
// incrementals meanwhile, replaces the book with the snapshot (valid at sequence S) and applies
// the buffered messages after S, in order.
// A periodic snapshot in the stream newer than the book also repairs it. BBO and TRADE are not
// recovered (a BBO is whole state, a trade is history); their gaps are counted.
//
// This side allocates freely (Maps, copies of buffered messages): it serves tests, tools and
// clients, not the engine's hot path.
import dgram from 'node:dgram';
import net from 'node:net';
import { WebSocket, type RawData } from 'ws';
import * as L from '../../assembly/layout.js';
import * as M from '../../assembly/marketdata-layout.js';
import { WS_CLOSE } from './websocket.js';
import { MessageStream, messageLength, readI64, readU32, encodeSnapshotRequest, encodeSubscribe } from './codec.js';

export interface SubscriberOptions {
  /**
   * Receive the stream by UDP: bind this port (0: ephemeral, see `udpPort`) on `host` (default
   * 127.0.0.1; with `group`, the group is joined and the socket binds every address).
   */
  udp?: { port?: number; host?: string; group?: string; interface?: string; type?: 'udp4' | 'udp6'; recvBufferSize?: number };
  /** The publisher's TCP port: snapshots, and the stream itself when `udp` is not given. */
  tcp?: { host?: string; port: number };
  /**
   * Or the publisher's WebSocket endpoint (e.g. 'ws://127.0.0.1:7072'): the same service as `tcp`
   * (one of the two).
   */
  ws?: { url: string };
  /** Channels wanted (default trades, L1, L2). */
  channels?: number[];
  /** Symbols wanted (default every symbol). */
  symbols?: number[];
}

export interface BookLevel { price: number; quantity: number; orders: number }
export interface Trade { symbol: number; seq: number; price: number; quantity: number; tradeId: number; makerId: number; takerId: number; side: number }
export interface Bbo { bid?: BookLevel; ask?: BookLevel; seq: number }
export interface QueueEntry { orderId: number; quantity: number }

export interface SubscriberStats {
  messages: number;
  datagrams: number;
  /** Per-symbol sequence jumps on book channels (each starts a recovery). */
  gaps: number;
  /** Channel-sequence jumps seen on UDP (lost datagrams of any symbol). */
  channelGaps: number;
  /** Trades missed while subscribed (jumps after the symbol's first trade seen: joining late is no loss). */
  tradeGaps: number;
  /** BBO updates missed while subscribed (as tradeGaps; a BBO is whole state, so nothing is wrong after the next). */
  bboGaps: number;
  snapshotRequests: number;
  snapshotsApplied: number;
  /** Recoveries completed (a snapshot applied while recovering). */
  recoveries: number;
  /** Messages buffered during recoveries. */
  buffered: number;
  /** L3 messages naming an order the book does not hold (a bug if ever > 0 while in sync). */
  l3Errors: number;
  malformed: number;
}

/** The subscriber's connection to the publisher, TCP or WebSocket. */
interface ServerLink {
  send(bytes: Uint8Array): void;
  readonly open: boolean;
  /** Ends it at once (the server sent something malformed). */
  abort(): void;
  close(): Promise<void>;
}

interface L3Order { side: number; price: number; quantity: number }

class L3Book {
  readonly orders = new Map<number, L3Order>();
  readonly queues = [new Map<number, number[]>(), new Map<number, number[]>()];
  private q(side: number, price: number): number[] {
    const m = this.queues[side === L.SIDE_BUY ? 0 : 1];
    let q = m.get(price);
    if (q === undefined) m.set(price, (q = []));
    return q;
  }
  add(id: number, side: number, price: number, quantity: number): void {
    this.orders.set(id, { side, price, quantity });
    this.q(side, price).push(id);
  }
  remove(id: number): boolean {
    const o = this.orders.get(id);
    if (o === undefined) return false;
    this.orders.delete(id);
    const m = this.queues[o.side === L.SIDE_BUY ? 0 : 1];
    const q = m.get(o.price)!;
    q.splice(q.indexOf(id), 1);
    if (q.length === 0) m.delete(o.price);
    return true;
  }
  clear(): void {
    this.orders.clear();
    this.queues[0].clear();
    this.queues[1].clear();
  }
}

class Assembly {
  seq = 0;
  parts = 0;
  next = 0;
  chunks: Uint8Array[] = [];
}

class SymbolState {
  readonly bids = new Map<number, BookLevel>();
  readonly asks = new Map<number, BookLevel>();
  readonly l3 = new L3Book();
  bbo: Bbo = { seq: 0 };
  /** Last applied per-symbol sequence, per channel. */
  readonly seq = new Float64Array(M.CH_MAX + 1);
  readonly recovering = [false, false, false, false, false];
  readonly buffer: Uint8Array[][] = [[], [], [], [], []];
  /** Snapshot parts being collected: [channel * 2 + (udp ? 1 : 0)]. */
  readonly assembly: (Assembly | undefined)[] = [];
}

const sortLevels = (m: Map<number, BookLevel>, bids: boolean): BookLevel[] =>
  [...m.values()].sort((a, b) => (bids ? b.price - a.price : a.price - b.price)).map((l) => ({ ...l }));

export class MarketDataSubscriber {
  readonly stats: SubscriberStats = {
    messages: 0, datagrams: 0, gaps: 0, channelGaps: 0, tradeGaps: 0, bboGaps: 0, snapshotRequests: 0, snapshotsApplied: 0,
    recoveries: 0, buffered: 0, l3Errors: 0, malformed: 0,
  };
  /** Every trade received, in order. */
  readonly trades: Trade[] = [];
  /** The bound UDP port (when receiving by UDP). */
  udpPort = 0;
  /** When the server closed the WebSocket connection: its close code and reason (e.g. 1008, a slow consumer). */
  disconnected: { code: number; reason: string } | undefined;

  private readonly states = new Map<number, SymbolState>();
  private readonly channelMask: number;
  private readonly symbolSet: Set<number> | undefined;
  private readonly lastChannelSeq = new Float64Array(M.CH_MAX + 1);
  private udp: dgram.Socket | undefined;
  /** The TCP or WebSocket connection: requests out, the stream or answers in. */
  private link: ServerLink | undefined;
  private readonly stream = new MessageStream();
  private requestId = 0;
  private closed = false;

  private constructor(options: SubscriberOptions) {
    let mask = 0;
    for (const ch of options.channels ?? [M.CH_TRADES, M.CH_L1, M.CH_L2]) mask |= 1 << ch;
    this.channelMask = mask;
    this.symbolSet = options.symbols ? new Set(options.symbols) : undefined;
  }

  /** Opens the sockets: UDP (if asked), TCP or WebSocket (if given); without UDP, subscribes. */
  static async connect(options: SubscriberOptions): Promise<MarketDataSubscriber> {
    if (options.tcp && options.ws) throw new TypeError('a subscriber takes tcp or ws, not both');
    if (!options.udp && !options.tcp && !options.ws) throw new TypeError('a subscriber needs udp, tcp or ws (udp may go with either)');
    const s = new MarketDataSubscriber(options);
    if (options.udp) await s.openUdp(options.udp);
    if (options.tcp) await s.openTcp(options.tcp);
    if (options.ws) await s.openWs(options.ws);
    if (!options.udp) {
      for (const sym of options.symbols ?? [0]) s.link!.send(encodeSubscribe(sym, s.channelMask));
    }
    return s;
  }

  private async openUdp(o: NonNullable<SubscriberOptions['udp']>): Promise<void> {
    const type = o.type ?? 'udp4';
    const sock = dgram.createSocket({ type, reuseAddr: o.group !== undefined });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port: o.port ?? 0, address: o.group !== undefined ? undefined : (o.host ?? (type === 'udp6' ? '::1' : '127.0.0.1')) }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    if (o.group !== undefined) sock.addMembership(o.group, o.interface);
    try {
      sock.setRecvBufferSize(o.recvBufferSize ?? 4 << 20);
    } catch {
      // capped by the system: fine, gaps are recovered
    }
    sock.on('message', (msg: Buffer) => this.onDatagram(msg));
    sock.on('error', () => { /* a receive error: the sequence numbers will show what was lost */ });
    this.udp = sock;
    this.udpPort = sock.address().port;
  }

  /**
   * A subscriber without sockets: feed it with handle() (tests, or a transport of your own).
   * Snapshot requests go nowhere until attachTcp().
   */
  static detached(options: Omit<SubscriberOptions, 'udp' | 'tcp'> = {}): MarketDataSubscriber {
    return new MarketDataSubscriber(options);
  }

  /** Connects to the publisher's TCP port for snapshot requests (when it was not given to connect()). */
  attachTcp(o: NonNullable<SubscriberOptions['tcp']>): Promise<void> {
    return this.openTcp(o);
  }

  /** Feeds one datagram's bytes (what the UDP socket does). */
  handleDatagram(msg: Uint8Array): void {
    this.onDatagram(msg);
  }

  private async openTcp(o: NonNullable<SubscriberOptions['tcp']>): Promise<void> {
    const sock = net.connect({ host: o.host ?? '127.0.0.1', port: o.port });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onTcpData(chunk));
    sock.on('error', () => { /* closed */ });
    this.link = {
      send: (bytes) => sock.write(bytes),
      get open() {
        return !sock.destroyed;
      },
      abort: () => sock.destroy(),
      close: () => new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        sock.once('close', () => resolve());
        sock.end();
        sock.destroy();
      }),
    };
  }

  private async openWs(o: NonNullable<SubscriberOptions['ws']>): Promise<void> {
    const ws = new WebSocket(o.url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve();
      });
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onWsFrame(data as Buffer, isBinary));
    ws.on('error', () => { /* closed */ });
    ws.on('close', (code: number, reason: Buffer) => {
      if (!this.closed) this.disconnected = { code, reason: reason.toString() };
    });
    this.link = {
      send: (bytes) => ws.send(bytes),
      get open() {
        return ws.readyState === ws.OPEN;
      },
      abort: () => ws.close(WS_CLOSE.PROTOCOL_ERROR, 'malformed market-data message'),
      close: () => new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.terminate();
      }),
    };
  }

  // ---- queries -------------------------------------------------------------------------------

  /** L2 book of `symbol`, best first on each side (the shape of Engine.depth()). */
  book(symbol: number): { bids: BookLevel[]; asks: BookLevel[] } {
    const st = this.states.get(symbol);
    if (!st) return { bids: [], asks: [] };
    return { bids: sortLevels(st.bids, true), asks: sortLevels(st.asks, false) };
  }

  /** L3 book of `symbol`: levels best first, each with its orders in time priority. */
  orders(symbol: number): { bids: { price: number; orders: QueueEntry[] }[]; asks: { price: number; orders: QueueEntry[] }[] } {
    const st = this.states.get(symbol);
    const side = (i: number) => {
      if (!st) return [];
      const m = st.l3.queues[i];
      const prices = [...m.keys()].sort((a, b) => (i === 0 ? b - a : a - b));
      return prices.map((price) => ({ price, orders: m.get(price)!.map((orderId) => ({ orderId, quantity: st.l3.orders.get(orderId)!.quantity })) }));
    };
    return { bids: side(0), asks: side(1) };
  }

  bbo(symbol: number): Bbo {
    const b = this.states.get(symbol)?.bbo ?? { seq: 0 };
    return { ...b };
  }

  /** Last applied per-symbol sequence on `channel`. */
  seq(channel: number, symbol: number): number {
    return this.states.get(symbol)?.seq[channel] ?? 0;
  }

  /** Whether `symbol`'s book on `channel` (default L2) waits for a snapshot. */
  recovering(symbol: number, channel: number = M.CH_L2): boolean {
    return this.states.get(symbol)?.recovering[channel] ?? false;
  }

  /** Symbols seen. */
  symbols(): number[] {
    return [...this.states.keys()].sort((a, b) => a - b);
  }

  /** Requests snapshots of `symbol` over TCP or WebSocket (L2 and/or L3): used by recovery, public for tools. */
  requestSnapshot(symbol: number, what: number): void {
    if (this.link === undefined || !this.link.open) return;
    this.stats.snapshotRequests++;
    this.link.send(encodeSnapshotRequest(symbol, what, ++this.requestId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.udp) {
      const u = this.udp;
      await new Promise<void>((resolve) => u.close(() => resolve()));
    }
    await this.link?.close();
  }

  // ---- input ---------------------------------------------------------------------------------

  private onDatagram(msg: Uint8Array): void {
    this.stats.datagrams++;
    let at = 0;
    while (at < msg.length) {
      const len = messageLength(msg, at, msg.length - at);
      if (len <= 0 || at + len > msg.length) {
        this.stats.malformed++;
        return;
      }
      this.handle(msg, at, true);
      at += len;
    }
  }

  private onTcpData(chunk: Buffer): void {
    const s = this.stream;
    s.feed(chunk);
    for (;;) {
      const t = s.next();
      if (t === 0) return;
      if (t < 0) {
        this.stats.malformed++;
        this.link?.abort();
        return;
      }
      this.handle(s.buf, s.at, false);
    }
  }

  /** A WebSocket frame: whole messages (docs/MARKETDATA.md), read like a datagram but without the UDP checks. */
  private onWsFrame(frame: Buffer, isBinary: boolean): void {
    for (let at = 0; at < frame.length;) {
      const len = isBinary ? messageLength(frame, at, frame.length - at) : -1;
      if (len <= 0 || at + len > frame.length) {
        this.stats.malformed++;
        this.link?.abort();
        return;
      }
      this.handle(frame, at, false);
      at += len;
    }
  }

  private state(symbol: number): SymbolState {
    let st = this.states.get(symbol);
    if (st === undefined) {
      st = new SymbolState();
      this.states.set(symbol, st);
    }
    return st;
  }

  /** One message (already framed). Public for tests that feed bytes directly. */
  handle(b: Uint8Array, at: number, viaUdp: boolean): void {
    const type = b[at + M.MD_TYPE];
    const ch = b[at + M.MD_CHANNEL];
    const flags = b[at + M.MD_FLAGS];
    const symbol = readU32(b, at + M.MD_SYMBOL);
    if (ch > M.CH_MAX || (this.channelMask & (1 << ch)) === 0) return;
    if (this.symbolSet !== undefined && !this.symbolSet.has(symbol)) return;
    this.stats.messages++;
    if (viaUdp && (flags & M.MDF_REPLAY) === 0) {
      const cseq = readI64(b, at + M.MD_CHANNEL_SEQ);
      const last = this.lastChannelSeq[ch];
      if (last !== 0 && cseq > last + 1) this.stats.channelGaps++;
      if (cseq > last) this.lastChannelSeq[ch] = cseq;
    }
    const seq = readI64(b, at + M.MD_SYMBOL_SEQ);
    const st = this.state(symbol);
    const body = at + M.MD_HEADER_SIZE;
    switch (type) {
      case M.MDM_TRADE: {
        if (seq <= st.seq[ch]) return;
        if (st.seq[ch] !== 0 && seq > st.seq[ch] + 1) this.stats.tradeGaps++;
        st.seq[ch] = seq;
        this.trades.push({
          symbol, seq,
          price: readI64(b, body + M.TRADE_PRICE), quantity: readI64(b, body + M.TRADE_QUANTITY), tradeId: readI64(b, body + M.TRADE_ID),
          makerId: readI64(b, body + M.TRADE_MAKER_ID), takerId: readI64(b, body + M.TRADE_TAKER_ID), side: b[body + M.TRADE_SIDE],
        });
        return;
      }
      case M.MDM_BBO: {
        if ((flags & M.MDF_REPLAY) !== 0 ? seq < st.seq[ch] : seq <= st.seq[ch]) return;
        if ((flags & M.MDF_REPLAY) === 0 && st.seq[ch] !== 0 && seq > st.seq[ch] + 1) this.stats.bboGaps++;
        st.seq[ch] = seq;
        const level = (p: number, q: number, n: number): BookLevel | undefined =>
          (q === 0 ? undefined : { price: readI64(b, body + p), quantity: readI64(b, body + q), orders: readU32(b, body + n) });
        st.bbo = {
          seq,
          bid: readI64(b, body + M.BBO_BID_QUANTITY) === 0 ? undefined : level(M.BBO_BID_PRICE, M.BBO_BID_QUANTITY, M.BBO_BID_ORDERS),
          ask: readI64(b, body + M.BBO_ASK_QUANTITY) === 0 ? undefined : level(M.BBO_ASK_PRICE, M.BBO_ASK_QUANTITY, M.BBO_ASK_ORDERS),
        };
        return;
      }
      case M.MDM_LEVEL:
      case M.MDM_ORDER_ADD:
      case M.MDM_ORDER_MODIFY:
      case M.MDM_ORDER_DELETE:
      case M.MDM_ORDER_EXECUTE:
        this.incremental(st, symbol, ch, b, at, seq);
        return;
      case M.MDM_L2_SNAPSHOT:
      case M.MDM_L3_SNAPSHOT:
        this.snapshotPart(st, symbol, ch, b, at, seq, viaUdp);
        return;
      default:
        this.stats.malformed++;
    }
  }

  private incremental(st: SymbolState, symbol: number, ch: number, b: Uint8Array, at: number, seq: number): void {
    if (st.recovering[ch]) {
      st.buffer[ch].push(b.slice(at, at + readU32(b, at + M.MD_LENGTH)));
      this.stats.buffered++;
      return;
    }
    const last = st.seq[ch];
    if (seq <= last) return; // a duplicate (e.g. already covered by a snapshot)
    if (seq === last + 1) {
      this.apply(st, b, at);
      st.seq[ch] = seq;
      return;
    }
    this.stats.gaps++;
    st.buffer[ch].push(b.slice(at, at + readU32(b, at + M.MD_LENGTH)));
    this.stats.buffered++;
    this.recover(st, symbol, ch);
  }

  private recover(st: SymbolState, symbol: number, ch: number): void {
    st.recovering[ch] = true;
    this.requestSnapshot(symbol, ch === M.CH_L3 ? M.SNAP_WANT_L3 : M.SNAP_WANT_L2);
  }

  /** Applies one incremental book message. */
  private apply(st: SymbolState, b: Uint8Array, at: number): void {
    const body = at + M.MD_HEADER_SIZE;
    const type = b[at + M.MD_TYPE];
    if (type === M.MDM_LEVEL) {
      const side = b[body + M.LEVEL_SIDE] === L.SIDE_BUY ? st.bids : st.asks;
      const price = readI64(b, body + M.LEVEL_PRICE);
      const quantity = readI64(b, body + M.LEVEL_QUANTITY);
      if (quantity === 0) side.delete(price);
      else side.set(price, { price, quantity, orders: readU32(b, body + M.LEVEL_ORDERS) });
      return;
    }
    const id = readI64(b, body + M.ORD_ID);
    const qty = readI64(b, body + M.ORD_QUANTITY);
    const l3 = st.l3;
    switch (type) {
      case M.MDM_ORDER_ADD:
        if (l3.orders.has(id)) this.stats.l3Errors++;
        else l3.add(id, b[body + M.ORD_SIDE], readI64(b, body + M.ORD_PRICE), qty);
        return;
      case M.MDM_ORDER_MODIFY: {
        const o = l3.orders.get(id);
        if (o === undefined) this.stats.l3Errors++;
        else o.quantity = qty;
        return;
      }
      case M.MDM_ORDER_DELETE:
        if (!l3.remove(id)) this.stats.l3Errors++;
        return;
      default: { // EXECUTE
        const o = l3.orders.get(id);
        if (o === undefined) this.stats.l3Errors++;
        else if ((o.quantity -= qty) <= 0) l3.remove(id);
      }
    }
  }

  private snapshotPart(st: SymbolState, symbol: number, ch: number, b: Uint8Array, at: number, seq: number, viaUdp: boolean): void {
    const f = at + M.MD_HEADER_SIZE;
    const part = readU32(b, f + M.SNAP_PART);
    const parts = readU32(b, f + M.SNAP_PARTS);
    const rows = readU32(b, f + M.SNAP_ROWS);
    const key = ch * 2 + (viaUdp ? 1 : 0);
    let a = st.assembly[key];
    if (part === 0) {
      a = new Assembly();
      a.seq = seq;
      a.parts = parts;
      st.assembly[key] = a;
    } else if (a === undefined || a.next !== part || a.seq !== seq || a.parts !== parts) {
      st.assembly[key] = undefined; // a part is missing: wait for the next snapshot
      return;
    }
    const rowSize = ch === M.CH_L3 ? M.L3_ROW_SIZE : M.L2_ROW_SIZE;
    a.chunks.push(b.slice(f + M.BODY_SNAPSHOT, f + M.BODY_SNAPSHOT + rows * rowSize));
    a.next = part + 1;
    if (a.next < a.parts) return;
    st.assembly[key] = undefined;
    this.applySnapshot(st, symbol, ch, a);
  }

  private applySnapshot(st: SymbolState, symbol: number, ch: number, a: Assembly): void {
    const seq = a.seq;
    // Never go back in time; when in sync, a snapshot at our own sequence brings nothing.
    if (seq < st.seq[ch] || (!st.recovering[ch] && seq === st.seq[ch])) return;
    if (ch === M.CH_L2) {
      st.bids.clear();
      st.asks.clear();
      for (const c of a.chunks) {
        for (let r = 0; r < c.length; r += M.L2_ROW_SIZE) {
          const price = readI64(c, r + M.L2_ROW_PRICE);
          const level = { price, quantity: readI64(c, r + M.L2_ROW_QUANTITY), orders: readU32(c, r + M.L2_ROW_ORDERS) };
          (c[r + M.L2_ROW_SIDE] === L.SIDE_BUY ? st.bids : st.asks).set(price, level);
        }
      }
    } else {
      st.l3.clear();
      for (const c of a.chunks) {
        for (let r = 0; r < c.length; r += M.L3_ROW_SIZE) {
          st.l3.add(readI64(c, r + M.L3_ROW_ORDER_ID), c[r + M.L3_ROW_SIDE], readI64(c, r + M.L3_ROW_PRICE), readI64(c, r + M.L3_ROW_QUANTITY));
        }
      }
    }
    st.seq[ch] = seq;
    this.stats.snapshotsApplied++;
    if (st.recovering[ch]) this.stats.recoveries++;
    st.recovering[ch] = false;
    // Replay what arrived meanwhile: skip what the snapshot covers, stop at the next hole.
    const buffered = st.buffer[ch];
    st.buffer[ch] = [];
    for (let i = 0; i < buffered.length; i++) {
      const m = buffered[i];
      const q = readI64(m, M.MD_SYMBOL_SEQ);
      if (q <= st.seq[ch]) continue;
      if (q === st.seq[ch] + 1) {
        this.apply(st, m, 0);
        st.seq[ch] = q;
        continue;
      }
      this.stats.gaps++;
      st.buffer[ch] = buffered.slice(i);
      this.recover(st, symbol, ch);
      return;
    }
  }
}

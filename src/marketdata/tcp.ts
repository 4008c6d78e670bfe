// The TCP transport: subscribers connect, send SUBSCRIBE (channels, a symbol or all) and get a
// snapshot of each subscribed book (L1: the current BBO; L2: an L2 snapshot; L3: an L3 snapshot),
// then the incremental stream of those channels and symbols; any connection may send
// SNAPSHOT_REQUEST (a symbol; L2 and/or L3) and gets the snapshot tagged with the per-symbol
// sequence it is valid at (MD_SYMBOL_SEQ) and its request id (MD_REF). Answers are written at once,
// between engine batches, so a snapshot at sequence S is followed on the same connection by
// exactly the messages after S. Stream bytes are copied per connection and written once per flush.
import net from 'node:net';
import * as M from '../../assembly/marketdata-layout.js';
import { MessageStream, readU32 } from './codec.js';
import type { MarketDataPublisher, MarketDataSink } from './publisher.js';
import { Writer } from './writer.js';

export interface TcpOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port (see `port`). */
  port?: number;
  /** A connection whose unsent output exceeds this is closed (slow consumer). Default 16 MiB. */
  maxOutboundBytes?: number;
  /**
   * Whether the L3 source (the engine) is in step with the events published so far. When the
   * publisher is fed after the engine ran ahead (the server's durable-batch hook), L3 snapshot
   * answers wait until this is true, checked after each flush. Default: always in step.
   */
  l3InStep?: () => boolean;
}

class Connection {
  /** Channel mask for every symbol, and per symbol. */
  allMask = 0;
  /** Has subscribed to something. */
  any = false;
  readonly masks: Uint8Array;
  readonly stream = new MessageStream();
  readonly out = new Writer(4096);
  constructor(readonly socket: net.Socket, maxSymbols: number) {
    this.masks = new Uint8Array(maxSymbols + 1);
  }
  wants(channel: number, symbol: number): boolean {
    const mask = symbol < this.masks.length ? this.allMask | this.masks[symbol] : this.allMask;
    return (mask & (1 << channel)) !== 0;
  }
}

export class TcpServer implements MarketDataSink {
  port = 0;
  readonly stats = { connections: 0, snapshotRequests: 0, subscribes: 0, slowConsumers: 0, protocolErrors: 0, deferredL3: 0 };
  private readonly server: net.Server;
  private readonly conns = new Set<Connection>();
  private readonly maxOutbound: number;
  private readonly deferredL3: { c: Connection; symbol: number; ref: number }[] = [];

  constructor(private readonly publisher: MarketDataPublisher, private readonly options: TcpOptions = {}) {
    this.maxOutbound = options.maxOutboundBytes ?? 16 << 20;
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const c = new Connection(socket, this.publisher.maxSymbols);
    this.conns.add(c);
    this.stats.connections++;
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('error', () => { /* closed below */ });
    socket.on('close', () => this.conns.delete(c));
  }

  private onData(c: Connection, chunk: Buffer): void {
    const s = c.stream;
    s.feed(chunk);
    for (;;) {
      const type = s.next();
      if (type === 0) break;
      if (type < 0 || (type !== M.MDM_SUBSCRIBE && type !== M.MDM_SNAPSHOT_REQUEST)) {
        this.stats.protocolErrors++;
        c.socket.destroy();
        return;
      }
      const b = s.buf;
      const at = s.at;
      const symbol = readU32(b, at + M.MD_SYMBOL);
      if (symbol > this.publisher.maxSymbols) continue; // no such symbol: nothing to send
      if (type === M.MDM_SUBSCRIBE) {
        this.stats.subscribes++;
        const mask = readU32(b, at + M.MD_HEADER_SIZE + M.SUB_CHANNELS) & (((1 << (M.CH_MAX + 1)) - 1) & ~(1 << M.CH_CONTROL));
        const symbols = symbol === 0 ? this.publisher.symbols() : [symbol];
        if (symbol === 0) c.allMask |= mask;
        else c.masks[symbol] |= mask;
        if (mask !== 0) c.any = true;
        for (const sym of symbols) this.writeState(c, sym, mask, 0);
      } else {
        this.stats.snapshotRequests++;
        const what = readU32(b, at + M.MD_HEADER_SIZE + M.REQ_WHAT);
        const id = readU32(b, at + M.MD_HEADER_SIZE + M.REQ_ID);
        let mask = 0;
        if (what & M.SNAP_WANT_L2) mask |= 1 << M.CH_L2;
        if (what & M.SNAP_WANT_L3) mask |= 1 << M.CH_L3;
        this.writeState(c, symbol, mask, id);
      }
    }
    this.write(c);
  }

  /** The current state of `symbol` on the channels in `mask`, as MDF_REPLAY messages. */
  private writeState(c: Connection, symbol: number, mask: number, ref: number): void {
    const p = this.publisher;
    if (mask & (1 << M.CH_L1)) p.writeBbo(c.out, symbol, ref);
    if (mask & (1 << M.CH_L2)) p.writeL2Snapshot(c.out, symbol, M.MDF_REPLAY, ref, false);
    if (mask & (1 << M.CH_L3)) {
      const inStep = this.options.l3InStep;
      if (inStep === undefined || inStep()) p.writeL3Snapshot(c.out, symbol, ref);
      else {
        this.stats.deferredL3++;
        this.deferredL3.push({ c, symbol, ref });
      }
    }
  }

  onMessages(bytes: Uint8Array, length: number): void {
    if (this.conns.size === 0) return;
    for (const c of this.conns) {
      if (!c.any) continue;
      let at = 0;
      while (at < length) {
        const len = readU32(bytes, at + M.MD_LENGTH);
        if (c.wants(bytes[at + M.MD_CHANNEL], readU32(bytes, at + M.MD_SYMBOL))) c.out.append(bytes, at, len);
        at += len;
      }
    }
  }

  onFlush(): void {
    for (const c of this.conns) this.write(c);
    if (this.deferredL3.length > 0 && this.options.l3InStep!()) {
      const due = this.deferredL3.splice(0);
      for (const { c, symbol, ref } of due) {
        if (!this.conns.has(c)) continue;
        this.publisher.writeL3Snapshot(c.out, symbol, ref);
        this.write(c);
      }
    }
  }

  private write(c: Connection): void {
    if (c.out.pos === 0 || c.socket.destroyed) {
      c.out.pos = 0;
      return;
    }
    c.socket.write(c.out.take());
    if (c.socket.writableLength > this.maxOutbound) {
      this.stats.slowConsumers++;
      c.socket.destroy();
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.conns) c.socket.destroy();
    });
  }
}

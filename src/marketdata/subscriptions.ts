// What the TCP and WebSocket transports share: each connected subscriber's filter (channels, per
// symbol or for all), its answers to SUBSCRIBE and SNAPSHOT_REQUEST, its copy of the stream (one
// send per flush), and the bound on what it has not read yet: a slow consumer is disconnected with
// a reason, so the publisher never waits for anyone. A transport only moves bytes: it frames the
// client's requests, hands each whole one to request(), and wraps its connection in a
// SubscriberLink.
//
// Answers are written at once, between engine batches, so a snapshot at sequence S is followed
// on the same connection by exactly the messages after S.
import * as M from '../../assembly/marketdata-layout.js';
import { readU32 } from './codec.js';
import type { MarketDataPublisher, MarketDataSink } from './publisher.js';
import { Writer } from './writer.js';

/**
 * Why the server ends a connection: a malformed or unexpected message ('protocol'), data of a kind
 * it does not take (a WebSocket text frame: 'unsupported'), unread output past the bound, shutdown.
 */
export type CloseKind = 'protocol' | 'unsupported' | 'slow-consumer' | 'shutdown';

/** One subscriber's connection, as the transport sees it. */
export interface SubscriberLink {
  /** Sends whole messages; the bytes are the link's to keep. */
  send(bytes: Buffer): void;
  /** Bytes handed to send() that the peer has not taken yet (the kernel's buffer excluded). */
  unsent(): number;
  /** Ends the connection; `reason` is a one-line explanation (a WebSocket close reason; TCP has no place for it). */
  close(kind: CloseKind, reason: string): void;
  readonly closed: boolean;
}

export interface SubscriptionOptions {
  /** A connection whose unsent output exceeds this is closed (slow consumer). Default 16 MiB. */
  maxOutboundBytes?: number;
  /**
   * Whether the L3 source (the engine) is in step with the events published so far. When the
   * publisher is fed after the engine ran ahead (the server's durable-batch hook), L3 snapshot
   * answers wait until this is true, checked after each flush. Default: always in step.
   */
  l3InStep?: () => boolean;
}

export interface SubscriptionStats {
  connections: number;
  snapshotRequests: number;
  subscribes: number;
  slowConsumers: number;
  protocolErrors: number;
  deferredL3: number;
}

/** One connection's subscription state. */
export class Subscription {
  /** Channel mask for every symbol, and per symbol. */
  allMask = 0;
  /** Has subscribed to something. */
  any = false;
  readonly masks: Uint8Array;
  readonly out = new Writer(4096);
  constructor(readonly link: SubscriberLink, maxSymbols: number) {
    this.masks = new Uint8Array(maxSymbols + 1);
  }
  wants(channel: number, symbol: number): boolean {
    const mask = symbol < this.masks.length ? this.allMask | this.masks[symbol] : this.allMask;
    return (mask & (1 << channel)) !== 0;
  }
}

const STREAM_CHANNELS = ((1 << (M.CH_MAX + 1)) - 1) & ~(1 << M.CH_CONTROL);

export class Subscriptions implements MarketDataSink {
  readonly stats: SubscriptionStats = { connections: 0, snapshotRequests: 0, subscribes: 0, slowConsumers: 0, protocolErrors: 0, deferredL3: 0 };
  private readonly subs = new Set<Subscription>();
  private readonly maxOutbound: number;
  private readonly deferredL3: { s: Subscription; symbol: number; ref: number }[] = [];

  constructor(private readonly publisher: MarketDataPublisher, private readonly options: SubscriptionOptions = {}) {
    this.maxOutbound = options.maxOutboundBytes ?? 16 << 20;
  }

  /** A new connection: it receives nothing until it subscribes. */
  open(link: SubscriberLink): Subscription {
    const s = new Subscription(link, this.publisher.maxSymbols);
    this.subs.add(s);
    this.stats.connections++;
    return s;
  }

  /** The connection is gone (the transport's close event). */
  remove(s: Subscription): void {
    this.subs.delete(s);
  }

  /** Ends a connection that broke the protocol, with the reason. */
  protocolError(s: Subscription, reason: string, kind: 'protocol' | 'unsupported' = 'protocol'): void {
    this.stats.protocolErrors++;
    this.end(s, kind, reason);
  }

  /**
   * One whole client message at `at` of `b` (framed by the transport: messageLength() > 0).
   * Answers are buffered; call write(s) after the last one of a read.
   */
  request(s: Subscription, b: Uint8Array, at: number): void {
    const type = b[at + M.MD_TYPE];
    if (type !== M.MDM_SUBSCRIBE && type !== M.MDM_SNAPSHOT_REQUEST) {
      this.protocolError(s, `message type ${type} is not a request (SUBSCRIBE ${M.MDM_SUBSCRIBE} or SNAPSHOT_REQUEST ${M.MDM_SNAPSHOT_REQUEST})`);
      return;
    }
    const symbol = readU32(b, at + M.MD_SYMBOL);
    if (symbol > this.publisher.maxSymbols) return; // no such symbol: nothing to send
    if (type === M.MDM_SUBSCRIBE) {
      this.stats.subscribes++;
      const mask = readU32(b, at + M.MD_HEADER_SIZE + M.SUB_CHANNELS) & STREAM_CHANNELS;
      if (symbol === 0) s.allMask |= mask;
      else s.masks[symbol] |= mask;
      if (mask !== 0) s.any = true;
      for (const sym of symbol === 0 ? this.publisher.symbols() : [symbol]) this.writeState(s, sym, mask, 0);
    } else {
      this.stats.snapshotRequests++;
      const what = readU32(b, at + M.MD_HEADER_SIZE + M.REQ_WHAT);
      const id = readU32(b, at + M.MD_HEADER_SIZE + M.REQ_ID);
      let mask = 0;
      if (what & M.SNAP_WANT_L2) mask |= 1 << M.CH_L2;
      if (what & M.SNAP_WANT_L3) mask |= 1 << M.CH_L3;
      this.writeState(s, symbol, mask, id);
    }
  }

  /** The current state of `symbol` on the channels in `mask`, as MDF_REPLAY messages. */
  private writeState(s: Subscription, symbol: number, mask: number, ref: number): void {
    const p = this.publisher;
    if (mask & (1 << M.CH_L1)) p.writeBbo(s.out, symbol, ref);
    if (mask & (1 << M.CH_L2)) p.writeL2Snapshot(s.out, symbol, M.MDF_REPLAY, ref, false);
    if (mask & (1 << M.CH_L3)) {
      const inStep = this.options.l3InStep;
      if (inStep === undefined || inStep()) p.writeL3Snapshot(s.out, symbol, ref);
      else {
        this.stats.deferredL3++;
        this.deferredL3.push({ s, symbol, ref });
      }
    }
  }

  onMessages(bytes: Uint8Array, length: number): void {
    if (this.subs.size === 0) return;
    for (const s of this.subs) {
      if (!s.any) continue;
      let at = 0;
      while (at < length) {
        const len = readU32(bytes, at + M.MD_LENGTH);
        if (s.wants(bytes[at + M.MD_CHANNEL], readU32(bytes, at + M.MD_SYMBOL))) s.out.append(bytes, at, len);
        at += len;
      }
    }
  }

  onFlush(): void {
    for (const s of this.subs) this.write(s);
    if (this.deferredL3.length > 0 && this.options.l3InStep!()) {
      const due = this.deferredL3.splice(0);
      for (const { s, symbol, ref } of due) {
        if (!this.subs.has(s)) continue;
        this.publisher.writeL3Snapshot(s.out, symbol, ref);
        this.write(s);
      }
    }
  }

  /** Sends what is buffered for `s`: one send; past the outbound bound, the connection is closed. */
  write(s: Subscription): void {
    if (s.out.pos === 0 || s.link.closed) {
      s.out.pos = 0;
      return;
    }
    s.link.send(s.out.take());
    const unsent = s.link.unsent();
    if (unsent > this.maxOutbound) {
      this.stats.slowConsumers++;
      this.end(s, 'slow-consumer', `slow consumer: ${unsent} bytes unread, the limit is ${this.maxOutbound}`);
    }
  }

  /** Ends every connection (shutdown). */
  closeAll(): void {
    for (const s of this.subs) this.end(s, 'shutdown', 'the market-data server is shutting down');
  }

  private end(s: Subscription, kind: CloseKind, reason: string): void {
    this.subs.delete(s);
    s.out.pos = 0;
    if (!s.link.closed) s.link.close(kind, reason);
  }
}

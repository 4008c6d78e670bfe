// The WebSocket transport: the TCP transport's service (subscriptions, snapshot requests, the
// slow-consumer bound: src/marketdata/subscriptions.ts) for clients that speak WebSocket, browsers
// included. Framing (docs/MARKETDATA.md "WebSocket"): every binary frame holds whole messages,
// one or more, each with its MD_LENGTH, never a message cut across frames; so a client reads a
// frame with a DataView and a loop, with no reassembly. Server to client: one frame per flush.
// Client to server: binary frames of whole requests. A text frame, a malformed or cut message, or a
// type that is not a request closes the connection with a code and a reason saying why.
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { messageLength } from './codec.js';
import type { MarketDataPublisher, MarketDataSink } from './publisher.js';
import { Subscriptions, type CloseKind, type Subscription, type SubscriptionOptions } from './subscriptions.js';

export interface WsOptions extends SubscriptionOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port (see `port`). */
  port?: number;
}

/** WebSocket close codes (RFC 6455 section 7.4.1) the server uses. */
export const WS_CLOSE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A malformed or cut message, or a message that is not a request. */
  PROTOCOL_ERROR: 1002,
  /** A text frame: requests are binary. */
  UNSUPPORTED_DATA: 1003,
  /** A slow consumer: its unread output passed the bound. */
  POLICY_VIOLATION: 1008,
} as const;

/** At shutdown, how long peers get to answer the close frame (so they see its reason) before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 1000;

/** Largest frame a client may send (a request is a header and 8 bytes); ws closes a larger frame with 1009. */
const MAX_CLIENT_FRAME = 64 * 1024;

const CODE_OF: Record<CloseKind, number> = {
  protocol: WS_CLOSE.PROTOCOL_ERROR,
  unsupported: WS_CLOSE.UNSUPPORTED_DATA,
  'slow-consumer': WS_CLOSE.POLICY_VIOLATION,
  shutdown: WS_CLOSE.GOING_AWAY,
};

/** A close reason fits a control frame: at most 123 bytes. */
const reasonText = (reason: string) => (Buffer.byteLength(reason) <= 123 ? reason : `${reason.slice(0, 120)}...`);

export class WsServer implements MarketDataSink {
  port = 0;
  private readonly subscriptions: Subscriptions;
  private server: WebSocketServer | undefined;
  private readonly sockets = new Set<WebSocket>();

  constructor(publisher: MarketDataPublisher, private readonly options: WsOptions = {}) {
    this.subscriptions = new Subscriptions(publisher, options);
  }

  get stats() {
    return this.subscriptions.stats;
  }

  async listen(): Promise<number> {
    const server = new WebSocketServer({
      host: this.options.host ?? '127.0.0.1', port: this.options.port ?? 0,
      maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false, clientTracking: false,
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => { /* after listening: only the HTTP server's own errors, which end nothing here */ });
    server.on('connection', (ws) => this.accept(ws));
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    const s = this.subscriptions.open({
      send: (bytes) => ws.send(bytes),
      unsent: () => ws.bufferedAmount,
      close: (kind, reason) => ws.close(CODE_OF[kind], reasonText(reason)),
      get closed() {
        return ws.readyState !== ws.OPEN;
      },
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(s, data as Buffer, isBinary));
    // ws reports bad framing (an oversized frame, bad UTF-8 in a text frame, a bad opcode) here and
    // closes the connection itself with the matching code.
    ws.on('error', () => this.subscriptions.stats.protocolErrors++);
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.subscriptions.remove(s);
    });
  }

  /** One frame from the client: whole requests, binary. (binaryType 'nodebuffer': one Buffer per frame.) */
  private onFrame(s: Subscription, frame: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.subscriptions.protocolError(s, 'text frame: requests are binary frames of whole messages (docs/MARKETDATA.md)', 'unsupported');
      return;
    }
    for (let at = 0; at < frame.length;) {
      const length = messageLength(frame, at, frame.length - at);
      if (length <= 0 || at + length > frame.length) {
        this.subscriptions.protocolError(s, `malformed or cut request at byte ${at} of a ${frame.length}-byte frame (a frame holds whole requests)`);
        return;
      }
      this.subscriptions.request(s, frame, at);
      if (s.link.closed) return;
      at += length;
    }
    this.subscriptions.write(s);
  }

  onMessages(bytes: Uint8Array, length: number): void {
    this.subscriptions.onMessages(bytes, length);
  }

  onFlush(): void {
    this.subscriptions.onFlush();
  }

  /** Closes every connection with 1001 and a reason; peers that do not finish the close handshake within a second are cut. */
  async close(): Promise<void> {
    this.subscriptions.closeAll();
    const server = this.server;
    if (server === undefined) return;
    const open = [...this.sockets].map((ws) => new Promise<void>((resolve) => {
      if (ws.readyState === ws.CLOSED) resolve();
      else ws.once('close', () => resolve());
    }));
    const grace = setTimeout(() => {
      for (const ws of this.sockets) ws.terminate();
    }, SHUTDOWN_GRACE_MS);
    await Promise.all(open);
    clearTimeout(grace);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

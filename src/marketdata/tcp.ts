// The TCP transport: subscribers connect, send SUBSCRIBE (channels, a symbol or all) and get a
// snapshot of each subscribed book (L1: the current BBO; L2: an L2 snapshot; L3: an L3 snapshot),
// then the incremental stream of those channels and symbols; any connection may send
// SNAPSHOT_REQUEST (a symbol; L2 and/or L3) and gets the snapshot tagged with the per-symbol
// sequence it is valid at (MD_SYMBOL_SEQ) and its request id (MD_REF). The subscription logic and
// the slow-consumer bound are src/marketdata/subscriptions.ts (shared with the WebSocket transport);
// this file frames the byte stream (MessageStream) both ways.
import net from 'node:net';
import { MessageStream } from './codec.js';
import type { MarketDataPublisher, MarketDataSink } from './publisher.js';
import { Subscriptions, type Subscription, type SubscriptionOptions } from './subscriptions.js';

export interface TcpOptions extends SubscriptionOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port (see `port`). */
  port?: number;
}

export class TcpServer implements MarketDataSink {
  port = 0;
  private readonly subscriptions: Subscriptions;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(publisher: MarketDataPublisher, private readonly options: TcpOptions = {}) {
    this.subscriptions = new Subscriptions(publisher, options);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  get stats() {
    return this.subscriptions.stats;
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
    this.sockets.add(socket);
    // A byte stream has no place for a close reason: the connection just ends.
    const s = this.subscriptions.open({
      send: (bytes) => socket.write(bytes),
      unsent: () => socket.writableLength,
      close: () => socket.destroy(),
      get closed() {
        return socket.destroyed;
      },
    });
    const stream = new MessageStream();
    socket.on('data', (chunk: Buffer) => this.onData(s, stream, chunk));
    socket.on('error', () => { /* closed below */ });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.subscriptions.remove(s);
    });
  }

  private onData(s: Subscription, stream: MessageStream, chunk: Buffer): void {
    stream.feed(chunk);
    for (;;) {
      const type = stream.next();
      if (type === 0) break;
      if (type < 0) {
        this.subscriptions.protocolError(s, 'malformed message header');
        return;
      }
      this.subscriptions.request(s, stream.buf, stream.at);
      if (s.link.closed) return;
    }
    this.subscriptions.write(s);
  }

  onMessages(bytes: Uint8Array, length: number): void {
    this.subscriptions.onMessages(bytes, length);
  }

  onFlush(): void {
    this.subscriptions.onFlush();
  }

  async close(): Promise<void> {
    this.subscriptions.closeAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}

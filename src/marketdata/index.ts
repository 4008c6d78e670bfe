// Market data for a running engine: createMarketData(engine, options) wires a MarketDataPublisher
// to the UDP, TCP and WebSocket transports (docs/MARKETDATA.md). The caller feeds it every chunk of events
// the engine produces: engine.run((ev) => { ...; md.onEvents(ev); }).
import type { EventReader } from '../batch.js';
import { MarketDataPublisher, type L3Source, type MarketDataSink } from './publisher.js';
import { UdpTransport, type UdpOptions } from './udp.js';
import { TcpServer, type TcpOptions } from './tcp.js';
import { WsServer, WS_CLOSE, type WsOptions } from './websocket.js';

export { MarketDataPublisher, UdpTransport, TcpServer, WsServer, WS_CLOSE };
export type { L3Source, MarketDataSink, UdpOptions, TcpOptions, WsOptions };
export { MarketDataSubscriber } from './subscriber.js';
export type { SubscriberOptions, BookLevel, Trade, Bbo, SubscriberStats } from './subscriber.js';

/** What market data needs of an engine: its symbol table size, and (for L3 snapshots) depth/queue. An Engine fits. */
export interface MarketDataEngine extends L3Source {
  readonly maxSymbols: number;
}

export interface MarketDataOptions {
  /** UDP out (omit for none): destination port, unicast host (default 127.0.0.1) or multicast group. */
  udp?: UdpOptions;
  /** TCP subscribers and snapshot requests (default: 127.0.0.1, an ephemeral port; false: none). */
  tcp?: TcpOptions | false;
  /** WebSocket subscribers and snapshot requests, the TCP service for browsers (omit for none). */
  ws?: WsOptions;
  /** L2 snapshot in the stream after this many LEVEL messages of a symbol (default 0: never). */
  snapshotEvery?: number;
  /** L2 snapshots of every symbol in the stream every this many ms (default 0: never). */
  snapshotIntervalMs?: number;
  /** Largest datagram (default 1400); snapshot parts are cut to fit. */
  mtu?: number;
  /** Answer L3 snapshot requests from the engine's queues (default true). */
  l3Snapshots?: boolean;
  /**
   * When the publisher is fed after the engine ran ahead (durable batches): whether the engine is
   * in step with what was published (e.g. () => md.publisher.lastEngineSeq === gateway.lastSeq).
   * L3 snapshot answers wait for it. Default: always in step (fed inside engine.run).
   */
  l3InStep?: () => boolean;
  /**
   * Start from the engine's current books (default true): needed when the engine already holds
   * orders (a recovered server). `seededSeq`: the engine seq that state is at (default 0).
   */
  seed?: boolean;
  seededSeq?: number;
}

export interface MarketData {
  /** Feed it every chunk of event records, in order (inside engine.run's callback). */
  onEvents(reader: EventReader): void;
  /** Or feed it byte copies of each batch's event records, in order (the server's DurableBatch hook). */
  onBatch(batch: { events: Uint8Array; count: number; lastSeq: number }): void;
  /** Stops the timer, flushes, closes the sockets. */
  close(): Promise<void>;
  /** Resolves when the sockets are bound and listening (rejects if they cannot be). */
  readonly ready: Promise<void>;
  readonly publisher: MarketDataPublisher;
  readonly udp: UdpTransport | undefined;
  readonly tcp: TcpServer | undefined;
  readonly ws: WsServer | undefined;
  /** The TCP port subscribers connect to (0 without TCP, or before `ready`). */
  readonly tcpPort: number;
  /** The WebSocket port subscribers connect to (0 without WebSocket, or before `ready`). */
  readonly wsPort: number;
}

/**
 * Market data for `engine`, returned at once (its sockets open in the background: see `ready`;
 * UDP sends made before then are queued, TCP subscribers can connect once listening).
 */
export function startMarketData(engine: MarketDataEngine, options: MarketDataOptions = {}): MarketData {
  const mtu = options.mtu ?? options.udp?.mtu ?? 1400;
  const publisher = new MarketDataPublisher({
    maxSymbols: engine.maxSymbols,
    snapshotEvery: options.snapshotEvery ?? 0,
    mtu,
    l3: options.l3Snapshots === false ? undefined : engine,
  });
  if (options.seed !== false) publisher.seed(engine, options.seededSeq ?? 0);
  const udp = options.udp ? new UdpTransport({ ...options.udp, mtu }) : undefined;
  if (udp) publisher.addSink(udp);
  const tcp = options.tcp !== false ? new TcpServer(publisher, { ...(options.tcp ?? {}), l3InStep: options.l3InStep }) : undefined;
  if (tcp) publisher.addSink(tcp);
  const ws = options.ws ? new WsServer(publisher, { ...options.ws, l3InStep: options.l3InStep }) : undefined;
  if (ws) publisher.addSink(ws);
  const ready = (async () => {
    if (udp) {
      await udp.bound;
      const err = udp.error;
      if (err) throw err;
    }
    if (tcp) await tcp.listen();
    if (ws) await ws.listen();
  })();
  ready.catch(() => { /* reported to whoever awaits ready */ });
  const every = options.snapshotIntervalMs ?? 0;
  const timer = every > 0 ? setInterval(() => publisher.publishSnapshots(), every) : undefined;
  timer?.unref();
  let closed = false;
  return {
    onEvents: (reader) => publisher.onEvents(reader),
    onBatch: (batch) => publisher.onBatch(batch),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      publisher.flush();
      await ready.catch(() => undefined);
      await udp?.close();
      await tcp?.close();
      await ws?.close();
    },
    ready,
    publisher,
    udp,
    tcp,
    ws,
    get tcpPort() {
      return tcp?.port ?? 0;
    },
    get wsPort() {
      return ws?.port ?? 0;
    },
  };
}

/** startMarketData, resolved once the sockets are ready (closed again if they cannot be). */
export async function createMarketData(engine: MarketDataEngine, options: MarketDataOptions = {}): Promise<MarketData> {
  const md = startMarketData(engine, options);
  try {
    await md.ready;
  } catch (err) {
    await md.close();
    throw err;
  }
  return md;
}

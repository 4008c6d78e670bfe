// The market data hook of `clob start`: every batch's event records, once the batch is durable in
// the journal, in seq order. The market data module (L2/L3 feeds) fills this in; the server calls
// createMarketData() once at start-up and close() at shutdown.
//
// Each batch: commands firstSeq..lastSeq, `count` event records of 64 bytes (`assembly/layout.ts`
// EVT_* offsets; read them with a DataView or `readEvent` of src/records.ts): ACCEPTED, REJECTED,
// TRADE, CANCELLED, MODIFIED, LEVEL (a price level's new total and order count) and
// SYMBOL_STATUS, in the order the engine wrote them. `events` is a copy: it may be kept.
// Called synchronously on the server's event loop: return quickly (hand off to a worker or
// buffer), never throw.
import type { DurableBatch } from '../gateway/server.js';
import type { Engine } from '../engine.js';
import { startMarketData } from '../marketdata/index.js';

export type { DurableBatch };

export interface MarketData {
  /** One durable batch's events. */
  onBatch(batch: DurableBatch): void;
  /** At shutdown, after the last batch. */
  close(): Promise<void>;
}

export interface MarketDataContext {
  /** The engine (read-only use: depth, queue, order): its state is at or ahead of the last batch handed to onBatch. */
  engine: Engine;
  /** The seq the engine recovered to (-1 on a fresh data directory): the first batch starts after it. */
  recoveredSeq: number;
  /** The last seq the engine has run (it may be ahead of the last durable batch published). */
  lastSeq: () => number;
  /**
   * Where to publish: TCP subscribers on host:tcpPort, WebSocket subscribers on host:wsPort (0: any
   * free port), datagrams to host:udpPort (0: none).
   */
  config: { host: string; dataDir: string; tcpPort: number; wsPort: number; udpPort: number };
}

/** The market-data ports of `clob start` from its options: -1 means "next to": TCP after order entry, WebSocket after TCP. */
export function marketDataPorts(config: { port: number; mdTcpPort: number; mdWsPort: number }): { tcpPort: number; wsPort: number } {
  const next = (port: number) => (port === 0 || port === 65535 ? 0 : port + 1);
  const tcpPort = config.mdTcpPort >= 0 ? config.mdTcpPort : next(config.port);
  return { tcpPort, wsPort: config.mdWsPort >= 0 ? config.mdWsPort : next(tcpPort) };
}

/** The market data publisher of `clob start` (src/marketdata): TCP and WebSocket subscribers, optional UDP. */
export function createMarketData(context: MarketDataContext): MarketData & { readonly ready: Promise<void>; readonly tcpPort: number; readonly wsPort: number } {
  const md = startMarketData(context.engine, {
    tcp: { host: context.config.host, port: context.config.tcpPort },
    ws: { host: context.config.host, port: context.config.wsPort },
    udp: context.config.udpPort > 0 ? { host: context.config.host, port: context.config.udpPort } : undefined,
    snapshotIntervalMs: 1000,
    seededSeq: Math.max(context.recoveredSeq, 0),
    // An L3 snapshot is answered from the engine's queues only when the engine is not ahead of the feed.
    l3InStep: () => md.publisher.lastEngineSeq >= context.lastSeq(),
  });
  return md;
}

// Shared by the market-data tests (test/marketdata.test.ts, test/marketdata-ws.test.ts): an engine
// running a seeded random stream in batches, and the engine's own view (depth, queues, BBO, trades)
// that what subscribers receive is checked against.
import * as L from '../../assembly/layout.js';
import * as M from '../../assembly/marketdata-layout.js';
import { Engine } from '../../src/engine.js';
import { writeCommand, type RawCommand } from '../../src/records.js';
import type { MarketDataPublisher } from '../../src/marketdata/publisher.js';
import type { MarketDataSubscriber } from '../../src/marketdata/subscriber.js';
import { randomStream, streamLimits, collect, type StreamOptions } from './random-stream.js';

export const BATCH = 64;

export interface EngineTrade { symbol: number; price: number; quantity: number; tradeId: number; makerId: number; takerId: number; side: number }

/** An engine sized for the stream, and the stream's commands encoded as 64-byte records. */
export function setup(opts: StreamOptions) {
  const engine = new Engine({ ...streamLimits(opts), batchSize: BATCH });
  const cmds: RawCommand[] = collect(randomStream(opts));
  const bytes = new Uint8Array(cmds.length * L.CMD_SIZE);
  const view = new DataView(bytes.buffer);
  cmds.forEach((c, i) => writeCommand(view, i * L.CMD_SIZE, c));
  return { engine, count: cmds.length, bytes, symbols: Array.from({ length: opts.symbols + 3 }, (_, i) => i + 1).filter((s) => s <= engine.maxSymbols) };
}

/** Runs commands [first, first + n) as one batch, feeding `onEvents`; collects the engine's trades. */
export function runBatch(engine: Engine, bytes: Uint8Array, first: number, n: number, onEvents: (ev: Engine['events']) => void, trades: EngineTrade[]) {
  engine.commands.append(bytes, first, n);
  engine.run((ev) => {
    for (let i = 0; i < ev.count; i++) {
      ev.select(i);
      if (ev.type === L.EV_TRADE) {
        trades.push({ symbol: ev.symbol, price: ev.price, quantity: ev.quantity, tradeId: ev.tradeId, makerId: ev.makerId, takerId: ev.takerId, side: ev.side });
      }
    }
    onEvents(ev);
  });
}

export function depthOf(engine: Engine, symbol: number) {
  try {
    return engine.depth(symbol, 4096);
  } catch {
    return { bids: [], asks: [] }; // a symbol the stream never managed to add
  }
}

export function queuesOf(engine: Engine, symbol: number) {
  const d = depthOf(engine, symbol);
  const side = (levels: { price: number | bigint }[], name: 'buy' | 'sell') => levels.map((l) => ({
    price: Number(l.price),
    orders: engine.queue(symbol, name, l.price, 4096).map((o) => ({ orderId: Number(o.orderId), quantity: Number(o.quantity) })),
  }));
  return { bids: side(d.bids, 'buy'), asks: side(d.asks, 'sell') };
}

export function engineBbo(engine: Engine, symbol: number) {
  const d = depthOf(engine, symbol);
  const lvl = (l: { price: number | bigint; quantity: number | bigint; orders: number } | undefined) =>
    (l === undefined ? undefined : { price: Number(l.price), quantity: Number(l.quantity), orders: l.orders });
  return { bid: lvl(d.bids[0]), ask: lvl(d.asks[0]) };
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 30_000; i++) {
    if (cond()) return;
    await new Promise<void>((r) => (i < 2000 ? setImmediate(r) : setTimeout(r, 1)));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export const ALL = [M.CH_TRADES, M.CH_L1, M.CH_L2, M.CH_L3];
/** The channels a late joiner gets snapshots of (trades have none: its first trade of a symbol starts its sequence). */
export const BOOKS = [M.CH_L1, M.CH_L2, M.CH_L3];

/** Whether `sub` has everything the publisher published on `channels` for every symbol. */
export function caughtUp(sub: MarketDataSubscriber, pub: MarketDataPublisher, channels: number[]): boolean {
  for (const s of pub.symbols()) {
    for (const ch of channels) {
      if (sub.seq(ch, s) !== pub.symbolSeq(ch, s) || sub.recovering(s, ch)) return false;
    }
  }
  return true;
}

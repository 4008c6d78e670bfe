// Differential tests: random command streams through the Wasm engine and the plain reference
// book; every command's events must be identical, and the whole book (depth of every symbol,
// state digest) must agree at regular checkpoints and at the end. Over 1M commands in total.
// The per-command cases run one command per core call and also compare, after EVERY command,
// the resting-order count and the best bid and ask (price, total, count) of its symbol.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine.js';
import { RawCommand } from '../src/records.js';
import { ReferenceBook } from './reference/book.js';
import { randomStream } from './support/random-stream.js';
import { runGrouped, SMALL_LIMITS } from './support/engine-runner.js';
import * as L from '../assembly/layout.js';

interface Case { seed: number; count: number; symbols: number; depth: 'shallow' | 'deep'; badInputShare?: number; perCommand?: boolean }

const CASES: Case[] = [
  { seed: 1, count: 300_000, symbols: 1, depth: 'deep' },
  { seed: 2, count: 250_000, symbols: 4, depth: 'deep' },
  { seed: 3, count: 200_000, symbols: 1, depth: 'shallow', perCommand: true },
  { seed: 4, count: 150_000, symbols: 8, depth: 'shallow', badInputShare: 0.1, perCommand: true },
  { seed: 5, count: 150_000, symbols: 2, depth: 'deep', badInputShare: 0.02 },
];
const CHUNK = 10_000; // commands per engine run; depth and digest compared after each

function compareBooks(engine: Engine, ref: ReferenceBook, symbols: number, where: string): void {
  for (let s = 1; s <= symbols; s++) {
    for (const side of [L.SIDE_BUY, L.SIDE_SELL]) {
      const mine = (side === L.SIDE_BUY ? engine.depth(s, 50).bids : engine.depth(s, 50).asks)
        .map((l) => ({ price: BigInt(l.price), total: BigInt(l.quantity), count: l.orders }));
      assert.equal(mine, ref.depth(s, side, 50), `${where}: depth of symbol ${s} side ${side}`);
    }
  }
  assert.is(engine.liveOrders, ref.liveOrders(), `${where}: resting orders`);
  assert.is(engine.digest(), ref.digest(), `${where}: digest`);
}

/** After one command: resting orders everywhere, and the top of the command's symbol's book. */
function compareTop(engine: Engine, ref: ReferenceBook, symbol: number, symbols: number, where: () => string): void {
  if (engine.liveOrders !== ref.liveOrders()) assert.is(engine.liveOrders, ref.liveOrders(), `${where()}: resting orders`);
  if (symbol < 1 || symbol > symbols) return;
  for (const side of [L.SIDE_BUY, L.SIDE_SELL]) {
    const top = side === L.SIDE_BUY ? engine.bestBid(symbol) : engine.bestAsk(symbol);
    const mine = top && { price: BigInt(top.price), total: BigInt(top.quantity), count: top.orders };
    const want = ref.best(symbol, side);
    if (mine?.price !== want?.price || mine?.total !== want?.total || mine?.count !== want?.count) {
      assert.equal(mine, want, `${where()}: best ${side === L.SIDE_BUY ? 'bid' : 'ask'} of symbol ${symbol}`);
    }
  }
}

let total = 0;
for (const c of CASES) {
  test(`engine == reference: seed ${c.seed}, ${c.count} commands, ${c.symbols} symbol(s), ${c.depth}`, () => {
    const engine = new Engine(SMALL_LIMITS);
    const ref = new ReferenceBook({ maxOrders: SMALL_LIMITS.maxOrders!, maxSymbols: SMALL_LIMITS.maxSymbols!, ladderTicks: SMALL_LIMITS.ladderTicks! });
    const stream = randomStream({ seed: c.seed, count: c.count, symbols: c.symbols, depth: c.depth, badInputShare: c.badInputShare });
    const kinds = new Map<number, number>();
    let chunk: RawCommand[] = [];
    let first = 0;
    const check = () => {
      const got = c.perCommand ? [] : runGrouped(engine, chunk, first);
      for (let i = 0; i < chunk.length; i++) {
        const where = () => `command #${first + i} ${JSON.stringify(chunk[i], (_, v) => typeof v === 'bigint' ? `${v}n` : v)}`;
        const mine = c.perCommand ? engine.runRaw([chunk[i]]) : got[i];
        const want = ref.apply(chunk[i]);
        for (const e of want) kinds.set(e.type, (kinds.get(e.type) ?? 0) + 1);
        assert.equal(mine, want, where());
        if (c.perCommand) compareTop(engine, ref, chunk[i].symbol, c.symbols, where);
      }
      compareBooks(engine, ref, c.symbols, `after command #${first + chunk.length - 1}`);
      first += chunk.length;
      chunk = [];
    };
    for (const cmd of stream) {
      chunk.push(cmd);
      if (chunk.length === CHUNK) check();
    }
    if (chunk.length) check();
    total += first;
    assert.is(first, c.count);
    // The stream must really exercise the engine: every event type occurs.
    for (const type of [L.EV_ACCEPTED, L.EV_REJECTED, L.EV_TRADE, L.EV_CANCELLED, L.EV_MODIFIED, L.EV_LEVEL]) {
      assert.ok((kinds.get(type) ?? 0) > 0, `event type ${type} never occurred`);
    }
  });
}

test('at least 1M commands were compared', () => {
  assert.ok(total >= 1_000_000, `only ${total}`);
});

test.run();

// The zero-copy batch path (CommandWriter -> run -> EventReader) gives the same events as the
// object API, splits its output into chunks when the event region fills, and never loses one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine.js';
import * as L from '../assembly/layout.js';

const SYMBOL = { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 100_000 };

test('writer + reader give the object API\'s events', () => {
  const batch = new Engine({ maxOrders: 1000, ladderTicks: 200_000, symbols: [SYMBOL] });
  const objects = new Engine({ maxOrders: 1000, ladderTicks: 200_000, symbols: [SYMBOL] });
  const w = batch.commands;
  w.newOrder(1, 7, L.SIDE_SELL, L.ORDER_LIMIT, L.TIF_GTC, 0, L.STP_NONE, 1, 1000, 10, 0, 1);
  w.newOrder(1, 8, L.SIDE_BUY, L.ORDER_LIMIT, L.TIF_GTC, 0, L.STP_NONE, 2, 1000, 4, 0, 2);
  w.modify(1, 7, 1, 1001, 6, 0, 3);
  w.cancel(1, 7, 1, 4);
  const seen: string[] = [];
  const seqs: number[] = [];
  const n = batch.run((ev) => {
    for (let i = 0; i < ev.count; i++) {
      ev.select(i);
      seen.push(`${ev.type}:${ev.orderId}:${ev.price}:${ev.quantity}`);
      seqs.push(ev.seq);
    }
  });
  const expected = [
    ...objects.newOrder({ symbol: 1, account: 7, side: 'sell', price: 1000, quantity: 10, orderId: 1 }),
    ...objects.newOrder({ symbol: 1, account: 8, side: 'buy', price: 1000, quantity: 4, orderId: 2 }),
    ...objects.modify({ symbol: 1, account: 7, orderId: 1, price: 1001, quantity: 6 }),
    ...objects.cancel({ symbol: 1, account: 7, orderId: 1 }),
  ].map((e) => {
    const code = { accepted: 1, rejected: 2, trade: 3, cancelled: 4, modified: 5, level: 6, 'symbol-status': 7 }[e.type];
    const id = e.type === 'trade' ? e.makerId : 'orderId' in e ? e.orderId : 0;
    const price = 'price' in e ? e.price : 0;
    const qty = 'quantity' in e ? e.quantity : 0;
    return `${code}:${id}:${price}:${qty}`;
  });
  assert.is(n, expected.length);
  assert.equal(seen, expected);
  assert.equal(seqs, [1, 1, 2, 2, 2, 3, 3, 3, 4, 4], 'each event carries its command\'s seq');
  assert.is(batch.digest(), objects.digest());
  assert.is(batch.commands.count, 0, 'run() resets the writer');
});

test('append: runs of every length (copied by hand or natively) land in order, from any record of the source', () => {
  const engine = new Engine({ maxOrders: 1000, ladderTicks: 200_000, symbols: [SYMBOL] });
  // 60 GTC sells with ids 1..60, at a 4-byte offset of a larger buffer.
  const backing = new Uint8Array(4 + 60 * L.CMD_SIZE);
  const source = backing.subarray(4);
  const v = new DataView(backing.buffer, 4);
  for (let i = 0; i < 60; i++) {
    const r = i * L.CMD_SIZE;
    v.setUint8(r + L.CMD_TYPE, L.CMD_NEW);
    v.setUint8(r + L.CMD_SIDE, L.SIDE_SELL);
    v.setUint8(r + L.CMD_ORDER_TYPE, L.ORDER_LIMIT);
    v.setUint8(r + L.CMD_TIF, L.TIF_GTC);
    v.setUint32(r + L.CMD_SYMBOL, 1, true);
    v.setUint32(r + L.CMD_ACCOUNT, 7, true);
    v.setBigInt64(r + L.CMD_ORDER_ID, BigInt(i + 1), true);
    v.setBigInt64(r + L.CMD_PRICE, BigInt(1000 + i), true);
    v.setBigInt64(r + L.CMD_QUANTITY, 1n, true);
    v.setBigInt64(r + L.CMD_SEQ, BigInt(i + 1), true);
  }
  const runs = [[0, 1], [1, 3], [4, 4], [8, 5], [13, 17], [30, 2], [32, 28]]; // [first, count]: 1..60 in order
  for (const [first, count] of runs) engine.commands.append(source, first, count);
  assert.is(engine.commands.count, 60);
  const ids: number[] = [];
  engine.run((ev) => {
    for (let i = 0; i < ev.count; i++) if (ev.select(i).type === L.EV_ACCEPTED) ids.push(ev.orderId);
  });
  assert.equal(ids, Array.from({ length: 60 }, (_, i) => i + 1));
  assert.throws(() => engine.commands.append(source, 59, 2), /not all in the source/);
});

test('a batch whose events overflow the region is run in chunks, nothing lost', () => {
  // 4,202 events into a region of 1,000: the core stops whenever the worst case of the next
  // command (3 per resting order + 8) no longer fits, and run() hands over each chunk.
  const e = new Engine({ maxOrders: 300, ladderTicks: 10_000, batchSize: 2000, eventCapacity: 1000, symbols: [{ ...SYMBOL, maxPrice: 5000 }] });
  let seq = 1;
  for (let i = 0; i < 300; i++) e.commands.newOrder(1, 1, L.SIDE_SELL, L.ORDER_LIMIT, L.TIF_GTC, 0, 0, i + 1, 1000 + i, 1, 0, seq++);
  for (let i = 0; i < 1500; i++) e.commands.newOrder(1, 2, L.SIDE_BUY, L.ORDER_LIMIT, L.TIF_IOC, 0, 0, 10_000 + i, 999, 1, 0, seq++);
  e.commands.newOrder(1, 2, L.SIDE_BUY, L.ORDER_MARKET, L.TIF_IOC, 0, 0, 99_999, 0, 1000, 0, seq++);
  let chunks = 0;
  let trades = 0;
  let lastSeq = 0;
  const total = e.run((ev) => {
    chunks++;
    for (let i = 0; i < ev.count; i++) {
      ev.select(i);
      assert.ok(ev.seq >= lastSeq, 'events stay in command order');
      lastSeq = ev.seq;
      if (ev.type === L.EV_TRADE) trades++;
    }
  });
  assert.ok(chunks > 1, `expected several chunks, got ${chunks}`);
  assert.is(trades, 300);
  assert.is(lastSeq, seq - 1);
  // 300 (accepted + level) + 1500 (accepted + cancelled) + market: accepted + 300 trades + 300 levels + cancelled
  assert.is(total, 600 + 3000 + 1 + 300 + 300 + 1);
  assert.is(e.liveOrders, 0);
});

test('with room to spare, the core still hands over events in chunks of about EVENT_CHUNK', () => {
  // 3,000 resting sells (accepted + level each), then a market buy sweeping them all (3,000 trades
  // + 3,000 levels): the core stops once EVENT_CHUNK events are written, never inside a command.
  const e = new Engine({ maxOrders: 3000, ladderTicks: 10_000, batchSize: 4000, symbols: [{ ...SYMBOL, maxPrice: 5000 }] });
  assert.ok(e.eventCapacity > 12_002, 'the region could hold the whole batch');
  let seq = 1;
  for (let i = 0; i < 3000; i++) e.commands.newOrder(1, 1, L.SIDE_SELL, L.ORDER_LIMIT, L.TIF_GTC, 0, 0, i + 1, 1000 + i, 1, 0, seq++);
  e.commands.newOrder(1, 2, L.SIDE_BUY, L.ORDER_MARKET, L.TIF_IOC, 0, 0, 99_999, 0, 3000, 0, seq++);
  const counts: number[] = [];
  const total = e.run((ev) => { counts.push(ev.count); });
  assert.is(total, 6000 + 1 + 6000);
  assert.equal(counts.slice(0, 1), [L.EVENT_CHUNK], 'stops at the chunk even with room left');
  for (const n of counts.slice(0, -1)) assert.ok(n >= L.EVENT_CHUNK, `a chunk of ${n} events stopped early`);
  assert.ok(counts.length >= 2 && counts.length < total / L.EVENT_CHUNK + 1, `${counts.length} chunks`);
  assert.is(counts.reduce((a, b) => a + b, 0), total);
  assert.ok(counts[counts.length - 1] >= 6001, 'the sweep\'s 6,001 events in one chunk: never split inside a command');
  assert.is(e.liveOrders, 0);
});

test.run();

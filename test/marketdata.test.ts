// Market data (src/marketdata/, docs/MARKETDATA.md): an in-process engine runs a seeded random
// stream in batches; the publisher's messages are checked against the engine itself: L2 books
// against engine.depth(), L3 queues against engine.queue(), the BBO after every batch against
// bestBid()/bestAsk(), trades against the engine's TRADE events, and every sequence number for
// contiguity. Then the same over loopback UDP + TCP, with and without injected datagram loss.
// No timed assertions: waits poll for a state and fail only after a generous bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as M from '../assembly/marketdata-layout.js';
import * as L from '../assembly/layout.js';
import type { StreamOptions } from './support/random-stream.js';
import { ALL, BATCH, BOOKS, caughtUp, depthOf, engineBbo, queuesOf, runBatch, setup, until, type EngineTrade } from './support/marketdata.js';
import { MarketDataPublisher, type MarketDataSink } from '../src/marketdata/publisher.js';
import { MarketDataSubscriber } from '../src/marketdata/subscriber.js';
import { createMarketData } from '../src/marketdata/index.js';
import { MessageStream, MESSAGES, messageLength, readI64, readU32 } from '../src/marketdata/codec.js';
import { Writer } from '../src/marketdata/writer.js';

/** A sink that checks every sequence number as it passes: per channel and per (channel, symbol). */
class SequenceChecker implements MarketDataSink {
  readonly channel = new Map<number, number>();
  readonly symbol = new Map<string, number>();
  messages = 0;
  snapshots = 0;
  onMessages(bytes: Uint8Array, length: number): void {
    let at = 0;
    while (at < length) {
      const len = messageLength(bytes, at, length - at);
      assert.ok(len > 0 && at + len <= length, 'whole, well-formed messages');
      const ch = bytes[at + M.MD_CHANNEL];
      const type = bytes[at + M.MD_TYPE];
      const sym = readU32(bytes, at + M.MD_SYMBOL);
      const cseq = readI64(bytes, at + M.MD_CHANNEL_SEQ);
      const sseq = readI64(bytes, at + M.MD_SYMBOL_SEQ);
      assert.is(cseq, (this.channel.get(ch) ?? 0) + 1, `channel ${ch} sequence`);
      this.channel.set(ch, cseq);
      const key = `${ch}/${sym}`;
      if (type === M.MDM_L2_SNAPSHOT || type === M.MDM_L3_SNAPSHOT) {
        assert.is(sseq, this.symbol.get(key) ?? 0, 'a snapshot carries the sequence it is valid at');
        this.snapshots++;
      } else {
        assert.is(sseq, (this.symbol.get(key) ?? 0) + 1, `symbol ${sym} channel ${ch} sequence`);
        this.symbol.set(key, sseq);
      }
      this.messages++;
      at += len;
    }
  }
}

/** Feeds a detached subscriber the publisher's messages as datagrams (no sockets). */
function feed(sub: MarketDataSubscriber, filter?: (type: number) => boolean): MarketDataSink {
  return {
    onMessages(bytes, length) {
      let at = 0;
      while (at < length) {
        const len = readU32(bytes, at + M.MD_LENGTH);
        if (!filter || filter(bytes[at + M.MD_TYPE])) sub.handleDatagram(bytes.slice(at, at + len));
        at += len;
      }
    },
  };
}

// ---- layout and docs -------------------------------------------------------------------------

test('marketdata-layout.ts is integer constants only; messages are 8-byte multiples', () => {
  const src = readFileSync(new URL('../assembly/marketdata-layout.ts', import.meta.url), 'utf8');
  for (const line of src.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('//')) continue;
    assert.match(line, /^export const [A-Z0-9_]+ = [0-9]+; *(\/\/.*)?$/, line);
  }
  for (const m of MESSAGES) {
    assert.is((M.MD_HEADER_SIZE + m.body) % 8, 0, m.name);
    if (m.rowSize) assert.is(m.rowSize % 8, 0, m.name);
  }
  assert.is(new Set(MESSAGES.map((m) => m.type)).size, MESSAGES.length);
  assert.is(Math.max(...MESSAGES.map((m) => m.type)), M.MDM_TYPE_MAX);
});

test('docs/MARKETDATA.md tables match the constants, and document every one', () => {
  const doc = readFileSync(new URL('../docs/MARKETDATA.md', import.meta.url), 'utf8');
  const all = M as unknown as Record<string, number>;
  const rows = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([0-9]+) \|/gm)];
  assert.ok(rows.length > 60, 'the doc has its tables');
  const seen = new Set<string>();
  for (const [, name, value] of rows) {
    assert.ok(name in all, `${name} in docs/MARKETDATA.md is not in marketdata-layout.ts`);
    assert.is(Number(value), all[name], name);
    seen.add(name);
  }
  for (const name of Object.keys(all)) assert.ok(seen.has(name), `${name} is not documented in docs/MARKETDATA.md`);
  for (const m of MESSAGES) assert.ok(doc.includes(`\`MDM_${m.name}\``), m.name);
});

test('MessageStream decodes a stream split at every byte, snapshots included', () => {
  const pub = new MarketDataPublisher({ maxSymbols: 4, mtu: 200 });
  const chunks: Uint8Array[] = [];
  pub.addSink({ onMessages: (b, n) => chunks.push(b.slice(0, n)) });
  const { engine, count, bytes } = setup({ seed: 3, count: 400, symbols: 2, depth: 'shallow', badInputShare: 0 });
  const trades: EngineTrade[] = [];
  for (let i = 0; i < count; i += BATCH) runBatch(engine, bytes, i, Math.min(BATCH, count - i), (ev) => pub.onEvents(ev), trades);
  const w = new Writer(64);
  pub.writeL2Snapshot(w, 1, M.MDF_REPLAY, 7, false);
  chunks.push(w.buf.slice(0, w.pos));
  const all = Buffer.concat(chunks);
  const expect: number[] = [];
  for (let at = 0; at < all.length; at += readU32(all, at)) expect.push(all[at + M.MD_TYPE]);
  assert.ok(expect.includes(M.MDM_L2_SNAPSHOT) && expect.length > 200);
  for (const step of [1, 3, 7, 40, 1000]) {
    const s = new MessageStream();
    const got: number[] = [];
    for (let i = 0; i < all.length; i += step) {
      s.feed(all.subarray(i, i + step));
      for (let t = s.next(); t > 0; t = s.next()) got.push(t);
    }
    assert.equal(got, expect, `split every ${step} bytes`);
  }
  const bad = new MessageStream();
  const junk = all.slice(0, 64);
  junk[M.MD_VERSION_AT] = 99;
  bad.feed(junk);
  assert.is(bad.next(), -1, 'a bad version stops the stream');
});

// ---- the publisher against the engine, no sockets --------------------------------------------

test('publisher: L1 after every batch, trades, L2 and L3 books, sequences and periodic snapshots match the engine', () => {
  const opts: StreamOptions = { seed: 11, count: 8000, symbols: 3, depth: 'deep' };
  const { engine, count, bytes, symbols } = setup(opts);
  const pub = new MarketDataPublisher({ maxSymbols: engine.maxSymbols, snapshotEvery: 500, l3: engine });
  const checker = new SequenceChecker();
  const sub = MarketDataSubscriber.detached({ channels: ALL });
  // A second subscriber that sees only the periodic snapshots: its book is whatever they say.
  const snapOnly = MarketDataSubscriber.detached({ channels: [M.CH_L2] });
  pub.addSink(checker);
  pub.addSink(feed(sub));
  pub.addSink(feed(snapOnly, (t) => t === M.MDM_L2_SNAPSHOT));
  const trades: EngineTrade[] = [];
  for (let i = 0; i < count; i += BATCH) {
    runBatch(engine, bytes, i, Math.min(BATCH, count - i), (ev) => pub.onEvents(ev), trades);
    for (const s of symbols) assert.equal({ bid: sub.bbo(s).bid, ask: sub.bbo(s).ask }, engineBbo(engine, s), `BBO of ${s} after the batch at ${i}`);
  }
  assert.ok(trades.length > 500, `the stream trades (${trades.length})`);
  assert.equal(sub.trades.map(({ seq: _s, ...t }) => t), trades, 'one TRADE message per engine TRADE event, same fields');
  for (const s of symbols) {
    assert.equal(sub.book(s), depthOf(engine, s), `L2 of ${s}`);
    assert.equal(pub.book(s), depthOf(engine, s), `publisher's own L2 of ${s}`);
    assert.equal(sub.orders(s), queuesOf(engine, s), `L3 of ${s}`);
  }
  assert.ok(symbols.some((s) => depthOf(engine, s).bids.length + depthOf(engine, s).asks.length > pub.l2RowsPerPart), 'books deep enough for multi-part L2 snapshots');
  assert.is(sub.stats.gaps + sub.stats.channelGaps + sub.stats.tradeGaps + sub.stats.bboGaps + sub.stats.l3Errors, 0);
  assert.ok(checker.snapshots > 20, `periodic snapshots in the stream (${checker.snapshots})`);
  pub.publishSnapshots();
  for (const s of symbols) assert.equal(snapOnly.book(s), depthOf(engine, s), `a snapshot of ${s} alone rebuilds its L2`);
});

// ---- over sockets ----------------------------------------------------------------------------

test('UDP + TCP: subscribers end equal to the engine; BBO after every batch; trades; no gaps', async () => {
  const opts: StreamOptions = { seed: 23, count: 6000, symbols: 3, depth: 'deep' };
  const { engine, count, bytes, symbols } = setup(opts);
  const udpSub = await MarketDataSubscriber.connect({ udp: { port: 0 }, channels: ALL });
  const md = await createMarketData(engine, { udp: { port: udpSub.udpPort } });
  await udpSub.attachTcp({ port: md.tcpPort });
  let tcpSub: MarketDataSubscriber | undefined;
  let tradesBeforeJoin = 0;
  const trades: EngineTrade[] = [];
  try {
    for (let i = 0, batch = 0; i < count; i += BATCH, batch++) {
      if (batch === 30) {
        // A late joiner over TCP: snapshots of every book (L1, L2, L3), then the stream.
        tcpSub = await MarketDataSubscriber.connect({ tcp: { port: md.tcpPort }, channels: ALL });
        tradesBeforeJoin = trades.length;
        await until(() => caughtUp(tcpSub!, md.publisher, BOOKS), 'the TCP snapshot');
      }
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      await until(() => caughtUp(udpSub, md.publisher, ALL) && (!tcpSub || caughtUp(tcpSub, md.publisher, BOOKS)), `the batch at ${i}`);
      for (const s of symbols) {
        const want = engineBbo(engine, s);
        assert.equal({ bid: udpSub.bbo(s).bid, ask: udpSub.bbo(s).ask }, want, `UDP BBO of ${s} after the batch at ${i}`);
        if (tcpSub) assert.equal({ bid: tcpSub.bbo(s).bid, ask: tcpSub.bbo(s).ask }, want, `TCP BBO of ${s} after the batch at ${i}`);
      }
    }
    assert.ok(tcpSub !== undefined);
    for (const s of symbols) {
      const depth = depthOf(engine, s);
      assert.equal(udpSub.book(s), depth, `UDP L2 of ${s}`);
      assert.equal(tcpSub!.book(s), depth, `TCP L2 of ${s}`);
      assert.equal(udpSub.orders(s), queuesOf(engine, s), `UDP L3 of ${s}`);
      assert.equal(tcpSub!.orders(s), queuesOf(engine, s), `TCP L3 of ${s} (from an L3 snapshot, then the stream)`);
    }
    assert.equal(udpSub.trades.map(({ seq: _s, ...t }) => t), trades, 'UDP trades = the engine\'s TRADE events');
    assert.equal(tcpSub!.trades.map(({ seq: _s, ...t }) => t), trades.slice(tradesBeforeJoin), 'TCP trades since joining');
    // Contiguous sequences: a subscriber counts every jump.
    assert.is(udpSub.stats.gaps, 0, 'per-symbol sequences contiguous over UDP');
    assert.is(udpSub.stats.channelGaps, 0, 'channel sequences contiguous over UDP');
    assert.is(udpSub.stats.tradeGaps + udpSub.stats.bboGaps + udpSub.stats.l3Errors, 0);
    assert.is(tcpSub!.stats.gaps + tcpSub!.stats.bboGaps + tcpSub!.stats.tradeGaps + tcpSub!.stats.l3Errors, 0, 'per-symbol sequences contiguous over TCP after the snapshot, joining late no gap');
    assert.ok(tcpSub!.stats.snapshotsApplied >= 6, `the TCP joiner started from L2 and L3 snapshots (${JSON.stringify(tcpSub!.stats)})`);
    assert.is(md.udp!.stats.dropped, 0);
  } finally {
    await tcpSub?.close();
    await udpSub.close();
    await md.close();
  }
});

test('UDP loss: dropped datagrams are detected as gaps, recovered from TCP snapshots, and the books still end equal', async () => {
  const opts: StreamOptions = { seed: 5, count: 6000, symbols: 3, depth: 'deep' };
  const { engine, count, bytes, symbols } = setup(opts);
  const udpSub = await MarketDataSubscriber.connect({ udp: { port: 0 }, channels: ALL });
  // Deterministic loss: some L2 and L3 datagrams, one of them two in a row.
  const drop = new Set([`${M.CH_L2}/3`, `${M.CH_L2}/40`, `${M.CH_L2}/41`, `${M.CH_L3}/7`, `${M.CH_L3}/90`, `${M.CH_TRADES}/30`]);
  const md = await createMarketData(engine, {
    udp: { port: udpSub.udpPort, onSend: (_d, ch, index) => !drop.has(`${ch}/${index}`) },
  });
  await udpSub.attachTcp({ port: md.tcpPort });
  const trades: EngineTrade[] = [];
  try {
    for (let i = 0; i < count; i += BATCH) {
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      // Wait for every datagram sent (not the dropped ones) and any recovery under way.
      await until(() => udpSub.stats.datagrams === md.udp!.stats.datagrams && !symbols.some((s) => udpSub.recovering(s, M.CH_L2) || udpSub.recovering(s, M.CH_L3)), `the batch at ${i}`);
      for (const s of symbols) {
        assert.equal({ bid: udpSub.bbo(s).bid, ask: udpSub.bbo(s).ask }, engineBbo(engine, s), `BBO of ${s} after the batch at ${i} (L1 lost nothing)`);
      }
    }
    await until(() => caughtUp(udpSub, md.publisher, ALL), 'the last messages');
    assert.is(md.udp!.stats.dropped, drop.size, 'the send hook dropped the chosen datagrams');
    assert.ok(udpSub.stats.channelGaps >= 4, `lost datagrams seen in the channel sequence (${udpSub.stats.channelGaps})`);
    assert.ok(udpSub.stats.gaps >= 4, `per-symbol gaps detected (${udpSub.stats.gaps})`);
    assert.ok(udpSub.stats.snapshotRequests >= 4 && udpSub.stats.recoveries >= 4, `recovered from TCP snapshots (${udpSub.stats.recoveries})`);
    assert.ok(udpSub.stats.buffered > 0, 'incrementals were buffered during recovery');
    for (const s of symbols) {
      assert.equal(udpSub.book(s), depthOf(engine, s), `L2 of ${s} after recovery`);
      assert.equal(udpSub.orders(s), queuesOf(engine, s), `L3 of ${s} after recovery`);
    }
    // A lost trade is history (no snapshot): counted, and every other trade arrived in order.
    assert.ok(udpSub.stats.tradeGaps >= 1, `the lost trade datagram was counted (${udpSub.stats.tradeGaps})`);
    const got = udpSub.trades.map((t) => t.tradeId);
    assert.ok(got.length < trades.length && got.every((id, i) => i === 0 || id > got[i - 1]), 'trades arrived in order, the lost ones missing');
    assert.ok(got.every((id) => trades.some((t) => t.tradeId === id)), 'every trade received is an engine trade');
    assert.is(udpSub.stats.l3Errors, 0);
  } finally {
    await udpSub.close();
    await md.close();
  }
});

test('UDP only: a late joiner and lost datagrams are repaired by the snapshots in the stream (no TCP)', async () => {
  const opts: StreamOptions = { seed: 8, count: 4000, symbols: 3, depth: 'deep' };
  const { engine, count, bytes, symbols } = setup(opts);
  const sub = await MarketDataSubscriber.connect({ udp: { port: 0 }, channels: [M.CH_L2] });
  let joined = false; // the receiver misses the first batches entirely: it joins late
  const md = await createMarketData(engine, {
    tcp: false, snapshotEvery: 300,
    udp: { port: sub.udpPort, onSend: (_d, ch, index) => joined && !(ch === M.CH_L2 && (index === 60 || index === 90)) },
  });
  const trades: EngineTrade[] = [];
  try {
    for (let i = 0; i < count; i += BATCH) {
      if (i === 10 * BATCH) joined = true;
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      await until(() => sub.stats.datagrams === md.udp!.stats.datagrams, `the batch at ${i}`);
    }
    md.publisher.publishSnapshots();
    await until(() => caughtUp(sub, md.publisher, [M.CH_L2]), 'the final snapshots');
    assert.ok(sub.stats.gaps >= 3 + 2, `the late join (one per symbol) and the losses are gaps (${sub.stats.gaps})`);
    assert.ok(sub.stats.recoveries >= 5, `repaired from stream snapshots (${sub.stats.recoveries})`);
    assert.is(sub.stats.snapshotRequests, 0, 'no TCP');
    for (const s of symbols) assert.equal(sub.book(s), depthOf(engine, s), `L2 of ${s}`);
  } finally {
    await sub.close();
    await md.close();
  }
});

test('durable-batch path: onBatch(copies) behind the engine; L3 snapshot answers wait until the engine is in step', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 31, count: 4000, symbols: 2, depth: 'deep' });
  let engineLastSeq = -1;
  const holder: { md?: Awaited<ReturnType<typeof createMarketData>> } = {};
  const md = await createMarketData(engine, { l3InStep: () => holder.md!.publisher.lastEngineSeq === engineLastSeq });
  holder.md = md;
  const pending: { events: Uint8Array; count: number; firstSeq: number; lastSeq: number }[] = [];
  const trades: EngineTrade[] = [];
  let sub: MarketDataSubscriber | undefined;
  try {
    for (let i = 0, batch = 0; i < count; i += BATCH, batch++) {
      const n = Math.min(BATCH, count - i);
      const chunks: Uint8Array[] = [];
      runBatch(engine, bytes, i, n, (ev) => chunks.push(new Uint8Array(engine.memory.buffer, ev.count > 0 ? ev.select(0).offset : 0, ev.count * L.EVT_SIZE).slice()), trades);
      engineLastSeq = i + n - 1; // the stream's seq is the command's index
      const events = Buffer.concat(chunks);
      pending.push({ events, count: events.length / L.EVT_SIZE, firstSeq: i, lastSeq: engineLastSeq });
      // Durable later: the publisher runs one batch behind, and catches up every 7th batch.
      const keep = batch % 7 === 6 ? 0 : 1;
      while (pending.length > keep) md.onBatch(pending.shift()!);
      if (batch === 12) {
        // Joins while the publisher is a batch behind: its L3 snapshot must wait.
        sub = await MarketDataSubscriber.connect({ tcp: { port: md.tcpPort }, channels: ALL });
        await until(() => md.tcp!.stats.subscribes === 1, 'the SUBSCRIBE');
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    while (pending.length > 0) md.onBatch(pending.shift()!);
    await until(() => caughtUp(sub!, md.publisher, BOOKS), 'the subscriber');
    for (const s of symbols) {
      assert.equal(sub!.book(s), depthOf(engine, s), `L2 of ${s}`);
      assert.equal(sub!.orders(s), queuesOf(engine, s), `L3 of ${s} (snapshot taken only when in step)`);
    }
    assert.is(sub!.stats.l3Errors + sub!.stats.bboGaps, 0);
    assert.ok(md.tcp!.stats.deferredL3 > 0, 'an L3 snapshot was asked for while the engine was ahead');
  } finally {
    await sub?.close();
    await md.close();
  }
});

test('a publisher started beside an engine that already holds orders starts from its books', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 41, count: 3000, symbols: 2, depth: 'deep' });
  const trades: EngineTrade[] = [];
  const half = 1536;
  for (let i = 0; i < half; i += BATCH) runBatch(engine, bytes, i, BATCH, () => {}, trades);
  const md = await createMarketData(engine, { seededSeq: half - 1 });
  try {
    assert.is(md.publisher.lastEngineSeq, half - 1);
    for (const s of symbols) assert.equal(md.publisher.book(s), depthOf(engine, s), `seeded L2 of ${s}`);
    const sub = await MarketDataSubscriber.connect({ tcp: { port: md.tcpPort }, channels: ALL });
    await until(() => md.tcp!.stats.subscribes === 1, 'the SUBSCRIBE');
    for (let i = half; i < count; i += BATCH) runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
    await until(() => caughtUp(sub, md.publisher, BOOKS), 'the subscriber');
    for (const s of symbols) {
      assert.equal(sub.book(s), depthOf(engine, s), `L2 of ${s}`);
      assert.equal(sub.orders(s), queuesOf(engine, s), `L3 of ${s}`);
    }
    await sub.close();
  } finally {
    await md.close();
  }
});

test.run();

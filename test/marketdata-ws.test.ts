// Market data over WebSocket (src/marketdata/websocket.ts, docs/MARKETDATA.md "WebSocket"): the
// same messages, subscriptions, snapshots and gap recovery as over TCP, checked end to end over
// loopback: against a TCP subscriber fed the same input and against the engine itself; a gap
// forced by a proxy that drops messages; a slow consumer disconnected with a reason while others
// go on; bad client input closed with a code and a reason; and `clob start`'s listener.
// No timed assertions: waits poll for a state and fail only after a generous bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import * as M from '../assembly/marketdata-layout.js';
import { ALL, BATCH, BOOKS, caughtUp, depthOf, engineBbo, queuesOf, runBatch, setup, until, type EngineTrade } from './support/marketdata.js';
import { MarketDataSubscriber } from '../src/marketdata/subscriber.js';
import { createMarketData, WS_CLOSE } from '../src/marketdata/index.js';
import { encodeSubscribe, messageLength, readU32, writeHeader } from '../src/marketdata/codec.js';
import { Client } from '../src/client/client.js';
import { resolveConfig } from '../src/server/config.js';
import { marketDataPorts } from '../src/server/market-data.js';
import { startServer, type ServerIo } from '../src/server/server.js';

const ALL_MASK = ALL.reduce((m, ch) => m | (1 << ch), 0);
const url = (port: number) => `ws://127.0.0.1:${port}`;

/** A raw `ws` client (no subscriber logic): what a browser would hold. */
async function rawClient(port: number) {
  const ws = new WebSocket(url(port));
  const frames: Buffer[] = [];
  ws.on('message', (data: RawData) => frames.push(data as Buffer));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => { /* reported by close */ });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

/**
 * A WebSocket proxy between a subscriber and the server that drops chosen messages of the
 * server-to-client direction (a frame is rewritten without them): a gap on a reliable transport,
 * as a bug or a restart in between would make one.
 */
async function droppingProxy(target: number, drop: (b: Uint8Array, at: number) => boolean) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const stats = { dropped: 0 };
  const ends: WebSocket[] = [];
  server.on('connection', (down) => {
    const up = new WebSocket(url(target));
    ends.push(down, up);
    const early: Buffer[] = [];
    up.on('open', () => {
      for (const b of early.splice(0)) up.send(b);
    });
    down.on('message', (data: RawData) => (up.readyState === up.OPEN ? up.send(data as Buffer) : early.push(data as Buffer)));
    up.on('message', (data: RawData) => {
      const frame = data as Buffer;
      const kept: Buffer[] = [];
      for (let at = 0; at < frame.length; at += readU32(frame, at + M.MD_LENGTH)) {
        if (drop(frame, at)) stats.dropped++;
        else kept.push(frame.subarray(at, at + readU32(frame, at + M.MD_LENGTH)));
      }
      if (kept.length > 0) down.send(Buffer.concat(kept));
    });
    up.on('close', () => down.close());
    down.on('close', () => up.close());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, stats,
    close: () => new Promise<void>((resolve) => {
      for (const e of ends) e.terminate();
      server.close(() => resolve());
    }),
  };
}

test('WebSocket and TCP subscribers fed the same input see the same trades, L1, L2 and L3; a late WebSocket joiner starts from snapshots', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 23, count: 6000, symbols: 3, depth: 'deep' });
  const md = await createMarketData(engine, { ws: {} });
  const tcpSub = await MarketDataSubscriber.connect({ tcp: { port: md.tcpPort }, channels: ALL });
  const wsSub = await MarketDataSubscriber.connect({ ws: { url: url(md.wsPort) }, channels: ALL });
  let lateWs: MarketDataSubscriber | undefined;
  let tradesBeforeJoin = 0;
  const trades: EngineTrade[] = [];
  try {
    await until(() => md.tcp!.stats.subscribes === 1 && md.ws!.stats.subscribes === 1, 'both SUBSCRIBEs');
    for (let i = 0, batch = 0; i < count; i += BATCH, batch++) {
      if (batch === 30) {
        lateWs = await MarketDataSubscriber.connect({ ws: { url: url(md.wsPort) }, channels: ALL });
        tradesBeforeJoin = trades.length;
        await until(() => caughtUp(lateWs!, md.publisher, BOOKS), 'the late joiner\'s snapshots');
      }
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      const subs = [tcpSub, wsSub, ...(lateWs ? [lateWs] : [])];
      await until(() => subs.every((s) => caughtUp(s, md.publisher, s === lateWs ? BOOKS : ALL)), `the batch at ${i}`);
      for (const s of symbols) {
        const want = engineBbo(engine, s);
        const tcpBbo = tcpSub.bbo(s);
        assert.equal({ bid: tcpBbo.bid, ask: tcpBbo.ask }, want, `TCP BBO of ${s} after the batch at ${i}`);
        assert.equal(wsSub.bbo(s), tcpBbo, `WebSocket BBO of ${s} (and its L1 sequence) = TCP's after the batch at ${i}`);
        if (lateWs) assert.equal(lateWs.bbo(s), tcpBbo, `late WebSocket BBO of ${s} after the batch at ${i}`);
      }
    }
    assert.ok(trades.length > 500, `the stream trades (${trades.length})`);
    assert.equal(tcpSub.trades.map(({ seq: _s, ...t }) => t), trades, 'TCP trades = the engine\'s TRADE events');
    assert.equal(wsSub.trades, tcpSub.trades, 'WebSocket trades = TCP trades, sequences included');
    assert.equal(lateWs!.trades, tcpSub.trades.slice(tradesBeforeJoin), 'the late joiner\'s trades since joining');
    for (const s of symbols) {
      for (const ch of ALL) assert.is(wsSub.seq(ch, s), tcpSub.seq(ch, s), `symbol ${s} channel ${ch}: same last sequence`);
      assert.equal(tcpSub.book(s), depthOf(engine, s), `TCP L2 of ${s}`);
      assert.equal(tcpSub.orders(s), queuesOf(engine, s), `TCP L3 of ${s}`);
      assert.equal(wsSub.book(s), tcpSub.book(s), `WebSocket L2 of ${s}`);
      assert.equal(wsSub.orders(s), tcpSub.orders(s), `WebSocket L3 of ${s}`);
      assert.equal(lateWs!.book(s), tcpSub.book(s), `late WebSocket L2 of ${s}`);
      assert.equal(lateWs!.orders(s), tcpSub.orders(s), `late WebSocket L3 of ${s} (from an L3 snapshot, then the stream)`);
    }
    assert.is(wsSub.stats.gaps + wsSub.stats.bboGaps + wsSub.stats.tradeGaps + wsSub.stats.l3Errors + wsSub.stats.malformed, 0, JSON.stringify(wsSub.stats));
    // Joining late is no loss: trades have no snapshot, and the first one seen is not a gap.
    assert.is(lateWs!.stats.gaps + lateWs!.stats.bboGaps + lateWs!.stats.tradeGaps + lateWs!.stats.l3Errors + lateWs!.stats.malformed, 0, JSON.stringify(lateWs!.stats));
    assert.ok(lateWs!.stats.snapshotsApplied >= 6, `the late joiner started from L2 and L3 snapshots (${lateWs!.stats.snapshotsApplied})`);
  } finally {
    await lateWs?.close();
    await wsSub.close();
    await tcpSub.close();
    await md.close();
  }
});

test('WebSocket gap: messages lost on the way are detected and recovered from snapshots requested over the same connection', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 5, count: 5000, symbols: 3, depth: 'deep' });
  const md = await createMarketData(engine, { ws: {} });
  // Drop the 40th and 41st L2 increments and the 90th L3 one that pass the proxy.
  const seen = [0, 0, 0, 0, 0];
  const proxy = await droppingProxy(md.wsPort, (b, at) => {
    const ch = b[at + M.MD_CHANNEL];
    const type = b[at + M.MD_TYPE];
    if (type !== M.MDM_LEVEL && (ch !== M.CH_L3 || type === M.MDM_L3_SNAPSHOT)) return false;
    const n = ++seen[ch];
    return ch === M.CH_L2 ? n === 40 || n === 41 : n === 90;
  });
  const sub = await MarketDataSubscriber.connect({ ws: { url: url(proxy.port) }, channels: ALL });
  const trades: EngineTrade[] = [];
  try {
    await until(() => md.ws!.stats.subscribes === 1, 'the SUBSCRIBE');
    for (let i = 0; i < count; i += BATCH) {
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      await until(() => caughtUp(sub, md.publisher, ALL), `the batch at ${i}`);
    }
    assert.is(proxy.stats.dropped, 3, 'the proxy dropped the chosen messages');
    assert.ok(sub.stats.gaps >= 2, `the losses are gaps (${sub.stats.gaps})`);
    assert.ok(sub.stats.snapshotRequests >= 2 && sub.stats.recoveries >= 2, `recovered from snapshots (${JSON.stringify(sub.stats)})`);
    assert.ok(md.ws!.stats.snapshotRequests >= 2, 'the requests went over the WebSocket');
    assert.ok(sub.stats.buffered > 0, 'increments were buffered during recovery');
    for (const s of symbols) {
      assert.equal(sub.book(s), depthOf(engine, s), `L2 of ${s} after recovery`);
      assert.equal(sub.orders(s), queuesOf(engine, s), `L3 of ${s} after recovery`);
    }
    assert.equal(sub.trades.map(({ seq: _s, ...t }) => t), trades, 'every trade arrived');
    assert.is(sub.stats.l3Errors, 0);
  } finally {
    await sub.close();
    await proxy.close();
    await md.close();
  }
});

test('a slow WebSocket consumer is disconnected with code 1008 and a reason; the others are not affected', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 9, count: 12_000, symbols: 3, depth: 'deep' });
  const md = await createMarketData(engine, { ws: { maxOutboundBytes: 256 * 1024 } });
  const healthy = await MarketDataSubscriber.connect({ ws: { url: url(md.wsPort) }, channels: ALL });
  const slow = await rawClient(md.wsPort);
  slow.ws.send(encodeSubscribe(0, ALL_MASK));
  const trades: EngineTrade[] = [];
  try {
    await until(() => md.ws!.stats.subscribes === 2, 'both SUBSCRIBEs');
    slow.ws.pause(); // stops reading: the kernel buffers fill, then the server's
    for (let i = 0; i < count; i += BATCH) {
      runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
      await until(() => caughtUp(healthy, md.publisher, ALL), `the healthy subscriber at the batch at ${i}`);
    }
    // Kernel socket buffers absorb a few MB first: publish snapshots until the bound is passed.
    for (let round = 0; md.ws!.stats.slowConsumers === 0 && round < 2000; round++) {
      md.publisher.publishSnapshots();
      await new Promise<void>((r) => setImmediate(r));
    }
    assert.is(md.ws!.stats.slowConsumers, 1, 'the slow consumer passed the bound');
    await until(() => caughtUp(healthy, md.publisher, ALL), 'the healthy subscriber');
    for (const s of symbols) {
      assert.equal(healthy.book(s), depthOf(engine, s), `the healthy subscriber's L2 of ${s}`);
      assert.equal(healthy.orders(s), queuesOf(engine, s), `the healthy subscriber's L3 of ${s}`);
    }
    assert.equal(healthy.trades.map(({ seq: _s, ...t }) => t), trades, 'the healthy subscriber has every trade');
    assert.is(healthy.stats.gaps + healthy.stats.l3Errors + healthy.stats.malformed, 0);
    assert.is(healthy.disconnected, undefined, 'the healthy subscriber is still connected');
    slow.ws.resume(); // it reads what was queued before the close, then the close frame
    const closed = await slow.closed;
    assert.is(closed.code, WS_CLOSE.POLICY_VIOLATION);
    assert.match(closed.reason, /^slow consumer: \d+ bytes unread, the limit is 262144$/);
    assert.ok(slow.frames.length > 0, 'it had been receiving');
  } finally {
    slow.ws.terminate();
    await healthy.close();
    await md.close();
  }
});

test('bad client input gets a close code and a reason, never a crash; the server goes on serving', async () => {
  const { engine, count, bytes, symbols } = setup({ seed: 3, count: 600, symbols: 2, depth: 'shallow' });
  const md = await createMarketData(engine, { ws: {} });
  const trades: EngineTrade[] = [];
  try {
    for (let i = 0; i < count / 2; i += BATCH) runBatch(engine, bytes, i, Math.min(BATCH, count / 2 - i), md.onEvents, trades);
    const sendAndClose = async (data: Buffer | string) => {
      const c = await rawClient(md.wsPort);
      c.ws.send(data);
      return c.closed;
    };
    const text = await sendAndClose('{"subscribe":"all"}');
    assert.is(text.code, WS_CLOSE.UNSUPPORTED_DATA, 'a text frame');
    assert.match(text.reason, /^text frame: requests are binary frames of whole messages/);

    const garbage = await sendAndClose(Buffer.from('this is not a market-data request, not at all!!'));
    assert.is(garbage.code, WS_CLOSE.PROTOCOL_ERROR, 'garbage');
    assert.match(garbage.reason, /^malformed or cut request at byte 0 of a 47-byte frame/);

    const sub = Buffer.from(encodeSubscribe(0, ALL_MASK));
    const cut = await sendAndClose(Buffer.concat([sub, sub.subarray(0, 20)]));
    assert.is(cut.code, WS_CLOSE.PROTOCOL_ERROR, 'a request cut at the end of its frame');
    assert.match(cut.reason, /^malformed or cut request at byte 40 of a 60-byte frame/);

    const trade = Buffer.alloc(M.MD_HEADER_SIZE + M.BODY_TRADE);
    writeHeader(trade, 0, trade.length, M.MDM_TRADE, M.CH_TRADES, 0, 1, 0, 1, 1);
    assert.is(messageLength(trade, 0, trade.length), trade.length, 'a well-formed message...');
    const notRequest = await sendAndClose(trade);
    assert.is(notRequest.code, WS_CLOSE.PROTOCOL_ERROR, '...that only the server sends');
    assert.match(notRequest.reason, new RegExp(`^message type ${M.MDM_TRADE} is not a request`));

    const huge = await sendAndClose(Buffer.alloc(100 * 1024));
    assert.is(huge.code, 1009, 'an oversized frame: ws closes it (message too big)');

    // Not WebSocket at all: an HTTP error, the connection closed.
    const raw = net.connect({ host: '127.0.0.1', port: md.wsPort });
    let answer = '';
    raw.setEncoding('utf8');
    raw.on('data', (t: string) => (answer += t));
    raw.write('\x00\x01\x02 garbage\r\n\r\n');
    await new Promise<void>((resolve) => raw.on('close', () => resolve()));
    assert.match(answer, /^HTTP\/1\.1 400 /, 'a bad handshake gets 400');

    assert.is(md.ws!.stats.protocolErrors, 5, 'each one counted (the bad handshake never was a connection)');
    // A good subscriber still gets its snapshots and the rest of the stream.
    const good = await MarketDataSubscriber.connect({ ws: { url: url(md.wsPort) }, channels: ALL });
    await until(() => caughtUp(good, md.publisher, BOOKS), 'the good subscriber\'s snapshots');
    for (let i = count / 2; i < count; i += BATCH) runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
    await until(() => caughtUp(good, md.publisher, BOOKS), 'the rest of the stream');
    for (const s of symbols) assert.equal(good.book(s), depthOf(engine, s), `L2 of ${s}`);
    await good.close();
  } finally {
    await md.close();
  }
});

test('the browser snippet of docs/MARKETDATA.md runs as written and receives the trades', async () => {
  const doc = readFileSync(new URL('../docs/MARKETDATA.md', import.meta.url), 'utf8');
  const snippet = /## WebSocket[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(snippet?.includes("new WebSocket('ws://127.0.0.1:7072')"), 'the snippet is there');
  const { engine, count, bytes } = setup({ seed: 13, count: 2000, symbols: 2, depth: 'shallow' });
  const md = await createMarketData(engine, { ws: {} });
  const got: [number, bigint, bigint][] = [];
  const logged: unknown[][] = [];
  try {
    // The snippet's globals: WebSocket (ws's has the browser API), its onTrade callback, console.
    const run = new Function('WebSocket', 'onTrade', 'console', snippet!.replace('ws://127.0.0.1:7072', url(md.wsPort)));
    run(WebSocket, (symbol: number, price: bigint, quantity: bigint) => got.push([symbol, price, quantity]), { log: (...a: unknown[]) => logged.push(a) });
    await until(() => md.ws!.stats.subscribes === 1, 'the snippet\'s SUBSCRIBE');
    const trades: EngineTrade[] = [];
    for (let i = 0; i < count; i += BATCH) runBatch(engine, bytes, i, Math.min(BATCH, count - i), md.onEvents, trades);
    assert.ok(trades.length > 50, `the stream trades (${trades.length})`);
    await until(() => got.length === trades.length, 'every trade');
    assert.equal(got, trades.map((t) => [t.symbol, BigInt(t.price), BigInt(t.quantity)]));
  } finally {
    await md.close();
  }
  await until(() => logged.length === 1, 'the close');
  assert.equal(logged[0], ['market data closed', WS_CLOSE.GOING_AWAY, 'the market-data server is shutting down']);
});

test('clob start\'s WebSocket port: next to the market-data TCP port unless given (flag, env or file)', () => {
  const ports = (flags: Record<string, string>, env: Record<string, string> = {}) => marketDataPorts(resolveConfig({ dataDir: tmpdir(), ...flags }, env));
  assert.equal(ports({}), { tcpPort: 7071, wsPort: 7072 }, 'the defaults: order entry 7070, TCP 7071, WebSocket 7072');
  assert.equal(ports({ port: '0' }), { tcpPort: 0, wsPort: 0 }, 'any free ports when order entry takes any');
  assert.equal(ports({ mdTcpPort: '9000' }), { tcpPort: 9000, wsPort: 9001 });
  assert.equal(ports({ mdTcpPort: '0' }), { tcpPort: 0, wsPort: 0 });
  assert.equal(ports({ mdTcpPort: '65535' }), { tcpPort: 65535, wsPort: 0 }, 'no port past 65535');
  assert.equal(ports({}, { CLOB_MD_WS_PORT: '9100' }), { tcpPort: 7071, wsPort: 9100 }, 'from the environment');
  assert.throws(() => ports({ mdWsPort: '70000' }), /--md-ws-port must be an integer from -1 to 65535; got "70000"/);
});

test('clob start listens for WebSocket subscribers next to TCP; orders entered through the gateway reach both alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clob-md-ws-test-'));
  const said: string[] = [];
  const events: Record<string, unknown>[] = [];
  const io: ServerIo = { event: (e) => events.push(e), say: (line) => said.push(line) };
  const server = await startServer(resolveConfig({ port: '0', dataDir: dir, quiet: true, durability: 'none' }, {}), io, { signals: false });
  const clients: Client[] = [];
  const subs: MarketDataSubscriber[] = [];
  try {
    const listening = events.find((e) => e.event === 'listening')!;
    const wsPort = listening.marketDataWsPort as number;
    const tcpPort = listening.marketDataPort as number;
    assert.ok(wsPort > 0 && wsPort !== tcpPort, `a WebSocket port of its own (${wsPort})`);
    assert.ok(said.some((l) => l.includes(`ws://127.0.0.1:${wsPort} (WebSocket)`)), 'the start log says where');
    const tcpSub = await MarketDataSubscriber.connect({ tcp: { port: tcpPort }, channels: ALL });
    const wsSub = await MarketDataSubscriber.connect({ ws: { url: url(wsPort) }, channels: ALL });
    subs.push(tcpSub, wsSub);
    const a = await Client.connect({ port: server.port, account: 1, credential: 'demo' });
    const b = await Client.connect({ port: server.port, account: 2, credential: 'demo' });
    clients.push(a, b);
    // Order ids are not relied on (the gateway may assign its own): only the books and trades that result.
    for (let i = 0; i < 10; i++) await a.newOrder({ symbol: 1, orderId: 100 + i, side: 'sell', price: 10_000 + i, quantity: 2 });
    for (let i = 0; i < 4; i++) await b.newOrder({ symbol: 1, orderId: 200 + i, side: 'buy', price: 10_004, quantity: 3 });
    await b.newOrder({ symbol: 1, orderId: 300, side: 'buy', price: 9_990, quantity: 7 });
    const depth = () => depthOf(server.engine, 1);
    await until(() => [tcpSub, wsSub].every((s) => s.trades.length === 7 && JSON.stringify(s.book(1)) === JSON.stringify(depth())), 'the trades and the book');
    assert.equal(wsSub.trades, tcpSub.trades, 'the same trades');
    assert.equal(wsSub.book(1), tcpSub.book(1), 'the same L2');
    assert.equal(wsSub.orders(1), tcpSub.orders(1), 'the same L3');
    assert.equal(wsSub.bbo(1), tcpSub.bbo(1), 'the same L1');
    assert.equal(wsSub.trades.map((t) => [t.price, t.quantity]), [[10_000, 2], [10_001, 1], [10_001, 1], [10_002, 2], [10_003, 2], [10_004, 1], [10_004, 1]]);
  } finally {
    for (const c of clients) c.close();
    for (const s of subs) await s.close();
    await server.stop('test');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();

// End-to-end tests of the order-entry gateway (src/gateway/server.ts) and client (src/client/client.ts)
// over loopback, on an ephemeral port, with an in-process Engine. Each test starts its own engine and
// gateway and closes every socket and the server at its end. No timed assertions: waits only guard
// against hangs. Every test runs on both I/O paths (io: 'net' and io: 'uring'; the uring suite is
// skipped, with a printed line, where the native helper or io_uring is missing).
import { testOnEveryIo } from './support/io-paths.js';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { Engine } from '../src/engine.js';
import { Gateway } from '../src/gateway/server.js';
import type { GatewayLogRecord } from '../src/gateway/log.js';
import { Client, type Execution, type Reply } from '../src/client/client.js';
import {
  FrameDecoder, FrameWriter, SERVER_TO_CLIENT, NEED_MORE, FAILED, readU32, readI64, encodeCredential, type CommandFields,
} from '../src/protocol/codec.js';
import * as P from '../assembly/protocol-layout.js';
import * as L from '../assembly/layout.js';

const HANG_GUARD_MS = 10_000;
const test = testOnEveryIo('gateway.test.ts');

const ACCOUNTS = [
  { account: 1, credential: 'alpha' },
  { account: 2, credential: 'beta' },
  { account: 3, credential: 'gamma', cancelOnDisconnect: true },
  { account: 4, credential: 'slow', ratePerSecond: 0.001, burst: 3 },
];

interface Fixture { engine: Engine; gateway: Gateway; port: number; logs: GatewayLogRecord[]; closers: (() => void)[] }

async function start(): Promise<Fixture> {
  const engine = new Engine({ maxOrders: 1000, maxSymbols: 4, ladderTicks: 20_000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10_000 }] });
  const logs: GatewayLogRecord[] = [];
  const gateway = new Gateway({ engine, accounts: ACCOUNTS, logger: (r) => logs.push(r), heartbeatMs: 5000, io: test.io });
  const port = await gateway.listen();
  assert.is(gateway.io, test.io, 'the gateway listens on the requested I/O path');
  return { engine, gateway, port, logs, closers: [] };
}

async function stop(f: Fixture): Promise<void> {
  for (const c of f.closers) c();
  await f.gateway.close();
}

/** Runs a test body with a fixture that is always torn down. */
const withGateway = (body: (f: Fixture) => Promise<void>) => async () => {
  const f = await start();
  try {
    await body(f);
  } finally {
    await stop(f);
  }
};

async function login(f: Fixture, account: number, credential: string): Promise<Client> {
  const c = await Client.connect({ port: f.port, account, credential });
  f.closers.push(() => c.close());
  return c;
}

/** Polls until `ok()` (a hang guard, not a timing assertion). */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Collects a client's executions. */
function collect(c: Client): Execution[] {
  const out: Execution[] = [];
  c.on('exec', (e: Execution) => out.push(e));
  return out;
}

interface Frame { type: number; seq: number; ref: number; body: Uint8Array }

/** A raw protocol connection for crafted frames. */
class Raw {
  readonly frames: Frame[] = [];
  closed = false;
  decodeError = 0;
  readonly out = new FrameWriter();
  private readonly decoder = new FrameDecoder(SERVER_TO_CLIENT);
  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.feed(chunk);
      for (;;) {
        const t = this.decoder.next();
        if (t === NEED_MORE) break;
        if (t === FAILED) {
          this.decodeError = this.decoder.error;
          break;
        }
        const d = this.decoder;
        this.frames.push({ type: t, seq: d.seq, ref: d.ref, body: d.buf.slice(d.at + P.FRAME_HEADER_SIZE, d.at + d.length) });
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }
  static async open(f: Fixture): Promise<Raw> {
    const socket = net.connect({ port: f.port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const r = new Raw(socket);
    f.closers.push(() => socket.destroy());
    return r;
  }
  send(): void {
    this.socket.write(this.out.take());
  }
  login(account: number, credential: string): void {
    this.out.login(account, encodeCredential(credential)!);
    this.send();
  }
  async loggedIn(): Promise<void> {
    await until(() => this.frames.some((fr) => fr.type === P.MSG_LOGIN_ACK), 'LOGIN_ACK');
  }
  execs(): { ref: number; type: number; reason: number; account: number; aux32: number; orderId: number; aux64: number; seq: number }[] {
    return this.frames.filter((fr) => fr.type === P.MSG_EXEC).map((fr) => ({
      ref: fr.ref, type: fr.body[L.EVT_TYPE], reason: fr.body[L.EVT_REASON], account: readU32(fr.body, L.EVT_ACCOUNT), aux32: readU32(fr.body, L.EVT_AUX32),
      orderId: readI64(fr.body, L.EVT_ORDER_ID), aux64: readI64(fr.body, L.EVT_AUX64), seq: readI64(fr.body, L.EVT_SEQ),
    }));
  }
  sessionReject(): { reason: number; seq: number; type: number; expected: number } | undefined {
    const fr = this.frames.find((x) => x.type === P.MSG_SESSION_REJECT);
    return fr && { reason: readU32(fr.body, P.SESSION_REJECT_REASON), seq: readU32(fr.body, P.SESSION_REJECT_SEQ), type: readU32(fr.body, P.SESSION_REJECT_TYPE), expected: readU32(fr.body, P.SESSION_REJECT_EXPECTED) };
  }
}

const sell = (orderId: number, price: number, quantity: number): CommandFields => ({ symbol: 1, orderId, side: L.SIDE_SELL, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, price, quantity });
const buy = (orderId: number, price: number, quantity: number): CommandFields => ({ ...sell(orderId, price, quantity), side: L.SIDE_BUY });
const isType = (r: Reply, type: string) => r.type === type;

test('login: good credentials get LOGIN_ACK; a wrong credential or an unknown account gets LOGIN_REJECT and a logged reason', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  assert.ok(a.session > 0);
  assert.is(a.heartbeatMs, 5000);
  for (const [account, credential] of [[1, 'wrong'], [77, 'alpha']] as const) {
    const err = await Client.connect({ port: f.port, account, credential }).then(() => undefined, (e: Error) => e);
    assert.match(String(err?.message), /login rejected: bad-credentials/);
  }
  assert.is(f.logs.filter((l) => l.event === 'login-reject' && l.reason === 'bad-credentials').length, 2);
  // Anything before LOGIN ends the session.
  const raw = await Raw.open(f);
  raw.out.heartbeat();
  raw.send();
  await until(() => raw.closed, 'close');
  assert.is(raw.sessionReject()?.reason, P.SREJ_NOT_LOGGED_IN);
}));

test('orders: acked with the request seq as ref; bad orders rejected with the core reason; account always the session\'s', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const ack = await a.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 5, clientOrderId: 42 });
  assert.is(ack.type, 'accepted');
  const e = ack as Execution & { type: 'accepted' };
  assert.is(e.orderId, e.seq, 'the exchange assigns the id: the order\'s engine seq');
  assert.is(e.account, 1);
  assert.is(e.clientOrderId, 42);
  assert.ok(e.ref > 0);
  const bad = await a.newOrder({ symbol: 1, side: 'buy', price: 20_000, quantity: 5 });
  assert.is(bad.type, 'rejected');
  assert.is((bad as Execution & { type: 'rejected' }).reason, 'price-out-of-band');
  const bad2 = await a.newOrder({ symbol: 9, side: 'buy', price: 100, quantity: 5 });
  assert.is((bad2 as Execution & { type: 'rejected' }).reason, 'unknown-symbol');
  // A raw client claiming order id 13, account 2 and engine seq 999 in the record: the gateway overwrites all three.
  const raw = await Raw.open(f);
  raw.login(1, 'alpha');
  await raw.loggedIn();
  raw.out.command(P.MSG_NEW, { ...buy(13, 99, 1), account: 2, seq: 999 });
  raw.send();
  await until(() => raw.execs().length === 1, 'ack');
  assert.is(raw.execs()[0].account, 1);
  assert.is(raw.execs()[0].ref, 2);
  assert.is.not(raw.execs()[0].seq, 999);
  assert.is(raw.execs()[0].orderId, raw.execs()[0].seq);
  assert.is(f.engine.order(13), undefined);
  assert.is(f.engine.order(raw.execs()[0].orderId)?.account, 1);
  // Modify and mass cancel.
  const mod = await a.modify({ symbol: 1, orderId: e.orderId as number, price: 101, quantity: 3 });
  assert.is(mod.type, 'modified');
  const mass = await a.massCancel({ symbol: 1 });
  assert.equal(mass, { type: 'mass-cancel-ack', ref: (mass as { ref: number }).ref, symbol: 1, count: 2 });
  assert.is(f.engine.liveOrders, 0);
}));

test('exchange-assigned ids: two accounts sending the same order id both rest, under distinct ids = their engine seqs', withGateway(async (f) => {
  const ra = await Raw.open(f);
  ra.login(1, 'alpha');
  await ra.loggedIn();
  const rb = await Raw.open(f);
  rb.login(2, 'beta');
  await rb.loggedIn();
  ra.out.command(P.MSG_NEW, buy(77, 99, 1));
  ra.send();
  await until(() => ra.execs().length === 1, 'a ack');
  rb.out.command(P.MSG_NEW, buy(77, 98, 2));
  rb.send();
  await until(() => rb.execs().length === 1, 'b ack');
  const [ea, eb] = [ra.execs()[0], rb.execs()[0]];
  assert.equal([ea.type, eb.type], [L.EV_ACCEPTED, L.EV_ACCEPTED], 'no DUPLICATE_ORDER_ID across accounts');
  assert.is(ea.orderId, ea.seq);
  assert.is(eb.orderId, eb.seq);
  assert.ok(eb.orderId > ea.orderId);
  assert.is(f.engine.order(77), undefined, 'the id on the wire was not used');
  assert.equal([f.engine.order(ea.orderId)?.account, f.engine.order(eb.orderId)?.account], [1, 2]);
  assert.is(f.engine.liveOrders, 2);
}));

test('a cross between two sessions delivers the fill to both, each seeing only its own side', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const b = await login(f, 2, 'beta');
  const aEx = collect(a);
  const bEx = collect(b);
  const maker = await a.newOrder({ symbol: 1, side: 'sell', price: 100, quantity: 10 });
  assert.is(maker.type, 'accepted');
  const taker = await b.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 4, tif: 'ioc' });
  assert.is(taker.type, 'accepted');
  const makerId = (maker as Execution).orderId as number;
  const takerId = (taker as Execution).orderId as number;
  await until(() => aEx.some((e) => e.type === 'trade') && bEx.some((e) => e.type === 'trade'), 'trades');
  const aTrade = aEx.find((e) => e.type === 'trade') as Execution & { type: 'trade' };
  const bTrade = bEx.find((e) => e.type === 'trade') as Execution & { type: 'trade' };
  assert.is(aTrade.quantity, 4);
  assert.is(bTrade.quantity, 4);
  assert.is(aTrade.tradeId, bTrade.tradeId);
  assert.is(aTrade.price, 100);
  // The maker sees its order and account, not the taker's; the taker the reverse.
  assert.is(aTrade.makerId, makerId);
  assert.is(aTrade.makerAccount, 1);
  assert.is(aTrade.takerAccount, 0);
  assert.is(aTrade.takerId, 0);
  assert.is(bTrade.takerId, takerId);
  assert.is(bTrade.takerAccount, 2);
  assert.is(bTrade.makerAccount, 0);
  assert.is(bTrade.makerId, 0);
  // The taker's fill answers its request; the maker's does not.
  assert.is(bTrade.ref, taker.type === 'accepted' ? (taker as Execution).ref : -1);
  assert.is(aTrade.ref, 0);
  assert.is(f.engine.order(makerId)?.quantity, 6);
  // Nothing of account 1 went to account 2 or the other way.
  assert.ok(aEx.every((e) => e.type !== 'accepted' || e.account === 1));
  assert.ok(bEx.every((e) => e.type !== 'accepted' || e.account === 2));
}));

test('NOT_OWNER: session B cannot cancel or modify A\'s order, even claiming A\'s account in the record', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const b = await login(f, 2, 'beta');
  const id = (await a.newOrder({ symbol: 1, side: 'buy', price: 90, quantity: 3 }) as Execution).orderId as number;
  const c = await b.cancel({ symbol: 1, orderId: id });
  assert.is(c.type, 'rejected');
  assert.is((c as Execution & { type: 'rejected' }).reason, 'not-owner');
  const m = await b.modify({ symbol: 1, orderId: id, price: 91, quantity: 3 });
  assert.is((m as Execution & { type: 'rejected' }).reason, 'not-owner');
  const raw = await Raw.open(f);
  raw.login(2, 'beta');
  await raw.loggedIn();
  raw.out.command(P.MSG_CANCEL, { symbol: 1, orderId: id, account: 1 });
  raw.send();
  await until(() => raw.execs().length === 1, 'reject');
  assert.is(raw.execs()[0].type, L.EV_REJECTED);
  assert.is(raw.execs()[0].reason, L.REJ_NOT_OWNER);
  // A MASS_CANCEL from B is B's account only.
  const mass = await b.massCancel();
  assert.is((mass as { count: number }).count, 0);
  assert.is(f.engine.order(id)?.quantity, 3);
  assert.is((await a.cancel({ symbol: 1, orderId: id })).type, 'cancelled');
}));

test('a sequence gap gets SESSION_REJECT (bad-seq, offending and expected seq) and a disconnect; other sessions carry on', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const raw = await Raw.open(f);
  raw.login(2, 'beta');
  await raw.loggedIn();
  raw.out.seq = 3; // skips 2
  raw.out.heartbeat();
  raw.send();
  await until(() => raw.closed, 'disconnect');
  assert.equal(raw.sessionReject(), { reason: P.SREJ_BAD_SEQ, seq: 3, type: P.MSG_HEARTBEAT, expected: 2 });
  const line = f.logs.find((l) => l.event === 'session-reject' && l.reason === 'bad-seq');
  assert.ok(line, 'the reject is logged');
  assert.is(line!.account, 2);
  assert.is(line!.seq, 3);
  assert.ok(f.logs.some((l) => l.event === 'disconnect' && l.account === 2 && l.reason === 'bad-seq'));
  assert.is((await a.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 1 })).type, 'accepted');
  assert.not.ok(a.closed);
}));

test('oversize, garbage, unknown-type and wrong-version frames: disconnect with the reason; the server keeps serving', withGateway(async (f) => {
  const cases: [string, Buffer, number][] = [];
  const huge = Buffer.alloc(16);
  huge.writeUInt32LE(1_000_000_000, 0);
  cases.push(['oversize', huge, P.SREJ_FRAME_TOO_LARGE]);
  cases.push(['garbage', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), P.SREJ_FRAME_TOO_LARGE]);
  const w = new FrameWriter();
  w.begin(99, 0);
  cases.push(['unknown type', w.take(), P.SREJ_UNKNOWN_TYPE]);
  w.seq = 1;
  w.login(1, encodeCredential('alpha')!);
  const v = w.take();
  v[P.FRAME_VERSION] = 2;
  cases.push(['wrong version', v, P.SREJ_BAD_VERSION]);
  const short = Buffer.alloc(16);
  short.writeUInt32LE(8, 0);
  cases.push(['length below the header', short, P.SREJ_BAD_LENGTH]);
  for (const [name, bytes, reason] of cases) {
    const raw = await Raw.open(f);
    raw.socket.write(bytes);
    await until(() => raw.closed, `disconnect (${name})`);
    assert.is(raw.sessionReject()?.reason, reason, name);
  }
  // A logged-in session that sends garbage: the same.
  const raw = await Raw.open(f);
  raw.login(1, 'alpha');
  await raw.loggedIn();
  raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  await until(() => raw.closed, 'disconnect');
  assert.is(raw.sessionReject()?.reason, P.SREJ_FRAME_TOO_LARGE);
  assert.ok(f.logs.filter((l) => l.event === 'session-reject').length >= cases.length + 1);
  const a = await login(f, 1, 'alpha');
  assert.is((await a.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 1 })).type, 'accepted');
}));

test('throttle: orders over the session\'s token bucket get SESSION_REJECT throttled, not executed; the session stays up', withGateway(async (f) => {
  const s = await login(f, 4, 'slow'); // burst 3, refill 0.001/s
  assert.is(s.ratePerSecond, 1);
  const replies = await Promise.all([1, 2, 3, 4, 5].map(() => s.newOrder({ symbol: 1, side: 'buy', price: 50, quantity: 1 })));
  assert.equal(replies.map((r) => r.type), ['accepted', 'accepted', 'accepted', 'session-reject', 'session-reject']);
  assert.is((replies[3] as { reason: string }).reason, 'throttled');
  assert.is(f.engine.liveOrders, 3);
  assert.not.ok(s.closed);
  assert.ok(f.logs.some((l) => l.event === 'session-reject' && l.reason === 'throttled' && l.account === 4));
  // Heartbeats are not throttled, and the session still answers.
  assert.is(isType(await s.cancel({ symbol: 1, orderId: (replies[0] as Execution).orderId as number }), 'session-reject'), true);
}));

test('cancel-on-disconnect: the account\'s orders are cancelled when its last session drops; others\' stay', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const idOf = async (r: Promise<Reply>) => (await r as Execution).orderId as number;
  const a1 = await idOf(a.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 1 }));
  const g1 = await login(f, 3, 'gamma');
  const g2 = await login(f, 3, 'gamma');
  const g1Order = await idOf(g1.newOrder({ symbol: 1, side: 'buy', price: 101, quantity: 1 }));
  const g2Order = await idOf(g2.newOrder({ symbol: 1, side: 'sell', price: 200, quantity: 1 }));
  assert.is(f.engine.liveOrders, 3);
  const g2Ex = collect(g2);
  g1.close();
  await until(() => f.logs.some((l) => l.event === 'disconnect' && l.account === 3), 'first disconnect');
  assert.is(f.engine.liveOrders, 3, 'one session of the account is still up');
  await g2.logout();
  await until(() => f.logs.some((l) => l.event === 'cancel-on-disconnect'), 'cancel-on-disconnect');
  await until(() => f.engine.liveOrders === 1, 'the mass cancel');
  assert.ok(f.engine.order(a1), 'account 1 keeps its order');
  assert.is(f.engine.order(g1Order), undefined);
  assert.is(f.engine.order(g2Order), undefined);
  assert.ok(f.logs.some((l) => l.event === 'disconnect' && l.account === 3 && l.reason === 'logout'));
  assert.is(g2Ex.length, 0);
}));

test('QoS: a cancel overtakes new orders queued before it in the same read', withGateway(async (f) => {
  const raw = await Raw.open(f);
  raw.login(1, 'alpha');
  await raw.loggedIn();
  raw.out.command(P.MSG_NEW, sell(0, 100, 5)); // seq 2
  raw.send();
  await until(() => raw.execs().length === 1, 'ack');
  const resting = raw.execs()[0].orderId;
  // One write: a NEW that would trade with the resting order (self-trades allowed), then a CANCEL of it.
  raw.out.command(P.MSG_NEW, buy(0, 100, 5)); //  seq 3
  raw.out.command(P.MSG_CANCEL, { symbol: 1, orderId: resting }); // seq 4
  raw.send();
  await until(() => raw.execs().length === 3, 'cancel and ack');
  const [, first, second] = raw.execs();
  assert.is(first.type, L.EV_CANCELLED, 'the cancel ran first');
  assert.is(first.ref, 4);
  assert.is(first.orderId, resting);
  assert.is(second.type, L.EV_ACCEPTED);
  assert.is(second.ref, 3);
  assert.ok(first.seq < second.seq, 'engine sequence: cancel before the new order');
  assert.is(f.engine.order(second.orderId)?.quantity, 5, 'no trade: the new order rests whole');
  assert.is(raw.execs().filter((e) => e.type === L.EV_TRADE).length, 0);
}));

test('journal mode: batches run while their commit is in flight are held, then go out in one write per session when it resolves', async () => {
  const engine = new Engine({ maxOrders: 1000, maxSymbols: 4, ladderTicks: 20_000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10_000 }] });
  // A journal whose commits all share one write until the test resolves it (the real one groups
  // every commit() made while a write is in flight the same way).
  let appended = 0;
  let shared: { promise: Promise<void>; resolve: () => void } | undefined;
  const journal = {
    append: (_records: Uint8Array, count: number) => void (appended += count),
    commit: (): Promise<void> => {
      if (!shared) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        shared = { promise, resolve };
      }
      return shared.promise;
    },
  };
  const durable: number[] = [];
  const gateway = new Gateway({ engine, accounts: ACCOUNTS, logger: () => {}, heartbeatMs: 5000, io: test.io, journal, onDurableBatch: (b) => durable.push(b.lastSeq) });
  const port = await gateway.listen();
  const socket = net.connect({ port, host: '127.0.0.1' });
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const raw = new Raw(socket);
    raw.login(1, 'alpha');
    await raw.loggedIn();
    const writes = gateway.stats.writes;
    const BATCHES = 20;
    for (let i = 0; i < BATCHES; i++) {
      raw.out.command(P.MSG_NEW, buy(0, 100 + i, 1)); // resting bids: one ACCEPTED each
      raw.send();
      await until(() => gateway.stats.batches === i + 1, `batch ${i + 1}`); // one order per batch
    }
    assert.is(appended, BATCHES, 'every batch journaled');
    assert.is(gateway.stats.writes, writes, 'nothing written before the commit resolved');
    assert.equal(durable, [], 'nothing handed to market data before the commit resolved');
    shared!.resolve();
    shared = undefined;
    await until(() => raw.execs().length === BATCHES, `${BATCHES} ACCEPTED`);
    assert.equal(raw.execs().map((e) => e.ref), Array.from({ length: BATCHES }, (_, i) => i + 2), 'in order (seq 1 was the login)');
    assert.is(gateway.stats.writes, writes + 1, `${BATCHES} batches released by one shared commit: one write`);
    assert.equal(durable, Array.from({ length: BATCHES }, (_, i) => i + 1), 'each batch handed to market data once, in seq order');
  } finally {
    socket.destroy();
    const closing = gateway.close();
    shared?.resolve();
    await closing;
  }
});

test('frames cut at odd byte boundaries are staged whole: every field the client sets reaches the engine; account, seq and id are the gateway\'s', withGateway(async (f) => {
  const raw = await Raw.open(f);
  raw.login(1, 'alpha');
  await raw.loggedIn();
  const orders = [1, 2, 3, 4, 5].map((i) => ({ ...sell(0, 100 * i + 1, 2 ** 33 + i), account: 2, clientOrderId: 2 ** 40 + i, seq: 77, timestamp: 5 }));
  for (const o of orders) raw.out.command(P.MSG_NEW, o);
  const bytes = raw.out.take();
  // 7 and 13 byte pieces, one per turn: frames start at odd offsets in the reads, or span two.
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = k % 2 === 0 ? 7 : 13;
    raw.socket.write(bytes.subarray(at, at + n));
    at += n;
    await new Promise((r) => setImmediate(r));
  }
  await until(() => raw.execs().length === orders.length, 'five acks');
  raw.execs().forEach((e, i) => {
    assert.is(e.type, L.EV_ACCEPTED);
    assert.is(e.ref, i + 2);
    const o = f.engine.order(e.orderId)!;
    assert.is(o.orderId, e.seq, 'the id is the engine seq');
    assert.is(o.side, 'sell');
    assert.is(o.price, orders[i].price);
    assert.is(o.quantity, orders[i].quantity);
    assert.is(o.clientOrderId, orders[i].clientOrderId);
    assert.is(o.account, 1, 'the session\'s account, not the record\'s');
  });
}));

test('executions route to the right session and ref when a batch\'s engine seqs cross 2^32', async () => {
  const engine = new Engine({ maxOrders: 1000, maxSymbols: 4, ladderTicks: 20_000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10_000 }] });
  const gateway = new Gateway({ engine, accounts: ACCOUNTS, logger: () => {}, io: test.io, firstSeq: 2 ** 32 - 3 });
  const f: Fixture = { engine, gateway, port: await gateway.listen(), logs: [], closers: [] };
  try {
    const a = await Raw.open(f);
    const b = await Raw.open(f);
    a.login(1, 'alpha');
    b.login(2, 'beta');
    await a.loggedIn();
    await b.loggedIn();
    // Seqs 2^32-3 .. 2^32+4: a batch holding a's four orders already spans 2^32.
    for (let i = 0; i < 4; i++) a.out.command(P.MSG_NEW, sell(0, 200 + i, 1));
    for (let i = 0; i < 4; i++) b.out.command(P.MSG_NEW, buy(0, 100 - i, 1));
    a.send();
    b.send();
    await until(() => a.execs().length === 4 && b.execs().length === 4, 'eight acks');
    for (const [raw, account] of [[a, 1], [b, 2]] as const) {
      assert.equal(raw.execs().map((e) => e.ref), [2, 3, 4, 5]);
      for (const e of raw.execs()) {
        assert.is(e.type, L.EV_ACCEPTED);
        assert.is(e.account, account);
        assert.is(f.engine.order(e.orderId)?.account, account);
      }
    }
    const seqs = [...a.execs(), ...b.execs()].map((e) => e.seq).sort((x, y) => x - y);
    assert.ok(seqs[0] < 2 ** 32 && seqs[7] >= 2 ** 32, `seqs ${seqs.join(' ')} cross 2^32`);
  } finally {
    await stop(f);
  }
});

test('logout: the server answers LOGOUT and closes; executions iterator ends; gateway close logs every session out', withGateway(async (f) => {
  const a = await login(f, 1, 'alpha');
  const seen: Execution[] = [];
  const done = (async () => {
    for await (const e of a.executions()) seen.push(e);
  })();
  await a.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 1 });
  let loggedOut = -1;
  a.on('logout', (reason: number) => (loggedOut = reason));
  await a.logout();
  await done;
  assert.is(loggedOut, P.LOGOUT_REQUESTED);
  assert.is(seen.length, 1);
  assert.is(seen[0].type, 'accepted');
  const b = await login(f, 2, 'beta');
  let shutdown = -1;
  b.on('logout', (reason: number) => (shutdown = reason));
  const closed = new Promise((r) => b.once('close', r));
  await f.gateway.close();
  await closed;
  assert.is(shutdown, P.LOGOUT_SHUTDOWN);
}));

test.run();

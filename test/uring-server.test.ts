// Tests of the native io_uring server (native/uring_server.cc) through its JS interface, and of the
// gateway's io choice (src/gateway/choose-io.ts). Loopback, ephemeral ports. Skipped, with a
// printed line, where the native helper or io_uring is not available. No timed assertions: waits
// only guard against hangs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { native, type UringServer } from '../src/native.js';
import { uringUnavailable } from '../src/gateway/choose-io.js';
import { Gateway } from '../src/gateway/server.js';
import { Engine } from '../src/engine.js';
import { Client } from '../src/client/client.js';
import type { GatewayLogRecord } from '../src/gateway/log.js';

const HANG_GUARD_MS = 10_000;
const ROOT = new URL('..', import.meta.url).pathname;

async function rejects(p: Promise<unknown>, expected: RegExp, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, expected, what);
    return;
  }
  assert.unreachable(`${what}: resolved`);
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Entry { kind: number; conn: number; a: number; b: number }

/** A UringServer whose JS side echoes every received byte back (unless `echo` is off) and records the entries. */
class Echo {
  readonly server: UringServer;
  readonly entries: Entry[] = [];
  readonly received = new Map<number, number[]>();
  readonly calls: number[] = [];
  echo = true;
  serverClosed = false;
  constructor(options: { slots?: number; slotBytes?: number; maxConnections?: number } = {}) {
    const slotBytes = options.slotBytes ?? 4096;
    const region = new Uint8Array(new SharedArrayBuffer((options.slots ?? 64) * slotBytes));
    const table = new Int32Array(64 * 4);
    const K = native!.uringLayout;
    this.server = new native!.UringServer({
      host: '127.0.0.1', port: 0, region, slotBytes, completions: table, maxConnections: options.maxConnections,
      onCompletions: (count) => {
        this.calls.push(count);
        for (let i = 0; i < count; i++) {
          const e = { kind: table[i * 4 + K.KIND], conn: table[i * 4 + K.CONN], a: table[i * 4 + K.A], b: table[i * 4 + K.B] };
          this.entries.push(e);
          if (e.kind === K.DATA) {
            const bytes = region.subarray(e.a, e.a + e.b);
            const seen = this.received.get(e.conn) ?? [];
            seen.push(...bytes);
            this.received.set(e.conn, seen);
            if (this.echo) this.server.send(e.conn, bytes, e.b);
          }
          if (e.kind === K.SERVER_CLOSED) this.serverClosed = true;
        }
        this.server.submit();
      },
    });
  }
  of(kind: number): Entry[] {
    return this.entries.filter((e) => e.kind === kind);
  }
  async close(): Promise<void> {
    this.server.close();
    await until(() => this.serverClosed, 'SERVER_CLOSED');
  }
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  s.on('error', () => {});
  return s;
}

function reader(s: net.Socket): { bytes: number[]; ended: () => boolean; closed: () => boolean } {
  const bytes: number[] = [];
  let ended = false;
  let closed = false;
  s.on('data', (d: Buffer) => bytes.push(...d));
  s.on('end', () => (ended = true));
  s.on('close', () => (closed = true));
  return { bytes, ended: () => ended, closed: () => closed };
}

const why = uringUnavailable();
if (why !== undefined) {
  console.log(`uring-server.test.ts: SKIPPING (${why})`);
} else {
  const K = native!.uringLayout;

  test('accept reports the peer; bytes round-trip through JS in place; the ids and counters add up', async () => {
    const e = new Echo();
    const s = await connect(e.server.port);
    const r = reader(s);
    s.write('hello ');
    s.write('io_uring');
    await until(() => r.bytes.length >= 14, 'the echo');
    assert.is(Buffer.from(r.bytes).toString(), 'hello io_uring');
    const [accept] = e.of(K.ACCEPT);
    assert.is(e.server.remote(accept.conn), `127.0.0.1:${s.localPort}`, 'remote() is the peer address');
    assert.ok(e.of(K.DATA).every((d) => d.conn === accept.conn && d.a % 4096 === 0), 'DATA entries point at slot starts of the region');
    const st = e.server.stats;
    assert.equal([st.accepted, st.bytesIn, st.bytesOut, st.connections], [1, 14, 14, 1]);
    s.destroy();
    await until(() => e.of(K.CLOSED).length === 1, 'CLOSED');
    assert.is(e.of(K.CLOSED)[0].conn, accept.conn);
    assert.is(e.server.send(accept.conn, new Uint8Array(1), 1), -1, 'a closed id takes no more sends');
    await e.close();
  });

  test('a stream larger than every slot arrives whole and in order: slots are recycled, out-of-buffer receives re-armed', async () => {
    const e = new Echo({ slots: 4, slotBytes: 64 }); // 256 bytes of slots for 64 KiB of data
    const s = await connect(e.server.port);
    const r = reader(s);
    const data = Buffer.alloc(64 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    s.write(data);
    await until(() => r.bytes.length >= data.length, 'the whole echo');
    assert.ok(Buffer.from(r.bytes).equals(data), 'echo equals what was sent');
    assert.ok(e.of(K.DATA).every((d) => d.b <= 64), 'no receive is larger than a slot');
    s.destroy();
    await e.close();
  });

  test('a slow reader: sends queue up (buffered > 0) and are resubmitted after short sends until every byte arrived in order', async () => {
    const e = new Echo();
    e.echo = false;
    const s = await connect(e.server.port);
    s.pause(); // the client reads nothing for now
    await until(() => e.of(K.ACCEPT).length === 1, 'ACCEPT');
    const conn = e.of(K.ACCEPT)[0].conn;
    const chunk = new Uint8Array(256 * 1024);
    let total = 0;
    let maxBuffered = 0;
    for (let k = 0; k < 64; k++) { // 16 MiB: more than the socket buffers hold
      for (let i = 0; i < chunk.length; i++) chunk[i] = (k + i) & 0xff;
      maxBuffered = Math.max(maxBuffered, e.server.send(conn, chunk, chunk.length));
      total += chunk.length;
    }
    e.server.submit();
    assert.ok(maxBuffered > 0, 'bytes wait in the connection\'s outbound buffer');
    let got = 0;
    let inOrder = true;
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++, got++) {
        const k = Math.floor(got / chunk.length);
        if (d[i] !== ((k + (got % chunk.length)) & 0xff)) inOrder = false;
      }
    });
    s.resume();
    await until(() => got >= total, 'every byte');
    assert.ok(inOrder, 'bytes arrive in order');
    assert.is(e.server.buffered(conn), 0, 'nothing left to send');
    s.destroy();
    await e.close();
  });

  test('peer reset: CLOSED with the error; the server keeps serving', async () => {
    const e = new Echo();
    const s = await connect(e.server.port);
    await until(() => e.of(K.ACCEPT).length === 1, 'ACCEPT');
    s.write('x');
    await until(() => e.of(K.DATA).length === 1, 'DATA');
    s.resetAndDestroy();
    await until(() => e.of(K.CLOSED).length === 1, 'CLOSED');
    assert.ok([0, 104 /* ECONNRESET */].includes(e.of(K.CLOSED)[0].a), `errno ${e.of(K.CLOSED)[0].a}`);
    const s2 = await connect(e.server.port);
    const r2 = reader(s2);
    s2.write('still here');
    await until(() => r2.bytes.length >= 10, 'the echo on a new connection');
    s2.destroy();
    await e.close();
  });

  test('end(): queued bytes go first, then FIN; close() with live connections waits for them; many connections', async () => {
    const e = new Echo();
    const socks = await Promise.all(Array.from({ length: 100 }, () => connect(e.server.port)));
    const readers = socks.map(reader);
    socks.forEach((s, i) => s.write(`conn ${i}`));
    await until(() => readers.every((r, i) => r.bytes.length >= `conn ${i}`.length), 'every echo');
    assert.ok(readers.every((r, i) => Buffer.from(r.bytes).toString() === `conn ${i}`), 'each connection got its own bytes back');
    const ids = new Set(e.of(K.ACCEPT).map((a) => a.conn));
    assert.is(ids.size, 100, '100 distinct connection ids');
    e.server.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(e.serverClosed, 'not closed while connections are open');
    for (const id of ids) {
      e.server.send(id, new TextEncoder().encode('bye'), 3);
      e.server.end(id);
    }
    await until(() => readers.every((r) => r.ended()), 'FIN on every connection');
    assert.ok(readers.every((r, i) => Buffer.from(r.bytes).toString() === `conn ${i}bye`), 'the bytes queued before end() arrived before the FIN');
    socks.forEach((s) => s.end());
    await until(() => e.serverClosed, 'SERVER_CLOSED once the peers closed');
    assert.is(e.of(K.CLOSED).length, 100);
    await rejects(connect(e.server.port), /ECONNREFUSED/, 'the listener is closed');
  });

  test('bad arguments throw with a reason; a port in use is EADDRINUSE (stage socket)', async () => {
    const region = new Uint8Array(new SharedArrayBuffer(3 * 4096));
    const completions = new Int32Array(16);
    const base = { host: '127.0.0.1', port: 0, slotBytes: 4096, completions, onCompletions: () => {} };
    assert.throws(() => new native!.UringServer({ ...base, region }), /power of two/);
    assert.throws(() => new native!.UringServer({ ...base, region: new Uint8Array(8192), host: 'nowhere' }), /not an IP address/);
    assert.throws(() => new native!.UringServer({ ...base, region: new Uint8Array(8192), completions: new Int32Array(2) }), /at least one entry/);
    assert.throws(() => new native!.UringServer({ ...(base as object) } as never), /region: Uint8Array/, "no region");
    assert.throws(() => new (native!.UringServer as never as new (o: unknown) => unknown)(42), /options must be an object/);
    const e = new Echo();
    try {
      new native!.UringServer({ ...base, region: new Uint8Array(8192), port: e.server.port });
      assert.unreachable('bound a port in use');
    } catch (err) {
      const x = err as Error & { code?: string; stage?: string };
      assert.equal([x.code, x.stage], ['EADDRINUSE', 'socket']);
    }
    await e.close();
  });

  // ---- the gateway's io choice ------------------------------------------------------------------

  const engine = () => new Engine({ maxOrders: 1000, maxSymbols: 4, ladderTicks: 20_000, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 10_000 }] });
  const accounts = [{ account: 1, credential: 'alpha' }];

  test('gateway on uring: frames cut across 64-byte slots and across reads are parsed whole', async () => {
    const gateway = new Gateway({ engine: engine(), accounts, logger: () => {}, io: 'uring', uring: { slots: 8, slotBytes: 64 } });
    const port = await gateway.listen();
    const c = await Client.connect({ port, account: 1, credential: 'alpha' });
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => c.newOrder({ symbol: 1, orderId: i + 1, side: 'buy', price: 100 + (i % 50), quantity: 1 })));
    assert.ok(replies.every((r) => r.type === 'accepted'), 'every 80-byte frame (spanning two 64-byte slots) was accepted');
    c.close();
    await gateway.close();
  });

  test('io auto: a failed io_uring_setup falls back to node:net and says why; io uring fails with the reason', async () => {
    const logs: GatewayLogRecord[] = [];
    const auto = new Gateway({ engine: engine(), accounts, logger: (r) => logs.push(r), io: 'auto', uring: { sqEntries: 0 } }); // io_uring_setup(0): EINVAL
    const port = await auto.listen();
    assert.is(auto.io, 'net');
    const listening = logs.find((r) => r.event === 'listening')!;
    assert.is(listening.io, 'net');
    assert.match(String(listening.ioReason), /io_uring unavailable here \(io_uring_setup: Invalid argument\)/);
    const c = await Client.connect({ port, account: 1, credential: 'alpha' });
    assert.is((await c.newOrder({ symbol: 1, orderId: 1, side: 'buy', price: 100, quantity: 1 })).type, 'accepted', 'the fallback serves');
    c.close();
    await auto.close();
    const strict = new Gateway({ engine: engine(), accounts, logger: () => {}, io: 'uring', uring: { sqEntries: 0 } });
    await rejects(strict.listen(), /io_uring_setup: Invalid argument/, 'io uring without a ring');
    assert.throws(() => new Gateway({ engine: engine(), accounts, io: 'epoll' as never }), /io must be one of auto, uring, net/);
    const uring = new Gateway({ engine: engine(), accounts, logger: () => {}, io: 'auto' });
    await uring.listen();
    assert.is(uring.io, 'uring', 'auto picks io_uring where it works');
    await uring.close();
  });

  test('io auto without the native helper (CLOB_NATIVE=0): node:net and the reason; io uring: an error naming the helper', () => {
    const script = `
      import { Gateway } from './src/gateway/server.ts';
      import { Engine } from './src/engine.ts';
      const engine = new Engine({ maxOrders: 10, maxSymbols: 1, ladderTicks: 100, symbols: [] });
      const logs = [];
      const g = new Gateway({ engine, accounts: [{ account: 1, credential: 'a' }], logger: (r) => logs.push(r), io: 'auto' });
      await g.listen();
      let strict = '';
      try { await new Gateway({ engine, accounts: [{ account: 1, credential: 'a' }], logger: () => {}, io: 'uring' }).listen(); } catch (e) { strict = e.message; }
      console.log(JSON.stringify({ io: g.io, reason: logs.find((r) => r.event === 'listening').ioReason, strict }));
      await g.close();`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, CLOB_NATIVE: '0' }, encoding: 'utf8' });
    assert.is(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as { io: string; reason: string; strict: string };
    assert.is(r.io, 'net');
    assert.match(r.reason, /native helper is not loaded \(disabled by CLOB_NATIVE=0\)/);
    assert.match(r.strict, /io 'uring': disabled by CLOB_NATIVE=0/);
  });
}

test.run();

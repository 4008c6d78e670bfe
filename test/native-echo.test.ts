// Tests of the native helper's C TCP echo (native/echo.cc): the wire-latency floor of bench/wire.ts.
// Like test/native.test.ts, an absent addon FAILS here unless CLOB_NATIVE_OPTIONAL=1. No timed
// assertions: latencies are checked for being recorded (positive, one per message), not for size.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { withNative } from './support/native.js';



/** A node:net server on a free loopback port; `onData` decides what goes back. */
async function nodeServer(onData: (s: net.Socket, chunk: Buffer) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (c) => onData(s, c));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

withNative('C echo: ping-pong returns every message and records one round trip per message', async (n) => {
  const port = n.echoServerStart();
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `port ${port}`);
  try {
    const out = new Float64Array(200).fill(-1);
    const r = await n.echoClient(port, out, { warmup: 10 });
    assert.equal(r, { sent: 200, returned: 200, mismatched: 0 });
    assert.ok(out.every((v) => Number.isFinite(v) && v > 0), 'every round trip recorded');
  } finally {
    assert.is(n.echoServerStop(port), true);
  }
  assert.is(n.echoServerStop(port), false, 'a stopped server is gone');
});

withNative('C echo: open loop records latency from the planned time, never below the latency from the write', async (n) => {
  const port = n.echoServerStart();
  try {
    const out = new Float64Array(300).fill(-1);
    const fromSend = new Float64Array(300).fill(-1);
    const r = await n.echoClient(port, out, { rate: 20_000, fromSend });
    assert.equal(r, { sent: 300, returned: 300, mismatched: 0 });
    for (let i = 0; i < out.length; i++) {
      assert.ok(fromSend[i] > 0, `fromSend[${i}] = ${fromSend[i]}`);
      assert.ok(out[i] >= fromSend[i], `message ${i}: from plan ${out[i]} < from write ${fromSend[i]} (a message is written at or after its planned time)`);
    }
  } finally {
    n.echoServerStop(port);
  }
});

withNative('C client: drives any echo server, and counts replies that are not the bytes sent', async (n) => {
  const honest = await nodeServer((s, c) => s.write(c));
  const corrupt = await nodeServer((s, c) => {
    const b = Buffer.from(c);
    for (let i = 0; i < b.length; i += 48) b[i + 47] ^= 0xff; // last byte of every message (chunks hold whole messages here)
    s.write(b);
  });
  try {
    assert.equal(await n.echoClient(honest.port, new Float64Array(50)), { sent: 50, returned: 50, mismatched: 0 });
    assert.equal(await n.echoClient(corrupt.port, new Float64Array(50)), { sent: 50, returned: 50, mismatched: 50 });
  } finally {
    await honest.close();
    await corrupt.close();
  }
});

withNative('C client: a silent server, a closed port and an early close reject with the reason', async (n) => {
  const silent = await nodeServer(() => {});
  const closer = await nodeServer((s) => s.destroy());
  try {
    await n.echoClient(silent.port, new Float64Array(5), { timeoutMs: 100 }).then(
      () => assert.unreachable('a silent server must fail the run'),
      (e: Error) => assert.match(e.message, /no reply within 100 ms/),
    );
    await n.echoClient(closer.port, new Float64Array(5)).then(
      () => assert.unreachable('a closed connection must fail the run'),
      (e: Error) => assert.match(e.message, /closed the connection after 0 replies|Connection reset/),
    );
  } finally {
    await silent.close();
    await closer.close();
  }
  const port = n.echoServerStart();
  n.echoServerStop(port);
  await n.echoClient(port, new Float64Array(5)).then(
    () => assert.unreachable('nothing listens there'),
    (e: Error) => assert.match(e.message, /connect to 127\.0\.0\.1:\d+: Connection refused/),
  );
});

withNative('C client: bad arguments throw a TypeError naming the argument', async (n) => {
  const call = (...args: unknown[]) => (n.echoClient as (...a: unknown[]) => unknown)(...args);
  assert.throws(() => call('80', new Float64Array(1)), /port must be an integer/);
  assert.throws(() => call(0, new Float64Array(1)), /port must be an integer/);
  assert.throws(() => call(80, new Uint32Array(1)), /out must be a Float64Array/);
  assert.throws(() => call(80, new Float64Array(1), { rate: -1 }), /options\.rate must be a number/);
  assert.throws(() => call(80, new Float64Array(2), { rate: 10, fromSend: new Float64Array(1) }), /fromSend must be a Float64Array as long as out/);
  assert.throws(() => (n.echoServerStop as (p: unknown) => unknown)('x'), /port must be a number/);
});

test.run();

// The gateway's transport seam (src/gateway/transport.ts) on every I/O path: what a connection's
// write() promises. Bytes are copied at the call (the caller reuses its buffer at once), arrive in
// order and intact, whatever the sizes, including after earlier writes completed (node:net recycles
// its send buffers then). No timed assertions: waits only guard against hangs.
import { testOnEveryIo } from './support/io-paths.js';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { openTransport } from '../src/gateway/choose-io.js';
import type { Connection } from '../src/gateway/transport.js';

const HANG_GUARD_MS = 10_000;
const test = testOnEveryIo('transport.test.ts');

async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('write: copied at the call, delivered in order and intact across rounds of mixed sizes', async () => {
  let conn: Connection | undefined;
  const { transport } = await openTransport(test.io, '127.0.0.1', 0, (c) => {
    conn = c;
    return { data: () => {}, closed: () => {} };
  }, (err) => { throw err; });
  const received: Buffer[] = [];
  const peer = net.connect({ port: transport.port, host: '127.0.0.1' });
  let ended = false;
  peer.on('data', (d: Buffer) => received.push(d));
  peer.on('end', () => (ended = true));
  try {
    await until(() => conn !== undefined, 'accept');
    const scratch = new Uint8Array(1 << 20); // one buffer for every write, overwritten right after each
    // Rounds of writes that complete before the next round: smaller, equal and larger than before.
    // The peer reads nothing during a round: the kernel's buffers fill (a few MiB) and writes queue.
    const rounds = [[10, 100_000], [50, 300_000, 7], [99_999, 3], Array(24).fill(1 << 20), [300_000], [1, 2, 65_536, 65_537], Array(40).fill(200_000)];
    const expected = new Uint8Array(rounds.flat().reduce((a, b) => a + b, 0));
    let next = 0;
    for (const round of rounds) {
      peer.pause();
      for (const size of round) {
        for (let i = 0; i < size; i++, next++) expected[next] = scratch[i] = (next * 7 + (next >>> 12)) & 0xff;
        conn!.write(scratch, size);
        scratch.fill(0xee);
      }
      transport.flush();
      peer.resume();
      await until(() => conn!.bufferedBytes === 0 && received.reduce((n, b) => n + b.length, 0) === next, 'the round delivered');
    }
    conn!.end();
    transport.flush();
    await until(() => ended, 'end');
    const got = Buffer.concat(received);
    assert.is(got.length, expected.length);
    assert.ok(got.equals(expected), 'every byte in order');
  } finally {
    peer.destroy();
    await transport.close();
  }
});

test.run();

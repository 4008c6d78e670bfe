// Tests of the wire protocol's codec (src/protocol/codec.ts, assembly/protocol-layout.ts): round
// trips, streaming over every split, every reject reason, the layout's agreement with layout.ts and
// docs/PROTOCOL.md, and a fuzz run: random bytes, truncations, bit flips and huge lengths never throw,
// never buffer more than MAX_FRAME bytes, and valid frames still decode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as P from '../assembly/protocol-layout.js';
import * as L from '../assembly/layout.js';
import {
  FrameDecoder, FrameWriter, CLIENT_TO_SERVER, SERVER_TO_CLIENT, NEED_MORE, FAILED, MESSAGES,
  readU32, readI64, encodeCredential, SESSION_REJECT_NAMES,
} from '../src/protocol/codec.js';

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** A client's stream: login, then a mix of every client -> server message. */
function clientStream(n: number, seed: number): Buffer {
  const r = rng(seed);
  const w = new FrameWriter(64);
  w.login(7, encodeCredential('secret')!);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * 6);
    if (k === 0) w.heartbeat();
    else if (k === 5) w.logout(0, P.LOGOUT_REQUESTED);
    else {
      const type = [P.MSG_NEW, P.MSG_CANCEL, P.MSG_MODIFY, P.MSG_MASS_CANCEL][k - 1];
      w.command(type, { symbol: 1, orderId: i + 1, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, price: 100 + i, quantity: 2 ** 40 - i, clientOrderId: -i, seq: i, timestamp: 2 ** 52 + i });
    }
  }
  return w.take();
}

/** Decodes a whole stream fed in the given chunk sizes; returns the frames (type, seq, orderId) and the final status. */
function decodeAll(bytes: Uint8Array, chunks: number[], sizes = CLIENT_TO_SERVER) {
  const d = new FrameDecoder(sizes);
  const frames: [number, number, number][] = [];
  let pos = 0;
  let k = 0;
  let status = NEED_MORE;
  while (pos < bytes.length && status !== FAILED) {
    const n = Math.max(1, Math.min(chunks[k++ % chunks.length], bytes.length - pos));
    d.feed(bytes.subarray(pos, pos + n));
    pos += n;
    for (;;) {
      status = d.next();
      if (status <= 0) break;
      const body = d.at + P.FRAME_HEADER_SIZE;
      frames.push([status, d.seq, d.length >= P.FRAME_HEADER_SIZE + L.CMD_SIZE ? readI64(d.buf, body + L.CMD_ORDER_ID) : 0]);
      assert.ok(d.buffered <= P.MAX_FRAME);
    }
  }
  return { frames, status, decoder: d };
}

test('the protocol layout agrees with layout.ts: embedded records are the core\'s 64-byte records', () => {
  assert.is(P.PROTOCOL_RECORD_SIZE, L.CMD_SIZE);
  assert.is(P.PROTOCOL_RECORD_SIZE, L.EVT_SIZE);
  assert.is(P.BODY_COMMAND, L.CMD_SIZE);
  assert.is(P.BODY_EXEC, L.EVT_SIZE);
  assert.is(P.PROTOCOL_RECORD_SIZE, 64, 'FrameWriter.record copies a record as 16 words, unrolled');
  // FrameWriter writes version, type and flags as one little-endian word.
  assert.ok(P.FRAME_VERSION >>> 2 === P.FRAME_TYPE >>> 2 && P.FRAME_FLAGS >>> 2 === P.FRAME_TYPE >>> 2 && P.FRAME_FLAGS % 2 === 0);
  assert.is(new Uint8Array(new Uint32Array([1]).buffer)[0], 1, 'a little-endian platform (word views over records)');
  assert.is(P.PROTOCOL_RECORD_LAYOUT, L.LAYOUT_VERSION, 'layout.ts changed: bump PROTOCOL_VERSION and PROTOCOL_RECORD_LAYOUT');
  for (const m of MESSAGES) {
    const size = P.FRAME_HEADER_SIZE + m.body;
    assert.ok(size <= P.MAX_FRAME, m.name);
    assert.is(size % 8, 0, `${m.name}: frames stay 8-byte aligned`);
  }
  assert.is(new Set(MESSAGES.map((m) => m.type)).size, MESSAGES.length, 'type codes are unique');
  assert.ok(Math.max(...MESSAGES.map((m) => m.type)) === P.MSG_TYPE_MAX);
  // Both compilers read the file: nothing but integer constants.
  const src = readFileSync(new URL('../assembly/protocol-layout.ts', import.meta.url), 'utf8');
  for (const line of src.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('//')) continue;
    assert.match(line, /^export const [A-Z0-9_]+ = [0-9]+; *(\/\/.*)?$/, line);
  }
});

test('docs/PROTOCOL.md tables match the constants', () => {
  const doc = readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
  const all = P as unknown as Record<string, number>;
  // Every `| CONSTANT | value |`-style row: the first code span names a constant, the next cell holds its value.
  const rows = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([0-9]+) \|/gm)];
  assert.ok(rows.length > 40, 'the doc has its tables');
  const seen = new Set<string>();
  for (const [, name, value] of rows) {
    assert.ok(name in all, `${name} in docs/PROTOCOL.md is not in protocol-layout.ts`);
    assert.is(Number(value), all[name], name);
    seen.add(name);
  }
  for (const name of Object.keys(all)) assert.ok(seen.has(name), `${name} is not documented in docs/PROTOCOL.md`);
  for (const m of MESSAGES) assert.ok(doc.includes(`\`MSG_${m.name}\``), m.name);
});

test('round trip: every message type, every field', () => {
  const w = new FrameWriter(16);
  w.login(9, encodeCredential('pässword')!);
  w.heartbeat();
  w.logout(0, P.LOGOUT_REQUESTED);
  const seq = w.command(P.MSG_MODIFY, { symbol: 3, account: 5, orderId: 2 ** 53 - 1, price: -7, quantity: 12, clientOrderId: 99, seq: 1, timestamp: 2 });
  assert.is(seq, 4);
  const bytes = w.take();
  assert.is(w.length, 0);
  const { frames, status, decoder } = decodeAll(bytes, [bytes.length]);
  assert.is(status, NEED_MORE);
  assert.equal(frames.map((f) => [f[0], f[1]]), [[P.MSG_LOGIN, 1], [P.MSG_HEARTBEAT, 2], [P.MSG_LOGOUT, 3], [P.MSG_MODIFY, 4]]);
  const b = decoder.buf;
  const body = decoder.at + P.FRAME_HEADER_SIZE;
  assert.is(b[body + L.CMD_TYPE], L.CMD_MODIFY);
  assert.is(readU32(b, body + L.CMD_SYMBOL), 3);
  assert.is(readU32(b, body + L.CMD_ACCOUNT), 5);
  assert.is(readI64(b, body + L.CMD_ORDER_ID), 2 ** 53 - 1);
  assert.is(readI64(b, body + L.CMD_PRICE), -7);
  assert.is(Buffer.from(b.subarray(P.FRAME_HEADER_SIZE + P.LOGIN_CREDENTIAL, P.FRAME_HEADER_SIZE + P.LOGIN_CREDENTIAL + 9)).toString(), 'pässword');

  const s = new FrameWriter();
  s.loginAck(1, 9, 4, 1000, 500);
  s.loginReject(1, P.LOGIN_REJ_BAD_CREDENTIALS);
  s.sessionReject(P.SREJ_BAD_SEQ, 7, P.MSG_NEW, 6);
  s.massCancelAck(3, 1, 17);
  const rec = new Int32Array(16);
  rec[0] = L.EV_TRADE;
  rec[15] = 123;
  s.record(P.MSG_EXEC, 9, rec, 0);
  const out = decodeAll(s.take(), [5, 1, 300], SERVER_TO_CLIENT);
  assert.equal(out.frames.map((f) => f[0]), [P.MSG_LOGIN_ACK, P.MSG_LOGIN_REJECT, P.MSG_SESSION_REJECT, P.MSG_MASS_CANCEL_ACK, P.MSG_EXEC]);
  assert.is(out.decoder.ref, 9);
  assert.is(out.decoder.buf[out.decoder.at + P.FRAME_HEADER_SIZE + L.EVT_TYPE], L.EV_TRADE);
  assert.is(readU32(out.decoder.buf, out.decoder.at + P.FRAME_HEADER_SIZE + 60), 123);
  // A client does not accept client -> server messages, nor a server the reverse.
  assert.is(decodeAll(bytes, [1000], SERVER_TO_CLIENT).status, FAILED);
  assert.is(encodeCredential('x'.repeat(33)), undefined);
});

test('the writer leaves no stale bytes: frames written over a dirty buffer equal frames written over a clean one', () => {
  const write = (w: FrameWriter) => {
    w.loginAck(1, 9, 4, 1000, 500);
    w.heartbeat(3);
    const rec = new Int32Array(16).map((_, i) => i * 0x01010101);
    w.record(P.MSG_EXEC, 9, rec, 0);
    w.massCancelAck(3, 1, 17);
    return w.take();
  };
  const clean = write(new FrameWriter(16));
  const dirty = new FrameWriter(4096);
  dirty.u8.fill(0xff);
  assert.equal([...write(dirty)], [...clean]);
  assert.is(decodeAll(clean, [clean.length], SERVER_TO_CLIENT).frames.length, 4);
});

test('streaming: the same frames whatever the chunking (every split point, byte by byte, random)', () => {
  const bytes = clientStream(40, 1);
  const whole = decodeAll(bytes, [bytes.length]).frames;
  assert.is(whole.length, 41);
  assert.equal(decodeAll(bytes, [1]).frames, whole);
  for (let split = 1; split < 200; split++) assert.equal(decodeAll(bytes, [split, bytes.length]).frames, whole);
  const r = rng(2);
  for (let i = 0; i < 50; i++) {
    const chunks = Array.from({ length: 20 }, () => 1 + Math.floor(r() * 300));
    assert.equal(decodeAll(bytes, chunks).frames, whole);
  }
});

test('view/viewAt address the current frame\'s bytes, whatever the chunk\'s offset in its buffer and however frames are split', () => {
  const bytes = clientStream(40, 3);
  // Chunks at odd offsets of one larger buffer, and copies in buffers of their own.
  const backing = new Uint8Array(bytes.length + 3);
  backing.set(bytes, 3);
  const shifted = backing.subarray(3);
  for (const split of [1, 5, 7, 13, 80, 97, 1000]) {
    for (const own of [false, true]) {
      const d = new FrameDecoder();
      let checked = 0;
      for (let pos = 0; pos < bytes.length; pos += split) {
        const chunk = shifted.subarray(pos, Math.min(pos + split, bytes.length));
        d.feed(own ? chunk.slice() : chunk);
        while (d.next() > 0) {
          for (let i = 0; i + 4 <= d.length; i += 4) assert.is(d.view.getUint32(d.viewAt + i, true), readU32(d.buf, d.at + i), `split ${split} byte ${i}`);
          checked++;
        }
      }
      assert.is(checked, 41);
    }
  }
});

test('every reject reason, with the offending seq and type when the header is readable', () => {
  const frame = (patch: (b: Buffer) => void) => {
    const w = new FrameWriter();
    w.seq = 5;
    w.command(P.MSG_NEW, { orderId: 1 });
    const b = w.take();
    patch(b);
    return b;
  };
  const cases: [string, Buffer, number, number][] = [
    ['too large', frame((b) => b.writeUInt32LE(P.MAX_FRAME + 1, 0)), P.SREJ_FRAME_TOO_LARGE, 5],
    ['huge', frame((b) => b.writeUInt32LE(0xffffffff, 0)), P.SREJ_FRAME_TOO_LARGE, 5],
    ['below the header', frame((b) => b.writeUInt32LE(15, 0)), P.SREJ_BAD_LENGTH, 5],
    ['not the type\'s size', frame((b) => b.writeUInt32LE(72, 0)), P.SREJ_BAD_LENGTH, 5],
    ['version', frame((b) => (b[P.FRAME_VERSION] = 0)), P.SREJ_BAD_VERSION, 5],
    ['unknown type', frame((b) => (b[P.FRAME_TYPE] = 200)), P.SREJ_UNKNOWN_TYPE, 5],
    ['server type', frame((b) => (b[P.FRAME_TYPE] = P.MSG_EXEC)), P.SREJ_UNKNOWN_TYPE, 5],
    ['type 0', frame((b) => (b[P.FRAME_TYPE] = 0)), P.SREJ_UNKNOWN_TYPE, 5],
    ['flags', frame((b) => (b[P.FRAME_FLAGS + 1] = 1)), P.SREJ_BAD_FLAGS, 5],
  ];
  for (const [name, bytes, reason, seq] of cases) {
    for (const chunk of [bytes.length, 1, 7]) {
      const { status, decoder, frames } = decodeAll(bytes, [chunk]);
      assert.is(status, FAILED, name);
      assert.is(frames.length, 0, name);
      assert.is(decoder.error, reason, name);
      // A bad length word is rejected from its 4 bytes: the seq is known only if the header came with it.
      const early = reason === P.SREJ_FRAME_TOO_LARGE || (reason === P.SREJ_BAD_LENGTH && name === 'below the header');
      assert.is(decoder.errorSeq, early && chunk < P.FRAME_HEADER_SIZE ? 0 : seq, name);
      assert.ok(SESSION_REJECT_NAMES[reason], name);
      assert.is(decoder.next(), FAILED, `${name}: stays failed`);
    }
  }
  // An oversize length is rejected from its first 4 bytes: nothing waits for the rest.
  const d = new FrameDecoder();
  d.feed(new Uint8Array([0, 0, 0, 0x40]));
  assert.is(d.next(), FAILED);
  assert.is(d.error, P.SREJ_FRAME_TOO_LARGE);
  assert.is(d.errorSeq, 0);
  d.reset();
  d.feed(clientStream(1, 3));
  assert.is(d.next(), P.MSG_LOGIN, 'reset() starts a new stream');
});

test('fuzz: random bytes, truncations, bit flips and huge lengths never throw, stay bounded, and valid frames decode', () => {
  const r = rng(12345);
  const valid = clientStream(200, 7);
  const reference = decodeAll(valid, [valid.length]).frames;
  let failures = 0;
  const runOne = (bytes: Uint8Array, sizes = r() < 0.5 ? CLIENT_TO_SERVER : SERVER_TO_CLIENT) => {
    const d = new FrameDecoder(sizes);
    let pos = 0;
    let frames = 0;
    while (pos < bytes.length) {
      const n = 1 + Math.floor(r() * 512);
      d.feed(bytes.subarray(pos, pos + n));
      pos += n;
      for (;;) {
        const t = d.next();
        assert.ok(Number.isInteger(t) && t >= FAILED && t <= P.MSG_TYPE_MAX);
        assert.ok(d.buffered <= P.MAX_FRAME, 'bounded buffering');
        if (t === FAILED) {
          failures++;
          assert.ok(d.error >= 1 && d.error <= P.SREJ_MAX);
          return frames;
        }
        if (t === NEED_MORE) break;
        frames++;
        assert.ok(d.length >= P.FRAME_HEADER_SIZE && d.length <= P.MAX_FRAME);
        assert.ok(d.at >= 0 && d.at + d.length <= d.buf.length);
      }
    }
    return frames;
  };
  // Random bytes.
  for (let i = 0; i < 3000; i++) runOne(Uint8Array.from({ length: Math.floor(r() * 2000) }, () => Math.floor(r() * 256)));
  // Random bytes that start with plausible headers (valid version and type, random lengths).
  for (let i = 0; i < 3000; i++) {
    const b = Uint8Array.from({ length: 16 + Math.floor(r() * 400) }, () => Math.floor(r() * 256));
    b[P.FRAME_VERSION] = P.PROTOCOL_VERSION;
    b[P.FRAME_TYPE] = [P.MSG_NEW, P.MSG_LOGIN, P.MSG_EXEC, P.MSG_HEARTBEAT][i & 3];
    b[1] = b[2] = b[3] = 0;
    b[P.FRAME_FLAGS] = b[P.FRAME_FLAGS + 1] = 0;
    runOne(b);
  }
  // Truncations: every prefix decodes the frames wholly inside it, and then waits.
  for (let i = 0; i < 500; i++) {
    const cut = Math.floor(r() * valid.length);
    const got = decodeAll(valid.subarray(0, cut), [1 + Math.floor(r() * 100)]);
    assert.is(got.status === FAILED, false);
    assert.equal(got.frames, reference.slice(0, got.frames.length));
    assert.ok(reference.length - got.frames.length >= 0);
  }
  // Bit flips of valid streams: frames before the flipped one still decode exactly; no throw.
  for (let i = 0; i < 3000; i++) {
    const b = Uint8Array.from(valid);
    const flips = 1 + Math.floor(r() * 4);
    let first = b.length;
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(r() * b.length);
      b[at] ^= 1 << Math.floor(r() * 8);
      first = Math.min(first, at);
    }
    const got = decodeAll(b, [1 + Math.floor(r() * 300)]);
    // Frames wholly before the first flipped byte are unchanged.
    let before = 0;
    for (let off = 0; off < valid.length; ) {
      const len = readU32(valid, off);
      if (off + len > first) break;
      before++;
      off += len;
    }
    assert.ok(got.frames.length >= before || got.status === FAILED);
    assert.equal(got.frames.slice(0, before), reference.slice(0, Math.min(before, got.frames.length)));
    runOne(b, CLIENT_TO_SERVER);
  }
  // Huge lengths anywhere: rejected at once.
  for (let i = 0; i < 200; i++) {
    const b = Uint8Array.from(valid.subarray(0, 56));
    const len = P.MAX_FRAME + 1 + Math.floor(r() * (2 ** 32 - P.MAX_FRAME - 2));
    b[0] = len & 255; b[1] = (len >>> 8) & 255; b[2] = (len >>> 16) & 255; b[3] = len >>> 24;
    const d = new FrameDecoder();
    d.feed(b.subarray(0, 4));
    assert.is(d.next(), FAILED);
    assert.is(d.error, P.SREJ_FRAME_TOO_LARGE);
  }
  assert.ok(failures > 1000, 'the fuzz reached the reject paths');
  // After all that, a fresh decoder still decodes the valid stream.
  assert.equal(decodeAll(valid, [97]).frames, reference);
});

test('the decoder allocates nothing per frame in the steady state', () => {
  const bytes = clientStream(2000, 9);
  const d = new FrameDecoder();
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 1000) chunks.push(bytes.subarray(i, i + 1000));
  const pass = () => {
    let n = 0;
    for (const c of chunks) {
      d.feed(c);
      while (d.next() > 0) n++;
    }
    return n;
  };
  pass();
  d.reset();
  // No allocation: heap growth over many passes stays far below one object per frame.
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  let frames = 0;
  for (let i = 0; i < 50; i++) {
    d.reset();
    frames += pass();
  }
  const grown = process.memoryUsage().heapUsed - before;
  assert.is(frames, 50 * 2001);
  assert.ok(grown < frames * 8, `heap grew ${grown} bytes over ${frames} frames`);
});

test.run();

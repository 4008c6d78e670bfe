// Snapshots: snapshot -> restore gives the same book (digest, depth, queues, orders), and both
// engines then answer the same commands with the same events; corrupt or truncated bytes throw;
// the scalar build restores what the release build saved and the other way round. The format
// (version 3) leaves out the arena's never-used tails and still restores it byte for byte; version
// 2 snapshots are read, others refused by name. The off-thread path of `clob start` (capture, CRCs
// on a worker) writes the same bytes as the synchronous one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine, type EngineOptions } from '../src/engine.js';
import type { EngineEvent } from '../src/events.js';
import type { CoreBuild } from '../src/core.js';
import type { Side } from '../src/codes.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Crc32Worker, sharedBytes } from '../src/crc-worker.js';
import { SnapshotWriter } from '../src/journal/snapshot-writer.js';
import { writeSnapshot, loadSnapshot } from '../src/journal/snapshots.js';

const SYMBOLS = [
  { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 2000 },
  { id: 2, tickSize: 5, lotSize: 10, minPrice: 100, maxPrice: 5000 },
];
const LIMITS = { maxOrders: 2000, maxSymbols: 4, ladderTicks: 4000 };

function make(build: CoreBuild = 'release', extra: EngineOptions = {}): Engine {
  return new Engine({ ...LIMITS, build, symbols: SYMBOLS, ...extra });
}

/** A deterministic command stream over both symbols: rests, trades, cancels, modifies, STP, IOC. */
type Cmd = (e: Engine) => EngineEvent[];
function script(seed: number, n: number, idBase: number): Cmd[] {
  let s = seed;
  const rnd = (k: number) => { s = (s * 1103515245 + 12345) % 2147483648; return Math.floor((s / 2147483648) * k); };
  const out: Cmd[] = [];
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd(100);
    const symbol = 1 + rnd(2);
    const tick = symbol === 1 ? 1 : 5;
    const lot = symbol === 1 ? 1 : 10;
    const mid = symbol === 1 ? 1000 : 2500;
    const side: Side = rnd(2) === 0 ? 'buy' : 'sell';
    // mostly passive, one in eight crossing the mid by a few ticks
    const away = rnd(8) === 0 ? -rnd(4) : 1 + rnd(20);
    const price = side === 'buy' ? mid - away * tick : mid + away * tick;
    const quantity = (1 + rnd(20)) * lot;
    const account = 1 + rnd(4);
    if (r < 55 || ids.length === 0) {
      const orderId = idBase + i;
      ids.push(orderId);
      const tif = rnd(10) === 0 ? 'ioc' : 'gtc';
      const stp = (['none', 'none', 'cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement'] as const)[rnd(6)];
      out.push((e) => e.newOrder({ symbol, orderId, side, price, quantity, account, tif, stp, clientOrderId: orderId * 7 }));
    } else if (r < 75) {
      const orderId = ids[rnd(ids.length)];
      out.push((e) => {
        const o = e.order(orderId);
        return e.cancel({ symbol: o?.symbol ?? symbol, orderId, account: o?.account ?? account });
      });
    } else if (r < 92) {
      const orderId = ids[rnd(ids.length)];
      const dq = rnd(3);
      const dp = rnd(5) - 2; // drawn now: the closure runs once per engine
      out.push((e) => {
        const o = e.order(orderId);
        if (!o) return e.modify({ symbol, orderId, price, quantity, account });
        const t = o.symbol === 1 ? 1 : 5;
        const l = o.symbol === 1 ? 1 : 10;
        const q = Number(o.quantity);
        return e.modify({ symbol: o.symbol, orderId, account: o.account, price: dq === 0 ? Number(o.price) + dp * t : o.price, quantity: dq === 1 ? q + l : Math.max(l, q - l) });
      });
    } else if (r < 97) {
      out.push((e) => e.newOrder({ symbol, orderId: idBase + i, side, orderType: 'market', quantity, account }));
    } else {
      out.push((e) => e.massCancel({ symbol, account }));
    }
  }
  return out;
}

const everyOrder = (e: Engine, ids: Iterable<number>) => [...ids].map((id) => e.order(id)).map((o) => o && { ...o, handle: undefined });
function sameBook(a: Engine, b: Engine, msg = '') {
  assert.is(b.digest(), a.digest(), `digest ${msg}`);
  assert.is(b.liveOrders, a.liveOrders, `live orders ${msg}`);
  for (const s of SYMBOLS) {
    const da = a.depth(s.id, 1000);
    assert.equal(b.depth(s.id, 1000), da, `depth ${s.id} ${msg}`);
    for (const side of ['bids', 'asks'] as const) {
      for (const level of da[side]) {
        assert.equal(b.queue(s.id, side === 'bids' ? 'buy' : 'sell', level.price), a.queue(s.id, side === 'bids' ? 'buy' : 'sell', level.price), `queue ${msg}`);
      }
    }
  }
}

function populated(build: CoreBuild = 'release'): Engine {
  const e = make(build);
  for (const c of script(7, 600, 1)) c(e);
  assert.ok(e.liveOrders > 50, `the script leaves a book (${e.liveOrders})`);
  return e;
}

test('snapshot -> restore: same digest, depth, queues and orders; then identical events and digests', () => {
  const a = populated();
  const snap = a.snapshot();
  const b = Engine.restore(snap);
  sameBook(a, b, 'after restore');
  assert.equal(everyOrder(b, Array.from({ length: 700 }, (_, i) => i)), everyOrder(a, Array.from({ length: 700 }, (_, i) => i)));
  // the snapshot of the restored engine is the same bytes
  assert.ok(Buffer.from(b.snapshot()).equals(Buffer.from(snap)), 're-snapshot is byte-identical');
  // continuing: same events (seq included), same digests, command by command
  const more = script(99, 800, 10001);
  more.forEach((c, i) => {
    const ea = c(a);
    const eb = c(b);
    assert.equal(eb, ea, `events of command ${i}`);
    if (i % 50 === 0) assert.is(b.digest(), a.digest(), `digest after command ${i}`);
  });
  sameBook(a, b, 'after continuing');
  // the original is unaffected by the copy and vice versa
  const c = Engine.restore(snap);
  assert.is.not(c.digest(), a.digest());
  assert.is(c.digest(), new DataView(snap.buffer, snap.byteOffset).getBigUint64(32, true));
});

test('restore works for the scalar and debug builds, and across builds', () => {
  for (const [from, to] of [['release', 'scalar'], ['scalar', 'scalar'], ['scalar', 'release'], ['release', 'debug']] as [CoreBuild, CoreBuild][]) {
    const a = populated(from);
    const b = Engine.restore(a.snapshot(), { build: to });
    assert.is(b.build, to);
    sameBook(a, b, `${from} -> ${to}`);
    const more = script(5, 300, 20001);
    more.forEach((c, i) => assert.equal(c(b), c(a), `${from} -> ${to}: events of command ${i}`));
    sameBook(a, b, `${from} -> ${to} after continuing`);
  }
  // all builds reach the same digest from the same commands
  assert.is(populated('scalar').digest(), populated('release').digest());
});

test('restore keeps the options it is given (bigint) and the seq counter', () => {
  const a = populated();
  const b = Engine.restore(a.snapshot(), { bigint: true });
  const ea = a.newOrder({ symbol: 1, orderId: 99999, side: 'buy', price: 1, quantity: 1 });
  const eb = b.newOrder({ symbol: 1, orderId: 99999, side: 'buy', price: 1, quantity: 1 });
  assert.is(typeof eb[0].seq, 'bigint');
  assert.is(BigInt(eb[0].seq), BigInt(ea[0].seq));
  assert.is(b.digest(), a.digest());
});

test('an empty engine round-trips too', () => {
  const a = make();
  const b = Engine.restore(a.snapshot());
  assert.is(b.digest(), a.digest());
  assert.equal(b.newOrder({ symbol: 2, orderId: 1, side: 'sell', price: 200, quantity: 10 }), a.newOrder({ symbol: 2, orderId: 1, side: 'sell', price: 200, quantity: 10 }));
  // symbols added after creation are in the snapshot as well
  a.addSymbol({ id: 3, tickSize: 2, lotSize: 1, minPrice: 2, maxPrice: 200 });
  a.newOrder({ symbol: 3, orderId: 2, side: 'buy', price: 100, quantity: 3 });
  const c = Engine.restore(a.snapshot());
  assert.equal(c.depth(3), { bids: [{ price: 100, quantity: 3, orders: 1 }], asks: [] });
  const dup = { id: 3, tickSize: 2, lotSize: 1, minPrice: 2, maxPrice: 200 };
  const rejected = c.addSymbol(dup);
  assert.equal(rejected, a.addSymbol(dup));
  assert.is(rejected[0].type === 'rejected' && rejected[0].reason, 'duplicate-symbol');
});

// ---- corrupt and truncated snapshots ---------------------------------------------------------

const HEADER = 64;
/** Where the arena's bytes start in a snapshot: after the header and the extent table (the arena header is in the first extent). */
const arenaAt = (snap: Uint8Array) => HEADER + 8 * new DataView(snap.buffer, snap.byteOffset).getUint32(52, true);
const throwsOn = (bytes: Uint8Array, msg: string) => assert.throws(() => Engine.restore(bytes), msg);

/** Offsets (in the snapshot) where an i64 value occurs, little-endian. */
function find64(bytes: Uint8Array, value: bigint): number[] {
  const want = new Uint8Array(8);
  new DataView(want.buffer).setBigInt64(0, value, true);
  const out: number[] = [];
  outer: for (let i = HEADER; i + 8 <= bytes.length; i++) {
    for (let k = 0; k < 8; k++) if (bytes[i + k] !== want[k]) continue outer;
    out.push(i);
  }
  return out;
}

test('a corrupted snapshot throws: flipped bytes in the book data of the arena', () => {
  const e = make();
  e.newOrder({ symbol: 1, orderId: 0x1234567, side: 'buy', price: 1777, quantity: 0x3c3c3d, clientOrderId: 0x5a5a12345678, account: 9 });
  e.newOrder({ symbol: 1, orderId: 0x1234568, side: 'buy', price: 1777, quantity: 5, account: 9 });
  e.newOrder({ symbol: 2, orderId: 0x1234569, side: 'sell', price: 4995, quantity: 4893280, account: 3 });
  const snap = e.snapshot();
  Engine.restore(snap); // intact: fine
  const targets = [
    ...find64(snap, 0x5a5a12345678n), // the client id of an order
    ...find64(snap, 0x3c3c3dn), // its remaining quantity
    ...find64(snap, 0x3c3c3dn + 5n), // its level's total
    ...find64(snap, 4893280n), // an order in the other symbol
  ];
  assert.ok(targets.length >= 4, `found the book data (${targets})`);
  for (const at of targets) {
    for (const k of [0, 1, 5]) {
      const bad = snap.slice();
      bad[at + k] ^= 0x01;
      throwsOn(bad, `flip at ${at + k}`);
    }
  }
  // the arena header: magic and size
  for (const at of [0, 3, 68, 69].map((k) => arenaAt(snap) + k)) {
    const bad = snap.slice();
    bad[at] ^= 0x10;
    throwsOn(bad, `arena header flip at ${at}`);
  }
  // the snapshot header: magic, version, limits, size, digest, extent count; the extent table
  for (const at of [0, 7, 8, 12, 16, 20, 24, 28, 32, 39, 52, 64, 68, 72, 76]) {
    const bad = snap.slice();
    bad[at] ^= 0x02;
    throwsOn(bad, `snapshot header flip at ${at}`);
  }
  // the original bytes were not touched by any of this
  assert.is(Engine.restore(snap).digest(), e.digest());
});

// Bytes the digest does not cover still matter (the price copy in an order slot, the index size in
// the arena header, the region offsets): the snapshot's CRC-32 over the whole arena catches them.
test('a corrupted snapshot throws: flips outside the digest that change behaviour (order price copy, index size)', () => {
  const e = make();
  e.newOrder({ symbol: 1, orderId: 0x1234567, side: 'buy', price: 1777, quantity: 5, account: 9 });
  const snap = e.snapshot();
  const prices = find64(snap, 1777n);
  assert.is(prices.length, 2, 'the price is stored in the order slot and in the level');
  for (const at of prices) {
    const bad = snap.slice();
    bad[at] ^= 0x01;
    let restored: Engine | undefined;
    try { restored = Engine.restore(bad); } catch { continue; }
    assert.unreachable(`a flipped price byte at snapshot offset ${at} restored silently: order() says price ${restored.order(0x1234567)?.price}, cancel reports ${JSON.stringify(restored.cancel({ symbol: 1, orderId: 0x1234567, account: 9 })[0])}`);
  }
  const bad = snap.slice();
  bad[arenaAt(snap) + 20] ^= 0x01; // arena header: log2 of the id index capacity
  let restored: Engine | undefined;
  try { restored = Engine.restore(bad); } catch { return; }
  assert.unreachable(`a flipped index-size byte restored silently: order(id) -> ${restored.order(0x1234567)}, cancel -> ${restored.cancel({ symbol: 1, orderId: 0x1234567, account: 9 })[0].type}`);
});

test('a truncated snapshot throws', () => {
  const snap = populated().snapshot();
  for (const len of [0, 1, 63, 64, 65, snap.length - 1, snap.length - 64, Math.floor(snap.length / 2)]) {
    throwsOn(snap.subarray(0, len), `length ${len}`);
  }
  const longer = new Uint8Array(snap.length + 1);
  longer.set(snap);
  throwsOn(longer, 'one byte too many');
  assert.throws(() => Engine.restore(Array.from(snap) as unknown as Uint8Array), (err: Error) => err instanceof TypeError);
  // a snapshot held at an offset inside a larger buffer still restores
  const big = new Uint8Array(snap.length + 16);
  big.set(snap, 16);
  assert.ok(Engine.restore(big.subarray(16)).liveOrders > 0);
});

test('every single-bit flip anywhere in a small snapshot is refused, none restores or hangs', () => {
  const e = new Engine({ maxOrders: 8, maxSymbols: 2, ladderTicks: 64, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 10, maxPrice: 40 }] });
  e.newOrder({ symbol: 1, orderId: 11, side: 'buy', price: 10, quantity: 3, account: 1 });
  e.newOrder({ symbol: 1, orderId: 12, side: 'buy', price: 10, quantity: 4, account: 2 });
  e.newOrder({ symbol: 1, orderId: 13, side: 'sell', price: 20, quantity: 5, account: 1 });
  const snap = e.snapshot();
  let refused = 0;
  for (let at = 0; at < snap.length; at++) {
    const bad = snap.slice();
    bad[at] ^= 1 << (at % 8);
    try {
      Engine.restore(bad);
    } catch {
      refused++;
      continue;
    }
    assert.unreachable(`a flip at snapshot byte ${at} restored`); // the CRC-32 covers every byte
  }
  assert.is(refused, snap.length);
});

// ---- the format: extents, versions -------------------------------------------------------------

/** The engine's whole arena, copied (release build: its memory is shared). */
function arenaOf(e: Engine): Uint8Array {
  const { memory, arena } = e.liveBook();
  const snap = e.snapshot();
  return new Uint8Array(memory.buffer, arena, new DataView(snap.buffer).getUint32(28, true)).slice();
}

/** Recomputes a snapshot's CRC-32 after a deliberate change (a well-formed but different snapshot). */
function reseal(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(8, true);
  v.setUint32(48, crc32(bytes.subarray(version === 2 ? 64 : 52), crc32(bytes.subarray(0, 48))), true);
  return bytes;
}

test('a snapshot leaves out the never-used tails, and restores the whole arena byte for byte', () => {
  const e = populated();
  const snap = e.snapshot();
  const whole = arenaOf(e);
  assert.ok(snap.length < whole.length / 2, `${snap.length} bytes for an arena of ${whole.length}`);
  const b = Engine.restore(snap);
  assert.ok(Buffer.from(arenaOf(b)).equals(Buffer.from(whole)), 'the restored arena equals the original, tails included');
  for (const c of script(3, 500, 70001)) c(e), c(b); // free lists, limbo, new levels, then again
  assert.ok(Buffer.from(arenaOf(Engine.restore(e.snapshot()))).equals(Buffer.from(arenaOf(e))));
  assert.ok(Buffer.from(arenaOf(b)).equals(Buffer.from(arenaOf(e))));
});

test('a version 2 snapshot (the whole arena after the header) is still read; other versions are refused by name', () => {
  const e = populated();
  const v3 = e.snapshot();
  const arena = arenaOf(e);
  const v2 = new Uint8Array(HEADER + arena.length);
  v2.set(v3.subarray(0, 48));
  new DataView(v2.buffer).setUint32(8, 2, true);
  v2.set(arena, HEADER);
  reseal(v2);
  const b = Engine.restore(v2);
  sameBook(e, b, 'from version 2');
  assert.ok(Buffer.from(b.snapshot()).equals(Buffer.from(v3)), 'written again as version 3: the same bytes');
  // damage in a version 2 snapshot is refused as before
  for (const at of [50, 60, 64, v2.length - 1]) {
    const bad = v2.slice();
    bad[at] ^= 4;
    if (at === 50 || at >= 64) throwsOn(bad, `version 2 flip at ${at}`);
    else Engine.restore(bad); // version 2 did not cover its bytes 52-63
  }
  for (const version of [1, 4, 0xffffffff]) {
    const other = v3.slice();
    new DataView(other.buffer).setUint32(8, version, true);
    assert.throws(() => Engine.restore(reseal(other)), new RegExp(`snapshot version ${version}/layout \\d+ cannot be read by this clob \\(it reads versions 2, 3 of layout`));
  }
});

test('an extent table that is well-formed but wrong is refused with a clear error', () => {
  const snap = populated().snapshot();
  const v = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const swapped = snap.slice(); // the first two extents out of order
  for (let k = 0; k < 8; k++) [swapped[64 + k], swapped[72 + k]] = [swapped[72 + k], swapped[64 + k]];
  assert.throws(() => Engine.restore(reseal(swapped)), /extents overlap, are out of order or lie outside/);
  const outside = snap.slice(); // the last extent moved past the arena's end
  const n = v(snap).getUint32(52, true);
  v(outside).setUint32(64 + 8 * (n - 1), v(snap).getUint32(28, true), true);
  assert.throws(() => Engine.restore(reseal(outside)), /extents overlap, are out of order or lie outside/);
  for (const count of [0, 17, 1 << 30]) {
    const bad = snap.slice();
    v(bad).setUint32(52, count, true);
    assert.throws(() => Engine.restore(reseal(bad)), /truncated or its extent table is damaged/);
  }
});

test('snapshot(into) reuses a buffer of maxSnapshotBytes, or an earlier snapshot\'s if the state did not grow, and restores the same', () => {
  const e = new Engine({ maxOrders: 64, maxSymbols: 2, ladderTicks: 256, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 100 }] });
  e.newOrder({ symbol: 1, orderId: 1, side: 'buy', price: 10, quantity: 3 });
  const buffer = new Uint8Array(e.maxSnapshotBytes);
  const first = e.snapshot(buffer);
  assert.is(first.buffer, buffer.buffer, 'the given memory');
  const firstDigest = Engine.restore(first).digest();
  e.newOrder({ symbol: 1, orderId: 2, side: 'sell', price: 20, quantity: 4 }); // a second order slot and level: a longer snapshot
  const second = e.snapshot(buffer);
  assert.is(second.buffer, buffer.buffer, 'the same memory');
  assert.ok(second.length > first.length, `${second.length} > ${first.length}`);
  assert.is(Engine.restore(second).digest(), e.digest());
  assert.is.not(e.digest(), firstDigest);
  e.cancel({ symbol: 1, orderId: 2 }); // the slots stay handed out: the same length
  const third = e.snapshot(second);
  assert.is(third.buffer, buffer.buffer, 'an earlier snapshot\'s memory');
  assert.is(third.length, second.length);
  assert.is(Engine.restore(third).digest(), e.digest());
  const small = e.snapshot(new Uint8Array(10)); // too small: a new buffer
  assert.ok(Buffer.from(small).equals(Buffer.from(third)));
});

// ---- the off-thread path (what `clob start` does) ---------------------------------------------

test('the CRC worker computes zlib\'s CRC-32 over ranges of shared memory; it refuses unshared memory', async () => {
  const crc = new Crc32Worker();
  try {
    const bytes = sharedBytes(100_003);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    assert.is(await crc.crc32(bytes), crc32(bytes));
    assert.is(await crc.crc32(bytes, [[0, 48], [64, 100_003]]), crc32(bytes.subarray(64), crc32(bytes.subarray(0, 48))));
    const copy = bytes.slice();
    await crc.touch(bytes.subarray(5)); // writes a zero per 4 KiB page
    assert.is(bytes[5], 0);
    assert.is(bytes[4], copy[4]);
    assert.throws(() => crc.crc32(new Uint8Array(8)), /shared memory/);
  } finally {
    await crc.close();
  }
  // once the worker is gone a request fails at once (it never waits forever)
  await crc.crc32(sharedBytes(8)).then(() => assert.unreachable('answered by a closed worker'), (e: Error) => assert.match(e.message, /exited/));
});

test('SnapshotWriter: with its worker gone, a snapshot is still sealed right (on this thread), and a new worker serves the next', async () => {
  const e = populated();
  const writer = await SnapshotWriter.start(e);
  try {
    const inside = writer as unknown as { crc: Crc32Worker };
    const dead = inside.crc;
    await dead.close(); // as if it had crashed
    const first = await writer.seal(writer.capture(e));
    const replacement = inside.crc;
    assert.is.not(replacement, dead, 'a new worker');
    assert.ok(Buffer.from(first.bytes).equals(Buffer.from(e.snapshot())));
    assert.is(first.bodyCrc, crc32(first.bytes));
    for (const c of script(12, 100, 90001)) c(e);
    const second = await writer.seal(writer.capture(e));
    assert.is(inside.crc, replacement, 'the new worker sealed it: no second fallback');
    assert.ok(Buffer.from(second.bytes).equals(Buffer.from(e.snapshot())));
  } finally {
    await writer.close();
  }
});

test('SnapshotWriter: the sealed snapshot equals Engine.snapshot() and the file equals writeSnapshot()\'s, byte for byte', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'clob-snap-sync-')), mkdtempSync(join(tmpdir(), 'clob-snap-split-'))];
  const e = populated();
  const writer = await SnapshotWriter.start(e);
  try {
    for (const [round, seq] of [[0, 600], [1, 900]]) {
      if (round === 1) for (const c of script(11, 300, 50001)) c(e); // the second capture reuses the buffer
      const want = e.snapshot();
      const captured = writer.capture(e);
      assert.is(captured.digest, e.digest());
      const sealed = await writer.seal(captured);
      assert.ok(Buffer.from(sealed.bytes).equals(Buffer.from(want)), `round ${round}: the same snapshot bytes`);
      const split = await writer.write(dirs[1], sealed, seq);
      const sync = await writeSnapshot(dirs[0], e, seq);
      assert.ok(readFileSync(split.path).equals(readFileSync(sync.path)), `round ${round}: the same file`);
      const loaded = loadSnapshot(dirs[1]);
      assert.is(loaded?.seq, seq);
      assert.is(loaded?.digest, e.digest());
      sameBook(e, loaded!.engine, `round ${round} loaded`);
    }
  } finally {
    await writer.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test.run();

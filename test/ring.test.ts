// Tests of the rings (src/ring.ts, assembly/ring.ts -> wasm/rings.wasm; docs/RINGS.md).
//
// Threaded tests run each ring end on a real worker thread (test/workers/tagged-items.mjs): the
// producers write tagged items (producer, item number, a check word, a last word), the consumer
// checks that every producer's items arrive complete, in order, once, and wholly visible. No
// timed assertions: a hang guard only stops a stuck run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { SpscRing, MpscRing, initRing, ringBytes, type RingWait, type RingKind } from '../src/ring.js';
import * as layout from '../assembly/ring-layout.js';
import * as CL from '../assembly/layout.js';
import { Engine } from '../src/engine.js';
import { instantiateCore } from '../src/core.js';
import { writeCommand, readEvent, type RawEvent } from '../src/records.js';
import { randomStream, collect } from './support/random-stream.js';
import { SMALL_LIMITS } from './support/engine-runner.js';
import { sideModule, runWorker, instantiationWrites } from './support/side-module.js';

const L = { ...layout };
const workerUrl = new URL('./workers/tagged-items.mjs', import.meta.url);
const NEAR_WRAP = 2 ** 31 - 3000; // sequences cross 2^31 -> 0 early in the run

const ringsModule = sideModule('rings');

interface RingsWasm {
  ringLayoutVersion(): number;
  ringBytesFor(capacity: number): number;
  ringInit(ring: number, capacity: number, kind: number, wait: number, first: number): number;
  ringTryClaim(ring: number, n: number): number;
  ringClaim(ring: number, n: number): number;
  ringPublish(ring: number, first: number, n: number): void;
  ringSlot(ring: number, seq: number): number;
  ringAvailable(ring: number): number;
  ringReadSequence(ring: number): number;
  ringReadOffset(ring: number): number;
  ringRelease(ring: number, n: number): number;
  ringClose(ring: number): void;
  produceTagged(ring: number, producer: number, firstItem: number, count: number, maxBatch: number, seed: number): number;
}

const sharedMemory = (bytes: number) => {
  const pages = Math.ceil(bytes / 65536) + 1;
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
};
const wasmOn = (memory: WebAssembly.Memory) => new WebAssembly.Instance(ringsModule, { env: { memory } }).exports as unknown as RingsWasm;

// ---- threaded runs ---------------------------------------------------------------------------

interface WorkerResult { ok: true; [k: string]: any }

function run(data: Record<string, unknown>, live: Worker[]): Promise<WorkerResult> {
  return runWorker<WorkerResult>(workerUrl, data, live, `${String(data.role)} worker`);
}

interface Scenario {
  kind: RingKind;
  capacity: number;
  wait: RingWait;
  /** One entry per producer: items, largest batch, JS or Wasm, tryClaim-only. */
  producers: { count: number; maxBatch: number; wasm?: boolean; tryClaim?: boolean }[];
  firstSequence?: number;
  stallEvery?: number;
}

async function scenario(s: Scenario) {
  const offset = 4096; // not at 0: every offset is relative to the ring's base
  const memory = sharedMemory(offset + ringBytes(s.capacity));
  initRing(memory.buffer, offset, s.capacity, s.kind, { wait: s.wait, firstSequence: s.firstSequence ?? 0 });
  const common = { memory, offset, kind: s.kind, wait: s.wait };
  const live: Worker[] = [];
  const started = performance.now();
  const consumer = run({ ...common, role: 'consume', producers: s.producers.length, stallEvery: s.stallEvery ?? 0 }, live);
  const producers = s.producers.map((p, i) =>
    run({ ...common, role: 'produce', producer: i, count: p.count, maxBatch: p.maxBatch, seed: 0x9e37 + i * 7919, wasm: !!p.wasm, tryClaim: !!p.tryClaim }, live),
  );
  await Promise.all(producers);
  // All producers are done: close the ring (from this third thread) so the consumer drains and stops.
  (s.kind === 'mpsc' ? new MpscRing(memory.buffer, offset) : new SpscRing(memory.buffer, offset)).close();
  const got = await consumer;
  if (process.env.RING_TEST_VERBOSE) console.log(`  [ring.test] ${s.kind} ${s.wait} x${s.producers.length}: ${got.total} items, ${got.runs} runs, ${((performance.now() - started) / 1000).toFixed(2)} s`);
  assert.equal(got.errors, [], 'consumer found lost, duplicated, reordered or torn items');
  assert.equal(got.perProducer, s.producers.map((p) => p.count), 'every producer: all items, in order');
  assert.is(got.total, s.producers.reduce((a, p) => a + p.count, 0));
  assert.ok(got.wrapRuns > 0, 'some runs ended exactly at the end of the slots (the wrap)');
  assert.ok(got.maxRun <= s.capacity);
  // The ring is empty and consistent afterwards.
  const ring = s.kind === 'mpsc' ? new MpscRing(memory.buffer, offset) : new SpscRing(memory.buffer, offset);
  assert.is(ring.size(), 0);
  assert.is(ring.available(), 0);
  const total = s.producers.reduce((a, p) => a + p.count, 0);
  assert.is(ring.readSequence, ((s.firstSequence ?? 0) + total) & L.RING_SEQ_MASK);
  return got;
}

test('SPSC, JS -> JS: 3M items in random batches of 1..256, spin-yield, sequences cross 2^31', async () => {
  await scenario({ kind: 'spsc', capacity: 1024, wait: 'spin-yield', firstSequence: NEAR_WRAP, producers: [{ count: 3_000_000, maxBatch: 256 }] });
});

test('SPSC, busy-spin, 64 slots (a wrap every 64), producer on tryClaim only', async () => {
  // (How often tryClaim found the ring full depends on timing; the single-thread test below
  // fills the ring deterministically.)
  await scenario({ kind: 'spsc', capacity: 64, wait: 'busy-spin', producers: [{ count: 1_000_000, maxBatch: 64, tryClaim: true }] });
});

test('SPSC, blocking, 64 slots, the consumer stalls so the producer blocks on a full ring', async () => {
  await scenario({ kind: 'spsc', capacity: 64, wait: 'blocking', stallEvery: 1500, producers: [{ count: 1_000_000, maxBatch: 48 }] });
});

test('MPSC, 3 JS producers x 800k items, tagged (producer, item), spin-yield, 256 slots', async () => {
  await scenario({
    kind: 'mpsc', capacity: 256, wait: 'spin-yield',
    producers: [{ count: 800_000, maxBatch: 32 }, { count: 800_000, maxBatch: 1 }, { count: 800_000, maxBatch: 100 }],
  });
});

test('MPSC, blocking, 2 producers on 64 slots, sequences cross 2^31', async () => {
  await scenario({ kind: 'mpsc', capacity: 64, wait: 'blocking', firstSequence: NEAR_WRAP, stallEvery: 2000, producers: [{ count: 500_000, maxBatch: 16 }, { count: 500_000, maxBatch: 40 }] });
});

test('SPSC, Wasm producer (rings.wasm) -> JS consumer on one memory, 2M items, 64 slots, blocking', async () => {
  await scenario({ kind: 'spsc', capacity: 64, wait: 'blocking', firstSequence: NEAR_WRAP, producers: [{ count: 2_000_000, maxBatch: 64, wasm: true }] });
});

test('MPSC, a Wasm producer and a JS producer on one ring, spin-yield', async () => {
  await scenario({ kind: 'mpsc', capacity: 128, wait: 'spin-yield', producers: [{ count: 600_000, maxBatch: 64, wasm: true }, { count: 600_000, maxBatch: 7 }] });
});

// ---- one thread ------------------------------------------------------------------------------

test('layout: JS and Wasm agree on sizes and write identical headers and flags', () => {
  const memory = sharedMemory(2 * ringBytes(4096) + 8192);
  const w = wasmOn(memory);
  const bytes = new Uint8Array(memory.buffer);
  assert.is(w.ringLayoutVersion(), L.RING_LAYOUT_VERSION);
  for (const capacity of [2, 4, 64, 1000, 1024, 4096, 3]) {
    const valid = capacity > 1 && (capacity & (capacity - 1)) === 0;
    if (!valid) {
      assert.throws(() => ringBytes(capacity), /power of two/);
      assert.is(w.ringBytesFor(capacity), L.RING_BAD_ARGUMENT);
      continue;
    }
    assert.is(w.ringBytesFor(capacity), ringBytes(capacity));
    assert.is(SpscRing.bytesFor(capacity) % 64, 0);
    for (const kind of ['spsc', 'mpsc'] as const) {
      for (const first of [0, 5, NEAR_WRAP, L.RING_SEQ_MASK]) {
        const size = ringBytes(capacity);
        const a = 64;
        const b = 64 + Math.ceil(size / 64) * 64;
        bytes.fill(0xa5, a, a + size);
        bytes.fill(0x5a, b, b + size);
        initRing(memory, a, capacity, kind, { wait: 'blocking', firstSequence: first });
        assert.is(w.ringInit(b, capacity, kind === 'mpsc' ? L.RING_KIND_MPSC : L.RING_KIND_SPSC, L.RING_WAIT_BLOCKING, first), 0);
        const slotsAt = new Int32Array(memory.buffer, a, 64)[L.RING_H_SLOTS_AT >> 2];
        assert.equal(bytes.subarray(a, a + slotsAt), bytes.subarray(b, b + slotsAt), `${kind} ${capacity} from ${first}`);
      }
    }
  }
  assert.is(w.ringInit(100, 64, L.RING_KIND_SPSC, L.RING_WAIT_BLOCKING, 0), L.RING_BAD_ARGUMENT, 'unaligned');
  assert.throws(() => initRing(memory, 100, 64, 'spsc'), /multiple of 64/);
  assert.throws(() => initRing(memory, 64, 64, 'spsc', { firstSequence: 2 ** 31 }), /firstSequence/);
  assert.throws(() => initRing(new SharedArrayBuffer(1024), 0, 64, 'spsc'), /needs/);
  initRing(memory, 64, 64, 'mpsc');
  assert.throws(() => new SpscRing(memory, 64), /MPSC/);
  assert.throws(() => new SpscRing(memory, 128), /magic/);
});

test('the "instantiation writes nothing" check catches a module with a data segment', () => {
  // (module (import "env" "memory" (memory 1 1 shared)) (data (i32.const 0) "x")), by hand
  const withData = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    2, 0x10, 1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 3, 1, 1,
    11, 7, 1, 0, 0x41, 0, 0x0b, 1, 0x78]));
  const onePage = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
  assert.is(instantiationWrites(withData, onePage), 'instantiation wrote to the memory');
});

test('instantiating rings.wasm writes nothing to the shared memory (no data segments, no statics)', () => {
  const memory = sharedMemory(65536);
  assert.is(instantiationWrites(ringsModule, memory), '');
});

for (const kind of ['spsc', 'mpsc'] as const) {
  for (const impl of ['js', 'wasm'] as const) {
    test(`${kind} (${impl} producer): a full ring makes tryClaim fail and corrupts nothing; runs stop at the wrap`, () => {
      const capacity = 64;
      const memory = sharedMemory(ringBytes(capacity) + 64);
      const w = wasmOn(memory);
      const i32 = new Int32Array(memory.buffer);
      const ring = kind === 'mpsc' ? MpscRing.init(memory, 64, capacity, { firstSequence: 2 ** 31 - 24 }) : SpscRing.init(memory, 64, capacity, { firstSequence: 2 ** 31 - 24 });
      const tryClaim = (n: number) => (impl === 'js' ? ring.tryClaim(n) : w.ringTryClaim(64, n));
      const publish = (s: number, n: number) => (impl === 'js' ? ring.publish(s, n) : w.ringPublish(64, s, n));
      const slot = (s: number) => (impl === 'js' ? ring.slotOffset(s) : w.ringSlot(64, s));
      let item = 0;
      const put = (n: number) => {
        const s = tryClaim(n);
        assert.ok(s >= 0, `claim ${n}`);
        for (let k = 0; k < n; k++) {
          const at = slot(s + k) >> 2;
          i32[at] = item;
          i32[at + 15] = ~item;
          item++;
        }
        publish(s, n);
        return s;
      };
      assert.is(ring.available(), 0);
      assert.is(put(10), 2 ** 31 - 24);
      put(54); // full now; this claim spans sequences 2^31-14 .. 2^31-1, 0 .. 39
      assert.is(ring.size(), capacity);
      const header = new Int32Array(memory.buffer.slice(64, 64 + L.RING_HEADER_SIZE));
      const slots = new Uint8Array(memory.buffer.slice(ring.slotsAt, ring.slotsAt + capacity * 64));
      assert.is(tryClaim(1), L.RING_NO_SEQUENCE);
      assert.is(tryClaim(64), L.RING_NO_SEQUENCE);
      assert.is(w.ringTryClaim(64, 1), L.RING_NO_SEQUENCE);
      if (impl === 'js') assert.throws(() => ring.tryClaim(65), /1\.\.64/);
      assert.is(w.ringTryClaim(64, 65), L.RING_BAD_ARGUMENT);
      assert.is(w.ringTryClaim(64, 0), L.RING_BAD_ARGUMENT);
      const claimWord = L.RING_H_CLAIM >> 2;
      const after = new Int32Array(memory.buffer, 64, L.RING_HEADER_SIZE >> 2);
      assert.is(after[claimWord], header[claimWord], 'claim sequence unchanged');
      assert.is(after[L.RING_H_CONSUMED >> 2], header[L.RING_H_CONSUMED >> 2]);
      assert.equal(new Uint8Array(memory.buffer, ring.slotsAt, capacity * 64), slots, 'slots unchanged');
      // The first run: slots 40..63 (the ring started at slot 40), stopping at the wrap.
      assert.is(ring.available(), 24);
      assert.is(w.ringAvailable(64), 24);
      assert.is(ring.readOffset, ring.slotsAt + 40 * 64);
      assert.is(w.ringReadOffset(64), ring.readOffset);
      assert.throws(() => ring.release(65), /release/);
      assert.is(w.ringRelease(64, 65), L.RING_BAD_ARGUMENT);
      assert.throws(() => ring.release(0), /release/);
      for (let k = 0; k < 24; k++) assert.is(i32[(ring.readOffset >> 2) + k * 16], k);
      ring.release(20);
      assert.is(tryClaim(21), L.RING_NO_SEQUENCE, 'only 20 free');
      assert.is(ring.available(), 4);
      assert.is(w.ringRelease(64, 4), 0);
      // Sequences crossed 2^31 at the wrap of the slots: the next run starts at slot 0, sequence 0.
      assert.is(ring.readSequence, 0);
      assert.is(ring.available(), 40);
      assert.is(ring.readOffset, ring.slotsAt);
      for (let k = 0; k < 40; k++) {
        assert.is(i32[(ring.readOffset >> 2) + k * 16], 24 + k);
        assert.is(i32[(ring.readOffset >> 2) + k * 16 + 15], ~(24 + k));
      }
      ring.release(40);
      assert.is(ring.size(), 0);
    });
  }
}

test('zero copy: the core runs commands straight from ring slots, events equal Engine.runRaw', () => {
  assert.is(L.RING_SLOT_SIZE, CL.CMD_SIZE);
  const commands = collect(randomStream({ seed: 11, count: 20_000, symbols: 4, depth: 'shallow' }));
  commands.forEach((c, i) => (c.seq = BigInt(i + 1)));
  const expected = new Engine({ ...SMALL_LIMITS }).runRaw(commands);
  // One shared memory: [64 KiB reserved][ring][events][arena], as a matching worker would have it.
  const { maxOrders, maxSymbols, ladderTicks } = SMALL_LIMITS as Required<typeof SMALL_LIMITS>;
  const capacity = 128;
  const ringAt = 65536;
  const eventCap = maxOrders * CL.EVENTS_PER_TOUCHED_ORDER + CL.EVENTS_PER_COMMAND_BASE;
  const eventsAt = ringAt + ringBytes(capacity);
  const arenaAt = eventsAt + eventCap * CL.EVT_SIZE;
  const sizing = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true } as WebAssembly.MemoryDescriptor);
  const arenaSize = instantiateCore('release', sizing).arenaSize(maxOrders, maxSymbols, ladderTicks) >>> 0;
  const memory = sharedMemory(arenaAt + arenaSize);
  const core = instantiateCore('release', memory);
  assert.is(core.init(arenaAt, maxOrders, maxSymbols, ladderTicks, 1), 0);
  const ring = SpscRing.init(memory, ringAt, capacity, { firstSequence: NEAR_WRAP });
  const view = new DataView(memory.buffer);
  const got: RawEvent[] = [];
  let next = 0;
  let x = 99;
  let runs = 0;
  while (got.length < expected.length || next < commands.length) {
    // Producer: random batches while there is room.
    for (;;) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const n = Math.min(1 + (x % 40), commands.length - next);
      if (n === 0) break;
      const seq = ring.tryClaim(n);
      if (seq < 0) break;
      for (let k = 0; k < n; k++) writeCommand(view, ring.slotOffset(seq + k), commands[next++]);
      ring.publish(seq, n);
    }
    // Consumer: every ready run goes to the core as one pointer, no copy (the core may stop
    // early, after a chunk of events: the rest of the run goes in the next call).
    let n: number;
    while ((n = ring.available()) > 0) {
      const ran = core.process(arenaAt, ring.readOffset, n, eventsAt, eventCap);
      assert.ok(ran > 0 && ran <= n, 'ran part of the run');
      const events = view.getUint32(arenaAt + CL.H_EVENTS_WRITTEN, true);
      for (let k = 0; k < events; k++) got.push(readEvent(view, eventsAt + k * CL.EVT_SIZE));
      ring.release(ran);
      runs++;
    }
    if (next === commands.length && ring.size() === 0) break;
  }
  assert.ok(runs > commands.length / capacity, 'many runs, split at the wrap');
  assert.is(got.length, expected.length);
  assert.equal(got, expected);
});

test('close: waitAvailable drains what is published, then returns 0', () => {
  for (const Ring of [SpscRing, MpscRing]) {
    for (const wait of ['busy-spin', 'spin-yield', 'blocking'] as const) {
      const memory = new SharedArrayBuffer(ringBytes(8));
      const ring = Ring.init(memory, 0, 8, { wait });
      const s = ring.claim(3);
      ring.publish(s, 3);
      ring.close();
      assert.is(ring.waitAvailable(), 3);
      ring.release(3);
      assert.is(ring.waitAvailable(), 0);
      assert.ok(ring.closed);
    }
  }
});

test.run();

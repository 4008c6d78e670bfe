// Tests of safe reclamation (src/reclaim.ts, assembly/reclaim.ts -> wasm/concurrent.wasm;
// docs/CONCURRENCY.md): epoch-based reclamation and hazard pointers over a shared pool.
//
// Threaded tests (test/workers/reclaim-stress.mjs): a writer thread keeps replacing records
// (generation, 14 derived words, a check word) behind published root words and retires the old
// ones; freed blocks are poisoned (0xDEADBEEF) before they go back to the pool, and reused blocks
// hold another generation, so a reader that touched a freed or reused block fails validation.
// Reader threads (JS and Wasm) validate every record they read. No timed assertions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Pool, poolHeaderBytes, poolChunkBytes } from '../src/pool.js';
import { ReclaimDomain, reclaimBytes } from '../src/reclaim.js';
import * as layout from '../assembly/reclaim-layout.js';
// @ts-expect-error: a plain .mjs without types (the record codec the workers use)
import { writeRecord, checkRecord, rootWord } from './workers/reclaim-stress.mjs';
import { sideModule, runWorker } from './support/side-module.js';

const L = { ...layout };
const workerUrl = new URL('./workers/reclaim-stress.mjs', import.meta.url);
const PAGE = 65536;

const concurrentModule = sideModule('concurrent');

interface ReclaimWasm {
  reclaimLayoutVersion(): number;
  reclaimBytesFor(max: number): number;
  reclaimInit(domain: number, pool: number, max: number, poison: number, collectEvery: number, hpScanAt: number): number;
  reclaimRegister(domain: number): number;
  reclaimUnregister(domain: number, p: number): number;
  reclaimLimbo(domain: number, p: number): number;
  ebrEnter(domain: number, p: number): void;
  ebrExit(domain: number, p: number): void;
  ebrTryAdvance(domain: number): number;
  ebrEpoch(domain: number): number;
  ebrReclaim(domain: number, p: number): number;
  ebrRetire(domain: number, p: number, h: number): number;
  hpProtect(domain: number, p: number, k: number, source: number, mask: number): number;
  hpClear(domain: number, p: number, k: number): void;
  hpScan(domain: number, p: number): number;
  hpRetire(domain: number, p: number, h: number): number;
  checkRecord(pool: number, w: number): number;
  poolAlloc(pool: number): number;
}

const sharedMemory = (pages: number, maximum = pages) => new WebAssembly.Memory({ initial: pages, maximum, shared: true } as WebAssembly.MemoryDescriptor);
const wasmOn = (memory: WebAssembly.Memory) => new WebAssembly.Instance(concurrentModule, { env: { memory } }).exports as unknown as ReclaimWasm;

/** [pool header][domain][roots][region for chunks] in one memory. */
function setup(opts: { pages?: number; maxPages?: number; maxParticipants?: number; collectEvery?: number; hazardScanAt?: number; blocksPerChunk?: number; maxChunks?: number } = {}) {
  const maxChunks = opts.maxChunks ?? 32;
  const bpc = opts.blocksPerChunk ?? 256;
  const memory = sharedMemory(opts.pages ?? 8, opts.maxPages ?? 256);
  const poolAt = 64;
  const domainAt = poolAt + poolHeaderBytes(maxChunks);
  const maxParticipants = opts.maxParticipants ?? 8;
  const rootsAt = domainAt + reclaimBytes(maxParticipants);
  const regionStart = rootsAt + 4096;
  const pool = Pool.init(memory, poolAt, { blockSize: 64, blocksPerChunk: bpc, maxChunks, region: { start: regionStart, end: memory.buffer.byteLength }, growMemory: true });
  const domain = ReclaimDomain.init(memory, domainAt, pool, { maxParticipants, poison: L.RECLAIM_POISON, collectEvery: opts.collectEvery, hazardScanAt: opts.hazardScanAt });
  return { memory, pool, domain, poolAt, domainAt, rootsAt };
}

// ---- one thread ------------------------------------------------------------------------------

test('layout: JS and Wasm write identical domains; instantiation writes nothing', () => {
  const { memory, domainAt, poolAt, rootsAt } = setup({ maxParticipants: 5, collectEvery: 7, hazardScanAt: 9 });
  const w = wasmOn(memory);
  assert.is(w.reclaimLayoutVersion(), L.RECLAIM_LAYOUT_VERSION);
  for (const m of [1, 5, 256]) assert.is(w.reclaimBytesFor(m), reclaimBytes(m));
  assert.is(w.reclaimBytesFor(0), L.RECLAIM_BAD_ARGUMENT);
  assert.throws(() => reclaimBytes(257), /maxParticipants/);
  const bytes = reclaimBytes(5);
  const other = Math.ceil((rootsAt + 4096 + 2 * PAGE) / 64) * 64; // an unused stretch of the region
  new Uint8Array(memory.buffer, other, bytes).fill(0x77);
  assert.is(w.reclaimInit(other, poolAt, 5, L.RECLAIM_POISON, 7, 9), 0);
  assert.equal(Array.from(new Uint8Array(memory.buffer, other, bytes)), Array.from(new Uint8Array(memory.buffer, domainAt, bytes)));
  const before = new Uint8Array(memory.buffer).slice();
  wasmOn(memory);
  assert.ok(Buffer.compare(Buffer.from(before), Buffer.from(new Uint8Array(memory.buffer))) === 0);
});

test('EBR: a reader inside its guard holds back reclamation but never the writer; freed blocks are poisoned', () => {
  const { pool, domain, memory, domainAt } = setup({ collectEvery: 8 });
  const w = wasmOn(memory);
  const writer = domain.register();
  const reader = domain.register();
  const e0 = domain.epoch;
  reader.enter();
  reader.enter(); // nesting
  reader.exit();
  assert.ok(reader.active);
  const handles: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const h = pool.alloc();
    writeRecord(pool.i32, pool.offsetOf(h) >> 2, i + 1);
    handles.push(h);
    writer.retire(h); // returns at once, with or without readers
  }
  // The reader announced e0: the epoch could move once (every active reader was at e0), never twice.
  for (let i = 0; i < 10; i++) writer.reclaim();
  assert.is(domain.epoch, e0 + 1);
  assert.is(writer.stats().freed, 0, 'nothing freed while the reader may still see it');
  assert.is(writer.limbo, 1000);
  assert.is(pool.stats().inUse, 1000);
  assert.throws(() => writer.retire(handles[0]), /not allocated/, 'retired twice');
  assert.throws(() => pool.free(handles[0]), /not allocated/, 'freed while in limbo');
  reader.exit();
  assert.not.ok(reader.active);
  assert.ok(writer.drain(3), 'drained in three rounds once no reader is inside');
  const s = writer.stats();
  assert.equal([s.retired, s.freed, s.limbo], [1000, 1000, 0]);
  assert.ok(s.limboPeak >= 1000);
  assert.is(pool.stats().inUse, 0);
  assert.is(pool.countFree(), pool.stats().capacity);
  for (const h of handles) {
    const at = pool.offsetOf(h) >> 2;
    for (let k = 0; k < 16; k++) assert.is(pool.i32[at + k], L.RECLAIM_POISON);
  }
  // The Wasm reader's announcement holds the epoch back exactly like a JS reader's.
  const p = w.reclaimRegister(domainAt);
  assert.ok(p >= 0);
  w.ebrEnter(domainAt, p);
  const e1 = domain.epoch;
  assert.ok(domain.tryAdvance());
  assert.not.ok(domain.tryAdvance(), 'the Wasm reader still announces the old epoch');
  assert.is(w.ebrTryAdvance(domainAt), 0);
  assert.is(w.reclaimUnregister(domainAt, p), L.RECLAIM_BUSY, 'cannot leave inside a guard');
  w.ebrExit(domainAt, p);
  assert.is(w.ebrTryAdvance(domainAt), 1);
  assert.is(w.ebrEpoch(domainAt), e1 + 2);
  assert.is(w.reclaimUnregister(domainAt, p), 0);
  writer.unregister();
  reader.unregister();
});

test('EBR in Wasm: retire, reclaim after two epochs, limbo chained through the pool\'s links', () => {
  const { pool, domain, memory, domainAt, poolAt } = setup({ collectEvery: 1000 });
  const w = wasmOn(memory);
  const p = w.reclaimRegister(domainAt);
  const reader = domain.register();
  const hs = Array.from({ length: 50 }, () => w.poolAlloc(poolAt));
  reader.enter();
  for (const h of hs) assert.is(w.ebrRetire(domainAt, p, h), 0);
  assert.is(w.ebrRetire(domainAt, p, hs[0]), L.RECLAIM_NOT_ALLOCATED);
  assert.is(w.ebrRetire(domainAt, p, 0), L.RECLAIM_BAD_ARGUMENT);
  assert.is(w.ebrReclaim(domainAt, p), 0);
  assert.is(w.ebrReclaim(domainAt, p), 0);
  assert.is(w.reclaimLimbo(domainAt, p), 50);
  reader.exit();
  let freed = 0;
  for (let i = 0; i < 3; i++) freed += w.ebrReclaim(domainAt, p);
  assert.is(freed, 50);
  assert.is(w.reclaimLimbo(domainAt, p), 0);
  assert.is(pool.stats().inUse, 0);
  assert.is(pool.countFree(), pool.stats().capacity);
  assert.is(pool.i32[pool.offsetOf(hs[7]) >> 2], L.RECLAIM_POISON);
});

for (const impl of ['js', 'wasm'] as const) {
  test(`hazard pointers (${impl} retirer): a protected block survives scans until cleared`, () => {
    const { pool, domain, memory, domainAt, rootsAt } = setup({ hazardScanAt: 1000 });
    const w = wasmOn(memory);
    const reader = domain.register();
    const writer = domain.register();
    const rootIndex = rootsAt >> 2;
    const i32 = pool.i32;
    const h1 = pool.alloc();
    writeRecord(i32, pool.offsetOf(h1) >> 2, 1);
    Atomics.store(i32, rootIndex, rootWord(1, h1));
    // The reader protects the record behind the root (JS, then the same through Wasm).
    const got = reader.protect(1, rootIndex, 0xffff);
    assert.is(got, rootWord(1, h1));
    assert.is(w.hpProtect(domainAt, reader.index, 2, rootsAt, 0xffff), rootWord(1, h1));
    w.hpClear(domainAt, reader.index, 2);
    // The writer replaces it and retires the old block.
    const h2 = pool.alloc();
    writeRecord(i32, pool.offsetOf(h2) >> 2, 2);
    Atomics.store(i32, rootIndex, rootWord(2, h2));
    const scan = () => (impl === 'js' ? writer.scan() : w.hpScan(domainAt, writer.index));
    if (impl === 'js') writer.retireHazard(h1);
    else assert.is(w.hpRetire(domainAt, writer.index, h1), 0);
    assert.is(scan(), 0, 'protected: not freed');
    assert.is(checkRecord(pool.i32, pool.offsetOf(h1) >> 2, got), 0, 'and still whole');
    assert.is(w.checkRecord(pool.base, got), 0);
    reader.clear(1);
    assert.is(scan(), 1, 'freed after the hazard is cleared');
    assert.is(checkRecord(pool.i32, pool.offsetOf(h1) >> 2, got), 1, 'poisoned: a late reader would fail validation');
    assert.is(w.checkRecord(pool.base, got), 1);
    assert.is(pool.stats().inUse, 1);
    assert.is(writer.limbo, 0);
  });
}

test('the validator catches a freed block (poison) and a reused one (other generation), in JS and Wasm', () => {
  const { pool, memory } = setup();
  const w = wasmOn(memory);
  const h = pool.alloc();
  const at = pool.offsetOf(h) >> 2;
  writeRecord(pool.i32, at, 77);
  const word = rootWord(77, h);
  assert.is(checkRecord(pool.i32, at, word), 0);
  assert.is(w.checkRecord(pool.base, word), 0);
  writeRecord(pool.i32, at, 77 + 65536 * 3 + 1); // reused for another generation
  assert.is(checkRecord(pool.i32, at, word), 1);
  assert.is(w.checkRecord(pool.base, word), 1);
  writeRecord(pool.i32, at, 77);
  pool.i32[at + 9] ^= 1; // torn
  assert.is(checkRecord(pool.i32, at, word), 1);
  assert.is(w.checkRecord(pool.base, word), 1);
  pool.i32.fill(L.RECLAIM_POISON, at, at + 16);
  assert.is(checkRecord(pool.i32, at, word), 1);
  assert.is(w.checkRecord(pool.base, word), 1);
});

// ---- threaded runs ---------------------------------------------------------------------------

function run(data: Record<string, unknown>, live: Worker[]): Promise<any> {
  return runWorker<any>(workerUrl, data, live, `${String(data.role)} (${String(data.impl)})`);
}

for (const mode of ['ebr', 'hp'] as const) {
  test(`stress (${mode}): a writer replaces and retires 300k records while a JS and a Wasm reader validate every read`, async () => {
    // Small chunks, some from memory.grow: readers meet blocks in chunks grown during the run.
    const { memory, pool, poolAt, domainAt, rootsAt } = setup({ pages: 2, maxPages: 512, blocksPerChunk: 512, maxChunks: 127, collectEvery: 32, hazardScanAt: 32 });
    const nRoots = 16;
    const ctrl = new SharedArrayBuffer(12);
    const c32 = new Int32Array(ctrl);
    c32[0] = 2; // readers left
    const base = { mode, memory, poolAt, domainAt, rootsAt, nRoots, ctrl, readers: 2 };
    const live: Worker[] = [];
    const readers = [run({ ...base, role: 'reader', impl: 'js', seed: 11 }, live), run({ ...base, role: 'reader', impl: 'wasm', seed: 12 }, live)];
    // The writer publishes its first records, then waits until both readers have made a pass.
    const writer = await run({ ...base, role: 'writer', impl: 'js', updates: 300_000, seed: 13 }, live);
    const [js, wasm] = await Promise.all(readers);
    assert.is(js.failures, 0, `JS reader: ${js.firstFailure}`);
    assert.is(wasm.failures, 0, 'Wasm reader');
    assert.ok(js.reads > 0 && wasm.reads > 0, `both read (${js.reads}, ${wasm.reads})`);
    assert.is(wasm.unregistered, 0);
    // Memory came back while the readers ran, and all of it at the end.
    assert.is(writer.during.retired, 300_000);
    assert.ok(writer.during.freed > 0, 'reclaimed during the run');
    assert.ok(writer.drained, 'limbo drained after the readers left');
    assert.equal([writer.after.retired, writer.after.freed, writer.after.limbo], [300_000 + nRoots, 300_000 + nRoots, 0]);
    const s = pool.stats();
    assert.is(s.inUse, 0);
    assert.is(pool.countFree(), s.capacity);
    console.log(`    ${mode}: reads JS ${js.reads}, Wasm ${wasm.reads}; freed during the run ${writer.during.freed}/${writer.during.retired}; limbo peak ${writer.after.limboPeak}; pool capacity ${s.capacity} blocks (${s.growths} growths, ${s.memoryGrows} memory.grow); writer stalls on an exhausted pool ${writer.stalls}${mode === 'ebr' ? `; epoch advances ${writer.advances}` : ''}`);
  });
}

test.run();

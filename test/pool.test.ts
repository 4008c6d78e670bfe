// Tests of the pools (src/pool.ts, assembly/pool.ts -> wasm/concurrent.wasm; docs/CONCURRENCY.md).
//
// Threaded tests run pool users on real worker threads (test/workers/pool-stress.mjs): each
// allocates and frees at random, tags every block it holds with its owner and checks the tag before
// freeing it, so a block handed to two owners at once fails a check. No timed assertions: a hang
// guard only stops a stuck run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Pool, poolChunkBytes, poolHeaderBytes } from '../src/pool.js';
import * as layout from '../assembly/pool-layout.js';
import { sideModule, runWorker, instantiationWrites } from './support/side-module.js';

const L = { ...layout };
const workerUrl = new URL('./workers/pool-stress.mjs', import.meta.url);
const PAGE = 65536;

const concurrentModule = sideModule('concurrent');

export interface PoolWasm {
  poolLayoutVersion(): number;
  poolHeaderBytes(maxChunks: number): number;
  poolChunkBytes(blockSize: number, blocksPerChunk: number): number;
  poolInit(pool: number, blockSize: number, blocksPerChunk: number, maxChunks: number, initialChunks: number, regionStart: number, regionEnd: number, grow: number): number;
  poolAlloc(pool: number): number;
  poolFree(pool: number, h: number): number;
  poolBlock(pool: number, h: number): number;
  poolHead(pool: number): number;
  poolLinkAddress(pool: number, h: number): number;
  poolCommitPop(pool: number, head: number, next: number): number;
  poolInUse(pool: number): number;
  poolCapacity(pool: number): number;
  poolFailed(pool: number): number;
  poolGrowths(pool: number): number;
  poolMemoryGrows(pool: number): number;
}

const sharedMemory = (pages: number, maximum = pages) => new WebAssembly.Memory({ initial: pages, maximum, shared: true } as WebAssembly.MemoryDescriptor);
const wasmOn = (memory: WebAssembly.Memory) => new WebAssembly.Instance(concurrentModule, { env: { memory } }).exports as unknown as PoolWasm;

// ---- one thread ------------------------------------------------------------------------------

test('layout: JS and Wasm agree on sizes and write identical headers and chunks', () => {
  const memory = sharedMemory(16);
  const w = wasmOn(memory);
  const bytes = new Uint8Array(memory.buffer);
  assert.is(w.poolLayoutVersion(), L.POOL_LAYOUT_VERSION);
  for (const [bs, bpc] of [[8, 1], [64, 16], [24, 64], [128, 256]]) assert.is(w.poolChunkBytes(bs, bpc), poolChunkBytes(bs, bpc));
  for (const m of [1, 7, 64, 4096]) assert.is(w.poolHeaderBytes(m), poolHeaderBytes(m));
  assert.is(w.poolChunkBytes(12, 16), L.POOL_BAD_ARGUMENT);
  assert.throws(() => poolChunkBytes(12, 16), /multiple of 8/);
  assert.is(w.poolChunkBytes(64, 12), L.POOL_BAD_ARGUMENT);
  assert.throws(() => poolChunkBytes(64, 12), /power of two/);
  assert.is(w.poolHeaderBytes(4097), L.POOL_BAD_ARGUMENT);
  // Same configuration in two halves of the memory: headers, links and the free list must match
  // byte for byte once addresses are made relative.
  const half = 8 * PAGE;
  for (const [bs, bpc, maxChunks, initial] of [[64, 16, 8, 3], [8, 1, 1, 1], [40, 64, 32, 2]]) {
    bytes.fill(0xa5, 0, half);
    bytes.fill(0x5a, half, 2 * half);
    const hb = poolHeaderBytes(maxChunks);
    const pa = 64;
    const pb = half + 64;
    Pool.init(memory, pa, { blockSize: bs, blocksPerChunk: bpc, maxChunks, initialChunks: initial, region: { start: pa + hb, end: half } });
    assert.is(w.poolInit(pb, bs, bpc, maxChunks, initial, pb + hb, 2 * half, L.POOL_GROW_REGION), 0);
    const ia = new Int32Array(memory.buffer, pa, hb >> 2);
    const ib = new Int32Array(memory.buffer, pb, hb >> 2);
    const relative = (i32: Int32Array, base: number) => Array.from(i32, (v, k) => {
      const off = k * 4;
      if (off === L.POOL_H_REGION_END || off === L.POOL_H_REGION_NEXT || (off >= L.POOL_CHUNKS_AT && v > 0)) return v - base;
      return v;
    });
    assert.equal(relative(ia, pa), relative(ib, pb), `header ${bs}x${bpc}`);
    const chunk = poolChunkBytes(bs, bpc);
    const linkBytes = bpc * 4; // the padding after the links is never written
    for (let k = 0; k < initial; k++) {
      const la = Array.from(bytes.subarray(pa + hb + k * chunk, pa + hb + k * chunk + linkBytes));
      const lb = Array.from(bytes.subarray(pb + hb + k * chunk, pb + hb + k * chunk + linkBytes));
      assert.equal(la, lb, `links of chunk ${k}`);
    }
  }
  assert.is(w.poolInit(100, 64, 16, 8, 1, 4096, 65536, 1), L.POOL_BAD_ARGUMENT, 'unaligned');
  assert.is(w.poolInit(64, 64, 1024, 4096, 1, 4096, 65536, 1), L.POOL_BAD_ARGUMENT, 'index bits');
  assert.throws(() => Pool.init(memory, 64, { blockSize: 64, blocksPerChunk: 1024, maxChunks: 4096, region: { start: 4096, end: 65536 } }), /2\^22/);
  assert.throws(() => Pool.init(memory, 64, { blockSize: 64, blocksPerChunk: 1024, maxChunks: 4, initialChunks: 5, region: { start: 4096, end: 65536 } }), /initialChunks/);
  assert.throws(() => Pool.init(memory, 64, { blockSize: 64, blocksPerChunk: 1024, maxChunks: 4, initialChunks: 4, region: { start: 4096, end: 65536 } }), /no room/);
  assert.throws(() => Pool.init(new SharedArrayBuffer(65536), 0, { blockSize: 64, blocksPerChunk: 16, maxChunks: 4 }), /WebAssembly.Memory/);
});

test('instantiating concurrent.wasm writes nothing to the shared memory (no data segments, no statics)', () => {
  const memory = sharedMemory(1);
  assert.is(instantiationWrites(concurrentModule, memory), '');
});

for (const impl of ['js', 'wasm'] as const) {
  test(`${impl}: alloc to exhaustion, failed count, double free refused, free list intact`, () => {
    const memory = sharedMemory(4);
    const w = wasmOn(memory);
    const hb = poolHeaderBytes(4);
    const pool = Pool.init(memory, 64, { blockSize: 32, blocksPerChunk: 8, maxChunks: 4, initialChunks: 1, region: { start: 64 + hb, end: 4 * PAGE } });
    const alloc = () => (impl === 'js' ? pool.alloc() : w.poolAlloc(64));
    const free = (h: number) => (impl === 'js' ? pool.free(h) : assert.is(w.poolFree(64, h), 0));
    const got = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const h = alloc();
      assert.ok(h >= 1 && h <= 32, `handle ${h}`);
      assert.not.ok(got.has(h), `handle ${h} twice`);
      got.add(h);
      assert.is(pool.link(h), L.POOL_LINK_ALLOCATED);
    }
    let s = pool.stats();
    assert.equal([s.capacity, s.inUse, s.highWater, s.growths, s.chunks, s.failed], [32, 32, 32, 3, 4, 0]);
    assert.is(alloc(), 0, 'exhausted');
    assert.is(alloc(), 0, 'still exhausted');
    assert.is(pool.stats().failed, 2);
    // Block addresses: distinct, inside their chunks, blockSize apart within a chunk.
    const offsets = [...got].map((h) => pool.offsetOf(h));
    assert.is(new Set(offsets).size, 32);
    for (const h of got) assert.is(w.poolBlock(64, h), pool.offsetOf(h));
    for (const h of got) free(h);
    assert.throws(() => pool.free(5), /not allocated/);
    assert.is(w.poolFree(64, 5), L.POOL_NOT_ALLOCATED);
    assert.throws(() => pool.free(33), /not a handle/);
    assert.is(w.poolFree(64, 0), L.POOL_BAD_HANDLE);
    assert.is(w.poolFree(64, 33), L.POOL_BAD_HANDLE);
    s = pool.stats();
    assert.equal([s.capacity, s.inUse, s.highWater, s.failed], [32, 0, 32, 2]);
    assert.is(pool.countFree(), 32);
    // LIFO: the last block freed is the next handed out.
    const last = [...got].at(-1)!;
    assert.is(alloc(), last);
  });

  test(`${impl}: ABA by hand: a stale pop (head read, then overtaken) fails its CAS and corrupts nothing`, () => {
    const memory = sharedMemory(1);
    const w = wasmOn(memory);
    const pool = Pool.init(memory, 64, { blockSize: 16, blocksPerChunk: 4, maxChunks: 1, region: { start: 1024, end: PAGE } });
    const alloc = () => (impl === 'js' ? pool.alloc() : w.poolAlloc(64));
    const free = (h: number) => (impl === 'js' ? pool.free(h) : assert.is(w.poolFree(64, h), 0));
    const head = () => (impl === 'js' ? pool.peekHead() : w.poolHead(64));
    const link = (h: number) => (impl === 'js' ? pool.link(h) : new Int32Array(memory.buffer)[w.poolLinkAddress(64, h) >> 2]);
    const commitPop = (hd: number, next: number) => (impl === 'js' ? pool.commitPop(hd, next) : w.poolCommitPop(64, hd, next));
    const mask = pool.indexMask;
    assert.is(pool.indexBits, 3, '4 handles need 3 bits; the tag has 29');
    // Free list: 1 -> 2 -> 3 -> 4.
    // Thread T begins a pop: reads the head (A = 1, tag t) and A's successor B = 2 ...
    const stale = head();
    const A = stale & mask;
    const B = link(A);
    assert.equal([A, B], [1, 2]);
    // ... and is preempted. Another thread pops A and B and pushes A back: the head is A again.
    const a = alloc();
    const b = alloc();
    assert.equal([a, b], [A, B]);
    free(a);
    const now = head();
    assert.is(now & mask, A, 'the head names A again: an untagged CAS would succeed');
    assert.is(link(A), 3, 'A is now followed by 3');
    assert.is(link(B), L.POOL_LINK_ALLOCATED, 'B is owned by the other thread');
    assert.is(now >>> pool.indexBits, ((stale >>> pool.indexBits) + 2) >>> 0, 'the tag counted the two pops (pushes keep it)');
    // T resumes: its CAS expects (A, t) and would install B (in use!) as the head. The tag refuses.
    assert.is(commitPop(stale, B), 0, 'the stale CAS fails');
    assert.is(head(), now, 'the head is unchanged');
    // Nothing lost, nothing handed out twice: A, 3, 4 are free; B is still allocated.
    assert.is(pool.countFree(), 3);
    const rest = [alloc(), alloc(), alloc()];
    assert.equal(rest, [1, 3, 4]);
    assert.is(alloc(), 0);
    // A fresh commit with the current head works (the loop of tryPop does exactly this).
    for (const h of [...rest, b]) free(h);
    const fresh = head();
    assert.is(commitPop(fresh, link(fresh & mask)), fresh & mask);
    assert.is(pool.stats().inUse, 1);
  });
}

test('growth by memory.grow: other threads\' pool objects rebuild their views when they meet a new chunk', () => {
  const memory = sharedMemory(1, 64);
  const hb = poolHeaderBytes(16);
  // A region with room for one chunk; later chunks come from memory.grow.
  const chunk = poolChunkBytes(64, 64);
  const pool = Pool.init(memory, 0, { blockSize: 64, blocksPerChunk: 64, maxChunks: 16, initialChunks: 1, region: { start: hb, end: hb + chunk }, growMemory: true });
  const other = new Pool(memory, 0); // attached before the growth: its views are of one page
  const w = wasmOn(memory);
  assert.is(other.i32.byteLength, PAGE);
  const handles: number[] = [];
  for (let i = 0; i < 64 * 5; i++) handles.push(i % 2 ? pool.alloc() : w.poolAlloc(0));
  const s = pool.stats();
  assert.is(s.capacity, 64 * 5);
  assert.is(s.growths, 4);
  assert.is(s.memoryGrows, 4);
  assert.is(w.poolMemoryGrows(0), 4);
  assert.ok(memory.buffer.byteLength > PAGE);
  // The other object meets a handle of a grown chunk: it rebuilds its views and reads the block.
  const h = handles.at(-1)!;
  const at = pool.offsetOf(h);
  assert.ok(at >= PAGE, 'the block lies in grown memory');
  pool.i32[at >> 2] = 0x1234567;
  assert.is(other.offsetOf(h), at);
  assert.is(other.i32.byteLength, memory.buffer.byteLength);
  assert.is(other.i32[at >> 2], 0x1234567);
  for (const x of handles) other.free(x);
  assert.is(other.countFree(), 64 * 5);
  assert.is(pool.stats().inUse, 0);
});

// ---- threaded runs ---------------------------------------------------------------------------

interface StressResult { ok: true; allocs: number; frees: number; failed: number; errors: number; maxHeld: number; firstError: string }

function run(data: Record<string, unknown>, live: Worker[]): Promise<StressResult> {
  return runWorker<StressResult>(workerUrl, data, live, `pool worker ${String(data.owner)}`);
}

interface Scenario { users: { impl: 'js' | 'wasm'; ops: number; maxHold: number }[]; blocksPerChunk: number; maxChunks: number; regionChunks: number; growMemory: boolean }

async function stress(sc: Scenario) {
  const blockSize = 64;
  const hb = poolHeaderBytes(sc.maxChunks);
  const chunk = poolChunkBytes(blockSize, sc.blocksPerChunk);
  const scratch = sc.users.reduce((s, u) => s + u.maxHold * 4 + 64, 0);
  const fixed = Math.ceil((hb + sc.regionChunks * chunk + scratch + 1024) / PAGE);
  const memory = sharedMemory(fixed, fixed + (sc.growMemory ? sc.maxChunks * Math.ceil(chunk / PAGE) : 0));
  const poolAt = 64;
  const regionEnd = poolAt + hb + sc.regionChunks * chunk;
  const pool = Pool.init(memory, poolAt, { blockSize, blocksPerChunk: sc.blocksPerChunk, maxChunks: sc.maxChunks, initialChunks: 1, region: { start: poolAt + hb, end: regionEnd }, growMemory: sc.growMemory });
  const ctrl = new SharedArrayBuffer(8);
  const c32 = new Int32Array(ctrl);
  const live: Worker[] = [];
  let scratchAt = Math.ceil(regionEnd / 64) * 64;
  const jobs = sc.users.map((u, k) => {
    const data = { impl: u.impl, memory, poolAt, owner: k + 1, ops: u.ops, maxHold: u.maxHold, seed: 0x9e3779b1 * (k + 1), ctrl, scratchAt };
    scratchAt += Math.ceil((u.maxHold * 4 + 32) / 64) * 64;
    return run(data, live);
  });
  // Start together: wait until every worker is at the gate.
  while (Atomics.load(c32, 0) < sc.users.length) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(c32, 1, 1);
  Atomics.notify(c32, 1);
  const results = await Promise.all(jobs);
  return { pool, results };
}

function checkStress(pool: Pool, results: StressResult[], sc: Scenario) {
  for (const [k, r] of results.entries()) {
    assert.is(r.errors, 0, `user ${k + 1}: ${r.firstError}`);
    assert.is(r.allocs, r.frees, `user ${k + 1} freed everything it allocated`);
  }
  const s = pool.stats();
  assert.is(s.inUse, 0, 'in use at the end');
  assert.is(pool.countFree(), s.capacity, 'every block is back on the free list, once');
  assert.is(s.capacity, s.chunks * sc.blocksPerChunk);
  assert.is(s.growths, s.chunks - 1, 'one initial chunk, the rest grown');
  assert.is(s.failed, results.reduce((n, r) => n + r.failed, 0), 'failed allocations = what the users saw');
  assert.ok(s.highWater <= s.capacity, 'high water within capacity');
  assert.ok(s.highWater >= Math.max(...results.map((r) => r.maxHeld)), 'high water covers every user\'s peak');
  return s;
}

test('stress: 2 JS + 1 Wasm threads, ~4M allocs and frees, the pool growing (region, then memory.grow) mid-run', async () => {
  const sc: Scenario = {
    users: [{ impl: 'js', ops: 1_200_000, maxHold: 3000 }, { impl: 'js', ops: 1_200_000, maxHold: 3000 }, { impl: 'wasm', ops: 2_000_000, maxHold: 3000 }],
    blocksPerChunk: 256, maxChunks: 64, regionChunks: 4, growMemory: true,
  };
  const { pool, results } = await stress(sc);
  const s = checkStress(pool, results, sc);
  assert.ok(s.growths >= 4, `the pool grew past its region (growths ${s.growths})`);
  assert.ok(s.memoryGrows >= 1, 'and by memory.grow');
  assert.is(s.failed, 0, 'room for everyone: no allocation failed');
  const ops = results.reduce((n, r) => n + r.allocs + r.frees, 0);
  assert.ok(ops > 3_000_000, `${ops} operations`);
});

test('stress: 3 threads on a pool too small for any one of them (1,024 blocks, each wants 1,500): failures counted exactly, nothing corrupted', async () => {
  const sc: Scenario = {
    users: [{ impl: 'js', ops: 400_000, maxHold: 1500 }, { impl: 'wasm', ops: 600_000, maxHold: 1500 }, { impl: 'js', ops: 400_000, maxHold: 1500 }],
    blocksPerChunk: 128, maxChunks: 8, regionChunks: 8, growMemory: false,
  };
  const { pool, results } = await stress(sc);
  const s = checkStress(pool, results, sc);
  assert.is(s.capacity, 1024, 'grew to its maximum');
  assert.ok(s.failed > 0, 'some allocations found it exhausted');
});

test.run();

// A pool user for test/pool.test.ts, on its own thread: random allocs and frees from one shared
// pool (JS over src/pool.ts, or Wasm over wasm/concurrent.wasm's poolStress), every block tagged
// with its owner and checked before it is freed (pool-layout.ts POOL_TAG_*).
// Plain .mjs: it registers tsx itself, then imports the TypeScript.
//
// workerData: { impl: 'js' | 'wasm', memory, poolAt, owner, ops, maxHold, seed, ctrl (SAB: [ready, go]),
//   scratchAt (wasm: maxHold x 4 + 32 bytes of host memory for held handles and results) }.
// Posts { ok, allocs, frees, failed, errors, maxHeld, firstError }.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

if (!isMainThread) {
  register();
  try {
    parentPort.postMessage({ ok: true, ...(await main(workerData)) });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String((e && e.stack) || e) });
  }
}

function xorshift(x) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}

/** Reports ready, then waits for the main thread's go (all users start together). */
function gate(ctrl) {
  Atomics.add(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
  while (Atomics.load(ctrl, 1) === 0) Atomics.wait(ctrl, 1, 0, 50);
}

async function main(d) {
  const ctrl = new Int32Array(d.ctrl);
  if (d.impl === 'wasm') {
    const module = new WebAssembly.Module(readFileSync(new URL('../../wasm/concurrent.wasm', import.meta.url)));
    const w = new WebAssembly.Instance(module, { env: { memory: d.memory } }).exports;
    const held = d.scratchAt;
    const out = d.scratchAt + d.maxHold * 4;
    gate(ctrl);
    const errors = w.poolStress(d.poolAt, d.owner, d.ops, d.maxHold, d.seed, held, out);
    const r = new Int32Array(d.memory.buffer, out, 5);
    return { allocs: r[0], frees: r[1], failed: r[2], errors, maxHeld: r[4], firstError: errors ? 'wasm poolStress counted errors' : '' };
  }
  const { Pool } = await import('../../src/pool.ts');
  const L = { ...(await import('../../assembly/pool-layout.ts')) };
  const pool = new Pool(d.memory, d.poolAt);
  const words = pool.blockSize >> 2;
  const owner = d.owner;
  const held = new Int32Array(d.maxHold);
  let n = 0, allocs = 0, frees = 0, failed = 0, errors = 0, maxHeld = 0, firstError = '';
  const fail = (msg) => {
    errors++;
    if (!firstError) firstError = msg;
  };
  const half = d.ops > 2 ? d.ops >> 1 : 1;
  let x = d.seed | 1;
  gate(ctrl);
  // The same walk as concurrent.wasm's poolStress: the hold limit ramps from 8 to maxHold over
  // the first half of the run, so the pool grows while every thread allocates and frees; below
  // the limit 3 steps in 4 allocate, so each thread climbs to its limit and stays near it, even
  // when it runs alone (deterministic demand on a 2-core machine that serialises the threads).
  for (let i = 0; i <= d.ops; i++) {
    const limit = i === d.ops ? 0 : Math.min(d.maxHold, 8 + Math.floor((i * d.maxHold) / half));
    x = xorshift(x);
    if (n < limit && (n === 0 || (x & 3) !== 0)) {
      const h = pool.alloc();
      if (h === 0) {
        failed++;
        continue;
      }
      allocs++;
      const b = pool.offsetOf(h) >> 2;
      const i32 = pool.i32;
      const w0 = i32[b];
      if (w0 !== 0 && w0 !== L.POOL_TAG_FREE) fail(`owner ${owner}: block ${h} came from the pool holding owner ${w0}'s tag`);
      i32[b] = owner;
      i32[b + 1] = allocs;
      i32[b + words - 1] = ~allocs ^ owner;
      held[n++] = h;
      if (n > maxHeld) maxHeld = n;
    }
    while (n > 0 && (n >= limit || (x & 3) === 0)) {
      const j = (x >>> 1) % n;
      const h = held[j];
      held[j] = held[--n];
      const b = pool.offsetOf(h) >> 2;
      const i32 = pool.i32;
      const serial = i32[b + 1];
      if (i32[b] !== owner || i32[b + words - 1] !== (~serial ^ owner)) fail(`owner ${owner}: block ${h} was overwritten while held (owner word ${i32[b]})`);
      i32[b] = L.POOL_TAG_FREE;
      try {
        pool.free(h);
      } catch (e) {
        fail(String(e));
      }
      frees++;
      if (limit !== 0) break;
    }
  }
  return { allocs, frees, failed, errors, maxHeld, firstError };
}

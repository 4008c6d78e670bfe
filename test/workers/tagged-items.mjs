// A ring end for test/ring.test.ts, on its own thread: a producer (JS over src/ring.ts, or Wasm
// over wasm/rings.wasm) or a JS consumer that checks every tagged item (ring-layout.ts RING_TAG_*).
// Plain .mjs: it registers tsx itself, then imports the TypeScript.
//
// workerData: { role: 'produce' | 'consume', memory (shared WebAssembly.Memory or SAB), offset,
//   kind: 'spsc' | 'mpsc', wait?, ... } (see produce() and consume() below). Posts one result.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

let L, d, i32, Ring, options;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

// On the main thread (uvu globbing test/ imports this file too) it does nothing.
if (!isMainThread) {
  register();
  const { SpscRing, MpscRing } = await import('../../src/ring.ts');
  L = { ...(await import('../../assembly/ring-layout.ts')) };
  d = workerData;
  i32 = new Int32Array(d.memory instanceof WebAssembly.Memory ? d.memory.buffer : d.memory);
  Ring = d.kind === 'mpsc' ? MpscRing : SpscRing;
  options = d.wait ? { wait: d.wait } : {};
  try {
    parentPort.postMessage({ ok: true, ...(d.role === 'produce' ? produce() : consume()) });
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

function wasmRings() {
  const module = new WebAssembly.Module(readFileSync(new URL('../../wasm/rings.wasm', import.meta.url)));
  return new WebAssembly.Instance(module, { env: { memory: d.memory } }).exports;
}

/** { producer, count, maxBatch, seed, wasm?, tryClaim?, close? } -> { produced, full } */
function produce() {
  const { producer, count, maxBatch, seed } = d;
  let full = 0;
  if (d.wasm) {
    const w = wasmRings();
    // In chunks: V8 has no on-stack replacement for Wasm; a single call would stay unoptimized.
    for (let item = 0, chunk = 0; item < count; item += 16384, chunk++) {
      const n = Math.min(16384, count - item);
      const r = w.produceTagged(d.offset, producer, item, n, maxBatch, seed + chunk);
      if (r !== n) throw new Error(`produceTagged returned ${r}`);
    }
    if (d.close) w.ringClose(d.offset);
    return { produced: count, full };
  }
  const ring = new Ring(d.memory, d.offset, options);
  let x = seed | 1;
  let item = 0;
  while (item < count) {
    x = xorshift(x);
    let n = ((x >>> 0) % maxBatch) + 1;
    if (n > count - item) n = count - item;
    let seq;
    if (d.tryClaim) {
      while ((seq = ring.tryClaim(n)) < 0) full++;
    } else {
      seq = ring.claim(n);
    }
    for (let k = 0; k < n; k++) {
      const w = ring.slotOffset(seq + k) >> 2;
      i32[w + (L.RING_TAG_PRODUCER >> 2)] = producer;
      i32[w + (L.RING_TAG_ITEM >> 2)] = item;
      i32[w + (L.RING_TAG_CHECK >> 2)] = Math.imul(item, L.RING_TAG_MIX) ^ producer;
      i32[w + (L.RING_TAG_LAST >> 2)] = ~item;
      item++;
    }
    ring.publish(seq, n);
  }
  if (d.close) ring.close();
  return { produced: count, full };
}

/**
 * { producers, stallEvery? } -> { total, perProducer, errors, runs, wrapRuns, maxRun }
 * Reads until the ring is closed and drained; releases each run in one to three pieces.
 */
function consume() {
  const ring = new Ring(d.memory, d.offset, options);
  const next = new Int32Array(d.producers);
  const errors = [];
  const slotsEnd = ring.slotsAt + ring.capacity * L.RING_SLOT_SIZE;
  let total = 0;
  let runs = 0;
  let wrapRuns = 0;
  let maxRun = 0;
  let x = 12345;
  const fail = (msg) => {
    if (errors.length < 8) errors.push(msg);
  };
  for (;;) {
    const n = ring.waitAvailable();
    if (n === 0) break;
    const start = ring.readOffset;
    if (start !== ring.slotOffset(ring.readSequence)) fail(`readOffset ${start} != slotOffset(readSequence)`);
    if (start + n * L.RING_SLOT_SIZE > slotsEnd) fail(`run of ${n} at ${start} crosses the end of the slots`);
    if (start + n * L.RING_SLOT_SIZE === slotsEnd) wrapRuns++;
    runs++;
    if (n > maxRun) maxRun = n;
    for (let k = 0; k < n; k++) {
      const w = (start >> 2) + k * (L.RING_SLOT_SIZE >> 2);
      const p = i32[w + (L.RING_TAG_PRODUCER >> 2)];
      const item = i32[w + (L.RING_TAG_ITEM >> 2)];
      if (p < 0 || p >= d.producers) {
        fail(`bad producer ${p} at item ${total + k}`);
        continue;
      }
      if (item !== next[p]) fail(`producer ${p}: expected item ${next[p]}, got ${item}`);
      if (i32[w + (L.RING_TAG_CHECK >> 2)] !== (Math.imul(item, L.RING_TAG_MIX) ^ p)) fail(`producer ${p} item ${item}: bad check word`);
      if (i32[w + (L.RING_TAG_LAST >> 2)] !== ~item) fail(`producer ${p} item ${item}: bad last word (half-visible record)`);
      next[p] = item + 1;
      // Scribble over the slot: a slot that came round again unwritten would fail the checks.
      i32[w + (L.RING_TAG_ITEM >> 2)] = -1;
      i32[w + (L.RING_TAG_LAST >> 2)] = 0;
    }
    // Release in one to three pieces (release(k) of a reported run must work piecewise).
    let left = n;
    while (left > 0) {
      x = xorshift(x);
      const piece = left === 1 ? 1 : Math.min(left, 1 + ((x >>> 0) % left));
      ring.release(piece);
      left -= piece;
    }
    total += n;
    if (d.stallEvery && runs % d.stallEvery === 0) Atomics.wait(sleeper, 0, 0, 1); // 1 ms: let the ring fill
  }
  return { total, perProducer: Array.from(next), errors, runs, wrapRuns, maxRun };
}

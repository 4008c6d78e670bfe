// A writer or a reader of records under safe reclamation, for test/reclaim.test.ts, on its own
// thread (JS over src/reclaim.ts, or a Wasm reader over wasm/concurrent.wasm).
// Plain .mjs: it registers tsx itself, then imports the TypeScript. Also exports the record codec
// (reclaim-layout.ts RECLAIM_REC_*) for the test file.
//
// workerData: { role: 'writer' | 'reader', mode: 'ebr' | 'hp', impl: 'js' | 'wasm', memory, poolAt,
//   domainAt, rootsAt, nRoots, ctrl (SAB: [readersLeft, done, readersStarted]), readers, updates (writer), seed }.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

const MIX = -1640531535; //   RECLAIM_REC_MIX
const SEED = 0x5eed1234; //   RECLAIM_REC_SEED
const WORDS = 16; //          RECLAIM_REC_WORDS

/** Writes the record of generation `gen` at word index `at`. */
export function writeRecord(i32, at, gen) {
  let check = SEED ^ gen;
  i32[at] = gen;
  for (let i = 1; i < WORDS - 1; i++) {
    const v = (Math.imul(gen, MIX) + i) | 0;
    i32[at + i] = v;
    check ^= v;
  }
  i32[at + WORDS - 1] = check;
}

/** 0 if the block at word index `at` is a whole record of the generation root word `w` names, else 1. */
export function checkRecord(i32, at, w) {
  const w0 = i32[at];
  if ((w0 & 0xffff) !== w >>> 16) return 1;
  let check = SEED ^ w0;
  for (let i = 1; i < WORDS - 1; i++) {
    const v = i32[at + i];
    if (v !== ((Math.imul(w0, MIX) + i) | 0)) return 1;
    check ^= v;
  }
  if (i32[at + WORDS - 1] !== check) return 1;
  return Atomics.load(i32, at) !== w0 ? 1 : 0;
}

export const rootWord = (gen, h) => (((gen & 0xffff) << 16) | h) | 0;

/** A reader's first pass is done (ctrl[2] counts them; the writer waits for all). */
function started(ctrl) {
  Atomics.add(ctrl, 2, 1);
  Atomics.notify(ctrl, 2);
}

function xorshift(x) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
  try {
    parentPort.postMessage({ ok: true, ...(await main(workerData)) });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String((e && e.stack) || e) });
  }
}

async function main(d) {
  const ctrl = new Int32Array(d.ctrl);
  const roots = d.rootsAt >> 2;
  if (d.impl === 'wasm') {
    const module = new WebAssembly.Module(readFileSync(new URL('../../wasm/concurrent.wasm', import.meta.url)));
    const w = new WebAssembly.Instance(module, { env: { memory: d.memory } }).exports;
    const p = w.reclaimRegister(d.domainAt);
    if (p < 0) throw new Error(`reclaimRegister: ${p}`);
    let reads = 0, failures = 0, chunk = 0;
    // In chunks (Wasm has no on-stack replacement: a single long call would stay unoptimized).
    // Tell the writer this reader runs once it has made a pass over published roots.
    const roots32 = new Int32Array(d.memory.buffer, 0, d.memory.buffer.byteLength >> 2);
    let first = true;
    do {
      const published = Atomics.load(roots32, roots) !== 0;
      if (d.mode === 'ebr') {
        failures += w.ebrReadRecords(d.domainAt, p, d.poolAt, d.rootsAt, d.nRoots, 200);
        reads += 200 * d.nRoots;
      } else {
        failures += w.hpReadRecords(d.domainAt, p, d.poolAt, d.rootsAt, d.nRoots, 2000, d.seed + chunk++);
        reads += 2000;
      }
      if (first && published) {
        started(ctrl);
        first = false;
      }
    } while (Atomics.load(ctrl, 1) === 0);
    const left = w.reclaimUnregister(d.domainAt, p);
    Atomics.sub(ctrl, 0, 1);
    Atomics.notify(ctrl, 0);
    return { reads, failures, unregistered: left };
  }
  const { Pool } = await import('../../src/pool.ts');
  const { ReclaimDomain } = await import('../../src/reclaim.ts');
  const pool = new Pool(d.memory, d.poolAt);
  const domain = new ReclaimDomain(d.memory, d.domainAt, pool);
  const me = domain.register();
  const i32 = () => pool.i32;
  const roots32 = domain.i32;
  if (d.role === 'reader') {
    let reads = 0, failures = 0, firstFailure = '';
    let x = d.seed | 1;
    let first = true;
    do {
      for (let it = 0; it < 100; it++) {
        if (d.mode === 'ebr') {
          me.enter();
          for (let r = 0; r < d.nRoots; r++) {
            const w = Atomics.load(roots32, roots + r);
            if (w === 0) continue;
            const at = pool.offsetOf(w & 0xffff) >> 2;
            if (checkRecord(i32(), at, w)) { failures++; if (!firstFailure) firstFailure = `root ${r} word ${w}: block holds ${i32()[at]}`; }
            reads++;
          }
          me.exit();
        } else {
          x = xorshift(x);
          const r = (x >>> 0) % d.nRoots;
          const w = me.protect(0, roots + r, 0xffff);
          if (w !== 0) {
            const at = pool.offsetOf(w & 0xffff) >> 2;
            if (checkRecord(i32(), at, w)) { failures++; if (!firstFailure) firstFailure = `root ${r} word ${w}: block holds ${i32()[at]}`; }
            reads++;
          }
          me.clear(0);
        }
      }
      if (first && reads > 0) {
        started(ctrl);
        first = false;
      }
    } while (Atomics.load(ctrl, 1) === 0);
    me.unregister();
    Atomics.sub(ctrl, 0, 1);
    Atomics.notify(ctrl, 0);
    return { reads, failures, firstFailure };
  }
  // Writer: replace a random root's record, `updates` times; retire the old one.
  const retire = d.mode === 'ebr' ? (h) => me.retire(h) : (h) => me.retireHazard(h);
  let gen = 0;
  let stalls = 0;
  let x = d.seed | 1;
  const publish = (r) => {
    let h = pool.alloc();
    // Exhausted (readers stalled for long on a loaded machine while limbo grew): reclaim and back
    // off until their guards let blocks go. Back-pressure, not a failure; counted in `stalls`.
    while (h === 0) {
      stalls++;
      me.reclaim();
      if (d.mode === 'hp') me.scan();
      Atomics.wait(ctrl, 1, 0, 1);
      h = pool.alloc();
    }
    if (h > 0xffff) throw new Error('handle beyond 16 bits');
    gen++;
    writeRecord(i32(), pool.offsetOf(h) >> 2, gen);
    return Atomics.exchange(roots32, roots + r, rootWord(gen, h)); // publish; the old word
  };
  for (let r = 0; r < d.nRoots; r++) publish(r);
  // Wait until every reader has made one pass over the roots: the run overlaps them for certain.
  while (Atomics.load(ctrl, 2) < d.readers) Atomics.wait(ctrl, 2, Atomics.load(ctrl, 2), 100);
  let limboMax = 0;
  for (let u = 0; u < d.updates; u++) {
    x = xorshift(x);
    const old = publish((x >>> 0) % d.nRoots);
    retire(old & 0xffff);
    if ((u & 1023) === 0 && me.limbo > limboMax) limboMax = me.limbo;
  }
  const during = me.stats();
  const capacityDuring = pool.stats().capacity;
  // Stop the readers, wait until they have left, then retire the last records and drain.
  Atomics.store(ctrl, 1, 1);
  while (Atomics.load(ctrl, 0) > 0) Atomics.wait(ctrl, 0, Atomics.load(ctrl, 0), 100);
  for (let r = 0; r < d.nRoots; r++) retire(Atomics.exchange(roots32, roots + r, 0) & 0xffff);
  const drained = me.drain();
  const after = me.stats();
  me.unregister();
  return { updates: d.updates, gen, stalls, during, after, drained, limboMax, capacityDuring, advances: domain.advances };
}

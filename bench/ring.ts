// bench:ring: the rings between two worker threads (src/ring.ts, wasm/rings.wasm; docs/RINGS.md).
//
//   node --import tsx bench/ring.ts [--count 4000000] [--runs 3] [--rounds 200000] [--json out.json]
//
// Throughput: one producer worker -> one consumer worker over an SPSC ring of 16,384 slots, items
// of 64 bytes (4 words written, 2 read and checked), in batches of 1, 16 and 256, the producer in
// JS (src/ring.ts) or in Wasm (rings.wasm produceTagged: claim, write, publish all inside Wasm);
// the consumer is JS. Items/s = items / the consumer's time from the start gate to the last item.
// Median of --runs runs.
// Latency: ping-pong of one item over two SPSC rings, per wait strategy; the ring operations in
// JS or in Wasm (called once per operation from JS). Round trips after a 10% warm-up.
// With the native helper loaded, producer and consumer are pinned to different CPUs.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpscRing, initRing, ringBytes, type RingWait } from '../src/ring.js';
import * as layout from '../assembly/ring-layout.js';
import { native, nativeLoadError } from '../src/native.js';
import { machineInfo, describeMachine } from './machine.js';
import { benchArgs } from './args.js';

const L = { ...layout };
const CAPACITY = 16384;
const WASM_CHUNK = 16384; // items per produceTagged call
const DISRUPTOR_SPSC_OPS = 25_998_336; // LMAX Disruptor 1.0 paper (2011): unicast 1P-1C, Java, a 2011 Core i7

interface RingsWasm {
  ringClaim(ring: number, n: number): number;
  ringPublish(ring: number, first: number, n: number): void;
  ringSlot(ring: number, seq: number): number;
  ringWaitAvailable(ring: number): number;
  ringReadOffset(ring: number): number;
  ringRelease(ring: number, n: number): number;
  ringClose(ring: number): void;
  produceTagged(ring: number, producer: number, firstItem: number, count: number, maxBatch: number, seed: number): number;
}

interface Job {
  role: 'produce' | 'consume' | 'ping' | 'pong';
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  /** The ring written (produce, ping, pong) or read (consume). */
  offset: number;
  /** ping/pong: the ring read. */
  inOffset?: number;
  count: number;
  batch: number;
  wasm: boolean;
  warmup?: number;
  cpu: number;
}

// ---- worker side -----------------------------------------------------------------------------

function wasmOn(memory: WebAssembly.Memory): RingsWasm {
  const module = new WebAssembly.Module(readFileSync(fileURLToPath(new URL('../wasm/rings.wasm', import.meta.url))));
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as RingsWasm;
}

/** Reports ready, then waits for the main thread's go. */
function gate(ctrl: Int32Array): void {
  Atomics.add(ctrl, 0, 1);
  Atomics.wait(ctrl, 1, 0);
}

function produce(job: Job, i32: Int32Array, ctrl: Int32Array): Record<string, unknown> {
  if (job.wasm) {
    const w = wasmOn(job.memory);
    gate(ctrl);
    // In chunks: V8 runs a Wasm function's first calls in its baseline compiler and has no
    // on-stack replacement for Wasm, so one call producing everything would never be optimized.
    for (let item = 0; item < job.count; item += WASM_CHUNK) w.produceTagged(job.offset, 0, item, Math.min(WASM_CHUNK, job.count - item), job.batch, 0);
    w.ringClose(job.offset);
    return {};
  }
  const ring = new SpscRing(job.memory, job.offset);
  const { count, batch } = job;
  gate(ctrl);
  for (let item = 0; item < count;) {
    const n = batch < count - item ? batch : count - item;
    const seq = ring.claim(n);
    for (let k = 0; k < n; k++) {
      const w = ring.slotOffset(seq + k) >> 2;
      i32[w] = 0; // RING_TAG_PRODUCER
      i32[w + 1] = item; // RING_TAG_ITEM
      i32[w + 14] = Math.imul(item, L.RING_TAG_MIX); // RING_TAG_CHECK
      i32[w + 15] = ~item; // RING_TAG_LAST
      item++;
    }
    ring.publish(seq, n);
  }
  ring.close();
  return {};
}

function consume(job: Job, i32: Int32Array, ctrl: Int32Array): Record<string, unknown> {
  const ring = new SpscRing(job.memory, job.offset);
  let next = 0;
  let errors = 0;
  let runs = 0;
  gate(ctrl);
  const t0 = performance.now();
  for (;;) {
    const n = ring.waitAvailable();
    if (n === 0) break;
    let w = ring.readOffset >> 2;
    for (let k = 0; k < n; k++, w += 16) {
      if (i32[w + 1] !== next || i32[w + 15] !== ~next) errors++;
      next++;
    }
    ring.release(n);
    runs++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, items: next, errors, runs };
}

function pingPong(job: Job, i32: Int32Array, ctrl: Int32Array): Record<string, unknown> {
  const out = new SpscRing(job.memory, job.offset);
  const inn = new SpscRing(job.memory, job.inOffset!);
  const w = job.wasm ? wasmOn(job.memory) : undefined;
  const send = (value: number) => {
    if (w) {
      const s = w.ringClaim(job.offset, 1);
      i32[w.ringSlot(job.offset, s) >> 2] = value;
      w.ringPublish(job.offset, s, 1);
    } else {
      const s = out.claim(1);
      i32[out.slotOffset(s) >> 2] = value;
      out.publish(s, 1);
    }
  };
  const receive = (): number => {
    if (w) {
      if (w.ringWaitAvailable(job.inOffset!) === 0) return -1;
      const v = i32[w.ringReadOffset(job.inOffset!) >> 2];
      w.ringRelease(job.inOffset!, 1);
      return v;
    }
    if (inn.waitAvailable() === 0) return -1;
    const v = i32[inn.readOffset >> 2];
    inn.release(1);
    return v;
  };
  if (job.role === 'pong') {
    gate(ctrl);
    for (let v = receive(); v >= 0; v = receive()) send(v);
    return {};
  }
  const warmup = job.warmup ?? 0;
  const samples = new Float64Array(job.count);
  gate(ctrl);
  let bad = 0;
  for (let r = 0; r < warmup + job.count; r++) {
    const t = performance.now();
    send(r);
    if (receive() !== r) bad++;
    const dt = performance.now() - t;
    if (r >= warmup) samples[r - warmup] = dt * 1000;
  }
  out.close();
  samples.sort();
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i];
  return { bad, meanUs: sum / samples.length, p50Us: at(0.5), p99Us: at(0.99), p999Us: at(0.999), maxUs: samples[samples.length - 1] };
}

function workerMain(): void {
  const job = workerData as Job;
  try {
    let pinned: number[] | undefined;
    if (native && job.cpu >= 0) pinned = native.setAffinity([job.cpu]);
    const i32 = new Int32Array(job.memory.buffer);
    const ctrl = new Int32Array(job.ctrl);
    const result = job.role === 'produce' ? produce(job, i32, ctrl) : job.role === 'consume' ? consume(job, i32, ctrl) : pingPong(job, i32, ctrl);
    parentPort!.postMessage({ ok: true, pinned, ...result });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: String((e as Error)?.stack ?? e) });
  }
}

// ---- main side -------------------------------------------------------------------------------

// Workers run this same file; TypeScript under tsx needs tsx registered inside each worker.
const BOOTSTRAP = `
  const { workerData, parentPort } = require('node:worker_threads');
  (async () => {
    const { register } = await import(workerData.tsx);
    register();
    await import(workerData.self);
  })().catch((e) => parentPort.postMessage({ ok: false, error: String((e && e.stack) || e) }));`;

async function runPair(jobs: Omit<Job, 'ctrl'>[]): Promise<Record<string, any>[]> {
  const ctrl = new SharedArrayBuffer(8);
  const c = new Int32Array(ctrl);
  const extra = { tsx: import.meta.resolve('tsx/esm/api'), self: import.meta.url };
  const results = jobs.map((job) => new Promise<Record<string, any>>((resolve, reject) => {
    const w = new Worker(BOOTSTRAP, { eval: true, workerData: { ...job, ctrl, ...extra } });
    w.once('message', (m) => (m.ok ? resolve(m) : reject(new Error(m.error))));
    w.once('error', reject);
  }));
  while (Atomics.load(c, 0) < jobs.length) await new Promise((r) => setTimeout(r, 2));
  Atomics.store(c, 1, 1);
  Atomics.notify(c, 1);
  return Promise.all(results);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${(n / 1e3).toFixed(0)}k`);

async function main(): Promise<void> {
  const args = benchArgs('bench/ring.ts', ['--count', '--runs', '--rounds', '--json']);
  const count = args.int('--count', 4_000_000, 1);
  const runs = args.int('--runs', 3, 1);
  const rounds = args.int('--rounds', 200_000, 1);
  const jsonPath = args.optional('--json');
  const m = machineInfo();
  console.log(`bench:ring  ${process.argv.slice(1).map((a) => a.replace(/^.*\/bench\//, 'bench/')).join(' ')}`);
  console.log(`machine: ${describeMachine(m)}`);
  let cpus: [number, number] = [-1, -1];
  if (native) {
    const allowed = native.getAffinity();
    cpus = [allowed[0], allowed[allowed.length > 1 ? 1 : 0]];
    console.log(`pinning: native helper loaded: producer (ping) on CPU ${cpus[0]}, consumer (pong) on CPU ${cpus[1]}; main thread, V8 and libuv threads unpinned`);
  } else {
    console.log(`pinning: none (${nativeLoadError})`);
  }

  const memory = new WebAssembly.Memory({ initial: 1 + Math.ceil(2 * ringBytes(CAPACITY) / 65536), maximum: 1024, shared: true } as WebAssembly.MemoryDescriptor);
  const A = 65536;
  const B = A + ringBytes(CAPACITY);
  const results: Record<string, unknown>[] = [];

  console.log(`\nthroughput, SPSC, ${CAPACITY} slots of 64 B, ${fmt(count)} items, median of ${runs} runs (consumer in JS)`);
  console.log('producer  wait        batch   items/s      ns/item  (runs)');
  const tput: { wasm: boolean; wait: RingWait; batch: number }[] = [];
  for (const wasm of [false, true]) for (const batch of [1, 16, 256]) tput.push({ wasm, wait: 'busy-spin', batch });
  tput.push({ wasm: false, wait: 'spin-yield', batch: 16 }, { wasm: false, wait: 'blocking', batch: 16 });
  let best = 0;
  for (const t of tput) {
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      initRing(memory, A, CAPACITY, 'spsc', { wait: t.wait });
      const [, got] = await runPair([
        { role: 'produce', memory, offset: A, count, batch: t.batch, wasm: t.wasm, cpu: cpus[0] },
        { role: 'consume', memory, offset: A, count, batch: t.batch, wasm: false, cpu: cpus[1] },
      ]);
      if (got.errors !== 0 || got.items !== count) throw new Error(`consumer saw ${got.errors} bad items, ${got.items} of ${count}`);
      rates.push(count / got.seconds);
    }
    const rate = median(rates);
    best = Math.max(best, rate);
    results.push({ kind: 'throughput', producer: t.wasm ? 'wasm' : 'js', wait: t.wait, batch: t.batch, itemsPerSec: Math.round(rate), runs: rates.map(Math.round) });
    console.log(`${(t.wasm ? 'wasm' : 'js').padEnd(10)}${t.wait.padEnd(12)}${String(t.batch).padStart(5)}  ${fmt(rate).padStart(8)}/s  ${(1e9 / rate).toFixed(1).padStart(8)}  (${rates.map(fmt).join(' ')})`);
  }
  console.log(`reference: LMAX Disruptor, unicast 1P-1C, ${fmt(DISRUPTOR_SPSC_OPS)} ops/s (Disruptor 1.0 paper, 2011, Java on a 2011 Core i7);`);
  console.log(`           ours, best row above: ${fmt(best)} items/s. NOT the same machine, language or workload: a landmark, not a comparison.`);

  console.log(`\nround trip (ping-pong, 1 item each way over two SPSC rings), ${fmt(rounds)} rounds after ${fmt(rounds / 10)} warm-up`);
  console.log('ops   wait                  mean us  p50 us  p99 us  p99.9 us   max us');
  const lat: { wasm: boolean; wait: RingWait; spins?: number; label: string; rounds: number }[] = [
    { wasm: false, wait: 'busy-spin', label: 'busy-spin', rounds },
    { wasm: true, wait: 'busy-spin', label: 'busy-spin', rounds },
    { wasm: false, wait: 'spin-yield', label: 'spin-yield (4096,50us)', rounds },
    { wasm: false, wait: 'blocking', label: 'blocking (spin 4096)', rounds },
    { wasm: false, wait: 'blocking', spins: 0, label: 'blocking (no spin)', rounds: Math.ceil(rounds / 10) },
    { wasm: true, wait: 'blocking', spins: 0, label: 'blocking (no spin)', rounds: Math.ceil(rounds / 10) },
  ];
  for (const t of lat) {
    initRing(memory, A, CAPACITY, 'spsc', { wait: t.wait, spins: t.spins });
    initRing(memory, B, CAPACITY, 'spsc', { wait: t.wait, spins: t.spins });
    const [ping] = await runPair([
      { role: 'ping', memory, offset: A, inOffset: B, count: t.rounds, warmup: Math.ceil(t.rounds / 10), batch: 1, wasm: t.wasm, cpu: cpus[0] },
      { role: 'pong', memory, offset: B, inOffset: A, count: 0, batch: 1, wasm: t.wasm, cpu: cpus[1] },
    ]);
    if (ping.bad !== 0) throw new Error(`ping-pong: ${ping.bad} wrong replies`);
    results.push({ kind: 'round-trip', ops: t.wasm ? 'wasm' : 'js', wait: t.wait, spins: t.spins ?? L.RING_DEFAULT_SPINS, rounds: t.rounds, meanUs: ping.meanUs, p50Us: ping.p50Us, p99Us: ping.p99Us, p999Us: ping.p999Us, maxUs: ping.maxUs });
    const f = (x: number) => x.toFixed(2).padStart(7);
    console.log(`${(t.wasm ? 'wasm' : 'js').padEnd(6)}${t.label.padEnd(22)}${f(ping.meanUs)} ${f(ping.p50Us)} ${f(ping.p99Us)} ${f(ping.p999Us).padStart(9)} ${f(ping.maxUs).padStart(8)}`);
  }
  console.log(`(${m.cores} cores: with both ends spinning the main thread, V8's helpers and any other load share the cores with them; see docs/RINGS.md)`);
  if (jsonPath !== undefined) {
    writeFileSync(jsonPath, JSON.stringify({ bench: 'ring', command: process.argv.slice(1).join(' '), machine: m, pinned: cpus[0] >= 0 ? cpus : null, results }, null, 2));
    console.log(`wrote ${jsonPath}`);
  }
}

if (isMainThread) await main();
else workerMain();

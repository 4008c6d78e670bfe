// One measurement of `clob bench throughput`, run in a child process of its own (forked by
// bench/throughput.ts) so that each engine's peak RSS is its own and the engines never share a
// heap, a JIT or a GC. The parent sends one Job; the child answers with one JobResult and exits.
//
// What the child does, in order (nothing before step 4 is timed):
//   1. reads the pre-encoded command file (64-byte records written by the parent);
//   2. warm-up: a throwaway instance of the engine runs the first `warmup` commands, is dropped,
//      and is collected (--expose-gc), then the child sleeps 50 ms so that background tier-up
//      (V8's TurboFan for JS and for Wasm) can finish: every engine is measured on warm code;
//   3. the measured instance (clob: its Wasm memory pre-faulted, see below) runs the setup prefix
//      (ADD_SYMBOL + warm-up orders);
//   4. TIMED: clob: the measured commands through the batch path exactly as bench/core.ts does
//      (append the records into the engine's input region, one engine.run(onEvents) per batch;
//      when `split` is set, two batches: [0, split) then [split, measured), with the book read
//      between them, outside the clock); peers: one applyAll() over the decoded commands;
//   5. reads the book of every symbol (best price, resting quantity, order and level count per
//      side) at each point and process.resourceUsage().maxRSS.
import { closeSync, openSync, readSync } from 'node:fs';
import * as L from '../assembly/layout.js';
import type { RawCommand } from '../src/records.js';
import { GcCounter, timedRun } from './gc-counter.js';

export type EngineName = 'clob-release' | 'clob-scalar' | 'simple-book' | 'nodejs-order-book';
export const CLOB_ENGINES: EngineName[] = ['clob-release', 'clob-scalar'];
export const PEER_ENGINES: EngineName[] = ['simple-book', 'nodejs-order-book'];

/** One side of one symbol's book at the end of a run. Prices and quantities as decimal strings. */
export interface SideBook { best: string | null; qty: string; orders: number; levels: number }
export interface SymbolBook { symbol: number; bid: SideBook; ask: SideBook }
/** Every symbol's book after `at` measured commands (plus the setup prefix). */
export interface BookState { at: number; symbols: SymbolBook[]; digest?: string }

export interface EngineSizing { maxOrders: number; maxSymbols: number; ladderTicks: number }

export interface Job {
  engine: EngineName;
  /** File of 64-byte command records: setup prefix first, then the measured commands. */
  file: string;
  setup: number;
  /** Measured commands (after the setup prefix). */
  measured: number;
  /** clob only: also read the book (and time the first batch) after this many measured commands. */
  split?: number;
  /** Untimed warm-up on a throwaway instance: this many commands from the start of the file. */
  warmup: number;
  symbols: number[];
  sizing: EngineSizing;
}

/** One timed window. */
export interface Segment { commands: number; seconds: number; events: number; gcs: number; gcMs: number }

export interface JobResult {
  engine: EngineName;
  segments: Segment[];
  books: BookState[];
  /** Peak RSS of the whole child process (process.resourceUsage().maxRSS), bytes. */
  maxRssBytes: number;
  /** Peak RSS once the input was read and decoded, before any engine instance existed. */
  inputRssBytes: number;
  /** clob only: the size of the engine's Wasm memory (all of it resident: pre-faulted before the clock). */
  wasmMemoryBytes?: number;
}

const CHUNK = 65_536; // records read from the file at a time on the clob path (4 MiB)
const MAX_LEVELS = 4096; // Engine.depth() returns at most this many levels per side

const rssBytes = () => process.resourceUsage().maxRSS * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function collect(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

/** Reads records [first, first + count) of the file into `into` (or a new buffer). */
function readRecords(fd: number, first: number, count: number, into?: Uint8Array): Uint8Array {
  const bytes = count * L.CMD_SIZE;
  const buf = into && into.length >= bytes ? into.subarray(0, bytes) : new Uint8Array(bytes);
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, buf, done, bytes - done, first * L.CMD_SIZE + done);
    if (n <= 0) throw new Error(`command file is shorter than ${first + count} records`);
    done += n;
  }
  return buf;
}

function side(levels: { price: bigint | number; qty: bigint | number; orders: number }[]): SideBook {
  let qty = 0n, orders = 0;
  for (const l of levels) { qty += BigInt(l.qty); orders += l.orders; }
  return { best: levels.length ? String(levels[0].price) : null, qty: String(qty), orders, levels: levels.length };
}

export async function runJob(job: Job): Promise<JobResult> {
  if (job.engine === 'clob-release' || job.engine === 'clob-scalar') return runClob(job);
  return runPeer(job);
}

async function runClob(job: Job): Promise<JobResult> {
  const { Engine } = await import('../src/engine.js');
  const build = job.engine === 'clob-release' ? 'release' : 'scalar';
  const fd = openSync(job.file, 'r');
  try {
    const chunk = new Uint8Array(CHUNK * L.CMD_SIZE);
    const inputRssBytes = rssBytes();

    // Warm-up on a throwaway engine (capacity rejects, if any, do not matter here).
    {
      const warm = new Engine({ build, ...job.sizing, batchSize: Math.max(1, job.warmup) });
      for (let i = 0; i < job.warmup; i += CHUNK) {
        const n = Math.min(CHUNK, job.warmup - i);
        warm.commands.append(readRecords(fd, i, n, chunk), 0, n);
      }
      warm.run(() => {});
    }
    collect();
    await sleep(50);

    const engine = new Engine({ build, ...job.sizing, batchSize: Math.max(job.setup, job.measured, 1) });
    // Pre-fault the engine's memory: a fresh engine's first touches of its pages (arena, event
    // region) cost ~10 ms of page faults here, most of a 100k-command window, and a running
    // engine has paid them long ago. Storing each page's first byte back unchanged maps the page
    // without changing the state. Hence clob's peak RSS includes its whole Wasm memory.
    const bytes = new Uint8Array(engine.memory.buffer);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = bytes[i];
    const wasmMemoryBytes = bytes.length;
    const load = (first: number, count: number) => {
      for (let i = 0; i < count; i += CHUNK) {
        const n = Math.min(CHUNK, count - i);
        engine.commands.append(readRecords(fd, first + i, n, chunk), 0, n);
      }
    };
    const books = (at: number): BookState => ({
      at,
      digest: engine.digest().toString(16),
      symbols: job.symbols.map((symbol) => {
        const d = engine.depth(symbol, MAX_LEVELS);
        if (d.bids.length >= MAX_LEVELS || d.asks.length >= MAX_LEVELS) {
          throw new Error(`symbol ${symbol} has ${MAX_LEVELS} or more price levels on a side: the book check cannot see the whole book`);
        }
        const conv = (ls: typeof d.bids) => ls.map((l) => ({ price: l.price, qty: l.quantity, orders: l.orders }));
        return { symbol, bid: side(conv(d.bids)), ask: side(conv(d.asks)) };
      }),
    });

    load(0, job.setup);
    engine.run();

    let events = 0;
    const onEvents = (ev: { count: number }) => { events += ev.count; };
    const segments: Segment[] = [];
    const out: BookState[] = [];
    const timed = async (first: number, count: number) => {
      load(job.setup + first, count);
      events = 0;
      const g = await timedRun(engine, onEvents);
      segments.push({ commands: count, seconds: g.seconds, events, gcs: g.gcs, gcMs: g.gcMs });
    };
    const split = job.split !== undefined && job.split > 0 && job.split < job.measured ? job.split : undefined;
    if (split !== undefined) {
      await timed(0, split);
      out.push(books(split));
      await timed(split, job.measured - split);
    } else {
      await timed(0, job.measured);
    }
    out.push(books(job.measured));
    return { engine: job.engine, segments, books: out, maxRssBytes: rssBytes(), inputRssBytes, wasmMemoryBytes };
  } finally {
    closeSync(fd);
  }
}

type ApplyAll = { applyAll(c: readonly RawCommand[]): void; depth(symbol: number): { bids: [bigint, bigint, number][]; asks: [bigint, bigint, number][] } };

async function runPeer(job: Job): Promise<JobResult> {
  const { readCommand } = await import('../src/records.js');
  const make: () => ApplyAll = job.engine === 'simple-book'
    ? await import('./peers/simple-book.js').then((m) => () => new m.SimpleBook())
    : await import('./peers/nodejs-order-book.js').then((m) => () => new m.NodejsOrderBookPeer());
  const fd = openSync(job.file, 'r');
  let cmds: RawCommand[];
  try {
    const bytes = readRecords(fd, 0, job.setup + job.measured);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    cmds = new Array(job.setup + job.measured);
    for (let i = 0; i < cmds.length; i++) cmds[i] = readCommand(view, i * L.CMD_SIZE);
  } finally {
    closeSync(fd);
  }
  const head = cmds.slice(0, job.setup);
  const body = cmds.slice(job.setup);
  const inputRssBytes = rssBytes();

  make().applyAll(cmds.slice(0, job.warmup));
  collect();
  await sleep(50);

  const peer = make();
  peer.applyAll(head);
  const gc = new GcCounter();
  gc.start();
  const from = performance.now();
  const t0 = process.hrtime.bigint();
  peer.applyAll(body);
  const t1 = process.hrtime.bigint();
  const to = performance.now();
  const g = await gc.stop(from, to);
  const symbols = job.symbols.map((symbol) => {
    const d = peer.depth(symbol);
    const conv = (ls: [bigint, bigint, number][]) => ls.map(([price, qty, orders]) => ({ price, qty, orders }));
    return { symbol, bid: side(conv(d.bids)), ask: side(conv(d.asks)) };
  });
  return {
    engine: job.engine,
    segments: [{ commands: job.measured, seconds: Number(t1 - t0) / 1e9, events: 0, gcs: g.count, gcMs: g.totalMs }],
    books: [{ at: job.measured, symbols }],
    maxRssBytes: rssBytes(),
    inputRssBytes,
  };
}

// Child-process entry: only when forked by bench/throughput.ts (which sets the variable), so
// that importing this module (tests, the parent) runs nothing.
if (process.env.CLOB_THROUGHPUT_RUNNER === '1' && typeof process.send === 'function') {
  process.once('message', (job: Job) => {
    runJob(job).then(
      (result) => process.send!({ ok: true, result }, () => process.disconnect()),
      (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }, () => process.disconnect()),
    );
  });
}

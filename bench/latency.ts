// bench latency: open-loop latency of the in-process batch path, rate by rate.
//
// Open loop (no coordinated omission). Command i of a step has a PLANNED send time
// t0 + i / rate, fixed before the step starts. The driver spins on the clock; whenever commands
// are due it writes up to `batch` of the due ones into the engine (engine.commands.append of
// pre-encoded records, then engine.run()) and notes the completion time of that run. Every
// command's latency is completion time - planned time, so when the engine (or the driver, the GC,
// the OS) falls behind, the time a command waited before it could be sent counts in full. All
// commands of one run() share its completion time.
//
// A second figure separates service time from queueing: the in-core time per command, i.e. the
// duration of each append + run() divided by its commands, recorded once per run weighted by its
// command count.
//
// Each step gets a fresh engine that first runs the workload's setup (symbols, warm-up orders)
// untimed, then the step's prefix of one pre-generated, pre-encoded stream. The stream is made
// before any clock starts and is shared by the steps; a step sends min(rate x seconds, stream)
// commands, so fast steps may be shorter than `seconds` (the table prints each step's duration).
// Inside the timed loop the driver only reads the clock, does integer arithmetic, stores into
// preallocated typed arrays and calls append/run: latencies go into the HDR histograms after the
// step, from the log of (first command, count, start, end) per run.
//
// Allocation: Node 20 returns every clock reading (performance.now(), the native tscNow()) as a
// heap number (16 bytes), and CommandWriter.append makes one subarray view per run, so the loop
// is not allocation-free: the young generation fills slowly and is scavenged (~0.1 ms each,
// reported per step as "GCs"). To keep clock reads (and so scavenges) rare while idle, the
// driver waits for the next planned time with a calibrated busy loop and reads the clock only
// near it (`spin`).
//
// --peers: after clob's whole ladder (so clob is measured exactly as without it), SimpleBook and
// nodejs-order-book get the same stream, planned send times, rates, batching and HDR settings
// (runPeerLadder): a step applies each due command (a RawCommand decoded from the same records
// before the clock) in turn. Each engine's ladder stops at its own median limit; the others keep
// stepping. The peers share clob's process (heap, JIT) and hold their decoded input on the heap.
// --html: bench/latency-report.ts (one HDR percentile plot per rate, one series per engine).
//
//   clob bench latency [--workload core-mix] [--rates auto|250000,1000000] [--seconds 2] [--peers] [--html f] ...
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initWebAssembly, build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { Engine, type EngineOptions } from '../src/engine.js';
import type { CoreBuild } from '../src/core.js';
import { readCommand, type RawCommand } from '../src/records.js';
import { CMD_SIZE } from '../assembly/layout.js';
import { native } from '../src/native.js';
import { coreMix, coreMixSetupLength } from './workloads/core-mix.js';
import { equityFlow, EQUITY_REGIMES, type Regime } from './workloads/equity-flow.js';
import { multiSymbol, multiSymbolSetupLength } from './workloads/multi-symbol.js';
import { encodeCommands } from './encode.js';
import { GcCounter } from './gc-counter.js';
import { machineInfo, describeMachine, type MachineInfo } from './machine.js';
import { percentilePoints, percentileRow, toCompressedBase64, formatNs, type PercentilePoint, type PercentileRow } from './hdr-export.js';

// ---------------------------------------------------------------------------------------------
// Workloads

export interface LatencyWorkload {
  name: string;
  description: string;
  engine: EngineOptions;
  /** Commands at the start of the stream that are run untimed before the clock. */
  setup: (count: number) => number;
  generate: (seed: number, count: number) => RawCommand[];
}

const EQUITY_WARMUP = 50_000; // ~ the longest order lifetimes' worth of flow: a steady-state book

const REGIMES = Object.keys(EQUITY_REGIMES) as Regime[];

export const WORKLOAD_NAMES: readonly string[] = ['core-mix', ...REGIMES.map((r) => `equity-${r}`), 'multi-symbol'];

export function latencyWorkload(name: string, seed: number): LatencyWorkload {
  if (name === 'core-mix') {
    return {
      name,
      description: 'core-mix: ~50% new limits near the touch, ~33% cancels, ~10% IOC/market/FOK, ~5% modifies, ~5,000 resting orders',
      engine: { maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15 },
      setup: (count) => coreMixSetupLength({ seed, count }),
      generate: (s, count) => coreMix({ seed: s, count }),
    };
  }
  const eq = /^equity-(\w+)$/.exec(name);
  if (eq && (REGIMES as string[]).includes(eq[1])) {
    const regime = eq[1] as Regime;
    return {
      name,
      description: `equity flow, ${regime} regime (Poisson arrivals, GBM mid, power-law prices, cancels/modifies by lifetime); the first ${EQUITY_WARMUP} commands are the untimed warm-up`,
      engine: { maxOrders: 1 << 17, maxSymbols: 4, ladderTicks: 1 << 17 },
      setup: (count) => Math.min(count, EQUITY_WARMUP),
      generate: (s, count) => equityFlow({ seed: s, count, regime }),
    };
  }
  if (name === 'multi-symbol') {
    const symbols = 2000;
    return {
      name,
      description: `multi-symbol: ${symbols} symbols, Pareto-skewed activity, each a small core-mix (~50 resting orders per symbol)`,
      engine: { maxOrders: 1 << 18, maxSymbols: 2048, ladderTicks: 1 << 22 },
      setup: (count) => multiSymbolSetupLength({ seed, count, symbols }),
      generate: (s, count) => multiSymbol({ seed: s, count, symbols }),
    };
  }
  throw new RangeError(`unknown workload '${name}'; one of ${WORKLOAD_NAMES.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Clocks

export interface Clock {
  name: 'tsc' | 'performance.now';
  /** Nanoseconds on a monotonic timeline (a double). */
  now: () => number;
  /** How this clock's readings relate to performance.now() (ms): perfMs = (ns - offsetNs) / 1e6. */
  offsetNs: number;
}

/** 'tsc' (the native helper's rdtsc clock, if it loaded), 'performance' (performance.now() x 1e6), or 'auto' (tsc where available). */
export function pickClock(kind: 'auto' | 'tsc' | 'performance' = 'auto'): Clock {
  const nat = native;
  let clock: Clock;
  if (kind !== 'performance' && nat) {
    nat.tscNow(); // first call calibrates (20 ms)
    clock = { name: 'tsc', now: () => nat.tscNow(), offsetNs: 0 };
  } else {
    if (kind === 'tsc') throw new Error('the tsc clock needs the native helper, which did not load');
    clock = { name: 'performance.now', now: () => performance.now() * 1e6, offsetNs: 0 };
  }
  // offset between this clock and performance.now(), from the tightest of a few back-to-back pairs
  let best = Infinity;
  for (let k = 0; k < 200; k++) {
    const a = clock.now();
    const p = performance.now();
    const b = clock.now();
    if (b - a < best) {
      best = b - a;
      clock.offsetNs = (a + b) / 2 - p * 1e6;
    }
  }
  return clock;
}

export interface ClockCost {
  name: string;
  /** Median over 5 rounds of the mean cost of one reading. */
  nsPerRead: number;
  /** The smallest nonzero difference between consecutive readings: resolution or read cost, whichever is larger. */
  minStepNs: number;
}

/** Measures what reading each available clock costs here (median of 5 rounds of `reads`). */
export function measureClockCosts(reads = 200_000): ClockCost[] {
  const out: ClockCost[] = [];
  const sink = new Float64Array(1);
  const candidates: [string, () => number][] = [['performance.now', () => performance.now() * 1e6]];
  const nat = native;
  if (nat) {
    nat.tscNow();
    candidates.push(['tscNow (native rdtsc)', () => nat.tscNow()], ['monotonicNs (native clock_gettime)', () => nat.monotonicNs()]);
  }
  candidates.push(['process.hrtime.bigint', () => Number(process.hrtime.bigint())]);
  for (const [name, f] of candidates) {
    const rounds: number[] = [];
    let minStep = Infinity;
    for (let r = 0; r < 5; r++) {
      let prev = f();
      const a = performance.now();
      for (let i = 0; i < reads; i++) {
        const t = f();
        const d = t - prev;
        if (d > 0 && d < minStep) minStep = d;
        prev = t;
      }
      const b = performance.now();
      sink[0] = prev;
      rounds.push(((b - a) * 1e6) / reads);
    }
    out.push({ name, nsPerRead: median(rounds), minStepNs: minStep });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The open-loop driver (clock and engine step injectable, for the tests)

/** What the driver did, one entry per engine step (run), in preallocated arrays. */
export class BatchLog {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  batches = 0;
  constructor(readonly capacity: number) {
    this.first = new Int32Array(capacity);
    this.count = new Int32Array(capacity);
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
  }
}

/** A calibrated busy wait, so that idle waiting does not read (and allocate) the clock. */
export interface Spinner {
  /** Nanoseconds one iteration of spin() takes (calibrated). */
  nsPerIter: number;
  /** Wake this long before the next planned time (covers a clock read and jitter). */
  marginNs: number;
}

const spinSink = new Int32Array(1);
function spin(iters: number): void {
  let x = spinSink[0];
  for (let k = 0; k < iters; k++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
  spinSink[0] = x;
}

export function calibrateSpinner(now: () => number, marginNs = 1000): Spinner {
  let best = Infinity;
  const iters = 200_000;
  for (let r = 0; r < 7; r++) {
    const a = now();
    spin(iters);
    const b = now();
    best = Math.min(best, (b - a) / iters);
  }
  return { nsPerIter: Math.max(best, 0.05), marginNs };
}

export interface DriveOptions {
  /** Commands to send: 0 .. count-1. */
  count: number;
  /** Commands per second. */
  rate: number;
  /** At most this many commands per step. */
  batch: number;
  /** The clock, in nanoseconds. */
  now: () => number;
  /** Sends commands first .. first+count-1 and returns when the engine has processed them. */
  step: (first: number, count: number) => void;
  /** Where the steps are logged; capacity >= count. */
  log: BatchLog;
  /** Busy-wait instead of reading the clock while nothing is due (default: read the clock). */
  spinner?: Spinner;
}

export interface DriveResult {
  /** Planned time of command 0 (clock ns); command i is planned at t0 + i * intervalNs. */
  t0: number;
  intervalNs: number;
  /** Completion time of the last step. */
  end: number;
  /** Largest number of due-but-unsent commands seen when a step started. */
  maxBacklog: number;
}

/**
 * Sends `count` commands at `rate`, open loop: command i is due at t0 + i / rate whatever happened
 * before; whenever commands are due, up to `batch` of them go to `step` at once. Allocates nothing
 * itself (the clock and the step may).
 */
export function driveOpenLoop(o: DriveOptions): DriveResult {
  const { count, batch, now, step, log } = o;
  if (log.capacity < count) throw new RangeError('BatchLog capacity is smaller than the command count');
  const interval = 1e9 / o.rate;
  const spinNs = o.spinner ? o.spinner.nsPerIter : 0;
  const margin = o.spinner ? o.spinner.marginNs : 0;
  const first = log.first, cnt = log.count, start = log.start, end = log.end;
  let b = 0;
  let i = 0;
  let maxBacklog = 0;
  const t0 = now();
  let t = t0;
  let last = t0;
  while (i < count) {
    let due = Math.floor((t - t0) / interval) + 1; // commands planned at or before t
    if (due <= i) {
      if (spinNs > 0) {
        const wait = t0 + i * interval - t - margin;
        if (wait > 0) spin(Math.floor(wait / spinNs));
      }
      t = now();
      continue;
    }
    if (due > count) due = count;
    if (due - i > maxBacklog) maxBacklog = due - i;
    let n = due - i;
    if (n > batch) n = batch;
    step(i, n);
    last = now();
    first[b] = i;
    cnt[b] = n;
    start[b] = t;
    end[b] = last;
    b++;
    i += n;
    t = last;
  }
  log.batches = b;
  return { t0, intervalNs: interval, end: last, maxBacklog };
}

/** Something latencies can be recorded into (a hdr-histogram-js Histogram fits). */
export interface Recorder {
  recordValue(value: number): void;
  recordValueWithCount(value: number, count: number): void;
}

export const HIGHEST_NS = 10e9;
const clampNs = (ns: number) => (ns < 1 ? 1 : ns > HIGHEST_NS ? HIGHEST_NS : Math.round(ns));

/** Latency of command j (completion of its step - its planned time), for every logged command. */
export function forEachLatency(log: BatchLog, r: DriveResult, f: (command: number, latencyNs: number) => void): void {
  for (let b = 0; b < log.batches; b++) {
    const end = log.end[b];
    for (let j = log.first[b], last = j + log.count[b]; j < last; j++) f(j, end - (r.t0 + j * r.intervalNs));
  }
}

export function recordLatencies(log: BatchLog, r: DriveResult, into: Recorder): void {
  forEachLatency(log, r, (_, ns) => into.recordValue(clampNs(ns)));
}

/** Service time: each step's duration divided by its commands, weighted by its commands. */
export function recordServiceTimes(log: BatchLog, into: Recorder): void {
  for (let b = 0; b < log.batches; b++) {
    const n = log.count[b];
    into.recordValueWithCount(clampNs((log.end[b] - log.start[b]) / n), n);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with bench/hiccups.ts

let hdrReady: Promise<void> | undefined;
/** hdr-histogram-js's Wasm, once per thread. */
export function hdrInit(): Promise<void> {
  return (hdrReady ??= initWebAssembly());
}

/** A 1 ns .. 10 s histogram with 3 significant digits (Wasm-backed: destroy() it). */
export function newLatencyHistogram(): Histogram {
  return buildHistogram({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_NS, numberOfSignificantValueDigits: 3, autoResize: false });
}

let gcFn: (() => void) | undefined;
/** A full GC before a step, so a step does not inherit the previous one's garbage. */
export function collectGarbage(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The stream and the engine factory for one workload, made before any clock. */
export interface PreparedWorkload {
  workload: LatencyWorkload;
  encoded: Uint8Array;
  setup: number;
  /** Commands available after the setup. */
  available: number;
  newEngine(build: CoreBuild, batch: number): Engine;
}

export function prepareWorkload(name: string, seed: number, measured: number, log = true): PreparedWorkload {
  const workload = latencyWorkload(name, seed);
  // the setup length depends only on the seed and the workload (count is an upper bound)
  const setup = workload.setup(Number.MAX_SAFE_INTEGER);
  const total = setup + measured;
  if (log) process.stdout.write(`generating ${name}: ${setup} setup + ${measured} measured commands (seed ${seed}) ... `);
  const t = performance.now();
  const encoded = encodeCommands(workload.generate(seed, total));
  if (log) console.log(`done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return {
    workload,
    encoded,
    setup,
    available: measured,
    newEngine(build, batch) {
      const engine = new Engine({ ...workload.engine, build, batchSize: Math.max(batch, 4096) });
      const cap = engine.commands.capacity;
      for (let k = 0; k < setup; k += cap) {
        engine.commands.append(encoded, k, Math.min(cap, setup - k));
        engine.run();
      }
      return engine;
    },
  };
}

export interface MeasuredStep {
  engine: Engine;
  log: BatchLog;
  drive: DriveResult;
  commands: number;
  gcs: { count: number; totalMs: number };
  /** performance.now() window of the step (ms). */
  fromMs: number;
  toMs: number;
}

/** Runs one open-loop step on a fresh engine (setup untimed) and counts the GCs inside it. */
export async function measureStep(p: PreparedWorkload, o: { build: CoreBuild; rate: number; commands: number; batch: number; clock: Clock; spinner?: Spinner }): Promise<MeasuredStep> {
  const engine = p.newEngine(o.build, o.batch);
  const w = engine.commands;
  const encoded = p.encoded;
  const base = p.setup;
  const step = (first: number, count: number): void => {
    w.append(encoded, base + first, count);
    engine.run();
  };
  const log = new BatchLog(o.commands);
  collectGarbage();
  const gc = new GcCounter();
  gc.start();
  const fromMs = performance.now();
  const drive = driveOpenLoop({ count: o.commands, rate: o.rate, batch: o.batch, now: o.clock.now, step, log, spinner: o.spinner });
  const toMs = performance.now();
  const gcs = await gc.stop(fromMs, toMs);
  return { engine, log, drive, commands: o.commands, gcs, fromMs, toMs };
}

// ---------------------------------------------------------------------------------------------
// bench latency

export interface LatencyOptions {
  workload: string;
  rates: number[] | 'auto';
  seconds: number;
  seed: number;
  batch: number;
  medianLimitNs: number;
  json?: string;
  /** Wasm build (default 'release'). */
  build?: CoreBuild;
  /** Measured commands generated at most (default 2,000,000); fast steps are cut to this. */
  maxCommands?: number;
  /** 'auto' (default): the native tsc clock if it loaded, else performance.now(). */
  clock?: 'auto' | 'tsc' | 'performance';
  /** Busy-wait between planned times instead of reading the clock (default true). */
  spin?: boolean;
  /** Print tables (default true). */
  print?: boolean;
  /** Also drive the peers (SimpleBook, nodejs-order-book) with the same open-loop schedule, after clob's ladder. */
  peers?: boolean;
  /** Write a self-contained HTML report (HDR percentile plot per rate, tables, machine, command). */
  html?: string;
  /** The command line to record in the report (default: rebuilt from these options). */
  command?: string;
}

export interface LatencyStep {
  rate: number;
  commands: number;
  /** From the first planned time to the last completion. */
  seconds: number;
  achievedRate: number;
  latency: PercentileRow;
  service: PercentileRow;
  meanBatch: number;
  maxBacklog: number;
  gcs: number;
  gcMs: number;
  latencyPoints: PercentilePoint[];
  servicePoints: PercentilePoint[];
  latencyHistogram: string;
  serviceHistogram: string;
}

/** One engine's ladder: its steps (rates in order) and why it ended. */
export interface EngineLadder {
  /** 'clob-release', 'simple-book', 'nodejs-order-book' ... */
  engine: string;
  /** What tables and plots call it: 'clob release', 'simple-book' ... */
  label: string;
  steps: LatencyStep[];
  stopped: string;
}

/** peer / clob latency at one rate (both ran it); undefined where either did not. */
export interface LatencyComparison {
  rate: number;
  peers: { engine: string; p50Ratio?: number; p99Ratio?: number }[];
}

export interface LatencyReport {
  bench: 'latency';
  /** The command line that made it. */
  command: string;
  startedAt: string;
  workload: string;
  description: string;
  build: CoreBuild;
  seed: number;
  batch: number;
  medianLimitNs: number;
  clock: { used: string; costs: ClockCost[]; spinner?: Spinner };
  machine: MachineInfo;
  loadAverageEnd: number[];
  /** clob's steps (the engine of the `build`). */
  steps: LatencyStep[];
  /** Why clob's ladder ended. */
  stopped: string;
  /** With --peers: each peer's ladder on the same schedule. */
  peers?: EngineLadder[];
  /** With --peers: peer / clob p50 and p99 per rate. */
  comparison?: LatencyComparison[];
}

export const AUTO_RATES = [250_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000, 64_000_000];

const fmtRate = (r: number) => (r >= 1e6 ? `${+(r / 1e6).toFixed(2)}M` : `${+(r / 1e3).toFixed(1)}k`);

export function formatPercentileTable(title: string, rows: { label: string; row: PercentileRow; extra?: string }[], extraHeader = ''): string {
  const cols = ['50%', '90%', '99%', '99.9%', '99.99%', 'max'];
  const lines = [title, `${'rate'.padEnd(9)}|${cols.map((c) => c.padStart(9)).join(' ')}${extraHeader ? ' | ' + extraHeader : ''}`];
  for (const { label, row, extra } of rows) {
    const v = [row.p50, row.p90, row.p99, row.p999, row.p9999, row.max].map((x) => formatNs(x).padStart(9));
    lines.push(`${label.padEnd(9)}|${v.join(' ')}${extra ? ' | ' + extra : ''}`);
  }
  return lines.join('\n');
}


/** The HDR histograms of one measured step, summarized (the histograms are made and freed here). */
export function summarizeStep(rate: number, commands: number, log: BatchLog, drive: DriveResult, gcs: { count: number; totalMs: number }): LatencyStep {
  const lat = newLatencyHistogram();
  const svc = newLatencyHistogram();
  try {
    recordLatencies(log, drive, lat);
    recordServiceTimes(log, svc);
    const secs = (drive.end - drive.t0) / 1e9;
    return {
      rate,
      commands,
      seconds: secs,
      achievedRate: commands / secs,
      latency: percentileRow(lat),
      service: percentileRow(svc),
      meanBatch: commands / log.batches,
      maxBacklog: drive.maxBacklog,
      gcs: gcs.count,
      gcMs: gcs.totalMs,
      latencyPoints: percentilePoints(lat),
      servicePoints: percentilePoints(svc),
      latencyHistogram: toCompressedBase64(lat),
      serviceHistogram: toCompressedBase64(svc),
    };
  } finally {
    lat.destroy();
    svc.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Peers (--peers): the same open-loop schedule driving SimpleBook and nodejs-order-book

/** What the latency bench needs of a peer: one command at a time (bench/peers/types.ts Peer fits). */
export interface ApplyPeer { apply(cmd: RawCommand): void }

export const LATENCY_PEERS = ['simple-book', 'nodejs-order-book'] as const;
export type LatencyPeerName = (typeof LATENCY_PEERS)[number];

/** A factory of fresh instances of the peer (modules loaded only when asked for). */
export async function peerFactory(name: LatencyPeerName): Promise<() => ApplyPeer> {
  if (name === 'simple-book') {
    const { SimpleBook } = await import('./peers/simple-book.js');
    return () => new SimpleBook();
  }
  const { NodejsOrderBookPeer } = await import('./peers/nodejs-order-book.js');
  return () => new NodejsOrderBookPeer();
}

/**
 * The encoded stream as RawCommand objects (what the peers take), decoded before any clock and
 * only as far as a step needs: `upTo(n)` returns an array holding at least records 0 .. n-1.
 */
export function lazyDecoder(encoded: Uint8Array): { upTo(n: number): readonly RawCommand[] } {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const total = Math.floor(encoded.byteLength / CMD_SIZE);
  const cmds: RawCommand[] = [];
  return {
    upTo(n: number) {
      if (n > total) throw new RangeError(`the stream holds ${total} commands; ${n} asked for`);
      for (let i = cmds.length; i < n; i++) cmds.push(readCommand(view, i * CMD_SIZE));
      return cmds;
    },
  };
}

export interface PeerStepOptions {
  makePeer: () => ApplyPeer;
  /** Setup prefix then the measured commands: cmds.length >= setup + commands. */
  cmds: readonly RawCommand[];
  setup: number;
  rate: number;
  commands: number;
  batch: number;
  now: () => number;
  spinner?: Spinner;
}

/**
 * One open-loop step on a fresh peer: the setup prefix applied untimed, then commands
 * setup .. setup+commands-1 driven by driveOpenLoop exactly as clob's are (same planned times,
 * same batching of due commands, latency = completion - planned time); a step applies each due
 * command in turn.
 */
export async function measurePeerStep(o: PeerStepOptions): Promise<{ log: BatchLog; drive: DriveResult; gcs: { count: number; totalMs: number } }> {
  const { cmds, setup } = o;
  if (cmds.length < setup + o.commands) throw new RangeError(`${cmds.length} commands decoded; the step needs ${setup + o.commands}`);
  const peer = o.makePeer();
  for (let k = 0; k < setup; k++) peer.apply(cmds[k]);
  const step = (first: number, count: number): void => {
    for (let k = setup + first, e = k + count; k < e; k++) peer.apply(cmds[k]);
  };
  const log = new BatchLog(o.commands);
  collectGarbage();
  const gc = new GcCounter();
  gc.start();
  const fromMs = performance.now();
  const drive = driveOpenLoop({ count: o.commands, rate: o.rate, batch: o.batch, now: o.now, step, log, spinner: o.spinner });
  const toMs = performance.now();
  const gcs = await gc.stop(fromMs, toMs);
  return { log, drive, gcs };
}

export interface PeerLadderOptions {
  engine: string;
  label?: string;
  makePeer: () => ApplyPeer;
  /** Decoded commands: upTo(setup + n) before a step of n commands (see lazyDecoder). */
  commands: (n: number) => readonly RawCommand[];
  setup: number;
  /** Measured commands available after the setup. */
  available: number;
  /** Ascending. */
  rates: number[];
  seconds: number;
  batch: number;
  medianLimitNs: number;
  now: () => number;
  spinner?: Spinner;
  /** JIT warm-up on a throwaway peer before the first step (default true). */
  warmup?: boolean;
  say?: (s: string) => void;
}

/** A peer's rate ladder: the rates in order until its median passes the limit. */
export async function runPeerLadder(o: PeerLadderOptions): Promise<EngineLadder> {
  const say = o.say ?? (() => {});
  const label = o.label ?? o.engine;
  const stepCommands = (rate: number) => Math.min(o.available, Math.round(rate * o.seconds));
  const base = { makePeer: o.makePeer, setup: o.setup, batch: o.batch, now: o.now, spinner: o.spinner };
  if (o.warmup ?? true) {
    const n = Math.max(1, Math.min(o.available, Math.ceil(o.rates[0] * 0.2)));
    await measurePeerStep({ ...base, cmds: o.commands(o.setup + n), rate: o.rates[0], commands: n });
  }
  const steps: LatencyStep[] = [];
  let stopped = 'all rates ran';
  for (const rate of o.rates) {
    const n = stepCommands(rate);
    const m = await measurePeerStep({ ...base, cmds: o.commands(o.setup + n), rate, commands: n });
    const s = summarizeStep(rate, n, m.log, m.drive, m.gcs);
    steps.push(s);
    say(`  ${label} ${fmtRate(rate)}/s: ${n} commands in ${s.seconds.toFixed(2)} s, median latency ${formatNs(s.latency.p50)}, in-core ${formatNs(s.service.p50)}/command, ${s.meanBatch.toFixed(1)} commands/step, GCs ${s.gcs}`);
    if (s.latency.p50 > o.medianLimitNs) {
      stopped = `median latency ${formatNs(s.latency.p50)} passed the limit ${formatNs(o.medianLimitNs)} at ${fmtRate(rate)}/s`;
      if (rate !== o.rates[o.rates.length - 1]) say(`  ${label}: ${stopped}; no higher rates for ${label} (the other engines keep stepping)`);
      break;
    }
  }
  return { engine: o.engine, label, steps, stopped };
}

/** peer / clob p50 and p99 at every rate of either ladder (a ratio only where both ran the rate). */
export function compareLadders(clob: LatencyStep[], peers: EngineLadder[]): LatencyComparison[] {
  const rates = [...new Set([...clob, ...peers.flatMap((p) => p.steps)].map((s) => s.rate))].sort((a, b) => a - b);
  return rates.map((rate) => {
    const c = clob.find((s) => s.rate === rate);
    return {
      rate,
      peers: peers.map((p) => {
        const s = p.steps.find((x) => x.rate === rate);
        return { engine: p.engine, p50Ratio: c && s ? s.latency.p50 / c.latency.p50 : undefined, p99Ratio: c && s ? s.latency.p99 / c.latency.p99 : undefined };
      }),
    };
  });
}

/** The console table of compareLadders. */
export function formatComparisonTable(clobLabel: string, peers: EngineLadder[], rows: LatencyComparison[]): string {
  const r = (x?: number) => (x === undefined ? '-' : `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`);
  const head = peers.map((p) => `${`${p.label} p50`.padStart(Math.max(10, p.label.length + 4))} ${`p99`.padStart(8)}`);
  const lines = [`peer / ${clobLabel} latency at the same offered rate (> 1: the peer is slower; '-': an engine did not run that rate):`, `${'rate'.padEnd(9)}| ${head.join(' | ')}`];
  for (const row of rows) {
    lines.push(`${fmtRate(row.rate).padEnd(9)}| ${row.peers.map((x, i) => `${r(x.p50Ratio).padStart(Math.max(10, peers[i].label.length + 4))} ${r(x.p99Ratio).padStart(8)}`).join(' | ')}`);
  }
  return lines.join('\n');
}

const stepExtra = (s: LatencyStep) => `${s.seconds.toFixed(2)}s ${String(s.gcs).padStart(4)} ${(s.achievedRate / 1e6).toFixed(2)}M/s`;

/** The command line, rebuilt from options (when the caller did not pass the real one). */
function commandFor(o: LatencyOptions): string {
  const rates = o.rates === 'auto' ? 'auto' : o.rates.join(',');
  return `clob bench latency --workload ${o.workload} --rates ${rates} --seconds ${o.seconds} --median-limit-ns ${o.medianLimitNs} --batch ${o.batch} --seed ${o.seed} --build ${o.build ?? 'release'}` +
    `${o.peers ? ' --peers' : ''}${o.json ? ` --json ${o.json}` : ''}${o.html ? ` --html ${o.html}` : ''}`;
}

export async function runLatency(opts: LatencyOptions): Promise<LatencyReport> {
  const { workload, seconds, seed, batch, medianLimitNs, json } = opts;
  const build = opts.build ?? 'release';
  const print = opts.print ?? true;
  const say = (s: string) => { if (print) console.log(s); };
  const rates = opts.rates === 'auto' ? AUTO_RATES : [...opts.rates].sort((a, b) => a - b);
  if (rates.length === 0 || rates.some((r) => !(r > 0))) throw new RangeError('rates must be positive numbers');
  if (!(seconds > 0)) throw new RangeError('seconds must be positive');
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError('batch must be a positive integer');
  const maxCommands = opts.maxCommands ?? 2_000_000;
  const peersOn = opts.peers ?? false;
  const command = opts.command ?? commandFor(opts);
  const startedAt = new Date().toISOString();
  await hdrInit();

  const machine = machineInfo();
  say(`machine: ${describeMachine(machine)}`);
  say(`command: ${command}`);
  const costs = measureClockCosts();
  const clock = pickClock(opts.clock ?? 'auto');
  const spinner = opts.spin === false ? undefined : calibrateSpinner(clock.now);
  say(`clock: ${clock.name}; cost per reading here (median of 5): ${costs.map((c) => `${c.name} ${c.nsPerRead.toFixed(1)} ns`).join(', ')}`);
  say(`  timing resolution: each reading costs the above and the driver reads once per engine step, so a latency is good to about one reading (${costs.find((c) => c.name.startsWith(clock.name === 'tsc' ? 'tsc' : 'performance'))?.nsPerRead.toFixed(0)} ns) plus the step it shares`);
  say(`  idle wait: ${spinner ? `calibrated busy loop (${spinner.nsPerIter.toFixed(2)} ns/iteration, wakes ${spinner.marginNs} ns early)` : 'clock polling'}`);

  const needed = Math.min(maxCommands, Math.ceil(Math.max(...(opts.rates === 'auto' ? [rates[0] * 8] : rates)) * seconds));
  const prepared = prepareWorkload(workload, seed, needed, print);
  say(prepared.workload.description);

  // JIT warm-up on a throwaway engine: the driver, append and run get optimized before any step counts.
  await measureStep(prepared, { build, rate: rates[0], commands: Math.min(prepared.available, Math.ceil(rates[0] * 0.2)), batch, clock, spinner });

  const steps: LatencyStep[] = [];
  let stopped = 'all rates ran';
  for (const rate of rates) {
    const commands = Math.min(prepared.available, Math.round(rate * seconds));
    const m = await measureStep(prepared, { build, rate, commands, batch, clock, spinner });
    const s = summarizeStep(rate, commands, m.log, m.drive, m.gcs);
    const secs = s.seconds;
    steps.push(s);
    say(`  ${peersOn ? `clob ${build} ` : ''}${fmtRate(rate)}/s: ${commands} commands in ${secs.toFixed(2)} s, median latency ${formatNs(s.latency.p50)}, in-core ${formatNs(s.service.p50)}/command, ${s.meanBatch.toFixed(1)} commands/run, GCs ${s.gcs}`);
    if (s.latency.p50 > medianLimitNs) {
      stopped = `median latency ${formatNs(s.latency.p50)} passed the limit ${formatNs(medianLimitNs)} at ${fmtRate(rate)}/s`;
      break;
    }
  }
  if (opts.rates === 'auto' && stopped === 'all rates ran') stopped = `the median stayed under ${formatNs(medianLimitNs)} up to ${fmtRate(rates[rates.length - 1])}/s`;

  // The peers run after clob's whole ladder, so clob's steps are measured exactly as without --peers.
  let peers: EngineLadder[] | undefined;
  if (peersOn) {
    say(`peers: the same stream, planned send times and rates; each due command is one apply() of a RawCommand decoded before the clock; ${formatNs(medianLimitNs)} median limit per engine`);
    const decoder = lazyDecoder(prepared.encoded);
    peers = [];
    for (const name of LATENCY_PEERS) {
      peers.push(await runPeerLadder({
        engine: name, label: name, makePeer: await peerFactory(name), commands: (n) => decoder.upTo(n), setup: prepared.setup, available: prepared.available,
        rates, seconds, batch, medianLimitNs, now: clock.now, spinner, say,
      }));
    }
  }

  const end = machineInfo();
  say('');
  say(formatPercentileTable(
    `latency (completion - planned send time, open loop), ${workload}, ${peersOn ? `clob ${build}` : `${build} build`}, batch <= ${batch}, clock ${clock.name}:`,
    steps.map((s) => ({ label: fmtRate(s.rate), row: s.latency, extra: stepExtra(s) })),
    'time GCs achieved',
  ));
  say('');
  say(formatPercentileTable(
    'in-core time per command (append + run() per step / its commands, weighted by commands):',
    steps.map((s) => ({ label: fmtRate(s.rate), row: s.service, extra: `${s.meanBatch.toFixed(1).padStart(7)} ${String(s.maxBacklog).padStart(7)}` })),
    'cmds/run backlog',
  ));
  let comparison: LatencyComparison[] | undefined;
  if (peers) {
    for (const p of peers) {
      say('');
      say(formatPercentileTable(
        `latency, ${p.label} (same schedule; completion - planned send time):`,
        p.steps.map((s) => ({ label: fmtRate(s.rate), row: s.latency, extra: `${stepExtra(s)} ${formatNs(s.service.p50).padStart(8)}` })),
        'time GCs achieved in-core p50',
      ));
    }
    comparison = compareLadders(steps, peers);
    say('');
    say(formatComparisonTable(`clob ${build}`, peers, comparison));
  }
  say(`stopped: ${peers ? `clob ${build}: ` : ''}${stopped}`);
  for (const p of peers ?? []) say(`stopped: ${p.label}: ${p.stopped}`);
  say(`load average at end: ${end.loadAverage.join(' ')}`);

  const report: LatencyReport = {
    bench: 'latency', command, startedAt, workload, description: prepared.workload.description, build, seed, batch, medianLimitNs,
    clock: { used: clock.name, costs, spinner }, machine, loadAverageEnd: end.loadAverage, steps, stopped,
    ...(peers ? { peers, comparison } : {}),
  };
  if (json) {
    writeFileSync(json, JSON.stringify(report, null, 2));
    say(`wrote ${json}`);
  }
  if (opts.html) {
    const { writeLatencyHtml } = await import('./latency-report.js');
    writeLatencyHtml(report, opts.html);
    say(`wrote ${opts.html}`);
  }
  return report;
}

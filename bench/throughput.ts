// bench:throughput: commands per second of clob (release and scalar Wasm builds, the batch path
// of bench/core.ts) beside the comparison peers (bench/peers: SimpleBook, the straightforward
// TypeScript book, and the npm package nodejs-order-book through its adapter), on the same
// command streams: core-mix, equity-flow in each of its five regimes, multi-symbol.
//
// How a workload is measured:
// - The stream is generated and encoded (64-byte records, written to a temporary file) before any
//   clock starts: a setup prefix (ADD_SYMBOL + warm-up orders) and then `count` measured commands.
// - Every (engine, run) is a fresh child process (bench/throughput-runner.ts) so that peak RSS,
//   heap, JIT and GC are each engine's own. Each child warms its engine up on a throwaway
//   instance, applies the setup prefix untimed, then times the measured commands.
// - Runs alternate the engine order (forward, then reversed) so that all engines see the same
//   machine; figures are medians over runs with [min..max].
// - The peers are 30-100x slower, so they run only the first `peerCount` measured commands of the
//   SAME stream. clob then runs its measured commands as two batches, [0, peerCount) and the rest,
//   and its book and time after the first batch give the same-commands comparison: the clob/peer
//   ratios and the book check are on those peerCount commands.
// - Book check: every engine, every run, must end (at each common point) with the same book for
//   every symbol: best bid and ask, resting quantity, order and level count per side; the clob
//   builds must also agree on the state digest. A disagreement throws BookMismatchError after the
//   results are written (the CLI exits 1): a throughput figure of an engine that did something
//   else is worthless.
// - The headline is clob release on the WORST equity-flow regime (lowest median commands/s).
//
//   clob bench throughput [--workload core-mix equity-flow:crash ...] [--count 1000000]
//     [--peer-count 100000] [--runs 5] [--seed 42] [--no-peers] [--json f] [--html f] [--baseline f]
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as L from '../assembly/layout.js';
import { readCommand, writeCommand, type RawCommand } from '../src/records.js';
import { coreMix, coreMixSetupLength } from './workloads/core-mix.js';
import { equityFlow, type Regime } from './workloads/equity-flow.js';
import { multiSymbol, multiSymbolSetupLength } from './workloads/multi-symbol.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine, type MachineInfo } from './machine.js';
import {
  CLOB_ENGINES, PEER_ENGINES, type BookState, type EngineName, type EngineSizing, type Job, type JobResult,
} from './throughput-runner.js';
import type { BaselineComparison } from './baseline.js';

export type { EngineName } from './throughput-runner.js';

export const REGIMES: Regime[] = ['fixed', 'normal', 'volatile', 'stressed', 'crash'];
export const WORKLOADS = ['core-mix', ...REGIMES.map((r) => `equity-flow:${r}`), 'multi-symbol'] as const;
export const ENGINE_LABELS: Record<EngineName, string> = {
  'clob-release': 'clob release', 'clob-scalar': 'clob scalar', 'simple-book': 'simple-book', 'nodejs-order-book': 'nodejs-order-book',
};
export const DEFAULTS = { count: 1_000_000, peerCount: 100_000, runs: 5, seed: 42 } as const;

export interface ThroughputOptions {
  /** Workload names (WORKLOADS), or 'all', or 'equity-flow' for its five regimes. */
  workloads: string[];
  /** Measured commands per clob run (after the setup prefix). */
  count: number;
  runs: number;
  seed: number;
  peers: boolean;
  /** Measured commands per peer run: the first peerCount of clob's (default min(count, 100,000)). */
  peerCount?: number;
  json?: string;
  html?: string;
  baseline?: string;
  quiet?: boolean;
  /** TESTING ONLY: this engine gets a stream whose last peer-visible command is replaced by a different order. */
  perturb?: EngineName;
}

/** One engine on one workload over one command range: a row of the table. */
export interface ThroughputRow {
  workload: string;
  engine: EngineName;
  /** 'full': clob's whole measured range; 'peer-size': the first peerCount commands (peers, and clob's first batch). */
  range: 'full' | 'peer-size';
  commands: number;
  rates: number[];
  medianCommandsPerSec: number;
  minCommandsPerSec: number;
  maxCommandsPerSec: number;
  medianNsPerCommand: number;
  /** clob only: events per command. */
  eventsPerCommand?: number;
  /** GCs inside the timed window, per run. */
  gcs: number[];
  /** Peak RSS of the engine's process per run (bytes); absent for clob's peer-size rows (same process as its full row). */
  peakRssBytes?: number[];
  medianPeakRssBytes?: number;
  /** Median peak RSS with the input loaded, before any engine instance (bytes). */
  medianInputRssBytes?: number;
  /** clob only: its Wasm memory (bytes), all resident (pre-faulted before the clock). */
  wasmMemoryBytes?: number;
}

export interface BookCheckPoint { at: number; engines: EngineName[]; runs: number; symbols: number; agree: boolean; digestsAgree: boolean; mismatch?: string }

export interface WorkloadReport {
  workload: string;
  setup: number;
  count: number;
  peerCount: number;
  symbols: number;
  sizing: EngineSizing;
  generateSeconds: number;
  rows: ThroughputRow[];
  /** Median clob commands/s over median peer commands/s, on the same peer-size commands. */
  ratios: { peer: EngineName; release: number; scalar: number }[];
  bookCheck: BookCheckPoint[];
}

export interface ThroughputReport {
  bench: 'throughput';
  command: string;
  seed: number;
  count: number;
  peerCount: number;
  runs: number;
  peers: boolean;
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  loadAverageEnd: number[];
  workloads: WorkloadReport[];
  headline?: { workload: string; medianCommandsPerSec: number; minCommandsPerSec: number; maxCommandsPerSec: number; vsPeers: { peer: EngineName; ratio: number }[] };
  booksAgree: boolean;
  baseline?: BaselineComparison;
  notes: string[];
}

export class BookMismatchError extends Error {
  constructor(message: string, readonly report: ThroughputReport) {
    super(message);
    this.name = 'BookMismatchError';
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const fmtInt = (n: number) => n.toLocaleString('en-US');
export const fmtRate = (r: number) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : `${(r / 1e3).toFixed(1)}k`);

/** Expands 'all' and 'equity-flow'; throws on an unknown name. */
export function expandWorkloads(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names.length ? names : ['all']) {
    const add = n === 'all' ? [...WORKLOADS] : n === 'equity-flow' ? WORKLOADS.filter((w) => w.startsWith('equity-flow:')) : [n];
    for (const w of add) {
      if (!(WORKLOADS as readonly string[]).includes(w)) throw new RangeError(`unknown workload '${n}': expected all, equity-flow or one of ${WORKLOADS.join(', ')}`);
      if (!out.includes(w)) out.push(w);
    }
  }
  return out;
}

export interface GeneratedWorkload { commands: RawCommand[]; setup: number; symbols: number[]; sizing: EngineSizing }

/** The stream: `setup` prefix commands, then `count` measured ones; and the engine sizing it needs. */
export function generateWorkload(name: string, seed: number, count: number): GeneratedWorkload {
  let commands: RawCommand[];
  let setup: number;
  if (name === 'core-mix') {
    setup = coreMixSetupLength({ seed, count: count + 1 });
    commands = coreMix({ seed, count: setup + count });
  } else if (name === 'multi-symbol') {
    setup = multiSymbolSetupLength({ seed, count: Number.MAX_SAFE_INTEGER });
    commands = multiSymbol({ seed, count: setup + count });
  } else if (name.startsWith('equity-flow:')) {
    commands = equityFlow({ seed, count: 1 + count, regime: name.slice('equity-flow:'.length) as Regime });
    setup = 1;
  } else {
    throw new RangeError(`unknown workload ${name}`);
  }
  const symbols: number[] = [];
  let ladder = 0;
  for (const c of commands.slice(0, setup)) {
    if (c.type !== L.CMD_ADD_SYMBOL) continue;
    symbols.push(c.symbol);
    ladder += Number((c.clientOrderId - c.quantity) / c.orderId) + 1; // (bandMax - bandMin) / tick + 1
  }
  // core-mix gets bench/core.ts's sizing; the others as much as their setup needs, doubled.
  const sizing: EngineSizing = {
    maxOrders: Math.max(1 << 16, pow2(2 * setup)),
    maxSymbols: Math.max(4, ...symbols),
    ladderTicks: Math.max(1 << 15, pow2(ladder)),
  };
  return { commands, setup, symbols, sizing };
}

/** A copy of the stream whose record `index` is a large resting buy at the band floor with a fresh id. */
function perturbed(encoded: Uint8Array, index: number): Uint8Array {
  const bytes = encoded.slice();
  const view = new DataView(bytes.buffer);
  const first = readCommand(view, 0); // ADD_SYMBOL: tick in orderId, lot in price, bandMin in quantity
  const old = readCommand(view, index * L.CMD_SIZE);
  writeCommand(view, index * L.CMD_SIZE, {
    ...old, type: L.CMD_NEW, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, flags: 0, stp: L.STP_NONE,
    symbol: first.symbol, account: 1, orderId: 1n << 40n, clientOrderId: 1n << 40n, price: first.quantity, quantity: first.price * 7919n,
  });
  return bytes;
}

function runnerPath(): string {
  const self = fileURLToPath(import.meta.url);
  return self.replace(/throughput\.(ts|js)$/, 'throughput-runner.$1');
}

/**
 * The child's node flags: only the parent's module loaders (tsx) and a few harmless flags are
 * passed on. Never -e/-p and their script: the child would run the parent's script again.
 */
export function childExecArgv(runner: string, parent: string[] = process.execArgv): string[] {
  const args: string[] = [];
  const withValue = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i];
    if (withValue.has(a) && i + 1 < parent.length) args.push(a, parent[++i]);
    else if (/^--(import|require|loader|experimental-loader|conditions)=/.test(a)) args.push(a);
    else if (/^--(max-old-space-size|max-semi-space-size|stack-size)=/.test(a) || a === '--no-warnings' || a === '--enable-source-maps') args.push(a);
  }
  if (runner.endsWith('.ts') && !args.some((a) => a.includes('tsx'))) args.push('--import', 'tsx');
  return [...args, '--expose-gc'];
}

/** Runs one job in a fresh child process. */
export function runInChild(job: Job): Promise<JobResult> {
  const runner = runnerPath();
  return new Promise((resolve, reject) => {
    const child = fork(runner, [], {
      execArgv: childExecArgv(runner),
      env: { ...process.env, CLOB_THROUGHPUT_RUNNER: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer: { ok: boolean; result?: JobResult; error?: string } | undefined;
    // a generous limit (0.2 ms per command on top of two minutes), so a hung child cannot stall the bench
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000 + (job.setup + job.measured) * 0.2);
    child.on('message', (m) => { answer = m as typeof answer; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answer?.ok && answer.result) resolve(answer.result);
      else reject(new Error(`${job.engine} runner failed (exit ${code ?? signal}): ${answer?.error ?? 'no answer'}`));
    });
    child.send(job);
  });
}

function describeBook(b: BookState, symbol: number): string {
  const s = b.symbols.find((x) => x.symbol === symbol);
  if (!s) return 'absent';
  const side = (x: typeof s.bid) => `best ${x.best ?? '-'} qty ${x.qty} orders ${x.orders} levels ${x.levels}`;
  return `bid [${side(s.bid)}] ask [${side(s.ask)}]`;
}

/** The first symbol on which two book states differ, described, or undefined when they agree. */
export function compareBooks(a: BookState, b: BookState): string | undefined {
  if (a.symbols.length !== b.symbols.length) return `${a.symbols.length} vs ${b.symbols.length} symbols`;
  for (let i = 0; i < a.symbols.length; i++) {
    const x = a.symbols[i], y = b.symbols[i];
    if (JSON.stringify(x) !== JSON.stringify(y)) return `symbol ${x.symbol}: ${describeBook(a, x.symbol)} vs ${describeBook(b, y.symbol)}`;
  }
  return undefined;
}

export interface EngineBook { engine: EngineName; run: number; book: BookState }

/** Checks that all the given states (same `at`) agree; digests too, among those that have one. */
export function checkBooks(at: number, states: EngineBook[]): BookCheckPoint {
  const ref = states[0];
  let mismatch: string | undefined;
  for (const s of states.slice(1)) {
    const diff = compareBooks(ref.book, s.book);
    if (diff) { mismatch = `after ${fmtInt(at)} measured commands, ${ENGINE_LABELS[ref.engine]} (run ${ref.run + 1}) and ${ENGINE_LABELS[s.engine]} (run ${s.run + 1}) differ: ${diff}`; break; }
  }
  const digests = new Set(states.filter((s) => s.book.digest !== undefined).map((s) => s.book.digest));
  if (!mismatch && digests.size > 1) mismatch = `after ${fmtInt(at)} measured commands, the clob state digests differ: ${[...digests].join(', ')}`;
  return {
    at, engines: [...new Set(states.map((s) => s.engine))], runs: Math.max(...states.map((s) => s.run)) + 1,
    symbols: ref.book.symbols.length, agree: !mismatch, digestsAgree: digests.size <= 1, mismatch,
  };
}

function row(workload: string, engine: EngineName, range: ThroughputRow['range'], commands: number,
  runs: { seconds: number; events: number; gcs: number; rss?: number; inputRss?: number; wasm?: number }[]): ThroughputRow {
  const rates = runs.map((r) => commands / r.seconds);
  const m = median(rates);
  const rss = runs.every((r) => r.rss !== undefined) ? runs.map((r) => r.rss!) : undefined;
  return {
    workload, engine, range, commands, rates,
    medianCommandsPerSec: m, minCommandsPerSec: Math.min(...rates), maxCommandsPerSec: Math.max(...rates),
    medianNsPerCommand: 1e9 / m,
    eventsPerCommand: engine.startsWith('clob') ? runs[0].events / commands : undefined,
    gcs: runs.map((r) => r.gcs),
    peakRssBytes: rss, medianPeakRssBytes: rss ? median(rss) : undefined,
    medianInputRssBytes: rss ? median(runs.map((r) => r.inputRss!)) : undefined,
    wasmMemoryBytes: runs[0].wasm,
  };
}

class Progress {
  private readonly tty: boolean;
  private last = '';
  constructor(private readonly quiet: boolean) { this.tty = !quiet && process.stderr.isTTY === true; }
  update(line: string): void {
    if (!this.tty) return;
    const width = process.stderr.columns ?? 100;
    const text = line.length >= width ? line.slice(0, width - 1) : line;
    process.stderr.write(`\r${text.padEnd(Math.min(width - 1, Math.max(text.length, this.last.length)))}`);
    this.last = text;
  }
  done(line?: string): void {
    if (this.quiet) return;
    if (this.tty && this.last) process.stderr.write(`\r${' '.repeat(Math.min((process.stderr.columns ?? 100) - 1, this.last.length))}\r`);
    this.last = '';
    if (line) process.stderr.write(`${line}\n`);
  }
}

export async function runThroughput(opts: ThroughputOptions): Promise<ThroughputReport> {
  if (process.env.CLOB_THROUGHPUT_RUNNER === '1') throw new Error('runThroughput() called inside a runner child process (it would fork itself)');
  const t0 = performance.now();
  const workloads = expandWorkloads(opts.workloads);
  const { count, runs, seed, peers } = opts;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer; got ${count}`);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`runs must be a positive integer; got ${runs}`);
  const peerCount = Math.min(count, opts.peerCount ?? DEFAULTS.peerCount);
  const say = opts.quiet ? () => {} : (s: string) => console.log(s);
  const progress = new Progress(!!opts.quiet);
  const machine = machineInfo();
  const command = `clob bench throughput --workload ${workloads.join(' ')} --count ${count}${peers ? ` --peer-count ${peerCount}` : ' --no-peers'} --runs ${runs} --seed ${seed}`;
  say(`machine: ${describeMachine(machine)}`);
  say(`command: ${command}`);
  const notes = [
    `Each (engine, run) ran in a fresh child process; runs alternate the engine order. Figures are medians [min..max] over ${runs} run(s).`,
    'Peak RSS is the whole child process (Node itself included) and includes the engine\'s input: clob\'s command region (64 bytes per command), the peers\' decoded command objects. ' +
      'clob\'s Wasm memory is pre-faulted before the clock (a fresh engine\'s first-touch page faults are not steady state), so its RSS counts all of it, used or not.',
  ];
  if (peers && peerCount < count) {
    notes.push(`The peers ran the first ${fmtInt(peerCount)} measured commands of the same stream (clob: ${fmtInt(count)}); clob ran its commands as two batches, and its time and book after the first ${fmtInt(peerCount)} give the clob/peer ratios and the book check.`);
  }
  for (const n of notes.slice(2)) say(`note: ${n}`);

  const engines: EngineName[] = [...CLOB_ENGINES, ...(peers ? PEER_ENGINES : [])];
  const dir = mkdtempSync(join(tmpdir(), 'clob-throughput-'));
  const reports: WorkloadReport[] = [];
  try {
    for (const [wi, workload] of workloads.entries()) {
      const tag = `[${wi + 1}/${workloads.length} ${workload}]`;
      progress.update(`${tag} generating ${fmtInt(count)} commands ...`);
      const g0 = performance.now();
      const gen = generateWorkload(workload, seed, count);
      const encoded = encodeCommands(gen.commands);
      const generateSeconds = (performance.now() - g0) / 1000;
      const { setup, symbols, sizing } = gen;
      gen.commands.length = 0;
      const file = join(dir, `${wi}.cmd`);
      writeFileSync(file, encoded);
      const peerMeasured = peers ? peerCount : count;
      let perturbFile: string | undefined;
      if (opts.perturb) {
        perturbFile = join(dir, `${wi}-perturbed.cmd`);
        writeFileSync(perturbFile, perturbed(encoded, setup + peerMeasured - 1));
      }
      const split = peers && peerCount < count ? peerCount : undefined;
      const warmup = Math.min(setup + count, setup + 20_000);

      const results = new Map<EngineName, JobResult[]>(engines.map((e) => [e, []]));
      for (let r = 0; r < runs; r++) {
        for (const engine of r % 2 === 0 ? engines : [...engines].reverse()) {
          const clob = engine.startsWith('clob');
          const measured = clob ? count : peerCount;
          progress.update(`${tag} run ${r + 1}/${runs}: ${ENGINE_LABELS[engine]}, ${fmtInt(measured)} commands ...`);
          const result = await runInChild({
            engine, file: opts.perturb === engine ? perturbFile! : file, setup, measured, split: clob ? split : undefined,
            warmup: Math.min(warmup, setup + measured), symbols, sizing,
          });
          results.get(engine)!.push(result);
        }
      }

      // rows
      const rows: ThroughputRow[] = [];
      for (const engine of engines) {
        const rs = results.get(engine)!;
        const clob = engine.startsWith('clob');
        rows.push(row(workload, engine, clob ? 'full' : 'peer-size', clob ? count : peerCount, rs.map((j) => ({
          seconds: j.segments.reduce((s, x) => s + x.seconds, 0), events: j.segments.reduce((s, x) => s + x.events, 0),
          gcs: j.segments.reduce((s, x) => s + x.gcs, 0), rss: j.maxRssBytes, inputRss: j.inputRssBytes, wasm: j.wasmMemoryBytes,
        }))));
      }
      if (split !== undefined) {
        for (const engine of CLOB_ENGINES) {
          rows.push(row(workload, engine, 'peer-size', split, results.get(engine)!.map((j) => ({ seconds: j.segments[0].seconds, events: j.segments[0].events, gcs: j.segments[0].gcs }))));
        }
      }
      // the same-commands rate: clob's first batch, or its whole run when the peers ran as many commands
      const sameCommands = (e: EngineName) => (rows.find((x) => x.engine === e && x.range === 'peer-size') ?? rows.find((x) => x.engine === e))!.medianCommandsPerSec;
      const ratios = peers ? PEER_ENGINES.map((peer) => ({
        peer,
        release: sameCommands('clob-release') / sameCommands(peer),
        scalar: sameCommands('clob-scalar') / sameCommands(peer),
      })) : [];

      // book check at each point that several engines (or runs) reached
      const points = new Map<number, EngineBook[]>();
      for (const engine of engines) {
        results.get(engine)!.forEach((j, run) => {
          for (const book of j.books) {
            if (!points.has(book.at)) points.set(book.at, []);
            points.get(book.at)!.push({ engine, run, book });
          }
        });
      }
      const bookCheck = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([p, states]) => checkBooks(p, states));
      reports.push({ workload, setup, count, peerCount: peers ? peerCount : 0, symbols: symbols.length, sizing, generateSeconds, rows, ratios, bookCheck });
      const rel = rows.find((x) => x.engine === 'clob-release' && x.range === 'full')!;
      progress.done(opts.quiet ? undefined : `${tag} clob release ${fmtRate(rel.medianCommandsPerSec)} commands/s; books ${bookCheck.every((b) => b.agree) ? 'agree' : 'DISAGREE'}`);
    }
  } finally {
    progress.done();
    rmSync(dir, { recursive: true, force: true });
  }

  const equity = reports.filter((w) => w.workload.startsWith('equity-flow:'))
    .map((w) => ({ w, r: w.rows.find((x) => x.engine === 'clob-release' && x.range === 'full')! }))
    .sort((a, b) => a.r.medianCommandsPerSec - b.r.medianCommandsPerSec);
  const worst = equity[0];
  const report: ThroughputReport = {
    bench: 'throughput', command, seed, count, peerCount: peers ? peerCount : 0, runs, peers,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(), seconds: 0, machine, loadAverageEnd: [],
    workloads: reports,
    headline: worst ? {
      workload: worst.w.workload, medianCommandsPerSec: worst.r.medianCommandsPerSec,
      minCommandsPerSec: worst.r.minCommandsPerSec, maxCommandsPerSec: worst.r.maxCommandsPerSec,
      vsPeers: worst.w.ratios.map((x) => ({ peer: x.peer, ratio: x.release })),
    } : undefined,
    booksAgree: reports.every((w) => w.bookCheck.every((b) => b.agree)),
    notes,
  };
  report.loadAverageEnd = machineInfo().loadAverage;
  report.seconds = (performance.now() - t0) / 1000;

  if (opts.baseline) {
    const { compareWithBaseline, formatBaselineTable } = await import('./baseline.js');
    report.baseline = compareWithBaseline(report, opts.baseline);
    if (!opts.quiet) console.log(`\n${formatBaselineTable(report.baseline)}`);
  }
  if (!opts.quiet) console.log(`\n${formatThroughputTable(report)}`);
  if (opts.json || opts.html) {
    const { writeJsonReport, writeHtmlReport } = await import('./report.js');
    if (opts.json) { writeJsonReport(report, opts.json); say(`wrote ${opts.json}`); }
    if (opts.html) { writeHtmlReport(report, opts.html); say(`wrote ${opts.html}`); }
  }
  if (!report.booksAgree) {
    const bad = report.workloads.flatMap((w) => w.bookCheck.filter((b) => !b.agree).map((b) => `${w.workload}: ${b.mismatch}`));
    throw new BookMismatchError(`the engines do not end with the same book, so their figures are not comparable:\n  ${bad.join('\n  ')}`, report);
  }
  return report;
}

const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

/** The console table: one line per (workload, engine, range), the ratios, the headline. */
export function formatThroughputTable(report: ThroughputReport): string {
  const out: string[] = [];
  const wl = Math.max(8, ...report.workloads.map((w) => w.workload.length));
  out.push(`throughput, seed ${report.seed}, ${report.runs} run(s) per engine, median [min..max]:`);
  out.push(`${pad('workload', wl)} | ${pad('engine', 17)} | ${lpad('commands', 9)} | ${pad('commands/s', 26)} | ${lpad('ns/cmd', 8)} | ${lpad('GCs', 4)} | ${lpad('peak RSS', 9)}`);
  out.push(`${'-'.repeat(wl)}-+-${'-'.repeat(17)}-+-${'-'.repeat(9)}-+-${'-'.repeat(26)}-+-${'-'.repeat(8)}-+-${'-'.repeat(4)}-+-${'-'.repeat(9)}`);
  for (const w of report.workloads) {
    for (const r of w.rows) {
      const rate = `${lpad(fmtRate(r.medianCommandsPerSec), 7)} [${fmtRate(r.minCommandsPerSec)}..${fmtRate(r.maxCommandsPerSec)}]`;
      const rss = r.medianPeakRssBytes !== undefined ? `${(r.medianPeakRssBytes / 2 ** 20).toFixed(0)} MiB` : '-';
      out.push(`${pad(w.workload, wl)} | ${pad(ENGINE_LABELS[r.engine], 17)} | ${lpad(fmtInt(r.commands), 9)} | ${pad(rate, 26)} | ${lpad(r.medianNsPerCommand.toFixed(0), 8)} | ${lpad(String(r.gcs.reduce((a, b) => a + b, 0)), 4)} | ${lpad(rss, 9)}`);
    }
  }
  if (report.peers) {
    out.push('');
    out.push(`clob / peer, median commands/s on the same ${fmtInt(report.peerCount)} commands:`);
    out.push(`${pad('workload', wl)} | ${lpad('release/simple-book', 19)} | ${lpad('release/nodejs-order-book', 25)} | ${lpad('scalar/simple-book', 18)} | ${lpad('scalar/nodejs-order-book', 24)}`);
    for (const w of report.workloads) {
      const s = w.ratios.find((x) => x.peer === 'simple-book')!, n = w.ratios.find((x) => x.peer === 'nodejs-order-book')!;
      out.push(`${pad(w.workload, wl)} | ${lpad(`${s.release.toFixed(1)}x`, 19)} | ${lpad(`${n.release.toFixed(1)}x`, 25)} | ${lpad(`${s.scalar.toFixed(1)}x`, 18)} | ${lpad(`${n.scalar.toFixed(1)}x`, 24)}`);
    }
  }
  out.push('');
  if (report.headline) {
    const h = report.headline;
    out.push(`headline: clob release on the worst equity regime (${h.workload}): ${fmtRate(h.medianCommandsPerSec)} commands/s median [${fmtRate(h.minCommandsPerSec)}..${fmtRate(h.maxCommandsPerSec)}]` +
      (h.vsPeers.length ? `; ${h.vsPeers.map((v) => `${v.ratio.toFixed(1)}x ${v.peer}`).join(', ')}` : ''));
  }
  const checks = report.workloads.flatMap((w) => w.bookCheck);
  out.push(`book check: ${report.booksAgree ? 'all engines end with the same book' : 'ENGINES DISAGREE'} (${checks.length} point(s): ${report.workloads.map((w) => w.bookCheck.map((b) => `${w.workload}@${fmtInt(b.at)} ${b.engines.length} engines x ${b.runs} runs, ${b.symbols} symbol(s) ${b.agree ? 'ok' : 'DIFFER'}`).join('; ')).join('; ')})`);
  for (const n of report.notes) out.push(`note: ${n}`);
  out.push(`machine: ${describeMachine(report.machine)}; load average at end: ${report.loadAverageEnd.join(' ')}`);
  out.push(`made by: ${report.command}`);
  return out.join('\n');
}

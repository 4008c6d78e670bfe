// bench/live-book.ts: what deferred reuse of freed slots (limbo, docs/CONCURRENCY.md "Reading a
// live book") costs the matcher, with and without a reader thread reading the live book.
//
//   node --import tsx bench/live-book.ts [--count 1000000] [--runs 7] [--batches 64,1024] [--seed 42]
//        [--baseline-rev 12427b7] [--pause-us 100] [--variants immediate,deferred,registered,reader,paced] [--json out.json]
//
// Variants of the core's batch loop over the core-mix workload (bench/workloads/core-mix.ts,
// the same commands as bench/core.ts; the book built to depth before the clock starts), driven
// the same way through the raw exports (one process() call per batch of --batches commands,
// events drained per call), alternated run by run so all see the same machine:
//   immediate  the core as of --baseline-rev (freed slots reused at once), compiled from git
//              with the release build's options into a temporary directory
//   deferred   this core with no reader registered: batches run unguarded (batch-gate.ts: no
//              write sections, freed slots reusable at once); what a user without readers pays
//   registered this core with a reader registered that never reads: every batch guarded (write
//              sections, limbo, epoch published per batch); the mechanism's own cost
//   reader     this core, with a reader thread (bench/live-book-load.ts) reading depth and
//              orders in a busy loop for the whole run (on a 2-core machine it competes for a core
//              and for the cache lines of the best levels)
//   paced      the same reader pausing --pause-us (100) microseconds between rounds of reads (a
//              market-data or risk reader, not a spinning one)
// Reported: commands/s per variant (median [min..max] of --runs) and each variant's time per
// command against `immediate` (median over median), by the wall clock and, for the variants
// without a reader thread, by the process's CPU time over the same interval (user + system:
// time the matcher was preempted by other processes does not count; on a shared machine it is
// the steadier of the two). The final digests must agree.
import { writeFileSync, mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as layout from '../assembly/layout.js';
import { coreModule, QUERY_SCRATCH_BYTES, alignRegion, FIRST_HOST_BYTE, WASM_PAGE, type CoreExports } from '../src/core.js';
import type { LiveBook } from '../src/live-book-reader.js';
import { coreMix, coreMixSetupLength } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';
import { benchArgs } from './args.js';
import { integer } from '../src/cli-args.js';

const L = { ...layout };
const args = benchArgs('bench/live-book.ts', ['--count', '--runs', '--seed', '--batches', '--baseline-rev', '--json', '--pause-us', '--variants']);
const count = args.int('--count', 1_000_000, 1);
const runs = args.int('--runs', 7, 1);
const seed = args.int('--seed', 42);
const batches = args.list('--batches', '64,1024', integer('--batches', 1, 1 << 20));
const baselineRev = args.string('--baseline-rev', '12427b7');
const json = args.string('--json', '');
const pauseUs = args.int('--pause-us', 100);
type Variant = 'immediate' | 'deferred' | 'registered' | 'reader' | 'paced';
const ALL: Variant[] = ['immediate', 'deferred', 'registered', 'reader', 'paced'];
const VARIANTS = args.choices('--variants', ALL.join(','), ALL);
if (!VARIANTS.includes('immediate')) throw new RangeError('--variants must include immediate (the baseline the others are compared with)');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const root = fileURLToPath(new URL('..', import.meta.url));

/** The core as of `rev`, compiled with the release target's options (asconfig.json). */
function baselineModule(rev: string): WebAssembly.Module {
  const dir = mkdtempSync(join(tmpdir(), 'clob-baseline-'));
  try {
    execFileSync('sh', ['-c', `git -C "${root}" archive ${rev} assembly | tar -x -C "${dir}"`]);
    execFileSync(process.execPath, [join(root, 'node_modules/assemblyscript/bin/asc.js'), 'assembly/index.ts', '--runtime', 'stub', '--importMemory',
      '--memoryBase', '65536', '--initialMemory', '2', '--optimizeLevel', '3', '--shrinkLevel', '0', '--converge', '--noAssert',
      '--enable', 'simd,threads', '--sharedMemory', '--maximumMemory', '65536', '--outFile', 'baseline.wasm'], { cwd: dir, stdio: 'inherit' });
    return new WebAssembly.Module(readFileSync(join(dir, 'baseline.wasm')));
  } finally {
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

const machine = machineInfo();
console.log(`machine: ${describeMachine(machine)}`);
console.log(`command: node --import tsx bench/live-book.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
const setup = coreMixSetupLength({ seed, count: count + 1 });
process.stdout.write(`generating core-mix: ${setup} setup + ${count} measured commands (seed ${seed}) ... `);
const encoded = encodeCommands(coreMix({ seed, count: setup + count }));
console.log('done');
process.stdout.write(`compiling the core as of ${baselineRev} ... `);
const modules = { immediate: baselineModule(baselineRev), current: coreModule('release') };
console.log('done');

interface Run { variant: Variant; batch: number; seconds: number; cpuSeconds: number; commandsPerSec: number; digest: string; readerCalls: number; readerRetries: number; limboForced: number }

const MAX_ORDERS = 1 << 16;

async function measure(variant: Variant, batch: number): Promise<Run> {
  // Memory map as the Engine's: scratch, readers' scratch, commands, events, arena.
  const scratch = FIRST_HOST_BYTE;
  const readers = alignRegion(scratch + QUERY_SCRATCH_BYTES);
  const commandsAt = alignRegion(readers + L.LIVE_READERS * QUERY_SCRATCH_BYTES);
  const cmdBytes = Math.max(setup, batch) * L.CMD_SIZE;
  const eventsAt = alignRegion(commandsAt + cmdBytes);
  const eventCap = MAX_ORDERS * L.EVENTS_PER_TOUCHED_ORDER + L.EVENTS_PER_COMMAND_BASE + L.EVENT_CHUNK;
  const arena = alignRegion(eventsAt + eventCap * L.EVT_SIZE);
  const sizing = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true } as WebAssembly.MemoryDescriptor);
  const module = variant === 'immediate' ? modules.immediate : modules.current;
  const arenaBytes = (new WebAssembly.Instance(module, { env: { memory: sizing } }).exports as unknown as CoreExports).arenaSize(MAX_ORDERS, 4, 1 << 15) >>> 0;
  const pages = Math.ceil((arena + arenaBytes) / WASM_PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as WebAssembly.MemoryDescriptor);
  const core = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as CoreExports;
  if (core.init(arena, MAX_ORDERS, 4, 1 << 15, 1) !== 0) throw new Error('init refused');
  const bytes = new Uint8Array(memory.buffer);
  const header = new Uint32Array(memory.buffer, arena, L.H_EVENTS_WRITTEN / 4 + 1);
  // The current core stops after EVENT_CHUNK events by itself; the baseline predates that, so it
  // is offered only the worst case plus a chunk (its header has H_LIVE_ORDERS at the same offset).
  const offer = variant === 'immediate'
    ? () => Math.min(eventCap, header[L.H_LIVE_ORDERS / 4] * L.EVENTS_PER_TOUCHED_ORDER + L.EVENTS_PER_COMMAND_BASE + L.EVENT_CHUNK)
    : () => eventCap;
  const runCommands = (first: number, n: number) => {
    bytes.set(encoded.subarray(first * L.CMD_SIZE, (first + n) * L.CMD_SIZE), commandsAt);
    let done = 0;
    while (done < n) {
      const ran = core.process(arena, commandsAt + done * L.CMD_SIZE, n - done, eventsAt, offer());
      if (ran < 0) throw new Error('event region too small');
      done += ran;
    }
  };
  runCommands(0, setup);
  if (variant === 'registered' && core.readerRegister(arena) !== 0) throw new Error('readerRegister refused');
  let worker: Worker | undefined;
  let report: Promise<{ calls: number; reads: number; retries: number }> | undefined;
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  if (variant === 'reader' || variant === 'paced') {
    const book: LiveBook = { memory, arena, build: 'release', scratch: readers, scratchBytes: QUERY_SCRATCH_BYTES };
    worker = new Worker(new URL('./live-book-load.mjs', import.meta.url), { workerData: { book, ctl: ctl.buffer, maxId: setup + count, pauseUs: variant === 'paced' ? pauseUs : 0 } });
    report = new Promise((resolve, reject) => { worker!.once('message', resolve); worker!.once('error', reject); });
    while (Atomics.load(ctl, 0) === 0) await new Promise((r) => setTimeout(r, 2));
  }
  const end = setup + count;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let at = setup; at < end; at += batch) runCommands(at, Math.min(batch, end - at));
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  Atomics.store(ctl, 1, 1);
  const r = report ? await report : { calls: 0, retries: 0 };
  await worker?.terminate();
  core.digest(arena, scratch);
  const digest = new DataView(memory.buffer).getBigUint64(scratch, true).toString(16);
  let limboForced = 0;
  if (variant !== 'immediate') {
    core.limboStats(arena, scratch);
    limboForced = new DataView(memory.buffer).getUint32(scratch + 8, true) + new DataView(memory.buffer).getUint32(scratch + 12, true);
  }
  const seconds = Number(t1 - t0) / 1e9;
  return { variant, batch, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, commandsPerSec: count / seconds, digest, readerCalls: r.calls, readerRetries: r.retries, limboForced };
}

const results: Run[] = [];
for (const batch of batches) {
  for (const v of VARIANTS) await measure(v, batch); // warm-up: JIT and tier-up before the clock matters
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const run = await measure(v, batch);
      results.push(run);
      const extra = v === 'reader' || v === 'paced' ? `  (reader: ${run.readerCalls} calls, ${run.readerRetries} retries; forced reuse ${run.limboForced})` : '';
      console.log(`  batch ${String(batch).padStart(5)} run ${r + 1} ${v.padEnd(9)} ${(run.commandsPerSec / 1e6).toFixed(2)}M commands/s${extra}`);
    }
  }
}

console.log(`\ncore-mix, ${count} commands per run, ${runs} runs per variant (median [min..max]); overhead = median time per command vs immediate:`);
console.log('batch | immediate               | deferred                | overhead  | registered              | overhead  | busy reader             | overhead  | paced reader            | overhead');
const summary = batches.map((batch) => {
  const of = (v: Variant) => results.filter((r) => r.batch === batch && r.variant === v);
  const med = (v: Variant) => median(of(v).map((r) => r.seconds));
  const fmt = (v: Variant) => {
    if (!VARIANTS.includes(v)) return '-';
    const rates = of(v).map((r) => r.commandsPerSec);
    return `${(count / med(v) / 1e6).toFixed(2)}M [${(Math.min(...rates) / 1e6).toFixed(2)}..${(Math.max(...rates) / 1e6).toFixed(2)}]`;
  };
  const pct = (v: Variant) => (VARIANTS.includes(v) ? (med(v) / med('immediate') - 1) * 100 : NaN);
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} %`;
  console.log(`${String(batch).padStart(5)} | ${fmt('immediate').padEnd(23)} | ${fmt('deferred').padEnd(23)} | ${sign(pct('deferred')).padEnd(9)} | ${fmt('registered').padEnd(23)} | ${sign(pct('registered')).padEnd(9)} | ${fmt('reader').padEnd(23)} | ${sign(pct('reader')).padEnd(9)} | ${fmt('paced').padEnd(23)} | ${sign(pct('paced'))}`);
  return { batch, immediate: count / med('immediate'), deferred: count / med('deferred'), registered: count / med('registered'), reader: count / med('reader'), paced: count / med('paced'), deferredOverheadPct: pct('deferred'), registeredOverheadPct: pct('registered'), readerOverheadPct: pct('reader'), pacedOverheadPct: pct('paced') };
});
const cpuOverhead = batches.map((batch) => {
  const cpuMed = (v: Variant) => median(results.filter((r) => r.batch === batch && r.variant === v).map((r) => r.cpuSeconds));
  const out: Record<string, number> = { batch };
  for (const v of VARIANTS) if (v !== 'immediate' && v !== 'reader' && v !== 'paced') out[v] = (cpuMed(v) / cpuMed('immediate') - 1) * 100;
  console.log(`batch ${String(batch).padStart(5)}, CPU time per command vs immediate (median): ${Object.entries(out).filter(([k]) => k !== 'batch').map(([k, x]) => `${k} ${x >= 0 ? '+' : ''}${x.toFixed(2)} %`).join(', ')}`);
  return out;
});
const digests = new Set(results.map((r) => r.digest));
console.log(`final digests agree across variants and runs: ${digests.size === 1 ? 'yes' : 'NO'}`);
console.log(`load average at end: ${machineInfo().loadAverage.join(' ')}`);
if (json) {
  writeFileSync(json, JSON.stringify({ bench: 'live-book', workload: 'core-mix', seed, count, setup, runs, baselineRev, machine, summary, cpuOverhead, results }, null, 2));
  console.log(`wrote ${json}`);
}

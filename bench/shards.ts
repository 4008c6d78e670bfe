// bench/shards.ts: the sharded engine, 1 vs 2 matching workers, end to end (docs/SHARDS.md).
//
//   node --import tsx bench/shards.ts [--count 1000000] [--symbols 256] [--runs 5] [--seed 7]
//                                     [--no-pin] [--chunk 1024] [--spins 1000] [--inbound 16384] [--backlog 16384]
//                                     [--json out.json]
//
// Workload: bench/workloads/multi-symbol.ts (Pareto-skewed activity over --symbols symbols, each a
// core-mix flow; globally unique order ids), encoded to 64-byte records before any clock starts.
// Each run starts a fresh engine (worker start is not timed), routes and flushes the setup
// (ADD_SYMBOLs + warm-up), then times the mix: the caller's thread routes --chunk records at a time
// into the shards' inbound rings and polls the events shard by shard (a callback that reads every
// event's type), until flush() says every command's events are delivered. Commands/s = mix commands /
// that time. Configurations alternate within each run; medians over --runs. Per run it also prints
// the cores the process used (its CPU time / wall time, all threads): on a shared machine the
// matchers only scale as far as the other load leaves them CPU; the busiest matcher's share of the
// time inside the core; and, for 2 shards, each matcher's sleeps and the router's waits (a shard
// whose ring and backlog were both full). After the runs: the last run's
// matcher counters and where the caller's time went (route(), of which waiting for ring room).
// "in-process" is the single-threaded Engine on the caller's thread (batch path, same events
// callback): the ceiling a sharded run has to beat.
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine.js';
import { ShardedEngine } from '../src/shard/sharded-engine.js';
import type { EventReader } from '../src/batch.js';
import { native, nativeLoadError } from '../src/native.js';
import { multiSymbol, multiSymbolSetupLength } from './workloads/multi-symbol.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';
import { benchArgs } from './args.js';

const args = benchArgs('bench/shards.ts', ['--count', '--symbols', '--runs', '--seed', '--chunk', '--spins', '--inbound', '--backlog', '--json'], ['--no-pin']);
const count = args.int('--count', 1_000_000, 1);
const symbols = args.int('--symbols', 256, 1);
const runs = args.int('--runs', 5, 1);
const seed = args.int('--seed', 7);
const chunk = args.int('--chunk', 1024, 1);
const spins = args.int('--spins', 1000);
const inboundSlots = args.int('--inbound', 16384, 2);
const backlogRecords = args.int('--backlog', 16384, 2);
const pin = !args.flag('--no-pin');
const jsonPath = args.optional('--json');
const command = `node --import tsx bench/shards.ts ${process.argv.slice(2).join(' ')}`.trim();

const machine = machineInfo();
console.log(`# ${command}`);
console.log(`# ${describeMachine(machine)}`);
console.log(`# native helper: ${native ? 'loaded' : `not loaded (${nativeLoadError})`}; pin: ${pin}`);

const limits = { maxOrders: 1 << 18, maxSymbols: symbols + 1, ladderTicks: symbols * 2001 + 1 };
const records = encodeCommands(multiSymbol({ seed, count, symbols }));
const setup = multiSymbolSetupLength({ seed, count, symbols });
const mix = count - setup;
console.log(`# workload: multi-symbol, ${count} commands (${setup} setup, ${mix} timed), ${symbols} symbols, seed ${seed}; route chunk ${chunk}, matcher spins ${spins}, inbound ring ${inboundSlots} slots, backlog ${backlogRecords} records`);

let events = 0;
let typeSum = 0;
const onEvents = (ev: EventReader) => {
  for (let i = 0; i < ev.count; i++) typeSum += ev.select(i).type;
  events += ev.count;
};

function inProcess(): { rate: number; events: number } {
  const engine = new Engine(limits);
  const w = engine.commands;
  const feed = (from: number, to: number) => {
    for (let k = from; k < to; k += w.capacity) {
      w.append(records, k, Math.min(w.capacity, to - k));
      engine.run(onEvents);
    }
  };
  feed(0, setup);
  events = 0;
  const t0 = performance.now();
  feed(setup, count);
  const ms = performance.now() - t0;
  return { rate: mix / (ms / 1000), events };
}

/** The caller's thread during the timed part: ms inside route() (of which waiting for ring room, events polled meanwhile), inside poll() (event callbacks included) and in the final flush(). */
interface CallerMs { route: number; waits: number; poll: number; flush: number; wall: number; cpu: number }

async function sharded(shards: number): Promise<{ rate: number; events: number; stats: unknown; pinning: string; caller: CallerMs; timedCoreMs: number[]; sleeps: number[]; routerWaits: number }> {
  const engine = await ShardedEngine.create({ shards, ...limits, pin, spins, inboundSlots, backlogRecords, onEvents });
  try {
    engine.route(records, 0, setup);
    engine.flush();
    const stats0 = await engine.stats();
    const waits0 = { ...engine.routerWaits };
    events = 0;
    const caller: CallerMs = { route: 0, waits: 0, poll: 0, flush: 0, wall: 0, cpu: 0 };
    const cpu0 = process.cpuUsage(); // every thread of the process: caller, matchers, V8's own
    const t0 = performance.now();
    let t = t0;
    for (let k = setup; k < count; k += chunk) {
      engine.route(records, k, Math.min(chunk, count - k));
      const t1 = performance.now();
      engine.poll();
      const t2 = performance.now();
      caller.route += t1 - t;
      caller.poll += t2 - t1;
      t = t2;
    }
    engine.flush();
    const ms = performance.now() - t0;
    caller.flush = ms - caller.route - caller.poll;
    caller.waits = engine.routerWaits.ms - waits0.ms;
    const cpu = process.cpuUsage(cpu0);
    caller.wall = ms;
    caller.cpu = (cpu.user + cpu.system) / 1000;
    const stats = await engine.stats();
    const timedCoreMs = stats.map((x, k) => x.coreMs - stats0[k].coreMs);
    const sleeps = stats.map((x, k) => x.sleeps - stats0[k].sleeps);
    const routerWaits = engine.routerWaits.full - waits0.full;
    const got = events;
    await engine.shutdown();
    return { rate: mix / (ms / 1000), events: got, stats, pinning: engine.pinning.note, caller, timedCoreMs, sleeps, routerWaits };
  } finally {
    if (!engine.stopped) await engine.terminate();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number) => `${(x / 1e6).toFixed(2)}M`;

const results: Record<string, number[]> = { 'in-process': [], '1 shard': [], '2 shards': [] };
const eventCounts: Record<string, number> = {};
let pinning = '';
const lastStats: Record<string, unknown> = {};
const lastCaller: Record<string, CallerMs> = {};
const cores: Record<string, number[]> = { '1 shard': [], '2 shards': [] }; // process CPU time / wall time, per run
const coreShare: Record<string, number[]> = { '1 shard': [], '2 shards': [] }; // the busiest matcher's ms inside the core / wall ms, per run
const sleeps2: string[] = []; // 2 shards, per run: each matcher's sleeps and the router's waits, timed part
for (let r = 0; r < runs; r++) {
  const a = inProcess();
  results['in-process'].push(a.rate);
  eventCounts['in-process'] = a.events;
  for (const shards of r % 2 === 0 ? [1, 2] : [2, 1]) {
    const s = await sharded(shards);
    const name = shards === 1 ? '1 shard' : '2 shards';
    results[name].push(s.rate);
    eventCounts[name] = s.events;
    lastStats[name] = s.stats;
    lastCaller[name] = s.caller;
    cores[name].push(s.caller.cpu / s.caller.wall);
    coreShare[name].push(Math.max(...s.timedCoreMs) / s.caller.wall);
    if (shards === 2) { pinning = s.pinning; sleeps2.push(`sleeps ${s.sleeps.join('/')}, router waits ${s.routerWaits}`); }
  }
  console.log(`run ${r + 1}: ${Object.entries(results).map(([k, v]) => `${k} ${fmt(v[r])}/s`).join(', ')}; cores used ${Object.entries(cores).map(([k, v]) => `${k} ${v[r].toFixed(2)}`).join(', ')}; busiest matcher in the core ${Object.entries(coreShare).map(([k, v]) => `${k} ${(v[r] * 100).toFixed(0)}%`).join(', ')} of the time; 2 shards: ${sleeps2[r]}  (load ${machineInfo().loadAverage.join(' ')})`);
}

console.log(`# pinning (2 shards): ${pinning}`);
for (const [k, st] of Object.entries(lastStats)) {
  console.log(`# last ${k}: ` + (st as { shard: number; commands: number; coreMs: number; sleeps: number; idleSpins: number; runs: number; outboundFull: number }[])
    .map((s) => `shard ${s.shard}: ${s.commands} commands in ${s.runs} core calls, ${s.coreMs.toFixed(0)} ms in the core, ${s.sleeps} sleeps, ${s.idleSpins} empty polls, ${s.outboundFull} waits for event room`).join('; ')
    + `; caller: ${lastCaller[k].route.toFixed(0)} ms in route() (${lastCaller[k].waits.toFixed(0)} of them waiting for ring room), ${lastCaller[k].poll.toFixed(0)} ms in poll(), ${lastCaller[k].flush.toFixed(0)} ms in the final flush()`
    + `; the process used ${lastCaller[k].cpu.toFixed(0)} ms of CPU in ${lastCaller[k].wall.toFixed(0)} ms (${(lastCaller[k].cpu / lastCaller[k].wall).toFixed(2)} cores)`);
}
console.log('');
console.log('| configuration | median commands/s | runs | events (timed part) |');
console.log('|---|---:|---|---:|');
for (const [k, v] of Object.entries(results)) console.log(`| ${k} | ${fmt(median(v))} | ${v.map(fmt).join(' ')} | ${eventCounts[k]} |`);
const speedup = median(results['2 shards']) / median(results['1 shard']);
console.log('');
console.log(`2 shards / 1 shard: ${speedup.toFixed(2)}x (target 1.7x); 2 shards / in-process: ${(median(results['2 shards']) / median(results['in-process'])).toFixed(2)}x`);
if (eventCounts['1 shard'] !== eventCounts['2 shards'] || eventCounts['1 shard'] !== eventCounts['in-process']) console.log('WARNING: event counts differ between configurations');
if (typeSum < 0) console.log(typeSum); // keep the reads

if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify({ command, machine, count, symbols, seed, runs, chunk, spins, inboundSlots, backlogRecords, pin, pinning, results, medians: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])), speedup, eventCounts, lastStats, lastCaller, cores, coreShare, sleeps2 }, null, 2));
  console.log(`# wrote ${jsonPath}`);
}

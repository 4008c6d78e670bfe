// bench/reclaim.ts: what epoch-based reclamation costs a matcher (src/reclaim.ts; docs/CONCURRENCY.md).
//
//   node --import tsx bench/reclaim.ts [--count 1000000] [--runs 7] [--batches 64,1024] [--seed 42] [--json out.json]
//
// The matcher loop is the core's batch path, Engine.run() over the core-mix workload (the same
// commands as bench/core.ts, the book built to depth before the clock starts), in batches of
// --batches commands. Two variants, alternated run by run so both see the same machine:
//   plain  per batch: stage the batch, engine.run()
//   ebr    per batch: enter the epoch guard, stage, engine.run(), allocate a block from a pool
//          (a stand-in for the book structure a matcher replaces), retire the block it replaced,
//          exit the guard; reclaim() runs every 64 retires (the default), so blocks really cycle
//          through limbo and back to the pool.
// Reported: commands/s per variant (median [min..max] of --runs), and the overhead of the ebr
// variant in time per command: (median ebr time / median plain time - 1) x 100 %.
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine.js';
import { Pool, poolHeaderBytes } from '../src/pool.js';
import { ReclaimDomain, reclaimBytes, type Participant } from '../src/reclaim.js';
import { coreMix, coreMixSetupLength } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';
import { benchArgs } from './args.js';
import { integer } from '../src/cli-args.js';

const args = benchArgs('bench/reclaim.ts', ['--count', '--runs', '--seed', '--batches', '--json']);
const count = args.int('--count', 1_000_000, 1);
const runs = args.int('--runs', 7, 1);
const seed = args.int('--seed', 42);
const batches = args.list('--batches', '64,1024', integer('--batches', 1, 1 << 20));
const json = args.string('--json', '');

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const machine = machineInfo();
console.log(`machine: ${describeMachine(machine)}`);
console.log(`command: node --import tsx bench/reclaim.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
const setup = coreMixSetupLength({ seed, count: count + 1 });
process.stdout.write(`generating core-mix: ${setup} setup + ${count} measured commands (seed ${seed}) ... `);
const encoded = encodeCommands(coreMix({ seed, count: setup + count }));
console.log('done');

// The pool and the domain live in a shared memory of their own (in a server: the shard's memory).
const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true } as WebAssembly.MemoryDescriptor);
const poolAt = 64;
const domainAt = poolAt + poolHeaderBytes(16);
const pool = Pool.init(memory, poolAt, { blockSize: 256, blocksPerChunk: 256, maxChunks: 16, initialChunks: 1, region: { start: domainAt + reclaimBytes(4), end: memory.buffer.byteLength } });
const domain = ReclaimDomain.init(memory, domainAt, pool, { maxParticipants: 4 });
const me: Participant = domain.register();

type Variant = 'plain' | 'ebr';
interface Run { variant: Variant; batch: number; seconds: number; commandsPerSec: number; digest: string }

function measure(variant: Variant, batch: number): Run {
  const engine = new Engine({ maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15, batchSize: Math.max(setup, batch) });
  engine.commands.append(encoded, 0, setup);
  engine.run();
  let current = pool.alloc();
  const end = setup + count;
  let t0: bigint;
  let t1: bigint;
  if (variant === 'plain') {
    t0 = process.hrtime.bigint();
    for (let at = setup; at < end; at += batch) {
      engine.commands.append(encoded, at, Math.min(batch, end - at));
      engine.run();
    }
    t1 = process.hrtime.bigint();
  } else {
    t0 = process.hrtime.bigint();
    for (let at = setup; at < end; at += batch) {
      me.enter();
      engine.commands.append(encoded, at, Math.min(batch, end - at));
      engine.run();
      const next = pool.alloc();
      me.retire(current);
      current = next;
      me.exit();
    }
    t1 = process.hrtime.bigint();
  }
  me.retire(current);
  me.drain();
  const seconds = Number(t1 - t0) / 1e9;
  return { variant, batch, seconds, commandsPerSec: count / seconds, digest: engine.digest().toString(16) };
}

const results: Run[] = [];
for (const batch of batches) {
  measure('plain', batch); // warm-up: JIT both loops before the clock matters
  measure('ebr', batch);
  for (let r = 0; r < runs; r++) {
    for (const v of (r % 2 === 0 ? ['plain', 'ebr'] : ['ebr', 'plain']) as Variant[]) {
      const run = measure(v, batch);
      results.push(run);
      console.log(`  batch ${String(batch).padStart(5)} run ${r + 1} ${v.padEnd(5)} ${(run.commandsPerSec / 1e6).toFixed(2)}M commands/s`);
    }
  }
}

console.log(`\ncore-mix, ${count} commands per run, ${runs} runs per variant (median [min..max]):`);
console.log('batch | plain commands/s        | ebr commands/s          | ebr overhead');
const summary = batches.map((batch) => {
  const of = (v: Variant) => results.filter((r) => r.batch === batch && r.variant === v);
  const rates = (v: Variant) => of(v).map((r) => r.commandsPerSec);
  const plain = median(of('plain').map((r) => r.seconds));
  const ebr = median(of('ebr').map((r) => r.seconds));
  const overheadPct = (ebr / plain - 1) * 100;
  const fmt = (v: Variant) => `${(count / median(of(v).map((r) => r.seconds)) / 1e6).toFixed(2)}M [${(Math.min(...rates(v)) / 1e6).toFixed(2)}..${(Math.max(...rates(v)) / 1e6).toFixed(2)}]`;
  console.log(`${String(batch).padStart(5)} | ${fmt('plain').padEnd(23)} | ${fmt('ebr').padEnd(23)} | ${overheadPct >= 0 ? '+' : ''}${overheadPct.toFixed(2)} %`);
  return { batch, plainCommandsPerSec: count / plain, ebrCommandsPerSec: count / ebr, overheadPct, batchesPerRun: Math.ceil(count / batch) };
});
const digests = new Set(results.map((r) => r.digest));
console.log(`final digests agree across variants and runs: ${digests.size === 1 ? 'yes' : 'NO'}`);
const s = me.stats();
console.log(`reclamation: ${s.retired} retired, ${s.freed} freed, limbo peak ${s.limboPeak}, ${domain.advances} epoch advances; pool ${pool.stats().capacity} blocks, in use ${pool.stats().inUse}`);
const endMachine = machineInfo();
console.log(`load average at end: ${endMachine.loadAverage.join(' ')}`);
if (json) {
  writeFileSync(json, JSON.stringify({ bench: 'reclaim', workload: 'core-mix', seed, count, setup, runs, machine, loadAverageEnd: endMachine.loadAverage, summary, results }, null, 2));
  console.log(`wrote ${json}`);
}

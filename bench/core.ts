// bench:core: in-process batch throughput of the Wasm core on the headline single-symbol mix
// (bench/workloads/core-mix.ts: ~50% new limits near the touch, ~33% cancels, ~10% IOC/market/FOK,
// ~5% modifies, ~5,000 resting orders), release and scalar builds side by side, alternating
// runs so that both see the same machine. Commands are generated and encoded, and the book is
// built up to its target depth, before the clock starts; the clock covers engine.run() alone:
// one Wasm call per chunk of events, the core reading commands from and writing events to
// shared memory. GCs inside the measured window are counted (the target is zero).
//
//   npm run bench:core -- [--count 2000000] [--runs 5] [--seed 42] [--json results.json]
//   (the same as `clob bench core ...`)
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine.js';
import { CoreBuild } from '../src/core.js';
import { coreMix, coreMixSetupLength } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';
import { timedRun } from './gc-counter.js';
import { machineInfo, describeMachine } from './machine.js';

const BUILDS: CoreBuild[] = ['release', 'scalar'];

export interface CoreBenchOptions { count: number; runs: number; seed: number; json?: string }

interface Run { build: CoreBuild; seconds: number; commandsPerSec: number; eventsPerSec: number; events: number; gcs: number; digest: string }

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** Runs the benchmark, prints its table, and returns false if the builds' final digests disagree. */
export async function runCoreBench({ count, runs, seed, json }: CoreBenchOptions): Promise<boolean> {
  const startMachine = machineInfo();
  console.log(`machine: ${describeMachine(startMachine)}`);
  const setup = coreMixSetupLength({ seed, count: count + 1 });
  process.stdout.write(`generating core-mix: ${setup} setup + ${count} measured commands (seed ${seed}) ... `);
  const commands = coreMix({ seed, count: setup + count });
  const encoded = encodeCommands(commands);
  console.log('done');

  async function measure(build: CoreBuild): Promise<Run> {
    const engine = new Engine({ build, maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15, batchSize: Math.max(setup, count) });
    engine.commands.append(encoded, 0, setup);
    engine.run();
    engine.commands.append(encoded, setup, count);
    let events = 0;
    const onEvents = (ev: { count: number }) => { events += ev.count; };
    const { seconds, gcs } = await timedRun(engine, onEvents);
    return { build, seconds, commandsPerSec: count / seconds, eventsPerSec: events / seconds, events, gcs, digest: engine.digest().toString(16) };
  }

  const results: Run[] = [];
  for (let r = 0; r < runs; r++) {
    for (const build of r % 2 === 0 ? BUILDS : [...BUILDS].reverse()) {
      const run = await measure(build);
      results.push(run);
      console.log(`  run ${r + 1} ${build.padEnd(7)} ${(run.commandsPerSec / 1e6).toFixed(2)}M commands/s  ${(run.eventsPerSec / 1e6).toFixed(2)}M events/s  GCs ${run.gcs}`);
    }
  }

  const summary = BUILDS.map((build) => {
    const mine = results.filter((r) => r.build === build);
    const rates = mine.map((r) => r.commandsPerSec);
    return {
      build,
      medianCommandsPerSec: median(rates),
      minCommandsPerSec: Math.min(...rates),
      maxCommandsPerSec: Math.max(...rates),
      medianNsPerCommand: 1e9 / median(rates),
      eventsPerCommand: mine[0].events / count,
      gcs: mine.reduce((s, r) => s + r.gcs, 0),
      digests: [...new Set(mine.map((r) => r.digest))],
    };
  });
  const digestsAgree = new Set(summary.flatMap((s) => s.digests)).size === 1;

  console.log(`\ncore-mix, ${count} commands after a ${setup}-command warm-up, ${runs} runs per build (median [min..max]):`);
  console.log('build    | commands/s                | ns/command | events/command | GCs in window');
  for (const s of summary) {
    console.log(`${s.build.padEnd(8)} | ${(s.medianCommandsPerSec / 1e6).toFixed(2).padStart(6)}M [${(s.minCommandsPerSec / 1e6).toFixed(2)}..${(s.maxCommandsPerSec / 1e6).toFixed(2)}]`.padEnd(37) +
      ` | ${s.medianNsPerCommand.toFixed(1).padStart(10)} | ${s.eventsPerCommand.toFixed(2).padStart(14)} | ${s.gcs}`);
  }
  console.log(`release / scalar: ${(summary[0].medianCommandsPerSec / summary[1].medianCommandsPerSec).toFixed(2)}x`);
  console.log(`final digests agree across builds and runs: ${digestsAgree ? 'yes' : 'NO'}`);
  const endMachine = machineInfo();
  console.log(`load average at end: ${endMachine.loadAverage.join(' ')}`);
  if (json) {
    writeFileSync(json, JSON.stringify({ bench: 'core', workload: 'core-mix', seed, count, setup, runs, machine: startMachine, loadAverageEnd: endMachine.loadAverage, summary, results }, null, 2));
    console.log(`wrote ${json}`);
  }
  return digestsAgree;
}

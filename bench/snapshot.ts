// Snapshot cost at the engine's default size: into a fresh buffer (every 4 KiB page faulted in)
// against into the buffer of the previous snapshot, which `clob start` reuses.
//   node --import tsx bench/snapshot.ts [--runs 5]
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine.js';
import { DEMO_SYMBOLS } from '../src/stdio-server.js';
import { machineInfo, describeMachine } from './machine.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
console.log(`machine: ${describeMachine(machineInfo())}`);
const engine = new Engine({ symbols: DEMO_SYMBOLS });
const fresh: number[] = [];
const reused: number[] = [];
let buffer: Uint8Array | undefined;
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  const bytes = engine.snapshot();
  fresh.push(performance.now() - t);
  t = performance.now();
  buffer = engine.snapshot(buffer ?? bytes);
  reused.push(performance.now() - t);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`default engine (${engine.maxOrders} orders, ${engine.ladderTicks} ladder ticks): snapshot of ${(buffer!.length / 2 ** 20).toFixed(1)} MiB`);
console.log(`  into a fresh buffer: median ${median(fresh).toFixed(1)} ms (${fresh.map((x) => x.toFixed(1)).join(' ')})`);
console.log(`  into a reused buffer: median ${median(reused).toFixed(1)} ms (${reused.map((x) => x.toFixed(1)).join(' ')})`);

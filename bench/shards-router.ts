// bench/shards-router.ts: the sharded engine's router alone (route(), the caller's per-command
// work), with every matcher parked so that nothing competes with it and no ring fills.
//
//   node --import tsx bench/shards-router.ts [--count 1000000] [--symbols 256] [--seed 7] [--chunk 1024] [--runs 5]
//
// Workload: bench/workloads/multi-symbol.ts, as bench/shards.ts; the timed part (setup records
// excluded) is routed --chunk records per route() call into inbound rings of 2^20 slots (they
// hold it all). Parking: before the clock starts, each inbound ring gets a barrier record whose
// control op is never sent (src/shard/protocol.ts CTL_*; written through the engine's private
// shard list), so each matcher waits there and consumes nothing. ns per command = route() time /
// timed commands. 1 and 2 shards alternate within each run; medians over --runs.
import { ShardedEngine } from '../src/shard/sharded-engine.js';
import type { SpscRing } from '../src/ring.js';
import { CTL_TYPE, CTL_MAGIC, CTL_MAGIC_AT } from '../src/shard/protocol.js';
import { multiSymbol, multiSymbolSetupLength } from './workloads/multi-symbol.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';
import { benchArgs } from './args.js';

const args = benchArgs('bench/shards-router.ts', ['--count', '--symbols', '--seed', '--chunk', '--runs']);
const count = args.int('--count', 1_000_000, 1);
const symbols = args.int('--symbols', 256, 1);
const seed = args.int('--seed', 7);
const chunk = args.int('--chunk', 1024, 1);
const runs = args.int('--runs', 5, 1);
console.log(`# node --import tsx bench/shards-router.ts ${process.argv.slice(2).join(' ')}`.trim());
console.log(`# ${describeMachine(machineInfo())}`);
const records = encodeCommands(multiSymbol({ seed, count, symbols }));
const setup = multiSymbolSetupLength({ seed, count, symbols });
const timed = count - setup;
console.log(`# workload: multi-symbol, ${timed} timed commands, ${symbols} symbols, seed ${seed}; route chunk ${chunk}`);

async function routeOnly(shards: number): Promise<number> {
  const engine = await ShardedEngine.create({ shards, maxOrders: 1 << 16, maxSymbols: symbols + 1, ladderTicks: symbols * 2001 + 1, inboundSlots: 1 << 20 });
  try {
    const u8 = new Uint8Array(engine.memory.buffer);
    const view = new DataView(engine.memory.buffer);
    for (const sh of (engine as unknown as { shardList: { inbound: SpscRing }[] }).shardList) {
      const seq = sh.inbound.tryClaim(1);
      const at = sh.inbound.slotOffset(seq);
      u8.fill(0, at, at + 64);
      u8[at] = CTL_TYPE;
      view.setUint16(at + CTL_MAGIC_AT, CTL_MAGIC, true);
      sh.inbound.publish(seq, 1);
    }
    const t0 = performance.now();
    for (let k = setup; k < count; k += chunk) engine.route(records, k, Math.min(chunk, count - k));
    return ((performance.now() - t0) * 1e6) / timed;
  } finally {
    await engine.terminate();
  }
}

const ns: Record<string, number[]> = { '1 shard': [], '2 shards': [] };
for (let r = 0; r < runs; r++) {
  for (const shards of r % 2 === 0 ? [1, 2] : [2, 1]) ns[shards === 1 ? '1 shard' : '2 shards'].push(await routeOnly(shards));
  console.log(`run ${r + 1}: ${Object.entries(ns).map(([k, v]) => `${k} ${v[r].toFixed(1)} ns`).join(', ')}  (load ${machineInfo().loadAverage.join(' ')})`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [k, v] of Object.entries(ns)) console.log(`${k}: median ${median(v).toFixed(1)} ns per command routed (runs ${v.map((x) => x.toFixed(1)).join(' ')})`);

// Quick throughput check of the comparison peers on a workload, with the end-of-run books compared.
//   node --import tsx bench/peers/compare.ts [core|multi|fixed|normal|volatile|stressed|crash] [count] [seed]
// Commands are generated first (untimed); the setup prefix (ADD_SYMBOL + warm-up) is applied
// untimed; the rest is timed as one applyAll per peer, each peer in turn, best of 3 fresh runs.
import type { RawCommand } from '../../src/records.js';
import { coreMix, coreMixSetupLength } from '../workloads/core-mix.js';
import { equityFlow, type Regime } from '../workloads/equity-flow.js';
import { multiSymbol, multiSymbolSetupLength } from '../workloads/multi-symbol.js';
import { NodejsOrderBookPeer } from './nodejs-order-book.js';
import { SimpleBook } from './simple-book.js';
import { sameSummary, type Peer } from './types.js';

const workload = process.argv[2] ?? 'core';
const count = Number(process.argv[3] ?? 500_000);
const seed = Number(process.argv[4] ?? 1);

let cmds: RawCommand[];
let setup: number;
let symbols: number[];
if (workload === 'core') {
  cmds = coreMix({ seed, count });
  setup = coreMixSetupLength({ seed, count });
  symbols = [1];
} else if (workload === 'multi') {
  cmds = multiSymbol({ seed, count });
  setup = multiSymbolSetupLength({ seed, count });
  symbols = Array.from({ length: 2000 }, (_, i) => i + 1);
} else {
  cmds = equityFlow({ seed, count, regime: workload as Regime });
  setup = 1;
  symbols = [1];
}
const head = cmds.slice(0, setup);
const body = cmds.slice(setup);

const makers: [string, () => Peer & { applyAll(c: readonly RawCommand[]): void }][] = [
  ['simple-book', () => new SimpleBook()],
  ['nodejs-order-book', () => new NodejsOrderBookPeer()],
];
const results: { peer: string; ms: number; cmdPerSec: number }[] = [];
const finals: Peer[] = [];
for (const [name, make] of makers) {
  let best = Infinity;
  let last: Peer | undefined;
  for (let rep = 0; rep < 3; rep++) {
    const p = make();
    p.applyAll(head);
    const t0 = performance.now();
    p.applyAll(body);
    best = Math.min(best, performance.now() - t0);
    last = p;
  }
  finals.push(last!);
  results.push({ peer: name, ms: +best.toFixed(1), cmdPerSec: Math.round((body.length / best) * 1000) });
}
const agree = symbols.every((s) => sameSummary(finals[0].summary(s), finals[1].summary(s)));
console.log(`workload ${workload}, ${body.length} timed commands (+${setup} setup), seed ${seed}, node ${process.version}`);
for (const r of results) console.log(`  ${r.peer.padEnd(18)} ${String(r.ms).padStart(9)} ms  ${(r.cmdPerSec / 1e6).toFixed(3)} M cmd/s`);
console.log(`  end-of-run summaries ${agree ? 'agree' : 'DIFFER'}`);
console.log(JSON.stringify({ workload, count, seed, setup, results, agree }));

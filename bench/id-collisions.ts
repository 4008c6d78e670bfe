// bench collisions: where SIMD probing of the order-id index pays. The index is linear probing,
// at most half full, with Fibonacci hashing; the release build compares 16 tags per instruction
// once a probe run goes past its home slot, the scalar build one tag at a time. Two cases:
//   typical:     resting ids spread by the hash; lookups of unknown ids end at or near home
//   adversarial: every resting id and every looked-up id share ONE home slot (ids built by
//                inverting the hash: what a hostile client could send), so each lookup walks
//                the whole run
// Each lookup is a CANCEL of a never-seen id (rejected unknown-order), run through the batch
// path; the figure is ns per command, medians over alternating runs of both builds.
import { Engine } from '../src/engine.js';
import { CoreBuild } from '../src/core.js';
import { emptyCommand, RawCommand } from '../src/records.js';
import * as L from '../assembly/layout.js';
import { encodeCommands } from './encode.js';
import { machineInfo, describeMachine } from './machine.js';

const M64 = 1n << 64n;
const MULTIPLIER = (BigInt(L.ID_HASH_MULTIPLIER_HI) << 32n) | BigInt(L.ID_HASH_MULTIPLIER_LO);

/** The multiplier's inverse mod 2^64 (Newton's iteration; the multiplier is odd). */
function inverse(k: bigint): bigint {
  let x = k;
  for (let i = 0; i < 6; i++) x = (x * (2n - k * x)) % M64;
  return ((x % M64) + M64) % M64;
}

/** Positive i64 ids whose home slot in a 2^bits index is `home`, `count` of them. */
export function collidingIds(bits: number, home: bigint, count: number, stride: bigint): bigint[] {
  const inv = inverse(MULTIPLIER);
  const ids: bigint[] = [];
  for (let j = 1n; ids.length < count; j++) {
    const id = (((home << (64n - BigInt(bits))) + j * stride) * inv) % M64;
    if (id > 0n && id < 1n << 63n) ids.push(id);
  }
  return ids;
}

/** The home slot of an id (the core's hash, restated only to check collidingIds in tests). */
export function homeOf(id: bigint, bits: number): bigint {
  return ((id * MULTIPLIER) % M64) >> (64n - BigInt(bits));
}

function stream(resting: bigint[], lookups: bigint[], count: number): { setup: RawCommand[]; measured: RawCommand[] } {
  const add = emptyCommand();
  Object.assign(add, { type: L.CMD_ADD_SYMBOL, symbol: 1, orderId: 1n, price: 1n, quantity: 1n, clientOrderId: 100_000n });
  const setup = [add, ...resting.map((id, i) => {
    const c = emptyCommand();
    return Object.assign(c, { type: L.CMD_NEW, symbol: 1, side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, orderId: id, price: BigInt(1 + i), quantity: 1n });
  })];
  const measured = Array.from({ length: count }, (_, k) => Object.assign(emptyCommand(), { type: L.CMD_CANCEL, symbol: 1, orderId: lookups[k % lookups.length], seq: BigInt(k) }));
  return { setup, measured };
}

function timeRun(build: CoreBuild, setup: Uint8Array, measured: Uint8Array, count: number): number {
  const engine = new Engine({ build, maxOrders: 1 << 16, maxSymbols: 2, ladderTicks: 1 << 17, batchSize: Math.max(count, setup.length / L.CMD_SIZE) });
  engine.commands.append(setup, 0, setup.length / L.CMD_SIZE);
  engine.run();
  engine.commands.append(measured, 0, count);
  const t0 = process.hrtime.bigint();
  engine.run();
  return Number(process.hrtime.bigint() - t0) / count;
}

export async function runIdCollisions(opts: { resting: number; lookups: number; runs: number }): Promise<void> {
  console.log(`machine: ${describeMachine(machineInfo())}`);
  const bits = new Engine({ maxOrders: 1 << 16, maxSymbols: 2, ladderTicks: 1 << 17 }).idIndexBits;
  const spread = Array.from({ length: opts.resting }, (_, i) => BigInt(i + 1) * 7919n);
  const unknown = Array.from({ length: 64 }, (_, i) => 1_000_000_007n + BigInt(i) * 104_729n);
  const cases = [
    { name: 'typical', ...stream(spread, unknown, opts.lookups) },
    { name: 'adversarial', ...stream(collidingIds(bits, 12345n, opts.resting, 1_000_003n), collidingIds(bits, 12345n, 64, 999_999_937n), opts.lookups) },
  ];
  console.log(`${opts.resting} resting orders, ${opts.lookups} lookups (cancels of unknown ids) per run, ${opts.runs} runs per build, index 2^${bits} slots`);
  console.log('case        | release ns/cmd | scalar ns/cmd | scalar / release');
  for (const c of cases) {
    const setup = encodeCommands(c.setup);
    const measured = encodeCommands(c.measured);
    const times: Record<string, number[]> = { release: [], scalar: [] };
    for (let r = 0; r < opts.runs; r++) {
      for (const build of (r % 2 ? ['scalar', 'release'] : ['release', 'scalar']) as CoreBuild[]) times[build].push(timeRun(build, setup, measured, opts.lookups));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rel = median(times.release);
    const sca = median(times.scalar);
    console.log(`${c.name.padEnd(11)} | ${rel.toFixed(1).padStart(14)} | ${sca.toFixed(1).padStart(13)} | ${(sca / rel).toFixed(2)}x`);
  }
}

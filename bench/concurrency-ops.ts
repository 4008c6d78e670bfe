// Per-operation costs of the pool and reclamation, one thread, no contention (mitata):
// JS alloc+free, enter+exit, protect+clear, and one matcher batch's worth of EBR.
//   node --import tsx bench/concurrency-ops.ts
import { bench, run, summary } from 'mitata';
import { Pool, poolHeaderBytes } from '../src/pool.js';
import { ReclaimDomain, reclaimBytes } from '../src/reclaim.js';
import { machineInfo, describeMachine } from './machine.js';

console.log(`machine: ${describeMachine(machineInfo())}`);
const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true } as WebAssembly.MemoryDescriptor);
const poolAt = 64;
const domainAt = poolAt + poolHeaderBytes(16);
const pool = Pool.init(memory, poolAt, { blockSize: 256, blocksPerChunk: 256, maxChunks: 16, initialChunks: 1, region: { start: domainAt + reclaimBytes(4), end: memory.buffer.byteLength } });
const domain = ReclaimDomain.init(memory, domainAt, pool, { maxParticipants: 4 });
const me = domain.register();
const word = domainAt + reclaimBytes(4) - 64; // any word in the domain's spare line serves as a protected source

let batches = 0;
summary(() => {
  bench('pool alloc + free (JS, Atomics)', () => pool.free(pool.alloc()));
  bench('epoch enter + exit (JS)', () => { me.enter(); me.exit(); });
  bench('hazard protect + clear (JS)', () => { me.protect(0, word >> 2, -1); me.clear(0); });
  bench('one batch of EBR: enter, alloc, retire, exit (reclaim every 64)', () => {
    me.enter();
    me.retire(pool.alloc());
    me.exit();
    if ((++batches & 63) === 0) me.reclaim();
  });
});
await run();

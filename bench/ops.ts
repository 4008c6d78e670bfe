// Single-thread, uncontended costs of the building blocks the docs quote (mitata):
//   pool and reclamation (docs/CONCURRENCY.md), a batch-of-1 ring round and Atomics.load
//   (docs/RINGS.md), the journal's frame CRC against zlib.crc32 and a write's 4,096 frames sealed
//   (docs/JOURNAL.md, docs/SERVER.md), and the clocks
//   through the native helper (docs/NATIVE.md).
//   node --import tsx bench/ops.ts
import { crc32 } from 'node:zlib';
import { bench, group, run } from 'mitata';
import { Pool, poolHeaderBytes } from '../src/pool.js';
import { ReclaimDomain, reclaimBytes } from '../src/reclaim.js';
import { SpscRing } from '../src/ring.js';
import { crc32Range, sealFramesJs, FRAME_SIZE } from '../src/journal/segment.js';
import { native } from '../src/native.js';
import { machineInfo, describeMachine } from './machine.js';

console.log(`machine: ${describeMachine(machineInfo())}`);

// ---- pool and reclamation ----
const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true } as WebAssembly.MemoryDescriptor);
const poolAt = 64;
const domainAt = poolAt + poolHeaderBytes(16);
const pool = Pool.init(memory, poolAt, { blockSize: 256, blocksPerChunk: 256, maxChunks: 16, initialChunks: 1, region: { start: domainAt + reclaimBytes(4), end: memory.buffer.byteLength } });
const domain = ReclaimDomain.init(memory, domainAt, pool, { maxParticipants: 4 });
const me = domain.register();
const word = domainAt + reclaimBytes(4) - 64; // a word in the domain's spare line, as a protected source
let batches = 0;
group('pool and reclamation', () => {
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

// ---- rings ----
const ringMemory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true } as WebAssembly.MemoryDescriptor);
const ring = SpscRing.init(ringMemory, 0, 1024);
const ringI32 = new Int32Array(ringMemory.buffer);
group('rings', () => {
  bench('SPSC batch-of-1 round: claim, write, publish, available, read, release (JS)', () => {
    const seq = ring.claim(1);
    ringI32[ring.slotOffset(seq) >> 2] = seq;
    ring.publish(seq, 1);
    if (ring.available() !== 1 || ringI32[ring.readOffset >> 2] !== seq) throw new Error('ring round lost its item');
    ring.release(1);
  });
  bench('Atomics.load', () => Atomics.load(ringI32, 0));
});

// ---- journal CRC ----
const frame = new Uint8Array(76).map((_, i) => i * 7);
group('journal frame CRC (76 bytes)', () => {
  bench('crc32Range (JS, slice-by-8)', () => crc32Range(frame, 0, 76));
  bench('zlib.crc32', () => crc32(frame));
});
// What a journal write runs once: every frame's CRC (divide by 4,096 for ns per frame).
const frames = new Uint8Array(4096 * FRAME_SIZE).map((_, i) => i * 13);
group('journal write: seal 4,096 frames of 80 bytes', () => {
  bench('sealFramesJs (JS fallback, slice-by-8 over words)', () => sealFramesJs(frames));
  if (native) {
    const n = native;
    bench('native crc32Frames (slice-by-8, 4 frames stepped together)', () => n.crc32Frames(frames, FRAME_SIZE));
  }
});

// ---- clocks ----
group('clocks', () => {
  bench('performance.now()', () => performance.now());
  bench('process.hrtime.bigint()', () => process.hrtime.bigint());
  if (native) {
    const n = native;
    bench('native tscNow()', () => n.tscNow());
    bench('native monotonicNs()', () => n.monotonicNs());
    bench('native currentCpu()', () => n.currentCpu());
  }
});

await run();

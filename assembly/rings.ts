// Entry of wasm/rings.wasm (asconfig.rings.json): the rings of assembly/ring.ts for Wasm threads,
// a module of its own because the core's scalar build must have no atomics.
//
// Imports nothing but the shared memory (env.memory); every export takes and returns i32.
// No statics and no data segments: instantiating it on any thread never writes the memory.
import {
  RING_LAYOUT_VERSION, RING_TAG_PRODUCER, RING_TAG_ITEM, RING_TAG_CHECK, RING_TAG_LAST, RING_TAG_MIX,
} from './ring-layout';
import { ringClaim, ringPublish, ringSlotOffset } from './ring';

export {
  ringBytesFor, ringInit, ringValid, ringCapacity, ringTryClaim, ringClaim, ringPublish, ringClose, ringClosed,
  ringAvailable, ringReadSequence, ringReadOffset, ringWaitAvailable, ringRelease,
} from './ring';
export { scatterRecords } from './scatter';

export function ringLayoutVersion(): i32 {
  return RING_LAYOUT_VERSION;
}

export function ringSlot(ring: usize, seq: i32): usize {
  return ringSlotOffset(ring, seq);
}

/**
 * Tests and benchmarks: produces `count` tagged items (ring-layout.ts RING_TAG_*) numbered from
 * `firstItem`, in batches of 1..maxBatch drawn from xorshift32(seed) (the same draw as the JS
 * producer in test/workers/) or, with seed 0, of exactly maxBatch, waiting for room by the ring's
 * strategy. Returns `count`, or a negative RING_* code if a claim failed.
 */
export function produceTagged(ring: usize, producer: i32, firstItem: i32, count: i32, maxBatch: i32, seed: i32): i32 {
  let x = seed | 1;
  let item = firstItem;
  const end = firstItem + count;
  while (item != end) {
    let n = maxBatch;
    if (seed != 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      n = <i32>(<u32>x % <u32>maxBatch) + 1;
    }
    if (n > end - item) n = end - item;
    const seq = ringClaim(ring, n);
    if (seq < 0) return seq;
    for (let k = 0; k < n; k++) {
      const at = ringSlotOffset(ring, seq + k);
      store<i32>(at, producer, RING_TAG_PRODUCER);
      store<i32>(at, item, RING_TAG_ITEM);
      store<i32>(at, (item * RING_TAG_MIX) ^ producer, RING_TAG_CHECK);
      store<i32>(at, ~item, RING_TAG_LAST);
      item++;
    }
    ringPublish(ring, seq, n);
  }
  return count;
}

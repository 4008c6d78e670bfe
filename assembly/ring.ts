// The rings in AssemblyScript: the same operations as src/ring.ts over the same layout
// (ring-layout.ts), so a Wasm thread and a JS thread can be the two ends of one ring.
//
// Every function takes the ring's address in the imported shared memory; no statics (each
// instantiation would reset them, and each thread has its own instance), no allocation, no
// managed objects. Cross-thread words use atomic.* (sequentially consistent, like JS Atomics);
// slot bytes are plain loads and stores ordered by them. See docs/RINGS.md for the argument.
//
// Not part of the core: the core's scalar build must have no atomics. Built by asconfig.rings.json
// from assembly/rings.ts into wasm/rings.wasm.
import {
  RING_MAGIC, RING_LAYOUT_VERSION, RING_SEQ_MASK, RING_SLOT_SIZE, RING_SLOT_SHIFT, RING_MIN_CAPACITY,
  RING_MAX_CAPACITY, RING_LINE, RING_FLAGS_AT, RING_NO_SEQUENCE, RING_BAD_ARGUMENT,
  RING_H_MAGIC, RING_H_VERSION, RING_H_CAPACITY, RING_H_MASK, RING_H_KIND, RING_H_WAIT, RING_H_SLOT_SIZE,
  RING_H_SLOTS_AT, RING_H_SPINS, RING_H_YIELD_US, RING_H_FIRST_SEQ, RING_H_CLAIM, RING_H_PROD_CACHE,
  RING_H_PUBLISHED, RING_H_CONSUMED, RING_H_CONS_CACHE, RING_H_CONS_SLEEPING, RING_H_WAKE, RING_H_CLOSED,
  RING_H_PROD_SLEEPING, RING_KIND_SPSC, RING_KIND_MPSC, RING_WAIT_BUSY_SPIN, RING_WAIT_SPIN_YIELD,
  RING_WAIT_BLOCKING, RING_DEFAULT_SPINS, RING_DEFAULT_YIELD_US, RING_ALIGN,
} from './ring-layout';

// @ts-ignore: decorator
@inline function flagsBytes(capacity: i32): i32 {
  return (capacity * 4 + RING_LINE - 1) & ~(RING_LINE - 1);
}

/** Bytes a ring of `capacity` slots needs, or RING_BAD_ARGUMENT for a bad capacity. */
export function ringBytesFor(capacity: i32): i32 {
  if (capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) != 0) return RING_BAD_ARGUMENT;
  return RING_FLAGS_AT + flagsBytes(capacity) + capacity * RING_SLOT_SIZE;
}

/**
 * Writes a ring header and its flags at `ring` (64-byte aligned, ringBytesFor(capacity) bytes).
 * kind: RING_KIND_*; wait: RING_WAIT_*; first: the first sequence (0..2^31-1). 0, or
 * RING_BAD_ARGUMENT (nothing written). Spins and the yield sleep take their defaults.
 */
export function ringInit(ring: usize, capacity: i32, kind: i32, wait: i32, first: i32): i32 {
  if (ringBytesFor(capacity) < 0 || (ring & (RING_ALIGN - 1)) != 0 || first < 0) return RING_BAD_ARGUMENT;
  if (kind != RING_KIND_SPSC && kind != RING_KIND_MPSC) return RING_BAD_ARGUMENT;
  if (wait < RING_WAIT_BUSY_SPIN || wait > RING_WAIT_BLOCKING) return RING_BAD_ARGUMENT;
  memory.fill(ring, 0, RING_FLAGS_AT + flagsBytes(capacity)); // header and flags, padding included
  const mask = capacity - 1;
  store<i32>(ring, RING_LAYOUT_VERSION, RING_H_VERSION);
  store<i32>(ring, capacity, RING_H_CAPACITY);
  store<i32>(ring, mask, RING_H_MASK);
  store<i32>(ring, kind, RING_H_KIND);
  store<i32>(ring, wait, RING_H_WAIT);
  store<i32>(ring, RING_SLOT_SIZE, RING_H_SLOT_SIZE);
  store<i32>(ring, RING_FLAGS_AT + flagsBytes(capacity), RING_H_SLOTS_AT);
  store<i32>(ring, RING_DEFAULT_SPINS, RING_H_SPINS);
  store<i32>(ring, RING_DEFAULT_YIELD_US, RING_H_YIELD_US);
  store<i32>(ring, first, RING_H_FIRST_SEQ);
  store<i32>(ring, first, RING_H_CLAIM);
  store<i32>(ring, first, RING_H_PROD_CACHE);
  store<i32>(ring, first, RING_H_PUBLISHED);
  store<i32>(ring, first, RING_H_CONSUMED);
  store<i32>(ring, first, RING_H_CONS_CACHE);
  const flags = ring + RING_FLAGS_AT;
  for (let i = 0; i < capacity; i++) {
    const seq = (first + ((i - first) & mask)) & RING_SEQ_MASK;
    store<i32>(flags + (<usize>i << 2), (seq - capacity) & RING_SEQ_MASK);
  }
  atomic.store<i32>(ring, RING_MAGIC, RING_H_MAGIC);
  return 0;
}

/** 1 if a ring of this layout version is at `ring`. */
export function ringValid(ring: usize): i32 {
  return i32(atomic.load<i32>(ring, RING_H_MAGIC) == RING_MAGIC && load<i32>(ring, RING_H_VERSION) == RING_LAYOUT_VERSION);
}

export function ringCapacity(ring: usize): i32 {
  return load<i32>(ring, RING_H_CAPACITY);
}

/** Address of the slot holding sequence `seq`. */
// @ts-ignore: decorator
@inline export function ringSlotOffset(ring: usize, seq: i32): usize {
  return ring + <usize>load<i32>(ring, RING_H_SLOTS_AT) + (<usize>(seq & load<i32>(ring, RING_H_MASK)) << RING_SLOT_SHIFT);
}

// ---- producer ---------------------------------------------------------------------------------

function spscTryClaim(ring: usize, n: i32): i32 {
  const capacity = load<i32>(ring, RING_H_CAPACITY);
  const claim = load<i32>(ring, RING_H_CLAIM);
  if (capacity - ((claim - load<i32>(ring, RING_H_PROD_CACHE)) & RING_SEQ_MASK) < n) {
    const consumed = atomic.load<i32>(ring, RING_H_CONSUMED);
    store<i32>(ring, consumed, RING_H_PROD_CACHE);
    if (capacity - ((claim - consumed) & RING_SEQ_MASK) < n) return RING_NO_SEQUENCE;
  }
  store<i32>(ring, (claim + n) & RING_SEQ_MASK, RING_H_CLAIM);
  return claim;
}

function mpscTryClaim(ring: usize, n: i32): i32 {
  const capacity = load<i32>(ring, RING_H_CAPACITY);
  while (true) {
    const claim = atomic.load<i32>(ring, RING_H_CLAIM);
    const consumed = atomic.load<i32>(ring, RING_H_CONSUMED);
    if (capacity - ((claim - consumed) & RING_SEQ_MASK) < n) {
      if (atomic.load<i32>(ring, RING_H_CLAIM) == claim) return RING_NO_SEQUENCE;
      continue;
    }
    if (atomic.cmpxchg<i32>(ring, claim, (claim + n) & RING_SEQ_MASK, RING_H_CLAIM) == claim) return claim;
  }
  return RING_NO_SEQUENCE; // unreachable
}

/** Claims n (1..capacity) sequences: the first, RING_NO_SEQUENCE when full, RING_BAD_ARGUMENT. */
export function ringTryClaim(ring: usize, n: i32): i32 {
  if (n < 1 || n > load<i32>(ring, RING_H_CAPACITY)) return RING_BAD_ARGUMENT;
  return load<i32>(ring, RING_H_KIND) == RING_KIND_MPSC ? mpscTryClaim(ring, n) : spscTryClaim(ring, n);
}

/** Claims n sequences, waiting for room by the ring's strategy; the first, or RING_BAD_ARGUMENT. */
export function ringClaim(ring: usize, n: i32): i32 {
  let seq = ringTryClaim(ring, n);
  if (seq != RING_NO_SEQUENCE) return seq;
  const wait = load<i32>(ring, RING_H_WAIT);
  const spinLimit = load<i32>(ring, RING_H_SPINS);
  let spins = 0;
  while (true) {
    seq = ringTryClaim(ring, n);
    if (seq != RING_NO_SEQUENCE) return seq;
    if (wait == RING_WAIT_BUSY_SPIN || ++spins < spinLimit) continue;
    if (wait == RING_WAIT_SPIN_YIELD) {
      const timeout = <i64>load<i32>(ring, RING_H_YIELD_US) * 1000;
      atomic.wait<i32>(ring + RING_H_CONSUMED, atomic.load<i32>(ring, RING_H_CONSUMED), timeout);
      continue;
    }
    atomic.add<i32>(ring, 1, RING_H_PROD_SLEEPING);
    const consumed = atomic.load<i32>(ring, RING_H_CONSUMED);
    seq = ringTryClaim(ring, n);
    if (seq != RING_NO_SEQUENCE) {
      atomic.sub<i32>(ring, 1, RING_H_PROD_SLEEPING);
      return seq;
    }
    atomic.wait<i32>(ring + RING_H_CONSUMED, consumed, -1);
    atomic.sub<i32>(ring, 1, RING_H_PROD_SLEEPING);
  }
  return RING_NO_SEQUENCE; // unreachable
}

// @ts-ignore: decorator
@inline function wakeConsumer(ring: usize): void {
  atomic.add<i32>(ring, 1, RING_H_WAKE);
  atomic.notify(ring + RING_H_WAKE, 1);
}

/** Makes sequences first .. first+n-1 visible to the consumer (their slots must be written). */
export function ringPublish(ring: usize, first: i32, n: i32): void {
  if (load<i32>(ring, RING_H_KIND) == RING_KIND_MPSC) {
    const flags = ring + RING_FLAGS_AT;
    const mask = load<i32>(ring, RING_H_MASK);
    for (let k = n - 1; k > 0; k--) {
      const seq = (first + k) & RING_SEQ_MASK;
      store<i32>(flags + (<usize>(seq & mask) << 2), seq);
    }
    atomic.store<i32>(flags + (<usize>(first & mask) << 2), first);
  } else {
    atomic.store<i32>(ring, (first + n) & RING_SEQ_MASK, RING_H_PUBLISHED);
  }
  if (atomic.load<i32>(ring, RING_H_CONS_SLEEPING) != 0) wakeConsumer(ring);
}

/** Marks the ring closed and wakes the consumer. */
export function ringClose(ring: usize): void {
  atomic.store<i32>(ring, 1, RING_H_CLOSED);
  atomic.add<i32>(ring, 1, RING_H_WAKE);
  atomic.notify(ring + RING_H_WAKE, -1);
}

export function ringClosed(ring: usize): i32 {
  return atomic.load<i32>(ring, RING_H_CLOSED);
}

// ---- consumer ---------------------------------------------------------------------------------

/** Ready slots from ringReadSequence, contiguous in memory (the run stops at the wrap); 0 if none. */
export function ringAvailable(ring: usize): i32 {
  const capacity = load<i32>(ring, RING_H_CAPACITY);
  const mask = capacity - 1;
  const consumed = load<i32>(ring, RING_H_CONSUMED);
  const toWrap = capacity - (consumed & mask);
  let end = load<i32>(ring, RING_H_CONS_CACHE);
  let ready = (end - consumed) & RING_SEQ_MASK;
  if (ready == 0) {
    if (load<i32>(ring, RING_H_KIND) == RING_KIND_MPSC) {
      const flags = ring + RING_FLAGS_AT;
      const limit = (consumed + toWrap) & RING_SEQ_MASK;
      while (end != limit && atomic.load<i32>(flags + (<usize>(end & mask) << 2)) == end) end = (end + 1) & RING_SEQ_MASK;
    } else {
      end = atomic.load<i32>(ring, RING_H_PUBLISHED);
    }
    store<i32>(ring, end, RING_H_CONS_CACHE);
    ready = (end - consumed) & RING_SEQ_MASK;
    if (ready == 0) return 0;
  }
  return ready < toWrap ? ready : toWrap;
}

export function ringReadSequence(ring: usize): i32 {
  return load<i32>(ring, RING_H_CONSUMED);
}

/** Address of the run ringAvailable reports. */
export function ringReadOffset(ring: usize): usize {
  return ringSlotOffset(ring, load<i32>(ring, RING_H_CONSUMED));
}

/** Waits by the ring's strategy until ringAvailable > 0 and returns it; 0 = closed and drained. */
export function ringWaitAvailable(ring: usize): i32 {
  let n = ringAvailable(ring);
  if (n > 0) return n;
  const wait = load<i32>(ring, RING_H_WAIT);
  const spinLimit = load<i32>(ring, RING_H_SPINS);
  let spins = 0;
  while (true) {
    n = ringAvailable(ring);
    if (n > 0) return n;
    if (atomic.load<i32>(ring, RING_H_CLOSED) != 0) return ringAvailable(ring);
    if (wait == RING_WAIT_BUSY_SPIN || ++spins < spinLimit) continue;
    if (wait == RING_WAIT_SPIN_YIELD) {
      const timeout = <i64>load<i32>(ring, RING_H_YIELD_US) * 1000;
      atomic.wait<i32>(ring + RING_H_WAKE, atomic.load<i32>(ring, RING_H_WAKE), timeout);
      continue;
    }
    atomic.store<i32>(ring, 1, RING_H_CONS_SLEEPING);
    const wake = atomic.load<i32>(ring, RING_H_WAKE);
    n = ringAvailable(ring);
    if (n > 0 || atomic.load<i32>(ring, RING_H_CLOSED) != 0) {
      atomic.store<i32>(ring, 0, RING_H_CONS_SLEEPING);
      return n > 0 ? n : ringAvailable(ring);
    }
    atomic.wait<i32>(ring + RING_H_WAKE, wake, -1);
    atomic.store<i32>(ring, 0, RING_H_CONS_SLEEPING);
  }
  return 0; // unreachable
}

/** Gives n reported slots back to the producers: 0, or RING_BAD_ARGUMENT (nothing changed). */
export function ringRelease(ring: usize, n: i32): i32 {
  const consumed = load<i32>(ring, RING_H_CONSUMED);
  if (n < 1 || n > ((load<i32>(ring, RING_H_CONS_CACHE) - consumed) & RING_SEQ_MASK)) return RING_BAD_ARGUMENT;
  atomic.store<i32>(ring, (consumed + n) & RING_SEQ_MASK, RING_H_CONSUMED);
  if (atomic.load<i32>(ring, RING_H_PROD_SLEEPING) != 0) atomic.notify(ring + RING_H_CONSUMED, -1);
  return 0;
}

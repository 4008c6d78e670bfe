// Lock-free rings of 64-byte records over shared memory: SPSC and MPSC (docs/RINGS.md).
//
// The ring lives in a SharedArrayBuffer or a shared WebAssembly.Memory's buffer at a 64-byte
// aligned byte offset; its layout is assembly/ring-layout.ts, shared with the AssemblyScript
// version (assembly/ring.ts, built into wasm/rings.wasm), so a JS thread and a Wasm thread can be
// the two ends of one ring. Every piece of ring state is in that memory: any thread can attach
// with `new SpscRing(buffer, offset)`.
//
// Producer:  const seq = ring.claim(n);            // or tryClaim(n): -1 when full
//            for (k < n) write 64 bytes at ring.slotOffset(seq + k)
//            ring.publish(seq, n);
// Consumer:  const n = ring.waitAvailable();       // or available(): 0 when nothing is ready
//            the run is ring.readOffset .. + n * 64, contiguous in memory (it stops at the wrap)
//            ring.release(n);
//
// Nothing on the hot path allocates. Memory ordering: every cross-thread word is accessed with
// Atomics (sequentially consistent); slot bytes are plain reads and writes ordered by them.
import {
  RING_MAGIC, RING_LAYOUT_VERSION, RING_SEQ_MASK, RING_SLOT_SIZE, RING_SLOT_SHIFT, RING_MIN_CAPACITY,
  RING_MAX_CAPACITY, RING_ALIGN, RING_LINE, RING_HEADER_SIZE, RING_FLAGS_AT,
  RING_H_MAGIC, RING_H_VERSION, RING_H_CAPACITY, RING_H_MASK, RING_H_KIND, RING_H_WAIT, RING_H_SLOT_SIZE,
  RING_H_SLOTS_AT, RING_H_SPINS, RING_H_YIELD_US, RING_H_FIRST_SEQ, RING_H_CLAIM, RING_H_PROD_CACHE,
  RING_H_PUBLISHED, RING_H_CONSUMED, RING_H_CONS_CACHE, RING_H_CONS_SLEEPING, RING_H_WAKE, RING_H_CLOSED,
  RING_H_PROD_SLEEPING, RING_KIND_SPSC, RING_KIND_MPSC, RING_WAIT_BUSY_SPIN, RING_WAIT_SPIN_YIELD,
  RING_WAIT_BLOCKING, RING_DEFAULT_SPINS, RING_DEFAULT_YIELD_US,
} from '../assembly/ring-layout.js';

// Local copies: under tsx a module namespace is a set of getters; these are plain constants.
const MASK31 = RING_SEQ_MASK;
const SLOT_SHIFT = RING_SLOT_SHIFT;

export type RingWait = 'busy-spin' | 'spin-yield' | 'blocking';
export const RING_WAITS: Record<RingWait, number> = {
  'busy-spin': RING_WAIT_BUSY_SPIN,
  'spin-yield': RING_WAIT_SPIN_YIELD,
  blocking: RING_WAIT_BLOCKING,
};
export type RingKind = 'spsc' | 'mpsc';

export interface RingOptions {
  /** How claim() and waitAvailable() wait (default: the strategy the ring was initialised with). */
  wait?: RingWait;
  /** Spins before sleeping (spin-yield, blocking). */
  spins?: number;
  /** spin-yield: how long one sleep lasts, in microseconds. */
  yieldMicros?: number;
}

export interface RingInitOptions extends RingOptions {
  /** The first sequence (0 .. 2^31-1, default 0); tests start near 2^31 to cross the wrap. */
  firstSequence?: number;
}

/**
 * Where a ring may live: a shared WebAssembly.Memory (its buffer), a shared buffer, or a view of
 * one (its byteOffset is added). A ring object keeps the buffer it was given: after memory.grow,
 * attach a new one (shared memory never moves, so old and new objects see the same bytes).
 */
export type RingMemory = WebAssembly.Memory | SharedArrayBuffer | ArrayBuffer | ArrayBufferView;

function bufferOf(memory: RingMemory, offset: number): { buffer: ArrayBufferLike; base: number } {
  if (memory instanceof WebAssembly.Memory) return { buffer: memory.buffer, base: offset };
  if (ArrayBuffer.isView(memory)) return { buffer: memory.buffer, base: memory.byteOffset + offset };
  return { buffer: memory as ArrayBufferLike, base: offset };
}

const align = (n: number) => Math.ceil(n / RING_LINE) * RING_LINE;

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY}; got ${String(capacity)}`);
  }
}

/** Bytes a ring of `capacity` slots occupies: header, available flags, slots. */
export function ringBytes(capacity: number): number {
  checkCapacity(capacity);
  return RING_FLAGS_AT + align(capacity * 4) + capacity * RING_SLOT_SIZE;
}

function waitCode(wait: RingWait | undefined, fallback: number): number {
  if (wait === undefined) return fallback;
  const code = RING_WAITS[wait];
  if (code === undefined) throw new TypeError(`wait must be one of ${Object.keys(RING_WAITS).join(', ')}; got ${String(wait)}`);
  return code;
}

function nonNegativeInt(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`${field} must be an integer from 0 to 2^31-1; got ${String(value)}`);
  return value;
}

/** Writes a ring header (and the flags) at `offset`; the slots are left as they are. */
export function initRing(memory: RingMemory, offset: number, capacity: number, kind: RingKind, options: RingInitOptions = {}): void {
  const { buffer, base } = bufferOf(memory, offset);
  if (!Number.isInteger(base) || base < 0 || base % RING_ALIGN !== 0) throw new RangeError(`a ring must start at a multiple of ${RING_ALIGN} bytes; got ${base}`);
  const bytes = ringBytes(capacity);
  if (base + bytes > buffer.byteLength) throw new RangeError(`a ring of ${capacity} slots needs ${bytes} bytes at ${base}; the buffer has ${buffer.byteLength}`);
  const first = nonNegativeInt(options.firstSequence, 'firstSequence', 0);
  const slotsAt = RING_FLAGS_AT + align(capacity * 4);
  new Int32Array(buffer, base, slotsAt >> 2).fill(0); // header and flags, padding included
  const i32 = new Int32Array(buffer, base, RING_FLAGS_AT >> 2);
  const mask = capacity - 1;
  i32[RING_H_MAGIC >> 2] = RING_MAGIC;
  i32[RING_H_VERSION >> 2] = RING_LAYOUT_VERSION;
  i32[RING_H_CAPACITY >> 2] = capacity;
  i32[RING_H_MASK >> 2] = mask;
  i32[RING_H_KIND >> 2] = kind === 'mpsc' ? RING_KIND_MPSC : RING_KIND_SPSC;
  i32[RING_H_WAIT >> 2] = waitCode(options.wait, RING_WAIT_SPIN_YIELD);
  i32[RING_H_SLOT_SIZE >> 2] = RING_SLOT_SIZE;
  i32[RING_H_SLOTS_AT >> 2] = slotsAt;
  i32[RING_H_SPINS >> 2] = nonNegativeInt(options.spins, 'spins', RING_DEFAULT_SPINS);
  i32[RING_H_YIELD_US >> 2] = nonNegativeInt(options.yieldMicros, 'yieldMicros', RING_DEFAULT_YIELD_US);
  i32[RING_H_FIRST_SEQ >> 2] = first;
  for (const word of [RING_H_CLAIM, RING_H_PROD_CACHE, RING_H_PUBLISHED, RING_H_CONSUMED, RING_H_CONS_CACHE]) i32[word >> 2] = first;
  // Flag of slot i = the sequence that used slot i one lap before the first: "not yet published".
  const flags = new Int32Array(buffer, base + RING_FLAGS_AT, capacity);
  for (let i = 0; i < capacity; i++) {
    const seq = (first + ((i - first) & mask)) & MASK31;
    flags[i] = (seq - capacity) & MASK31;
  }
  Atomics.store(i32, RING_H_MAGIC >> 2, RING_MAGIC); // a fence: the header is visible to whoever reads the magic atomically
}

/** The common half of both rings: slots, the consumer, the wait strategies. */
abstract class Ring {
  /** The buffer the ring lives in; slotOffset() and readOffset are byte offsets into it. */
  readonly buffer: ArrayBufferLike;
  /** Byte offset of the ring's header in `buffer`. */
  readonly base: number;
  readonly capacity: number;
  readonly mask: number;
  /** Byte offset of slot 0 in `buffer`. */
  readonly slotsAt: number;
  /** Int32Array over the whole buffer (ring words are addressed by absolute index). */
  readonly i32: Int32Array;
  /** The wait strategy code (RING_WAIT_*), spins and the spin-yield sleep in milliseconds. */
  readonly wait: number;
  readonly spins: number;
  readonly yieldMs: number;

  protected readonly iClaim: number;
  protected readonly iProdCache: number;
  protected readonly iPublished: number;
  protected readonly iConsumed: number;
  protected readonly iConsCache: number;
  protected readonly iConsSleeping: number;
  protected readonly iWake: number;
  protected readonly iClosed: number;
  protected readonly iProdSleeping: number;
  protected readonly iFlags: number;

  constructor(memory: RingMemory, offset: number, kind: number, options: RingOptions = {}) {
    const { buffer, base } = bufferOf(memory, offset);
    if (!Number.isInteger(base) || base < 0 || base % RING_ALIGN !== 0 || base + RING_HEADER_SIZE > buffer.byteLength) {
      throw new RangeError(`no ring header fits at byte ${base} of a ${buffer.byteLength}-byte buffer`);
    }
    this.buffer = buffer;
    this.base = base;
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    const w = base >> 2;
    const i32 = this.i32;
    if (Atomics.load(i32, w + (RING_H_MAGIC >> 2)) !== RING_MAGIC) throw new Error(`no ring at byte ${base} (bad magic): call init() first`);
    if (i32[w + (RING_H_VERSION >> 2)] !== RING_LAYOUT_VERSION) throw new Error(`ring at byte ${base} has layout version ${i32[w + (RING_H_VERSION >> 2)]}, this code ${RING_LAYOUT_VERSION}`);
    if (i32[w + (RING_H_KIND >> 2)] !== kind) throw new Error(`ring at byte ${base} is ${i32[w + (RING_H_KIND >> 2)] === RING_KIND_MPSC ? 'MPSC' : 'SPSC'}, not ${kind === RING_KIND_MPSC ? 'MPSC' : 'SPSC'}`);
    this.capacity = i32[w + (RING_H_CAPACITY >> 2)];
    this.mask = i32[w + (RING_H_MASK >> 2)];
    this.slotsAt = base + i32[w + (RING_H_SLOTS_AT >> 2)];
    if (this.slotsAt + this.capacity * RING_SLOT_SIZE > buffer.byteLength) throw new RangeError(`ring at byte ${base} runs past the end of the buffer`);
    this.wait = waitCode(options.wait, i32[w + (RING_H_WAIT >> 2)]);
    this.spins = nonNegativeInt(options.spins, 'spins', i32[w + (RING_H_SPINS >> 2)]);
    this.yieldMs = nonNegativeInt(options.yieldMicros, 'yieldMicros', i32[w + (RING_H_YIELD_US >> 2)]) / 1000;
    this.iClaim = w + (RING_H_CLAIM >> 2);
    this.iProdCache = w + (RING_H_PROD_CACHE >> 2);
    this.iPublished = w + (RING_H_PUBLISHED >> 2);
    this.iConsumed = w + (RING_H_CONSUMED >> 2);
    this.iConsCache = w + (RING_H_CONS_CACHE >> 2);
    this.iConsSleeping = w + (RING_H_CONS_SLEEPING >> 2);
    this.iWake = w + (RING_H_WAKE >> 2);
    this.iClosed = w + (RING_H_CLOSED >> 2);
    this.iProdSleeping = w + (RING_H_PROD_SLEEPING >> 2);
    this.iFlags = w + (RING_FLAGS_AT >> 2);
  }

  /** Bytes a ring of `capacity` slots occupies (a multiple of 64). */
  static bytesFor(capacity: number): number {
    return ringBytes(capacity);
  }

  /** Byte offset in `buffer` of the slot that holds sequence `seq`. */
  slotOffset(seq: number): number {
    return this.slotsAt + ((seq & this.mask) << SLOT_SHIFT);
  }

  // ---- producer -------------------------------------------------------------------------------

  /** Claims n (1..capacity) consecutive sequences; returns the first, or -1 if the ring lacks room. */
  abstract tryClaim(n: number): number;
  /** Makes sequences first .. first+n-1 visible to the consumer (their slots must be written). */
  abstract publish(first: number, n: number): void;

  /** Claims n sequences, waiting for room by the ring's strategy; returns the first. */
  claim(n: number): number {
    const seq = this.tryClaim(n);
    return seq >= 0 ? seq : this.claimSlow(n);
  }

  private claimSlow(n: number): number {
    if (!(n >= 1 && n <= this.capacity)) throw new RangeError(`claim: n must be 1..${this.capacity}; got ${n}`);
    const i32 = this.i32;
    let spins = 0;
    for (;;) {
      const seq = this.tryClaim(n);
      if (seq >= 0) return seq;
      if (this.wait === RING_WAIT_BUSY_SPIN || ++spins < this.spins) continue;
      if (this.wait === RING_WAIT_SPIN_YIELD) {
        // Sleep until the consumer moves (it does not notify: the timeout bounds the delay).
        Atomics.wait(i32, this.iConsumed, Atomics.load(i32, this.iConsumed), this.yieldMs);
        continue;
      }
      // Blocking: announce, re-check, sleep on the consumer sequence until it changes.
      Atomics.add(i32, this.iProdSleeping, 1);
      const consumed = Atomics.load(i32, this.iConsumed);
      const again = this.tryClaim(n);
      if (again >= 0) {
        Atomics.sub(i32, this.iProdSleeping, 1);
        return again;
      }
      Atomics.wait(i32, this.iConsumed, consumed);
      Atomics.sub(i32, this.iProdSleeping, 1);
    }
  }

  /** Marks the ring closed (no more items) and wakes the consumer. */
  close(): void {
    const i32 = this.i32;
    Atomics.store(i32, this.iClosed, 1);
    Atomics.add(i32, this.iWake, 1);
    Atomics.notify(i32, this.iWake);
  }

  get closed(): boolean {
    return Atomics.load(this.i32, this.iClosed) !== 0;
  }

  // ---- consumer -------------------------------------------------------------------------------

  /**
   * How many published slots are ready, starting at readSequence, contiguous in memory: the run
   * stops at the end of the slot array (the next call starts at slot 0). 0 when nothing is ready.
   */
  abstract available(): number;

  /** The consumer's sequence: the first slot of the run available() reports. */
  get readSequence(): number {
    return this.i32[this.iConsumed];
  }

  /** Byte offset in `buffer` of the run available() reports (hand it to the core as one pointer). */
  get readOffset(): number {
    return this.slotsAt + ((this.i32[this.iConsumed] & this.mask) << SLOT_SHIFT);
  }

  /** Waits by the ring's strategy until available() > 0 and returns it; 0 means closed and drained. */
  waitAvailable(): number {
    const n = this.available();
    return n > 0 ? n : this.waitSlow();
  }

  private waitSlow(): number {
    const i32 = this.i32;
    let spins = 0;
    for (;;) {
      let n = this.available();
      if (n > 0) return n;
      if (Atomics.load(i32, this.iClosed) !== 0) return this.available();
      if (this.wait === RING_WAIT_BUSY_SPIN || ++spins < this.spins) continue;
      if (this.wait === RING_WAIT_SPIN_YIELD) {
        Atomics.wait(i32, this.iWake, Atomics.load(i32, this.iWake), this.yieldMs);
        continue;
      }
      // Blocking: announce, then re-check; a producer that publishes after the announcement sees
      // it and bumps WAKE, so the wait below either sees a changed WAKE or is notified.
      Atomics.store(i32, this.iConsSleeping, 1);
      const wake = Atomics.load(i32, this.iWake);
      n = this.available();
      if (n > 0 || Atomics.load(i32, this.iClosed) !== 0) {
        Atomics.store(i32, this.iConsSleeping, 0);
        return n > 0 ? n : this.available();
      }
      Atomics.wait(i32, this.iWake, wake);
      Atomics.store(i32, this.iConsSleeping, 0);
    }
  }

  /** Gives n slots of the reported run back to the producers. */
  release(n: number): void {
    const i32 = this.i32;
    const consumed = i32[this.iConsumed];
    if (!(n >= 1 && n <= ((i32[this.iConsCache] - consumed) & MASK31))) {
      throw new RangeError(`release: n must be 1..${(i32[this.iConsCache] - consumed) & MASK31} (the slots available() reported); got ${n}`);
    }
    // Release store: every read of these slots happened before; a producer that sees the new
    // sequence may overwrite them.
    Atomics.store(i32, this.iConsumed, (consumed + n) & MASK31);
    if (Atomics.load(i32, this.iProdSleeping) !== 0) Atomics.notify(i32, this.iConsumed);
  }

  /** Claimed and not yet released (a snapshot; exact only when the ring is quiet). */
  size(): number {
    return (Atomics.load(this.i32, this.iClaim) - Atomics.load(this.i32, this.iConsumed)) & MASK31;
  }

  /** Wakes a blocked consumer if it announced sleep (after a publish). */
  protected wakeConsumer(): void {
    const i32 = this.i32;
    Atomics.add(i32, this.iWake, 1);
    Atomics.notify(i32, this.iWake, 1);
  }
}

/** One producer, one consumer: the producer's claim is plain, its publish one atomic store. */
export class SpscRing extends Ring {
  constructor(memory: RingMemory, offset: number, options?: RingOptions) {
    super(memory, offset, RING_KIND_SPSC, options);
  }

  /** Writes an SPSC ring's header at `offset` (see bytesFor) and returns it attached. */
  static init(memory: RingMemory, offset: number, capacity: number, options: RingInitOptions = {}): SpscRing {
    initRing(memory, offset, capacity, 'spsc', options);
    return new SpscRing(memory, offset, options);
  }

  tryClaim(n: number): number {
    const i32 = this.i32;
    const capacity = this.capacity;
    if (!(n >= 1 && n <= capacity)) throw new RangeError(`tryClaim: n must be 1..${capacity}; got ${n}`);
    const claim = i32[this.iClaim]; // only this producer writes it
    // claim - cache <= capacity always holds (the cache is refreshed before any claim past it).
    if (capacity - ((claim - i32[this.iProdCache]) & MASK31) < n) {
      const consumed = Atomics.load(i32, this.iConsumed); // acquire: the consumer is done with them
      i32[this.iProdCache] = consumed;
      if (capacity - ((claim - consumed) & MASK31) < n) return -1;
    }
    i32[this.iClaim] = (claim + n) & MASK31;
    return claim;
  }

  /**
   * The producer's view, for writing slots before claiming them (the one producer knows which
   * are free): the next sequence tryClaim would return, and how many slots are free from it on
   * (re-reading the consumer's sequence when fewer than `want` are known free).
   */
  get claimSequence(): number {
    return this.i32[this.iClaim];
  }

  room(want: number): number {
    const i32 = this.i32;
    const claim = i32[this.iClaim];
    let free = this.capacity - ((claim - i32[this.iProdCache]) & MASK31);
    if (free < want) {
      const consumed = Atomics.load(i32, this.iConsumed); // acquire, as in tryClaim
      i32[this.iProdCache] = consumed;
      free = this.capacity - ((claim - consumed) & MASK31);
    }
    return free;
  }

  publish(first: number, n: number): void {
    const i32 = this.i32;
    Atomics.store(i32, this.iPublished, (first + n) & MASK31); // release: the slot writes are before it
    if (Atomics.load(i32, this.iConsSleeping) !== 0) this.wakeConsumer();
  }

  available(): number {
    const i32 = this.i32;
    const consumed = i32[this.iConsumed]; // only this consumer writes it
    let ready = (i32[this.iConsCache] - consumed) & MASK31;
    if (ready === 0) {
      const published = Atomics.load(i32, this.iPublished); // acquire: the slots are visible
      i32[this.iConsCache] = published;
      ready = (published - consumed) & MASK31;
      if (ready === 0) return 0;
    }
    const toWrap = this.capacity - (consumed & this.mask);
    return ready < toWrap ? ready : toWrap;
  }
}

/** Many producers (a CAS on the claim sequence), one consumer (per-slot available flags). */
export class MpscRing extends Ring {
  constructor(memory: RingMemory, offset: number, options?: RingOptions) {
    super(memory, offset, RING_KIND_MPSC, options);
  }

  /** Writes an MPSC ring's header at `offset` (see bytesFor) and returns it attached. */
  static init(memory: RingMemory, offset: number, capacity: number, options: RingInitOptions = {}): MpscRing {
    initRing(memory, offset, capacity, 'mpsc', options);
    return new MpscRing(memory, offset, options);
  }

  tryClaim(n: number): number {
    const i32 = this.i32;
    const capacity = this.capacity;
    if (!(n >= 1 && n <= capacity)) throw new RangeError(`tryClaim: n must be 1..${capacity}; got ${n}`);
    const iClaim = this.iClaim;
    for (;;) {
      const claim = Atomics.load(i32, iClaim);
      // The consumer sequence is read every time: a per-producer cache could fall 2^31 behind
      // while other producers run, and 31-bit distances cannot see that (docs/RINGS.md).
      const consumed = Atomics.load(i32, this.iConsumed);
      if (capacity - ((claim - consumed) & MASK31) < n) {
        // Full, unless the claim moved under us (then the consumed we read may be stale).
        if (Atomics.load(i32, iClaim) === claim) return -1;
        continue;
      }
      if (Atomics.compareExchange(i32, iClaim, claim, (claim + n) & MASK31) === claim) return claim;
    }
  }

  publish(first: number, n: number): void {
    const i32 = this.i32;
    const flags = this.iFlags;
    const mask = this.mask;
    // Mark each slot with its own sequence (its lap). The later flags are plain stores, ordered
    // before the first flag's atomic store: the consumer scans in order, so it reads flag k > 0
    // only after it has seen flag 0 (docs/RINGS.md).
    for (let k = n - 1; k > 0; k--) {
      const seq = (first + k) & MASK31;
      i32[flags + (seq & mask)] = seq;
    }
    Atomics.store(i32, flags + (first & mask), first);
    if (Atomics.load(i32, this.iConsSleeping) !== 0) this.wakeConsumer();
  }

  available(): number {
    const i32 = this.i32;
    const consumed = i32[this.iConsumed];
    const toWrap = this.capacity - (consumed & this.mask);
    let end = i32[this.iConsCache];
    let ready = (end - consumed) & MASK31;
    if (ready === 0) {
      const flags = this.iFlags;
      const mask = this.mask;
      const limit = (consumed + toWrap) & MASK31;
      while (end !== limit && Atomics.load(i32, flags + (end & mask)) === end) end = (end + 1) & MASK31;
      i32[this.iConsCache] = end;
      ready = (end - consumed) & MASK31;
      if (ready === 0) return 0;
    }
    return ready < toWrap ? ready : toWrap;
  }
}

export type AnyRing = SpscRing | MpscRing;

/** Attaches to whichever kind of ring is at `offset`. */
export function attachRing(memory: RingMemory, offset: number, options?: RingOptions): AnyRing {
  const { buffer, base } = bufferOf(memory, offset);
  const kind = new Int32Array(buffer, base, RING_HEADER_SIZE >> 2)[RING_H_KIND >> 2];
  return kind === RING_KIND_MPSC ? new MpscRing(memory, offset, options) : new SpscRing(memory, offset, options);
}

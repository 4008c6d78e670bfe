// Safe memory reclamation for blocks of a shared pool (docs/CONCURRENCY.md): epoch-based
// reclamation (EBR) for structures a writer retires while readers traverse them, and hazard
// pointers (HP) for single-object lookups.
//
// The layout is assembly/reclaim-layout.ts, shared with assembly/reclaim.ts (wasm/concurrent.wasm):
// JS and Wasm threads can be readers and retirers of one domain. Each thread registers once and
// gets a Participant (a record in the shared memory).
//
//   const domain = ReclaimDomain.init(memory, offset, pool, { maxParticipants: 8, poison: RECLAIM_POISON });
//   const me = new ReclaimDomain(memory, offset, pool).register();   // on each thread
//   // reader (EBR):  me.enter(); ... read blocks reachable from published roots ...; me.exit();
//   // reader (HP):   const w = me.protect(0, rootIndex); ... read block w ...; me.clear(0);
//   // writer:        publish the new block (Atomics.store), then me.retire(old) / me.retireHazard(old)
//
// A reader never waits; a writer never waits: retired blocks are chained through the pool's link
// words, so a stalled reader makes limbo longer, never full.
import * as RL from '../assembly/reclaim-layout.js';
// Plain constants: under tsx a module namespace is a set of getters (a call per use on the hot path).
const {
  RECLAIM_MAGIC, RECLAIM_LAYOUT_VERSION, RECLAIM_ALIGN, RECLAIM_EPOCH_MASK, RECLAIM_HAZARDS, RECLAIM_BAGS,
  RECLAIM_MAX_PARTICIPANTS, RECLAIM_DEFAULT_COLLECT_EVERY, RECLAIM_DEFAULT_HP_SCAN_AT,
  RECLAIM_H_MAGIC, RECLAIM_H_VERSION, RECLAIM_H_MAX_PARTICIPANTS, RECLAIM_H_POOL, RECLAIM_H_POISON,
  RECLAIM_H_COLLECT_EVERY, RECLAIM_H_HP_SCAN_AT, RECLAIM_H_EPOCH, RECLAIM_H_ADVANCES, RECLAIM_PARTICIPANTS_AT,
  RECLAIM_P_SIZE, RECLAIM_P_OWNER, RECLAIM_P_ANNOUNCE, RECLAIM_P_HAZARDS, RECLAIM_P_NESTING, RECLAIM_P_BAGS,
  RECLAIM_BAG_HEAD, RECLAIM_BAG_TAIL, RECLAIM_BAG_COUNT, RECLAIM_BAG_EPOCH, RECLAIM_BAG_SIZE, RECLAIM_P_HP_HEAD,
  RECLAIM_P_HP_COUNT, RECLAIM_P_RETIRED, RECLAIM_P_FREED, RECLAIM_P_SINCE_COLLECT, RECLAIM_P_SCANS,
  RECLAIM_P_LIMBO_PEAK,
} = RL;
import * as PL from '../assembly/pool-layout.js';
const { POOL_LINK_ALLOCATED, POOL_NIL } = PL;
import { Pool, type PoolMemory } from './pool.js';

const EPOCH_MASK = RECLAIM_EPOCH_MASK;
const ALLOCATED = POOL_LINK_ALLOCATED;
const NIL = POOL_NIL;
const BAGS = RECLAIM_BAGS;

export interface ReclaimInitOptions {
  /** Participant records (threads) at most: 1..256. */
  maxParticipants: number;
  /** A word written over every word of a block before it is freed (0 = none; default 0). */
  poison?: number;
  /** EBR retires between automatic reclaim() calls (default 64). */
  collectEvery?: number;
  /** Hazard-retired blocks that trigger a scan (default 64). */
  hazardScanAt?: number;
}

export interface ParticipantStats {
  retired: number;
  freed: number;
  /** Blocks waiting in limbo now (EBR bags + hazard list). */
  limbo: number;
  limboPeak: number;
  scans: number;
}

/** Bytes of a domain with room for `maxParticipants` threads (a multiple of 64). */
export function reclaimBytes(maxParticipants: number): number {
  if (!Number.isInteger(maxParticipants) || maxParticipants < 1 || maxParticipants > RECLAIM_MAX_PARTICIPANTS) throw new RangeError(`maxParticipants must be 1..${RECLAIM_MAX_PARTICIPANTS}; got ${String(maxParticipants)}`);
  return RECLAIM_PARTICIPANTS_AT + maxParticipants * RECLAIM_P_SIZE;
}

const bufferOf = (memory: PoolMemory) => (memory instanceof WebAssembly.Memory ? memory.buffer : memory);

export class ReclaimDomain {
  readonly base: number;
  readonly maxParticipants: number;
  readonly pool: Pool;
  /** Int32Array over the whole memory (domain words are addressed by absolute index). */
  readonly i32: Int32Array;
  readonly poison: number;
  readonly collectEvery: number;
  readonly hazardScanAt: number;
  readonly wEpoch: number;

  constructor(memory: PoolMemory, offset: number, pool: Pool) {
    const buffer = bufferOf(memory);
    if (!Number.isInteger(offset) || offset < 0 || offset % RECLAIM_ALIGN !== 0 || offset + RECLAIM_PARTICIPANTS_AT > buffer.byteLength) throw new RangeError(`no reclamation domain fits at byte ${offset}`);
    // The domain never grows: a view of the buffer it was created in stays valid (shared memory never moves).
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.base = offset;
    const w = offset >> 2;
    const i32 = this.i32;
    if (Atomics.load(i32, w + (RECLAIM_H_MAGIC >> 2)) !== RECLAIM_MAGIC) throw new Error(`no reclamation domain at byte ${offset} (bad magic): call ReclaimDomain.init() first`);
    if (i32[w + (RECLAIM_H_VERSION >> 2)] !== RECLAIM_LAYOUT_VERSION) throw new Error(`reclamation domain at byte ${offset} has layout version ${i32[w + (RECLAIM_H_VERSION >> 2)]}, this code ${RECLAIM_LAYOUT_VERSION}`);
    if (i32[w + (RECLAIM_H_POOL >> 2)] !== pool.base) throw new Error(`the reclamation domain at byte ${offset} belongs to the pool at ${i32[w + (RECLAIM_H_POOL >> 2)]}, not ${pool.base}`);
    this.pool = pool;
    this.maxParticipants = i32[w + (RECLAIM_H_MAX_PARTICIPANTS >> 2)];
    this.poison = i32[w + (RECLAIM_H_POISON >> 2)];
    this.collectEvery = i32[w + (RECLAIM_H_COLLECT_EVERY >> 2)];
    this.hazardScanAt = i32[w + (RECLAIM_H_HP_SCAN_AT >> 2)];
    this.wEpoch = w + (RECLAIM_H_EPOCH >> 2);
  }

  static bytesFor(maxParticipants: number): number {
    return reclaimBytes(maxParticipants);
  }

  /** Writes a domain at `offset` over `pool` and returns it attached. */
  static init(memory: PoolMemory, offset: number, pool: Pool, options: ReclaimInitOptions): ReclaimDomain {
    const buffer = bufferOf(memory);
    const bytes = reclaimBytes(options.maxParticipants);
    if (!Number.isInteger(offset) || offset < 0 || offset % RECLAIM_ALIGN !== 0) throw new RangeError(`a reclamation domain must start at a multiple of ${RECLAIM_ALIGN} bytes; got ${offset}`);
    if (offset + bytes > buffer.byteLength) throw new RangeError(`a domain of ${options.maxParticipants} participants needs ${bytes} bytes at ${offset}`);
    const count = (v: number | undefined, field: string, fallback: number) => {
      if (v === undefined || v === 0) return fallback;
      if (!Number.isInteger(v) || v < 1 || v > 0x7fffffff) throw new RangeError(`${field} must be a positive integer; got ${String(v)}`);
      return v;
    };
    const i32 = new Int32Array(buffer, offset, bytes >> 2);
    i32.fill(0);
    i32[RECLAIM_H_VERSION >> 2] = RECLAIM_LAYOUT_VERSION;
    i32[RECLAIM_H_MAX_PARTICIPANTS >> 2] = options.maxParticipants;
    i32[RECLAIM_H_POOL >> 2] = pool.base;
    i32[RECLAIM_H_POISON >> 2] = (options.poison ?? 0) | 0;
    i32[RECLAIM_H_COLLECT_EVERY >> 2] = count(options.collectEvery, 'collectEvery', RECLAIM_DEFAULT_COLLECT_EVERY);
    i32[RECLAIM_H_HP_SCAN_AT >> 2] = count(options.hazardScanAt, 'hazardScanAt', RECLAIM_DEFAULT_HP_SCAN_AT);
    Atomics.store(i32, RECLAIM_H_MAGIC >> 2, RECLAIM_MAGIC);
    return new ReclaimDomain(memory, offset, pool);
  }

  /** Word index of participant p's record. */
  recordIndex(p: number): number {
    return (this.base + RECLAIM_PARTICIPANTS_AT + p * RECLAIM_P_SIZE) >> 2;
  }

  /** Claims a participant record for the calling thread (one per thread). Throws if none is free. */
  register(): Participant {
    const i32 = this.i32;
    for (let p = 0; p < this.maxParticipants; p++) {
      const r = this.recordIndex(p);
      if (Atomics.load(i32, r + (RECLAIM_P_OWNER >> 2)) === 0 && Atomics.compareExchange(i32, r + (RECLAIM_P_OWNER >> 2), 0, 1) === 0) {
        i32.fill(0, r + (RECLAIM_P_NESTING >> 2), r + (RECLAIM_P_SIZE >> 2));
        return new Participant(this, p);
      }
    }
    throw new Error(`all ${this.maxParticipants} participant records are taken`);
  }

  /** The global epoch (30 bits, wrapping). */
  get epoch(): number {
    return Atomics.load(this.i32, this.wEpoch);
  }

  /** Successful epoch advances so far. */
  get advances(): number {
    return Atomics.load(this.i32, (this.base + RECLAIM_H_ADVANCES) >> 2);
  }

  /**
   * Advances the global epoch by one if every active participant has announced the current one.
   * Any thread may call it; it reads each record once and never waits.
   */
  tryAdvance(): boolean {
    const i32 = this.i32;
    const e = Atomics.load(i32, this.wEpoch);
    for (let p = 0; p < this.maxParticipants; p++) {
      const r = this.recordIndex(p);
      if (Atomics.load(i32, r + (RECLAIM_P_OWNER >> 2)) === 0) continue;
      const a = Atomics.load(i32, r + (RECLAIM_P_ANNOUNCE >> 2));
      if ((a & 1) !== 0 && a >>> 1 !== e) return false;
    }
    if (Atomics.compareExchange(i32, this.wEpoch, e, (e + 1) & EPOCH_MASK) !== e) return false;
    Atomics.add(i32, (this.base + RECLAIM_H_ADVANCES) >> 2, 1);
    return true;
  }
}

/** One thread's record in a domain: its guard, its hazards, its limbo. Use it from that thread only. */
export class Participant {
  readonly domain: ReclaimDomain;
  readonly index: number;
  private readonly i32: Int32Array;
  private readonly pool: Pool;
  private readonly r: number;
  private readonly wAnnounce: number;
  private readonly wHazards: number;
  private readonly wNesting: number;
  private readonly wBags: number;
  private readonly wEpoch: number;
  /** Scratch for a hazard scan's snapshot (allocated once). */
  private readonly snapshot: Int32Array;

  constructor(domain: ReclaimDomain, index: number) {
    this.domain = domain;
    this.index = index;
    this.i32 = domain.i32;
    this.pool = domain.pool;
    this.r = domain.recordIndex(index);
    this.wAnnounce = this.r + (RECLAIM_P_ANNOUNCE >> 2);
    this.wHazards = this.r + (RECLAIM_P_HAZARDS >> 2);
    this.wNesting = this.r + (RECLAIM_P_NESTING >> 2);
    this.wBags = this.r + (RECLAIM_P_BAGS >> 2);
    this.wEpoch = domain.wEpoch;
    this.snapshot = new Int32Array(domain.maxParticipants * RECLAIM_HAZARDS);
  }

  // ---- EBR: readers ---------------------------------------------------------------------------

  /** Enters a read-side guard (nests). Blocks reachable from published roots stay readable until exit(). */
  enter(): void {
    const i32 = this.i32;
    const n = i32[this.wNesting];
    i32[this.wNesting] = n + 1;
    if (n !== 0) return;
    let e = Atomics.load(i32, this.wEpoch);
    for (;;) {
      Atomics.store(i32, this.wAnnounce, (e << 1) | 1);
      // Not needed for safety (docs/CONCURRENCY.md); a fresh announcement lets the epoch move on.
      const again = Atomics.load(i32, this.wEpoch);
      if (again === e) return;
      e = again;
    }
  }

  /** Leaves the guard: nothing read inside it may be used afterwards. */
  exit(): void {
    const i32 = this.i32;
    const n = i32[this.wNesting] - 1;
    if (n < 0) throw new Error('exit() without enter()');
    i32[this.wNesting] = n;
    if (n === 0) Atomics.store(i32, this.wAnnounce, i32[this.wAnnounce] & ~1);
  }

  get active(): boolean {
    return this.i32[this.wNesting] !== 0;
  }

  // ---- EBR: retiring --------------------------------------------------------------------------

  private bag(b: number): number {
    return this.wBags + b * (RECLAIM_BAG_SIZE >> 2);
  }

  /** Poisons the chain's blocks (if the domain poisons) and frees it to the pool. */
  private freeRetired(first: number, last: number, count: number): void {
    const pool = this.pool;
    const poison = this.domain.poison;
    if (poison !== 0) {
      const words = pool.blockSize >> 2;
      let h = first;
      for (let i = 0; i < count; i++) {
        const at = pool.offsetOf(h) >> 2;
        pool.i32.fill(poison, at, at + words);
        h = pool.i32[pool.linkIndex(h)]; // offsetOf(h) above already learned h's chunk
      }
    }
    pool.freeChain(first, last, count);
    this.i32[this.r + (RECLAIM_P_FREED >> 2)] += count;
  }

  private flushBag(x: number): void {
    const i32 = this.i32;
    const count = i32[x + (RECLAIM_BAG_COUNT >> 2)];
    if (count === 0) return;
    this.freeRetired(i32[x + (RECLAIM_BAG_HEAD >> 2)], i32[x + (RECLAIM_BAG_TAIL >> 2)], count);
    i32[x + (RECLAIM_BAG_HEAD >> 2)] = NIL;
    i32[x + (RECLAIM_BAG_TAIL >> 2)] = NIL;
    i32[x + (RECLAIM_BAG_COUNT >> 2)] = 0;
  }

  private notePeak(): void {
    const limbo = this.limbo;
    const peak = this.r + (RECLAIM_P_LIMBO_PEAK >> 2);
    if (limbo > this.i32[peak]) this.i32[peak] = limbo;
  }

  /**
   * Retires block h, which the caller has already made unreachable (replaced in every published
   * root): it is freed to the pool once every reader that might have seen it has left its guard.
   * Never waits. Throws if h is not an allocated block of the pool.
   */
  retire(h: number): void {
    const i32 = this.i32;
    const pool = this.pool;
    if (!pool.validHandle(h)) throw new RangeError(`retire: ${String(h)} is not a handle of the pool`);
    const r = Atomics.load(i32, this.wEpoch);
    // The bag of epoch r; else an empty one; else one two or more epochs old (flushed first).
    let bag = -1;
    let spare = -1;
    for (let b = 0; b < BAGS; b++) {
      const x = this.bag(b);
      const count = i32[x + (RECLAIM_BAG_COUNT >> 2)];
      if (count !== 0 && i32[x + (RECLAIM_BAG_EPOCH >> 2)] === r) { bag = x; break; }
      if (count === 0) { if (spare < 0 || i32[spare + (RECLAIM_BAG_COUNT >> 2)] !== 0) spare = x; }
      else if (spare < 0 && ((r - i32[x + (RECLAIM_BAG_EPOCH >> 2)]) & EPOCH_MASK) >= 2) spare = x;
    }
    if (bag < 0) {
      bag = spare;
      this.flushBag(bag);
      i32[bag + (RECLAIM_BAG_EPOCH >> 2)] = r;
    }
    const head = i32[bag + (RECLAIM_BAG_HEAD >> 2)];
    const li = pool.linkIndex(h); // may rebuild pool.i32 (first sight of a grown chunk)
    if (Atomics.compareExchange(pool.i32, li, ALLOCATED, head) !== ALLOCATED) throw new Error(`retire: block ${h} is not allocated (retired or freed twice?)`);
    if (head === NIL) i32[bag + (RECLAIM_BAG_TAIL >> 2)] = h;
    i32[bag + (RECLAIM_BAG_HEAD >> 2)] = h;
    i32[bag + (RECLAIM_BAG_COUNT >> 2)]++;
    i32[this.r + (RECLAIM_P_RETIRED >> 2)]++;
    this.notePeak();
    const since = this.r + (RECLAIM_P_SINCE_COLLECT >> 2);
    if (++i32[since] >= this.domain.collectEvery) {
      i32[since] = 0;
      this.reclaim();
    }
  }

  /** Frees this participant's bags retired two or more epochs ago; returns the blocks freed. */
  collect(): number {
    const i32 = this.i32;
    const g = Atomics.load(i32, this.wEpoch);
    const before = i32[this.r + (RECLAIM_P_FREED >> 2)];
    for (let b = 0; b < BAGS; b++) {
      const x = this.bag(b);
      if (i32[x + (RECLAIM_BAG_COUNT >> 2)] !== 0 && ((g - i32[x + (RECLAIM_BAG_EPOCH >> 2)]) & EPOCH_MASK) >= 2) this.flushBag(x);
    }
    return i32[this.r + (RECLAIM_P_FREED >> 2)] - before;
  }

  /** tryAdvance() then collect(): the blocks freed. */
  reclaim(): number {
    this.domain.tryAdvance();
    return this.collect();
  }

  // ---- hazard pointers ------------------------------------------------------------------------

  /**
   * Protects the handle held in word `index` of the memory (an Int32Array index; the handle is
   * `word & mask`) in hazard slot k (0..3): publishes it, re-reads the word, repeats until they
   * agree. Returns the word as validated; its block stays unfreed until clear(k).
   */
  protect(k: number, index: number, mask = -1): number {
    const i32 = this.i32;
    const hazard = this.wHazards + k;
    let w = Atomics.load(i32, index);
    for (;;) {
      Atomics.store(i32, hazard, w & mask);
      const again = Atomics.load(i32, index);
      if (again === w) return w;
      w = again;
    }
  }

  clear(k: number): void {
    Atomics.store(this.i32, this.wHazards + k, 0);
  }

  /** Retires block h for hazard-pointer readers; scans when the list reaches hazardScanAt. */
  retireHazard(h: number): void {
    const i32 = this.i32;
    const pool = this.pool;
    if (!pool.validHandle(h)) throw new RangeError(`retireHazard: ${String(h)} is not a handle of the pool`);
    const wHead = this.r + (RECLAIM_P_HP_HEAD >> 2);
    const li = pool.linkIndex(h); // may rebuild pool.i32
    if (Atomics.compareExchange(pool.i32, li, ALLOCATED, i32[wHead]) !== ALLOCATED) throw new Error(`retireHazard: block ${h} is not allocated (retired or freed twice?)`);
    i32[wHead] = h;
    const count = ++i32[this.r + (RECLAIM_P_HP_COUNT >> 2)];
    i32[this.r + (RECLAIM_P_RETIRED >> 2)]++;
    this.notePeak();
    if (count >= this.domain.hazardScanAt) this.scan();
  }

  /** Frees every hazard-retired block that no hazard holds; returns the number freed. */
  scan(): number {
    const i32 = this.i32;
    const domain = this.domain;
    const snap = this.snapshot;
    // Snapshot every published hazard. Each load comes after the retired blocks were unlinked.
    let n = 0;
    for (let p = 0; p < domain.maxParticipants; p++) {
      const r = domain.recordIndex(p);
      if (Atomics.load(i32, r + (RECLAIM_P_OWNER >> 2)) === 0) continue;
      for (let k = 0; k < RECLAIM_HAZARDS; k++) {
        const v = Atomics.load(i32, r + (RECLAIM_P_HAZARDS >> 2) + k);
        if (v !== 0) snap[n++] = v;
      }
    }
    const pool = this.pool;
    let h = i32[this.r + (RECLAIM_P_HP_HEAD >> 2)];
    let keep = NIL, kept = 0, first = NIL, last = NIL, freed = 0;
    while (h !== NIL) {
      const li = pool.linkIndex(h);
      const next = pool.i32[li];
      let held = false;
      for (let j = 0; j < n; j++) if (snap[j] === h) { held = true; break; }
      if (held) {
        pool.i32[li] = keep;
        keep = h;
        kept++;
      } else {
        if (first === NIL) last = h;
        pool.i32[li] = first;
        first = h;
        freed++;
      }
      h = next;
    }
    i32[this.r + (RECLAIM_P_HP_HEAD >> 2)] = keep;
    i32[this.r + (RECLAIM_P_HP_COUNT >> 2)] = kept;
    i32[this.r + (RECLAIM_P_SCANS >> 2)]++;
    if (freed !== 0) this.freeRetired(first, last, freed);
    return freed;
  }

  // ---- both -----------------------------------------------------------------------------------

  /** Blocks this participant holds in limbo (EBR bags and hazard list). */
  get limbo(): number {
    const i32 = this.i32;
    let n = i32[this.r + (RECLAIM_P_HP_COUNT >> 2)];
    for (let b = 0; b < BAGS; b++) n += i32[this.bag(b) + (RECLAIM_BAG_COUNT >> 2)];
    return n;
  }

  /**
   * Reclaims until this participant's limbo is empty or `rounds` rounds have passed (each round:
   * advance, collect, scan). True when empty. Succeeds in 3 rounds when no reader is inside a
   * guard or holds a hazard on these blocks.
   */
  drain(rounds = 8): boolean {
    for (let i = 0; i < rounds && this.limbo !== 0; i++) {
      this.reclaim();
      if (this.i32[this.r + (RECLAIM_P_HP_COUNT >> 2)] !== 0) this.scan();
    }
    return this.limbo === 0;
  }

  stats(): ParticipantStats {
    const i32 = this.i32;
    return {
      retired: i32[this.r + (RECLAIM_P_RETIRED >> 2)],
      freed: i32[this.r + (RECLAIM_P_FREED >> 2)],
      limbo: this.limbo,
      limboPeak: i32[this.r + (RECLAIM_P_LIMBO_PEAK >> 2)],
      scans: i32[this.r + (RECLAIM_P_SCANS >> 2)],
    };
  }

  /** Gives the record back. Throws inside a guard or with blocks in limbo (drain() first). */
  unregister(): void {
    if (this.active) throw new Error('unregister inside a guard');
    if (this.limbo !== 0) throw new Error(`unregister with ${this.limbo} blocks in limbo: drain() first`);
    for (let k = 0; k < RECLAIM_HAZARDS; k++) Atomics.store(this.i32, this.wHazards + k, 0);
    Atomics.store(this.i32, this.r + (RECLAIM_P_OWNER >> 2), 0);
  }
}

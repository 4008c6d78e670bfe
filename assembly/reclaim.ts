// Epoch-based reclamation and hazard pointers over the layout of reclaim-layout.ts, in
// AssemblyScript (docs/CONCURRENCY.md). The same operations as src/reclaim.ts over the same
// memory: JS and Wasm threads can be readers and retirers of one domain.
//
// Every function takes the domain's address and a participant index; no statics, no allocation.
// Cross-thread words (epoch, announcements, hazards, owners, links) use atomic.* (sequentially
// consistent); a participant's bookkeeping words are its own (plain loads and stores).
import {
  RECLAIM_MAGIC, RECLAIM_LAYOUT_VERSION, RECLAIM_ALIGN, RECLAIM_EPOCH_MASK, RECLAIM_HAZARDS, RECLAIM_BAGS,
  RECLAIM_MAX_PARTICIPANTS, RECLAIM_DEFAULT_COLLECT_EVERY, RECLAIM_DEFAULT_HP_SCAN_AT, RECLAIM_OK,
  RECLAIM_BAD_ARGUMENT, RECLAIM_NOT_ALLOCATED, RECLAIM_NO_SLOT, RECLAIM_BUSY,
  RECLAIM_H_MAGIC, RECLAIM_H_VERSION, RECLAIM_H_MAX_PARTICIPANTS, RECLAIM_H_POOL, RECLAIM_H_POISON,
  RECLAIM_H_COLLECT_EVERY, RECLAIM_H_HP_SCAN_AT, RECLAIM_H_EPOCH, RECLAIM_H_ADVANCES, RECLAIM_PARTICIPANTS_AT,
  RECLAIM_P_SIZE, RECLAIM_P_OWNER, RECLAIM_P_ANNOUNCE, RECLAIM_P_HAZARDS, RECLAIM_P_NESTING, RECLAIM_P_BAGS,
  RECLAIM_BAG_HEAD, RECLAIM_BAG_TAIL, RECLAIM_BAG_COUNT, RECLAIM_BAG_EPOCH, RECLAIM_BAG_SIZE, RECLAIM_P_HP_HEAD,
  RECLAIM_P_HP_COUNT, RECLAIM_P_RETIRED, RECLAIM_P_FREED, RECLAIM_P_SINCE_COLLECT, RECLAIM_P_SCANS,
  RECLAIM_P_LIMBO_PEAK,
} from './reclaim-layout';
import { POOL_LINK_ALLOCATED, POOL_NIL, POOL_H_BLOCK_SIZE } from './pool-layout';
import { poolLinkAddress, poolBlockAddress, poolFreeChain, poolValidHandle } from './pool';

/** Bytes of a domain with `maxParticipants` participant records, or RECLAIM_BAD_ARGUMENT. */
export function reclaimBytesFor(maxParticipants: i32): i32 {
  if (maxParticipants < 1 || maxParticipants > RECLAIM_MAX_PARTICIPANTS) return RECLAIM_BAD_ARGUMENT;
  return RECLAIM_PARTICIPANTS_AT + maxParticipants * RECLAIM_P_SIZE;
}

/**
 * Writes a domain at `domain` (64-byte aligned) over the pool at `pool`. poison: the word written
 * over freed blocks (0 = none); collectEvery, hpScanAt: 0 = the defaults. 0 or RECLAIM_BAD_ARGUMENT.
 */
export function reclaimInit(domain: usize, pool: usize, maxParticipants: i32, poison: i32, collectEvery: i32, hpScanAt: i32): i32 {
  const bytes = reclaimBytesFor(maxParticipants);
  if (bytes < 0 || (domain & (RECLAIM_ALIGN - 1)) != 0 || collectEvery < 0 || hpScanAt < 0) return RECLAIM_BAD_ARGUMENT;
  memory.fill(domain, 0, bytes);
  store<i32>(domain, RECLAIM_LAYOUT_VERSION, RECLAIM_H_VERSION);
  store<i32>(domain, maxParticipants, RECLAIM_H_MAX_PARTICIPANTS);
  store<i32>(domain, <i32>pool, RECLAIM_H_POOL);
  store<i32>(domain, poison, RECLAIM_H_POISON);
  store<i32>(domain, collectEvery != 0 ? collectEvery : RECLAIM_DEFAULT_COLLECT_EVERY, RECLAIM_H_COLLECT_EVERY);
  store<i32>(domain, hpScanAt != 0 ? hpScanAt : RECLAIM_DEFAULT_HP_SCAN_AT, RECLAIM_H_HP_SCAN_AT);
  atomic.store<i32>(domain, RECLAIM_MAGIC, RECLAIM_H_MAGIC);
  return RECLAIM_OK;
}

export function reclaimValid(domain: usize): i32 {
  return i32(atomic.load<i32>(domain, RECLAIM_H_MAGIC) == RECLAIM_MAGIC && load<i32>(domain, RECLAIM_H_VERSION) == RECLAIM_LAYOUT_VERSION);
}

// @ts-ignore: decorator
@inline function part(domain: usize, p: i32): usize {
  return domain + RECLAIM_PARTICIPANTS_AT + <usize>p * RECLAIM_P_SIZE;
}

// @ts-ignore: decorator
@inline function poolOf(domain: usize): usize {
  return <usize>load<i32>(domain, RECLAIM_H_POOL);
}

/** Claims a free participant record: its index, or RECLAIM_NO_SLOT. One per thread. */
export function reclaimRegister(domain: usize): i32 {
  const max = load<i32>(domain, RECLAIM_H_MAX_PARTICIPANTS);
  for (let p = 0; p < max; p++) {
    const at = part(domain, p);
    if (atomic.load<i32>(at, RECLAIM_P_OWNER) == 0 && atomic.cmpxchg<i32>(at, 0, 1, RECLAIM_P_OWNER) == 0) {
      // Reset the bookkeeping (a previous owner left it empty; the counters start again).
      memory.fill(at + RECLAIM_P_NESTING, 0, RECLAIM_P_SIZE - RECLAIM_P_NESTING);
      return p;
    }
  }
  return RECLAIM_NO_SLOT;
}

/** Gives the record back: RECLAIM_OK, or RECLAIM_BUSY (inside a guard, or blocks in limbo). */
export function reclaimUnregister(domain: usize, p: i32): i32 {
  const at = part(domain, p);
  if (load<i32>(at, RECLAIM_P_NESTING) != 0 || reclaimLimbo(domain, p) != 0) return RECLAIM_BUSY;
  for (let k = 0; k < RECLAIM_HAZARDS; k++) atomic.store<i32>(at + RECLAIM_P_HAZARDS + (<usize>k << 2), 0);
  atomic.store<i32>(at, 0, RECLAIM_P_OWNER);
  return RECLAIM_OK;
}

// ---- EBR: readers -----------------------------------------------------------------------------

/** Enters a read-side guard (nests): announces the global epoch. */
export function ebrEnter(domain: usize, p: i32): void {
  const at = part(domain, p);
  const n = load<i32>(at, RECLAIM_P_NESTING);
  store<i32>(at, n + 1, RECLAIM_P_NESTING);
  if (n != 0) return;
  let e = atomic.load<i32>(domain, RECLAIM_H_EPOCH);
  while (true) {
    atomic.store<i32>(at, (e << 1) | 1, RECLAIM_P_ANNOUNCE);
    // Not needed for safety (docs/CONCURRENCY.md); a fresh announcement lets the epoch move on.
    const again = atomic.load<i32>(domain, RECLAIM_H_EPOCH);
    if (again == e) return;
    e = again;
  }
}

/** Leaves the guard: after the outermost exit nothing read inside may be used. */
export function ebrExit(domain: usize, p: i32): void {
  const at = part(domain, p);
  const n = load<i32>(at, RECLAIM_P_NESTING) - 1;
  store<i32>(at, n, RECLAIM_P_NESTING);
  if (n == 0) atomic.store<i32>(at, load<i32>(at, RECLAIM_P_ANNOUNCE) & ~1, RECLAIM_P_ANNOUNCE);
}

// ---- EBR: the epoch and limbo -----------------------------------------------------------------

/** Advances the global epoch if every active participant announced it: 1 advanced, 0 not. */
export function ebrTryAdvance(domain: usize): i32 {
  const e = atomic.load<i32>(domain, RECLAIM_H_EPOCH);
  const max = load<i32>(domain, RECLAIM_H_MAX_PARTICIPANTS);
  for (let p = 0; p < max; p++) {
    const at = part(domain, p);
    if (atomic.load<i32>(at, RECLAIM_P_OWNER) == 0) continue;
    const a = atomic.load<i32>(at, RECLAIM_P_ANNOUNCE);
    if ((a & 1) != 0 && (a >>> 1) != e) return 0;
  }
  if (atomic.cmpxchg<i32>(domain, e, (e + 1) & RECLAIM_EPOCH_MASK, RECLAIM_H_EPOCH) != e) return 0;
  atomic.add<i32>(domain, 1, RECLAIM_H_ADVANCES);
  return 1;
}

export function ebrEpoch(domain: usize): i32 {
  return atomic.load<i32>(domain, RECLAIM_H_EPOCH);
}

/** Poisons blocks first .. (through links) and frees the chain to the pool. */
function freeRetired(domain: usize, at: usize, first: i32, last: i32, count: i32): void {
  const pool = poolOf(domain);
  const poison = load<i32>(domain, RECLAIM_H_POISON);
  if (poison != 0) {
    const words = load<i32>(pool, POOL_H_BLOCK_SIZE) >> 2;
    let h = first;
    for (let i = 0; i < count; i++) {
      const block = poolBlockAddress(pool, h);
      for (let w = 0; w < words; w++) store<i32>(block + (<usize>w << 2), poison);
      h = load<i32>(poolLinkAddress(pool, h));
    }
  }
  poolFreeChain(pool, first, last, count);
  store<i32>(at, load<i32>(at, RECLAIM_P_FREED) + count, RECLAIM_P_FREED);
}

function flushBag(domain: usize, at: usize, bag: usize): void {
  const count = load<i32>(bag, RECLAIM_BAG_COUNT);
  if (count == 0) return;
  freeRetired(domain, at, load<i32>(bag, RECLAIM_BAG_HEAD), load<i32>(bag, RECLAIM_BAG_TAIL), count);
  store<i32>(bag, POOL_NIL, RECLAIM_BAG_HEAD);
  store<i32>(bag, POOL_NIL, RECLAIM_BAG_TAIL);
  store<i32>(bag, 0, RECLAIM_BAG_COUNT);
}

/** Frees this participant's bags retired two or more epochs ago; the number of blocks freed. */
export function ebrCollect(domain: usize, p: i32): i32 {
  const at = part(domain, p);
  const g = atomic.load<i32>(domain, RECLAIM_H_EPOCH);
  const before = load<i32>(at, RECLAIM_P_FREED);
  for (let b = 0; b < RECLAIM_BAGS; b++) {
    const bag = at + RECLAIM_P_BAGS + <usize>b * RECLAIM_BAG_SIZE;
    if (load<i32>(bag, RECLAIM_BAG_COUNT) != 0 && ((g - load<i32>(bag, RECLAIM_BAG_EPOCH)) & RECLAIM_EPOCH_MASK) >= 2) flushBag(domain, at, bag);
  }
  return load<i32>(at, RECLAIM_P_FREED) - before;
}

/** ebrTryAdvance then ebrCollect: the number of blocks freed. */
export function ebrReclaim(domain: usize, p: i32): i32 {
  ebrTryAdvance(domain);
  return ebrCollect(domain, p);
}

/** Blocks this participant holds in limbo (EBR bags and the hazard list). */
export function reclaimLimbo(domain: usize, p: i32): i32 {
  const at = part(domain, p);
  let n = load<i32>(at, RECLAIM_P_HP_COUNT);
  for (let b = 0; b < RECLAIM_BAGS; b++) n += load<i32>(at + RECLAIM_P_BAGS + <usize>b * RECLAIM_BAG_SIZE, RECLAIM_BAG_COUNT);
  return n;
}

// @ts-ignore: decorator
@inline function notePeak(domain: usize, p: i32, at: usize): void {
  const limbo = reclaimLimbo(domain, p);
  if (limbo > load<i32>(at, RECLAIM_P_LIMBO_PEAK)) store<i32>(at, limbo, RECLAIM_P_LIMBO_PEAK);
}

/**
 * Retires block h (already unreachable for new readers): it is freed once every reader that might
 * have seen it has left its guard. RECLAIM_OK, RECLAIM_BAD_ARGUMENT (not a handle) or
 * RECLAIM_NOT_ALLOCATED (free, or retired already). Never waits.
 */
export function ebrRetire(domain: usize, p: i32, h: i32): i32 {
  const at = part(domain, p);
  const pool = poolOf(domain);
  if (poolValidHandle(pool, h) == 0) return RECLAIM_BAD_ARGUMENT;
  const r = atomic.load<i32>(domain, RECLAIM_H_EPOCH);
  // The bag of epoch r; else an empty one; else one two or more epochs old (flushed first). Bags
  // hold distinct epochs <= r, so when none is r and none is empty, at most one is r - 1.
  let bag: usize = 0;
  let spare: usize = 0;
  for (let b = 0; b < RECLAIM_BAGS; b++) {
    const x = at + RECLAIM_P_BAGS + <usize>b * RECLAIM_BAG_SIZE;
    const count = load<i32>(x, RECLAIM_BAG_COUNT);
    if (count != 0 && load<i32>(x, RECLAIM_BAG_EPOCH) == r) { bag = x; break; }
    if (count == 0) { if (spare == 0 || load<i32>(spare, RECLAIM_BAG_COUNT) != 0) spare = x; }
    else if (spare == 0 && ((r - load<i32>(x, RECLAIM_BAG_EPOCH)) & RECLAIM_EPOCH_MASK) >= 2) spare = x;
  }
  if (bag == 0) {
    bag = spare;
    flushBag(domain, at, bag);
    store<i32>(bag, r, RECLAIM_BAG_EPOCH);
  }
  const head = load<i32>(bag, RECLAIM_BAG_HEAD);
  if (atomic.cmpxchg<i32>(poolLinkAddress(pool, h), POOL_LINK_ALLOCATED, head) != POOL_LINK_ALLOCATED) return RECLAIM_NOT_ALLOCATED;
  if (head == POOL_NIL) store<i32>(bag, h, RECLAIM_BAG_TAIL);
  store<i32>(bag, h, RECLAIM_BAG_HEAD);
  store<i32>(bag, load<i32>(bag, RECLAIM_BAG_COUNT) + 1, RECLAIM_BAG_COUNT);
  store<i32>(at, load<i32>(at, RECLAIM_P_RETIRED) + 1, RECLAIM_P_RETIRED);
  notePeak(domain, p, at);
  const since = load<i32>(at, RECLAIM_P_SINCE_COLLECT) + 1;
  if (since >= load<i32>(domain, RECLAIM_H_COLLECT_EVERY)) {
    store<i32>(at, 0, RECLAIM_P_SINCE_COLLECT);
    ebrReclaim(domain, p);
  } else {
    store<i32>(at, since, RECLAIM_P_SINCE_COLLECT);
  }
  return RECLAIM_OK;
}

// ---- hazard pointers --------------------------------------------------------------------------

/**
 * Protects the handle in the word at `source` (masked by `mask`) in hazard slot k: publishes it,
 * re-reads the source, repeats until they agree. Returns the source word as validated.
 */
export function hpProtect(domain: usize, p: i32, k: i32, source: usize, mask: i32): i32 {
  const hazard = part(domain, p) + RECLAIM_P_HAZARDS + (<usize>k << 2);
  let w = atomic.load<i32>(source);
  while (true) {
    atomic.store<i32>(hazard, w & mask);
    const again = atomic.load<i32>(source);
    if (again == w) return w;
    w = again;
  }
  return 0; // unreachable
}

export function hpClear(domain: usize, p: i32, k: i32): void {
  atomic.store<i32>(part(domain, p) + RECLAIM_P_HAZARDS + (<usize>k << 2), 0);
}

/** Frees every hazard-retired block no hazard holds; the number freed. */
export function hpScan(domain: usize, p: i32): i32 {
  const at = part(domain, p);
  const pool = poolOf(domain);
  const max = load<i32>(domain, RECLAIM_H_MAX_PARTICIPANTS);
  let h = load<i32>(at, RECLAIM_P_HP_HEAD);
  let keep = POOL_NIL, kept = 0;
  let first = POOL_NIL, last = POOL_NIL, freed = 0;
  while (h != POOL_NIL) {
    const link = poolLinkAddress(pool, h);
    const next = load<i32>(link);
    // Every hazard load here comes after h was unlinked (the retire followed the unlink).
    let held = false;
    for (let q = 0; q < max && !held; q++) {
      const other = part(domain, q);
      if (atomic.load<i32>(other, RECLAIM_P_OWNER) == 0) continue;
      for (let k = 0; k < RECLAIM_HAZARDS; k++) {
        if (atomic.load<i32>(other + RECLAIM_P_HAZARDS + (<usize>k << 2)) == h) { held = true; break; }
      }
    }
    if (held) {
      store<i32>(link, keep);
      keep = h;
      kept++;
    } else {
      if (first == POOL_NIL) last = h;
      store<i32>(link, first);
      first = h;
      freed++;
    }
    h = next;
  }
  store<i32>(at, keep, RECLAIM_P_HP_HEAD);
  store<i32>(at, kept, RECLAIM_P_HP_COUNT);
  store<i32>(at, load<i32>(at, RECLAIM_P_SCANS) + 1, RECLAIM_P_SCANS);
  if (freed != 0) freeRetired(domain, at, first, last, freed);
  return freed;
}

/** Retires block h for hazard-pointer readers; scans when the list is long. Codes as ebrRetire. */
export function hpRetire(domain: usize, p: i32, h: i32): i32 {
  const at = part(domain, p);
  const pool = poolOf(domain);
  if (poolValidHandle(pool, h) == 0) return RECLAIM_BAD_ARGUMENT;
  const head = load<i32>(at, RECLAIM_P_HP_HEAD);
  if (atomic.cmpxchg<i32>(poolLinkAddress(pool, h), POOL_LINK_ALLOCATED, head) != POOL_LINK_ALLOCATED) return RECLAIM_NOT_ALLOCATED;
  store<i32>(at, h, RECLAIM_P_HP_HEAD);
  const count = load<i32>(at, RECLAIM_P_HP_COUNT) + 1;
  store<i32>(at, count, RECLAIM_P_HP_COUNT);
  store<i32>(at, load<i32>(at, RECLAIM_P_RETIRED) + 1, RECLAIM_P_RETIRED);
  notePeak(domain, p, at);
  if (count >= load<i32>(domain, RECLAIM_H_HP_SCAN_AT)) hpScan(domain, p);
  return RECLAIM_OK;
}

// Deferred reuse of freed order and level slots, so that reader threads can walk a live book
// (livebook.ts) while its matcher frees and reuses slots (docs/CONCURRENCY.md "Reading a live book").
// Only in guarded batches (a reader is registered, batch-gate.ts); otherwise a freed slot goes
// straight to its free list.
//
// A freed slot is stamped with the epoch the matcher will publish at the end of this batch
// (the readers' epoch + 1; the matcher is its only writer) and pushed on its kind's limbo list,
// a stack chained through the slot's free-list link, so stamps never increase from the newest
// (head) to the oldest (tail). At the end of a batch (endBatch) the matcher publishes the epoch
// (one atomic store, only if something was freed) and moves to the free list every slot whose
// stamp every active reader has announced: a reader that announced epoch a >= s entered after the
// slots stamped s were unlinked, so it cannot reach them. Those slots are a suffix of the stack,
// moved in one splice (newest first, so the next batch reuses the slots still in cache); with a
// reader inside a guard, only the newer slots before the suffix are walked. Order slots also wait
// while a reader's hazard pointer names them (slot + 1): only then is the suffix walked.
//
// Limbo never blocks the matcher: when an allocation finds no free slot and no fresh one, it
// reclaims what it can now and, if that frees nothing (a stalled reader), takes the newest slot
// out of limbo anyway (counted; hazard-protected order slots are skipped while any other is
// left). The stalled reader's validation (seqs, generations, ids) then sees the change and
// retries. Which slot an order or level gets may thus depend on reader timing; events and the
// digest never do (they never show slot numbers), and with no readers it is a pure function of
// the commands and the batch boundaries.
import {
  A, ORDERS, LEVELS, READERS, NONE, ORDER_SLOT, LEVEL_SLOT, H_ORDER_FREE, H_LEVEL_FREE, H_ORDER_LIMBO_HEAD,
  H_ORDER_LIMBO_TAIL, H_ORDER_LIMBO_COUNT, H_LEVEL_LIMBO_HEAD, H_LEVEL_LIMBO_TAIL, H_LEVEL_LIMBO_COUNT,
  H_FORCED_ORDERS, H_FORCED_LEVELS, H_OFF_HAZARD_SNAPSHOT,
} from './arena';
import { LIVE_READERS } from './layout';
import {
  RECLAIM_EPOCH_MASK, RECLAIM_HAZARDS, RECLAIM_H_EPOCH, RECLAIM_PARTICIPANTS_AT, RECLAIM_P_SIZE, RECLAIM_P_OWNER,
  RECLAIM_P_ANNOUNCE, RECLAIM_P_HAZARDS,
} from './reclaim-layout';
import { loadShared, storeShared } from './sync';
import { O_NEXT, O_PREV } from './orders';
import { LV_HEAD, LV_TAIL } from './levels';

// Where each kind keeps its limbo link and stamp while the slot is not in use: its free-list link
// (O_NEXT, LV_HEAD), and a field that means nothing while it is free (O_PREV, LV_TAIL). Used inside
// functions only: orders.ts and levels.ts import this file, so their constants are not ready at
// this module's top level.

// @ts-ignore: decorator
@inline function slotAt(isOrder: bool, slot: u32): usize {
  return isOrder ? ORDERS + <usize>slot * ORDER_SLOT : LEVELS + <usize>slot * LEVEL_SLOT;
}
// @ts-ignore: decorator
@inline function linkOf(isOrder: bool, slot: u32): usize {
  return slotAt(isOrder, slot) + <usize>(isOrder ? O_NEXT : LV_HEAD);
}
// @ts-ignore: decorator
@inline function stampOf(isOrder: bool, slot: u32): u32 {
  return load<u32>(slotAt(isOrder, slot) + <usize>(isOrder ? O_PREV : LV_TAIL));
}
// @ts-ignore: decorator
@inline function setStamp(isOrder: bool, slot: u32, stamp: u32): void {
  store<u32>(slotAt(isOrder, slot) + <usize>(isOrder ? O_PREV : LV_TAIL), stamp);
}
// @ts-ignore: decorator
@inline function headField(isOrder: bool): usize { return isOrder ? H_ORDER_LIMBO_HEAD : H_LEVEL_LIMBO_HEAD; }
// @ts-ignore: decorator
@inline function tailField(isOrder: bool): usize { return isOrder ? H_ORDER_LIMBO_TAIL : H_LEVEL_LIMBO_TAIL; }
// @ts-ignore: decorator
@inline function countField(isOrder: bool): usize { return isOrder ? H_ORDER_LIMBO_COUNT : H_LEVEL_LIMBO_COUNT; }
// @ts-ignore: decorator
@inline function freeField(isOrder: bool): usize { return isOrder ? H_ORDER_FREE : H_LEVEL_FREE; }

// @ts-ignore: decorator
@inline function reader(p: i32): usize {
  return READERS + RECLAIM_PARTICIPANTS_AT + <usize>p * RECLAIM_P_SIZE;
}

/** The epoch readers see (the matcher is its only writer, so its own plain load is current). */
// @ts-ignore: decorator
@inline function publishedEpoch(): u32 {
  return load<u32>(READERS + RECLAIM_H_EPOCH);
}

/** Pushes a slot on its limbo stack with a stamp. O(1). */
function push(isOrder: bool, slot: u32, stamp: u32): void {
  setStamp(isOrder, slot, stamp);
  const head = load<u32>(A + headField(isOrder));
  store<u32>(linkOf(isOrder, slot), head);
  if (head == NONE) store<u32>(A + tailField(isOrder), slot);
  store<u32>(A + headField(isOrder), slot);
  store<u32>(A + countField(isOrder), load<u32>(A + countField(isOrder)) + 1);
}

/** A freed order slot (already unlinked from the book and the index) waits in limbo. O(1). */
export function deferOrder(slot: u32): void {
  push(true, slot, (publishedEpoch() + 1) & RECLAIM_EPOCH_MASK);
}

/** A freed level slot (already off its ladder) waits in limbo. O(1). */
export function deferLevel(level: u32): void {
  push(false, level, (publishedEpoch() + 1) & RECLAIM_EPOCH_MASK);
}

/** Publishes the epoch the newest limbo slots carry, if it is not published yet; returns the epoch. */
function publish(): u32 {
  const e = publishedEpoch();
  const o = load<u32>(A, H_ORDER_LIMBO_HEAD);
  const l = load<u32>(A, H_LEVEL_LIMBO_HEAD);
  if ((o != NONE && stampOf(true, o) != e) || (l != NONE && stampOf(false, l) != e)) {
    const next = (e + 1) & RECLAIM_EPOCH_MASK;
    storeShared(READERS + RECLAIM_H_EPOCH, next);
    return next;
  }
  return e;
}

/** How many epochs behind `e` the most lagging reader inside a guard announced (0: none inside). */
function readersLag(e: u32): u32 {
  let lag: u32 = 0;
  for (let p = 0; p < LIVE_READERS; p++) {
    const r = reader(p);
    if (loadShared(r + RECLAIM_P_OWNER) == 0) continue;
    const a = loadShared(r + RECLAIM_P_ANNOUNCE);
    if ((a & 1) == 0) continue;
    const behind = (e - (a >>> 1)) & RECLAIM_EPOCH_MASK;
    if (behind > lag) lag = behind;
  }
  return lag;
}

/** Copies the registered readers' non-zero hazards to the snapshot area; returns how many. */
function gatherHazards(): i32 {
  const snap = A + <usize>load<u32>(A, H_OFF_HAZARD_SNAPSHOT);
  let n = 0;
  for (let p = 0; p < LIVE_READERS; p++) {
    const r = reader(p);
    if (loadShared(r + RECLAIM_P_OWNER) == 0) continue;
    for (let k = 0; k < RECLAIM_HAZARDS; k++) {
      const h = loadShared(r + RECLAIM_P_HAZARDS + (<usize>k << 2));
      if (h != 0) store<u32>(snap + (<usize>(n++) << 2), h);
    }
  }
  return n;
}

function hazarded(slot: u32, hazards: i32): bool {
  const snap = A + <usize>load<u32>(A, H_OFF_HAZARD_SNAPSHOT);
  for (let i = 0; i < hazards; i++) if (load<u32>(snap + (<usize>i << 2)) == slot + 1) return true;
  return false;
}

/** Moves every slot no reader can reach (a suffix of the stack) to the free list. */
function release(isOrder: bool, e: u32, lag: u32): void {
  // The newer slots some reader may still reach stay; `kept` of them, the last at keptTail.
  let cut = load<u32>(A + headField(isOrder));
  let keptTail = NONE, kept: u32 = 0;
  while (cut != NONE && ((e - stampOf(isOrder, cut)) & RECLAIM_EPOCH_MASK) < lag) {
    keptTail = cut;
    cut = load<u32>(linkOf(isOrder, cut));
    kept++;
  }
  if (cut == NONE) return;
  const tail = load<u32>(A + tailField(isOrder));
  if (keptTail == NONE) store<u32>(A + headField(isOrder), NONE);
  else store<u32>(linkOf(isOrder, keptTail), NONE);
  store<u32>(A + tailField(isOrder), keptTail);
  store<u32>(A + countField(isOrder), kept);
  const hazards = isOrder ? gatherHazards() : 0;
  if (hazards == 0) {
    // The whole suffix at once, its newest slot first.
    store<u32>(linkOf(isOrder, tail), load<u32>(A + freeField(isOrder)));
    store<u32>(A + freeField(isOrder), cut);
    return;
  }
  let free = load<u32>(A + freeField(isOrder));
  while (cut != NONE) {
    const slot = cut;
    cut = load<u32>(linkOf(isOrder, slot));
    if (hazarded(slot, hazards)) {
      // A reader is looking at it: it waits (re-stamped, with the newest) for the next batch end.
      push(isOrder, slot, e);
    } else {
      store<u32>(linkOf(isOrder, slot), free);
      free = slot;
    }
  }
  store<u32>(A + freeField(isOrder), free);
}

/** Publishes and frees what no reader can reach. Returns nothing; the free lists grow. */
function reclaim(): void {
  const e = publish();
  const lag = readersLag(e);
  release(false, e, lag);
  release(true, e, lag);
}

/** End of a batch: nothing to do unless slots were freed (then one atomic store and a scan of the readers). */
export function endBatch(): void {
  if (load<u32>(A, H_ORDER_LIMBO_COUNT) == 0 && load<u32>(A, H_LEVEL_LIMBO_COUNT) == 0) return;
  reclaim();
}

/**
 * A slot for an allocation that found the free list empty and no fresh slot left (the live count
 * was checked, so limbo is not empty): reclaim now; if a stalled reader still holds everything,
 * take the newest slot anyway (for orders, the newest no hazard names, if there is one).
 */
function takeFromLimbo(isOrder: bool): u32 {
  reclaim();
  const free = load<u32>(A + freeField(isOrder));
  if (free != NONE) {
    store<u32>(A + freeField(isOrder), load<u32>(linkOf(isOrder, free)));
    return free;
  }
  const hazards = isOrder ? gatherHazards() : 0;
  let prev = NONE;
  let slot = load<u32>(A + headField(isOrder));
  while (hazards != 0 && slot != NONE && hazarded(slot, hazards)) {
    prev = slot;
    slot = load<u32>(linkOf(isOrder, slot));
  }
  if (slot == NONE) { prev = NONE; slot = load<u32>(A + headField(isOrder)); }
  const next = load<u32>(linkOf(isOrder, slot));
  if (prev == NONE) store<u32>(A + headField(isOrder), next); else store<u32>(linkOf(isOrder, prev), next);
  if (next == NONE) store<u32>(A + tailField(isOrder), prev);
  store<u32>(A + countField(isOrder), load<u32>(A + countField(isOrder)) - 1);
  const forced = isOrder ? H_FORCED_ORDERS : H_FORCED_LEVELS;
  store<u32>(A + forced, load<u32>(A + forced) + 1);
  return slot;
}

export function takeOrderFromLimbo(): u32 {
  return takeFromLimbo(true);
}

export function takeLevelFromLimbo(): u32 {
  return takeFromLimbo(false);
}

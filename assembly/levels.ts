// Price levels: 48-byte slots from a pool, each holding an intrusive doubly linked FIFO of
// order slots (O(1) append, O(1) unlink anywhere) and the level's running total and count.
// While a live-book reader is registered (batch-gate.ts), every change to a level or its queue
// happens inside a write section (LV_SEQ odd) and a freed level waits in limbo (limbo.ts), so a
// reader thread can tell a level it read whole from one that changed or was reused under it
// (livebook.ts). With no reader, neither: a freed level is reusable at once.
import { A, LEVELS, NONE, LEVEL_SLOT, H_LEVEL_FREE, H_LEVEL_HWM, H_MAX_ORDERS } from './arena';
import { orderPtr, O_PREV, O_NEXT, O_LEVEL, O_REM } from './orders';
import { deferLevel, takeLevelFromLimbo } from './limbo';
import { guarded } from './batch-gate';

export const LV_PRICE = 0; // i64
export const LV_TOTAL = 8; // i64
export const LV_HEAD = 16; // u32 order slot (free list link when free)
export const LV_TAIL = 20; // u32
export const LV_COUNT = 24; // u32
export const LV_SIDE = 28; // u8
export const LV_INDEX = 32; // u32 its tick index in the symbol's ladder
export const LV_SEQ = 36; //   u32 odd while the level or its queue is being changed (guarded batches only)

// A level whose write section the matcher holds open across several changes (holdLevel): the
// changes inside open and close no section of their own. A per-instance global, 0 when none.
let held: usize = 0;

// @ts-ignore: decorator
@inline function writing(lp: usize): void {
  if (ASC_FEATURE_THREADS && guarded && lp != held) store<u32>(lp, load<u32>(lp, LV_SEQ) + 1, LV_SEQ);
}
// @ts-ignore: decorator
@inline function written(lp: usize): void {
  if (ASC_FEATURE_THREADS && guarded && lp != held) store<u32>(lp, load<u32>(lp, LV_SEQ) + 1, LV_SEQ);
}

/**
 * Opens one write section on a level for a run of changes (the fills of a sweep at one price),
 * instead of one per change; releaseLevel closes it. At most one level is held at a time, and it
 * is released before anything could allocate a level slot.
 */
export function holdLevel(level: u32): void {
  if (!ASC_FEATURE_THREADS || !guarded) return;
  const lp = levelPtr(level);
  if (lp == held) return;
  releaseLevel();
  store<u32>(lp, load<u32>(lp, LV_SEQ) + 1, LV_SEQ);
  held = lp;
}

export function releaseLevel(): void {
  if (!ASC_FEATURE_THREADS || held == 0) return;
  store<u32>(held, load<u32>(held, LV_SEQ) + 1, LV_SEQ);
  held = 0;
}

@inline export function levelPtr(level: u32): usize {
  return LEVELS + <usize>level * LEVEL_SLOT;
}

export function allocLevel(side: u8, price: i64, idx: i32): u32 {
  let level = load<u32>(A, H_LEVEL_FREE);
  if (level != NONE) {
    store<u32>(A, load<u32>(levelPtr(level) + LV_HEAD), H_LEVEL_FREE);
  } else {
    level = load<u32>(A, H_LEVEL_HWM);
    // Levels never outnumber resting orders, so the region has one slot per order.
    if (level < load<u32>(A, H_MAX_ORDERS)) store<u32>(A, level + 1, H_LEVEL_HWM);
    else level = takeLevelFromLimbo();
  }
  const p = levelPtr(level);
  writing(p);
  store<i64>(p, price, LV_PRICE);
  store<i64>(p, 0, LV_TOTAL);
  store<u32>(p, NONE, LV_HEAD);
  store<u32>(p, NONE, LV_TAIL);
  store<u32>(p, 0, LV_COUNT);
  store<u8>(p, side, LV_SIDE);
  store<i32>(p, idx, LV_INDEX);
  written(p);
  return level;
}

export function freeLevel(level: u32): void {
  if (ASC_FEATURE_THREADS && guarded) {
    // The seq moves on: a reader holding this slot sees it change.
    const p = levelPtr(level);
    writing(p);
    deferLevel(level);
    written(p);
  } else {
    store<u32>(levelPtr(level) + LV_HEAD, load<u32>(A, H_LEVEL_FREE));
    store<u32>(A, level, H_LEVEL_FREE);
  }
}

/** Appends an order at the tail: it gets the last place in time priority. */
export function appendOrder(level: u32, slot: u32): void {
  const lp = levelPtr(level);
  const op = orderPtr(slot);
  writing(lp);
  const tail = load<u32>(lp, LV_TAIL);
  store<u32>(op, tail, O_PREV);
  store<u32>(op, NONE, O_NEXT);
  store<u32>(op, level, O_LEVEL);
  if (tail == NONE) store<u32>(lp, slot, LV_HEAD);
  else store<u32>(orderPtr(tail) + O_NEXT, slot);
  store<u32>(lp, slot, LV_TAIL);
  store<u32>(lp, load<u32>(lp, LV_COUNT) + 1, LV_COUNT);
  store<i64>(lp, load<i64>(lp, LV_TOTAL) + load<i64>(op, O_REM), LV_TOTAL);
  written(lp);
}

/** Unlinks an order from wherever it stands in its level's queue; its remaining leaves the total. */
export function unlinkOrder(slot: u32): void {
  const op = orderPtr(slot);
  const lp = levelPtr(load<u32>(op, O_LEVEL));
  writing(lp);
  const prev = load<u32>(op, O_PREV);
  const next = load<u32>(op, O_NEXT);
  if (prev == NONE) store<u32>(lp, next, LV_HEAD);
  else store<u32>(orderPtr(prev) + O_NEXT, next);
  if (next == NONE) store<u32>(lp, prev, LV_TAIL);
  else store<u32>(orderPtr(next) + O_PREV, prev);
  store<u32>(lp, load<u32>(lp, LV_COUNT) - 1, LV_COUNT);
  store<i64>(lp, load<i64>(lp, LV_TOTAL) - load<i64>(op, O_REM), LV_TOTAL);
  written(lp);
}

/**
 * Changes a resting order's remaining quantity in place (keeps its place in the queue). Inside the
 * level's write section only: a reader of the order alone sees one aligned 8-byte field change,
 * before or after, each consistent with the order's other fields (a caller changing more than
 * this field opens the order's section around it).
 */
export function setRemaining(slot: u32, rem: i64): void {
  const op = orderPtr(slot);
  const lp = levelPtr(load<u32>(op, O_LEVEL));
  writing(lp);
  store<i64>(lp, load<i64>(lp, LV_TOTAL) - load<i64>(op, O_REM) + rem, LV_TOTAL);
  store<i64>(op, rem, O_REM);
  written(lp);
}

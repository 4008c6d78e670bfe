// The order pool: fixed 64-byte slots, a free list threaded through freed slots, and a
// generation per slot. A handle is (generation << 32 | slot); the generation grows every time a
// slot is freed, so a handle kept past its order's life never resolves to the slot's next tenant.
// While a live-book reader is registered (batch-gate.ts), a freed slot goes through limbo
// (limbo.ts) before it is reused, so reader threads never see it change under them, and O_SEQ
// tells a reader that the fields it read were being written. With no reader, neither.
import { A, ORDERS, NONE, ORDER_SLOT, H_ORDER_FREE, H_ORDER_HWM, H_LIVE_ORDERS, H_MAX_ORDERS } from './arena';
import { deferOrder, takeOrderFromLimbo } from './limbo';
import { guarded } from './batch-gate';

export const O_ID = 0; //      i64
export const O_PRICE = 8; //   i64
export const O_REM = 16; //    i64 remaining quantity
export const O_CLIENT = 24; // i64 client order id
export const O_PREV = 32; //   u32 slot, NONE at the head of its level
export const O_NEXT = 36; //   u32 slot, NONE at the tail; free list link when free
export const O_LEVEL = 40; //  u32 level slot
export const O_ACCOUNT = 44; // u32
export const O_SYMBOL = 48; // u32 symbol id
export const O_GEN = 52; //    u32 generation
export const O_SIDE = 56; //   u8
export const O_STP = 57; //    u8
export const O_FLAGS = 58; //  u8
export const O_SEQ = 59; //    u8 odd while several of price, remaining, client id are being written (guarded batches)
export const O_INDEX_POS = 60; // u32 where its id sits in the id index (kept current as entries shift)

@inline export function orderPtr(slot: u32): usize {
  return ORDERS + <usize>slot * ORDER_SLOT;
}

/** Takes a free slot, else a fresh one, else one out of limbo (the caller checked the live count). */
export function allocOrder(): u32 {
  let slot = load<u32>(A, H_ORDER_FREE);
  if (slot != NONE) {
    store<u32>(A, load<u32>(orderPtr(slot) + O_NEXT), H_ORDER_FREE);
  } else {
    slot = load<u32>(A, H_ORDER_HWM);
    if (slot < load<u32>(A, H_MAX_ORDERS)) store<u32>(A, slot + 1, H_ORDER_HWM);
    else slot = takeOrderFromLimbo();
  }
  store<u32>(A, load<u32>(A, H_LIVE_ORDERS) + 1, H_LIVE_ORDERS);
  return slot;
}

export function freeOrder(slot: u32): void {
  const p = orderPtr(slot);
  store<u32>(p, load<u32>(p, O_GEN) + 1, O_GEN);
  store<i64>(p, 0, O_ID);
  if (ASC_FEATURE_THREADS && guarded) {
    deferOrder(slot);
  } else {
    store<u32>(p, load<u32>(A, H_ORDER_FREE), O_NEXT);
    store<u32>(A, slot, H_ORDER_FREE);
  }
  store<u32>(A, load<u32>(A, H_LIVE_ORDERS) - 1, H_LIVE_ORDERS);
}

// A write section of an order's mutable fields (price, remaining, client id): O_SEQ odd inside.
// Only where more than one of them changes (a modify): a single aligned 8-byte store needs none.
// Plain stores in program order; see docs/CONCURRENCY.md for what that relies on.
// @ts-ignore: decorator
@inline export function orderWriting(p: usize): void {
  if (ASC_FEATURE_THREADS && guarded) store<u8>(p, load<u8>(p, O_SEQ) + 1, O_SEQ);
}
// @ts-ignore: decorator
@inline export function orderWritten(p: usize): void {
  if (ASC_FEATURE_THREADS && guarded) store<u8>(p, load<u8>(p, O_SEQ) + 1, O_SEQ);
}

@inline export function ordersFull(): bool {
  return load<u32>(A, H_LIVE_ORDERS) >= load<u32>(A, H_MAX_ORDERS);
}

@inline export function handleOf(slot: u32): u64 {
  return (<u64>load<u32>(orderPtr(slot) + O_GEN) << 32) | <u64>slot;
}

/** The slot a handle names, or NONE if that order is gone. */
export function resolveHandle(handle: u64): u32 {
  const slot = <u32>handle;
  if (slot >= load<u32>(A, H_ORDER_HWM)) return NONE;
  const p = orderPtr(slot);
  if (load<u32>(p, O_GEN) != <u32>(handle >> 32) || load<i64>(p, O_ID) == 0) return NONE;
  return slot;
}

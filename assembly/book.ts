// Putting orders on and taking them off a symbol's book: the queue, the ladder, the id index
// and the pools move together here so no caller can leave them out of step.
import { orderPtr, allocOrder, freeOrder, handleOf, O_ID, O_PRICE, O_REM, O_CLIENT, O_ACCOUNT, O_SYMBOL, O_SIDE, O_STP, O_FLAGS, O_LEVEL, O_INDEX_POS } from './orders';
import { levelPtr, allocLevel, freeLevel, appendOrder, unlinkOrder, LV_COUNT, LV_TOTAL, LV_PRICE, LV_SIDE, LV_INDEX } from './levels';
import { levelAt, placeLevel, clearLevel } from './ladder';
import { S_ID } from './symbols';
import * as index from './idindex';
import { emitLevel } from './events';

/** Appends an order (slot already filled in and indexed) to the tail of its price level (at ladder index idx) and reports the level. */
export function rest(sp: usize, slot: u32, idx: i32): void {
  const op = orderPtr(slot);
  const price = load<i64>(op, O_PRICE);
  const side = load<u8>(op, O_SIDE);
  let level = levelAt(sp, idx);
  if (level == 0) {
    level = allocLevel(side, price, idx);
    placeLevel(sp, idx, level, side);
  } else {
    level -= 1;
  }
  appendOrder(level, slot);
  reportLevel(sp, level);
}

/** Fills a fresh slot for a new resting order and indexes its id. */
export function newOrderSlot(symbol: u32, side: u8, account: u32, stp: u8, flags: u8, orderId: i64, price: i64, rem: i64, clientId: i64): u32 {
  const slot = allocOrder();
  const op = orderPtr(slot);
  store<i64>(op, orderId, O_ID);
  store<i64>(op, price, O_PRICE);
  store<i64>(op, rem, O_REM);
  store<i64>(op, clientId, O_CLIENT);
  store<u32>(op, account, O_ACCOUNT);
  store<u32>(op, symbol, O_SYMBOL);
  store<u8>(op, side, O_SIDE);
  store<u8>(op, stp, O_STP);
  store<u8>(op, flags, O_FLAGS);
  index.insert(orderId, handleOf(slot));
  return slot;
}

/** Ends an order's life: out of the id index, slot freed (its generation moves on). */
export function retire(slot: u32): void {
  index.removeAt(load<u32>(orderPtr(slot) + O_INDEX_POS));
  freeOrder(slot);
}

/** Takes a resting order out of its level and retires it. Returns its level (possibly now empty). */
export function takeOff(slot: u32): u32 {
  const level = load<u32>(orderPtr(slot) + O_LEVEL);
  unlinkOrder(slot);
  retire(slot);
  return level;
}

/** Emits the level's current total and count. */
export function reportLevel(sp: usize, level: u32): void {
  const lp = levelPtr(level);
  emitLevel(load<u8>(lp, LV_SIDE), load<u32>(sp, S_ID), load<i64>(lp, LV_PRICE), load<i64>(lp, LV_TOTAL), load<u32>(lp, LV_COUNT));
}

/** Removes a level that has no orders left from the ladder and the pool. */
export function releaseIfEmpty(sp: usize, level: u32): void {
  const lp = levelPtr(level);
  if (load<u32>(lp, LV_COUNT) != 0) return;
  clearLevel(sp, load<i32>(lp, LV_INDEX), load<u8>(lp, LV_SIDE));
  freeLevel(level);
}

/** Reports a level after orders left it, then drops it if empty. */
export function settleLevel(sp: usize, level: u32): void {
  reportLevel(sp, level);
  releaseIfEmpty(sp, level);
}


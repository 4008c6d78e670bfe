// Read-only queries for the host. Results go to a scratch area the host passes (`io`), as
// fixed-size rows laid out in layout.ts, because i64 values should not cross as BigInt.
import * as L from './layout';
import { NONE } from './arena';
import { orderPtr, resolveHandle, O_ID, O_PRICE, O_REM, O_CLIENT, O_ACCOUNT, O_SYMBOL, O_SIDE, O_NEXT, O_FLAGS, O_STP } from './orders';
import { levelPtr, LV_PRICE, LV_TOTAL, LV_COUNT, LV_HEAD, LV_SIDE } from './levels';
import { levelAt, bestIndex, nextAway } from './ladder';
import { symbolPtr, tickIndex, S_BAND_MIN, S_BAND_MAX, S_TICK } from './symbols';
import * as index from './idindex';

/** Up to `levels` levels of a side, best first, as depth rows at io. Returns the rows written (-1: unknown symbol). */
export function depth(symbol: u32, side: u8, levels: i32, io: usize): i32 {
  const sp = symbolPtr(symbol);
  if (sp == 0) return -1;
  let n = 0;
  let idx = bestIndex(sp, side);
  while (idx >= 0 && n < levels) {
    const lp = levelPtr(levelAt(sp, idx) - 1);
    const row = io + <usize>(n * L.DEPTH_ROW_SIZE);
    store<i64>(row, load<i64>(lp, LV_PRICE), L.DEPTH_PRICE);
    store<i64>(row, load<i64>(lp, LV_TOTAL), L.DEPTH_TOTAL);
    store<u32>(row, load<u32>(lp, LV_COUNT), L.DEPTH_COUNT);
    n++;
    idx = nextAway(sp, idx, side);
  }
  return n;
}

/** The FIFO queue at the price read from io (i64), as queue rows at io, up to max. Returns rows (-1: unknown symbol). */
export function queue(symbol: u32, side: u8, max: i32, io: usize): i32 {
  const sp = symbolPtr(symbol);
  if (sp == 0) return -1;
  const price = load<i64>(io);
  if (price < load<i64>(sp, S_BAND_MIN) || price > load<i64>(sp, S_BAND_MAX) || price % load<i64>(sp, S_TICK) != 0) return 0;
  const at = levelAt(sp, tickIndex(sp, price));
  if (at == 0) return 0;
  const lp = levelPtr(at - 1);
  if (load<u8>(lp, LV_SIDE) != side) return 0;
  let n = 0;
  let o = load<u32>(lp, LV_HEAD);
  while (o != NONE && n < max) {
    const op = orderPtr(o);
    const row = io + <usize>(n * L.QUEUE_ROW_SIZE);
    store<i64>(row, load<i64>(op, O_ID), L.QUEUE_ORDER_ID);
    store<i64>(row, load<i64>(op, O_REM), L.QUEUE_REMAINING);
    store<i64>(row, load<i64>(op, O_CLIENT), L.QUEUE_CLIENT_ID);
    store<u32>(row, load<u32>(op, O_ACCOUNT), L.QUEUE_ACCOUNT);
    store<u8>(row, load<u8>(op, O_FLAGS), L.QUEUE_FLAGS);
    store<u8>(row, load<u8>(op, O_STP), L.QUEUE_STP);
    n++;
    o = load<u32>(op, O_NEXT);
  }
  return n;
}

/** Writes the order row of a live slot at io. */
function writeOrderRow(slot: u32, handle: u64, io: usize): void {
  const op = orderPtr(slot);
  store<i64>(io, load<i64>(op, O_ID), L.ORDER_ID);
  store<i64>(io, load<i64>(op, O_PRICE), L.ORDER_PRICE);
  store<i64>(io, load<i64>(op, O_REM), L.ORDER_REMAINING);
  store<i64>(io, load<i64>(op, O_CLIENT), L.ORDER_CLIENT_ID);
  store<u64>(io, handle, L.ORDER_HANDLE);
  store<u32>(io, load<u32>(op, O_SYMBOL), L.ORDER_SYMBOL);
  store<u32>(io, load<u32>(op, O_ACCOUNT), L.ORDER_ACCOUNT);
  store<u8>(io, load<u8>(op, O_SIDE), L.ORDER_SIDE);
}

/** Looks up the order whose id is the i64 at io; writes an order row at io. Returns 1 if resting, else 0. */
export function findOrder(io: usize): i32 {
  const handle = index.lookup(load<i64>(io, L.ORDER_ID));
  if (handle == <u64>-1) return 0;
  const slot = resolveHandle(handle);
  if (slot == NONE) return 0;
  writeOrderRow(slot, handle, io);
  return 1;
}

/** Resolves the handle (u64 at io) of an order; a handle outlives its order but never reaches the slot's next tenant. Returns 1 and an order row, or 0. */
export function findByHandle(io: usize): i32 {
  const handle = load<u64>(io, L.ORDER_HANDLE);
  const slot = resolveHandle(handle);
  if (slot == NONE) return 0;
  writeOrderRow(slot, handle, io);
  return 1;
}

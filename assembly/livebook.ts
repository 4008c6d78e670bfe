// Reading a live book from another thread (docs/CONCURRENCY.md "Reading a live book").
//
// A reader thread runs its own instance of the core over the shared memory (instantiating writes
// nothing: the core has no data segments and keeps its globals per instance) and calls these
// functions; the matcher never waits for it. Two protections, from the arena's readers' domain
// (a reclaim-layout.ts domain whose epoch only the matcher advances, limbo.ts):
//   - traversals (depth, queue) run inside an EBR guard (reclaim.ts ebrEnter/ebrExit): no level
//     or order slot reached inside it is reused before it exits;
//   - single-order lookups publish a hazard pointer on the order slot (slot + 1), so they hold
//     back one slot, not the epoch.
// What they read may still be changing (the matcher does not stop): each level is read between
// two loads of its LV_SEQ, each order between two loads of its O_SEQ and generation, and a read
// that saw a change is repeated (counted as a retry). The threads builds only: the scalar build
// has no threads, so registering there fails with READ_NO_READER.
import {
  DEPTH_ROW_SIZE, DEPTH_PRICE, DEPTH_TOTAL, DEPTH_COUNT, QUEUE_ROW_SIZE, QUEUE_ORDER_ID, QUEUE_REMAINING,
  QUEUE_CLIENT_ID, QUEUE_ACCOUNT, QUEUE_FLAGS, QUEUE_STP, ORDER_ID, ORDER_PRICE, ORDER_REMAINING, ORDER_CLIENT_ID,
  ORDER_HANDLE, ORDER_SYMBOL, ORDER_ACCOUNT, ORDER_SIDE, LIVE_READERS, READ_NOT_FOUND, READ_FOUND,
  READ_UNKNOWN_SYMBOL, READ_BUSY, READ_NO_READER, READ_NO_SLOT, READ_MAX_RETRIES, SIDE_BUY, SIDE_SELL,
} from './layout';
import { A, READERS, NONE, H_MAX_ORDERS, H_INDEX_SEQ } from './arena';
import {
  RECLAIM_H_EPOCH, RECLAIM_PARTICIPANTS_AT, RECLAIM_P_SIZE, RECLAIM_P_OWNER, RECLAIM_P_HAZARDS, RECLAIM_P_READS,
  RECLAIM_P_RETRIES, RECLAIM_NO_SLOT,
} from './reclaim-layout';
import { reclaimRegister, reclaimUnregister, ebrEnter, ebrExit } from './reclaim';
import { loadShared, storeShared, loadShared8 } from './sync';
import { orderPtr, O_ID, O_PRICE, O_REM, O_CLIENT, O_ACCOUNT, O_SYMBOL, O_SIDE, O_NEXT, O_FLAGS, O_STP, O_GEN, O_SEQ, O_LEVEL } from './orders';
import { levelPtr, LV_PRICE, LV_TOTAL, LV_COUNT, LV_HEAD, LV_SIDE, LV_INDEX, LV_SEQ } from './levels';
import { levelAt, bestIndex, nextAway } from './ladder';
import { symbolPtr, tickIndex, S_BAND_MIN, S_BAND_MAX, S_TICK, S_WIDTH } from './symbols';
import * as index from './idindex';

// @ts-ignore: decorator
@inline function record(p: i32): usize {
  return READERS + RECLAIM_PARTICIPANTS_AT + <usize>p * RECLAIM_P_SIZE;
}

/** True when p names a registered reader record (the caller promises it is its own). */
function isReader(p: i32): bool {
  return ASC_FEATURE_THREADS && p >= 0 && p < LIVE_READERS && loadShared(record(p) + RECLAIM_P_OWNER) != 0;
}

// The guard, compiled only where there are atomics (the scalar build never gets past isReader).
// @ts-ignore: decorator
@inline function guard(p: i32): void {
  if (ASC_FEATURE_THREADS) ebrEnter(READERS, p);
}
// @ts-ignore: decorator
@inline function unguard(p: i32): void {
  if (ASC_FEATURE_THREADS) ebrExit(READERS, p);
}

function count(p: i32, reads: i32, retries: i32): void {
  const r = record(p);
  store<i32>(r, load<i32>(r, RECLAIM_P_READS) + reads, RECLAIM_P_READS);
  store<i32>(r, load<i32>(r, RECLAIM_P_RETRIES) + retries, RECLAIM_P_RETRIES);
}

/**
 * Claims a reader record: its index (0..LIVE_READERS-1), READ_NO_SLOT, or READ_NO_READER (no
 * threads). The reader may read only once no batch that started before the claim is running:
 * the caller loads batchState() next and waits while it still reads the same RUNNING value
 * (batch-gate.ts; src/live-book-reader.ts).
 */
export function register(): i32 {
  if (!ASC_FEATURE_THREADS) return READ_NO_READER;
  else {
    const p = reclaimRegister(READERS);
    return p == RECLAIM_NO_SLOT ? READ_NO_SLOT : p;
  }
}

/** Gives the record back (0), or READ_NO_READER; a reader inside a guard cannot leave (-6, reclaim-layout.ts RECLAIM_BUSY). */
export function unregister(p: i32): i32 {
  if (!isReader(p)) return READ_NO_READER;
  if (ASC_FEATURE_THREADS) return reclaimUnregister(READERS, p);
  return READ_NO_READER;
}

/** Enters an EBR guard (nests): several reads inside one guard see no slot reused between them. */
export function enter(p: i32): i32 {
  if (!isReader(p)) return READ_NO_READER;
  guard(p);
  return 0;
}

export function exit(p: i32): i32 {
  if (!isReader(p)) return READ_NO_READER;
  unguard(p);
  return 0;
}

/** Sets hazard k (0..3) to order slot `slot` (or clears it with NONE): that slot is not reused while it is set. */
export function protect(p: i32, k: i32, slot: u32): i32 {
  if (!isReader(p) || k < 0 || k > 3) return READ_NO_READER;
  storeShared(record(p) + RECLAIM_P_HAZARDS + (<usize>k << 2), slot + 1);
  return 0;
}

/**
 * Up to `levels` levels of a side, best first, as depth rows at io. Each row is one level read
 * whole (between equal even LV_SEQs); rows are best first with strictly worsening prices.
 * Returns rows, READ_UNKNOWN_SYMBOL, READ_BUSY or READ_NO_READER.
 */
export function depth(p: i32, symbol: u32, side: u8, levels: i32, io: usize): i32 {
  if (!isReader(p)) return READ_NO_READER;
  if (side != <u8>SIDE_BUY && side != <u8>SIDE_SELL) return READ_UNKNOWN_SYMBOL;
  const sp = symbolPtr(symbol);
  if (sp == 0) return READ_UNKNOWN_SYMBOL;
  const width = <i32>load<u32>(sp, S_WIDTH);
  const maxSlots = load<u32>(A, H_MAX_ORDERS);
  guard(p);
  let n = 0, retries = 0, inARow = 0;
  let idx = bestIndex(sp, side);
  while (idx >= 0 && idx < width && n < levels) {
    const entry = levelAt(sp, idx);
    if (entry == 0 || entry > maxSlots) { // emptied since the bitmap was read (or a torn word)
      idx = nextAway(sp, idx, side);
      continue;
    }
    const lp = levelPtr(entry - 1);
    const s1 = loadShared(lp + LV_SEQ);
    const price = load<i64>(lp, LV_PRICE);
    const total = load<i64>(lp, LV_TOTAL);
    const orders = load<u32>(lp, LV_COUNT);
    const whose = load<u8>(lp, LV_SIDE);
    const at = load<i32>(lp, LV_INDEX);
    const s2 = loadShared(lp + LV_SEQ);
    if ((s1 & 1) != 0 || s1 != s2 || at != idx || whose != side || orders == 0 || levelAt(sp, idx) != entry) {
      // Changing, or no longer the level at idx: read this tick again.
      retries++;
      if (++inARow > READ_MAX_RETRIES) { unguard(p); count(p, n, retries); return READ_BUSY; }
      continue;
    }
    inARow = 0;
    const row = io + <usize>(n * DEPTH_ROW_SIZE);
    store<i64>(row, price, DEPTH_PRICE);
    store<i64>(row, total, DEPTH_TOTAL);
    store<u32>(row, orders, DEPTH_COUNT);
    n++;
    idx = nextAway(sp, idx, side);
  }
  unguard(p);
  count(p, n, retries);
  return n;
}

/**
 * The FIFO queue at the price read from io (i64), up to max queue rows at io, read whole: the
 * level's LV_SEQ was even and unchanged across the walk. When there are rows, the level's own
 * depth row (price, total, orders), read inside the same walk, follows the last one (at
 * io + rows * QUEUE_ROW_SIZE): a caller can check the rows against it (rows = min(orders, max);
 * with every order read, their remainings sum to the total). Returns rows (0: no level of that
 * side there), READ_UNKNOWN_SYMBOL, READ_BUSY or READ_NO_READER.
 */
export function queue(p: i32, symbol: u32, side: u8, max: i32, io: usize): i32 {
  if (!isReader(p)) return READ_NO_READER;
  const sp = symbolPtr(symbol);
  if (sp == 0) return READ_UNKNOWN_SYMBOL;
  const price = load<i64>(io);
  if (price < load<i64>(sp, S_BAND_MIN) || price > load<i64>(sp, S_BAND_MAX) || price % load<i64>(sp, S_TICK) != 0) return 0;
  const idx = tickIndex(sp, price);
  const maxSlots = load<u32>(A, H_MAX_ORDERS);
  guard(p);
  let retries = 0;
  let n = 0;
  while (true) {
    const entry = levelAt(sp, idx);
    if (entry == 0 || entry > maxSlots) { n = 0; break; }
    const level = entry - 1;
    const lp = levelPtr(level);
    const s1 = loadShared(lp + LV_SEQ);
    const whose = load<u8>(lp, LV_SIDE);
    const orders = load<u32>(lp, LV_COUNT);
    const total = load<i64>(lp, LV_TOTAL);
    const levelPrice = load<i64>(lp, LV_PRICE);
    let o = load<u32>(lp, LV_HEAD);
    n = 0;
    let whole = (s1 & 1) == 0;
    while (whole && o != NONE && n < max) {
      if (o >= maxSlots || <u32>n >= orders) { whole = false; break; } // torn, or not this queue any more
      const op = orderPtr(o);
      const row = io + <usize>(n * QUEUE_ROW_SIZE);
      if (load<u32>(op, O_LEVEL) != level) { whole = false; break; }
      store<i64>(row, load<i64>(op, O_ID), QUEUE_ORDER_ID);
      store<i64>(row, load<i64>(op, O_REM), QUEUE_REMAINING);
      store<i64>(row, load<i64>(op, O_CLIENT), QUEUE_CLIENT_ID);
      store<u32>(row, load<u32>(op, O_ACCOUNT), QUEUE_ACCOUNT);
      store<u8>(row, load<u8>(op, O_FLAGS), QUEUE_FLAGS);
      store<u8>(row, load<u8>(op, O_STP), QUEUE_STP);
      n++;
      o = load<u32>(op, O_NEXT);
    }
    const s2 = loadShared(lp + LV_SEQ);
    if (whole && s1 == s2 && levelAt(sp, idx) == entry && load<i32>(lp, LV_INDEX) == idx) {
      if (whose != side) n = 0;
      else if (n > 0) {
        const row = io + <usize>(n * QUEUE_ROW_SIZE);
        store<i64>(row, levelPrice, DEPTH_PRICE);
        store<i64>(row, total, DEPTH_TOTAL);
        store<u32>(row, orders, DEPTH_COUNT);
      }
      break;
    }
    retries++;
    if (retries > READ_MAX_RETRIES) { n = READ_BUSY; break; }
  }
  unguard(p);
  count(p, n > 0 ? n : 0, retries);
  return n;
}

/**
 * Looks up the order whose id is the i64 at io, under a hazard pointer (slot k = 0) on its slot;
 * writes an order row at io. READ_FOUND, READ_NOT_FOUND, READ_BUSY or READ_NO_READER.
 *
 * The lookup races the matcher's index changes: a miss counts only if H_INDEX_SEQ was even and
 * unchanged across it. A hit is protected (hazard published, then the epoch loaded: that load
 * orders it after the matcher's last batch end, whose hazard scan then either saw the hazard or
 * left a generation this reader sees moved on) and then read between two loads of O_SEQ and the
 * generation, checking the slot still holds this id.
 */
export function order(p: i32, io: usize): i32 {
  if (!isReader(p)) return READ_NO_READER;
  const id = load<i64>(io, ORDER_ID);
  const hazard = record(p) + RECLAIM_P_HAZARDS;
  const maxSlots = load<u32>(A, H_MAX_ORDERS);
  let retries = 0;
  let result = READ_NOT_FOUND;
  while (true) {
    if (retries > READ_MAX_RETRIES) { result = READ_BUSY; break; }
    const v1 = loadShared(A + H_INDEX_SEQ);
    const handle = id > 0 ? index.lookup(id) : <u64>-1;
    if (handle == <u64>-1) {
      if ((v1 & 1) == 0 && loadShared(A + H_INDEX_SEQ) == v1) break; // a real miss
      retries++;
      continue;
    }
    const slot = <u32>handle;
    const gen = <u32>(handle >> 32);
    if (slot >= maxSlots) { retries++; continue; } // a torn entry
    storeShared(hazard, slot + 1);
    loadShared(READERS + RECLAIM_H_EPOCH);
    const op = orderPtr(slot);
    const s1 = loadShared8(op + O_SEQ);
    const g1 = loadShared(op + O_GEN);
    const price = load<i64>(op, O_PRICE);
    const rem = load<i64>(op, O_REM);
    const client = load<i64>(op, O_CLIENT);
    const symbol = load<u32>(op, O_SYMBOL);
    const account = load<u32>(op, O_ACCOUNT);
    const side = load<u8>(op, O_SIDE);
    const idNow = load<i64>(op, O_ID);
    const s2 = loadShared8(op + O_SEQ);
    const g2 = loadShared(op + O_GEN);
    if ((s1 & 1) != 0 || s1 != s2 || g1 != gen || g2 != gen || idNow != id) {
      // Being written, or gone (generation moved on): look it up again.
      retries++;
      continue;
    }
    store<i64>(io, id, ORDER_ID);
    store<i64>(io, price, ORDER_PRICE);
    store<i64>(io, rem, ORDER_REMAINING);
    store<i64>(io, client, ORDER_CLIENT_ID);
    store<u64>(io, handle, ORDER_HANDLE);
    store<u32>(io, symbol, ORDER_SYMBOL);
    store<u32>(io, account, ORDER_ACCOUNT);
    store<u8>(io, side, ORDER_SIDE);
    result = READ_FOUND;
    break;
  }
  storeShared(hazard, 0);
  count(p, result == READ_FOUND ? 1 : 0, retries);
  return result;
}

/** Writes this reader's counters at io: rows read (u32), retries (u32). */
export function counters(p: i32, io: usize): i32 {
  if (!isReader(p)) return READ_NO_READER;
  store<u32>(io, load<u32>(record(p), RECLAIM_P_READS));
  store<u32>(io, load<u32>(record(p), RECLAIM_P_RETRIES), 4);
  return 0;
}

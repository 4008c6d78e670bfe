// One handler per command type: validate in the documented order (docs/SEMANTICS.md), reject
// with a reason and change nothing, or apply. Fields are read straight from the command record.
import * as L from './layout';
import { A, NONE, H_MAX_SYMBOLS } from './arena';
import { orderPtr, ordersFull, resolveHandle, orderWriting, orderWritten, O_ID, O_PRICE, O_REM, O_CLIENT, O_ACCOUNT, O_SYMBOL, O_SIDE, O_FLAGS, O_STP, O_LEVEL, O_NEXT } from './orders';
import { levelPtr, setRemaining, unlinkOrder, holdLevel, releaseLevel, LV_HEAD } from './levels';
import { levelAt, bestIndex, nextAway } from './ladder';
import { symbolPtr, addSymbol, bandWidth, ladderTicksLeft, S_STATUS, S_TICK, S_LOT, S_BAND_MIN, S_BAND_MAX, S_WIDTH, S_ID } from './symbols';
import * as index from './idindex';
import { takeOff, settleLevel, reportLevel } from './book';
import { setTaker, wouldCross, fillable, cancelTakerForFok, match, close } from './matching';
import { emitAccepted, emitRejected, emitCancelled, emitModified, emitSymbolStatus } from './events';

@inline function u8at(c: usize, f: i32): u8 { return load<u8>(c + <usize>f); }
@inline function u32at(c: usize, f: i32): u32 { return load<u32>(c + <usize>f); }
@inline function i64at(c: usize, f: i32): i64 { return load<i64>(c + <usize>f); }

function reject(c: usize, reason: i32, withOrder: bool): void {
  emitRejected(reason, u32at(c, L.CMD_SYMBOL), u32at(c, L.CMD_ACCOUNT),
    withOrder ? i64at(c, L.CMD_ORDER_ID) : 0, withOrder ? i64at(c, L.CMD_CLIENT_ID) : 0);
}

function quantityProblem(sp: usize, qty: i64): i32 {
  if (qty <= 0) return L.REJ_INVALID_QUANTITY;
  if (qty > L.MAX_ORDER_QUANTITY) return L.REJ_QUANTITY_TOO_LARGE;
  const lot = load<i64>(sp, S_LOT);
  if (lot != 1 && qty % lot != 0) return L.REJ_INVALID_QUANTITY;
  return 0;
}

// The ladder index of the last price priceProblem() accepted: one division both checks the
// tick and finds the index (the band's ends are on tick, so price is on tick iff its offset is).
let checkedIndex: i32 = 0;

function priceProblem(sp: usize, price: i64): i32 {
  const bandMin = load<i64>(sp, S_BAND_MIN);
  if (price < bandMin || price > load<i64>(sp, S_BAND_MAX)) return L.REJ_PRICE_OUT_OF_BAND;
  const tick = load<i64>(sp, S_TICK);
  const offset = <u64>(price - bandMin);
  if (tick == 1) {
    checkedIndex = <i32>offset;
    return 0;
  }
  const idx = offset / <u64>tick;
  if (idx * <u64>tick != offset) return L.REJ_PRICE_OFF_TICK;
  checkedIndex = <i32>idx;
  return 0;
}

/** The slot of a live order of this symbol, or NONE. */
function liveOrderIn(sp: usize, orderId: i64): u32 {
  const handle = index.lookup(orderId);
  if (handle == <u64>-1) return NONE;
  const slot = resolveHandle(handle);
  if (slot == NONE || load<u32>(orderPtr(slot) + O_SYMBOL) != load<u32>(sp, S_ID)) return NONE;
  return slot;
}

function newOrder(c: usize): void {
  const side = u8at(c, L.CMD_SIDE);
  const type = u8at(c, L.CMD_ORDER_TYPE);
  const tif = u8at(c, L.CMD_TIF);
  const flags = u8at(c, L.CMD_FLAGS);
  const stp = u8at(c, L.CMD_STP);
  const isMarket = type == <u8>L.ORDER_MARKET;
  const protectedMarket = (flags & <u8>L.FLAG_PROTECTED) != 0;
  const postOnly = (flags & <u8>L.FLAG_POST_ONLY) != 0;
  if (side < 1 || side > 2 || type < 1 || type > 2 || tif < 1 || tif > 3 || stp > <u8>L.STP_MAX ||
      (flags & ~<u8>L.FLAGS_KNOWN) != 0 || (protectedMarket && !isMarket)) return reject(c, L.REJ_MALFORMED, true);
  const orderId = i64at(c, L.CMD_ORDER_ID);
  if (orderId <= 0) return reject(c, L.REJ_INVALID_ORDER_ID, true);
  const sp = symbolPtr(u32at(c, L.CMD_SYMBOL));
  if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, true);
  if (load<u8>(sp, S_STATUS) != <u8>L.STATUS_ACTIVE) return reject(c, L.REJ_SYMBOL_HALTED, true);
  if ((isMarket && tif == <u8>L.TIF_GTC) || (postOnly && (isMarket || tif != <u8>L.TIF_GTC))) return reject(c, L.REJ_INVALID_TIF, true);
  const qty = i64at(c, L.CMD_QUANTITY);
  const qtyProblem = quantityProblem(sp, qty);
  if (qtyProblem != 0) return reject(c, qtyProblem, true);
  const hasLimit = !isMarket || protectedMarket;
  const price = hasLimit ? i64at(c, L.CMD_PRICE) : 0;
  if (hasLimit) {
    const p = priceProblem(sp, price);
    if (p != 0) return reject(c, p, true);
  }
  if (index.findPos(orderId) >= 0) return reject(c, L.REJ_DUPLICATE_ORDER_ID, true);
  const rests = !isMarket && tif == <u8>L.TIF_GTC;
  if (rests && ordersFull()) return reject(c, L.REJ_ORDER_CAPACITY, true);
  const worst = hasLimit ? checkedIndex : (side == <u8>L.SIDE_BUY ? <i32>load<u32>(sp, S_WIDTH) - 1 : 0);
  const account = u32at(c, L.CMD_ACCOUNT);
  const clientId = i64at(c, L.CMD_CLIENT_ID);
  setTaker(sp, side, account, stp, flags, orderId, price, clientId, qty, worst, NONE);
  if (postOnly && wouldCross()) return reject(c, L.REJ_POST_ONLY_WOULD_CROSS, true);
  emitAccepted(side, load<u32>(sp, S_ID), account, orderId, price, qty, clientId);
  if (tif == <u8>L.TIF_FOK && !fillable()) return cancelTakerForFok();
  match();
  close(rests);
}

function cancel(c: usize): void {
  const orderId = i64at(c, L.CMD_ORDER_ID);
  if (orderId <= 0) return reject(c, L.REJ_INVALID_ORDER_ID, true);
  const sp = symbolPtr(u32at(c, L.CMD_SYMBOL));
  if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, true);
  const slot = liveOrderIn(sp, orderId);
  if (slot == NONE) return reject(c, L.REJ_UNKNOWN_ORDER, true);
  const op = orderPtr(slot);
  if (load<u32>(op, O_ACCOUNT) != u32at(c, L.CMD_ACCOUNT)) return reject(c, L.REJ_NOT_OWNER, true);
  emitCancelled(L.CXL_REQUEST, load<u8>(op, O_SIDE), load<u32>(sp, S_ID), load<u32>(op, O_ACCOUNT), orderId,
    load<i64>(op, O_PRICE), load<i64>(op, O_REM), 0, load<i64>(op, O_CLIENT));
  const level = load<u32>(op, O_LEVEL);
  holdLevel(level); // the unlink and, if the level empties, its free: one write section
  takeOff(slot);
  settleLevel(sp, level);
  releaseLevel();
}

function modify(c: usize): void {
  const orderId = i64at(c, L.CMD_ORDER_ID);
  if (orderId <= 0) return reject(c, L.REJ_INVALID_ORDER_ID, true);
  const sp = symbolPtr(u32at(c, L.CMD_SYMBOL));
  if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, true);
  if (load<u8>(sp, S_STATUS) != <u8>L.STATUS_ACTIVE) return reject(c, L.REJ_SYMBOL_HALTED, true);
  const slot = liveOrderIn(sp, orderId);
  if (slot == NONE) return reject(c, L.REJ_UNKNOWN_ORDER, true);
  const op = orderPtr(slot);
  const account = load<u32>(op, O_ACCOUNT);
  if (account != u32at(c, L.CMD_ACCOUNT)) return reject(c, L.REJ_NOT_OWNER, true);
  const qty = i64at(c, L.CMD_QUANTITY);
  const qtyProblem = quantityProblem(sp, qty);
  if (qtyProblem != 0) return reject(c, qtyProblem, true);
  const price = i64at(c, L.CMD_PRICE);
  const p = priceProblem(sp, price);
  if (p != 0) return reject(c, p, true);
  const side = load<u8>(op, O_SIDE);
  const clientId = i64at(c, L.CMD_CLIENT_ID);
  const symbol = load<u32>(sp, S_ID);
  const flags = load<u8>(op, O_FLAGS);
  if (price == load<i64>(op, O_PRICE) && qty <= load<i64>(op, O_REM)) {
    // Same price, no more quantity: it keeps its place in the queue.
    orderWriting(op); // two fields: a reader of the order sees both or neither
    setRemaining(slot, qty);
    store<i64>(op, clientId, O_CLIENT);
    orderWritten(op);
    emitModified(side, symbol, account, orderId, price, qty, clientId);
    reportLevel(sp, load<u32>(op, O_LEVEL));
    return;
  }
  setTaker(sp, side, account, load<u8>(op, O_STP), flags, orderId, price, clientId, qty, checkedIndex, slot);
  if ((flags & <u8>L.FLAG_POST_ONLY) != 0 && wouldCross()) return reject(c, L.REJ_POST_ONLY_WOULD_CROSS, true);
  // Loses priority: off its level, then in again as a GTC taker that keeps its slot and id.
  const oldLevel = load<u32>(op, O_LEVEL);
  unlinkOrder(slot);
  orderWriting(op);
  store<i64>(op, price, O_PRICE);
  store<i64>(op, qty, O_REM);
  store<i64>(op, clientId, O_CLIENT);
  orderWritten(op);
  emitModified(side, symbol, account, orderId, price, qty, clientId);
  settleLevel(sp, oldLevel);
  match();
  close(true);
}

/** Cancels the symbol's orders of an account (any account when 0), bids then asks, best first, FIFO. */
function cancelAllIn(sp: usize, account: u32, reason: i32): void {
  const symbol = load<u32>(sp, S_ID);
  for (let side: u8 = <u8>L.SIDE_BUY; side <= <u8>L.SIDE_SELL; side++) {
    let idx = bestIndex(sp, side);
    while (idx >= 0) {
      const next = nextAway(sp, idx, side);
      const level = levelAt(sp, idx) - 1;
      let o = load<u32>(levelPtr(level) + LV_HEAD);
      let removed = false;
      while (o != NONE) {
        const op = orderPtr(o);
        const following = load<u32>(op, O_NEXT);
        if (account == 0 || load<u32>(op, O_ACCOUNT) == account) {
          emitCancelled(reason, side, symbol, load<u32>(op, O_ACCOUNT), load<i64>(op, O_ID), load<i64>(op, O_PRICE),
            load<i64>(op, O_REM), 0, load<i64>(op, O_CLIENT));
          takeOff(o);
          removed = true;
        }
        o = following;
      }
      if (removed) settleLevel(sp, level);
      idx = next;
    }
  }
}

function massCancel(c: usize): void {
  const symbolId = u32at(c, L.CMD_SYMBOL);
  const account = u32at(c, L.CMD_ACCOUNT);
  if (symbolId == 0 && account == 0) return reject(c, L.REJ_MALFORMED, false);
  if (symbolId != 0) {
    const sp = symbolPtr(symbolId);
    if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, false);
    cancelAllIn(sp, account, L.CXL_MASS_CANCEL);
    return;
  }
  const max = load<u32>(A, H_MAX_SYMBOLS);
  for (let id: u32 = 1; id <= max; id++) {
    const sp = symbolPtr(id);
    if (sp != 0) cancelAllIn(sp, account, L.CXL_MASS_CANCEL);
  }
}

function addSymbolCommand(c: usize): void {
  const id = u32at(c, L.CMD_SYMBOL);
  if (id == 0) return reject(c, L.REJ_INVALID_SYMBOL_CONFIG, false);
  if (id > load<u32>(A, H_MAX_SYMBOLS)) return reject(c, L.REJ_SYMBOL_CAPACITY, false);
  if (symbolPtr(id) != 0) return reject(c, L.REJ_DUPLICATE_SYMBOL, false);
  const tick = i64at(c, L.CMD_TICK_SIZE);
  const lot = i64at(c, L.CMD_LOT_SIZE);
  const bandMin = i64at(c, L.CMD_BAND_MIN);
  const bandMax = i64at(c, L.CMD_BAND_MAX);
  if (tick <= 0 || lot <= 0 || bandMin > bandMax || bandMin % tick != 0 || bandMax % tick != 0) {
    return reject(c, L.REJ_INVALID_SYMBOL_CONFIG, false);
  }
  const width = bandWidth(tick, bandMin, bandMax);
  if (width < 0 || width > <i64>ladderTicksLeft()) return reject(c, L.REJ_SYMBOL_CAPACITY, false);
  addSymbol(id, tick, lot, bandMin, bandMax, <u32>width);
  emitSymbolStatus(id, L.STATUS_ACTIVE);
}

function halt(c: usize): void {
  const sp = symbolPtr(u32at(c, L.CMD_SYMBOL));
  if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, false);
  const flags = u8at(c, L.CMD_FLAGS);
  if ((flags & ~<u8>L.HALT_CANCEL_ORDERS) != 0) return reject(c, L.REJ_MALFORMED, false);
  store<u8>(sp, <u8>L.STATUS_HALTED, S_STATUS);
  emitSymbolStatus(load<u32>(sp, S_ID), L.STATUS_HALTED);
  if (flags != 0) cancelAllIn(sp, 0, L.CXL_HALT);
}

function resume(c: usize): void {
  const sp = symbolPtr(u32at(c, L.CMD_SYMBOL));
  if (sp == 0) return reject(c, L.REJ_UNKNOWN_SYMBOL, false);
  store<u8>(sp, <u8>L.STATUS_ACTIVE, S_STATUS);
  emitSymbolStatus(load<u32>(sp, S_ID), L.STATUS_ACTIVE);
}

export function execute(c: usize): void {
  const type = u8at(c, L.CMD_TYPE);
  if (type == <u8>L.CMD_NEW) newOrder(c);
  else if (type == <u8>L.CMD_CANCEL) cancel(c);
  else if (type == <u8>L.CMD_MODIFY) modify(c);
  else if (type == <u8>L.CMD_MASS_CANCEL) massCancel(c);
  else if (type == <u8>L.CMD_ADD_SYMBOL) addSymbolCommand(c);
  else if (type == <u8>L.CMD_HALT) halt(c);
  else if (type == <u8>L.CMD_RESUME) resume(c);
  else reject(c, L.REJ_MALFORMED, false);
}

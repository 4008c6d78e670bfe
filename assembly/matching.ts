// Matching: an incoming (or repriced) order, the taker, against the opposite side of its book,
// best level first, FIFO within a level, at the maker's price. See docs/SEMANTICS.md "match" and
// "close": this file is that pseudo-code, line for line.
import { NONE, A, H_NEXT_TRADE_ID } from './arena';
import { orderPtr, O_ID, O_PRICE, O_REM, O_CLIENT, O_ACCOUNT, O_NEXT } from './orders';
import { levelPtr, setRemaining, holdLevel, releaseLevel, LV_HEAD, LV_COUNT, LV_TOTAL, LV_PRICE } from './levels';
import { levelAt, bestIndex, nextAway } from './ladder';
import { S_ID } from './symbols';
import { takeOff, retire, rest, newOrderSlot, settleLevel, reportLevel } from './book';
import { emitTrade, emitCancelled } from './events';
import {
  SIDE_BUY, SIDE_SELL, STP_NONE, STP_CANCEL_NEWEST, STP_CANCEL_OLDEST, STP_CANCEL_BOTH, STP_DECREMENT,
  CXL_SELF_TRADE, CXL_IOC, CXL_FOK,
} from './layout';

// The taker. Module globals are per instance (thread-local); they live for one command only.
let sp: usize = 0; //      its symbol's slot
let symbol: u32 = 0;
let side: u8 = 0;
let opp: u8 = 0;
let account: u32 = 0;
let stp: u8 = 0;
let flags: u8 = 0;
let orderId: i64 = 0;
let price: i64 = 0; //     limit or protection price as reported in events (0: unprotected market)
let clientId: i64 = 0;
let rem: i64 = 0;
let limitIdx: i32 = 0; //  worst ladder index it may trade at
let slot: u32 = NONE; //   its order slot when it already has one (a repriced order)
let selfTradeStop = false;

export function setTaker(symbolPtr: usize, s: u8, acct: u32, mode: u8, f: u8, id: i64, p: i64, client: i64, qty: i64, worstIdx: i32, existing: u32): void {
  sp = symbolPtr;
  symbol = load<u32>(symbolPtr, S_ID);
  side = s;
  opp = s == <u8>SIDE_BUY ? <u8>SIDE_SELL : <u8>SIDE_BUY;
  account = acct;
  stp = mode;
  flags = f;
  orderId = id;
  price = p;
  clientId = client;
  rem = qty;
  limitIdx = worstIdx;
  slot = existing;
  selfTradeStop = false;
}

/** Does the opposite level at ladder index idx cross the taker's limit? */
@inline function crosses(idx: i32): bool {
  return side == <u8>SIDE_BUY ? idx <= limitIdx : idx >= limitIdx;
}

/** True when the opposite side's best crosses the taker: what post-only refuses. */
export function wouldCross(): bool {
  const best = bestIndex(sp, opp);
  return best >= 0 && crosses(best);
}

/** FOK: can the taker fill whole, counting only what would trade (not self-trade victims)? */
export function fillable(): bool {
  let need = rem;
  let idx = bestIndex(sp, opp);
  while (idx >= 0 && crosses(idx)) {
    const level = levelAt(sp, idx) - 1;
    if (stp == <u8>STP_NONE) {
      need -= load<i64>(levelPtr(level) + LV_TOTAL);
      if (need <= 0) return true;
    } else {
      let o = load<u32>(levelPtr(level) + LV_HEAD);
      while (o != NONE) {
        const op = orderPtr(o);
        if (load<u32>(op, O_ACCOUNT) == account) {
          if (stp != <u8>STP_CANCEL_OLDEST) return false;
        } else {
          need -= load<i64>(op, O_REM);
          if (need <= 0) return true;
        }
        o = load<u32>(op, O_NEXT);
      }
    }
    idx = nextAway(sp, idx, opp);
  }
  return false;
}

export function cancelTakerForFok(): void {
  emitCancelled(CXL_FOK, side, symbol, account, orderId, price, rem, 0, clientId);
}

export function match(): void {
  let touched: u32 = NONE; // a level whose orders changed and whose LEVEL is not yet reported
  while (rem > 0) {
    const idx = bestIndex(sp, opp);
    if (idx < 0 || !crosses(idx)) break;
    const level = levelAt(sp, idx) - 1;
    const lp = levelPtr(level);
    holdLevel(level); // one write section for every fill at this level (guarded batches)
    const maker = load<u32>(lp, LV_HEAD);
    const mp = orderPtr(maker);
    const makerAccount = load<u32>(mp, O_ACCOUNT);
    const makerRem = load<i64>(mp, O_REM);
    const makerPrice = load<i64>(lp, LV_PRICE);
    if (stp != <u8>STP_NONE && makerAccount == account) {
      if (stp == <u8>STP_CANCEL_NEWEST) {
        selfTradeStop = true;
        break;
      }
      if (stp == <u8>STP_DECREMENT) {
        const d = rem < makerRem ? rem : makerRem;
        emitCancelled(CXL_SELF_TRADE, opp, symbol, makerAccount, load<i64>(mp, O_ID), makerPrice, d, makerRem - d, load<i64>(mp, O_CLIENT));
        if (d == makerRem) takeOff(maker);
        else setRemaining(maker, makerRem - d);
        rem -= d;
        emitCancelled(CXL_SELF_TRADE, side, symbol, account, orderId, price, d, rem, clientId);
      } else { // CANCEL_OLDEST or CANCEL_BOTH
        emitCancelled(CXL_SELF_TRADE, opp, symbol, makerAccount, load<i64>(mp, O_ID), makerPrice, makerRem, 0, load<i64>(mp, O_CLIENT));
        takeOff(maker);
        if (stp == <u8>STP_CANCEL_BOTH) selfTradeStop = true;
      }
    } else {
      const q = rem < makerRem ? rem : makerRem;
      const tradeId = load<i64>(A, H_NEXT_TRADE_ID);
      store<i64>(A, tradeId + 1, H_NEXT_TRADE_ID);
      emitTrade(side, symbol, makerAccount, account, load<i64>(mp, O_ID), makerPrice, q, orderId, tradeId);
      if (q == makerRem) takeOff(maker);
      else setRemaining(maker, makerRem - q);
      rem -= q;
    }
    if (load<u32>(lp, LV_COUNT) == 0) {
      settleLevel(sp, level);
      touched = NONE;
    } else {
      touched = level;
    }
    if (selfTradeStop) break;
  }
  releaseLevel();
  if (touched != NONE) reportLevel(sp, touched);
}

/** After matching: cancel a self-trade or IOC remainder, or rest a GTC remainder. */
export function close(restRemainder: bool): void {
  if (selfTradeStop) {
    emitCancelled(CXL_SELF_TRADE, side, symbol, account, orderId, price, rem, 0, clientId);
  } else if (rem > 0 && !restRemainder) {
    emitCancelled(CXL_IOC, side, symbol, account, orderId, price, rem, 0, clientId);
  } else if (rem > 0) {
    if (slot == NONE) {
      slot = newOrderSlot(symbol, side, account, stp, flags, orderId, price, rem, clientId);
    } else {
      store<i64>(orderPtr(slot), rem, O_REM); // one field (setRemaining's comment): no order section
    }
    rest(sp, slot, limitIdx);
    return;
  }
  if (slot != NONE) retire(slot);
}

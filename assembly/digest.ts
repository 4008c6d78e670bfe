// The state digest: FNV-1a over 64-bit words of the book in canonical order (docs/SEMANTICS.md).
// It walks the book, not memory, so layout (slot reuse, restore at another base) never shows.
import { NONE, A, H_LIVE_ORDERS, H_NEXT_TRADE_ID, H_MAX_SYMBOLS } from './arena';
import { orderPtr, O_ID, O_ACCOUNT, O_REM, O_CLIENT, O_FLAGS, O_STP, O_NEXT } from './orders';
import { levelPtr, LV_PRICE, LV_TOTAL, LV_COUNT, LV_HEAD } from './levels';
import { levelAt, bestIndex, nextAway } from './ladder';
import { symbolPtr, S_ID, S_STATUS, S_TICK, S_LOT, S_BAND_MIN, S_BAND_MAX, S_BID_LEVELS, S_ASK_LEVELS } from './symbols';
import { SIDE_BUY, SIDE_SELL } from './layout';

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

let h: u64 = 0;

@inline function mix(w: u64): void {
  h = (h ^ w) * FNV_PRIME;
}

function mixSide(sp: usize, side: u8): void {
  mix(<u64>load<u32>(sp + (side == <u8>SIDE_BUY ? S_BID_LEVELS : S_ASK_LEVELS)));
  let idx = bestIndex(sp, side);
  while (idx >= 0) {
    const lp = levelPtr(levelAt(sp, idx) - 1);
    mix(load<u64>(lp, LV_PRICE));
    mix(load<u64>(lp, LV_TOTAL));
    mix(<u64>load<u32>(lp, LV_COUNT));
    let o = load<u32>(lp, LV_HEAD);
    while (o != NONE) {
      const op = orderPtr(o);
      mix(load<u64>(op, O_ID));
      mix(<u64>load<u32>(op, O_ACCOUNT));
      mix(load<u64>(op, O_REM));
      mix(load<u64>(op, O_CLIENT));
      mix(<u64>load<u8>(op, O_FLAGS));
      mix(<u64>load<u8>(op, O_STP));
      o = load<u32>(op, O_NEXT);
    }
    idx = nextAway(sp, idx, side);
  }
}

export function digest(): u64 {
  h = FNV_OFFSET;
  mix(<u64>load<u32>(A, H_LIVE_ORDERS));
  mix(load<u64>(A, H_NEXT_TRADE_ID));
  const max = load<u32>(A, H_MAX_SYMBOLS);
  for (let id: u32 = 1; id <= max; id++) {
    const sp = symbolPtr(id);
    if (sp == 0) continue;
    mix(<u64>load<u32>(sp, S_ID));
    mix(<u64>load<u8>(sp, S_STATUS));
    mix(load<u64>(sp, S_TICK));
    mix(load<u64>(sp, S_LOT));
    mix(load<u64>(sp, S_BAND_MIN));
    mix(load<u64>(sp, S_BAND_MAX));
    mixSide(sp, <u8>SIDE_BUY);
    mixSide(sp, <u8>SIDE_SELL);
  }
  return h;
}

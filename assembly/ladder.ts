// A symbol's price ladder: one entry per tick of its band (level slot + 1, 0 when empty) and a
// two-tier occupancy bitmap (a bit per tick, a summary bit per 64-tick word). Finding the next
// best level after one empties costs a few count-zero instructions, never a scan of the book.
// Bids always sit below asks, so any occupied tick under the best bid is a bid, and any above
// the best ask an ask: one bitmap serves both sides.
import { A } from './arena';
import { SIDE_BUY } from './layout';
import { S_LADDER, S_BITS, S_SUMMARY, S_SUM_WORDS, S_WIDTH, S_BEST_BID, S_BEST_ASK, S_BID_LEVELS, S_ASK_LEVELS } from './symbols';

@inline function ladderAt(sp: usize, idx: i32): usize {
  return A + <usize>load<u32>(sp, S_LADDER) + (<usize>idx << 2);
}

/** The level slot + 1 at a tick (0: no level there). */
@inline export function levelAt(sp: usize, idx: i32): u32 {
  return load<u32>(ladderAt(sp, idx));
}

function markOccupied(sp: usize, idx: i32): void {
  const bits = A + <usize>load<u32>(sp, S_BITS);
  const summary = A + <usize>load<u32>(sp, S_SUMMARY);
  const w = <usize>(idx >> 6);
  const wp = bits + (w << 3);
  store<u64>(wp, load<u64>(wp) | (<u64>1 << <u64>(idx & 63)));
  const sp2 = summary + ((w >> 6) << 3);
  store<u64>(sp2, load<u64>(sp2) | (<u64>1 << <u64>(w & 63)));
}

function markEmpty(sp: usize, idx: i32): void {
  const bits = A + <usize>load<u32>(sp, S_BITS);
  const summary = A + <usize>load<u32>(sp, S_SUMMARY);
  const w = <usize>(idx >> 6);
  const wp = bits + (w << 3);
  const word = load<u64>(wp) & ~(<u64>1 << <u64>(idx & 63));
  store<u64>(wp, word);
  if (word == 0) {
    const sp2 = summary + ((w >> 6) << 3);
    store<u64>(sp2, load<u64>(sp2) & ~(<u64>1 << <u64>(w & 63)));
  }
}

/** Highest occupied tick below idx, or -1. */
export function occupiedBelow(sp: usize, idx: i32): i32 {
  if (idx <= 0) return -1;
  const bits = A + <usize>load<u32>(sp, S_BITS);
  const summary = A + <usize>load<u32>(sp, S_SUMMARY);
  const w = idx >> 6;
  const b = idx & 63;
  const below = load<u64>(bits + (<usize>w << 3)) & ((<u64>1 << <u64>b) - 1);
  if (below != 0) return (w << 6) + 63 - <i32>clz(below);
  if (w == 0) return -1;
  // Words strictly below w, through the summary.
  let sw = (w - 1) >> 6;
  let smask = load<u64>(summary + (<usize>sw << 3)) & (<u64>-1 >> <u64>(63 - ((w - 1) & 63)));
  while (true) {
    if (smask != 0) {
      const w2 = (sw << 6) + 63 - <i32>clz(smask);
      return (w2 << 6) + 63 - <i32>clz(load<u64>(bits + (<usize>w2 << 3)));
    }
    if (sw == 0) return -1;
    sw--;
    smask = load<u64>(summary + (<usize>sw << 3));
  }
}

/** Lowest occupied tick above idx, or -1. */
export function occupiedAbove(sp: usize, idx: i32): i32 {
  const j = idx + 1;
  if (j >= <i32>load<u32>(sp, S_WIDTH)) return -1;
  const bits = A + <usize>load<u32>(sp, S_BITS);
  const summary = A + <usize>load<u32>(sp, S_SUMMARY);
  const sumWords = <i32>load<u32>(sp, S_SUM_WORDS);
  const w = j >> 6;
  const above = load<u64>(bits + (<usize>w << 3)) & (<u64>-1 << <u64>(j & 63));
  if (above != 0) return (w << 6) + <i32>ctz(above);
  const next = w + 1;
  let sw = next >> 6;
  if (sw >= sumWords) return -1;
  let smask = load<u64>(summary + (<usize>sw << 3)) & (<u64>-1 << <u64>(next & 63));
  while (true) {
    if (smask != 0) {
      const w2 = (sw << 6) + <i32>ctz(smask);
      return (w2 << 6) + <i32>ctz(load<u64>(bits + (<usize>w2 << 3)));
    }
    sw++;
    if (sw >= sumWords) return -1;
    smask = load<u64>(summary + (<usize>sw << 3));
  }
}

/** Puts a new level at an empty tick and moves the side's best price if it improves. */
export function placeLevel(sp: usize, idx: i32, level: u32, side: u8): void {
  store<u32>(ladderAt(sp, idx), level + 1);
  markOccupied(sp, idx);
  if (side == <u8>SIDE_BUY) {
    store<u32>(sp, load<u32>(sp, S_BID_LEVELS) + 1, S_BID_LEVELS);
    if (idx > load<i32>(sp, S_BEST_BID)) store<i32>(sp, idx, S_BEST_BID);
  } else {
    store<u32>(sp, load<u32>(sp, S_ASK_LEVELS) + 1, S_ASK_LEVELS);
    const best = load<i32>(sp, S_BEST_ASK);
    if (best < 0 || idx < best) store<i32>(sp, idx, S_BEST_ASK);
  }
}

/** Clears an emptied level's tick; if it was the best, the next occupied tick on that side becomes best. */
export function clearLevel(sp: usize, idx: i32, side: u8): void {
  store<u32>(ladderAt(sp, idx), 0);
  markEmpty(sp, idx);
  if (side == <u8>SIDE_BUY) {
    store<u32>(sp, load<u32>(sp, S_BID_LEVELS) - 1, S_BID_LEVELS);
    if (idx == load<i32>(sp, S_BEST_BID)) store<i32>(sp, occupiedBelow(sp, idx), S_BEST_BID);
  } else {
    store<u32>(sp, load<u32>(sp, S_ASK_LEVELS) - 1, S_ASK_LEVELS);
    if (idx == load<i32>(sp, S_BEST_ASK)) store<i32>(sp, occupiedAbove(sp, idx), S_BEST_ASK);
  }
}

/** The next level away from the touch on a side: lower for bids, higher for asks (-1: none). */
@inline export function nextAway(sp: usize, idx: i32, side: u8): i32 {
  return side == <u8>SIDE_BUY ? occupiedBelow(sp, idx) : occupiedAbove(sp, idx);
}

@inline export function bestIndex(sp: usize, side: u8): i32 {
  return side == <u8>SIDE_BUY ? load<i32>(sp, S_BEST_BID) : load<i32>(sp, S_BEST_ASK);
}

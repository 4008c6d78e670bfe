// The symbol table: one 128-byte slot per symbol id (ids 1..maxSymbols, direct-indexed), with
// the symbol's trading rules and its price ladder's place in the arena.
import { A, SYMBOLS, SYMBOL_SLOT, H_MAX_SYMBOLS, H_LADDER_TICKS, H_LADDER_USED, H_BITS_USED, H_SUMMARY_USED, H_OFF_LADDER, H_OFF_BITS, H_OFF_SUMMARY } from './arena';
import { STATUS_ACTIVE } from './layout';

export const S_ID = 0; //         u32 (0: never added)
export const S_STATUS = 4; //     u8
export const S_TICK = 8; //       i64
export const S_LOT = 16; //       i64
export const S_BAND_MIN = 24; //  i64
export const S_BAND_MAX = 32; //  i64
export const S_WIDTH = 40; //     u32 ladder entries (ticks in the band)
export const S_LADDER = 44; //    u32 arena offset of the ladder (u32 per tick: level slot + 1, 0 empty)
export const S_BITS = 48; //      u32 arena offset of the occupancy bitmap (a bit per tick)
export const S_SUMMARY = 52; //   u32 arena offset of the summary bitmap (a bit per bitmap word)
export const S_WORDS = 56; //     u32 bitmap words
export const S_SUM_WORDS = 60; // u32 summary words
export const S_BEST_BID = 64; //  i32 tick index, -1 when no bids
export const S_BEST_ASK = 68; //  i32 tick index, -1 when no asks
export const S_BID_LEVELS = 72; // u32
export const S_ASK_LEVELS = 76; // u32

/** The symbol's slot, or 0 if the id is not added. */
export function symbolPtr(id: u32): usize {
  if (id == 0 || id > load<u32>(A, H_MAX_SYMBOLS)) return 0;
  const p = SYMBOLS + <usize>(id - 1) * SYMBOL_SLOT;
  return load<u32>(p, S_ID) == 0 ? 0 : p;
}

@inline export function symbolSlotFor(id: u32): usize {
  return SYMBOLS + <usize>(id - 1) * SYMBOL_SLOT;
}

/** Ladder entries a band needs, or -1 if it does not fit a u32 (the band was validated: min <= max, both on tick). */
export function bandWidth(tick: i64, bandMin: i64, bandMax: i64): i64 {
  const span = <u64>(bandMax - bandMin) / <u64>tick; // wraps correctly: max >= min
  if (span >= 0xffffffff) return -1;
  return <i64>span + 1;
}

export function ladderTicksLeft(): u32 {
  return load<u32>(A, H_LADDER_TICKS) - load<u32>(A, H_LADDER_USED);
}

/** Adds a validated symbol, carving its ladder and bitmaps out of the shared regions. */
export function addSymbol(id: u32, tick: i64, lot: i64, bandMin: i64, bandMax: i64, width: u32): void {
  const p = symbolSlotFor(id);
  const words = (width + 63) >> 6;
  const sumWords = (words + 63) >> 6;
  const ladderUsed = load<u32>(A, H_LADDER_USED);
  const bitsUsed = load<u32>(A, H_BITS_USED);
  const sumUsed = load<u32>(A, H_SUMMARY_USED);
  store<u8>(p, <u8>STATUS_ACTIVE, S_STATUS);
  store<i64>(p, tick, S_TICK);
  store<i64>(p, lot, S_LOT);
  store<i64>(p, bandMin, S_BAND_MIN);
  store<i64>(p, bandMax, S_BAND_MAX);
  store<u32>(p, width, S_WIDTH);
  store<u32>(p, load<u32>(A, H_OFF_LADDER) + ladderUsed * 4, S_LADDER);
  store<u32>(p, load<u32>(A, H_OFF_BITS) + bitsUsed * 8, S_BITS);
  store<u32>(p, load<u32>(A, H_OFF_SUMMARY) + sumUsed * 8, S_SUMMARY);
  store<u32>(p, words, S_WORDS);
  store<u32>(p, sumWords, S_SUM_WORDS);
  store<i32>(p, -1, S_BEST_BID);
  store<i32>(p, -1, S_BEST_ASK);
  // The id last: a reader thread (livebook.ts) takes a non-zero id to mean the slot is complete.
  store<u32>(p, id, S_ID);
  store<u32>(A, ladderUsed + width, H_LADDER_USED);
  store<u32>(A, bitsUsed + words, H_BITS_USED);
  store<u32>(A, sumUsed + sumWords, H_SUMMARY_USED);
}

@inline export function symbolTick(sp: usize): i64 {
  return load<i64>(sp, S_TICK);
}

/** The ladder index of a price already checked to be in the band and on tick. */
@inline export function tickIndex(sp: usize, price: i64): i32 {
  const tick = load<i64>(sp, S_TICK);
  const offset = <u64>(price - load<i64>(sp, S_BAND_MIN));
  return tick == 1 ? <i32>offset : <i32>(offset / <u64>tick);
}

@inline export function priceAt(sp: usize, idx: i32): i64 {
  return load<i64>(sp, S_BAND_MIN) + <i64>idx * load<i64>(sp, S_TICK);
}


// The arena: one engine's whole state in one contiguous block of linear memory at a base the
// host chooses. Every link inside is an index or an arena-relative offset, never an absolute
// address, so a snapshot (a byte copy) can be restored at any other base. This file owns the
// header layout and the region base pointers; nothing here is a static in linear memory,
// because instantiating the module on another thread would reset those (DESIGN.md).
import { MAX_ORDERS, LIVE_READERS, BATCH_RUNNING, H_LIVE_ORDERS, H_EVENTS_WRITTEN } from './layout';
import {
  RECLAIM_MAGIC, RECLAIM_LAYOUT_VERSION, RECLAIM_HAZARDS, RECLAIM_H_MAGIC, RECLAIM_H_VERSION, RECLAIM_H_MAX_PARTICIPANTS,
  RECLAIM_PARTICIPANTS_AT, RECLAIM_P_SIZE,
} from './reclaim-layout';

export const ARENA_MAGIC: u32 = 0x424f4c43; // "CLOB"
export const ARENA_VERSION: u32 = 2; // 2: limbo lists, the readers' domain, level and order seqs (and the batch state word)

// Header fields (arena-relative).
export const H_MAGIC = 0; //          u32
export const H_VERSION = 4; //        u32
export const H_MAX_ORDERS = 8; //     u32
export const H_MAX_SYMBOLS = 12; //   u32
export const H_LADDER_TICKS = 16; //  u32 ladder entries shared by all symbols
export const H_INDEX_BITS = 20; //    u32 log2 of the id index capacity
export { H_LIVE_ORDERS }; //          24, u32 resting orders (layout.ts: the host reads it)
export const H_ORDER_FREE = 28; //    u32 head of the order free list (NONE = empty)
export const H_ORDER_HWM = 32; //     u32 order slots ever handed out
export const H_LEVEL_FREE = 36; //    u32 head of the level free list
export const H_LEVEL_HWM = 40; //     u32
export const H_LADDER_USED = 44; //   u32 ladder entries given to symbols
export const H_BITS_USED = 48; //     u32 bitmap words given to symbols
export const H_SUMMARY_USED = 52; //  u32 summary words given to symbols
export const H_NEXT_TRADE_ID = 56; // i64
export { H_EVENTS_WRITTEN }; //       64, u32 events written by the last process() call (layout.ts)
export const H_SIZE_BYTES = 68; //    u32 total arena size
export const H_OFF_ORDERS = 72; //    u32 region offsets ...
export const H_OFF_LEVELS = 76;
export const H_OFF_SYMBOLS = 80;
export const H_OFF_TAGS = 84;
export const H_OFF_ENTRIES = 88;
export const H_OFF_LADDER = 96;
export const H_OFF_BITS = 100;
export const H_OFF_SUMMARY = 104;
export const H_OFF_READERS = 108; //  u32 the live-book readers' reclamation domain (reclaim-layout.ts)
// Freed slots wait here until no reader can still see them (limbo.ts): FIFO lists in stamp order,
// chained through the slots' free-list links.
export const H_ORDER_LIMBO_HEAD = 112; // u32 oldest (NONE = empty)
export const H_ORDER_LIMBO_TAIL = 116; // u32 newest
export const H_ORDER_LIMBO_COUNT = 120; // u32
export const H_LEVEL_LIMBO_HEAD = 124;
export const H_LEVEL_LIMBO_TAIL = 128;
export const H_LEVEL_LIMBO_COUNT = 132;
export const H_FORCED_ORDERS = 136; // u32 order slots taken out of limbo early (capacity), total
export const H_FORCED_LEVELS = 140; // u32 level slots taken out of limbo early
export const H_INDEX_SEQ = 144; //    u32 odd while id index entries are being shifted back (readers' misses retry)
export const H_OFF_HAZARD_SNAPSHOT = 148; // u32 the matcher's copy of the readers' hazards (LIVE_READERS x RECLAIM_HAZARDS u32)
export const H_BATCH_STATE = 152; //  u32 for a registering reader (batch-gate.ts): batches started x BATCH_COUNT_UNIT | BATCH_RUNNING (layout.ts)
export const HEADER_SIZE: u32 = 192;

export const NONE: u32 = 0xffffffff;

export const ORDER_SLOT: u32 = 64;
export const LEVEL_SLOT: u32 = 48;
export const SYMBOL_SLOT: u32 = 128;

// Region bases (absolute), rebound from the header at every entry point.
export let A: usize = 0;
export let ORDERS: usize = 0;
export let LEVELS: usize = 0;
export let SYMBOLS: usize = 0;
export let TAGS: usize = 0;
export let ENTRIES: usize = 0;
export let INDEX_MASK: u32 = 0;
export let INDEX_SHIFT: u64 = 0;
export let READERS: usize = 0;

export function bind(arena: usize): void {
  A = arena;
  ORDERS = arena + <usize>load<u32>(arena, H_OFF_ORDERS);
  LEVELS = arena + <usize>load<u32>(arena, H_OFF_LEVELS);
  SYMBOLS = arena + <usize>load<u32>(arena, H_OFF_SYMBOLS);
  TAGS = arena + <usize>load<u32>(arena, H_OFF_TAGS);
  ENTRIES = arena + <usize>load<u32>(arena, H_OFF_ENTRIES);
  READERS = arena + <usize>load<u32>(arena, H_OFF_READERS);
  const bits = load<u32>(arena, H_INDEX_BITS);
  INDEX_MASK = (<u32>1 << bits) - 1;
  INDEX_SHIFT = <u64>(64 - bits);
}

/** The readers' domain: a reclaim-layout.ts header and LIVE_READERS participant records. */
@inline function readersBytes(): u64 {
  return <u64>(RECLAIM_PARTICIPANTS_AT + LIVE_READERS * RECLAIM_P_SIZE);
}

function align64(n: u64): u64 {
  return (n + 63) & ~(<u64>63);
}

export function indexBits(maxOrders: u32): u32 {
  // At most half full: linear probes stay short.
  let bits: u32 = 4;
  while ((<u64>1 << bits) < (<u64>maxOrders << 1)) bits++;
  return bits;
}

function bitmapWords(ladderTicks: u32, maxSymbols: u32): u64 {
  return (<u64>ladderTicks + 63) / 64 + <u64>maxSymbols;
}
function summaryWords(ladderTicks: u32, maxSymbols: u32): u64 {
  return (<u64>ladderTicks + 4095) / 4096 + <u64>maxSymbols;
}

/** Lays out the regions into the header at `arena` (offsets only) and returns the total size, or 0 if too large. */
function layoutInto(arena: usize, maxOrders: u32, maxSymbols: u32, ladderTicks: u32, write: bool): u64 {
  const bits = indexBits(maxOrders);
  const cap: u64 = <u64>1 << bits;
  let at: u64 = HEADER_SIZE;
  const offOrders = at; at = align64(at + <u64>maxOrders * ORDER_SLOT);
  const offLevels = at; at = align64(at + <u64>maxOrders * LEVEL_SLOT);
  const offSymbols = at; at = align64(at + <u64>maxSymbols * SYMBOL_SLOT);
  const offTags = at; at = align64(at + cap + 16);
  const offEntries = at; at = align64(at + cap * 16);
  const offLadder = at; at = align64(at + <u64>ladderTicks * 4);
  const offBits = at; at = align64(at + bitmapWords(ladderTicks, maxSymbols) * 8);
  const offSummary = at; at = align64(at + summaryWords(ladderTicks, maxSymbols) * 8);
  const offReaders = at; at = align64(at + readersBytes());
  const offHazards = at; at = align64(at + LIVE_READERS * RECLAIM_HAZARDS * 4);
  if (at >= <u64>0xf0000000) return 0;
  if (write) {
    store<u32>(arena, bits, H_INDEX_BITS);
    store<u32>(arena, <u32>offOrders, H_OFF_ORDERS);
    store<u32>(arena, <u32>offLevels, H_OFF_LEVELS);
    store<u32>(arena, <u32>offSymbols, H_OFF_SYMBOLS);
    store<u32>(arena, <u32>offTags, H_OFF_TAGS);
    store<u32>(arena, <u32>offEntries, H_OFF_ENTRIES);
    store<u32>(arena, <u32>offLadder, H_OFF_LADDER);
    store<u32>(arena, <u32>offBits, H_OFF_BITS);
    store<u32>(arena, <u32>offSummary, H_OFF_SUMMARY);
    store<u32>(arena, <u32>offReaders, H_OFF_READERS);
    store<u32>(arena, <u32>offHazards, H_OFF_HAZARD_SNAPSHOT);
    store<u32>(arena, <u32>at, H_SIZE_BYTES);
  }
  return at;
}

export function limitsValid(maxOrders: u32, maxSymbols: u32, ladderTicks: u32): bool {
  return maxOrders >= 1 && maxOrders <= <u32>MAX_ORDERS && maxSymbols >= 1 && maxSymbols <= 1 << 20 && ladderTicks >= 1 && ladderTicks <= 1 << 28;
}

/** Bytes an arena with these limits needs (0 if the limits are out of range). */
export function arenaSize(maxOrders: u32, maxSymbols: u32, ladderTicks: u32): u32 {
  if (!limitsValid(maxOrders, maxSymbols, ladderTicks)) return 0;
  return <u32>layoutInto(0, maxOrders, maxSymbols, ladderTicks, false);
}

/** Formats an arena (zeroing it first unless the host says it is fresh memory). Returns 0, or -1 on bad limits. */
export function initArena(arena: usize, maxOrders: u32, maxSymbols: u32, ladderTicks: u32, zeroed: bool): i32 {
  if (!limitsValid(maxOrders, maxSymbols, ladderTicks)) return -1;
  const size = layoutInto(0, maxOrders, maxSymbols, ladderTicks, false);
  // Fresh memory is zero already; filling it would commit every page of a mostly idle arena.
  if (!zeroed) memory.fill(arena, 0, <usize>size);
  layoutInto(arena, maxOrders, maxSymbols, ladderTicks, true);
  store<u32>(arena, ARENA_MAGIC, H_MAGIC);
  store<u32>(arena, ARENA_VERSION, H_VERSION);
  store<u32>(arena, maxOrders, H_MAX_ORDERS);
  store<u32>(arena, maxSymbols, H_MAX_SYMBOLS);
  store<u32>(arena, ladderTicks, H_LADDER_TICKS);
  store<u32>(arena, NONE, H_ORDER_FREE);
  store<u32>(arena, NONE, H_LEVEL_FREE);
  store<u32>(arena, NONE, H_ORDER_LIMBO_HEAD);
  store<u32>(arena, NONE, H_ORDER_LIMBO_TAIL);
  store<u32>(arena, NONE, H_LEVEL_LIMBO_HEAD);
  store<u32>(arena, NONE, H_LEVEL_LIMBO_TAIL);
  store<i64>(arena, 1, H_NEXT_TRADE_ID);
  formatReaders(arena);
  return 0;
}

/**
 * (Re)writes the readers' domain header with no participant registered (the epoch is kept). The
 * arena is not shared with any reader yet (init, restore), so plain stores do; the magic goes last.
 * Its pool word stays 0: the core's slots are not pool blocks, the matcher reclaims them (limbo.ts).
 */
export function formatReaders(arena: usize): void {
  const d = arena + <usize>load<u32>(arena, H_OFF_READERS);
  store<i32>(d, RECLAIM_LAYOUT_VERSION, RECLAIM_H_VERSION);
  store<i32>(d, LIVE_READERS, RECLAIM_H_MAX_PARTICIPANTS);
  for (let b: usize = RECLAIM_PARTICIPANTS_AT; b < <usize>readersBytes(); b += 4) store<u32>(d + b, 0);
  store<i32>(d, RECLAIM_MAGIC, RECLAIM_H_MAGIC);
  store<u32>(arena, load<u32>(arena, H_BATCH_STATE) & ~BATCH_RUNNING, H_BATCH_STATE); // no batch runs here yet
}

/** True when `arena` holds a formatted arena of this version (checked before restore). */
export function arenaValid(arena: usize): bool {
  return load<u32>(arena, H_MAGIC) == ARENA_MAGIC && load<u32>(arena, H_VERSION) == ARENA_VERSION;
}

// The sharded engine's router in Wasm (src/shard/sharded-engine.ts route()): one call scatters a
// run of 64-byte command records to the shards' inbound ring slots, so the caller's thread does
// no per-record work in JS (measured there: 46-178 ns per record, docs/SHARDS.md "Figures").
//
// The host owns the rings (SPSC, it is their one producer): before a call it writes one cursor
// per shard (SCATTER_* below): where the ring's slots are, its mask, the next sequence to claim
// and how many slots are free; this function writes records into those slots and advances the
// cursors; the host then claims and publishes what was written. No statics, no allocation.
//
// Only per-shard order matters, so a full ring stops only its own shard: its records are held,
// in order, in the shard's backlog and move to the ring (before any newer record) once it has
// room, while the other shards' records keep flowing (docs/SHARDS.md "Ownership and routing").
import { CMD_TYPE, CMD_SYMBOL } from './layout'; // records are CMD_SIZE = 64 bytes = one ring slot
import { RING_SEQ_MASK, RING_SLOT_SHIFT } from './ring-layout';
import {
  SCATTER_CURSOR, SCATTER_SLOTS_AT, SCATTER_MASK, SCATTER_NEXT, SCATTER_ROOM,
  SCATTER_HELD_AT, SCATTER_HELD_MASK, SCATTER_HELD_END, SCATTER_HELD,
} from './scatter-layout';

// @ts-ignore: decorator
@inline function copyRecord(src: usize, dst: usize): void {
  store<i64>(dst, load<i64>(src, 0), 0);
  store<i64>(dst, load<i64>(src, 8), 8);
  store<i64>(dst, load<i64>(src, 16), 16);
  store<i64>(dst, load<i64>(src, 24), 24);
  store<i64>(dst, load<i64>(src, 32), 32);
  store<i64>(dst, load<i64>(src, 40), 40);
  store<i64>(dst, load<i64>(src, 48), 48);
  store<i64>(dst, load<i64>(src, 56), 56);
}

/** Copies the record at `at` into the next free slot of cursor `c`'s ring (the caller checked the room). */
// @ts-ignore: decorator
@inline function toRing(c: usize, at: usize): void {
  const seq = load<i32>(c, SCATTER_NEXT);
  copyRecord(at, <usize>load<u32>(c, SCATTER_SLOTS_AT) + (<usize>(seq & load<i32>(c, SCATTER_MASK)) << RING_SLOT_SHIFT));
  store<i32>(c, (seq + 1) & RING_SEQ_MASK, SCATTER_NEXT);
  store<i32>(c, load<i32>(c, SCATTER_ROOM) - 1, SCATTER_ROOM);
}

/** Moves cursor `c`'s held records, oldest first, into its ring as far as the ring has room. */
function unload(c: usize): void {
  let held = load<i32>(c, SCATTER_HELD);
  if (held == 0) return;
  const mask = load<i32>(c, SCATTER_HELD_MASK);
  const base = <usize>load<u32>(c, SCATTER_HELD_AT);
  let first = (load<i32>(c, SCATTER_HELD_END) - held) & mask;
  while (held > 0 && load<i32>(c, SCATTER_ROOM) > 0) {
    toRing(c, base + (<usize>first << 6));
    first = (first + 1) & mask;
    held--;
  }
  store<i32>(c, held, SCATTER_HELD);
}

/**
 * First moves every shard's held records into its ring (as far as there is room), then copies
 * records src[0..count) in order, each to its shard `table[symbol]` (a u8 per symbol id
 * 1..maxSymbols): into the next ring slot, or into the shard's backlog when the ring is full or
 * the backlog already holds records (they go first). Stops at the first record it must not route
 * itself and returns its index (count when all were routed): symbol 0 or above maxSymbols (the
 * host's rules: broadcasts, assign functions), type byte `special` (the host neutralises barrier
 * look-alikes), or a shard whose backlog is full too (the host waits for that shard alone).
 */
export function scatterRecords(src: usize, count: i32, table: usize, maxSymbols: u32, cursors: usize, shards: i32, special: i32): i32 {
  for (let k = 0; k < shards; k++) unload(cursors + <usize>k * SCATTER_CURSOR);
  for (let r = 0; r < count; r++) {
    const at = src + (<usize>r << 6);
    const symbol = load<u32>(at, CMD_SYMBOL);
    if (symbol - 1 >= maxSymbols) return r; // 0 wraps to 2^32 - 1
    if (<i32>load<u8>(at, CMD_TYPE) == special) return r;
    const c = cursors + (<usize>load<u8>(table + <usize>symbol) * SCATTER_CURSOR);
    const held = load<i32>(c, SCATTER_HELD);
    if (held == 0 && load<i32>(c, SCATTER_ROOM) > 0) {
      toRing(c, at);
    } else {
      const mask = load<i32>(c, SCATTER_HELD_MASK);
      if (held > mask) return r;
      const end = load<i32>(c, SCATTER_HELD_END);
      copyRecord(at, <usize>load<u32>(c, SCATTER_HELD_AT) + (<usize>end << 6));
      store<i32>(c, (end + 1) & mask, SCATTER_HELD_END);
      store<i32>(c, held + 1, SCATTER_HELD);
    }
  }
  return count;
}

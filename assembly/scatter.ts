// The sharded engine's router in Wasm (src/shard/sharded-engine.ts route()): one call scatters a
// run of 64-byte command records to the shards' inbound ring slots, so the caller's thread does
// no per-record work in JS (measured there: 46-178 ns per record, docs/SHARDS.md "Figures").
//
// The host owns the rings (SPSC, it is their one producer): before a call it writes one cursor
// per shard (SCATTER_* below): where the ring's slots are, its mask, the next sequence to claim
// and how many slots are free; this function writes records into those slots and advances the
// cursors; the host then claims and publishes what was written. No statics, no allocation.
import { CMD_TYPE, CMD_SYMBOL } from './layout'; // records are CMD_SIZE = 64 bytes = one ring slot
import { RING_SEQ_MASK, RING_SLOT_SHIFT } from './ring-layout';
import { SCATTER_CURSOR, SCATTER_SLOTS_AT, SCATTER_MASK, SCATTER_NEXT, SCATTER_ROOM } from './scatter-layout';

/**
 * Copies records src[0..count) in order, each to the next slot of the shard `table[symbol]` names
 * (a u8 per symbol id 1..maxSymbols). Stops at the first record it must not route itself and
 * returns its index (count when all were routed): symbol 0 or above maxSymbols (the host's rules:
 * broadcasts, assign functions), type byte `special` (the host neutralises barrier look-alikes),
 * or a shard whose ring has no room left.
 */
export function scatterRecords(src: usize, count: i32, table: usize, maxSymbols: u32, cursors: usize, special: i32): i32 {
  for (let r = 0; r < count; r++) {
    const at = src + (<usize>r << 6);
    const symbol = load<u32>(at, CMD_SYMBOL);
    if (symbol - 1 >= maxSymbols) return r; // 0 wraps to 2^32 - 1
    if (<i32>load<u8>(at, CMD_TYPE) == special) return r;
    const c = cursors + (<usize>load<u8>(table + <usize>symbol) * SCATTER_CURSOR);
    const room = load<i32>(c, SCATTER_ROOM);
    if (room == 0) return r;
    const seq = load<i32>(c, SCATTER_NEXT);
    const dst = <usize>load<u32>(c, SCATTER_SLOTS_AT) + (<usize>(seq & load<i32>(c, SCATTER_MASK)) << RING_SLOT_SHIFT);
    store<i64>(dst, load<i64>(at, 0), 0);
    store<i64>(dst, load<i64>(at, 8), 8);
    store<i64>(dst, load<i64>(at, 16), 16);
    store<i64>(dst, load<i64>(at, 24), 24);
    store<i64>(dst, load<i64>(at, 32), 32);
    store<i64>(dst, load<i64>(at, 40), 40);
    store<i64>(dst, load<i64>(at, 48), 48);
    store<i64>(dst, load<i64>(at, 56), 56);
    store<i32>(c, (seq + 1) & RING_SEQ_MASK, SCATTER_NEXT);
    store<i32>(c, room - 1, SCATTER_ROOM);
  }
  return count;
}

// The parts of an arena a snapshot must hold: everything except the never-used tails of the order
// and level pools (beyond their high-water marks) and of the ladder, bitmap and summary regions
// (beyond what symbols were given). Those tails are zero in every arena (fresh memory, never
// written), so a restore into a fresh arena that copies only the extents reproduces the arena
// byte for byte. The host reads the extents as (offset, length) u32 pairs, arena-relative.
import {
  H_OFF_ORDERS, H_OFF_LEVELS, H_OFF_SYMBOLS, H_OFF_LADDER, H_OFF_BITS, H_OFF_SUMMARY, H_OFF_READERS, H_SIZE_BYTES,
  H_ORDER_HWM, H_LEVEL_HWM, H_LADDER_USED, H_BITS_USED, H_SUMMARY_USED, ORDER_SLOT, LEVEL_SLOT,
} from './arena';

export const SNAPSHOT_EXTENTS: i32 = 7;

@inline function h(arena: usize, field: u32): u32 {
  return load<u32>(arena + <usize>field);
}

@inline function put(out: usize, k: i32, start: u32, length: u32): void {
  store<u32>(out + <usize>k * 8, start);
  store<u32>(out + <usize>k * 8, length, 4);
}

/** Writes the SNAPSHOT_EXTENTS extents at `out`, in address order, and returns their count. */
export function snapshotExtents(arena: usize, out: usize): i32 {
  put(out, 0, 0, h(arena, H_OFF_ORDERS) + h(arena, H_ORDER_HWM) * ORDER_SLOT); // header, then the orders handed out
  put(out, 1, h(arena, H_OFF_LEVELS), h(arena, H_LEVEL_HWM) * LEVEL_SLOT);
  put(out, 2, h(arena, H_OFF_SYMBOLS), h(arena, H_OFF_LADDER) - h(arena, H_OFF_SYMBOLS)); // symbol table, id index (tags, entries)
  put(out, 3, h(arena, H_OFF_LADDER), h(arena, H_LADDER_USED) * 4);
  put(out, 4, h(arena, H_OFF_BITS), h(arena, H_BITS_USED) * 8);
  put(out, 5, h(arena, H_OFF_SUMMARY), h(arena, H_SUMMARY_USED) * 8);
  put(out, 6, h(arena, H_OFF_READERS), h(arena, H_SIZE_BYTES) - h(arena, H_OFF_READERS)); // readers' domain, hazard copy
  return SNAPSHOT_EXTENTS;
}

// The router's per-shard cursor (assembly/scatter.ts scatterRecords), shared by the Wasm router and
// its host (src/shard/sharded-engine.ts): SCATTER_CURSOR bytes per shard, i32 fields.
export const SCATTER_CURSOR = 32;
export const SCATTER_SLOTS_AT = 0; //  byte address of the ring's slot 0
export const SCATTER_MASK = 4; //      capacity - 1
export const SCATTER_NEXT = 8; //      the next sequence to write (advanced mod 2^31)
export const SCATTER_ROOM = 12; //     free slots from SCATTER_NEXT on (decremented)
// The shard's backlog: records held, in order, while its ring is full (the router's own memory).
export const SCATTER_HELD_AT = 16; //  byte address of the backlog's record 0
export const SCATTER_HELD_MASK = 20; // backlog capacity - 1 (a power of two)
export const SCATTER_HELD_END = 24; // where the next held record goes (0..mask)
export const SCATTER_HELD = 28; //     records held (the oldest is at (END - HELD) & MASK)

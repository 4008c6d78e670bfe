// The router's per-shard cursor (assembly/scatter.ts scatterRecords), shared by the Wasm router and
// its host (src/shard/sharded-engine.ts): SCATTER_CURSOR bytes per shard, i32 fields.
export const SCATTER_CURSOR = 16;
export const SCATTER_SLOTS_AT = 0; // byte address of the ring's slot 0
export const SCATTER_MASK = 4; //     capacity - 1
export const SCATTER_NEXT = 8; //     the next sequence to write (advanced mod 2^31)
export const SCATTER_ROOM = 12; //    free slots from SCATTER_NEXT on (decremented)

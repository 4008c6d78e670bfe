// The one source of truth for the reclamation domain's shared-memory layout (docs/CONCURRENCY.md).
//
// Read by BOTH compilers: AssemblyScript (assembly/reclaim.ts, in wasm/concurrent.wasm) and
// TypeScript (src/reclaim.ts). Integer constants only. Change the layout => bump the version.
//
// A reclamation domain lets threads READ blocks of one pool (pool-layout.ts) while a writer
// replaces and RETIRES them, and frees a retired block only when no reader can still be reading it:
//   - epoch-based reclamation (EBR) for structures a reader traverses: a reader announces the
//     global epoch while inside a guard; a block retired in epoch r is freed once the global epoch
//     has reached r + 2, and the epoch advances only when every active reader announced the
//     current one;
//   - hazard pointers (HP) for single-object lookups: a reader publishes the handle it is about to
//     read, re-validates the source, reads, clears; the retirer frees only handles no hazard holds.
// Retired blocks wait in limbo lists chained through the pool's LINK words (a block's link is
// unused while it is allocated), so limbo needs no memory of its own and never fills up: a
// stalled reader delays reclamation, never the writer.
//
//   base + 0                      header: config, the global epoch (own line), counters
//   base + RECLAIM_PARTICIPANTS_AT  maxParticipants x RECLAIM_P_SIZE: one record per thread
//
// Epochs are 30-bit counters ((e + 1) & RECLAIM_EPOCH_MASK); an announcement is (e << 1) | active.
// Only equality and small modular distances are ever computed, so the wrap is harmless.

export const RECLAIM_LAYOUT_VERSION = 1;
export const RECLAIM_MAGIC = 0x4c434552; // "RECL"

export const RECLAIM_LINE = 64;
export const RECLAIM_ALIGN = 64;
export const RECLAIM_EPOCH_MASK = 0x3fffffff;
export const RECLAIM_HAZARDS = 4; //          hazard slots per participant
export const RECLAIM_BAGS = 3; //             EBR limbo bags per participant (epochs r, r-1, older)
export const RECLAIM_MAX_PARTICIPANTS = 256;
export const RECLAIM_DEFAULT_COLLECT_EVERY = 64; //  retires between automatic reclaims
export const RECLAIM_DEFAULT_HP_SCAN_AT = 64; //     hazard-retired blocks that trigger a scan

// Return codes (Wasm; JS throws instead)
export const RECLAIM_OK = 0;
export const RECLAIM_BAD_ARGUMENT = -2;
export const RECLAIM_NOT_ALLOCATED = -3; //   retire of a block that is not allocated (or retired twice)
export const RECLAIM_NO_SLOT = -5; //         register: every participant slot is taken
export const RECLAIM_BUSY = -6; //            unregister while inside a guard or with blocks in limbo

// ---- Header: byte offsets from the domain's base ------------------------------------------------
// Line 0: configuration, written once by init.
export const RECLAIM_H_MAGIC = 0; //          i32 RECLAIM_MAGIC (stored last, atomically)
export const RECLAIM_H_VERSION = 4; //        i32
export const RECLAIM_H_MAX_PARTICIPANTS = 8; // i32
export const RECLAIM_H_POOL = 12; //          i32 absolute byte address of the pool header
export const RECLAIM_H_POISON = 16; //        i32 pattern written over every word of a block before
//                                                it is freed (0 = leave the bytes as they are)
export const RECLAIM_H_COLLECT_EVERY = 20; // i32 EBR retires between automatic reclaims
export const RECLAIM_H_HP_SCAN_AT = 24; //    i32 HP retired list length that triggers a scan
// Line 1: the global epoch (read by every enter, CAS by advancers).
export const RECLAIM_H_EPOCH = 64; //         i32
// Line 2: rare counters.
export const RECLAIM_H_ADVANCES = 128; //     i32 successful epoch advances

export const RECLAIM_PARTICIPANTS_AT = 192;

// ---- Participant record: byte offsets from its start ------------------------------------------
export const RECLAIM_P_SIZE = 192; //         3 lines
// Line 0: what other threads scan. Written only by the owner (OWNER also by register's CAS).
export const RECLAIM_P_OWNER = 0; //          i32 0 free, 1 registered
export const RECLAIM_P_ANNOUNCE = 4; //       i32 (epoch << 1) | 1 inside a guard, (epoch << 1) outside
export const RECLAIM_P_HAZARDS = 8; //        i32 x RECLAIM_HAZARDS: protected handles (0 = none)
// Lines 1-2: the owner's bookkeeping (plain words; others read them only as statistics).
export const RECLAIM_P_NESTING = 64; //       i32 guard nesting depth
export const RECLAIM_P_BAGS = 68; //          RECLAIM_BAGS x bag (below)
export const RECLAIM_BAG_HEAD = 0; //         i32 newest retired handle (chained through links)
export const RECLAIM_BAG_TAIL = 4; //         i32 oldest retired handle
export const RECLAIM_BAG_COUNT = 8; //        i32 handles in the bag
export const RECLAIM_BAG_EPOCH = 12; //       i32 the epoch the bag's handles were retired in
export const RECLAIM_BAG_SIZE = 16;
export const RECLAIM_P_HP_HEAD = 116; //      i32 hazard-retired handles (chained through links)
export const RECLAIM_P_HP_COUNT = 120; //     i32
export const RECLAIM_P_RETIRED = 124; //      i32 blocks retired (EBR + HP), total
export const RECLAIM_P_FREED = 128; //        i32 retired blocks freed to the pool, total
export const RECLAIM_P_SINCE_COLLECT = 132; // i32 EBR retires since the last automatic reclaim
export const RECLAIM_P_SCANS = 136; //        i32 hazard scans run
export const RECLAIM_P_LIMBO_PEAK = 140; //   i32 the most blocks this participant held in limbo at once
// A live-book reader's counters (assembly/livebook.ts; its records are in the core's arena).
export const RECLAIM_P_READS = 144; //        i32 rows read
export const RECLAIM_P_RETRIES = 148; //      i32 reads repeated because the matcher changed what was being read

// ---- Test records (tests and benchmarks only) -------------------------------------------------
// What test/reclaim.test.ts's writer builds in a 64-byte block and what its readers (JS, and
// concurrent.wasm's ebrReadRecords / hpReadRecords) validate. A published root word is
// (gen & 0xffff) << 16 | handle (handles < 2^16), so a reader knows which generation the block
// must hold: a block freed and reused would hold another generation, or the poison.
export const RECLAIM_REC_WORDS = 16; //       word 0 gen; words 1..14 gen * MIX + i; word 15 the check
export const RECLAIM_REC_MIX = -1640531535; // 0x9E3779B1 as an i32
export const RECLAIM_REC_SEED = 0x5eed1234; // check = SEED ^ word 0 ^ ... ^ word 14
export const RECLAIM_POISON = -559038737; //  0xDEADBEEF as an i32

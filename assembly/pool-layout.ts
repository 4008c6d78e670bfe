// The one source of truth for the pools' shared-memory layout (docs/CONCURRENCY.md).
//
// Read by BOTH compilers, like ring-layout.ts: AssemblyScript (assembly/pool.ts, built into
// wasm/concurrent.wasm) and TypeScript (src/pool.ts). Integer constants only. Change the layout
// => bump POOL_LAYOUT_VERSION.
//
// A pool hands out fixed-size blocks (message buffers, records) from any thread. Its header is one
// region at a 64-byte aligned byte offset of a shared memory; its blocks live in CHUNKS, each
// carved when needed from a host-reserved region (a bump pointer advanced by CAS) or, when that is
// exhausted, by memory.grow:
//
//   header   POOL_CHUNKS_AT + maxChunks x 4 bytes (padded to a line): config, hot line, growth
//            line, chunk table (absolute byte address of chunk k; 0 = not yet; -1 = failed)
//   chunk    [links: blocksPerChunk x i32, padded to a line][blocks: blocksPerChunk x blockSize]
//
// Handles. A block is named by a HANDLE, 1 .. maxChunks x blocksPerChunk; 0 is "no block"
// (alloc's answer when the pool is exhausted). Handle h is slot (h-1) & (blocksPerChunk-1) of
// chunk (h-1) >> chunkShift. Every chunk has the same size, so that is a shift and a mask.
//
// Links. Each block has a LINK word outside the block (in its chunk's link array), so a block's
// bytes are wholly its owner's:
//   free block        link = the next free handle (0 = end of the free list)
//   allocated block   link = POOL_LINK_ALLOCATED (-1): free() CASes it away, so a double free
//                     is detected, never corrupts the list
//   retired block     link = the next retired handle of a reclamation limbo list (reclaim.ts)
//
// The free list is a Treiber stack whose HEAD is a TAGGED index in one 32-bit word:
//   head = (tag << indexBits) | handle          indexBits = bits of maxChunks x blocksPerChunk
// The tag counts pops (mod 2^(32 - indexBits)); a pop's CAS compares handle AND tag, so a popper
// that read (A, t) and was overtaken by other pops cannot install A's stale successor (ABA).
// POOL_MIN_TAG_BITS bounds how small the tag may get. Why one word and not a 64-bit CAS on two:
// JavaScript's 64-bit Atomics go through BigInt (an allocation per value); docs/CONCURRENCY.md
// gives the residual risk of a wrapping tag.

export const POOL_LAYOUT_VERSION = 1;
export const POOL_MAGIC = 0x4c4f4f50; // "POOL"

export const POOL_LINE = 64;
export const POOL_ALIGN = 64; //               the header and every chunk start at a multiple of this
export const POOL_NIL = 0; //                  "no block": the empty head, the end of a list, alloc's failure
export const POOL_LINK_ALLOCATED = -1; //      link word of an allocated block
export const POOL_CHUNK_FAILED = -1; //        chunk table entry of a chunk whose growth failed
export const POOL_MIN_TAG_BITS = 10; //        so maxChunks x blocksPerChunk < 2^22
export const POOL_MAX_INDEX_BITS = 22; //      32 - POOL_MIN_TAG_BITS
export const POOL_MAX_CHUNKS = 4096;
export const POOL_MIN_BLOCK = 8; //            block sizes are multiples of 8 (i64-aligned blocks)
export const POOL_PAGE = 65536; //             Wasm page (memory.grow unit)
export const POOL_GROW_WAIT_SPINS = 256; //    alloc retries while another thread grows, then grows itself

// Growth sources (POOL_H_GROW flags)
export const POOL_GROW_REGION = 1; //          carve chunks from [POOL_H_REGION_NEXT, POOL_H_REGION_END)
export const POOL_GROW_MEMORY = 2; //          then memory.grow (every thread rebuilds its views)

// Return codes (Wasm; JS throws instead)
export const POOL_OK = 0;
export const POOL_BAD_ARGUMENT = -2;
export const POOL_NOT_ALLOCATED = -3; //       free of a block that is not allocated (double free)
export const POOL_BAD_HANDLE = -4; //          a handle outside every published chunk

// ---- Header: byte offsets from the pool's base --------------------------------------------------
// Line 0: configuration, written once by init.
export const POOL_H_MAGIC = 0; //          i32  POOL_MAGIC (stored last, atomically)
export const POOL_H_VERSION = 4; //        i32  POOL_LAYOUT_VERSION
export const POOL_H_BLOCK_SIZE = 8; //     i32  bytes per block, a multiple of 8
export const POOL_H_CHUNK_SHIFT = 12; //   i32  log2(blocks per chunk)
export const POOL_H_MAX_CHUNKS = 16; //    i32  chunk table entries
export const POOL_H_INDEX_BITS = 20; //    i32  bits of the head word that hold the handle
export const POOL_H_INDEX_MASK = 24; //    i32  (1 << indexBits) - 1
export const POOL_H_LINKS_BYTES = 28; //   i32  bytes of a chunk's link array (padded to a line)
export const POOL_H_CHUNK_BYTES = 32; //   i32  bytes of a chunk (links + blocks, padded to a line)
export const POOL_H_GROW = 36; //          i32  POOL_GROW_* flags
export const POOL_H_REGION_END = 40; //    i32  end of the host-reserved region (absolute byte)
export const POOL_H_INITIAL = 44; //       i32  chunks made by init (diagnostics)

// Line 1: the hot line, written by every alloc and free (the CAS target and the counters that
// the same operation updates anyway: one line moves between cores, not two).
export const POOL_H_HEAD = 64; //          i32  tagged head of the free list
export const POOL_H_IN_USE = 68; //        i32  allocated blocks (atomic add/sub)
export const POOL_H_HIGH_WATER = 72; //    i32  max IN_USE seen (CAS max)

// Line 2: growth and rare counters.
export const POOL_H_CHUNKS_CLAIMED = 128; // i32 chunk slots claimed by growers (CAS)
export const POOL_H_CHUNKS_READY = 132; //  i32 chunk slots finished (published or failed)
export const POOL_H_CAPACITY = 136; //      i32 blocks in published chunks
export const POOL_H_GROWTHS = 140; //       i32 chunks added after init
export const POOL_H_MEMORY_GROWS = 144; //  i32 memory.grow calls made for this pool: a thread whose
//                                              views predate a grow must rebuild them
export const POOL_H_REGION_NEXT = 148; //   i32 bump pointer into the host region (CAS)
export const POOL_H_FAILED = 152; //        i32 allocations that found the pool exhausted
export const POOL_H_GROW_FAILED = 156; //   i32 growths that found no memory

// Line 3...: the chunk table, one i32 per chunk: its absolute byte address.
export const POOL_CHUNKS_AT = 192;

// ---- Owner tags (tests only) -------------------------------------------------------------------
// What test/pool.test.ts's workers and concurrent.wasm's poolStress write into a block they own:
// word 0 the owner, word 1 the owner's serial, the last word ~serial ^ owner; word 0 becomes
// POOL_TAG_FREE just before the block is freed. A block handed to two owners at once, or freed
// while owned, fails the check of one of them.
export const POOL_TAG_OWNER = 0;
export const POOL_TAG_SERIAL = 4;
export const POOL_TAG_FREE = 0x45455246; // "FREE"

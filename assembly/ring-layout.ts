// The one source of truth for the rings' shared-memory layout (docs/RINGS.md).
//
// Read by BOTH compilers, like layout.ts: AssemblyScript (assembly/ring.ts) and TypeScript
// (src/ring.ts). Integer constants only. Change the layout => bump RING_LAYOUT_VERSION.
//
// A ring is one contiguous region at a 64-byte aligned byte offset `base` of a shared buffer
// (a SharedArrayBuffer or a shared WebAssembly.Memory's buffer):
//
//   base + 0                  header: RING_HEADER_SIZE bytes, one 64-byte line per hot word
//   base + RING_FLAGS_AT      available flags: one i32 per slot (used by the MPSC variant)
//   base + header[SLOTS_AT]   slots: capacity x RING_SLOT_SIZE bytes (64-byte records, CMD_SIZE)
//
// Sequences. Every sequence (claim, published, consumed, flags) is a 31-bit counter: it is
// stored in an i32 word, advanced as `(s + n) & RING_SEQ_MASK` and so wraps from 2^31 - 1 to 0.
// Distances are modular: `(a - b) & RING_SEQ_MASK` is how far `a` is ahead of `b`, which is
// exact whenever the true distance is in [0, 2^31); the ring never has more than `capacity`
// (<= 2^24) sequences between any two of its cursors, so every distance it computes is small and
// non-negative. (This is the "signed difference" rule for 31-bit numbers: `((a - b) << 1) >> 1`
// would give the signed distance; the ring only ever needs the non-negative one.)
// Why 31 bits and not i64: JavaScript's Atomics on 64-bit words go through BigInt (an allocation
// per value) and i64 cannot cross the JS/Wasm boundary without BigInt; 31 bits keep every value a
// small integer in V8 and leave -1 free as the "no sequence" answer of tryClaim in both languages.
// A ring wraps its sequences after 2^31 items (about 40 s at 50M items/s): wrapping is normal
// operation, and the tests start rings just below 2^31 to cross it.

export const RING_LAYOUT_VERSION = 1;
export const RING_MAGIC = 0x474e4952; // "RING"

export const RING_SEQ_MASK = 0x7fffffff; // sequences are 31-bit counters
export const RING_NO_SEQUENCE = -1; //       tryClaim's "full" answer; never a sequence
export const RING_BAD_ARGUMENT = -2; //      rings.wasm's answer to an n outside 1..capacity (JS throws)

export const RING_LINE = 64; //              one cache line per hot word (no false sharing)
export const RING_SLOT_SIZE = 64; //         = CMD_SIZE = EVT_SIZE (layout.ts)
export const RING_SLOT_SHIFT = 6; //         log2(RING_SLOT_SIZE)
export const RING_MIN_CAPACITY = 2;
export const RING_MAX_CAPACITY = 16777216; // 2^24 slots (1 GiB of slots)
export const RING_ALIGN = 64; //             the ring's base must be a multiple of this

// ---- Header: byte offsets from the ring's base -------------------------------------------------
// Line 0: configuration, written once by init and only read afterwards.
export const RING_H_MAGIC = 0; //          i32  RING_MAGIC
export const RING_H_VERSION = 4; //        i32  RING_LAYOUT_VERSION
export const RING_H_CAPACITY = 8; //       i32  slots, a power of two
export const RING_H_MASK = 12; //          i32  capacity - 1
export const RING_H_KIND = 16; //          i32  RING_KIND_*
export const RING_H_WAIT = 20; //          i32  default wait strategy (RING_WAIT_*)
export const RING_H_SLOT_SIZE = 24; //     i32  RING_SLOT_SIZE
export const RING_H_SLOTS_AT = 28; //      i32  bytes from base to slot 0
export const RING_H_SPINS = 32; //         i32  spins before sleeping (spin-then-yield, blocking)
export const RING_H_YIELD_US = 36; //      i32  spin-then-yield: the sleep timeout, microseconds
export const RING_H_FIRST_SEQ = 40; //     i32  the sequence the ring started at (diagnostics)

// Line 1: the producers' line. SPSC: written only by the producer. MPSC: CAS target.
export const RING_H_CLAIM = 64; //         i32  next sequence to claim (claim sequence)
export const RING_H_PROD_CACHE = 68; //    i32  SPSC producer's last read of CONSUMED (private)

// Line 2: the published cursor (SPSC): every sequence before it is published. Written by the
// producer (atomic store = release), read by the consumer (atomic load = acquire). The SPSC
// blocking consumer sleeps on this word. Unused by the MPSC variant (it has the flags).
export const RING_H_PUBLISHED = 128; //    i32

// Line 3: the consumer's line. Written only by the consumer.
export const RING_H_CONSUMED = 192; //     i32  next sequence to read; everything before is released
export const RING_H_CONS_CACHE = 196; //   i32  consumer's private bound of the ready run (SPSC: last
//                                              PUBLISHED read; MPSC: end of the scanned flags)

// Line 4: the consumer's sleep handshake (written rarely, read by producers after each publish).
export const RING_H_CONS_SLEEPING = 256; // i32  1 while the consumer may be in Atomics.wait
export const RING_H_WAKE = 260; //         i32  MPSC wake counter (the MPSC consumer sleeps on it)
export const RING_H_CLOSED = 264; //       i32  1 once the producer side has closed the ring

// Line 5: the producers' sleep handshake (read by the consumer after each release).
export const RING_H_PROD_SLEEPING = 320; // i32  number of producers that may be in Atomics.wait

export const RING_HEADER_SIZE = 384; //    6 lines
export const RING_FLAGS_AT = 384; //       available flags: capacity x i32, padded to a line

// ---- Codes -----------------------------------------------------------------------------------
export const RING_KIND_SPSC = 1; //        one producer, one consumer: a published cursor
export const RING_KIND_MPSC = 2; //        many producers (CAS on CLAIM), one consumer: flags

export const RING_WAIT_BUSY_SPIN = 1; //   spin forever: lowest latency, burns a core
export const RING_WAIT_SPIN_YIELD = 2; //  spin RING_H_SPINS times, then Atomics.wait(timeout)
export const RING_WAIT_BLOCKING = 3; //    spin, then announce sleep and Atomics.wait until notified

export const RING_DEFAULT_SPINS = 4096;
export const RING_DEFAULT_YIELD_US = 50;

// ---- Tagged items (tests and benchmarks only) --------------------------------------------------
// What test/ring.test.ts and bench/ring.ts write into a slot, and what rings.wasm's produceTagged
// writes: enough to see a lost, duplicated, reordered or half-visible record.
export const RING_TAG_PRODUCER = 0; //     i32  producer id
export const RING_TAG_ITEM = 4; //         i32  the producer's item number, 0, 1, 2, ...
export const RING_TAG_CHECK = 56; //       i32  item * RING_TAG_MIX ^ producer (i32 arithmetic)
export const RING_TAG_LAST = 60; //        i32  ~item (the record's last word)
export const RING_TAG_MIX = -1640531535; // 0x9E3779B1 as an i32

// The one source of truth for clob's binary records and codes.
//
// This file is read by BOTH compilers: AssemblyScript (assembly/) and TypeScript (src/), so it
// holds nothing but integer constants in the syntax both accept. Never restate an offset or a
// code anywhere else: import it from here. Change a layout => bump LAYOUT_VERSION.
//
// All records are little-endian and fixed-size. i64 fields are 8-byte aligned.

export const LAYOUT_VERSION = 1;

// ---- Command record (host -> core), 64 bytes -------------------------------------------------
export const CMD_SIZE = 64;
export const CMD_TYPE = 0; //         u8   CommandType
export const CMD_SIDE = 1; //         u8   Side
export const CMD_ORDER_TYPE = 2; //   u8   OrderType
export const CMD_TIF = 3; //          u8   TimeInForce
export const CMD_FLAGS = 4; //        u8   OrderFlags / HaltFlags
export const CMD_STP = 5; //          u8   SelfTradePrevention
export const CMD_SYMBOL = 8; //       u32  symbol id (1..maxSymbols; 0 = all symbols in MASS_CANCEL)
export const CMD_ACCOUNT = 12; //     u32  account id (0 = all accounts in MASS_CANCEL)
export const CMD_ORDER_ID = 16; //    i64  order id (> 0, unique among live orders of the engine)
export const CMD_PRICE = 24; //       i64  price in price units (a multiple of the symbol's tick)
export const CMD_QUANTITY = 32; //    i64  quantity in quantity units (a multiple of the lot)
export const CMD_CLIENT_ID = 40; //   i64  client order id, opaque, echoed in events
export const CMD_SEQ = 48; //         i64  sequence number, opaque, echoed in every event it causes
export const CMD_TIMESTAMP = 56; //   i64  timestamp, opaque (the core has no clock)
// ADD_SYMBOL reuses the i64 slots:
export const CMD_TICK_SIZE = 16; //   i64  (in place of order id)
export const CMD_LOT_SIZE = 24; //    i64  (in place of price)
export const CMD_BAND_MIN = 32; //    i64  lowest accepted price (in place of quantity)
export const CMD_BAND_MAX = 40; //    i64  highest accepted price (in place of client id)

// ---- Event record (core -> host), 64 bytes ---------------------------------------------------
export const EVT_SIZE = 64;
export const EVT_TYPE = 0; //         u8   EventType
export const EVT_SIDE = 1; //         u8   Side (TRADE: the aggressor's side)
export const EVT_REASON = 2; //       u8   RejectReason / CancelReason / SymbolStatus
export const EVT_CMD_TYPE = 3; //     u8   type of the command that caused the event
export const EVT_SYMBOL = 4; //       u32
export const EVT_ACCOUNT = 8; //      u32  owner of EVT_ORDER_ID (TRADE: the maker's account)
export const EVT_AUX32 = 12; //       u32  LEVEL: order count; TRADE: the taker's account
export const EVT_ORDER_ID = 16; //    i64  TRADE: the maker's order id
export const EVT_PRICE = 24; //       i64  TRADE: the maker's price; LEVEL: the level's price
export const EVT_QUANTITY = 32; //    i64  TRADE: traded qty; LEVEL: level total; CANCELLED: qty cancelled
export const EVT_AUX64 = 40; //       i64  TRADE: taker order id; ACCEPTED/CANCELLED/MODIFIED: leaves qty
export const EVT_AUX64B = 48; //      i64  TRADE: trade id; others: client order id
export const EVT_SEQ = 56; //         i64  the causing command's seq

// ---- Codes -----------------------------------------------------------------------------------
export const CMD_NEW = 1;
export const CMD_CANCEL = 2;
export const CMD_MODIFY = 3;
export const CMD_MASS_CANCEL = 4;
export const CMD_ADD_SYMBOL = 5;
export const CMD_HALT = 6;
export const CMD_RESUME = 7;

export const SIDE_BUY = 1;
export const SIDE_SELL = 2;

export const ORDER_LIMIT = 1;
export const ORDER_MARKET = 2;

export const TIF_GTC = 1;
export const TIF_IOC = 2;
export const TIF_FOK = 3;

export const FLAG_POST_ONLY = 1; //   limit GTC only: rejected instead of trading
export const FLAG_PROTECTED = 2; //   market only: CMD_PRICE is the protection (worst) price
export const FLAGS_KNOWN = 3;
export const HALT_CANCEL_ORDERS = 1; // HALT: also cancel every resting order of the symbol

export const STP_NONE = 0; //         self-trades are allowed
export const STP_CANCEL_NEWEST = 1; // the incoming order's remainder is cancelled
export const STP_CANCEL_OLDEST = 2; // the resting order is cancelled, matching goes on
export const STP_CANCEL_BOTH = 3;
export const STP_DECREMENT = 4; //    both reduced by the smaller quantity, no trade printed
export const STP_MAX = 4;

export const EV_ACCEPTED = 1;
export const EV_REJECTED = 2;
export const EV_TRADE = 3;
export const EV_CANCELLED = 4;
export const EV_MODIFIED = 5;
export const EV_LEVEL = 6;
export const EV_SYMBOL_STATUS = 7;

export const REJ_MALFORMED = 1; //               unknown command type, or a field outside its codes
export const REJ_INVALID_ORDER_ID = 2; //        order id <= 0
export const REJ_UNKNOWN_SYMBOL = 3;
export const REJ_SYMBOL_HALTED = 4;
export const REJ_INVALID_TIF = 5; //             market GTC, post-only not GTC limit
export const REJ_INVALID_QUANTITY = 6; //        <= 0 or not a multiple of the lot
export const REJ_QUANTITY_TOO_LARGE = 7; //      > MAX_ORDER_QUANTITY
export const REJ_PRICE_OUT_OF_BAND = 8;
export const REJ_PRICE_OFF_TICK = 9;
export const REJ_DUPLICATE_ORDER_ID = 10; //     the id is live
export const REJ_UNKNOWN_ORDER = 11; //          not resting (filled, cancelled, never seen, other symbol)
export const REJ_NOT_OWNER = 12; //              account differs from the order's account
export const REJ_POST_ONLY_WOULD_CROSS = 13;
export const REJ_ORDER_CAPACITY = 14; //         no free order slot for an order that could rest
export const REJ_SYMBOL_CAPACITY = 15; //        symbol id beyond the table, or ladder space exhausted
export const REJ_DUPLICATE_SYMBOL = 16;
export const REJ_INVALID_SYMBOL_CONFIG = 17; //  tick/lot <= 0, band empty or off tick
export const REJ_MAX = 17;

export const CXL_REQUEST = 1;
export const CXL_IOC = 2; //          IOC or market remainder
export const CXL_FOK = 3; //          FOK could not fill whole
export const CXL_SELF_TRADE = 4;
export const CXL_MASS_CANCEL = 5;
export const CXL_HALT = 6;

export const STATUS_ACTIVE = 1;
export const STATUS_HALTED = 2;

// ---- The order-id index's hash (Fibonacci hashing), as two u32 halves since a JS number cannot
// hold it: home slot = (id * multiplier mod 2^64) >> (64 - log2 capacity). The benchmarks use it
// to build colliding ids (bench/id-collisions.ts).
export const ID_HASH_MULTIPLIER_HI = 0x9e3779b9;
export const ID_HASH_MULTIPLIER_LO = 0x7f4a7c15;

// ---- Limits ----------------------------------------------------------------------------------
// Per-order quantity ceiling. With at most MAX_ORDERS orders, a level total or a FOK sum stays
// below 2^62, so no sum inside the core can overflow i64.
export const MAX_ORDER_QUANTITY = 1099511627776; // 2^40
export const MAX_ORDERS = 4194304; //               2^22
// Events one command can emit, at most: 3 per resting order it may touch, plus this constant.
export const EVENTS_PER_TOUCHED_ORDER = 3;
export const EVENTS_PER_COMMAND_BASE = 8;
// process() returns once this many events are written (and a command ran), even with room for
// more: the host reads a chunk while it is in cache (256 KiB: L2) instead of streaming megabytes
// of events through the cache before anyone reads them.
export const EVENT_CHUNK = 4096;

// ---- Arena header fields the host reads (arena-relative u32; arena.ts owns the rest) ----------
// The thread that called process() reads them with a plain load afterwards instead of a Wasm call.
export const H_LIVE_ORDERS = 24; //     resting orders (the next command's worst case)
export const H_EVENTS_WRITTEN = 64; //  events written by the last process() call

// ---- Query rows (core -> host scratch area) --------------------------------------------------
export const DEPTH_ROW_SIZE = 24; // one price level
export const DEPTH_PRICE = 0; //      i64
export const DEPTH_TOTAL = 8; //      i64
export const DEPTH_COUNT = 16; //     u32
export const QUEUE_ROW_SIZE = 32; // one order in a level's FIFO
export const QUEUE_ORDER_ID = 0; //   i64
export const QUEUE_REMAINING = 8; //  i64
export const QUEUE_CLIENT_ID = 16; // i64
export const QUEUE_ACCOUNT = 24; //   u32
export const QUEUE_FLAGS = 28; //     u8
export const QUEUE_STP = 29; //       u8
export const ORDER_ROW_SIZE = 56; // one order found by id (the id is read from offset 0 first)
export const ORDER_ID = 0; //         i64
export const ORDER_PRICE = 8; //      i64
export const ORDER_REMAINING = 16; // i64
export const ORDER_CLIENT_ID = 24; // i64
export const ORDER_HANDLE = 32; //    u64 generation << 32 | slot
export const ORDER_SYMBOL = 40; //    u32
export const ORDER_ACCOUNT = 44; //   u32
export const ORDER_SIDE = 48; //      u8

// ---- Live-book readers (docs/CONCURRENCY.md "Reading a live book") ----------------------------
// Threads that read a book while its matcher runs register in the arena's readers' domain (one
// record each, reclaim-layout.ts) and get their own query scratch from the host.
export const LIVE_READERS = 4; //              reader records per arena
export const READ_NOT_FOUND = 0; //            readOrder: not resting
export const READ_FOUND = 1;
export const READ_UNKNOWN_SYMBOL = -1;
export const READ_BUSY = -2; //                gave up after READ_MAX_RETRIES changed reads in a row (the matcher was
//                                              preempted inside a write, say): the host may call again
export const READ_NO_READER = -3; //           not a registered reader index (or a build without threads)
export const READ_NO_SLOT = -4; //             register: every reader record is taken
export const READ_MAX_RETRIES = 1048576;
// The arena's batch state word (H_BATCH_STATE, assembly/batch-gate.ts): batches started x
// BATCH_COUNT_UNIT | BATCH_RUNNING. A registering reader waits while it keeps the RUNNING value it
// first read (src/live-book-reader.ts), up to a time limit: a matcher that died inside a batch
// leaves it RUNNING for good.
export const BATCH_RUNNING = 1; //             a process() call is under way
export const BATCH_COUNT_UNIT = 2; //          the rest counts batches (a waiting reader sees the state change)
// processPart (assembly/index.ts, a test hook, debug build only): one batch over several calls.
export const BATCH_PART_BEGIN = 1; //          this call starts the batch (decides whether it is guarded)
export const BATCH_PART_FINISH = 2; //         this call ends it (limbo released, state no longer RUNNING)
export const BATCH_PART_DEBUG_ONLY = -2; //    processPart's answer in the release and scalar builds

// The one source of truth for clob's market-data wire format (docs/MARKETDATA.md).
//
// Read by BOTH compilers, like layout.ts and protocol-layout.ts: integer constants only.
// Change a message layout => bump MD_VERSION. All integers little-endian; i64 fields are 8-byte
// aligned within a message and every message size is a multiple of 8.
//
// A message is a 32-byte header and a body. Fixed-size messages have one size per type; the two
// snapshot messages have a 16-byte fixed part followed by MD_*_ROWS rows. A UDP datagram holds one
// or more whole messages of ONE channel; a TCP stream is a sequence of messages.

export const MD_VERSION = 1;

// ---- Message header, 32 bytes ----------------------------------------------------------------
export const MD_HEADER_SIZE = 32;
export const MD_LENGTH = 0; //         u32  bytes in the message, header included (a multiple of 8)
export const MD_VERSION_AT = 4; //     u8   MD_VERSION
export const MD_TYPE = 5; //           u8   MDM_*
export const MD_CHANNEL = 6; //        u8   CH_*
export const MD_FLAGS = 7; //          u8   MDF_*
export const MD_SYMBOL = 8; //         u32  symbol id (SUBSCRIBE: 0 = every symbol)
export const MD_REF = 12; //           u32  TCP answers: the request id (REQ_ID) answered; else 0
export const MD_SYMBOL_SEQ = 16; //    u64  per (channel, symbol): 1, 2, 3...; snapshots: the seq they are valid at
export const MD_CHANNEL_SEQ = 24; //   u64  per channel, all symbols: 1, 2, 3... (0 in TCP answers)
export const MD_MAX_MESSAGE = 16384; //     a longer length is a framing error

// ---- Channels --------------------------------------------------------------------------------
export const CH_CONTROL = 0; //        TCP requests (SUBSCRIBE, SNAPSHOT_REQUEST)
export const CH_TRADES = 1; //         TRADE
export const CH_L1 = 2; //             BBO
export const CH_L2 = 3; //             LEVEL, L2_SNAPSHOT
export const CH_L3 = 4; //             ORDER_ADD/MODIFY/DELETE/EXECUTE, L3_SNAPSHOT
export const CH_MAX = 4;

// ---- Flags -----------------------------------------------------------------------------------
export const MDF_REPLAY = 1; //        restates current state (a TCP answer); advances no sequence

// ---- Message types ---------------------------------------------------------------------------
export const MDM_TRADE = 1;
export const MDM_BBO = 2;
export const MDM_LEVEL = 3;
export const MDM_L2_SNAPSHOT = 4;
export const MDM_ORDER_ADD = 5;
export const MDM_ORDER_MODIFY = 6;
export const MDM_ORDER_DELETE = 7;
export const MDM_ORDER_EXECUTE = 8;
export const MDM_L3_SNAPSHOT = 9;
export const MDM_SUBSCRIBE = 16; //         client -> server (TCP)
export const MDM_SNAPSHOT_REQUEST = 17; //  client -> server (TCP)
export const MDM_TYPE_MAX = 17;

// ---- Bodies (offsets from the end of the header) ---------------------------------------------
// TRADE (CH_TRADES)
export const BODY_TRADE = 48;
export const TRADE_PRICE = 0; //        i64  the maker's price
export const TRADE_QUANTITY = 8; //     i64
export const TRADE_ID = 16; //          i64  the engine's trade id
export const TRADE_MAKER_ID = 24; //    i64  resting order id
export const TRADE_TAKER_ID = 32; //    i64  aggressing order id
export const TRADE_SIDE = 40; //        u8   the aggressor's side (SIDE_BUY / SIDE_SELL)

// BBO (CH_L1): the best level of each side; an empty side has price 0, quantity 0, orders 0
export const BODY_BBO = 40;
export const BBO_BID_PRICE = 0; //      i64
export const BBO_BID_QUANTITY = 8; //   i64
export const BBO_ASK_PRICE = 16; //     i64
export const BBO_ASK_QUANTITY = 24; //  i64
export const BBO_BID_ORDERS = 32; //    u32
export const BBO_ASK_ORDERS = 36; //    u32

// LEVEL (CH_L2): a price level's new total and order count; quantity 0 removes the level
export const BODY_LEVEL = 24;
export const LEVEL_PRICE = 0; //        i64
export const LEVEL_QUANTITY = 8; //     i64
export const LEVEL_ORDERS = 16; //      u32
export const LEVEL_SIDE = 20; //        u8

// L2_SNAPSHOT (CH_L2) and L3_SNAPSHOT (CH_L3): a fixed part, then SNAP_ROWS rows. A snapshot is
// SNAP_PARTS messages, parts 0.. in order, all with the same MD_SYMBOL_SEQ. Rows run bids best
// first, then asks best first (L3: each level's orders in time priority).
export const BODY_SNAPSHOT = 16; //     the fixed part
export const SNAP_PART = 0; //          u32  0-based
export const SNAP_PARTS = 4; //         u32  parts in this snapshot (at least 1; an empty book is 1 part of 0 rows)
export const SNAP_ROWS = 8; //          u32  rows in this part
export const SNAP_RESERVED = 12; //     u32  0
export const L2_ROW_SIZE = 24;
export const L2_ROW_PRICE = 0; //       i64
export const L2_ROW_QUANTITY = 8; //    i64
export const L2_ROW_ORDERS = 16; //     u32
export const L2_ROW_SIDE = 20; //       u8
export const L3_ROW_SIZE = 32;
export const L3_ROW_ORDER_ID = 0; //    i64
export const L3_ROW_PRICE = 8; //       i64
export const L3_ROW_QUANTITY = 16; //   i64  remaining
export const L3_ROW_SIDE = 24; //       u8

// ORDER_ADD / ORDER_MODIFY / ORDER_DELETE / ORDER_EXECUTE (CH_L3)
export const BODY_ORDER = 40;
export const ORD_ID = 0; //           i64
export const ORD_PRICE = 8; //        i64  the order's price (the level it is in)
export const ORD_QUANTITY = 16; //    i64  ADD: resting qty; MODIFY: new remaining; DELETE: qty removed; EXECUTE: qty traded
export const ORD_TRADE_ID = 24; //    i64  EXECUTE: the trade id; else 0
export const ORD_SIDE = 32; //        u8

// SUBSCRIBE (client -> server): MD_SYMBOL = the symbol, 0 for all (send one per symbol)
export const BODY_SUBSCRIBE = 8;
export const SUB_CHANNELS = 0; //       u32  a mask: bit (1 << CH_*) per channel wanted
export const SUB_RESERVED = 4; //       u32  0

// SNAPSHOT_REQUEST (client -> server): MD_SYMBOL = the symbol
export const BODY_SNAPSHOT_REQUEST = 8;
export const REQ_WHAT = 0; //           u32  SNAP_WANT_L2 | SNAP_WANT_L3
export const REQ_ID = 4; //             u32  echoed in MD_REF of the answer's messages
export const SNAP_WANT_L2 = 1;
export const SNAP_WANT_L3 = 2;

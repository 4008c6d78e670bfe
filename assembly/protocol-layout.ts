// The one source of truth for clob's order-entry wire protocol (docs/PROTOCOL.md).
//
// Read by BOTH compilers, like layout.ts: AssemblyScript and TypeScript (src/protocol/codec.ts).
// Integer constants only. Change a frame or message layout => bump PROTOCOL_VERSION.
//
// Every frame is a 16-byte header followed by a fixed-size body that depends on the message type.
// All integers are little-endian. Order-entry messages (NEW, CANCEL, MODIFY, MASS_CANCEL) carry the
// core's 64-byte command record (layout.ts CMD_*) as their body, and EXEC carries the core's 64-byte
// event record (layout.ts EVT_*): their fields are defined once, in layout.ts, never here.
// (This file cannot import layout.ts: AssemblyScript wants './layout', TypeScript NodeNext wants
// './layout.js'. The two values restated below are checked against layout.ts by
// test/protocol.test.ts, as RING_SLOT_SIZE is in ring-layout.ts.)

export const PROTOCOL_VERSION = 1;
export const PROTOCOL_RECORD_LAYOUT = 1; //  = LAYOUT_VERSION (layout.ts) of the embedded records
export const PROTOCOL_RECORD_SIZE = 64; //   = CMD_SIZE = EVT_SIZE (layout.ts)

// ---- Frame header, 16 bytes ------------------------------------------------------------------
export const FRAME_HEADER_SIZE = 16;
export const FRAME_LENGTH = 0; //     u32  bytes in the frame, header included (= header + the type's body)
export const FRAME_VERSION = 4; //    u8   PROTOCOL_VERSION
export const FRAME_TYPE = 5; //       u8   MSG_*
export const FRAME_FLAGS = 6; //      u16  reserved, must be 0
export const FRAME_SEQ = 8; //        u32  the sender's session sequence number: 1, 2, 3... per direction
export const FRAME_REF = 12; //       u32  server -> client: the client seq this frame answers (0: none);
//                                         client -> server: ignored (echoed nowhere)
export const MAX_FRAME = 256; //            a length above this is rejected before any byte is buffered
export const MAX_SEQ = 4294967295; //       u32: a session ends before its sequence numbers wrap

// ---- Message types ---------------------------------------------------------------------------
// client -> server
export const MSG_LOGIN = 1;
export const MSG_LOGOUT = 2; //             both directions (the server's reply, or a server-side logout)
export const MSG_HEARTBEAT = 3; //          both directions
export const MSG_NEW = 16; //               body: command record, CMD_NEW
export const MSG_CANCEL = 17; //            body: command record, CMD_CANCEL
export const MSG_MODIFY = 18; //            body: command record, CMD_MODIFY
export const MSG_MASS_CANCEL = 19; //       body: command record, CMD_MASS_CANCEL
// server -> client
export const MSG_LOGIN_ACK = 32;
export const MSG_LOGIN_REJECT = 33;
export const MSG_EXEC = 34; //              body: event record (ACCEPTED, REJECTED, TRADE, CANCELLED, MODIFIED)
export const MSG_MASS_CANCEL_ACK = 35; //   the end of a MASS_CANCEL's cancels (it may cancel nothing)
export const MSG_SESSION_REJECT = 36;
export const MSG_TYPE_MAX = 36; //          highest type code (size tables are indexed by type)

// ---- Bodies (bytes after the header) ---------------------------------------------------------
export const BODY_LOGIN = 40;
export const LOGIN_ACCOUNT = 0; //          u32  account id (1..2^32-1)
export const LOGIN_RESERVED = 4; //         u32  must be 0
export const LOGIN_CREDENTIAL = 8; //       32 bytes: the credential, UTF-8, zero-padded
export const LOGIN_CREDENTIAL_SIZE = 32;

export const BODY_LOGIN_ACK = 16;
export const LOGIN_ACK_ACCOUNT = 0; //      u32
export const LOGIN_ACK_SESSION = 4; //      u32  the server's id for this session (logs)
export const LOGIN_ACK_HEARTBEAT_MS = 8; // u32  send something at least this often; silence for
//                                               HEARTBEAT_TIMEOUT_FACTOR intervals ends the session
export const LOGIN_ACK_RATE = 12; //        u32  order messages per second allowed (0: unlimited)
export const HEARTBEAT_TIMEOUT_FACTOR = 3;

export const BODY_LOGIN_REJECT = 8;
export const LOGIN_REJECT_REASON = 0; //    u32  LOGIN_REJ_*
export const LOGIN_REJECT_RESERVED = 4;

export const BODY_LOGOUT = 8;
export const LOGOUT_REASON = 0; //          u32  LOGOUT_*
export const LOGOUT_RESERVED = 4;

export const BODY_HEARTBEAT = 0;
export const BODY_COMMAND = 64; //          = PROTOCOL_RECORD_SIZE: the core's command record
export const BODY_EXEC = 64; //             = PROTOCOL_RECORD_SIZE: the core's event record

export const BODY_MASS_CANCEL_ACK = 8;
export const MASS_CANCEL_ACK_SYMBOL = 0; // u32  the request's symbol (0: all)
export const MASS_CANCEL_ACK_COUNT = 4; //  u32  orders it cancelled (each also reported by an EXEC)

export const BODY_SESSION_REJECT = 16;
export const SESSION_REJECT_REASON = 0; //  u32  SREJ_*
export const SESSION_REJECT_SEQ = 4; //     u32  the offending frame's seq (0: not readable)
export const SESSION_REJECT_TYPE = 8; //    u32  the offending frame's type (0: not readable)
export const SESSION_REJECT_EXPECTED = 12; // u32 SREJ_BAD_SEQ: the seq that was expected; else 0

// ---- Codes -----------------------------------------------------------------------------------
export const LOGIN_REJ_BAD_CREDENTIALS = 1; // unknown account or wrong credential (not told apart)
export const LOGIN_REJ_SESSION_LIMIT = 2; //   the account has its maximum of sessions
export const LOGIN_REJ_SHUTTING_DOWN = 3;

export const LOGOUT_REQUESTED = 1; //          the client asked (the server's reply carries it too)
export const LOGOUT_SHUTDOWN = 2; //           the server is closing

// Session rejects. All end the session (the server writes the reject, then closes) except THROTTLED.
export const SREJ_BAD_LENGTH = 1; //         length below the header, or not the type's size
export const SREJ_FRAME_TOO_LARGE = 2; //    length above MAX_FRAME
export const SREJ_BAD_VERSION = 3;
export const SREJ_UNKNOWN_TYPE = 4; //       unknown type, or not one this side accepts
export const SREJ_BAD_FLAGS = 5; //          reserved header or body bits not zero
export const SREJ_BAD_SEQ = 6; //            not the previous seq + 1 (the first frame is 1)
export const SREJ_NOT_LOGGED_IN = 7; //      anything but LOGIN before a successful LOGIN
export const SREJ_ALREADY_LOGGED_IN = 8;
export const SREJ_THROTTLED = 9; //          order message over the session's rate: not executed
export const SREJ_HEARTBEAT_TIMEOUT = 10; // nothing received for HEARTBEAT_TIMEOUT_FACTOR intervals
export const SREJ_LOGIN_TIMEOUT = 11; //     no LOGIN within the login timeout
export const SREJ_MAX = 11;

// The order-entry wire protocol's codec: a streaming frame decoder and a frame writer.
// Layouts and codes come from assembly/protocol-layout.ts (frames) and assembly/layout.ts (the
// command and event records the frames embed); docs/PROTOCOL.md describes them.
//
// FrameDecoder never allocates after construction and never throws: it reads frames straight out
// of the chunks it is fed (a frame split across chunks is completed in a MAX_FRAME-byte pending
// buffer), checks every header against the size table of the side it decodes for, and on the first
// bad frame stops with a reason code (a byte stream cannot resynchronise after a framing error).
import * as P from '../../assembly/protocol-layout.js';
import * as L from '../../assembly/layout.js';

const TWO_32 = 4294967296;

// ---- little-endian helpers over plain byte arrays (any alignment) ----------------------------

export function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
/** An i64 as a number (exact for safe integers). */
export function readI64(b: Uint8Array, at: number): number {
  const lo = readU32(b, at);
  const hi = b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) | (b[at + 7] << 24); // signed
  return hi * TWO_32 + lo;
}
export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v; b[at + 1] = v >>> 8; b[at + 2] = v >>> 16; b[at + 3] = v >>> 24;
}
/** A safe integer as an i64. */
export function writeI64(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  writeU32(b, at, v - hi * TWO_32);
  writeU32(b, at + 4, hi >>> 0);
}

/** A safe integer as an i64 at word `w` of a word view (the record's offset >>> 2; 4-byte aligned). */
export function writeI64Word(words: Int32Array, w: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  words[w] = v - hi * TWO_32; // stored modulo 2^32
  words[w + 1] = hi;
}

// ---- size tables: which types a side accepts, and each type's body size --------------------

/** A table indexed by message type: the body size, or -1 where the type is not accepted. */
export type SizeTable = Int16Array;

function sizeTable(entries: [number, number][]): SizeTable {
  const t = new Int16Array(P.MSG_TYPE_MAX + 1).fill(-1);
  for (const [type, body] of entries) t[type] = body;
  return t;
}

/** Messages a server accepts (client -> server). */
export const CLIENT_TO_SERVER: SizeTable = sizeTable([
  [P.MSG_LOGIN, P.BODY_LOGIN], [P.MSG_LOGOUT, P.BODY_LOGOUT], [P.MSG_HEARTBEAT, P.BODY_HEARTBEAT],
  [P.MSG_NEW, P.BODY_COMMAND], [P.MSG_CANCEL, P.BODY_COMMAND], [P.MSG_MODIFY, P.BODY_COMMAND], [P.MSG_MASS_CANCEL, P.BODY_COMMAND],
]);
/** Messages a client accepts (server -> client). */
export const SERVER_TO_CLIENT: SizeTable = sizeTable([
  [P.MSG_LOGIN_ACK, P.BODY_LOGIN_ACK], [P.MSG_LOGIN_REJECT, P.BODY_LOGIN_REJECT], [P.MSG_LOGOUT, P.BODY_LOGOUT],
  [P.MSG_HEARTBEAT, P.BODY_HEARTBEAT], [P.MSG_EXEC, P.BODY_EXEC], [P.MSG_MASS_CANCEL_ACK, P.BODY_MASS_CANCEL_ACK],
  [P.MSG_SESSION_REJECT, P.BODY_SESSION_REJECT],
]);
/** Every message of the protocol: name, direction, body size (docs, tests, tools). */
export const MESSAGES: { name: string; type: number; body: number; direction: 'client->server' | 'server->client' | 'both' }[] = [
  { name: 'LOGIN', type: P.MSG_LOGIN, body: P.BODY_LOGIN, direction: 'client->server' },
  { name: 'LOGOUT', type: P.MSG_LOGOUT, body: P.BODY_LOGOUT, direction: 'both' },
  { name: 'HEARTBEAT', type: P.MSG_HEARTBEAT, body: P.BODY_HEARTBEAT, direction: 'both' },
  { name: 'NEW', type: P.MSG_NEW, body: P.BODY_COMMAND, direction: 'client->server' },
  { name: 'CANCEL', type: P.MSG_CANCEL, body: P.BODY_COMMAND, direction: 'client->server' },
  { name: 'MODIFY', type: P.MSG_MODIFY, body: P.BODY_COMMAND, direction: 'client->server' },
  { name: 'MASS_CANCEL', type: P.MSG_MASS_CANCEL, body: P.BODY_COMMAND, direction: 'client->server' },
  { name: 'LOGIN_ACK', type: P.MSG_LOGIN_ACK, body: P.BODY_LOGIN_ACK, direction: 'server->client' },
  { name: 'LOGIN_REJECT', type: P.MSG_LOGIN_REJECT, body: P.BODY_LOGIN_REJECT, direction: 'server->client' },
  { name: 'EXEC', type: P.MSG_EXEC, body: P.BODY_EXEC, direction: 'server->client' },
  { name: 'MASS_CANCEL_ACK', type: P.MSG_MASS_CANCEL_ACK, body: P.BODY_MASS_CANCEL_ACK, direction: 'server->client' },
  { name: 'SESSION_REJECT', type: P.MSG_SESSION_REJECT, body: P.BODY_SESSION_REJECT, direction: 'server->client' },
];

/** Names of the session reject reasons, indexed by code (logs, the client). */
export const SESSION_REJECT_NAMES: string[] = [];
SESSION_REJECT_NAMES[P.SREJ_BAD_LENGTH] = 'bad-length';
SESSION_REJECT_NAMES[P.SREJ_FRAME_TOO_LARGE] = 'frame-too-large';
SESSION_REJECT_NAMES[P.SREJ_BAD_VERSION] = 'bad-version';
SESSION_REJECT_NAMES[P.SREJ_UNKNOWN_TYPE] = 'unknown-type';
SESSION_REJECT_NAMES[P.SREJ_BAD_FLAGS] = 'bad-flags';
SESSION_REJECT_NAMES[P.SREJ_BAD_SEQ] = 'bad-seq';
SESSION_REJECT_NAMES[P.SREJ_NOT_LOGGED_IN] = 'not-logged-in';
SESSION_REJECT_NAMES[P.SREJ_ALREADY_LOGGED_IN] = 'already-logged-in';
SESSION_REJECT_NAMES[P.SREJ_THROTTLED] = 'throttled';
SESSION_REJECT_NAMES[P.SREJ_HEARTBEAT_TIMEOUT] = 'heartbeat-timeout';
SESSION_REJECT_NAMES[P.SREJ_LOGIN_TIMEOUT] = 'login-timeout';

export const LOGIN_REJECT_NAMES: string[] = [];
LOGIN_REJECT_NAMES[P.LOGIN_REJ_BAD_CREDENTIALS] = 'bad-credentials';
LOGIN_REJECT_NAMES[P.LOGIN_REJ_SESSION_LIMIT] = 'session-limit';
LOGIN_REJECT_NAMES[P.LOGIN_REJ_SHUTTING_DOWN] = 'shutting-down';

export const reasonName = (names: string[], code: number) => names[code] ?? `code-${code}`;

// ---- decoder ---------------------------------------------------------------------------------

/** next()'s answers besides a message type (> 0). */
export const NEED_MORE = 0;
export const FAILED = -1;

export class FrameDecoder {
  /** The bytes holding the current frame (the fed chunk, or the pending buffer). Valid until the next call. */
  buf: Uint8Array;
  /** A view of the memory under `buf`, for word reads at any alignment: the current frame's header is at viewAt. */
  view: DataView;
  viewAt = 0;
  /** Offset of the current frame's header in `buf`; its body starts FRAME_HEADER_SIZE later. */
  at = 0;
  /** Header fields of the current frame. */
  type = 0;
  length = 0;
  seq = 0;
  ref = 0;
  /** Set once next() returned FAILED: an SREJ_* code, and the bad frame's seq and type (0 if unreadable). */
  error = 0;
  errorSeq = 0;
  errorType = 0;
  /** Frames decoded and bytes consumed (statistics). */
  frames = 0;
  bytes = 0;

  private chunk: Uint8Array;
  private chunkView: DataView;
  /** chunk's offset in chunkView (which spans the chunk's whole ArrayBuffer). */
  private chunkBase = 0;
  private pos = 0;
  private end = 0;
  private readonly pending = new Uint8Array(P.MAX_FRAME);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingLength = 0;

  constructor(private readonly sizes: SizeTable = CLIENT_TO_SERVER) {
    this.chunk = this.pending;
    this.buf = this.pending;
    this.chunkView = this.view = this.pendingView;
  }

  /**
   * Hands the decoder the next chunk of the stream (chunk[start, end)); then call next() until it
   * returns NEED_MORE or FAILED. A chunk in memory other than the last one's gets a DataView (one
   * per read with node:net; none with io_uring, whose slots are one region).
   */
  feed(chunk: Uint8Array, start = 0, end = chunk.length): void {
    if (chunk.buffer !== this.chunkView.buffer) this.chunkView = new DataView(chunk.buffer);
    this.chunk = chunk;
    this.chunkBase = chunk.byteOffset;
    this.pos = start;
    this.end = end;
  }

  /** Bytes held over from earlier chunks (a partial frame), at most MAX_FRAME. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** Forgets everything (a new stream). */
  reset(): void {
    this.pendingLength = 0;
    this.pos = this.end = 0;
    this.error = this.errorSeq = this.errorType = 0;
    this.type = this.length = this.seq = this.ref = 0;
  }

  /** The next whole frame: its type (> 0) with buf/at/length/seq/ref set; NEED_MORE; or FAILED (see error). */
  next(): number {
    if (this.error !== 0) return FAILED;
    if (this.pendingLength > 0) return this.continuePending();
    const avail = this.end - this.pos;
    if (avail === 0) return NEED_MORE;
    const b = this.chunk;
    const v = this.chunkView;
    const at = this.pos;
    const vat = this.chunkBase + at;
    if (avail >= 4) {
      const length = v.getUint32(vat + P.FRAME_LENGTH, true);
      if (length > P.MAX_FRAME) return this.fail(P.SREJ_FRAME_TOO_LARGE, b, at, avail);
      if (length < P.FRAME_HEADER_SIZE) return this.fail(P.SREJ_BAD_LENGTH, b, at, avail);
      if (avail >= P.FRAME_HEADER_SIZE && this.checkHeader(b, at, v, vat, length) === FAILED) return FAILED;
      if (avail >= length) {
        this.pos = at + length;
        return this.accept(b, at, v, vat, length);
      }
    }
    // A partial frame: keep it (it is shorter than MAX_FRAME: its length was checked or unread).
    for (let i = 0; i < avail; i++) this.pending[i] = b[at + i];
    this.pendingLength = avail;
    this.pos = this.end;
    return NEED_MORE;
  }

  private continuePending(): number {
    const p = this.pending;
    // Complete the length word, then the header, then the frame.
    if (this.pendingLength < 4 && !this.fill(4)) return NEED_MORE;
    const length = readU32(p, 0);
    if (length > P.MAX_FRAME) return this.fail(P.SREJ_FRAME_TOO_LARGE, p, 0, this.pendingLength);
    if (length < P.FRAME_HEADER_SIZE) return this.fail(P.SREJ_BAD_LENGTH, p, 0, this.pendingLength);
    if (this.pendingLength < P.FRAME_HEADER_SIZE && !this.fill(P.FRAME_HEADER_SIZE)) return NEED_MORE;
    if (this.checkHeader(p, 0, this.pendingView, 0, length) === FAILED) return FAILED;
    if (!this.fill(length)) return NEED_MORE;
    this.pendingLength = 0;
    return this.accept(p, 0, this.pendingView, 0, length);
  }

  /** Moves bytes from the chunk into pending until it holds `want`; true when it does. */
  private fill(want: number): boolean {
    const n = Math.min(want - this.pendingLength, this.end - this.pos);
    const p = this.pending;
    const b = this.chunk;
    for (let i = 0; i < n; i++) p[this.pendingLength + i] = b[this.pos + i];
    this.pendingLength += n;
    this.pos += n;
    return this.pendingLength >= want;
  }

  /** Header checks once 16 bytes are there: version, type, length = the type's size, flags. b[at] and v's byte vat are the frame's first byte. */
  private checkHeader(b: Uint8Array, at: number, v: DataView, vat: number, length: number): number {
    if (b[at + P.FRAME_VERSION] !== P.PROTOCOL_VERSION) return this.fail(P.SREJ_BAD_VERSION, b, at, P.FRAME_HEADER_SIZE);
    const type = b[at + P.FRAME_TYPE];
    const body = type <= P.MSG_TYPE_MAX ? this.sizes[type] : -1;
    if (body < 0) return this.fail(P.SREJ_UNKNOWN_TYPE, b, at, P.FRAME_HEADER_SIZE);
    if (length !== P.FRAME_HEADER_SIZE + body) return this.fail(P.SREJ_BAD_LENGTH, b, at, P.FRAME_HEADER_SIZE);
    if (v.getUint16(vat + P.FRAME_FLAGS, true) !== 0) return this.fail(P.SREJ_BAD_FLAGS, b, at, P.FRAME_HEADER_SIZE);
    return 1;
  }

  private accept(b: Uint8Array, at: number, v: DataView, vat: number, length: number): number {
    this.buf = b;
    this.at = at;
    this.view = v;
    this.viewAt = vat;
    this.length = length;
    this.type = b[at + P.FRAME_TYPE];
    this.seq = v.getUint32(vat + P.FRAME_SEQ, true);
    this.ref = v.getUint32(vat + P.FRAME_REF, true);
    this.frames++;
    this.bytes += length;
    return this.type;
  }

  private fail(reason: number, b: Uint8Array, at: number, readable: number): number {
    this.error = reason;
    this.errorSeq = readable >= P.FRAME_HEADER_SIZE ? readU32(b, at + P.FRAME_SEQ) : 0;
    this.errorType = readable >= P.FRAME_HEADER_SIZE ? b[at + P.FRAME_TYPE] : 0;
    this.pendingLength = 0;
    this.pos = this.end;
    return FAILED;
  }
}

// ---- writer ----------------------------------------------------------------------------------

/** The header word holding version, type and the reserved flags (one word: test/protocol.test.ts), version set. */
const VERSION_WORD = P.PROTOCOL_VERSION << ((P.FRAME_VERSION & 3) << 3);

/**
 * Frames appended into one growing buffer (it doubles when full, so the steady state does not
 * allocate). Every frame's size is a multiple of 8, so frames and their bodies stay 4-byte aligned
 * for the word views. take() copies the bytes out (for socket.write) and empties the writer.
 */
export class FrameWriter {
  u8: Uint8Array;
  i32: Int32Array;
  length = 0;
  /** The next outbound session sequence number (the first frame is 1). */
  seq = 1;

  constructor(capacity = 4096) {
    this.u8 = new Uint8Array(capacity);
    this.i32 = new Int32Array(this.u8.buffer);
  }

  private reserve(bytes: number): number {
    if (this.length + bytes > this.u8.length) {
      let size = this.u8.length * 2;
      while (size < this.length + bytes) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.u8.subarray(0, this.length));
      this.u8 = grown;
      this.i32 = new Int32Array(grown.buffer);
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  /** Appends a frame of `type` (header written, body zeroed) and returns its body's offset in u8. */
  begin(type: number, body: number, ref = 0, seq = this.seq++): number {
    const at = this.header(type, body, ref, seq);
    const to = this.i32;
    for (let w = (at + P.FRAME_HEADER_SIZE) >>> 2, end = w + (body >>> 2); w < end; w++) to[w] = 0;
    return at + P.FRAME_HEADER_SIZE;
  }

  /** Appends a frame whose body is a 64-byte record copied from a word view (both 4-byte aligned). */
  record(type: number, ref: number, from: Int32Array, fromByte: number): number {
    const body = this.header(type, P.PROTOCOL_RECORD_SIZE, ref, this.seq++) + P.FRAME_HEADER_SIZE;
    const d = body >>> 2;
    const s = fromByte >>> 2;
    const t = this.i32;
    // The 16 words of a PROTOCOL_RECORD_SIZE record (test/protocol.test.ts pins the size), unrolled:
    // this runs once per EXEC, and the unrolled copy measured about twice as fast as the loop.
    t[d] = from[s]; t[d + 1] = from[s + 1]; t[d + 2] = from[s + 2]; t[d + 3] = from[s + 3];
    t[d + 4] = from[s + 4]; t[d + 5] = from[s + 5]; t[d + 6] = from[s + 6]; t[d + 7] = from[s + 7];
    t[d + 8] = from[s + 8]; t[d + 9] = from[s + 9]; t[d + 10] = from[s + 10]; t[d + 11] = from[s + 11];
    t[d + 12] = from[s + 12]; t[d + 13] = from[s + 13]; t[d + 14] = from[s + 14]; t[d + 15] = from[s + 15];
    return body;
  }

  /**
   * Reserves a frame and writes its header as words (frames are 4-byte aligned, sizes multiples
   * of 8: the hot path writes an EXEC per event); returns the frame's offset. The body is left as is.
   */
  private header(type: number, body: number, ref: number, seq: number): number {
    const length = P.FRAME_HEADER_SIZE + body;
    const at = this.reserve(length);
    const w = at >>> 2;
    const to = this.i32;
    to[w + (P.FRAME_LENGTH >>> 2)] = length;
    to[w + (P.FRAME_VERSION >>> 2)] = VERSION_WORD | (type << ((P.FRAME_TYPE & 3) << 3)); // flags 0
    to[w + (P.FRAME_SEQ >>> 2)] = seq;
    to[w + (P.FRAME_REF >>> 2)] = ref;
    return at;
  }

  login(account: number, credential: Uint8Array): void {
    const body = this.begin(P.MSG_LOGIN, P.BODY_LOGIN);
    writeU32(this.u8, body + P.LOGIN_ACCOUNT, account);
    this.u8.set(credential.subarray(0, P.LOGIN_CREDENTIAL_SIZE), body + P.LOGIN_CREDENTIAL);
  }

  loginAck(ref: number, account: number, session: number, heartbeatMs: number, rate: number): void {
    const body = this.begin(P.MSG_LOGIN_ACK, P.BODY_LOGIN_ACK, ref);
    writeU32(this.u8, body + P.LOGIN_ACK_ACCOUNT, account);
    writeU32(this.u8, body + P.LOGIN_ACK_SESSION, session);
    writeU32(this.u8, body + P.LOGIN_ACK_HEARTBEAT_MS, heartbeatMs);
    writeU32(this.u8, body + P.LOGIN_ACK_RATE, rate);
  }

  loginReject(ref: number, reason: number): void {
    writeU32(this.u8, this.begin(P.MSG_LOGIN_REJECT, P.BODY_LOGIN_REJECT, ref) + P.LOGIN_REJECT_REASON, reason);
  }

  logout(ref: number, reason: number): void {
    writeU32(this.u8, this.begin(P.MSG_LOGOUT, P.BODY_LOGOUT, ref) + P.LOGOUT_REASON, reason);
  }

  heartbeat(ref = 0): void {
    this.begin(P.MSG_HEARTBEAT, P.BODY_HEARTBEAT, ref);
  }

  massCancelAck(ref: number, symbol: number, count: number): void {
    const body = this.begin(P.MSG_MASS_CANCEL_ACK, P.BODY_MASS_CANCEL_ACK, ref);
    writeU32(this.u8, body + P.MASS_CANCEL_ACK_SYMBOL, symbol);
    writeU32(this.u8, body + P.MASS_CANCEL_ACK_COUNT, count);
  }

  sessionReject(reason: number, badSeq: number, badType: number, expected = 0): void {
    const body = this.begin(P.MSG_SESSION_REJECT, P.BODY_SESSION_REJECT, badSeq);
    writeU32(this.u8, body + P.SESSION_REJECT_REASON, reason);
    writeU32(this.u8, body + P.SESSION_REJECT_SEQ, badSeq);
    writeU32(this.u8, body + P.SESSION_REJECT_TYPE, badType);
    writeU32(this.u8, body + P.SESSION_REJECT_EXPECTED, expected);
  }

  /**
   * An order-entry frame (NEW, CANCEL, MODIFY, MASS_CANCEL) whose body is a command record; the
   * fields are written with layout.ts offsets. i64 values must be safe integers. Returns the seq used.
   */
  command(type: number, c: CommandFields): number {
    const seq = this.seq;
    const at = this.begin(type, P.BODY_COMMAND);
    const b = this.u8;
    b[at + L.CMD_TYPE] = commandTypeOf(type);
    b[at + L.CMD_SIDE] = c.side ?? 0;
    b[at + L.CMD_ORDER_TYPE] = c.orderType ?? 0;
    b[at + L.CMD_TIF] = c.tif ?? 0;
    b[at + L.CMD_FLAGS] = c.flags ?? 0;
    b[at + L.CMD_STP] = c.stp ?? 0;
    writeU32(b, at + L.CMD_SYMBOL, c.symbol ?? 0);
    writeU32(b, at + L.CMD_ACCOUNT, c.account ?? 0);
    writeI64(b, at + L.CMD_ORDER_ID, c.orderId ?? 0);
    writeI64(b, at + L.CMD_PRICE, c.price ?? 0);
    writeI64(b, at + L.CMD_QUANTITY, c.quantity ?? 0);
    writeI64(b, at + L.CMD_CLIENT_ID, c.clientOrderId ?? 0);
    writeI64(b, at + L.CMD_SEQ, c.seq ?? 0);
    writeI64(b, at + L.CMD_TIMESTAMP, c.timestamp ?? 0);
    return seq;
  }

  /** Copies the frames out (one Buffer for one socket.write) and empties the writer. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    out.set(this.length === this.u8.length ? this.u8 : this.u8.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

/** Command record fields by name (codes from layout.ts); absent fields are 0. */
export interface CommandFields {
  side?: number; orderType?: number; tif?: number; flags?: number; stp?: number;
  symbol?: number; account?: number; orderId?: number; price?: number; quantity?: number;
  clientOrderId?: number; seq?: number; timestamp?: number;
}

/** The command type a message type carries (0 if it carries none). */
export function commandTypeOf(messageType: number): number {
  switch (messageType) {
    case P.MSG_NEW: return L.CMD_NEW;
    case P.MSG_CANCEL: return L.CMD_CANCEL;
    case P.MSG_MODIFY: return L.CMD_MODIFY;
    case P.MSG_MASS_CANCEL: return L.CMD_MASS_CANCEL;
    default: return 0;
  }
}

/** A credential as the LOGIN body carries it: UTF-8, zero-padded to 32 bytes; undefined if longer. */
export function encodeCredential(credential: string): Uint8Array | undefined {
  const bytes = Buffer.from(credential, 'utf8');
  if (bytes.length > P.LOGIN_CREDENTIAL_SIZE) return undefined;
  const out = new Uint8Array(P.LOGIN_CREDENTIAL_SIZE);
  out.set(bytes);
  return out;
}

// Market-data wire format: header writer, size table, and a streaming message decoder.
// Layouts live in assembly/marketdata-layout.ts (docs/MARKETDATA.md); integer helpers are the
// order-entry codec's (src/protocol/codec.ts), so both protocols read i64 the same way.
import * as M from '../../assembly/marketdata-layout.js';
import { readU32, readI64, writeU32, writeI64 } from '../protocol/codec.js';

export { readU32, readI64, writeU32, writeI64 };

/** Body size of each fixed-size type, -1 for unknown types; snapshots: the fixed part. */
export const BODY_SIZE: Int16Array = (() => {
  const t = new Int16Array(M.MDM_TYPE_MAX + 1).fill(-1);
  t[M.MDM_TRADE] = M.BODY_TRADE;
  t[M.MDM_BBO] = M.BODY_BBO;
  t[M.MDM_LEVEL] = M.BODY_LEVEL;
  t[M.MDM_L2_SNAPSHOT] = M.BODY_SNAPSHOT;
  t[M.MDM_ORDER_ADD] = M.BODY_ORDER;
  t[M.MDM_ORDER_MODIFY] = M.BODY_ORDER;
  t[M.MDM_ORDER_DELETE] = M.BODY_ORDER;
  t[M.MDM_ORDER_EXECUTE] = M.BODY_ORDER;
  t[M.MDM_L3_SNAPSHOT] = M.BODY_SNAPSHOT;
  t[M.MDM_SUBSCRIBE] = M.BODY_SUBSCRIBE;
  t[M.MDM_SNAPSHOT_REQUEST] = M.BODY_SNAPSHOT_REQUEST;
  return t;
})();

/** Every message type: name, channel, body size (docs, tests, tools). */
export const MESSAGES: { name: string; type: number; channel: number; body: number; rowSize?: number }[] = [
  { name: 'TRADE', type: M.MDM_TRADE, channel: M.CH_TRADES, body: M.BODY_TRADE },
  { name: 'BBO', type: M.MDM_BBO, channel: M.CH_L1, body: M.BODY_BBO },
  { name: 'LEVEL', type: M.MDM_LEVEL, channel: M.CH_L2, body: M.BODY_LEVEL },
  { name: 'L2_SNAPSHOT', type: M.MDM_L2_SNAPSHOT, channel: M.CH_L2, body: M.BODY_SNAPSHOT, rowSize: M.L2_ROW_SIZE },
  { name: 'ORDER_ADD', type: M.MDM_ORDER_ADD, channel: M.CH_L3, body: M.BODY_ORDER },
  { name: 'ORDER_MODIFY', type: M.MDM_ORDER_MODIFY, channel: M.CH_L3, body: M.BODY_ORDER },
  { name: 'ORDER_DELETE', type: M.MDM_ORDER_DELETE, channel: M.CH_L3, body: M.BODY_ORDER },
  { name: 'ORDER_EXECUTE', type: M.MDM_ORDER_EXECUTE, channel: M.CH_L3, body: M.BODY_ORDER },
  { name: 'L3_SNAPSHOT', type: M.MDM_L3_SNAPSHOT, channel: M.CH_L3, body: M.BODY_SNAPSHOT, rowSize: M.L3_ROW_SIZE },
  { name: 'SUBSCRIBE', type: M.MDM_SUBSCRIBE, channel: M.CH_CONTROL, body: M.BODY_SUBSCRIBE },
  { name: 'SNAPSHOT_REQUEST', type: M.MDM_SNAPSHOT_REQUEST, channel: M.CH_CONTROL, body: M.BODY_SNAPSHOT_REQUEST },
];

/** Writes a message header at `at`. Sequences are safe integers. */
export function writeHeader(b: Uint8Array, at: number, length: number, type: number, channel: number, flags: number,
  symbol: number, ref: number, symbolSeq: number, channelSeq: number): void {
  writeU32(b, at + M.MD_LENGTH, length);
  b[at + M.MD_VERSION_AT] = M.MD_VERSION;
  b[at + M.MD_TYPE] = type;
  b[at + M.MD_CHANNEL] = channel;
  b[at + M.MD_FLAGS] = flags;
  writeU32(b, at + M.MD_SYMBOL, symbol);
  writeU32(b, at + M.MD_REF, ref);
  writeI64(b, at + M.MD_SYMBOL_SEQ, symbolSeq);
  writeI64(b, at + M.MD_CHANNEL_SEQ, channelSeq);
}

/**
 * Checks the message at `at` (with `avail` bytes readable): its length, or -1 when it is malformed
 * (bad version, unknown type, length not the type's size, snapshot rows not matching the length).
 * 0 when fewer than a header's bytes are there.
 */
export function messageLength(b: Uint8Array, at: number, avail: number): number {
  if (avail < M.MD_HEADER_SIZE) return 0;
  const length = readU32(b, at + M.MD_LENGTH);
  if (length < M.MD_HEADER_SIZE || length > M.MD_MAX_MESSAGE || (length & 7) !== 0) return -1;
  if (b[at + M.MD_VERSION_AT] !== M.MD_VERSION) return -1;
  const type = b[at + M.MD_TYPE];
  const body = type <= M.MDM_TYPE_MAX ? BODY_SIZE[type] : -1;
  if (body < 0) return -1;
  if (type === M.MDM_L2_SNAPSHOT || type === M.MDM_L3_SNAPSHOT) {
    const row = type === M.MDM_L2_SNAPSHOT ? M.L2_ROW_SIZE : M.L3_ROW_SIZE;
    if (avail < M.MD_HEADER_SIZE + M.BODY_SNAPSHOT) return length >= M.MD_HEADER_SIZE + M.BODY_SNAPSHOT ? length : -1;
    const rows = readU32(b, at + M.MD_HEADER_SIZE + M.SNAP_ROWS);
    return length === M.MD_HEADER_SIZE + M.BODY_SNAPSHOT + rows * row ? length : -1;
  }
  return length === M.MD_HEADER_SIZE + body ? length : -1;
}

/**
 * A streaming decoder for a TCP byte stream of messages. feed(chunk), then next() until it returns
 * 0 (need more) or -1 (framing error: the stream cannot resynchronise). On > 0 (the type),
 * `buf`/`at`/`length` name the message, valid until the next call.
 */
export class MessageStream {
  buf: Uint8Array = new Uint8Array(0);
  at = 0;
  length = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private readonly pending = new Uint8Array(M.MD_MAX_MESSAGE);
  private pendingLength = 0;
  failed = false;

  feed(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  next(): number {
    if (this.failed) return -1;
    if (this.pendingLength > 0) {
      // Complete the header (and a snapshot's fixed part, which holds its row count), then the message.
      if (!this.fill(M.MD_HEADER_SIZE)) return 0;
      const t = this.pending[M.MD_TYPE];
      if ((t === M.MDM_L2_SNAPSHOT || t === M.MDM_L3_SNAPSHOT) && readU32(this.pending, M.MD_LENGTH) >= M.MD_HEADER_SIZE + M.BODY_SNAPSHOT) {
        if (!this.fill(M.MD_HEADER_SIZE + M.BODY_SNAPSHOT)) return 0;
      }
      const length = messageLength(this.pending, 0, this.pendingLength);
      if (length < 0) return this.fail();
      if (!this.fill(length)) return 0;
      this.pendingLength = 0;
      return this.accept(this.pending, 0, length);
    }
    const b = this.chunk;
    const avail = b.length - this.pos;
    if (avail === 0) return 0;
    const length = messageLength(b, this.pos, avail);
    if (length < 0) return this.fail();
    if (length > 0 && avail >= length) {
      const at = this.pos;
      this.pos += length;
      return this.accept(b, at, length);
    }
    this.pending.set(b.subarray(this.pos), 0);
    this.pendingLength = avail;
    this.pos = b.length;
    return 0;
  }

  private fill(want: number): boolean {
    const n = Math.min(want - this.pendingLength, this.chunk.length - this.pos);
    if (n > 0) {
      this.pending.set(this.chunk.subarray(this.pos, this.pos + n), this.pendingLength);
      this.pendingLength += n;
      this.pos += n;
    }
    return this.pendingLength >= want;
  }

  private accept(b: Uint8Array, at: number, length: number): number {
    this.buf = b;
    this.at = at;
    this.length = length;
    return b[at + M.MD_TYPE];
  }

  private fail(): number {
    this.failed = true;
    this.pendingLength = 0;
    return -1;
  }
}

/** Writes a client request (SUBSCRIBE or SNAPSHOT_REQUEST) and returns its bytes. */
export function encodeSubscribe(symbol: number, channelMask: number): Uint8Array {
  const b = new Uint8Array(M.MD_HEADER_SIZE + M.BODY_SUBSCRIBE);
  writeHeader(b, 0, b.length, M.MDM_SUBSCRIBE, M.CH_CONTROL, 0, symbol, 0, 0, 0);
  writeU32(b, M.MD_HEADER_SIZE + M.SUB_CHANNELS, channelMask);
  return b;
}

export function encodeSnapshotRequest(symbol: number, what: number, id: number): Uint8Array {
  const b = new Uint8Array(M.MD_HEADER_SIZE + M.BODY_SNAPSHOT_REQUEST);
  writeHeader(b, 0, b.length, M.MDM_SNAPSHOT_REQUEST, M.CH_CONTROL, 0, symbol, 0, 0, 0);
  writeU32(b, M.MD_HEADER_SIZE + M.REQ_WHAT, what);
  writeU32(b, M.MD_HEADER_SIZE + M.REQ_ID, id);
  return b;
}

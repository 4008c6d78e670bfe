// Plain-object views of the binary command and event records, and their codecs.
// Offsets come from assembly/layout.ts (the one source of truth); this file only names fields.
// These codecs allocate: they serve the object API, tests and tools, never the hot batch path.
import * as L from '../assembly/layout.js';

/** A command, field by field as it sits in its 64-byte record. i64 fields are bigint. */
export interface RawCommand {
  type: number;
  side: number;
  orderType: number;
  tif: number;
  flags: number;
  stp: number;
  symbol: number;
  account: number;
  /** ADD_SYMBOL: tick size. */
  orderId: bigint;
  /** ADD_SYMBOL: lot size. */
  price: bigint;
  /** ADD_SYMBOL: band minimum. */
  quantity: bigint;
  /** ADD_SYMBOL: band maximum. */
  clientOrderId: bigint;
  seq: bigint;
  timestamp: bigint;
}

/** An event, field by field as it sits in its 64-byte record (see layout.ts for each type's use). */
export interface RawEvent {
  type: number;
  side: number;
  reason: number;
  cmdType: number;
  symbol: number;
  account: number;
  aux32: number;
  orderId: bigint;
  price: bigint;
  quantity: bigint;
  aux64: bigint;
  aux64b: bigint;
  seq: bigint;
}

export function emptyCommand(): RawCommand {
  return {
    type: 0, side: 0, orderType: 0, tif: 0, flags: 0, stp: 0, symbol: 0, account: 0,
    orderId: 0n, price: 0n, quantity: 0n, clientOrderId: 0n, seq: 0n, timestamp: 0n,
  };
}

export function writeCommand(view: DataView, at: number, c: RawCommand): void {
  view.setUint8(at + L.CMD_TYPE, c.type);
  view.setUint8(at + L.CMD_SIDE, c.side);
  view.setUint8(at + L.CMD_ORDER_TYPE, c.orderType);
  view.setUint8(at + L.CMD_TIF, c.tif);
  view.setUint8(at + L.CMD_FLAGS, c.flags);
  view.setUint8(at + L.CMD_STP, c.stp);
  view.setUint16(at + L.CMD_STP + 1, 0, true);
  view.setUint32(at + L.CMD_SYMBOL, c.symbol, true);
  view.setUint32(at + L.CMD_ACCOUNT, c.account, true);
  view.setBigInt64(at + L.CMD_ORDER_ID, c.orderId, true);
  view.setBigInt64(at + L.CMD_PRICE, c.price, true);
  view.setBigInt64(at + L.CMD_QUANTITY, c.quantity, true);
  view.setBigInt64(at + L.CMD_CLIENT_ID, c.clientOrderId, true);
  view.setBigInt64(at + L.CMD_SEQ, c.seq, true);
  view.setBigInt64(at + L.CMD_TIMESTAMP, c.timestamp, true);
}

export function readCommand(view: DataView, at: number): RawCommand {
  return {
    type: view.getUint8(at + L.CMD_TYPE),
    side: view.getUint8(at + L.CMD_SIDE),
    orderType: view.getUint8(at + L.CMD_ORDER_TYPE),
    tif: view.getUint8(at + L.CMD_TIF),
    flags: view.getUint8(at + L.CMD_FLAGS),
    stp: view.getUint8(at + L.CMD_STP),
    symbol: view.getUint32(at + L.CMD_SYMBOL, true),
    account: view.getUint32(at + L.CMD_ACCOUNT, true),
    orderId: view.getBigInt64(at + L.CMD_ORDER_ID, true),
    price: view.getBigInt64(at + L.CMD_PRICE, true),
    quantity: view.getBigInt64(at + L.CMD_QUANTITY, true),
    clientOrderId: view.getBigInt64(at + L.CMD_CLIENT_ID, true),
    seq: view.getBigInt64(at + L.CMD_SEQ, true),
    timestamp: view.getBigInt64(at + L.CMD_TIMESTAMP, true),
  };
}

export function readEvent(view: DataView, at: number): RawEvent {
  return {
    type: view.getUint8(at + L.EVT_TYPE),
    side: view.getUint8(at + L.EVT_SIDE),
    reason: view.getUint8(at + L.EVT_REASON),
    cmdType: view.getUint8(at + L.EVT_CMD_TYPE),
    symbol: view.getUint32(at + L.EVT_SYMBOL, true),
    account: view.getUint32(at + L.EVT_ACCOUNT, true),
    aux32: view.getUint32(at + L.EVT_AUX32, true),
    orderId: view.getBigInt64(at + L.EVT_ORDER_ID, true),
    price: view.getBigInt64(at + L.EVT_PRICE, true),
    quantity: view.getBigInt64(at + L.EVT_QUANTITY, true),
    aux64: view.getBigInt64(at + L.EVT_AUX64, true),
    aux64b: view.getBigInt64(at + L.EVT_AUX64B, true),
    seq: view.getBigInt64(at + L.EVT_SEQ, true),
  };
}

/** An event with every field zero: reference models fill in what each event type defines. */
export function emptyEvent(): RawEvent {
  return {
    type: 0, side: 0, reason: 0, cmdType: 0, symbol: 0, account: 0, aux32: 0,
    orderId: 0n, price: 0n, quantity: 0n, aux64: 0n, aux64b: 0n, seq: 0n,
  };
}

// The core's query rows (assembly/layout.ts QUEUE_* and ORDER_*) as the library's objects: one
// reader for the Engine's queries and the LiveBookReader's, which read the same rows.
import * as L from '../assembly/layout.js';
import { STP_MODES, SIDE_NAMES, type SelfTradePrevention, type Side } from './codes.js';
import { fromI64, type Int } from './int.js';

export interface QueuedOrder { orderId: Int; quantity: Int; account: number; clientOrderId: Int; postOnly: boolean; stp: SelfTradePrevention }
export interface OrderInfo { orderId: Int; symbol: number; side: Side; price: Int; quantity: Int; account: number; clientOrderId: Int; handle: bigint }

const STP_NAMES = Object.keys(STP_MODES) as SelfTradePrevention[];

/** One L3 queue row at `at`. */
export function readQueueRow(view: DataView, at: number, bigint: boolean): QueuedOrder {
  return {
    orderId: fromI64(view.getBigInt64(at + L.QUEUE_ORDER_ID, true), bigint),
    quantity: fromI64(view.getBigInt64(at + L.QUEUE_REMAINING, true), bigint),
    account: view.getUint32(at + L.QUEUE_ACCOUNT, true),
    clientOrderId: fromI64(view.getBigInt64(at + L.QUEUE_CLIENT_ID, true), bigint),
    postOnly: (view.getUint8(at + L.QUEUE_FLAGS) & L.FLAG_POST_ONLY) !== 0,
    stp: STP_NAMES[view.getUint8(at + L.QUEUE_STP)],
  };
}

/** One order row at `at`. */
export function readOrderRow(view: DataView, at: number, bigint: boolean): OrderInfo {
  return {
    orderId: fromI64(view.getBigInt64(at + L.ORDER_ID, true), bigint),
    symbol: view.getUint32(at + L.ORDER_SYMBOL, true),
    side: SIDE_NAMES[view.getUint8(at + L.ORDER_SIDE)],
    price: fromI64(view.getBigInt64(at + L.ORDER_PRICE, true), bigint),
    quantity: fromI64(view.getBigInt64(at + L.ORDER_REMAINING, true), bigint),
    account: view.getUint32(at + L.ORDER_ACCOUNT, true),
    clientOrderId: fromI64(view.getBigInt64(at + L.ORDER_CLIENT_ID, true), bigint),
    handle: view.getBigUint64(at + L.ORDER_HANDLE, true),
  };
}

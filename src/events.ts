// The object API's events: one plain object per event record, with names instead of codes.
import * as L from '../assembly/layout.js';
import { RawEvent } from './records.js';
import {
  Side, CommandName, RejectReason, CancelReason, SymbolStatus,
  SIDE_NAMES, COMMAND_NAMES, REJECT_NAMES, CANCEL_NAMES, STATUS_NAMES,
} from './codes.js';
import { Int, fromI64 } from './int.js';

interface Base { seq: Int; command: CommandName; symbol: number }
export interface AcceptedEvent extends Base { type: 'accepted'; orderId: Int; side: Side; price: Int; quantity: Int; account: number; clientOrderId: Int }
export interface RejectedEvent extends Base { type: 'rejected'; reason: RejectReason; orderId: Int; account: number; clientOrderId: Int }
export interface TradeEvent extends Base { type: 'trade'; tradeId: Int; makerId: Int; takerId: Int; price: Int; quantity: Int; aggressor: Side; makerAccount: number; takerAccount: number }
export interface CancelledEvent extends Base { type: 'cancelled'; reason: CancelReason; orderId: Int; side: Side; price: Int; quantity: Int; leaves: Int; account: number; clientOrderId: Int }
export interface ModifiedEvent extends Base { type: 'modified'; orderId: Int; side: Side; price: Int; quantity: Int; account: number; clientOrderId: Int }
export interface LevelEvent extends Base { type: 'level'; side: Side; price: Int; quantity: Int; orders: number }
export interface SymbolStatusEvent extends Base { type: 'symbol-status'; status: SymbolStatus }
export type EngineEvent = AcceptedEvent | RejectedEvent | TradeEvent | CancelledEvent | ModifiedEvent | LevelEvent | SymbolStatusEvent;

export function toEngineEvent(e: RawEvent, asBigint: boolean): EngineEvent {
  const n = (v: bigint) => fromI64(v, asBigint);
  const base: Base = { seq: n(e.seq), command: COMMAND_NAMES[e.cmdType], symbol: e.symbol };
  switch (e.type) {
    case L.EV_ACCEPTED:
      return { type: 'accepted', ...base, orderId: n(e.orderId), side: SIDE_NAMES[e.side], price: n(e.price), quantity: n(e.quantity), account: e.account, clientOrderId: n(e.aux64b) };
    case L.EV_REJECTED:
      return { type: 'rejected', ...base, reason: REJECT_NAMES[e.reason], orderId: n(e.orderId), account: e.account, clientOrderId: n(e.aux64b) };
    case L.EV_TRADE:
      return { type: 'trade', ...base, tradeId: n(e.aux64b), makerId: n(e.orderId), takerId: n(e.aux64), price: n(e.price), quantity: n(e.quantity), aggressor: SIDE_NAMES[e.side], makerAccount: e.account, takerAccount: e.aux32 };
    case L.EV_CANCELLED:
      return { type: 'cancelled', ...base, reason: CANCEL_NAMES[e.reason], orderId: n(e.orderId), side: SIDE_NAMES[e.side], price: n(e.price), quantity: n(e.quantity), leaves: n(e.aux64), account: e.account, clientOrderId: n(e.aux64b) };
    case L.EV_MODIFIED:
      return { type: 'modified', ...base, orderId: n(e.orderId), side: SIDE_NAMES[e.side], price: n(e.price), quantity: n(e.quantity), account: e.account, clientOrderId: n(e.aux64b) };
    case L.EV_LEVEL:
      return { type: 'level', ...base, side: SIDE_NAMES[e.side], price: n(e.price), quantity: n(e.quantity), orders: e.aux32 };
    case L.EV_SYMBOL_STATUS:
      return { type: 'symbol-status', ...base, status: STATUS_NAMES[e.reason] };
    default:
      throw new Error(`clob: the core wrote an event of unknown type ${e.type}`);
  }
}

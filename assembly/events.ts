// The event writer: appends 64-byte event records to the output region of the current batch.
// Every event carries the type and seq of the command being processed.
import {
  EVT_SIZE, EVT_TYPE, EVT_SIDE, EVT_REASON, EVT_CMD_TYPE, EVT_SYMBOL, EVT_ACCOUNT, EVT_AUX32,
  EVT_ORDER_ID, EVT_PRICE, EVT_QUANTITY, EVT_AUX64, EVT_AUX64B, EVT_SEQ,
  CMD_TYPE, CMD_SEQ,
  EV_ACCEPTED, EV_REJECTED, EV_TRADE, EV_CANCELLED, EV_MODIFIED, EV_LEVEL, EV_SYMBOL_STATUS,
} from './layout';

let out: usize = 0; // next event record
let cmdType: u8 = 0;
let cmdSeq: i64 = 0;

export function startOutput(at: usize): void {
  out = at;
}
@inline export function outputAt(): usize {
  return out;
}
export function startCommand(cmd: usize): void {
  cmdType = load<u8>(cmd, CMD_TYPE);
  cmdSeq = load<i64>(cmd, CMD_SEQ);
}

@inline function emit(type: i32, side: u8, reason: i32, symbol: u32, account: u32, aux32: u32,
  orderId: i64, price: i64, quantity: i64, aux64: i64, aux64b: i64): void {
  const e = out;
  store<u8>(e, <u8>type, EVT_TYPE);
  store<u8>(e, side, EVT_SIDE);
  store<u8>(e, <u8>reason, EVT_REASON);
  store<u8>(e, cmdType, EVT_CMD_TYPE);
  store<u32>(e, symbol, EVT_SYMBOL);
  store<u32>(e, account, EVT_ACCOUNT);
  store<u32>(e, aux32, EVT_AUX32);
  store<i64>(e, orderId, EVT_ORDER_ID);
  store<i64>(e, price, EVT_PRICE);
  store<i64>(e, quantity, EVT_QUANTITY);
  store<i64>(e, aux64, EVT_AUX64);
  store<i64>(e, aux64b, EVT_AUX64B);
  store<i64>(e, cmdSeq, EVT_SEQ);
  out = e + EVT_SIZE;
}

export function emitAccepted(side: u8, symbol: u32, account: u32, orderId: i64, price: i64, qty: i64, clientId: i64): void {
  emit(EV_ACCEPTED, side, 0, symbol, account, 0, orderId, price, qty, qty, clientId);
}

export function emitRejected(reason: i32, symbol: u32, account: u32, orderId: i64, clientId: i64): void {
  emit(EV_REJECTED, 0, reason, symbol, account, 0, orderId, 0, 0, 0, clientId);
}

export function emitTrade(aggressor: u8, symbol: u32, makerAccount: u32, takerAccount: u32,
  makerId: i64, price: i64, qty: i64, takerId: i64, tradeId: i64): void {
  emit(EV_TRADE, aggressor, 0, symbol, makerAccount, takerAccount, makerId, price, qty, takerId, tradeId);
}

export function emitCancelled(reason: i32, side: u8, symbol: u32, account: u32, orderId: i64,
  price: i64, cancelled: i64, leaves: i64, clientId: i64): void {
  emit(EV_CANCELLED, side, reason, symbol, account, 0, orderId, price, cancelled, leaves, clientId);
}

export function emitModified(side: u8, symbol: u32, account: u32, orderId: i64, price: i64, qty: i64, clientId: i64): void {
  emit(EV_MODIFIED, side, 0, symbol, account, 0, orderId, price, qty, qty, clientId);
}

export function emitLevel(side: u8, symbol: u32, price: i64, total: i64, count: u32): void {
  emit(EV_LEVEL, side, 0, symbol, 0, count, 0, price, total, 0, 0);
}

export function emitSymbolStatus(symbol: u32, status: i32): void {
  emit(EV_SYMBOL_STATUS, 0, status, symbol, 0, 0, 0, 0, 0, 0, 0);
}

// Names for the core's numeric codes (codes themselves live in assembly/layout.ts).
import * as L from '../assembly/layout.js';

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
export type TimeInForce = 'gtc' | 'ioc' | 'fok';
export type SelfTradePrevention = 'none' | 'cancel-newest' | 'cancel-oldest' | 'cancel-both' | 'decrement';
export type CommandName = 'new' | 'cancel' | 'modify' | 'mass-cancel' | 'add-symbol' | 'halt' | 'resume';
export type RejectReason =
  | 'malformed' | 'invalid-order-id' | 'unknown-symbol' | 'symbol-halted' | 'invalid-tif'
  | 'invalid-quantity' | 'quantity-too-large' | 'price-out-of-band' | 'price-off-tick'
  | 'duplicate-order-id' | 'unknown-order' | 'not-owner' | 'post-only-would-cross'
  | 'order-capacity' | 'symbol-capacity' | 'duplicate-symbol' | 'invalid-symbol-config';
export type CancelReason = 'request' | 'ioc' | 'fok' | 'self-trade' | 'mass-cancel' | 'halt';
export type SymbolStatus = 'active' | 'halted';

export const SIDES: Record<Side, number> = { buy: L.SIDE_BUY, sell: L.SIDE_SELL };
export const ORDER_TYPES: Record<OrderType, number> = { limit: L.ORDER_LIMIT, market: L.ORDER_MARKET };
export const TIFS: Record<TimeInForce, number> = { gtc: L.TIF_GTC, ioc: L.TIF_IOC, fok: L.TIF_FOK };
export const STP_MODES: Record<SelfTradePrevention, number> = {
  'none': L.STP_NONE, 'cancel-newest': L.STP_CANCEL_NEWEST, 'cancel-oldest': L.STP_CANCEL_OLDEST,
  'cancel-both': L.STP_CANCEL_BOTH, 'decrement': L.STP_DECREMENT,
};
export const COMMANDS: Record<CommandName, number> = {
  'new': L.CMD_NEW, 'cancel': L.CMD_CANCEL, 'modify': L.CMD_MODIFY, 'mass-cancel': L.CMD_MASS_CANCEL,
  'add-symbol': L.CMD_ADD_SYMBOL, 'halt': L.CMD_HALT, 'resume': L.CMD_RESUME,
};
export const REJECT_REASONS: Record<RejectReason, number> = {
  'malformed': L.REJ_MALFORMED, 'invalid-order-id': L.REJ_INVALID_ORDER_ID, 'unknown-symbol': L.REJ_UNKNOWN_SYMBOL,
  'symbol-halted': L.REJ_SYMBOL_HALTED, 'invalid-tif': L.REJ_INVALID_TIF, 'invalid-quantity': L.REJ_INVALID_QUANTITY,
  'quantity-too-large': L.REJ_QUANTITY_TOO_LARGE, 'price-out-of-band': L.REJ_PRICE_OUT_OF_BAND,
  'price-off-tick': L.REJ_PRICE_OFF_TICK, 'duplicate-order-id': L.REJ_DUPLICATE_ORDER_ID,
  'unknown-order': L.REJ_UNKNOWN_ORDER, 'not-owner': L.REJ_NOT_OWNER,
  'post-only-would-cross': L.REJ_POST_ONLY_WOULD_CROSS, 'order-capacity': L.REJ_ORDER_CAPACITY,
  'symbol-capacity': L.REJ_SYMBOL_CAPACITY, 'duplicate-symbol': L.REJ_DUPLICATE_SYMBOL,
  'invalid-symbol-config': L.REJ_INVALID_SYMBOL_CONFIG,
};
export const CANCEL_REASONS: Record<CancelReason, number> = {
  'request': L.CXL_REQUEST, 'ioc': L.CXL_IOC, 'fok': L.CXL_FOK, 'self-trade': L.CXL_SELF_TRADE,
  'mass-cancel': L.CXL_MASS_CANCEL, 'halt': L.CXL_HALT,
};
export const SYMBOL_STATUSES: Record<SymbolStatus, number> = { active: L.STATUS_ACTIVE, halted: L.STATUS_HALTED };

/** Inverts a name->code table into a code->name array. */
function byCode<N extends string>(table: Record<N, number>): N[] {
  const out: N[] = [];
  for (const name of Object.keys(table) as N[]) out[table[name]] = name;
  return out;
}
export const SIDE_NAMES = byCode(SIDES);
export const COMMAND_NAMES = byCode(COMMANDS);
export const REJECT_NAMES = byCode(REJECT_REASONS);
export const CANCEL_NAMES = byCode(CANCEL_REASONS);
export const STATUS_NAMES = byCode(SYMBOL_STATUSES);

/** Looks a user-given name up in a table, or throws a TypeError naming the field and the choices. */
export function codeOf<N extends string>(table: Record<N, number>, value: unknown, field: string): number {
  if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(table, value)) return table[value as N];
  const choices = Object.keys(table).map((k) => `'${k}'`).join(', ');
  throw new TypeError(`${field} must be one of ${choices}; got ${JSON.stringify(value)}`);
}

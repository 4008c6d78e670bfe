// Client order ids that make live-book rows checkable on their own, for the live-book stress test.
// The matcher stores the client id a new or modify command carries, so the test sets it to
//   high 23 bits: a hash of the order's id, account, price, symbol and that quantity;
//   low 41 bits:  that quantity (up to MAX_ORDER_QUANTITY, 2^40).
// A reader row whose client id fails the hash mixes fields of different writes (torn, or a reused
// slot); one whose remaining exceeds the quantity in its client id was never written together.
const QTY_BITS = 41n;
const QTY_MASK = (1n << QTY_BITS) - 1n;
const MASK64 = (1n << 64n) - 1n;

function hash(orderId: bigint, account: number, price: bigint, symbol: number, quantity: bigint): bigint {
  return ((orderId * 0x9e3779b97f4a7c15n) ^ (price * 0xc2b2ae3d27d4eb4fn) ^ (quantity * 0x165667b19e3779f9n) ^ BigInt(account * 65536 + symbol)) & MASK64;
}

/** The client id for a command (quantities of bad commands, which never rest, are cut to 41 bits). */
export function clientChecksum(orderId: bigint, account: number, price: bigint, symbol: number, quantity: bigint): bigint {
  const q = quantity & QTY_MASK;
  return BigInt.asIntN(64, ((hash(orderId, account, price, symbol, q) >> QTY_BITS) << QTY_BITS) | q);
}

/** The quantity a client id carries: a resting order's remaining is never more. */
export function quantityOf(client: bigint): bigint {
  return client & QTY_MASK;
}

/** Whether a row's client id is the checksum of the row's other fields. */
export function checksumOk(client: bigint, orderId: bigint, account: number, price: bigint, symbol: number): boolean {
  return client === clientChecksum(orderId, account, price, symbol, quantityOf(client));
}

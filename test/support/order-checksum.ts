// A client order id that is a checksum of the order's other fields (id, account, price, symbol),
// for the live-book stress test: the matcher stores what the command says, and a reader thread
// that finds a row whose client id does not match its other fields read a torn or reused slot.
const MASK64 = (1n << 64n) - 1n;

export function clientChecksum(orderId: bigint, account: number, price: bigint, symbol: number): bigint {
  const h = ((orderId * 0x9e3779b97f4a7c15n) ^ (price * 0xc2b2ae3d27d4eb4fn) ^ BigInt(account * 65536 + symbol)) & MASK64;
  return BigInt.asIntN(64, h);
}

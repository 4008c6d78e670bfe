// Integers at the API edge: JS numbers that are safe integers, or bigints within i64/u32.
// A bad value throws a TypeError or RangeError that names the field.

/** A price, quantity or id: a safe-integer number or a bigint. */
export type Int = number | bigint;

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export function toI64(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') {
    if (value < I64_MIN || value > I64_MAX) throw new RangeError(`${field} is outside the signed 64-bit range: ${value}`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`${field} must be an integer; got ${value}`);
    if (!Number.isSafeInteger(value)) throw new RangeError(`${field} is not a safe integer (${value}); pass it as a bigint`);
    return BigInt(value);
  }
  throw new TypeError(`${field} must be an integer number or a bigint; got ${value === null ? 'null' : typeof value}`);
}

export function toU32(value: unknown, field: string): number {
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${field} must be an integer; got ${String(value)}`);
  if (value < 0 || value > 0xffffffff) throw new RangeError(`${field} must be between 0 and 4294967295; got ${value}`);
  return value;
}

/** A bigint read back from the core, as a number when that is exact (unless bigints were asked for). */
export function fromI64(value: bigint, asBigint: boolean): Int {
  if (asBigint) return value;
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

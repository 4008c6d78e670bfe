// Option-value parsers for the `clob` command line (commander). A bad value throws commander's
// InvalidArgumentError, which commander reports as "error: option '--count <n>' argument '12x'
// is invalid. --count must be ..." and exits 1.
import { InvalidArgumentError } from 'commander';

/** "250000", "250_000", "250k", "1.5M" -> a number (k = 1e3, M = 1e6); NaN if it is not one. */
export function parseAmount(text: string): number {
  const m = /^\s*(-?[0-9][0-9_]*(?:\.[0-9]+)?)\s*([kKmM]?)\s*$/.exec(text);
  if (!m) return NaN;
  const n = Number(m[1].replace(/_/g, ''));
  const unit = m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1;
  return n * unit;
}

/** An integer in [min, max]; underscores and k/M suffixes allowed (2_000_000, 2M). */
export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = parseAmount(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (k and M suffixes allowed); got '${value}'.`);
    return n;
  };
}

/** A finite number in [min, max]. */
export function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = parseAmount(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}; got '${value}'.`);
    return n;
  };
}

/** One of a fixed set of names. */
export function choice<T extends string>(name: string, values: readonly T[]) {
  return (value: string): T => {
    if (!values.includes(value as T)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}; got '${value}'.`);
    return value as T;
  };
}

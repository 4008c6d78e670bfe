// HDR histogram export: percentile points for plots (bench/hdr-plot.ts draws them) and the
// histogram's standard compressed base64 encoding for JSON results (decode it with
// hdr-histogram-js `decodeFromCompressedBase64`, or any HdrHistogram port, to re-plot or merge).
//
// Points follow HdrHistogram's percentile ladder: `ticksPerHalfDistance` points between 0% and
// 50%, as many again between 50% and 75%, 75% and 87.5%, ... until the tail holds fewer than one
// recorded value, then a last point at exactly 100% (the maximum). Percentiles strictly increase,
// values never decrease (getValueAtPercentile is monotonic), and the last point is at 100.
import { encodeIntoCompressedBase64, decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';

export interface PercentilePoint {
  /** 0 .. 100 */
  percentile: number;
  /** The histogram's value at that percentile (its unit: nanoseconds in clob's benches). */
  valueNs: number;
}

/** The minimal histogram surface this module reads (a hdr-histogram-js Histogram fits). */
export interface PercentileSource {
  readonly totalCount: number;
  readonly maxValue: number;
  getValueAtPercentile(percentile: number): number;
}

/** Percentile points for a plot; an empty histogram gives []. */
export function percentilePoints(h: PercentileSource, ticksPerHalfDistance = 5): PercentilePoint[] {
  if (!Number.isInteger(ticksPerHalfDistance) || ticksPerHalfDistance < 1) {
    throw new RangeError(`ticksPerHalfDistance must be a positive integer; got ${ticksPerHalfDistance}`);
  }
  const total = h.totalCount;
  if (total <= 0) return [];
  const out: PercentilePoint[] = [];
  // The tail 1 - p/100 halves every ticksPerHalfDistance steps; stop once it holds < 1 value.
  for (let i = 0; ; i++) {
    const tail = Math.pow(0.5, i / ticksPerHalfDistance);
    if (tail * total < 1 || i > 64 * ticksPerHalfDistance) break;
    const percentile = 100 * (1 - tail);
    if (percentile >= 100) break;
    out.push({ percentile, valueNs: h.getValueAtPercentile(percentile) });
  }
  out.push({ percentile: 100, valueNs: h.maxValue });
  // Guard the promise that values never decrease (max is exact; percentile values are bucket
  // equivalents and could exceed it by less than the histogram's resolution).
  for (let k = out.length - 2; k >= 0; k--) if (out[k].valueNs > out[k + 1].valueNs) out[k].valueNs = out[k + 1].valueNs;
  return out;
}

/** The histogram as HdrHistogram's compressed base64 (V2 encoding, deflated), for JSON. */
export function toCompressedBase64(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}

/** The inverse of toCompressedBase64 (a JS histogram; destroy() it if it is a Wasm one). */
export function fromCompressedBase64(base64: string): Histogram {
  return decodeFromCompressedBase64(base64);
}

/** A summary row: the percentiles clob's tables print. */
export const TABLE_PERCENTILES = [50, 90, 99, 99.9, 99.99] as const;

export interface PercentileRow { p50: number; p90: number; p99: number; p999: number; p9999: number; max: number; count: number }

export function percentileRow(h: PercentileSource): PercentileRow {
  const v = TABLE_PERCENTILES.map((p) => h.getValueAtPercentile(p));
  const max = h.maxValue;
  // same guard as above: no percentile above the exact max
  const c = (x: number) => Math.min(x, max);
  return { p50: c(v[0]), p90: c(v[1]), p99: c(v[2]), p999: c(v[3]), p9999: c(v[4]), max, count: h.totalCount };
}

/** 850ns, 12.3µs, 4.56ms, 1.20s: three significant digits, like the histogram. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns < 1000) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)}ms`;
  return `${(ns / 1e9).toPrecision(3)}s`;
}

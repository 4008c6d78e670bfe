// Many symbols with Pareto-skewed activity, each running a smaller core-mix flow.
//
// Layout of the returned array (exactly `count` commands, seq = 1..count):
//   [0 .. symbols)                  ADD_SYMBOL for symbols 1..symbols (ascending)
//   [symbols .. setup)              warm-up: each symbol's passive orders up to its resting target
//   [setup .. count)                the mix: each command picks a symbol by activity weight, then
//                                   that symbol's CoreFlow makes one core-mix command
// (multiSymbolSetupLength gives `setup`). Activity weights are Pareto(alpha 1.16: "80/20") draws;
// a symbol's resting target is its weight share of restingPerSymbol * symbols, at least 2.
// Symbol configurations vary: tick 1/5/10/25, lot 1/10/100, center 2000..20000 ticks, band
// center +/- halfWidthTicks (default 1000, so the engine's ladder needs symbols * 2001 ticks).
// Order ids are global (1, 2, 3, ...), never reused.
import type { RawCommand } from '../../src/records.js';
import { SimpleBook } from '../peers/simple-book.js';
import { CoreFlow, type FlowShared } from './core-mix.js';
import { Emitter } from './emit.js';
import { Rng } from './rng.js';

export interface MultiSymbolOptions {
  seed: number;
  count: number;
  symbols?: number;
  /** Average resting orders per symbol (default 50). */
  restingPerSymbol?: number;
  /** Band half-width in ticks (default 1000). */
  halfWidthTicks?: number;
  /** Warm-up orders in total; defaults to the sum of the resting targets. */
  warmup?: number;
}

interface Plan {
  flows: CoreFlow[];
  cumulative: Float64Array; // cumulative activity weights, last = 1
  warmPer: number[]; //         warm-up orders per symbol
}

function plan(opts: MultiSymbolOptions, sh: FlowShared): Plan {
  const n = opts.symbols ?? 2000;
  const perSymbol = opts.restingPerSymbol ?? 50;
  const half = opts.halfWidthTicks ?? 1000;
  const rng = sh.rng;
  const weights = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i] = Math.min(rng.pareto(1, 1.16), 1e6);
  const cumulative = new Float64Array(n);
  let acc = 0;
  const flows: CoreFlow[] = [];
  let targets = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[i] / sum;
    cumulative[i] = acc;
    const tick = rng.pick([1, 5, 10, 25]);
    const lot = rng.pick([1, 10, 100]);
    const centerTicks = rng.int(2000, 20000);
    const restingTarget = Math.max(2, Math.round((perSymbol * n * weights[i]) / sum));
    targets += restingTarget;
    flows.push(new CoreFlow({
      symbol: i + 1, tick, lot, center: centerTicks * tick,
      bandMin: (centerTicks - half) * tick, bandMax: (centerTicks + half) * tick,
      restingTarget, depthTicks: 8,
    }, sh));
  }
  cumulative[n - 1] = 1;
  const warmup = opts.warmup ?? targets;
  const warmPer = flows.map((f) => Math.round((warmup * f.cfg.restingTarget) / targets));
  return { flows, cumulative, warmPer };
}

/** Number of setup commands (ADD_SYMBOLs + warm-up) at the start of a multi-symbol run. */
export function multiSymbolSetupLength(opts: MultiSymbolOptions): number {
  const p = plan(opts, { rng: new Rng(opts.seed), em: new Emitter(new SimpleBook()), book: new SimpleBook(), nextId: 1 });
  return Math.min(opts.count, p.flows.length + p.warmPer.reduce((a, b) => a + b, 0));
}

export function multiSymbol(opts: MultiSymbolOptions): RawCommand[] {
  const book = new SimpleBook();
  const em = new Emitter(book);
  const sh: FlowShared = { rng: new Rng(opts.seed), em, book, nextId: 1 };
  const { flows, cumulative, warmPer } = plan(opts, sh);
  const rng = sh.rng;
  const count = opts.count;
  for (let i = 0; i < flows.length && em.length < count; i++) flows[i].addSymbol();
  // warm-up: each symbol's share of the warm-up, symbol by symbol
  for (let i = 0; i < flows.length; i++) {
    for (let j = 0; j < warmPer[i] && em.length < count; j++) {
      em.now += rng.exp(1000);
      flows[i].warm();
    }
  }
  while (em.length < count) {
    em.now += rng.exp(1000);
    const u = rng.float();
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    flows[lo].step();
  }
  return em.out;
}

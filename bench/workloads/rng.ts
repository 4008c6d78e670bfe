// A small seeded PRNG for workload generation: sfc32 (Chris Doty-Humphrey's Small Fast Counting
// generator, 128-bit state, passes PractRand to 2^42+ bytes), seeded through splitmix32 so any
// integer seed (0 included) gives a well-mixed state. Deterministic across platforms: only 32-bit
// integer operations and IEEE double arithmetic (Math.log, Math.sqrt, Math.cos are not bit-exact
// across engines in theory, but V8 on every platform Node supports computes them with fdlibm ports;
// the workloads round every derived value to an integer anyway). Never Math.random.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const a = this.a, b = this.b, c = this.c, d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = ((c << 21) | (c >>> 11)) + t | 0;
    return t >>> 0;
  }

  /** Uniform double in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform double in (0, 1]: safe to take the log of. */
  floatOpen0(): number {
    return (this.u32() + 1) / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive (hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Exponential draw with the given mean (rate = 1 / mean). */
  exp(mean: number): number {
    return -Math.log(this.floatOpen0()) * mean;
  }

  /** Pareto (power law) draw: P(X > x) = (xm / x)^alpha for x >= xm. Mean xm*alpha/(alpha-1) for alpha > 1. */
  pareto(xm: number, alpha: number): number {
    return xm / Math.pow(this.floatOpen0(), 1 / alpha);
  }

  /** Normal draw (Marsaglia polar form of Box-Muller; the second value is cached). */
  normal(mean = 0, sd = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + sd * this.spare;
    }
    let u: number, v: number, s: number;
    do {
      u = this.float() * 2 - 1;
      v = this.float() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return mean + sd * u * m;
  }

  /** A uniformly chosen element. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)];
  }
}

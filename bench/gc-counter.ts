// Counts V8 garbage collections inside a measured window (perf_hooks 'gc' entries).
import { PerformanceObserver } from 'node:perf_hooks';
import type { Engine } from '../src/engine.js';
import type { EventReader } from '../src/batch.js';

export class GcCounter {
  private entries: { start: number; duration: number }[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.entries.push({ start: e.startTime, duration: e.duration });
  });

  start(): void {
    this.entries = [];
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops observing and returns the collections that began in [from, to] (performance.now() times). */
  async stop(from: number, to: number): Promise<{ count: number; totalMs: number }> {
    await new Promise((r) => setTimeout(r, 20)); // gc entries are delivered asynchronously
    this.observer.disconnect();
    const inside = this.entries.filter((e) => e.start >= from && e.start <= to);
    return { count: inside.length, totalMs: inside.reduce((s, e) => s + e.duration, 0) };
  }
}

/** Runs the commands staged in an engine under the clock, counting the GCs inside the window. */
export async function timedRun(engine: Engine, onEvents?: (events: EventReader) => void): Promise<{ seconds: number; gcs: number; gcMs: number }> {
  const gc = new GcCounter();
  gc.start();
  const from = performance.now();
  const t0 = process.hrtime.bigint();
  engine.run(onEvents);
  const t1 = process.hrtime.bigint();
  const to = performance.now();
  const g = await gc.stop(from, to);
  return { seconds: Number(t1 - t0) / 1e9, gcs: g.count, gcMs: g.totalMs };
}

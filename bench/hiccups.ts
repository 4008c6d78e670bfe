// bench hiccups: a constant, moderate open-loop rate for a while (the driver of bench/latency.ts),
// then every stall: a run of consecutive commands whose latency (completion - planned send time)
// is above the threshold, with its time offset from the start, its worst latency, how many
// commands it delayed, and the V8 garbage collections (perf_hooks 'gc' entries: start, duration,
// kind) that overlap it, give or take a small window. A stall with no GC beside it is the OS (this
// thread descheduled: see the load average), the driver, or the engine itself.
//
//   clob bench hiccups [--rate 200000] [--seconds 10] [--threshold-us 50] [--seed 1] [--json f]
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import type { CoreBuild } from '../src/core.js';
import {
  BatchLog, type DriveResult, type Clock, forEachLatency, pickClock, calibrateSpinner, prepareWorkload,
  measureStep, hdrInit, newLatencyHistogram, recordLatencies,
} from './latency.js';
import { percentileRow, formatNs, type PercentileRow } from './hdr-export.js';
import { machineInfo, describeMachine, type MachineInfo } from './machine.js';

export interface GcEvent {
  /** Start, ms after the first planned send time (negative: before the run). */
  offsetMs: number;
  durationMs: number;
  /** 'minor' (scavenge), 'major' (mark-compact), 'incremental' (marking step), 'weakcb', or the raw code. */
  kind: string;
}

export interface Stall {
  /** Planned send time of the first delayed command, ms after the first planned send time. */
  offsetMs: number;
  /** Completion of the last delayed command, ms after the first planned send time. */
  endOffsetMs: number;
  /** The worst latency in the stall (its first command's, normally). */
  worstNs: number;
  firstCommand: number;
  commands: number;
  /** GCs overlapping [offsetMs - window, endOffsetMs + window]. */
  gcs: GcEvent[];
}

/** Runs of consecutive commands with latency above thresholdNs. */
export function detectStalls(log: BatchLog, drive: DriveResult, thresholdNs: number): Stall[] {
  const out: Stall[] = [];
  let cur: Stall | undefined;
  forEachLatency(log, drive, (j, ns) => {
    if (ns > thresholdNs) {
      const completion = drive.t0 + j * drive.intervalNs + ns;
      if (!cur) {
        cur = { offsetMs: (j * drive.intervalNs) / 1e6, endOffsetMs: 0, worstNs: ns, firstCommand: j, commands: 0, gcs: [] };
        out.push(cur);
      }
      cur.commands++;
      if (ns > cur.worstNs) cur.worstNs = ns;
      cur.endOffsetMs = (completion - drive.t0) / 1e6;
    } else {
      cur = undefined;
    }
  });
  return out;
}

/** Attaches to each stall the GCs overlapping it within windowMs either side (both on the same ms timeline). */
export function matchGcs(stalls: Stall[], gcs: GcEvent[], windowMs: number): void {
  for (const s of stalls) {
    s.gcs = gcs.filter((g) => g.offsetMs <= s.endOffsetMs + windowMs && g.offsetMs + g.durationMs >= s.offsetMs - windowMs);
  }
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Collects perf_hooks 'gc' entries (performance.now() ms timeline). */
export class GcLog {
  readonly entries: { startMs: number; durationMs: number; kind: string }[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const code = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? (e as unknown as { kind?: number }).kind ?? -1;
      this.entries.push({ startMs: e.startTime, durationMs: e.duration, kind: GC_KINDS[code] ?? String(code) });
    }
  });
  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }
  async stop(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20)); // entries arrive asynchronously
    this.observer.disconnect();
  }
  /** The entries as offsets from a driver's t0 (clock ns), given how that clock maps to performance.now(). */
  relativeTo(t0: number, clock: Pick<Clock, 'offsetNs'>): GcEvent[] {
    const t0Ms = (t0 - clock.offsetNs) / 1e6;
    return this.entries.map((e) => ({ offsetMs: e.startMs - t0Ms, durationMs: e.durationMs, kind: e.kind }));
  }
}

export interface HiccupOptions {
  rate: number;
  seconds: number;
  thresholdUs: number;
  seed: number;
  workload?: string;
  batch?: number;
  build?: CoreBuild;
  /** GCs within this many µs of a stall count as coinciding (default 200). */
  windowUs?: number;
  json?: string;
  /** Stalls printed at most (all are in the report; default 60). */
  maxList?: number;
  print?: boolean;
}

export interface HiccupReport {
  bench: 'hiccups';
  workload: string;
  build: CoreBuild;
  rate: number;
  commands: number;
  seconds: number;
  thresholdUs: number;
  windowUs: number;
  clock: string;
  machine: MachineInfo;
  loadAverageEnd: number[];
  latency: PercentileRow;
  gcsInRun: GcEvent[];
  stalls: Stall[];
  stallsWithGc: number;
  /** Total time of the stalls (sum of end - start), ms. */
  stalledMs: number;
}

export async function runHiccups(opts: HiccupOptions): Promise<HiccupReport> {
  const { rate, seconds, thresholdUs, seed } = opts;
  const workload = opts.workload ?? 'core-mix';
  const batch = opts.batch ?? 64;
  const build = opts.build ?? 'release';
  const windowUs = opts.windowUs ?? 200;
  const print = opts.print ?? true;
  const say = (s: string) => { if (print) console.log(s); };
  if (!(rate > 0) || !(seconds > 0) || !(thresholdUs > 0)) throw new RangeError('rate, seconds and thresholdUs must be positive');
  await hdrInit();
  const machine = machineInfo();
  say(`machine: ${describeMachine(machine)}`);
  const clock = pickClock('auto');
  const spinner = calibrateSpinner(clock.now);
  const commands = Math.round(rate * seconds);
  const prepared = prepareWorkload(workload, seed, commands, print);
  // JIT warm-up on a throwaway engine
  await measureStep(prepared, { build, rate, commands: Math.min(commands, Math.ceil(rate * 0.2)), batch, clock, spinner });

  const gcLog = new GcLog();
  gcLog.start();
  const m = await measureStep(prepared, { build, rate, commands, batch, clock, spinner });
  await gcLog.stop();
  const gcs = gcLog.relativeTo(m.drive.t0, clock);
  const runMs = (m.drive.end - m.drive.t0) / 1e6;
  const gcsInRun = gcs.filter((g) => g.offsetMs + g.durationMs >= 0 && g.offsetMs <= runMs);
  const stalls = detectStalls(m.log, m.drive, thresholdUs * 1000);
  matchGcs(stalls, gcsInRun, windowUs / 1000);
  const h = newLatencyHistogram();
  recordLatencies(m.log, m.drive, h);
  const latency = percentileRow(h);
  h.destroy();

  const stallsWithGc = stalls.filter((s) => s.gcs.length > 0).length;
  const stalledMs = stalls.reduce((a, s) => a + (s.endOffsetMs - s.offsetMs), 0);
  const maxList = opts.maxList ?? 60;
  say(`${workload}, ${build} build, ${rate} commands/s for ${runMs / 1000 > 0 ? (runMs / 1000).toFixed(2) : '?'} s (${commands} commands, batch <= ${batch}, clock ${clock.name})`);
  say(`latency p50 ${formatNs(latency.p50)}, p99 ${formatNs(latency.p99)}, p99.99 ${formatNs(latency.p9999)}, max ${formatNs(latency.max)}`);
  say(`${stalls.length} stalls above ${thresholdUs} µs (${stalledMs.toFixed(1)} ms in all); ${stallsWithGc} coincide with a GC (within ${windowUs} µs); GCs in the run: ${gcsInRun.length} (${gcsInRun.reduce((a, g) => a + g.durationMs, 0).toFixed(2)} ms)`);
  if (stalls.length > 0) {
    say(`   offset ms |    worst | commands | GCs overlapping (offset ms, duration, kind)`);
    for (const s of stalls.slice(0, maxList)) {
      const g = s.gcs.map((x) => `${x.offsetMs.toFixed(3)} ${x.durationMs.toFixed(3)}ms ${x.kind}`).join('; ');
      say(`${s.offsetMs.toFixed(3).padStart(12)} | ${formatNs(s.worstNs).padStart(8)} | ${String(s.commands).padStart(8)} | ${g || '-'}`);
    }
    if (stalls.length > maxList) say(`   ... ${stalls.length - maxList} more (all of them are in --json)`);
  }
  const gcsAlone = gcsInRun.filter((g) => !stalls.some((s) => s.gcs.includes(g)));
  if (gcsAlone.length > 0) say(`GCs that caused no stall above the threshold: ${gcsAlone.length} (longest ${Math.max(...gcsAlone.map((g) => g.durationMs)).toFixed(3)} ms)`);
  const end = machineInfo();
  say(`load average at end: ${end.loadAverage.join(' ')}`);
  const report: HiccupReport = {
    bench: 'hiccups', workload, build, rate, commands, seconds: runMs / 1000, thresholdUs, windowUs, clock: clock.name,
    machine, loadAverageEnd: end.loadAverage, latency, gcsInRun, stalls, stallsWithGc, stalledMs,
  };
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(report, null, 2));
    say(`wrote ${opts.json}`);
  }
  return report;
}

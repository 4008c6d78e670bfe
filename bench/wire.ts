// bench wire: the wire-latency floor beside clob's order-to-ack round trip, in ONE run (issue 5).
//
// Paths (bench/wire-paths.ts): the C echo floor (C client <-> C server, native/echo.cc), a node:net
// echo (node client <-> node:net server in a worker thread), and clob order-to-ack (node client ->
// `clob start` child process: gateway, journal, market data) for each I/O path x durability mode.
// Rounds interleave the paths (rotating which goes first) so machine noise hits all of them alike;
// each round runs every path in ping-pong mode, then every path open loop at --rate. Histograms
// (HDR, ns) merge the rounds; ratios are to the C floor of the same mode in the same run.
//
//   clob bench wire [--rounds 5] [--ping-pong 5000] [--rate 100000] [--seconds 1] [--io net] [--durability fsync,none] [--json f]
import { writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { initWebAssembly, build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { native, nativeLoadError } from '../src/native.js';
import { machineInfo, describeMachine, type MachineInfo } from './machine.js';
import { percentileRow, toCompressedBase64, type PercentileRow } from './hdr-export.js';
import { CEchoPath, ClobPath, NodeEchoPath, ECHO_MESSAGE_BYTES, type ClobServerSpec, type PathCheck, type WirePath } from './wire-paths.js';
import * as P from '../assembly/protocol-layout.js';

export interface WireOptions {
  /** Interleaved rounds. */
  rounds: number;
  /** Round trips per path per round, one outstanding (0: no ping-pong phase). */
  pingPong: number;
  /** Offered messages/s of the open-loop phase (0: no open-loop phase). */
  rate: number;
  /** Seconds of open loop per path per round. */
  seconds: number;
  /** Unrecorded round trips per path before the first round. */
  warmup: number;
  /** The clob servers to measure (io x durability). */
  clob: ClobServerSpec[];
  /** Where the servers' data directories are made (default the OS temp dir); the fsync cost depends on its file system. */
  dataRoot?: string;
  /** Omit the C floor even if the native helper loaded (tests of the fallback). */
  noFloor?: boolean;
  json?: string;
  /** The command line, for the report. */
  command?: string;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

export interface ModeResult {
  sent: number;
  returned: number;
  mismatched: number;
  rejected?: number;
  /** ns: ping-pong round trip, or open loop reply time - planned send time. */
  latency: PercentileRow;
  /** Open loop only: reply time - actual write time (the client's pacing lateness taken out). */
  fromSend?: PercentileRow;
  /** The median of each round on its own (spread between rounds = noise). */
  roundP50Ns: number[];
  /** p50 and p99 over the C floor's in the same mode; absent for the floor and without it. */
  ratioToFloor?: { p50: number; p99: number };
  /** HdrHistogram compressed base64 of `latency`. */
  histogram: string;
}

export interface PathResult {
  name: string;
  label: string;
  /** Bytes a request and its reply carry on the wire. */
  requestBytes: number;
  replyBytes: number;
  pingPong?: ModeResult;
  openLoop?: ModeResult;
}

export interface WireReport {
  command: string;
  machine: MachineInfo;
  options: Omit<WireOptions, 'say' | 'json' | 'command'>;
  dataRoot: { path: string; fileSystem: string };
  /** Why the C floor is missing (native helper not loaded), if it is. */
  floorMissing?: string;
  paths: PathResult[];
}

/** The file system type holding `path` (from /proc/mounts: the longest mount point that prefixes it). */
export function fileSystemOf(path: string): string {
  try {
    let best = { at: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, at, type] = line.split(' ');
      if (at && (path === at || path.startsWith(at.endsWith('/') ? at : `${at}/`)) && at.length >= best.at.length) best = { at, type };
    }
    return best.type;
  } catch {
    return 'unknown';
  }
}

const HIST = { useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 120e9, numberOfSignificantValueDigits: 3 } as const;

class ModeStats {
  readonly latency: Histogram = buildHistogram(HIST);
  readonly fromSend: Histogram = buildHistogram(HIST);
  readonly roundP50: number[] = [];
  sent = 0;
  returned = 0;
  mismatched = 0;
  rejected: number | undefined;

  add(check: PathCheck, out: Float64Array, fromSend: Float64Array | undefined): void {
    this.sent += check.sent;
    this.returned += check.returned;
    this.mismatched += check.mismatched;
    if (check.rejected !== undefined) this.rejected = (this.rejected ?? 0) + check.rejected;
    const n = Math.min(check.returned, out.length);
    for (let i = 0; i < n; i++) this.latency.recordValue(Math.max(1, Math.round(out[i])));
    if (fromSend) for (let i = 0; i < n; i++) this.fromSend.recordValue(Math.max(1, Math.round(fromSend[i])));
    const sorted = out.slice(0, n).sort();
    this.roundP50.push(n > 0 ? sorted[(n - 1) >> 1] : 0);
  }

  result(openLoop: boolean): ModeResult {
    return {
      sent: this.sent, returned: this.returned, mismatched: this.mismatched, ...(this.rejected !== undefined ? { rejected: this.rejected } : {}),
      latency: percentileRow(this.latency), ...(openLoop ? { fromSend: percentileRow(this.fromSend) } : {}),
      roundP50Ns: this.roundP50, histogram: toCompressedBase64(this.latency),
    };
  }

  destroy(): void {
    this.latency.destroy();
    this.fromSend.destroy();
  }
}

function checkOptions(o: WireOptions): void {
  const int = (v: number, min: number, name: string) => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`bench wire: ${name} must be an integer >= ${min}; got ${v}`);
  };
  int(o.rounds, 1, 'rounds');
  int(o.pingPong, 0, 'pingPong');
  int(o.warmup, 0, 'warmup');
  if (!(o.rate >= 0 && o.rate <= 1e7)) throw new RangeError(`bench wire: rate must be from 0 to 1e7 messages/s; got ${o.rate}`);
  if (!(o.seconds > 0 && o.seconds <= 3600)) throw new RangeError(`bench wire: seconds must be in (0, 3600]; got ${o.seconds}`);
  if (o.pingPong === 0 && o.rate === 0) throw new RangeError('bench wire: nothing to measure (pingPong and rate are both 0)');
  if (o.rate > 0 && Math.round(o.rate * o.seconds) < 1) throw new RangeError('bench wire: rate x seconds must be at least one message');
}

export async function runWire(options: WireOptions): Promise<WireReport> {
  checkOptions(options);
  const say = options.say ?? ((l: string) => process.stderr.write(`${l}\n`));
  await initWebAssembly();
  const dataRoot = resolve(options.dataRoot ?? os.tmpdir());
  const paths: WirePath[] = [];
  const stats = new Map<WirePath, { pingPong: ModeStats; openLoop: ModeStats }>();
  const floorMissing = options.noFloor ? 'omitted (noFloor)' : native ? undefined : nativeLoadError;
  try {
    if (!floorMissing) paths.push(CEchoPath.start(native!));
    else say(`bench wire: no C floor: ${floorMissing}`);
    paths.push(await NodeEchoPath.start());
    // The servers start in parallel (each is a process that compiles and recovers).
    const started = await Promise.allSettled(options.clob.map((spec) => ClobPath.start(spec, dataRoot)));
    for (const s of started) if (s.status === 'fulfilled') paths.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const p of paths) stats.set(p, { pingPong: new ModeStats(), openLoop: new ModeStats() });
    for (const p of paths) await p.warm(options.warmup);

    const openCount = Math.round(options.rate * options.seconds);
    const out = new Float64Array(Math.max(options.pingPong, openCount));
    const fromSend = new Float64Array(openCount);
    for (let round = 0; round < options.rounds; round++) {
      const order = paths.map((_, k) => paths[(k + round) % paths.length]); // a different path goes first each round
      if (options.pingPong > 0) {
        for (const p of order) {
          const o = out.subarray(0, options.pingPong);
          stats.get(p)!.pingPong.add(await p.pingPong(o), o, undefined);
        }
      }
      if (openCount > 0) {
        for (const p of order) {
          const o = out.subarray(0, openCount);
          stats.get(p)!.openLoop.add(await p.openLoop(o, fromSend, options.rate), o, fromSend);
        }
      }
      say(`bench wire: round ${round + 1}/${options.rounds} done`);
    }

    const results: PathResult[] = paths.map((p) => {
      const s = stats.get(p)!;
      const order = p instanceof ClobPath;
      return {
        name: p.name, label: p.label,
        requestBytes: order ? P.FRAME_HEADER_SIZE + P.BODY_COMMAND : ECHO_MESSAGE_BYTES,
        replyBytes: order ? P.FRAME_HEADER_SIZE + P.BODY_EXEC : ECHO_MESSAGE_BYTES,
        ...(options.pingPong > 0 ? { pingPong: s.pingPong.result(false) } : {}),
        ...(openCount > 0 ? { openLoop: s.openLoop.result(true) } : {}),
      };
    });
    const floor = results.find((r) => r.name === 'c-echo');
    if (floor) {
      for (const r of results) {
        if (r === floor) continue;
        for (const mode of ['pingPong', 'openLoop'] as const) {
          const a = r[mode];
          const f = floor[mode];
          if (a && f) a.ratioToFloor = { p50: a.latency.p50 / f.latency.p50, p99: a.latency.p99 / f.latency.p99 };
        }
      }
    }
    const { say: _s, json: _j, command: _c, ...reported } = options;
    const report: WireReport = {
      command: options.command ?? 'runWire()', machine: machineInfo(), options: reported,
      dataRoot: { path: dataRoot, fileSystem: fileSystemOf(dataRoot) }, ...(floorMissing ? { floorMissing } : {}), paths: results,
    };
    if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    for (const s of stats.values()) {
      s.pingPong.destroy();
      s.openLoop.destroy();
    }
    await Promise.allSettled(paths.map((p) => p.close()));
  }
}

const us = (ns: number) => (ns / 1000).toFixed(1);

/** The report as text: one table per mode, microseconds, ratios to the floor. */
export function formatWireReport(r: WireReport): string {
  const o = r.options;
  const lines = [
    `clob bench wire: loopback TCP round trips, ${o.rounds} round(s) interleaved (the first path rotates each round)`,
    `machine: ${describeMachine(r.machine)}`,
    `command: ${r.command}`,
    `clob servers: \`clob start\` child processes, defaults but port 0, data in ${r.dataRoot.path} (${r.dataRoot.fileSystem}); market data published; orders alternate buy/sell 1 lot at one price (every second one trades)`,
    `messages: echo ${ECHO_MESSAGE_BYTES} bytes each way; clob NEW ${P.FRAME_HEADER_SIZE + P.BODY_COMMAND} bytes -> ACCEPTED EXEC ${P.FRAME_HEADER_SIZE + P.BODY_EXEC} bytes (the ack; the TRADE that may follow is not waited for)`,
  ];
  if (r.floorMissing) lines.push(`NO C FLOOR: ${r.floorMissing}`);
  const head = ['p50', 'p90', 'p99', 'p99.9', 'max'];
  const table = (title: string, mode: 'pingPong' | 'openLoop') => {
    const rows = r.paths.filter((p) => p[mode]);
    if (rows.length === 0) return;
    lines.push('', title);
    lines.push(`${'path'.padEnd(34)}${'n'.padStart(9)}${head.map((h) => h.padStart(9)).join('')}${'p50/floor'.padStart(11)}${'p99/floor'.padStart(11)}  round p50s`);
    for (const p of rows) {
      const m = p[mode]!;
      const l = m.latency;
      const ratio = m.ratioToFloor ? `${m.ratioToFloor.p50.toFixed(2).padStart(11)}${m.ratioToFloor.p99.toFixed(2).padStart(11)}` : `${'-'.padStart(11)}${'-'.padStart(11)}`;
      const check = m.returned !== m.sent || m.mismatched > 0 || (m.rejected ?? 0) > 0 ? `  CHECK: ${m.returned}/${m.sent} returned, ${m.mismatched} mismatched${m.rejected ? `, ${m.rejected} rejected` : ''}` : '';
      lines.push(`${p.label.padEnd(34)}${String(l.count).padStart(9)}${[l.p50, l.p90, l.p99, l.p999, l.max].map((v) => us(v).padStart(9)).join('')}${ratio}  ${m.roundP50Ns.map(us).join(' ')}${check}`);
      if (m.fromSend) {
        const f = m.fromSend;
        lines.push(`${'  (from actual write)'.padEnd(34)}${''.padStart(9)}${[f.p50, f.p90, f.p99, f.p999, f.max].map((v) => us(v).padStart(9)).join('')}`);
      }
    }
  };
  table('ping-pong (one message outstanding): round trip, microseconds', 'pingPong');
  table(`open loop at ${o.rate} messages/s, ${o.seconds} s per path per round: reply time - PLANNED send time, microseconds`, 'openLoop');
  return lines.join('\n');
}

export async function runWireCommand(options: WireOptions): Promise<void> {
  const report = await runWire(options);
  console.log(formatWireReport(report));
  if (options.json) console.log(`\nwrote ${options.json}`);
}

// Recovery: the newest valid snapshot, then the journal's records after it, replayed through a
// fresh engine; and, when the journal still holds everything from its origin, a check that the
// recovered digest equals a full replay's. Also `replayJournal` for `clob replay <journal>`.
//
// Steps of recover(dir, engineOptions):
//   1. the last segment is checked and a torn tail truncated (never replayed);
//   2. the newest snapshot whose seq is within the journal and that loads cleanly (header, CRCs,
//      digest) is restored; damaged ones are passed over with a warning;
//   3. the journal from snapshot seq + 1 (or from its origin, on a fresh Engine(engineOptions))
//      is read, every record checked, and run through the engine;
//   4. with a snapshot and a journal that starts at its origin, a full replay from the origin is
//      run too and its digest must equal the recovered one (RecoveryMismatchError otherwise).
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { Engine, type EngineOptions } from '../engine.js';
import { JournalReader, inspectTail } from './reader.js';
import { loadNewestSnapshot } from './snapshots.js';
import type { TornTail } from './segment.js';

export interface RecoverOptions {
  /** Wasm build for the recovered engine (default: engineOptions.build, else 'release'). */
  build?: EngineOptions['build'];
  /** Check the recovered digest against a full replay when the journal covers it (default true). */
  verify?: boolean;
  /** Truncate a torn tail in place (default true; false only reports it). */
  truncateTail?: boolean;
  /** Warnings (damaged snapshots passed over, torn tail); default console.warn. */
  onWarning?: (message: string) => void;
}

export interface Recovered {
  engine: Engine;
  /** The last seq the engine has run (-1 if nothing: empty journal, no snapshot). */
  lastSeq: number;
  digest: bigint;
  /** Journal records replayed on top of the snapshot (or from the origin). */
  replayed: number;
  /** The snapshot restored, if any. */
  snapshot?: { path: string; seq: number };
  truncatedTail?: TornTail;
  /** 'full-replay' (checked against a full replay), 'no-snapshot' (it is a full replay), or why not checked. */
  verification: string;
  warnings: string[];
}

/** The recovered digest differs from a full replay's: a snapshot or the engine is not deterministic. */
export class RecoveryMismatchError extends Error {
  constructor(readonly recovered: bigint, readonly fullReplay: bigint, readonly snapshotSeq: number) {
    super(`recovery check failed: snapshot ${snapshotSeq} + journal gives digest ${hex(recovered)}, a full replay gives ${hex(fullReplay)}`);
    this.name = 'RecoveryMismatchError';
  }
}

export const hex = (d: bigint) => `0x${d.toString(16).padStart(16, '0')}`;

/** Feeds every chunk of a reader through the engine in runs of at most its batch capacity. */
function replayInto(engine: Engine, reader: JournalReader, timing?: { engineMs: number }): number {
  const cap = engine.commands.capacity;
  let n = 0;
  for (const chunk of reader.chunks()) {
    for (let k = 0; k < chunk.count; k += cap) {
      const m = Math.min(cap, chunk.count - k);
      const t0 = timing ? performance.now() : 0;
      engine.commands.append(chunk.records, k, m);
      engine.run();
      if (timing) timing.engineMs += performance.now() - t0;
      n += m;
    }
  }
  return n;
}

export async function recover(dataDir: string, engineOptions: EngineOptions, options: RecoverOptions = {}): Promise<Recovered> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (options.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const build = options.build ?? engineOptions.build;
  const tail = inspectTail(dataDir, existsSync(dataDir) && (options.truncateTail ?? true));
  if (tail.truncatedTail) {
    const t = tail.truncatedTail;
    warn(`journal torn tail ${t.repaired ? 'truncated' : 'found (not truncated)'}: ${t.file}: ${t.bytes} bytes from offset ${t.offset} (${t.reason})`);
  }
  const snap = existsSync(dataDir)
    ? loadNewestSnapshot(dataDir, { maxSeq: tail.segments.length > 0 ? tail.lastSeq : undefined, build, batchSize: engineOptions.batchSize, onWarning: warn })
    : undefined;
  let engine: Engine;
  let fromSeq: number | undefined;
  if (snap) {
    engine = snap.engine;
    fromSeq = snap.seq + 1;
    if (tail.segments.length > 0 && tail.firstSeq > fromSeq) {
      throw new Error(`journal in ${dataDir} starts at seq ${tail.firstSeq}, but the newest usable snapshot ends at seq ${snap.seq}: records ${fromSeq}..${tail.firstSeq - 1} are missing`);
    }
  } else {
    if (tail.segments.length > 0 && tail.firstSeq !== tail.originSeq) {
      throw new Error(`journal in ${dataDir} starts at seq ${tail.firstSeq} (its origin was ${tail.originSeq}) and no usable snapshot covers the records before it`);
    }
    engine = new Engine({ ...engineOptions, build });
  }
  let replayed = 0;
  let lastSeq = snap ? snap.seq : -1;
  if (tail.segments.length > 0 && (fromSeq === undefined || fromSeq <= tail.lastSeq)) {
    const reader = new JournalReader(dataDir, { fromSeq, truncateTail: options.truncateTail ?? true });
    replayed = replayInto(engine, reader);
    lastSeq = reader.summary.lastSeq;
  }
  const digest = engine.digest();
  let verification: string;
  if (!snap) verification = 'no-snapshot';
  else if (options.verify === false) verification = 'skipped: verify is false';
  else if (tail.segments.length === 0 || tail.firstSeq !== tail.originSeq) verification = `skipped: the journal no longer starts at its origin (seq ${tail.originSeq})`;
  else {
    const full = fullReplayDigest(dataDir, { ...engineOptions, build });
    if (full !== digest) throw new RecoveryMismatchError(digest, full, snap.seq);
    verification = 'full-replay';
  }
  return {
    engine, lastSeq, digest, replayed, snapshot: snap && { path: snap.path, seq: snap.seq },
    truncatedTail: tail.truncatedTail, verification, warnings,
  };
}

/**
 * The digest of a fresh Engine(engineOptions) after every record of the journal from its origin.
 * Throws if the journal no longer starts at its origin (old segments removed).
 */
export function fullReplayDigest(dataDir: string, engineOptions: EngineOptions): bigint {
  const reader = new JournalReader(dataDir);
  const engine = new Engine(engineOptions);
  replayInto(engine, reader);
  if (reader.summary.segments > 0 && reader.summary.firstSeq !== reader.summary.originSeq) {
    throw new Error(`journal in ${dataDir} starts at seq ${reader.summary.firstSeq}, not at its origin ${reader.summary.originSeq}: no full replay possible`);
  }
  return engine.digest();
}

export interface ReplayReport {
  path: string;
  build: string;
  segments: number;
  records: number;
  firstSeq: number;
  lastSeq: number;
  digest: string;
  /** Reading, checking and running, wall clock. */
  seconds: number;
  commandsPerSecond: number;
  /** The engine's share (append + run). */
  engineSeconds: number;
  engineCommandsPerSecond: number;
  /** A torn tail seen at the end (reported, not truncated: an offline replay changes nothing). */
  truncatedTail?: TornTail;
  /** The journal does not start at its origin: the digest is of a replay from its first record onto an empty engine. */
  partial: boolean;
}

/**
 * Re-runs a journal (a data directory or one segment file) offline through a fresh engine and
 * reports the digest, speed and seq range. Never modifies the files.
 */
export function replayJournal(path: string, options: { engineOptions: EngineOptions; build?: EngineOptions['build'] }): ReplayReport {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const build = options.build ?? options.engineOptions.build ?? 'release';
  const engine = new Engine({ ...options.engineOptions, build });
  const reader = new JournalReader(path, { truncateTail: false });
  const timing = { engineMs: 0 };
  const t0 = performance.now();
  const records = replayInto(engine, reader, timing);
  const seconds = (performance.now() - t0) / 1000;
  const s = reader.summary;
  return {
    path, build, segments: s.segments, records, firstSeq: records > 0 ? s.firstSeq : -1, lastSeq: s.lastSeq,
    digest: hex(engine.digest()), seconds, commandsPerSecond: records / seconds,
    engineSeconds: timing.engineMs / 1000, engineCommandsPerSecond: records / (timing.engineMs / 1000),
    truncatedTail: s.truncatedTail, partial: s.segments > 0 && s.firstSeq !== s.originSeq,
  };
}

export function formatReplayReport(r: ReplayReport): string {
  const lines = [
    `clob replay ${r.path} (${r.build} build)`,
    `  segments   ${r.segments}`,
    `  records    ${r.records.toLocaleString('en-US')}${r.records > 0 ? `  (seq ${r.firstSeq} .. ${r.lastSeq})` : ''}`,
    `  digest     ${r.digest}`,
    `  speed      ${Math.round(r.commandsPerSecond).toLocaleString('en-US')} commands/s read+check+run (${r.seconds.toFixed(3)} s); engine alone ${Math.round(r.engineCommandsPerSecond).toLocaleString('en-US')} commands/s`,
  ];
  if (r.partial) lines.push(`  note       the journal does not start at its origin: this is a replay from seq ${r.firstSeq} onto an empty engine`);
  if (r.truncatedTail) lines.push(`  torn tail  ${r.truncatedTail.file}: ${r.truncatedTail.bytes} bytes from offset ${r.truncatedTail.offset} not replayed (${r.truncatedTail.reason}); recovery would truncate them`);
  return lines.join('\n');
}

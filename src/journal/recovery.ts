// Recovery: a snapshot, then the journal's records after it, replayed through a fresh engine,
// and a cross-check of the recovered digest against an independent, longer replay. Also
// `replayJournal` for `clob replay <journal>`.
//
// Steps of recover(dir, engineOptions):
//   1. the last segment is checked and a torn tail truncated (never replayed);
//   2. the newest snapshot usable with the journal on disk is restored: valid (header, CRCs,
//      digest) and covered (seq between the journal's first seq - 1 and its last). Damaged ones
//      are passed over with a warning. With none, a fresh Engine(engineOptions) - which needs the
//      journal to start at its origin; a journal pruned past every usable snapshot is a
//      JournalGapError naming the missing seqs and the files;
//   3. the journal from snapshot seq + 1 (or from its origin) is read, every record checked, and
//      run through the engine;
//   4. cross-check (verification): if the journal starts at its origin, a full replay from it
//      ('full-replay'); if it was pruned, a replay from the OLDEST usable snapshot older than the
//      one restored ('replay-from-snapshot'); the digests must agree (RecoveryMismatchError).
import { performance } from 'node:perf_hooks';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Engine, type EngineOptions } from '../engine.js';
import { JournalReader, inspectTail, type TailState } from './reader.js';
import { listSnapshots, loadSnapshot, type LoadedSnapshot } from './snapshots.js';
import type { TornTail } from './segment.js';

export interface RecoverOptions {
  /** Wasm build for the recovered engine (default: engineOptions.build, else 'release'). */
  build?: EngineOptions['build'];
  /** Cross-check the recovered digest against a longer replay (from the origin, or the oldest usable snapshot); default true. */
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
  /**
   * 'full-replay' (checked against a replay from the origin), 'replay-from-snapshot' (the journal
   * was pruned: checked against a replay from the older snapshot `verifiedFrom`), 'no-snapshot'
   * (the recovery is itself a full replay), or 'skipped: <why>'.
   */
  verification: string;
  verifiedFrom?: { path: string; seq: number };
  warnings: string[];
}

/** The recovered digest differs from a longer replay's: a snapshot or the engine is not deterministic. */
export class RecoveryMismatchError extends Error {
  constructor(readonly recovered: bigint, readonly reference: bigint, readonly snapshotSeq: number, readonly referenceFrom: string) {
    super(`recovery check failed: snapshot ${snapshotSeq} + journal gives digest ${hex(recovered)}, a replay from ${referenceFrom} gives ${hex(reference)}`);
    this.name = 'RecoveryMismatchError';
  }
}

/**
 * The journal no longer holds records that the state needs: it starts after its origin and no
 * usable snapshot is at or after its first seq - 1 (pruned past every usable snapshot, or
 * segments lost). Names the missing seqs and the files.
 */
export class JournalGapError extends Error {
  constructor(
    readonly dir: string, readonly missingFrom: number, readonly missingTo: number,
    /** The journal's first segment on disk. */ readonly firstSegment: string,
    /** Each snapshot in the directory and why it cannot be the base. */ readonly snapshots: string[],
  ) {
    super(`journal in ${dir} starts at seq ${missingTo + 1} (${basename(firstSegment)}) but its origin is seq ${missingFrom}: `
      + `records ${missingFrom}..${missingTo} are missing (the segments before it were pruned or lost) and no usable snapshot at seq >= ${missingTo} covers them; `
      + `snapshots: ${snapshots.length > 0 ? snapshots.join('; ') : 'none'}`);
    this.name = 'JournalGapError';
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

/** Whether segments before the first one on disk were removed (the journal no longer starts at its origin). */
const isPruned = (tail: TailState) => tail.segments.length > 0 && tail.firstSeq !== tail.originSeq;

/** The JournalGapError for a pruned journal with no usable base snapshot; `why` has the damaged snapshots' problems by path. */
function gapError(dir: string, tail: TailState, why: Map<string, string>): JournalGapError {
  const need = tail.firstSeq - 1;
  const notes = listSnapshots(dir).map((s) => {
    const name = basename(s.path);
    if (s.seq < need) return `${name} (seq ${s.seq}: would need records ${s.seq + 1}..${need})`;
    if (s.seq > tail.lastSeq) return `${name} (seq ${s.seq}: beyond the journal's end, seq ${tail.lastSeq})`;
    return `${name} (unusable: ${why.get(s.path) ?? s.problem ?? 'not checked'})`;
  });
  return new JournalGapError(dir, tail.originSeq, need, tail.segments[0].path, notes);
}

export async function recover(dataDir: string, engineOptions: EngineOptions, options: RecoverOptions = {}): Promise<Recovered> {
  const warnings: string[] = [];
  const damaged = new Map<string, string>();
  const warn = (m: string, path?: string, problem?: string) => {
    warnings.push(m);
    if (path && problem) damaged.set(path, problem);
    (options.onWarning ?? ((x: string) => console.warn(x)))(m);
  };
  const build = options.build ?? engineOptions.build;
  const exists = existsSync(dataDir);
  const tail = inspectTail(dataDir, exists && (options.truncateTail ?? true));
  if (tail.truncatedTail) {
    const t = tail.truncatedTail;
    warn(`journal torn tail ${t.repaired ? 'truncated' : 'found (not truncated)'}: ${t.file}: ${t.bytes} bytes from offset ${t.offset} (${t.reason})`);
  }
  const hasJournal = tail.segments.length > 0;
  // Usable: within the journal, and the journal holds every record after it.
  const range = hasJournal ? { minSeq: tail.firstSeq - 1, maxSeq: tail.lastSeq } : {};
  const snap = exists ? loadSnapshot(dataDir, { ...range, build, batchSize: engineOptions.batchSize, onWarning: warn }) : undefined;
  if (!snap && isPruned(tail)) throw gapError(dataDir, tail, damaged);
  const engine = snap ? snap.engine : new Engine({ ...engineOptions, build });
  let replayed = 0;
  let lastSeq = snap ? snap.seq : -1;
  if (hasJournal && (!snap || snap.seq < tail.lastSeq)) {
    const reader = new JournalReader(dataDir, { fromSeq: snap && snap.seq + 1, truncateTail: options.truncateTail ?? true });
    replayed = replayInto(engine, reader);
    lastSeq = reader.summary.lastSeq;
  }
  const digest = engine.digest();
  let verification: string;
  let verifiedFrom: Recovered['verifiedFrom'];
  if (!snap) verification = 'no-snapshot';
  else if (options.verify === false) verification = 'skipped: verify is false';
  else if (!hasJournal) verification = 'skipped: no journal to replay';
  else if (!isPruned(tail)) {
    const full = fullReplayDigest(dataDir, { ...engineOptions, build });
    if (full !== digest) throw new RecoveryMismatchError(digest, full, snap.seq, `the origin (seq ${tail.originSeq})`);
    verification = 'full-replay';
  } else {
    const base = loadSnapshot(dataDir, { minSeq: tail.firstSeq - 1, maxSeq: snap.seq - 1, oldest: true, build, batchSize: engineOptions.batchSize, onWarning: warn });
    if (!base) verification = `skipped: the journal was pruned (it starts at seq ${tail.firstSeq}) and no older usable snapshot is left to replay from`;
    else {
      const other = replayDigestFrom(dataDir, base);
      if (other !== digest) throw new RecoveryMismatchError(digest, other, snap.seq, `snapshot ${base.seq}`);
      verification = 'replay-from-snapshot';
      verifiedFrom = { path: base.path, seq: base.seq };
    }
  }
  return {
    engine, lastSeq, digest, replayed, snapshot: snap && { path: snap.path, seq: snap.seq },
    truncatedTail: tail.truncatedTail, verification, verifiedFrom, warnings,
  };
}

/** The digest of a restored snapshot's engine after every journal record after it (the engine is used up). */
function replayDigestFrom(dataDir: string, base: LoadedSnapshot): bigint {
  replayInto(base.engine, new JournalReader(dataDir, { fromSeq: base.seq + 1 }));
  return base.engine.digest();
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
  /** Records replayed (after the base). */
  records: number;
  firstSeq: number;
  lastSeq: number;
  /** The journal's origin seq (from the segment headers; -1 if empty). */
  originSeq: number;
  /** The state the replay started from: 'origin' (an empty engine) or 'snapshot' (the journal was pruned). */
  base: 'origin' | 'snapshot';
  /** The base's last seq (origin - 1 for 'origin'). */
  baseSeq: number;
  /** The base snapshot's file and digest ('snapshot' only). */
  baseSnapshot?: string;
  baseDigest: string;
  digest: string;
  /** Reading, checking and running, wall clock. */
  seconds: number;
  commandsPerSecond: number;
  /** The engine's share (append + run). */
  engineSeconds: number;
  engineCommandsPerSecond: number;
  /** A torn tail seen at the end (reported, not truncated: an offline replay changes nothing). */
  truncatedTail?: TornTail;
  /** One segment file that does not start at the origin: the digest is of a replay from its first record onto an empty engine. */
  partial: boolean;
}

export interface ReplayOptions {
  engineOptions: EngineOptions;
  build?: EngineOptions['build'];
  /** Replay from the origin on an empty engine, or fail if the origin was pruned (default: from the oldest usable snapshot when pruned). */
  fromOrigin?: boolean;
  /** Damaged snapshots passed over (default: console.warn). */
  onWarning?: (message: string) => void;
}

/**
 * Re-runs a journal (a data directory or one segment file) offline and reports the digest, speed
 * and seq range. Never modifies the files. A data directory whose journal was pruned replays from
 * its oldest usable snapshot (the longest replay the directory allows); with `fromOrigin` that is
 * an error naming the pruned seqs.
 */
export function replayJournal(path: string, options: ReplayOptions): ReplayReport {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  const build = options.build ?? options.engineOptions.build ?? 'release';
  let base: LoadedSnapshot | undefined;
  if (statSync(path).isDirectory()) {
    const tail = inspectTail(path, false);
    if (isPruned(tail)) {
      if (options.fromOrigin) {
        throw new Error(`--from-origin: the journal in ${path} starts at seq ${tail.firstSeq} (${basename(tail.segments[0].path)}); records ${tail.originSeq}..${tail.firstSeq - 1} from its origin were pruned. `
          + 'Without --from-origin the replay starts from the oldest snapshot that the journal covers; an archive (clob start --archive-journal yes) keeps the whole history');
      }
      const damaged = new Map<string, string>();
      base = loadSnapshot(path, {
        minSeq: tail.firstSeq - 1, maxSeq: tail.lastSeq, oldest: true, build, batchSize: options.engineOptions.batchSize,
        onWarning: (m, p, problem) => { damaged.set(p, problem); (options.onWarning ?? console.warn)(m); },
      });
      if (!base) throw gapError(path, tail, damaged);
    }
  }
  const engine = base ? base.engine : new Engine({ ...options.engineOptions, build });
  const baseDigest = hex(engine.digest());
  const reader = new JournalReader(path, { truncateTail: false, fromSeq: base && base.seq + 1 });
  const timing = { engineMs: 0 };
  const t0 = performance.now();
  const records = replayInto(engine, reader, timing);
  const seconds = (performance.now() - t0) / 1000;
  const s = reader.summary;
  const partial = !base && s.segments > 0 && s.firstSeq !== s.originSeq;
  if (partial && options.fromOrigin) throw new Error(`--from-origin: ${path} starts at seq ${s.firstSeq}, not at the journal's origin seq ${s.originSeq}`);
  const firstSeq = base ? base.seq + 1 : s.firstSeq;
  return {
    path, build, segments: s.segments, records, firstSeq: records > 0 ? firstSeq : -1, lastSeq: s.lastSeq, originSeq: s.originSeq,
    base: base ? 'snapshot' : 'origin', baseSeq: base ? base.seq : s.originSeq - 1, baseSnapshot: base?.path, baseDigest,
    digest: hex(engine.digest()), seconds, commandsPerSecond: records / seconds,
    engineSeconds: timing.engineMs / 1000, engineCommandsPerSecond: records / (timing.engineMs / 1000),
    truncatedTail: s.truncatedTail, partial,
  };
}

export function formatReplayReport(r: ReplayReport): string {
  const lines = [
    `clob replay ${r.path} (${r.build} build)`,
    `  segments   ${r.segments}`,
    r.base === 'snapshot'
      ? `  base       snapshot at seq ${r.baseSeq} (${r.baseSnapshot}), digest ${r.baseDigest}: the journal was pruned (its origin, seq ${r.originSeq}, is gone), so the replay starts there`
      : `  base       the journal's origin: an empty engine${r.originSeq >= 0 ? ` (records from seq ${r.originSeq})` : ''}`,
    `  records    ${r.records.toLocaleString('en-US')}${r.records > 0 ? `  (seq ${r.firstSeq} .. ${r.lastSeq})` : ''}`,
    `  digest     ${r.digest}`,
    `  speed      ${Math.round(r.commandsPerSecond).toLocaleString('en-US')} commands/s read+check+run (${r.seconds.toFixed(3)} s); engine alone ${Math.round(r.engineCommandsPerSecond).toLocaleString('en-US')} commands/s`,
  ];
  if (r.partial) lines.push(`  note       this segment does not start at the journal's origin: this is a replay from seq ${r.firstSeq} onto an empty engine`);
  if (r.truncatedTail) lines.push(`  torn tail  ${r.truncatedTail.file}: ${r.truncatedTail.bytes} bytes from offset ${r.truncatedTail.offset} not replayed (${r.truncatedTail.reason}); recovery would truncate them`);
  return lines.join('\n');
}

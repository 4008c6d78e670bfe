// Retention: what a data directory keeps once snapshots exist. The newest K valid snapshots stay;
// the journal segments whose every record is covered by the OLDEST of them go, and so do the
// snapshots older than it. Recovery then starts from any kept snapshot (the newest, or an older
// one when the newest is damaged: why K >= 2 by default) and replays the journal after it.
//
//   const plan = planRetention(dir, { keepSnapshots: 2 });   // reads, changes nothing
//   await applyRetention(dir, plan);                          // removes plan.remove, in order
//
// Rules:
// - Only after a snapshot is durable (written, fsynced, renamed, directory fsynced: what
//   writeSnapshot does before it returns) may retention run: the caller's duty.
// - A snapshot counts toward K only if it is valid (header, lengths, body CRC) and usable with the
//   journal on disk (its seq between the journal's first seq - 1 and its end). Until K valid ones
//   exist nothing is removed, so the journal always reaches back to the oldest kept snapshot.
// - A segment is removed only if every record in it has seq <= base (the oldest kept snapshot's
//   seq), i.e. the next segment starts at or before base + 1; the last (active) segment never is.
// - Removal order: segments oldest first, then snapshots oldest first, with a directory fsync
//   after each unlink. What survives a crash at any point is therefore a prefix of the plan
//   applied, which recovery handles: the journal still starts at or before base + 1, and every
//   kept snapshot is still there (test/journal.test.ts checks every prefix).
// - Archive mode (`archive: true`) keeps every segment; snapshots beyond K still go.
import { open, unlink } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { framesInSize, listSegments, type SegmentFile } from './segment.js';
import { checkSnapshotFile, listSnapshots, type SnapshotInfo } from './snapshots.js';

export const DEFAULT_KEEP_SNAPSHOTS = 2;

export interface RetentionOptions {
  /** Valid snapshots to keep (default 2; at least 1). */
  keepSnapshots?: number;
  /** Keep every journal segment (the full history; the directory grows): only snapshots are pruned. */
  archive?: boolean;
  /**
   * Problems found by earlier checks, by snapshot path (undefined = valid). A snapshot file never
   * changes once renamed into place, so a long-running writer passes the same map every time and
   * reads each snapshot's body once. Filled in.
   */
  checked?: Map<string, string | undefined>;
}

export interface RetentionPlan {
  /** The snapshots kept, newest first (all valid). */
  kept: SnapshotInfo[];
  /** The oldest kept snapshot's seq: records up to it are no longer needed (-1: nothing is removed). */
  baseSeq: number;
  /** Segment files to remove, oldest first. */
  segments: SegmentFile[];
  /** Snapshot files to remove (older than the oldest kept), oldest first. */
  snapshots: SnapshotInfo[];
  /** Every path to remove, in the order applyRetention removes them. */
  remove: string[];
  /** Snapshots passed over as invalid or unusable (kept on disk until they age out), with why. */
  skipped: { path: string; reason: string }[];
}

/** What retention would remove now (reads the directory, changes nothing). */
export function planRetention(dir: string, options: RetentionOptions = {}): RetentionPlan {
  const keep = options.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new RangeError(`keepSnapshots must be an integer >= 1; got ${keep}`);
  const full = resolve(dir);
  const segments = listSegments(full);
  // The journal's bounds, without reading it: the first segment's name and the last one's size
  // (a torn tail may make the real end lower; snapshots are only written below durable records).
  const firstSeq = segments.length > 0 ? segments[0].firstSeq : undefined;
  const last = segments.at(-1);
  const endSeq = last ? last.firstSeq + framesInSize(statSync(last.path).size) - 1 : undefined;
  const all = listSnapshots(full);
  const kept: SnapshotInfo[] = [];
  const skipped: RetentionPlan['skipped'] = [];
  for (const info of all) {
    if (kept.length === keep) break;
    let reason = info.problem;
    if (!reason && endSeq !== undefined && info.seq > endSeq) reason = `seq ${info.seq} is beyond the journal's end (seq ${endSeq})`;
    if (!reason && firstSeq !== undefined && info.seq < firstSeq - 1) reason = `seq ${info.seq} is before the journal's first seq ${firstSeq} - 1: its records are gone`;
    if (!reason) reason = bodyProblem(info.path, options.checked);
    if (reason) skipped.push({ path: info.path, reason });
    else kept.push(info);
  }
  if (kept.length < keep) return { kept, baseSeq: -1, segments: [], snapshots: [], remove: [], skipped };
  const baseSeq = kept[kept.length - 1].seq;
  const oldSnapshots = all.filter((s) => s.seq < baseSeq).reverse();
  const oldSegments: SegmentFile[] = [];
  if (!options.archive) {
    // A segment's records all have seq < the next segment's first seq.
    for (let i = 0; i + 1 < segments.length && segments[i + 1].firstSeq <= baseSeq + 1; i++) oldSegments.push(segments[i]);
  }
  for (const s of oldSnapshots) options.checked?.delete(s.path);
  return {
    kept, baseSeq, segments: oldSegments, snapshots: oldSnapshots,
    remove: [...oldSegments.map((s) => s.path), ...oldSnapshots.map((s) => s.path)], skipped,
  };
}

function bodyProblem(path: string, checked: RetentionOptions['checked']): string | undefined {
  if (!checked) return checkSnapshotFile(path);
  if (!checked.has(path)) checked.set(path, checkSnapshotFile(path));
  return checked.get(path);
}

/**
 * Removes the plan's files in order, each unlink followed by a directory fsync (so that a crash
 * persists a prefix of the plan, never a later removal without an earlier one). `onRemoved` is
 * called after each one is durable; if it throws, nothing more is removed (the tests use this to
 * interrupt pruning). A file already gone is skipped.
 */
export async function applyRetention(dir: string, plan: RetentionPlan, onRemoved?: (path: string) => void): Promise<void> {
  const d = await open(resolve(dir), 'r');
  try {
    for (const path of plan.remove) {
      try {
        await unlink(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      await d.sync();
      onRemoved?.(path);
    }
  } finally {
    await d.close();
  }
}

/** planRetention + applyRetention; returns the plan carried out. */
export async function enforceRetention(dir: string, options: RetentionOptions = {}): Promise<RetentionPlan> {
  const plan = planRetention(dir, options);
  await applyRetention(dir, plan);
  return plan;
}

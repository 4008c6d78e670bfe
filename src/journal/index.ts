// The journal: durable sequenced input (segment files, group commit), snapshots, retention, recovery.
export { Journal, DURABILITY_MODES, type DurabilityMode, type JournalOptions, type CommitResult } from './journal.js';
export { JournalReader, verifyJournal, inspectTail, type ReadOptions, type RecordChunk, type JournalSummary } from './reader.js';
export {
  JournalCorruptError, type TornTail, segmentName, listSegments, SEGMENT_HEADER_SIZE, FRAME_SIZE, FRAME_HEADER_SIZE, RECORD_SIZE,
} from './segment.js';
export { writeSnapshot, writeSnapshotBytes, listSnapshots, loadSnapshot, checkSnapshotFile, snapshotName, type SnapshotInfo, type LoadedSnapshot } from './snapshots.js';
export { planRetention, applyRetention, enforceRetention, DEFAULT_KEEP_SNAPSHOTS, type RetentionOptions, type RetentionPlan } from './retention.js';
export {
  recover, fullReplayDigest, replayJournal, formatReplayReport, RecoveryMismatchError, JournalGapError, type Recovered, type RecoverOptions, type ReplayReport, type ReplayOptions,
} from './recovery.js';

// The journal: durable sequenced input (segment files, group commit), snapshots, recovery.
export { Journal, DURABILITY_MODES, type DurabilityMode, type JournalOptions, type CommitResult } from './journal.js';
export { JournalReader, verifyJournal, inspectTail, type ReadOptions, type RecordChunk, type JournalSummary } from './reader.js';
export {
  JournalCorruptError, type TornTail, segmentName, listSegments, SEGMENT_HEADER_SIZE, FRAME_SIZE, FRAME_HEADER_SIZE, RECORD_SIZE,
} from './segment.js';
export { writeSnapshot, writeSnapshotBytes, listSnapshots, loadNewestSnapshot, pruneSnapshots, snapshotName, type SnapshotInfo, type LoadedSnapshot } from './snapshots.js';
export { recover, fullReplayDigest, replayJournal, formatReplayReport, RecoveryMismatchError, type Recovered, type RecoverOptions, type ReplayReport } from './recovery.js';

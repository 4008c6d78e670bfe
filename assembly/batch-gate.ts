// Whether a batch runs guarded: write sections (LV_SEQ, O_SEQ, H_INDEX_SEQ) and deferred reuse
// of freed slots (limbo.ts) cost the matcher per command, and they protect only live-book
// readers (livebook.ts). So the matcher turns them on for a batch only when a reader is
// registered, deciding once at the batch's start; a reader that registers in the middle of an
// unguarded batch waits for that batch to end before it reads (docs/CONCURRENCY.md "Reading a
// live book").
//
// Why that is enough (a Dekker handshake, sequentially consistent atomics on both sides):
//   matcher, beginBatch: store H_BATCH_STATE (RUNNING) ; load every reader record's owner
//   reader, register:    CAS its owner word            ; load H_BATCH_STATE (batchState)
// Either the matcher's owner load sees the reader (the batch is guarded), or the reader's state
// load sees this batch RUNNING and waits until the state changes (the matcher's store at the end
// of the batch; every write of the batch happens before it). Batches that start after the
// reader's CAS see it. (A reader that finds a guarded batch running waits for it too: simpler,
// and at most one batch, once per registration.) With no reader registered the core runs as if
// there were no readers at all: a freed slot is reusable at once, as before readers existed.
// The waiting loop is the host's (src/live-book-reader.ts), bounded by a time limit: the core has
// no clock, and a matcher that died inside a batch never changes the state again.
import { A, READERS, H_BATCH_STATE } from './arena';
import { LIVE_READERS, BATCH_RUNNING, BATCH_COUNT_UNIT } from './layout';
import { RECLAIM_PARTICIPANTS_AT, RECLAIM_P_SIZE, RECLAIM_P_OWNER } from './reclaim-layout';
import { loadShared, storeShared } from './sync';

/** This batch runs guarded (a per-instance global: only the matcher's instance sets it). */
export let guarded = false;

/** Start of process(): publishes RUNNING, then looks for registered readers. */
export function beginBatch(): void {
  if (!ASC_FEATURE_THREADS) return; // no threads, no readers: never guarded
  storeShared(A + H_BATCH_STATE, load<u32>(A, H_BATCH_STATE) + BATCH_COUNT_UNIT + BATCH_RUNNING);
  let readers = false;
  for (let p = 0; p < LIVE_READERS; p++) {
    if (loadShared(READERS + RECLAIM_PARTICIPANTS_AT + <usize>p * RECLAIM_P_SIZE + RECLAIM_P_OWNER) != 0) readers = true;
  }
  guarded = readers;
}

/** End of process(), after every write of the batch: a waiting reader may read from now on. */
export function finishBatch(): void {
  if (!ASC_FEATURE_THREADS) return;
  storeShared(A + H_BATCH_STATE, load<u32>(A, H_BATCH_STATE) - BATCH_RUNNING);
  guarded = false;
}

/** The state word, loaded by a reader after claiming its record: it may read once this is not RUNNING or has changed. */
export function batchState(): u32 {
  if (!ASC_FEATURE_THREADS) return 0;
  return loadShared(A + H_BATCH_STATE);
}

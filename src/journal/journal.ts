// The journal writer: sequenced command records appended to segment files with group commit.
//
//   const journal = await Journal.open(dir, { mode: 'fsync' });
//   journal.append(records, count);        // buffers (copies); checks seq = last + 1
//   const { lastSeq } = await journal.commit(); // one write for the whole batch, then durable per mode
//   ... acknowledge orders up to lastSeq ...
//
// Modes (what a resolved commit() guarantees):
//   'fsync' (default)  write + fdatasync (and a directory fsync when the commit opened a new
//                      segment) before commit() resolves: survives a process crash AND a machine
//                      crash / power loss (given a device that honours flushes).
//   'async'            commit() resolves after write() returned: the batch is in the OS page cache,
//                      so it survives a process crash (kill -9, uncaught exception) but a machine
//                      crash may lose what was written in the last `syncIntervalMs` (plus one
//                      fdatasync). A background timer fdatasyncs; `durableSeq` says how far; `await
//                      sync()` forces it.
//   'none'             like 'async' with no background fdatasync: segments are synced only when
//                      rolled and on close(). A machine crash may lose everything since then.
// In every mode a commit is all-or-nothing after any crash: an unfinished commit is a torn tail,
// dropped by recovery (its records were never acknowledged).
//
// One writer per directory (nothing stops a second one: the caller must). After a failed write
// or sync the journal refuses further commits (the file's state is unknown): reopen it, which
// repairs the tail.
import { open, type FileHandle } from 'node:fs/promises';
import { existsSync, mkdirSync, writevSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as L from '../../assembly/layout.js';
import {
  FRAME_COMMIT_END, FRAME_HEADER_SIZE, FRAME_SIZE, RECORD_SIZE, SEGMENT_HEADER_SIZE, TornTail,
  TWO_32, encodeSegmentHeader, sealFrames, segmentName,
} from './segment.js';
import { inspectTail } from './reader.js';

export type DurabilityMode = 'fsync' | 'async' | 'none';
export const DURABILITY_MODES: readonly DurabilityMode[] = ['fsync', 'async', 'none'];

export interface JournalOptions {
  /** Default 'fsync'. */
  mode?: DurabilityMode;
  /** Roll to a new segment when the current one reaches this size (default 64 MiB; a commit never spans two segments, so a segment may exceed it by one commit). */
  segmentBytes?: number;
  /** 'async' mode: background fdatasync period (default 10 ms). */
  syncIntervalMs?: number;
  /** The seq the first record of a new (empty) journal must have (default: whatever the first append brings, >= 0). */
  firstSeq?: number;
}

export interface CommitResult {
  /** Records in this commit (0 if nothing was pending: then the seqs are those of the last commit). */
  count: number;
  firstSeq: number;
  lastSeq: number;
}

export class Journal {
  readonly dir: string;
  readonly mode: DurabilityMode;
  readonly segmentBytes: number;
  readonly syncIntervalMs: number;
  /** A torn tail found and truncated when the journal was opened. */
  readonly truncatedTail?: TornTail;

  /** The journal's origin seq (-1 until the first record). */
  originSeq: number;
  /** The seq the next append must start with (-1: any, the journal is empty). */
  private nextSeq: number;
  /** Last seq handed to commit() (in a pending or in-flight write). */
  private committingSeq: number;
  /** Last seq written (survives a process crash). */
  private writtenSeqValue: number;
  /** Last seq fdatasynced (survives a machine crash). */
  private durableSeqValue: number;

  // Two frame buffers, swapped per write: appends fill `pending` while the write in flight reads
  // the other. A fresh buffer per write (80 KiB and up) made ArrayBuffer memory grow so fast that
  // V8 ran a major GC every ~80 ms under load (docs/PERFORMANCE.md, "Wire latency").
  // Frames are written as 32-bit words (little-endian, like the format and Wasm): a DataView call
  // per field cost more than the copy itself.
  private pending: Uint8Array = new Uint8Array(FRAME_SIZE * 1024);
  private pendingWords = new Int32Array(this.pending.buffer);
  private spare: Uint8Array = new Uint8Array(FRAME_SIZE * 1024);
  private spareWords = new Int32Array(this.spare.buffer);
  /** The words of the last `records` appended from (callers reuse one staging buffer: no view per append). */
  private srcBytes: Uint8Array | undefined;
  private srcWords: Int32Array = new Int32Array(0);
  private pendingCount = 0;
  private pendingFirstSeq = -1;

  private fh: FileHandle | undefined;
  private segmentPath = '';
  private segmentSize = 0;
  /** Unsynced changes to the directory (a new segment) in 'async'/'none' mode. */
  private dirDirty = false;
  /** The write in flight, if any. */
  private current: Promise<CommitResult> | undefined;
  /** Commits waiting for the next write (they share it). */
  private next: { promise: Promise<CommitResult>; resolve: (r: CommitResult) => void; reject: (e: unknown) => void } | undefined;
  private syncing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private closed = false;

  private constructor(dir: string, options: JournalOptions, tail: ReturnType<typeof inspectTail>) {
    this.dir = dir;
    this.mode = options.mode ?? 'fsync';
    if (!DURABILITY_MODES.includes(this.mode)) throw new TypeError(`mode must be one of ${DURABILITY_MODES.join(', ')}; got ${String(this.mode)}`);
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(this.segmentBytes) || this.segmentBytes < SEGMENT_HEADER_SIZE + FRAME_SIZE) throw new RangeError(`segmentBytes must be an integer >= ${SEGMENT_HEADER_SIZE + FRAME_SIZE}`);
    this.syncIntervalMs = options.syncIntervalMs ?? 10;
    this.truncatedTail = tail.truncatedTail;
    this.originSeq = tail.originSeq;
    const last = tail.lastSeq;
    if (tail.segments.length === 0) {
      this.nextSeq = options.firstSeq ?? -1;
      if (options.firstSeq !== undefined) checkSeq(options.firstSeq, 'firstSeq');
      this.committingSeq = this.writtenSeqValue = this.durableSeqValue = this.nextSeq === -1 ? -1 : this.nextSeq - 1;
    } else {
      this.nextSeq = last + 1;
      this.committingSeq = this.writtenSeqValue = this.durableSeqValue = last;
      const seg = tail.segments[tail.segments.length - 1];
      this.segmentPath = seg.path;
      this.segmentSize = tail.lastSegmentBytes;
    }
  }

  /**
   * Opens (creating the directory if needed) the journal in `dir` for appending. The last segment
   * is checked and a torn tail is truncated (see `truncatedTail`); older segments are not read
   * (recovery and JournalReader check them).
   */
  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    const full = resolve(dir);
    if (!existsSync(full)) {
      mkdirSync(full, { recursive: true });
      await syncDir(dirname(full)); // the new directory's own entry
    }
    const tail = inspectTail(full, true);
    const journal = new Journal(full, options, tail);
    if (journal.segmentPath) {
      // What a crashed writer left in the page cache becomes durable before anything relies on it.
      journal.fh = await open(journal.segmentPath, 'r+');
      await journal.fh.datasync();
      await syncDir(full);
    }
    if (journal.mode === 'async') {
      journal.timer = setInterval(() => void journal.backgroundSync(), journal.syncIntervalMs);
      journal.timer.unref();
    }
    return journal;
  }

  /** Last seq appended (pending or not); -1 if none. */
  get lastSeq(): number {
    return this.nextSeq === -1 ? -1 : this.nextSeq - 1;
  }
  /** Last seq whose commit has written it to the file (safe from a process crash). */
  get writtenSeq(): number {
    return this.writtenSeqValue;
  }
  /** Last seq fdatasynced (safe from a machine crash). */
  get durableSeq(): number {
    return this.durableSeqValue;
  }
  /** Records appended but not yet handed to commit(). */
  get pendingRecords(): number {
    return this.pendingCount;
  }

  /**
   * Buffers `count` 64-byte command records from `records` (starting at record `first`). Their
   * CMD_SEQ fields must continue the journal: last + 1, +2, ... A gap or a duplicate throws a
   * RangeError and nothing of this call is appended. Nothing is written until commit().
   */
  append(records: Uint8Array, count: number = Math.floor(records.length / RECORD_SIZE), first = 0): void {
    if (this.closed) throw new Error('journal is closed');
    if (this.failed) throw new Error(`journal failed earlier and refuses appends: ${this.failed.message}`);
    if (!Number.isInteger(count) || count < 0 || !Number.isInteger(first) || first < 0 || (first + count) * RECORD_SIZE > records.length) {
      throw new RangeError(`records ${first}..${first + count} are not all in the given ${records.length} bytes`);
    }
    if (count === 0) return;
    if ((records.byteOffset & 3) !== 0) {
      // Unaligned input cannot be viewed as words: copy it once (not the gateway's path).
      records = records.slice(first * RECORD_SIZE, (first + count) * RECORD_SIZE);
      first = 0;
    }
    if (records !== this.srcBytes || this.srcWords.length < (first + count) * RECORD_WORDS) {
      this.srcBytes = records;
      this.srcWords = new Int32Array(records.buffer, records.byteOffset, records.byteLength >>> 2);
    }
    const need = (this.pendingCount + count) * FRAME_SIZE;
    if (need > this.pending.length) {
      const grown = new Uint8Array(Math.max(need, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingCount * FRAME_SIZE));
      this.pending = grown;
      this.pendingWords = new Int32Array(grown.buffer);
    }
    // One pass checks each seq and frames its record. pendingCount moves only once every seq has
    // passed, so a throw leaves frames past it that the next append overwrites: nothing taken.
    const src = this.srcWords;
    const dst = this.pendingWords;
    let expect = this.nextSeq;
    let f = this.pendingCount * FRAME_WORDS;
    for (let i = 0, r = first * RECORD_WORDS; i < count; i++, r += RECORD_WORDS, f += FRAME_WORDS) {
      const lo = src[r + SEQ_WORD];
      const hi = src[r + SEQ_WORD + 1];
      const seq = hi * TWO_32 + (lo >>> 0);
      if (expect === -1) {
        checkSeq(seq, 'the first record\'s seq');
        expect = seq;
      }
      if (seq !== expect) {
        throw new RangeError(`journal: record ${i} of this append has seq ${seq}, expected ${expect} (${seq < expect ? 'duplicate or going back' : 'gap'}); nothing of this append was taken`);
      }
      if (!Number.isSafeInteger(seq + 1)) throw new RangeError('journal: seq reached 2^53');
      expect++;
      dst[f + 1] = RECORD_SIZE; // length (u16) + flags (u16) = 0
      dst[f + 2] = lo; // the frame's seq: the record's
      dst[f + 3] = hi;
      // Unrolled (RECORD_WORDS is 16, checked below): V8 runs this twice as fast as a loop.
      const t = f + FRAME_HEADER_WORDS;
      dst[t] = src[r]; dst[t + 1] = src[r + 1]; dst[t + 2] = src[r + 2]; dst[t + 3] = src[r + 3];
      dst[t + 4] = src[r + 4]; dst[t + 5] = src[r + 5]; dst[t + 6] = src[r + 6]; dst[t + 7] = src[r + 7];
      dst[t + 8] = src[r + 8]; dst[t + 9] = src[r + 9]; dst[t + 10] = src[r + 10]; dst[t + 11] = src[r + 11];
      dst[t + 12] = src[r + 12]; dst[t + 13] = src[r + 13]; dst[t + 14] = src[r + 14]; dst[t + 15] = src[r + 15];
    }
    const seq0 = expect - count;
    if (this.pendingCount === 0) this.pendingFirstSeq = seq0;
    this.pendingCount += count;
    if (this.originSeq === -1) this.originSeq = seq0;
    this.nextSeq = expect;
  }

  /**
   * Resolves when everything appended before this call is durable under the mode (see the file
   * comment), with the seqs of the write that carried it. Group commit: one write (and one
   * fdatasync) at a time; commit() calls made while one is in flight all join the next write,
   * which takes every record appended until it starts. So `append(r); await commit()` per
   * order from many concurrent requests costs one fdatasync per group, not per order.
   * Rejects if the write or sync failed; the journal then refuses more.
   */
  commit(): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    if (this.failed) return Promise.reject(new Error(`journal failed earlier: ${this.failed.message}`));
    if (this.current) {
      if (!this.next) {
        let resolve!: (r: CommitResult) => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<CommitResult>((res, rej) => { resolve = res; reject = rej; });
        this.next = { promise, resolve, reject };
      }
      return this.next.promise;
    }
    return this.startWrite();
  }

  /** Cuts the pending records into one batch and writes it. */
  private startWrite(): Promise<CommitResult> {
    if (this.pendingCount === 0) {
      const last = this.committingSeq;
      return Promise.resolve({ count: 0, firstSeq: last + 1, lastSeq: last });
    }
    const count = this.pendingCount;
    const firstSeq = this.pendingFirstSeq;
    const lastSeq = firstSeq + count - 1;
    const batch = this.pending.subarray(0, count * FRAME_SIZE);
    const words = this.pendingWords;
    words[(count - 1) * FRAME_WORDS + 1] = RECORD_SIZE | (FRAME_COMMIT_END << 16); // length, flags
    sealFrames(batch);
    // Hand the buffer to the write; appends go to the other one, which is free: startWrite runs
    // only with no write in flight, and a write has copied its batch out (writev) before it resolves.
    const full = this.pending;
    this.pending = this.spare;
    this.pendingWords = this.spareWords;
    this.spare = full;
    this.spareWords = words;
    this.pendingCount = 0;
    this.committingSeq = lastSeq;
    const result = this.write(batch, firstSeq, lastSeq).then(() => ({ count, firstSeq, lastSeq }));
    this.current = result;
    const done = () => {
      this.current = undefined;
      const next = this.next;
      this.next = undefined;
      if (next) {
        if (this.failed) next.reject(new Error(`journal failed: ${this.failed.message}`));
        else this.startWrite().then(next.resolve, next.reject);
      }
    };
    result.then(done, done);
    return result;
  }

  /** Waits until no write is in flight or queued (errors are the committers' to see). */
  private async drain(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  private async write(batch: Uint8Array, firstSeq: number, lastSeq: number): Promise<void> {
    if (this.failed) throw new Error(`journal failed earlier: ${this.failed.message}`);
    try {
      let newSegment = false;
      const buffers: Uint8Array[] = [];
      if (!this.fh || this.segmentSize >= this.segmentBytes) {
        await this.roll(firstSeq);
        newSegment = true;
        buffers.push(encodeSegmentHeader(firstSeq, this.originSeq));
      }
      buffers.push(batch);
      const total = buffers.reduce((n, b) => n + b.length, 0);
      writeAll(this.fh!.fd, buffers, this.segmentSize);
      this.segmentSize += total;
      this.writtenSeqValue = lastSeq;
      if (this.mode === 'fsync') {
        await this.fh!.datasync();
        if (newSegment) await syncDir(this.dir);
        this.durableSeqValue = lastSeq;
      } else if (newSegment) {
        this.dirDirty = true;
      }
    } catch (e) {
      this.failed = e as Error;
      throw e;
    }
  }

  /** Closes the current segment (synced) and creates the one starting at firstSeq. */
  private async roll(firstSeq: number): Promise<void> {
    if (this.fh) {
      if (this.syncing) await this.syncing;
      await this.fh.datasync();
      await this.fh.close();
      this.fh = undefined;
      this.durableSeqValue = this.writtenSeqValue;
    }
    this.segmentPath = join(this.dir, segmentName(firstSeq));
    this.fh = await open(this.segmentPath, 'wx');
    this.segmentSize = 0;
  }

  private backgroundSync(): Promise<void> {
    if (this.syncing || this.failed || this.closed || !this.fh) return this.syncing ?? Promise.resolve();
    if (this.writtenSeqValue <= this.durableSeqValue && !this.dirDirty) return Promise.resolve();
    const target = this.writtenSeqValue;
    const dirty = this.dirDirty;
    const fh = this.fh;
    this.syncing = (async () => {
      try {
        await fh.datasync();
        if (dirty) {
          await syncDir(this.dir);
          this.dirDirty = false;
        }
        if (target > this.durableSeqValue) this.durableSeqValue = target;
      } catch (e) {
        this.failed ??= e as Error;
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** Waits for every commit so far, then makes them durable (fdatasync) in any mode. Returns durableSeq. */
  async sync(): Promise<number> {
    await this.drain();
    if (this.syncing) await this.syncing;
    if (this.failed) throw new Error(`journal failed: ${this.failed.message}`);
    if (this.fh && (this.writtenSeqValue > this.durableSeqValue || this.dirDirty)) {
      const target = this.writtenSeqValue;
      await this.fh.datasync();
      if (this.dirDirty) {
        await syncDir(this.dir);
        this.dirDirty = false;
      }
      this.durableSeqValue = Math.max(this.durableSeqValue, target);
    }
    return this.durableSeqValue;
  }

  /** Commits what is pending, syncs (every mode) and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pendingCount > 0 && !this.failed) await this.commit();
    try {
      if (!this.failed) await this.sync();
    } finally {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      await this.drain();
      if (this.fh) await this.fh.close();
      this.fh = undefined;
    }
  }
}

const FRAME_WORDS = FRAME_SIZE >>> 2;
const FRAME_HEADER_WORDS = FRAME_HEADER_SIZE >>> 2;
const RECORD_WORDS = RECORD_SIZE >>> 2;
const SEQ_WORD = L.CMD_SEQ >>> 2;
if (RECORD_WORDS !== 16) throw new Error('journal.append copies records as 16 words: update it for the new record size');

function checkSeq(seq: number, what: string): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`${what} must be an integer from 0 to 2^53; got ${seq}`);
}

/**
 * Writes the buffers at `position` with writev(2), synchronously: copying a batch into the page
 * cache takes microseconds, less than a round trip through libuv's thread pool (measured in
 * docs/JOURNAL.md); only fdatasync, which waits for the device, goes to the pool.
 */
function writeAll(fd: number, buffers: Uint8Array[], position: number): void {
  let pos = position;
  let bufs = buffers;
  for (;;) {
    const bytesWritten = writevSync(fd, bufs, pos);
    if (bytesWritten === 0) throw new Error('journal: write made no progress');
    pos += bytesWritten;
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of bufs) {
      if (skip >= b.length) { skip -= b.length; continue; }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    if (rest.length === 0) return;
    bufs = rest;
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

// Reading the journal: records from a sequence number on, across segments, each one checked
// (CRC-32, length, flags, seq continuity within and across segments). At the end of the last
// segment a torn tail (a partial record, or an unfinished commit) is detected, reported and,
// when asked, truncated; it is never replayed. Damage anywhere else is a JournalCorruptError
// naming the file and the byte offset: nothing is skipped silently.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import {
  FRAME_HEADER_SIZE, FRAME_SIZE, JournalCorruptError, RECORD_SIZE, SEGMENT_HEADER_SIZE, SegmentFile, TornTail,
  decodeSegmentHeader, framesInSize, listSegments, scanSegment,
} from './segment.js';

export interface ReadOptions {
  /** First seq to yield (default: the journal's first). Earlier records of its segment are still checked. */
  fromSeq?: number;
  /** Truncate a torn tail in place (default false: report it and stop before it). */
  truncateTail?: boolean;
  /** Records per chunk yielded (default 4,096). */
  chunkRecords?: number;
}

/** A run of consecutive records: `count` 64-byte command records packed in `records`. */
export interface RecordChunk {
  records: Uint8Array;
  count: number;
  firstSeq: number;
  file: string;
}

/** What a full read found (complete once iteration has finished). */
export interface JournalSummary {
  segments: number;
  /** The journal's origin (the first seq it ever held), from the segment headers; -1 if empty. */
  originSeq: number;
  /** The first seq on disk (> originSeq when old segments were removed); -1 if empty. */
  firstSeq: number;
  /** The last valid committed seq; -1 if empty. */
  lastSeq: number;
  /** Records yielded. */
  records: number;
  truncatedTail?: TornTail;
}

/** Segment files of a data directory, or the one file given. */
function segmentsOf(path: string): SegmentFile[] {
  const full = resolve(path);
  if (!existsSync(full)) throw new Error(`${path}: no such file or directory`);
  if (statSync(full).isDirectory()) return listSegments(full);
  const seg = listSegments(dirname(full)).find((s) => s.name === basename(full));
  if (!seg) throw new Error(`${path}: not a journal segment (expected a name like journal-00000000000000000001.clj)`);
  return [seg];
}

/** Applies a torn-tail finding to the file (truncate, or remove a file with no valid header), durably. */
function repair(seg: SegmentFile, offset: number, removeFile: boolean): void {
  if (removeFile) {
    unlinkSync(seg.path);
  } else {
    const fd = openSync(seg.path, 'r+');
    try {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  const dirFd = openSync(dirname(seg.path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export interface TailState {
  segments: SegmentFile[];
  originSeq: number;
  firstSeq: number;
  lastSeq: number;
  /** Bytes of the last segment's valid prefix (0 if there is no segment). */
  lastSegmentBytes: number;
  truncatedTail?: TornTail;
}

/**
 * Checks only the last segment (whole), finds a torn tail and, with `truncate`, repairs it. Gives
 * the journal's bounds without reading older segments (their sizes give their record counts).
 * The writer runs this on open; recovery runs it before choosing a snapshot.
 */
export function inspectTail(dir: string, truncate: boolean): TailState {
  let segments = existsSync(dir) ? listSegments(dir) : [];
  let truncatedTail: TornTail | undefined;
  while (segments.length > 0) {
    const last = segments[segments.length - 1];
    const bytes = readFileSync(last.path);
    const scan = scanSegment(last.path, bytes, last.firstSeq, true);
    if (scan.torn && !truncatedTail) {
      truncatedTail = {
        file: last.path, offset: scan.torn.offset, bytes: bytes.length - scan.torn.offset, reason: scan.torn.reason,
        removedFile: scan.torn.removeFile, repaired: truncate,
      };
    }
    if (scan.torn && truncate) repair(last, scan.torn.offset, scan.torn.removeFile);
    if (scan.torn?.removeFile) {
      // Removed (or, report-only, to be removed): the bounds are those of the segments before it.
      segments = segments.slice(0, -1);
      continue;
    }
    const first = segments[0];
    const firstHeader = decodeSegmentHeader(readHead(first.path));
    const originSeq = typeof firstHeader === 'string' ? scan.originSeq : firstHeader.originSeq;
    return { segments, originSeq, firstSeq: first.firstSeq, lastSeq: scan.lastSeq, lastSegmentBytes: scan.validBytes, truncatedTail };
  }
  return { segments: [], originSeq: -1, firstSeq: -1, lastSeq: -1, lastSegmentBytes: 0, truncatedTail };
}

function readHead(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(SEGMENT_HEADER_SIZE);
    const n = readSyncFull(fd, buf, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function readSyncFull(fd: number, buf: Uint8Array, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Reads a journal (a data directory, or one segment file) and yields its records in chunks.
 * `summary` is complete when the iteration ends. Throws JournalCorruptError on damage that is
 * not a torn tail, and an Error when a segment is missing (a seq gap between segments) or
 * `fromSeq` is not in the journal.
 */
export class JournalReader {
  readonly summary: JournalSummary = { segments: 0, originSeq: -1, firstSeq: -1, lastSeq: -1, records: 0 };
  private readonly segments: SegmentFile[];

  constructor(readonly path: string, private readonly options: ReadOptions = {}) {
    this.segments = segmentsOf(path);
  }

  *chunks(): Generator<RecordChunk> {
    const segs = this.segments;
    const chunkRecords = this.options.chunkRecords ?? 4096;
    const fromSeq = this.options.fromSeq;
    this.summary.segments = segs.length;
    if (segs.length === 0) return;
    this.summary.firstSeq = segs[0].firstSeq;
    if (fromSeq !== undefined && fromSeq < segs[0].firstSeq) {
      throw new Error(`journal ${this.path} starts at seq ${segs[0].firstSeq}; records from seq ${fromSeq} are not there`);
    }
    let expect = segs[0].firstSeq;
    let packed = new Uint8Array(chunkRecords * RECORD_SIZE);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      const isLast = i === segs.length - 1;
      if (seg.firstSeq !== expect) {
        throw new Error(`journal gap: ${seg.name} starts at seq ${seg.firstSeq} but the segment before it ends at seq ${expect - 1}`);
      }
      // Segments wholly before fromSeq: bounds from the size (the next segment's name is checked against them).
      const next = segs[i + 1];
      if (fromSeq !== undefined && next && next.firstSeq <= fromSeq) {
        const size = statSync(seg.path).size;
        if ((size - SEGMENT_HEADER_SIZE) % FRAME_SIZE !== 0) throw new JournalCorruptError(seg.path, size, `size ${size} is not a header plus whole records`);
        expect = seg.firstSeq + framesInSize(size);
        if (i === 0) this.summary.originSeq = headerOrigin(seg.path);
        continue;
      }
      const bytes = readFileSync(seg.path);
      const scan = scanSegment(seg.path, bytes, seg.firstSeq, isLast);
      if (i === 0 || this.summary.originSeq < 0) this.summary.originSeq = scan.originSeq;
      if (scan.torn) {
        this.summary.truncatedTail = {
          file: seg.path, offset: scan.torn.offset, bytes: bytes.length - scan.torn.offset, reason: scan.torn.reason,
          removedFile: scan.torn.removeFile, repaired: this.options.truncateTail === true,
        };
        if (this.options.truncateTail) repair(seg, scan.torn.offset, scan.torn.removeFile);
      }
      expect = scan.lastSeq + 1;
      this.summary.lastSeq = scan.lastSeq;
      // Yield the committed records at or after fromSeq.
      const start = fromSeq === undefined ? 0 : Math.max(0, fromSeq - seg.firstSeq);
      for (let k = start; k < scan.records; k += chunkRecords) {
        const n = Math.min(chunkRecords, scan.records - k);
        if (packed.length < n * RECORD_SIZE) packed = new Uint8Array(n * RECORD_SIZE);
        copyPayloads(bytes, SEGMENT_HEADER_SIZE + k * FRAME_SIZE + FRAME_HEADER_SIZE, packed, n);
        this.summary.records += n;
        yield { records: packed, count: n, firstSeq: seg.firstSeq + k, file: seg.path };
      }
    }
    this.summary.lastSeq = expect - 1;
    if (fromSeq !== undefined && fromSeq > expect) {
      throw new Error(`journal ${this.path} ends at seq ${expect - 1}; seq ${fromSeq} was asked for`);
    }
  }
}

/** Copies n frame payloads (stride FRAME_SIZE from `src`) into `dst`, packed (stride RECORD_SIZE). */
function copyPayloads(bytes: Uint8Array, src: number, dst: Uint8Array, n: number): void {
  if (((bytes.byteOffset + src) & 3) === 0 && (dst.byteOffset & 3) === 0) {
    const from = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    const to = new Int32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
    const words = RECORD_SIZE >>> 2;
    let s = src >>> 2;
    let d = 0;
    for (let r = 0; r < n; r++, s += (FRAME_SIZE - RECORD_SIZE) >>> 2) for (let w = 0; w < words; w++) to[d++] = from[s++];
    return;
  }
  for (let r = 0; r < n; r++, src += FRAME_SIZE) dst.set(bytes.subarray(src, src + RECORD_SIZE), r * RECORD_SIZE);
}

function headerOrigin(path: string): number {
  const h = decodeSegmentHeader(readHead(path));
  if (typeof h === 'string') throw new JournalCorruptError(path, 0, h);
  return h.originSeq;
}

/** Reads a whole journal, checking every record, and returns what it found (no records kept). */
export function verifyJournal(path: string, options: Omit<ReadOptions, 'fromSeq'> = {}): JournalSummary {
  const reader = new JournalReader(path, options);
  for (const _ of reader.chunks()) { /* checked as read */ }
  return reader.summary;
}

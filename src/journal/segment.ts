// The journal's on-disk format: segment files of framed command records, and the scan that
// checks one segment (CRC, sequence continuity, commit boundaries) and finds a torn tail.
//
// A segment is `journal-<firstSeq, 20 digits>.clj`: a 64-byte header, then 80-byte frames, each
// one 64-byte command record (assembly/layout.ts) behind a 16-byte frame header:
//
//   segment header (64 bytes)                    frame (80 bytes)
//     0  u8[8] magic "CLOBJRNL"                    0  u32 CRC-32 of bytes 4..79 of the frame
//     8  u32   format version (1)                  4  u16 payload length (64)
//    12  u32   record layout version               6  u16 flags: 1 = last record of its commit
//    16  u32   frame size (80)                     8  i64 seq (= the record's CMD_SEQ)
//    20  u32   record size (64)                   16  u8[64] the command record
//    24  i64   first seq of this segment
//    32  i64   origin: first seq of the journal
//    40  ...   zero
//    60  u32   CRC-32 of bytes 0..59
//
// A commit (one group of records written with one write) always lies in one segment and its
// last frame carries the commit flag, so a commit is all-or-nothing: a batch whose end flag is
// missing was never acknowledged and is dropped as a torn tail.
//
// Sequence numbers are non-negative safe integers (< 2^53), consecutive across the journal.
import { crc32 } from 'node:zlib';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as L from '../../assembly/layout.js';
import { native } from '../native.js';

export const SEGMENT_MAGIC = 'CLOBJRNL';
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 64;
export const RECORD_SIZE = L.CMD_SIZE;
export const FRAME_HEADER_SIZE = 16;
export const FRAME_SIZE = FRAME_HEADER_SIZE + RECORD_SIZE;
export const FRAME_COMMIT_END = 1;
const FRAME_FLAGS_KNOWN = FRAME_COMMIT_END;
export const TWO_32 = 4294967296;

const SEGMENT_RE = /^journal-(\d{20})\.clj$/;

/** The file name of the segment whose first record has this seq. */
export function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(20, '0')}.clj`;
}

export interface SegmentFile {
  path: string;
  name: string;
  /** From the name (the header must agree). */
  firstSeq: number;
}

/** The segment files of a directory, oldest first. Other files are ignored. */
export function listSegments(dir: string): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = SEGMENT_RE.exec(name);
    if (m) out.push({ path: join(dir, name), name, firstSeq: Number(m[1]) });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

/** A damaged journal: names the file and the byte offset where the damage starts. */
export class JournalCorruptError extends Error {
  constructor(readonly file: string, readonly offset: number, readonly reason: string) {
    super(`journal corrupt: ${file} at byte offset ${offset}: ${reason}`);
    this.name = 'JournalCorruptError';
  }
}

/** A torn tail found at the end of the last segment (and truncated, or only reported). */
export interface TornTail {
  file: string;
  /** Where the valid journal ends: the file is (or would be) truncated to this length. */
  offset: number;
  /** Bytes after `offset` that were (or would be) dropped. */
  bytes: number;
  reason: string;
  /** The file held nothing valid, not even its header: it was (or would be) removed. */
  removedFile: boolean;
  /** Whether the file was changed. */
  repaired: boolean;
}

export function readSeq(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * TWO_32 + view.getUint32(at, true);
}

export function writeSeq(view: DataView, at: number, seq: number): void {
  const hi = Math.floor(seq / TWO_32);
  view.setUint32(at, seq - hi * TWO_32, true);
  view.setInt32(at + 4, hi, true);
}

export function encodeSegmentHeader(firstSeq: number, originSeq: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_SIZE);
  const v = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = SEGMENT_MAGIC.charCodeAt(i);
  v.setUint32(8, SEGMENT_VERSION, true);
  v.setUint32(12, L.LAYOUT_VERSION, true);
  v.setUint32(16, FRAME_SIZE, true);
  v.setUint32(20, RECORD_SIZE, true);
  writeSeq(v, 24, firstSeq);
  writeSeq(v, 32, originSeq);
  v.setUint32(60, crc32(bytes.subarray(0, 60)), true);
  return bytes;
}

/** The header's fields, or a string saying what is wrong with it. */
export function decodeSegmentHeader(bytes: Uint8Array): { firstSeq: number; originSeq: number } | string {
  if (bytes.length < SEGMENT_HEADER_SIZE) return `header is ${bytes.length} bytes, not ${SEGMENT_HEADER_SIZE}`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_SIZE);
  if (v.getUint32(60, true) !== crc32(bytes.subarray(0, 60))) return 'header checksum mismatch';
  for (let i = 0; i < 8; i++) if (bytes[i] !== SEGMENT_MAGIC.charCodeAt(i)) return 'not a clob journal segment (bad magic)';
  if (v.getUint32(8, true) !== SEGMENT_VERSION) return `segment format version ${v.getUint32(8, true)}; this clob reads ${SEGMENT_VERSION}`;
  if (v.getUint32(12, true) !== L.LAYOUT_VERSION) return `record layout version ${v.getUint32(12, true)}; this clob reads ${L.LAYOUT_VERSION}`;
  if (v.getUint32(16, true) !== FRAME_SIZE || v.getUint32(20, true) !== RECORD_SIZE) return 'unexpected frame or record size';
  return { firstSeq: readSeq(v, 24), originSeq: readSeq(v, 32) };
}

// CRC-32 (IEEE, the same function as zlib's crc32; the tests hold them equal). zlib.crc32 costs
// ~600 ns per 76-byte call here (binding overhead), so the journal seals a whole write's frames
// with one native call (native/crc32.cc, ~19 ns per frame) or, without the helper, in JS below;
// readers check a whole segment's CRCs the same way (verifyFrames).
const CRC_TABLE = (() => {
  const t = new Int32Array(2048); // slice-by-8: t[k * 256 + n] = CRC of byte n then k zero bytes
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 255];
  return t;
})();

/** CRC-32 of bytes[start, end). */
export function crc32Range(b: Uint8Array, start: number, end: number): number {
  const t = CRC_TABLE;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const x = c ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    const y = b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24);
    c = t[1792 + (x & 255)] ^ t[1536 + ((x >>> 8) & 255)] ^ t[1280 + ((x >>> 16) & 255)] ^ t[1024 + (x >>> 24)] ^
      t[768 + (y & 255)] ^ t[512 + ((y >>> 8) & 255)] ^ t[256 + ((y >>> 16) & 255)] ^ t[y >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC-32 of a frame (bytes 4..79) as stored in its first 4 bytes. */
export function frameCrc(bytes: Uint8Array, at: number): number {
  return crc32Range(bytes, at + 4, at + FRAME_SIZE);
}

const FRAME_WORDS = FRAME_SIZE >>> 2;

/**
 * Every whole frame's CRC in JS: stored in its first 4 bytes (`seal`), or compared with them and
 * the index of the first that differs returned (-1 if none). Word loads (an Int32Array over the
 * frames, little-endian like the format and Wasm) instead of byte loads: 43 ns per frame against
 * 61-69 byte by byte.
 */
function framesCrcJs(frames: Uint8Array, seal: boolean): number {
  const count = Math.floor(frames.length / FRAME_SIZE);
  if ((frames.byteOffset & 3) !== 0) {
    const v = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
    for (let f = 0; f < count; f++) {
      const crc = frameCrc(frames, f * FRAME_SIZE);
      if (seal) v.setUint32(f * FRAME_SIZE, crc, true);
      else if (v.getUint32(f * FRAME_SIZE, true) !== crc) return f;
    }
    return -1;
  }
  const w = new Int32Array(frames.buffer, frames.byteOffset, count * FRAME_WORDS);
  const t = CRC_TABLE;
  for (let at = 0; at < w.length; at += FRAME_WORDS) {
    let c = -1;
    let i = at + 1;
    const end = at + FRAME_WORDS;
    for (; i + 2 <= end; i += 2) {
      const x = c ^ w[i];
      const y = w[i + 1];
      c = t[1792 + (x & 255)] ^ t[1536 + ((x >>> 8) & 255)] ^ t[1280 + ((x >>> 16) & 255)] ^ t[1024 + (x >>> 24)] ^
        t[768 + (y & 255)] ^ t[512 + ((y >>> 8) & 255)] ^ t[256 + ((y >>> 16) & 255)] ^ t[y >>> 24];
    }
    if (i < end) {
      c ^= w[i];
      c = t[768 + (c & 255)] ^ t[512 + ((c >>> 8) & 255)] ^ t[256 + ((c >>> 16) & 255)] ^ t[c >>> 24];
    }
    if (seal) w[at] = ~c;
    else if (w[at] !== ~c) return at / FRAME_WORDS;
  }
  return -1;
}

/** Stores every whole frame's CRC in its first 4 bytes, in JS: the fallback of sealFrames; exported for the tests. */
export function sealFramesJs(frames: Uint8Array): void {
  framesCrcJs(frames, true);
}

/** The index of the first whole frame whose stored CRC is wrong, or -1, in JS: the fallback of verifyFrames; exported for the tests. */
export function verifyFramesJs(frames: Uint8Array): number {
  return framesCrcJs(frames, false);
}

const nativeCrc32Frames = native?.crc32Frames;
const nativeCrc32FramesVerify = native?.crc32FramesVerify;

/** Stores every whole frame's CRC in its first 4 bytes: one native call when the helper is loaded. */
export function sealFrames(frames: Uint8Array): void {
  if (nativeCrc32Frames) nativeCrc32Frames(frames, FRAME_SIZE);
  else sealFramesJs(frames);
}

/** The index of the first whole frame whose stored CRC is wrong, or -1: one native call when the helper is loaded. */
export function verifyFrames(frames: Uint8Array): number {
  return nativeCrc32FramesVerify ? nativeCrc32FramesVerify(frames, FRAME_SIZE) : verifyFramesJs(frames);
}

const CRC_MISMATCH = 'record checksum mismatch';

/** Why the frame at `at` is not a valid frame (any seq), or undefined if it is one; `crcChecked`: its CRC is known to be right. */
function frameProblem(bytes: Uint8Array, view: DataView, at: number, crcChecked = false): string | undefined {
  if (at + FRAME_SIZE > bytes.length) return `partial record (${bytes.length - at} of ${FRAME_SIZE} bytes)`;
  if (!crcChecked && view.getUint32(at, true) !== frameCrc(bytes, at)) return CRC_MISMATCH;
  if (view.getUint16(at + 4, true) !== RECORD_SIZE) return `record length ${view.getUint16(at + 4, true)}, not ${RECORD_SIZE}`;
  if ((view.getUint16(at + 6, true) & ~FRAME_FLAGS_KNOWN) !== 0) return 'unknown frame flags';
  if (readSeq(view, at + 8) !== readSeq(view, at + FRAME_HEADER_SIZE + L.CMD_SEQ)) return 'frame seq differs from the record\'s seq';
  return undefined;
}

/** The result of checking one segment's bytes. */
export interface SegmentScan {
  file: string;
  firstSeq: number;
  originSeq: number;
  /** Valid, committed records. */
  records: number;
  /** Bytes of the valid prefix (header + committed frames). */
  validBytes: number;
  /** The seq of the last valid committed record (firstSeq - 1 if none). */
  lastSeq: number;
  /** Set when the segment ends in a torn tail (only possible if scanned as the last segment). */
  torn?: { offset: number; reason: string; removeFile: boolean };
}

/**
 * Checks a segment: header, then every frame's CRC, length, flags and seq (consecutive from the
 * header's first seq, which must match the name's). The valid prefix ends at the last commit flag.
 *
 * Damage in a segment that is not the last is corruption. In the last segment, damage is a torn
 * tail only if it is confined to one (unacknowledged) commit at the end: a commit flag on a valid
 * frame followed by any other valid frame after the damage, or a valid frame whose seq does not
 * fit its position, means the damage is in the middle: JournalCorruptError naming file and offset.
 */
export function scanSegment(file: string, bytes: Uint8Array, expectFirstSeq: number, isLast: boolean): SegmentScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = decodeSegmentHeader(bytes);
  if (typeof header === 'string') {
    if (isLast && !hasValidFrameAfter(bytes, view, SEGMENT_HEADER_SIZE)) {
      return { file, firstSeq: expectFirstSeq, originSeq: expectFirstSeq, records: 0, validBytes: 0, lastSeq: expectFirstSeq - 1, torn: { offset: 0, reason: header, removeFile: true } };
    }
    throw new JournalCorruptError(file, 0, header);
  }
  if (header.firstSeq !== expectFirstSeq) throw new JournalCorruptError(file, 24, `header says first seq ${header.firstSeq}, the file name says ${expectFirstSeq}`);
  let at = SEGMENT_HEADER_SIZE;
  let seq = header.firstSeq;
  let committedAt = at;
  let committedSeq = seq - 1;
  let problem: string | undefined;
  // Every frame's CRC in one call; the loop checks the rest frame by frame and stops at the first
  // problem, so a frame before `badCrcAt` is known good and the one at it is the checksum mismatch.
  const badFrame = verifyFrames(bytes.subarray(at));
  const badCrcAt = badFrame < 0 ? -1 : at + badFrame * FRAME_SIZE;
  while (at < bytes.length) {
    problem = at === badCrcAt ? CRC_MISMATCH : frameProblem(bytes, view, at, true);
    if (problem) break;
    const frameSeq = readSeq(view, at + 8);
    if (frameSeq !== seq) throw new JournalCorruptError(file, at, `sequence break: expected seq ${seq}, found ${frameSeq}`);
    at += FRAME_SIZE;
    seq++;
    if (view.getUint16(at - FRAME_SIZE + 6, true) & FRAME_COMMIT_END) {
      committedAt = at;
      committedSeq = seq - 1;
    }
  }
  if (!problem && committedAt < at) problem = `the last commit (from seq ${committedSeq + 1}) has no end mark`;
  const scan: SegmentScan = {
    file, firstSeq: header.firstSeq, originSeq: header.originSeq, records: committedSeq - header.firstSeq + 1,
    validBytes: committedAt, lastSeq: committedSeq,
  };
  if (!problem) return scan;
  if (!isLast) throw new JournalCorruptError(file, at, problem);
  // Only the last commit may be damaged: after the damage, valid frames must sit where their seq
  // says, and none may follow a valid commit end.
  let endSeen = false;
  for (let q = at + FRAME_SIZE; q + FRAME_SIZE <= bytes.length; q += FRAME_SIZE) {
    if (frameProblem(bytes, view, q)) continue;
    const s = readSeq(view, q + 8);
    if (endSeen || s !== committedSeq + 1 + (q - committedAt) / FRAME_SIZE) {
      throw new JournalCorruptError(file, at, `${problem}, followed by valid records (seq ${s} at offset ${q}): damage inside the journal, not a torn tail`);
    }
    if (view.getUint16(q + 6, true) & FRAME_COMMIT_END) endSeen = true;
  }
  scan.torn = { offset: committedAt, reason: `${problem} at offset ${at}`, removeFile: false };
  return scan;
}

function hasValidFrameAfter(bytes: Uint8Array, view: DataView, from: number): boolean {
  for (let q = from; q + FRAME_SIZE <= bytes.length; q += FRAME_SIZE) if (!frameProblem(bytes, view, q)) return true;
  return false;
}

/** The number of whole frames a segment of this size holds (for quick bounds without reading it). */
export function framesInSize(size: number): number {
  return Math.max(0, Math.floor((size - SEGMENT_HEADER_SIZE) / FRAME_SIZE));
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

// The snapshot format: a 64-byte header, a table of extents, then those extents of an engine's
// arena (whose links are all relative, so it restores at any address). The arena outside the
// extents is zero (the core's snapshotExtents leaves out only never-used tails), so copying the
// extents into a fresh arena gives the arena back byte for byte. Written by Engine.snapshot()
// and by sharded matching workers; read by Engine.restore().
//
// Version 3 (written):
//   0 u64 magic "CLOBSNAP"   8 u32 format version (3)   12 u32 layout version
//  16 u32 maxOrders         20 u32 maxSymbols       24 u32 ladderTicks      28 u32 arena bytes
//  32 u64 state digest      40 u64 next seq         48 u32 CRC-32 of every other byte (0-47, 52-end)
//  52 u32 extent count n (1..MAX_EXTENTS)           56 u64 zero
//  64 n x (u32 arena offset, u32 length), in address order, not overlapping; then their bytes.
// Version 2 (read, no longer written): bytes 52-63 zero, then the whole arena; the CRC-32 covers
// bytes 0-47 and the arena.
import { crc32 } from 'node:zlib';
import * as L from '../assembly/layout.js';

const SNAPSHOT_HEADER = 64;
const MAGIC = 0x50414e53424f4c43n; // "CLOBSNAP"
const VERSION = 3;
const READABLE = [2, 3];
/** Extents a snapshot may have (the core uses 7). */
export const MAX_EXTENTS = 16;
const EXTENT_SIZE = 8;

/** [arena offset, length] */
export type Extent = [number, number];

export interface SnapshotHeader {
  maxOrders: number; maxSymbols: number; ladderTicks: number; arenaBytes: number; digest: bigint; nextSeq: bigint;
  /** The arena's extents held, and where in the snapshot their bytes start (one after the other). */
  extents: Extent[]; dataAt: number;
}
export type SnapshotFields = Omit<SnapshotHeader, 'arenaBytes' | 'extents' | 'dataAt'>;

/** The size of a buffer any snapshot of an arena of this size fits in. */
export const maxSnapshotSize = (arenaBytes: number): number => SNAPSHOT_HEADER + MAX_EXTENTS * EXTENT_SIZE + arenaBytes;

/** The byte ranges [start, end) the CRC-32 at 48 covers, in order, for a snapshot of `length` bytes. */
export function checksumRanges(length: number, version = VERSION): [number, number][] {
  return [[0, 48], [version === 2 ? SNAPSHOT_HEADER : 52, length]];
}

/** CRC-32 chained over `ranges` of `bytes` (what a CRC worker computes off the main thread). */
export function crc32Ranges(bytes: Uint8Array, ranges: [number, number][]): number {
  let crc = 0;
  for (const [start, end] of ranges) crc = crc32(bytes.subarray(start, end), crc);
  return crc;
}

/**
 * A snapshot of `extents` of `arena` (copied) with its header, but without its CRC-32
 * (sealSnapshot adds it, on any thread), written into `into` when it is large enough (a view of
 * it is returned: no allocation), else into a new buffer.
 */
export function encodeUnsealedSnapshot(h: SnapshotFields, arena: Uint8Array, extents: Extent[], into?: Uint8Array): Uint8Array {
  if (extents.length < 1 || extents.length > MAX_EXTENTS) throw new RangeError(`a snapshot holds 1 to ${MAX_EXTENTS} extents; got ${extents.length}`);
  const dataAt = SNAPSHOT_HEADER + extents.length * EXTENT_SIZE;
  const size = extents.reduce((n, [, length]) => n + length, dataAt);
  const bytes = into !== undefined && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setBigUint64(0, MAGIC, true);
  v.setUint32(8, VERSION, true);
  v.setUint32(12, L.LAYOUT_VERSION, true);
  v.setUint32(16, h.maxOrders, true);
  v.setUint32(20, h.maxSymbols, true);
  v.setUint32(24, h.ladderTicks, true);
  v.setUint32(28, arena.length, true);
  v.setBigUint64(32, h.digest, true);
  v.setBigUint64(40, h.nextSeq, true);
  v.setUint32(48, 0, true);
  v.setUint32(52, extents.length, true);
  v.setBigUint64(56, 0n, true);
  let at = dataAt;
  extents.forEach(([start, length], k) => {
    v.setUint32(SNAPSHOT_HEADER + k * EXTENT_SIZE, start, true);
    v.setUint32(SNAPSHOT_HEADER + k * EXTENT_SIZE + 4, length, true);
    bytes.set(arena.subarray(start, start + length), at);
    at += length;
  });
  if (extentsProblem(extents, arena.length)) throw new RangeError(`bad extents for an arena of ${arena.length} bytes: ${JSON.stringify(extents)}`);
  return bytes;
}

/** Stores `crc` (crc32Ranges over checksumRanges) into an unsealed snapshot; returns the bytes. */
export function sealSnapshot(bytes: Uint8Array, crc: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(48, crc, true);
  return bytes;
}

/** encodeUnsealedSnapshot (by default of the whole arena), then sealed on this thread. */
export function encodeSnapshot(h: SnapshotFields, arena: Uint8Array, into?: Uint8Array, extents: Extent[] = [[0, arena.length]]): Uint8Array {
  const bytes = encodeUnsealedSnapshot(h, arena, extents, into);
  return sealSnapshot(bytes, crc32Ranges(bytes, checksumRanges(bytes.length)));
}

function extentsProblem(extents: Extent[], arenaBytes: number): string | undefined {
  let end = 0;
  for (const [start, length] of extents) {
    if (start < end || start + length > arenaBytes) return `snapshot extents overlap, are out of order or lie outside the ${arenaBytes}-byte arena`;
    end = start + length;
  }
  return undefined;
}

/** The header of a snapshot whose bytes are whole and undamaged (CRC checked), or a clear error. */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length < SNAPSHOT_HEADER) throw new TypeError('snapshot must be a Uint8Array from Engine.snapshot()');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getBigUint64(0, true) !== MAGIC) throw new TypeError('not a clob snapshot (bad magic)');
  const version = v.getUint32(8, true);
  if (!READABLE.includes(version) || v.getUint32(12, true) !== L.LAYOUT_VERSION) {
    throw new RangeError(`snapshot version ${version}/layout ${v.getUint32(12, true)} cannot be read by this clob (it reads versions ${READABLE.join(', ')} of layout ${L.LAYOUT_VERSION})`);
  }
  const arenaBytes = v.getUint32(28, true);
  let extents: Extent[] = [[0, arenaBytes]];
  let dataAt = SNAPSHOT_HEADER;
  if (version === 3) {
    const n = v.getUint32(52, true);
    dataAt = SNAPSHOT_HEADER + n * EXTENT_SIZE;
    if (n < 1 || n > MAX_EXTENTS || bytes.length < dataAt) throw new RangeError('snapshot is truncated or its extent table is damaged');
    extents = Array.from({ length: n }, (_, k): Extent => [v.getUint32(SNAPSHOT_HEADER + k * EXTENT_SIZE, true), v.getUint32(SNAPSHOT_HEADER + k * EXTENT_SIZE + 4, true)]);
  }
  if (bytes.length !== extents.reduce((n, [, length]) => n + length, dataAt)) throw new RangeError('snapshot is truncated or its size does not match its limits');
  if (crc32Ranges(bytes, checksumRanges(bytes.length, version)) !== v.getUint32(48, true)) throw new RangeError('snapshot checksum mismatch: the bytes are corrupt');
  const problem = extentsProblem(extents, arenaBytes);
  if (problem) throw new RangeError(problem);
  return {
    maxOrders: v.getUint32(16, true), maxSymbols: v.getUint32(20, true), ladderTicks: v.getUint32(24, true),
    arenaBytes, digest: v.getBigUint64(32, true), nextSeq: v.getBigUint64(40, true), extents, dataAt,
  };
}

/** Copies a decoded snapshot's extents into `arena` (zero outside them: a fresh one). */
export function copyExtents(bytes: Uint8Array, h: SnapshotHeader, arena: Uint8Array): void {
  let at = h.dataAt;
  for (const [start, length] of h.extents) {
    arena.set(bytes.subarray(at, at + length), start);
    at += length;
  }
}

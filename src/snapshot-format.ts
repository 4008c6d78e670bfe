// The snapshot format: a 64-byte header, then a byte copy of an engine's arena (whose links are
// all relative, so it restores at any address). Written by Engine.snapshot() and by sharded
// matching workers; read by Engine.restore().
//
//   0 u64 magic "CLOBSNAP"   8 u32 format version   12 u32 layout version
//  16 u32 maxOrders         20 u32 maxSymbols       24 u32 ladderTicks      28 u32 arena bytes
//  32 u64 state digest      40 u64 next seq         48 u32 CRC-32 of bytes 0-47 and the arena
import { crc32 } from 'node:zlib';
import * as L from '../assembly/layout.js';

export const SNAPSHOT_HEADER = 64;
const MAGIC = 0x50414e53424f4c43n; // "CLOBSNAP"
const VERSION = 2;

export interface SnapshotHeader { maxOrders: number; maxSymbols: number; ladderTicks: number; arenaBytes: number; digest: bigint; nextSeq: bigint }

/** The byte ranges [start, end) the CRC-32 at 48 covers, in order: the header before it, then the arena. */
export function checksumRanges(length: number): [number, number][] {
  return [[0, 48], [SNAPSHOT_HEADER, length]];
}

/** CRC-32 chained over `ranges` of `bytes` (what a CRC worker computes off the main thread). */
export function crc32Ranges(bytes: Uint8Array, ranges: [number, number][]): number {
  let crc = 0;
  for (const [start, end] of ranges) crc = crc32(bytes.subarray(start, end), crc);
  return crc;
}

/**
 * A snapshot of `arena` (the arena's bytes, copied) with its header, but without its CRC-32
 * (sealSnapshot adds it, on any thread), written into `into` when it is large enough (a view of
 * it is returned: no allocation), else into a new buffer.
 */
export function encodeUnsealedSnapshot(h: Omit<SnapshotHeader, 'arenaBytes'>, arena: Uint8Array, into?: Uint8Array): Uint8Array {
  const size = SNAPSHOT_HEADER + arena.length;
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
  bytes.set(arena, SNAPSHOT_HEADER);
  return bytes;
}

/** Stores `crc` (crc32Ranges over checksumRanges) into an unsealed snapshot; returns the bytes. */
export function sealSnapshot(bytes: Uint8Array, crc: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(48, crc, true);
  return bytes;
}

const checksum = (bytes: Uint8Array) => crc32Ranges(bytes, checksumRanges(bytes.length));

/** encodeUnsealedSnapshot, then sealed on this thread. */
export function encodeSnapshot(h: Omit<SnapshotHeader, 'arenaBytes'>, arena: Uint8Array, into?: Uint8Array): Uint8Array {
  const bytes = encodeUnsealedSnapshot(h, arena, into);
  return sealSnapshot(bytes, checksum(bytes));
}

/** The header of a snapshot whose bytes are whole and undamaged (CRC checked), or a clear error. */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length < SNAPSHOT_HEADER) throw new TypeError('snapshot must be a Uint8Array from Engine.snapshot()');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getBigUint64(0, true) !== MAGIC) throw new TypeError('not a clob snapshot (bad magic)');
  if (v.getUint32(8, true) !== VERSION || v.getUint32(12, true) !== L.LAYOUT_VERSION) {
    throw new RangeError(`snapshot version ${v.getUint32(8, true)}/layout ${v.getUint32(12, true)} does not match this clob (${VERSION}/${L.LAYOUT_VERSION})`);
  }
  const arenaBytes = v.getUint32(28, true);
  if (bytes.length !== SNAPSHOT_HEADER + arenaBytes) throw new RangeError('snapshot is truncated or its size does not match its limits');
  if (checksum(bytes) !== v.getUint32(48, true)) throw new RangeError('snapshot checksum mismatch: the bytes are corrupt');
  return {
    maxOrders: v.getUint32(16, true), maxSymbols: v.getUint32(20, true), ladderTicks: v.getUint32(24, true),
    arenaBytes, digest: v.getBigUint64(32, true), nextSeq: v.getBigUint64(40, true),
  };
}

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

const checksum = (bytes: Uint8Array) => crc32(bytes.subarray(SNAPSHOT_HEADER), crc32(bytes.subarray(0, 48)));

/**
 * A snapshot of `arena` (the arena's bytes, copied) with its header, written into `into` when it
 * is large enough (a view of it is returned: no allocation), else into a new buffer.
 */
export function encodeSnapshot(h: Omit<SnapshotHeader, 'arenaBytes'>, arena: Uint8Array, into?: Uint8Array): Uint8Array {
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
  bytes.set(arena, SNAPSHOT_HEADER);
  v.setUint32(48, checksum(bytes), true);
  return bytes;
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

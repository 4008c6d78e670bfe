// Engine snapshots in the data directory: `snapshot-<seq, 20 digits>.cls`, where seq is the last
// journal record the snapshot includes. Written atomically (temp file, fsync, rename, fsync of
// the directory): a crash leaves either the old set or the new file, never half a snapshot
// under a snapshot's name (a leftover *.tmp is ignored and removed by the next write).
//
//   file header (64 bytes)
//     0  u8[8] magic "CLOBJSNP"      16  i64 seq (last record included)    40  u32 CRC-32 of the body
//     8  u32   format version (1)    24  u64 engine state digest           44  ... zero
//    12  u32   zero                  32  u64 body length                   60  u32 CRC-32 of bytes 0..59
//   then the body: Engine.snapshot() bytes (which carry their own CRC and digest).
import { crc32 } from 'node:zlib';
import { open, rename, unlink, readdir } from 'node:fs/promises';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readdirSync, readSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Engine, type EngineOptions } from '../engine.js';
import { readSeq, writeSeq } from './segment.js';

export const SNAPSHOT_FILE_MAGIC = 'CLOBJSNP';
export const SNAPSHOT_FILE_VERSION = 1;
export const SNAPSHOT_FILE_HEADER = 64;
const NAME_RE = /^snapshot-(\d{20})\.cls$/;

export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(20, '0')}.cls`;
}

export interface SnapshotInfo {
  path: string;
  /** The last journal seq the snapshot includes (from the name). */
  seq: number;
  /** From the header, when the header is valid. */
  digest?: bigint;
  bytes: number;
  /** What is wrong with the header, if anything (the body is checked only by loading). */
  problem?: string;
}

function encodeHeader(seq: number, digest: bigint, body: Uint8Array, bodyCrc: number): Uint8Array {
  const h = new Uint8Array(SNAPSHOT_FILE_HEADER);
  const v = new DataView(h.buffer);
  for (let i = 0; i < 8; i++) h[i] = SNAPSHOT_FILE_MAGIC.charCodeAt(i);
  v.setUint32(8, SNAPSHOT_FILE_VERSION, true);
  writeSeq(v, 16, seq);
  v.setBigUint64(24, digest, true);
  v.setBigUint64(32, BigInt(body.length), true);
  v.setUint32(40, bodyCrc, true);
  v.setUint32(60, crc32(h.subarray(0, 60)), true);
  return h;
}

function decodeHeader(h: Uint8Array): { seq: number; digest: bigint; length: number; bodyCrc: number } | string {
  if (h.length < SNAPSHOT_FILE_HEADER) return `file is ${h.length} bytes: shorter than the header`;
  const v = new DataView(h.buffer, h.byteOffset, SNAPSHOT_FILE_HEADER);
  if (v.getUint32(60, true) !== crc32(h.subarray(0, 60))) return 'header checksum mismatch';
  for (let i = 0; i < 8; i++) if (h[i] !== SNAPSHOT_FILE_MAGIC.charCodeAt(i)) return 'bad magic';
  if (v.getUint32(8, true) !== SNAPSHOT_FILE_VERSION) return `format version ${v.getUint32(8, true)}`;
  return { seq: readSeq(v, 16), digest: v.getBigUint64(24, true), length: Number(v.getBigUint64(32, true)), bodyCrc: v.getUint32(40, true) };
}

/**
 * Writes `engine`'s state as the snapshot after record `seq` (the caller guarantees the engine has
 * run exactly the journal's records up to and including seq, and that they are durable in the
 * journal), atomically and durably. Returns the file's info.
 */
export async function writeSnapshot(dir: string, engine: Engine, seq: number): Promise<SnapshotInfo> {
  return writeSnapshotBytes(dir, engine.snapshot(), engine.digest(), seq);
}

/**
 * writeSnapshot for bytes taken earlier (Engine.snapshot()) with that state's digest. `bodyCrc`,
 * the CRC-32 of `body`, is computed here (on this thread) unless the caller has it (a CRC worker's).
 */
export async function writeSnapshotBytes(dir: string, body: Uint8Array, digest: bigint, seq: number, bodyCrc?: number): Promise<SnapshotInfo> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be an integer from 0 to 2^53; got ${seq}`);
  const header = encodeHeader(seq, digest, body, bodyCrc ?? crc32(body));
  const path = join(resolve(dir), snapshotName(seq));
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    let pos = 0;
    for (const b of [header, body]) {
      let off = 0;
      while (off < b.length) {
        const { bytesWritten } = await fh.write(b, off, b.length - off, pos);
        off += bytesWritten;
        pos += bytesWritten;
      }
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  const d = await open(resolve(dir), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  // Leftovers of interrupted writes.
  for (const name of await readdir(resolve(dir))) {
    if (name.startsWith('snapshot-') && name.endsWith('.tmp') && !name.includes(`.${process.pid}.`)) await unlink(join(resolve(dir), name)).catch(() => undefined);
  }
  return { path, seq, digest, bytes: header.length + body.length };
}

/** The snapshots in a directory, newest (highest seq) first, with their headers checked. */
export function listSnapshots(dir: string): SnapshotInfo[] {
  const full = resolve(dir);
  if (!existsSync(full)) return [];
  const out: SnapshotInfo[] = [];
  for (const name of readdirSync(full)) {
    const m = NAME_RE.exec(name);
    if (!m) continue;
    const path = join(full, name);
    const fd = openSync(path, 'r');
    let size = 0;
    const head = new Uint8Array(SNAPSHOT_FILE_HEADER);
    let n = 0;
    try {
      n = readSync(fd, head, 0, SNAPSHOT_FILE_HEADER, 0);
      size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
    const info: SnapshotInfo = { path, seq: Number(m[1]), bytes: size };
    const h = decodeHeader(head.subarray(0, n));
    if (typeof h === 'string') info.problem = h;
    else if (h.seq !== info.seq) info.problem = `header says seq ${h.seq}, the name says ${info.seq}`;
    else if (size !== SNAPSHOT_FILE_HEADER + h.length) info.problem = `file is ${size} bytes; the header says ${SNAPSHOT_FILE_HEADER + h.length}`;
    else info.digest = h.digest;
    out.push(info);
  }
  return out.sort((a, b) => b.seq - a.seq);
}

export interface LoadedSnapshot {
  engine: Engine;
  seq: number;
  digest: bigint;
  path: string;
}

export interface LoadOptions {
  /** Ignore snapshots after this seq (e.g. beyond the journal's end). */
  maxSeq?: number;
  /** Ignore snapshots before this seq (e.g. the journal's first seq - 1: the records after older ones were pruned). */
  minSeq?: number;
  /** Restore the oldest usable snapshot instead of the newest (the longest replay: `clob replay`, the recovery cross-check). */
  oldest?: boolean;
  build?: EngineOptions['build'];
  batchSize?: number;
  /** Called for each snapshot passed over as damaged: the message, the file and what is wrong (default: console.warn). */
  onWarning?: (message: string, path: string, problem: string) => void;
}

/**
 * Restores the newest (or, with `oldest`, the oldest) valid snapshot within [minSeq, maxSeq]:
 * header, body CRC, Engine.restore's own CRC and digest, and the digest in the file header. A
 * damaged one is passed over with a warning, falling back to the next. Snapshots outside the
 * range are passed over silently (the caller names the range when nothing is usable).
 * Undefined when none is usable.
 */
export function loadSnapshot(dir: string, options: LoadOptions = {}): LoadedSnapshot | undefined {
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const inRange = listSnapshots(dir).filter((info) => (options.maxSeq === undefined || info.seq <= options.maxSeq) && (options.minSeq === undefined || info.seq >= options.minSeq));
  if (options.oldest) inRange.reverse();
  const passOver = (info: SnapshotInfo, problem: string) => warn(`snapshot ${info.path} is unusable (${problem}): falling back to ${options.oldest ? 'a newer' : 'an older'} one`, info.path, problem);
  for (const info of inRange) {
    if (info.problem) {
      passOver(info, info.problem);
      continue;
    }
    try {
      const bytes = readFileSync(info.path);
      const problem = snapshotProblem(bytes, info.seq);
      if (problem) throw new Error(problem);
      const h = decodeHeader(bytes) as Exclude<ReturnType<typeof decodeHeader>, string>;
      const engine = Engine.restore(bytes.subarray(SNAPSHOT_FILE_HEADER), { build: options.build, batchSize: options.batchSize });
      const digest = engine.digest();
      if (digest !== h.digest) throw new Error(`restored digest ${digest.toString(16)} differs from the header's ${h.digest.toString(16)}`);
      return { engine, seq: info.seq, digest, path: info.path };
    } catch (e) {
      passOver(info, (e as Error).message);
    }
  }
  return undefined;
}

/**
 * What is wrong with a snapshot file (header, lengths, seq against the name's, body CRC), or
 * undefined if it checks out. Cheaper than restoring it (no engine); retention uses it to count
 * only valid snapshots.
 */
export function checkSnapshotFile(path: string): string | undefined {
  const m = NAME_RE.exec(basename(path));
  if (!m) return 'not named snapshot-<seq>.cls';
  try {
    return snapshotProblem(readFileSync(path), Number(m[1]));
  } catch (e) {
    return `cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

function snapshotProblem(bytes: Uint8Array, nameSeq: number): string | undefined {
  const h = decodeHeader(bytes);
  if (typeof h === 'string') return h;
  if (h.seq !== nameSeq) return `header says seq ${h.seq}, the name says ${nameSeq}`;
  if (bytes.length !== SNAPSHOT_FILE_HEADER + h.length) return `file is ${bytes.length} bytes; the header says ${SNAPSHOT_FILE_HEADER + h.length}`;
  if (crc32(bytes.subarray(SNAPSHOT_FILE_HEADER)) !== h.bodyCrc) return 'body checksum mismatch';
  return undefined;
}

// A minimal zip reader: the central directory, stored and deflate entries, CRC-32 checked.
// No dependencies beyond node:zlib (raw inflate). Anything else (zip64, encryption, other
// compression methods, multi-disk archives) is refused with an error that says what and where.
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local file header. */
  localHeaderOffset: number;
  flags: number;
}

const EOCD_SIG = 0x06054b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, the zip one) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class ZipError extends Error {
  constructor(label: string, message: string) {
    super(`${label}: ${message}`);
    this.name = 'ZipError';
  }
}

/** The entries of the central directory, in directory order. `label` names the archive in errors. */
export function listZip(zip: Uint8Array, label = 'zip'): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  if (zip.length < EOCD_MIN) throw new ZipError(label, `not a zip archive (${zip.length} bytes, too short for an end-of-central-directory record)`);
  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 64 KiB.
  let eocd = -1;
  const lowest = Math.max(0, zip.length - EOCD_MIN - MAX_COMMENT);
  for (let at = zip.length - EOCD_MIN; at >= lowest; at--) {
    if (view.getUint32(at, true) === EOCD_SIG && at + EOCD_MIN + view.getUint16(at + 20, true) === zip.length) { eocd = at; break; }
  }
  if (eocd < 0) throw new ZipError(label, 'not a zip archive (no end-of-central-directory record)');
  const disk = view.getUint16(eocd + 4, true);
  const cdDisk = view.getUint16(eocd + 6, true);
  const entriesHere = view.getUint16(eocd + 8, true);
  const entries = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (disk !== 0 || cdDisk !== 0 || entriesHere !== entries) throw new ZipError(label, 'multi-disk (split) archives are not supported');
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new ZipError(label, 'zip64 archives are not supported');
  if (cdOffset + cdSize > eocd) throw new ZipError(label, `central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end-of-central-directory record at ${eocd}: truncated or corrupt`);

  const out: ZipEntry[] = [];
  let at = cdOffset;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > cdOffset + cdSize || view.getUint32(at, true) !== CDIR_SIG) {
      throw new ZipError(label, `central directory entry ${i + 1} of ${entries} at offset ${at} is missing or corrupt`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const localHeaderOffset = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLen));
    if (compressedSize === 0xffffffff || size === 0xffffffff || localHeaderOffset === 0xffffffff) {
      throw new ZipError(label, `entry '${name}' uses zip64 sizes, which are not supported`);
    }
    out.push({ name, method, crc32: crc, compressedSize, size, localHeaderOffset, flags });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The uncompressed bytes of one entry: stored or deflate, length and CRC-32 checked. */
export function readZipEntry(zip: Uint8Array, entry: ZipEntry, label = 'zip'): Uint8Array {
  if (entry.flags & 1) throw new ZipError(label, `entry '${entry.name}' is encrypted, which is not supported`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new ZipError(label, `entry '${entry.name}' uses compression method ${entry.method}; only 0 (stored) and 8 (deflate) are supported`);
  }
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const lh = entry.localHeaderOffset;
  if (lh + 30 > zip.length || view.getUint32(lh, true) !== LOCAL_SIG) throw new ZipError(label, `entry '${entry.name}': no local file header at offset ${lh} (truncated or corrupt)`);
  // Sizes and CRC come from the central directory: with flag bit 3 the local header holds zeros.
  const start = lh + 30 + view.getUint16(lh + 26, true) + view.getUint16(lh + 28, true);
  const end = start + entry.compressedSize;
  if (end > zip.length) throw new ZipError(label, `entry '${entry.name}': data runs past the end of the archive (truncated)`);
  const raw = zip.subarray(start, end);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else {
    try {
      data = inflateRawSync(raw);
    } catch (e) {
      throw new ZipError(label, `entry '${entry.name}': deflate data is corrupt (${(e as Error).message})`);
    }
  }
  if (data.length !== entry.size) throw new ZipError(label, `entry '${entry.name}': ${data.length} bytes after decompression, the directory says ${entry.size}`);
  const crc = crc32(data);
  if (crc !== entry.crc32) {
    throw new ZipError(label, `entry '${entry.name}': CRC-32 mismatch (data ${crc.toString(16).padStart(8, '0')}, directory ${entry.crc32.toString(16).padStart(8, '0')}): the archive is corrupt`);
  }
  return data;
}

/** Every file entry (directories skipped) by name. */
export function unzip(zip: Uint8Array, label = 'zip'): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const entry of listZip(zip, label)) {
    if (entry.name.endsWith('/')) continue;
    out.set(entry.name, readZipEntry(zip, entry, label));
  }
  return out;
}

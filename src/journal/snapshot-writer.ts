// Snapshots that block the event loop only for what must be consistent: the digest and the copy
// of the engine's arena, between two batches (capture). Everything after it runs off the event
// loop: the snapshot's CRC-32 and the file's body CRC-32 on a worker thread (over a shared-memory
// copy), the write, fsync and rename with async I/O (writeSnapshotBytes). One buffer is reused
// for every snapshot, faulted in by the worker before the first one.
//
//   const snapshots = await SnapshotWriter.start(engine);   // before traffic
//   const captured = snapshots.capture(engine);             // between two batches: synchronous
//   const sealed = snapshots.seal(captured);                // starts the CRCs on the worker
//   await journal.commit();                                 // the journal durable up to seq
//   const info = await snapshots.write(dir, await sealed, seq);
//   await snapshots.close();
//
// The file written is byte for byte the one writeSnapshot(dir, engine, seq) writes for the same
// state (test/snapshot.test.ts).
import type { Engine } from '../engine.js';
import { crc32 } from 'node:zlib';
import { checksumRanges, crc32Ranges, sealSnapshot } from '../snapshot-format.js';
import { Crc32Worker, sharedBytes } from '../crc-worker.js';
import { writeSnapshotBytes, type SnapshotInfo } from './snapshots.js';

export interface CapturedSnapshot {
  /** The unsealed snapshot: a view of the writer's buffer, valid until the next capture. */
  bytes: Uint8Array;
  digest: bigint;
}

export interface SealedSnapshot extends CapturedSnapshot {
  /** The CRC-32 of `bytes` (the snapshot file's body CRC). */
  bodyCrc: number;
}

export class SnapshotWriter {
  private constructor(private crc: Crc32Worker, private buffer: Uint8Array) {}

  /** A writer with its worker and its buffer (sized for `engine`, pages faulted in) ready. */
  static async start(engine: Engine): Promise<SnapshotWriter> {
    const crc = new Crc32Worker();
    const buffer = sharedBytes(engine.maxSnapshotBytes);
    try {
      await crc.touch(buffer);
    } catch (e) {
      await crc.close();
      throw e;
    }
    return new SnapshotWriter(crc, buffer);
  }

  /** The synchronous part: `engine`'s state now (call it between two batches), copied. */
  capture(engine: Engine): CapturedSnapshot {
    if (this.buffer.length < engine.maxSnapshotBytes) this.buffer = sharedBytes(engine.maxSnapshotBytes);
    return engine.captureSnapshot(this.buffer);
  }

  /**
   * Seals a captured snapshot and checksums the result, on the worker. Should the worker be gone
   * (it crashed), this snapshot's CRCs run on this thread and a new worker serves the next one.
   */
  async seal(captured: CapturedSnapshot): Promise<SealedSnapshot> {
    const { bytes } = captured;
    try {
      sealSnapshot(bytes, await this.crc.crc32(bytes, checksumRanges(bytes.length)));
      return { ...captured, bodyCrc: await this.crc.crc32(bytes) };
    } catch {
      void this.crc.close();
      this.crc = new Crc32Worker();
      sealSnapshot(bytes, crc32Ranges(bytes, checksumRanges(bytes.length)));
      return { ...captured, bodyCrc: crc32(bytes) };
    }
  }

  /** Writes a sealed snapshot as the one after record `seq` (writeSnapshotBytes: atomic, durable). */
  write(dir: string, sealed: SealedSnapshot, seq: number): Promise<SnapshotInfo> {
    return writeSnapshotBytes(dir, sealed.bytes, sealed.digest, seq, sealed.bodyCrc);
  }

  async close(): Promise<void> {
    await this.crc.close();
  }
}

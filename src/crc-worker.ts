// CRC-32 off the main thread: a worker computes zlib's crc32 over ranges of a buffer in shared
// memory that the caller hands it (no copy: the view is posted, its SharedArrayBuffer is shared),
// so that checksumming a large snapshot (17-38 ms for 53 MiB with zlib here) does not block the
// event loop. It also faults in fresh buffers (a write per 4 KiB page), so the main thread's copy
// into them does not pay the page faults (250 ms for 53 MiB, bench/snapshot.ts).
//
// The worker is plain JavaScript (eval): worker threads do not inherit `--import tsx`, and it
// needs nothing from the project.
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { crc32 } = require('node:zlib');
parentPort.on('message', ({ id, op, bytes, ranges }) => {
  if (op === 'touch') {
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 0;
    parentPort.postMessage({ id, crc: 0 });
    return;
  }
  let crc = 0;
  for (const [start, end] of ranges) crc = crc32(bytes.subarray(start, end), crc);
  parentPort.postMessage({ id, crc });
});
`;

/** A Uint8Array over new shared memory, which a Crc32Worker can read. */
export function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

export class Crc32Worker {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private readonly pending = new Map<number, { resolve: (crc: number) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Why the worker is gone (then every request fails at once instead of waiting forever). */
  private gone: Error | undefined;

  constructor() {
    this.worker.unref(); // an idle checksum worker never keeps the process alive
    this.worker.on('message', ({ id, crc }: { id: number; crc: number }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.resolve(crc);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the CRC worker exited (code ${code})`)));
  }

  /** zlib's CRC-32 chained over `ranges` ([start, end)) of `bytes`, which must be in shared memory. */
  crc32(bytes: Uint8Array, ranges: [number, number][] = [[0, bytes.length]]): Promise<number> {
    return this.request('crc', bytes, ranges);
  }

  /** Resolves once every 4 KiB page of `bytes` (shared memory) has been written once by the worker. */
  async touch(bytes: Uint8Array): Promise<void> {
    await this.request('touch', bytes, []);
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  private request(op: string, bytes: Uint8Array, ranges: [number, number][]): Promise<number> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new TypeError('the CRC worker reads shared memory only: pass a view of a SharedArrayBuffer');
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // busy: keep the process alive until the answer
      this.worker.postMessage({ id, op, bytes, ranges });
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  private failAll(e: Error): void {
    this.gone ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

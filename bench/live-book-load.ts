// The active reader of bench/live-book.ts: reads the live book as fast as it can (depth of both
// sides, 10 levels, then one order lookup by id) until told to stop, pausing pauseUs microseconds
// between rounds (0: none, a busy reader); reports its counts.
// workerData: { book (LiveBook), ctl (SAB: [ready, stop]), maxId, pauseUs }.
import { parentPort, workerData } from 'node:worker_threads';
import { LiveBookReader } from '../src/live-book-reader.js';
import * as layout from '../assembly/layout.js';

const L = { ...layout };
const ctl = new Int32Array(workerData.ctl);
const r = new LiveBookReader(workerData.book);
let calls = 0;
let rng = 12345;
Atomics.store(ctl, 0, 1);
while (Atomics.load(ctl, 1) === 0) {
  r.depthRows(1, L.SIDE_BUY, 10);
  r.depthRows(1, L.SIDE_SELL, 10);
  rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
  r.orderRow(BigInt(1 + (rng % workerData.maxId)));
  calls += 3;
  if (workerData.pauseUs > 0) Atomics.wait(ctl, 1, 0, workerData.pauseUs / 1000);
}
const s = r.stats();
r.close();
parentPort!.postMessage({ calls, reads: s.reads, retries: s.retries });

// The reader thread of test/live-book-stress.test.ts: reads depth, queues and single orders of
// a book its matcher (the main thread) is churning, through LiveBookReader, and checks every row:
//   depth rows   best first with strictly worsening prices, on tick inside the band, quantities
//                positive whole lots, 1 <= orders, orders x lot <= total <= orders x max quantity;
//   queue rows   positive whole-lot quantities, a client id equal to the checksum of the order's
//                id, account, the queue's price and symbol (support/order-checksum.ts);
//   order rows   the id asked for, a known symbol and side, a price on tick in the band, a
//                positive whole-lot quantity, and the checksum.
// A torn row (fields from before and after a write) or a row from a reused slot fails these.
// workerData: { book, seed, symbols, ctl, rejoinEvery } (ctl: Int32Array over a SAB, indices
// below); rejoinEvery > 0: close the reader and register a new one every that many calls, while
// the matcher runs (batches between the two run unguarded: registration must wait for them).
import { parentPort, workerData } from 'node:worker_threads';
import { LiveBookReader } from '../../src/live-book-reader.js';
import * as layout from '../../assembly/layout.js';
import { symbolConfig } from '../support/random-stream.js';
import { clientChecksum } from '../support/order-checksum.js';

export const CTL_READY = 0; //  the reader is registered and about to read
export const CTL_STOP = 1; //   the matcher is done: stop reading
export const CTL_CALLS = 2; //  reader API calls so far (updated every 1,024)

const L = { ...layout };
const { book, seed, symbols, ctl: ctlBuffer, rejoinEvery = 0 } = workerData;
const ctl = new Int32Array(ctlBuffer);
const MAXQ = BigInt(L.MAX_ORDER_QUANTITY);

try {
  let r = new LiveBookReader(book, { bigint: true });
  const v = r.view;
  let reads = 0, retries = 0, rejoins = 0;
  const configs = Array.from({ length: symbols + 1 }, (_, id) => (id === 0 ? undefined : symbolConfig(seed, id)));
  let failures = 0;
  const examples: string[] = [];
  const fail = (msg: string) => {
    failures++;
    if (examples.length < 5) examples.push(msg);
  };
  let calls = 0, depthRows = 0, queueRows = 0, found = 0, missing = 0;
  const recentIds = new BigInt64Array(256);
  let nIds = 0;
  let rng = seed >>> 0;
  const rand = (n: number) => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng % n;
  };
  const topPrices: bigint[] = [];

  Atomics.store(ctl, CTL_READY, 1);
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    if (rejoinEvery > 0 && calls % rejoinEvery === rejoinEvery - 1) {
      const st = r.stats();
      reads += st.reads;
      retries += st.retries;
      r.close();
      r = new LiveBookReader(book, { bigint: true });
      rejoins++;
    }
    const s = 1 + rand(symbols);
    const c = configs[s]!;
    const tick = BigInt(c.tick), lot = BigInt(c.lot), lo = BigInt(c.bandMin), hi = BigInt(c.bandMax);
    const op = calls & 3;
    if (op < 2) {
      const side = op === 0 ? L.SIDE_BUY : L.SIDE_SELL;
      const n = r.depthRows(s, side, 10);
      let prev: bigint | undefined;
      topPrices.length = 0;
      for (let k = 0; k < n; k++) {
        const row = r.rows + k * L.DEPTH_ROW_SIZE;
        const price = v.getBigInt64(row + L.DEPTH_PRICE, true);
        const total = v.getBigInt64(row + L.DEPTH_TOTAL, true);
        const orders = BigInt(v.getUint32(row + L.DEPTH_COUNT, true));
        if (price < lo || price > hi || (price - lo) % tick !== 0n) fail(`depth ${s}: price ${price} off the band or tick`);
        if (prev !== undefined && (side === L.SIDE_BUY ? price >= prev : price <= prev)) fail(`depth ${s}: ${price} after ${prev} is not worse`);
        if (orders < 1n || total % lot !== 0n || total < orders * lot || total > orders * MAXQ) fail(`depth ${s}: total ${total} for ${orders} orders (lot ${lot})`);
        prev = price;
        topPrices.push(price);
      }
      depthRows += n;
      if (topPrices.length > 0) {
        // The queue at one of the levels just read.
        const price = topPrices[rand(topPrices.length)];
        const q = r.queueRows(s, side, price, 64);
        for (let k = 0; k < q; k++) {
          const row = r.rows + k * L.QUEUE_ROW_SIZE;
          const id = v.getBigInt64(row + L.QUEUE_ORDER_ID, true);
          const rem = v.getBigInt64(row + L.QUEUE_REMAINING, true);
          const client = v.getBigInt64(row + L.QUEUE_CLIENT_ID, true);
          const account = v.getUint32(row + L.QUEUE_ACCOUNT, true);
          if (id <= 0n || rem <= 0n || rem % lot !== 0n || rem > MAXQ) fail(`queue ${s} @${price}: order ${id} remaining ${rem}`);
          if (client !== clientChecksum(id, account, price, s)) fail(`queue ${s} @${price}: order ${id} client id ${client} is not its checksum`);
          recentIds[nIds++ & 255] = id;
        }
        queueRows += q;
        calls++;
      }
    } else {
      // An id seen resting lately (often still live), or one that may never have rested.
      const id = nIds > 0 && rand(4) !== 0 ? recentIds[rand(Math.min(nIds, 256))] : BigInt(1 + rand(200_000));
      if (r.orderRow(id)) {
        found++;
        const at = r.rows;
        const price = v.getBigInt64(at + L.ORDER_PRICE, true);
        const rem = v.getBigInt64(at + L.ORDER_REMAINING, true);
        const client = v.getBigInt64(at + L.ORDER_CLIENT_ID, true);
        const symbol = v.getUint32(at + L.ORDER_SYMBOL, true);
        const account = v.getUint32(at + L.ORDER_ACCOUNT, true);
        const side = v.getUint8(at + L.ORDER_SIDE);
        const cfg = configs[symbol];
        if (v.getBigInt64(at + L.ORDER_ID, true) !== id) fail(`order ${id}: row of another id`);
        if (side !== L.SIDE_BUY && side !== L.SIDE_SELL) fail(`order ${id}: side ${side}`);
        if (!cfg) {
          if (symbol < 1 || symbol > symbols + 3) fail(`order ${id}: symbol ${symbol}`);
        } else if (price < BigInt(cfg.bandMin) || price > BigInt(cfg.bandMax) || (price - BigInt(cfg.bandMin)) % BigInt(cfg.tick) !== 0n ||
            rem <= 0n || rem % BigInt(cfg.lot) !== 0n || rem > MAXQ) {
          fail(`order ${id}: price ${price} remaining ${rem} break symbol ${symbol}'s rules`);
        }
        if (client !== clientChecksum(id, account, price, symbol)) fail(`order ${id}: client id ${client} is not its checksum`);
      } else {
        missing++;
      }
    }
    calls++;
    if ((calls & 1023) === 0) Atomics.store(ctl, CTL_CALLS, calls);
  }
  const stats = r.stats();
  r.close();
  parentPort!.postMessage({ ok: true, calls, depthRows, queueRows, found, missing, failures, examples, reads: reads + stats.reads, retries: retries + stats.retries, rejoins });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: String((e as Error).stack ?? e) });
}

// The reader thread of test/live-book-stress.test.ts: reads depth, queues and single orders of
// a book its matcher (the main thread) is churning, through LiveBookReader, and checks every row.
// Each read returns what the matcher wrote at one moment, so the rows must agree with themselves
// and with each other:
//   depth rows   best first with strictly worsening prices, on tick inside the band, quantities
//                positive whole lots, 1 <= orders, orders x lot <= total <= orders x max quantity;
//   queue        the level's depth row read in the same walk (after the rows) has the price asked
//                for and passes the depth checks; as many rows as its orders (up to the limit);
//                their remainings sum to its total when all were read (otherwise the rest fits);
//                ids unique;
//   queue rows   positive whole-lot remainings no larger than the quantity carried in the client
//                id, and a client id whose hash matches the order's id, account, the queue's price
//                and symbol (support/order-checksum.ts);
//   order rows   the id asked for, a known symbol and side, a price on tick in the band, a
//                positive whole-lot remaining no larger than the client id's quantity, the hash.
//   guards     the reads run in guards of `guardSteps` reads each: an order slot found twice in
//              one guard holds the same order (generation) both times (limbo.ts defers its reuse;
//              the matcher reuses it early only at capacity, which the test reports).
// A torn row (fields from before and after a write) or a row from a reused slot fails these; a
// queue walk cut short or crossing into a reused slot fails the level checks. Failures are counted
// by kind.
// workerData: { book, seed, symbols, ctl, guardSteps, rejoinEvery } (ctl: Int32Array over a SAB,
// indices below); rejoinEvery > 0: close the reader and register a new one after every that many
// guards, while the matcher runs (batches between the two run unguarded: registration must wait
// for them).
import { parentPort, workerData } from 'node:worker_threads';
import { LiveBookReader } from '../../src/live-book-reader.js';
import * as layout from '../../assembly/layout.js';
import { symbolConfig } from '../support/random-stream.js';
import { checksumOk, quantityOf } from '../support/order-checksum.js';

export const CTL_READY = 0; //  the reader is registered and about to read
export const CTL_STOP = 1; //   the matcher is done: stop reading
export const CTL_CALLS = 2; //  reader API calls so far (updated after every guard)

const L = { ...layout };
const { book, seed, symbols, ctl: ctlBuffer, guardSteps, rejoinEvery = 0 } = workerData;
const ctl = new Int32Array(ctlBuffer);
const MAXQ = BigInt(L.MAX_ORDER_QUANTITY);
const QUEUE_MAX = 64;

try {
  let r = new LiveBookReader(book, { bigint: true });
  const v = r.view;
  let reads = 0, retries = 0, rejoins = 0;
  const configs = Array.from({ length: symbols + 1 }, (_, id) => (id === 0 ? undefined : symbolConfig(seed, id)));
  let failures = 0;
  const examples: string[] = [];
  const kinds: Record<string, number> = {};
  const fail = (kind: string, msg: string) => {
    failures++;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (examples.length < 5) examples.push(`${kind}: ${msg}`);
  };
  let calls = 0, depthRows = 0, queueRows = 0, wholeQueues = 0, found = 0, missing = 0;
  const queueIds = new Set<bigint>();
  const guardSlots = new Map<number, number>();
  const recentIds = new BigInt64Array(256);
  let nIds = 0;
  let rng = seed >>> 0;
  const rand = (n: number) => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng % n;
  };
  const topPrices: bigint[] = [];
  let tick = 0n, lot = 0n, lo = 0n, hi = 0n; // the symbol being read
  /** The checks of one depth row (a level read whole), at `row`. */
  const checkLevel = (where: string, row: number) => {
    const price = v.getBigInt64(row + L.DEPTH_PRICE, true);
    const total = v.getBigInt64(row + L.DEPTH_TOTAL, true);
    const orders = BigInt(v.getUint32(row + L.DEPTH_COUNT, true));
    if (price < lo || price > hi || (price - lo) % tick !== 0n) fail('level price', `${where}: price ${price} off the band or tick`);
    if (orders < 1n || total % lot !== 0n || total < orders * lot || total > orders * MAXQ) fail('level total', `${where}: total ${total} for ${orders} orders (lot ${lot})`);
  };

  /** One read and its checks (a depth read is followed by a queue read: two calls). */
  const step = () => {
    const s = 1 + rand(symbols);
    const c = configs[s]!;
    tick = BigInt(c.tick), lot = BigInt(c.lot), lo = BigInt(c.bandMin), hi = BigInt(c.bandMax);
    const op = calls & 3;
    if (op < 2) {
      const side = op === 0 ? L.SIDE_BUY : L.SIDE_SELL;
      const n = r.depthRows(s, side, 10);
      let prev: bigint | undefined;
      topPrices.length = 0;
      for (let k = 0; k < n; k++) {
        const row = r.rows + k * L.DEPTH_ROW_SIZE;
        const price = v.getBigInt64(row + L.DEPTH_PRICE, true);
        if (prev !== undefined && (side === L.SIDE_BUY ? price >= prev : price <= prev)) fail('depth order', `${s}: ${price} after ${prev} is not worse`);
        checkLevel(`depth ${s}`, row);
        prev = price;
        topPrices.push(price);
      }
      depthRows += n;
      if (topPrices.length > 0) {
        // The queue at one of the levels just read.
        const price = topPrices[rand(topPrices.length)];
        const q = r.queueRows(s, side, price, QUEUE_MAX);
        let sum = 0n;
        queueIds.clear();
        for (let k = 0; k < q; k++) {
          const row = r.rows + k * L.QUEUE_ROW_SIZE;
          const id = v.getBigInt64(row + L.QUEUE_ORDER_ID, true);
          const rem = v.getBigInt64(row + L.QUEUE_REMAINING, true);
          const client = v.getBigInt64(row + L.QUEUE_CLIENT_ID, true);
          const account = v.getUint32(row + L.QUEUE_ACCOUNT, true);
          if (id <= 0n || rem <= 0n || rem % lot !== 0n || rem > quantityOf(client)) fail('queue row', `${s} @${price}: order ${id} remaining ${rem} (quantity ${quantityOf(client)})`);
          if (!checksumOk(client, id, account, price, s)) fail('queue checksum', `${s} @${price}: order ${id} client id ${client}`);
          if (queueIds.has(id)) fail('queue duplicate', `${s} @${price}: order ${id} twice`);
          queueIds.add(id);
          recentIds[nIds++ & 255] = id;
          sum += rem;
        }
        if (q > 0) {
          // The level as read in the same walk: the rows are its queue (or the head of it).
          const row = r.rows + q * L.QUEUE_ROW_SIZE;
          const lvPrice = v.getBigInt64(row + L.DEPTH_PRICE, true);
          const total = v.getBigInt64(row + L.DEPTH_TOTAL, true);
          const orders = v.getUint32(row + L.DEPTH_COUNT, true);
          if (lvPrice !== price) fail('queue level', `${s} @${price}: level row of price ${lvPrice}`);
          checkLevel(`queue ${s} @${price}`, row);
          if (q !== Math.min(orders, QUEUE_MAX)) fail('queue length', `${s} @${price}: ${q} rows of ${orders} orders`);
          const rest = BigInt(orders - q);
          if (total < sum + rest * lot || total > sum + rest * MAXQ) fail('queue total', `${s} @${price}: total ${total}, rows sum ${sum} with ${rest} orders not read`);
          if (q === orders) wholeQueues++;
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
        if (v.getBigInt64(at + L.ORDER_ID, true) !== id) fail('order id', `${id}: row of another id`);
        if (side !== L.SIDE_BUY && side !== L.SIDE_SELL) fail('order side', `${id}: side ${side}`);
        if (!cfg) {
          if (symbol < 1 || symbol > symbols + 3) fail('order symbol', `${id}: symbol ${symbol}`);
        } else if (price < BigInt(cfg.bandMin) || price > BigInt(cfg.bandMax) || (price - BigInt(cfg.bandMin)) % BigInt(cfg.tick) !== 0n ||
            rem <= 0n || rem % BigInt(cfg.lot) !== 0n || rem > MAXQ) {
          fail('order rules', `${id}: price ${price} remaining ${rem} break symbol ${symbol}'s rules`);
        }
        if (rem > quantityOf(client)) fail('order remaining', `${id}: remaining ${rem} over the quantity ${quantityOf(client)} of its client id`);
        if (!checksumOk(client, id, account, price, symbol)) fail('order checksum', `${id}: client id ${client}`);
      const handle = v.getBigUint64(at + L.ORDER_HANDLE, true);
      const slot = Number(handle & 0xffffffffn), gen = Number(handle >> 32n);
      const seen = guardSlots.get(slot);
      if (seen === undefined) guardSlots.set(slot, gen);
      else if (seen !== gen) fail('slot reused in a guard', `order ${id} in slot ${slot} generation ${gen}, generation ${seen} earlier in the same guard`);
      } else {
        missing++;
      }
    }
    calls++;
  };

  Atomics.store(ctl, CTL_READY, 1);
  let guards = 0;
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    if (rejoinEvery > 0 && guards > 0 && guards % rejoinEvery === 0) {
      const st = r.stats();
      reads += st.reads;
      retries += st.retries;
      r.close();
      r = new LiveBookReader(book, { bigint: true });
      rejoins++;
    }
    guardSlots.clear();
    r.guard(() => {
      for (let k = 0; k < guardSteps; k++) step();
    });
    guards++;
    Atomics.store(ctl, CTL_CALLS, calls);
  }
  const stats = r.stats();
  r.close();
  parentPort!.postMessage({ ok: true, calls, depthRows, queueRows, wholeQueues, found, missing, failures, kinds, examples, reads: reads + stats.reads, retries: retries + stats.retries, rejoins });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: String((e as Error).stack ?? e) });
}

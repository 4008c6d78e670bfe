// `clob replay --lobster`: replays a LOBSTER day (src/lobster.ts converts it) through an Engine.
//
// Three passes over one converted command stream, so that each figure measures one thing:
//   1. conversion (src/lobster.ts): zip -> rows -> commands, with the seeding, unknown-id handling
//      and resync it needs. Not timed.
//   2. throughput: the encoded stream through a fresh Engine in batches (CommandWriter.append +
//      run, no event callback), `runs` times; only the run() calls are inside the clock.
//   3. verification (not timed): the stream again, a fresh Engine, stopping at every message's
//      measure point (after its own commands, before its resync) to read the best bid and ask
//      (price and size) and compare them with LOBSTER's orderbook row, and to check that every
//      type-4 execution traded against the order LOBSTER names, and only against it.
import { existsSync } from 'node:fs';
import * as L from '../assembly/layout.js';
import { Engine } from './engine.js';
import { CoreBuild } from './core.js';
import {
  readLobsterZip, convertLobster, ConvertedStream, ConversionStats, LobsterMessage, LobsterBookRow,
  LOBSTER_SYMBOL, LOBSTER_TICK, SYNTHETIC_ID_BASE, LOBSTER_BAND_MIN, LOBSTER_BAND_MAX, EMPTY_ASK, EMPTY_BID,
  KIND_NAMES, F_UNKNOWN_ID, F_UNCOVERED, F_HALTED, F_REJECT_EXPECTED, F_NOT_AT_HEAD,
} from './lobster.js';
import { REJECT_NAMES } from './codes.js';
import { machineInfo, describeMachine, MachineInfo } from '../bench/machine.js';

export interface ReplayOptions {
  /** Timed runs of the whole stream (default 10, after one warm-up run); the median and best are reported. */
  runs?: number;
  /** Wasm build (default 'release'). */
  build?: CoreBuild;
  /** Examples kept per category of disagreeing rows (default 3). */
  examples?: number;
}

export interface Top { askPrice: number; askSize: number; bidPrice: number; bidSize: number }

export interface DisagreementExample { row: number; message: string; lobster: Top; replay: Top; note: string }

export interface DisagreementClass { count: number; explanation: string; examples: DisagreementExample[]; detail: Record<string, number> }

export interface ReplayReport {
  file: string;
  messageFile: string;
  orderbookFile: string;
  messages: number;
  conversion: ConversionStats & { seconds: number };
  throughput: {
    note: string;
    build: CoreBuild;
    commands: number;
    events: number;
    runs: number;
    medianSeconds: number;
    bestSeconds: number;
    commandsPerSecond: number;
    bestCommandsPerSecond: number;
    messagesPerSecond: number;
    machine: MachineInfo;
  };
  topOfBook: {
    note: string;
    rows: number;
    agree: number;
    agreeRate: number;
    /** Per field: rows where that field alone or with others differs. */
    fieldMismatches: { askPrice: number; askSize: number; bidPrice: number; bidSize: number };
    disagreements: Record<string, DisagreementClass>;
    levelEmptied: { rows: number; agree: number; note: string };
    /** The rows where no level emptied: here the file holds everything the replay needs. */
    otherRows: { rows: number; agree: number; agreeRate: number };
    /** Rows where the engine's top differs from the converter's shadow book (a differential check; expect 0). */
    engineVsShadow: number;
  };
  executions: {
    note: string;
    type4: number;
    /** Every TRADE of the aggressive order had makerId = the LOBSTER order id and they filled its size. */
    makerAgrees: number;
    makerMismatches: number;
    shortFills: number;
    /** Split: the named order was added by a type-1 message in the file (a real time-priority test) ... */
    knownId: { count: number; agree: number };
    /** Why the others did not (counts and explanations). */
    mismatchClasses: Record<string, { count: number; explanation: string; examples: string[] }>;
    /** ... or it was never added in the file and the converter placed it (materialized). */
    materializedId: { count: number; agree: number };
    mismatchExamples: string[];
  };
  rejects: { expected: number; unexpected: number; byReason: Record<string, number>; examples: string[] };
  engine: { maxOrders: number; ladderTicks: number; liveOrdersAtEnd: number };
}

function describeMessage(m: LobsterMessage): string {
  const t = (m.timeNs / 1e9).toFixed(9);
  return `${t},${m.type},${m.orderId},${m.size},${m.price},${m.direction}`;
}

function topOf(engine: Engine): Top {
  const bid = engine.bestBid(LOBSTER_SYMBOL);
  const ask = engine.bestAsk(LOBSTER_SYMBOL);
  return {
    askPrice: ask ? Number(ask.price) : EMPTY_ASK, askSize: ask ? Number(ask.quantity) : 0,
    bidPrice: bid ? Number(bid.price) : EMPTY_BID, bidSize: bid ? Number(bid.quantity) : 0,
  };
}

const sameTop = (a: Top, b: Top) => a.askPrice === b.askPrice && a.askSize === b.askSize && a.bidPrice === b.bidPrice && a.bidSize === b.bidSize;
const rowTop = (r: LobsterBookRow): Top => ({ askPrice: r.askPrice, askSize: r.askSize, bidPrice: r.bidPrice, bidSize: r.bidSize });

function newEngine(conv: ConversionStats, build: CoreBuild): Engine {
  const ladderTicks = (LOBSTER_BAND_MAX - LOBSTER_BAND_MIN) / LOBSTER_TICK + 1;
  // Live orders: the shadow book's peak (stale orders behind the top accumulate) with headroom.
  const maxOrders = Math.max(4096, 2 ** Math.ceil(Math.log2(conv.peakLiveOrders * 2)));
  return new Engine({
    build, maxOrders, maxSymbols: 1, ladderTicks,
  });
}

/** Copies commands [from, to) into the engine's batch region and runs them, chunk by chunk. */
function feed(engine: Engine, conv: ConvertedStream, from: number, to: number, onEvents?: Parameters<Engine['run']>[0]): number {
  let events = 0;
  const cap = engine.commands.capacity;
  for (let k = from; k < to; k += cap) {
    const count = Math.min(cap, to - k);
    engine.commands.append(conv.commands, k, count);
    events += engine.run(onEvents);
  }
  return events;
}

// ---- classification of disagreeing rows ------------------------------------------------------

const CLASSES: Record<string, string> = {
  'next-level-outside-window':
    'The message emptied the best level on its side (delete, partial cancel or execution of its last shares), so LOBSTER shows the next level: '
    + 'liquidity whose orders were added while that price was behind the top, which a depth-1 file never shows. The replay either has no order '
    + 'there, or stale orders (added when that price was last at the top; some left unseen), or too few/many shares. Resynchronised right after.',
  'unknown-id-cover':
    'The message named an order the file never added, and the synthetic liquidity at its price (from the seed or an earlier resync) was '
    + 'smaller or larger than what LOBSTER shows leaving: the size of the unseen part of the queue was off. Resynchronised right after.',
  'size-mismatch-known-order':
    'The message named an order the replay holds, but the shares it removed do not leave the level at LOBSTER\'s size: '
    + 'an earlier resync had reduced or topped up that level with a different split between named and synthetic orders.',
  'halt': 'The symbol was halted (type 7): clob refuses new orders until the resume; LOBSTER rows during a halt repeat the last book.',
  'other': 'None of the above (kept with examples for inspection).',
};

function classify(conv: ConvertedStream, i: number, replay: Top, lobster: Top): [string, string, string] {
  const m = conv.day.messages[i];
  const f = conv.flags[i];
  const prev = i > 0 ? conv.day.messages[i - 1] : undefined;
  if (f & F_HALTED || m.type === 7 || prev?.type === 7) return ['halt', 'halt', 'halted or just after a halt message'];
  const buy = m.direction === 1;
  const rowPrice = buy ? lobster.bidPrice : lobster.askPrice;
  const myPrice = buy ? replay.bidPrice : replay.askPrice;
  const mySize = buy ? replay.bidSize : replay.askSize;
  const otherSideDiffers = buy
    ? replay.askPrice !== lobster.askPrice || replay.askSize !== lobster.askSize
    : replay.bidPrice !== lobster.bidPrice || replay.bidSize !== lobster.bidSize;
  const removes = m.type === 2 || m.type === 3 || m.type === 4;
  const emptied = removes && rowPrice !== m.price;
  if (!otherSideDiffers && emptied) {
    const [sub, what] = myPrice === (buy ? EMPTY_BID : EMPTY_ASK) ? ['nothing behind it in the replay', 'the replay has nothing behind it']
      : myPrice === rowPrice ? ['right price, wrong size', `right price, ${mySize} shares instead of ${buy ? lobster.bidSize : lobster.askSize}`]
        : ['a stale level at another price', `the replay shows a stale level at ${myPrice}`];
    return ['next-level-outside-window', sub, `level ${m.price} emptied; LOBSTER's next is ${rowPrice}: ${what}`];
  }
  if (!otherSideDiffers && removes && f & F_UNKNOWN_ID) {
    return ['unknown-id-cover', f & F_UNCOVERED ? 'too little' : 'too much', `${f & F_UNCOVERED ? 'too little' : 'too much'} synthetic liquidity at ${m.price}: replay ${mySize}, LOBSTER ${buy ? lobster.bidSize : lobster.askSize}`];
  }
  if (!otherSideDiffers && removes && myPrice === rowPrice) {
    return ['size-mismatch-known-order', 'size', `replay ${mySize}, LOBSTER ${buy ? lobster.bidSize : lobster.askSize} at ${rowPrice}`];
  }
  return ['other', otherSideDiffers ? 'the side the message did not touch differs' : `type ${m.type}`, `flags ${f}`];
}

// ---- the replay --------------------------------------------------------------------------------

export async function replayLobster(zipPath: string, opts: ReplayOptions = {}): Promise<ReplayReport> {
  if (!existsSync(zipPath)) throw new Error(`${zipPath}: no such file`);
  const runs = opts.runs ?? 10;
  const build = opts.build ?? 'release';
  const keep = opts.examples ?? 3;

  const c0 = process.hrtime.bigint();
  const day = readLobsterZip(zipPath);
  const conv = convertLobster(day);
  const conversionSeconds = Number(process.hrtime.bigint() - c0) / 1e9;
  const n = day.messages.length;

  // -- 2. throughput --
  const times: number[] = [];
  let events = 0;
  for (let r = -1; r < runs; r++) { // run -1 warms the JIT and is not counted
    const engine = newEngine(conv.stats, build);
    const cap = engine.commands.capacity;
    events = 0;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < conv.count; k += cap) {
      engine.commands.append(conv.commands, k, Math.min(cap, conv.count - k));
      events += engine.run();
    }
    if (r >= 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const best = sorted[0];

  // -- 3. verification --
  const engine = newEngine(conv.stats, build);
  const fieldMismatches = { askPrice: 0, askSize: 0, bidPrice: 0, bidSize: 0 };
  const disagreements: Record<string, DisagreementClass> = {};
  for (const [k, explanation] of Object.entries(CLASSES)) disagreements[k] = { count: 0, explanation, examples: [], detail: {} };
  let agree = 0;
  let engineVsShadow = 0;
  const levelEmptied = { rows: 0, agree: 0 };
  const rejects = { expected: 0, unexpected: 0, byReason: {} as Record<string, number>, examples: [] as string[] };
  const exec = {
    type4: 0, makerAgrees: 0, makerMismatches: 0, shortFills: 0,
    knownId: { count: 0, agree: 0 }, materializedId: { count: 0, agree: 0 }, mismatchExamples: [] as string[],
  };

  // For explaining maker mismatches: the row each order was added at, and the best prices per row.
  const addedAt = new Map<number, number>();
  day.messages.forEach((m, i) => { if (m.type === 1) addedAt.set(m.orderId, i); });
  const mismatchClasses: Record<string, { count: number; explanation: string; examples: string[] }> = {
    'earlier-orders-ahead': { count: 0, explanation: 'orders ahead of the named one in the replay\'s queue were added before it (smaller ids: NASDAQ assigns them in arrival order), so by time priority they must have left before it traded; they left while their price was behind the top, where a depth-1 file shows no deletes (checked: the level was behind the top at some row between their add and the execution)', examples: [] },
    'exchange-priority-not-arrival-order': { count: 0, explanation: 'the orders that traded first were added before the named one (smaller ids) and their level stayed at the top from their add to the execution, so the replay saw all of their life: the file itself executes a later order first (e.g. lines 22966-22970: 149725946 then 149725949 added at 5711200, 149725949 executes, 149725946 is deleted). NASDAQ\'s queue order is not pure arrival order for some order types (re-ranked displayed orders, for one); no arrival-order book can reproduce these', examples: [] },
    'synthetic-ahead': { count: 0, explanation: 'synthetic liquidity (seed or resync) stood ahead of the named order: the unseen part of the queue was split wrongly between before and after it', examples: [] },
    'named-order-short': { count: 0, explanation: 'the named order traded first but held fewer shares than executed (an earlier resync or unknown-id cover took shares from it, or it was materialized from too little), so the rest filled against the next order', examples: [] },
    'other': { count: 0, explanation: 'none of the above', examples: [] },
  };
  const levelLeftTop = (buy: boolean, price: number, from: number, to: number): boolean => {
    for (let r = Math.max(0, from); r < to; r++) {
      const row = day.book[r];
      if ((buy ? row.bidPrice : row.askPrice) !== price) return true;
    }
    return false;
  };

  let cursor = 0;
  let ioc = -1;
  let makers: number[] = [];
  let filled = 0;
  let messageIndex = 0;
  const onEvents = (ev: Engine['events']) => {
    for (let k = 0; k < ev.count; k++) {
      ev.select(k);
      const idx = ev.seq - 1;
      if (ev.type === L.EV_TRADE && idx === ioc) {
        makers.push(ev.makerId);
        filled += ev.quantity;
      } else if (ev.type === L.EV_REJECTED) {
        const reason = REJECT_NAMES[ev.reason] ?? String(ev.reason);
        rejects.byReason[reason] = (rejects.byReason[reason] ?? 0) + 1;
        const mi = conv.kinds[idx] === 2 ? messageIndex : -1;
        if (mi >= 0 && conv.flags[mi] & F_REJECT_EXPECTED) rejects.expected++;
        else {
          rejects.unexpected++;
          if (rejects.examples.length < keep) rejects.examples.push(`command ${idx} (${KIND_NAMES[conv.kinds[idx]]}) near message ${messageIndex + 1}: ${reason}`);
        }
      }
    }
  };

  for (let i = 0; i < n; i++) {
    messageIndex = i;
    ioc = conv.iocAt[i];
    makers = [];
    filled = 0;
    feed(engine, conv, cursor, conv.measureAt[i], onEvents);
    cursor = conv.measureAt[i];
    const m = day.messages[i];
    if (m.type === 4) {
      exec.type4++;
      const materialized = (conv.flags[i] & F_UNKNOWN_ID) !== 0;
      const ok = makers.length > 0 && makers.every((id) => id === m.orderId) && filled === m.size;
      if (ok) exec.makerAgrees++;
      else {
        const foreign = makers.filter((id) => id !== m.orderId);
        let cls = 'other';
        if (makers[0] === m.orderId) cls = 'named-order-short';
        else if (makers[0] >= SYNTHETIC_ID_BASE) cls = 'synthetic-ahead';
        else if (foreign.length > 0 && foreign.every((id) => id < m.orderId)) {
          const stayed = foreign.every((id) => addedAt.has(id) && !levelLeftTop(m.direction === 1, m.price, addedAt.get(id)!, i));
          cls = stayed ? 'exchange-priority-not-arrival-order' : 'earlier-orders-ahead';
        }
        mismatchClasses[cls].count++;
        if (mismatchClasses[cls].examples.length < keep) mismatchClasses[cls].examples.push(`line ${i + 1} (${describeMessage(m)}): makers ${makers.join(' ')}, filled ${filled}`);
        if (makers.some((id) => id !== m.orderId)) exec.makerMismatches++;
        if (filled !== m.size) exec.shortFills++;
        if (exec.mismatchExamples.length < keep) {
          exec.mismatchExamples.push(`line ${i + 1} (${describeMessage(m)}): makers ${makers.join(' ') || 'none'}, filled ${filled}${conv.flags[i] & F_NOT_AT_HEAD ? ' (not first in its queue in the shadow book)' : ''}`);
        }
      }
      const bucket = materialized ? exec.materializedId : exec.knownId;
      bucket.count++;
      if (ok) bucket.agree++;
    }
    const replay = topOf(engine);
    const lobster = rowTop(day.book[i]);
    // From the data alone: did this message empty the top level on its side (row i shows another price)?
    const emptied = (m.type === 2 || m.type === 3 || m.type === 4) && (m.direction === 1 ? lobster.bidPrice : lobster.askPrice) !== m.price;
    if (emptied) levelEmptied.rows++;
    const s = conv.shadowTop.subarray(i * 4, i * 4 + 4);
    if (!sameTop(replay, { askPrice: s[0], askSize: s[1], bidPrice: s[2], bidSize: s[3] })) engineVsShadow++;
    if (sameTop(replay, lobster)) {
      agree++;
      if (emptied) levelEmptied.agree++;
      continue;
    }
    if (replay.askPrice !== lobster.askPrice) fieldMismatches.askPrice++;
    if (replay.askSize !== lobster.askSize) fieldMismatches.askSize++;
    if (replay.bidPrice !== lobster.bidPrice) fieldMismatches.bidPrice++;
    if (replay.bidSize !== lobster.bidSize) fieldMismatches.bidSize++;
    const [cls, sub, note] = classify(conv, i, replay, lobster);
    const d = disagreements[cls];
    d.count++;
    d.detail[sub] = (d.detail[sub] ?? 0) + 1;
    if (d.examples.length < keep) d.examples.push({ row: i + 1, message: describeMessage(m), lobster, replay, note });
  }
  messageIndex = n;
  feed(engine, conv, cursor, conv.count, onEvents);
  for (const k of Object.keys(disagreements)) if (disagreements[k].count === 0 && k !== 'next-level-outside-window') delete disagreements[k];

  return {
    file: zipPath,
    messageFile: day.messageFile,
    orderbookFile: day.orderbookFile,
    messages: n,
    conversion: { ...conv.stats, seconds: conversionSeconds },
    throughput: {
      note: 'engine only: the pre-encoded command stream (messages plus seed, unknown-id and resync commands) through Engine.run in batches; unzip, parsing, conversion and verification are outside the clock',
      build, commands: conv.count, events, runs,
      medianSeconds: median, bestSeconds: best,
      commandsPerSecond: Math.round(conv.count / median),
      bestCommandsPerSecond: Math.round(conv.count / best),
      messagesPerSecond: Math.round(n / median),
      machine: machineInfo(),
    },
    topOfBook: {
      note: 'best bid and ask, price and size, after each message\'s own commands (before the resync that follows it) vs the orderbook row of that message',
      rows: n, agree, agreeRate: agree / n, fieldMismatches, disagreements, engineVsShadow,
      levelEmptied: { ...levelEmptied, note: 'rows whose message emptied the best level on its side (from the data alone: a type 2/3/4 and the row shows another best price): the next level comes from outside a depth-1 window' },
      otherRows: { rows: n - levelEmptied.rows, agree: agree - levelEmptied.agree, agreeRate: (agree - levelEmptied.agree) / (n - levelEmptied.rows) },
    },
    executions: {
      note: 'type-4 executions replayed as an IOC on the opposite side at that price and size: agreement = every TRADE had makerId = the LOBSTER order id and the fills add up to its size',
      ...exec,
      mismatchClasses: Object.fromEntries(Object.entries(mismatchClasses).filter(([, v]) => v.count > 0)),
    },
    rejects,
    engine: { maxOrders: engine.maxOrders, ladderTicks: engine.ladderTicks, liveOrdersAtEnd: engine.liveOrders },
  };
}

/** A few lines for a terminal. */
export function formatReplayReport(r: ReplayReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const t = r.throughput;
  const out: string[] = [];
  out.push(`LOBSTER replay: ${r.file}`);
  out.push(`  ${r.messages.toLocaleString('en-US')} messages (${Object.entries(r.conversion.byType).map(([k, v]) => `type ${k}: ${v}`).join(', ')})`);
  out.push(`  converted to ${t.commands.toLocaleString('en-US')} commands (${Object.entries(r.conversion.commandsByKind).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${r.conversion.seconds.toFixed(2)} s`);
  out.push(`  throughput (${t.build}, ${t.runs} runs, median): ${t.commandsPerSecond.toLocaleString('en-US')} commands/s (best ${t.bestCommandsPerSecond.toLocaleString('en-US')}), ${t.messagesPerSecond.toLocaleString('en-US')} messages/s`);
  out.push(`    ${t.note}`);
  out.push(`    machine: ${describeMachine(t.machine)}`);
  const b = r.topOfBook;
  out.push(`  top of book (bid/ask price and size) agrees with the orderbook file on ${b.agree.toLocaleString('en-US')} of ${b.rows.toLocaleString('en-US')} rows: ${pct(b.agreeRate)}`);
  out.push(`    rows whose message emptied the best level (the next one is outside a depth-1 window): ${b.levelEmptied.rows}, of which the replay got ${b.levelEmptied.agree} right; every other row: ${b.otherRows.agree} of ${b.otherRows.rows} (${pct(b.otherRows.agreeRate)})`);
  for (const [k, d] of Object.entries(b.disagreements)) {
    out.push(`    ${k}: ${d.count} rows (${Object.entries(d.detail).map(([x, v]) => `${x}: ${v}`).join(', ')}). ${d.explanation}`);
    for (const x of d.examples) out.push(`      row ${x.row} [${x.message}]: ${x.note}`);
  }
  out.push(`    engine vs converter shadow book: ${b.engineVsShadow} rows differ`);
  const e = r.executions;
  out.push(`  type-4 executions trading against the named order: ${e.makerAgrees} of ${e.type4} (${pct(e.makerAgrees / Math.max(1, e.type4))}); maker mismatches ${e.makerMismatches}, short fills ${e.shortFills}`);
  out.push(`    orders added in the file: ${e.knownId.agree}/${e.knownId.count}; orders from outside the window (materialized): ${e.materializedId.agree}/${e.materializedId.count}`);
  for (const [k, v] of Object.entries(e.mismatchClasses)) {
    out.push(`    ${k}: ${v.count}: ${v.explanation}`);
    for (const x of v.examples) out.push(`      e.g. ${x}`);
  }
  const c = r.conversion;
  out.push(`  resync: ${c.resyncRows} rows (stale levels cancelled ${c.resync.staleLevelsCancelled}, injections ${c.resync.injections} = ${c.resync.injectedShares} shares, reductions ${c.resync.reductions} = ${c.resync.reducedShares} shares); unknown ids: ${c.unknownIds.execution} executions, ${c.unknownIds.delete} deletes, ${c.unknownIds.partialCancel} partial cancels (${c.uncovered} not covered by synthetic liquidity); hidden executions (no book effect): ${c.hiddenExecutions}`);
  out.push(`  rejects: ${r.rejects.expected} expected, ${r.rejects.unexpected} unexpected${r.rejects.examples.length ? ': ' + r.rejects.examples.join('; ') : ''}`);
  return out.join('\n');
}

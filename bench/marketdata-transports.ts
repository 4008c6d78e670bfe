// Market data delivery over TCP and over WebSocket, side by side: one engine event stream (the core
// mix, one symbol, recorded once as byte copies of its batches) is published to K subscribers of
// one transport, subscribed to every channel; each subscriber only counts the bytes it receives (a
// browser that draws nothing). The clock runs from the first batch handed to the publisher until
// every subscriber has every byte. Runs alternate TCP and WebSocket, so each WebSocket/TCP ratio
// compares two runs made seconds apart under the same machine load (after one untimed pair that
// warms up the JIT).
//
//   node --import tsx bench/marketdata-transports.ts [--commands 200000] [--subscribers 4] [--runs 5] [--batch 256] [--json <file>]
//
// Subscribers run in the same process as the publisher (this machine has 2 cores): the times
// include the receiving side of both transports (TCP reads; WebSocket frame parsing in `ws`).
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { WebSocket, type RawData } from 'ws';
import * as L from '../assembly/layout.js';
import * as M from '../assembly/marketdata-layout.js';
import { Engine } from '../src/engine.js';
import { startMarketData, type MarketData } from '../src/marketdata/index.js';
import { encodeSubscribe } from '../src/marketdata/codec.js';
import { coreMix } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';
import { describeMachine, machineInfo } from './machine.js';
import { benchArgs } from './args.js';

const args = benchArgs('bench/marketdata-transports.ts', ['--commands', '--subscribers', '--runs', '--batch', '--json']);
const commands = args.int('--commands', 200_000, 1);
const subscribers = args.int('--subscribers', 4, 1);
const runs = args.int('--runs', 5, 1);
const batchSize = args.int('--batch', 256, 1);
const jsonOut = args.optional('--json');
const ALL_CHANNELS = (1 << M.CH_TRADES) | (1 << M.CH_L1) | (1 << M.CH_L2) | (1 << M.CH_L3);

interface Batch { events: Uint8Array; count: number; lastSeq: number }

/** The engine's event records per batch, recorded once (the publisher is fed copies, as in `clob start`). */
function recordBatches(): Batch[] {
  const encoded = encodeCommands(coreMix({ seed: 1, count: commands }));
  const engine = new Engine({ maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15, batchSize });
  const out: Batch[] = [];
  for (let first = 0; first < commands; first += batchSize) {
    const n = Math.min(batchSize, commands - first);
    engine.commands.append(encoded, first, n);
    const chunks: Uint8Array[] = [];
    engine.run((ev) => {
      if (ev.count > 0) chunks.push(new Uint8Array(engine.memory.buffer, ev.select(0).offset, ev.count * L.EVT_SIZE).slice());
    });
    const events = Buffer.concat(chunks);
    out.push({ events, count: events.length / L.EVT_SIZE, lastSeq: first + n });
  }
  return out;
}

/** K counting subscribers of `transport`; resolves once the server has all their SUBSCRIBEs. */
async function connectSubscribers(md: MarketData, transport: 'tcp' | 'ws', received: number[]): Promise<() => void> {
  const closers: (() => void)[] = [];
  for (let k = 0; k < subscribers; k++) {
    received[k] = 0;
    if (transport === 'tcp') {
      const s = net.connect({ host: '127.0.0.1', port: md.tcpPort });
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      s.on('data', (chunk: Buffer) => (received[k] += chunk.length));
      s.write(encodeSubscribe(0, ALL_CHANNELS));
      closers.push(() => s.destroy());
    } else {
      const ws = new WebSocket(`ws://127.0.0.1:${md.wsPort}`, { perMessageDeflate: false });
      await new Promise<void>((resolve) => ws.once('open', () => resolve()));
      ws.on('message', (data: RawData) => (received[k] += (data as Buffer).length));
      ws.send(encodeSubscribe(0, ALL_CHANNELS));
      closers.push(() => ws.terminate());
    }
  }
  const stats = () => (transport === 'tcp' ? md.tcp! : md.ws!).stats;
  while (stats().subscribes < subscribers) await new Promise<void>((r) => setTimeout(r, 1));
  return () => closers.forEach((c) => c());
}

interface RunResult { transport: 'tcp' | 'ws'; ms: number; messages: number; bytes: number; cpuMs: number }

async function run(transport: 'tcp' | 'ws', batches: Batch[]): Promise<RunResult> {
  // No L3 source and no seeding: the stream starts empty, so subscribers need no snapshot.
  const source = { maxSymbols: 4, depth: () => ({ bids: [], asks: [] }), queue: () => [] };
  const server = { maxOutboundBytes: 256 << 20 };
  const md = startMarketData(source, { tcp: transport === 'tcp' ? server : false, ws: transport === 'ws' ? server : undefined, seed: false, l3Snapshots: false });
  await md.ready;
  let published = 0;
  md.publisher.addSink({ onMessages: (_b, n) => (published += n) });
  const received: number[] = [];
  const close = await connectSubscribers(md, transport, received);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches) {
    md.onBatch(b);
    await new Promise<void>((r) => setImmediate(r)); // the server's loop: I/O between batches
  }
  while (received.some((n) => n < published)) await new Promise<void>((r) => setImmediate(r));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const stats = (transport === 'tcp' ? md.tcp! : md.ws!).stats;
  if (stats.slowConsumers > 0) throw new Error(`${transport}: a subscriber was disconnected as slow`);
  const messages = md.publisher.messages;
  close();
  await md.close();
  return { transport, ms, messages, bytes: published, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const machine = machineInfo();
console.log(`machine: ${describeMachine(machine)}`);
console.log(`command: node --import tsx bench/marketdata-transports.ts --commands ${commands} --subscribers ${subscribers} --runs ${runs} --batch ${batchSize}`);
const batches = recordBatches();
// One untimed pair first: the JIT warms up on both paths.
await run('tcp', batches);
await run('ws', batches);
const results: RunResult[] = [];
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let r = 0; r < runs; r++) {
  const order: ('tcp' | 'ws')[] = r % 2 === 0 ? ['tcp', 'ws'] : ['ws', 'tcp'];
  const pair: Record<string, RunResult> = {};
  for (const t of order) {
    const res = await run(t, batches);
    pair[t] = res;
    results.push(res);
    const perSub = res.messages / (res.ms / 1000);
    console.log(`run ${r + 1} ${t.padEnd(3)}: ${res.ms.toFixed(0)} ms, ${(perSub / 1e6).toFixed(2)} M messages/s to each of ${subscribers}, `
      + `${((res.bytes * subscribers) / (res.ms / 1000) / 2 ** 20).toFixed(0)} MiB/s in all, CPU ${res.cpuMs.toFixed(0)} ms`);
  }
  ratios.push(pair.ws.ms / pair.tcp.ms);
  cpuRatios.push(pair.ws.cpuMs / pair.tcp.cpuMs);
}
const med = (t: 'tcp' | 'ws') => median(results.filter((x) => x.transport === t).map((x) => x.ms));
const { messages, bytes } = results[0];
console.log(`stream: ${commands} core-mix commands in batches of ${batchSize}: ${messages} messages, ${(bytes / 2 ** 20).toFixed(1)} MiB, to ${subscribers} subscribers of every channel`);
for (const t of ['tcp', 'ws'] as const) {
  const cpu = median(results.filter((x) => x.transport === t).map((x) => x.cpuMs));
  console.log(`median ${t.padEnd(3)}: ${med(t).toFixed(0)} ms, ${(messages / (med(t) / 1000) / 1e6).toFixed(2)} M messages/s to each subscriber; CPU (both ends) ${cpu.toFixed(0)} ms`);
}
console.log(`WebSocket/TCP time, median of ${runs} side-by-side pairs: ${median(ratios).toFixed(2)} (pairs: ${ratios.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`WebSocket/TCP CPU,  median of ${runs} side-by-side pairs: ${median(cpuRatios).toFixed(2)} (pairs: ${cpuRatios.map((x) => x.toFixed(2)).join(' ')})`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ machine, commands, subscribers, batchSize, messages, bytes, results, ratios, cpuRatios }, null, 2));

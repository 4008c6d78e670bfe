// `clob load`: an open-loop load generator for the order-entry gateway. Each connection sends its
// share of --rate on a fixed schedule (planned send time i / rate, whether or not earlier replies
// came back), so a stalled server shows up as latency instead of as a lower offered rate (no
// coordinated omission). Latency = the time the first ack/reject arrived - the planned send time
// ("from plan"), and - the time the request was written ("from send"), as HDR histograms.
// Without --port it starts a gateway child process (demo symbols, accounts 1..connections) on a
// free loopback port and stops it at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { initWebAssembly, build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { Client, type Reply } from './client.js';

export interface LoadOptions {
  host: string;
  /** A running gateway; absent: start one (child process). */
  port?: number;
  connections: number;
  /** Order messages per second over all connections. */
  rate: number;
  /** Weights of new orders, cancels and modifies: "60,30,10". */
  mix: string;
  /** Seconds of measured load (after --warmup seconds that are not measured). */
  duration: number;
  warmup: number;
  /** Accounts accountBase .. accountBase + connections - 1, all with this credential. */
  accountBase: number;
  credential: string;
  symbol: number;
  /** Mid price of the generated orders (limit prices are mid +- spread ticks). */
  mid: number;
  spread: number;
  seed: number;
  json?: string;
  /** The started gateway's I/O path (auto, uring, net); default auto. */
  io?: string;
}

export interface LoadReport {
  options: LoadOptions;
  seconds: number;
  sent: number; replies: number; accepted: number; rejected: Record<string, number>; throttled: number; lost: number;
  sentPerSecond: number;
  latencyFromPlanNs: Record<string, number>;
  latencyFromSendNs: Record<string, number>;
}

const PERCENTILES = [50, 90, 99, 99.9, 99.99, 100];

function parseMix(mix: string): [number, number, number] {
  const parts = mix.split(/[,:/]/).map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0) || parts[0] <= 0) {
    throw new RangeError(`--mix must be three weights new,cancel,modify with new > 0 (e.g. 60,30,10); got '${mix}'`);
  }
  const sum = parts[0] + parts[1] + parts[2];
  return [parts[0] / sum, parts[1] / sum, parts[2] / sum];
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** Starts a gateway child process on a free loopback port; resolves with it and the port. */
async function startGatewayChild(opts: LoadOptions): Promise<{ child: ChildProcess; port: number }> {
  const here = import.meta.url;
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const main = fileURLToPath(new URL(`../gateway/main${ext}`, here));
  const accounts = Array.from({ length: opts.connections }, (_, i) => ({ account: opts.accountBase + i, credential: opts.credential }));
  const config = { host: '127.0.0.1', port: 0, accounts, log: false, heartbeatMs: 1000, io: opts.io ?? 'auto' };
  const child = spawn(process.execPath, [...process.execArgv, main, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`clob load: the gateway child exited (${code}) before listening`)));
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number };
        if (msg.event === 'listening' && msg.port) resolve(msg.port);
      } catch { /* not ours */ }
    });
  });
  return { child, port };
}

interface Conn {
  client: Client;
  index: number;
  live: number[];
  interval: number; // ms between planned sends
  next: number; // planned time of the next send
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const [pNew, pCancel] = parseMix(opts.mix);
  await initWebAssembly();
  const fromPlan = buildHistogram({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
  const fromSend = buildHistogram({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
  let child: ChildProcess | undefined;
  let port = opts.port;
  if (port === undefined) {
    const started = await startGatewayChild(opts);
    child = started.child;
    port = started.port;
    process.stderr.write(`clob load: started a gateway on 127.0.0.1:${port} (child process ${child.pid})\n`);
  }
  const random = rng(opts.seed);
  const conns: Conn[] = [];
  const counts = { sent: 0, replies: 0, accepted: 0, throttled: 0, lost: 0 };
  const rejected: Record<string, number> = {};
  try {
    for (let i = 0; i < opts.connections; i++) {
      const client = await Client.connect({ host: opts.host, port, account: opts.accountBase + i, credential: opts.credential });
      client.on('error', () => {});
      conns.push({ client, index: i, live: [], interval: (1000 * opts.connections) / opts.rate, next: 0 });
    }
    const start = performance.now() + 10;
    const measureFrom = start + opts.warmup * 1000;
    const end = measureFrom + opts.duration * 1000;
    conns.forEach((c, i) => (c.next = start + (c.interval * i) / conns.length)); // staggered

    const onReply = (planned: number, sentAt: number, isNew: boolean, c: Conn) => (r: Reply) => {
      const now = performance.now();
      if (planned >= measureFrom) {
        counts.replies++;
        fromPlan.recordValue(Math.max(1, Math.round((now - planned) * 1e6)));
        fromSend.recordValue(Math.max(1, Math.round((now - sentAt) * 1e6)));
      }
      if (r.type === 'accepted') {
        counts.accepted++;
        if (isNew) c.live.push(Number(r.orderId)); // the id the exchange assigned
      } else if (r.type === 'rejected') rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
      else if (r.type === 'session-reject') counts.throttled++;
    };
    const sendOne = (c: Conn, planned: number) => {
      const now = performance.now();
      const u = random();
      let p: Promise<Reply>;
      let isNew = false;
      if ((u < pNew || c.live.length === 0) && c.live.length < 5000) {
        isNew = true;
        const side = random() < 0.5 ? 'buy' : 'sell';
        const offset = 1 + Math.floor(random() * opts.spread);
        const price = side === 'buy' ? opts.mid - offset + (random() < 0.05 ? 2 * offset : 0) : opts.mid + offset - (random() < 0.05 ? 2 * offset : 0);
        p = c.client.newOrder({ symbol: opts.symbol, side, price, quantity: 1 + Math.floor(random() * 10) });
      } else {
        const k = Math.floor(random() * c.live.length);
        const orderId = c.live[k];
        if (u < pNew + pCancel || c.live.length >= 5000) {
          c.live[k] = c.live[c.live.length - 1];
          c.live.pop();
          p = c.client.cancel({ symbol: opts.symbol, orderId });
        } else {
          p = c.client.modify({ symbol: opts.symbol, orderId, price: opts.mid + Math.floor((random() - 0.5) * 2 * opts.spread) || opts.mid, quantity: 1 + Math.floor(random() * 10) });
        }
      }
      if (planned >= measureFrom) counts.sent++;
      p.then(onReply(planned, now, isNew, c), () => planned >= measureFrom && counts.lost++);
    };

    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        let soonest = Infinity;
        for (const c of conns) {
          while (c.next <= now && c.next < end) {
            sendOne(c, c.next);
            c.next += c.interval;
          }
          if (c.next < end) soonest = Math.min(soonest, c.next);
        }
        if (soonest === Infinity) return resolve();
        const wait = soonest - performance.now();
        if (wait > 2) setTimeout(tick, wait - 1);
        else setImmediate(tick);
      };
      tick();
    });
    // Let the replies of the last sends arrive (bounded).
    const deadline = performance.now() + 5000;
    while (counts.replies + counts.lost < counts.sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    counts.lost += counts.sent - counts.replies - counts.lost;
    const toTable = (h: Histogram) => Object.fromEntries(PERCENTILES.map((p) => [p === 100 ? 'max' : `p${p}`, h.getValueAtPercentile(p)]));
    const report: LoadReport = {
      options: opts, seconds: opts.duration, ...counts, rejected, sentPerSecond: counts.sent / opts.duration,
      latencyFromPlanNs: toTable(fromPlan), latencyFromSendNs: toTable(fromSend),
    };
    for (const c of conns) await c.client.logout();
    return report;
  } finally {
    for (const c of conns) c.client.close();
    fromPlan.destroy();
    fromSend.destroy();
    if (child) {
      child.stdin?.end();
      child.kill('SIGTERM');
    }
  }
}

const us = (ns: number) => (ns / 1000).toFixed(1).padStart(9);

export function formatLoadReport(r: LoadReport): string {
  const o = r.options;
  const head = ['p50', 'p90', 'p99', 'p99.9', 'p99.99', 'max'];
  const row = (name: string, t: Record<string, number>) => `${name.padEnd(22)}${head.map((k) => us(t[k])).join('')}`;
  const rej = Object.entries(r.rejected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return [
    `clob load: ${o.connections} connection(s), offered ${o.rate}/s, mix new,cancel,modify = ${o.mix}, ${o.duration} s measured after ${o.warmup} s warm-up`,
    `sent ${r.sent} (${r.sentPerSecond.toFixed(0)}/s), replies ${r.replies}, accepted ${r.accepted}, throttled ${r.throttled}, lost ${r.lost}, rejected: ${rej}`,
    `order-to-ack latency, microseconds (HDR, wire to wire over loopback, client in one Node process)`,
    `${''.padEnd(22)}${head.map((h) => h.padStart(9)).join('')}`,
    row('from planned send', r.latencyFromPlanNs),
    row('from actual send', r.latencyFromSendNs),
  ].join('\n');
}

export async function runLoadCommand(opts: LoadOptions): Promise<void> {
  const report = await runLoad(opts);
  console.log(formatLoadReport(report));
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
}

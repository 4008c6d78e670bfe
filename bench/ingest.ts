// Sustained order ingest on ONE connection, per gateway I/O path (io: net and io: uring), measured
// side by side: the gateway (with its engine, in this process) and the sender (bench/ingest-client.ts,
// a child process) run for --seconds per run, alternating the paths run by run; medians printed.
//
//   node --import tsx bench/ingest.ts [--io net,uring] [--runs 5] [--seconds 3] [--window 65536]
//                                     [--block 2048] [--durability off|none|async|fsync] [--json <file>]
//
// Workload: IOC buys into an empty book (each message: ACCEPTED + CANCELLED residual, nothing rests),
// pipelined up to --window unacknowledged messages, sent in blocks of --block frames.
// --durability off (default): Gateway + Engine, no journal. none|async|fsync: `clob start`'s server
// in process (journal in a temp dir, output held until durable under that mode).
// Besides msgs/s (the sender's count of acknowledged messages), each run prints this process's CPU
// time (all its threads, user + system) per command the gateway ran: less sensitive than msgs/s to
// a shared machine's other load, since it does not count the time this process waits for a core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine.js';
import { DEFAULT_OPTIONS } from '../src/stdio-server.js';
import { Gateway } from '../src/gateway/server.js';
import { silentLog } from '../src/gateway/log.js';
import { startServer } from '../src/server/server.js';
import { resolveConfig } from '../src/server/config.js';
import type { IoKind } from '../src/gateway/transport.js';
import { benchArgs } from './args.js';
import { DURABILITY_MODES } from '../src/journal/journal.js';

const argv = process.argv.slice(2);
const args = benchArgs('bench/ingest.ts', ['--io', '--runs', '--seconds', '--window', '--block', '--durability', '--json']);
const paths = args.choices<IoKind>('--io', 'net,uring', ['net', 'uring']);
const runs = args.int('--runs', 5, 1);
const seconds = args.num('--seconds', 3, 0.1);
const window = args.int('--window', 65536, 1);
const block = args.int('--block', 2048, 1);
const durability = args.choices('--durability', 'off', ['off', ...DURABILITY_MODES])[0];
const jsonOut = args.optional('--json');
const clientScript = fileURLToPath(new URL('./ingest-client.ts', import.meta.url));

interface Running { port: number; stop(): Promise<unknown>; stats(): Record<string, unknown> }

async function startGateway(io: IoKind): Promise<Running> {
  if (durability === 'off') {
    const engine = new Engine({ ...DEFAULT_OPTIONS, build: 'release' });
    const gateway = new Gateway({ engine, accounts: [{ account: 1, credential: 'demo' }], logger: silentLog, io });
    const port = await gateway.listen();
    return { port, stop: () => gateway.close(), stats: () => ({ ...gateway.stats }) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'clob-ingest-'));
  const config = resolveConfig({ port: '0', dataDir: dir, quiet: true, durability, io, mdTcpPort: '0', snapshotEvery: '0', snapshotSeconds: '0' }, {});
  const server = await startServer(config, { event: () => {}, say: () => {} }, { signals: false });
  return {
    port: server.port,
    stop: async () => { await server.stop(); rmSync(dir, { recursive: true, force: true }); },
    stats: () => ({ ...server.gateway.stats }),
  };
}

function runClient(port: number): Promise<{ messages: number; seconds: number; msgsPerSecond: number; repliesPerMessage: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, clientScript, JSON.stringify({ port, seconds, window, block })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`ingest client exited ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const results: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
const batches: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
const cpuPerCommand: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
console.log(`ingest: one connection, IOC buys into an empty book, window ${window}, blocks of ${block}; durability ${durability}; ${runs} runs x ${seconds} s per path, alternating`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Linux ${release()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (shared: other builds and tests may run)`);
for (let r = 0; r < runs; r++) {
  for (const io of paths) {
    const g = await startGateway(io);
    const cpu0 = process.cpuUsage();
    const res = await runClient(g.port);
    const cpu = process.cpuUsage(cpu0);
    const st = g.stats() as { batches: number; commands: number };
    await g.stop();
    const nsPerCommand = ((cpu.user + cpu.system) * 1000) / Math.max(1, st.commands);
    results[io].push(res.msgsPerSecond);
    batches[io].push(st.commands / Math.max(1, st.batches));
    cpuPerCommand[io].push(nsPerCommand);
    console.log(`run ${r + 1} io ${io.padEnd(5)} ${Math.round(res.msgsPerSecond).toLocaleString('en-US').padStart(11)} msgs/s  (${res.messages} acked in ${res.seconds.toFixed(2)} s; ${res.repliesPerMessage} replies/msg; ${Math.round(st.commands / Math.max(1, st.batches))} commands/batch; gateway process CPU ${Math.round(nsPerCommand)} ns/command)`);
  }
}
const summary = Object.fromEntries(paths.map((p) => [p, {
  medianMsgsPerSecond: Math.round(median(results[p])), runs: results[p].map(Math.round), medianCommandsPerBatch: Math.round(median(batches[p])),
  medianCpuNsPerCommand: Math.round(median(cpuPerCommand[p])), cpuNsPerCommand: cpuPerCommand[p].map(Math.round),
}]));
for (const p of paths) console.log(`median io ${p.padEnd(5)} ${summary[p].medianMsgsPerSecond.toLocaleString('en-US').padStart(11)} msgs/s   gateway process CPU ${summary[p].medianCpuNsPerCommand} ns/command`);
if (paths.includes('net') && paths.includes('uring')) {
  const ratios = results.uring.map((u, i) => u / results.net[i]);
  console.log(`uring / net, run by run: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(2)}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ bench: 'ingest', command: `node --import tsx bench/ingest.ts ${argv.join(' ')}`, durability, window, block, seconds, summary }, null, 2));

// End-to-end tests of `clob start` (src/server/): the real CLI as a child process on an ephemeral
// loopback port and a temporary data directory, driven by the Client. Lifecycle events are read
// from the child's stdout (one JSON object per line: recovered, listening, snapshot, stopped).
// No timed assertions: waits only guard against hangs. Every child is killed and every temp dir
// removed at the end, pass or fail.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type Execution, type Reply } from '../src/client/client.js';
import { fullReplayDigest, JournalReader, listSegments, listSnapshots, replayJournal } from '../src/journal/index.js';
import { hex } from '../src/journal/recovery.js';
import { resolveConfig, reviveConfig, ConfigError } from '../src/server/config.js';
import { startServer as startInProcess, type ServerIo } from '../src/server/server.js';
import type { DurableBatch } from '../src/server/market-data.js';
import { DEFAULT_OPTIONS } from '../src/stdio-server.js';
import type { EngineOptions } from '../src/engine.js';
import * as L from '../assembly/layout.js';
import { testOnEveryIo } from './support/io-paths.js';

const HANG_GUARD_MS = 20_000;
/** The end-to-end tests run once per I/O path (`clob start --io net` and `--io uring`). */
const ioTest = testOnEveryIo('server.test.ts');
const ROOT = new URL('..', import.meta.url).pathname;

const children = new Set<ChildProcess>();
const dirs: string[] = [];
const clients: Client[] = [];
const inProcessServers: { stop(): Promise<number> }[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'clob-server-test-'));
  dirs.push(d);
  return d;
}

interface Server {
  child: ChildProcess;
  events: Record<string, any>[];
  stderr: () => string;
  /** Resolves with the first event of this name (a hang guard rejects). */
  event(name: string): Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `clob start` with the given arguments (and env additions). */
function spawnCli(args: string[], env: Record<string, string> = {}): Server {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const events: Record<string, any>[] = [];
  const waiters: { name: string; resolve: (e: Record<string, any>) => void }[] = [];
  let err = '';
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (t: string) => (err += t));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (t: string) => {
    buffered += t;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as Record<string, any>;
      events.push(e);
      for (const w of waiters.filter((x) => x.name === e.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  return {
    child, events, exited, stderr: () => err,
    event(name) {
      const seen = events.find((e) => e.event === name);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no '${name}' event from clob start; stderr:\n${err}`)), HANG_GUARD_MS);
        waiters.push({ name, resolve: (e) => { clearTimeout(t); resolve(e); } });
        void exited.then(() => setTimeout(() => reject(new Error(`clob start exited before '${name}'; stderr:\n${err}`)), 50));
      });
    },
  };
}

function startServer(dir: string, extra: string[] = []): Server {
  return spawnCli(['--port', '0', '--data-dir', dir, '--quiet', '--io', ioTest.io, ...extra]);
}

async function connect(port: number, account: number): Promise<Client> {
  const c = await Client.connect({ port, account, credential: 'demo' });
  clients.push(c);
  c.on('error', () => {}); // a killed server resets the connection
  return c;
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_GUARD_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function collect(c: Client): Execution[] {
  const out: Execution[] = [];
  c.on('exec', (e: Execution) => out.push(e));
  return out;
}

const type = (r: Reply) => r.type;

async function cleanUp(): Promise<void> {
  for (const c of clients) c.close();
  for (const s of inProcessServers) await s.stop();
  for (const child of children) child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
test.after(cleanUp);
ioTest.after(cleanUp);

// ---- configuration ------------------------------------------------------------------------------

test('config precedence: flag > env > file > default; every source is checked', () => {
  const dir = tempDir();
  const file = join(dir, 'clob.json');
  writeFileSync(file, JSON.stringify({ port: 1111, durability: 'none', keepSnapshots: 5, heartbeatMs: 250, dataDir: join(dir, 'd') }));
  const c = resolveConfig({ config: file, port: '3333' }, { CLOB_PORT: '2222', CLOB_DURABILITY: 'async', CLOB_HEARTBEAT_MS: '' });
  assert.is(c.port, 3333);
  assert.is(c.durability, 'async');
  assert.is(c.keepSnapshots, 5);
  assert.is(c.heartbeatMs, 250); // an empty env variable counts as unset
  assert.is(c.snapshotEvery, 1_000_000);
  assert.is(c.dataDir, join(dir, 'd'));
  assert.equal([c.sources.port, c.sources.durability, c.sources.keepSnapshots, c.sources.snapshotEvery], ['flag', 'env', 'file', 'default']);
  assert.equal(c.engine.symbols, DEFAULT_OPTIONS.symbols);
  const d = resolveConfig({}, {});
  assert.equal([d.host, d.port, d.durability, d.build, d.accounts, d.io], ['127.0.0.1', 7070, 'fsync', 'release', undefined, 'auto']);
  assert.throws(() => resolveConfig({ port: '70000' }, {}), (e: Error) => e instanceof ConfigError && /--port must be an integer from 0 to 65535; got "70000"/.test(e.message));
  assert.throws(() => resolveConfig({}, { CLOB_DURABILITY: 'maybe' }), (e: Error) => e instanceof ConfigError && /CLOB_DURABILITY must be one of fsync, async, none/.test(e.message));
});

test('bad config and bad flag values: one clear line on stderr, exit code 2', async () => {
  const dir = tempDir();
  const unknownKey = join(dir, 'unknown.json');
  writeFileSync(unknownKey, JSON.stringify({ prot: 7070 }));
  const badValue = join(dir, 'bad.json');
  writeFileSync(badValue, JSON.stringify({ snapshotEvery: -1 }));
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{ port: ');
  // The messages, in process (cheap).
  const inProcess: [Record<string, unknown>, Record<string, string>, RegExp][] = [
    [{ port: 'seventy' }, {}, /^--port must be an integer from 0 to 65535; got "seventy"$/],
    [{ durability: 'maybe' }, {}, /^--durability must be one of fsync, async, none; got "maybe"$/],
    [{ io: 'epoll' }, {}, /^--io must be one of auto, uring, net; got "epoll"$/],
    [{}, { CLOB_IO: 'epoll' }, /^environment variable CLOB_IO must be one of auto, uring, net/],
    [{}, { CLOB_PORT: '-1' }, /^environment variable CLOB_PORT must be an integer/],
    [{ config: unknownKey }, {}, /unknown key "prot"/],
    [{ config: badValue }, {}, /"snapshotEvery" must be an integer from 0/],
    [{ config: notJson }, {}, /is not valid JSON/],
    [{ config: join(dir, 'missing.json') }, {}, /cannot read config file .*ENOENT/],
    [{ host: '0.0.0.0' }, {}, /demo accounts .* loopback only/],
    [{ host: 'not an address' }, {}, /--host must be an IP address/],
  ];
  for (const [flags, env, message] of inProcess) {
    assert.throws(() => resolveConfig(flags, env), (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'), `${JSON.stringify(flags)} ${JSON.stringify(env)}`);
  }
  // The CLI: a flag, an environment variable, a config file, an unknown flag.
  const cases: { args: string[]; env?: Record<string, string>; message: RegExp; oneLine: boolean }[] = [
    { args: ['--port', 'seventy'], message: /^clob start: --port must be an integer/, oneLine: true },
    { args: [], env: { CLOB_DURABILITY: 'maybe' }, message: /^clob start: environment variable CLOB_DURABILITY must be one of fsync, async, none/, oneLine: true },
    { args: ['--config', unknownKey], message: /^clob start: config file .* unknown key "prot"/, oneLine: true },
    { args: ['--bogus'], message: /unknown option '--bogus'/, oneLine: false },
  ];
  await Promise.all(cases.map(async (c) => {
    const s = spawnCli([...c.args, '--data-dir', join(dir, 'never')], c.env);
    const { code } = await s.exited;
    const err = s.stderr().trim();
    assert.is(code, 2, `${c.args.join(' ')}: exit code (stderr: ${err})`);
    assert.match(err, c.message, `${c.args.join(' ')}: message`);
    if (c.oneLine) assert.is(err.split('\n').length, 1, `one line: ${err}`);
  }));
  assert.not.ok(existsSync(join(dir, 'never')), 'no data directory was created');
});

// ---- end to end ---------------------------------------------------------------------------------

ioTest('login, acks, a cross fills both sessions; SIGTERM exits 0; a restart recovers the same digest with the orders still resting', async () => {
  const dir = tempDir();
  let s = startServer(dir);
  const listening = await s.event('listening');
  assert.is(listening.io, ioTest.io, 'clob start --io chose that path');
  assert.is(listening.lastSeq, 0, 'a fresh data directory starts at seq 1');
  assert.ok(existsSync(join(dir, 'engine.json')), 'engine.json is written for clob replay');

  const a = await connect(listening.port, 1);
  const b = await connect(listening.port, 2);
  const ea = collect(a);
  const eb = collect(b);
  // Order ids are the exchange's: each NEW order's id is its engine seq (1, 2, ...).
  const sell = await a.newOrder({ symbol: 1, side: 'sell', price: 10_100, quantity: 5 });
  assert.is(type(sell), 'accepted');
  assert.is((sell as Execution).seq, 1, 'the first command has engine seq 1');
  assert.is((sell as Execution).orderId, 1, 'and order id 1');
  assert.is(type(await a.newOrder({ symbol: 1, side: 'sell', price: 10_200, quantity: 3 })), 'accepted'); // id 2
  const buy = await b.newOrder({ symbol: 1, side: 'buy', price: 10_100, quantity: 5 });
  assert.is(type(buy), 'accepted');
  assert.is((buy as Execution).orderId, 3);
  assert.is(type(await b.newOrder({ symbol: 1, side: 'buy', price: 9_000, quantity: 7 })), 'accepted'); // id 4
  const bad = await b.newOrder({ symbol: 1, side: 'buy', price: 9_000, quantity: 0 });
  assert.is(type(bad), 'rejected');
  await until(() => ea.some((e) => e.type === 'trade') && eb.some((e) => e.type === 'trade'), 'the fill on both sessions');
  const ta = ea.find((e) => e.type === 'trade') as Execution & { makerId: number; takerId: number; quantity: number; price: number };
  const tb = eb.find((e) => e.type === 'trade') as Execution & { makerId: number; takerId: number; quantity: number; price: number };
  assert.equal([ta.makerId, ta.takerId, ta.quantity, ta.price], [1, 0, 5, 10_100], 'the maker sees its side only');
  assert.equal([tb.makerId, tb.takerId, tb.quantity, tb.price], [0, 3, 5, 10_100], 'the taker sees its side only');

  // The metrics endpoint counts what happened (5 commands, 2 resting orders, all durable).
  assert.ok(listening.metricsPort > 0, 'the metrics port is in the listening event');
  const scrape = await fetch(`http://127.0.0.1:${listening.metricsPort}/metrics`);
  assert.is(scrape.status, 200);
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.is(value('clob_gateway_commands_total'), 5);
  assert.is(value('clob_gateway_sessions'), 2);
  assert.is(value('clob_engine_resting_orders'), 2, 'the sell at 10_200 and the buy at 9_000 rest; the two at 10_100 filled');
  assert.is(value('clob_journal_durable_seq'), 5);
  assert.ok(value('clob_journal_commit_seconds_count') >= 1, 'commit latency observed');
  assert.match(text, /^clob_journal_commit_seconds\{quantile="0\.99"\} \d/m);
  assert.match(text, /^# TYPE clob_gateway_commands_total counter$/m);
  const health = await fetch(`http://127.0.0.1:${listening.metricsPort}/healthz`);
  assert.is(health.status, 200);
  assert.is((await health.json() as { status: string; lastSeq: number }).lastSeq, 5);
  assert.is((await fetch(`http://127.0.0.1:${listening.metricsPort}/nope`)).status, 404);

  const logouts: number[] = [];
  a.on('logout', (r: number) => logouts.push(r));
  b.on('logout', (r: number) => logouts.push(r));
  s.child.kill('SIGTERM');
  const stopped = await s.event('stopped');
  assert.equal(await s.exited, { code: 0, signal: null });
  assert.equal(logouts, [2, 2], 'both sessions got LOGOUT (shutdown)');
  assert.is(stopped.lastSeq, 5, '5 commands were sequenced');
  assert.is(stopped.liveOrders, 2);
  assert.ok(s.events.some((e) => e.event === 'snapshot' && e.reason === 'shutdown' && e.seq === 5), 'a snapshot at shutdown');

  // The journal replays to the same state, with the engine options of engine.json (what clob replay reads).
  const engineOptions = { ...DEFAULT_OPTIONS, ...(JSON.parse(readFileSync(join(dir, 'engine.json'), 'utf8'), reviveConfig) as EngineOptions) };
  assert.is(hex(fullReplayDigest(dir, engineOptions)), stopped.digest, 'a full replay of the journal gives the digest printed at shutdown');

  s = startServer(dir);
  const recovered = await s.event('recovered');
  assert.is(recovered.digest, stopped.digest, 'recovered digest = digest at shutdown');
  assert.is(recovered.lastSeq, 5);
  assert.is(recovered.snapshotSeq, 5, 'recovered from the shutdown snapshot');
  assert.is(recovered.verification, 'full-replay');
  assert.is(recovered.truncatedTail, null);
  const again = await s.event('listening');
  assert.is(again.lastSeq, 5);
  const a2 = await connect(again.port, 1);
  const b2 = await connect(again.port, 2);
  const c1 = await a2.newOrder({ symbol: 1, side: 'sell', price: 10_300, quantity: 1 });
  assert.is((c1 as Execution).seq, 6, 'the sequence continues after the recovered seq');
  assert.is((c1 as Execution).orderId, 6, 'and so do the order ids: none is handed out twice');
  const x = await a2.cancel({ symbol: 1, orderId: 2 });
  assert.is(type(x), 'cancelled', 'order 2 was still resting');
  assert.is(type(await b2.cancel({ symbol: 1, orderId: 4 })), 'cancelled', 'order 4 was still resting');
  const gone = await a2.cancel({ symbol: 1, orderId: 1 });
  assert.is(type(gone), 'rejected', 'order 1 was filled before the restart');
  s.child.kill('SIGINT');
  const stopped2 = await s.event('stopped');
  assert.equal(await s.exited, { code: 0, signal: null });
  assert.is(stopped2.lastSeq, 9);
  assert.is(stopped2.liveOrders, 1);
});

ioTest('in process: every execution reaches the client only once its command is fdatasynced; the market data hook gets each durable batch in seq order', async () => {
  const dir = tempDir();
  const io: ServerIo = { event: () => {}, say: () => {} };
  const batches: DurableBatch[] = [];
  let running: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const hookLate: string[] = [];
  const server = await startInProcess(resolveConfig({ port: '0', dataDir: dir, quiet: true, snapshotEvery: '50', io: ioTest.io }, {}), io, {
    signals: false,
    marketData: {
      onBatch: (b) => {
        batches.push(b);
        if (running && running.journal.durableSeq < b.lastSeq) hookLate.push(`batch ${b.firstSeq}..${b.lastSeq} before durable`);
      },
      close: async () => {},
    },
  });
  running = server;
  inProcessServers.push(server);
  const early: string[] = [];
  const watch = (c: Client) => c.on('exec', (e: Execution) => {
    // Runs when the bytes arrive: the command that caused them must be durable by now.
    if (server.journal.durableSeq < Number(e.seq)) early.push(`${e.type} of seq ${e.seq} arrived with durableSeq ${server.journal.durableSeq}`);
  });
  const a = await connect(server.port, 1);
  const b = await connect(server.port, 2);
  watch(a);
  watch(b);
  const replies: Promise<Reply>[] = [];
  for (let i = 0; i < 200; i++) {
    replies.push(a.newOrder({ symbol: 1, side: 'sell', price: 10_000 + (i % 5), quantity: 2 }));
    replies.push(b.newOrder({ symbol: 1, side: 'buy', price: 10_000 + (i % 7), quantity: 1 }));
    if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // several batches
  }
  const got = await Promise.all(replies);
  assert.ok(got.every((r) => r.type === 'accepted'));
  assert.equal(early, [], 'no execution before its command was durable');
  await server.stop('test');
  assert.is(await server.stopped, 0);
  assert.equal(hookLate, [], 'no batch handed to market data before it was durable');
  assert.ok(batches.length > 1, `${batches.length} batches`);
  for (let i = 0; i < batches.length; i++) {
    assert.is(batches[i].firstSeq, i === 0 ? 1 : batches[i - 1].lastSeq + 1, 'consecutive, in seq order');
    assert.is(batches[i].events.length, batches[i].count * L.EVT_SIZE);
  }
  assert.is(batches.at(-1)!.lastSeq, 400);
  const types = new Set<number>();
  for (const bt of batches) for (let k = 0; k < bt.count; k++) types.add(bt.events[k * L.EVT_SIZE + L.EVT_TYPE]);
  assert.ok(types.has(L.EV_TRADE) && types.has(L.EV_LEVEL) && types.has(L.EV_ACCEPTED), 'trades, levels and acks reach the hook');
  assert.not.ok(existsSync(join(dir, 'LOCK')), 'the data directory is unlocked at stop');
});

interface Ack { seq: number; orderId: number; command: string; account: number }

/**
 * Two sessions keep 16 requests each in flight (new orders that cross, cancels of their own
 * orders) and record every reply; once `minAcks` replies and 2 snapshots are in, the server gets
 * `signal` at an arbitrary moment. Returns the replies received before the connection ended.
 */
async function loadThenSignal(s: Server, port: number, minAcks: number, signal: NodeJS.Signals): Promise<{ acks: Ack[]; logouts: number[] }> {
  const acks: Ack[] = [];
  const logouts: number[] = [];
  let killed = false;
  const drive = async (account: number) => {
    const c = await connect(port, account);
    c.on('logout', (reason: number) => logouts.push(reason));
    const live: number[] = [];
    let k = 0;
    const one = async () => {
      k++;
      let r: Reply;
      let orderId: number;
      if (k % 4 === 0 && live.length > 0) {
        orderId = live.splice((k * 7919) % live.length, 1)[0];
        r = await c.cancel({ symbol: 1, orderId });
      } else {
        const side = (k + account) % 2 === 0 ? 'buy' : 'sell';
        const price = side === 'buy' ? 50_015 - ((k * 37) % 40) : 49_985 + ((k * 37) % 40);
        r = await c.newOrder({ symbol: 1, side, price, quantity: 1 + (k % 9) });
        orderId = Number((r as Execution).orderId); // assigned by the exchange (0 on a session reject)
        if (r.type === 'accepted') live.push(orderId);
      }
      if (r.type === 'session-reject' || r.type === 'mass-cancel-ack') throw new Error(`unexpected ${r.type}`);
      acks.push({ seq: Number((r as Execution).seq), orderId, command: (r as Execution).command, account });
    };
    const lane = async () => {
      while (!c.closed) {
        try {
          await one();
        } catch (e) {
          if (!killed) throw e; // after the kill the connection is gone and requests fail
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
  };
  const load = Promise.all([drive(1), drive(2)]);
  const snapshotsBefore = s.events.filter((e) => e.event === 'snapshot').length;
  await Promise.race([
    until(() => acks.length >= minAcks && s.events.filter((e) => e.event === 'snapshot').length >= snapshotsBefore + 2, 'load and snapshots'),
    load.then(() => { throw new Error('the load ended before the kill'); }),
  ]);
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20)));
  killed = true;
  s.child.kill(signal);
  const exit = await s.exited;
  if (signal === 'SIGKILL') assert.is(exit.signal, 'SIGKILL');
  else assert.equal(exit, { code: 0, signal: null }, `${signal}: a clean exit`);
  await load;
  return { acks: acks.slice(), logouts };
}

/** A small engine so that the snapshots taken during the load are quick. */
const SMALL_ENGINE = { maxOrders: 16_384, maxSymbols: 4, ladderTicks: 1 << 17, symbols: [{ id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 100_000 }] };

/** The journal's records on disk by seq: account, order id, command type. */
function journalRecords(data: string): Map<number, { account: number; orderId: number; type: number }> {
  const bySeq = new Map<number, { account: number; orderId: number; type: number }>();
  for (const chunk of new JournalReader(data).chunks()) {
    const v = new DataView(chunk.records.buffer, chunk.records.byteOffset, chunk.records.byteLength);
    for (let i = 0; i < chunk.count; i++) {
      const at = i * L.CMD_SIZE;
      bySeq.set(Number(v.getBigInt64(at + L.CMD_SEQ, true)), {
        account: v.getUint32(at + L.CMD_ACCOUNT, true), orderId: Number(v.getBigInt64(at + L.CMD_ORDER_ID, true)), type: v.getUint8(at + L.CMD_TYPE),
      });
    }
  }
  return bySeq;
}

/** Each acknowledged command at or after `fromSeq` is the journal's record at its seq: same account, order id and type. */
function assertAckedInJournal(data: string, acked: Ack[], fromSeq: number): number {
  const bySeq = journalRecords(data);
  const typeOf: Record<string, number> = { new: L.CMD_NEW, cancel: L.CMD_CANCEL };
  let checked = 0;
  for (const ack of acked) {
    if (ack.seq < fromSeq) continue;
    const r = bySeq.get(ack.seq);
    assert.ok(r, `acknowledged seq ${ack.seq} is in the journal`);
    assert.equal([r!.account, r!.orderId, r!.type], [ack.account, ack.orderId, typeOf[ack.command]], `the journal's record at seq ${ack.seq}`);
    checked++;
  }
  return checked;
}

ioTest('kill -9 under load (twice), then SIGTERM under load, archive mode: every acknowledged command is in the recovered journal; digests = full replay', async () => {
  const dir = tempDir();
  const config = join(dir, 'clob.json');
  writeFileSync(config, JSON.stringify({ engine: SMALL_ENGINE }));
  const data = join(dir, 'data');
  // Small segments, so that archive mode has old segments to keep.
  const args = ['--config', config, '--snapshot-every', '300', '--segment-bytes', '16384', '--archive-journal', 'yes'];
  const acked: Ack[] = [];
  let s = startServer(data, args);
  let port = (await s.event('listening')).port as number;
  acked.push(...(await loadThenSignal(s, port, 1500, 'SIGKILL')).acks);
  for (let round = 1; round <= 2; round++) {
    const maxAcked = Math.max(...acked.map((x) => x.seq));
    s = startServer(data, args);
    const rec = await s.event('recovered');
    port = (await s.event('listening')).port;
    assert.ok(rec.lastSeq >= maxAcked, `round ${round}: recovered up to seq ${rec.lastSeq}; the highest acknowledged seq is ${maxAcked}`);
    assert.ok(rec.snapshotSeq !== null, 'recovery started from a snapshot taken under load');
    assert.is(rec.verification, 'full-replay', 'and was checked against a full replay');
    if (round === 1) {
      // Load again on the recovered book; kill again.
      acked.push(...(await loadThenSignal(s, port, 1500, 'SIGKILL')).acks);
      continue;
    }
    // Load again; SIGTERM: the batch in flight finishes, every session is logged out, exit 0.
    const { acks, logouts } = await loadThenSignal(s, port, 1500, 'SIGTERM');
    acked.push(...acks);
    const stopped = s.events.find((e) => e.event === 'stopped')!;
    assert.ok(stopped, 'a stopped event');
    assert.ok(stopped.lastSeq >= Math.max(...acks.map((x) => x.seq)), 'everything acknowledged before SIGTERM is in the state at shutdown');
    assert.equal(logouts, [2, 2], 'both sessions got LOGOUT (shutdown)');
    assert.ok(s.events.some((e) => e.event === 'snapshot' && e.reason === 'shutdown' && e.seq === stopped.lastSeq), 'a shutdown snapshot at the last seq');
    assert.is(hex(fullReplayDigest(data, { ...DEFAULT_OPTIONS, ...SMALL_ENGINE })), stopped.digest, 'digest at shutdown = full replay of the journal');
  }
  assert.ok(listSegments(data).length > 10 && listSegments(data)[0].firstSeq === 1, 'archive mode kept every segment from seq 1');
  assert.ok(listSnapshots(data).length === 2, 'and the two newest snapshots');
  assert.is(assertAckedInJournal(data, acked, 1), acked.length);
  assert.ok(acked.length >= 4500);
});

test('kill -9 under load with pruning (the default): recovery from the pruned journal is cross-checked from the older snapshot; the digest at shutdown = a replay from the base snapshot', async () => {
  const dir = tempDir();
  const config = join(dir, 'clob.json');
  writeFileSync(config, JSON.stringify({ engine: SMALL_ENGINE }));
  const data = join(dir, 'data');
  const args = ['--config', config, '--snapshot-every', '300', '--segment-bytes', '16384'];
  let s = startServer(data, args);
  const acked = (await loadThenSignal(s, (await s.event('listening')).port, 1500, 'SIGKILL')).acks;
  const pruning = s.events.filter((e) => e.event === 'snapshot' && e.removedSegments > 0);
  assert.ok(pruning.length > 0, 'snapshots under load pruned segments');
  s = startServer(data, args);
  const rec = await s.event('recovered');
  assert.ok(rec.lastSeq >= Math.max(...acked.map((x) => x.seq)), `recovered up to seq ${rec.lastSeq}, past every acknowledged seq`);
  assert.is(rec.verification, 'replay-from-snapshot', 'the journal no longer starts at seq 1: checked against a replay from the older kept snapshot');
  assert.ok(rec.verifiedFromSeq < rec.snapshotSeq);
  const { acks } = await loadThenSignal(s, (await s.event('listening')).port, 1500, 'SIGTERM');
  acked.push(...acks);
  const stopped = s.events.find((e) => e.event === 'stopped')!;
  assert.ok(stopped.lastSeq >= Math.max(...acks.map((x) => x.seq)));

  // What is left: the two newest snapshots, and the segments from the one holding the older's seq + 1.
  const snaps = listSnapshots(data).map((x) => x.seq);
  assert.is(snaps.length, 2);
  assert.is(snaps[0], stopped.lastSeq, 'the shutdown snapshot is the newest');
  const segs = listSegments(data);
  assert.ok(segs[0].firstSeq > 1 && segs[0].firstSeq <= snaps[1] + 1 && (segs.length === 1 || segs[1].firstSeq > snaps[1] + 1), `first segment at seq ${segs[0].firstSeq}, base snapshot at seq ${snaps[1]}`);
  const report = replayJournal(data, { engineOptions: { ...DEFAULT_OPTIONS, ...SMALL_ENGINE } });
  assert.equal([report.base, report.baseSeq], ['snapshot', snaps[1]]);
  assert.is(report.digest, stopped.digest, 'digest at shutdown = replay of the journal from the base snapshot');
  assert.ok(assertAckedInJournal(data, acked, segs[0].firstSeq) > 0, 'the acknowledged commands still on disk are the journal\'s records');
});

test.run();
ioTest.run();

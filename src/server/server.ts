// `clob start`: the order-entry server with a journal, snapshots and crash recovery.
//
//   start-up   lock the data dir -> engine options (engine.json) -> recover() if the dir holds a
//              journal or snapshots (newest valid snapshot + journal replay, torn tail truncated,
//              digest checked against a full replay) -> Journal.open at lastSeq + 1 -> gateway
//   running    gateway batch (one event-loop turn): engine seqs assigned (one sequencer: the
//              gateway's, starting at the journal's last seq + 1) -> journal.append -> engine.run
//              -> output routed into the sessions' writers but HELD -> journal.commit() resolves ->
//              output released, market data hook called. The engine has no other input.
//   snapshots  every --snapshot-every commands or --snapshot-seconds: the engine's bytes are captured
//              between two batches (state = gateway.lastSeq; the only part on the event loop),
//              checksummed on a worker, written once that seq is durable (SnapshotWriter);
//              then retention (src/journal/retention.ts): the newest --keep-snapshots stay, older
//              snapshots and the segments they cover go (unless --archive-journal)
//   stopping   SIGINT/SIGTERM: no new connections or frames; the frames already read run as a
//              last batch; every commit resolves and its output is released; LOGOUT (shutdown)
//              to every session; final snapshot; journal closed (fdatasync); exit 0
//
// stdout carries one JSON object per lifecycle event (recovered, listening, snapshot, stopped:
// scripts and tests read the port and digests there); stderr carries the human-readable lines
// and the gateway's JSON log lines.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, type EngineOptions } from '../engine.js';
import { Journal, recover, enforceRetention, type Recovered } from '../journal/index.js';
import { SnapshotWriter } from '../journal/snapshot-writer.js';
import { hex } from '../journal/recovery.js';
import { Gateway } from '../gateway/server.js';
import { jsonLog, silentLog } from '../gateway/log.js';
import { demoAccounts } from '../gateway/run.js';
import { ConfigError, DEMO_CREDENTIAL, engineFileOptions, engineJson, reviveConfig, stateKey, type ServerConfig } from './config.js';
import { createMarketData, marketDataPorts, type MarketData } from './market-data.js';
import { LatencySummary, ProcessMetrics, serveMetrics, type Metric, type MetricsEndpoint } from './metrics.js';

export interface ServerIo {
  /** Lifecycle events, one JSON object per line (default: stdout). */
  event(record: Record<string, unknown>): void;
  /** Human-readable lines (default: stderr). */
  say(line: string): void;
}

export const processIo: ServerIo = {
  event: (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  say: (l) => process.stderr.write(`clob start: ${l}\n`),
};

export interface RunningServer {
  readonly gateway: Gateway;
  readonly engine: Engine;
  readonly journal: Journal;
  readonly port: number;
  /** Stops as on SIGTERM; resolves with the exit code (0, or 1 if the journal failed). */
  stop(reason?: string): Promise<number>;
  /** Resolves with the exit code once the server has stopped (by stop(), a signal, or a journal failure). */
  readonly stopped: Promise<number>;
}

const SEGMENT_RE = /^journal-\d{20}\.clj$/;
const SNAPSHOT_RE = /^snapshot-\d{20}\.cls$/;

export interface StartOptions {
  /** Stop on SIGINT/SIGTERM (a second one exits at once with 130); default true. The caller exits with `stopped`'s code. */
  signals?: boolean;
  /** A market data publisher instead of createMarketData()'s (tests). */
  marketData?: MarketData;
}

/** Starts the server. ConfigError: bad configuration (exit 2); other errors: cannot start (exit 1). */
export async function startServer(config: ServerConfig, io: ServerIo = processIo, options: StartOptions = {}): Promise<RunningServer> {
  const dir = config.dataDir;
  mkdirSync(dir, { recursive: true });
  const releaseLock = lockDataDir(dir);
  try {
    return await startLocked(config, io, options, releaseLock);
  } catch (e) {
    releaseLock();
    throw e;
  }
}

async function startLocked(config: ServerConfig, io: ServerIo, options: StartOptions, releaseLock: () => void): Promise<RunningServer> {
  const signals = options.signals ?? true;
  const dir = config.dataDir;
  const names = readdirSync(dir);
  const hasState = names.some((n) => SEGMENT_RE.test(n) || SNAPSHOT_RE.test(n));

  // ---- engine options: the data directory's engine.json is what its journal was written with ----
  const enginePath = join(dir, 'engine.json');
  let engineOptions: EngineOptions = config.engine;
  if (hasState && existsSync(enginePath)) {
    let stored: EngineOptions;
    try {
      stored = JSON.parse(readFileSync(enginePath, 'utf8'), reviveConfig) as EngineOptions;
    } catch (e) {
      throw new Error(`${enginePath} is not valid JSON (${(e as Error).message}): it holds the engine options the journal was written with`);
    }
    if (stateKey({ ...config.engine, ...stored }) !== stateKey(config.engine)) {
      if (config.engineFromFile) {
        throw new ConfigError(`the engine options of ${config.configPath} (maxOrders, maxSymbols, ladderTicks, symbols) differ from ${enginePath}, with which the journal in ${dir} was written: use a new --data-dir, or those options`);
      }
      io.say(`engine options from ${enginePath} (the journal there was written with them)`);
    }
    engineOptions = { ...config.engine, ...stored };
  } else {
    if (hasState) io.say(`warning: ${dir} holds a journal but no engine.json: assuming the configured engine options`);
    writeFileDurably(enginePath, `${engineJson(engineFileOptions(engineOptions))}\n`);
  }
  const build = config.build;

  // ---- recovery -------------------------------------------------------------------------------
  let engine: Engine;
  let lastSeq = -1;
  let recovered: Recovered | undefined;
  if (hasState) {
    io.say(`recovering from ${dir} ...`);
    const t0 = performance.now();
    recovered = await recover(dir, { ...engineOptions, build }, { build, verify: config.verifyRecovery, onWarning: (m) => io.say(`warning: ${m}`) });
    const ms = performance.now() - t0;
    engine = recovered.engine;
    lastSeq = recovered.lastSeq;
    const t = recovered.truncatedTail;
    io.say(`recovered to seq ${lastSeq}, digest ${hex(recovered.digest)}, ${engine.liveOrders} resting orders: `
      + `${recovered.snapshot ? `snapshot at seq ${recovered.snapshot.seq}` : 'no snapshot'} + ${recovered.replayed} journal records replayed in ${ms.toFixed(0)} ms; `
      + `verification: ${recovered.verification}${recovered.verifiedFrom ? ` (from the snapshot at seq ${recovered.verifiedFrom.seq})` : ''}; torn tail: ${t ? `${t.bytes} bytes ${t.repaired ? 'truncated' : 'found'} at offset ${t.offset} of ${t.file} (${t.reason})` : 'none'}`);
    io.event({
      event: 'recovered', dataDir: dir, lastSeq, digest: hex(recovered.digest), replayed: recovered.replayed, snapshotSeq: recovered.snapshot?.seq ?? null,
      verification: recovered.verification, verifiedFromSeq: recovered.verifiedFrom?.seq ?? null, truncatedTail: t ? { file: t.file, offset: t.offset, bytes: t.bytes, reason: t.reason, truncated: t.repaired } : null,
      liveOrders: engine.liveOrders, ms: Math.round(ms),
    });
  } else {
    engine = new Engine({ ...engineOptions, build });
    io.say(`new data directory ${dir}: starting from an empty book`);
  }

  // ---- journal, market data, gateway -------------------------------------------------------------
  // The one sequencer: the gateway numbers commands from here; the journal checks they continue it.
  const firstSeq = Math.max(lastSeq + 1, 1);
  const journal = await Journal.open(dir, { mode: config.durability, segmentBytes: config.segmentBytes, syncIntervalMs: config.syncIntervalMs, firstSeq });
  if (journal.lastSeq !== firstSeq - 1) {
    await journal.close();
    throw new Error(`the journal in ${dir} ends at seq ${journal.lastSeq} but recovery reached ${lastSeq}`);
  }
  let gatewayRef: Gateway | undefined;
  const mdPorts = marketDataPorts(config);
  const feed = options.marketData ? undefined : createMarketData({
    engine, recoveredSeq: lastSeq, lastSeq: () => gatewayRef?.lastSeq ?? lastSeq,
    config: { host: config.host, dataDir: dir, ...mdPorts, udpPort: config.mdUdpPort },
  });
  if (feed) {
    try {
      await feed.ready;
    } catch (e) {
      await journal.close();
      throw new Error(`market data cannot listen on ${config.host}:${mdPorts.tcpPort} (TCP) and ${mdPorts.wsPort} (WebSocket): ${(e as Error).message} (set --md-tcp-port, --md-ws-port)`);
    }
  }
  const marketData: MarketData | undefined = options.marketData ?? feed;

  let stopping: Promise<number> | undefined;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));
  let journalError: Error | undefined;

  const accounts = config.accounts ?? demoAccounts(config.demoAccounts, DEMO_CREDENTIAL);
  // The gateway's commits, timed for the metrics: from a batch's commit() to its durability.
  const commitLatency = new LatencySummary('clob_journal_commit_seconds', `Time from a batch's journal commit to its durability (${config.durability} mode): what every acknowledgement waits for.`);
  const timedJournal = {
    append: (records: Uint8Array, count: number, first: number) => journal.append(records, count, first),
    commit: () => {
      const t0 = performance.now();
      return journal.commit().then((r) => (commitLatency.observeMs(performance.now() - t0), r));
    },
  };
  const gateway = new Gateway({
    engine, accounts, host: config.host, port: config.port, io: config.io, heartbeatMs: config.heartbeatMs, loginTimeoutMs: config.loginTimeoutMs,
    ratePerSecond: config.ratePerSecond, burst: config.burst, maxSessions: config.maxSessions,
    logger: config.quiet ? silentLog : jsonLog,
    journal: timedJournal, firstSeq,
    onJournalError: (err) => {
      journalError = err;
      io.say(`FATAL: the journal failed (${err.message}): nothing after seq ${journal.writtenSeq} was acknowledged; stopping`);
      void stop('journal-error');
    },
    onDurableBatch: marketData ? (batch) => marketData.onBatch(batch) : undefined,
  });
  gatewayRef = gateway;

  // ---- snapshots --------------------------------------------------------------------------------
  let snapshotSeq = recovered ? (recovered.snapshot?.seq ?? -1) : firstSeq - 1; // nothing to snapshot on a fresh, idle server
  let snapshotAt = performance.now();
  let snapshotting: Promise<void> | undefined;
  let snapshotsTaken = 0;
  const snapshotLatency = new LatencySummary('clob_snapshot_seconds', 'Time to take, write and fsync a snapshot.');
  // Its CRC worker and its buffer (faulted in now, before traffic) serve every snapshot.
  const snapshots = await SnapshotWriter.start(engine);
  // Snapshot files found valid (retention counts only valid ones): the recovered one was restored
  // and checked, ours are written from bytes whose CRC we computed; others are read once.
  const snapshotChecks = new Map<string, string | undefined>(recovered?.snapshot ? [[recovered.snapshot.path, undefined]] : []);
  const snapshot = (reason: string): Promise<void> => {
    if (snapshotting) return snapshotting;
    const seq = gateway.lastSeq; // between two batches: the engine has run exactly 1..seq
    if (seq < 0 || seq === snapshotSeq || journalError) return Promise.resolve();
    snapshotting = (async () => {
      const t0 = performance.now();
      // The only part that blocks the event loop: the digest and the copy. The CRCs run on the
      // writer's worker, the file is written with async I/O.
      const captured = snapshots.capture(engine);
      const takenMs = performance.now() - t0;
      const sealed = snapshots.seal(captured);
      await journal.commit(); // everything up to seq is durable before a snapshot claims it
      const info = await snapshots.write(dir, await sealed, seq);
      snapshotSeq = seq;
      snapshotAt = performance.now();
      snapshotsTaken++;
      snapshotLatency.observeMs(snapshotAt - t0);
      snapshotChecks.set(info.path, undefined);
      // Only now, with the snapshot durable, may what it covers go.
      const kept = await enforceRetention(dir, { keepSnapshots: config.keepSnapshots, archive: config.archiveJournal, checked: snapshotChecks });
      io.event({
        event: 'snapshot', reason, seq, digest: hex(captured.digest), bytes: info.bytes, takeMs: Number(takenMs.toFixed(3)), totalMs: Math.round(performance.now() - t0),
        baseSeq: kept.baseSeq, removedSegments: kept.segments.length, removedSnapshots: kept.snapshots.length,
      });
    })().catch((e: Error) => io.say(`warning: snapshot at seq ${seq} failed: ${e.message}`)).finally(() => (snapshotting = undefined));
    return snapshotting;
  };
  const snapshotTimer = setInterval(() => {
    if (stopping || snapshotting) return;
    const since = gateway.lastSeq - Math.max(snapshotSeq, lastSeq);
    if (config.snapshotEvery > 0 && since >= config.snapshotEvery) void snapshot('commands');
    else if (config.snapshotSeconds > 0 && gateway.lastSeq !== snapshotSeq && performance.now() - snapshotAt >= config.snapshotSeconds * 1000) void snapshot('interval');
  }, 200);
  snapshotTimer.unref();

  const processMetrics = new ProcessMetrics();
  let metrics: MetricsEndpoint | undefined; // listening once the gateway is

  // ---- stopping -------------------------------------------------------------------------------
  const stop = (reason = 'stop'): Promise<number> => {
    if (stopping) return stopping;
    stopping = (async () => {
      clearInterval(snapshotTimer);
      if (!journalError) io.say(`stopping (${reason}): finishing the batch in flight, logging sessions out, snapshot, closing the journal`);
      await gateway.close();
      if (snapshotting) await snapshotting;
      let code = 0;
      if (!journalError) {
        await snapshot('shutdown');
        try {
          await journal.close();
        } catch (e) {
          journalError = e as Error;
        }
      }
      await snapshots.close();
      if (marketData) await marketData.close().catch((e: Error) => io.say(`warning: market data close: ${e.message}`));
      await metrics?.close();
      processMetrics.close();
      if (journalError) code = 1;
      const digest = hex(engine.digest());
      io.event({ event: 'stopped', reason, lastSeq: gateway.lastSeq, digest, liveOrders: engine.liveOrders, code });
      io.say(`stopped at seq ${gateway.lastSeq}, digest ${digest}, ${engine.liveOrders} resting orders${code ? ' (journal failure: exit 1)' : ''}`);
      releaseLock();
      resolveStopped(code);
      return code;
    })();
    return stopping;
  };

  let port: number;
  try {
    port = await gateway.listen();
  } catch (e) {
    clearInterval(snapshotTimer);
    await snapshots.close();
    await journal.close();
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`);
  }

  // ---- metrics ----------------------------------------------------------------------------------
  const collect = (): Metric[] => {
    const st = gateway.stats;
    const counter = (name: string, help: string, value: number): Metric => ({ name, help, type: 'counter', value });
    const gauge = (name: string, help: string, value: number): Metric => ({ name, help, type: 'gauge', value });
    return [
      gauge('clob_gateway_sessions', 'Logged-in order-entry sessions.', st.sessions),
      counter('clob_gateway_connections_total', 'Order-entry connections accepted.', st.connections),
      counter('clob_gateway_frames_in_total', 'Frames received from clients.', st.framesIn),
      counter('clob_gateway_bytes_in_total', 'Bytes received from clients.', st.bytesIn),
      counter('clob_gateway_batches_total', 'Batches run by the engine.', st.batches),
      counter('clob_gateway_commands_total', 'Commands sequenced, journaled and run.', st.commands),
      counter('clob_gateway_execs_out_total', 'Execution reports sent to sessions.', st.execsOut),
      counter('clob_gateway_writes_total', 'Socket writes to sessions.', st.writes),
      counter('clob_gateway_throttled_total', 'Order messages rejected by the rate limit.', st.throttled),
      counter('clob_gateway_session_rejects_total', 'Fatal session rejects (bad frames, bad seq, timeouts).', st.sessionRejects),
      gauge('clob_sequence_last', 'Engine seq of the last command run.', gateway.lastSeq),
      gauge('clob_journal_written_seq', 'Last seq written to the journal.', journal.writtenSeq),
      gauge('clob_journal_durable_seq', `Last seq durable in the journal (${config.durability} mode).`, journal.durableSeq),
      commitLatency.metric(),
      gauge('clob_engine_resting_orders', 'Orders resting in the books.', engine.liveOrders),
      gauge('clob_engine_order_capacity', 'Order slots of the engine (maxOrders).', engine.maxOrders),
      counter('clob_snapshots_total', 'Snapshots written since start.', snapshotsTaken),
      gauge('clob_snapshot_last_seq', 'Seq of the newest snapshot (-1: none).', snapshotSeq),
      snapshotLatency.metric(),
      ...processMetrics.metrics(),
    ];
  };
  if (config.metrics) {
    const metricsPort = config.metricsPort >= 0 ? config.metricsPort : config.port === 0 ? 0 : port + 3;
    try {
      metrics = await serveMetrics(config.host, metricsPort, collect, () => ({
        ok: !stopping && !journalError,
        detail: { lastSeq: gateway.lastSeq, durableSeq: journal.durableSeq, sessions: gateway.stats.sessions, stopping: stopping !== undefined, journalError: journalError?.message ?? null },
      }));
    } catch (e) {
      await stop('metrics-listen-failed');
      throw new Error(`the metrics endpoint cannot listen on ${config.host}:${metricsPort}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (set --metrics-port, or --metrics no)`);
    }
  }

  if (signals) {
    let signalled = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signalled > 1) {
        io.say(`${sig} again: exiting at once (everything acknowledged is in the journal)`);
        process.exit(130);
      }
      void stop(sig); // the caller exits with `stopped`'s code
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  if (!config.accounts) {
    io.say('*****************************************************************************************');
    io.say(`*** DEMO ACCOUNTS: accounts 1..${config.demoAccounts}, credential '${DEMO_CREDENTIAL}'. For local testing only:`);
    io.say(`*** served on loopback (${config.host}) only. Give "accounts" in a --config file for real use.`);
    io.say('*****************************************************************************************');
  }
  io.say(`listening on ${config.host}:${port} (order entry, docs/PROTOCOL.md, io ${gateway.io}: ${gateway.ioReason}); data in ${dir} (durability ${config.durability}); `
    + `${feed ? `market data on ${config.host}:${feed.tcpPort} (TCP), ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${feed.wsPort} (WebSocket)${config.mdUdpPort ? ` and UDP to ${config.host}:${config.mdUdpPort}` : ''}; ` : ''}`
    + `${metrics ? `metrics on http://${config.host}:${metrics.port}/metrics; ` : ''}`
    + `engine ${config.build} build, ${engine.maxOrders} order slots, ${config.engineFromFile ? 'symbols from the config file' : 'demo symbols 1, 2, 3'}; next seq ${gateway.lastSeq + 1}`);
  io.event({
    event: 'listening', host: config.host, port, io: gateway.io, dataDir: dir, durability: config.durability, lastSeq: gateway.lastSeq,
    digest: hex(engine.digest()), demoAccounts: !config.accounts, pid: process.pid,
    marketDataPort: feed?.tcpPort ?? null, marketDataWsPort: feed?.wsPort ?? null, metricsPort: metrics?.port ?? null,
  });

  return { gateway, engine, journal, port, stop, stopped };
}

/** Writes a small file atomically and durably (temp file, fsync, rename). */
function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * One server per data directory: a LOCK file holding the pid. A lock whose process is gone (a
 * kill -9) is taken over. Returns the release function.
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try { unlinkSync(path); } catch { /* already gone */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`data directory ${dir} is in use by process ${pid} (${path}); stop it first, or remove ${path} if that process is not a clob server`);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new Error(`cannot lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

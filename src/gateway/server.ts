// The order-entry gateway: TCP sessions in front of one engine (docs/PROTOCOL.md).
//
//   transport data --> session: FrameDecoder --> seq check, login, heartbeat, throttle
//                                  |  order frames: body (the core's command record) copied into
//                                  v  the staging area; type, account, seq and timestamp overwritten
//                staging: [ cancels | new orders/modifies ]   (cancels and mass cancels first)
//                                  |  once per event-loop turn (setImmediate), or when full
//                                  v
//                engine.commands.append(cancels) + append(news), engine.run(route)   ONE batch
//                                  |  route: each event record -> EXEC frames in the owning sessions'
//                                  v  writers (a trade to the maker's and the taker's sessions)
//                one write per session per batch, then transport.flush() (io_uring: one submit)
//
// The transport (transport.ts) is chosen by the `io` option (choose-io.ts): node:net, or the native
// helper's io_uring server; both feed the same session logic through accept/data/closed.
// `sink` is the part the sharded pipeline replaces (engine now, a ring later).
//
// With a `journal` (clob start, src/server/): each batch's records get their engine seqs, are
// appended to the journal, run, and routed into the sessions' writers as usual; then
// journal.commit() is called and everything a session was sent by that batch (EXECs,
// MASS_CANCEL_ACKs, and whatever it was sent after them) is held back until the commit resolved:
// nothing is acknowledged before it is durable. Batches pipeline (the engine runs batch k+1 while
// batch k's fdatasync is in flight; the journal groups their commits). `onDurableBatch` receives
// each batch's event records once durable, in seq order (the market data hook).
import { performance } from 'node:perf_hooks';
import * as P from '../../assembly/protocol-layout.js';
import * as L from '../../assembly/layout.js';
import type { EventReader } from '../batch.js';
import {
  FrameDecoder, FrameWriter, CLIENT_TO_SERVER, FAILED, NEED_MORE, readU32, writeU32, writeI64, writeI64Word,
  commandTypeOf, SESSION_REJECT_NAMES, LOGIN_REJECT_NAMES, reasonName,
} from '../protocol/codec.js';
import { AccountConfig, ResolvedAccount, resolveAccounts } from './config.js';
import { GatewayLogger, jsonLog } from './log.js';
import type { Connection, ConnectionHandler, IoChoice, IoKind, Transport } from './transport.js';
import { IO_CHOICES } from './transport.js';
import { openTransport } from './choose-io.js';
import type { UringTransportOptions } from './uring-transport.js';

/** What the gateway needs of an engine: the batch path (an Engine fits). */
export interface OrderSink {
  readonly commands: { readonly capacity: number; count: number; append(source: Uint8Array, first: number, count: number): void };
  readonly memory: WebAssembly.Memory;
  run(onEvents?: (events: EventReader) => void): number;
}

/** What the gateway needs of a journal (src/journal's Journal fits): append a batch's records, then commit them. */
export interface BatchJournal {
  append(records: Uint8Array, count: number, first: number): void;
  commit(): Promise<unknown>;
}

/** A batch the engine ran, handed to `onDurableBatch` once durable (in seq order). */
export interface DurableBatch {
  /** Engine seqs of the batch's commands: firstSeq..lastSeq. */
  firstSeq: number;
  lastSeq: number;
  /** The event records the batch caused, `count` x 64 bytes (layout.ts EVT_*): a copy, the callee may keep it. */
  events: Uint8Array;
  count: number;
}

export interface GatewayOptions {
  engine: OrderSink;
  /** Journal every batch before running it and release its output only once commit() resolved (see the file comment). */
  journal?: BatchJournal;
  /** The engine seq (CMD_SEQ) of the first command this gateway sequences: the journal's last seq + 1. Default 1. */
  firstSeq?: number;
  /** A journal append or commit failed: nothing after it is released; the owner should stop. Default: throw. */
  onJournalError?: (err: Error) => void;
  /** Each batch's event records, once durable (at once without a journal), in seq order. The copy is made only when this is set. */
  onDurableBatch?: (batch: DurableBatch) => void;
  accounts: AccountConfig[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port (see `port` after listen()). */
  port?: number;
  /** Heartbeat interval: the server sends one when it has sent nothing for this long; a session silent for 3 intervals is ended. Default 1000. */
  heartbeatMs?: number;
  /** A connection must log in within this. Default 5000. */
  loginTimeoutMs?: number;
  /** Default per-session order rate (messages/s, 0 = unlimited) and burst; accounts may override. Defaults 0 and 1000. */
  ratePerSecond?: number;
  burst?: number;
  /** Default sessions per account. Default 16. */
  maxSessions?: number;
  /** A session whose unsent output exceeds this is disconnected (slow consumer). Default 16 MiB. */
  maxOutboundBytes?: number;
  /** Commands per engine batch at most (default and maximum: the engine's batch capacity). */
  batchSize?: number;
  /** Structured log lines (default: JSON lines on stderr). */
  logger?: GatewayLogger;
  /** The I/O path: 'uring' (the native helper's io_uring server), 'net' (node:net), or 'auto' (default): uring where it works, else net; the 'listening' log line says which and why. */
  io?: IoChoice;
  /** io_uring path: receive slots, connection limit (see UringTransportOptions). */
  uring?: UringTransportOptions;
}

export interface GatewayStats {
  sessions: number; connections: number; batches: number; commands: number;
  framesIn: number; bytesIn: number; execsOut: number; writes: number; throttled: number; sessionRejects: number;
}

const AWAIT_LOGIN: number = 0;
const ACTIVE: number = 1;
const CLOSING: number = 2; // output still to flush, then end
const CLOSED: number = 3;

const MASK_NONE = 0;
const MASK_TAKER = 1; // the recipient is the maker: hide the taker's account and order id
const MASK_MAKER = 2; // the recipient is the taker: hide the maker's account and order id

class Session {
  state: number = AWAIT_LOGIN;
  account: ResolvedAccount | null = null;
  readonly decoder = new FrameDecoder(CLIENT_TO_SERVER);
  readonly out = new FrameWriter(4096);
  expectedSeq = 1;
  tokens = 0;
  refilledAt = 0;
  lastReceived: number;
  lastSent: number;
  dirty = false;
  /** A fatal session reject to write after this turn's executions, then end. */
  fatalReason = 0;
  fatalSeq = 0;
  fatalType = 0;
  fatalExpected = 0;
  /** A LOGOUT to answer (its seq), or a LOGOUT to send with this reason. */
  logoutRef = 0;
  logoutReason = 0;
  endReason = '';
  throttledRun = 0;
  throttleLoggedAt = -Infinity;
  /** Journal mode: [batch number, byte offset in `out` where that batch's output to this session starts], oldest first. */
  readonly holds: number[] = [];
  /** Journal mode: out of routing (CLOSED), the socket ends once the held output is released. */
  endAfterRelease = false;

  constructor(readonly id: number, readonly conn: Connection, readonly remote: string, now: number) {
    this.lastReceived = now;
    this.lastSent = now;
  }
}

export class Gateway {
  private readonly sink: OrderSink;
  private readonly accounts: Map<number, ResolvedAccount>;
  private readonly log: GatewayLogger;
  private readonly host: string;
  private readonly requestedPort: number;
  readonly heartbeatMs: number;
  private readonly loginTimeoutMs: number;
  private readonly maxOutboundBytes: number;
  private readonly ioChoice: IoChoice;
  private readonly uringOptions: UringTransportOptions | undefined;
  private transport: Transport | undefined;
  private readonly sessions = new Set<Session>();
  private readonly byAccount = new Map<number, Session[]>();
  private nextSessionId = 1;
  private timer: NodeJS.Timeout | undefined;
  private shuttingDown = false;

  // The staging area: cancels in records [0, cap), new orders and modifies in [cap, 2 cap).
  private readonly cap: number;
  private readonly staging: Uint8Array;
  private readonly stagingWords: Int32Array;
  private readonly cancelOrigin: (Session | null)[];
  private readonly cancelRef: Uint32Array;
  private readonly newOrigin: (Session | null)[];
  private readonly newRef: Uint32Array;
  private readonly massCount: Int32Array;
  private nCancels = 0;
  private nNews = 0;
  private nextSeq = 1;
  private batchBase = 0;
  private batchCancels = 0;
  private readonly memI32: Int32Array;
  private readonly dirty: Session[] = [];
  private flushScheduled = false;
  private readonly flushBound = () => this.flush();
  private readonly routeBound = (ev: EventReader) => this.route(ev);
  private readNow = 0;
  private readStamp = 0;
  /** route(): the last account looked up and its sessions (byAccount does not change while a batch routes). */
  private routeAccount = -1;
  private routeSessions: Session[] | undefined;

  // Journal mode.
  private readonly journal: BatchJournal | undefined;
  private readonly onJournalError: (err: Error) => void;
  private readonly onDurableBatch: ((batch: DurableBatch) => void) | undefined;
  /** Batches run (numbered from 1) and batches whose commit resolved. */
  private batchNo = 0;
  private durableNo = 0;
  private journalFailed: Error | undefined;
  /** The commit of the newest batch (resolved after its output was released). */
  private lastCommit: Promise<void> = Promise.resolve();
  /** Sessions holding output back for a commit. */
  private readonly holding = new Set<Session>();
  /** Event records of the running batch (for onDurableBatch), and those of batches awaiting their commit. */
  private eventCopy = new Uint8Array(0);
  private eventCopyCount = 0;
  private readonly awaitingDurable: { no: number; batch: DurableBatch }[] = [];
  private releaseQueued = false;
  private readonly releaseBound = () => this.releaseDurable();

  readonly stats: GatewayStats = { sessions: 0, connections: 0, batches: 0, commands: 0, framesIn: 0, bytesIn: 0, execsOut: 0, writes: 0, throttled: 0, sessionRejects: 0 };

  constructor(options: GatewayOptions) {
    this.sink = options.engine;
    this.log = options.logger ?? jsonLog;
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.loginTimeoutMs = options.loginTimeoutMs ?? 5000;
    this.maxOutboundBytes = options.maxOutboundBytes ?? 16 << 20;
    if (!Number.isInteger(this.heartbeatMs) || this.heartbeatMs < 1 || this.heartbeatMs > 3_600_000) throw new RangeError('heartbeatMs must be an integer from 1 to 3600000');
    this.accounts = resolveAccounts(options.accounts, {
      ratePerSecond: options.ratePerSecond ?? 0, burst: options.burst ?? 1000, maxSessions: options.maxSessions ?? 16,
    });
    this.cap = Math.min(options.batchSize ?? this.sink.commands.capacity, this.sink.commands.capacity);
    if (!Number.isInteger(this.cap) || this.cap < 1) throw new RangeError('batchSize must be a positive integer');
    this.staging = new Uint8Array(2 * this.cap * L.CMD_SIZE);
    this.stagingWords = new Int32Array(this.staging.buffer);
    this.cancelOrigin = new Array(this.cap).fill(null);
    this.newOrigin = new Array(this.cap).fill(null);
    this.cancelRef = new Uint32Array(this.cap);
    this.newRef = new Uint32Array(this.cap);
    this.massCount = new Int32Array(this.cap);
    this.memI32 = new Int32Array(this.sink.memory.buffer);
    this.journal = options.journal;
    this.onJournalError = options.onJournalError ?? ((err) => { throw err; });
    this.onDurableBatch = options.onDurableBatch;
    this.nextSeq = options.firstSeq ?? 1;
    // >= 1: seqs are also the ids of the NEW orders, and an order id is positive.
    if (!Number.isSafeInteger(this.nextSeq) || this.nextSeq < 1) throw new RangeError('firstSeq must be a positive safe integer');
    this.ioChoice = options.io ?? 'auto';
    if (!IO_CHOICES.includes(this.ioChoice)) throw new RangeError(`io must be one of ${IO_CHOICES.join(', ')}; got ${String(options.io)}`);
    this.uringOptions = options.uring;
  }

  /** Starts listening (on the path the `io` option chooses); resolves with the bound port. */
  async listen(): Promise<number> {
    const { transport, reason } = await openTransport(
      this.ioChoice, this.host, this.requestedPort, (conn) => this.accept(conn),
      (err) => this.log({ level: 'warn', event: 'server-error', reason: err.message }), this.uringOptions,
    );
    this.transport = transport;
    this.ioReason = reason;
    const tick = Math.max(1, Math.min(this.heartbeatMs >> 1, this.loginTimeoutMs >> 1, 1000));
    this.timer = setInterval(() => this.onTimer(), tick);
    this.timer.unref();
    this.log({ level: 'info', event: 'listening', host: this.host, port: this.port, io: transport.kind, ioReason: reason });
    return this.port;
  }

  get port(): number {
    return this.transport?.port ?? 0;
  }

  /** Why the I/O path in use was chosen (the 'listening' log line says it too). */
  ioReason = '';

  /** The I/O path in use ('uring' or 'net'); undefined before listen() resolved. */
  get io(): IoKind | undefined {
    return this.transport?.kind;
  }

  /** The engine seq of the last command sequenced and run (firstSeq - 1 before any). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Sessions logged in now. */
  get sessionCount(): number {
    return this.stats.sessions;
  }

  /**
   * Logs every session out (LOGOUT, reason shutdown), ends the connections and stops listening.
   * With a journal: no new connections or frames are taken; the frames already read run as a
   * last batch; every commit resolves and its output is released before the LOGOUTs go out; any
   * cancel-on-disconnect this causes is journaled too. Resolves when the journal has nothing in
   * flight (the owner then snapshots and closes it).
   */
  async close(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer) clearInterval(this.timer);
    const closed = this.transport ? this.transport.close() : Promise.resolve();
    if (this.journal) {
      for (const s of this.sessions) s.conn.pause();
      this.flush(); // the frames already read: the last batch
      await this.drainJournal();
    }
    for (const s of this.sessions) {
      if (s.state === ACTIVE) {
        s.logoutReason = P.LOGOUT_SHUTDOWN;
        this.endSession(s, 'shutdown');
      } else if (s.state === AWAIT_LOGIN) this.endSession(s, 'shutdown');
    }
    this.flush();
    if (this.journal) {
      // Cancel-on-disconnect staged by the logouts: journal it, release, until nothing is left.
      while (this.nCancels + this.nNews > 0 || this.durableNo < this.batchNo) {
        if (this.journalFailed) break;
        this.flush();
        await this.drainJournal();
      }
    }
    for (const s of this.sessions) s.conn.end();
    this.transport?.flush();
    await closed;
    this.log({ level: 'info', event: 'closed' });
  }

  /** Resolves when every batch run so far is committed and its output released (or the journal failed). */
  async drainJournal(): Promise<void> {
    while (this.journal && !this.journalFailed && this.durableNo < this.batchNo) await this.lastCommit;
  }

  // ---- transport ------------------------------------------------------------------------------

  private accept(conn: Connection): ConnectionHandler {
    const now = performance.now();
    const s = new Session(this.nextSessionId++, conn, conn.remote, now);
    this.sessions.add(s);
    this.stats.connections++;
    if (this.shuttingDown) conn.destroy();
    return {
      data: (buf, start, end) => this.onBytes(s, buf, start, end),
      closed: (error) => {
        if (error !== undefined && !s.endReason) s.endReason = `socket-error: ${error}`;
        this.onClosed(s);
      },
    };
  }

  private onBytes(s: Session, buf: Uint8Array, start: number, end: number): void {
    if (s.state >= CLOSING) return; // after a fatal reject or logout, the rest is ignored
    if (this.shuttingDown && this.journal) return; // shutting down: no new frames
    const now = performance.now();
    if (now !== this.readNow) {
      this.readNow = now;
      this.readStamp = Math.round((performance.timeOrigin + now) * 1000); // µs since the epoch
    }
    s.lastReceived = now;
    this.stats.bytesIn += end - start;
    try {
      this.decode(s, buf, start, end, now);
    } catch (err) {
      // Cannot happen by design; if it does, only this session pays.
      this.fatal(s, 0, 0, 0, 0, `internal-error: ${(err as Error).message}`);
    }
    this.scheduleFlush();
  }

  private decode(s: Session, buf: Uint8Array, start: number, end: number, now: number): void {
    const d = s.decoder;
    d.feed(buf, start, end);
    for (;;) {
      const type = d.next();
      if (type === NEED_MORE) return;
      if (type === FAILED) return this.fatal(s, d.error, d.errorSeq, d.errorType, 0);
      this.stats.framesIn++;
      if (d.seq !== s.expectedSeq) return this.fatal(s, P.SREJ_BAD_SEQ, d.seq, type, s.expectedSeq);
      s.expectedSeq++;
      if (s.state === AWAIT_LOGIN) {
        if (type !== P.MSG_LOGIN) return this.fatal(s, P.SREJ_NOT_LOGGED_IN, d.seq, type, 0);
        this.login(s, d, now);
        if (s.state !== ACTIVE) return;
        continue;
      }
      switch (type) {
        case P.MSG_HEARTBEAT:
          break;
        case P.MSG_NEW:
        case P.MSG_MODIFY:
        case P.MSG_CANCEL:
        case P.MSG_MASS_CANCEL:
          this.order(s, type, d, now);
          break;
        case P.MSG_LOGOUT:
          s.logoutRef = d.seq;
          s.logoutReason = P.LOGOUT_REQUESTED;
          this.endSession(s, 'logout');
          return;
        case P.MSG_LOGIN:
          return this.fatal(s, P.SREJ_ALREADY_LOGGED_IN, d.seq, type, 0);
        default: // the decoder admits only client -> server types
          return this.fatal(s, P.SREJ_UNKNOWN_TYPE, d.seq, type, 0);
      }
    }
  }

  private onClosed(s: Session): void {
    if (s.state !== CLOSED) this.release(s, s.endReason || 'peer-closed');
    this.sessions.delete(s);
  }

  // ---- session logic ----------------------------------------------------------------------------

  private login(s: Session, d: FrameDecoder, now: number): void {
    const b = d.buf;
    const body = d.at + P.FRAME_HEADER_SIZE;
    if (readU32(b, body + P.LOGIN_RESERVED) !== 0) return this.fatal(s, P.SREJ_BAD_FLAGS, d.seq, P.MSG_LOGIN, 0);
    const accountId = readU32(b, body + P.LOGIN_ACCOUNT);
    const account = this.accounts.get(accountId);
    const expected = account?.credential;
    let diff = expected ? 0 : 1;
    for (let i = 0; i < P.LOGIN_CREDENTIAL_SIZE; i++) diff |= b[body + P.LOGIN_CREDENTIAL + i] ^ (expected ? expected[i] : 0);
    let reject = 0;
    if (diff !== 0 || !account) reject = P.LOGIN_REJ_BAD_CREDENTIALS;
    else if (this.shuttingDown) reject = P.LOGIN_REJ_SHUTTING_DOWN;
    else if ((this.byAccount.get(accountId)?.length ?? 0) >= account.maxSessions) reject = P.LOGIN_REJ_SESSION_LIMIT;
    if (reject !== 0) {
      s.out.loginReject(d.seq, reject);
      this.log({ level: 'warn', event: 'login-reject', session: s.id, account: accountId, remote: s.remote, reason: reasonName(LOGIN_REJECT_NAMES, reject), seq: d.seq });
      this.endSession(s, `login-reject: ${reasonName(LOGIN_REJECT_NAMES, reject)}`);
      return;
    }
    s.state = ACTIVE;
    s.account = account!;
    s.tokens = account!.burst;
    s.refilledAt = now;
    let list = this.byAccount.get(accountId);
    if (!list) this.byAccount.set(accountId, (list = []));
    list.push(s);
    this.stats.sessions++;
    s.out.loginAck(d.seq, accountId, s.id, this.heartbeatMs, Math.min(P.MAX_SEQ, Math.ceil(account!.ratePerSecond)));
    this.markDirty(s);
    this.log({ level: 'info', event: 'login', session: s.id, account: accountId, remote: s.remote });
  }

  /** An order-entry frame: throttle, then stage its command record with the gateway's own account, seq and time. */
  private order(s: Session, type: number, d: FrameDecoder, now: number): void {
    const a = s.account!;
    if (a.ratePerSecond > 0) {
      s.tokens = Math.min(a.burst, s.tokens + ((now - s.refilledAt) * a.ratePerSecond) / 1000);
      s.refilledAt = now;
      if (s.tokens < 1) return this.throttle(s, d.seq, type, now);
      s.tokens -= 1;
    }
    s.throttledRun = 0;
    if (this.nCancels + this.nNews >= this.cap) this.runBatch();
    const priority = type === P.MSG_CANCEL || type === P.MSG_MASS_CANCEL;
    let record: number;
    if (priority) {
      record = this.nCancels++;
      this.cancelOrigin[record] = s;
      this.cancelRef[record] = d.seq;
    } else {
      record = this.nNews;
      this.nNews++;
      this.newOrigin[record] = s;
      this.newRef[record] = d.seq;
      record += this.cap;
    }
    // The body, word by word (it may sit at any alignment in the received bytes).
    const w = (record * L.CMD_SIZE) >>> 2;
    const st = this.stagingWords;
    const src = d.view;
    const from = d.viewAt + P.FRAME_HEADER_SIZE;
    for (let i = 0; i < L.CMD_SIZE >>> 2; i++) st[w + i] = src.getInt32(from + 4 * i, true);
    // Never trust the wire for these: the message type decides the command, the session the account.
    this.staging[(w << 2) + L.CMD_TYPE] = commandTypeOf(type);
    st[w + (L.CMD_ACCOUNT >>> 2)] = a.account;
    writeI64Word(st, w + (L.CMD_TIMESTAMP >>> 2), this.readStamp);
    // CMD_SEQ is written when the batch runs (cancels first).
  }

  private throttle(s: Session, seq: number, type: number, now: number): void {
    this.stats.throttled++;
    s.out.sessionReject(P.SREJ_THROTTLED, seq, type, 0);
    this.markDirty(s);
    s.throttledRun++;
    if (now - s.throttleLoggedAt >= 1000) { // one line per second per session at most
      s.throttleLoggedAt = now;
      this.log({ level: 'warn', event: 'session-reject', session: s.id, account: s.account?.account, remote: s.remote, reason: 'throttled', seq, type, run: s.throttledRun });
    }
  }

  /** A fatal session reject: written after this turn's executions; then the session ends. */
  private fatal(s: Session, reason: number, seq: number, type: number, expected: number, detail?: string): void {
    if (s.state >= CLOSING) return;
    s.fatalReason = reason;
    s.fatalSeq = seq;
    s.fatalType = type;
    s.fatalExpected = expected;
    this.stats.sessionRejects++;
    const name = detail ?? reasonName(SESSION_REJECT_NAMES, reason);
    this.log({ level: 'warn', event: 'session-reject', session: s.id, account: s.account?.account, remote: s.remote, reason: name, seq, type, expected: expected || undefined });
    this.endSession(s, name);
  }

  /** Marks a session to end once its output is flushed. */
  private endSession(s: Session, reason: string): void {
    if (s.state >= CLOSING) return;
    s.state = CLOSING;
    s.endReason = reason;
    this.markDirty(s);
    this.scheduleFlush();
  }

  /** Takes a session out of routing; cancel-on-disconnect when it was its account's last. */
  private release(s: Session, reason: string): void {
    const wasActive = s.account !== null && s.state !== CLOSED;
    s.state = CLOSED;
    this.log({ level: reason === 'logout' ? 'info' : 'warn', event: 'disconnect', session: s.id, account: s.account?.account, remote: s.remote, reason });
    if (!wasActive || !s.account) return;
    const a = s.account;
    const list = this.byAccount.get(a.account);
    if (list) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      this.stats.sessions--;
      if (list.length === 0) this.byAccount.delete(a.account);
    }
    if (a.cancelOnDisconnect && !this.byAccount.has(a.account)) {
      this.log({ level: 'info', event: 'cancel-on-disconnect', account: a.account, session: s.id });
      if (this.nCancels + this.nNews >= this.cap) this.runBatch();
      const record = this.nCancels++;
      this.cancelOrigin[record] = null;
      this.cancelRef[record] = 0;
      const at = record * L.CMD_SIZE;
      this.staging.fill(0, at, at + L.CMD_SIZE);
      this.staging[at + L.CMD_TYPE] = L.CMD_MASS_CANCEL;
      writeU32(this.staging, at + L.CMD_ACCOUNT, a.account);
      writeI64(this.staging, at + L.CMD_TIMESTAMP, Math.round((performance.timeOrigin + performance.now()) * 1000));
      this.scheduleFlush();
    }
  }

  private onTimer(): void {
    const now = performance.now();
    const timeout = this.heartbeatMs * P.HEARTBEAT_TIMEOUT_FACTOR;
    for (const s of this.sessions) {
      if (s.state === AWAIT_LOGIN) {
        if (now - s.lastReceived > this.loginTimeoutMs) this.fatal(s, P.SREJ_LOGIN_TIMEOUT, 0, 0, 0);
      } else if (s.state === ACTIVE) {
        if (now - s.lastReceived > timeout) this.fatal(s, P.SREJ_HEARTBEAT_TIMEOUT, 0, 0, 0);
        else if (now - s.lastSent >= this.heartbeatMs) {
          s.out.heartbeat();
          this.markDirty(s);
        }
      }
    }
    if (this.dirty.length > 0) this.scheduleFlush();
  }

  // ---- batching and routing -------------------------------------------------------------------

  private markDirty(s: Session): void {
    if (!s.dirty) {
      s.dirty = true;
      this.dirty.push(s);
    }
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled && (this.dirty.length > 0 || this.nCancels + this.nNews > 0)) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** Runs the staged commands as one batch: cancels first, then new orders and modifies. */
  private runBatch(): void {
    const nc = this.nCancels;
    const nn = this.nNews;
    if (nc + nn === 0) return;
    const base = this.nextSeq;
    const st = this.staging;
    const words = this.stagingWords;
    const RW = L.CMD_SIZE >>> 2;
    for (let i = 0; i < nc; i++) writeI64Word(words, i * RW + (L.CMD_SEQ >>> 2), base + i);
    for (let j = 0; j < nn; j++) {
      const w = (this.cap + j) * RW;
      writeI64Word(words, w + (L.CMD_SEQ >>> 2), base + nc + j);
      // Exchange-assigned ids: a NEW order's id is its engine seq. Unique for as long as the journal
      // lasts (recovery replays the same seqs), so one account can neither collide with nor probe
      // another's ids, and the id on the public L3 feed says nothing about who sent it.
      if (st[(w << 2) + L.CMD_TYPE] === L.CMD_NEW) writeI64Word(words, w + (L.CMD_ORDER_ID >>> 2), base + nc + j);
    }
    this.massCount.fill(0, 0, nc);
    const w = this.sink.commands;
    const journal = this.journal;
    if (journal) {
      if (this.journalFailed) {
        this.nCancels = 0;
        this.nNews = 0;
        return; // nothing more runs: it could never be acknowledged
      }
      // The journal is the engine's only input: nothing may have been written beside it.
      if (w.count !== 0) return this.failJournal(new Error(`${w.count} command(s) were written into the engine's batch input outside the journal`));
      try {
        if (nc > 0) journal.append(st, nc, 0);
        if (nn > 0) journal.append(st, nn, this.cap);
      } catch (e) {
        return this.failJournal(e as Error);
      }
      this.batchNo++;
      this.eventCopyCount = 0;
    } else if (w.count !== 0) this.sink.run(); // someone else's commands: not ours to route
    if (nc > 0) w.append(st, 0, nc);
    if (nn > 0) w.append(st, this.cap, nn);
    this.batchBase = base;
    this.batchCancels = nc;
    this.nextSeq = base + nc + nn;
    this.nCancels = 0;
    this.nNews = 0;
    this.stats.batches++;
    this.stats.commands += nc + nn;
    this.sink.run(this.routeBound);
    // Every MASS_CANCEL that was not rejected is closed by a MASS_CANCEL_ACK with its count.
    for (let i = 0; i < nc; i++) {
      const s = this.cancelOrigin[i];
      if (s !== null && this.massCount[i] >= 0 && st[i * L.CMD_SIZE + L.CMD_TYPE] === L.CMD_MASS_CANCEL && s.state !== CLOSED) {
        if (journal) this.hold(s);
        s.out.massCancelAck(this.cancelRef[i], readU32(st, i * L.CMD_SIZE + L.CMD_SYMBOL), this.massCount[i]);
        this.markDirty(s);
      }
      this.cancelOrigin[i] = null;
    }
    for (let j = 0; j < nn; j++) this.newOrigin[j] = null;
    const batch = this.onDurableBatch
      ? { firstSeq: base, lastSeq: base + nc + nn - 1, events: this.eventCopy.slice(0, this.eventCopyCount * L.EVT_SIZE), count: this.eventCopyCount }
      : undefined;
    this.eventCopyCount = 0;
    if (journal) {
      const no = this.batchNo;
      if (batch) this.awaitingDurable.push({ no, batch });
      this.lastCommit = journal.commit().then(() => this.onDurable(no), (e: unknown) => this.failJournal(e as Error));
    } else if (batch) this.onDurableBatch!(batch);
  }

  // ---- journal mode: holding output until its batch is durable ---------------------------------

  /** Output written to `s` from here on belongs to the running batch: held until its commit resolves. */
  private hold(s: Session): void {
    const h = s.holds;
    if (h.length === 0 || h[h.length - 2] !== this.batchNo) {
      h.push(this.batchNo, s.out.length);
      this.holding.add(s);
    }
  }

  /** Bytes at the front of the session's writer that may be written now. */
  private releasable(s: Session): number {
    const h = s.holds;
    let k = 0;
    while (k < h.length && h[k] <= this.durableNo) k += 2;
    if (k > 0) h.splice(0, k);
    return h.length === 0 ? s.out.length : h[1];
  }

  /** Writes the first `n` bytes of the session's writer to its connection (copied there). */
  private writeOut(s: Session, n: number, now: number): void {
    if (n === 0) return;
    const out = s.out;
    s.conn.write(out.u8, n);
    if (n === out.length) out.length = 0;
    else {
      out.u8.copyWithin(0, n, out.length);
      out.length -= n;
      const h = s.holds;
      for (let k = 1; k < h.length; k += 2) h[k] -= n;
    }
    s.lastSent = now;
    this.stats.writes++;
  }

  /** Batch `no` (and every one before it) is durable: its output goes out with its commit's others. */
  private onDurable(no: number): void {
    if (this.journalFailed) return;
    if (no > this.durableNo) this.durableNo = no;
    // Every batch that shared a journal write resolves in the same run of microtasks: release
    // once after them all. Releasing per batch cost a socket write per batch and moved the
    // still-held rest of the writer each time, O(batches^2) per fdatasync under load.
    if (!this.releaseQueued) {
      this.releaseQueued = true;
      queueMicrotask(this.releaseBound);
    }
  }

  /** Writes what every holding session may send now (batches up to durableNo). */
  private releaseDurable(): void {
    this.releaseQueued = false;
    if (this.journalFailed) return;
    const now = performance.now();
    for (const s of this.holding) {
      if (s.conn.destroyed) {
        s.holds.length = 0;
        s.out.length = 0;
        this.holding.delete(s);
        continue;
      }
      const n = this.releasable(s);
      if (s.holds.length === 0) this.holding.delete(s);
      if (n > 0 && s.state !== CLOSED && s.conn.bufferedBytes > this.maxOutboundBytes) {
        this.dropSlowConsumer(s);
        continue;
      }
      this.writeOut(s, n, now);
      if (s.endAfterRelease && s.holds.length === 0) this.endSocket(s);
    }
    this.transport?.flush();
    const q = this.awaitingDurable;
    while (q.length > 0 && q[0].no <= this.durableNo) this.onDurableBatch!(q.shift()!.batch);
  }

  /** The journal failed: nothing more is run or released. */
  private failJournal(err: Error): void {
    if (this.journalFailed) return;
    this.journalFailed = err;
    this.log({ level: 'warn', event: 'journal-error', reason: err.message });
    this.onJournalError(err);
  }

  private endSocket(s: Session): void {
    s.endAfterRelease = false;
    s.conn.end();
    setTimeout(() => s.conn.destroy(), 2000).unref(); // a peer that never closes its side
  }

  private dropSlowConsumer(s: Session): void {
    this.log({ level: 'warn', event: 'slow-consumer', session: s.id, account: s.account?.account, remote: s.remote, buffered: s.conn.bufferedBytes });
    s.endReason = 'slow-consumer';
    s.out.length = 0;
    s.holds.length = 0;
    s.endAfterRelease = false;
    this.holding.delete(s);
    if (s.state !== CLOSED) this.release(s, 'slow-consumer');
    s.conn.destroy();
  }

  private route(ev: EventReader): void {
    // The causing command's index in the batch, from the seq's low words: k < 2^32, so mod 2^32 is exact.
    const baseLow = this.batchBase >>> 0;
    const nc = this.batchCancels;
    const mem = this.memI32;
    this.routeAccount = -1;
    if (this.onDurableBatch !== undefined && ev.count > 0) this.copyEvents(ev);
    for (let i = 0; i < ev.count; i++) {
      ev.select(i);
      const type = ev.type;
      if (type === L.EV_LEVEL || type === L.EV_SYMBOL_STATUS) continue; // market data: not order entry
      const k = (mem[(ev.offset + L.EVT_SEQ) >>> 2] - baseLow) >>> 0;
      let origin: Session | null;
      let ref: number;
      if (k < nc) {
        origin = this.cancelOrigin[k];
        ref = this.cancelRef[k];
      } else {
        origin = this.newOrigin[k - nc];
        ref = this.newRef[k - nc];
      }
      if (origin !== null && origin.state === CLOSED) origin = null;
      switch (type) {
        case L.EV_REJECTED:
          if (k < nc) this.massCount[k] = -1;
          if (origin !== null) this.send(origin, ref, ev, MASK_NONE);
          break;
        case L.EV_TRADE: {
          const maker = ev.account;
          const taker = ev.takerAccount;
          if (maker === taker) this.sendAccount(maker, origin, ref, ev, MASK_NONE);
          else {
            this.sendAccount(maker, origin, ref, ev, MASK_TAKER);
            this.sendAccount(taker, origin, ref, ev, MASK_MAKER);
          }
          break;
        }
        case L.EV_CANCELLED:
          if (k < nc && ev.reason === L.CXL_MASS_CANCEL) this.massCount[k]++;
          this.sendAccount(ev.account, origin, ref, ev, MASK_NONE);
          break;
        default: // ACCEPTED, MODIFIED
          this.sendAccount(ev.account, origin, ref, ev, MASK_NONE);
      }
    }
  }

  /** Appends the chunk's event records to the running batch's copy (for onDurableBatch). */
  private copyEvents(ev: EventReader): void {
    const from = ev.select(0).offset;
    const bytes = ev.count * L.EVT_SIZE;
    const at = this.eventCopyCount * L.EVT_SIZE;
    if (at + bytes > this.eventCopy.length) {
      const grown = new Uint8Array(Math.max(at + bytes, this.eventCopy.length * 2, 64 * L.EVT_SIZE));
      grown.set(this.eventCopy.subarray(0, at));
      this.eventCopy = grown;
    }
    this.eventCopy.set(new Uint8Array(this.sink.memory.buffer, from, bytes), at);
    this.eventCopyCount += ev.count;
  }

  /** To every live session of the account; `ref` only to the session that sent the command. */
  private sendAccount(account: number, origin: Session | null, ref: number, ev: EventReader, mask: number): void {
    let list = this.routeSessions;
    if (account !== this.routeAccount) {
      list = this.routeSessions = this.byAccount.get(account);
      this.routeAccount = account;
    }
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s.state !== CLOSED) this.send(s, s === origin ? ref : 0, ev, mask);
    }
  }

  private send(s: Session, ref: number, ev: EventReader, mask: number): void {
    if (this.journal) this.hold(s);
    const body = s.out.record(P.MSG_EXEC, ref, this.memI32, ev.offset);
    if (mask !== MASK_NONE) {
      const b = s.out.u8;
      if (mask === MASK_TAKER) {
        writeU32(b, body + L.EVT_AUX32, 0);
        writeI64(b, body + L.EVT_AUX64, 0);
      } else {
        writeU32(b, body + L.EVT_ACCOUNT, 0);
        writeI64(b, body + L.EVT_ORDER_ID, 0);
      }
    }
    this.stats.execsOut++;
    this.markDirty(s);
  }

  /** Once per event-loop turn: run the staged batch, then one write per session with output. */
  private flush(): void {
    this.flushScheduled = false;
    this.runBatch();
    const now = performance.now();
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const s = dirty[i];
      s.dirty = false;
      if (s.state === CLOSED) continue;
      if (s.state === CLOSING) {
        if (s.fatalReason !== 0) s.out.sessionReject(s.fatalReason, s.fatalSeq, s.fatalType, s.fatalExpected);
        if (s.logoutReason !== 0) s.out.logout(s.logoutRef, s.logoutReason);
        s.fatalReason = 0;
        s.logoutReason = 0;
      }
      const n = this.journal ? this.releasable(s) : s.out.length;
      if (n > 0) {
        if (s.conn.bufferedBytes > this.maxOutboundBytes) {
          this.dropSlowConsumer(s);
          continue;
        }
        this.writeOut(s, n, now);
      }
      if (s.state === CLOSING) {
        const reason = s.endReason;
        this.release(s, reason);
        // Journal mode: output held for a commit goes first (onDurable ends the socket).
        if (s.holds.length > 0) s.endAfterRelease = true;
        else this.endSocket(s);
      }
    }
    dirty.length = 0;
    this.transport?.flush();
    // release() may have staged a cancel-on-disconnect: run it now rather than wait a turn.
    if (this.nCancels + this.nNews > 0) this.scheduleFlush();
  }
}

/** Creates a gateway and starts listening. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const g = new Gateway(options);
  await g.listen();
  return g;
}

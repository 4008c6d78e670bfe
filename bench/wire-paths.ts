// The paths bench/wire.ts measures, each a client driving a server over loopback TCP:
//
//   c-echo       C client <-> C server (native/echo.cc): the kernel's round trip, the floor
//   node-echo    node:net client (this thread) <-> node:net echo server (a worker thread)
//   clob-<io>-<durability>   order-to-ack: this thread sends NEW frames (docs/PROTOCOL.md) to a
//                `clob start` child process (its own event loop, journal, market data) and waits
//                for each order's ACCEPTED
//
// Every path offers the same two measurements (WirePath): ping-pong (one message outstanding,
// round-trip time) and open loop (message i is due at t0 + i/rate whatever came back; latency =
// reply time - planned time, so a stall is not hidden by sending less: no coordinated omission).
// Every reply is checked against what was sent: echo bytes must match; an ack must be the
// ACCEPTED of that order (matched by its clientOrderId, never by the order id, which the exchange
// may assign).
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as P from '../assembly/protocol-layout.js';
import * as L from '../assembly/layout.js';
import { FrameDecoder, FrameWriter, SERVER_TO_CLIENT, FAILED, NEED_MORE, encodeCredential, readI64, type CommandFields } from '../src/protocol/codec.js';
import type { NativeAddon } from '../src/native.js';
import type { DurabilityMode } from '../src/journal/journal.js';

/** Bytes of one echo message (the size: about a small order-entry frame). */
export const ECHO_MESSAGE_BYTES = 48;
/** A reply that does not come within this fails the run (a server that died, a lost message). */
const REPLY_TIMEOUT_MS = 10_000;

export interface PathCheck {
  /** Messages written. */
  sent: number;
  /** Replies matched to a message (an echo, or an order's ACCEPTED/REJECTED). */
  returned: number;
  /** Replies that were not what was sent (other bytes; an ack carrying another order's clientOrderId). */
  mismatched: number;
  /** clob only: orders the engine rejected (none expected). */
  rejected?: number;
}

export interface WirePath {
  readonly name: string;
  readonly label: string;
  /** `count` unrecorded round trips (warm-up). */
  warm(count: number): Promise<void>;
  /** One message outstanding: out[i] = round trip of message i, ns. */
  pingPong(out: Float64Array): Promise<PathCheck>;
  /** Open loop at `rate` messages/s: out[i] = reply time - planned send time, fromSend[i] = reply time - write time, ns. */
  openLoop(out: Float64Array, fromSend: Float64Array, rate: number): Promise<PathCheck>;
  close(): Promise<void>;
}

const nowNs = () => performance.now() * 1e6;

// ---------------------------------------------------------------------------------------------
// C echo

export class CEchoPath implements WirePath {
  readonly name = 'c-echo';
  readonly label = 'C echo (floor)';
  private constructor(private readonly addon: NativeAddon, private readonly port: number) {}

  static start(addon: NativeAddon): CEchoPath {
    return new CEchoPath(addon, addon.echoServerStart());
  }

  async warm(count: number): Promise<void> {
    await this.addon.echoClient(this.port, new Float64Array(1), { warmup: count });
  }

  pingPong(out: Float64Array): Promise<PathCheck> {
    return this.addon.echoClient(this.port, out, { timeoutMs: REPLY_TIMEOUT_MS });
  }

  openLoop(out: Float64Array, fromSend: Float64Array, rate: number): Promise<PathCheck> {
    return this.addon.echoClient(this.port, out, { rate, fromSend, timeoutMs: REPLY_TIMEOUT_MS });
  }

  async close(): Promise<void> {
    this.addon.echoServerStop(this.port);
  }
}

// ---------------------------------------------------------------------------------------------
// The node-side client machinery both node paths share: a socket, one run at a time, replies
// matched to message indices by the subclass.

interface Run {
  count: number;
  out: Float64Array;
  fromSend: Float64Array | undefined;
  /** Planned send time of message 0 (ns) and the gap between messages; 0 gap = ping-pong. */
  t0: number;
  gapNs: number;
  writtenAt: Float64Array;
  sent: number;
  returned: number;
  mismatched: number;
  rejected: number;
  /** `returned` when the watchdog last looked: no change between two looks is a stall. */
  progress: number;
  resolve: (c: PathCheck) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

abstract class NodeClient implements WirePath {
  abstract readonly name: string;
  abstract readonly label: string;
  protected run: Run | undefined;
  protected closed = false;
  /** Whether replies can be rejects (order acks): then PathCheck carries `rejected`. */
  protected readonly acksOrders: boolean = false;

  constructor(protected readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('close', () => {
      this.closed = true;
      this.fail(new Error(`${this.name}: the server closed the connection`));
    });
    socket.on('error', (e) => this.fail(new Error(`${this.name}: ${e.message}`)));
  }

  /** Writes messages first..first+n-1 in one socket write. */
  protected abstract write(first: number, n: number): void;

  async warm(count: number): Promise<void> {
    if (count > 0) await this.pingPong(new Float64Array(count));
  }

  pingPong(out: Float64Array): Promise<PathCheck> {
    return this.start(out, undefined, 0);
  }

  openLoop(out: Float64Array, fromSend: Float64Array, rate: number): Promise<PathCheck> {
    return this.start(out, fromSend, 1e9 / rate);
  }

  private start(out: Float64Array, fromSend: Float64Array | undefined, gapNs: number): Promise<PathCheck> {
    if (this.run) return Promise.reject(new Error(`${this.name}: a run is in progress`));
    if (this.closed) return Promise.reject(new Error(`${this.name}: the connection is closed`));
    return new Promise<PathCheck>((resolve, reject) => {
      const run: Run = {
        count: out.length, out, fromSend, t0: nowNs() + (gapNs > 0 ? 1e6 : 0), gapNs, writtenAt: new Float64Array(out.length),
        sent: 0, returned: 0, mismatched: 0, rejected: 0, progress: -1, resolve, reject,
        timer: setInterval(() => this.watchdog(), REPLY_TIMEOUT_MS),
      };
      this.run = run;
      this.begin();
      if (run.count === 0) this.finish();
      else if (gapNs === 0) this.send(0, 1);
      else this.pace();
    });
  }

  /** Called when a run starts (the clob client stops heartbeats, notes its first seq). */
  protected begin(): void {}

  private send(first: number, n: number): void {
    const run = this.run!;
    const t = nowNs(); // before the write: node writes to the socket synchronously when it can
    this.write(first, n);
    for (let i = first; i < first + n; i++) run.writtenAt[i] = t;
    run.sent += n;
  }

  /** Open loop: write every due message, then come back on the next turn of the event loop. */
  private readonly pace = (): void => {
    const run = this.run;
    if (!run || run.sent >= run.count) return;
    const now = nowNs();
    let n = 0;
    while (run.sent + n < run.count && run.t0 + (run.sent + n) * run.gapNs <= now) n++;
    if (n > 0) this.send(run.sent, n);
    if (run.sent < run.count) setImmediate(this.pace);
  };

  /** The reply to message i arrived (ok: it is what was sent; rejected: clob refused the order). */
  protected replied(i: number, ok: boolean, rejected = false): void {
    const run = this.run;
    if (!run) return;
    if (i < 0 || i >= run.count || i >= run.sent) {
      run.mismatched++;
      return;
    }
    const now = nowNs();
    run.returned++;
    if (!ok) run.mismatched++;
    if (rejected) run.rejected++;
    if (run.gapNs === 0) {
      run.out[i] = now - run.writtenAt[i];
      if (i + 1 < run.count) this.send(i + 1, 1);
    } else {
      run.out[i] = now - (run.t0 + i * run.gapNs);
      run.fromSend![i] = now - run.writtenAt[i];
    }
    if (run.returned === run.count) this.finish();
  }

  private finish(): void {
    const run = this.run!;
    clearInterval(run.timer);
    this.run = undefined;
    this.end();
    run.resolve({ sent: run.sent, returned: run.returned, mismatched: run.mismatched, ...(this.acksOrders ? { rejected: run.rejected } : {}) });
  }

  /** Called when a run ends (the clob client resumes heartbeats). */
  protected end(): void {}

  private watchdog(): void {
    const run = this.run;
    if (!run) return;
    if (run.returned === run.progress) this.fail(new Error(`${this.name}: no reply within ${REPLY_TIMEOUT_MS} ms (${run.returned} of ${run.count} returned)`));
    run.progress = run.returned;
  }

  private fail(e: Error): void {
    const run = this.run;
    if (!run) return;
    clearInterval(run.timer);
    this.run = undefined;
    run.reject(e);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket.destroy();
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// node:net echo

/** Message i of an echo run: its index, then bytes derived from it (as native/echo.cc writes them). */
export function fillEchoMessage(b: Uint8Array, at: number, i: number): void {
  const lo = i >>> 0;
  const hi = Math.floor(i / 4294967296);
  b[at] = lo; b[at + 1] = lo >>> 8; b[at + 2] = lo >>> 16; b[at + 3] = lo >>> 24;
  b[at + 4] = hi; b[at + 5] = hi >>> 8; b[at + 6] = hi >>> 16; b[at + 7] = hi >>> 24;
  for (let k = 8; k < ECHO_MESSAGE_BYTES; k++) b[at + k] = (i * 31 + k) & 0xff;
}

function echoMessageIs(b: Uint8Array, at: number, i: number, scratch: Uint8Array): boolean {
  fillEchoMessage(scratch, 0, i);
  for (let k = 0; k < ECHO_MESSAGE_BYTES; k++) if (b[at + k] !== scratch[k]) return false;
  return true;
}

// The server: every chunk read is written back as it is (a byte stream echo keeps message bounds).
const NODE_ECHO_SERVER = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer((s) => { s.setNoDelay(true); s.on('data', (c) => s.write(c)); s.on('error', () => {}); });
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => parentPort.close()));
`;

export class NodeEchoPath extends NodeClient {
  readonly name = 'node-echo';
  readonly label = 'node:net echo';
  private readonly pending = new Uint8Array(ECHO_MESSAGE_BYTES);
  private pendingLength = 0;
  private readonly scratch = new Uint8Array(ECHO_MESSAGE_BYTES);
  private nextReply = 0;
  private readonly outBuf = Buffer.alloc(ECHO_MESSAGE_BYTES);

  private constructor(socket: net.Socket, private readonly worker: Worker) {
    super(socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async start(): Promise<NodeEchoPath> {
    const worker = new Worker(NODE_ECHO_SERVER, { eval: true });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return new NodeEchoPath(await connect(port), worker);
  }

  protected begin(): void {
    this.nextReply = 0;
  }

  protected write(first: number, n: number): void {
    // Ping-pong reuses one buffer (the reply proves the write is done); a burst gets its own.
    const b = n === 1 && this.run!.gapNs === 0 ? this.outBuf : Buffer.allocUnsafe(n * ECHO_MESSAGE_BYTES);
    for (let k = 0; k < n; k++) fillEchoMessage(b, k * ECHO_MESSAGE_BYTES, first + k);
    this.socket.write(b);
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(ECHO_MESSAGE_BYTES - this.pendingLength, chunk.length);
      this.pending.set(chunk.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      at = take;
      if (this.pendingLength < ECHO_MESSAGE_BYTES) return;
      this.pendingLength = 0;
      this.reply(this.pending, 0);
    }
    for (; at + ECHO_MESSAGE_BYTES <= chunk.length; at += ECHO_MESSAGE_BYTES) this.reply(chunk, at);
    if (at < chunk.length) {
      this.pending.set(chunk.subarray(at), 0);
      this.pendingLength = chunk.length - at;
    }
  }

  private reply(b: Uint8Array, at: number): void {
    const i = this.nextReply++;
    this.replied(i, echoMessageIs(b, at, i, this.scratch));
  }

  async close(): Promise<void> {
    await super.close();
    this.worker.postMessage('close');
    await new Promise((r) => this.worker.once('exit', r));
  }
}

// ---------------------------------------------------------------------------------------------
// clob order-to-ack

export interface ClobServerSpec {
  /** The gateway's I/O path, 'net' or 'uring' (passed to clob start as --io <io>). */
  io: string;
  /** The journal's durability mode (clob start's default is 'fsync'). */
  durability: DurabilityMode;
}

/** Always explicit: clob start's default, auto, would pick uring wherever it works. */
const ioArgs = (io: string): string[] => ['--io', io];

const DEMO_ACCOUNT = 1;
const DEMO_CREDENTIAL = 'demo';
const SYMBOL = 1;
const PRICE = 10_000;

/**
 * A `clob start` child process on a fresh data directory (port 0, market data on any free port,
 * everything else its defaults) and one order-entry session. Orders alternate buy and sell of 1
 * lot at one price on symbol 1, so every second order trades against the one before it: the book
 * stays at most one order deep, and matching, journaling and market data publishing all run.
 */
export class ClobPath extends NodeClient {
  readonly name: string;
  readonly label: string;
  protected readonly acksOrders = true;
  private readonly decoder = new FrameDecoder(SERVER_TO_CLIENT);
  private readonly writer = new FrameWriter(4096);
  private readonly fields: CommandFields = { side: L.SIDE_BUY, orderType: L.ORDER_LIMIT, tif: L.TIF_GTC, stp: L.STP_NONE, symbol: SYMBOL, price: PRICE, quantity: 1, orderId: 0, clientOrderId: 0 };
  private nextOrderId = 1;
  /** The run's first frame seq and first clientOrderId: message i is seq firstSeq + i, clientOrderId firstClientId + i. */
  private firstSeq = 0;
  private firstClientId = 1;
  private heartbeat: NodeJS.Timeout;
  private loggedIn: (() => void) | undefined;

  private constructor(socket: net.Socket, private readonly child: ChildProcess, private readonly dataDir: string, spec: ClobServerSpec) {
    super(socket);
    this.name = `clob-${spec.io}-${spec.durability}`;
    this.label = `clob ${spec.io}, durability ${spec.durability}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Between runs the session would be silent: heartbeats keep the gateway from ending it.
    this.heartbeat = setInterval(() => {
      if (this.run || this.closed) return;
      this.writer.heartbeat();
      this.socket.write(this.writer.take());
    }, 250);
    this.heartbeat.unref();
  }

  /** Starts the server (data in a new directory under `dataRoot`, removed by close()) and logs in. */
  static async start(spec: ClobServerSpec, dataRoot: string): Promise<ClobPath> {
    const dataDir = mkdtempSync(join(dataRoot, `clob-wire-${spec.durability}-`));
    let child: ChildProcess | undefined;
    try {
      const started = await startServerChild(spec, dataDir);
      child = started.child;
      const path = new ClobPath(await connect(started.port), child, dataDir, spec);
      await path.login();
      return path;
    } catch (e) {
      child?.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  private login(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.loggedIn = resolve;
      this.socket.once('close', () => reject(new Error(`${this.name}: the server closed the connection before LOGIN_ACK`)));
      this.writer.login(DEMO_ACCOUNT, encodeCredential(DEMO_CREDENTIAL)!);
      this.socket.write(this.writer.take());
    });
  }

  protected begin(): void {
    this.firstSeq = this.writer.seq;
  }

  protected end(): void {
    this.firstClientId += this.writer.seq - this.firstSeq;
  }

  protected write(first: number, n: number): void {
    const f = this.fields;
    for (let k = 0; k < n; k++) {
      const i = first + k;
      f.side = (this.firstClientId + i) % 2 === 1 ? L.SIDE_BUY : L.SIDE_SELL;
      f.orderId = this.nextOrderId++;
      f.clientOrderId = this.firstClientId + i;
      this.writer.command(P.MSG_NEW, f);
    }
    this.socket.write(this.writer.take());
  }

  private onData(chunk: Buffer): void {
    const d = this.decoder;
    d.feed(chunk);
    for (;;) {
      const type = d.next();
      if (type === NEED_MORE) return;
      if (type === FAILED) {
        this.socket.destroy(new Error(`bad frame from the server (reason ${d.error})`));
        return;
      }
      if (type === P.MSG_LOGIN_ACK) {
        this.loggedIn?.();
        this.loggedIn = undefined;
      } else if (type === P.MSG_EXEC && d.ref !== 0) {
        // An order's ack is its ACCEPTED (or REJECTED); the TRADE and LEVEL that follow are not.
        const body = d.at + P.FRAME_HEADER_SIZE;
        const ev = d.buf[body + L.EVT_TYPE];
        if (ev === L.EV_ACCEPTED || ev === L.EV_REJECTED) {
          const i = d.ref - this.firstSeq;
          const clientId = readI64(d.buf, body + L.EVT_AUX64B);
          this.replied(i, clientId === this.firstClientId + i, ev === L.EV_REJECTED);
        }
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await super.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** `clob start` as a child process; resolves with its order-entry port from the 'listening' line. */
function startServerChild(spec: ClobServerSpec, dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const here = import.meta.url;
  const cli = fileURLToPath(new URL(`../src/cli${here.endsWith('.ts') ? '.ts' : '.js'}`, here));
  const args = [...process.execArgv, cli, 'start', '--port', '0', '--md-tcp-port', '0', '--data-dir', dataDir, '--durability', spec.durability, '--quiet', ...ioArgs(spec.io)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderr.push(l);
    if (stderr.length > 20) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`clob start (${spec.io}, ${spec.durability}) exited with ${code} before listening: ${stderr.join(' | ')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number };
        if (msg.event === 'listening' && msg.port) resolve({ child, port: msg.port });
      } catch { /* not a lifecycle line */ }
    });
  });
}

// A client of the order-entry gateway (docs/PROTOCOL.md): `import { Client } from 'clob/client'`.
//
//   const c = await Client.connect({ port, account: 7, credential: 'secret' });
//   c.on('exec', (e) => console.log(e));            // every execution of the account, or:
//   for await (const e of c.executions()) ...
//   const ack = await c.newOrder({ symbol: 1, side: 'buy', price: 100, quantity: 5, clientOrderId: 1 });
//   // ack.type: 'accepted' | 'rejected' (a reason) | 'session-reject' (throttled);
//   // ack.orderId: the id the exchange assigned (cancel and modify name it)
//   await c.logout();
//
// Requests written in one turn of the event loop go out in one socket write. Heartbeats are sent
// when the client has been silent for the server's interval. No reconnect.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import * as P from '../../assembly/protocol-layout.js';
import * as L from '../../assembly/layout.js';
import {
  FrameDecoder, FrameWriter, SERVER_TO_CLIENT, FAILED, NEED_MORE, readU32, encodeCredential,
  SESSION_REJECT_NAMES, LOGIN_REJECT_NAMES, reasonName,
} from '../protocol/codec.js';
import { readEvent } from '../records.js';
import { toEngineEvent, type EngineEvent } from '../events.js';
import { SIDES, ORDER_TYPES, TIFS, STP_MODES, codeOf, type Side, type OrderType, type TimeInForce, type SelfTradePrevention } from '../codes.js';

export interface ClientOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  account: number;
  credential: string;
  /** Give up connecting and logging in after this (default 5000 ms). */
  timeoutMs?: number;
}

/** An execution report: the core's event (numbers, or bigints beyond 2^53) and the request it answers. */
export type Execution = EngineEvent & {
  /** The seq of this session's request that caused it; 0 when it was not this session's (a fill of a resting order, another session of the account). */
  ref: number;
};
export interface SessionRejectReply { type: 'session-reject'; reason: string; code: number; seq: number; messageType: number; expected: number }
export interface MassCancelAck { type: 'mass-cancel-ack'; ref: number; symbol: number; count: number }
/** What a request's promise resolves with: its first execution (accepted / rejected / cancelled / modified), a mass cancel's end, or a session reject (throttled). */
export type Reply = Execution | SessionRejectReply | MassCancelAck;

/** A new order. Its order id is assigned by the exchange and comes back in the reply (`orderId`). */
export interface NewOrderRequest {
  symbol: number; side: Side; quantity: number;
  /** Limit price; market: the optional protection price. */
  price?: number;
  type?: OrderType; tif?: TimeInForce; postOnly?: boolean; stp?: SelfTradePrevention; clientOrderId?: number;
}
export interface CancelRequest { symbol: number; orderId: number }
export interface ModifyRequest { symbol: number; orderId: number; price: number; quantity: number; clientOrderId?: number }
export interface MassCancelRequest { /** 0 or absent: every symbol. */ symbol?: number }

interface Pending { resolve: (r: Reply) => void; reject: (e: Error) => void; mass: boolean }

export class Client extends EventEmitter {
  readonly account: number;
  /** From LOGIN_ACK. */
  session = 0;
  heartbeatMs = 0;
  ratePerSecond = 0;
  /** Set once the connection is gone. */
  closed = false;

  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(SERVER_TO_CLIENT);
  private readonly out = new FrameWriter(4096);
  private readonly pending = new Map<number, Pending>();
  private readonly scratch = new Uint8Array(L.EVT_SIZE);
  private readonly scratchView = new DataView(this.scratch.buffer);
  private expectedSeq = 1;
  private flushQueued = false;
  private lastSent = 0;
  private lastReceived = 0;
  private timer: NodeJS.Timeout | undefined;
  private loginWaiter: Pending | undefined;
  private logoutWaiter: (() => void) | undefined;
  private queue: Execution[] = [];
  private wake: (() => void) | undefined;
  private iterating = false;

  private constructor(socket: net.Socket, account: number) {
    super();
    this.socket = socket;
    this.account = account;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.on('close', () => this.onClose());
  }

  /** Connects and logs in; rejects on a LOGIN_REJECT (message names the reason), a timeout or a socket error. */
  static connect(options: ClientOptions): Promise<Client> {
    const credential = encodeCredential(options.credential);
    if (!credential) return Promise.reject(new RangeError(`credential is longer than ${P.LOGIN_CREDENTIAL_SIZE} bytes`));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: options.port, host: options.host ?? '127.0.0.1' });
      const client = new Client(socket, options.account);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`clob client: no LOGIN_ACK within ${options.timeoutMs ?? 5000} ms`));
      }, options.timeoutMs ?? 5000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      client.loginWaiter = {
        mass: false,
        resolve: () => {
          clearTimeout(timer);
          socket.off('error', fail);
          client.startHeartbeats();
          resolve(client);
        },
        reject: fail,
      };
      socket.once('connect', () => {
        client.out.login(options.account, credential);
        client.flush();
      });
    });
  }

  newOrder(o: NewOrderRequest): Promise<Reply> {
    const orderType = codeOf(ORDER_TYPES, o.type ?? 'limit', 'type');
    const market = orderType === L.ORDER_MARKET;
    let flags = o.postOnly ? L.FLAG_POST_ONLY : 0;
    if (market && o.price !== undefined) flags |= L.FLAG_PROTECTED;
    return this.request(P.MSG_NEW, false, {
      symbol: o.symbol, orderId: 0, side: codeOf(SIDES, o.side, 'side'), orderType,
      tif: codeOf(TIFS, o.tif ?? (market ? 'ioc' : 'gtc'), 'tif'), stp: codeOf(STP_MODES, o.stp ?? 'none', 'stp'),
      flags, price: o.price ?? 0, quantity: o.quantity, clientOrderId: o.clientOrderId ?? 0,
    });
  }

  cancel(o: CancelRequest): Promise<Reply> {
    return this.request(P.MSG_CANCEL, false, { symbol: o.symbol, orderId: o.orderId });
  }

  modify(o: ModifyRequest): Promise<Reply> {
    return this.request(P.MSG_MODIFY, false, { symbol: o.symbol, orderId: o.orderId, price: o.price, quantity: o.quantity, clientOrderId: o.clientOrderId ?? 0 });
  }

  /** Cancels the account's orders (in one symbol, or all); resolves with the count, or a rejected execution. */
  massCancel(o: MassCancelRequest = {}): Promise<Reply> {
    return this.request(P.MSG_MASS_CANCEL, true, { symbol: o.symbol ?? 0 });
  }

  /** Every execution of this account as it arrives (also emitted as 'exec'). One iterator at a time. */
  async *executions(): AsyncGenerator<Execution> {
    if (this.iterating) throw new Error('clob client: executions() is already being iterated');
    this.iterating = true;
    try {
      for (;;) {
        while (this.queue.length > 0) yield this.queue.shift()!;
        if (this.closed) return;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      this.iterating = false;
      this.queue.length = 0;
    }
  }

  /** Sends LOGOUT and resolves when the server has answered and closed (or the connection is gone). */
  logout(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.logoutWaiter = resolve;
      this.out.logout(0, P.LOGOUT_REQUESTED);
      this.flush();
    });
  }

  /** Drops the connection at once (no LOGOUT). */
  close(): void {
    this.socket.destroy();
  }

  // ---- internals --------------------------------------------------------------------------------

  private request(type: number, mass: boolean, fields: Parameters<FrameWriter['command']>[1]): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('clob client: the connection is closed'));
    return new Promise((resolve, reject) => {
      const seq = this.out.command(type, fields);
      this.pending.set(seq, { resolve, reject, mass });
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0 || this.socket.destroyed) return;
    this.socket.write(this.out.take());
    this.lastSent = performance.now();
  }

  private startHeartbeats(): void {
    this.lastReceived = this.lastSent = performance.now();
    const every = Math.max(1, this.heartbeatMs >> 1);
    this.timer = setInterval(() => {
      const now = performance.now();
      if (now - this.lastReceived > this.heartbeatMs * P.HEARTBEAT_TIMEOUT_FACTOR) {
        this.emit('timeout');
        this.socket.destroy(new Error('clob client: the server has been silent for 3 heartbeat intervals'));
        return;
      }
      if (now - this.lastSent >= this.heartbeatMs) {
        this.out.heartbeat();
        this.flush();
      }
    }, every);
    this.timer.unref();
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = performance.now();
    const d = this.decoder;
    d.feed(chunk);
    for (;;) {
      const type = d.next();
      if (type === NEED_MORE) return;
      if (type === FAILED) {
        this.socket.destroy(new Error(`clob client: bad frame from the server (${reasonName(SESSION_REJECT_NAMES, d.error)})`));
        return;
      }
      if (d.seq !== this.expectedSeq) {
        this.socket.destroy(new Error(`clob client: server seq ${d.seq}, expected ${this.expectedSeq}`));
        return;
      }
      this.expectedSeq++;
      this.onFrame(type, d.buf, d.at + P.FRAME_HEADER_SIZE, d.ref);
    }
  }

  private onFrame(type: number, b: Uint8Array, body: number, ref: number): void {
    switch (type) {
      case P.MSG_EXEC: {
        for (let i = 0; i < L.EVT_SIZE; i++) this.scratch[i] = b[body + i];
        const e = toEngineEvent(readEvent(this.scratchView, 0), false) as Execution;
        e.ref = ref;
        if (ref !== 0) {
          const p = this.pending.get(ref);
          if (p !== undefined && (!p.mass || e.type === 'rejected')) {
            this.pending.delete(ref);
            p.resolve(e);
          }
        }
        this.emit('exec', e);
        if (this.iterating) {
          this.queue.push(e);
          this.wake?.();
        }
        break;
      }
      case P.MSG_MASS_CANCEL_ACK: {
        const p = this.pending.get(ref);
        if (p !== undefined) {
          this.pending.delete(ref);
          p.resolve({ type: 'mass-cancel-ack', ref, symbol: readU32(b, body + P.MASS_CANCEL_ACK_SYMBOL), count: readU32(b, body + P.MASS_CANCEL_ACK_COUNT) });
        }
        break;
      }
      case P.MSG_SESSION_REJECT: {
        const code = readU32(b, body + P.SESSION_REJECT_REASON);
        const r: SessionRejectReply = {
          type: 'session-reject', code, reason: reasonName(SESSION_REJECT_NAMES, code), seq: readU32(b, body + P.SESSION_REJECT_SEQ),
          messageType: readU32(b, body + P.SESSION_REJECT_TYPE), expected: readU32(b, body + P.SESSION_REJECT_EXPECTED),
        };
        const p = this.pending.get(r.seq);
        if (p !== undefined) {
          this.pending.delete(r.seq);
          p.resolve(r);
        }
        this.emit('session-reject', r);
        break;
      }
      case P.MSG_LOGIN_ACK: {
        this.session = readU32(b, body + P.LOGIN_ACK_SESSION);
        this.heartbeatMs = readU32(b, body + P.LOGIN_ACK_HEARTBEAT_MS);
        this.ratePerSecond = readU32(b, body + P.LOGIN_ACK_RATE);
        const w = this.loginWaiter;
        this.loginWaiter = undefined;
        w?.resolve(undefined as never);
        break;
      }
      case P.MSG_LOGIN_REJECT: {
        const reason = reasonName(LOGIN_REJECT_NAMES, readU32(b, body + P.LOGIN_REJECT_REASON));
        const w = this.loginWaiter;
        this.loginWaiter = undefined;
        w?.reject(Object.assign(new Error(`clob client: login rejected: ${reason}`), { reason }));
        break;
      }
      case P.MSG_LOGOUT:
        this.emit('logout', readU32(b, body + P.LOGOUT_REASON));
        break;
      case P.MSG_HEARTBEAT:
        break;
    }
  }

  private onClose(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const err = new Error('clob client: the connection closed before a reply');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.loginWaiter?.reject(new Error('clob client: the connection closed before LOGIN_ACK'));
    this.loginWaiter = undefined;
    this.logoutWaiter?.();
    this.logoutWaiter = undefined;
    this.wake?.();
    this.emit('close');
  }
}

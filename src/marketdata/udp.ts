// The UDP transport: packs the publisher's messages into datagrams, one channel per datagram, at
// most `mtu` bytes, and sends them to one destination: unicast (default 127.0.0.1) or a multicast
// group. Datagram buffers come from a pool and go back to it when the send completes (a buffer
// handed to dgram must not change until its callback), so the steady state allocates no buffers.
import dgram from 'node:dgram';
import * as M from '../../assembly/marketdata-layout.js';
import { readU32 } from './codec.js';
import type { MarketDataSink } from './publisher.js';

export interface UdpOptions {
  /** Destination port (required). */
  port: number;
  /** Destination address for unicast (default 127.0.0.1; ignored when `group` is set). */
  host?: string;
  /** A multicast group to send to instead (e.g. 239.1.1.1). */
  group?: string;
  /** Multicast TTL (default 1: the local network only). */
  ttl?: number;
  /** Local interface address for multicast sends (default: the system's choice). */
  interface?: string;
  /** Largest datagram, bytes (default 1400, safe under a 1500-byte MTU). */
  mtu?: number;
  /** 'udp4' (default) or 'udp6'. */
  type?: 'udp4' | 'udp6';
  /**
   * Called with every datagram before it is sent: return false to drop it (tests inject loss
   * here). `index` counts the channel's datagrams from 0.
   */
  onSend?: (datagram: Uint8Array, channel: number, index: number) => boolean;
}

export interface UdpStats {
  datagrams: number;
  dropped: number;
  bytes: number;
  sendErrors: number;
}

interface Packet {
  buf: Buffer;
  release: (err: Error | null) => void;
}

export class UdpTransport implements MarketDataSink {
  readonly stats: UdpStats = { datagrams: 0, dropped: 0, bytes: 0, sendErrors: 0 };
  readonly mtu: number;
  private readonly port: number;
  private readonly dest: string;
  private readonly free: Packet[] = [];
  private readonly current: (Packet | null)[] = new Array(M.CH_MAX + 1).fill(null);
  private readonly fill = new Int32Array(M.CH_MAX + 1);
  private readonly sent = new Float64Array(M.CH_MAX + 1);
  private inFlight = 0;
  private closed = false;
  private drained: (() => void) | null = null;

  /** Opens the socket; sends made before it is bound are queued by dgram. See also open(). */
  constructor(private readonly options: UdpOptions) {
    if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) throw new RangeError('udp.port must be 1..65535');
    this.mtu = options.mtu ?? 1400;
    this.port = options.port;
    const type = options.type ?? 'udp4';
    this.dest = options.group ?? options.host ?? (type === 'udp6' ? '::1' : '127.0.0.1');
    this.socket = dgram.createSocket({ type });
    this.bound = new Promise<void>((resolve) => {
      this.socket.on('error', (err) => {
        this.stats.sendErrors++;
        this.bindError ??= err;
        resolve(); // a failed bind: open() reports it, close() does not wait forever
      });
      this.socket.bind({ port: 0, address: options.group !== undefined ? undefined : (type === 'udp6' ? '::1' : '127.0.0.1') }, () => {
        if (options.group !== undefined) {
          this.socket.setMulticastTTL(options.ttl ?? 1);
          this.socket.setMulticastLoopback(true);
          if (options.interface !== undefined) this.socket.setMulticastInterface(options.interface);
        }
        resolve();
      });
    });
  }

  private readonly socket: dgram.Socket;
  /** Resolves once the socket is bound. */
  readonly bound: Promise<void>;
  private bindError: Error | undefined;
  /** The socket's error, if binding failed. */
  get error(): Error | undefined {
    return this.bindError;
  }

  /** A transport whose socket is bound. */
  static async open(options: UdpOptions): Promise<UdpTransport> {
    const t = new UdpTransport(options);
    await t.bound;
    if (t.bindError !== undefined) {
      await t.close();
      throw t.bindError;
    }
    return t;
  }

  /** The local address datagrams leave from. */
  address(): { address: string; port: number } {
    return this.socket.address();
  }

  private take(): Packet {
    const p = this.free.pop();
    if (p !== undefined) return p;
    const packet: Packet = {
      buf: Buffer.allocUnsafe(this.mtu),
      release: (err) => {
        if (err) this.stats.sendErrors++;
        this.inFlight--;
        this.free.push(packet);
        if (this.inFlight === 0 && this.drained !== null) this.drained();
      },
    };
    return packet;
  }

  onMessages(bytes: Uint8Array, length: number): void {
    if (this.closed) return;
    let at = 0;
    while (at < length) {
      const len = readU32(bytes, at + M.MD_LENGTH);
      const ch = bytes[at + M.MD_CHANNEL];
      let p = this.current[ch];
      if (p !== null && this.fill[ch] + len > this.mtu) {
        this.send(ch);
        p = null;
      }
      if (p === null) {
        p = this.take();
        this.current[ch] = p;
        this.fill[ch] = 0;
      }
      if (len > this.mtu) throw new RangeError(`a ${len}-byte message does not fit a ${this.mtu}-byte datagram (publisher mtu too large)`);
      p.buf.set(bytes.subarray(at, at + len), this.fill[ch]);
      this.fill[ch] += len;
      at += len;
    }
  }

  onFlush(): void {
    for (let ch = 0; ch <= M.CH_MAX; ch++) if (this.current[ch] !== null) this.send(ch);
  }

  private send(ch: number): void {
    const p = this.current[ch]!;
    const n = this.fill[ch];
    this.current[ch] = null;
    this.fill[ch] = 0;
    const index = this.sent[ch]++;
    if (this.options.onSend !== undefined && !this.options.onSend(p.buf.subarray(0, n), ch, index)) {
      this.stats.dropped++;
      this.free.push(p);
      return;
    }
    this.stats.datagrams++;
    this.stats.bytes += n;
    this.inFlight++;
    this.socket.send(p.buf, 0, n, this.port, this.dest, p.release);
  }

  /** Sends what is buffered, waits for the sends in flight, closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.onFlush();
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => { this.drained = resolve; });
    await this.bound;
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}

// The gateway's node:net transport (transport.ts): the fallback where the native helper or io_uring
// is not available, and the reference the io_uring path behaves like.
import net from 'node:net';
import type { AcceptHandler, Connection, ConnectionHandler, Transport } from './transport.js';

/** Written-out buffers a connection keeps for its next writes (more are dropped). */
const SPARE_BUFFERS = 4;

class NetConnection implements Connection {
  readonly remote: string;
  /**
   * socket.write keeps a buffer until it is sent, so each write is a copy. The copies are recycled:
   * a gateway batch writes hundreds of KiB to a session, and a fresh buffer that size per write
   * costs page faults and GC; a recycled one does not. Writes complete in order, so the oldest
   * in-flight buffer is the one a completion releases; after a failed write nothing is recycled
   * (the socket is going, and an error may be reported out of order).
   */
  private readonly inFlight: Buffer[] = [];
  private readonly spare: Buffer[] = [];
  private recycle = true;
  private readonly written = (err?: Error | null) => {
    if (err) this.recycle = false;
    const b = this.inFlight.shift();
    if (this.recycle && b !== undefined && this.spare.length < SPARE_BUFFERS) this.spare.push(b);
  };

  constructor(readonly socket: net.Socket) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  write(bytes: Uint8Array, length: number): void {
    let b = this.spare.pop();
    while (b !== undefined && b.length < length) b = this.spare.pop();
    if (b === undefined) b = Buffer.allocUnsafeSlow(Math.max(4096, 2 ** Math.ceil(Math.log2(length))));
    b.set(length === bytes.length ? bytes : bytes.subarray(0, length));
    this.inFlight.push(b);
    this.socket.write(b.subarray(0, length), this.written);
  }
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
  pause(): void {
    this.socket.pause();
  }
  get destroyed(): boolean {
    return this.socket.destroyed;
  }
}

export class NetTransport implements Transport {
  readonly kind = 'net' as const;
  private readonly server: net.Server;
  private closing = false;

  constructor(onAccept: AcceptHandler, private readonly onServerError: (err: Error) => void) {
    this.server = net.createServer({ noDelay: true }, (socket) => {
      socket.setNoDelay(true);
      const conn = new NetConnection(socket);
      const handler: ConnectionHandler = onAccept(conn);
      let error: string | undefined;
      socket.on('data', (chunk: Buffer) => handler.data(chunk, 0, chunk.length));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        error ??= err.code ?? err.message;
      });
      socket.on('close', () => handler.closed(error));
      if (this.closing) socket.destroy();
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', this.onServerError);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  flush(): void {}

  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

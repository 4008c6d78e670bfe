// The gateway's io_uring transport (transport.ts) over the native helper's UringServer
// (native/uring_server.cc, docs/NATIVE.md).
//
// The kernel receives straight into fixed-size slots of one shared region (a provided-buffer ring);
// the server calls onCompletions once per batch of completions with a table of (kind, conn, a, b)
// entries; a DATA entry is parsed in place as region[a, a + b) by the gateway's frame decoder (a
// frame cut at the end of a slot is completed in the decoder's own 256-byte buffer). When the call
// returns, the slots go back to the kernel. Writes are copied into the connection's native outbound
// buffer and sent by one io_uring_enter per gateway batch (flush()).
//
// Per received chunk nothing is allocated: no Buffer, no view, no closure.
import { constants } from 'node:os';
import type { UringServer, UringLayout, NativeAddon } from '../native.js';
import type { AcceptHandler, Connection, ConnectionHandler, Transport } from './transport.js';

export interface UringTransportOptions {
  /** Receive slots (a power of two, 1..32768) of `slotBytes` each. Defaults 256 x 16 KiB (4 MiB). */
  slots?: number;
  slotBytes?: number;
  /** Where the slots live (default a new SharedArrayBuffer): a view of slots x slotBytes bytes of shared memory. */
  region?: Uint8Array;
  /** Connections at once (more are accepted and closed at once, logged). Default 4096. */
  maxConnections?: number;
  /** Submission queue entries (io_uring_setup); default 256. */
  sqEntries?: number;
}

const DEFAULT_SLOTS = 256;
const DEFAULT_SLOT_BYTES = 16 * 1024;
/** Completion table entries: a batch larger than this is handed to JS in several calls. */
const TABLE_ENTRIES = 1024;

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number) => ERRNO_NAMES.get(n) ?? `errno ${n}`;

class UringConnection implements Connection {
  handler!: ConnectionHandler;
  closed = false;
  private destroyCalled = false;
  constructor(private readonly server: UringServer, readonly id: number, readonly remote: string) {}
  write(bytes: Uint8Array, length: number): void {
    if (!this.closed) this.server.send(this.id, bytes, length);
  }
  get bufferedBytes(): number {
    return this.closed ? 0 : this.server.buffered(this.id);
  }
  end(): void {
    if (!this.closed) this.server.end(this.id);
  }
  destroy(): void {
    this.destroyCalled = true;
    if (!this.closed) this.server.destroy(this.id);
  }
  pause(): void {
    if (!this.closed) this.server.pause(this.id);
  }
  get destroyed(): boolean {
    return this.closed || this.destroyCalled;
  }
}

export class UringTransport implements Transport {
  readonly kind = 'uring' as const;
  private server: UringServer | undefined;
  private readonly layout: UringLayout;
  private readonly region: Uint8Array;
  private readonly slotBytes: number;
  private readonly table = new Int32Array(TABLE_ENTRIES * 4);
  /** Live connections by the id's index (low 16 bits); the full id is checked. */
  private readonly conns: (UringConnection | undefined)[] = [];
  private closed: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private readonly onCompletionsBound = (count: number) => this.onCompletions(count);

  constructor(
    private readonly addon: NativeAddon,
    private readonly onAccept: AcceptHandler,
    private readonly onServerError: (err: Error) => void,
    private readonly options: UringTransportOptions = {},
  ) {
    this.layout = addon.uringLayout;
    if (this.layout.ENTRY_INTS !== 4) throw new Error(`the native helper's completion entries have ${this.layout.ENTRY_INTS} fields, this build expects 4 (stale build: npm run build:native)`);
    this.slotBytes = options.slotBytes ?? DEFAULT_SLOT_BYTES;
    const slots = options.slots ?? DEFAULT_SLOTS;
    this.region = options.region ?? new Uint8Array(new SharedArrayBuffer(slots * this.slotBytes));
  }

  /** Creates the io_uring server (the ring, the socket, the eventfd watch). Throws the native error: err.stage is 'uring' or 'socket'. */
  listen(host: string, port: number): Promise<number> {
    try {
      this.server = new this.addon.UringServer({
        host, port, region: this.region, slotBytes: this.slotBytes, completions: this.table,
        onCompletions: this.onCompletionsBound, maxConnections: this.options.maxConnections, sqEntries: this.options.sqEntries,
      });
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(this.server.port);
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Native counters (recvs, sends, short sends, out-of-buffer events, io_uring_enter calls...). */
  get stats() {
    return this.server?.stats;
  }

  flush(): void {
    this.server?.submit();
  }

  close(): Promise<void> {
    if (this.closed) return this.closed;
    if (!this.server) return (this.closed = Promise.resolve());
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.server.close();
    return this.closed;
  }

  private onCompletions(count: number): void {
    const t = this.table;
    const L = this.layout;
    const server = this.server!;
    for (let i = 0; i < count; i++) {
      const e = i * 4;
      const kind = t[e + L.KIND];
      const id = t[e + L.CONN];
      if (kind === L.DATA) {
        const c = this.conns[id & 0xffff];
        if (c !== undefined && c.id === id) {
          const at = t[e + L.A];
          c.handler.data(this.region, at, at + t[e + L.B]);
        }
      } else if (kind === L.ACCEPT) {
        const c = new UringConnection(server, id, server.remote(id));
        this.conns[id & 0xffff] = c;
        c.handler = this.onAccept(c);
      } else if (kind === L.CLOSED) {
        const c = this.conns[id & 0xffff];
        if (c !== undefined && c.id === id) {
          this.conns[id & 0xffff] = undefined;
          c.closed = true;
          const errno = t[e + L.A];
          c.handler.closed(errno === 0 ? undefined : errnoName(errno));
        }
      } else if (kind === L.ACCEPT_ERROR) {
        const refused = t[e + L.B] === 1;
        this.onServerError(new Error(refused ? 'io_uring: connection refused: the connection limit is reached' : `io_uring accept failed: ${errnoName(t[e + L.A])}`));
      } else if (kind === L.SERVER_CLOSED) {
        this.server = undefined;
        this.resolveClosed?.();
      }
    }
  }
}

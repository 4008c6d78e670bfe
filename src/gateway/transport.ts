// The gateway's transport seam: what the session logic needs of a TCP listener and its connections.
// Two implementations with the same behaviour: node:net (net-transport.ts) and the native helper's
// io_uring server (uring-transport.ts). The gateway picks one with its `io` option (choose-io.ts).

/** One accepted connection. */
export interface Connection {
  /** "ip:port" of the peer. */
  readonly remote: string;
  /** Queues bytes[0, length) for sending (copied: the caller may reuse `bytes` at once). */
  write(bytes: Uint8Array, length: number): void;
  /** Bytes written but not yet handed to the kernel (the slow-consumer check). */
  readonly bufferedBytes: number;
  /** Sends what is queued, then closes the write side; `closed` follows once the peer closed too. */
  end(): void;
  /** Closes now, dropping what is unsent; `closed` follows. */
  destroy(): void;
  /** Stops delivering received bytes (a few already received may still arrive). */
  pause(): void;
  /** True once destroy() was called or the connection closed. */
  readonly destroyed: boolean;
}

/** What the gateway does with a connection's events. */
export interface ConnectionHandler {
  /** Received bytes: buf[start, end). Valid only during the call (the io_uring slot goes back to the kernel after). */
  data(buf: Uint8Array, start: number, end: number): void;
  /** The connection is closed; `error` names a socket error (e.g. 'ECONNRESET'), undefined for an orderly close. */
  closed(error: string | undefined): void;
}

export interface Transport {
  /** 'net' or 'uring'. */
  readonly kind: IoKind;
  /** Starts listening; resolves with the bound port. Rejects with the listen error (err.code: EADDRINUSE...). */
  listen(host: string, port: number): Promise<number>;
  readonly port: number;
  /** Hands every write queued since the last flush to the kernel (io_uring: one io_uring_enter); node:net writes at once. */
  flush(): void;
  /** Stops accepting; resolves once every connection has closed. */
  close(): Promise<void>;
}

export type IoKind = 'net' | 'uring';
export type IoChoice = 'auto' | IoKind;
export const IO_CHOICES: readonly IoChoice[] = ['auto', 'uring', 'net'];

/** Called for each accepted connection; returns who handles its events. */
export type AcceptHandler = (conn: Connection) => ConnectionHandler;

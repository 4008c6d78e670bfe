// Which transport the gateway listens with (its `io` option, `clob start --io`):
//   'uring'  the native helper's io_uring server; an error if the helper is not loaded or io_uring
//            cannot be set up here
//   'net'    node:net
//   'auto'   io_uring when the helper loads and its ring sets up, else node:net; `reason` says why
// A bind/listen error (EADDRINUSE...) is an error on either path: it is not a reason to fall back.
import { native, nativeLoadError } from '../native.js';
import type { AcceptHandler, IoChoice, Transport } from './transport.js';
import { NetTransport } from './net-transport.js';
import { UringTransport, type UringTransportOptions } from './uring-transport.js';

/** Whether io: 'uring' can work in this process: undefined if so, else the reason. */
export function uringUnavailable(): string | undefined {
  if (!native) return nativeLoadError;
  return native.uringProbe();
}

export interface OpenedTransport {
  transport: Transport;
  /** Why this path: for the gateway's 'listening' log line. */
  reason: string;
}

export async function openTransport(
  io: IoChoice, host: string, port: number, onAccept: AcceptHandler, onServerError: (err: Error) => void, uring: UringTransportOptions = {},
): Promise<OpenedTransport> {
  if (io === 'net') {
    const t = new NetTransport(onAccept, onServerError);
    await t.listen(host, port);
    return { transport: t, reason: 'io: net requested' };
  }
  if (!native) {
    if (io === 'uring') throw new Error(`io 'uring': ${nativeLoadError}`);
    const t = new NetTransport(onAccept, onServerError);
    await t.listen(host, port);
    return { transport: t, reason: `io: auto, the native helper is not loaded (${nativeLoadError})` };
  }
  const u = new UringTransport(native, onAccept, onServerError, uring);
  try {
    await u.listen(host, port);
    return { transport: u, reason: `io: ${io}, io_uring server on the native helper` };
  } catch (e) {
    const err = e as Error & { stage?: string };
    if (io === 'uring' || err.stage !== 'uring') throw err;
    const t = new NetTransport(onAccept, onServerError);
    await t.listen(host, port);
    return { transport: t, reason: `io: auto, io_uring unavailable here (${err.message})` };
  }
}

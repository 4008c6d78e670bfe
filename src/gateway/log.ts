// Structured log lines of the gateway: one object per event (rejects, disconnects, logins), written
// as a JSON line to stderr by default. Tests pass their own function (or `silentLog`).

export interface GatewayLogRecord {
  level: 'info' | 'warn';
  /** What happened: 'listening', 'login', 'login-reject', 'session-reject', 'disconnect', 'logout', 'cancel-on-disconnect', 'slow-consumer', 'closed'. */
  event: string;
  session?: number;
  account?: number;
  remote?: string;
  /** A reason name (docs/PROTOCOL.md): 'bad-seq', 'throttled', 'bad-credentials', ... */
  reason?: string;
  /** The offending frame's seq and type, the expected seq (bad-seq). */
  seq?: number;
  type?: number;
  expected?: number;
  [key: string]: unknown;
}

export type GatewayLogger = (record: GatewayLogRecord) => void;

export const jsonLog: GatewayLogger = (record) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'gateway', ...record })}\n`);
};

export const silentLog: GatewayLogger = () => {};

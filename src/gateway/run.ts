// Running the gateway as a process: `clob gateway` (src/gateway/register-gateway.ts) and the child
// that `clob load` starts when it is given no --port (src/gateway/main.ts). One engine (the demo
// symbols of `clob start` unless the config names others), one gateway, a JSON line on stdout once
// listening, and a clean logout of every session on SIGINT/SIGTERM.
import { Engine, type EngineOptions } from '../engine.js';
import { DEFAULT_OPTIONS } from '../stdio-server.js';
import type { CoreBuild } from '../core.js';
import { Gateway, type GatewayOptions } from './server.js';
import type { AccountConfig } from './config.js';
import { jsonLog, silentLog } from './log.js';

export interface GatewayProcessConfig extends Omit<GatewayOptions, 'engine' | 'logger'> {
  /** Engine options (symbols, maxOrders...): default the demo symbols 1-3 of `clob start`. */
  engine?: EngineOptions;
  build?: CoreBuild;
  /** Log lines on stderr (default true). */
  log?: boolean;
}

/** `count` accounts 1..count sharing one credential (demos, `clob load`). */
export function demoAccounts(count: number, credential: string, extra: Partial<AccountConfig> = {}): AccountConfig[] {
  return Array.from({ length: count }, (_, i) => ({ account: i + 1, credential, ...extra }));
}

export async function runGatewayProcess(config: GatewayProcessConfig): Promise<Gateway> {
  const engine = new Engine({ ...DEFAULT_OPTIONS, ...config.engine, build: config.build ?? config.engine?.build ?? 'release' });
  const gateway = new Gateway({ ...config, engine, logger: config.log === false ? silentLog : jsonLog });
  const port = await gateway.listen();
  process.stdout.write(`${JSON.stringify({ event: 'listening', host: config.host ?? '127.0.0.1', port, io: gateway.io })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop); // the parent went away (the child of `clob load`)
  return gateway;
}

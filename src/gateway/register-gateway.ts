// `clob gateway`: the order-entry gateway on node:net (docs/PROTOCOL.md) in front of an in-process
// engine. src/cli.ts calls registerGatewayCommand(program).
import { Command } from 'commander';
import { integer, choice } from '../cli-args.js';
import { CORE_BUILDS, type CoreBuild } from '../core.js';
import { IO_CHOICES, type IoChoice } from './transport.js';

interface GatewayCliOptions { config?: string; host: string; port: number; io: string; heartbeatMs: number; demoAccounts: number; build: string; quiet?: boolean }

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('order-entry gateway: binary protocol over TCP (docs/PROTOCOL.md) in front of an in-process engine; logs JSON lines on stderr')
    .option('--config <file>', 'JSON: { "accounts": [{ account, credential, cancelOnDisconnect?, ratePerSecond?, burst?, maxSessions? }], "engine": { symbols, maxOrders, ... }, heartbeatMs?, ratePerSecond?, burst? }')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port, printed on stdout)', integer('--port', 0, 65535), 7070)
    .option('--io <path>', 'order-entry I/O: uring (io_uring, native helper), net (node:net), auto (uring where it works, else net)', choice('--io', IO_CHOICES), 'auto')
    .option('--heartbeat-ms <ms>', 'heartbeat interval', integer('--heartbeat-ms', 1, 3_600_000), 1000)
    .option('--demo-accounts <n>', 'without --config: accounts 1..n, credential "demo" (for local testing only)', integer('--demo-accounts', 1, 100_000), 16)
    .option('--build <name>', 'Wasm build: release, scalar or debug', choice('--build', CORE_BUILDS), 'release')
    .option('--quiet', 'no log lines')
    .action(async (opts: GatewayCliOptions) => {
      const { runGatewayProcess, demoAccounts } = await import('./run.js');
      const { readGatewayConfig } = await import('./config.js');
      const file = opts.config ? readGatewayConfig(opts.config) : undefined;
      if (!file) process.stderr.write(`clob gateway: no --config: demo accounts 1..${opts.demoAccounts}, credential "demo"\n`);
      await runGatewayProcess({
        heartbeatMs: opts.heartbeatMs, ...(file ?? {}), accounts: file?.accounts ?? demoAccounts(opts.demoAccounts, 'demo'),
        host: opts.host, port: opts.port, io: opts.io as IoChoice, build: opts.build as CoreBuild, log: !opts.quiet,
      });
    });
}

#!/usr/bin/env node
// The `clob` command line: one program, a subcommand per job (commander 14: 15 needs Node 22).
import { Command } from 'commander';
import { integer } from './cli-args.js';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { registerLatencyCommands } from '../bench/register-latency.js';
import { registerThroughputCommands } from '../bench/register-bench.js';
import { registerWireCommand } from '../bench/register-wire.js';
import { registerReplayCommand } from './register-replay.js';
import { registerGatewayCommand } from './gateway/register-gateway.js';
import { registerLoadCommand } from './client/register-load.js';

// package.json sits one folder up from src/ (tsx) and two from dist/src/ (compiled).
const here = dirname(fileURLToPath(import.meta.url));
const pkgPath = [join(here, '..', 'package.json'), join(here, '..', '..', 'package.json')].find((p) => existsSync(p));
const pkg = JSON.parse(readFileSync(pkgPath!, 'utf8')) as { version: string };

const program = new Command('clob')
  .description('clob: a limit order book matching engine (AssemblyScript/WebAssembly core) for Node.js')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)');

const bench = program.command('bench').description('reproducible benchmarks; every run prints the machine it ran on');
bench
  .command('core')
  .description('in-process batch throughput of the Wasm core on the core mix (~50% new limits near the touch, ~33% cancels, ~10% IOC/market/FOK, ~5% modifies, ~5,000 resting orders), release and scalar builds side by side')
  .option('--count <n>', 'measured commands per run', integer('--count', 1000, 50_000_000), 2_000_000)
  .option('--runs <n>', 'runs per build (alternating builds)', integer('--runs', 1, 100), 5)
  .option('--seed <n>', 'workload seed', integer('--seed', 0), 42)
  .option('--json <file>', 'also write the results and machine info as JSON')
  .action(async (opts: { count: number; runs: number; seed: number; json?: string }) => {
    const { runCoreBench } = await import('../bench/core.js');
    if (!(await runCoreBench(opts))) process.exitCode = 1;
  });

registerThroughputCommands(bench);
registerLatencyCommands(bench);
registerWireCommand(bench);

const start = program
  .command('start')
  .description('the server: order entry over TCP (docs/PROTOCOL.md), every command journaled before it is acknowledged, '
    + 'crash recovery from the data directory, snapshots; with no arguments, demo symbols and demo accounts on 127.0.0.1:7070, data in ./data. '
    + '--stdio: the engine alone, JSON lines on stdin/stdout (no network, no journal). See docs/SERVER.md')
  .option('--config <file>', 'JSON config file: the options below by their camelCase names, "accounts", and the engine options (env CLOB_CONFIG)')
  .option('--stdio', 'no server: commands as JSON lines on stdin, events as JSON lines on stdout (uses --config\'s engine options and --build only)');
{
  const { SERVER_OPTIONS, START_HELP_AFTER } = await import('./server/config.js');
  // No commander defaults and no commander parsers: resolveConfig applies flag > env > file > default
  // and checks every value itself (a bad one: one line, exit 2).
  for (const o of SERVER_OPTIONS) start.option(o.flag, `${o.help} (env ${o.env}, config "${o.key}", default ${JSON.stringify(o.default)})`);
  start.addHelpText('after', START_HELP_AFTER);
}
start.exitOverride((err) => {
  // commander has printed its message (unknown option, missing value): a usage error exits 2.
  process.exit(err.exitCode === 0 ? 0 : 2);
});
start.action(async (opts: Record<string, unknown>) => {
  const { resolveConfig, ConfigError, readConfigFile } = await import('./server/config.js');
  const fail = (e: unknown) => {
    process.stderr.write(`clob start: ${(e as Error).message}\n`);
    process.exitCode = e instanceof ConfigError ? 2 : 1;
  };
  if (opts.stdio) {
    const { startStdio, DEFAULT_OPTIONS } = await import('./stdio-server.js');
    let engineOptions;
    try {
      const file = opts.config ? readConfigFile(opts.config as string) : undefined;
      engineOptions = { ...DEFAULT_OPTIONS, ...(file?.engine ?? {}) };
    } catch (e) {
      return fail(e);
    }
    process.exitCode = await startStdio({ config: opts.config as string | undefined, build: String(opts.build ?? process.env.CLOB_BUILD ?? 'release'), engineOptions });
    return;
  }
  let config;
  try {
    config = resolveConfig(opts);
  } catch (e) {
    return fail(e);
  }
  const { startServer } = await import('./server/server.js');
  let server;
  try {
    server = await startServer(config);
  } catch (e) {
    return fail(e);
  }
  // Runs until SIGINT/SIGTERM (or a journal failure): 0 after a clean stop, 1 if the journal failed.
  process.exit(await server.stopped);
});

program
  .command('doctor')
  .description('what this machine offers clob: Wasm builds, native helper, CPU topology, clock, network IRQ plan (never applied)')
  .action(async () => {
    const { doctor } = await import('./doctor.js');
    doctor();
  });

registerReplayCommand(program);
registerGatewayCommand(program);
registerLoadCommand(program);

await program.parseAsync(process.argv);

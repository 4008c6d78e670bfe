#!/usr/bin/env node
// The `clob` command line: one program, a subcommand per job (commander 14: 15 needs Node 22).
import { Command } from 'commander';
import { integer, choice } from './cli-args.js';
import { CORE_BUILDS } from './core.js';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { registerLatencyCommands } from '../bench/register-latency.js';
import { registerThroughputCommands } from '../bench/register-bench.js';
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

program
  .command('start')
  .description('run the engine on its embedded defaults (demo symbols 1-3) or a config file; commands are JSON lines on stdin, events JSON lines on stdout')
  .option('--config <file>', 'engine options as JSON (maxOrders, maxSymbols, ladderTicks, symbols: [{ id, tickSize, lotSize, minPrice, maxPrice }])')
  .option('--build <name>', 'Wasm build: release, scalar or debug', choice('--build', CORE_BUILDS), 'release')
  .action(async (opts: { config?: string; build: string }) => {
    const { startStdio } = await import('./stdio-server.js');
    process.exitCode = await startStdio(opts);
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

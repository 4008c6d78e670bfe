// `clob bench latency`, `clob bench hiccups` and `clob bench micro`: registered on the CLI's
// `bench` command by src/cli.ts (registerLatencyCommands(bench)). The benchmark modules are
// imported only when their command runs.
import { Command, InvalidArgumentError } from 'commander';
import { integer as integerOption, number as numberOption, choice, parseAmount } from '../src/cli-args.js';
import { CORE_BUILDS, type CoreBuild } from '../src/core.js';

const WORKLOADS = ['core-mix', 'equity-fixed', 'equity-normal', 'equity-volatile', 'equity-stressed', 'equity-crash', 'multi-symbol'];

/** --rates: 'auto' or a comma-separated list of commands per second (250k,500k,1M). */
export function parseRates(value: string): number[] | 'auto' {
  if (value.trim() === 'auto') return 'auto';
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const rates = parts.map(parseAmount);
  if (parts.length === 0 || rates.some((r) => !Number.isFinite(r) || r < 1 || r > 1e9)) {
    throw new InvalidArgumentError(`--rates must be 'auto' or a comma-separated list of commands per second from 1 to 1e9, e.g. 250k,500k,1M; got '${value}'.`);
  }
  return rates;
}

/** The command line as typed (the CLI's arguments after `node [flags] cli.js`), quoted where needed. */
export function commandLine(argv: readonly string[]): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['clob', ...argv.slice(2).map(q)].join(' ');
}

export function registerLatencyCommands(bench: Command): void {
  bench
    .command('collisions')
    .description('where SIMD probing of the order-id index pays: lookups in a typical index and in one where every id shares a home slot (ids built by inverting the hash), release (SIMD) and scalar builds side by side')
    .option('--resting <n>', 'resting orders (all colliding in the adversarial case)', integerOption('--resting', 16, 30_000), 300)
    .option('--lookups <n>', 'lookups per run', integerOption('--lookups', 1000, 10_000_000), 300_000)
    .option('--runs <n>', 'runs per build (alternating)', integerOption('--runs', 1, 100), 5)
    .action(async (opts: { resting: number; lookups: number; runs: number }) => {
      const { runIdCollisions } = await import('./id-collisions.js');
      await runIdCollisions(opts);
    });
  bench
    .command('latency')
    .description('open-loop latency by offered rate: each command has a planned send time (i / rate); latency = completion - planned time, so queueing behind a slow step counts (no coordinated omission). Steps up the rate until the median passes --median-limit-ns; prints a percentile table per rate (HDR histograms) and the in-core time per command')
    .option('--workload <name>', `command stream: ${WORKLOADS.join(', ')}`, choice('--workload', WORKLOADS), 'core-mix')
    .option('--rates <list|auto>', "commands per second: 'auto' (250k, 500k, 1M, 2M, 4M, ... doubling) or a list like 250k,1M,2M", parseRates, 'auto' as number[] | 'auto')
    .option('--seconds <s>', 'seconds per rate step (a step is cut short when the pre-generated stream, --max-commands, runs out)', numberOption('--seconds', 0.01, 3600), 2)
    .option('--median-limit-ns <ns>', 'stop after the first rate whose median latency exceeds this', integerOption('--median-limit-ns', 1), 100_000)
    .option('--batch <n>', 'at most this many due commands per engine.run()', integerOption('--batch', 1, 1 << 20), 64)
    .option('--seed <n>', 'workload seed', integerOption('--seed', 0), 1)
    .option('--build <name>', 'Wasm build: release, scalar or debug', choice('--build', CORE_BUILDS), 'release')
    .option('--max-commands <n>', 'measured commands generated at most (memory: ~64 bytes each encoded, more while generating)', integerOption('--max-commands', 1000, 50_000_000), 2_000_000)
    .option('--clock <name>', "driver clock: auto (native TSC if the helper loaded), tsc or performance", choice('--clock', ['auto', 'tsc', 'performance']), 'auto')
    .option('--no-spin', 'poll the clock while idle instead of a calibrated busy wait (more clock reads, more allocation)')
    .option('--json <file>', 'also write the report (percentile points and compressed HDR histograms per rate and engine) as JSON')
    .option('--peers', 'after clob, drive SimpleBook and nodejs-order-book with the same open-loop schedule (same stream, planned times, rates); each engine stops at its own median limit; prints their tables and the peer/clob p50 and p99 ratios per rate')
    .option('--html <file>', 'write a self-contained HTML report: per rate an HDR percentile plot (x = 1/(1-p), log scale) with one series per engine, the percentile tables, the machine and the command line')
    .action(async (opts: { workload: string; rates: number[] | 'auto'; seconds: number; medianLimitNs: number; batch: number; seed: number; build: string; maxCommands: number; clock: 'auto' | 'tsc' | 'performance'; spin: boolean; json?: string; peers?: boolean; html?: string }) => {
      const { runLatency } = await import('./latency.js');
      await runLatency({ ...opts, build: opts.build as CoreBuild, command: commandLine(process.argv) });
    });

  bench
    .command('hiccups')
    .description('a constant moderate open-loop rate; lists every stall (commands whose completion came more than --threshold-us after their planned send time) with its time offset and the V8 GCs (start, duration, kind) that overlap it')
    .option('--rate <n>', 'commands per second (k and M suffixes allowed)', integerOption('--rate', 1, 1e9), 200_000)
    .option('--seconds <s>', 'length of the run', numberOption('--seconds', 0.01, 3600), 10)
    .option('--threshold-us <us>', 'a stall is latency above this many microseconds', numberOption('--threshold-us', 0.001, 1e7), 50)
    .option('--seed <n>', 'workload seed', integerOption('--seed', 0), 1)
    .option('--workload <name>', `command stream: ${WORKLOADS.join(', ')}`, choice('--workload', WORKLOADS), 'core-mix')
    .option('--batch <n>', 'at most this many due commands per engine.run()', integerOption('--batch', 1, 1 << 20), 64)
    .option('--window-us <us>', 'a GC within this many microseconds of a stall coincides with it', numberOption('--window-us', 0, 1e7), 200)
    .option('--json <file>', 'also write every stall and GC as JSON')
    .action(async (opts: { rate: number; seconds: number; thresholdUs: number; seed: number; workload: string; batch: number; windowUs: number; json?: string }) => {
      const { runHiccups } = await import('./hiccups.js');
      await runHiccups(opts);
    });

  bench
    .command('micro')
    .description('mitata micro-benchmarks of single operations through the batch path on a prepared book (add+cancel, cancel head/middle of a deep level, IOC matching one level, sweeping N levels, id miss), release (SIMD) and scalar builds side by side; see bench/micro.ts for exactly what each measures')
    .option('--batch <n>', 'operations per measured batch (one append + one run())', integerOption('--batch', 1, 4096), 256)
    .option('--sweep <n>', 'levels taken by the sweep bench', integerOption('--sweep', 1, 1000), 10)
    .option('--filter <regex>', 'only benches whose name matches', (v: string) => {
      try {
        return new RegExp(v);
      } catch {
        throw new InvalidArgumentError(`--filter must be a regular expression; got '${v}'.`);
      }
    })
    .action(async (opts: { batch: number; sweep: number; filter?: RegExp }) => {
      const { runMicro } = await import('./micro.js');
      await runMicro(opts);
    });
}

// `clob bench throughput`: registered on the `bench` command of src/cli.ts:
//   import { registerThroughputCommands } from '../bench/register-bench.js';
//   registerThroughputCommands(bench);
// The benchmark itself (bench/throughput.ts) is imported only when the command runs, so the CLI
// starts without loading the workloads or the peers.
import { Command, Option } from 'commander';
import { integer } from '../src/cli-args.js';

// Kept here (not imported from throughput.ts) so that registering loads nothing heavy; the test
// checks that they match WORKLOADS and DEFAULTS.
export const WORKLOAD_CHOICES = [
  'all', 'core-mix', 'equity-flow', 'equity-flow:fixed', 'equity-flow:normal', 'equity-flow:volatile',
  'equity-flow:stressed', 'equity-flow:crash', 'multi-symbol',
] as const;
export const THROUGHPUT_DEFAULTS = { count: 1_000_000, peerCount: 100_000, runs: 5, seed: 42 } as const;

interface ThroughputCliOptions {
  workload: string[];
  count: number;
  peerCount: number;
  runs: number;
  seed: number;
  peers: boolean;
  json?: string;
  html?: string;
  baseline?: string;
}

export function registerThroughputCommands(bench: Command): void {
  bench
    .command('throughput')
    .description('commands/s of clob (release and scalar builds, batch path) beside the peers (SimpleBook, nodejs-order-book) on the same ' +
      'command streams; checks that every engine ends with the same book, and fails if not')
    .addOption(new Option('--workload <name...>', 'workloads to run: core-mix, equity-flow:<fixed|normal|volatile|stressed|crash>, ' +
      'multi-symbol; equity-flow = its 5 regimes; all = every one')
      .choices(WORKLOAD_CHOICES as unknown as string[]).default(['all'], 'all'))
    .option('--count <n>', 'measured commands per clob run (after the setup prefix)', integer('--count', 1000, 50_000_000), THROUGHPUT_DEFAULTS.count)
    .option('--peer-count <n>', 'measured commands per peer run: the first <n> of the same stream (peers are 30-100x slower); ' +
      'ratios and the book check use these', integer('--peer-count', 100, 50_000_000), THROUGHPUT_DEFAULTS.peerCount)
    .option('--runs <n>', 'runs per engine (engine order alternates between runs; medians reported)', integer('--runs', 1, 100), THROUGHPUT_DEFAULTS.runs)
    .option('--seed <n>', 'workload seed', integer('--seed', 0), THROUGHPUT_DEFAULTS.seed)
    .option('--no-peers', 'clob only: skip SimpleBook and nodejs-order-book (no ratios; the builds are still checked against each other)')
    .option('--json <file>', 'write the results and machine info as JSON (usable later as --baseline)')
    .option('--html <file>', 'write a self-contained HTML report (tables, SVG charts; opens without a server)')
    .option('--baseline <file>', 'compare with an earlier --json file; rows that fell by more than their measured run-to-run noise are flagged')
    .addHelpText('after', `
Each engine and run is a fresh child process (its own peak RSS); each run's workload is generated
and encoded before any clock starts. The headline is clob release on the worst equity regime.
Exit status: 0 ok; 1 the engines ended with different books (or an error); 2 a regression against --baseline.

Examples:
  clob bench throughput                                      every workload, defaults
  clob bench throughput --workload core-mix equity-flow:crash --count 300000 --runs 3 --html report.html
  clob bench throughput --json new.json --baseline old.json  flag regressions beyond the noise`)
    .action(async (opts: ThroughputCliOptions) => {
      const { runThroughput, BookMismatchError } = await import('./throughput.js');
      try {
        const report = await runThroughput({
          workloads: opts.workload, count: opts.count, peerCount: Math.min(opts.peerCount, opts.count), runs: opts.runs, seed: opts.seed,
          peers: opts.peers, json: opts.json, html: opts.html, baseline: opts.baseline,
        });
        if (report.baseline && report.baseline.regressions > 0) process.exitCode = 2;
      } catch (err) {
        if (err instanceof BookMismatchError) {
          console.error(`clob bench throughput: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}

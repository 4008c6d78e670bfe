// `clob bench wire`: registered on the CLI's `bench` command by src/cli.ts (registerWireCommand(bench)).
// The benchmark (bench/wire.ts) is imported only when the command runs.
import { Command, InvalidArgumentError } from 'commander';
import { integer, number } from '../src/cli-args.js';
import { DURABILITY_MODES, type DurabilityMode } from '../src/journal/journal.js';
import { commandLine } from './register-latency.js';

/** The gateway I/O paths `clob start` offers (--io). */
export const WIRE_IO_PATHS: readonly string[] = ['net', 'uring'];

function list<T extends string>(flag: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; got '${value}'.`);
    return [...new Set(items)] as T[];
  };
}

interface WireCliOptions { rounds: number; pingPong: number; rate: number; seconds: number; warmup: number; io: string[]; durability: DurabilityMode[]; dataDir?: string; json?: string }

export function registerWireCommand(bench: Command): void {
  bench
    .command('wire')
    .description('the wire-latency floor beside clob: in one run, interleaved in rounds, a C TCP echo (the floor: native helper), a node:net echo and ' +
      'clob order-to-ack over loopback against `clob start` child processes (per --io and --durability), in ping-pong mode and open loop at --rate; ' +
      'HDR percentiles and ratios to the floor')
    .option('--rounds <n>', 'interleaved rounds (every path, ping-pong then open loop, per round)', integer('--rounds', 1, 1000), 5)
    .option('--ping-pong <n>', 'round trips per path per round, one outstanding (0: skip)', integer('--ping-pong', 0, 10_000_000), 5000)
    .option('--rate <n>', 'open loop: offered messages per second (k and M suffixes; 0: skip)', integer('--rate', 0, 10_000_000), 100_000)
    .option('--seconds <s>', 'open loop: seconds per path per round', number('--seconds', 0.001, 3600), 1)
    .option('--warmup <n>', 'unrecorded round trips per path before the first round', integer('--warmup', 0, 10_000_000), 2000)
    .option('--io <list>', `gateway I/O paths of the clob servers: ${WIRE_IO_PATHS.join(', ')}`, list('--io', WIRE_IO_PATHS), ['net', 'uring'])
    .option('--durability <list>', `journal modes of the clob servers (${DURABILITY_MODES.join(', ')}); clob start's default is fsync`, list('--durability', DURABILITY_MODES), ['fsync', 'none'] as DurabilityMode[])
    .option('--data-dir <dir>', 'where the servers\' data directories are made (the fsync cost is that file system\'s); default the OS temp dir')
    .option('--json <file>', 'also write the report (percentiles, per-round medians, compressed HDR histograms) as JSON')
    .addHelpText('after', `
Paths: c-echo (C client <-> C server threads, 48-byte messages, TCP_NODELAY: the kernel's round trip),
node-echo (node:net client <-> node:net server in a worker thread), clob-<io>-<durability> (NEW order
-> its ACCEPTED, through gateway, journal and market data of a \`clob start\` child process).
Open loop: message i is due at t0 + i/rate; latency counts from that planned time (no coordinated
omission); the "from actual write" line takes the client's pacing lateness out.

Example:
  clob bench wire --rounds 5 --ping-pong 5000 --rate 100k --seconds 1 --json wire.json`)
    .action(async (opts: WireCliOptions) => {
      const { runWireCommand } = await import('./wire.js');
      await runWireCommand({
        rounds: opts.rounds, pingPong: opts.pingPong, rate: opts.rate, seconds: opts.seconds, warmup: opts.warmup,
        clob: opts.io.flatMap((io) => opts.durability.map((durability) => ({ io, durability }))),
        dataRoot: opts.dataDir, json: opts.json, command: commandLine(process.argv),
      });
    });
}

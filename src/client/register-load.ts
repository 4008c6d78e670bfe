// `clob load`: open-loop load against the order-entry gateway (src/client/load.ts). src/cli.ts calls
// registerLoadCommand(program).
import { Command } from 'commander';
import { integer, number, choice } from '../cli-args.js';
import { IO_CHOICES } from '../gateway/transport.js';

export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('open-loop load on the order-entry gateway: each connection sends on a fixed schedule (planned send times, no coordinated omission); prints order-to-ack latency percentiles (HDR). Without --port it starts a gateway child process on a free loopback port')
    .option('--host <addr>', 'gateway address', '127.0.0.1')
    .option('--port <n>', 'a running gateway (clob gateway); absent: start one', integer('--port', 1, 65535))
    .option('--connections <n>', 'sessions, one account each (accounts --account-base..)', integer('--connections', 1, 10_000), 4)
    .option('--rate <n>', 'order messages per second over all connections (k and M suffixes allowed)', integer('--rate', 1, 1e8), 20_000)
    .option('--mix <weights>', 'new,cancel,modify weights', '60,30,10')
    .option('--duration <s>', 'measured seconds', number('--duration', 0.1, 86_400), 10)
    .option('--warmup <s>', 'unmeasured seconds first', number('--warmup', 0, 3600), 1)
    .option('--account-base <n>', 'first account id', integer('--account-base', 1, 2 ** 32 - 1), 1)
    .option('--credential <text>', 'the accounts\' credential (a started gateway uses it too)', 'demo')
    .option('--symbol <id>', 'symbol traded', integer('--symbol', 1, 2 ** 32 - 1), 1)
    .option('--mid <price>', 'mid price of the generated orders', integer('--mid', 1), 10_000)
    .option('--spread <ticks>', 'limit prices within mid +- this', integer('--spread', 1), 50)
    .option('--seed <n>', 'order stream seed', integer('--seed', 0), 1)
    .option('--json <file>', 'also write the report as JSON')
    .option('--io <path>', 'I/O path of the started gateway (without --port): auto, uring or net', choice('--io', IO_CHOICES), 'auto')
    .action(async (opts) => {
      const { runLoadCommand } = await import('./load.js');
      await runLoadCommand(opts);
    });
}

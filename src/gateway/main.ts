// Child-process entry of a gateway: `node [--import tsx] main.(ts|js) '<GatewayProcessConfig JSON>'`.
// Started by `clob load` when it is given no --port; stops on SIGTERM or when stdin ends.
import { runGatewayProcess, type GatewayProcessConfig } from './run.js';

const config = JSON.parse(process.argv[2] ?? '{}') as GatewayProcessConfig;
process.stdin.resume();
await runGatewayProcess(config);

// The configuration of `clob start`: one table of options, each settable by a flag, an environment
// variable and a key of the --config file, with an embedded default. Precedence: flag > env >
// file > default. Every value is checked here, once; a bad one is a ConfigError (one line, exit 2).
//
// The config file is JSON: the option keys below, plus
//   "accounts": [{ account, credential, cancelOnDisconnect?, ratePerSecond?, burst?, maxSessions? }]
//   "engine":   { maxOrders?, maxSymbols?, ladderTicks?, batchSize?, eventCapacity?, symbols? }
// The engine keys may also sit at the top level (the format of `clob start --stdio --config` and
// of the data directory's engine.json), but not both ways in one file.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { EngineOptions, SymbolSpec } from '../engine.js';
import { CORE_BUILDS, type CoreBuild } from '../core.js';
import { DURABILITY_MODES, type DurabilityMode } from '../journal/journal.js';
import { DEFAULT_KEEP_SNAPSHOTS } from '../journal/retention.js';
import { parseAmount } from '../cli-args.js';
import type { AccountConfig } from '../gateway/config.js';
import { IO_CHOICES, type IoChoice } from '../gateway/transport.js';
import { DEFAULT_OPTIONS } from '../stdio-server.js';

/** A configuration mistake: its message is the whole story (one line); `clob start` exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ServerConfig {
  host: string;
  port: number;
  io: IoChoice;
  dataDir: string;
  durability: DurabilityMode;
  syncIntervalMs: number;
  segmentBytes: number;
  snapshotEvery: number;
  snapshotSeconds: number;
  keepSnapshots: number;
  archiveJournal: boolean;
  verifyRecovery: boolean;
  heartbeatMs: number;
  loginTimeoutMs: number;
  ratePerSecond: number;
  burst: number;
  maxSessions: number;
  demoAccounts: number;
  mdTcpPort: number;
  mdWsPort: number;
  mdUdpPort: number;
  metrics: boolean;
  metricsPort: number;
  build: CoreBuild;
  quiet: boolean;
  /** From the config file; when absent, demo accounts 1..demoAccounts with credential 'demo' (loopback only). */
  accounts?: AccountConfig[];
  /** Engine options: the embedded defaults (the demo symbols 1-3) with the file's over them. */
  engine: EngineOptions;
  /** Whether the engine options came from the file (else the embedded demo defaults). */
  engineFromFile: boolean;
  /** Where each option's value came from: 'flag' | 'env' | 'file' | 'default'. */
  sources: Record<string, string>;
  configPath?: string;
}

type Kind = 'int' | 'string' | 'choice' | 'bool' | 'number';

export interface OptionSpec {
  key: keyof ServerConfig & string;
  /** Commander flag syntax. */
  flag: string;
  env: string;
  kind: Kind;
  default: string | number | boolean;
  min?: number;
  max?: number;
  choices?: readonly string[];
  help: string;
}

export const DEMO_CREDENTIAL = 'demo';

/** Every option of `clob start` (docs/SERVER.md lists the same table). */
export const SERVER_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: '--host <addr>', env: 'CLOB_HOST', kind: 'string', default: '127.0.0.1', help: 'address to listen on (demo accounts are refused on a non-loopback address)' },
  { key: 'port', flag: '--port <n>', env: 'CLOB_PORT', kind: 'int', default: 7070, min: 0, max: 65535, help: 'TCP port of the order-entry gateway; 0 = any free port (the chosen one is printed)' },
  { key: 'io', flag: '--io <path>', env: 'CLOB_IO', kind: 'choice', choices: IO_CHOICES, default: 'auto', help: 'order-entry I/O: uring (the native helper\'s io_uring server), net (node:net), auto (uring where the helper loads and io_uring works, else net; the start line says which and why)' },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'CLOB_DATA_DIR', kind: 'string', default: './data', help: 'journal, snapshots and engine.json (created if missing; recovered from if not empty)' },
  { key: 'durability', flag: '--durability <mode>', env: 'CLOB_DURABILITY', kind: 'choice', choices: DURABILITY_MODES, default: 'fsync', help: 'when an order is acknowledged: fsync (after fdatasync: survives power loss), async (after write + background fdatasync every sync-interval-ms: survives a process crash), none (after write: survives a process crash)' },
  { key: 'syncIntervalMs', flag: '--sync-interval-ms <ms>', env: 'CLOB_SYNC_INTERVAL_MS', kind: 'int', default: 10, min: 1, max: 60_000, help: 'async mode: background fdatasync period' },
  { key: 'segmentBytes', flag: '--segment-bytes <n>', env: 'CLOB_SEGMENT_BYTES', kind: 'int', default: 64 * 1024 * 1024, min: 144, max: 2 ** 40, help: 'journal segment size before rolling to a new file' },
  { key: 'snapshotEvery', flag: '--snapshot-every <n>', env: 'CLOB_SNAPSHOT_EVERY', kind: 'int', default: 1_000_000, min: 0, help: 'snapshot after this many commands since the last one (0: never by count)' },
  { key: 'snapshotSeconds', flag: '--snapshot-seconds <s>', env: 'CLOB_SNAPSHOT_SECONDS', kind: 'int', default: 300, min: 0, max: 86_400 * 365, help: 'snapshot this often when commands arrived since the last one (0: never by time); one is always taken at shutdown' },
  { key: 'keepSnapshots', flag: '--keep-snapshots <n>', env: 'CLOB_KEEP_SNAPSHOTS', kind: 'int', default: DEFAULT_KEEP_SNAPSHOTS, min: 1, max: 1000, help: 'valid snapshots kept; after each snapshot, older snapshots and the journal segments wholly covered by the oldest kept one are removed (1 leaves no fallback if the newest is damaged)' },
  { key: 'archiveJournal', flag: '--archive-journal <yes|no>', env: 'CLOB_ARCHIVE_JOURNAL', kind: 'bool', default: false, help: 'keep every journal segment (the full history; the data directory grows without bound); snapshots are still pruned' },
  { key: 'verifyRecovery', flag: '--verify-recovery <yes|no>', env: 'CLOB_VERIFY_RECOVERY', kind: 'bool', default: true, help: 'at start-up, check the recovered digest (snapshot + journal) against a longer replay: from the origin, or from the oldest kept snapshot once the journal was pruned' },
  { key: 'heartbeatMs', flag: '--heartbeat-ms <ms>', env: 'CLOB_HEARTBEAT_MS', kind: 'int', default: 1000, min: 1, max: 3_600_000, help: 'session heartbeat interval (a session silent for 3 intervals is ended)' },
  { key: 'loginTimeoutMs', flag: '--login-timeout-ms <ms>', env: 'CLOB_LOGIN_TIMEOUT_MS', kind: 'int', default: 5000, min: 1, max: 3_600_000, help: 'a connection must log in within this' },
  { key: 'ratePerSecond', flag: '--rate <n>', env: 'CLOB_RATE', kind: 'number', default: 0, min: 0, max: 1e9, help: 'default order messages per second per session (0: unlimited); accounts may override' },
  { key: 'burst', flag: '--burst <n>', env: 'CLOB_BURST', kind: 'number', default: 1000, min: 1, max: 1e9, help: 'default token-bucket size per session' },
  { key: 'maxSessions', flag: '--max-sessions <n>', env: 'CLOB_MAX_SESSIONS', kind: 'int', default: 16, min: 1, max: 1_000_000, help: 'default sessions per account' },
  { key: 'demoAccounts', flag: '--demo-accounts <n>', env: 'CLOB_DEMO_ACCOUNTS', kind: 'int', default: 16, min: 1, max: 100_000, help: `without "accounts" in the config file: accounts 1..n, credential '${DEMO_CREDENTIAL}', loopback only` },
  { key: 'mdTcpPort', flag: '--md-tcp-port <n>', env: 'CLOB_MD_TCP_PORT', kind: 'int', default: -1, min: -1, max: 65535, help: 'market data for TCP subscribers (docs/MARKETDATA.md): -1 = the order-entry port + 1 (any free port when --port is 0), 0 = any free port (printed)' },
  { key: 'mdWsPort', flag: '--md-ws-port <n>', env: 'CLOB_MD_WS_PORT', kind: 'int', default: -1, min: -1, max: 65535, help: 'market data for WebSocket subscribers, browsers included (docs/MARKETDATA.md): -1 = the market-data TCP port + 1 (any free port when that is 0), 0 = any free port (printed)' },
  { key: 'mdUdpPort', flag: '--md-udp-port <n>', env: 'CLOB_MD_UDP_PORT', kind: 'int', default: 0, min: 0, max: 65535, help: 'market data datagrams to <host>:<n> (0: no UDP feed)' },
  { key: 'metrics', flag: '--metrics <yes|no>', env: 'CLOB_METRICS', kind: 'bool', default: true, help: 'serve Prometheus metrics (GET /metrics) and a health check (GET /healthz) over HTTP on <host>:<metrics-port>' },
  { key: 'metricsPort', flag: '--metrics-port <n>', env: 'CLOB_METRICS_PORT', kind: 'int', default: -1, min: -1, max: 65535, help: 'port of the metrics endpoint: -1 = the order-entry port + 3 (any free port when --port is 0), 0 = any free port (printed)' },
  { key: 'build', flag: '--build <name>', env: 'CLOB_BUILD', kind: 'choice', choices: CORE_BUILDS, default: 'release', help: 'Wasm build of the core: release, scalar or debug' },
  { key: 'quiet', flag: '--quiet [yes|no]', env: 'CLOB_QUIET', kind: 'bool', default: false, help: 'no per-session log lines (logins, disconnects) on stderr' },
];

/** Keys of the engine options in a config file (build and bigint are not file options). */
export const ENGINE_KEYS = ['maxOrders', 'maxSymbols', 'ladderTicks', 'batchSize', 'eventCapacity', 'symbols'] as const;
/** The engine options that decide the state a journal replays to: they must match the data directory's engine.json. */
export const STATE_KEYS = ['maxOrders', 'maxSymbols', 'ladderTicks', 'symbols'] as const;

const INT_FIELDS = new Set(['tickSize', 'lotSize', 'minPrice', 'maxPrice']);
/** JSON reviver of config files: symbol integers beyond 2^53 may be strings of digits. */
export const reviveConfig = (key: string, value: unknown) => (INT_FIELDS.has(key) && typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : value);
/** JSON of engine options (bigints as strings of digits). */
export const engineJson = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

function describe(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'int': return `an integer from ${spec.min} to ${spec.max ?? Number.MAX_SAFE_INTEGER}`;
    case 'number': return `a number from ${spec.min} to ${spec.max}`;
    case 'choice': return `one of ${spec.choices!.join(', ')}`;
    case 'bool': return 'yes or no (true/false, 1/0)';
    default: return 'a non-empty string';
  }
}

/** Parses and checks one option value from any source. */
function parseValue(spec: OptionSpec, raw: unknown, where: string): string | number | boolean {
  const bad = () => new ConfigError(`${where} must be ${describe(spec)}; got ${JSON.stringify(raw)}`);
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseAmount(raw) : NaN;
      if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isSafeInteger(n))) throw bad();
      if (n < spec.min! || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) throw bad();
      return n;
    }
    case 'choice':
      if (typeof raw !== 'string' || !spec.choices!.includes(raw)) throw bad();
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(yes|true|1|on)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(no|false|0|off)$/i.test(raw)) return false;
      throw bad();
    default:
      if (typeof raw !== 'string' || raw.trim() === '') throw bad();
      return raw;
  }
}

interface FileContent { options: Record<string, unknown>; accounts?: AccountConfig[]; engine?: EngineOptions }

/** Reads and checks a config file (unknown keys are errors: a typo never passes silently). */
export function readConfigFile(path: string): FileContent {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text, reviveConfig);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  const obj = json as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  const topEngine: Record<string, unknown> = {};
  let engine: EngineOptions | undefined;
  let accounts: AccountConfig[] | undefined;
  const known = new Set(SERVER_OPTIONS.map((o) => o.key as string));
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'accounts') {
      if (!Array.isArray(value)) throw new ConfigError(`config file ${path}: "accounts" must be an array of { account, credential, ... }`);
      accounts = value as AccountConfig[];
    } else if (key === 'engine') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config file ${path}: "engine" must be an object`);
      for (const k of Object.keys(value)) {
        if (!(ENGINE_KEYS as readonly string[]).includes(k)) throw new ConfigError(`config file ${path}: unknown engine option "engine.${k}" (known: ${ENGINE_KEYS.join(', ')})`);
      }
      engine = value as EngineOptions;
    } else if ((ENGINE_KEYS as readonly string[]).includes(key)) topEngine[key] = value;
    else if (known.has(key)) options[key] = value;
    else if (key.startsWith('//') || key === '$comment') continue;
    else throw new ConfigError(`config file ${path}: unknown key "${key}" (see clob start --help)`);
  }
  if (engine && Object.keys(topEngine).length > 0) {
    throw new ConfigError(`config file ${path}: engine options both under "engine" and at the top level (${Object.keys(topEngine).join(', ')}); use one`);
  }
  if (!engine && Object.keys(topEngine).length > 0) engine = topEngine as EngineOptions;
  return { options, accounts, engine };
}

/**
 * The configuration from flags (commander's parsed values, strings, only those given on the
 * command line), the environment and the config file, over the embedded defaults.
 */
export function resolveConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const configPath = (flags.config as string | undefined) ?? (env.CLOB_CONFIG || undefined);
  const file: FileContent = configPath ? readConfigFile(configPath) : { options: {} };
  const out: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const spec of SERVER_OPTIONS) {
    const longFlag = spec.flag.split(' ')[0];
    const attr = flagAttribute(longFlag);
    let value: string | number | boolean;
    if (flags[attr] !== undefined) {
      // A bare boolean flag (--quiet) arrives as true.
      value = parseValue(spec, flags[attr], longFlag);
      sources[spec.key] = 'flag';
    } else if (env[spec.env] !== undefined && env[spec.env] !== '') {
      value = parseValue(spec, env[spec.env], `environment variable ${spec.env}`);
      sources[spec.key] = 'env';
    } else if (file.options[spec.key] !== undefined) {
      value = parseValue(spec, file.options[spec.key], `config file ${configPath}: "${spec.key}"`);
      sources[spec.key] = 'file';
    } else {
      value = spec.default;
      sources[spec.key] = 'default';
    }
    out[spec.key] = value;
  }
  const engine = checkEngineOptions({ ...DEFAULT_OPTIONS, ...(file.engine ?? {}) }, configPath);
  const config = { ...(out as unknown as ServerConfig), accounts: file.accounts, engine, engineFromFile: file.engine !== undefined, sources, configPath };
  config.dataDir = resolve(config.dataDir);
  if (config.host !== 'localhost' && isIP(config.host) === 0) throw new ConfigError(`--host must be an IP address or localhost; got '${config.host}'`);
  if (!config.accounts && !isLoopback(config.host)) {
    throw new ConfigError(`demo accounts (credential '${DEMO_CREDENTIAL}') are served on loopback only, and --host is ${config.host}: give "accounts" in a --config file to listen there`);
  }
  return config;
}

/** Commander's attribute name of a long flag: --data-dir -> dataDir. */
export function flagAttribute(longFlag: string): string {
  return longFlag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Shallow shape checks of the engine options (the Engine constructor checks the rest). */
function checkEngineOptions(engine: EngineOptions, configPath: string | undefined): EngineOptions {
  const where = configPath ? `config file ${configPath}` : 'engine options';
  for (const key of ['maxOrders', 'maxSymbols', 'ladderTicks', 'batchSize', 'eventCapacity'] as const) {
    const v = engine[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) throw new ConfigError(`${where}: ${key} must be a positive integer; got ${JSON.stringify(v)}`);
  }
  if (!Array.isArray(engine.symbols)) throw new ConfigError(`${where}: symbols must be an array of { id, tickSize, lotSize, minPrice, maxPrice }`);
  for (const s of engine.symbols as SymbolSpec[]) {
    if (typeof s !== 'object' || s === null || !Number.isInteger(s.id)) throw new ConfigError(`${where}: each symbol needs an integer id and tickSize, lotSize, minPrice, maxPrice; got ${engineJson(s).replace(/\s+/g, ' ')}`);
  }
  return engine;
}

/** The engine options as written to <dataDir>/engine.json (what `clob replay` and recovery need). */
export function engineFileOptions(engine: EngineOptions): EngineOptions {
  const out: Record<string, unknown> = {};
  for (const k of ENGINE_KEYS) if (engine[k] !== undefined) out[k] = engine[k];
  return out as EngineOptions;
}

/** The part of the engine options that decides replayed state, as comparable text. */
export function stateKey(engine: EngineOptions): string {
  const out: Record<string, unknown> = {};
  for (const k of STATE_KEYS) out[k] = engine[k] ?? null;
  return engineJson(out);
}

/** `--help` text after the option list. */
export const START_HELP_AFTER = `
Precedence: flag > environment variable > config file key > embedded default.
With no arguments at all, clob start serves the demo symbols 1-3 on 127.0.0.1:7070 to demo
accounts 1..16 (credential '${DEMO_CREDENTIAL}', loopback only), journals to ./data in fsync mode,
recovers from ./data if it holds a journal, and prints where it listens and its data directory.

Environment variables (same values as the flags):
${SERVER_OPTIONS.map((o) => `  ${o.env.padEnd(24)} ${o.flag.split(' ')[0].padEnd(22)} default ${JSON.stringify(o.default)}`).join('\n')}
  CLOB_CONFIG              --config

Config file (JSON): the option names in camelCase (${SERVER_OPTIONS.map((o) => o.key).join(', ')}),
"accounts": [{ "account": 1, "credential": "...", "cancelOnDisconnect"?, "ratePerSecond"?, "burst"?, "maxSessions"? }],
and the engine options under "engine" (or at the top level): maxOrders, maxSymbols, ladderTicks,
batchSize, eventCapacity, symbols: [{ id, tickSize, lotSize, minPrice, maxPrice }].

Signals: SIGINT/SIGTERM finish the batch in flight, snapshot, close the journal, log every
session out and exit 0. Bad options exit 2. See docs/SERVER.md.`;

// `clob start --stdio`: one engine on its embedded defaults (or a config file), driven by
// JSON lines on stdin, answering with JSON lines on stdout (no network, no journal: the server,
// with both, is `clob start` without --stdio, src/server/). Every line gets an answer: the
// events its command caused, or one {"type":"error"} naming what was wrong with the line; a bad
// line never stops the engine or changes the book.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { Engine, EngineOptions, SymbolSpec, Command } from './engine.js';
import { CoreBuild, CORE_BUILDS } from './core.js';

/** The embedded defaults: three demo symbols (prices in cents, quantities in shares). */
export const DEMO_SYMBOLS: SymbolSpec[] = [
  { id: 1, tickSize: 1, lotSize: 1, minPrice: 1, maxPrice: 1_000_000 },
  { id: 2, tickSize: 5, lotSize: 100, minPrice: 5, maxPrice: 500_000 },
  { id: 3, tickSize: 1, lotSize: 10, minPrice: 1, maxPrice: 200_000 },
];
export const DEFAULT_OPTIONS: EngineOptions = { maxOrders: 1 << 18, maxSymbols: 1024, ladderTicks: 1 << 22, symbols: DEMO_SYMBOLS };

// Integer fields may be given as JSON numbers or, beyond 2^53, as strings of digits.
const INT_FIELDS = new Set(['orderId', 'price', 'quantity', 'clientOrderId', 'timestamp', 'tickSize', 'lotSize', 'minPrice', 'maxPrice']);
const revive = (key: string, value: unknown) => (INT_FIELDS.has(key) && typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : value);
const json = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));

export function loadOptions(configPath: string | undefined): EngineOptions {
  if (!configPath) return DEFAULT_OPTIONS;
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${configPath}: ${(e as Error).message}`);
  }
  try {
    return { ...DEFAULT_OPTIONS, ...(JSON.parse(text, revive) as EngineOptions) };
  } catch (e) {
    throw new Error(`config file ${configPath} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Runs one JSON command line against the engine and returns the output objects. */
export function handleLine(engine: Engine, line: string): unknown[] {
  const cmd = JSON.parse(line, revive) as { type?: unknown; [k: string]: any };
  if (typeof cmd !== 'object' || cmd === null || Array.isArray(cmd)) throw new TypeError('a command must be a JSON object with a "type" field');
  switch (cmd.type) {
    case 'depth': return [{ type: 'depth', symbol: cmd.symbol, ...engine.depth(cmd.symbol, cmd.levels ?? 10) }];
    case 'order': return [{ type: 'order', orderId: cmd.orderId, order: engine.order(cmd.orderId) ?? null }];
    case 'digest': return [{ type: 'digest', digest: engine.digest().toString(16).padStart(16, '0'), liveOrders: engine.liveOrders }];
    default: return engine.submit(cmd as Command);
  }
}

export async function startStdio(opts: { config?: string; build: string; engineOptions?: EngineOptions }): Promise<number> {
  if (!CORE_BUILDS.includes(opts.build as CoreBuild)) {
    process.stderr.write(`clob start: --build must be one of ${CORE_BUILDS.join(', ')}; got '${opts.build}'\n`);
    return 2;
  }
  let engine: Engine;
  try {
    engine = new Engine({ ...(opts.engineOptions ?? loadOptions(opts.config)), build: opts.build as CoreBuild });
  } catch (e) {
    process.stderr.write(`clob start: ${(e as Error).message}\n`);
    return 2;
  }
  process.stderr.write(
    `clob: engine ready (${opts.build} build, ${engine.maxOrders} order slots, ${opts.config ? `config ${opts.config}` : 'demo symbols 1, 2, 3'}).\n` +
    'clob: reading JSON commands from stdin, one per line, e.g. {"type":"new","symbol":1,"orderId":1,"side":"buy","price":10000,"quantity":5}\n' +
    'clob: stdio mode: no network, no journal (clob start without --stdio is the server). Pipe commands in, read events from stdout.\n');
  let lineNo = 0;
  let commands = 0;
  let errors = 0;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const raw of rl) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      const out = handleLine(engine, line);
      commands++;
      for (const o of out) process.stdout.write(json(o) + '\n');
    } catch (e) {
      errors++;
      process.stdout.write(json({ type: 'error', line: lineNo, message: (e as Error).message }) + '\n');
    }
  }
  process.stderr.write(`clob: end of input: ${commands} commands, ${errors} bad lines, ${engine.liveOrders} resting orders, digest ${engine.digest().toString(16).padStart(16, '0')}\n`);
  return 0;
}

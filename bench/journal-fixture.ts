// A journal to measure reading on: `count` core-mix commands written in commits of 4,096 (mode
// 'none', default 64 MiB segments) plus the engine.json that `clob replay <dir>` picks up, so
// `clob replay`, recovery and bench/journal.ts replay the same records with the same engine.
//
//   node --import tsx bench/journal-fixture.ts <dir> [--count <n>]     (default 1,000,000; <dir> must be new or empty)
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Journal } from '../src/journal/journal.js';
import type { EngineOptions } from '../src/engine.js';
import { coreMix } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';

/** The engine the fixture's records are replayed on (core-mix adds its one symbol itself). */
export const FIXTURE_ENGINE_OPTIONS: EngineOptions = { maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15, symbols: [] };

/** Writes the fixture journal and its engine.json into `dir`. */
export async function writeJournalFixture(dir: string, count: number): Promise<void> {
  const mix = encodeCommands(coreMix({ seed: 42, count }));
  const writer = await Journal.open(dir, { mode: 'none' });
  for (let i = 0; i < count; i += 4096) {
    writer.append(mix, Math.min(4096, count - i), i);
    await writer.commit();
  }
  await writer.close();
  writeFileSync(join(dir, 'engine.json'), JSON.stringify(FIXTURE_ENGINE_OPTIONS) + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const dir = args[0];
  const i = args.indexOf('--count');
  const count = Number(i >= 0 ? args[i + 1] : 1_000_000);
  if (!dir || dir.startsWith('--') || !(count > 0)) {
    console.error('usage: node --import tsx bench/journal-fixture.ts <dir> [--count <n>]');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) {
    console.error(`${dir} is not empty`);
    process.exit(2);
  }
  await writeJournalFixture(dir, count);
  console.log(`wrote ${count.toLocaleString('en-US')} core-mix commands and engine.json to ${dir}`);
}

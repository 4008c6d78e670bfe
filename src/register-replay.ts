// `clob replay`: replays recorded market data through the engine. Only LOBSTER (src/lobster.ts,
// src/replay.ts) so far; src/cli.ts calls registerReplayCommand(program).
import type { Command } from 'commander';
import { integer, choice } from './cli-args.js';
import { CORE_BUILDS } from './core.js';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the folder holding package.json, from src/ (tsx) or dist/src/ (compiled). */
function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..'), join(here, '..', '..')].find((p) => existsSync(join(p, 'package.json'))) ?? process.cwd();
}

export const SAMPLE_RELATIVE = '../shared/data/lobster/LOBSTER_SampleFile_GOOG_2012-06-21_1.zip';

/** The shared LOBSTER sample, relative to the repository root, if it is there. */
export function defaultLobsterSample(): string | undefined {
  const p = resolve(repoRoot(), SAMPLE_RELATIVE);
  return existsSync(p) ? p : undefined;
}

interface ReplayCliOptions { lobster?: string | boolean; json?: string; runs: number; build: string; config?: string; fromOrigin?: boolean }

export function registerReplayCommand(program: Command): void {
  program
    .command('replay [file]')
    .description('re-run a journal (a data directory or a journal-<seq>.clj segment) offline and print the state digest, '
      + 'commands/s and the seq range; or, with --lobster, replay a LOBSTER day (the zip with a message and an orderbook file): '
      + 'throughput, top-of-book agreement with the orderbook file row by row, and whether each execution trades against the order it names')
    .option('--lobster [zip]', `the file is a LOBSTER zip; with no file at all, the shared sample ${SAMPLE_RELATIVE} (relative to the repository root)`)
    .option('--config <file>', 'journal only: engine options as JSON, as for clob start (default: <dir>/engine.json if present, else clob start\'s defaults)')
    .option('--from-origin', 'journal only: replay from the journal\'s origin on an empty engine; fails if the origin was pruned (by default a pruned journal replays from its oldest usable snapshot)')
    .option('--json <file>', 'also write the full report as JSON')
    .option('--runs <n>', 'timed runs of the converted stream (after one warm-up run)', integer('--runs', 1, 1000), 10)
    .option('--build <name>', 'Wasm build: release, scalar or debug', choice('--build', CORE_BUILDS), 'release')
    .action(async (file: string | undefined, opts: ReplayCliOptions) => {
      if (file && opts.lobster === undefined && !file.endsWith('.zip')) {
        if (!existsSync(file)) {
          console.error(`clob replay: ${file}: no such file or directory`);
          process.exitCode = 2;
          return;
        }
        const { replayJournalCli } = await import('./journal/replay-cli.js');
        process.exitCode = await replayJournalCli(file, opts);
        return;
      }
      if (!file && opts.lobster === undefined) {
        console.error('clob replay: give a journal (a data directory or segment file), or --lobster [zip] for a LOBSTER day');
        process.exitCode = 2;
        return;
      }
      const given = file ?? (typeof opts.lobster === 'string' ? opts.lobster : undefined);
      if (file && typeof opts.lobster === 'string' && resolve(file) !== resolve(opts.lobster)) {
        console.error(`clob replay: two files given ('${file}' and --lobster '${opts.lobster}'); give one`);
        process.exitCode = 2;
        return;
      }
      const path = given ?? defaultLobsterSample();
      if (!path) {
        console.error(`clob replay: no file given and the shared LOBSTER sample is not at ${resolve(repoRoot(), SAMPLE_RELATIVE)}; pass a LOBSTER zip: clob replay --lobster <file.zip>`);
        process.exitCode = 2;
        return;
      }
      if (!existsSync(path)) {
        console.error(`clob replay: ${path}: no such file`);
        process.exitCode = 2;
        return;
      }
      const { replayLobster, formatReplayReport } = await import('./replay.js');
      let report;
      try {
        report = await replayLobster(path, { runs: opts.runs, build: opts.build as 'release' });
      } catch (e) {
        // Parse and zip errors name the file, line and column (or entry): print them, not a stack.
        console.error(`clob replay: ${(e as Error).message}`);
        process.exitCode = 1;
        return;
      }
      console.log(formatReplayReport(report));
      if (opts.json) {
        writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
        console.log(`  report written to ${opts.json}`);
      }
    });
}

// `clob replay <journal>` for journals: re-runs a journal (a data directory or one segment file)
// offline and prints the digest, commands/s and the seq range; changes no file. A pruned journal
// replays from its oldest usable snapshot (printed as the base); --from-origin refuses that. Called by
// src/register-replay.ts, which also replays LOBSTER files (--lobster).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReplayJournalCliOptions { json?: string; build: string; config?: string; fromOrigin?: boolean }

/** Returns the process exit code. */
export async function replayJournalCli(path: string, opts: ReplayJournalCliOptions): Promise<number> {
  const { loadOptions } = await import('../stdio-server.js');
  const { replayJournal, formatReplayReport } = await import('./recovery.js');
  const dirConfig = join(path, 'engine.json');
  const config = opts.config ?? (existsSync(dirConfig) ? dirConfig : undefined);
  let report;
  try {
    report = replayJournal(path, { engineOptions: loadOptions(config), build: opts.build as 'release', fromOrigin: opts.fromOrigin === true, onWarning: (m) => console.error(`clob replay: warning: ${m}`) });
  } catch (e) {
    // Corruption names the file and the offset, a gap the missing seqs: print it, not a stack.
    console.error(`clob replay: ${(e as Error).message}`);
    return 1;
  }
  console.log(formatReplayReport(report));
  console.log(`  config     ${config ?? 'clob start defaults (demo symbols 1-3)'}`);
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ ...report, config: config ?? 'defaults' }, null, 2) + '\n');
    console.log(`  report written to ${opts.json}`);
  }
  return 0;
}

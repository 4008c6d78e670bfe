// Runs a raw command stream through an Engine in batches and hands back each command's events.
import { Engine, EngineOptions } from '../../src/engine.js';
import { RawCommand, RawEvent } from '../../src/records.js';

/** Events grouped by the command that caused them (events carry the command's seq = its index). */
export function runGrouped(engine: Engine, commands: RawCommand[], firstSeq: number): RawEvent[][] {
  const grouped: RawEvent[][] = commands.map(() => []);
  for (const e of engine.runRaw(commands)) grouped[Number(e.seq) - firstSeq].push(e);
  return grouped;
}

export const SMALL_LIMITS: EngineOptions = { maxOrders: 50_000, maxSymbols: 64, ladderTicks: 200_000 };

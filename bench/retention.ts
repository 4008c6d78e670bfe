// Journal retention costs on this machine: one run of core-mix commands written twice, side by
// side, into an archive directory (every segment kept) and a pruned one (retention after each
// snapshot, keep 2); then recovery of each (median of several), and the cost of one retention
// pass (plan: list + check snapshot bodies; apply: one unlink + directory fsync per file).
//
//   node --import tsx bench/retention.ts [--dir <dir>] [--count <n>] [--runs <n>] [--json <file>]
//
// What it shows: with pruning, recovery (and its cross-check) replays at most about two snapshot
// intervals of journal whatever the journal's age; in archive mode the cross-check is a replay
// from the origin and grows with the history.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine.js';
import { Journal } from '../src/journal/journal.js';
import { writeSnapshot } from '../src/journal/snapshots.js';
import { applyRetention, enforceRetention, planRetention } from '../src/journal/retention.js';
import { recover } from '../src/journal/recovery.js';
import { coreMix } from './workloads/core-mix.js';
import { encodeCommands } from './encode.js';
import { benchArgs } from './args.js';

const argv = process.argv.slice(2);
const args = benchArgs('bench/retention.ts', ['--count', '--runs', '--json', '--dir']);
const count = args.int('--count', 1_000_000, 1);
const runs = args.int('--runs', 3, 1);
const jsonOut = args.optional('--json');
const root = mkdtempSync(join(args.string('--dir', tmpdir()), 'clob-retention-bench-'));
const command = `node --import tsx bench/retention.ts ${argv.join(' ')}`.trim();
const engineOptions = { maxOrders: 1 << 16, maxSymbols: 4, ladderTicks: 1 << 15 };
const segmentBytes = 4 << 20; // ~52,000 records per segment
const snapshotEvery = Math.floor(count / 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const dirBytes = (dir: string) => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

console.log(`${command}`);
console.log(`  ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}, Node ${process.version}`);

// ---- one run, two directories ----------------------------------------------------------------
const archive = mkdtempSync(join(root, 'archive-'));
const pruned = mkdtempSync(join(root, 'pruned-'));
const mix = encodeCommands(coreMix({ seed: 42, count }));
const engine = new Engine(engineOptions);
const journals = [await Journal.open(archive, { mode: 'none', segmentBytes }), await Journal.open(pruned, { mode: 'none', segmentBytes })];
const retentionMs: number[] = [];
let removedFiles = 0;
for (let i = 0; i < count;) {
  const n = Math.min(4096, count - i, snapshotEvery - (i % snapshotEvery));
  for (const j of journals) {
    j.append(mix, n, i);
    await j.commit();
  }
  for (let k = 0; k < n; k += engine.commands.capacity) {
    engine.commands.append(mix, i + k, Math.min(engine.commands.capacity, n - k));
    engine.run();
  }
  i += n;
  if (i % snapshotEvery === 0 && i < count) {
    for (const j of journals) await j.sync();
    await writeSnapshot(archive, engine, i - 1);
    await enforceRetention(archive, { archive: true });
    await writeSnapshot(pruned, engine, i - 1);
    const t0 = performance.now();
    const plan = await enforceRetention(pruned);
    retentionMs.push(performance.now() - t0);
    removedFiles += plan.remove.length;
  }
}
for (const j of journals) await j.close();
const live = engine.digest();
console.log(`  ${fmt(count)} core-mix commands, a snapshot every ${fmt(snapshotEvery)}, ${segmentBytes >> 20} MiB segments, keep 2 snapshots`);
console.log(`  archive: ${readdirSync(archive).length} files, ${(dirBytes(archive) / 1e6).toFixed(1)} MB;  pruned: ${readdirSync(pruned).length} files, ${(dirBytes(pruned) / 1e6).toFixed(1)} MB`);
console.log(`  retention after each snapshot (pruned dir): ${retentionMs.map((x) => x.toFixed(1)).join(', ')} ms (${removedFiles} files removed in all)`);

// ---- recovery, side by side ------------------------------------------------------------------
const rows: Record<string, { ms: number[]; replayed: number; verification: string }> = {};
for (let r = 0; r < runs; r++) {
  for (const [name, dir] of [['archive', archive], ['pruned', pruned]] as const) {
    const t0 = performance.now();
    const rec = await recover(dir, engineOptions, { onWarning: (m) => { throw new Error(m); } });
    const ms = performance.now() - t0;
    if (rec.digest !== live) throw new Error(`${name}: recovered digest differs from the live engine's`);
    rows[name] ??= { ms: [], replayed: rec.replayed, verification: rec.verification + (rec.verifiedFrom ? ` from seq ${rec.verifiedFrom.seq}` : '') };
    rows[name].ms.push(ms);
  }
}
for (const [name, row] of Object.entries(rows)) {
  console.log(`  recover ${name.padEnd(8)} median ${row.ms.length > 1 ? `of ${row.ms.length} ` : ''}${median(row.ms).toFixed(0)} ms (runs: ${row.ms.map((x) => x.toFixed(0)).join(', ')}); ${fmt(row.replayed)} records replayed after the snapshot; cross-check: ${row.verification}`);
}
console.log(`  ratio archive / pruned (medians, same run): ${(median(rows.archive.ms) / median(rows.pruned.ms)).toFixed(2)}`);

// ---- one retention pass with nothing to remove, and a directory fsync per removed file ---------
const planMs: number[] = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  planRetention(pruned);
  planMs.push(performance.now() - t0);
}
const scratch = mkdtempSync(join(root, 'unlink-'));
for (let i = 0; i < 20; i++) writeFileSync(join(scratch, `journal-${String(i).padStart(20, '0')}.clj`), '');
const t0 = performance.now();
await applyRetention(scratch, { kept: [], baseSeq: 0, segments: [], snapshots: [], skipped: [], remove: readdirSync(scratch).map((f) => join(scratch, f)) });
const perFile = (performance.now() - t0) / 20;
console.log(`  planRetention with nothing to remove (lists, reads and CRCs both snapshot bodies, no cache): median of 5 ${median(planMs).toFixed(1)} ms`);
console.log(`  applyRetention: ${perFile.toFixed(2)} ms per removed file (unlink + directory fsync, 20 files)`);

rmSync(root, { recursive: true, force: true });
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ command, node: process.version, cpus: cpus().length, loadavg: loadavg(), count, snapshotEvery, segmentBytes, retentionMs, recovery: rows, planMs, applyMsPerFile: perFile }, null, 2) + '\n');
  console.log(`  results written to ${jsonOut}`);
}

// Journal costs on this machine: fdatasync latency, and records/s per durability mode with the
// "ack after durable" loop (append a batch, await commit()) at several batch sizes, plus many
// concurrent single-record committers (group commit coalescing them).
//
//   node --import tsx bench/journal.ts [--dir <dir>] [--seconds <s per cell>] [--replay <n>] [--json <file>]
//
// Then it writes a journal of n core-mix commands (default 1,000,000; bench/journal-fixture.ts) and
// replays it with replayJournal (what `clob replay <dir>` runs): read + check + run, against the
// engine alone.
//
// The directory (default: a temp dir under os.tmpdir()) decides the filesystem and device measured.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { Journal, DURABILITY_MODES, type DurabilityMode } from '../src/journal/journal.js';
import * as L from '../assembly/layout.js';
import { replayJournal } from '../src/journal/recovery.js';
import { FIXTURE_ENGINE_OPTIONS, writeJournalFixture } from './journal-fixture.js';
import { benchArgs } from './args.js';

const argv = process.argv.slice(2);
const args = benchArgs('bench/journal.ts', ['--dir', '--seconds', '--json', '--replay']);
const base = args.string('--dir', tmpdir());
const seconds = args.num('--seconds', 1.5, 0.01);
const jsonOut = args.optional('--json');
const root = mkdtempSync(join(base, 'clob-journal-bench-'));
let fsInfo = '';
try { fsInfo = execSync(`df -T ${JSON.stringify(root)} | tail -1`, { encoding: 'utf8' }).trim().split(/\s+/).slice(0, 2).join(' '); } catch { /* no df */ }

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

// ---- fdatasync latency: append 80 bytes, fdatasync, repeat ------------------------------------
function fsyncLatency(n: number): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const path = join(root, 'fsync-probe');
  const fd = openSync(path, 'w');
  const frame = new Uint8Array(80);
  const us: number[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    writeSync(fd, frame, 0, frame.length, pos);
    pos += frame.length;
    const t = process.hrtime.bigint();
    fdatasyncSync(fd);
    us.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  closeSync(fd);
  rmSync(path);
  const sorted = [...us].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p90: pct(sorted, 90), p99: pct(sorted, 99), max: sorted.at(-1)!, mean: us.reduce((a, b) => a + b, 0) / n };
}

// ---- throughput --------------------------------------------------------------------------------
/** Records with seq 0..n-1 (the rest of each record is zero: the journal does not look inside). */
function records(n: number): Uint8Array {
  const bytes = new Uint8Array(n * L.CMD_SIZE);
  const v = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    v.setUint8(i * L.CMD_SIZE + L.CMD_TYPE, L.CMD_NEW);
    v.setBigInt64(i * L.CMD_SIZE + L.CMD_SEQ, BigInt(i), true);
  }
  return bytes;
}
const RECORDS = records(2_000_000);

interface Cell { mode: DurabilityMode; shape: string; records: number; commits: number; seconds: number; recordsPerSecond: number; commitsPerSecond: number; meanCommitUs: number }

/** One committer: append `batch` records, await commit(), repeat, for `seconds`. */
async function sequential(mode: DurabilityMode, batch: number): Promise<Cell> {
  const dir = mkdtempSync(join(root, `${mode}-`));
  const j = await Journal.open(dir, { mode });
  let seq = 0;
  let commits = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end && seq + batch <= RECORDS.length / L.CMD_SIZE) {
    j.append(RECORDS, batch, seq);
    await j.commit();
    seq += batch;
    commits++;
  }
  const s = (performance.now() - t0) / 1000;
  await j.close();
  rmSync(dir, { recursive: true, force: true });
  return { mode, shape: `batch ${batch}, 1 committer`, records: seq, commits, seconds: s, recordsPerSecond: seq / s, commitsPerSecond: commits / s, meanCommitUs: (s * 1e6) / commits };
}

/** `clients` concurrent loops, each: append 1 record, await commit() (an order acked when durable). */
async function concurrent(mode: DurabilityMode, clients: number): Promise<Cell> {
  const dir = mkdtempSync(join(root, `${mode}-c-`));
  const j = await Journal.open(dir, { mode });
  let seq = 0;
  let acks = 0;
  const writes = new Set<number>();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const max = RECORDS.length / L.CMD_SIZE;
  const client = async () => {
    while (performance.now() < end && seq < max) {
      j.append(RECORDS, 1, seq++);
      const r = await j.commit();
      writes.add(r.lastSeq);
      acks++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const s = (performance.now() - t0) / 1000;
  await j.close();
  rmSync(dir, { recursive: true, force: true });
  return { mode, shape: `${clients} committers x 1 record`, records: acks, commits: writes.size, seconds: s, recordsPerSecond: acks / s, commitsPerSecond: writes.size / s, meanCommitUs: (s * 1e6) / writes.size };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const command = `node --import tsx bench/journal.ts${argv.length ? ' ' + argv.join(' ') : ''}`;
console.log(`clob journal bench: ${command}`);
console.log(`  node ${process.version}, ${osType()} ${release()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, dir ${root} (${fsInfo || 'filesystem unknown'})`);
const lat = fsyncLatency(500);
console.log(`  fdatasync after an 80-byte append (500 times): p50 ${lat.p50.toFixed(0)} us, p90 ${lat.p90.toFixed(0)} us, p99 ${lat.p99.toFixed(0)} us, max ${lat.max.toFixed(0)} us, mean ${lat.mean.toFixed(0)} us`);
console.log(`  ${'mode'.padEnd(6)} ${'shape'.padEnd(26)} ${'records/s'.padStart(12)} ${'writes/s'.padStart(10)} ${'us/write'.padStart(9)}`);
const cells: Cell[] = [];
for (const mode of DURABILITY_MODES) {
  for (const batch of [1, 16, 256, 4096]) cells.push(await sequential(mode, batch));
  cells.push(await concurrent(mode, 64));
  for (const c of cells.filter((x) => x.mode === mode)) {
    console.log(`  ${c.mode.padEnd(6)} ${c.shape.padEnd(26)} ${fmt(c.recordsPerSecond).padStart(12)} ${fmt(c.commitsPerSecond).padStart(10)} ${c.meanCommitUs.toFixed(0).padStart(9)}`);
  }
}

// ---- replay ------------------------------------------------------------------------------------
const replayCount = args.int('--replay', 1_000_000);
const replayDir = mkdtempSync(join(root, 'replay-'));
await writeJournalFixture(replayDir, replayCount);
const engineOptions = FIXTURE_ENGINE_OPTIONS;
const replays = [0, 1, 2].map(() => replayJournal(replayDir, { engineOptions }));
const best = replays.sort((a, b) => b.commandsPerSecond - a.commandsPerSecond)[0];
console.log(`  replay of ${fmt(best.records)} core-mix commands (${fmt(best.segments)} segments, best of 3): ${fmt(best.commandsPerSecond)} commands/s read+check+run, engine alone ${fmt(best.engineCommandsPerSecond)} commands/s, digest ${best.digest}`);
rmSync(root, { recursive: true, force: true });
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ command, node: process.version, cpus: cpus().length, dir: base, fs: fsInfo, seconds, fdatasyncUs: lat, cells, replay: best }, null, 2) + '\n');
  console.log(`  results written to ${jsonOut}`);
}

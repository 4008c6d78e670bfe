// Journal retention (src/journal/retention.ts) and recovery from a pruned journal: pruning keeps
// exactly what recovery needs; recovery after pruning equals a replay from the origin of an
// unpruned (archive-mode) copy of the same run; a pruning interrupted after any number of
// removals leaves a recoverable directory; a corrupt newest snapshot falls back to the one
// before; a journal pruned past every usable snapshot is an error naming the missing seqs and
// files; `clob replay` on a pruned journal starts from the oldest usable snapshot and says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Engine, type EngineOptions } from '../src/engine.js';
import { writeCommand } from '../src/records.js';
import * as L from '../assembly/layout.js';
import { Journal } from '../src/journal/journal.js';
import { listSegments, segmentName } from '../src/journal/segment.js';
import { listSnapshots, snapshotName, writeSnapshot } from '../src/journal/snapshots.js';
import { applyRetention, enforceRetention, planRetention, type RetentionOptions } from '../src/journal/retention.js';
import { JournalGapError, fullReplayDigest, hex, recover, replayJournal, formatReplayReport } from '../src/journal/recovery.js';
import { randomStream, streamLimits, type StreamOptions } from './support/random-stream.js';

const ROOT = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'clob-retention-'));
  dirs.push(d);
  return d;
}

const STREAM: StreamOptions = { seed: 21, count: 12_000, symbols: 3, depth: 'deep' };
const SEGMENT_BYTES = 40 * 1024; // commits of 250 records (20,000 bytes): 750 records, 16 segments
const SNAPSHOT_AT = [2_000, 4_500, 7_000, 9_500, 11_000]; // last seq of each snapshot + 1

function engineOptions(): EngineOptions {
  const { maxOrders, maxSymbols, ladderTicks } = streamLimits(STREAM);
  return { maxOrders, maxSymbols, ladderTicks };
}

/** The stream as packed 64-byte records, seq = index from 0 (the journal's origin is seq 0). */
function encodeStream(): Uint8Array {
  const bytes = new Uint8Array(STREAM.count * L.CMD_SIZE);
  const view = new DataView(bytes.buffer);
  let i = 0;
  for (const c of randomStream(STREAM)) writeCommand(view, (i++) * L.CMD_SIZE, c);
  return bytes;
}
const RECORDS = encodeStream();

interface Written {
  live: bigint;
  /** The seq of each snapshot written, oldest first. */
  snapshots: number[];
  /** Per snapshot: the plan retention carried out right after it, per directory. */
  plans: ReturnType<typeof planRetention>[][];
}

/**
 * The same run (STREAM, commits of 250 records, snapshots at SNAPSHOT_AT) into each directory,
 * with retention after each snapshot when that directory has options (none: never pruned).
 */
async function writeRun(targets: { dir: string; retention?: RetentionOptions }[]): Promise<Written> {
  const engine = new Engine(engineOptions());
  const journals = await Promise.all(targets.map((t) => Journal.open(t.dir, { mode: 'none', segmentBytes: SEGMENT_BYTES })));
  const out: Written = { live: 0n, snapshots: [], plans: [] };
  for (let i = 0; i < STREAM.count;) {
    const next = SNAPSHOT_AT.find((s) => s > i) ?? STREAM.count;
    const n = Math.min(next - i, 250);
    for (const j of journals) {
      j.append(RECORDS, n, i);
      await j.commit();
    }
    for (let k = i; k < i + n; k += engine.commands.capacity) {
      engine.commands.append(RECORDS, k, Math.min(engine.commands.capacity, i + n - k));
      engine.run();
    }
    i += n;
    if (SNAPSHOT_AT.includes(i)) {
      out.snapshots.push(i - 1);
      const plans = [];
      for (let t = 0; t < targets.length; t++) {
        await journals[t].sync(); // a snapshot claims only durable records
        await writeSnapshot(targets[t].dir, engine, i - 1);
        if (targets[t].retention) plans.push(await enforceRetention(targets[t].dir, targets[t].retention));
      }
      out.plans.push(plans);
    }
  }
  for (const j of journals) await j.close();
  out.live = engine.digest();
  return out;
}

const names = (dir: string) => readdirSync(dir).sort();
const segmentSeqs = (dir: string) => listSegments(dir).map((s) => s.firstSeq);
const snapshotSeqs = (dir: string) => listSnapshots(dir).map((s) => s.seq);

function corrupt(path: string): void {
  const bytes = readFileSync(path);
  bytes[bytes.length >> 1] ^= 0x40;
  writeFileSync(path, bytes);
}

// ---- tests -----------------------------------------------------------------------------------

test('retention keeps exactly the K newest snapshots and the segments after the oldest one; recovery after pruning = a replay from the origin of an archive copy', async () => {
  const pruned = tempDir();
  const archive = tempDir();
  const run = await writeRun([{ dir: pruned, retention: { keepSnapshots: 2 } }, { dir: archive, retention: { keepSnapshots: 2, archive: true } }]);
  const all = segmentSeqs(archive);
  assert.ok(all.length >= 12, `${all.length} segments written`);
  assert.is(all[0], 0, 'archive mode keeps the origin');

  // After each snapshot: the two newest snapshots; the segments that hold records after the older one.
  for (let s = 0; s < run.snapshots.length; s++) {
    const [p, a] = run.plans[s];
    if (s === 0) {
      assert.is(p.baseSeq, -1, 'with fewer than K valid snapshots nothing is removed');
      assert.equal(p.remove, []);
      continue;
    }
    assert.is(p.baseSeq, run.snapshots[s - 1], `after snapshot ${s}: the base is the older kept snapshot`);
    assert.equal(p.kept.map((k) => k.seq), [run.snapshots[s], run.snapshots[s - 1]]);
    assert.equal(a.kept.map((k) => k.seq), [run.snapshots[s], run.snapshots[s - 1]]);
    assert.equal(a.segments, [], 'archive mode removes no segment');
  }
  const base = run.snapshots.at(-2)!;
  assert.equal(snapshotSeqs(pruned), [run.snapshots.at(-1)!, base]);
  assert.equal(snapshotSeqs(archive), [run.snapshots.at(-1)!, base], 'archive mode still prunes snapshots');
  // Exactly the segments recovery from the base needs: the one holding base + 1 and all after it.
  const firstNeeded = all.filter((f) => f <= base + 1).at(-1)!;
  assert.equal(segmentSeqs(pruned), all.filter((f) => f >= firstNeeded));
  assert.ok(firstNeeded > 0 && segmentSeqs(pruned).length < all.length - 10, 'most segments were pruned');

  const eo = engineOptions();
  const reference = fullReplayDigest(archive, eo);
  assert.is(reference, run.live, 'the archive replays from the origin to the live digest');
  assert.throws(() => fullReplayDigest(pruned, eo), /starts at seq \d+, not at its origin 0/);

  const rec = await recover(pruned, eo, { onWarning: (m) => assert.unreachable(m) });
  assert.is(rec.digest, reference, 'recovered from the pruned journal = replay from origin of the archive');
  assert.is(rec.snapshot?.seq, run.snapshots.at(-1));
  assert.is(rec.lastSeq, STREAM.count - 1);
  assert.is(rec.replayed, STREAM.count - 1 - run.snapshots.at(-1)!);
  assert.is(rec.verification, 'replay-from-snapshot');
  assert.is(rec.verifiedFrom?.seq, base, 'cross-checked by a replay from the older kept snapshot');
  const recArchive = await recover(archive, eo);
  assert.is(recArchive.verification, 'full-replay');
  assert.is(recArchive.digest, reference);

  // The offline replay of the pruned journal starts from the oldest usable snapshot and says so.
  const report = replayJournal(pruned, { engineOptions: eo });
  assert.equal([report.base, report.baseSeq, report.digest, report.firstSeq, report.records], ['snapshot', base, hex(reference), base + 1, STREAM.count - 1 - base]);
  assert.match(formatReplayReport(report), `base       snapshot at seq ${base} (`);
  assert.throws(() => replayJournal(pruned, { engineOptions: eo, fromOrigin: true }), new RegExp(`--from-origin: the journal in .* starts at seq ${firstNeeded} \\(${segmentName(firstNeeded)}\\); records 0\\.\\.${firstNeeded - 1} from its origin were pruned`));
  const fromOrigin = replayJournal(archive, { engineOptions: eo, fromOrigin: true });
  assert.equal([fromOrigin.base, fromOrigin.baseSeq, fromOrigin.digest], ['origin', -1, hex(reference)]);
});

test('pruning interrupted after any number of removals leaves a recoverable directory; running it again finishes the job', async () => {
  // Snapshots and journal written with retention off, so that one retention has much to remove.
  const source = tempDir();
  const run = await writeRun([{ dir: source }]);
  const plan = planRetention(source, { keepSnapshots: 2 });
  assert.ok(plan.segments.length >= 10 && plan.snapshots.length === 3, `${plan.segments.length} segments, ${plan.snapshots.length} snapshots to remove`);
  assert.equal(plan.remove, [...plan.segments.map((s) => s.path), ...plan.snapshots.map((s) => s.path)], 'segments first, oldest first; then snapshots');
  const expectedEnd = names(source).filter((n) => !plan.remove.some((p) => basename(p) === n));
  const eo = engineOptions();
  for (let k = 0; k <= plan.remove.length; k++) {
    const dir = join(tempDir(), 'data');
    cpSync(source, dir, { recursive: true });
    const local = planRetention(dir, { keepSnapshots: 2 });
    let removed = 0;
    const crash = new Error('simulated crash');
    // The crash comes right after the k-th removal is durable (k = 0: before any).
    if (k === plan.remove.length) await applyRetention(dir, local);
    else if (k > 0) await applyRetention(dir, local, () => { if (++removed === k) throw crash; }).then(() => assert.unreachable('interrupted'), (e) => assert.is(e, crash));
    // What is left is the plan minus its first k removals, in order.
    assert.equal(names(dir), names(source).filter((n) => !local.remove.slice(0, k).some((p) => basename(p) === n)), `after ${k} removals`);
    const rec = await recover(dir, eo, { onWarning: (m) => assert.unreachable(m) });
    assert.is(rec.digest, run.live, `after ${k} removals: recovered digest`);
    assert.is(rec.snapshot?.seq, run.snapshots.at(-1));
    assert.is(rec.verification, k === 0 ? 'full-replay' : 'replay-from-snapshot', `after ${k} removals: cross-checked`);
    await enforceRetention(dir, { keepSnapshots: 2 });
    assert.equal(names(dir), expectedEnd, `after ${k} removals, a second retention finishes the plan`);
  }
});

test('a corrupt newest snapshot: retention keeps K valid ones behind it, recovery falls back to the previous one with a warning naming it', async () => {
  const dir = tempDir();
  const run = await writeRun([{ dir, retention: { keepSnapshots: 2 } }]);
  const [newest, older] = listSnapshots(dir);
  corrupt(newest.path);
  const eo = engineOptions();
  const warnings: string[] = [];
  const rec = await recover(dir, eo, { onWarning: (m) => warnings.push(m) });
  assert.is(rec.snapshot?.seq, older.seq, 'recovered from the previous snapshot');
  assert.is(rec.digest, run.live);
  assert.is(rec.replayed, STREAM.count - 1 - older.seq);
  assert.match(rec.verification, /^skipped: the journal was pruned .* no older usable snapshot/);
  assert.is(warnings.length, 1);
  assert.ok(warnings[0].includes(newest.path) && /body checksum mismatch/.test(warnings[0]), warnings[0]);

  // Retention now counts the damaged one out: it keeps it (the operator's to look at) but removes
  // nothing the two valid ones need, and reports why it passed over it.
  const before = names(dir);
  const plan = planRetention(dir, { keepSnapshots: 2 });
  assert.equal(plan.kept.map((k) => k.seq), [older.seq], 'one valid snapshot on disk');
  assert.equal(plan.remove, [], 'fewer than K valid snapshots: nothing is removed');
  assert.equal(plan.skipped, [{ path: newest.path, reason: 'body checksum mismatch' }]);
  await applyRetention(dir, plan);
  assert.equal(names(dir), before);
  // With K = 1 the valid one is the base; the damaged newer one stays.
  const one = planRetention(dir, { keepSnapshots: 1 });
  assert.is(one.baseSeq, older.seq);
  assert.ok(!one.remove.includes(newest.path) && !one.remove.includes(older.path));
});

test('a journal pruned past every usable snapshot is an error naming the missing seqs and the files, never a silent wrong state', async () => {
  const dir = tempDir();
  await writeRun([{ dir, retention: { keepSnapshots: 2 } }]);
  const first = listSegments(dir)[0];
  const [newest, older] = listSnapshots(dir);
  corrupt(newest.path);
  corrupt(older.path);
  const eo = engineOptions();
  const gap = new RegExp(`starts at seq ${first.firstSeq} \\(${first.name}\\) but its origin is seq 0: records 0\\.\\.${first.firstSeq - 1} are missing`);
  let err: unknown;
  try {
    await recover(dir, eo, { onWarning: () => {} });
  } catch (e) {
    err = e;
  }
  assert.instance(err, JournalGapError);
  const g = err as JournalGapError;
  assert.equal([g.missingFrom, g.missingTo, g.firstSegment], [0, first.firstSeq - 1, first.path]);
  assert.match(g.message, gap);
  assert.ok(g.message.includes(`${snapshotName(newest.seq)} (unusable: body checksum mismatch)`), g.message);
  assert.ok(g.message.includes(basename(older.path)), 'names every snapshot');
  assert.throws(() => replayJournal(dir, { engineOptions: eo, onWarning: () => {} }), gap);

  // No snapshot at all; and one that ends before the journal starts.
  for (const s of listSnapshots(dir)) rmSync(s.path);
  await recover(dir, eo).then(() => assert.unreachable('recovered'), (e: Error) => assert.match(e.message, /snapshots: none$/));
  const early = join(tempDir(), 'data');
  cpSync(dir, early, { recursive: true });
  const engine = new Engine(eo);
  await writeSnapshot(early, engine, 10);
  await recover(early, eo).then(() => assert.unreachable('recovered'), (e: Error) => {
    assert.match(e.message, gap);
    assert.match(e.message, `${snapshotName(10)} (seq 10: would need records 11..${first.firstSeq - 1})`);
  });
});

test('clob replay on a pruned journal prints the base snapshot seq and the digest; --from-origin exits 1 naming the pruned seqs', async () => {
  const dir = tempDir();
  const run = await writeRun([{ dir, retention: { keepSnapshots: 2 } }]);
  writeFileSync(join(dir, 'engine.json'), JSON.stringify({ ...engineOptions(), symbols: [] }));
  const base = listSnapshots(dir).at(-1)!;
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'replay', dir, ...args], { cwd: ROOT, encoding: 'utf8' });
  const ok = cli();
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, `base       snapshot at seq ${base.seq} (${base.path}), digest 0x`);
  assert.match(ok.stdout, `digest     ${hex(run.live)}`);
  const refused = cli('--from-origin');
  assert.is(refused.status, 1);
  const first = listSegments(dir)[0].firstSeq;
  assert.match(refused.stderr, `clob replay: --from-origin: the journal in ${dir} starts at seq ${first}`);
  assert.match(refused.stderr, `records 0..${first - 1} from its origin were pruned`);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();

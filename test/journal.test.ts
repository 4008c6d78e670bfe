// The journal (src/journal/): segments round-trip, group commit in every durability mode, a torn
// tail is detected and truncated and appending goes on cleanly, damage in the middle is an error
// naming file and offset, snapshot + journal recovery equals a full replay, a corrupt newest
// snapshot falls back to the one before, and a writer killed with SIGKILL loses nothing it
// reported committed.
//
// The crash test forks this very file with CLOB_JOURNAL_CRASH_CHILD=<dir>: in that mode it runs
// the child (a journal writer printing each committed seq) instead of the tests. The native/JS CRC
// test forks it with CLOB_JOURNAL_WRITE_CHILD=<dir> CLOB_NATIVE=0 to write a journal with the JS CRCs,
// and with CLOB_JOURNAL_JS_PASS=1 CLOB_NATIVE=0 to run every test here on the JS CRC paths.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type EngineOptions } from '../src/engine.js';
import { writeCommand } from '../src/records.js';
import * as L from '../assembly/layout.js';
import { Journal, type DurabilityMode } from '../src/journal/journal.js';
import { JournalReader, verifyJournal } from '../src/journal/reader.js';
import { FRAME_SIZE, JournalCorruptError, SEGMENT_HEADER_SIZE, crc32Range, listSegments, sealFramesJs, verifyFrames, verifyFramesJs } from '../src/journal/segment.js';
import { native, nativeLoadError } from '../src/native.js';
import { crc32 } from 'node:zlib';
import { listSnapshots, writeSnapshot } from '../src/journal/snapshots.js';
import { fullReplayDigest, recover, replayJournal } from '../src/journal/recovery.js';
import { randomStream, streamLimits, type StreamOptions } from './support/random-stream.js';

// ---- helpers ---------------------------------------------------------------------------------

/** This process is the child that reruns the tests on the JS CRC paths. */
const JS_PASS = process.env.CLOB_JOURNAL_JS_PASS === '1';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'clob-journal-'));
  dirs.push(d);
  return d;
}

function streamOptions(seed: number, count: number): StreamOptions {
  return { seed, count, symbols: 3, depth: 'deep' };
}

/** The stream's commands as packed 64-byte records (seq = index, from 0). */
function encodeStream(opts: StreamOptions): Uint8Array {
  const bytes = new Uint8Array(opts.count * L.CMD_SIZE);
  const view = new DataView(bytes.buffer);
  let i = 0;
  for (const c of randomStream(opts)) writeCommand(view, (i++) * L.CMD_SIZE, c);
  return bytes;
}

function engineOptions(opts: StreamOptions): EngineOptions {
  const { maxOrders, maxSymbols, ladderTicks } = streamLimits(opts);
  return { maxOrders, maxSymbols, ladderTicks };
}

/** mulberry32, for batch sizes. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

/** Appends records [from, to) in commits of random size (1..maxBatch); returns each commit's last seq. */
async function writeBatches(journal: Journal, records: Uint8Array, from: number, to: number, maxBatch: number, seed: number): Promise<number[]> {
  const r = rng(seed);
  const ends: number[] = [];
  for (let i = from; i < to;) {
    const n = Math.min(to - i, 1 + r(maxBatch));
    journal.append(records, n, i);
    const res = await journal.commit();
    assert.is(res.count, n);
    assert.is(res.firstSeq, i);
    assert.is(res.lastSeq, i + n - 1);
    ends.push(res.lastSeq);
    i += n;
  }
  return ends;
}

/** Everything a reader yields, packed, with the seq of each chunk checked. */
function readAll(path: string, options: ConstructorParameters<typeof JournalReader>[1] = {}): { bytes: Uint8Array; reader: JournalReader } {
  const reader = new JournalReader(path, options);
  const parts: Uint8Array[] = [];
  let expect = options.fromSeq;
  for (const chunk of reader.chunks()) {
    if (expect !== undefined) assert.is(chunk.firstSeq, expect, 'chunks are consecutive');
    expect = chunk.firstSeq + chunk.count;
    parts.push(chunk.records.slice(0, chunk.count * L.CMD_SIZE));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return { bytes, reader };
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, msg: string): void {
  assert.is(actual.length, expected.length, `${msg}: length`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${msg}: bytes`);
}

/** Runs packed records [from, to) through an engine. */
function runRecords(engine: Engine, records: Uint8Array, from: number, to: number): void {
  const cap = engine.commands.capacity;
  for (let i = from; i < to; i += cap) {
    engine.commands.append(records, i, Math.min(cap, to - i));
    engine.run();
  }
}

const lastSegment = (dir: string) => listSegments(dir).at(-1)!;

// ---- tests -----------------------------------------------------------------------------------

test('CRCs: crc32Range, the JS frame sealer (aligned or not) and the native one are zlib\'s CRC-32', () => {
  const r = rng(1);
  const bytes = new Uint8Array(1000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = r(256);
  for (const [a, b] of [[0, 0], [0, 1], [3, 79], [4, 80], [1, 1000], [17, 530], [5, 12], [0, 7]]) {
    assert.is(crc32Range(bytes, a, b), crc32(bytes.subarray(a, b)), `bytes ${a}..${b}`);
  }
  // 301 random frames (not a multiple of the native routine's 4-frame step) plus a partial one,
  // at byte offsets 0 (word-aligned: the JS word path) and 1 (the byte path).
  const frames = 301;
  const expected: number[] = [];
  const random = new Uint8Array(frames * FRAME_SIZE + 37);
  for (let i = 0; i < random.length; i++) random[i] = r(256);
  for (let f = 0; f < frames; f++) expected.push(crc32(random.subarray(f * FRAME_SIZE + 4, (f + 1) * FRAME_SIZE)));
  const sealers: [string, (b: Uint8Array) => void][] = [['JS', sealFramesJs]];
  if (native) sealers.push(['native', (b) => native!.crc32Frames(b, FRAME_SIZE)]);
  else assert.ok(nativeOptional, `the native helper did not load (${nativeLoadError}); CLOB_NATIVE_OPTIONAL=1 says that is expected`);
  for (const [name, seal] of sealers) {
    for (const offset of [0, 1]) {
      const buf = new Uint8Array(random.length + offset).subarray(offset);
      buf.set(random);
      seal(buf);
      const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      for (let f = 0; f < frames; f++) assert.is(v.getUint32(f * FRAME_SIZE, true), expected[f], `${name}, offset ${offset}, frame ${f}`);
      sameBytes(buf.subarray(frames * FRAME_SIZE), random.subarray(frames * FRAME_SIZE), `${name}, offset ${offset}: the partial frame is untouched`);
      for (let f = 0; f < frames; f++) sameBytes(buf.subarray(f * FRAME_SIZE + 4, (f + 1) * FRAME_SIZE), random.subarray(f * FRAME_SIZE + 4, (f + 1) * FRAME_SIZE), `${name}: frame ${f}'s body untouched`);
    }
  }
});

test('CRC verify: the JS and native batch checks find the first frame whose stored CRC is not zlib\'s, after random bit flips', () => {
  const r = rng(3);
  // 301 frames (not a multiple of the native routine's 4-frame step) plus a partial one.
  const frames = 301;
  const sealed = new Uint8Array(frames * FRAME_SIZE + 37);
  for (let i = 0; i < sealed.length; i++) sealed[i] = r(256);
  const sv = new DataView(sealed.buffer);
  for (let f = 0; f < frames; f++) sv.setUint32(f * FRAME_SIZE, crc32(sealed.subarray(f * FRAME_SIZE + 4, (f + 1) * FRAME_SIZE)), true);
  /** The reference: the first whole frame whose first 4 bytes are not zlib.crc32 of the rest, or -1. */
  const firstBad = (b: Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let f = 0; f < Math.floor(b.length / FRAME_SIZE); f++) {
      if (v.getUint32(f * FRAME_SIZE, true) !== crc32(b.subarray(f * FRAME_SIZE + 4, (f + 1) * FRAME_SIZE))) return f;
    }
    return -1;
  };
  const verifiers: [string, (b: Uint8Array) => number][] = [['JS', verifyFramesJs], [native ? 'verifyFrames (native)' : 'verifyFrames (JS)', verifyFrames]];
  if (native) verifiers.push(['native', (b) => native!.crc32FramesVerify(b, FRAME_SIZE)]);
  else assert.ok(nativeOptional, `the native helper did not load (${nativeLoadError}); CLOB_NATIVE_OPTIONAL=1 says that is expected`);
  for (let trial = 0; trial < 400; trial++) {
    // One to three single-bit flips anywhere (CRC field, frame body, the partial frame), or none.
    const flips = trial === 0 ? 0 : 1 + r(3);
    const bytes = sealed.slice();
    const where: number[] = [];
    for (let k = 0; k < flips; k++) {
      const bit = r(bytes.length * 8);
      bytes[bit >>> 3] ^= 1 << (bit & 7);
      where.push(bit);
    }
    const expected = firstBad(bytes);
    if (trial === 0) assert.is(expected, -1);
    for (const [name, verify] of verifiers) {
      for (const offset of [0, 1]) {
        const buf = new Uint8Array(bytes.length + offset).subarray(offset);
        buf.set(bytes);
        assert.is(verify(buf), expected, `${name}, offset ${offset}, bits flipped ${where.join(', ')}`);
        sameBytes(buf, bytes, `${name}: the bytes are untouched`);
      }
    }
  }
});

test('a journal written without the native helper (CLOB_NATIVE=0: the JS CRCs) is byte for byte the one written with it', async () => {
  const withNative = tempDir();
  const without = tempDir();
  await writeChild(withNative);
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, CLOB_JOURNAL_WRITE_CHILD: without, CLOB_NATIVE: '0' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.is(code, 0, 'the child wrote its journal');
  assert.is(out.trim(), 'native: no', 'the child ran without the native helper');
  const a = listSegments(withNative);
  const b = listSegments(without);
  assert.equal(b.map((x) => x.name), a.map((x) => x.name), 'the same segments');
  for (let i = 0; i < a.length; i++) sameBytes(readFileSync(b[i].path), readFileSync(a[i].path), a[i].name);
  sameBytes(readAll(without).bytes, encodeStream(streamOptions(WRITE_SEED, WRITE_COUNT)), 'read back (CRCs checked)');
});

test('an append refused at a record in the middle takes nothing; records at an unaligned offset are taken whole', async () => {
  const dir = tempDir();
  const records = encodeStream(streamOptions(9, 300));
  const journal = await Journal.open(dir, { mode: 'none' });
  journal.append(records, 100, 0);
  const bad = records.slice(100 * L.CMD_SIZE, 200 * L.CMD_SIZE);
  new DataView(bad.buffer).setUint32(50 * L.CMD_SIZE + L.CMD_SEQ, 7, true); // record 150's seq := 7
  assert.throws(() => journal.append(bad, 100), /record 50 of this append has seq 7, expected 150/);
  assert.is(journal.pendingRecords, 100, 'the refused append took nothing');
  assert.is(journal.lastSeq, 99);
  // Records 100..199 at byte offset 3 (not word-aligned).
  const odd = new Uint8Array(100 * L.CMD_SIZE + 3).subarray(3);
  odd.set(records.subarray(100 * L.CMD_SIZE, 200 * L.CMD_SIZE));
  journal.append(odd, 100);
  journal.append(records, 100, 200);
  await journal.commit();
  await journal.close();
  sameBytes(readAll(dir).bytes, records, 'read back');
});

test('round trip across many segments; reopen continues the sequence; gaps and duplicates throw', async () => {
  const dir = tempDir();
  const opts = streamOptions(1, 6000);
  const records = encodeStream(opts);
  // ~100 records per segment
  const segmentBytes = SEGMENT_HEADER_SIZE + 100 * FRAME_SIZE;
  let journal = await Journal.open(dir, { segmentBytes, mode: 'none' });
  await writeBatches(journal, records, 0, 4000, 60, 7);
  await journal.close();
  const segs = listSegments(dir);
  assert.ok(segs.length >= 30, `several segments (${segs.length})`);
  for (const s of segs) {
    const v = new DataView(readFileSync(s.path).buffer);
    assert.is(Number(v.getBigInt64(SEGMENT_HEADER_SIZE + 8, true)), s.firstSeq, `${s.name} starts with its named seq`);
  }
  journal = await Journal.open(dir, { segmentBytes, mode: 'none' });
  assert.is(journal.lastSeq, 3999);
  assert.throws(() => journal.append(records, 1, 4001), /gap/, 'a gap throws');
  assert.throws(() => journal.append(records, 1, 3999), /duplicate/, 'a duplicate throws');
  assert.throws(() => journal.append(records, 3, 3999), /duplicate/, 'a batch starting with a duplicate throws');
  assert.is(journal.pendingRecords, 0, 'nothing of a refused append is taken');
  await writeBatches(journal, records, 4000, 6000, 60, 8);
  await journal.close();

  const { bytes, reader } = readAll(dir);
  sameBytes(bytes, records, 'all records');
  assert.is(reader.summary.firstSeq, 0);
  assert.is(reader.summary.originSeq, 0);
  assert.is(reader.summary.lastSeq, 5999);
  assert.is(reader.summary.truncatedTail, undefined);
  // from a seq in the middle of a segment
  const from = 2345;
  sameBytes(readAll(dir, { fromSeq: from }).bytes, records.subarray(from * L.CMD_SIZE), 'records from seq 2345');
  // one segment on its own
  const one = segs[3];
  const { reader: r1 } = readAll(one.path);
  assert.is(r1.summary.firstSeq, one.firstSeq);
  assert.is(r1.summary.lastSeq, segs[4].firstSeq - 1);
});

for (const mode of ['fsync', 'async', 'none'] as DurabilityMode[]) {
  test(`group commit, mode ${mode}: commits called during a write share the next one; durableSeq per the mode`, async () => {
    const dir = tempDir();
    const opts = streamOptions(2, 3000);
    const records = encodeStream(opts);
    const journal = await Journal.open(dir, { mode, syncIntervalMs: 5 });
    // Five commits called at once: the first writes its 100 records; the four called while it is
    // in flight share the next write, which carries all 400 appended by then.
    const inFlight = [];
    for (let b = 0; b < 5; b++) {
      journal.append(records, 100, b * 100);
      inFlight.push(journal.commit());
    }
    const results = await Promise.all(inFlight);
    assert.equal(results.map((r) => [r.firstSeq, r.lastSeq, r.count]), [[0, 99, 100], [100, 499, 400], [100, 499, 400], [100, 499, 400], [100, 499, 400]]);
    assert.is(journal.writtenSeq, 499);
    if (mode === 'fsync') assert.is(journal.durableSeq, 499, 'fsync: durable when commit resolves');
    // An empty commit resolves with the last seq.
    const empty = await journal.commit();
    assert.is(empty.count, 0);
    assert.is(empty.lastSeq, 499);
    const ends = await writeBatches(journal, records, 500, 3000, 200, 3);
    assert.is(ends.at(-1), 2999);
    if (mode === 'fsync') assert.is(journal.durableSeq, 2999);
    if (mode === 'async') {
      // The background fdatasync catches up within a few intervals.
      const t0 = Date.now();
      while (journal.durableSeq < 2999 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
      assert.is(journal.durableSeq, 2999, 'async: the background sync caught up');
    }
    if (mode === 'none') assert.ok(journal.durableSeq < 2999, 'none: nothing fdatasynced before sync()/close()');
    assert.is(await journal.sync(), 2999, 'sync() makes everything durable in any mode');
    await journal.close();
    // Each commit's last frame carries the commit mark: as many marks as commits.
    const file = readFileSync(lastSegment(dir).path);
    let marks = 0;
    for (let at = SEGMENT_HEADER_SIZE; at < file.length; at += FRAME_SIZE) marks += file[at + 6] & 1;
    assert.is(marks, 2 + ends.length, 'one commit mark per write');
    sameBytes(readAll(dir).bytes, records, 'read back');
  });
}

test('fsync mode: every batch committed while an fdatasync is in flight shares the next one; none resolves before its own fdatasync; records intact', async () => {
  const dir = tempDir();
  const opts = streamOptions(5, 6000);
  const records = encodeStream(opts);
  const journal = await Journal.open(dir, { mode: 'fsync' });
  // Hold every fdatasync of this journal's segment until the test lets it go.
  journal.append(records, 1, 0);
  await journal.commit();
  const fh = (journal as unknown as { fh: { datasync(): Promise<void> } }).fh;
  const realSync = fh.datasync.bind(fh);
  let syncs = 0;
  const gates: (() => void)[] = [];
  fh.datasync = async () => {
    syncs++;
    await new Promise<void>((r) => gates.push(r));
    return realSync();
  };
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  let next = 1;
  // Rounds: one commit starts a write (its fdatasync held), then many batches of 1..600 records are
  // committed while it is in flight: they all share the one next write. 600-record batches grow the
  // frame buffers past their initial 1,024 frames, so reused buffers are exercised too.
  const r = rng(9);
  for (let round = 0; round < 6 && next < 6000; round++) {
    journal.append(records, 1, next++);
    const first = journal.commit();
    const joined: Promise<{ firstSeq: number; lastSeq: number; count: number }>[] = [];
    const joinedFirst = next;
    for (let b = 0; b < 40 && next < 6000; b++) {
      const n = Math.min(6000 - next, 1 + r(b % 10 === 9 ? 600 : 20));
      journal.append(records, n, next);
      next += n;
      joined.push(journal.commit());
    }
    let done = 0;
    for (const j of joined) void j.then(() => done++);
    const syncsBefore = syncs;
    await release(); // the first write's fdatasync
    await first;
    for (let k = 0; k < 3; k++) await new Promise((res) => setImmediate(res));
    assert.is(done, 0, 'the joined commits wait for their own fdatasync');
    assert.is(syncs, syncsBefore + 1, 'their write has started: one fdatasync for all of them');
    assert.is(journal.durableSeq, joinedFirst - 1);
    await release();
    const results = await Promise.all(joined);
    assert.is(syncs, syncsBefore + 1, `${joined.length} commits, one fdatasync`);
    for (const res of results) assert.equal([res.firstSeq, res.lastSeq, res.count], [joinedFirst, next - 1, next - joinedFirst]);
    assert.is(journal.durableSeq, next - 1);
  }
  fh.datasync = realSync;
  await journal.close();
  sameBytes(readAll(dir).bytes, records.subarray(0, next * L.CMD_SIZE), 'read back');
});

test('commits reuse the journal\'s frame buffers: no ArrayBuffer per write (external memory drives major GCs)', async () => {
  const dir = tempDir();
  const opts = streamOptions(6, 4000);
  const records = encodeStream(opts);
  const journal = await Journal.open(dir, { mode: 'none' });
  await writeBatches(journal, records, 0, 100, 4, 1); // warm up
  const before = process.memoryUsage().arrayBuffers;
  await writeBatches(journal, records, 100, 4000, 4, 2); // ~1,500 writes: 120 MB if each took a fresh 80 KiB buffer
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 4 << 20, `ArrayBuffer memory grew by ${grown} bytes over ~1,500 commits`);
  await journal.close();
  sameBytes(readAll(dir).bytes, records, 'read back');
});

test('a torn tail (the last file cut mid-record) is detected, reported, truncated, and appending goes on cleanly', async () => {
  const dir = tempDir();
  const records = encodeStream(streamOptions(3, 2000));
  let journal = await Journal.open(dir);
  const ends = await writeBatches(journal, records, 0, 1500, 50, 4);
  await journal.close();
  const seg = lastSegment(dir);
  const size = statSync(seg.path).size;
  truncateSync(seg.path, size - 37); // inside the last record
  const lastWhole = ends.at(-2)!; // the last commit is now unfinished: all of it goes

  // Read-only: reported, not replayed, file unchanged.
  const ro = readAll(dir);
  assert.is(ro.reader.summary.lastSeq, lastWhole);
  sameBytes(ro.bytes, records.subarray(0, (lastWhole + 1) * L.CMD_SIZE), 'records before the torn commit');
  const torn = ro.reader.summary.truncatedTail!;
  assert.ok(torn, 'torn tail reported');
  assert.is(torn.file, seg.path);
  assert.is(torn.repaired, false);
  assert.match(torn.reason, /partial record/);
  assert.is(statSync(seg.path).size, size - 37, 'read-only left the file alone');

  // Opening the writer truncates it and continues from the last whole commit.
  journal = await Journal.open(dir);
  assert.ok(journal.truncatedTail?.repaired);
  assert.is(journal.truncatedTail!.offset, SEGMENT_HEADER_SIZE + (lastWhole + 1) * FRAME_SIZE);
  assert.is(statSync(seg.path).size, SEGMENT_HEADER_SIZE + (lastWhole + 1) * FRAME_SIZE);
  assert.is(journal.lastSeq, lastWhole);
  await writeBatches(journal, records, lastWhole + 1, 2000, 50, 5);
  await journal.close();
  const after = readAll(dir);
  assert.is(after.reader.summary.truncatedTail, undefined, 'clean after the repair');
  sameBytes(after.bytes, records, 'every record once, in order');

  // A commit cut at a record boundary (no end mark) is torn too.
  const size2 = statSync(seg.path).size;
  truncateSync(seg.path, size2 - FRAME_SIZE);
  const rec = await recover(dir, engineOptions(streamOptions(3, 2000)), { onWarning: () => {} });
  assert.ok(rec.truncatedTail);
  assert.match(rec.truncatedTail!.reason, /no end mark/);
  assert.ok(rec.lastSeq < 1999 && rec.lastSeq >= 1999 - 50);
  assert.is((statSync(seg.path).size - SEGMENT_HEADER_SIZE) % FRAME_SIZE, 0);

  // A crash while creating the next segment (the file exists, its header does not): removed.
  const empty = join(dir, `journal-${String(rec.lastSeq + 1).padStart(20, '0')}.clj`);
  writeFileSync(empty, new Uint8Array(10));
  journal = await Journal.open(dir);
  assert.ok(journal.truncatedTail?.removedFile);
  assert.is(journal.truncatedTail!.file, empty);
  assert.is(journal.lastSeq, rec.lastSeq);
  await writeBatches(journal, records, rec.lastSeq + 1, 2000, 50, 6);
  await journal.close();
  sameBytes(readAll(dir).bytes, records, 'every record once, in order, after both repairs');
});

test('a flipped byte in the middle is an error naming the file and the offset (never skipped)', async () => {
  const dir = tempDir();
  const opts = streamOptions(4, 3000);
  const records = encodeStream(opts);
  const journal = await Journal.open(dir, { segmentBytes: SEGMENT_HEADER_SIZE + 1000 * FRAME_SIZE, mode: 'none' });
  await writeBatches(journal, records, 0, 3000, 40, 6);
  await journal.close();
  const segs = listSegments(dir);
  assert.ok(segs.length >= 3);

  const flip = (path: string, at: number) => {
    const fd = openSync(path, 'r+');
    const b = Buffer.alloc(1);
    b[0] = readFileSync(path)[at] ^ 0x20;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
  };
  // In an older segment: the reader and recovery stop with the file and the record's offset.
  const frameAt = SEGMENT_HEADER_SIZE + 123 * FRAME_SIZE;
  flip(segs[1].path, frameAt + 16 + L.CMD_PRICE);
  const expectError = (fn: () => unknown, file: string, offset: number) => {
    try {
      fn();
    } catch (e) {
      assert.instance(e, JournalCorruptError);
      const err = e as JournalCorruptError;
      assert.is(err.file, file);
      assert.is(err.offset, offset);
      assert.ok(err.message.includes(file) && err.message.includes(`offset ${offset}`), err.message);
      return;
    }
    assert.unreachable('no error');
  };
  expectError(() => verifyJournal(dir), segs[1].path, frameAt);
  try {
    await recover(dir, engineOptions(opts), { onWarning: () => {} });
    assert.unreachable('recover went on');
  } catch (e) {
    assert.instance(e, JournalCorruptError);
  }
  flip(segs[1].path, frameAt + 16 + L.CMD_PRICE); // undo
  verifyJournal(dir);

  // In the last segment, with whole commits after the damage: corruption, not a torn tail; the
  // writer refuses to open on it.
  const last = segs.at(-1)!;
  const at2 = SEGMENT_HEADER_SIZE + 200 * FRAME_SIZE;
  flip(last.path, at2 + 9); // in the frame's seq
  expectError(() => verifyJournal(dir), last.path, at2);
  try {
    await Journal.open(dir);
    assert.unreachable('open went on');
  } catch (e) {
    assert.instance(e, JournalCorruptError);
    assert.match((e as Error).message, /not a torn tail/);
  }
  assert.is(statSync(last.path).size % FRAME_SIZE, SEGMENT_HEADER_SIZE % FRAME_SIZE, 'nothing truncated');
});

test('snapshot + journal recovery equals a full replay; a corrupt newest snapshot falls back to the one before', async () => {
  const dir = tempDir();
  const opts = streamOptions(5, 30_000);
  const records = encodeStream(opts);
  const eo = engineOptions(opts);
  const engine = new Engine(eo);
  const journal = await Journal.open(dir, { segmentBytes: 256 * 1024 });
  const r = rng(9);
  const snapshotAt = [8000, 17000, 24000];
  for (let i = 0; i < 30_000;) {
    const next = snapshotAt.find((s) => s > i) ?? 30_000;
    const n = Math.min(next - i, 1 + r(500));
    journal.append(records, n, i);
    await journal.commit();
    runRecords(engine, records, i, i + n);
    i += n;
    if (snapshotAt.includes(i)) await writeSnapshot(dir, engine, i - 1);
  }
  await journal.close();
  writeFileSync(join(dir, 'snapshot-00000000000000099999.cls.777.tmp'), 'leftover of a crashed write');
  const live = engine.digest();
  assert.equal(listSnapshots(dir).map((s) => s.seq), [23999, 16999, 7999]);

  const full = fullReplayDigest(dir, eo);
  assert.is(full, live, 'a full replay gives the live engine\'s digest');
  const rec = await recover(dir, eo);
  assert.is(rec.snapshot?.seq, 23999);
  assert.is(rec.replayed, 30_000 - 24_000);
  assert.is(rec.lastSeq, 29_999);
  assert.is(rec.digest, live);
  assert.is(rec.verification, 'full-replay');
  assert.equal(rec.warnings, []);

  // Damage the newest snapshot's body: recovery warns and uses the previous one, same digest.
  const newest = listSnapshots(dir)[0].path;
  const bytes = readFileSync(newest);
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(newest, bytes);
  const warnings: string[] = [];
  const rec2 = await recover(dir, eo, { onWarning: (m) => warnings.push(m) });
  assert.is(rec2.snapshot?.seq, 16999);
  assert.is(rec2.replayed, 30_000 - 17_000);
  assert.is(rec2.digest, live);
  assert.is(rec2.verification, 'full-replay');
  assert.is(warnings.length, 1);
  assert.ok(warnings[0].includes(newest) && /checksum/.test(warnings[0]), warnings[0]);

  // A truncated one (header says more than the file holds) too; then none left but the oldest.
  truncateSync(listSnapshots(dir)[1].path, 1000);
  const rec3 = await recover(dir, eo, { onWarning: () => {} });
  assert.is(rec3.snapshot?.seq, 7999);
  assert.is(rec3.digest, live);
  assert.is(rec3.warnings.length, 2);

  // The offline replay agrees.
  const report = replayJournal(dir, { engineOptions: eo });
  assert.is(report.digest, `0x${live.toString(16).padStart(16, '0')}`);
  assert.is(report.records, 30_000);
  assert.is(report.firstSeq, 0);
  assert.is(report.lastSeq, 29_999);
});

// ---- the crash test --------------------------------------------------------------------------

const CRASH_SEED = 77;
const CRASH_COUNT = 400_000; // more than the child can commit before it is killed

// The child (CLOB_JOURNAL_JS_PASS) reruns this file without the helper; it defines every test but
// this one, so that it does not fork itself again.
if (!JS_PASS) test('every test here passes without the native helper too (CLOB_NATIVE=0: the JS CRC checks read the torn tails and the corruption)', async () => {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, CLOB_JOURNAL_JS_PASS: '1', CLOB_NATIVE: '0' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.is(code, 0, `the tests passed without the helper:\n${out}`);
  assert.match(out, /Passed:\s+\S*\d/, 'the child ran the tests');
});

if (JS_PASS) {
  test('(the CLOB_JOURNAL_JS_PASS child runs without the native helper)', () => {
    assert.is(native, undefined);
  });
}

test('SIGKILL mid-run (fsync mode): every seq the child reported committed is recovered; digest = full replay', async () => {
  const dir = tempDir();
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, CLOB_JOURNAL_CRASH_CHILD: dir },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const reported: number[] = [];
  let buffered = '';
  let killed = false;
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
  const stdoutDone = new Promise<void>((res) => child.stdout!.on('end', () => res()));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    buffered += text;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line) reported.push(Number(line));
    // Kill at an arbitrary moment once a few hundred commits (and a few snapshots) are done.
    if (!killed && reported.length >= 300) {
      killed = true;
      setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 20));
    }
  });
  const guard = setTimeout(() => { if (!killed) { killed = true; child.kill('SIGKILL'); } }, 20_000);
  const signal = await exited;
  await stdoutDone;
  clearTimeout(guard);
  assert.is(signal, 'SIGKILL', 'the child was killed, it did not finish');
  assert.ok(reported.length >= 300, `the child reported ${reported.length} commits`);
  for (let i = 1; i < reported.length; i++) assert.ok(reported[i] > reported[i - 1]);

  const opts = streamOptions(CRASH_SEED, CRASH_COUNT);
  const eo = engineOptions(opts);
  const rec = await recover(dir, eo, { onWarning: () => {} });
  const maxReported = reported.at(-1)!;
  assert.ok(rec.lastSeq >= maxReported, `recovered up to seq ${rec.lastSeq}; the child reported ${maxReported} committed`);
  // What is on disk is exactly the stream's first lastSeq + 1 records: every reported seq is there.
  const onDisk = readAll(dir).bytes;
  const expected = encodeStream({ ...opts, count: rec.lastSeq + 1 });
  sameBytes(onDisk, expected, 'journal = the stream\'s prefix');
  assert.is(rec.digest, fullReplayDigest(dir, eo), 'recovered digest = full replay of what is on disk');
  assert.ok(rec.snapshot, 'the child wrote snapshots, recovery used one');
  assert.is(rec.verification, 'full-replay');
  assert.ok(readdirSync(dir).length > 0);
});

/** The crash child: commits random-size batches of the stream in 'fsync' mode, prints each committed last seq, snapshots now and then. */
async function crashChild(dir: string): Promise<void> {
  const opts = streamOptions(CRASH_SEED, CRASH_COUNT);
  const engine = new Engine(engineOptions(opts));
  const journal = await Journal.open(dir, { mode: 'fsync', segmentBytes: 64 * 1024 });
  const r = rng(11);
  const batch = new Uint8Array(64 * L.CMD_SIZE);
  const view = new DataView(batch.buffer);
  const gen = randomStream(opts);
  let n = 0;
  let commits = 0;
  let done = false;
  while (!done) {
    const size = 1 + r(64);
    n = 0;
    for (; n < size; n++) {
      const next = gen.next();
      if (next.done) { done = true; break; }
      writeCommand(view, n * L.CMD_SIZE, next.value);
    }
    if (n === 0) break;
    journal.append(batch, n);
    const { lastSeq } = await journal.commit();
    process.stdout.write(`${lastSeq}\n`); // synchronous for pipes on Linux: reported => written to the pipe
    runRecords(engine, batch, 0, n);
    if (++commits % 50 === 0) await writeSnapshot(dir, engine, lastSeq);
  }
  await journal.close();
}

const WRITE_SEED = 12;
const WRITE_COUNT = 5000;
/** Without a helper, CLOB_NATIVE=0 or CLOB_NATIVE_OPTIONAL=1 (a machine that cannot build it) must say so. */
const nativeOptional = process.env.CLOB_NATIVE === '0' || process.env.CLOB_NATIVE_OPTIONAL === '1';

/** Writes the WRITE_SEED stream in random commits over small segments (the write child, and its comparison in the parent). */
async function writeChild(dir: string): Promise<void> {
  const records = encodeStream(streamOptions(WRITE_SEED, WRITE_COUNT));
  const journal = await Journal.open(dir, { mode: 'none', segmentBytes: SEGMENT_HEADER_SIZE + 700 * FRAME_SIZE });
  await writeBatches(journal, records, 0, WRITE_COUNT, 300, 5);
  await journal.close();
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CHILD_DIR = process.env.CLOB_JOURNAL_CRASH_CHILD;
const WRITE_CHILD_DIR = process.env.CLOB_JOURNAL_WRITE_CHILD;
if (CHILD_DIR) await crashChild(CHILD_DIR);
else if (WRITE_CHILD_DIR) {
  await writeChild(WRITE_CHILD_DIR);
  process.stdout.write(`native: ${native ? 'yes' : 'no'}\n`);
} else test.run();

// Determinism: the same stream gives the same events and digest, run twice, on every build, and
// across a snapshot/restore in the middle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine.js';
import { CoreBuild } from '../src/core.js';
import { RawCommand, RawEvent } from '../src/records.js';
import { randomStream } from './support/random-stream.js';
import { SMALL_LIMITS } from './support/engine-runner.js';

const stream = (seed: number, count: number): RawCommand[] => [...randomStream({ seed, count, symbols: 3, depth: 'deep' })];

function run(build: CoreBuild, commands: RawCommand[]): { events: RawEvent[]; digest: bigint } {
  const engine = new Engine({ ...SMALL_LIMITS, build });
  const events = engine.runRaw(commands);
  return { events, digest: engine.digest() };
}

test('same stream twice: same events, same digest', () => {
  const commands = stream(11, 100_000);
  const a = run('release', commands);
  const b = run('release', commands);
  assert.ok(a.events.length > 100_000);
  assert.equal(a.events, b.events);
  assert.is(a.digest, b.digest);
});

test('release, scalar and debug builds agree event for event', () => {
  const commands = stream(12, 100_000);
  const release = run('release', commands);
  for (const build of ['scalar', 'debug'] as const) {
    const other = run(build, commands);
    assert.is(other.events.length, release.events.length, `${build}: event count`);
    for (let i = 0; i < release.events.length; i++) {
      if (other.events[i].seq !== release.events[i].seq || other.events[i].type !== release.events[i].type) {
        assert.equal(other.events[i], release.events[i], `${build}: event #${i}`);
      }
    }
    assert.equal(other.events, release.events, `${build}: events`);
    assert.is(other.digest, release.digest, `${build}: digest`);
  }
});

test('snapshot, restore and continue gives the uninterrupted digest', () => {
  const commands = stream(13, 120_000);
  const whole = run('release', commands);
  for (const build of ['release', 'scalar'] as const) {
    const first = new Engine({ ...SMALL_LIMITS, build });
    const before = first.runRaw(commands.slice(0, 70_000));
    const restored = Engine.restore(first.snapshot(), { build });
    assert.is(restored.digest(), first.digest());
    const after = restored.runRaw(commands.slice(70_000));
    assert.equal([...before, ...after], whole.events, `${build}: events across the restore`);
    assert.is(restored.digest(), whole.digest, `${build}: final digest`);
  }
});

test('a different stream gives a different digest', () => {
  assert.is.not(run('release', stream(14, 20_000)).digest, run('release', stream(15, 20_000)).digest);
});

test.run();

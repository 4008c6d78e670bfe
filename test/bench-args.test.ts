// bench/args.ts: the bench scripts' flags. Valid values parse (suffixes, lists, choices); a
// misspelt flag, a missing value or a bad value stops the script with a message naming it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { benchArgs } from '../bench/args.js';
import { integer } from '../src/cli-args.js';

test('values: integers with suffixes, numbers, lists, choices, switches, fallbacks', () => {
  const a = benchArgs('t', ['--count', '--seconds', '--batches', '--io', '--json'], ['--no-pin'],
    ['--count', '2M', '--seconds', '0.5', '--batches', '64,1_024', '--io', 'uring', '--no-pin']);
  assert.is(a.int('--count', 1), 2_000_000);
  assert.is(a.num('--seconds', 3), 0.5);
  assert.equal(a.list('--batches', '8', integer('--batches', 1, 1 << 20)), [64, 1024]);
  assert.equal(a.list('--batches', '8'), ['64', '1_024'], 'items as text without a parser');
  assert.equal(a.choices('--io', 'net,uring', ['net', 'uring']), ['uring']);
  assert.ok(a.flag('--no-pin'));
  assert.is(a.optional('--json'), undefined);
  assert.is(a.int('--runs', 5), 5, 'a flag not given: the fallback');
});

function runScript(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/reclaim.ts', ...args], { encoding: 'utf8' });
}

test('a misspelt flag, a missing value and a bad value exit 2 naming the problem, before any work', () => {
  const misspelt = runScript(['--run', '3']);
  assert.is(misspelt.status, 2);
  assert.match(misspelt.stderr, /unknown argument '--run'/);
  assert.match(misspelt.stderr, /--runs <value>/, 'the flags it takes are listed');
  const missing = runScript(['--count']);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /--count needs a value/);
  const bad = runScript(['--batches', '64,x']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--batches must be an integer from 1 to \d+ .*got 'x'/);
  assert.not.match(misspelt.stdout + missing.stdout + bad.stdout, /command:/, 'nothing ran');
});

test.run();

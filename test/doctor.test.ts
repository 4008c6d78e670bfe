// `clob doctor`: every part it checks gets a line, and the lines agree with what the process can do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { doctor } from '../src/doctor.js';
import { CORE_BUILDS } from '../src/core.js';
import { native } from '../src/native.js';

function report(): Map<string, string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    doctor();
  } finally {
    console.log = log;
  }
  const byKey = new Map<string, string>();
  for (const l of lines) byKey.set(l.slice(0, 18).trim(), l.slice(19));
  return byKey;
}

test('doctor: the Wasm builds, the native helper, and the I/O path clob start --io auto takes', () => {
  const r = report();
  assert.match(r.get('node')!, process.version);
  for (const build of CORE_BUILDS) assert.is(r.get(`wasm ${build}`), 'ok', `wasm ${build}`);
  if (!native) {
    assert.match(r.get('native helper')!, /^not loaded: /);
    assert.is(r.get('io_uring'), undefined);
    return;
  }
  assert.is(r.get('native helper'), 'loaded');
  assert.match(r.get('this thread')!, /^CPU \d+, affinity \[[\d,]+\]$/);
  const probe = native.uringProbe();
  assert.is(r.get('io_uring')!.startsWith('ok:'), probe === undefined, `io_uring line: ${r.get('io_uring')}`);
  assert.match(r.get('network irqs')!, /^\d+ found$/);
});

test.run();

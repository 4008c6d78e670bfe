// The README's library examples run as written (against the built package, imported as 'clob').
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, rmSync, existsSync, realpathSync, accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

const blocks = [...readFileSync('README.md', 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

function runExample(source: string): string {
  const file = `readme-example-${process.pid}.tmp.mjs`; // in the repo root, so 'clob' resolves to this package
  writeFileSync(file, source);
  try {
    // uvu forces colours on; the example's console.log output is compared as plain text.
    const { FORCE_COLOR: _, ...env } = process.env;
    return execFileSync(process.execPath, [file], { encoding: 'utf8', env: { ...env, NO_COLOR: '1' } });
  } finally {
    rmSync(file);
  }
}

test('the README has the library examples', () => {
  assert.ok(blocks.length >= 2, `found ${blocks.length} ts blocks`);
  assert.ok(existsSync('dist/src/index.js'), 'dist/ is built by npm install (prepare)');
});

test('npx clob runs this checkout: npm install linked node_modules/.bin/clob to the built, executable CLI', () => {
  assert.is(realpathSync('node_modules/.bin/clob'), realpathSync(resolve('dist/src/cli.js')));
  accessSync('node_modules/.bin/clob', constants.X_OK);
  const help = execFileSync('node_modules/.bin/clob', ['--help'], { encoding: 'utf8' });
  assert.match(help, /Usage: clob/);
  assert.match(help, /start/);
});

test('the quick library example prints the trades, the book, the order and a matching restored digest', () => {
  const out = runExample(blocks[0]);
  assert.match(out, /makerId: 2,[\s\S]*price: 10000,[\s\S]*quantity: 5/);
  assert.match(out, /makerId: 1,[\s\S]*price: 10100,[\s\S]*quantity: 2/);
  assert.match(out, /asks: \[ \{ price: 10100, quantity: 3, orders: 1 \} \]/);
  assert.match(out, /\ntrue\n$/);
});

test('the batch example prints its trade', () => {
  assert.is(runExample(blocks[1]).trim(), 'trade 3 @ 10000');
});

test.run();

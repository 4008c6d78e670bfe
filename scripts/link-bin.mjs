// After `npm install` / `npm ci` in this repository (postprepare: the TypeScript is built), links
// node_modules/.bin/clob to the built CLI, so that `npx clob ...` here runs this checkout at once.
// Without the link, npx does not find a local `clob` and installs the package again into its
// cache (rebuilding the Wasm core and the native helper: over a minute) before running it.
import { chmodSync, existsSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli.js');
const bin = join(root, 'node_modules', '.bin');
const link = join(bin, 'clob');
if (!existsSync(cli)) {
  console.error(`clob: ${cli} is missing (the TypeScript build failed?); npx clob will not run this checkout`);
  process.exit(1);
}
chmodSync(cli, 0o755);
mkdirSync(bin, { recursive: true });
const target = relative(bin, cli);
let current;
try {
  current = readlinkSync(link);
} catch {
  current = undefined;
}
if (current !== target) {
  if (current !== undefined) unlinkSync(link);
  symlinkSync(target, link);
}

// The Wasm modules beside the core (rings.wasm, concurrent.wasm): `npm run build:wasm` builds
// them; a test run on a tree where only the core was built compiles the one it needs first.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function sideModule(name: 'rings' | 'concurrent'): WebAssembly.Module {
  const wasmPath = `${root}/wasm/${name}.wasm`;
  if (!existsSync(wasmPath)) {
    const asc = `${root}/node_modules/assemblyscript/bin/asc.js`;
    execFileSync(process.execPath, [asc, `assembly/${name}.ts`, '--config', `asconfig.${name}.json`], { cwd: root, stdio: 'inherit' });
  }
  return new WebAssembly.Module(readFileSync(wasmPath));
}

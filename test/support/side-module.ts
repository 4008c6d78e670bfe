// The Wasm modules beside the core (rings.wasm, concurrent.wasm): `npm run build:wasm` builds
// them; a test run on a tree where only the core was built compiles the one it needs first.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function sideModule(name: 'rings' | 'concurrent'): WebAssembly.Module {
  const wasmPath = `${root}/wasm/${name}.wasm`;
  if (!existsSync(wasmPath)) {
    const asc = `${root}/node_modules/assemblyscript/bin/asc.js`;
    execFileSync(process.execPath, [asc, `assembly/${name}.ts`, '--config', `asconfig.${name}.json`], { cwd: root, stdio: 'inherit' });
  }
  return new WebAssembly.Module(readFileSync(wasmPath));
}

/**
 * Instantiates `module` twice on a memory filled with a pattern and checks that nothing changed
 * (no data segments, no statics) and that it imports the memory alone. Returns an error or ''.
 */
export function instantiationWrites(module: WebAssembly.Module, memory: WebAssembly.Memory): string {
  const bytes = new Uint8Array(memory.buffer);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 255;
  const before = bytes.slice();
  for (let k = 0; k < 2; k++) new WebAssembly.Instance(module, { env: { memory } });
  if (Buffer.compare(Buffer.from(before), Buffer.from(bytes)) !== 0) return 'instantiation wrote to the memory';
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`);
  return imports.join() === 'env.memory:memory' ? '' : `imports ${imports.join(', ')}`;
}

const HANG_GUARD_MS = 60_000;

/**
 * Runs one stress worker to its single report ({ ok: true, ... } or { ok: false, error }). Any
 * failure, or no report within a minute, terminates every worker in `live` (so a suite can never
 * hang) and rejects with `label` in the message.
 */
export function runWorker<T>(url: URL, data: Record<string, unknown>, live: Worker[], label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(url, { workerData: data });
    live.push(w);
    let settled = false;
    const finish = (err: Error | null, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      if (err) {
        for (const x of live) void x.terminate();
        reject(err);
      } else resolve(value!);
    };
    const guard = setTimeout(() => finish(new Error(`hang guard: ${label} still running after ${HANG_GUARD_MS / 1000} s`)), HANG_GUARD_MS);
    w.once('message', (m) => (m.ok ? finish(null, m) : finish(new Error(`${label}: ${m.error}`))));
    w.once('error', (e) => finish(e));
    w.once('exit', (code) => finish(new Error(`${label} exited (${code}) before reporting`)));
  });
}

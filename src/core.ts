// Loading the Wasm core. Three builds of the same AssemblyScript source (asconfig.json):
// release (SIMD + threads, shared memory), debug, and scalar (no SIMD, no atomics, plain memory:
// the build a Wasm zkVM could prove). They must agree event for event.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as L from '../assembly/layout.js';

export type CoreBuild = 'release' | 'debug' | 'scalar';
export const CORE_BUILDS: readonly CoreBuild[] = ['release', 'debug', 'scalar'];

/** The core's exports. Addresses and counts are i32; u32 results must be read with `>>> 0`. */
export interface CoreExports {
  layoutVersion(): number;
  arenaSize(maxOrders: number, maxSymbols: number, ladderTicks: number): number;
  indexCapacityBits(maxOrders: number): number;
  init(arena: number, maxOrders: number, maxSymbols: number, ladderTicks: number, zeroed: number): number;
  arenaBytes(arena: number): number;
  process(arena: number, commands: number, count: number, events: number, capacity: number): number;
  /** Test hook, debug build only: a part of a batch (layout.ts BATCH_PART_*). */
  processPart(arena: number, commands: number, count: number, events: number, capacity: number, part: number): number;
  liveOrders(arena: number): number;
  digest(arena: number, io: number): void;
  depth(arena: number, symbol: number, side: number, levels: number, io: number): number;
  queue(arena: number, symbol: number, side: number, max: number, io: number): number;
  findOrder(arena: number, io: number): number;
  findByHandle(arena: number, io: number): number;
  limboStats(arena: number, io: number): void;
  resetReaders(arena: number): void;
  snapshotExtents(arena: number, out: number): number;
  // Live-book readers (another thread's instance; src/live-book-reader.ts). Negative: layout.ts READ_*.
  readerRegister(arena: number): number;
  readerBatchState(arena: number): number;
  readerUnregister(arena: number, reader: number): number;
  readerEnter(arena: number, reader: number): number;
  readerExit(arena: number, reader: number): number;
  readerProtect(arena: number, reader: number, k: number, slot: number): number;
  readDepth(arena: number, reader: number, symbol: number, side: number, levels: number, io: number): number;
  readQueue(arena: number, reader: number, symbol: number, side: number, max: number, io: number): number;
  readOrder(arena: number, reader: number, io: number): number;
  readerCounters(arena: number, reader: number, io: number): number;
}

const modules = new Map<CoreBuild, WebAssembly.Module>();

/** The folder holding the compiled .wasm files, from src/ (tsx) or dist/src/ (compiled). */
export function wasmDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'wasm'), join(here, '..', '..', 'wasm')]) {
    if (existsSync(join(candidate, 'release.wasm'))) return candidate;
  }
  throw new Error(`clob: the Wasm core is not built (no wasm/release.wasm near ${here}); run \`npm run build:wasm\``);
}

export function coreModule(build: CoreBuild): WebAssembly.Module {
  if (!CORE_BUILDS.includes(build)) throw new TypeError(`build must be one of ${CORE_BUILDS.join(', ')}; got ${String(build)}`);
  let module = modules.get(build);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(join(wasmDir(), `${build}.wasm`)));
    modules.set(build, module);
  }
  return module;
}

/** Whether a build wants shared memory (release and debug do; scalar does not). */
export function usesSharedMemory(build: CoreBuild): boolean {
  return build !== 'scalar';
}

/** The largest memory the builds declare, in 64 KiB pages (asconfig.json maximumMemory). */
export const MAX_PAGES = 65536;
export const WASM_PAGE = 65536;
/** The pages the builds start with (asconfig.json initialMemory). */
const MIN_PAGES = 2;
/** The core reserves the first page (asconfig.json memoryBase): host regions start after it. */
export const FIRST_HOST_BYTE = WASM_PAGE;
/** Host regions start on 64-byte boundaries (a cache line; every record size divides it). */
export const alignRegion = (n: number): number => Math.ceil(n / 64) * 64;
/** Rows a query (depth, queue) returns at most, and the scratch region that holds them. */
export const QUERY_ROWS = 4096;
export const QUERY_SCRATCH_BYTES = QUERY_ROWS * Math.max(L.QUEUE_ROW_SIZE, L.DEPTH_ROW_SIZE, L.ORDER_ROW_SIZE);

/** The arena's size for these limits, asked of the core itself (0: they need more than 4 GiB). */
export function arenaBytesFor(build: CoreBuild, maxOrders: number, maxSymbols: number, ladderTicks: number): number {
  const sizing = new WebAssembly.Memory({ initial: MIN_PAGES, maximum: MIN_PAGES, shared: usesSharedMemory(build) } as WebAssembly.MemoryDescriptor);
  return instantiateCore(build, sizing).arenaSize(maxOrders, maxSymbols, ladderTicks) >>> 0;
}

export function instantiateCore(build: CoreBuild, memory: WebAssembly.Memory): CoreExports {
  const instance = new WebAssembly.Instance(coreModule(build), { env: { memory } });
  const core = instance.exports as unknown as CoreExports;
  if (core.layoutVersion() !== L.LAYOUT_VERSION) {
    throw new Error(`clob: wasm/${build}.wasm has layout version ${core.layoutVersion()}, the library ${L.LAYOUT_VERSION}; rebuild with \`npm run build:wasm\``);
  }
  return core;
}

// The optional native helper (native/*.cc, built by `npm install` into build/Release) and the IRQ
// affinity planner. Importing this module never throws: where the addon cannot load, `native` is
// undefined and `nativeLoadError` says why, and the engine runs unpinned. See docs/NATIVE.md.
//
// The IRQ functions are plain TypeScript over /proc and work with or without the addon: nothing in
// them needs C++.
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Types of what the addon returns

export interface CpuInfo {
  /** Logical CPU number, as sched_setaffinity and /proc count them. */
  cpu: number;
  /** topology/core_id: unique only within a package; -1 if the kernel does not say. */
  core: number;
  /** topology/physical_package_id (socket); -1 if unknown. */
  package: number;
  /** NUMA node holding this CPU; -1 if no node lists it. */
  node: number;
  /** topology/thread_siblings_list: the logical CPUs sharing this CPU's core (itself included). */
  siblings: number[];
}

export interface CacheInfo {
  level: number;
  /** 'Data' | 'Instruction' | 'Unified' */
  type: string;
  sizeBytes: number;
  /** Coherency line size; -1 if unknown. */
  lineBytes: number;
  /** Associativity; -1 if unknown. */
  ways: number;
  /** CPUs sharing this cache (sysfs only; [] when the source is sysconf). */
  sharedCpus: number[];
  /** 'sysfs' (cpuN/cache/index*) or 'sysconf' (glibc, from CPUID) when sysfs has no cache dir. */
  source: 'sysfs' | 'sysconf';
}

export interface Topology {
  onlineCpus: number[];
  cpus: CpuInfo[];
  numaNodes: number;
  nodes: { node: number; cpus: number[] }[];
  /** Caches as seen from the first online CPU. */
  caches: CacheInfo[];
  /** True if any core runs more than one hardware thread. */
  smt: boolean;
}

export type MemoryPolicyMode = 'bind' | 'preferred' | 'interleave' | 'default';

export interface BindMemoryOptions {
  /** mbind mode; default 'bind'. 'default' removes the range's policy. */
  mode?: MemoryPolicyMode;
  /** Call mbind even on a single-node machine (used by the tests to exercise the syscall). */
  force?: boolean;
  /** MPOL_MF_MOVE: migrate pages already touched; default true. */
  move?: boolean;
}

export type BindMemoryResult =
  | {
      applied: true;
      node: number;
      mode: MemoryPolicyMode;
      moved: boolean;
      /** The range rounded outwards to whole pages, as passed to mbind. */
      alignedBytes: number;
      pages: number;
      /** get_mempolicy read back the requested mode and node for the first page. */
      verified: boolean;
    }
  | { applied: false; reason: string; errno?: number };

export interface TscCalibration {
  /** 'rdtsc' on x86_64; 'clock_gettime' elsewhere (then tscNow() is monotonicNs()). */
  source: 'rdtsc' | 'clock_gettime';
  ticksPerNs: number;
  /** Rate of the second half of the interval minus the first, in parts per million of the rate. */
  driftPpm: number;
  /** Bound on the rate's error from the read windows around clock_gettime, in ppm. */
  uncertaintyPpm: number;
  /** Length of the calibration interval, ns of CLOCK_MONOTONIC. */
  intervalNs: number;
  /** CLOCK_MONOTONIC time of the anchor that tscNow() counts from. */
  anchorNs: number;
  /** CPUID 0x80000007 EDX[8]: constant-rate TSC through P- and C-states. */
  invariantTsc: boolean;
  /** /sys/devices/system/clocksource/clocksource0/current_clocksource, for context. */
  kernelClocksource: string;
}

/** The completion table of UringServer: ENTRY_INTS int32 per entry, fields and kinds (native/uring_server.cc is their one definition). */
export interface UringLayout {
  readonly ENTRY_INTS: number;
  readonly KIND: number;
  readonly CONN: number;
  readonly A: number;
  readonly B: number;
  /** CONN: a new connection. */
  readonly ACCEPT: number;
  /** CONN; A: byte offset of the bytes in the region; B: their length. Valid only during the callback. */
  readonly DATA: number;
  /** CONN; A: errno (0: orderly close). The id is free from here on. */
  readonly CLOSED: number;
  /** The listener and every connection are closed and the ring is released. */
  readonly SERVER_CLOSED: number;
  /** A: errno of a failed accept; B: 1 when refused for the connection limit. */
  readonly ACCEPT_ERROR: number;
}

export interface UringServerOptions {
  host: string;
  port: number;
  backlog?: number;
  /** Receive slots: region.byteLength / slotBytes must be a power of two (1..32768). A view of shared memory. */
  region: Uint8Array;
  slotBytes: number;
  /** The completion table the server fills before each onCompletions call. */
  completions: Int32Array;
  /** Called once per batch of completions with the number of entries in the table. */
  onCompletions(count: number): void;
  /** Default 4096, at most 65536. */
  maxConnections?: number;
  /** Submission queue size; default 256. */
  sqEntries?: number;
}

export interface UringServerStats {
  connections: number; accepted: number; refused: number; recvs: number; bytesIn: number; sends: number; shortSends: number;
  bytesOut: number; noBuffers: number; enters: number; deliveries: number; slots: number; slotBytes: number;
}

/** native/uring_server.cc (docs/NATIVE.md). The constructor throws an Error with `stage` 'uring' (io_uring unusable) or 'socket' (bind/listen; `code` e.g. EADDRINUSE). */
export interface UringServer {
  readonly port: number;
  readonly stats: UringServerStats;
  /** Copies bytes[0, length) to send; returns the bytes waiting to be sent on the connection, or -1 if it is not open. */
  send(conn: number, bytes: Uint8Array, length: number): number;
  /** One io_uring_enter for every send prepared since the last. */
  submit(): void;
  buffered(conn: number): number;
  /** Send what is queued, then FIN; CLOSED follows once the peer closed its side. */
  end(conn: number): void;
  /** Close now, dropping unsent bytes; CLOSED follows. */
  destroy(conn: number): void;
  pause(conn: number): void;
  resume(conn: number): void;
  /** "ip:port" of the peer. */
  remote(conn: number): string;
  /** Stop accepting; SERVER_CLOSED follows once every connection closed. */
  close(): void;
}

/** What echoClient's promise resolves with: messages written, replies read, replies that were not the bytes sent. */
export interface EchoResult { sent: number; returned: number; mismatched: number }

export interface EchoClientOptions {
  /** Unrecorded ping-pong round trips first (default 0). */
  warmup?: number;
  /** 0 (default): ping-pong, out[i] = round trip of message i. r > 0: open loop at r messages/s, out[i] = reply time - planned send time. */
  rate?: number;
  /** A reply not arriving within this rejects the promise (default 10000). */
  timeoutMs?: number;
  /** Open loop: also reply time - the time each message was written, ns (as long as out). */
  fromSend?: Float64Array;
}

export interface NativeAddon {
  /** Bumped whenever the C++ exports change; a stale build is refused. */
  readonly abiVersion: number;
  topology(): Topology;
  /** CPUs the calling thread may run on. */
  getAffinity(): number[];
  /** Pins the calling thread (only it) to `cpus`; returns the set read back from the kernel. Throws on EINVAL/EPERM. */
  setAffinity(cpus: number[]): number[];
  /** sched_getcpu(): the CPU the calling thread is on right now. */
  currentCpu(): number;
  /** gettid(): the kernel thread id of the calling thread. */
  threadId(): number;
  /** NUMA policy for the pages under `view`; results, not exceptions, for every system outcome. */
  bindMemory(view: ArrayBufferView, node: number, options?: BindMemoryOptions): BindMemoryResult;
  /** Calibrates rdtsc against CLOCK_MONOTONIC over about `ms` (default 100, clamped to 2..10000); blocks the calling thread. */
  tscCalibrate(ms?: number): TscCalibration;
  /** The calibration in force, or undefined before the first. */
  tscCalibration(): TscCalibration | undefined;
  /** Nanoseconds on the CLOCK_MONOTONIC timeline from rdtsc, as a double (first call calibrates for 20 ms). */
  tscNow(): number;
  /** clock_gettime(CLOCK_MONOTONIC) in nanoseconds, as a double. */
  monotonicNs(): number;
  /** Whether UringServer can work in this process: undefined if so, else why not (sets up and drops a tiny ring). */
  uringProbe(): string | undefined;
  /** A TCP server on io_uring (native/uring_server.cc). */
  UringServer: new (options: UringServerOptions) => UringServer;
  readonly uringLayout: UringLayout;
  /** A blocking C TCP echo (48-byte messages, TCP_NODELAY) on 127.0.0.1, on its own thread; returns its port. */
  echoServerStart(): number;
  /** Stops the echo server on `port` and joins its thread; false if there is none. */
  echoServerStop(port: number): boolean;
  /** A blocking C client on a libuv pool thread: out.length 48-byte messages to 127.0.0.1:port, a latency in ns per message into `out`. Do not touch `out` until the promise settles. */
  echoClient(port: number, out: Float64Array, options?: EchoClientOptions): Promise<EchoResult>;
  /** For each whole frame of `frameSize` bytes: its first 4 bytes := CRC-32 (zlib's, little-endian) of its bytes [4, frameSize). Returns the frame count (native/crc32.cc). */
  crc32Frames(bytes: Uint8Array, frameSize: number): number;
  /** The same CRCs compared with the stored ones: the index of the first whole frame whose first 4 bytes differ from its CRC, or -1 (native/crc32.cc). */
  crc32FramesVerify(bytes: Uint8Array, frameSize: number): number;
}

const ABI_VERSION = 5;

// ---------------------------------------------------------------------------------------------
// Loading

function load(): { addon?: NativeAddon; error?: string } {
  if (process.env.CLOB_NATIVE === '0') return { error: 'disabled by CLOB_NATIVE=0' };
  if (process.platform !== 'linux') {
    return { error: `the native helper is Linux only (this is ${process.platform})` };
  }
  const require = createRequire(import.meta.url);
  // src/native.ts runs from src/ (tsx) or dist/src/ (compiled): the build dir is one or two up.
  const candidates = process.env.CLOB_NATIVE_PATH
    ? [process.env.CLOB_NATIVE_PATH]
    : ['../build/Release/clob_native.node', '../../build/Release/clob_native.node'].map((p) =>
        fileURLToPath(new URL(p, import.meta.url)),
      );
  const errors: string[] = [];
  for (const path of candidates) {
    try {
      const addon = require(path) as NativeAddon;
      if (addon.abiVersion !== ABI_VERSION) {
        errors.push(`${path}: built for ABI ${addon.abiVersion}, expected ${ABI_VERSION} (stale build: run npm run build:native)`);
        continue;
      }
      return { addon };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      errors.push(err.code === 'MODULE_NOT_FOUND' ? `${path}: not built` : `${path}: ${err.message}`);
    }
  }
  return {
    error: `clob native helper not loaded (${errors.join('; ')}). Build it with \`npm run build:native\` (needs g++, make, python3); clob runs without pinning, NUMA binding and the TSC clock.`,
  };
}

const loaded = load();

/** The addon, or undefined where it could not load (see nativeLoadError). */
export const native: NativeAddon | undefined = loaded.addon;
/** Why `native` is undefined; undefined when it loaded. */
export const nativeLoadError: string | undefined = loaded.error;

// ---------------------------------------------------------------------------------------------
// IRQ affinity: list network interrupts, plan moving them off the matcher cores, apply only when
// asked, restore what was there. Reads /proc/interrupts and /proc/irq/N/*; writes only
// /proc/irq/N/smp_affinity_list, and only in applyIrqPlan/restoreIrqPlan.

export interface IrqOptions {
  /** Root of procfs; default '/proc'. */
  procRoot?: string;
  /** Root of sysfs; default '/sys'. */
  sysRoot?: string;
}

export interface NetworkIrq {
  irq: number;
  /** The action name, e.g. 'eth0-TxRx-3', 'mlx5_comp2@pci:0000:3b:00.0', 'virtio2-input.0'. */
  name: string;
  /** /proc/irq/N/smp_affinity_list: where the IRQ may be delivered. */
  cpus: number[];
  /** /proc/irq/N/effective_affinity_list where the kernel has one: where it is delivered. */
  effectiveCpus: number[] | undefined;
  /** /proc/irq/N/node: the device's NUMA node, -1 if none. */
  node: number;
  /** Per-CPU counts from /proc/interrupts, indexed by the header's CPU columns. */
  counts: number[];
}

/** Names of network interrupts: NIC drivers' queue vectors and virtio-net's input/output queues. */
const NETWORK_IRQ_PATTERNS: RegExp[] = [
  /^(eth\d|ens\d|enp\d|eno\d|enx[0-9a-f]|em\d|p\d+p\d|wlan\d|wlp\d|ib\d)/,
  /^(mlx4|mlx5|ixgbe|i40e|iavf|ice|igb|igc|e1000e?|bnxt|ena|gve|hns3?|qede|nfp|sfc|efx|cxgb4?|vmxnet3|hv_netvsc|enic|tg3|r8169|virtio_net)\b/,
  /mlx5_comp|mlx4-|ixgbe|i40e|-TxRx-|-rx-|-tx-/,
];
const VIRTIO_NET_QUEUE = /^virtio(\d+)-(input|output)\.\d+$/;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Kernel cpu list format "0-3,8" -> [0,1,2,3,8]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export function formatCpuList(cpus: number[]): string {
  return [...new Set(cpus)].sort((a, b) => a - b).join(',');
}

function isNetworkIrqName(name: string, sysRoot: string): boolean {
  const v = VIRTIO_NET_QUEUE.exec(name);
  if (v) {
    // virtio-rng's queue is also called "input": where sysfs says which driver owns virtioN, trust it.
    try {
      return basename(readlinkSync(`${sysRoot}/bus/virtio/devices/virtio${v[1]}/driver`)) === 'virtio_net';
    } catch {
      return true; // sysfs not readable: trust the name (it has the ".N" queue suffix virtio-net uses)
    }
  }
  return NETWORK_IRQ_PATTERNS.some((re) => re.test(name));
}

const IRQ_DIR_FILES = new Set([
  'smp_affinity',
  'smp_affinity_list',
  'effective_affinity',
  'effective_affinity_list',
  'affinity_hint',
  'node',
  'spurious',
]);

/** Network interrupts on this machine, from /proc/interrupts and /proc/irq/N/. */
export function listNetworkIrqs(options: IrqOptions = {}): NetworkIrq[] {
  const proc = options.procRoot ?? '/proc';
  const sys = options.sysRoot ?? '/sys';
  const text = readText(`${proc}/interrupts`);
  if (text === undefined) return [];
  const lines = text.split('\n');
  const ncpu = (lines[0] ?? '').trim().split(/\s+/).filter((c) => /^CPU\d+$/.test(c)).length;
  const out: NetworkIrq[] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (!m) continue; // NMI:, LOC:, ... are not device interrupts
    const irq = Number(m[1]);
    const fields = m[2]!.trim().split(/\s+/);
    const counts = fields.slice(0, ncpu).map(Number);
    const rest = fields.slice(ncpu);
    // The action names are the entries of /proc/irq/N/ that are not the standard files; fall back
    // to /proc/interrupts' last column ("chip hwirq-type name[, name]") where that dir is unreadable.
    let names: string[];
    try {
      names = readdirSync(`${proc}/irq/${irq}`).filter((f) => !IRQ_DIR_FILES.has(f));
    } catch {
      names = [];
    }
    if (names.length === 0 && rest.length > 0) {
      names = (rest.length >= 3 ? rest.slice(2) : rest.slice(-1)).join(' ').split(/,\s*/);
    }
    const name = names.find((n) => isNetworkIrqName(n, sys));
    if (name === undefined) continue;
    const cpus = parseCpuList(readText(`${proc}/irq/${irq}/smp_affinity_list`) ?? '');
    const eff = readText(`${proc}/irq/${irq}/effective_affinity_list`);
    const node = Number(readText(`${proc}/irq/${irq}/node`) ?? '-1');
    out.push({
      irq,
      name,
      cpus,
      effectiveCpus: eff === undefined ? undefined : parseCpuList(eff),
      node: Number.isFinite(node) ? node : -1,
      counts,
    });
  }
  return out;
}

export interface IrqPlanEntry {
  irq: number;
  name: string;
  from: number[];
  to: number[];
  /** False where `to` equals `from` (already off the matchers, or nowhere else to go). */
  change: boolean;
}

export interface IrqPlan {
  matcherCpus: number[];
  onlineCpus: number[];
  /** Online CPUs that are not matchers: where network interrupts should go. */
  housekeepingCpus: number[];
  /** False when every online CPU is a matcher: then the plan leaves every IRQ where it is. */
  canKeepOff: boolean;
  entries: IrqPlanEntry[];
  /** One line on what the plan does, for printing. */
  summary: string;
}

export interface PlanIrqOptions extends IrqOptions {
  /** The IRQs to plan for; default listNetworkIrqs(options). */
  irqs?: NetworkIrq[];
  /** Online CPUs; default from the addon's topology, else /sys, else os.availableParallelism(). */
  onlineCpus?: number[];
  /** CPU -> NUMA node, to keep an IRQ on its device's node where possible; default from the addon. */
  nodeOfCpu?: Map<number, number>;
}

function defaultOnlineCpus(sysRoot: string): number[] {
  if (native) return native.topology().onlineCpus;
  const text = readText(`${sysRoot}/devices/system/cpu/online`);
  if (text) return parseCpuList(text);
  return [];
}

/**
 * A plan that moves network interrupts off `matcherCpus`: each IRQ goes to the housekeeping CPUs
 * (online, not matchers) on its device's NUMA node if there are any, else to all housekeeping CPUs.
 * Pure: reads, never writes.
 */
export function planIrqAffinity(matcherCpus: number[], options: PlanIrqOptions = {}): IrqPlan {
  const sys = options.sysRoot ?? '/sys';
  const irqs = options.irqs ?? listNetworkIrqs(options);
  const online = options.onlineCpus ?? defaultOnlineCpus(sys);
  let nodeOfCpu = options.nodeOfCpu;
  if (!nodeOfCpu && native) {
    nodeOfCpu = new Map(native.topology().cpus.map((c) => [c.cpu, c.node]));
  }
  const matchers = new Set(matcherCpus);
  const housekeeping = online.filter((c) => !matchers.has(c));
  const canKeepOff = housekeeping.length > 0;
  const entries: IrqPlanEntry[] = irqs.map((irq) => {
    let to = irq.cpus;
    if (canKeepOff) {
      const local = nodeOfCpu && irq.node >= 0 ? housekeeping.filter((c) => nodeOfCpu!.get(c) === irq.node) : [];
      to = local.length > 0 ? local : housekeeping;
    }
    const change = formatCpuList(to) !== formatCpuList(irq.cpus);
    return { irq: irq.irq, name: irq.name, from: irq.cpus, to, change };
  });
  const moving = entries.filter((e) => e.change).length;
  const summary = !canKeepOff
    ? `every online CPU (${formatCpuList(online)}) is a matcher core: network IRQs cannot be kept off them and are left where they are (${irqs.length} IRQs)`
    : `${moving} of ${irqs.length} network IRQs move to CPUs ${formatCpuList(housekeeping)}, off matcher CPUs ${formatCpuList(matcherCpus)}`;
  return {
    matcherCpus: [...matcherCpus],
    onlineCpus: online,
    housekeepingCpus: housekeeping,
    canKeepOff,
    entries,
    summary,
  };
}

/** The plan as lines for a terminal. */
export function formatIrqPlan(plan: IrqPlan): string {
  const lines = [plan.summary];
  for (const e of plan.entries) {
    lines.push(`  irq ${e.irq} ${e.name}: ${formatCpuList(e.from)} -> ${formatCpuList(e.to)}${e.change ? '' : ' (unchanged)'}`);
  }
  return lines.join('\n');
}

export interface IrqSaved {
  entries: { irq: number; cpus: number[] }[];
}

export interface IrqWriteResult {
  irq: number;
  ok: boolean;
  /** e.g. EIO for a kernel-managed IRQ whose affinity cannot be set, EACCES when not root. */
  error?: string;
}

function writeAffinity(proc: string, irq: number, cpus: number[]): IrqWriteResult {
  try {
    writeFileSync(`${proc}/irq/${irq}/smp_affinity_list`, formatCpuList(cpus) + '\n');
    return { irq, ok: true };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { irq, ok: false, error: err.code ?? err.message };
  }
}

/**
 * Writes the plan's changed entries to /proc/irq/N/smp_affinity_list (needs root). Returns what was
 * there before, for restoreIrqPlan, and a result per write; failures are values, not exceptions.
 */
export function applyIrqPlan(plan: IrqPlan, options: IrqOptions = {}): { saved: IrqSaved; results: IrqWriteResult[] } {
  const proc = options.procRoot ?? '/proc';
  const saved: IrqSaved = { entries: [] };
  const results: IrqWriteResult[] = [];
  for (const e of plan.entries) {
    if (!e.change) continue;
    const before = readText(`${proc}/irq/${e.irq}/smp_affinity_list`);
    const result = writeAffinity(proc, e.irq, e.to);
    if (result.ok) saved.entries.push({ irq: e.irq, cpus: before === undefined ? e.from : parseCpuList(before) });
    results.push(result);
  }
  return { saved, results };
}

/** Puts back what applyIrqPlan saved. */
export function restoreIrqPlan(saved: IrqSaved, options: IrqOptions = {}): IrqWriteResult[] {
  const proc = options.procRoot ?? '/proc';
  return saved.entries.map((e) => writeAffinity(proc, e.irq, e.cpus));
}

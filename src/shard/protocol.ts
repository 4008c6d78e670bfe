// What the sharded engine's host (sharded-engine.ts) and its matching workers (matcher-worker.ts)
// agree on: the in-band control record, the event-ring padding record, the per-shard shared
// counters, and the messages of the control plane (comlink). One definition, read by both sides.
import type { SymbolSpec } from '../engine.js';
import type { CoreBuild } from '../core.js';

/**
 * Control record (a barrier) in an inbound ring: type byte CTL_TYPE and the u16 at bytes 6..7
 * (padding the core never reads) equal to CTL_MAGIC; the op id is the i32 at CMD_ORDER_ID.
 * The router scrubs the magic from any user record that happens to carry it, so a user record is
 * never taken for a barrier (the core ignores bytes 6..7, so scrubbing changes no outcome).
 */
export const CTL_TYPE = 0xf0;
export const CTL_MAGIC = 0xc7b1;
export const CTL_MAGIC_AT = 6;

/**
 * Padding in an outbound (event) ring: when the slots left before the ring's wrap cannot hold the
 * worst case of the next command, the matcher fills them with records of type 0 (no event has
 * type 0) and writes their number into the last one's u32 at EVT_AUX32. The host skips them.
 */
export const PAD_TYPE = 0;

/** Per-shard shared counters (i32 words from the shard's `counters` offset), one line. */
export const CNT_DONE = 0; //     inbound slots (commands and barriers) fully handled, mod 2^32; written after their events are published
export const CNT_STATE = 1; //    STATE_*
export const CNT_BYTES = 64;
export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_DRAINED = 2; // the inbound ring was closed and drained, the outbound ring closed

/** Where one shard's regions are in the shared memory (byte offsets, 64-byte aligned). */
export interface ShardRegions {
  shard: number;
  /** The core's arena (books, pools, index) of this shard. */
  arena: number;
  arenaBytes: number;
  /** Inbound SPSC ring: router (caller thread) -> matcher; 64-byte command records. */
  inbound: number;
  inboundSlots: number;
  /** Outbound SPSC ring: matcher -> host; 64-byte event records. */
  outbound: number;
  outboundSlots: number;
  /** Query rows, the digest, and one command slot for control-plane commands. */
  scratch: number;
  scratchBytes: number;
  /** CNT_* words. */
  counters: number;
}

export interface MatcherData {
  memory: WebAssembly.Memory;
  regions: ShardRegions;
  shards: number;
  build: CoreBuild;
  maxOrders: number;
  maxSymbols: number;
  ladderTicks: number;
  /** Symbols this shard owns at start (added before traffic, events not published). */
  symbols: SymbolSpec[];
  /** CPU to pin to, or -1. */
  cpu: number;
  /** Empty polls before the matcher sleeps (Atomics.waitAsync, woken by the router's publish). */
  spins: number;
}

/** A control-plane operation, run by a matcher when it reaches the matching barrier. */
export type ControlOp =
  | { op: 'sync' }
  | { op: 'digest' }
  | { op: 'snapshot' }
  | { op: 'add-symbol'; spec: SymbolSpec }
  | { op: 'depth'; symbols: number[]; levels: number };

export interface DepthRow { price: number | bigint; quantity: number | bigint; orders: number }
export interface SymbolDepth { symbol: number; bids: DepthRow[]; asks: DepthRow[] }

/** What a barrier op answers; every answer also says where in the shard's stream it was taken. */
export interface BarrierResult {
  shard: number;
  /** Commands this shard had run before the barrier (barriers not counted). */
  commands: number;
  /** Events this shard had published before the barrier. */
  events: number;
  digest?: bigint;
  /** Engine.snapshot() format: Engine.restore() reads it. */
  snapshot?: Uint8Array;
  /** Raw event records (64 bytes each) of an add-symbol, also published in the event ring. */
  eventRecords?: Uint8Array;
  depth?: SymbolDepth[];
}

export interface MatcherStats {
  shard: number;
  threadId: number;
  /** CPU the matcher pinned itself to, or -1; pinError says why not when pinning was asked. */
  cpu: number;
  pinError?: string;
  /** Where this shard's memory was placed: bound to its matcher's NUMA node, or why not. */
  memoryPolicy: string;
  commands: number;
  events: number;
  /** Core calls (one per contiguous run of ring slots). */
  runs: number;
  barriers: number;
  /** Polls of the inbound ring that found nothing (busy spins). */
  idleSpins: number;
  /** Times the matcher went to sleep on an empty ring (Atomics.waitAsync). */
  sleeps: number;
  /** Times the outbound ring lacked room for the worst case of the next command. */
  outboundFull: number;
  /** Padding records written before an outbound ring's wrap. */
  padding: number;
  /** Times the matcher yielded to its event loop to serve the control plane while busy. */
  yields: number;
  /** Milliseconds inside core.process (the rest of the matcher's time is ring work, waiting and sleeping). */
  coreMs: number;
}

export interface MatcherApi {
  /** Resolves once the arena is initialised, the symbols added and the loop started. */
  ready(): Promise<MatcherStats>;
  /** Registers op `id`; resolves when the matcher reaches the barrier record carrying `id`. */
  control(id: number, op: ControlOp): Promise<BarrierResult>;
  stats(): MatcherStats;
  /** Resolves when the matcher has drained its closed inbound ring and closed its outbound ring. */
  drained(): Promise<MatcherStats>;
  /** Ends the worker (after drained()): its message port closes and the thread exits. */
  exit(): void;
}

// The core's exported entry points. Each binds the arena first (its region bases live in this
// instance's globals), then works on raw memory. i32 arguments only: no BigInt crosses.
import {
  A, bind, indexBits, arenaSize as sizeFor, initArena, arenaValid, formatReaders, H_LIVE_ORDERS, H_EVENTS_WRITTEN, H_SIZE_BYTES,
  H_ORDER_LIMBO_COUNT, H_LEVEL_LIMBO_COUNT, H_FORCED_ORDERS, H_FORCED_LEVELS,
} from './arena';
import {
  CMD_SIZE, EVT_SIZE, EVENTS_PER_TOUCHED_ORDER, EVENTS_PER_COMMAND_BASE, EVENT_CHUNK, LAYOUT_VERSION, BATCH_PART_BEGIN, BATCH_PART_FINISH,
  BATCH_PART_DEBUG_ONLY,
} from './layout';
import { startOutput, outputAt, startCommand } from './events';
import { execute } from './commands';
import { digest as bookDigest } from './digest';
import * as queries from './queries';
import * as live from './livebook';
import { endBatch } from './limbo';
import { beginBatch, finishBatch, batchState } from './batch-gate';
export { snapshotExtents } from './snapshot-extents';

export function layoutVersion(): i32 {
  return LAYOUT_VERSION;
}

/** log2 of the order-id index capacity for this many orders (at most half full). */
export function indexCapacityBits(maxOrders: u32): u32 {
  return indexBits(maxOrders);
}

export function arenaSize(maxOrders: u32, maxSymbols: u32, ladderTicks: u32): u32 {
  return sizeFor(maxOrders, maxSymbols, ladderTicks);
}

export function init(arena: usize, maxOrders: u32, maxSymbols: u32, ladderTicks: u32, zeroed: bool): i32 {
  return initArena(arena, maxOrders, maxSymbols, ladderTicks, zeroed);
}

/** Size in bytes of a valid arena at this address (for snapshots), or 0 if none is there. */
export function arenaBytes(arena: usize): u32 {
  return arenaValid(arena) ? load<u32>(arena, H_SIZE_BYTES) : 0;
}

/**
 * Runs up to `count` command records from `commands`, writing event records at `events`
 * (room for `capacity`). Before each command it makes sure the worst case fits (3 events per
 * resting order plus a constant), and it stops once EVENT_CHUNK events are written; either way
 * it returns how many commands it ran, so the host reads the events and calls again with the
 * rest: one call per chunk, the host offering its whole region. -1: the region cannot hold even
 * one command's worst case. The number of events written is left in the arena header
 * (layout.ts H_EVENTS_WRITTEN), for the host to read without another call.
 */
export function process(arena: usize, commands: usize, count: i32, events: usize, capacity: i32): i32 {
  return run(arena, commands, count, events, capacity, true, true);
}

/**
 * Test hook, debug build only (BATCH_PART_DEBUG_ONLY elsewhere): process() as one part of a batch
 * that spans several calls, `part` a mix of BATCH_PART_BEGIN and BATCH_PART_FINISH. Between the
 * calls the matcher is stopped inside the batch, so a test can do there, deterministically, what
 * a reader thread could do at that moment (test/live-book.test.ts).
 */
export function processPart(arena: usize, commands: usize, count: i32, events: usize, capacity: i32, part: i32): i32 {
  if (ASC_NO_ASSERT) return BATCH_PART_DEBUG_ONLY;
  return run(arena, commands, count, events, capacity, (part & BATCH_PART_BEGIN) != 0, (part & BATCH_PART_FINISH) != 0);
}

// @ts-ignore: decorator
@inline function run(arena: usize, commands: usize, count: i32, events: usize, capacity: i32, begin: bool, finish: bool): i32 {
  bind(arena);
  startOutput(events);
  const end = events + <usize>capacity * EVT_SIZE;
  const chunkEnd = events + <usize>EVENT_CHUNK * EVT_SIZE; // never reached before the first command
  if (begin) beginBatch();
  let i = 0;
  for (; i < count; i++) {
    if (outputAt() >= chunkEnd) break;
    const worst = (<u64>load<u32>(A, H_LIVE_ORDERS) * EVENTS_PER_TOUCHED_ORDER + EVENTS_PER_COMMAND_BASE) * EVT_SIZE;
    if (<u64>(end - outputAt()) < worst) {
      if (i == 0) {
        if (finish) finishBatch();
        return -1;
      }
      break;
    }
    const c = commands + <usize>i * CMD_SIZE;
    startCommand(c);
    execute(c);
  }
  if (finish) {
    endBatch();
    finishBatch();
  }
  store<u32>(A, <u32>((outputAt() - events) / EVT_SIZE), H_EVENTS_WRITTEN);
  return i;
}

export function liveOrders(arena: usize): u32 {
  bind(arena);
  return load<u32>(A, H_LIVE_ORDERS);
}

/** Writes the state digest (u64) at io. */
export function digest(arena: usize, io: usize): void {
  bind(arena);
  store<u64>(io, bookDigest());
}

export function depth(arena: usize, symbol: u32, side: u8, levels: i32, io: usize): i32 {
  bind(arena);
  return queries.depth(symbol, side, levels, io);
}

export function queue(arena: usize, symbol: u32, side: u8, max: i32, io: usize): i32 {
  bind(arena);
  return queries.queue(symbol, side, max, io);
}

export function findOrder(arena: usize, io: usize): i32 {
  bind(arena);
  return queries.findOrder(io);
}

export function findByHandle(arena: usize, io: usize): i32 {
  bind(arena);
  return queries.findByHandle(io);
}

// ---- reclamation and live-book readers (another thread's instance; docs/CONCURRENCY.md) ------

/** Writes four u32 at io: order slots in limbo, level slots in limbo, order and level slots taken out of limbo early. */
export function limboStats(arena: usize, io: usize): void {
  bind(arena);
  store<u32>(io, load<u32>(A, H_ORDER_LIMBO_COUNT));
  store<u32>(io, load<u32>(A, H_LEVEL_LIMBO_COUNT), 4);
  store<u32>(io, load<u32>(A, H_FORCED_ORDERS), 8);
  store<u32>(io, load<u32>(A, H_FORCED_LEVELS), 12);
}

/** After a restore: the copied arena's reader records belonged to another engine's threads. */
export function resetReaders(arena: usize): void {
  bind(arena);
  formatReaders(arena);
}

export function readerRegister(arena: usize): i32 {
  bind(arena);
  return live.register();
}

/** The batch state word (layout.ts BATCH_RUNNING, BATCH_COUNT_UNIT), for a reader that just registered. */
export function readerBatchState(arena: usize): u32 {
  bind(arena);
  return batchState();
}

export function readerUnregister(arena: usize, reader: i32): i32 {
  bind(arena);
  return live.unregister(reader);
}

export function readerEnter(arena: usize, reader: i32): i32 {
  bind(arena);
  return live.enter(reader);
}

export function readerExit(arena: usize, reader: i32): i32 {
  bind(arena);
  return live.exit(reader);
}

export function readerProtect(arena: usize, reader: i32, k: i32, slot: u32): i32 {
  bind(arena);
  return live.protect(reader, k, slot);
}

export function readDepth(arena: usize, reader: i32, symbol: u32, side: u8, levels: i32, io: usize): i32 {
  bind(arena);
  return live.depth(reader, symbol, side, levels, io);
}

export function readQueue(arena: usize, reader: i32, symbol: u32, side: u8, max: i32, io: usize): i32 {
  bind(arena);
  return live.queue(reader, symbol, side, max, io);
}

export function readOrder(arena: usize, reader: i32, io: usize): i32 {
  bind(arena);
  return live.order(reader, io);
}

export function readerCounters(arena: usize, reader: i32, io: usize): i32 {
  bind(arena);
  return live.counters(reader, io);
}

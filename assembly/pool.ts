// Pools of fixed-size blocks with a lock-free free list, in AssemblyScript over the layout of
// pool-layout.ts (docs/CONCURRENCY.md). The same operations as src/pool.ts: a JS thread and a
// Wasm thread can allocate from and free to one pool.
//
// Every function takes the pool's address in the imported shared memory; no statics (each
// instantiation would reset them), no allocation, no managed objects. Cross-thread words (head,
// links, counters, chunk table, bump pointer) use atomic.* (sequentially consistent, like JS
// Atomics); block bytes belong to their owner. Built into wasm/concurrent.wasm by
// asconfig.concurrent.json; not part of the core (the core's scalar build has no atomics).
import {
  POOL_MAGIC, POOL_LAYOUT_VERSION, POOL_LINE, POOL_ALIGN, POOL_NIL, POOL_LINK_ALLOCATED, POOL_CHUNK_FAILED,
  POOL_MAX_INDEX_BITS, POOL_MAX_CHUNKS, POOL_MIN_BLOCK, POOL_PAGE, POOL_GROW_WAIT_SPINS, POOL_GROW_REGION,
  POOL_GROW_MEMORY, POOL_OK, POOL_BAD_ARGUMENT, POOL_NOT_ALLOCATED, POOL_BAD_HANDLE,
  POOL_H_MAGIC, POOL_H_VERSION, POOL_H_BLOCK_SIZE, POOL_H_CHUNK_SHIFT, POOL_H_MAX_CHUNKS, POOL_H_INDEX_BITS,
  POOL_H_INDEX_MASK, POOL_H_LINKS_BYTES, POOL_H_CHUNK_BYTES, POOL_H_GROW, POOL_H_REGION_END, POOL_H_INITIAL,
  POOL_H_HEAD, POOL_H_IN_USE, POOL_H_HIGH_WATER, POOL_H_CHUNKS_CLAIMED, POOL_H_CHUNKS_READY, POOL_H_CAPACITY,
  POOL_H_GROWTHS, POOL_H_MEMORY_GROWS, POOL_H_REGION_NEXT, POOL_H_FAILED, POOL_H_GROW_FAILED, POOL_CHUNKS_AT,
} from './pool-layout';

// @ts-ignore: decorator
@inline function ceilLine(n: i64): i64 {
  return (n + POOL_LINE - 1) & ~(<i64>POOL_LINE - 1);
}

/** Bytes of a pool header with room for `maxChunks` chunks, or POOL_BAD_ARGUMENT. */
export function poolHeaderBytes(maxChunks: i32): i32 {
  if (maxChunks < 1 || maxChunks > POOL_MAX_CHUNKS) return POOL_BAD_ARGUMENT;
  return POOL_CHUNKS_AT + <i32>ceilLine(<i64>maxChunks * 4);
}

/** Bytes of one chunk (links + blocks), or POOL_BAD_ARGUMENT. */
export function poolChunkBytes(blockSize: i32, blocksPerChunk: i32): i32 {
  if (blockSize < POOL_MIN_BLOCK || (blockSize & (POOL_MIN_BLOCK - 1)) != 0) return POOL_BAD_ARGUMENT;
  if (blocksPerChunk < 1 || (blocksPerChunk & (blocksPerChunk - 1)) != 0) return POOL_BAD_ARGUMENT;
  const bytes = ceilLine(<i64>blocksPerChunk * 4) + ceilLine(<i64>blocksPerChunk * blockSize);
  return bytes > 0x40000000 ? POOL_BAD_ARGUMENT : <i32>bytes;
}

// ---- addressing -------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function chunkBase(pool: usize, h: i32): i32 {
  return load<i32>(pool + POOL_CHUNKS_AT + (<usize>((h - 1) >>> load<i32>(pool, POOL_H_CHUNK_SHIFT)) << 2));
}

// @ts-ignore: decorator
@inline function slotOf(pool: usize, h: i32): i32 {
  return (h - 1) & ((1 << load<i32>(pool, POOL_H_CHUNK_SHIFT)) - 1);
}

// @ts-ignore: decorator
@inline function linkAt(pool: usize, h: i32): usize {
  return <usize>chunkBase(pool, h) + (<usize>slotOf(pool, h) << 2);
}

/** Address of block h's link word (h must be a handle of a published chunk). */
export function poolLinkAddress(pool: usize, h: i32): usize {
  return linkAt(pool, h);
}

/** Address of block h's bytes (h must be a handle of a published chunk). */
// @ts-ignore: decorator
@inline export function poolBlockAddress(pool: usize, h: i32): usize {
  return <usize>chunkBase(pool, h) + <usize>load<i32>(pool, POOL_H_LINKS_BYTES) + <usize>slotOf(pool, h) * <usize>load<i32>(pool, POOL_H_BLOCK_SIZE);
}

/** 1 if h names a block of a published chunk. */
export function poolValidHandle(pool: usize, h: i32): i32 {
  const max = load<i32>(pool, POOL_H_MAX_CHUNKS) << load<i32>(pool, POOL_H_CHUNK_SHIFT);
  if (h < 1 || h > max) return 0;
  const at = pool + POOL_CHUNKS_AT + (<usize>((h - 1) >>> load<i32>(pool, POOL_H_CHUNK_SHIFT)) << 2);
  return i32(atomic.load<i32>(at) > 0);
}

// ---- the free list ----------------------------------------------------------------------------

/** Pushes the chain first -> ... -> last (already linked) onto the free list: one CAS. */
export function poolPushChain(pool: usize, first: i32, last: i32): void {
  const mask = load<i32>(pool, POOL_H_INDEX_MASK);
  const lastLink = linkAt(pool, last);
  while (true) {
    const head = atomic.load<i32>(pool, POOL_H_HEAD);
    atomic.store<i32>(lastLink, head & mask);
    // A push keeps the tag: only pops count (see pool-layout.ts and docs/CONCURRENCY.md).
    if (atomic.cmpxchg<i32>(pool, head, (head & ~mask) | first, POOL_H_HEAD) == head) return;
  }
}

// @ts-ignore: decorator
@inline function countAlloc(pool: usize): void {
  const inUse = atomic.add<i32>(pool, 1, POOL_H_IN_USE) + 1;
  let high = atomic.load<i32>(pool, POOL_H_HIGH_WATER);
  while (inUse > high) {
    const seen = atomic.cmpxchg<i32>(pool, high, inUse, POOL_H_HIGH_WATER);
    if (seen == high) break;
    high = seen;
  }
}

/**
 * The commit step of a pop: CAS the head from `head` (as read) to `next` with the tag bumped.
 * Returns the handle taken, or POOL_NIL if the head changed. Exported for the hand-simulated ABA
 * test; poolTryPop is the loop around it.
 */
export function poolCommitPop(pool: usize, head: i32, next: i32): i32 {
  const mask = load<i32>(pool, POOL_H_INDEX_MASK);
  const h = head & mask;
  if (h == POOL_NIL) return POOL_NIL;
  if (atomic.cmpxchg<i32>(pool, head, ((head & ~mask) + (mask + 1)) | next, POOL_H_HEAD) != head) return POOL_NIL;
  atomic.store<i32>(linkAt(pool, h), POOL_LINK_ALLOCATED);
  countAlloc(pool);
  return h;
}

/** Pops a free block: its handle, or POOL_NIL if the free list is empty. Never grows. */
export function poolTryPop(pool: usize): i32 {
  const mask = load<i32>(pool, POOL_H_INDEX_MASK);
  while (true) {
    const head = atomic.load<i32>(pool, POOL_H_HEAD);
    const h = head & mask;
    if (h == POOL_NIL) return POOL_NIL;
    const next = atomic.load<i32>(linkAt(pool, h));
    if (next < 0) continue; // h was taken since we read the head: the head has moved
    if (atomic.cmpxchg<i32>(pool, head, ((head & ~mask) + (mask + 1)) | next, POOL_H_HEAD) == head) {
      atomic.store<i32>(linkAt(pool, h), POOL_LINK_ALLOCATED);
      countAlloc(pool);
      return h;
    }
  }
  return POOL_NIL; // unreachable
}

// ---- growth -----------------------------------------------------------------------------------

/** Carves one chunk: from the host region (CAS on the bump pointer), else memory.grow; 0 if none. */
function carve(pool: usize): i32 {
  const grow = load<i32>(pool, POOL_H_GROW);
  const bytes = load<i32>(pool, POOL_H_CHUNK_BYTES);
  if ((grow & POOL_GROW_REGION) != 0) {
    const end = load<i32>(pool, POOL_H_REGION_END);
    while (true) {
      const next = atomic.load<i32>(pool, POOL_H_REGION_NEXT);
      if (<i64>next + bytes > <i64>end) break;
      if (atomic.cmpxchg<i32>(pool, next, next + bytes, POOL_H_REGION_NEXT) == next) return next;
    }
  }
  if ((grow & POOL_GROW_MEMORY) != 0) {
    const pages = (bytes + POOL_PAGE - 1) / POOL_PAGE;
    if (<i64>(memory.size() + pages) * POOL_PAGE > 0x7fffffff) return 0; // addresses stay below 2 GiB
    const old = memory.grow(pages);
    if (old < 0) return 0;
    atomic.add<i32>(pool, 1, POOL_H_MEMORY_GROWS);
    return old * POOL_PAGE;
  }
  return 0;
}

/**
 * Adds one chunk: claims the next chunk slot (CAS), carves its memory, links its blocks, publishes
 * its address, then pushes all its blocks with one CAS. 1 grown; 0 another thread claimed the slot
 * first; -1 no slot or no memory left. Other threads keep allocating and freeing meanwhile.
 */
export function poolGrow(pool: usize, counted: i32): i32 {
  const maxChunks = load<i32>(pool, POOL_H_MAX_CHUNKS);
  const claimed = atomic.load<i32>(pool, POOL_H_CHUNKS_CLAIMED);
  if (claimed >= maxChunks) return -1;
  if (atomic.cmpxchg<i32>(pool, claimed, claimed + 1, POOL_H_CHUNKS_CLAIMED) != claimed) return 0;
  const k = claimed;
  const entry = pool + POOL_CHUNKS_AT + (<usize>k << 2);
  const base = carve(pool);
  if (base == 0) {
    atomic.store<i32>(entry, POOL_CHUNK_FAILED);
    atomic.add<i32>(pool, 1, POOL_H_GROW_FAILED);
    atomic.add<i32>(pool, 1, POOL_H_CHUNKS_READY);
    return -1;
  }
  const shift = load<i32>(pool, POOL_H_CHUNK_SHIFT);
  const n = 1 << shift;
  const first = (k << shift) + 1;
  // The links are plain stores: the table store and the push's CAS below publish them.
  for (let s = 0; s < n - 1; s++) store<i32>(<usize>base + (<usize>s << 2), first + s + 1);
  store<i32>(<usize>base + (<usize>(n - 1) << 2), POOL_NIL);
  atomic.store<i32>(entry, base);
  atomic.add<i32>(pool, n, POOL_H_CAPACITY); // before the push: in-use never exceeds capacity
  if (counted != 0) atomic.add<i32>(pool, 1, POOL_H_GROWTHS);
  poolPushChain(pool, first, first + n - 1);
  atomic.add<i32>(pool, 1, POOL_H_CHUNKS_READY);
  return 1;
}

// ---- init and the public operations --------------------------------------------------------------

/**
 * Writes a pool header at `pool` (64-byte aligned, poolHeaderBytes(maxChunks) bytes) and makes
 * `initialChunks` chunks from the region [regionStart, regionEnd) (or memory.grow if `grow` has
 * POOL_GROW_MEMORY). 0, or POOL_BAD_ARGUMENT (the header may be partly written).
 */
export function poolInit(pool: usize, blockSize: i32, blocksPerChunk: i32, maxChunks: i32, initialChunks: i32, regionStart: i32, regionEnd: i32, grow: i32): i32 {
  const chunkBytes = poolChunkBytes(blockSize, blocksPerChunk);
  if (chunkBytes < 0 || poolHeaderBytes(maxChunks) < 0 || (pool & (POOL_ALIGN - 1)) != 0) return POOL_BAD_ARGUMENT;
  const shift = ctz(blocksPerChunk);
  const maxBlocks = <i64>maxChunks << shift;
  const indexBits = 64 - <i32>clz(maxBlocks);
  if (indexBits > POOL_MAX_INDEX_BITS) return POOL_BAD_ARGUMENT;
  if (initialChunks < 0 || initialChunks > maxChunks || (grow & ~(POOL_GROW_REGION | POOL_GROW_MEMORY)) != 0) return POOL_BAD_ARGUMENT;
  if (regionStart < 0 || regionEnd < regionStart) return POOL_BAD_ARGUMENT;
  memory.fill(pool, 0, poolHeaderBytes(maxChunks));
  store<i32>(pool, POOL_LAYOUT_VERSION, POOL_H_VERSION);
  store<i32>(pool, blockSize, POOL_H_BLOCK_SIZE);
  store<i32>(pool, shift, POOL_H_CHUNK_SHIFT);
  store<i32>(pool, maxChunks, POOL_H_MAX_CHUNKS);
  store<i32>(pool, indexBits, POOL_H_INDEX_BITS);
  store<i32>(pool, (1 << indexBits) - 1, POOL_H_INDEX_MASK);
  store<i32>(pool, <i32>ceilLine(<i64>blocksPerChunk * 4), POOL_H_LINKS_BYTES);
  store<i32>(pool, chunkBytes, POOL_H_CHUNK_BYTES);
  store<i32>(pool, grow, POOL_H_GROW);
  store<i32>(pool, regionEnd, POOL_H_REGION_END);
  store<i32>(pool, initialChunks, POOL_H_INITIAL);
  store<i32>(pool, <i32>ceilLine(regionStart), POOL_H_REGION_NEXT);
  for (let k = 0; k < initialChunks; k++) {
    if (poolGrow(pool, 0) != 1) return POOL_BAD_ARGUMENT;
  }
  atomic.store<i32>(pool, POOL_MAGIC, POOL_H_MAGIC);
  return POOL_OK;
}

/** 1 if a pool of this layout version is at `pool`. */
export function poolValid(pool: usize): i32 {
  return i32(atomic.load<i32>(pool, POOL_H_MAGIC) == POOL_MAGIC && load<i32>(pool, POOL_H_VERSION) == POOL_LAYOUT_VERSION);
}

/**
 * Allocates a block: its handle, or POOL_NIL when the pool is exhausted and cannot grow. When the
 * free list is empty it grows the pool by a chunk; if another thread is already growing it retries
 * the free list POOL_GROW_WAIT_SPINS times first, then grows itself (nobody waits on a grower).
 */
export function poolAlloc(pool: usize): i32 {
  let spins = 0;
  while (true) {
    let h = poolTryPop(pool);
    if (h != POOL_NIL) return h;
    if (atomic.load<i32>(pool, POOL_H_CHUNKS_CLAIMED) != atomic.load<i32>(pool, POOL_H_CHUNKS_READY) && spins < POOL_GROW_WAIT_SPINS) {
      spins++;
      continue;
    }
    spins = 0;
    if (poolGrow(pool, 1) < 0) {
      h = poolTryPop(pool);
      if (h != POOL_NIL) return h;
      atomic.add<i32>(pool, 1, POOL_H_FAILED);
      return POOL_NIL;
    }
  }
  return POOL_NIL; // unreachable
}

/** Frees block h: POOL_OK, POOL_BAD_HANDLE, or POOL_NOT_ALLOCATED (a double free; nothing changed). */
export function poolFree(pool: usize, h: i32): i32 {
  if (poolValidHandle(pool, h) == 0) return POOL_BAD_HANDLE;
  if (atomic.cmpxchg<i32>(linkAt(pool, h), POOL_LINK_ALLOCATED, POOL_NIL) != POOL_LINK_ALLOCATED) return POOL_NOT_ALLOCATED;
  atomic.sub<i32>(pool, 1, POOL_H_IN_USE); // before the push: in-use never over-counts
  poolPushChain(pool, h, h);
  return POOL_OK;
}

/** Frees a chain first -> ... -> last of `count` blocks already linked through their links. */
export function poolFreeChain(pool: usize, first: i32, last: i32, count: i32): void {
  atomic.sub<i32>(pool, count, POOL_H_IN_USE);
  poolPushChain(pool, first, last);
}

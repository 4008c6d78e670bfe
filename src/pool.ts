// Pools of fixed-size blocks in shared memory with a lock-free free list (docs/CONCURRENCY.md).
//
// The layout is assembly/pool-layout.ts, shared with the AssemblyScript version (assembly/pool.ts,
// built into wasm/concurrent.wasm), so JS threads and Wasm threads allocate from and free to one
// pool. All pool state is in the shared memory: any thread attaches with `new Pool(memory, offset)`.
//
//   const pool = Pool.init(memory, offset, { blockSize: 64, blocksPerChunk: 1024, maxChunks: 64,
//                                            region: { start, end }, growMemory: true });
//   const h = pool.alloc();             // a handle (1..), or 0 when exhausted
//   pool.i32[pool.offsetOf(h) >> 2] = 42; // the block's bytes are the owner's
//   pool.free(h);                       // throws on a double free
//
// Growth: alloc() on an empty free list adds a chunk (from the host region, then memory.grow) while
// other threads keep allocating and freeing. After a memory.grow the old views do not cover the
// new chunk: this object rebuilds `i32`/`u8` (from memory.buffer) as soon as it meets a handle of
// a chunk it has not seen, so `pool.i32` is valid for every handle it returned or was given. Code
// that keeps views of its own checks `pool.memoryGrows` (a header counter) against its last value.
import * as PL from '../assembly/pool-layout.js';
// Plain constants: under tsx a module namespace is a set of getters (a call per use on the hot path).
const {
  POOL_MAGIC, POOL_LAYOUT_VERSION, POOL_LINE, POOL_ALIGN, POOL_NIL, POOL_LINK_ALLOCATED, POOL_CHUNK_FAILED,
  POOL_MAX_INDEX_BITS, POOL_MAX_CHUNKS, POOL_MIN_BLOCK, POOL_PAGE, POOL_GROW_WAIT_SPINS, POOL_GROW_REGION,
  POOL_GROW_MEMORY,
  POOL_H_MAGIC, POOL_H_VERSION, POOL_H_BLOCK_SIZE, POOL_H_CHUNK_SHIFT, POOL_H_MAX_CHUNKS, POOL_H_INDEX_BITS,
  POOL_H_INDEX_MASK, POOL_H_LINKS_BYTES, POOL_H_CHUNK_BYTES, POOL_H_GROW, POOL_H_REGION_END, POOL_H_INITIAL,
  POOL_H_HEAD, POOL_H_IN_USE, POOL_H_HIGH_WATER, POOL_H_CHUNKS_CLAIMED, POOL_H_CHUNKS_READY, POOL_H_CAPACITY,
  POOL_H_GROWTHS, POOL_H_MEMORY_GROWS, POOL_H_REGION_NEXT, POOL_H_FAILED, POOL_H_GROW_FAILED, POOL_CHUNKS_AT,
} = PL;

// Local copies: under tsx a module namespace is a set of getters; these are plain constants.
const NIL = POOL_NIL;
const ALLOCATED = POOL_LINK_ALLOCATED;

/** Where a pool lives: a shared WebAssembly.Memory (growable) or a SharedArrayBuffer (region only). */
export type PoolMemory = WebAssembly.Memory | SharedArrayBuffer;

export interface PoolInitOptions {
  /** Bytes per block: a multiple of 8. */
  blockSize: number;
  /** Blocks per chunk: a power of two. */
  blocksPerChunk: number;
  /** Chunks at most (1..4096); maxChunks x blocksPerChunk < 2^22 (the tag keeps >= 10 bits). */
  maxChunks: number;
  /** Chunks made now (default 1). */
  initialChunks?: number;
  /** A host-reserved region chunks are carved from (absolute byte offsets). */
  region?: { start: number; end: number };
  /** Grow the Wasm memory when the region is used up (needs a WebAssembly.Memory; default: no region => true). */
  growMemory?: boolean;
}

export interface PoolStats {
  /** Blocks in published chunks. */
  capacity: number;
  /** Allocated blocks (a snapshot; exact when the pool is quiet). */
  inUse: number;
  /** The most blocks ever allocated at once. */
  highWater: number;
  /** alloc() calls that returned 0. */
  failed: number;
  /** Chunks added after init. */
  growths: number;
  /** Published chunks (init + growths). */
  chunks: number;
  /** memory.grow calls made for this pool. */
  memoryGrows: number;
  /** Growths that found no memory. */
  growFailed: number;
  blockSize: number;
  blocksPerChunk: number;
  maxChunks: number;
}

const ceilLine = (n: number) => Math.ceil(n / POOL_LINE) * POOL_LINE;
const isPow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

/** Bytes of a pool header with room for `maxChunks` chunks. */
export function poolHeaderBytes(maxChunks: number): number {
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > POOL_MAX_CHUNKS) throw new RangeError(`maxChunks must be 1..${POOL_MAX_CHUNKS}; got ${String(maxChunks)}`);
  return POOL_CHUNKS_AT + ceilLine(maxChunks * 4);
}

/** Bytes of one chunk: the link array (4 bytes a block, padded to a line) and the blocks. */
export function poolChunkBytes(blockSize: number, blocksPerChunk: number): number {
  if (!Number.isInteger(blockSize) || blockSize < POOL_MIN_BLOCK || blockSize % POOL_MIN_BLOCK !== 0) throw new RangeError(`blockSize must be a positive multiple of ${POOL_MIN_BLOCK}; got ${String(blockSize)}`);
  if (!isPow2(blocksPerChunk)) throw new RangeError(`blocksPerChunk must be a power of two; got ${String(blocksPerChunk)}`);
  const bytes = ceilLine(blocksPerChunk * 4) + ceilLine(blocksPerChunk * blockSize);
  if (bytes > 0x40000000) throw new RangeError('a chunk must be at most 1 GiB');
  return bytes;
}

function bufferOf(memory: PoolMemory): ArrayBufferLike {
  return memory instanceof WebAssembly.Memory ? memory.buffer : memory;
}

export class Pool {
  /** Byte offset of the header. */
  readonly base: number;
  readonly blockSize: number;
  readonly blocksPerChunk: number;
  readonly maxChunks: number;
  readonly indexBits: number;
  readonly indexMask: number;
  /** Views over the whole memory, rebuilt after a memory.grow (see refresh()). */
  i32: Int32Array;
  u8: Uint8Array;

  private readonly memory: PoolMemory;
  private readonly shift: number;
  private readonly slotMask: number;
  private readonly linksBytes: number;
  private readonly chunkBytes: number;
  private readonly grows: number;
  // Word indices of the hot header words.
  private readonly wHead: number;
  private readonly wInUse: number;
  private readonly wHigh: number;
  private readonly wTable: number;
  /** Chunk base addresses this thread has seen (0 = not yet looked up). */
  private readonly chunks: Int32Array;

  constructor(memory: PoolMemory, offset: number) {
    const buffer = bufferOf(memory);
    if (!Number.isInteger(offset) || offset < 0 || offset % POOL_ALIGN !== 0 || offset + POOL_CHUNKS_AT > buffer.byteLength) throw new RangeError(`no pool header fits at byte ${offset}`);
    this.memory = memory;
    this.base = offset;
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.u8 = new Uint8Array(buffer);
    const w = offset >> 2;
    const i32 = this.i32;
    if (Atomics.load(i32, w + (POOL_H_MAGIC >> 2)) !== POOL_MAGIC) throw new Error(`no pool at byte ${offset} (bad magic): call Pool.init() first`);
    if (i32[w + (POOL_H_VERSION >> 2)] !== POOL_LAYOUT_VERSION) throw new Error(`pool at byte ${offset} has layout version ${i32[w + (POOL_H_VERSION >> 2)]}, this code ${POOL_LAYOUT_VERSION}`);
    this.blockSize = i32[w + (POOL_H_BLOCK_SIZE >> 2)];
    this.shift = i32[w + (POOL_H_CHUNK_SHIFT >> 2)];
    this.blocksPerChunk = 1 << this.shift;
    this.slotMask = this.blocksPerChunk - 1;
    this.maxChunks = i32[w + (POOL_H_MAX_CHUNKS >> 2)];
    this.indexBits = i32[w + (POOL_H_INDEX_BITS >> 2)];
    this.indexMask = i32[w + (POOL_H_INDEX_MASK >> 2)];
    this.linksBytes = i32[w + (POOL_H_LINKS_BYTES >> 2)];
    this.chunkBytes = i32[w + (POOL_H_CHUNK_BYTES >> 2)];
    this.grows = i32[w + (POOL_H_GROW >> 2)];
    this.wHead = w + (POOL_H_HEAD >> 2);
    this.wInUse = w + (POOL_H_IN_USE >> 2);
    this.wHigh = w + (POOL_H_HIGH_WATER >> 2);
    this.wTable = w + (POOL_CHUNKS_AT >> 2);
    this.chunks = new Int32Array(this.maxChunks);
  }

  /** Header bytes for `maxChunks` chunks (a multiple of 64). */
  static headerBytes(maxChunks: number): number {
    return poolHeaderBytes(maxChunks);
  }

  static chunkBytes(blockSize: number, blocksPerChunk: number): number {
    return poolChunkBytes(blockSize, blocksPerChunk);
  }

  /** Writes a pool header at `offset`, makes its initial chunks, and returns it attached. */
  static init(memory: PoolMemory, offset: number, options: PoolInitOptions): Pool {
    const buffer = bufferOf(memory);
    const { blockSize, blocksPerChunk, maxChunks } = options;
    const chunkBytes = poolChunkBytes(blockSize, blocksPerChunk);
    const headerBytes = poolHeaderBytes(maxChunks);
    if (!Number.isInteger(offset) || offset < 0 || offset % POOL_ALIGN !== 0) throw new RangeError(`a pool must start at a multiple of ${POOL_ALIGN} bytes; got ${offset}`);
    if (offset + headerBytes > buffer.byteLength) throw new RangeError(`a pool header of ${maxChunks} chunks needs ${headerBytes} bytes at ${offset}; the buffer has ${buffer.byteLength}`);
    const shift = Math.log2(blocksPerChunk);
    const indexBits = Math.floor(Math.log2(maxChunks * blocksPerChunk)) + 1; // bit length of the largest handle
    if (indexBits > POOL_MAX_INDEX_BITS) throw new RangeError(`maxChunks x blocksPerChunk must be below 2^${POOL_MAX_INDEX_BITS} (the head's tag keeps ${32 - POOL_MAX_INDEX_BITS} bits); got ${maxChunks * blocksPerChunk}`);
    const initial = options.initialChunks ?? 1;
    if (!Number.isInteger(initial) || initial < 0 || initial > maxChunks) throw new RangeError(`initialChunks must be 0..maxChunks; got ${String(initial)}`);
    const region = options.region ?? { start: 0, end: 0 };
    if (!Number.isInteger(region.start) || !Number.isInteger(region.end) || region.start < 0 || region.end < region.start || region.end > buffer.byteLength) throw new RangeError('region must be { start, end } inside the buffer');
    const growMemory = options.growMemory ?? options.region === undefined;
    if (growMemory && !(memory instanceof WebAssembly.Memory)) throw new TypeError('growMemory needs a WebAssembly.Memory');
    const grow = (options.region ? POOL_GROW_REGION : 0) | (growMemory ? POOL_GROW_MEMORY : 0);
    const i32 = new Int32Array(buffer, offset, headerBytes >> 2);
    i32.fill(0);
    i32[POOL_H_VERSION >> 2] = POOL_LAYOUT_VERSION;
    i32[POOL_H_BLOCK_SIZE >> 2] = blockSize;
    i32[POOL_H_CHUNK_SHIFT >> 2] = shift;
    i32[POOL_H_MAX_CHUNKS >> 2] = maxChunks;
    i32[POOL_H_INDEX_BITS >> 2] = indexBits;
    i32[POOL_H_INDEX_MASK >> 2] = (1 << indexBits) - 1;
    i32[POOL_H_LINKS_BYTES >> 2] = ceilLine(blocksPerChunk * 4);
    i32[POOL_H_CHUNK_BYTES >> 2] = chunkBytes;
    i32[POOL_H_GROW >> 2] = grow;
    i32[POOL_H_REGION_END >> 2] = region.end;
    i32[POOL_H_INITIAL >> 2] = initial;
    i32[POOL_H_REGION_NEXT >> 2] = ceilLine(region.start);
    // Attach before the magic is written (the constructor checks it), then make the chunks.
    Atomics.store(i32, POOL_H_MAGIC >> 2, POOL_MAGIC);
    const pool = new Pool(memory, offset);
    Atomics.store(i32, POOL_H_MAGIC >> 2, 0);
    for (let k = 0; k < initial; k++) {
      if (pool.grow(false) !== 1) throw new RangeError(`the region has no room for ${initial} chunks of ${chunkBytes} bytes`);
    }
    Atomics.store(i32, POOL_H_MAGIC >> 2, POOL_MAGIC); // a fence: the header is visible to whoever reads the magic atomically
    return pool;
  }

  // ---- addressing ---------------------------------------------------------------------------

  /** Base of the chunk holding handle h; looks it up (and rebuilds the views) the first time. */
  private chunkOf(h: number): number {
    const k = (h - 1) >>> this.shift;
    const base = this.chunks[k];
    return base > 0 ? base : this.learnChunk(k);
  }

  private learnChunk(k: number): number {
    if (k >= this.maxChunks) throw new RangeError(`handle of chunk ${k}: the pool has ${this.maxChunks} chunks at most`);
    const base = Atomics.load(this.i32, this.wTable + k);
    if (base <= 0) throw new RangeError(`handle of chunk ${k}, which is not published`);
    if (base + this.chunkBytes > this.i32.byteLength) this.refresh();
    if (base + this.chunkBytes > this.i32.byteLength) throw new Error(`chunk ${k} at ${base} lies beyond the memory (${this.i32.byteLength} bytes)`);
    this.chunks[k] = base;
    return base;
  }

  /** Rebuilds `i32` and `u8` over the memory's current buffer (after a memory.grow). */
  refresh(): void {
    const buffer = bufferOf(this.memory);
    if (buffer.byteLength === this.i32.byteLength) return;
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.u8 = new Uint8Array(buffer);
  }

  /** Byte offset of block h in the memory (valid in `i32`/`u8`, which it keeps current). */
  offsetOf(h: number): number {
    return this.chunkOf(h) + this.linksBytes + ((h - 1) & this.slotMask) * this.blockSize;
  }

  /** Word index of block h's link word in `i32`. */
  linkIndex(h: number): number {
    return (this.chunkOf(h) >> 2) + ((h - 1) & this.slotMask);
  }

  /** True if h names a block of a published chunk. */
  validHandle(h: number): boolean {
    if (!Number.isInteger(h) || h < 1 || h > this.maxChunks * this.blocksPerChunk) return false;
    return Atomics.load(this.i32, this.wTable + ((h - 1) >>> this.shift)) > 0;
  }

  // ---- the free list ------------------------------------------------------------------------

  /** The head word (tag << indexBits | handle), for tests and diagnostics. */
  peekHead(): number {
    return Atomics.load(this.i32, this.wHead);
  }

  /** Block h's link word (the next free handle while free; -1 while allocated). */
  link(h: number): number {
    const li = this.linkIndex(h); // may rebuild the views
    return Atomics.load(this.i32, li);
  }

  /**
   * The commit step of a pop: CAS the head from `head` (as read earlier) to `next` with the tag
   * bumped. The handle taken, or 0 if the head changed. For the hand-simulated ABA test.
   */
  commitPop(head: number, next: number): number {
    const mask = this.indexMask;
    const h = head & mask;
    if (h === NIL) return NIL;
    const li = this.linkIndex(h); // may rebuild the views
    if (Atomics.compareExchange(this.i32, this.wHead, head, (((head & ~mask) + mask + 1) | next) | 0) !== head) return NIL;
    Atomics.store(this.i32, li, ALLOCATED);
    this.countAlloc();
    return h;
  }

  private countAlloc(): void {
    const i32 = this.i32;
    const inUse = Atomics.add(i32, this.wInUse, 1) + 1;
    let high = Atomics.load(i32, this.wHigh);
    while (inUse > high) {
      const seen = Atomics.compareExchange(i32, this.wHigh, high, inUse);
      if (seen === high) break;
      high = seen;
    }
  }

  /** Pops a free block: its handle, or 0 if the free list is empty. Never grows. */
  tryPop(): number {
    const mask = this.indexMask;
    const tagUnit = mask + 1;
    for (;;) {
      const i32 = this.i32;
      const head = Atomics.load(i32, this.wHead);
      const h = head & mask;
      if (h === NIL) return NIL;
      const li = this.linkIndex(h);
      const next = Atomics.load(this.i32, li);
      if (next < 0) continue; // h was taken since we read the head: the head has moved
      // The tag (the bits above the index) counts pops: a popper that read (h, tag) and was
      // overtaken cannot install h's stale successor (ABA).
      if (Atomics.compareExchange(this.i32, this.wHead, head, (((head & ~mask) + tagUnit) | next) | 0) === head) {
        Atomics.store(this.i32, li, ALLOCATED);
        this.countAlloc();
        return h;
      }
    }
  }

  /** Pushes the chain first -> ... -> last (linked through link words) with one CAS. */
  pushChain(first: number, last: number): void {
    const mask = this.indexMask;
    const lastLink = this.linkIndex(last);
    for (;;) {
      const i32 = this.i32;
      const head = Atomics.load(i32, this.wHead);
      Atomics.store(i32, lastLink, head & mask);
      if (Atomics.compareExchange(i32, this.wHead, head, (head & ~mask) | first) === head) return;
    }
  }

  // ---- growth -------------------------------------------------------------------------------

  private carve(): number {
    const i32 = this.i32;
    const w = this.base >> 2;
    const bytes = this.chunkBytes;
    if (this.grows & POOL_GROW_REGION) {
      const end = i32[w + (POOL_H_REGION_END >> 2)];
      for (;;) {
        const next = Atomics.load(i32, w + (POOL_H_REGION_NEXT >> 2));
        if (next + bytes > end) break;
        if (Atomics.compareExchange(i32, w + (POOL_H_REGION_NEXT >> 2), next, next + bytes) === next) return next;
      }
    }
    if (this.grows & POOL_GROW_MEMORY && this.memory instanceof WebAssembly.Memory) {
      const pages = Math.ceil(bytes / POOL_PAGE);
      if ((this.memory.buffer.byteLength / POOL_PAGE + pages) * POOL_PAGE > 0x7fffffff) return 0; // addresses stay below 2 GiB
      let old: number;
      try {
        old = this.memory.grow(pages);
      } catch {
        return 0; // at the maximum
      }
      Atomics.add(this.i32, w + (POOL_H_MEMORY_GROWS >> 2), 1);
      this.refresh();
      return old * POOL_PAGE;
    }
    return 0;
  }

  /**
   * Adds one chunk (see assembly/pool.ts poolGrow): 1 grown; 0 another thread claimed the chunk
   * slot first; -1 no chunk slot or no memory left. `counted`: count it in stats().growths.
   */
  grow(counted = true): number {
    const i32 = this.i32;
    const w = this.base >> 2;
    const claimed = Atomics.load(i32, w + (POOL_H_CHUNKS_CLAIMED >> 2));
    if (claimed >= this.maxChunks) return -1;
    if (Atomics.compareExchange(i32, w + (POOL_H_CHUNKS_CLAIMED >> 2), claimed, claimed + 1) !== claimed) return 0;
    const k = claimed;
    const base = this.carve();
    const v = this.i32; // carve may have rebuilt the views
    if (base === 0) {
      Atomics.store(v, this.wTable + k, POOL_CHUNK_FAILED);
      Atomics.add(v, w + (POOL_H_GROW_FAILED >> 2), 1);
      Atomics.add(v, w + (POOL_H_CHUNKS_READY >> 2), 1);
      return -1;
    }
    const n = this.blocksPerChunk;
    const first = k * n + 1;
    // Plain stores: the table store and the push's CAS below publish them.
    const links = base >> 2;
    for (let s = 0; s < n - 1; s++) v[links + s] = first + s + 1;
    v[links + n - 1] = NIL;
    Atomics.store(v, this.wTable + k, base);
    this.chunks[k] = base;
    Atomics.add(v, w + (POOL_H_CAPACITY >> 2), n); // before the push: in-use never exceeds capacity
    if (counted) Atomics.add(v, w + (POOL_H_GROWTHS >> 2), 1);
    this.pushChain(first, first + n - 1);
    Atomics.add(v, w + (POOL_H_CHUNKS_READY >> 2), 1);
    return 1;
  }

  // ---- the public operations ----------------------------------------------------------------

  /**
   * Allocates a block: its handle (1..), or 0 when the pool is exhausted and cannot grow. An empty
   * free list grows the pool by one chunk; if another thread is growing, alloc retries the free
   * list a while, then grows itself (nobody waits on a grower that was preempted).
   */
  alloc(): number {
    const h = this.tryPop();
    return h !== NIL ? h : this.allocSlow();
  }

  private allocSlow(): number {
    const w = this.base >> 2;
    let spins = 0;
    for (;;) {
      let h = this.tryPop();
      if (h !== NIL) return h;
      if (Atomics.load(this.i32, w + (POOL_H_CHUNKS_CLAIMED >> 2)) !== Atomics.load(this.i32, w + (POOL_H_CHUNKS_READY >> 2)) && spins < POOL_GROW_WAIT_SPINS) {
        spins++;
        continue;
      }
      spins = 0;
      if (this.grow(true) < 0) {
        h = this.tryPop();
        if (h !== NIL) return h;
        Atomics.add(this.i32, w + (POOL_H_FAILED >> 2), 1);
        return NIL;
      }
    }
  }

  /** Frees block h. Throws on a handle of no chunk and on a block that is not allocated. */
  free(h: number): void {
    if (!this.validHandle(h)) throw new RangeError(`free: ${String(h)} is not a handle of this pool`);
    const li = this.linkIndex(h);
    if (Atomics.compareExchange(this.i32, li, ALLOCATED, NIL) !== ALLOCATED) throw new Error(`free: block ${h} is not allocated (double free?)`);
    Atomics.sub(this.i32, this.wInUse, 1); // before the push: in-use never over-counts
    this.pushChain(h, h);
  }

  /** Frees `count` blocks already linked first -> ... -> last through their link words (reclaim.ts). */
  freeChain(first: number, last: number, count: number): void {
    Atomics.sub(this.i32, this.wInUse, count);
    this.pushChain(first, last);
  }

  // ---- statistics ---------------------------------------------------------------------------

  /** memory.grow calls made for this pool: compare with your last value to know to rebuild views. */
  get memoryGrows(): number {
    return Atomics.load(this.i32, (this.base + POOL_H_MEMORY_GROWS) >> 2);
  }

  stats(): PoolStats {
    const i32 = this.i32;
    const w = this.base >> 2;
    const at = (off: number) => Atomics.load(i32, w + (off >> 2));
    const ready = at(POOL_H_CHUNKS_READY);
    let chunks = 0;
    for (let k = 0; k < Math.min(ready + 1, this.maxChunks); k++) if (Atomics.load(i32, this.wTable + k) > 0) chunks++;
    return {
      capacity: at(POOL_H_CAPACITY), inUse: at(POOL_H_IN_USE), highWater: at(POOL_H_HIGH_WATER), failed: at(POOL_H_FAILED),
      growths: at(POOL_H_GROWTHS), chunks, memoryGrows: at(POOL_H_MEMORY_GROWS), growFailed: at(POOL_H_GROW_FAILED),
      blockSize: this.blockSize, blocksPerChunk: this.blocksPerChunk, maxChunks: this.maxChunks,
    };
  }

  /**
   * Walks the free list (only when no thread is using the pool) and returns its length; throws if
   * it meets a handle twice, an allocated block or a bad handle (a corrupt list).
   */
  countFree(): number {
    this.refresh();
    const seen = new Uint8Array(this.maxChunks * this.blocksPerChunk + 1);
    let h = Atomics.load(this.i32, this.wHead) & this.indexMask;
    let n = 0;
    while (h !== NIL) {
      if (!this.validHandle(h)) throw new Error(`free list: bad handle ${h} after ${n} blocks`);
      if (seen[h]) throw new Error(`free list: handle ${h} twice (a cycle) after ${n} blocks`);
      seen[h] = 1;
      const next = this.link(h);
      if (next < 0) throw new Error(`free list: block ${h} is marked allocated`);
      h = next;
      n++;
    }
    return n;
  }
}

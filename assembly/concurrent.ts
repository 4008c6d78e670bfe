// Entry of wasm/concurrent.wasm (asconfig.concurrent.json): the pools of assembly/pool.ts and the
// reclamation of assembly/reclaim.ts for Wasm threads, a module of its own (like rings.wasm)
// because the core's scalar build must have no atomics.
//
// Imports nothing but the shared memory (env.memory); every export takes and returns i32.
// No statics and no data segments: instantiating it on any thread never writes the memory.
import {
  POOL_LAYOUT_VERSION, POOL_H_BLOCK_SIZE, POOL_H_HEAD, POOL_H_IN_USE, POOL_H_HIGH_WATER, POOL_H_CAPACITY,
  POOL_H_FAILED, POOL_H_GROWTHS, POOL_H_MEMORY_GROWS, POOL_H_CHUNKS_READY, POOL_TAG_OWNER, POOL_TAG_SERIAL,
  POOL_TAG_FREE,
} from './pool-layout';
import { RECLAIM_LAYOUT_VERSION, RECLAIM_REC_MIX, RECLAIM_REC_SEED, RECLAIM_REC_WORDS } from './reclaim-layout';
import { poolAlloc, poolFree, poolBlockAddress } from './pool';
import { ebrEnter, ebrExit, hpProtect, hpClear } from './reclaim';

export {
  poolHeaderBytes, poolChunkBytes, poolInit, poolValid, poolAlloc, poolFree, poolFreeChain, poolTryPop,
  poolCommitPop, poolGrow, poolPushChain, poolValidHandle, poolLinkAddress,
} from './pool';
export {
  reclaimBytesFor, reclaimInit, reclaimValid, reclaimRegister, reclaimUnregister, reclaimLimbo, ebrEnter,
  ebrExit, ebrTryAdvance, ebrEpoch, ebrCollect, ebrReclaim, ebrRetire, hpProtect, hpClear, hpScan, hpRetire,
} from './reclaim';

export function poolLayoutVersion(): i32 { return POOL_LAYOUT_VERSION; }
export function reclaimLayoutVersion(): i32 { return RECLAIM_LAYOUT_VERSION; }
export function poolBlock(pool: usize, h: i32): usize { return poolBlockAddress(pool, h); }
export function poolHead(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_HEAD); }
export function poolInUse(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_IN_USE); }
export function poolHighWater(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_HIGH_WATER); }
export function poolCapacity(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_CAPACITY); }
export function poolFailed(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_FAILED); }
export function poolGrowths(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_GROWTHS); }
export function poolMemoryGrows(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_MEMORY_GROWS); }
export function poolChunksReady(pool: usize): i32 { return atomic.load<i32>(pool, POOL_H_CHUNKS_READY); }

// @ts-ignore: decorator
@inline function xorshift(x: i32): i32 {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x;
}

function ownerCheck(block: usize, words: i32, owner: i32): i32 {
  const serial = load<i32>(block, POOL_TAG_SERIAL);
  return i32(load<i32>(block, POOL_TAG_OWNER) != owner || load<i32>(block + (<usize>(words - 1) << 2)) != (~serial ^ owner));
}

/**
 * Tests: `ops` random allocs and frees from `pool` as `owner` (> 0), holding at most a limit that
 * ramps from 8 to `maxHold` over the first half (so the pool grows mid-run), the held handles in
 * `held` (maxHold i32s, host memory); it allocates on 3/4 of the steps below the limit, so it
 * climbs to the limit and stays near it,, every block tagged (pool-layout.ts POOL_TAG_*) and checked
 * before it is freed; frees everything at the end. Writes [allocs, frees, failed, errors, maxHeld]
 * at `out` and returns the errors.
 */
export function poolStress(pool: usize, owner: i32, ops: i32, maxHold: i32, seed: i32, held: usize, out: usize): i32 {
  const words = load<i32>(pool, POOL_H_BLOCK_SIZE) >> 2;
  let x = seed | 1;
  let n = 0, allocs = 0, frees = 0, failed = 0, errors = 0, maxHeld = 0;
  const half = ops > 2 ? ops >> 1 : 1;
  for (let i = 0; i <= ops; i++) {
    let limit = i == ops ? 0 : 8 + <i32>((<i64>i * maxHold) / half);
    if (limit > maxHold) limit = maxHold;
    x = xorshift(x);
    if (n < limit && (n == 0 || (x & 3) != 0)) {
      const h = poolAlloc(pool);
      if (h == 0) { failed++; continue; }
      allocs++;
      const b = poolBlockAddress(pool, h);
      const w0 = load<i32>(b, POOL_TAG_OWNER);
      if (w0 != 0 && w0 != POOL_TAG_FREE) errors++;
      store<i32>(b, owner, POOL_TAG_OWNER);
      store<i32>(b, allocs, POOL_TAG_SERIAL);
      store<i32>(b + (<usize>(words - 1) << 2), ~allocs ^ owner);
      store<i32>(held + (<usize>n << 2), h);
      n++;
      if (n > maxHeld) maxHeld = n;
    }
    // Free one (and at the end, everything).
    while (n > 0 && (n >= limit || (x & 3) == 0)) {
      const j = <i32>(<u32>(x >>> 1) % <u32>n);
      const h = load<i32>(held + (<usize>j << 2));
      n--;
      store<i32>(held + (<usize>j << 2), load<i32>(held + (<usize>n << 2)));
      const b = poolBlockAddress(pool, h);
      errors += ownerCheck(b, words, owner);
      store<i32>(b, POOL_TAG_FREE, POOL_TAG_OWNER);
      if (poolFree(pool, h) != 0) errors++;
      frees++;
      if (limit != 0) break;
    }
  }
  store<i32>(out, allocs, 0);
  store<i32>(out, frees, 4);
  store<i32>(out, failed, 8);
  store<i32>(out, errors, 12);
  store<i32>(out, maxHeld, 16);
  return errors;
}

/** Tests: 0 if the root word `w` names a whole record of its generation (reclaim-layout.ts), else 1. */
export function checkRecord(pool: usize, w: i32): i32 {
  const block = poolBlockAddress(pool, w & 0xffff);
  const w0 = load<i32>(block);
  if ((w0 & 0xffff) != (w >>> 16)) return 1;
  let check = RECLAIM_REC_SEED ^ w0;
  for (let i = 1; i < RECLAIM_REC_WORDS - 1; i++) {
    const v = load<i32>(block + (<usize>i << 2));
    if (v != w0 * RECLAIM_REC_MIX + i) return 1;
    check ^= v;
  }
  if (load<i32>(block + (<usize>(RECLAIM_REC_WORDS - 1) << 2)) != check) return 1;
  return i32(atomic.load<i32>(block) != w0); // still the same generation after the whole read
}

/**
 * Tests: `iterations` EBR reads of all `nRoots` root words at `roots` (each iteration one guard),
 * validating every record. Returns the validation failures.
 */
export function ebrReadRecords(domain: usize, p: i32, pool: usize, roots: usize, nRoots: i32, iterations: i32): i32 {
  let failures = 0;
  for (let it = 0; it < iterations; it++) {
    ebrEnter(domain, p);
    for (let r = 0; r < nRoots; r++) {
      const w = atomic.load<i32>(roots + (<usize>r << 2));
      if (w != 0) failures += checkRecord(pool, w);
    }
    ebrExit(domain, p);
  }
  return failures;
}

/**
 * Tests: `iterations` hazard-pointer lookups of a random root (xorshift32 from seed), each
 * protected in hazard slot 0 and validated. Returns the validation failures.
 */
export function hpReadRecords(domain: usize, p: i32, pool: usize, roots: usize, nRoots: i32, iterations: i32, seed: i32): i32 {
  let failures = 0;
  let x = seed | 1;
  for (let it = 0; it < iterations; it++) {
    x = xorshift(x);
    const source = roots + (<usize>(<u32>x % <u32>nRoots) << 2);
    const w = hpProtect(domain, p, 0, source, 0xffff);
    if (w != 0) failures += checkRecord(pool, w);
    hpClear(domain, p, 0);
  }
  return failures;
}

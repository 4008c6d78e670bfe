// The order-id index: open addressing with linear probing, at most half full, over three arrays:
// a tag byte per slot (0 empty, else 7 bits of the hash + 1), the i64 key, and the order's u64
// handle. Deletion shifts later entries back (no tombstones), so churn never degrades probing.
// The SIMD build compares 16 tags per instruction; the scalar build, one. Both find the same
// entry: the layout and probe order are identical, only the comparison width differs.
import { TAGS, KEYS, VALS, INDEX_MASK, INDEX_SHIFT } from './arena';

@inline function homeOf(key: i64): u32 {
  return <u32>((<u64>key * 0x9e3779b97f4a7c15) >> INDEX_SHIFT);
}

@inline function tagOf(key: i64): u8 {
  return <u8>((((<u64>key * 0x9e3779b97f4a7c15) >> 20) & 0x7f) + 1);
}

/** Position of key in the table, or -1. */
export function findPos(key: i64): i32 {
  const tag = tagOf(key);
  let pos = homeOf(key);
  if (ASC_FEATURE_SIMD) {
    const want = i8x16.splat(<i8>tag);
    const zero = i8x16.splat(0);
    while (pos + 16 <= INDEX_MASK + 1) {
      const group = v128.load(TAGS + <usize>pos);
      const empties = <u32>i8x16.bitmask(i8x16.eq(group, zero));
      let hits = <u32>i8x16.bitmask(i8x16.eq(group, want));
      // Only tags before the first empty slot belong to this probe run.
      if (empties != 0) hits &= (<u32>1 << ctz(empties)) - 1;
      while (hits != 0) {
        const at = pos + ctz(hits);
        if (load<i64>(KEYS + (<usize>at << 3)) == key) return <i32>at;
        hits &= hits - 1;
      }
      if (empties != 0) return -1;
      pos += 16;
    }
    pos &= INDEX_MASK; // the run reaches the table's end: finish it one slot at a time
  }
  while (true) {
    const t = load<u8>(TAGS + <usize>pos);
    if (t == 0) return -1;
    if (t == tag && load<i64>(KEYS + (<usize>pos << 3)) == key) return <i32>pos;
    pos = (pos + 1) & INDEX_MASK;
  }
}

export function lookup(key: i64): u64 {
  const pos = findPos(key);
  return pos < 0 ? <u64>-1 : load<u64>(VALS + (<usize>pos << 3));
}

/** Inserts a key known to be absent. */
export function insert(key: i64, handle: u64): void {
  let pos = homeOf(key);
  while (load<u8>(TAGS + <usize>pos) != 0) pos = (pos + 1) & INDEX_MASK;
  store<u8>(TAGS + <usize>pos, tagOf(key));
  store<i64>(KEYS + (<usize>pos << 3), key);
  store<u64>(VALS + (<usize>pos << 3), handle);
}

export function setHandle(pos: i32, handle: u64): void {
  store<u64>(VALS + (<usize>pos << 3), handle);
}

/** Removes the entry at pos, shifting back later entries of the run whose home allows it. */
export function removeAt(pos: i32): void {
  let hole = <u32>pos;
  let j = hole;
  while (true) {
    j = (j + 1) & INDEX_MASK;
    if (load<u8>(TAGS + <usize>j) == 0) break;
    const key = load<i64>(KEYS + (<usize>j << 3));
    const home = homeOf(key);
    // Move j into the hole unless j's home lies cyclically in (hole, j].
    if (((j - home) & INDEX_MASK) >= ((j - hole) & INDEX_MASK)) {
      store<u8>(TAGS + <usize>hole, load<u8>(TAGS + <usize>j));
      store<i64>(KEYS + (<usize>hole << 3), key);
      store<u64>(VALS + (<usize>hole << 3), load<u64>(VALS + (<usize>j << 3)));
      hole = j;
    }
  }
  store<u8>(TAGS + <usize>hole, 0);
}

export function remove(key: i64): void {
  const pos = findPos(key);
  if (pos >= 0) removeAt(pos);
}

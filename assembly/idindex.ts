// The order-id index: open addressing with linear probing, at most half full, over two arrays:
// a tag byte per slot (0 empty, else 7 bits of the hash + 1) and a 16-byte entry (the i64 key
// and the order's u64 handle side by side: one cache line visit per hit). Deletion shifts later
// entries back (no tombstones), so churn never degrades probing.
// The home slot is checked first, one tag at a time: at this load most lookups end there. If the
// run goes on, the SIMD build compares the next 16 tags per instruction, the scalar build one at
// a time. Both find the same entry: layout and probe order are identical.
// While a live-book reader is registered (batch-gate.ts), a removal that shifts entries back runs
// inside a write section (H_INDEX_SEQ odd), so that a reader thread's lookup can tell a miss from
// a lookup that raced an entry being moved (livebook.ts); inserts and removals that move nothing
// need none (their comments).
import { A, TAGS, ENTRIES, INDEX_MASK, INDEX_SHIFT, H_INDEX_SEQ } from './arena';
import { guarded } from './batch-gate';
import { orderPtr, O_INDEX_POS } from './orders';
import { ID_HASH_MULTIPLIER_HI, ID_HASH_MULTIPLIER_LO } from './layout';

const MULTIPLIER: u64 = (<u64>ID_HASH_MULTIPLIER_HI << 32) | <u64>ID_HASH_MULTIPLIER_LO;

@inline function keyAt(pos: u32): i64 {
  return load<i64>(ENTRIES + (<usize>pos << 4));
}
@inline function handleAt(pos: u32): u64 {
  return load<u64>(ENTRIES + (<usize>pos << 4), 8);
}

@inline function homeOf(key: i64): u32 {
  return <u32>((<u64>key * MULTIPLIER) >> INDEX_SHIFT);
}

@inline function tagOf(key: i64): u8 {
  return <u8>((((<u64>key * MULTIPLIER) >> 20) & 0x7f) + 1);
}

/** Position of key in the table, or -1. */
export function findPos(key: i64): i32 {
  const tag = tagOf(key);
  let pos = homeOf(key);
  const first = load<u8>(TAGS + <usize>pos);
  if (first == 0) return -1;
  if (first == tag && keyAt(pos) == key) return <i32>pos;
  pos = (pos + 1) & INDEX_MASK;
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
        if (keyAt(at) == key) return <i32>at;
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
    if (t == tag && keyAt(pos) == key) return <i32>pos;
    pos = (pos + 1) & INDEX_MASK;
  }
}

export function lookup(key: i64): u64 {
  const pos = findPos(key);
  return pos < 0 ? <u64>-1 : handleAt(<u32>pos);
}

// @ts-ignore: decorator
@inline function changing(): void {
  if (ASC_FEATURE_THREADS && guarded) store<u32>(A, load<u32>(A, H_INDEX_SEQ) + 1, H_INDEX_SEQ);
}

/**
 * Inserts a key known to be absent; the order (the handle's slot) learns its position. No write
 * section: an insert only fills the empty slot that ends the new key's probe run, which no other
 * key's run passes through, so a reader's lookup of another key cannot miss because of it; a
 * lookup of this key that sees the entry half written finds the old key or a stale handle there,
 * which the reader's generation and id checks refuse (livebook.ts order()).
 */
export function insert(key: i64, handle: u64): void {
  let pos = homeOf(key);
  while (load<u8>(TAGS + <usize>pos) != 0) pos = (pos + 1) & INDEX_MASK;
  store<u8>(TAGS + <usize>pos, tagOf(key));
  store<i64>(ENTRIES + (<usize>pos << 4), key);
  store<u64>(ENTRIES + (<usize>pos << 4), handle, 8);
  store<u32>(orderPtr(<u32>handle) + O_INDEX_POS, pos);
}

/**
 * Removes the entry at pos, shifting back later entries of the run whose home allows it; each
 * moved entry's order is told its new position, so removal never needs a lookup. The write
 * section opens only if an entry moves: clearing a tag with no move behind it changes no other
 * key's probe run (every later entry of the run has its home after pos), so a reader's lookup of
 * another key cannot miss because of it. At this table's load most removals move nothing.
 */
export function removeAt(pos: u32): void {
  let hole = pos;
  let j = hole;
  let moved = false;
  while (true) {
    j = (j + 1) & INDEX_MASK;
    if (load<u8>(TAGS + <usize>j) == 0) break;
    const key = keyAt(j);
    const home = homeOf(key);
    // Move j into the hole unless j's home lies cyclically in (hole, j].
    if (((j - home) & INDEX_MASK) >= ((j - hole) & INDEX_MASK)) {
      if (!moved) {
        changing();
        moved = true;
      }
      store<u8>(TAGS + <usize>hole, load<u8>(TAGS + <usize>j));
      const handle = handleAt(j);
      store<i64>(ENTRIES + (<usize>hole << 4), key);
      store<u64>(ENTRIES + (<usize>hole << 4), handle, 8);
      store<u32>(orderPtr(<u32>handle) + O_INDEX_POS, hole);
      hole = j;
    }
  }
  store<u8>(TAGS + <usize>hole, 0);
  if (moved) changing();
}

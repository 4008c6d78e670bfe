// Words the matcher shares with reader threads (the readers' epoch, their announcements and
// hazards). In the threads builds these accesses are atomic (sequentially consistent, one model
// with JS Atomics); the scalar build has no atomics and no other threads, so the same code
// compiles to plain loads and stores there (ASC_FEATURE_THREADS is a compile-time constant).

// @ts-ignore: decorator
@inline export function loadShared(at: usize): u32 {
  if (ASC_FEATURE_THREADS) return atomic.load<u32>(at);
  return load<u32>(at);
}

// @ts-ignore: decorator
@inline export function storeShared(at: usize, value: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(at, value);
  else store<u32>(at, value);
}

// @ts-ignore: decorator
@inline export function loadShared8(at: usize): u8 {
  if (ASC_FEATURE_THREADS) return atomic.load<u8>(at);
  return load<u8>(at);
}

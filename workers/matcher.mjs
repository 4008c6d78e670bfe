// Bootstrap of a sharded-engine matching worker (src/shard/matcher-worker.ts): worker threads do
// not inherit the parent's `--import tsx`, so this plain .mjs registers tsx, then imports the
// TypeScript. Started by ShardedEngine.create() with the shard's regions in workerData.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/shard/matcher-worker.ts');
}

// Bootstrap of the live-book stress test's reader thread (test/live-book-stress.test.ts): worker
// threads do not inherit `--import tsx`, so this registers tsx, then imports the TypeScript.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./live-reader-worker.ts');
}

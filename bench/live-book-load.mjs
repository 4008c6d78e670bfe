// Bootstrap of bench/live-book.ts's reader thread: registers tsx, then imports the TypeScript.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./live-book-load.ts');
}

// Runs a test file's tests once per gateway I/O path (node:net and io_uring, docs/PROTOCOL.md),
// each path as its own uvu suite. Where the io_uring path cannot work (no native helper, io_uring
// disabled), its suite is not registered and one line says why.
import { suite } from 'uvu';
import type { IoKind } from '../../src/gateway/transport.js';
import { uringUnavailable } from '../../src/gateway/choose-io.js';

type Body = () => unknown | Promise<unknown>;

export interface IoTest {
  (name: string, body: Body): void;
  after(body: Body): void;
  run(): void;
  /** The path of the test running now. */
  readonly io: IoKind;
}

/** The I/O paths this machine can test, with a printed line for a skipped one. */
export function ioPathsUnderTest(file: string): IoKind[] {
  const why = uringUnavailable();
  if (why === undefined) return ['net', 'uring'];
  console.log(`${file}: SKIPPING the io_uring variant (${why}); testing io: net only`);
  return ['net'];
}

/** A `test` that registers every test in one suite per I/O path. */
export function testOnEveryIo(file: string): IoTest {
  const paths = ioPathsUnderTest(file);
  const suites = paths.map((io) => [io, suite(`${file} (io: ${io})`)] as const);
  let current: IoKind = paths[0];
  const t = ((name: string, body: Body) => {
    for (const [io, s] of suites) s(name, () => { current = io; return body(); });
  }) as IoTest;
  t.after = (body) => {
    for (const [, s] of suites) s.after(body);
  };
  t.run = () => {
    for (const [, s] of suites) s.run();
  };
  Object.defineProperty(t, 'io', { get: () => current });
  return t;
}

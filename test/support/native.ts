// The native helper's tests: an absent addon FAILS them, unless CLOB_NATIVE_OPTIONAL=1 (a machine
// that cannot build it), where they pass as no-ops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { native, nativeLoadError, type NativeAddon } from '../../src/native.js';

export const nativeOptional = process.env.CLOB_NATIVE_OPTIONAL === '1';

/** Defines an addon test on uvu's default suite. */
export function withNative(name: string, fn: (n: NativeAddon) => void | Promise<void>): void {
  test(name, async () => {
    if (!native) {
      if (nativeOptional) return;
      assert.unreachable(`native helper missing: ${nativeLoadError}`);
      return;
    }
    await fn(native);
  });
}

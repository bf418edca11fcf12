/**
 * The native implementation for tests that compare it with its JS twin. Without the addon those tests skip, unless
 * TEI_ROUTER_REQUIRE_NATIVE=1 (CI's native pass), where a missing addon fails them.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

import { nativeImpl, nativeStatus } from '../../src/native/index.js';
import type { KernelImpl } from '../../src/native/index.js';

export const REQUIRE_NATIVE = process.env.TEI_ROUTER_REQUIRE_NATIVE === '1';

/** The native implementation, or null after skipping the test (fails instead when it is required). */
export function needNative(t: TestContext): KernelImpl | null {
  if (nativeImpl) return nativeImpl;
  if (REQUIRE_NATIVE) {
    assert.fail(`TEI_ROUTER_REQUIRE_NATIVE=1 but the native addon is not loaded (${nativeStatus().reason})`);
  }
  t.skip('native addon not built');
  return null;
}

/**
 * Facade over the native addon and its pure-JS twins. The rest of the code
 * imports kernels from here, never from ./binding.js or ./fallback.js directly.
 *
 * Each export is bound once, at import time, to the native implementation when
 * the addon loads, else to the JS twin; both give bit-identical results and
 * identical errors (test/unit/native/). `jsImpl` / `nativeImpl` expose both
 * sides explicitly for tests and benchmarks.
 */
import { loadNative } from './binding.js';
import * as fallback from './fallback.js';

/** One implementation of every kernel (native or JS). */
export interface KernelImpl {
  /** Normalise in place each row of a row-major `data.length / dim` x `dim` matrix to unit L2 length. */
  readonly l2NormalizeRows: (data: Float32Array, dim: number) => void;
}

export const jsImpl: KernelImpl = Object.freeze({
  l2NormalizeRows: fallback.l2NormalizeRows,
});

const addon = loadNative();

/** The native implementation, or null when the addon is disabled or not available. */
export const nativeImpl: KernelImpl | null = addon
  ? Object.freeze({
      l2NormalizeRows: addon.l2NormalizeRows,
    })
  : null;

const impl: KernelImpl = nativeImpl ?? jsImpl;

export const l2NormalizeRows: (data: Float32Array, dim: number) => void = impl.l2NormalizeRows;

export { checkRowShape } from './fallback.js';
export { nativeStatus } from './binding.js';
export type { NativeStatus } from './binding.js';

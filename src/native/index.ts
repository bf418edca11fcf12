/**
 * Facade over the native addon and its pure-JS twins. The rest of the code
 * imports kernels from here, never from ./binding.js or ./fallback.js directly.
 *
 * Each export is bound once, at import time, to the native implementation when
 * the addon loads and the operation is in NATIVE_OPS, else to the JS twin; both give bit-identical results and
 * identical errors (test/unit/native/). `jsImpl` / `nativeImpl` expose both
 * sides explicitly for tests and benchmarks.
 */
import { loadNative, nativeStatus } from './binding.js';
import * as fallback from './fallback.js';
import type { F32Rows } from './fallback.js';
import type { QuantizedDtype } from '../codec/output-dtype.js';

/** One implementation of every kernel (native or JS). */
export interface KernelImpl {
  /** Normalise in place each row of a row-major `data.length / dim` x `dim` matrix to unit L2 length. */
  readonly l2NormalizeRows: (data: Float32Array, dim: number) => void;
  /** TEI's /embed answer body (UTF-8 JSON bytes) into a row-major Float32Array; see fallback.parseF32Rows. */
  readonly parseF32Rows: (body: Uint8Array, out?: Float32Array, rowOffset?: number) => F32Rows;
  /** A row-major matrix as TEI's /embed JSON text `[[f, ...], ...]`; see fallback.formatF32Rows. */
  readonly formatF32Rows: (data: Float32Array, dim: number) => Buffer;
  /** A row-major f32 matrix quantized to float16 / int8 / uint8 / packed bits; see fallback.quantizeRows. */
  readonly quantizeRows: (data: Float32Array, dim: number, dtype: QuantizedDtype) => Uint8Array;
}

export const jsImpl: KernelImpl = Object.freeze({
  l2NormalizeRows: fallback.l2NormalizeRows,
  parseF32Rows: fallback.parseF32Rows,
  formatF32Rows: fallback.formatF32Rows,
  quantizeRows: fallback.quantizeRows,
});

const addon = loadNative();

/** The native implementation, or null when the addon is disabled or not available. */
export const nativeImpl: KernelImpl | null = addon
  ? Object.freeze({
      l2NormalizeRows: addon.l2NormalizeRows,
      parseF32Rows: addon.parseF32Rows,
      formatF32Rows: addon.formatF32Rows,
      quantizeRows: addon.quantizeRows,
    })
  : null;

export type KernelName = keyof KernelImpl;

/**
 * The operations bound to the addon when it loads: only those measured at least 2x faster than their JS twin
 * (`npm run bench:micro`, median JS/native per round, 1-10,000 rows of 384/768/1024 dims, on the 2-core dev VM):
 * parseF32Rows 2.7-5.3x, formatF32Rows 1.7-3.7x (1.7-1.8x only at 10,000 rows, where both write ~100 MB);
 * quantizeRows from 32 x 768 rows up float16 1.7-5.7x, int8 4.3-9.2x, uint8 2.9-6.9x, binary 5.2-28x, but not
 * below (see QUANTIZE_NATIVE_MIN_VALUES). l2NormalizeRows stays on its JS twin (1.1-1.9x): the bit-exact contract
 * keeps its sum one sequential chain of double additions, which bounds the C++ loop nearly as much as the JS one.
 * The native twin stays built and tested (it is what tests, benchmarks and the sanitizer run call).
 */
const NATIVE_OPS: ReadonlySet<KernelName> = new Set<KernelName>([
  'parseF32Rows',
  'formatF32Rows',
  'quantizeRows',
]);

function bind<K extends KernelName>(name: K): KernelImpl[K] {
  return nativeImpl && NATIVE_OPS.has(name) ? nativeImpl[name] : jsImpl[name];
}

export const l2NormalizeRows: KernelImpl['l2NormalizeRows'] = bind('l2NormalizeRows');
export const parseF32Rows: KernelImpl['parseF32Rows'] = bind('parseF32Rows');
export const formatF32Rows: KernelImpl['formatF32Rows'] = bind('formatF32Rows');
/**
 * quantizeRows takes the native path only for inputs of at least this many values: below it the call's fixed cost
 * dominates and the JS twin is as fast (one row: 0.6-1.5x; 32 x 384: 1.2-1.7x, binary 4.7x).
 */
export const QUANTIZE_NATIVE_MIN_VALUES = 16384;
const quantizeNative = bind('quantizeRows');

/** `native` for Float32Array inputs of at least `minValues` values, else `js` (which also reports bad arguments). */
export function bySize(
  native: KernelImpl['quantizeRows'],
  js: KernelImpl['quantizeRows'],
  minValues: number,
): KernelImpl['quantizeRows'] {
  if (native === js) return js;
  return (data, dim, dtype) =>
    data instanceof Float32Array && data.length >= minValues
      ? native(data, dim, dtype)
      : js(data, dim, dtype);
}

export const quantizeRows: KernelImpl['quantizeRows'] = bySize(
  quantizeNative,
  jsImpl.quantizeRows,
  QUANTIZE_NATIVE_MIN_VALUES,
);
const impl: KernelImpl = { l2NormalizeRows, parseF32Rows, formatF32Rows, quantizeRows: quantizeNative };

/** Which implementation each operation is bound to. */
export const kernelPaths: Readonly<Record<KernelName, 'native' | 'js'>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(jsImpl) as KernelName[]).map((k) => [k, impl[k] === jsImpl[k] ? 'js' : 'native']),
  ) as Record<KernelName, 'native' | 'js'>,
);

/** The startup log's line: the path each operation uses, and why the addon is not in use when it is not. */
export function kernelSummary(): string {
  const ops = (Object.keys(kernelPaths) as KernelName[])
    .map((k) =>
      k === 'quantizeRows' && kernelPaths[k] === 'native'
        ? `${k}=native(from ${QUANTIZE_NATIVE_MIN_VALUES} values)`
        : `${k}=${kernelPaths[k]}`,
    )
    .join(' ');
  const status = nativeStatus();
  return status.loaded
    ? `tei-router: native addon loaded (${status.path}): ${ops}`
    : `tei-router: native addon not in use (${status.reason}): ${ops}`;
}

export { checkRowShape } from './fallback.js';
export { nativeStatus } from './binding.js';
export type { NativeStatus } from './binding.js';
export type { F32Rows } from './fallback.js';

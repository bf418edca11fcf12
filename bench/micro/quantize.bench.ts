/**
 * Micro benchmark: quantizeRows (a row-major Float32Array → a new Uint8Array of float16 / int8 / uint8 / packed-bit
 * rows), native addon (native/quantize_rows.cc) vs JS twin (src/native/fallback.ts), per dtype.
 *
 *   node --import tsx bench/micro/quantize.bench.ts [--rows=1,32,1000,10000] [--dims=384,768,1024] [--budget-ms=250]
 *     [--dtypes=float16,int8,uint8,binary]
 *
 * Inputs are unit-length Gaussian embeddings. For each dtype and shape, native and JS run alternately in the same
 * process (timing.ts timePair; each case bounded by the budget, or by 3 rounds when one call outlasts it). Reports
 * median time per call, ns per row and MB/s of f32 input read, and the median of per-round JS/native ratios. Prints
 * a table and one JSON line ({"bench":"quantize",...}). Without the addon only the JS column is measured.
 */
import { pathToFileURL } from 'node:url';

import type { QuantizedDtype } from '../../src/codec/output-dtype.js';
import { jsImpl, nativeImpl, nativeStatus } from '../../src/native/index.js';
import { embeddingRows, numbersArg, pairTable, timeGrid } from './timing.js';
import type { GridResult } from './timing.js';

const DTYPES: readonly QuantizedDtype[] = ['float16', 'int8', 'uint8', 'binary'];

export type QuantizeCase = GridResult<{ dtype: QuantizedDtype; inputBytes: number; outputBytes: number }>;

export interface QuantizeResult {
  bench: 'quantize';
  native: boolean;
  nativeReason?: string;
  cases: QuantizeCase[];
}

export function run(
  rowsList: readonly number[] = [1, 32, 1000, 10000],
  dims: readonly number[] = [384, 768, 1024],
  budgetMs = 250,
  dtypes: readonly QuantizedDtype[] = DTYPES,
): QuantizeResult {
  const status = nativeStatus();
  const quantizeRows = jsImpl.quantizeRows;
  const nat = nativeImpl?.quantizeRows ?? null;
  const cases = timeGrid(rowsList, dims, budgetMs, (rows, dim) => {
    const data = embeddingRows(rows, dim, rows * 31 + dim);
    const inputBytes = data.byteLength;
    return dtypes.map((dtype) => ({
      name: `${dtype} ${rows}x${dim}`,
      js: () => quantizeRows(data, dim, dtype),
      native: nat && (() => nat(data, dim, dtype)),
      bytes: inputBytes,
      fields: { dtype, inputBytes, outputBytes: quantizeRows(data, dim, dtype).length },
    }));
  });
  return {
    bench: 'quantize',
    native: status.loaded,
    ...(status.loaded ? {} : { nativeReason: status.reason }),
    cases,
  };
}

export function formatTable(result: QuantizeResult): string {
  return pairTable('f32 in', result.cases, (c) => c.inputBytes);
}

/** `--dtypes=a,b` from argv (each one of DTYPES), or all of them. */
function dtypesArg(): readonly QuantizedDtype[] {
  const arg = process.argv.find((a) => a.startsWith('--dtypes='));
  if (!arg) return DTYPES;
  const names = arg.slice('--dtypes='.length).split(',');
  for (const n of names) {
    if (!(DTYPES as readonly string[]).includes(n)) throw new Error(`--dtypes: unknown dtype ${n}`);
  }
  return names as QuantizedDtype[];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run(
    numbersArg('rows', [1, 32, 1000, 10000]),
    numbersArg('dims', [384, 768, 1024]),
    numbersArg('budget-ms', [250])[0],
    dtypesArg(),
  );
  console.log(`quantizeRows (native ${result.native ? 'loaded' : `not loaded: ${result.nativeReason}`})`);
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

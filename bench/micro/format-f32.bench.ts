/**
 * Micro benchmark: formatF32Rows (a row-major Float32Array → TEI's /embed JSON text `[[f, ...], ...]` as a Buffer,
 * every f32 in ryu's shortest form), native addon vs JS twin (formatF32 per value from src/codec/f32-text.ts, the
 * rows joined into one string, then its bytes).
 *
 *   node --import tsx bench/micro/format-f32.bench.ts [--rows=1,32,1000,10000] [--dims=384,768,1024] [--budget-ms=500]
 *
 * Inputs are unit-length Gaussian embeddings. For each shape, native and JS run alternately in the same process
 * (timing.ts timePair; each case bounded by the budget, or by 3 rounds when one call outlasts it). Reports median
 * time per call, ns per row and MB/s of JSON text written, and the median of per-round JS/native ratios. Prints a
 * table and one JSON line ({"bench":"format-f32",...}). Without the addon only the JS column is measured.
 */
import { pathToFileURL } from 'node:url';

import { jsImpl, nativeImpl, nativeStatus } from '../../src/native/index.js';
import { embeddingRows, numbersArg, pairTable, timeGrid } from './timing.js';
import type { GridResult } from './timing.js';

export type FormatF32Case = GridResult<{ textBytes: number }>;

export interface FormatF32Result {
  bench: 'format-f32';
  native: boolean;
  nativeReason?: string;
  cases: FormatF32Case[];
}

export function run(
  rowsList: readonly number[] = [1, 32, 1000, 10000],
  dims: readonly number[] = [384, 768, 1024],
  budgetMs = 500,
): FormatF32Result {
  const status = nativeStatus();
  const js = jsImpl.formatF32Rows;
  const nat = nativeImpl?.formatF32Rows ?? null;
  const cases = timeGrid(rowsList, dims, budgetMs, (rows, dim) => {
    const data = embeddingRows(rows, dim, rows * 31 + dim);
    const textBytes = (nat ?? js)(data, dim).length;
    return {
      js: () => js(data, dim),
      native: nat && (() => nat(data, dim)),
      bytes: textBytes,
      fields: { textBytes },
    };
  });
  return {
    bench: 'format-f32',
    native: status.loaded,
    ...(status.loaded ? {} : { nativeReason: status.reason }),
    cases,
  };
}

export function formatTable(result: FormatF32Result): string {
  return pairTable('text', result.cases, (c) => c.textBytes);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run(
    numbersArg('rows', [1, 32, 1000, 10000]),
    numbersArg('dims', [384, 768, 1024]),
    numbersArg('budget-ms', [500])[0],
  );
  console.log(`formatF32Rows (native ${result.native ? 'loaded' : `not loaded: ${result.nativeReason}`})`);
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

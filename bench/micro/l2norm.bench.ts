/**
 * Micro benchmark: l2NormalizeRows (each row of a row-major f32 matrix scaled to unit L2 length, in place), native
 * addon vs JS twin.
 *
 *   node --import tsx bench/micro/l2norm.bench.ts [--rows=1,32,1000,10000] [--dims=384,768,1024] [--budget-ms=250]
 *
 * Inputs are Gaussian embedding-like rows (re-normalising unit rows is the same work). For each shape, native and JS
 * run alternately in the same process (timing.ts timePair; each case bounded by the budget, or by 3 rounds when one
 * call outlasts it). Reports median time per call, ns per row and MB/s of f32 data, and the median of per-round
 * JS/native ratios. Prints a table and one JSON line ({"bench":"l2norm",...}). Without the addon only the JS column
 * is measured.
 */
import { pathToFileURL } from 'node:url';

import { jsImpl, nativeImpl, nativeStatus } from '../../src/native/index.js';
import { embeddingRows, numbersArg, pairTable, timeGrid } from './timing.js';
import type { GridResult } from './timing.js';

export type L2NormCase = GridResult<{ bytes: number }>;

export interface L2NormResult {
  bench: 'l2norm';
  native: boolean;
  nativeReason?: string;
  cases: L2NormCase[];
}

export function run(
  rowsList: readonly number[] = [1, 32, 1000, 10000],
  dims: readonly number[] = [384, 768, 1024],
  budgetMs = 250,
): L2NormResult {
  const status = nativeStatus();
  const js = jsImpl.l2NormalizeRows;
  const nat = nativeImpl?.l2NormalizeRows ?? null;
  const cases = timeGrid(rowsList, dims, budgetMs, (rows, dim) => {
    const base = embeddingRows(rows, dim, rows * 7919 + dim);
    const jsData = base.slice();
    const natData = base.slice();
    return {
      js: () => js(jsData, dim),
      native: nat && (() => nat(natData, dim)),
      bytes: base.byteLength,
      fields: { bytes: base.byteLength },
    };
  });
  return {
    bench: 'l2norm',
    native: status.loaded,
    ...(status.loaded ? {} : { nativeReason: status.reason }),
    cases,
  };
}

export function formatTable(result: L2NormResult): string {
  return pairTable('f32', result.cases, (c) => c.bytes);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run(
    numbersArg('rows', [1, 32, 1000, 10000]),
    numbersArg('dims', [384, 768, 1024]),
    numbersArg('budget-ms', [250])[0],
  );
  console.log(`l2NormalizeRows (native ${result.native ? 'loaded' : `not loaded: ${result.nativeReason}`})`);
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

/**
 * Micro benchmark: parseF32Rows (TEI's /embed answer body `[[f32, ...], ...]` as UTF-8 bytes → row-major
 * Float32Array), native addon vs JS twin (Buffer → string, JSON.parse, fill: the HTTP backend's former path).
 *
 *   node --import tsx bench/micro/parse-f32.bench.ts [--rows=1,32,1000,10000] [--dims=384,768,1024] [--budget-ms=500]
 *
 * Bodies are unit-length Gaussian embeddings written exactly as TEI writes them (ryu text, ~11 bytes per value).
 * For each shape, native and JS run alternately in the same process (timing.ts timePair; each case bounded by the
 * budget, or by 3 rounds when one call outlasts it). Reports median time per call, ns per row and MB/s of JSON
 * text, and the median of per-round JS/native ratios. Prints a table and one JSON line ({"bench":"parse-f32",...}).
 * Without the addon only the JS column is measured.
 */
import { pathToFileURL } from 'node:url';

import { jsImpl, nativeImpl, nativeStatus } from '../../src/native/index.js';
import { embeddingRows, numbersArg, pairTable, timeGrid } from './timing.js';
import type { GridResult } from './timing.js';

export type ParseF32Case = GridResult<{ bodyBytes: number }>;

export interface ParseF32Result {
  bench: 'parse-f32';
  native: boolean;
  nativeReason?: string;
  cases: ParseF32Case[];
}

export function run(
  rowsList: readonly number[] = [1, 32, 1000, 10000],
  dims: readonly number[] = [384, 768, 1024],
  budgetMs = 500,
): ParseF32Result {
  const status = nativeStatus();
  const format = (nativeImpl ?? jsImpl).formatF32Rows;
  const js = jsImpl.parseF32Rows;
  const nat = nativeImpl?.parseF32Rows ?? null;
  const cases = timeGrid(rowsList, dims, budgetMs, (rows, dim) => {
    const body = format(embeddingRows(rows, dim, rows * 31 + dim), dim);
    const check = js(body);
    if (check.rows !== rows || check.dim !== dim) throw new Error(`bad body for ${rows}x${dim}`);
    return {
      js: () => js(body),
      native: nat && (() => nat(body)),
      bytes: body.length,
      fields: { bodyBytes: body.length },
    };
  });
  return {
    bench: 'parse-f32',
    native: status.loaded,
    ...(status.loaded ? {} : { nativeReason: status.reason }),
    cases,
  };
}

export function formatTable(result: ParseF32Result): string {
  return pairTable('body', result.cases, (c) => c.bodyBytes);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run(
    numbersArg('rows', [1, 32, 1000, 10000]),
    numbersArg('dims', [384, 768, 1024]),
    numbersArg('budget-ms', [500])[0],
  );
  console.log(`parseF32Rows (native ${result.native ? 'loaded' : `not loaded: ${result.nativeReason}`})`);
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

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
 * a table and one JSON line ({"bench":"quantize",...}). The native function is taken from the addon itself
 * (loadNative()); without it (or without its quantizeRows) only the JS column is measured.
 */
import { pathToFileURL } from 'node:url';

import type { QuantizedDtype } from '../../src/codec/output-dtype.js';
import { loadNative, nativeStatus } from '../../src/native/binding.js';
import { quantizeRows } from '../../src/native/fallback.js';
import { embeddingRows, fmtNs, numbersArg, textTable, timePair } from './timing.js';
import type { PairTiming } from './timing.js';

type Quantize = (data: Float32Array, dim: number, dtype: QuantizedDtype) => Uint8Array;

const DTYPES: readonly QuantizedDtype[] = ['float16', 'int8', 'uint8', 'binary'];

export interface QuantizeCase extends PairTiming {
  name: string;
  dtype: QuantizedDtype;
  rows: number;
  dim: number;
  inputBytes: number;
  outputBytes: number;
  jsNsPerRow: number;
  nativeNsPerRow: number | null;
  jsMBps: number;
  nativeMBps: number | null;
}

export interface QuantizeResult {
  bench: 'quantize';
  native: boolean;
  nativeReason?: string;
  cases: QuantizeCase[];
}

function nativeQuantize(): { fn: Quantize | null; reason?: string } {
  const addon = loadNative() as unknown as { quantizeRows?: Quantize } | null;
  if (typeof addon?.quantizeRows === 'function') return { fn: addon.quantizeRows };
  return { fn: null, reason: addon ? 'the addon lacks quantizeRows' : nativeStatus().reason };
}

export function run(
  rowsList: readonly number[] = [1, 32, 1000, 10000],
  dims: readonly number[] = [384, 768, 1024],
  budgetMs = 250,
  dtypes: readonly QuantizedDtype[] = DTYPES,
): QuantizeResult {
  const { fn: nat, reason } = nativeQuantize();
  const cases: QuantizeCase[] = [];
  for (const dim of dims) {
    for (const rows of rowsList) {
      const data = embeddingRows(rows, dim, rows * 31 + dim);
      const inputBytes = data.byteLength;
      for (const dtype of dtypes) {
        const outputBytes = quantizeRows(data, dim, dtype).length;
        const t = timePair(() => quantizeRows(data, dim, dtype), nat && (() => nat(data, dim, dtype)), {
          budgetMs,
          batchMs: 5,
          minRounds: 3,
          maxRounds: 400,
        });
        const mbps = (ns: number) => inputBytes / 1e6 / (ns / 1e9);
        cases.push({
          name: `${dtype} ${rows}x${dim}`,
          dtype,
          rows,
          dim,
          inputBytes,
          outputBytes,
          ...t,
          jsNsPerRow: t.jsNsPerCall / rows,
          nativeNsPerRow: t.nativeNsPerCall === null ? null : t.nativeNsPerCall / rows,
          jsMBps: mbps(t.jsNsPerCall),
          nativeMBps: t.nativeNsPerCall === null ? null : mbps(t.nativeNsPerCall),
        });
      }
    }
  }
  return { bench: 'quantize', native: nat !== null, ...(nat ? {} : { nativeReason: reason }), cases };
}

export function formatTable(result: QuantizeResult): string {
  const mb = (x: number | null) => (x === null ? '-' : x.toFixed(0));
  const size = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
  return textTable(
    [
      'case',
      'f32 in',
      'rounds',
      'native/call',
      'js/call',
      'native ns/row',
      'js ns/row',
      'native MB/s',
      'js MB/s',
      'js/native',
    ],
    result.cases.map((c) => [
      c.name,
      size(c.inputBytes),
      `${c.rounds}x${c.callsPerRound}`,
      fmtNs(c.nativeNsPerCall),
      fmtNs(c.jsNsPerCall),
      c.nativeNsPerRow === null ? '-' : c.nativeNsPerRow.toFixed(0),
      c.jsNsPerRow.toFixed(0),
      mb(c.nativeMBps),
      mb(c.jsMBps),
      c.ratioJsOverNative === null ? '-' : `${c.ratioJsOverNative.toFixed(2)}x`,
    ]),
  );
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

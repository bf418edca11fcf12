/**
 * Micro benchmark: cutting a worker task's rows into backend batches (src/workers/cut.ts) by token budget and
 * batch size, for 32, 1,000 and 4,096 rows with log-normal token counts.
 *
 *   node --import tsx bench/micro/cut.bench.ts
 *
 * Prints a table (median µs per call, ns per row) and one JSON line ({"bench":"cut",...}).
 */
import { cutBatches } from '../../src/workers/cut.js';
import { timeCase } from './timing.js';

function tokens(n: number, seed: number): Int32Array {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Int32Array.from({ length: n }, () =>
    Math.max(
      3,
      Math.round(
        Math.exp(
          Math.log(24) + 0.6 * Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd()),
        ),
      ),
    ),
  );
}

const cases = [32, 1000, 4096].map((n) => {
  const t = tokens(n, n);
  const rows = Array.from({ length: n }, (_, i) => i);
  return timeCase(`${n} rows`, n, 1000, () =>
    cutBatches(rows, t, { maxBatchTokens: 16384, maxClientBatchSize: 32 }),
  );
});
console.table(
  cases.map((c) => ({ case: c.name, 'median µs': c.medianUs.toFixed(1), 'ns/row': c.nsPerItem.toFixed(0) })),
);
console.log(JSON.stringify({ bench: 'cut', cases }));

/** Shared timing for micro benchmarks: warm up, then time single calls until a budget is spent; report the median. */
export interface TimedCase {
  name: string;
  rounds: number;
  medianUs: number;
  /** Items (texts, rows) per call. */
  items: number;
  nsPerItem: number;
  itemsPerS: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function timeCase(name: string, items: number, budgetMs: number, fn: () => unknown): TimedCase {
  const warmEnd = performance.now() + Math.min(200, budgetMs / 5);
  for (let i = 0; i < 2 || performance.now() < warmEnd; i++) fn();
  const times: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < deadline && times.length < 10_000)) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  const medianUs = median(times);
  return {
    name,
    rounds: times.length,
    medianUs,
    items,
    nsPerItem: (medianUs * 1e3) / items,
    itemsPerS: items / (medianUs / 1e6),
  };
}

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

/** Native vs JS timed side by side (see timePair). */
export interface PairTiming {
  rounds: number;
  callsPerRound: number;
  jsNsPerCall: number;
  nativeNsPerCall: number | null;
  /** Median over rounds of (JS ns / native ns); > 1 means native is faster. */
  ratioJsOverNative: number | null;
}

export interface PairOptions {
  /** Time budget for the timed rounds, ms. */
  budgetMs: number;
  /** Target duration of one timed batch of calls, ms. */
  batchMs: number;
  minRounds: number;
  maxRounds: number;
}

function timeCalls(fn: () => unknown, calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - t0);
}

/**
 * Times two implementations of one operation alternately in the same process (order flipped every round): warm
 * up, size a batch of calls to about batchMs on the slower (JS) side, then run rounds until the budget is spent
 * (at least minRounds, so a case whose single call outlasts the budget stays bounded at minRounds + 1 calls).
 * Reports median ns per call of each and the median per-round ratio.
 */
export function timePair(js: () => unknown, native: (() => unknown) | null, opts: PairOptions): PairTiming {
  const warmEnd = performance.now() + Math.min(100, opts.budgetMs / 10);
  let warmCalls = 0;
  let warmNs = 0;
  do {
    warmNs += timeCalls(js, 1);
    if (native) timeCalls(native, 1);
    warmCalls++;
  } while (performance.now() < warmEnd || (warmCalls < 3 && warmNs < 50e6));
  const callsPerRound = Math.max(1, Math.round((opts.batchMs * 1e6) / Math.max(1, warmNs / warmCalls)));

  const jsNs: number[] = [];
  const natNs: number[] = [];
  const ratios: number[] = [];
  const deadline = performance.now() + opts.budgetMs;
  for (
    let round = 0;
    round < opts.maxRounds && (round < opts.minRounds || performance.now() < deadline);
    round++
  ) {
    let j: number;
    let n = NaN;
    if (native && round % 2 === 1) {
      n = timeCalls(native, callsPerRound);
      j = timeCalls(js, callsPerRound);
    } else {
      j = timeCalls(js, callsPerRound);
      if (native) n = timeCalls(native, callsPerRound);
    }
    jsNs.push(j / callsPerRound);
    if (native) {
      natNs.push(n / callsPerRound);
      ratios.push(j / n);
    }
  }
  return {
    rounds: jsNs.length,
    callsPerRound,
    jsNsPerCall: median(jsNs),
    nativeNsPerCall: native ? median(natNs) : null,
    ratioJsOverNative: native ? median(ratios) : null,
  };
}

/** Deterministic embedding-like rows: Gaussian values (mulberry32 + Box-Muller), each row of unit L2 length. */
export function embeddingRows(rows: number, dim: number, seed: number): Float32Array {
  const m = new Float32Array(rows * dim);
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      m[i] = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      sum += m[i] * m[i];
    }
    const norm = Math.sqrt(sum);
    for (let i = r * dim; i < (r + 1) * dim; i++) m[i] /= norm;
  }
  return m;
}

/** `--name=a,b,c` from argv as numbers, or the default. */
export function numbersArg(name: string, fallback: readonly number[]): readonly number[] {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (!arg) return fallback;
  return arg
    .slice(name.length + 3)
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
}

export function fmtNs(ns: number | null): string {
  if (ns === null) return '-';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** A right-aligned text table (first column left-aligned). */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A native-vs-JS timing per row, and in MB/s of the case's `bytes`. */
export interface RowPairTiming extends PairTiming {
  jsNsPerRow: number;
  nativeNsPerRow: number | null;
  jsMBps: number;
  nativeMBps: number | null;
}

function perRow(t: PairTiming, rows: number, bytes: number): RowPairTiming {
  const mbps = (ns: number) => bytes / 1e6 / (ns / 1e9);
  return {
    ...t,
    jsNsPerRow: t.jsNsPerCall / rows,
    nativeNsPerRow: t.nativeNsPerCall === null ? null : t.nativeNsPerCall / rows,
    jsMBps: mbps(t.jsNsPerCall),
    nativeMBps: t.nativeNsPerCall === null ? null : mbps(t.nativeNsPerCall),
  };
}

/**
 * The table of a native-vs-JS micro benchmark: one line per case, its size (`sizeHeader`, bytes from `sizeOf`),
 * time per call and per row, MB/s and the median JS/native ratio of each.
 */
export function pairTable<C extends RowPairTiming & { name: string }>(
  sizeHeader: string,
  cases: readonly C[],
  sizeOf: (c: C) => number,
): string {
  const mb = (x: number | null) => (x === null ? '-' : x.toFixed(0));
  const size = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
  return textTable(
    [
      'case',
      sizeHeader,
      'rounds',
      'native/call',
      'js/call',
      'native ns/row',
      'js ns/row',
      'native MB/s',
      'js MB/s',
      'js/native',
    ],
    cases.map((c) => [
      c.name,
      size(sizeOf(c)),
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

/** One case of a native-vs-JS grid: the two calls to time, the bytes one call handles (for MB/s), its own fields. */
export interface GridCase<X extends object> {
  /** Default `${rows}x${dim}`. */
  name?: string;
  js: () => unknown;
  native: (() => unknown) | null;
  bytes: number;
  fields: X;
}

export type GridResult<X extends object> = X & RowPairTiming & { name: string; rows: number; dim: number };

/**
 * Times every case of a rows × dims grid side by side (timePair: 5 ms batches, 3 to 400 rounds within `budgetMs`
 * each), with ns per row and MB/s of each case's bytes. `setup` builds the case(s) of one shape.
 */
export function timeGrid<X extends object>(
  rowsList: readonly number[],
  dims: readonly number[],
  budgetMs: number,
  setup: (rows: number, dim: number) => GridCase<X> | GridCase<X>[],
): GridResult<X>[] {
  const out: GridResult<X>[] = [];
  for (const dim of dims) {
    for (const rows of rowsList) {
      const made = setup(rows, dim);
      for (const c of Array.isArray(made) ? made : [made]) {
        const t = timePair(c.js, c.native, { budgetMs, batchMs: 5, minRounds: 3, maxRounds: 400 });
        out.push({ ...c.fields, name: c.name ?? `${rows}x${dim}`, rows, dim, ...perRow(t, rows, c.bytes) });
      }
    }
  }
  return out;
}

/**
 * Micro benchmark: l2NormalizeRows, native addon vs JS twin.
 *
 *   node --import tsx bench/micro/l2norm.bench.ts
 *
 * For each matrix shape, native and JS run alternately in the same process over
 * N rounds (order flipped every round; each case bounded to about 1 s). Each
 * round times a batch of calls per implementation; we report the median ns per
 * call of each and the median of the per-round JS/native ratios. Prints a table
 * and one JSON line ({"bench":"l2norm",...}). `run()` returns the same results
 * for a harness. Without the addon only the JS column is measured.
 */
import { pathToFileURL } from 'node:url';

import { jsImpl, nativeImpl, nativeStatus } from '../../src/native/index.js';

export interface L2NormCase {
  name: string;
  rows: number;
  dim: number;
  rounds: number;
  callsPerRound: number;
  jsNsPerCall: number;
  nativeNsPerCall: number | null;
  /** Median over rounds of (JS ns / native ns); > 1 means native is faster. */
  ratioJsOverNative: number | null;
}

export interface L2NormResult {
  bench: 'l2norm';
  native: boolean;
  nativeReason?: string;
  cases: L2NormCase[];
}

export interface RunOptions {
  /** Shapes as [rows, dim]. */
  shapes?: readonly (readonly [number, number])[];
  /** Time budget per case, ms (default 1000). */
  budgetMs?: number;
  /** Target duration of one timed batch, ms (default 5). */
  batchMs?: number;
  /** Max rounds per case (default 400). */
  maxRounds?: number;
}

const DEFAULT_SHAPES = [
  [32, 384],
  [1024, 384],
  [4096, 1024],
] as const;

type Fn = (data: Float32Array, dim: number) => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic embedding-like data (mulberry32, centred uniform). */
function makeMatrix(rows: number, dim: number, seed: number): Float32Array {
  const m = new Float32Array(rows * dim);
  let a = seed >>> 0;
  for (let i = 0; i < m.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    m[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5) * 4;
  }
  return m;
}

/** ns for `calls` back-to-back calls. Re-normalising already unit rows is the same work. */
function timeBatch(fn: Fn, data: Float32Array, dim: number, calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(data, dim);
  return Number(process.hrtime.bigint() - t0);
}

function benchCase(rows: number, dim: number, opts: Required<Omit<RunOptions, 'shapes'>>): L2NormCase {
  const js: Fn = jsImpl.l2NormalizeRows;
  const nat: Fn | null = nativeImpl?.l2NormalizeRows ?? null;
  const base = makeMatrix(rows, dim, rows * 7919 + dim);
  const jsData = base.slice();
  const natData = base.slice();

  // Warm up (JIT tiers, caches) and calibrate the batch size on the slower side (JS).
  const warmEnd = performance.now() + Math.min(100, opts.budgetMs / 10);
  let warmCalls = 0;
  let warmNs = 0;
  while (performance.now() < warmEnd || warmCalls < 3) {
    warmNs += timeBatch(js, jsData, dim, 1);
    if (nat) timeBatch(nat, natData, dim, 1);
    warmCalls++;
  }
  const perCallNs = Math.max(1, warmNs / warmCalls);
  const callsPerRound = Math.max(1, Math.round((opts.batchMs * 1e6) / perCallNs));

  const jsNs: number[] = [];
  const natNs: number[] = [];
  const ratios: number[] = [];
  const deadline = performance.now() + opts.budgetMs;
  for (let round = 0; round < opts.maxRounds && (round < 5 || performance.now() < deadline); round++) {
    let j: number;
    let n = NaN;
    if (nat && round % 2 === 1) {
      n = timeBatch(nat, natData, dim, callsPerRound);
      j = timeBatch(js, jsData, dim, callsPerRound);
    } else {
      j = timeBatch(js, jsData, dim, callsPerRound);
      if (nat) n = timeBatch(nat, natData, dim, callsPerRound);
    }
    jsNs.push(j / callsPerRound);
    if (nat) {
      natNs.push(n / callsPerRound);
      ratios.push(j / n);
    }
  }

  return {
    name: `${rows}x${dim}`,
    rows,
    dim,
    rounds: jsNs.length,
    callsPerRound,
    jsNsPerCall: median(jsNs),
    nativeNsPerCall: nat ? median(natNs) : null,
    ratioJsOverNative: nat ? median(ratios) : null,
  };
}

export function run(options: RunOptions = {}): L2NormResult {
  const opts = {
    budgetMs: options.budgetMs ?? 1000,
    batchMs: options.batchMs ?? 5,
    maxRounds: options.maxRounds ?? 400,
  };
  const status = nativeStatus();
  const cases = (options.shapes ?? DEFAULT_SHAPES).map(([rows, dim]) => benchCase(rows, dim, opts));
  return {
    bench: 'l2norm',
    native: status.loaded,
    ...(status.loaded ? {} : { nativeReason: status.reason }),
    cases,
  };
}

function fmtNs(ns: number | null): string {
  if (ns === null) return '-';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function formatTable(result: L2NormResult): string {
  const header = ['case', 'rounds', 'calls/round', 'native/call', 'js/call', 'js/native'];
  const rows = result.cases.map((c) => [
    c.name,
    String(c.rounds),
    String(c.callsPerRound),
    fmtNs(c.nativeNsPerCall),
    fmtNs(c.jsNsPerCall),
    c.ratioJsOverNative === null ? '-' : `${c.ratioJsOverNative.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run();
  console.log(`l2NormalizeRows (native ${result.native ? 'loaded' : `not loaded: ${result.nativeReason}`})`);
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

/**
 * Micro benchmark: the Arrow IPC codec (src/codec/arrow.ts).
 *
 *   node --import tsx bench/micro/arrow.bench.ts
 *
 * Cases: decode of 10k short texts (uncompressed and LZ4_FRAME input) into one TextBatch, and encode of
 * 10k × 384 embeddings (uncompressed and LZ4_FRAME output). Each case warms up, then times single calls until its
 * time budget (default 1 s, at least 5 rounds) is spent; we report the median ms per call and the throughput.
 * Prints a table and one JSON line ({"bench":"arrow",...}); `run()` returns the same results for a harness.
 */
import { pathToFileURL } from 'node:url';

import { CompressionType, RecordBatchStreamWriter, Table, Utf8, vectorFromArray } from 'apache-arrow';

import { decodeArrowTexts, encodeArrowEmbeddings, ensureArrowCodecs } from '../../src/codec/arrow.js';

export interface ArrowBenchCase {
  name: string;
  rounds: number;
  medianMs: number;
  /** Input bytes (decode) or output bytes (encode) of one call. */
  bytes: number;
  mbPerS: number;
}

export interface ArrowBenchResult {
  bench: 'arrow';
  cases: ArrowBenchCase[];
}

export interface RunOptions {
  /** Time budget per case, ms (default 1000). */
  budgetMs?: number;
  rows?: number;
  dim?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeCase(name: string, bytes: number, budgetMs: number, fn: () => unknown): ArrowBenchCase {
  const warmEnd = performance.now() + Math.min(200, budgetMs / 5);
  for (let i = 0; i < 2 || performance.now() < warmEnd; i++) fn();
  const times: number[] = [];
  const deadline = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < deadline && times.length < 1000)) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const medianMs = median(times);
  return { name, rounds: times.length, medianMs, bytes, mbPerS: bytes / 1e6 / (medianMs / 1e3) };
}

function textsIpc(rows: number, compression: CompressionType | null): Uint8Array {
  const texts = Array.from({ length: rows }, (_, i) => `query ${i}: how do I embed short texts quickly?`);
  const w = new RecordBatchStreamWriter({ compressionType: compression });
  w.write(new Table({ text: vectorFromArray(texts, new Utf8()) }).batches[0]);
  w.finish();
  return w.toUint8Array(true);
}

/** Embedding-like floats (unit-ish normal values): they compress about as badly as real ones. */
function makeVectors(rows: number, dim: number): Float32Array {
  const m = new Float32Array(rows * dim);
  let a = 12345;
  for (let i = 0; i < m.length; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    m[i] = (a / 4294967296 - 0.5) / Math.sqrt(dim);
  }
  return m;
}

export function run(options: RunOptions = {}): ArrowBenchResult {
  const budgetMs = options.budgetMs ?? 1000;
  const rows = options.rows ?? 10_000;
  const dim = options.dim ?? 384;
  ensureArrowCodecs();
  const cases: ArrowBenchCase[] = [];
  for (const [label, comp] of [
    ['none', null],
    ['lz4', CompressionType.LZ4_FRAME],
  ] as const) {
    const ipc = textsIpc(rows, comp);
    cases.push(
      timeCase(`decode ${rows} texts (${label})`, ipc.length, budgetMs, () => decodeArrowTexts(ipc)),
    );
  }
  const vectors = makeVectors(rows, dim);
  for (const compression of [null, 'lz4'] as const) {
    const args = { vectors, rows, dim, validity: null, ids: null, compression };
    const bytes = encodeArrowEmbeddings(args).length;
    cases.push(
      timeCase(`encode ${rows}x${dim} (${compression ?? 'none'})`, bytes, budgetMs, () =>
        encodeArrowEmbeddings(args),
      ),
    );
  }
  return { bench: 'arrow', cases };
}

export function formatTable(result: ArrowBenchResult): string {
  const header = ['case', 'rounds', 'median', 'bytes', 'MB/s'];
  const rows = result.cases.map((c) => [
    c.name,
    String(c.rounds),
    `${c.medianMs.toFixed(2)} ms`,
    String(c.bytes),
    c.mbPerS.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = run();
  console.log(formatTable(result));
  console.log(JSON.stringify(result));
}

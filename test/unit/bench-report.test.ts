/** The bench's report: headline tables and target lines computed from measured figures (no load is run here). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { markdown, svg, targetLines } from '../../bench/e2e/report.js';
import type { Measured } from '../../bench/e2e/scenarios.js';

const lat = (p50: number, p99: number) => ({ p50, p90: p50, p99, p999: p99, mean: p50, n: 100 });
const row = (scenario: string, target: Measured['target'], extra: Partial<Measured> = {}): Measured => ({
  scenario,
  target,
  concurrency: 1,
  requests: 100,
  errors: 0,
  seconds: 1,
  requestsPerSecond: 100,
  embeddingsPerRequest: 1,
  latencyMs: lat(1, 2),
  ...extra,
});

describe('bench report', () => {
  const results: Measured[] = [
    row('grpc_single', 'direct', { latencyMs: lat(0.2, 0.5) }),
    row('grpc_single', 'router', {
      latencyMs: lat(0.3, 0.9),
      cpuPerRequestUs: 80,
      cpuPerEmbeddingUs: 80,
      cpuSeconds: 0.008,
    }),
    row('grpc_single_c64', 'router', {
      concurrency: 64,
      cpuPerRequestUs: 30,
      cpuPerEmbeddingUs: 30,
      cpuSeconds: 1,
    }),
    row('grpc_single_c64', 'nginx', {
      concurrency: 64,
      cpuPerRequestUs: 25,
      cpuPerEmbeddingUs: 25,
      cpuSeconds: 1,
    }),
    row('arrow_bulk_768_grpc_backend', 'router', {
      embeddingsPerRequest: 1000,
      cpuPerRequestUs: 2500,
      cpuPerEmbeddingUs: 2.5,
    }),
    row('memory_repeat_1', 'router', { rssPeakBytes: 100 * 2 ** 20, cpuPerRequestUs: 1 }),
    row('memory_repeat_2', 'router', { rssPeakBytes: 105 * 2 ** 20, cpuPerRequestUs: 1 }),
  ];

  it('computes added latency, CPU ratios and RSS flatness against the targets', () => {
    const lines = targetLines(results);
    assert.match(lines[0], /p50: 100 µs \(target ≤ 150 µs: met\)/);
    assert.match(lines[1], /2\.50 µs router CPU per embedding \(target ≤ 3 µs: met\)/);
    assert.match(lines[2], /router 30 µs CPU\/request vs nginx 25 µs = 1\.20× \(target ≤ 1\.5×: met\)/);
    assert.match(lines[3], /100 MiB then 105 MiB \(\+5\.0%; target ±10%: met\)/);
  });

  it('writes the latency table with added µs, the CPU table, and an SVG with one bar per percentile', () => {
    const md = markdown(
      { startedAt: 'now', quick: true, node: 'v20', cores: 2, cpuModel: 'cpu', nginx: null, native: true },
      results,
    );
    assert.match(
      md,
      /\| grpc_single \| 0\.200 \| 0\.500 \| 0\.300 \| 0\.900 \| 100 \| 400 \| n\/a \| n\/a \|/,
    );
    assert.match(md, /\| grpc_single_c64 \| nginx \| 64 \| 100 \|/);
    const chart = svg(results);
    assert.equal((chart.match(/<rect /g) ?? []).length, 2 * 3);
    assert.match(chart, /^<svg /);
  });
});

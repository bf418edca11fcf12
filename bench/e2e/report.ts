/** The bench's outputs: every figure as JSON, a markdown summary with the headline tables, and an SVG chart. */
import type { Measured } from './scenarios.js';

export interface RunInfo {
  startedAt: string;
  quick: boolean;
  node: string;
  cores: number;
  cpuModel: string;
  nginx: string | null;
  native: boolean;
}

const f = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);
const us = (ms: number) => ms * 1000;

function find(results: Measured[], scenario: string, target: string): Measured | undefined {
  return results.find((r) => r.scenario === scenario && r.target === target);
}

export interface Targets {
  lines: string[];
}

export function targetLines(results: Measured[]): string[] {
  const lines: string[] = [];
  const g = (t: string) => find(results, 'grpc_single', t);
  const d = g('direct');
  const r = g('router');
  if (d && r) {
    const added = us(r.latencyMs.p50 - d.latencyMs.p50);
    lines.push(
      `added latency, single-text unary gRPC, p50: ${f(added, 0)} µs (target ≤ 150 µs: ${added <= 150 ? 'met' : 'missed'})`,
    );
  }
  const bulk = find(results, 'arrow_bulk_768_grpc_backend', 'router');
  if (bulk?.cpuPerEmbeddingUs !== undefined) {
    lines.push(
      `Arrow bulk (768-d, 1,000-text batches, gRPC backend): ${f(bulk.cpuPerEmbeddingUs, 2)} µs router CPU per embedding (target ≤ 3 µs: ${bulk.cpuPerEmbeddingUs <= 3 ? 'met' : 'missed'})`,
    );
  }
  const c64 = find(results, 'grpc_single_c64', 'router');
  const n64 = find(results, 'grpc_single_c64', 'nginx');
  if (c64?.cpuPerRequestUs !== undefined) {
    if (n64?.cpuPerRequestUs !== undefined) {
      const ratio = c64.cpuPerRequestUs / n64.cpuPerRequestUs;
      lines.push(
        `single-text gRPC at 64 clients: router ${f(c64.cpuPerRequestUs, 0)} µs CPU/request vs nginx ${f(n64.cpuPerRequestUs, 0)} µs = ${f(ratio, 2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'missed'})`,
      );
    } else {
      lines.push(
        `single-text gRPC at 64 clients: router ${f(c64.cpuPerRequestUs, 0)} µs CPU/request (nginx not installed: no ratio)`,
      );
    }
  }
  const m1 = find(results, 'memory_repeat_1', 'router')?.rssPeakBytes;
  const m2 = find(results, 'memory_repeat_2', 'router')?.rssPeakBytes;
  if (m1 && m2) {
    const change = (m2 / m1 - 1) * 100;
    lines.push(
      `router RSS peak over a repeated scenario: ${f(m1 / 2 ** 20, 0)} MiB then ${f(m2 / 2 ** 20, 0)} MiB (${change >= 0 ? '+' : ''}${f(change, 1)}%; target ±10%: ${Math.abs(change) <= 10 ? 'met' : 'missed'})`,
    );
  }
  return lines;
}

export function markdown(info: RunInfo, results: Measured[]): string {
  const out: string[] = [];
  out.push(`# tei-router bench ${info.quick ? '(quick)' : ''}`, '');
  out.push(
    `${info.startedAt}; Node ${info.node}; ${info.cores} cores (${info.cpuModel}); native addon ${info.native ? 'loaded' : 'not loaded'}; nginx ${info.nginx ?? 'not installed'}.`,
    'Backends: `tei-router sim` with no simulated GPU time, so figures are transport and routing only. Every run side by side in one process tree; medians of interleaved rounds.',
    '',
  );
  out.push('## Added latency (concurrency 1)', '');
  out.push(
    '| scenario | direct p50 ms | direct p99 ms | router p50 ms | router p99 ms | added p50 µs | added p99 µs | nginx added p50 µs | nginx added p99 µs |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of ['grpc_single', 'http_single', 'http_batch100']) {
    const d = find(results, s, 'direct');
    const r = find(results, s, 'router');
    const n = find(results, s, 'nginx');
    if (!d || !r) continue;
    out.push(
      `| ${s} | ${f(d.latencyMs.p50, 3)} | ${f(d.latencyMs.p99, 3)} | ${f(r.latencyMs.p50, 3)} | ${f(r.latencyMs.p99, 3)} | ${f(us(r.latencyMs.p50 - d.latencyMs.p50), 0)} | ${f(us(r.latencyMs.p99 - d.latencyMs.p99), 0)} | ${n ? f(us(n.latencyMs.p50 - d.latencyMs.p50), 0) : 'n/a'} | ${n ? f(us(n.latencyMs.p99 - d.latencyMs.p99), 0) : 'n/a'} |`,
    );
  }
  out.push('', '## CPU and memory of the measured process', '');
  out.push(
    '| scenario | target | clients | req/s | p50 ms | p99 ms | CPU µs/request | CPU µs/embedding | RSS peak MiB | errors |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.cpuPerRequestUs === undefined) continue;
    out.push(
      `| ${r.scenario} | ${r.target} | ${r.concurrency} | ${f(r.requestsPerSecond, 0)} | ${f(r.latencyMs.p50, 3)} | ${f(r.latencyMs.p99, 3)} | ${f(r.cpuPerRequestUs, 1)} | ${f(r.cpuPerEmbeddingUs, 2)} | ${f((r.rssPeakBytes ?? 0) / 2 ** 20, 0)} | ${r.errors} |`,
    );
  }
  out.push('', '## Targets', '', ...targetLines(results).map((l) => `- ${l}`), '');
  const errors = results.filter((r) => r.errors > 0);
  if (errors.length) {
    out.push(
      '## Errors',
      '',
      ...errors.map((r) => `- ${r.scenario} / ${r.target}: ${r.errors} (${r.firstError})`),
      '',
    );
  }
  return out.join('\n');
}

/** Grouped bars of p50 / p90 / p99 per latency scenario and target, on a log scale. */
export function svg(results: Measured[]): string {
  const rows = results.filter((r) => ['grpc_single', 'http_single', 'http_batch100'].includes(r.scenario));
  const W = 900;
  const barH = 14;
  const groupGap = 18;
  const left = 230;
  const colors = { p50: '#4c78a8', p90: '#f58518', p99: '#e45756' } as const;
  const max = Math.max(...rows.map((r) => r.latencyMs.p99), 0.01);
  const min = Math.min(...rows.map((r) => r.latencyMs.p50).filter((x) => x > 0), 0.01);
  const lo = Math.log10(min) - 0.2;
  const hi = Math.log10(max) + 0.1;
  const x = (v: number) => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (W - left - 20);
  let y = 40;
  const parts: string[] = [];
  for (const r of rows) {
    parts.push(
      `<text x="${left - 8}" y="${y + barH * 1.8}" text-anchor="end" font-size="12">${r.scenario} · ${r.target}</text>`,
    );
    for (const p of ['p50', 'p90', 'p99'] as const) {
      const v = r.latencyMs[p];
      parts.push(
        `<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${barH - 2}" fill="${colors[p]}"/>`,
        `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 4}" font-size="10">${p} ${v.toFixed(3)} ms</text>`,
      );
      y += barH;
    }
    y += groupGap;
  }
  const H = y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Latency percentiles per scenario (ms, log scale; concurrency 1)</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

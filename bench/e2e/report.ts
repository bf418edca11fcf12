/** The bench's outputs: every figure as JSON, a markdown summary with the headline tables, and an SVG chart. */
import { DEFAULT_POLICY, NGINX_TARGET } from './fleet.js';
import type { FleetResult } from './fleet.js';
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
  lines.push(...nativeTargetLines(results));
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

/** Median of the per-round ratios a / b of two side-by-side rows' CPU (rounds paired in order). */
function roundRatio(a: Measured, b: Measured): number | undefined {
  const ra = a.roundCpuSeconds ?? [];
  const rb = b.roundCpuSeconds ?? [];
  const ratios = ra
    .slice(0, rb.length)
    .map((x, i) => x / rb[i])
    .filter(Number.isFinite);
  if (ratios.length === 0) return undefined;
  ratios.sort((x, y) => x - y);
  const mid = ratios.length >> 1;
  return ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
}

/**
 * The native addon's targets, from the bulk scenarios run side by side by the router with the addon and by one with
 * TEI_ROUTER_NATIVE=0: the JS path uses >= 2x the router CPU per embedding; an HTTP backend costs <= 1.5x a gRPC one.
 */
export function nativeTargetLines(results: Measured[]): string[] {
  const lines: string[] = [];
  for (const backend of ['grpc', 'http'] as const) {
    const scenario = `arrow_bulk_768_${backend}_backend`;
    const nat = find(results, scenario, 'router');
    const js = find(results, scenario, 'router_js');
    const ratio = nat && js ? roundRatio(js, nat) : undefined;
    if (nat?.cpuPerEmbeddingUs === undefined || js?.cpuPerEmbeddingUs === undefined || ratio === undefined)
      continue;
    lines.push(
      `Arrow bulk, ${backend.toUpperCase()} backend, native addon vs TEI_ROUTER_NATIVE=0: ${f(nat.cpuPerEmbeddingUs, 1)} vs ${f(js.cpuPerEmbeddingUs, 1)} µs router CPU per embedding, JS / native = ${f(ratio, 2)}× (median of ${nat.roundCpuSeconds?.length} rounds; target ≥ 2×: ${ratio >= 2 ? 'met' : 'missed'})`,
    );
  }
  const g = find(results, 'arrow_bulk_768_grpc_backend', 'router');
  const h = find(results, 'arrow_bulk_768_http_backend', 'router');
  if (g?.cpuPerEmbeddingUs !== undefined && h?.cpuPerEmbeddingUs !== undefined) {
    const ratio = h.cpuPerEmbeddingUs / g.cpuPerEmbeddingUs;
    lines.push(
      `Arrow bulk with the addon, HTTP backend / gRPC backend router CPU per embedding = ${f(ratio, 2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'missed'})`,
    );
  }
  return lines;
}

export function markdown(info: RunInfo, results: Measured[], fleet?: FleetResult): string {
  const out: string[] = [];
  out.push(`# tei-router bench ${info.quick ? '(quick)' : ''}`, '');
  out.push(
    `${info.startedAt}; Node ${info.node}; ${info.cores} cores (${info.cpuModel}); native addon ${info.native ? 'loaded' : 'not loaded'}; nginx ${info.nginx ?? 'not installed'}.`,
    '',
  );
  if (results.length) out.push(...scenarioTables(results));
  if (fleet) out.push(...fleetSection(fleet));
  const targets = [...targetLines(results), ...(fleet ? fleetTargetLines(fleet) : [])];
  out.push('## Targets', '', ...targets.map((l) => `- ${l}`), '');
  const errors = results.filter((r) => r.errors > 0);
  const fleetErrors = fleet?.steps.filter((s) => s.errors > 0) ?? [];
  if (errors.length || fleetErrors.length) {
    out.push(
      '## Errors',
      '',
      ...errors.map((r) => `- ${r.scenario} / ${r.target}: ${r.errors} (${r.firstError})`),
      ...fleetErrors.map(
        (s) => `- fleet / ${s.target} at ${f(s.offeredRps, 0)} req/s offered: ${s.errors} (${s.firstError})`,
      ),
      '',
    );
  }
  return out.join('\n');
}

/** The tables of the scenarios of scenarios.ts. */
function scenarioTables(results: Measured[]): string[] {
  const out: string[] = [];
  out.push(
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
  out.push('');
  return out;
}

const targetName = (t: string) => (t === NGINX_TARGET ? 'nginx round robin' : `router ${t}`);

/** The fleet scenario: every step, then throughput at each p99 target and the CPU the router used. */
function fleetSection(fl: FleetResult): string[] {
  const out: string[] = [];
  const w = fl.workload;
  out.push('## Fleet: balancing policies vs nginx round robin', '');
  out.push(
    `${fl.replicas} \`tei-router sim\` HTTP replicas with simulated GPU time (a forward batch takes ${fl.latency.batchBaseMs} ms + ${fl.latency.perTokenUs} µs per token${fl.latency.padded ? ', padded' : ''}; max_batch_tokens ${fl.maxBatchTokens}, max_client_batch_size ${fl.maxClientBatchSize}; ${fl.dim}-d vectors). ` +
      `Workload: seeded Poisson arrivals of POST /embed, ${f((1 - w.batchShare) * 100, 0)}% single texts (${f(w.singleMeanTokens, 0)} tokens on average), ${f(w.batchShare * 100, 0)}% batches of ${w.batchTexts[0]}-${w.batchTexts[1]} texts (${f(w.batchMeanTexts, 0)} texts of ${f(w.batchTextMeanTokens, 0)} tokens on average); ` +
      `offered rates are fractions of a nominal capacity of ${f(fl.nominalCapacityRps, 0)} req/s (the latency model's GPU time per request). ` +
      `Unloaded, directly at a replica: batch p50 ${f(fl.calibration.batchP50Ms, 0)} ms, p99 ${f(fl.calibration.batchP99Ms, 0)} ms; single text p50 ${f(fl.calibration.singleP50Ms, 1)} ms; ` +
      `p99 targets ${fl.p99TargetsMs.map((t) => `${t} ms`).join(' and ')}. ` +
      `${fl.nginx ? '' : 'nginx is not installed: no nginx rows. '}` +
      "Each step: open-loop arrivals for a fixed time, the targets one after another at each rate; latency runs from each request's scheduled arrival; achieved = answers between the first answer and the end of the arrivals, over that span; p99 over all requests (single and batch p99 apart); proxy CPU is the router's (or nginx's) own, in cores; machine busy is the share of all cores busy (other processes on the machine included).",
    '',
  );
  out.push(
    '| policy / proxy | offered req/s | achieved req/s | texts/s | p50 ms | p99 ms | single p99 ms | batch p99 ms | errors | proxy CPU cores | sims CPU cores | machine busy |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const order = [...new Set([DEFAULT_POLICY, ...fl.steps.map((s) => s.target)])];
  for (const t of order) {
    for (const s of fl.steps.filter((x) => x.target === t).sort((a, b) => a.offeredRps - b.offeredRps)) {
      out.push(
        `| ${targetName(s.target)} | ${f(s.offeredRps, 0)} | ${f(s.achievedRps, 1)} | ${f(s.textsPerSecond, 0)} | ${f(s.latencyMs.p50, 1)} | ${f(s.latencyMs.p99, 0)} | ${f(s.singleP99Ms, 0)} | ${f(s.batchP99Ms, 0)} | ${s.errors} | ${f(s.proxyCpuCores, 2)} | ${f(s.simsCpuCores, 2)} | ${f(s.machineBusy * 100, 0)}% |`,
      );
    }
  }
  out.push(
    '',
    'Throughput at a p99 target: where p99 crosses the target, interpolated between the highest step that kept p99 under it without errors and the next step (≥: every step kept it).',
    '',
  );
  for (const at of fl.atTarget) {
    const parts = at.results.map(
      (r) =>
        `${targetName(r.target)} ${r.lowerBound ? '≥ ' : ''}${f(r.rps, 1)} req/s (${f(r.textsPerSecond, 0)} texts/s)`,
    );
    const ratio = at.ratio !== null ? `; ${DEFAULT_POLICY} / nginx round robin = ${f(at.ratio, 2)}×` : '';
    out.push(`- throughput at p99 ≤ ${at.p99Ms} ms: ${parts.join(', ')}${ratio}`);
  }
  const routerSteps = fl.steps.filter((s) => s.proxy === 'router');
  if (routerSteps.length) {
    const cores = routerSteps.map((s) => s.proxyCpuCores);
    const share = routerSteps.map((s) => s.proxyCpuCores / (s.machineBusy * fl.cores));
    out.push(
      `- router CPU during its steps: ${f(Math.min(...cores), 2)}-${f(Math.max(...cores), 2)} cores of ${fl.cores} (${f(Math.min(...share) * 100, 0)}-${f(Math.max(...share) * 100, 0)}% of the CPU the machine used)`,
    );
  }
  out.push('');
  return out;
}

/** The fleet target: at equal p99, the default policy sustains ≥ 1.3× nginx round robin's throughput. */
export function fleetTargetLines(fl: FleetResult): string[] {
  return fl.atTarget.map((at) => {
    const head = `fleet, throughput at p99 ≤ ${at.p99Ms} ms`;
    const def = at.results.find((r) => r.target === DEFAULT_POLICY);
    if (!fl.nginx || !def)
      return `${head}: ${DEFAULT_POLICY} ${f(def?.rps, 1)} req/s (nginx not installed: no ratio)`;
    if (at.ratio !== null) {
      return `${head}: ${DEFAULT_POLICY} / nginx round robin = ${f(at.ratio, 2)}× (target ≥ 1.3×: ${at.ratio >= 1.3 ? 'met' : 'missed'})`;
    }
    if (def.rps === 0)
      return `${head}: neither ${DEFAULT_POLICY} nor nginx round robin kept it at any step: no ratio`;
    // nginx kept p99 under the target at no step: compare with its lowest step's offered rate
    const lowest = Math.min(...fl.steps.filter((s) => s.target === NGINX_TARGET).map((s) => s.offeredRps));
    const bound = def.rps / lowest;
    return `${head}: nginx round robin missed it at its lowest step (${f(lowest, 0)} req/s offered), ${DEFAULT_POLICY} ${f(def.rps, 1)} req/s: ratio > ${f(bound, 2)}× (target ≥ 1.3×: ${bound >= 1.3 ? 'met' : 'not shown'})`;
  });
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

/**
 * The scenarios of `npm run bench`, each measured side by side in one run: added latency (router vs direct to the
 * backend, and nginx as a plain proxy when installed), router CPU per request and per embedding from the router
 * process's own CPU time, and its peak RSS.
 */
import { encodeTextBatch } from '../../src/bench-client/arrow-batch.js';
import { generateTexts } from '../../src/bench-client/text-gen.js';
import { closedLoop, grpcCaller, httpCaller, percentiles } from './load.js';
import type { LoadResult, Percentiles } from './load.js';
import { rssSampler, totalCpu, withChildren } from './proc-stats.js';

/** `router_js`: a second router with TEI_ROUTER_NATIVE=0 (the pure-JS twins), in the bulk scenarios. */
export type Target = 'direct' | 'router' | 'router_js' | 'nginx';

export interface Measured {
  scenario: string;
  target: Target;
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  requestsPerSecond: number;
  embeddingsPerRequest: number;
  latencyMs: Percentiles;
  /** CPU seconds of the measured process (router or nginx) during the run; undefined for direct runs. */
  cpuSeconds?: number;
  cpuPerRequestUs?: number;
  cpuPerEmbeddingUs?: number;
  rssPeakBytes?: number;
  /** CPU seconds of the measured process in each side-by-side round (round order), when run in rounds. */
  roundCpuSeconds?: number[];
}

export interface Endpoints {
  direct: { grpc: string; http: string };
  router: { grpc: string; http: string; pid: number };
  /** The same router on the pure-JS path (TEI_ROUTER_NATIVE=0), for the bulk scenarios. */
  routerJs?: { grpc: string; pid: number };
  nginx?: { grpc: string; http: string; pid: number };
}

export interface Sizes {
  /** Requests per target in each latency scenario. */
  latencyRequests: number;
  batchRequests: number;
  /** Seconds per CPU scenario. */
  cpuSeconds: number;
  /** 1,000-text Arrow batches in the bulk scenario. */
  bulkBatches: number;
  rounds: number;
}

export const FULL: Sizes = {
  latencyRequests: 4000,
  batchRequests: 400,
  cpuSeconds: 6,
  bulkBatches: 40,
  rounds: 4,
};
export const QUICK: Sizes = {
  latencyRequests: 800,
  batchRequests: 100,
  cpuSeconds: 2.5,
  bulkBatches: 10,
  rounds: 2,
};

const texts = generateTexts(4096, { seed: 7, meanTokens: 16, maxTokens: 64 });

function summarize(
  scenario: string,
  target: Target,
  concurrency: number,
  embeddingsPerRequest: number,
  r: LoadResult,
  pid?: number,
  cpu?: number,
  rss?: number,
): Measured {
  const ok = r.requests - r.errors;
  const m: Measured = {
    scenario,
    target,
    concurrency,
    requests: r.requests,
    errors: r.errors,
    ...(r.firstError ? { firstError: r.firstError } : {}),
    seconds: r.seconds,
    requestsPerSecond: ok / r.seconds,
    embeddingsPerRequest,
    latencyMs: percentiles(r.latencies),
  };
  if (pid !== undefined && cpu !== undefined && ok > 0) {
    m.cpuSeconds = cpu;
    m.cpuPerRequestUs = (cpu / ok) * 1e6;
    m.cpuPerEmbeddingUs = (cpu / (ok * embeddingsPerRequest)) * 1e6;
    m.rssPeakBytes = rss;
  }
  return m;
}

/** One single-text tei.v1 EmbedRequest, cycling through the generated texts. */
const singleText = (i: number) => ({ inputs: texts[i % texts.length], truncate: true, normalize: true });

/** Single-text unary gRPC on `c` from `concurrency` clients for `seconds`, measured on `pid`. */
function timedSingleText(
  c: { call: (r: unknown) => Promise<unknown> },
  concurrency: number,
  seconds: number,
  pid: number,
) {
  return measured(pid, () =>
    closedLoop({
      concurrency,
      maxRequests: 2_000_000,
      maxSeconds: seconds,
      call: (i) => c.call(singleText(i)).then(() => undefined),
    }),
  );
}

/** Runs `load` against a measured process (router / nginx): its CPU delta and RSS peak around the run. */
async function measured(pid: number | undefined, load: () => Promise<LoadResult>) {
  if (pid === undefined) return { r: await load() };
  const pids = () => withChildren(pid);
  const before = totalCpu(pids());
  const sampler = rssSampler(pids);
  const r = await load();
  const rss = sampler.stop();
  return { r, cpu: totalCpu(pids()) - before, rss };
}

/** Interleaves rounds of each target so drift in the machine's speed hits all of them alike. */
async function sideBySide(
  scenario: string,
  targets: Array<{ target: Target; pid?: number; run: (n: number) => Promise<LoadResult> }>,
  total: number,
  rounds: number,
  embeddings: number,
  concurrency = 1,
): Promise<Measured[]> {
  const merged = new Map<Target, { parts: LoadResult[]; cpu: number; rounds: number[]; rss: number }>();
  for (let round = 0; round < rounds; round++) {
    // the order flips every round: neither target always runs on a machine the other has just warmed
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const { r, cpu, rss } = await measured(t.pid, () => t.run(Math.ceil(total / rounds)));
      const m = merged.get(t.target) ?? { parts: [], cpu: 0, rounds: [], rss: 0 };
      m.parts.push(r);
      m.cpu += cpu ?? 0;
      m.rounds.push(cpu ?? 0);
      m.rss = Math.max(m.rss, rss ?? 0);
      merged.set(t.target, m);
    }
  }
  return targets.map((t) => {
    const m = merged.get(t.target)!;
    const all: LoadResult = {
      requests: m.parts.reduce((s, p) => s + p.requests, 0),
      errors: m.parts.reduce((s, p) => s + p.errors, 0),
      firstError: m.parts.find((p) => p.firstError)?.firstError,
      seconds: m.parts.reduce((s, p) => s + p.seconds, 0),
      latencies: Float64Array.from(m.parts.flatMap((p) => Array.from(p.latencies))),
    };
    const out = summarize(
      scenario,
      t.target,
      concurrency,
      embeddings,
      all,
      t.pid,
      t.pid !== undefined ? m.cpu : undefined,
      m.rss,
    );
    return t.pid !== undefined ? { ...out, roundCpuSeconds: m.rounds } : out;
  });
}

export async function latencyScenarios(
  ep: Endpoints,
  size: Sizes,
  log: (s: string) => void,
): Promise<Measured[]> {
  const out: Measured[] = [];
  // single-text unary gRPC: tei.v1.Embed/Embed, the same RPC direct and through the router
  {
    log('latency: single-text unary gRPC, concurrency 1');
    const direct = grpcCaller('tei.v1.Embed', 'Embed', ep.direct.grpc);
    const router = grpcCaller('tei.v1.Embed', 'Embed', ep.router.grpc, 'grpc-model');
    const nginx = ep.nginx ? grpcCaller('tei.v1.Embed', 'Embed', ep.nginx.grpc) : undefined;
    const run = (c: { call: (r: unknown) => Promise<unknown> }) => (n: number) =>
      closedLoop({
        concurrency: 1,
        maxRequests: n,
        maxSeconds: 60,
        call: (i) => c.call(singleText(i)).then(() => undefined),
      });
    // warm up every path (connections, JIT, worker threads)
    for (const c of [direct, router, ...(nginx ? [nginx] : [])]) await run(c)(200);
    out.push(
      ...(await sideBySide(
        'grpc_single',
        [
          { target: 'direct', run: run(direct) },
          { target: 'router', pid: ep.router.pid, run: run(router) },
          ...(nginx ? [{ target: 'nginx' as const, pid: ep.nginx!.pid, run: run(nginx) }] : []),
        ],
        size.latencyRequests,
        size.rounds,
        1,
      )),
    );
    for (const c of [direct, router, nginx]) c?.close();
  }
  // single-text HTTP and a 100-text batch: POST /embed
  for (const [scenario, count, n] of [
    ['http_single', 1, size.latencyRequests],
    ['http_batch100', 100, size.batchRequests],
  ] as const) {
    log(`latency: ${scenario}, concurrency 1`);
    const direct = httpCaller(ep.direct.http, 1);
    const router = httpCaller(ep.router.http, 1);
    const nginx = ep.nginx ? httpCaller(ep.nginx.http, 1) : undefined;
    const body = (i: number) =>
      JSON.stringify({
        inputs:
          count === 1 ? texts[i % texts.length] : texts.slice((i * 100) % 3900, ((i * 100) % 3900) + 100),
      });
    const run = (c: typeof direct, headers?: Record<string, string>) => (k: number) =>
      closedLoop({
        concurrency: 1,
        maxRequests: k,
        maxSeconds: 60,
        call: (i) => c.post('/embed', body(i), headers),
      });
    const viaRouter = run(router, { 'x-model': 'http-model' });
    for (const r of [run(direct), viaRouter, ...(nginx ? [run(nginx)] : [])]) await r(count === 1 ? 200 : 20);
    out.push(
      ...(await sideBySide(
        scenario,
        [
          { target: 'direct', run: run(direct) },
          { target: 'router', pid: ep.router.pid, run: viaRouter },
          ...(nginx ? [{ target: 'nginx' as const, pid: ep.nginx!.pid, run: run(nginx) }] : []),
        ],
        n,
        size.rounds,
        count,
      )),
    );
    await Promise.all([direct.close(), router.close(), nginx?.close()]);
  }
  return out;
}

/** Router (and nginx) CPU per request for single-text unary gRPC at several concurrencies. */
export async function cpuScenarios(
  ep: Endpoints,
  size: Sizes,
  log: (s: string) => void,
): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const concurrency of [1, 16, 64]) {
    for (const t of [
      { target: 'router' as const, hostPort: ep.router.grpc, pid: ep.router.pid, model: 'grpc-model' },
      ...(ep.nginx
        ? [{ target: 'nginx' as const, hostPort: ep.nginx.grpc, pid: ep.nginx.pid, model: undefined }]
        : []),
    ]) {
      log(`cpu: single-text gRPC via ${t.target}, concurrency ${concurrency}`);
      const c = grpcCaller('tei.v1.Embed', 'Embed', t.hostPort, t.model);
      await closedLoop({
        concurrency,
        maxRequests: 500,
        maxSeconds: 5,
        call: (i) => c.call(singleText(i)).then(() => undefined),
      });
      const { r, cpu, rss } = await timedSingleText(c, concurrency, size.cpuSeconds, t.pid);
      c.close();
      out.push(summarize(`grpc_single_c${concurrency}`, t.target, concurrency, 1, r, t.pid, cpu, rss));
    }
  }
  return out;
}

/**
 * The Arrow bulk path: EmbedArrow, 1,000-text batches, 768-d, one request at a time (as tei-manager's client). With
 * `ep.routerJs`, the router on the pure-JS path runs the same batches side by side (rounds interleaved).
 */
export async function bulkScenarios(
  ep: Endpoints,
  size: Sizes,
  log: (s: string) => void,
): Promise<Measured[]> {
  const out: Measured[] = [];
  const batches = Array.from({ length: 4 }, (_, b) =>
    encodeTextBatch(texts.slice(b * 1000, b * 1000 + 1000), true),
  );
  const routers: Array<{ target: Target; grpc: string; pid: number }> = [
    { target: 'router', grpc: ep.router.grpc, pid: ep.router.pid },
    ...(ep.routerJs ? [{ target: 'router_js' as const, ...ep.routerJs }] : []),
  ];
  for (const [scenario, model] of [
    ['arrow_bulk_768_grpc_backend', 'bulk-grpc'],
    ['arrow_bulk_768_http_backend', 'bulk-http'],
  ] as const) {
    log(`bulk: ${scenario} via ${routers.map((r) => r.target).join(' and ')}`);
    const targets = routers.map((r) => {
      const c = grpcCaller('tei_multiplexer.v1.TeiMultiplexer', 'EmbedArrow', r.grpc);
      const call = (i: number) =>
        c
          .call({
            target: { model_id: model },
            arrow_ipc: batches[i % batches.length],
            normalize: true,
            truncate: true,
          })
          .then(() => undefined);
      return {
        target: r.target,
        pid: r.pid,
        client: c,
        run: (n: number) => closedLoop({ concurrency: 1, maxRequests: n, maxSeconds: 120, call }),
      };
    });
    for (const t of targets) await t.run(2); // warm-up
    out.push(...(await sideBySide(scenario, targets, size.bulkBatches, size.rounds, 1000)));
    for (const t of targets) t.client.close();
  }
  return out;
}

/** The same single-text scenario twice: the router's RSS peak should stay flat. */
export async function memoryScenario(
  ep: Endpoints,
  size: Sizes,
  log: (s: string) => void,
): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const rep of [1, 2]) {
    log(`memory: single-text gRPC at concurrency 16, run ${rep} of 2`);
    const c = grpcCaller('tei.v1.Embed', 'Embed', ep.router.grpc, 'grpc-model');
    const { r, cpu, rss } = await timedSingleText(c, 16, size.cpuSeconds, ep.router.pid);
    c.close();
    out.push(summarize(`memory_repeat_${rep}`, 'router', 16, 1, r, ep.router.pid, cpu, rss));
  }
  return out;
}

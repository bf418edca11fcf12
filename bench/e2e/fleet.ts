/**
 * The fleet scenario of `npm run bench` (`-- --only fleet` runs it alone): the router's balancing policies
 * (p2c_tokens, the default; least_requests; round_robin) and nginx round robin in front of the same 4
 * `tei-router sim` replicas that simulate GPU time. Question: at equal p99, how much throughput does each sustain?
 *
 * Setup (all on 127.0.0.1, every process its own, all stopped at the end):
 * - 4 HTTP sims with the GPU latency model `LATENCY` (a forward batch takes base + per-token × Σ tokens; TEI's
 *   queue: one FIFO, batches cut at max_batch_tokens, one batch prefetched while one runs), max_batch_tokens 16384,
 *   max_client_batch_size 512 (so that nginx can pass the largest batches unchanged), max_concurrent_requests 4096
 *   (see MAX_CONCURRENT_REQUESTS). Vectors are 64-d: the JSON of 384-d vectors costs the sims and the router ~0.5 ms
 *   of CPU per text each on this 2-core VM, enough to make the machine's CPU, not the simulated GPUs, the bottleneck;
 *   the other scenarios measure the router's per-vector cost;
 * - one router with its defaults and one model per policy, each listing the same 4 replicas (`x-model` picks the
 *   policy);
 * - nginx (when installed): one worker, an upstream of the 4 replicas, round robin, keep-alive.
 *
 * Workload (seeded, the same for every policy and proxy): POST /embed; Poisson arrivals; 95% single texts (short,
 * log-normal lengths), 5% batches of 100-500 texts of varied length (log-normal, up to ~256 tokens), drawn from 32
 * batch bodies.
 *
 * Method:
 * 1. Calibration, directly at one replica with nothing else running: the unloaded p99 of the batch requests `L` is
 *    the latency of the largest of the 32 batch bodies (median of 3 runs); p99 targets are TARGET_MULTIPLES × L.
 * 2. Open-loop steps at increasing offered rates (fractions of a nominal capacity: the latency model's GPU time per
 *    request of this workload, over 4 replicas), each `stepSeconds` of seeded arrivals (at most 2 × rate × seconds +
 *    10 requests) then at most `drainSeconds` for the answers; what has not answered by then is aborted and counted
 *    as an error. Latency runs from each request's scheduled arrival (no coordinated omission). Achieved throughput:
 *    the answers between the first answer and the end of the arrivals, over that span (below saturation ≈ the
 *    offered rate, above it ≈ what the fleet sustains). At each rate the targets run one after another, in an order
 *    rotated per rate, on the same arrival schedule: they never share the replicas at the same time and drift hits
 *    them alike. A target stops stepping up after a step with errors or with p99 over twice the largest target.
 * 3. Throughput at each p99 target, per policy / proxy: the highest step with p99 ≤ target and no errors, and
 *    from there linear interpolation (in p99) towards the next step, to where p99 crosses the target; when the next
 *    step had errors or there is none, the step's own throughput (a lower bound when every step passed). The
 *    headline is the ratio default policy / nginx.
 *
 * CPU: per step, the router's (or nginx's) CPU time from /proc, in cores, the sims' and the load generator's, and the
 * machine's busy share from /proc/stat (which includes any other process running on the machine).
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Pool } from 'undici';
import { generateTexts, prng } from '../../src/bench-client/text-gen.js';
import { EstimateTokenizer } from '../../src/tokenizer/estimate.js';
import { percentiles } from './load.js';
import type { Percentiles } from './load.js';
import { nginxBinary, startNginxUpstream, startRouter, startSim } from './procs.js';
import type { Proc } from './procs.js';
import { totalCpu, withChildren } from './proc-stats.js';

export const FLEET_POLICIES = ['p2c_tokens', 'least_requests', 'round_robin'] as const;
export const DEFAULT_POLICY = 'p2c_tokens';
export const NGINX_TARGET = 'nginx_round_robin';

const REPLICAS = 4;
const DIM = 64;
const LATENCY = { batchBaseMs: 5, perTokenUs: 40, padded: false };
const MAX_BATCH_TOKENS = 16384;
const MAX_CLIENT_BATCH_SIZE = 512;
/**
 * TEI takes one permit per input: at TEI's default (512) a replica running a 500-text batch refuses the next batch
 * with 429, which the router retries elsewhere and nginx passes on. Set high so that both see only queueing.
 */
const MAX_CONCURRENT_REQUESTS = 4096;
const BATCH_SHARE = 0.05;
const BATCH_MIN = 100;
const BATCH_MAX = 500;
/** Distinct batch bodies (each a seeded size and slice of the batch text pool). */
const BATCH_BODIES = 32;
const TARGET_MULTIPLES = [1.5, 3];
/** Client connections per target: more than the requests ever in flight below saturation. */
const CONNECTIONS = 256;

export interface FleetSizes {
  /** Offered rates as fractions of the nominal capacity, increasing. */
  fractions: number[];
  /** Seconds of arrivals per step. */
  stepSeconds: number;
  /** Longest wait for answers after a step's last arrival. */
  drainSeconds: number;
}

export const FLEET_FULL: FleetSizes = {
  fractions: [0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 1.0],
  stepSeconds: 8,
  drainSeconds: 8,
};
export const FLEET_QUICK: FleetSizes = {
  fractions: [0.4, 0.6, 0.8, 1.0],
  stepSeconds: 4,
  drainSeconds: 5,
};

export interface FleetStep {
  /** A policy name (through the router) or `nginx_round_robin`. */
  target: string;
  proxy: 'router' | 'nginx';
  offeredRps: number;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  achievedRps: number;
  textsPerSecond: number;
  latencyMs: Percentiles;
  singleP99Ms: number;
  batchP99Ms: number;
  /** CPU of the proxy (router or nginx, with children) during the step, in cores (CPU s / s). */
  proxyCpuCores: number;
  simsCpuCores: number;
  loadGenCpuCores: number;
  /** Busy share of all the machine's cores during the step (0..1). */
  machineBusy: number;
}

export interface FleetAtTarget {
  target: string;
  /** Highest passing step's offered rate and throughput; 0 when no step passed. */
  measuredOfferedRps: number;
  measuredRps: number;
  measuredTextsPerSecond: number;
  /** Throughput where p99 crosses the target (interpolated), or the measured one. */
  rps: number;
  textsPerSecond: number;
  /** Every step passed: the figure is a lower bound. */
  lowerBound: boolean;
}

export interface FleetResult {
  replicas: number;
  dim: number;
  latency: typeof LATENCY;
  maxBatchTokens: number;
  maxClientBatchSize: number;
  workload: {
    batchShare: number;
    batchTexts: [number, number];
    singleMeanTokens: number;
    batchMeanTexts: number;
    batchTextMeanTokens: number;
    seed: number;
  };
  nominalCapacityRps: number;
  calibration: { batchP50Ms: number; batchP99Ms: number; singleP50Ms: number; singleP99Ms: number };
  p99TargetsMs: number[];
  steps: FleetStep[];
  atTarget: Array<{ p99Ms: number; results: FleetAtTarget[]; ratio: number | null }>;
  nginx: boolean;
  /** Cores of the machine. */
  cores: number;
  seconds: number;
}

interface Body {
  json: string;
  texts: number;
  tokens: number;
}

function bodies(): { singles: Body[]; batches: Body[] } {
  const tok = new EstimateTokenizer();
  const count = (t: string) => Math.min(256, tok.count(t, true));
  const singleTexts = generateTexts(2048, { seed: 31, meanTokens: 16, maxTokens: 64 });
  const singles = singleTexts.map((t) => ({
    json: JSON.stringify({ inputs: t, truncate: true }),
    texts: 1,
    tokens: count(t),
  }));
  const pool = generateTexts(8192, { seed: 32, meanTokens: 40, maxTokens: 256 });
  const rand = prng(33);
  const batches = Array.from({ length: BATCH_BODIES }, () => {
    const n = BATCH_MIN + Math.floor(rand() * (BATCH_MAX - BATCH_MIN + 1));
    const at = Math.floor(rand() * (pool.length - n));
    const texts = pool.slice(at, at + n);
    return {
      json: JSON.stringify({ inputs: texts, truncate: true }),
      texts: n,
      tokens: texts.reduce((s, t) => s + count(t), 0),
    };
  });
  return { singles, batches };
}

/** GPU ms the latency model charges for one request alone: TEI cuts it at max_batch_tokens. */
function gpuMs(b: Body): number {
  const passes = Math.ceil(b.tokens / MAX_BATCH_TOKENS);
  return passes * LATENCY.batchBaseMs + (LATENCY.perTokenUs * b.tokens) / 1000;
}

interface Arrival {
  at: number;
  body: Body;
  batch: boolean;
}

/** Seeded Poisson arrivals at `rps` for `seconds` (at most rps × seconds × 2 + 10 of them). */
function schedule(
  seed: number,
  rps: number,
  seconds: number,
  b: { singles: Body[]; batches: Body[] },
): Arrival[] {
  const rand = prng(seed);
  const out: Arrival[] = [];
  const max = Math.ceil(rps * seconds * 2) + 10;
  let t = 0;
  while (out.length < max) {
    t += (-Math.log(1 - rand()) / rps) * 1000;
    if (t >= seconds * 1000) break;
    const batch = rand() < BATCH_SHARE;
    const pick = rand();
    const list = batch ? b.batches : b.singles;
    out.push({ at: t, batch, body: list[Math.floor(pick * list.length)] });
  }
  return out;
}

/** Machine CPU from /proc/stat: busy and total jiffies of all cores. */
function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
    const idle = v[3] + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

interface Target {
  name: string;
  proxy: 'router' | 'nginx';
  pid: number;
  pool: Pool;
  headers: Record<string, string>;
}

interface StepRun {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  textsPerSecond: number;
  all: number[];
  singles: number[];
  batches: number[];
}

/** One open-loop step against `pool`: fires `arrivals` on time, waits at most `drainMs` after the last. */
async function openLoop(
  pool: Pool,
  headers: Record<string, string>,
  arrivals: Arrival[],
  windowMs: number,
  drainMs: number,
): Promise<StepRun> {
  const abort = new AbortController();
  // one signal for every request of the step: undici adds a listener per request
  setMaxListeners(0, abort.signal);
  const run: StepRun = {
    requests: 0,
    errors: 0,
    seconds: 0,
    rps: 0,
    textsPerSecond: 0,
    all: [],
    singles: [],
    batches: [],
  };
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  const windowEnd = t0 + windowMs;
  let first = Infinity;
  /** Answers (and their texts) that came before the end of the arrival window. */
  let inWindow = 0;
  let textsInWindow = 0;
  const fire = (a: Arrival) => {
    run.requests++;
    const start = t0 + a.at;
    pending.push(
      (async () => {
        try {
          const res = await pool.request({
            path: '/embed',
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: a.body.json,
            signal: abort.signal,
          });
          if (res.statusCode !== 200) {
            const text = await res.body.text();
            throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
          }
          for await (const chunk of res.body) void chunk;
          const now = performance.now();
          first = Math.min(first, now);
          if (now <= windowEnd) {
            inWindow++;
            textsInWindow += a.body.texts;
          }
          const ms = now - start;
          run.all.push(ms);
          (a.batch ? run.batches : run.singles).push(ms);
        } catch (err) {
          run.errors++;
          run.firstError ??= abort.signal.aborted
            ? `no answer within ${drainMs} ms after the step's last arrival`
            : err instanceof Error
              ? err.message
              : String(err);
        }
      })(),
    );
  };
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now() - t0;
      while (i < arrivals.length && arrivals[i].at <= now) fire(arrivals[i++]);
      if (i >= arrivals.length) return resolve();
      setTimeout(tick, Math.max(0, arrivals[i].at - now));
    };
    tick();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pending),
    new Promise<void>((r) => {
      timer = setTimeout(r, drainMs);
    }),
  ]);
  clearTimeout(timer);
  abort.abort();
  await Promise.all(pending);
  // steady-state throughput: the answers between the first answer and the end of the arrival window, over that
  // span (below saturation ≈ the offered rate; above it ≈ what the fleet sustains, not the backlog drained later)
  const span = windowEnd - first;
  if (span > 0 && windowMs > 0) {
    run.seconds = span / 1000;
    run.rps = inWindow / run.seconds;
    run.textsPerSecond = textsInWindow / run.seconds;
  }
  return run;
}

const p99 = (xs: number[]) => percentiles(Float64Array.from(xs)).p99;

/** Throughput at p99 ≤ `limit` for one target's steps (by increasing offered rate). */
export function atTarget(target: string, steps: FleetStep[], limit: number): FleetAtTarget {
  const mine = steps.filter((s) => s.target === target).sort((a, b) => a.offeredRps - b.offeredRps);
  const pass = (s: FleetStep) => s.errors === 0 && s.latencyMs.p99 <= limit;
  let k = -1;
  for (let i = 0; i < mine.length; i++) if (pass(mine[i])) k = i;
  if (k < 0) {
    return {
      target,
      measuredOfferedRps: 0,
      measuredRps: 0,
      measuredTextsPerSecond: 0,
      rps: 0,
      textsPerSecond: 0,
      lowerBound: false,
    };
  }
  const s = mine[k];
  const out: FleetAtTarget = {
    target,
    measuredOfferedRps: s.offeredRps,
    measuredRps: s.achievedRps,
    measuredTextsPerSecond: s.textsPerSecond,
    rps: s.achievedRps,
    textsPerSecond: s.textsPerSecond,
    lowerBound: k === mine.length - 1,
  };
  const n = mine[k + 1];
  if (n && n.errors === 0 && n.latencyMs.p99 > s.latencyMs.p99 && n.achievedRps > s.achievedRps) {
    const f = (limit - s.latencyMs.p99) / (n.latencyMs.p99 - s.latencyMs.p99);
    out.rps = s.achievedRps + f * (n.achievedRps - s.achievedRps);
    out.textsPerSecond = s.textsPerSecond + f * (n.textsPerSecond - s.textsPerSecond);
  }
  return out;
}

export async function fleetScenario(
  size: FleetSizes,
  log: (s: string) => void,
  opts: { routerEnv?: NodeJS.ProcessEnv } = {},
): Promise<FleetResult> {
  const started = Date.now();
  const procs: Proc[] = [];
  const pools: Pool[] = [];
  try {
    const b = bodies();
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const singleGpu = mean(b.singles.map(gpuMs));
    const batchGpu = mean(b.batches.map(gpuMs));
    // a replica under load batches single texts together: count their tokens, not a forward pass each
    const singleTokenMs = (LATENCY.perTokenUs * mean(b.singles.map((s) => s.tokens))) / 1000;
    const perRequestMs = BATCH_SHARE * batchGpu + (1 - BATCH_SHARE) * singleTokenMs;
    const nominal = (REPLICAS * 1000) / perRequestMs;
    log(
      `fleet: ${REPLICAS} sims (base ${LATENCY.batchBaseMs} ms + ${LATENCY.perTokenUs} µs/token); one single text ≈ ${singleGpu.toFixed(1)} ms, one batch ≈ ${batchGpu.toFixed(0)} ms of GPU alone; nominal capacity ${nominal.toFixed(0)} req/s`,
    );
    const sims = await Promise.all(
      Array.from({ length: REPLICAS }, () =>
        startSim({
          protocol: 'http',
          modelId: 'fleet-64',
          dim: DIM,
          latency: LATENCY,
          maxBatchTokens: MAX_BATCH_TOKENS,
          maxClientBatchSize: MAX_CLIENT_BATCH_SIZE,
          maxConcurrentRequests: MAX_CONCURRENT_REQUESTS,
        }),
      ),
    );
    procs.push(...sims);
    const urls = sims.map((s) => s.url);
    const router = await startRouter(
      FLEET_POLICIES.map((p) => ({ name: `fleet-${p}`, backends: urls, balancing: p })),
      { env: opts.routerEnv },
    );
    procs.push(router);
    const nginxBin = nginxBinary();
    const nginx = nginxBin ? await startNginxUpstream(nginxBin, urls) : undefined;
    if (nginx) procs.push(nginx);
    const pool = (origin: string) => {
      const p = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
      pools.push(p);
      return p;
    };
    const routerOrigin = `http://127.0.0.1:${router.ports.http}`;
    const targets: Target[] = [
      ...FLEET_POLICIES.map((p) => ({
        name: p,
        proxy: 'router' as const,
        pid: router.pid,
        pool: pool(routerOrigin),
        headers: { 'x-model': `fleet-${p}` },
      })),
      ...(nginx
        ? [
            {
              name: NGINX_TARGET,
              proxy: 'nginx' as const,
              pid: nginx.pid,
              pool: pool(`http://127.0.0.1:${nginx.httpPort}`),
              headers: {},
            },
          ]
        : []),
    ];

    // 1. calibration: unloaded latency directly at a replica, nothing else running. The p99 of the workload's
    // batches is the latency of its largest batch body (1 in BATCH_BODIES): the median of 3 runs of it.
    const direct = pool(sims[0].url);
    const unloaded = async (body: Body, batch: boolean, n: number) => {
      const xs: number[] = [];
      for (let j = 0; j < n; j++) {
        const one = await openLoop(direct, {}, [{ at: 0, batch, body }], 0, 30_000);
        if (one.errors) throw new Error(`fleet calibration: ${one.firstError}`);
        xs.push(...one.all);
      }
      return percentiles(Float64Array.from(xs));
    };
    const bySize = [...b.batches].sort((x, y) => x.tokens - y.tokens);
    const singleCal = await unloaded(b.singles[0], false, 30);
    const batchP50 = (await unloaded(bySize[Math.floor(bySize.length / 2)], true, 3)).p50;
    const batchP99 = (await unloaded(bySize[bySize.length - 1], true, 3)).p50;
    const targetsMs = TARGET_MULTIPLES.map((m) => Math.round(m * batchP99));
    log(
      `fleet: unloaded, direct: batch p50 ${batchP50.toFixed(0)} ms (median body), p99 ${batchP99.toFixed(0)} ms (largest body); single p50 ${singleCal.p50.toFixed(1)} ms; p99 targets ${targetsMs.map((t) => `${t} ms`).join(', ')}`,
    );

    // warm-up: connections, JIT, the router's workers and its per-replica throughput estimates
    for (const t of targets) {
      await openLoop(t.pool, t.headers, schedule(7, 0.3 * nominal, 1.5, b), 1500, 10_000);
    }

    // 2. open-loop steps
    const steps: FleetStep[] = [];
    const stopped = new Set<string>();
    const worst = Math.max(...targetsMs) * 2;
    const simPids = sims.map((s) => s.pid);
    for (let k = 0; k < size.fractions.length; k++) {
      const rps = size.fractions[k] * nominal;
      const arrivals = schedule(1000 + k, rps, size.stepSeconds, b);
      const order = targets.map((_, i) => targets[(i + k) % targets.length]);
      for (const t of order) {
        if (stopped.has(t.name)) continue;
        const pids = withChildren(t.pid);
        const cpu0 = totalCpu(pids);
        const sims0 = totalCpu(simPids);
        const gen0 = process.cpuUsage();
        const m0 = machineCpu();
        const w0 = performance.now();
        const r = await openLoop(
          t.pool,
          t.headers,
          arrivals,
          size.stepSeconds * 1000,
          size.drainSeconds * 1000,
        );
        const wall = (performance.now() - w0) / 1000;
        const m1 = machineCpu();
        const gen = process.cpuUsage(gen0);
        const step: FleetStep = {
          target: t.name,
          proxy: t.proxy,
          offeredRps: rps,
          requests: r.requests,
          errors: r.errors,
          ...(r.firstError ? { firstError: r.firstError } : {}),
          seconds: r.seconds,
          achievedRps: r.rps,
          textsPerSecond: r.textsPerSecond,
          latencyMs: percentiles(Float64Array.from(r.all)),
          singleP99Ms: p99(r.singles),
          batchP99Ms: p99(r.batches),
          proxyCpuCores: (totalCpu(withChildren(t.pid)) - cpu0) / wall,
          simsCpuCores: (totalCpu(simPids) - sims0) / wall,
          loadGenCpuCores: (gen.user + gen.system) / 1e6 / wall,
          machineBusy: m1.total > m0.total ? (m1.busy - m0.busy) / (m1.total - m0.total) : NaN,
        };
        steps.push(step);
        log(
          `fleet: ${t.name.padEnd(17)} offered ${rps.toFixed(0).padStart(4)} req/s: ${step.achievedRps.toFixed(0)} req/s, p50 ${step.latencyMs.p50.toFixed(0)} ms, p99 ${step.latencyMs.p99.toFixed(0)} ms (single ${step.singleP99Ms.toFixed(0)}, batch ${step.batchP99Ms.toFixed(0)}), errors ${step.errors}; ${t.proxy} CPU ${step.proxyCpuCores.toFixed(2)} cores, machine ${(step.machineBusy * 100).toFixed(0)}% busy`,
        );
        if (step.errors > 0 || step.latencyMs.p99 > worst) stopped.add(t.name);
      }
      if (stopped.size === targets.length) break;
    }

    const nginxSaid = nginx?.out().trim();
    if (nginxSaid) log(`fleet: nginx said: ${nginxSaid.split('\n').slice(0, 5).join(' | ')}`);

    // 3. throughput at each p99 target
    const atTargets = targetsMs.map((limit) => {
      const results = targets.map((t) => atTarget(t.name, steps, limit));
      const def = results.find((r) => r.target === DEFAULT_POLICY);
      const ngx = results.find((r) => r.target === NGINX_TARGET);
      return { p99Ms: limit, results, ratio: def && ngx && ngx.rps > 0 ? def.rps / ngx.rps : null };
    });
    return {
      replicas: REPLICAS,
      dim: DIM,
      latency: LATENCY,
      maxBatchTokens: MAX_BATCH_TOKENS,
      maxClientBatchSize: MAX_CLIENT_BATCH_SIZE,
      workload: {
        batchShare: BATCH_SHARE,
        batchTexts: [BATCH_MIN, BATCH_MAX],
        singleMeanTokens: mean(b.singles.map((s) => s.tokens)),
        batchMeanTexts: mean(b.batches.map((s) => s.texts)),
        batchTextMeanTokens:
          b.batches.reduce((s, x) => s + x.tokens, 0) / b.batches.reduce((s, x) => s + x.texts, 0),
        seed: 1000,
      },
      nominalCapacityRps: nominal,
      calibration: {
        batchP50Ms: batchP50,
        batchP99Ms: batchP99,
        singleP50Ms: singleCal.p50,
        singleP99Ms: singleCal.p99,
      },
      p99TargetsMs: targetsMs,
      steps,
      atTarget: atTargets,
      nginx: nginx !== undefined,
      cores: os.cpus().length,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    for (const p of procs.reverse()) await p.stop();
  }
}

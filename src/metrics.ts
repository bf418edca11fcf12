/**
 * The router's Prometheus metrics, created once on the main thread (workers return stats; they never record).
 * One registry: process/default metrics (prefix `tei_router_`) plus the catalogue below. Every label is bounded:
 * protocol (http, grpc), route (route-table keys / registered gRPC method paths, at most MAX_ROUTES values, then
 * "other"), model (configured names, "" before a model is known), code (HTTP status numbers / gRPC status names),
 * client ([[authz]] names, "anonymous", "other"), backend (configured URLs), stage / phase / reason (fixed sets).
 *
 * Requests
 * - `tei_router_requests_total{protocol,route,model,code,client}`: requests answered (HTTP: 499 = client gone,
 *   route "refused" = refused by the listener's TLS policy, "unmatched" = no route).
 * - `tei_router_request_duration_seconds{protocol,route}`: request start to reply.
 * - `tei_router_request_overhead_seconds{protocol,route}`: duration minus the wall time of the backend calls made
 *   for the request (for coalesced requests, their shared task's): what the router itself adds.
 * - `tei_router_texts_total{model}`, `tei_router_tokens_total{model}`: embedded texts and their backend token counts.
 * - `tei_router_stage_duration_seconds{stage}`: per embedding request, stage = coalesce_wait, pool_queue, tokenize,
 *   backend_call (backend_call also for forwarded calls).
 * - `tei_router_backend_reported_seconds{phase}`: TEI's own tokenization / queue / inference time per text, from
 *   its response headers or Metadata, one observation per worker task.
 * Batches
 * - `tei_router_worker_tasks_total{model}`: worker tasks (coalesced groups of requests).
 * - `tei_router_backend_batch_texts{model}`, `tei_router_backend_batch_tokens{model}`,
 *   `tei_router_backend_batch_fill_ratio{model}` (tokens / the backend's max_batch_tokens), per backend batch.
 * - `tei_router_batch_splits_total{model}`: client requests larger than max_client_batch_size, split over batches.
 * Load and backends
 * - `tei_router_model_inflight_requests{model}`, `tei_router_model_pending_texts{model}` (accepted, not answered),
 *   `tei_router_model_queued_tokens{model}` (their estimated tokens, what admission control bounds).
 * - `tei_router_backend_inflight_tokens{model,backend}`, `tei_router_backend_inflight_batches{model,backend}`:
 *   what each backend has in flight now (dense batches), the balancing measures.
 * - `tei_router_backend_calls_total{backend,outcome}` (outcome: ok or an error label: ROUTER_ERR_* / TEI error
 *   type) and `tei_router_backend_call_duration_seconds{backend}`.
 * - `tei_router_backend_up{model,backend}`: 1 while a backend is usable.
 * - `tei_router_pool_utilization` (0..1, Piscina's), `tei_router_pool_queue_depth` (tasks waiting for a worker).
 * TLS
 * - `tei_router_tls_handshakes_total{listener,outcome}` (ok, failed) and
 *   `tei_router_tls_handshake_failures_total{listener,reason}` (no_certificate, a verify code such as
 *   CERT_HAS_EXPIRED, client_rejected_server_cert, other).
 * - `tei_router_tls_certificate_not_after_seconds{source,role,path,serial}`: notAfter of each loaded certificate.
 */
import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaSets } from './backend/replicas.js';
import type { RequestScope } from './request-scope.js';
import type { CertificateSource } from './tls/expiry.js';
import type { BatchStat, EmbedTaskOk } from './workers/protocol.js';
import type { LoadCounters } from './backend/balance.js';

/** The most distinct `route` label values; beyond it a route is recorded as "other". */
export const MAX_ROUTES = 64;

export interface RequestEvent {
  protocol: 'http' | 'grpc';
  /** Route-table key ("POST /rerank"), "unmatched"/"refused", or a gRPC method path. Never a raw URL. */
  route: string;
  /** HTTP status, or gRPC status code. */
  code: number;
  seconds: number;
  scope: RequestScope;
}

/** What the pipeline and pool expose for the load gauges (read at scrape time). */
export interface LoadSource {
  inflightRequests: ReadonlyMap<string, number>;
  pendingTexts: ReadonlyMap<string, number>;
  /** Estimated tokens accepted and not yet answered, per model (the admission control's measure). */
  pendingTokens: ReadonlyMap<string, number>;
  /** In-flight texts per backend index (the workers' shared counters). */
  backendLoad: LoadCounters;
  poolUtilization(): number;
  poolQueueDepth(): number;
}

export interface RouterMetrics {
  readonly registry: Registry;
  recordRequest(e: RequestEvent): void;
  /** One finished worker task: batch shapes and TEI's reported timings. */
  recordTask(model: string, result: EmbedTaskOk): void;
  /** One backend batch (of a worker task, or of the direct path). */
  recordBatch(model: string, batch: BatchStat): void;
  /** One TLS handshake: ok, or failed with a bounded reason. */
  recordHandshake(listener: string, failure?: string): void;
  /** Reports `tei_router_tls_certificate_not_after_seconds` for these certificates (read at scrape time). */
  watchCertificates(certs: { all(): CertificateSource[] }): void;
  /** Reports backend health, per-backend calls (subscribes to the replica sets) and in-flight texts. */
  watchBackends(replicas: ReplicaSets): void;
  watchLoad(load: LoadSource): void;
}

export interface MetricsOptions {
  /** Process and Node.js default metrics (default true). */
  defaultMetrics?: boolean;
}

const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const POW2 = (max: number) => Array.from({ length: Math.log2(max) + 1 }, (_, i) => 2 ** i);

export function createMetrics(options: MetricsOptions = {}): RouterMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tei_router_' });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers });

  const requests = counter('tei_router_requests_total', 'Requests answered by the router', [
    'protocol',
    'route',
    'model',
    'code',
    'client',
  ]);
  const duration = histogram(
    'tei_router_request_duration_seconds',
    'Request duration in seconds',
    ['protocol', 'route'],
    DURATION_BUCKETS,
  );
  const overhead = histogram(
    'tei_router_request_overhead_seconds',
    'Request duration minus the wall time of its backend calls: the time the router adds',
    ['protocol', 'route'],
    DURATION_BUCKETS,
  );
  const textsTotal = counter('tei_router_texts_total', 'Texts embedded through the pipeline', ['model']);
  const tokensTotal = counter(
    'tei_router_tokens_total',
    'Tokens of the embedded texts, as backends count them',
    ['model'],
  );
  const stage = histogram(
    'tei_router_stage_duration_seconds',
    'Per embedding request: coalesce_wait, pool_queue, tokenize, backend_call',
    ['stage'],
    DURATION_BUCKETS,
  );
  const reported = histogram(
    'tei_router_backend_reported_seconds',
    "TEI's own per-text tokenization, queue and inference times, from its response metadata",
    ['phase'],
    DURATION_BUCKETS,
  );
  const tasks = counter('tei_router_worker_tasks_total', 'Worker tasks (coalesced groups of requests)', [
    'model',
  ]);
  const batchTexts = histogram(
    'tei_router_backend_batch_texts',
    'Texts per backend batch',
    ['model'],
    POW2(4096),
  );
  const batchTokens = histogram(
    'tei_router_backend_batch_tokens',
    'Tokens per backend batch (router count)',
    ['model'],
    POW2(262144),
  );
  const fill = histogram(
    'tei_router_backend_batch_fill_ratio',
    "Tokens per backend batch over the backend's max_batch_tokens",
    ['model'],
    [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  );
  const splits = counter(
    'tei_router_batch_splits_total',
    "Client requests larger than the backends' max_client_batch_size, split over several backend batches",
    ['model'],
  );
  const backendCalls = counter(
    'tei_router_backend_calls_total',
    'Backend calls by outcome (ok or error label)',
    ['backend', 'outcome'],
  );
  const backendDuration = histogram(
    'tei_router_backend_call_duration_seconds',
    'Backend call wall time',
    ['backend'],
    DURATION_BUCKETS,
  );
  const handshakes = counter('tei_router_tls_handshakes_total', 'TLS handshakes by outcome', [
    'listener',
    'outcome',
  ]);
  const handshakeFailures = counter(
    'tei_router_tls_handshake_failures_total',
    'Failed TLS handshakes by reason',
    ['listener', 'reason'],
  );

  let replicas: ReplicaSets | undefined;
  let certificates: { all(): CertificateSource[] } | undefined;
  let load: LoadSource | undefined;
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  gauge(
    'tei_router_tls_certificate_not_after_seconds',
    'notAfter (Unix seconds) of each loaded certificate: listener server certs and CAs, SNI certs, backend CA and client cert',
    ['source', 'role', 'path', 'serial'],
    (g) => {
      for (const { source, cert } of certificates?.all() ?? []) {
        g.set(
          { source, role: cert.role, path: cert.path, serial: cert.serial },
          cert.notAfter.getTime() / 1000,
        );
      }
    },
  );
  gauge(
    'tei_router_backend_up',
    '1 while a configured TEI backend is usable (its /info answered at the last refresh), else 0',
    ['model', 'backend'],
    (g) => {
      for (const r of replicas?.replicas ?? []) {
        g.set({ model: r.model, backend: r.url }, r.state === 'up' && r.info !== undefined ? 1 : 0);
      }
    },
  );
  gauge(
    'tei_router_backend_inflight_tokens',
    'Tokens at each backend now (dense batches; the p2c_tokens balancing measure)',
    ['model', 'backend'],
    (g) => {
      for (const r of replicas?.replicas ?? []) {
        g.set({ model: r.model, backend: r.url }, load ? load.backendLoad.tokens(r.index) : 0);
      }
    },
  );
  gauge(
    'tei_router_backend_inflight_batches',
    'Batches at each backend now (dense; the least_requests balancing measure)',
    ['model', 'backend'],
    (g) => {
      for (const r of replicas?.replicas ?? []) {
        g.set({ model: r.model, backend: r.url }, load ? load.backendLoad.batches(r.index) : 0);
      }
    },
  );
  gauge('tei_router_model_inflight_requests', 'Embedding requests in the pipeline', ['model'], (g) => {
    for (const [model, n] of load?.inflightRequests ?? []) g.set({ model }, n);
  });
  gauge(
    'tei_router_model_pending_texts',
    'Texts accepted and not yet answered (coalescing, queued for a worker, or at a backend)',
    ['model'],
    (g) => {
      for (const [model, n] of load?.pendingTexts ?? []) g.set({ model }, n);
    },
  );
  gauge(
    'tei_router_model_queued_tokens',
    'Estimated tokens accepted and not yet answered (admission.max_queued_tokens bounds it)',
    ['model'],
    (g) => {
      for (const [model, n] of load?.pendingTokens ?? []) g.set({ model }, n);
    },
  );
  gauge('tei_router_pool_utilization', 'Worker pool utilization (0..1)', [], (g) => {
    if (load) g.set(load.poolUtilization());
  });
  gauge('tei_router_pool_queue_depth', 'Tasks waiting for a worker thread', [], (g) => {
    if (load) g.set(load.poolQueueDepth());
  });

  const seen = new Set<string>();
  const boundedRoute = (route: string) => {
    if (seen.has(route)) return route;
    if (seen.size >= MAX_ROUTES) return 'other';
    seen.add(route);
    return route;
  };

  return {
    registry,
    recordRequest({ protocol, route, code, seconds, scope }) {
      route = boundedRoute(route);
      const codeLabel = protocol === 'grpc' ? (grpc.status[code] ?? String(code)) : String(code);
      requests.inc({
        protocol,
        route,
        model: scope.model ?? '',
        code: codeLabel,
        client: scope.client.label,
      });
      duration.observe({ protocol, route }, seconds);
      overhead.observe({ protocol, route }, Math.max(0, seconds - scope.stages.backendNs / 1e9));
      if (scope.model !== undefined && scope.texts > 0) {
        textsTotal.inc({ model: scope.model }, scope.texts);
        tokensTotal.inc({ model: scope.model }, scope.tokens);
        stage.observe({ stage: 'coalesce_wait' }, scope.stages.coalesceNs / 1e9);
        stage.observe({ stage: 'pool_queue' }, scope.stages.poolQueueNs / 1e9);
        stage.observe({ stage: 'tokenize' }, scope.stages.tokenizeNs / 1e9);
      }
      if (scope.stages.backendNs > 0) stage.observe({ stage: 'backend_call' }, scope.stages.backendNs / 1e9);
    },
    recordTask(model, result) {
      tasks.inc({ model });
      if (result.stats.splitParts > 0) splits.inc({ model }, result.stats.splitParts);
      for (const b of result.stats.batches) this.recordBatch(model, b);
      if (result.stats.batches.length > 0) {
        reported.observe({ phase: 'tokenization' }, result.timings.tokenizationNs / 1e9);
        reported.observe({ phase: 'queue' }, result.timings.queueNs / 1e9);
        reported.observe({ phase: 'inference' }, result.timings.inferenceNs / 1e9);
      }
    },
    recordBatch(model, b) {
      if (b.error !== undefined) return;
      batchTexts.observe({ model }, b.texts);
      batchTokens.observe({ model }, b.tokens);
      if (b.maxBatchTokens > 0) fill.observe({ model }, Math.min(1, b.tokens / b.maxBatchTokens));
    },
    recordHandshake(listener, failure) {
      handshakes.inc({ listener, outcome: failure === undefined ? 'ok' : 'failed' });
      if (failure !== undefined) handshakeFailures.inc({ listener, reason: failure });
    },
    watchCertificates(c) {
      certificates = c;
    },
    watchBackends(r) {
      if (replicas === r) return;
      replicas = r;
      r.onCall((replica, ns, error) => {
        backendCalls.inc({ backend: replica.url, outcome: error ?? 'ok' });
        backendDuration.observe({ backend: replica.url }, ns / 1e9);
      });
    },
    watchLoad(l) {
      load = l;
    },
  };
}

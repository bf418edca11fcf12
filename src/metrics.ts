/**
 * The router's Prometheus metrics, created once on the main thread (workers return timings; they never record).
 * One registry: process/default metrics (prefix `tei_router_`) plus
 *
 * - `tei_router_requests_total{route,code,client}`: HTTP requests answered, by route key ("POST /embed"), status
 *   code and client label; requests matching no route count as route="unmatched", client disconnects as
 *   code="499", requests refused by the listener's TLS policy as route="refused".
 * - `tei_router_request_duration_seconds{route}`: time from request start to the reply's last byte (or the close).
 * - `tei_router_grpc_requests_total{method,code,client}` and `tei_router_grpc_request_duration_seconds{method}`:
 *   gRPC calls by full method path ("/tei.v1.Embed/Embed": only registered methods reach the counter) and status.
 * - `tei_router_tls_certificate_not_after_seconds{source,role,path,serial}`: notAfter of each loaded certificate
 *   (source: grpc, http, admin or backend; role: server, ca, sni:<name>, backend-ca, backend-client).
 * - `tei_router_backend_up{model,backend}`: 1 while a configured backend is usable (state up), else 0; read from
 *   the replica sets at scrape time.
 *
 * Label cardinality is bounded: routes are route-table keys (at most MAX_ROUTES distinct values; any more become
 * "other"), codes are HTTP status numbers, clients are [[authz]] names, "anonymous" or "other" (see
 * src/tls/clients.ts), models and backends are the configured ones.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaSets } from './backend/replicas.js';
import type { CertificateSource } from './tls/expiry.js';

/** The most distinct `route` label values; beyond it a route is recorded as "other". */
export const MAX_ROUTES = 64;

export interface RouterMetrics {
  readonly registry: Registry;
  /**
   * Records one answered request. `route` is the route-table key ("POST /rerank") or "unmatched", never a raw
   * path; `status` the HTTP status sent (499 when the client went away first).
   */
  recordRequest(route: string, status: number, seconds: number, client: string): void;
  /** Records one finished gRPC call: full method path, status code, seconds, client label. */
  recordGrpc(method: string, code: number, seconds: number, client: string): void;
  /** Reports `tei_router_tls_certificate_not_after_seconds` for these certificates (read at scrape time). */
  watchCertificates(certs: { all(): CertificateSource[] }): void;
  /** Reports `tei_router_backend_up` for these replica sets (idempotent: the last call wins). */
  watchBackends(replicas: ReplicaSets): void;
}

export interface MetricsOptions {
  /** Process and Node.js default metrics (default true). */
  defaultMetrics?: boolean;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(options: MetricsOptions = {}): RouterMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tei_router_' });
  const registers = [registry];
  const requests = new Counter({
    name: 'tei_router_requests_total',
    help: 'HTTP requests answered by the router, by route and status code',
    labelNames: ['route', 'code', 'client'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'tei_router_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const grpcCalls = new Counter({
    name: 'tei_router_grpc_requests_total',
    help: 'gRPC calls finished by the router, by method, status code and client label',
    labelNames: ['method', 'code', 'client'] as const,
    registers,
  });
  const grpcDuration = new Histogram({
    name: 'tei_router_grpc_request_duration_seconds',
    help: 'gRPC call duration in seconds, by method',
    labelNames: ['method'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  let watched: ReplicaSets | undefined;
  let certificates: { all(): CertificateSource[] } | undefined;
  new Gauge({
    name: 'tei_router_tls_certificate_not_after_seconds',
    help: 'notAfter (Unix seconds) of each certificate the router has loaded: listener server certs and CAs, SNI certs, backend CA and client cert',
    labelNames: ['source', 'role', 'path', 'serial'] as const,
    registers,
    collect() {
      this.reset();
      for (const { source, cert } of certificates?.all() ?? []) {
        this.set(
          { source, role: cert.role, path: cert.path, serial: cert.serial },
          cert.notAfter.getTime() / 1000,
        );
      }
    },
  });
  new Gauge({
    name: 'tei_router_backend_up',
    help: '1 while a configured TEI backend is usable (its /info answered at the last refresh), else 0',
    labelNames: ['model', 'backend'] as const,
    registers,
    collect() {
      this.reset();
      if (!watched) return;
      for (const r of watched.replicas) {
        this.set({ model: r.model, backend: r.url }, r.state === 'up' && r.info !== undefined ? 1 : 0);
      }
    },
  });
  const seen = new Set<string>();
  return {
    registry,
    recordRequest(route, status, seconds, client) {
      if (!seen.has(route)) {
        if (seen.size >= MAX_ROUTES) route = 'other';
        else seen.add(route);
      }
      requests.inc({ route, code: String(status), client });
      duration.observe({ route }, seconds);
    },
    recordGrpc(method, code, seconds, client) {
      grpcCalls.inc({ method, code: String(code), client });
      grpcDuration.observe({ method }, seconds);
    },
    watchCertificates(c) {
      certificates = c;
    },
    watchBackends(replicas) {
      watched = replicas;
    },
  };
}

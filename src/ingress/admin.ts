/**
 * The admin listener (plaintext node:http, meant for a private port):
 *
 * - GET /metrics: the router's Prometheus registry, with the registry's content type.
 * - GET /health: liveness, always 200 `{"status":"ok"}` while the process serves.
 * - GET /ready: 200 `{"status":"ready"}` when every configured model has a usable replica (state up, /info read),
 *   else 503 `{"status":"not ready","models_without_backend":[...]}`.
 * - GET /v1/backends: a JSON array, one entry per configured backend: url, model, protocol, state, last_error, and
 *   the limits read from its /info (`limits`: null until /info has answered once).
 *
 * Anything else: 404 with an empty body. Request bodies are ignored. Over TLS (`[admin.tls]`), a connection the
 * listener refused gets the router's error body (401 or 403, with its code) on every request.
 */
import http from 'node:http';
import type { ReplicaSets } from '../backend/replicas.js';
import type { RouterMetrics } from '../metrics.js';
import { connectionAuth, verdictOf } from '../tls/server.js';
import { getProcessLogger } from '../log.js';
import { errorReply } from './http/errors.js';

export interface AdminDeps {
  replicas: ReplicaSets;
  /** createAdminServer calls `metrics.watchBackends(replicas)`, so tei_router_backend_up follows these replicas. */
  metrics: RouterMetrics;
  /** The admin port serves TLS: a request whose connection has no TLS verdict is refused. */
  tls?: boolean;
  /** True once the router is draining for shutdown: /ready answers 503 so load balancers stop sending. */
  draining?: () => boolean;
}

interface Reply {
  status: number;
  type?: string;
  body: string;
}

const json = (status: number, value: unknown): Reply => ({
  status,
  type: 'application/json',
  body: JSON.stringify(value),
});

/** The models that have no usable replica now. */
export function modelsWithoutBackend(replicas: ReplicaSets): string[] {
  return replicas.models
    .map((m) => m.name)
    .filter((name) => !replicas.forModel(name).some((r) => r.state === 'up' && r.info !== undefined));
}

export function backendsJson(replicas: ReplicaSets): unknown[] {
  return replicas.replicas.map((r) => ({
    url: r.url,
    model: r.model,
    source: r.source,
    protocol: r.client.protocol,
    state: r.state,
    last_error: r.lastError ?? null,
    limits: r.info
      ? {
          model_id: r.info.modelId,
          model_type: r.info.modelType,
          version: r.info.version,
          max_concurrent_requests: r.info.maxConcurrentRequests,
          max_input_length: r.info.maxInputLength,
          max_batch_tokens: r.info.maxBatchTokens,
          max_batch_requests: r.info.maxBatchRequests ?? null,
          max_client_batch_size: r.info.maxClientBatchSize,
        }
      : null,
  }));
}

export function createAdminServer(deps: AdminDeps): http.Server {
  const { replicas, metrics } = deps;
  metrics.watchBackends(replicas);

  async function route(method: string, path: string): Promise<Reply> {
    if (method !== 'GET') return { status: 404, body: '' };
    switch (path) {
      case '/metrics':
        return { status: 200, type: metrics.registry.contentType, body: await metrics.registry.metrics() };
      case '/health':
        return json(200, { status: 'ok' });
      case '/ready': {
        if (deps.draining?.()) return json(503, { status: 'draining' });
        const missing = modelsWithoutBackend(replicas);
        return missing.length === 0
          ? json(200, { status: 'ready' })
          : json(503, { status: 'not ready', models_without_backend: missing });
      }
      case '/v1/backends':
        return json(200, backendsJson(replicas));
      default:
        return { status: 404, body: '' };
    }
  }

  return http.createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const refusal = verdictOf(connectionAuth(req.socket), deps.tls === true)?.refusal;
    if (refusal) {
      const r = errorReply(refusal, false);
      res.writeHead(r.status, r.headers);
      res.end(r.body);
      return;
    }
    route(req.method ?? 'GET', path).then(
      (reply) => {
        const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(reply.body) };
        if (reply.type) headers['content-type'] = reply.type;
        res.writeHead(reply.status, headers);
        res.end(reply.body);
      },
      (err: unknown) => {
        getProcessLogger().error('tei-router admin: unexpected error', {
          error: err instanceof Error ? err.stack : String(err),
        });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error');
      },
    );
  });
}

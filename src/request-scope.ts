/**
 * What the router learns about one request while serving it, collected without threading a context argument
 * through every layer: ingress opens a scope (AsyncLocalStorage) around the request's work; the pipeline and the
 * forwarder add the model, counts and stage timings; ingress reads it back for metrics and the access log when it
 * answers. A gRPC stream is one scope (its messages add up).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ClientContext } from './tls/clients.js';
import { RouterError } from './errors.js';

export interface StageTimes {
  /** Waiting in the coalescer for company. */
  coalesceNs: number;
  /** Waiting for a worker thread. */
  poolQueueNs: number;
  /** The router's own tokenization (in the worker). */
  tokenizeNs: number;
  /** Wall time of the backend calls made for the request (for coalesced requests: their shared task's). */
  backendNs: number;
}

export interface RequestScope {
  /** `x-request-id` from the client when it is a sane token, else generated. */
  readonly id: string;
  readonly protocol: 'http' | 'grpc';
  readonly client: ClientContext;
  /** W3C trace context from the client, passed on to backends. */
  readonly traceparent: string | undefined;
  /** The configured model the request was routed to, once known. */
  model: string | undefined;
  /**
   * When the client stops waiting (epoch ms): its gRPC deadline or x-request-timeout header; undefined: none given
   * (the pipeline applies request.timeout_ms).
   */
  deadline: number | undefined;
  texts: number;
  tokens: number;
  readonly stages: StageTimes;
}

const storage = new AsyncLocalStorage<RequestScope>();

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

export function newScope(
  protocol: 'http' | 'grpc',
  client: ClientContext,
  headers: { requestId?: string; traceparent?: string },
): RequestScope {
  const id =
    headers.requestId && REQUEST_ID.test(headers.requestId)
      ? headers.requestId
      : // the last 16 hex digits of a random UUID (62 random bits): node draws UUIDs from a cached pool
        // (~0.2 µs), where randomBytes(8) makes a system call each time (~5 µs here)
        randomUUID().replace(/-/g, '').slice(-16);
  const tp = headers.traceparent?.trim().toLowerCase();
  return {
    id,
    protocol,
    client,
    traceparent: tp && TRACEPARENT.test(tp) ? tp : undefined,
    model: undefined,
    deadline: undefined,
    texts: 0,
    tokens: 0,
    stages: { coalesceNs: 0, poolQueueNs: 0, tokenizeNs: 0, backendNs: 0 },
  };
}

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The scope of the request whose work is running now (undefined outside a request, e.g. /info polling). */
export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

const TIMEOUT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/**
 * The deadline an `x-request-timeout` header sets, from `now`: a duration such as `250ms`, `2s`, `1.5s` or `1m`;
 * a bare number is milliseconds. Undefined when the header is absent; ROUTER_ERR_BAD_HEADER when it is not a
 * positive duration.
 */
export function deadlineFromHeader(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const m = TIMEOUT.exec(value);
  const ms = m ? Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS] : NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new RouterError(
      'ROUTER_ERR_BAD_HEADER',
      `x-request-timeout ${JSON.stringify(value)} is not a positive duration; write e.g. 250ms, 2s or 1m (a bare number is milliseconds)`,
    );
  }
  return now + ms;
}

/**
 * HTTP failures of a TEI backend, mapped once:
 *
 * | backend answer                                         | rejects with                                   |
 * |--------------------------------------------------------|------------------------------------------------|
 * | any status with TEI's `{error, error_type}` JSON body  | TeiBackendError(error_type, error), .status    |
 * | 401 (TEI's --api-key; empty body)                      | ROUTER_ERR_BACKEND_AUTH                        |
 * | 400/413/415/422 plain text (axum extractor rejections) | ROUTER_ERR_BACKEND_REJECTED, the text quoted   |
 * | 502/503/504 without TEI's body (a proxy in front)      | ROUTER_ERR_BACKEND_UNAVAILABLE                 |
 * | any other status / body                                | ROUTER_ERR_BACKEND_PROTOCOL                    |
 * | connect refused, reset, closed socket, DNS, TLS        | ROUTER_ERR_BACKEND_UNAVAILABLE (URL and cause) |
 * | undici headers/body timeout                            | ROUTER_ERR_BACKEND_TIMEOUT                     |
 *
 * The per-call timeout and the caller's abort are decided in call-scope.ts before these run.
 */
import type { TeiErrorType } from '../tei/errors.js';
import { BackendError, TeiBackendError, describeCause } from './errors.js';

const TEI_ERROR_TYPES: readonly TeiErrorType[] = [
  'Unhealthy',
  'Backend',
  'Overloaded',
  'Validation',
  'Tokenizer',
  'Empty',
];

function snippet(text: string): string {
  const t = text.trim();
  return t.length > 300 ? t.slice(0, 300) + '…' : t;
}

function teiErrorBody(text: string): { error: string; errorType: TeiErrorType } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as { error?: unknown; error_type?: unknown };
    if (typeof v.error === 'string' && TEI_ERROR_TYPES.includes(v.error_type as TeiErrorType)) {
      return { error: v.error, errorType: v.error_type as TeiErrorType };
    }
  } catch {
    // not TEI's error body
  }
  return undefined;
}

/** The error for a non-2xx answer to `route`. */
export function responseError(backend: string, route: string, status: number, text: string): Error {
  const tei = teiErrorBody(text);
  if (tei) return new TeiBackendError(tei.errorType, tei.error, backend, { status });
  const body = snippet(text);
  const quoted = body ? `: ${body}` : '';
  if (status === 401) {
    return new BackendError(
      'ROUTER_ERR_BACKEND_AUTH',
      backend,
      `${route} answered 401 Unauthorized: the backend runs with --api-key and the router's key is missing or wrong`,
      { status },
    );
  }
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return new BackendError(
      'ROUTER_ERR_BACKEND_REJECTED',
      backend,
      `${route} rejected the request (HTTP ${status}${quoted})`,
      {
        status,
      },
    );
  }
  if (status === 502 || status === 503 || status === 504) {
    return new BackendError(
      'ROUTER_ERR_BACKEND_UNAVAILABLE',
      backend,
      `${route} answered HTTP ${status}${quoted}`,
      {
        status,
      },
    );
  }
  const hint = status === 404 || status === 405 ? ' (is this a TEI HTTP server?)' : '';
  return new BackendError(
    'ROUTER_ERR_BACKEND_PROTOCOL',
    backend,
    `${route} answered HTTP ${status}${quoted}${hint}`,
    {
      status,
    },
  );
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A failure below HTTP (undici, net, tls). */
export function transportError(backend: string, err: unknown): BackendError {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new BackendError('ROUTER_ERR_BACKEND_TIMEOUT', backend, describeCause(err), { cause: err });
  }
  return new BackendError('ROUTER_ERR_BACKEND_UNAVAILABLE', backend, `unavailable: ${describeCause(err)}`, {
    cause: err,
  });
}

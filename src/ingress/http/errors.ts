/**
 * Errors → HTTP replies, mapped once for every HTTP adapter: TEI's shapes for TEI routes (`{error, error_type}`,
 * status by TEI 1.9's table), OpenAI's shape (`{message, code, type}`) on /v1/embeddings, axum's plain-text
 * rejections for bodies TEI itself would reject. Router errors carry their stable code in an extra `code` field
 * (TEI-shaped bodies) or in `type` context (OpenAI), plus an `x-tei-router-error` header.
 */
import { JsonRejection } from '../../codec/serde-json.js';
import type { ErrorKind } from '../../errors.js';
import { RouterError } from '../../errors.js';
import type { TeiErrorType } from '../../tei/errors.js';
import { TeiError, teiHttpStatus } from '../../tei/errors.js';
import type { HttpReply } from './types.js';
import { getProcessLogger } from '../../log.js';

const KIND_STATUS: Record<ErrorKind, { status: number; type: TeiErrorType }> = {
  invalid_argument: { status: 422, type: 'Validation' },
  unauthenticated: { status: 401, type: 'Validation' },
  permission_denied: { status: 403, type: 'Validation' },
  not_found: { status: 404, type: 'Validation' },
  resource_exhausted: { status: 429, type: 'Overloaded' },
  unavailable: { status: 503, type: 'Unhealthy' },
  deadline_exceeded: { status: 504, type: 'Backend' },
  internal: { status: 500, type: 'Backend' },
};

export function plainText(status: number, text: string): HttpReply {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text };
}

function jsonReply(status: number, body: unknown, extra: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify(body) };
}

/** The reply for any error a route throws; unknown errors become ROUTER_ERR_INTERNAL (and are logged). */
export function errorReply(err: unknown, openai: boolean): HttpReply {
  if (err instanceof JsonRejection) return plainText(err.status, err.message);
  if (err instanceof TeiError) {
    const status = (err as TeiError & { status?: number }).status ?? teiHttpStatus(err.errorType, '1.9');
    return openai
      ? jsonReply(status, { message: err.message, code: status, type: err.errorType })
      : jsonReply(status, { error: err.message, error_type: err.errorType });
  }
  const routerErr =
    err instanceof RouterError
      ? err
      : new RouterError(
          'ROUTER_ERR_INTERNAL',
          `internal error: ${err instanceof Error ? err.message : String(err)}`,
        );
  if (!(err instanceof RouterError)) {
    getProcessLogger().error('tei-router: unexpected error', {
      error: err instanceof Error ? err.stack : String(err),
    });
  }
  const { status, type } = KIND_STATUS[routerErr.kind];
  const header: Record<string, string> = { 'x-tei-router-error': routerErr.code };
  if (routerErr.code === 'ROUTER_ERR_OVERLOADED') header['retry-after'] = '1';
  return openai
    ? jsonReply(
        status,
        { message: routerErr.message, code: status, type, error_code: routerErr.code },
        header,
      )
    : jsonReply(status, { error: routerErr.message, error_type: type, code: routerErr.code }, header);
}

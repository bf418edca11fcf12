/**
 * The two error families a backend call rejects with (like undici's errors: a class per family, a stable code):
 *
 * - `TeiBackendError`: TEI itself answered with one of its errors (HTTP `{error, error_type}` body, or a tei.v1
 *   gRPC status that maps back to an ErrorType). It IS a TeiError, so ingress passes it through in TEI's shapes;
 *   it also carries what the backend actually sent (HTTP status or gRPC code) and which backend sent it.
 * - `BackendError`: the router could not get a TEI answer (refused, reset, timed out, unauthenticated, a reply
 *   outside TEI's contract). It IS a RouterError with a ROUTER_ERR_BACKEND_* code.
 *
 * A caller's abort is neither: it rejects with the signal's reason (an AbortError DOMException by default).
 */
import type { ErrorCode } from '../errors.js';
import { RouterError } from '../errors.js';
import type { TeiErrorType } from '../tei/errors.js';
import { TeiError } from '../tei/errors.js';

/** The codes of transport-level backend failures (see README "Error codes"). */
export type BackendErrorCode = Extract<
  ErrorCode,
  | 'ROUTER_ERR_BACKEND_UNAVAILABLE'
  | 'ROUTER_ERR_BACKEND_TIMEOUT'
  | 'ROUTER_ERR_BACKEND_AUTH'
  | 'ROUTER_ERR_BACKEND_REJECTED'
  | 'ROUTER_ERR_BACKEND_PROTOCOL'
>;

export class TeiBackendError extends TeiError {
  /** The backend's URL. */
  readonly backend: string;
  /** The HTTP status TEI answered with (HTTP backends). */
  readonly status: number | undefined;
  /** The gRPC status code TEI answered with (gRPC backends). */
  readonly grpcCode: number | undefined;
  constructor(
    errorType: TeiErrorType,
    message: string,
    backend: string,
    wire: { status?: number; grpcCode?: number },
  ) {
    super(errorType, message);
    this.name = 'TeiBackendError';
    this.backend = backend;
    this.status = wire.status;
    this.grpcCode = wire.grpcCode;
  }
}

export class BackendError extends RouterError {
  declare readonly code: BackendErrorCode;
  readonly backend: string;
  readonly status: number | undefined;
  readonly grpcCode: number | undefined;
  constructor(
    code: BackendErrorCode,
    backend: string,
    message: string,
    options: { cause?: unknown; status?: number; grpcCode?: number } = {},
  ) {
    super(code, `backend ${backend}: ${message}`, { cause: options.cause });
    this.name = 'BackendError';
    this.backend = backend;
    this.status = options.status;
    this.grpcCode = options.grpcCode;
  }
}

/** What a call rejects with when its caller's signal aborts: the signal's reason, or a standard AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/** A short description of a transport error: its message plus its code when the message lacks it. */
export function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const message = err.message || err.name;
  if (err instanceof AggregateError && err.errors.length > 0 && !err.message) {
    return err.errors.map(describeCause).join('; ');
  }
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/** A bounded label for a failed backend call (metrics, stats): the TEI error type or the router error code. */
/** The reason a hedged call that lost the race is cancelled with (failover.ts). */
export const HEDGE_LOST = new Error('hedged call lost the race');

/**
 * callErrorLabel for one attempt of a batch, which may also end because the router cancelled it: `hedge_lost` (a
 * hedge answered first) or `cancelled` (the request was abandoned: client gone, deadline, a sibling batch failed).
 */
export function attemptErrorLabel(err: unknown): string {
  if (err === HEDGE_LOST) return 'hedge_lost';
  if (err instanceof DOMException && err.name === 'AbortError') return 'cancelled';
  return callErrorLabel(err);
}

export function callErrorLabel(err: unknown): string {
  if (err instanceof TeiError) return err.errorType;
  if (err instanceof RouterError) return err.code;
  return 'ROUTER_ERR_INTERNAL';
}

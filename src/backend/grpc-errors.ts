/**
 * gRPC failures of a TEI backend, mapped once. TEI maps its ErrorType to a status code (router/src/grpc/server.rs,
 * reference §2.5) with the HTTP `error` text as the message; this is the inverse, with the message deciding where
 * one code covers two types:
 *
 * | gRPC status                                   | rejects with                                        |
 * |-----------------------------------------------|-----------------------------------------------------|
 * | INVALID_ARGUMENT, message has "cannot be empty" | TeiBackendError Empty                             |
 * | INVALID_ARGUMENT, otherwise                   | TeiBackendError Validation                          |
 * | RESOURCE_EXHAUSTED (TEI's "Model is overloaded") | TeiBackendError Overloaded                       |
 * | RESOURCE_EXHAUSTED from grpc-js's receive limit | ROUTER_ERR_BACKEND_PROTOCOL                       |
 * | FAILED_PRECONDITION, message "tokenizer error…" | TeiBackendError Tokenizer                         |
 * | FAILED_PRECONDITION, otherwise                | TeiBackendError Backend                             |
 * | UNAVAILABLE, message exactly "unhealthy"      | TeiBackendError Unhealthy                           |
 * | UNAVAILABLE otherwise (refused, reset, dropped) | ROUTER_ERR_BACKEND_UNAVAILABLE (URL and cause)    |
 * | CANCELLED not asked for by the caller         | ROUTER_ERR_BACKEND_UNAVAILABLE                      |
 * | DEADLINE_EXCEEDED                             | ROUTER_ERR_BACKEND_TIMEOUT                          |
 * | UNAUTHENTICATED (TEI's --api-key)             | ROUTER_ERR_BACKEND_AUTH                             |
 * | OUT_OF_RANGE (tonic's 4 MiB receive limit)    | ROUTER_ERR_BACKEND_REJECTED                         |
 * | UNIMPLEMENTED, INTERNAL, UNKNOWN, any other   | ROUTER_ERR_BACKEND_PROTOCOL                         |
 *
 * A caller's abort (CANCELLED after call.cancel()) and the per-call timeout are decided in call-scope.ts first.
 */
import { status as Status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { BackendError, TeiBackendError, describeCause } from './errors.js';

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'details' in err;
}

export function grpcError(backend: string, err: unknown): Error {
  if (!isServiceError(err)) {
    return new BackendError('ROUTER_ERR_BACKEND_PROTOCOL', backend, describeCause(err), { cause: err });
  }
  const code = err.code;
  // grpc-js appends an empty "Resolution note:" to connection failures; drop it
  const details = (err.details ?? '').replace(/\.? ?Resolution note: *$/, '').trim();
  const tei = (type: ConstructorParameters<typeof TeiBackendError>[0]) =>
    new TeiBackendError(type, details, backend, { grpcCode: code });
  const router = (c: ConstructorParameters<typeof BackendError>[0], message: string) =>
    new BackendError(c, backend, message, { cause: err, grpcCode: code });
  const named = `${Status[code] ?? code}: ${details}`;
  switch (code) {
    case Status.INVALID_ARGUMENT:
      return tei(details.includes('cannot be empty') ? 'Empty' : 'Validation');
    case Status.RESOURCE_EXHAUSTED:
      return details.startsWith('Received message larger than max')
        ? router('ROUTER_ERR_BACKEND_PROTOCOL', named)
        : tei('Overloaded');
    case Status.FAILED_PRECONDITION:
      return tei(details.startsWith('tokenizer error') ? 'Tokenizer' : 'Backend');
    case Status.UNAVAILABLE:
      return details === 'unhealthy'
        ? tei('Unhealthy')
        : router('ROUTER_ERR_BACKEND_UNAVAILABLE', `unavailable: ${named}`);
    case Status.CANCELLED:
      return router('ROUTER_ERR_BACKEND_UNAVAILABLE', `unavailable: ${named}`);
    case Status.DEADLINE_EXCEEDED:
      return router('ROUTER_ERR_BACKEND_TIMEOUT', named);
    case Status.UNAUTHENTICATED:
      return router(
        'ROUTER_ERR_BACKEND_AUTH',
        `${named} (the backend runs with --api-key and the router's key is missing or wrong)`,
      );
    case Status.OUT_OF_RANGE:
      return router('ROUTER_ERR_BACKEND_REJECTED', named);
    default:
      return router('ROUTER_ERR_BACKEND_PROTOCOL', named);
  }
}

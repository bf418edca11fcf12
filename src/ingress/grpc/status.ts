/**
 * Errors → gRPC statuses, mapped once for every service of the gRPC listener: TEI's own errors keep TEI's code and
 * text (so stock TEI clients see what TEI would send); router errors map by kind and carry their stable code in
 * the trailing metadata `x-tei-router-error`; anything else is a bug, reported as ROUTER_ERR_INTERNAL.
 */
import * as grpc from '@grpc/grpc-js';
import type { ErrorKind } from '../../errors.js';
import { getProcessLogger } from '../../log.js';
import { RouterError } from '../../errors.js';
import { TeiError, teiGrpcCode } from '../../tei/errors.js';

const KIND_CODE: Record<ErrorKind, grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  internal: grpc.status.INTERNAL,
};

export const ROUTER_ERROR_TRAILER = 'x-tei-router-error';

/** A status for a failure the router answers itself with a code that has no RouterError kind (UNIMPLEMENTED). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

export function toStatus(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof TeiError) return { code: teiGrpcCode(err.errorType), details: err.message };
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.message };
  let routerErr: RouterError;
  if (err instanceof RouterError) {
    routerErr = err;
  } else {
    getProcessLogger().error('tei-router: unexpected error in a gRPC call', {
      error: err instanceof Error ? err.stack : String(err),
    });
    routerErr = new RouterError(
      'ROUTER_ERR_INTERNAL',
      `internal error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const metadata = new grpc.Metadata();
  metadata.set(ROUTER_ERROR_TRAILER, routerErr.code);
  return { code: KIND_CODE[routerErr.kind], details: routerErr.message, metadata };
}

/**
 * TEI's own error model (router/src/lib.rs `ErrorType`, `ErrorResponse`), shared by the simulator (which produces
 * these errors) and the router (which passes them through to TEI-style clients). This is TEI's wire contract, not
 * tei-router's error catalogue (that is src/errors.ts).
 */
import type { TeiVersion } from './types.js';

/** TEI's ErrorType, serialised in PascalCase on the wire. */
export type TeiErrorType = 'Unhealthy' | 'Backend' | 'Overloaded' | 'Validation' | 'Tokenizer' | 'Empty';

export class TeiError extends Error {
  readonly errorType: TeiErrorType;
  constructor(errorType: TeiErrorType, message: string) {
    super(message);
    this.name = 'TeiError';
    this.errorType = errorType;
  }
}

/** HTTP status of an ErrorType. Validation was 413 up to TEI 1.8.x and is 422 since 1.9.0. */
export function teiHttpStatus(type: TeiErrorType, version: TeiVersion): number {
  switch (type) {
    case 'Empty':
      return 400;
    case 'Validation':
      return version === '1.8' ? 413 : 422;
    case 'Tokenizer':
      return 422;
    case 'Overloaded':
      return 429;
    case 'Backend':
      return 424;
    case 'Unhealthy':
      return 503;
  }
}

/** gRPC status code numbers used by TEI (router/src/grpc/server.rs). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function teiGrpcCode(type: TeiErrorType): number {
  switch (type) {
    case 'Unhealthy':
      return GrpcCode.UNAVAILABLE;
    case 'Backend':
    case 'Tokenizer':
      return GrpcCode.FAILED_PRECONDITION;
    case 'Overloaded':
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 'Validation':
    case 'Empty':
      return GrpcCode.INVALID_ARGUMENT;
  }
}

/** Prefix that TEI's core adds to validation errors (`TextEmbeddingsError::Validation` Display). */
export const VALIDATION_PREFIX = 'Input validation error: ';

/**
 * tei-router's error catalogue: every error the router raises on its own account has a stable code here, a
 * transport-neutral kind, and a README entry (a test checks that). TEI's own errors, passed through to TEI-style
 * clients, are modelled in src/tei/errors.ts.
 */

export type ErrorKind =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'resource_exhausted'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'internal';

export const errorCatalogue = {
  ROUTER_ERR_CLI_UNKNOWN_COMMAND: { kind: 'invalid_argument', summary: 'The subcommand does not exist.' },
  ROUTER_ERR_CLI_UNKNOWN_FLAG: {
    kind: 'invalid_argument',
    summary: 'A command-line flag is not one the command takes.',
  },
  ROUTER_ERR_CLI_BAD_VALUE: {
    kind: 'invalid_argument',
    summary: 'A command-line flag or environment variable has a value of the wrong type or out of range.',
  },
  ROUTER_ERR_CLI_FILE: {
    kind: 'invalid_argument',
    summary:
      'A file a command reads or writes is missing, unreadable, already exists (without --force), or not what was expected (e.g. a certificate from another CA).',
  },
  ROUTER_ERR_CONFIG: {
    kind: 'invalid_argument',
    summary: 'The router configuration (file, environment or flags) has an unknown key or a bad value.',
  },
  ROUTER_ERR_UNKNOWN_MODEL: {
    kind: 'not_found',
    summary: 'The request names a model that is not configured.',
  },
  ROUTER_ERR_TARGET_REQUIRED: {
    kind: 'invalid_argument',
    summary:
      'A tei_multiplexer.v1 request has no Target, or an empty instance_name or model_id: the router cannot tell where it goes.',
  },
  ROUTER_ERR_UNKNOWN_TARGET: {
    kind: 'not_found',
    summary:
      'A tei_multiplexer.v1 Target names no configured backend URL, model or alias, or its instance_index is out of range.',
  },
  ROUTER_ERR_UNSUPPORTED: {
    kind: 'invalid_argument',
    summary:
      'The request needs something no configured backend offers (e.g. token-id inputs with only gRPC backends).',
  },
  ROUTER_ERR_ARROW_INVALID: {
    kind: 'invalid_argument',
    summary:
      'An Arrow IPC request body cannot be used: malformed or truncated bytes, no record batch, no string text column, or a compression codec other than LZ4_FRAME/ZSTD.',
  },
  ROUTER_ERR_CLIENT_CERT: {
    kind: 'unauthenticated',
    summary:
      'The listener needs a verified client certificate for this request: none was presented, or the one presented failed verification (CA, validity, revocation, key usage).',
  },
  ROUTER_ERR_FORBIDDEN: {
    kind: 'permission_denied',
    summary:
      'The client certificate is valid but not allowed: it matches none of allowed_subjects / allowed_sans, or its SANs lack the SNI name it dialled, or an [[authz]] entry does not grant the model.',
  },
  ROUTER_ERR_TLS_MATERIAL: {
    kind: 'invalid_argument',
    summary:
      'A TLS certificate, key, CA bundle or CRL file cannot be used: unreadable, not PEM, or a key that does not match its certificate.',
  },
  ROUTER_ERR_NO_BACKEND: { kind: 'unavailable', summary: 'No reachable backend serves the requested model.' },
  ROUTER_ERR_BACKEND_MISMATCH: {
    kind: 'internal',
    summary: 'Replicas of one model disagree (for example on the embedding dimension).',
  },
  ROUTER_ERR_OVERLOADED: {
    kind: 'resource_exhausted',
    summary:
      'The model has more estimated tokens queued than admission.max_queued_tokens, or the worker pool queue is full (pool.max_queue); retry shortly (HTTP 429 with retry-after).',
  },
  ROUTER_ERR_DEADLINE_EXCEEDED: {
    kind: 'deadline_exceeded',
    summary:
      "The request's deadline (its gRPC deadline, its x-request-timeout header, or request.timeout_ms) passed before the backends answered (HTTP 504, gRPC DEADLINE_EXCEEDED).",
  },
  ROUTER_ERR_BAD_HEADER: {
    kind: 'invalid_argument',
    summary:
      'A request header the router reads has a value it cannot use (for example x-request-timeout: 5s is valid, 5 parsecs is not).',
  },
  ROUTER_ERR_INTERNAL: {
    kind: 'internal',
    summary: 'An unexpected failure inside the router (a bug: please report it).',
  },
  ROUTER_ERR_SIM_CONFIG: {
    kind: 'invalid_argument',
    summary: 'The simulator options contradict each other.',
  },
  ROUTER_ERR_TOKENIZER_LOAD: {
    kind: 'invalid_argument',
    summary: 'A tokenizer.json could not be read, parsed, or uses an unsupported component.',
  },
  ROUTER_ERR_BACKEND_UNAVAILABLE: {
    kind: 'unavailable',
    summary:
      'A TEI backend could not be reached: connection refused, reset or closed, or a gRPC UNAVAILABLE other than "unhealthy".',
  },
  ROUTER_ERR_BACKEND_TIMEOUT: {
    kind: 'unavailable',
    summary: 'A TEI backend did not answer within the configured per-call timeout.',
  },
  ROUTER_ERR_BACKEND_AUTH: {
    kind: 'internal',
    summary: 'A TEI backend refused the credentials of the router (HTTP 401, gRPC UNAUTHENTICATED).',
  },
  ROUTER_ERR_BACKEND_REJECTED: {
    kind: 'internal',
    summary:
      'The web framework of a TEI backend rejected a request before TEI saw it (plain-text HTTP 400/413/415/422).',
  },
  ROUTER_ERR_BACKEND_PROTOCOL: {
    kind: 'internal',
    summary:
      'A TEI backend answered outside the TEI contract (unexpected status, malformed body, wrong row count).',
  },
} as const satisfies Record<string, { kind: ErrorKind; summary: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export class RouterError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RouterError';
    this.code = code;
    this.kind = errorCatalogue[code].kind;
  }
}

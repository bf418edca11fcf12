/**
 * Backend clients for TEI servers: `createBackend(url, options)` picks the client by URL scheme, like undici's
 * factories build the layer below. One TeiBackend talks to ONE backend; replica sets, balancing and health
 * polling are built on top (replicas.ts).
 *
 *   http://host:port[/prefix]   TEI HTTP, HTTP/1.1 keep-alive (options.h2c: HTTP/2 with prior knowledge)
 *   https://host[:port][/prefix] TEI HTTP behind TLS, h2 or HTTP/1.1 by ALPN
 *   grpc://host:port            TEI gRPC (tei.v1), plaintext HTTP/2
 *   grpcs://host[:port]         TEI gRPC behind TLS (system roots)
 */
import { RouterError } from '../errors.js';
import { GrpcBackend } from './grpc.js';
import { HttpBackend } from './http.js';
import type { BackendOptions, TeiBackend } from './types.js';

export { BackendError, TeiBackendError } from './errors.js';
export type { BackendErrorCode } from './errors.js';
export { GrpcBackend } from './grpc.js';
export { HttpBackend } from './http.js';
export type * from './types.js';

const SCHEMES = ['http:', 'https:', 'grpc:', 'grpcs:'];

export function createBackend(url: string, options: BackendOptions): TeiBackend {
  const u = parseBackendUrl(url, options);
  const grpcScheme = u.protocol === 'grpc:' || u.protocol === 'grpcs:';
  return grpcScheme ? new GrpcBackend(u, options) : new HttpBackend(u, options);
}

/** Checks a backend URL and its options as createBackend does, without making a client: ROUTER_ERR_CONFIG. */
export function parseBackendUrl(url: string, options: BackendOptions): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend URL ${JSON.stringify(url)} is not a valid URL; write scheme://host:port, e.g. http://127.0.0.1:8080`,
    );
  }
  if (!SCHEMES.includes(u.protocol)) {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend URL ${url} has scheme ${u.protocol.replace(/:$/, '')}; use http, https, grpc or grpcs (scheme://host:port)`,
    );
  }
  if (u.username || u.password) {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend URL ${u.protocol}//${u.host} carries credentials; give TEI's API key as the backend's api key instead`,
    );
  }
  if (u.search || u.hash) {
    throw new RouterError('ROUTER_ERR_CONFIG', `backend URL ${url} must not have a query or fragment`);
  }
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend timeout must be a positive number of ms, got ${options.timeoutMs}`,
    );
  }
  if (
    options.connections !== undefined &&
    (!Number.isInteger(options.connections) || options.connections < 1)
  ) {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `backend connections must be a positive integer, got ${options.connections}`,
    );
  }
  const grpcScheme = u.protocol === 'grpc:' || u.protocol === 'grpcs:';
  if (options.h2c && u.protocol !== 'http:') {
    throw new RouterError(
      'ROUTER_ERR_CONFIG',
      `h2c applies to http:// backends only, not ${u.protocol}//${u.host}`,
    );
  }
  if (grpcScheme && u.pathname !== '' && u.pathname !== '/') {
    throw new RouterError('ROUTER_ERR_CONFIG', `gRPC backend URL ${url} must not have a path`);
  }
  return u;
}

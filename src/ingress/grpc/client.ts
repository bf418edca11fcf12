/**
 * The request scope of a gRPC call (client, model, counts, stage timings: see src/request-scope.ts). The listener's
 * interceptor (server.ts) opens it and attaches it to the call's request metadata object; handlers read it back
 * with `scopeOf` and run their work inside it. Kept off the wire: a client cannot set it.
 */
import type * as grpc from '@grpc/grpc-js';
import { ANONYMOUS } from '../../tls/clients.js';
import { newScope } from '../../request-scope.js';
import type { RequestScope } from '../../request-scope.js';

const scopes = new WeakMap<grpc.Metadata, RequestScope>();

export function attachScope(md: grpc.Metadata, scope: RequestScope): void {
  scopes.set(md, scope);
}

/** The call's scope; a call that bypassed the interceptor (tests building services alone) gets a fresh one. */
export function scopeOf(md: grpc.Metadata): RequestScope {
  let s = scopes.get(md);
  if (!s) {
    s = newScope('grpc', ANONYMOUS, {});
    scopes.set(md, s);
  }
  return s;
}

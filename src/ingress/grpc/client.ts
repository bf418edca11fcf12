/**
 * The client of a gRPC call. The listener's interceptor (server.ts) attaches the connection's ClientContext to the
 * call's request metadata object; handlers read it back with `clientOf`. Kept off the wire: a client cannot set it.
 */
import type * as grpc from '@grpc/grpc-js';
import { ANONYMOUS } from '../../tls/clients.js';
import type { ClientContext } from '../../tls/clients.js';

const clients = new WeakMap<grpc.Metadata, ClientContext>();

export function attachClient(md: grpc.Metadata, client: ClientContext): void {
  clients.set(md, client);
}

export function clientOf(md: grpc.Metadata): ClientContext {
  return clients.get(md) ?? ANONYMOUS;
}

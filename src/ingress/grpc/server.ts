/**
 * The router's gRPC listener, not yet bound: tei_multiplexer.v1.TeiMultiplexer (tei-manager's wire contract),
 * every tei.v1 service (stock TEI clients), grpc.health.v1 and server reflection v1 + v1alpha. The caller binds it
 * (`server.bindAsync(addr, credentials, cb)`) and shuts it down.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { ReplicaSets } from '../../backend/replicas.js';
import type { Pipeline } from '../../pipeline/index.js';
import { PROTO_FILES, reflectionDefinition, serviceDefinition } from '../../proto/load.js';
import { addHealth } from './health.js';
import type { ArrowRpcs } from './multiplexer.js';
import { multiplexerService } from './multiplexer.js';
import { createOps } from './ops.js';
import { Targets } from './target.js';
import { teiV1Services } from './tei-v1.js';
import { toStatus } from './status.js';
import type { RouterError } from '../../errors.js';

export type { ArrowRpcs } from './multiplexer.js';

export interface GrpcIngressDeps {
  pipeline: Pipeline;
  replicas: ReplicaSets;
  /** Largest request and response message, in bytes (config grpc.max_message_bytes). */
  maxMessageBytes: number;
  /** The Arrow RPCs of TeiMultiplexer; absent: they answer UNIMPLEMENTED. */
  arrow?: ArrowRpcs;
  /**
   * The refusal (if any) for calls on the connection from `remote` ("address:port"); checked by an interceptor
   * before any handler, health and reflection included, runs.
   */
  refusalFor?: (remote: string) => RouterError | null;
}

/** A server interceptor that ends a call with the connection's refusal before its handler sees it. */
function refusalInterceptor(refusalFor: (remote: string) => RouterError | null): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        const info = call.getConnectionInfo();
        const refusal = refusalFor(`${info.remoteAddress}:${info.remotePort}`);
        if (refusal) {
          const st = toStatus(refusal);
          call.sendStatus({
            code: st.code ?? grpc.status.UNKNOWN,
            details: st.details ?? refusal.message,
            metadata: st.metadata ?? new grpc.Metadata(),
          });
          return;
        }
        next();
      },
    });
}

export function createGrpcIngress(deps: GrpcIngressDeps): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes,
    'grpc.max_send_message_length': deps.maxMessageBytes,
    ...(deps.refusalFor ? { interceptors: [refusalInterceptor(deps.refusalFor)] } : {}),
  });
  const targets = new Targets(deps.pipeline, deps.replicas);
  const ops = createOps(deps.pipeline, targets);
  server.addService(
    serviceDefinition('tei_multiplexer.v1.TeiMultiplexer'),
    multiplexerService(ops, targets, deps.arrow),
  );
  for (const [name, impl] of Object.entries(teiV1Services(ops, targets))) {
    server.addService(serviceDefinition(name), impl);
  }
  addHealth(server, deps.replicas);
  new ReflectionService(reflectionDefinition(PROTO_FILES)).addToServer(server);
  return server;
}

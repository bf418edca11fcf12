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
import { ANONYMOUS } from '../../tls/clients.js';
import type { ClientDirectory } from '../../tls/clients.js';
import { verdictOf } from '../../tls/server.js';
import type { ConnectionAddresses, ConnectionAuth } from '../../tls/server.js';
import { attachScope } from './client.js';
import { newScope } from '../../request-scope.js';
import type { RequestScope } from '../../request-scope.js';

export type { ArrowRpcs } from './multiplexer.js';

export interface GrpcIngressDeps {
  pipeline: Pipeline;
  replicas: ReplicaSets;
  /** Largest request and response message, in bytes (config grpc.max_message_bytes). */
  maxMessageBytes: number;
  /** The Arrow RPCs of TeiMultiplexer; absent: they answer UNIMPLEMENTED. */
  arrow?: ArrowRpcs;
  /**
   * Set on a TLS listener: the verdict on a call's connection (by its addresses). A call whose connection has no
   * verdict is refused: on a TLS listener every connection gets one before grpc-js sees it.
   */
  connection?: (c: ConnectionAddresses) => ConnectionAuth | undefined;
  /** Names the client of each call (metrics label, access log, [[authz]] model checks). */
  clients?: ClientDirectory;
  /** Called once per finished call: full method path, gRPC status code, seconds, the call's scope. */
  observe?: (method: string, code: grpc.status, seconds: number, scope: RequestScope) => void;
}

/**
 * The interceptor every call passes first: it ends a call on a refused TLS connection with the refusal (before any
 * handler, health and reflection included, runs), attaches the connection's client to the request metadata for
 * the handlers (./client.ts), and reports each finished call.
 */
function connectionInterceptor(deps: GrpcIngressDeps): grpc.ServerInterceptor {
  return (method, call) => {
    const started = process.hrtime.bigint();
    const auth = verdictOf(deps.connection?.(call.getConnectionInfo()), deps.connection !== undefined);
    const client = deps.clients?.context(auth?.identity) ?? ANONYMOUS;
    let scope: RequestScope | undefined;
    const done = (code: grpc.status) =>
      deps.observe?.(
        method.path,
        code,
        Number(process.hrtime.bigint() - started) / 1e9,
        scope ?? newScope('grpc', client, {}),
      );
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        if (auth?.refusal) {
          const st = toStatus(auth.refusal);
          const code = st.code ?? grpc.status.UNKNOWN;
          call.sendStatus({ code, details: st.details ?? '', metadata: st.metadata ?? new grpc.Metadata() });
          done(code);
          return;
        }
        next({
          onReceiveMetadata: (md, nextMd) => {
            const first = (key: string) => {
              const v = md.get(key)[0];
              return typeof v === 'string' ? v : undefined;
            };
            scope = newScope('grpc', client, {
              requestId: first('x-request-id'),
              traceparent: first('traceparent'),
            });
            // grpc-js parsed the client's grpc-timeout; Infinity when it set none
            const deadline = call.getDeadline();
            const ms = deadline instanceof Date ? deadline.getTime() : deadline;
            if (Number.isFinite(ms)) scope.deadline = ms;
            attachScope(md, scope);
            nextMd(md);
          },
        });
      },
      sendStatus: (status, next) => {
        done(status.code);
        next(status);
      },
    });
  };
}

export function createGrpcIngress(deps: GrpcIngressDeps): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': deps.maxMessageBytes,
    'grpc.max_send_message_length': deps.maxMessageBytes,
    interceptors: [connectionInterceptor(deps)],
  });
  const targets = new Targets(deps.pipeline, deps.replicas, deps.clients);
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

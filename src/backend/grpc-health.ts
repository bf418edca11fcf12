/**
 * grpc.health.v1.Health/Check for a TEI gRPC backend. TEI registers tei.v1.Info and tei.v1.Tokenize as always
 * SERVING; the model's service (Embed for embedding models, Predict for classifiers, Rerank for rerankers) starts
 * NOT_SERVING and is set by the outcome of each model call. So NOT_SERVING on a fresh backend means "no call yet",
 * not "broken": GrpcBackend then probes with one tiny model call, as TEI's HTTP /health does when it last failed.
 */
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { LOADER_OPTIONS } from '../proto/load.js';
import type { ModelKind } from '../tei/types.js';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

let check: grpc.MethodDefinition<{ service: string }, { status?: ServingStatus }> | undefined;

/** The Check method, loaded once from the health.proto that grpc-health-check ships. */
export function healthCheckMethod(): grpc.MethodDefinition<{ service: string }, { status?: ServingStatus }> {
  if (!check) {
    const definition = protoLoader.loadSync('health/v1/health.proto', {
      ...LOADER_OPTIONS,
      includeDirs: [path.resolve(path.dirname(healthProtoPath), '../..')],
    });
    const service = definition['grpc.health.v1.Health'] as unknown as Record<
      string,
      grpc.MethodDefinition<unknown, unknown>
    >;
    check = service.Check as unknown as grpc.MethodDefinition<
      { service: string },
      { status?: ServingStatus }
    >;
  }
  return check;
}

/** The grpc.health service name whose status follows model calls, by model type. */
export function modelHealthService(kind: ModelKind): string {
  if (kind === 'embedding') return 'tei.v1.Embed';
  if (kind === 'classifier') return 'tei.v1.Predict';
  return 'tei.v1.Rerank';
}

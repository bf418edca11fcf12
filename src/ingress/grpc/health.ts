/**
 * grpc.health.v1 for the router's listener (grpc-health-check's HealthImplementation), with statuses computed from
 * the replica sets when asked: '' is SERVING when every configured model has a usable replica (up, info read);
 * tei_multiplexer.v1.TeiMultiplexer, tei.v1.Info and tei.v1.Tokenize when any model has one; tei.v1.Embed when a
 * usable model is an embedding model, tei.v1.Predict a classifier or reranker, tei.v1.Rerank a reranker. A Watch
 * stream is re-evaluated every second while it is open.
 */
import type { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { ReplicaSets } from '../../backend/replicas.js';
import type { ModelKind } from '../../tei/types.js';

type ServingStatus = 'SERVING' | 'NOT_SERVING';

export const HEALTH_SERVICES = [
  '',
  'tei_multiplexer.v1.TeiMultiplexer',
  'tei.v1.Info',
  'tei.v1.Tokenize',
  'tei.v1.Embed',
  'tei.v1.Predict',
  'tei.v1.Rerank',
] as const;

const WATCH_REFRESH_MS = 1000;

export function healthStatuses(
  replicas: ReplicaSets,
): Record<(typeof HEALTH_SERVICES)[number], ServingStatus> {
  const kinds = new Set<ModelKind>();
  let allModels = replicas.models.length > 0;
  for (const m of replicas.models) {
    const usable = replicas.forModel(m.name).filter((r) => r.state === 'up' && r.info !== undefined);
    if (usable.length === 0) allModels = false;
    for (const r of usable) kinds.add(r.info!.modelType);
  }
  const s = (ok: boolean): ServingStatus => (ok ? 'SERVING' : 'NOT_SERVING');
  const any = kinds.size > 0;
  return {
    '': s(allModels),
    'tei_multiplexer.v1.TeiMultiplexer': s(any),
    'tei.v1.Info': s(any),
    'tei.v1.Tokenize': s(any),
    'tei.v1.Embed': s(kinds.has('embedding')),
    'tei.v1.Predict': s(kinds.has('classifier') || kinds.has('reranker')),
    'tei.v1.Rerank': s(kinds.has('reranker')),
  };
}

/** Adds grpc.health.v1.Health to `server`, its statuses refreshed from `replicas` on every call. */
export function addHealth(server: grpc.Server, replicas: ReplicaSets): HealthImplementation {
  const health = new HealthImplementation(healthStatuses(replicas));
  const current = new Map<string, ServingStatus>(Object.entries(healthStatuses(replicas)));
  const refresh = () => {
    for (const [service, status] of Object.entries(healthStatuses(replicas))) {
      if (current.get(service) === status) continue;
      current.set(service, status);
      health.setStatus(service, status);
    }
  };
  // Wrap each handler the library registers so that it answers from fresh statuses.
  const proxy = {
    addService(service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
      const wrapped: grpc.UntypedServiceImplementation = {};
      for (const [name, fn] of Object.entries(impl)) {
        wrapped[name] = ((call: EventEmitter, ...rest: unknown[]) => {
          refresh();
          if (name === 'watch') {
            const timer = setInterval(refresh, WATCH_REFRESH_MS);
            timer.unref();
            call.on('cancelled', () => clearInterval(timer));
            call.on('close', () => clearInterval(timer));
          }
          return (fn as (...a: unknown[]) => unknown)(call, ...rest);
        }) as grpc.UntypedHandleCall;
      }
      server.addService(service, wrapped);
    },
  };
  health.addToServer(proxy as unknown as grpc.Server);
  return health;
}

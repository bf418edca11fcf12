/**
 * Where a gRPC call goes. A Route names the configured model and, when the caller pinned one backend (a
 * tei_multiplexer.v1 Target by backend URL or instance_index), that replica. tei.v1 calls route by model only
 * (metadata `x-model`, else the default model).
 */
import type { Replica, ReplicaSets } from '../../backend/replicas.js';
import { RouterError } from '../../errors.js';
import type { Pipeline } from '../../pipeline/index.js';
import type { Msg } from './messages.js';
import type * as grpc from '@grpc/grpc-js';
import type { ClientDirectory } from '../../tls/clients.js';
import { scopeOf } from './client.js';

export interface Route {
  model: string;
  /** The pinned backend; undefined: any usable replica of `model`. */
  replica: Replica | undefined;
}

const TARGET_HELP = 'set target.instance_name, target.model_id or target.instance_index';

export class Targets {
  private readonly turn = new Map<string, number>();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly replicas: ReplicaSets,
    private readonly clients?: ClientDirectory,
  ) {}

  /** The [[authz]] check of the call's client (see ./client.ts) against the route's model. */
  private allowed(route: Route, md: grpc.Metadata): Route {
    const scope = scopeOf(md);
    scope.model = route.model;
    this.clients?.checkModel(scope.client, route.model);
    return route;
  }

  /** tei.v1 calls: the `x-model` metadata value (name or alias), else the default model. */
  model(name: string | undefined, md: grpc.Metadata): Route {
    return this.allowed({ model: this.pipeline.resolveModel(name), replica: undefined }, md);
  }

  /** A tei_multiplexer.v1.Target (see `resolve`), checked against the caller's [[authz]] entry. */
  target(target: unknown, md: grpc.Metadata): Route {
    return this.allowed(this.resolve(target), md);
  }

  /**
   * tei_multiplexer.v1.Target: `instance_name` is a configured backend URL (pins it) or a model name/alias;
   * `model_id` is a model name/alias or the model id a backend reports in its info; `instance_index` pins the n-th
   * configured backend, counting across all models in config order.
   */
  private resolve(target: unknown): Route {
    const t = target !== null && typeof target === 'object' ? (target as Msg) : {};
    switch (t.routing) {
      case 'instance_name': {
        const name = typeof t.instance_name === 'string' ? t.instance_name : '';
        if (name === '')
          throw new RouterError(
            'ROUTER_ERR_TARGET_REQUIRED',
            `target.instance_name is empty: ${TARGET_HELP}`,
          );
        const replica = this.replicas.replicas.find((r) => sameUrl(r.url, name));
        if (replica) return { model: replica.model, replica };
        const model = this.replicas.resolve(name);
        if (model) return { model, replica: undefined };
        throw this.unknown(`target.instance_name "${name}" is not a configured backend URL, model or alias`);
      }
      case 'model_id': {
        const id = typeof t.model_id === 'string' ? t.model_id : '';
        if (id === '')
          throw new RouterError('ROUTER_ERR_TARGET_REQUIRED', `target.model_id is empty: ${TARGET_HELP}`);
        const model =
          this.replicas.resolve(id) ?? this.replicas.replicas.find((r) => r.info?.modelId === id)?.model;
        if (model) return { model, replica: undefined };
        throw this.unknown(
          `target.model_id "${id}" is not a configured model or alias, nor a backend's model id`,
        );
      }
      case 'instance_index': {
        const n = typeof t.instance_index === 'number' ? t.instance_index : 0;
        const replica = this.replicas.replicas[n];
        if (replica) return { model: replica.model, replica };
        const count = this.replicas.replicas.length;
        throw new RouterError(
          'ROUTER_ERR_UNKNOWN_TARGET',
          `target.instance_index ${n} is out of range: ${count} backends are configured (0..${count - 1})`,
        );
      }
      default:
        throw new RouterError('ROUTER_ERR_TARGET_REQUIRED', `the request has no target: ${TARGET_HELP}`);
    }
  }

  /** The backend a non-dense call goes to: the pinned one, else the usable replicas of the model in turn. */
  replica(route: Route): Replica {
    if (route.replica) return route.replica;
    const usable = this.replicas.views(route.model); // throws ROUTER_ERR_NO_BACKEND when none is usable
    const n = this.turn.get(route.model) ?? 0;
    this.turn.set(route.model, (n + 1) % usable.length);
    return this.replicas.at(usable[n % usable.length].index)!;
  }

  private unknown(what: string): RouterError {
    const models = this.replicas.models.flatMap((m) => [m.name, ...m.aliases]);
    const backends = this.replicas.replicas.map((r, i) => `${i}: ${r.url}`);
    return new RouterError(
      'ROUTER_ERR_UNKNOWN_TARGET',
      `${what} (models: ${models.join(', ')}; backends: ${backends.join(', ')})`,
    );
  }
}

function sameUrl(configured: string, given: string): boolean {
  const trim = (u: string) => u.replace(/\/+$/, '');
  return trim(configured) === trim(given);
}

/**
 * Forwarding non-dense calls to a model's replicas, shared by the HTTP routes and the Arrow sparse path: replicas
 * in round-robin order, a refused connection moving on to the next replica, batches cut into chunks of the
 * replicas' max_client_batch_size and answered in order with their metadata merged.
 */
import { BackendError, callErrorLabel } from '../backend/errors.js';
import type { Replica, ReplicaSets } from '../backend/replicas.js';
import type { BackendProtocol, ForwardCall, ForwardOp, ForwardResult } from '../backend/types.js';
import { RouterError } from '../errors.js';
import { currentScope } from '../request-scope.js';
import type { ResponseMetadata } from '../tei/types.js';

/** Merges chunk metadata: chars and tokens summed, times averaged weighted by each chunk's item count. */
export function mergeMeta(
  parts: Array<{ meta: ResponseMetadata | undefined; items: number }>,
): ResponseMetadata | undefined {
  if (parts.some((p) => p.meta === undefined)) return undefined;
  const total = parts.reduce((s, p) => s + p.items, 0) || 1;
  const mean = (pick: (m: ResponseMetadata) => number) =>
    parts.reduce((s, p) => s + pick(p.meta!) * p.items, 0) / total;
  return {
    computeChars: parts.reduce((s, p) => s + p.meta!.computeChars, 0),
    computeTokens: parts.reduce((s, p) => s + p.meta!.computeTokens, 0),
    totalTimeNs: mean((m) => m.totalTimeNs),
    tokenizationTimeNs: mean((m) => m.tokenizationTimeNs),
    queueTimeNs: mean((m) => m.queueTimeNs),
    inferenceTimeNs: mean((m) => m.inferenceTimeNs),
  };
}

/** Which replicas a call may use; empty: any usable replica of the model. */
export interface Need {
  protocol?: BackendProtocol;
  /** Index into the replica list of the one replica the caller pinned. */
  replica?: number;
}

export function createForwarder(replicas: ReplicaSets) {
  const cursor = new Map<string, number>();

  /**
   * The model's usable replicas, rotated one step per call (round robin), with each one's chunk size. `need`
   * narrows them: to one backend protocol (token-id inputs exist only in TEI's HTTP API), or to one pinned replica
   * (a tei_multiplexer Target naming a backend URL or index).
   */
  function pick(model: string, need: Need = {}): Array<{ replica: Replica; maxBatch: number }> {
    let views = replicas.views(model); // throws ROUTER_ERR_NO_BACKEND when none is usable
    if (need.replica !== undefined) {
      const pinned = replicas.at(need.replica)!;
      views = views.filter((v) => v.index === need.replica);
      if (views.length === 0) {
        throw new RouterError(
          'ROUTER_ERR_NO_BACKEND',
          `backend ${pinned.url} (pinned by the request's target) is not usable now: ${pinned.state}` +
            (pinned.lastError ? ` (${pinned.lastError})` : ''),
        );
      }
    }
    const protocol = need.protocol;
    if (protocol !== undefined) {
      views = views.filter((v) => replicas.at(v.index)!.client.protocol === protocol);
      if (views.length === 0) {
        throw new RouterError(
          'ROUTER_ERR_UNSUPPORTED',
          `model "${model}" has no usable ${protocol} backend${need.replica !== undefined ? ' among those pinned' : ''}, ` +
            `and only TEI's ${protocol} API takes token-id inputs; send text inputs or add an ${protocol}:// backend`,
        );
      }
    }
    const start = (cursor.get(model) ?? 0) % views.length;
    cursor.set(model, start + 1);
    const out: Array<{ replica: Replica; maxBatch: number }> = [];
    for (let i = 0; i < views.length; i++) {
      const v = views[(start + i) % views.length];
      out.push({ replica: replicas.at(v.index)!, maxBatch: Math.max(1, v.maxClientBatchSize) });
    }
    return out;
  }

  /** One call on the first reachable replica of `order`; a refused connection moves on to the next one. */
  async function callOnce<O extends ForwardOp>(
    order: Array<{ replica: Replica }>,
    make: (r: Replica) => ForwardCall<O>,
    signal: AbortSignal,
  ): Promise<ForwardResult<O>> {
    let last: unknown;
    for (const { replica } of order) {
      const started = process.hrtime.bigint();
      const took = () => {
        const ns = Number(process.hrtime.bigint() - started);
        const scope = currentScope();
        if (scope) scope.stages.backendNs += ns;
        return ns;
      };
      try {
        const result = await replica.client.forward(make(replica), signal);
        replicas.recordCall(replica.index, took());
        return result;
      } catch (err) {
        replicas.recordCall(replica.index, took(), callErrorLabel(err));
        if (err instanceof BackendError && err.code === 'ROUTER_ERR_BACKEND_UNAVAILABLE' && !signal.aborted) {
          last = err;
          continue;
        }
        throw err;
      }
    }
    throw last;
  }

  /** truncate: null stays null over HTTP (backend's --auto-truncate), becomes true over gRPC. */
  const truncateFor = (r: Replica, t: boolean | null) =>
    t ?? (r.client.protocol === 'grpc' ? (r.info?.autoTruncate ?? true) : null);

  /**
   * Forwards a call whose request has `count` batchable items, cut into chunks of the replica's batch size;
   * `slice(r, from, to)` builds the chunk's call. Returns the chunk values in order and the merged metadata.
   */
  async function forwardChunked<O extends ForwardOp>(
    model: string,
    count: number,
    slice: (r: Replica, from: number, to: number) => ForwardCall<O>,
    signal: AbortSignal,
    need?: Need,
  ): Promise<{
    values: Array<{ value: ForwardResult<O>['value']; from: number }>;
    meta: ResponseMetadata | undefined;
  }> {
    const order = pick(model, need);
    const size = Math.min(...order.map((o) => o.maxBatch));
    const ranges: Array<[number, number]> = [];
    for (let from = 0; from < count || from === 0; from += size)
      ranges.push([from, Math.min(count, from + size)]);
    const values: Array<{ value: ForwardResult<O>['value']; from: number }> = [];
    const metas: Array<{ meta: ResponseMetadata | undefined; items: number }> = [];
    for (const [from, to] of ranges) {
      const r = await callOnce(order, (rep) => slice(rep, from, to), signal);
      values.push({ value: r.value, from });
      metas.push({ meta: r.meta, items: to - from });
    }
    return { values, meta: metas.length === 1 ? metas[0].meta : mergeMeta(metas) };
  }

  return { pick, callOnce, forwardChunked, truncateFor };
}

export type Forwarder = ReturnType<typeof createForwarder>;

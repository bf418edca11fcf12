/**
 * The only API the ingress adapters call for embeddings: resolve the model, admit, coalesce, run in the worker
 * pool, and hand back each request's rows. Transport-neutral: results are typed arrays and TEI/router errors.
 */
import type { ModelConfig, RouterConfig } from '../config.js';
import { RouterError } from '../errors.js';
import { TeiError } from '../tei/errors.js';
import type { ReplicaSets } from '../backend/replicas.js';
import type { BackendView, BatchStat, EmbedParams, EmbedTaskOk, TaskError } from '../workers/protocol.js';
import { Coalescer } from './coalescer.js';
import { Deadline } from './deadline.js';
import { directTexts, sendDirect } from './direct.js';
import { Balancer } from '../backend/balance.js';
import type { BalancingPolicy } from '../backend/balance.js';
import { currentScope } from '../request-scope.js';
import type { RequestScope } from '../request-scope.js';
import type { EmbedPool } from './pool.js';
import type { TextBatch } from './text-batch.js';

export interface EmbedOutcome {
  rows: number;
  dim: number;
  /** rows × dim, row i = the request's row i (zeros where the row had no text). */
  vectors: Float32Array;
  /** Σ tokens of this request's rows. */
  tokens: number;
  timings: EmbedTaskOk['timings'];
}

export function taskErrorToException(e: TaskError): Error {
  if (e.kind === 'tei') {
    // keep the backend's own HTTP status (e.g. 413 from a TEI 1.8 backend) for the reply
    return Object.assign(new TeiError(e.errorType, e.message), e.status ? { status: e.status } : {});
  }
  return new RouterError(e.code, e.message);
}

/** Told about every finished worker task (the metrics implement it; the pipeline does not import them). */
export interface PipelineObserver {
  task(model: string, result: EmbedTaskOk, poolQueueNs: number): void;
  /** One backend call of the direct path (no worker task). */
  directBatch(model: string, stat: BatchStat): void;
}

type TaskOutcome = EmbedTaskOk & { poolQueueNs: number };

export class Pipeline {
  private readonly coalescer: Coalescer<TaskOutcome>;
  /** Texts accepted and not yet answered, per model (waiting to coalesce, queued for a worker, or at a backend). */
  readonly pendingTexts = new Map<string, number>();
  /** Embedding requests in the pipeline, per model. */
  readonly inflightRequests = new Map<string, number>();
  /** Replica choice for the direct path (the workers have their own, over the same shared counters). */
  private readonly balancer: Balancer;
  /** Estimated tokens accepted and not yet answered, per model (admission control). */
  readonly pendingTokens = new Map<string, number>();
  /** Embedding width each model answered with last (for replies whose rows all lack text). */
  private readonly dims = new Map<string, number>();

  private config: RouterConfig;
  private models = new Map<string, ModelConfig>();

  constructor(
    config: RouterConfig,
    readonly replicas: ReplicaSets,
    private readonly pool: EmbedPool,
    private readonly observer?: PipelineObserver,
  ) {
    this.config = config;
    this.reconfigure(config);
    this.balancer = new Balancer(pool.load);
    this.coalescer = new Coalescer<TaskOutcome>(
      {
        windowMs: (key) => {
          const { model } = JSON.parse(key) as { model: string };
          return this.models.get(model)?.coalesceMs ?? this.config.batching.coalesceMs;
        },
        maxRows: 4096,
      },
      async (key, texts, parts, tags) => {
        const { model, params, replica } = JSON.parse(key) as {
          model: string;
          params: EmbedParams;
          replica: number | null;
        };
        const traceparent = tags.find((t) => t.traceparent !== undefined)?.traceparent;
        const dispatchedAtMs = performance.timeOrigin + performance.now();
        const result = await this.pool.run({
          kind: 'embed',
          model,
          tokenizer: this.models.get(model)?.tokenizer,
          texts,
          parts,
          params,
          backends: this.backendsFor(model, replica),
          balancing: this.policyOf(model),
          // the task serves every request in it: it may run until the last of their deadlines
          deadline: Math.max(...tags.map((t) => t.deadline)),
          hedging: this.config.hedging.enabled,
          ...(traceparent ? { traceparent } : {}),
        });
        if (!result.ok) throw taskErrorToException(result.error);
        const poolQueueNs = Math.max(0, Math.round((result.stats.startedAtMs - dispatchedAtMs) * 1e6));
        this.observer?.task(model, result, poolQueueNs);
        return Object.assign(result, { poolQueueNs });
      },
    );
  }

  /** Takes a reloaded config (models, batching, admission, balancing) for the requests that come after. */
  reconfigure(config: RouterConfig): void {
    this.config = config;
    this.models = new Map(config.models.map((m) => [m.name, m]));
  }

  /** The configured model a request means: its name or alias, else the default model. */
  resolveModel(name: string | null | undefined): string {
    if (name === null || name === undefined || name === '') {
      const d = this.config.defaultModel;
      if (d === undefined) throw new RouterError('ROUTER_ERR_UNKNOWN_MODEL', 'no model is configured');
      return this.replicas.resolve(d) ?? d;
    }
    const model = this.replicas.resolve(name);
    if (!model) {
      const known = this.config.models.flatMap((m) => [m.name, ...m.aliases]);
      throw new RouterError(
        'ROUTER_ERR_UNKNOWN_MODEL',
        `unknown model "${name}" (known: ${known.join(', ')})`,
      );
    }
    return model;
  }

  private policyOf(model: string): BalancingPolicy {
    return this.models.get(model)?.balancing ?? this.config.balancing.policy;
  }

  /** The model's full embedding width, once any reply has shown it. */
  knownDim(model: string): number | undefined {
    return this.dims.get(model);
  }

  /** The model's usable replicas, or only `replica` (an index into replicas.replicas) when the caller pinned one. */
  private backendsFor(model: string, replica: number | null): BackendView[] {
    const views = this.replicas.views(model);
    if (replica === null) return views;
    const pinned = views.filter((v) => v.index === replica);
    if (pinned.length === 0) {
      const r = this.replicas.at(replica)!;
      throw new RouterError(
        'ROUTER_ERR_NO_BACKEND',
        `backend ${r.url} (pinned by the request's target) is not usable now: ${r.state}` +
          (r.lastError ? ` (${r.lastError})` : ''),
      );
    }
    return pinned;
  }

  /**
   * Embeds `texts` with `model`, coalesced with other requests of the same model, parameters and pin. `replica`
   * pins one backend (a tei_multiplexer Target naming a backend URL or index); undefined: any usable replica.
   */
  async embed(
    model: string,
    texts: TextBatch,
    params: EmbedParams,
    signal?: AbortSignal,
    replica?: number,
  ): Promise<EmbedOutcome> {
    const key = JSON.stringify({ model, params, replica: replica ?? null });
    const scope = currentScope();
    // admission: a request is taken whole or refused; one larger than the limit is taken when nothing is queued
    const estimate = estimateTokens(texts);
    const queued = this.pendingTokens.get(model) ?? 0;
    const limit = this.models.get(model)?.maxQueuedTokens ?? this.config.admission.maxQueuedTokens;
    if (queued > 0 && queued + estimate > limit) {
      throw new RouterError(
        'ROUTER_ERR_OVERLOADED',
        `model ${model} has about ${queued} tokens accepted and not yet answered (limit ${limit}); retry shortly`,
      );
    }
    const count = (sign: 1 | -1) => {
      for (const [m, n] of [
        [this.pendingTokens, estimate],
        [this.pendingTexts, texts.length],
        [this.inflightRequests, 1],
      ] as const) {
        m.set(model, (m.get(model) ?? 0) + sign * n);
      }
    };
    const deadline = new Deadline(scope?.deadline ?? Date.now() + this.config.request.timeoutMs, signal);
    count(1);
    try {
      // nothing else in flight for this model: a small request skips the coalescer and the workers
      if (this.inflightRequests.get(model) === 1) {
        const views = this.backendsFor(model, replica ?? null);
        const strings = directTexts(texts, params, views);
        if (strings) return await this.direct(model, views, strings, params, scope, deadline);
      }
      return await this.coalesced(model, key, texts, params, scope, deadline);
    } finally {
      count(-1);
      deadline.dispose();
    }
  }

  /** The direct path (direct.ts): one backend call from the main thread. */
  private async direct(
    model: string,
    views: BackendView[],
    strings: string[],
    params: EmbedParams,
    scope: RequestScope | undefined,
    deadline: Deadline,
  ): Promise<EmbedOutcome> {
    const r = await sendDirect(
      this.replicas,
      this.pool.load,
      () => this.balancer.order(views, this.policyOf(model)),
      this.pool.retryBudget,
      strings,
      params,
      deadline,
      this.config.hedging.enabled,
      (stat) => this.observer?.directBatch(model, stat),
    );
    if (r.dim > 0 && params.dimensions === null) this.dims.set(model, r.dim);
    if (scope) {
      scope.stages.backendNs += r.backendNs;
      scope.texts += r.rows;
      scope.tokens += r.tokens;
    }
    return {
      rows: r.rows,
      dim: r.dim,
      vectors: r.vectors,
      tokens: r.tokens,
      timings: {
        tokenizationNs: r.timings.tokenizationNs,
        queueNs: r.timings.queueNs,
        inferenceNs: r.timings.inferenceNs,
      },
    };
  }

  /** The worker path: coalesced with other requests of the same model and parameters into one worker task. */
  private async coalesced(
    model: string,
    key: string,
    texts: TextBatch,
    params: EmbedParams,
    scope: RequestScope | undefined,
    deadline: Deadline,
  ): Promise<EmbedOutcome> {
    const { result, start, count, part, waitedNs } = await this.coalescer.submit(
      key,
      texts,
      deadline.signal,
      {
        traceparent: scope?.traceparent,
        deadline: deadline.at,
      },
    );
    if (scope) {
      scope.stages.coalesceNs += waitedNs;
      scope.stages.poolQueueNs += result.poolQueueNs;
      scope.stages.tokenizeNs += result.stats.tokenizeNs;
      scope.stages.backendNs += result.stats.backendNs;
      scope.texts += count;
    }
    const partError = result.partErrors[part];
    if (partError) throw taskErrorToException(partError);
    const dim = result.dim;
    if (dim > 0 && params.dimensions === null) this.dims.set(model, dim);
    const alone = start === 0 && count * dim === result.vectors.length;
    const tokens = sumRows(result.rowTokens, start, count);
    if (scope) scope.tokens += tokens;
    return {
      rows: count,
      dim,
      vectors: alone ? result.vectors : result.vectors.subarray(start * dim, (start + count) * dim),
      tokens,
      timings: result.timings,
    };
  }
}

/**
 * Tokens a batch will cost, estimated without tokenizing (main thread, per request): about one token per four UTF-8
 * bytes of text plus two special tokens per text.
 */
export function estimateTokens(texts: TextBatch): number {
  return Math.ceil((texts.offsets[texts.length] - texts.offsets[0]) / 4) + 2 * texts.length;
}

function sumRows(rowTokens: Int32Array, start: number, count: number): number {
  let s = 0;
  for (let i = start; i < start + count; i++) s += rowTokens[i];
  return s;
}

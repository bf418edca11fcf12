/**
 * The only API the ingress adapters call for embeddings: resolve the model, admit, coalesce, run in the worker
 * pool, and hand back each request's rows. Transport-neutral: results are typed arrays and TEI/router errors.
 */
import type { RouterConfig } from '../config.js';
import { RouterError } from '../errors.js';
import { TeiError } from '../tei/errors.js';
import type { ReplicaSets } from '../backend/replicas.js';
import type { BackendView, EmbedParams, EmbedTaskOk, TaskError } from '../workers/protocol.js';
import { Coalescer } from './coalescer.js';
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

export class Pipeline {
  private readonly coalescer: Coalescer<EmbedTaskOk>;
  /** Embedding width each model answered with last (for replies whose rows all lack text). */
  private readonly dims = new Map<string, number>();

  constructor(
    private readonly config: RouterConfig,
    readonly replicas: ReplicaSets,
    private readonly pool: EmbedPool,
  ) {
    this.coalescer = new Coalescer<EmbedTaskOk>(
      {
        windowMs: (key) => {
          const { model } = JSON.parse(key) as { model: string };
          return config.models.find((m) => m.name === model)?.coalesceMs ?? config.batching.coalesceMs;
        },
        maxRows: 4096,
      },
      async (key, texts, parts) => {
        const { model, params, replica } = JSON.parse(key) as {
          model: string;
          params: EmbedParams;
          replica: number | null;
        };
        const result = await this.pool.run({
          kind: 'embed',
          model,
          texts,
          parts,
          params,
          backends: this.backendsFor(model, replica),
        });
        if (!result.ok) throw taskErrorToException(result.error);
        return result;
      },
    );
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
      const r = this.replicas.replicas[replica];
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
    const { result, start, count, part } = await this.coalescer.submit(key, texts, signal);
    const partError = result.partErrors[part];
    if (partError) throw taskErrorToException(partError);
    const dim = result.dim;
    if (dim > 0 && params.dimensions === null) this.dims.set(model, dim);
    const alone = start === 0 && count * dim === result.vectors.length;
    return {
      rows: count,
      dim,
      vectors: alone ? result.vectors : result.vectors.subarray(start * dim, (start + count) * dim),
      tokens: sumRows(result.rowTokens, start, count),
      timings: result.timings,
    };
  }
}

function sumRows(rowTokens: Int32Array, start: number, count: number): number {
  let s = 0;
  for (let i = start; i < start + count; i++) s += rowTokens[i];
  return s;
}

/**
 * TEI's remaining HTTP routes, served by the router in TEI's exact shapes:
 *
 * - POST /embed_all, /embed_sparse, /predict, /rerank, /tokenize, /decode: decoded with TEI's codec, forwarded to
 *   one usable replica of the selected model (`TeiBackend.forward`), re-rendered as TEI's JSON, with TEI's x-*
 *   headers where TEI sends them (not on /tokenize and /decode).
 * - POST /similarity: computed like TEI: `[source, ...sentences]` embedded with normalize=false through the
 *   pipeline, cosine of the source with each sentence (f64 accumulation over the f32 values, result rounded to f32).
 * - GET /info: the selected model's usable replica's /info, with `max_client_batch_size` the router's.
 * - GET /health: 200 empty while the model has a usable replica, else TEI's 503 Unhealthy body.
 *
 * Model selection: `x-model` header, then `?model=`, then the default model.
 *
 * Replica choice: the usable replicas (state 'up' with /info read: `ReplicaSets.views`) in round-robin order per
 * model; a call that fails to reach its replica (ROUTER_ERR_BACKEND_UNAVAILABLE) is retried on the next usable one,
 * once per replica. Batches larger than the replica's max_client_batch_size (capped by the model's override) are
 * cut into chunks sent one after another to the same replica choice, and the results joined in input order (rerank:
 * indices offset, then ordered as TEI orders ranks; metadata: chars and tokens summed, times
 * averaged over items, total time = the router's elapsed time).
 *
 * truncate: null is left to the backend over HTTP (its --auto-truncate applies); over gRPC, whose TEI ignores
 * --auto-truncate, it becomes true (TEI 1.9's default), as the /embed route does.
 */
import type { ReplicaSets } from '../../backend/replicas.js';
import type { ForwardCall, ForwardOps } from '../../backend/types.js';
import {
  decodeDecode,
  decodeEmbedAll,
  decodePredict,
  decodeRerank,
  decodeSimilarity,
  decodeTokenize,
} from '../../codec/tei-json.js';
import {
  UNHEALTHY_JSON,
  decodeJson,
  infoJson,
  predictJson,
  ranksJson,
  similarityJson,
  sparseJson,
  tokenEmbeddingsJson,
  tokensJson,
} from '../../codec/tei-response.js';
import type { Pipeline } from '../../pipeline/index.js';
import { textBatchFromStrings } from '../../pipeline/text-batch.js';
import { countChars } from '../../tei/chars.js';
import { TeiError } from '../../tei/errors.js';
import type { ResponseMetadata, TeiInfo } from '../../tei/types.js';
import { metadataHeaders } from '../../tei/types.js';
import type { HttpReply, Route } from './types.js';
import { cosineF32 } from '../../tei/similarity.js';
import { ROUTER_MAX_CLIENT_BATCH_SIZE, checkBatchSize, modelOf } from './common.js';
import { createForwarder } from '../forwarder.js';

export interface TeiRouteDeps {
  pipeline: Pipeline;
  replicas: ReplicaSets;
  /** Reported as /info `tokenization_workers` (e.g. config.pool.threads); default 1. */
  tokenizationWorkers?: number;
}

function json(body: string, headers: Record<string, string> = {}): HttpReply {
  return { status: 200, headers: { 'content-type': 'application/json', ...headers }, body };
}

/** TEI's x-* headers for a forwarded result, the total time being the router's own elapsed time. */
function headersOf(meta: ResponseMetadata | undefined, startedNs: bigint): Record<string, string> {
  if (!meta) return {};
  return metadataHeaders({ ...meta, totalTimeNs: Number(process.hrtime.bigint() - startedNs) });
}

export function createTeiRoutes(deps: TeiRouteDeps): Map<string, Route> {
  const { pipeline, replicas } = deps;
  const routes = new Map<string, Route>();
  const { pick, forwardChunked, truncateFor } = createForwarder(replicas);

  const embedSeq = <O extends 'embed_all' | 'embed_sparse'>(
    op: O,
    typeName: string,
    render: (rows: ForwardOps[O]['value']) => string,
  ): Route => ({
    body: 'json',
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodeEmbedAll(ctx.body.toString('utf8'), '1.9', typeName);
      if (b.input.batch) checkBatchSize(b.input.items.length);
      const model = modelOf(ctx, pipeline);
      const { values, meta } = await forwardChunked<O>(
        model,
        b.input.items.length,
        (r, from, to) =>
          ({
            op,
            request: {
              ...b,
              truncate: truncateFor(r, b.truncate),
              input: { batch: b.input.batch, items: b.input.items.slice(from, to) },
            },
          }) as ForwardCall<O>,
        ctx.signal,
      );
      const rows = values.flatMap((v) => v.value as unknown[]) as ForwardOps[O]['value'];
      return json(render(rows), headersOf(meta, started));
    },
  });

  const predict: Route = {
    body: 'json',
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodePredict(ctx.body.toString('utf8'), '1.9');
      if (b.batch) checkBatchSize(b.items.length);
      const model = modelOf(ctx, pipeline);
      const { values, meta } = await forwardChunked<'predict'>(
        model,
        b.items.length,
        (r, from, to) => ({
          op: 'predict',
          request: { ...b, truncate: truncateFor(r, b.truncate), items: b.items.slice(from, to) },
        }),
        ctx.signal,
      );
      return json(
        predictJson(
          values.flatMap((v) => v.value),
          b.batch,
        ),
        headersOf(meta, started),
      );
    },
  };

  const rerank: Route = {
    body: 'json',
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodeRerank(ctx.body.toString('utf8'), '1.9');
      checkBatchSize(b.texts.length);
      const model = modelOf(ctx, pipeline);
      const { values, meta } = await forwardChunked<'rerank'>(
        model,
        b.texts.length,
        (r, from, to) => ({
          op: 'rerank',
          request: { ...b, truncate: truncateFor(r, b.truncate), texts: b.texts.slice(from, to) },
        }),
        ctx.signal,
      );
      let ranks = values[0].value;
      if (values.length > 1) {
        // back to input order, then TEI's order: a stable ascending sort by score, reversed (ties: reverse input order)
        ranks = values
          .flatMap((v) => v.value.map((rank) => ({ ...rank, index: rank.index + v.from })))
          .sort((x, y) => x.index - y.index)
          .sort((x, y) => x.score - y.score)
          .reverse();
      }
      return json(ranksJson(ranks), headersOf(meta, started));
    },
  };

  const tokenize: Route = {
    body: 'json',
    handler: async (ctx) => {
      const b = decodeTokenize(ctx.body.toString('utf8'));
      // TEI's HTTP check; a gRPC backend would answer an empty stream with an empty list
      if (b.batch && b.inputs.length === 0) throw new TeiError('Empty', '`inputs` cannot be empty');
      checkBatchSize(b.inputs.length);
      const model = modelOf(ctx, pipeline);
      const { values } = await forwardChunked<'tokenize'>(
        model,
        b.inputs.length,
        (_r, from, to) => ({ op: 'tokenize', request: { ...b, inputs: b.inputs.slice(from, to) } }),
        ctx.signal,
      );
      return json(tokensJson(values.flatMap((v) => v.value)));
    },
  };

  const decode: Route = {
    body: 'json',
    handler: async (ctx) => {
      const b = decodeDecode(ctx.body.toString('utf8'));
      checkBatchSize(b.ids.length);
      const model = modelOf(ctx, pipeline);
      const { values } = await forwardChunked<'decode'>(
        model,
        b.ids.length,
        (_r, from, to) => ({ op: 'decode', request: { ...b, ids: b.ids.slice(from, to) } }),
        ctx.signal,
      );
      return json(decodeJson(values.flatMap((v) => v.value)));
    },
  };

  const similarity: Route = {
    body: 'json',
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodeSimilarity(ctx.body.toString('utf8'), '1.9');
      if (b.sentences.length === 0) throw new TeiError('Empty', '`inputs.sentences` cannot be empty');
      checkBatchSize(b.sentences.length + 1);
      const model = modelOf(ctx, pipeline);
      const texts = [b.source, ...b.sentences];
      const o = await pipeline.embed(
        model,
        textBatchFromStrings(texts),
        {
          truncate: b.truncate ?? true,
          direction: b.truncationDirection,
          normalize: false,
          dimensions: null,
          promptName: b.promptName,
        },
        ctx.signal,
      );
      const src = o.vectors.subarray(0, o.dim);
      const scores = new Float32Array(o.rows - 1);
      for (let i = 1; i < o.rows; i++)
        scores[i - 1] = cosineF32(src, o.vectors.subarray(i * o.dim, (i + 1) * o.dim));
      let chars = 0;
      for (const t of texts) chars += countChars(t);
      const headers = metadataHeaders({
        computeChars: chars,
        computeTokens: o.tokens,
        totalTimeNs: Number(process.hrtime.bigint() - started),
        tokenizationTimeNs: o.timings.tokenizationNs,
        queueTimeNs: o.timings.queueNs,
        inferenceTimeNs: o.timings.inferenceNs,
      });
      return json(similarityJson(scores), headers);
    },
  };

  const info: Route = {
    body: 'none',
    handler: async (ctx) => {
      const model = modelOf(ctx, pipeline);
      const replica = pick(model)[0].replica;
      const i = replica.info!;
      const labels = { id2label: {}, label2id: {} };
      const modelType: TeiInfo['model_type'] =
        i.modelType === 'embedding'
          ? { embedding: { pooling: i.pooling ?? 'mean' } }
          : i.modelType === 'classifier'
            ? { classifier: labels }
            : { reranker: labels };
      const body: TeiInfo = {
        model_id: i.modelId,
        model_sha: null,
        model_dtype: 'float16',
        served_model_name: model,
        model_type: modelType,
        max_concurrent_requests: i.maxConcurrentRequests,
        max_input_length: i.maxInputLength,
        max_batch_tokens: i.maxBatchTokens,
        max_batch_requests: i.maxBatchRequests ?? null,
        max_client_batch_size: ROUTER_MAX_CLIENT_BATCH_SIZE,
        auto_truncate: i.autoTruncate ?? true,
        tokenization_workers: deps.tokenizationWorkers ?? 1,
        version: i.version,
        sha: null,
        docker_label: null,
      };
      return json(infoJson(body));
    },
  };

  const health: Route = {
    body: 'none',
    handler: async (ctx): Promise<HttpReply> => {
      const model = modelOf(ctx, pipeline);
      const usable = replicas.forModel(model).some((r) => r.state === 'up' && r.info !== undefined);
      return usable
        ? { status: 200, headers: {}, body: '' }
        : { status: 503, headers: { 'content-type': 'application/json' }, body: UNHEALTHY_JSON };
    },
  };

  routes.set('POST /embed_all', embedSeq('embed_all', 'EmbedAllRequest', tokenEmbeddingsJson));
  routes.set('POST /embed_sparse', embedSeq('embed_sparse', 'EmbedSparseRequest', sparseJson));
  routes.set('POST /predict', predict);
  routes.set('POST /rerank', rerank);
  routes.set('POST /similarity', similarity);
  routes.set('POST /tokenize', tokenize);
  routes.set('POST /decode', decode);
  routes.set('GET /info', info);
  routes.set('GET /health', health);
  return routes;
}

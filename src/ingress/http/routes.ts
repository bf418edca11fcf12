/**
 * The router's HTTP route table, written once and served by every HTTP adapter (node h2/h1, uWebSockets.js).
 * Handlers decode with the codecs, call the pipeline, and encode once at the edge.
 */
import { formatF32Array } from '../../codec/f32-text.js';
import { decodeEmbed, decodeOpenAiEmbed } from '../../codec/tei-json.js';
import type { DecodedInput, EmbedBody } from '../../codec/tei-json.js';
import type { Pipeline, EmbedOutcome } from '../../pipeline/index.js';
import { textBatchFromStrings } from '../../pipeline/text-batch.js';
import { countChars } from '../../tei/chars.js';
import { metadataHeaders } from '../../tei/types.js';
import type { HttpReply, Route } from './types.js';
import { arrowParamsFromQuery, embedArrow } from '../arrow.js';
import { checkBatchSize, modelOf } from './common.js';
import { createForwarder } from '../forwarder.js';

export interface RouteDeps {
  pipeline: Pipeline;
}

/** The texts, or null when any item is token ids (those bypass tokenizing and batching: see embedIds). */
function textsOf(input: DecodedInput): string[] | null {
  return input.items.every((i) => typeof i === 'string') ? (input.items as string[]) : null;
}

function timingHeaders(outcome: EmbedOutcome, chars: number, startedNs: bigint): Record<string, string> {
  return metadataHeaders({
    computeChars: chars,
    computeTokens: outcome.tokens,
    totalTimeNs: Number(process.hrtime.bigint() - startedNs),
    tokenizationTimeNs: outcome.timings.tokenizationNs,
    queueTimeNs: outcome.timings.queueNs,
    inferenceTimeNs: outcome.timings.inferenceNs,
  });
}

function charCount(texts: readonly string[]): number {
  let n = 0;
  for (const t of texts) n += countChars(t);
  return n;
}

function embeddingsJson(o: EmbedOutcome): string {
  const rows: string[] = new Array(o.rows);
  for (let i = 0; i < o.rows; i++) rows[i] = formatF32Array(o.vectors, i * o.dim, (i + 1) * o.dim);
  return '[' + rows.join(',') + ']';
}

export function createRoutes(deps: RouteDeps): Map<string, Route> {
  const { pipeline } = deps;
  const routes = new Map<string, Route>();
  const forwarder = createForwarder(pipeline.replicas);

  /**
   * Inputs with token ids skip the tokenizing pipeline: the request goes as sent to the model's HTTP replicas
   * (TEI's gRPC API takes text only), cut into chunks of their max_client_batch_size and joined in order.
   */
  async function embedIds(
    model: string,
    b: EmbedBody,
    signal: AbortSignal,
  ): Promise<EmbedOutcome & { chars: number }> {
    const { values, meta } = await forwarder.forwardChunked<'embed'>(
      model,
      b.input.items.length,
      (r, from, to) => ({
        op: 'embed',
        request: { ...b, input: { batch: b.input.batch, items: b.input.items.slice(from, to) } },
      }),
      signal,
      { protocol: 'http' },
    );
    const rows = values.flatMap((v) => v.value);
    const dim = rows[0]?.length ?? 0;
    const vectors = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => vectors.set(r, i * dim));
    return {
      rows: rows.length,
      dim,
      vectors,
      tokens: meta?.computeTokens ?? 0,
      timings: {
        tokenizationNs: meta?.tokenizationTimeNs ?? 0,
        queueNs: meta?.queueTimeNs ?? 0,
        inferenceNs: meta?.inferenceTimeNs ?? 0,
      },
      chars: meta?.computeChars ?? 0,
    };
  }

  const embed: Route = {
    body: 'json',
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodeEmbed(ctx.body.toString('utf8'), '1.9');
      const model = modelOf(ctx, pipeline);
      checkBatchSize(b.input.items.length);
      const texts = textsOf(b.input);
      let outcome: EmbedOutcome;
      let chars: number;
      if (texts === null) {
        ({ chars, ...outcome } = await embedIds(model, b, ctx.signal));
      } else {
        outcome = await pipeline.embed(
          model,
          textBatchFromStrings(texts),
          {
            truncate: b.truncate ?? true,
            direction: b.truncationDirection,
            normalize: b.normalize,
            dimensions: b.dimensions,
            promptName: b.promptName,
          },
          ctx.signal,
        );
        chars = charCount(texts);
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/json', ...timingHeaders(outcome, chars, started) },
        body: embeddingsJson(outcome),
      };
    },
  };

  const openai: Route = {
    body: 'json',
    openai: true,
    handler: async (ctx) => {
      const started = process.hrtime.bigint();
      const b = decodeOpenAiEmbed(ctx.body.toString('utf8'));
      const model = modelOf(ctx, pipeline, b.model);
      checkBatchSize(b.input.items.length);
      const texts = textsOf(b.input);
      const params = {
        truncate: true,
        direction: 'Right',
        normalize: true,
        dimensions: b.dimensions,
        promptName: null,
      } as const;
      let o: EmbedOutcome;
      let chars: number;
      if (texts === null) {
        const body: EmbedBody = { input: b.input, truncationDirection: 'Right', ...params };
        ({ chars, ...o } = await embedIds(model, body, ctx.signal));
      } else {
        o = await pipeline.embed(model, textBatchFromStrings(texts), params, ctx.signal);
        chars = charCount(texts);
      }
      const data: string[] = new Array(o.rows);
      for (let i = 0; i < o.rows; i++) {
        const v = o.vectors.subarray(i * o.dim, (i + 1) * o.dim);
        const embedding =
          b.encodingFormat === 'base64'
            ? '"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"'
            : formatF32Array(v);
        data[i] = `{"object":"embedding","embedding":${embedding},"index":${i}}`;
      }
      const body =
        `{"object":"list","data":[${data.join(',')}],"model":${JSON.stringify(b.model ?? model)},` +
        `"usage":{"prompt_tokens":${o.tokens},"total_tokens":${o.tokens}}}`;
      return {
        status: 200,
        headers: { 'content-type': 'application/json', ...timingHeaders(o, chars, started) },
        body,
      };
    },
  };

  const models: Route = {
    body: 'none',
    openai: true,
    handler: async (): Promise<HttpReply> => {
      const data = pipeline.replicas.models.map((m) => ({
        id: m.name,
        object: 'model',
        created: 0,
        owned_by: 'tei-router',
      }));
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ object: 'list', data }),
      };
    },
  };

  const arrow: Route = {
    body: 'arrow',
    handler: async (ctx) => {
      const model = modelOf(ctx, pipeline);
      const { params, compression } = arrowParamsFromQuery(ctx.query);
      const out = await embedArrow(pipeline, model, ctx.body, { params, compression, signal: ctx.signal });
      return {
        status: 200,
        headers: { 'content-type': 'application/vnd.apache.arrow.stream' },
        body: Buffer.from(out.buffer, out.byteOffset, out.byteLength),
      };
    },
  };

  routes.set('POST /embed', embed);
  routes.set('POST /v1/embed/arrow', arrow);
  routes.set('POST /v1/embeddings', openai);
  routes.set('POST /embeddings', openai);
  routes.set('GET /v1/models', models);
  return routes;
}

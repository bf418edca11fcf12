/**
 * The router's HTTP route table, written once and served by every HTTP adapter (node h2/h1, uWebSockets.js).
 * Handlers decode with the codecs, call the pipeline, and encode once at the edge.
 */
import { decodeEmbed, decodeOpenAiEmbed } from '../../codec/tei-json.js';
import type { DecodedInput, EmbedBody } from '../../codec/tei-json.js';
import type { Pipeline, EmbedOutcome } from '../../pipeline/index.js';
import { textBatchFromStrings } from '../../pipeline/text-batch.js';
import { formatF32Rows, quantizeRows } from '../../native/index.js';
import { quantizedJsonRow, quantizedRowBytes } from '../../codec/output-dtype.js';
import type { OutputDtype } from '../../codec/output-dtype.js';
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

/**
 * /embed's body `[[f, ...], ...]`, every f32 as TEI writes it, by formatF32Rows from src/native (the native addon
 * when loaded: 3-4x faster than the JS twin, bench/micro/format-f32.bench.ts; byte-identical either way).
 */
function embeddingsJson(o: EmbedOutcome): Buffer | string {
  if (o.rows === 0) return '[]';
  if (o.dim === 0) return '[' + new Array<string>(o.rows).fill('[]').join(',') + ']';
  return formatF32Rows(o.vectors.subarray(0, o.rows * o.dim), o.dim);
}

const OPENAI_ITEM = Buffer.from('{"object":"embedding","embedding":');
const OPENAI_NEXT_ITEM = Buffer.from(',{"object":"embedding","embedding":');

/**
 * OpenAI's `data` items with float embeddings, `{"object":"embedding","embedding":[f, ...],"index":i}` joined by
 * commas: one formatF32Rows call for the whole batch, its rows cut out of `[[...],[...]]` (values never contain
 * brackets) and wrapped.
 */
function openAiFloatItems(o: EmbedOutcome): Buffer[] {
  if (o.rows === 0) return [];
  const text = o.dim === 0 ? null : formatF32Rows(o.vectors.subarray(0, o.rows * o.dim), o.dim);
  const parts: Buffer[] = new Array(3 * o.rows);
  for (let i = 0, start = 1; i < o.rows; i++) {
    let row: Buffer;
    if (text === null) {
      row = Buffer.from('[]');
    } else {
      const end = text.indexOf(0x5d, start) + 1; // the row's ']'
      row = text.subarray(start, end);
      start = end + 1; // past the ','
    }
    parts[3 * i] = i === 0 ? OPENAI_ITEM : OPENAI_NEXT_ITEM;
    parts[3 * i + 1] = row;
    parts[3 * i + 2] = Buffer.from(`,"index":${i}}`);
  }
  return parts;
}

/**
 * OpenAI's `data` items of every other (output_dtype, encoding_format) pair: base64 of each row's bytes (f32
 * little-endian for float, as OpenAI; else the quantized bytes), or the quantized values as JSON numbers.
 */
function openAiItems(o: EmbedOutcome, dtype: OutputDtype, encoding: 'float' | 'base64'): string[] {
  const dim = o.dim;
  const bytes =
    dtype === 'float' || o.rows === 0 || dim === 0
      ? null
      : quantizeRows(o.vectors.subarray(0, o.rows * dim), dim, dtype);
  const items: string[] = new Array(o.rows);
  for (let i = 0; i < o.rows; i++) {
    let embedding: string;
    if (dtype === 'float' || bytes === null) {
      const v = o.vectors.subarray(i * dim, (i + 1) * dim);
      embedding =
        encoding === 'base64'
          ? '"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') + '"'
          : '[]';
    } else if (encoding === 'base64') {
      const width = quantizedRowBytes(dtype, dim);
      embedding =
        '"' + Buffer.from(bytes.buffer, bytes.byteOffset + i * width, width).toString('base64') + '"';
    } else {
      embedding = quantizedJsonRow(bytes, dtype, i, dim);
    }
    items[i] = `{"object":"embedding","embedding":${embedding},"index":${i}}`;
  }
  return items;
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
      const head = '{"object":"list","data":[';
      const tail =
        `],"model":${JSON.stringify(b.model ?? model)},` +
        `"usage":{"prompt_tokens":${o.tokens},"total_tokens":${o.tokens}}}`;
      let body: string | Buffer;
      if (b.outputDtype === 'float' && b.encodingFormat === 'float') {
        body = Buffer.concat([Buffer.from(head), ...openAiFloatItems(o), Buffer.from(tail)]);
      } else {
        body = head + openAiItems(o, b.outputDtype, b.encodingFormat).join(',') + tail;
      }
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
      const { params, compression, outputDtype } = arrowParamsFromQuery(ctx.query);
      const out = await embedArrow(pipeline, model, ctx.body, {
        params,
        compression,
        outputDtype,
        signal: ctx.signal,
      });
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

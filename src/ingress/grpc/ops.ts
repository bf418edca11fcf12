/**
 * What each tei.v1 operation does once its route is known, shared by the tei_multiplexer.v1 and tei.v1 services:
 * dense Embed goes through the pipeline (coalesced with concurrent calls for the same model and parameters), or
 * straight to the pinned backend when the call pinned one; every other operation is forwarded to one backend with
 * `TeiBackend.forward()`. Each takes a tei.v1 request message and gives a tei.v1 response message plus TEI's
 * metadata (for unary x-* headers).
 */
import type { Pipeline } from '../../pipeline/index.js';
import { textBatchFromStrings } from '../../pipeline/text-batch.js';
import { countChars } from '../../tei/chars.js';
import { TeiError } from '../../tei/errors.js';
import type { ResponseMetadata } from '../../tei/types.js';
import type { Msg } from './messages.js';
import {
  decodeBody,
  embedAllResponse,
  embedParams,
  embedResponse,
  encodeResponse,
  infoMessage,
  predictBody,
  predictResponse,
  rerankBody,
  rerankResponse,
  seqBody,
  sparseResponse,
  str,
  tokenizeBody,
} from './messages.js';
import type { Route, Targets } from './target.js';

export interface Reply {
  message: Msg;
  /** TEI's response metadata; unary RPCs also send it as x-* initial metadata. */
  meta?: ResponseMetadata;
}

/** One request message, routed, to one response message. */
export type Op = (req: Msg, route: Route, signal: AbortSignal) => Promise<Reply>;

export interface Ops {
  info: Op;
  embed: Op;
  embedSparse: Op;
  embedAll: Op;
  predict: Op;
  predictPair: Op;
  rerank: Op;
  tokenize: Op;
  decode: Op;
  /** RerankStream: the collected items, as one rerank (query and flags from the first item, as TEI). */
  rerankItems(items: Msg[], route: Route, signal: AbortSignal): Promise<Reply>;
}

export function createOps(pipeline: Pipeline, targets: Targets): Ops {
  const rerankWith = async (first: Msg, texts: string[] | undefined, route: Route, signal: AbortSignal) => {
    const r = await targets
      .replica(route)
      .client.forward({ op: 'rerank', request: rerankBody(first, texts) }, signal);
    return { message: rerankResponse(r.value, r.meta), meta: r.meta };
  };
  const predictWith =
    (pair: boolean): Op =>
    async (req, route, signal) => {
      const request = predictBody(req, pair);
      const r = await targets.replica(route).client.forward({ op: 'predict', request }, signal);
      return { message: predictResponse(r.value[0], r.meta), meta: r.meta };
    };

  return {
    info: async (_req, route, signal) => {
      const replica = targets.replica(route);
      return { message: infoMessage(replica.info ?? (await replica.client.info(signal))) };
    },

    embed: async (req, route, signal) => {
      const started = process.hrtime.bigint();
      const text = str(req.inputs);
      const params = embedParams(req);
      let vector: Float32Array;
      let tokens: number;
      let timings: { tokenizationNs: number; queueNs: number; inferenceNs: number };
      if (route.replica) {
        const r = await route.replica.client.embed({ texts: [text], ...params }, signal);
        vector = r.vectors.subarray(0, r.dim);
        tokens = r.tokens;
        timings = r.timings;
      } else {
        const o = await pipeline.embed(route.model, textBatchFromStrings([text]), params, signal);
        vector = o.vectors.subarray(0, o.dim);
        tokens = o.tokens;
        timings = o.timings;
      }
      const meta: ResponseMetadata = {
        computeChars: countChars(text),
        computeTokens: tokens,
        totalTimeNs: Number(process.hrtime.bigint() - started),
        tokenizationTimeNs: timings.tokenizationNs,
        queueTimeNs: timings.queueNs,
        inferenceTimeNs: timings.inferenceNs,
      };
      return { message: embedResponse(vector, meta), meta };
    },

    embedSparse: async (req, route, signal) => {
      const r = await targets
        .replica(route)
        .client.forward({ op: 'embed_sparse', request: seqBody(req) }, signal);
      return { message: sparseResponse(r.value[0], r.meta), meta: r.meta };
    },

    embedAll: async (req, route, signal) => {
      const r = await targets
        .replica(route)
        .client.forward({ op: 'embed_all', request: seqBody(req) }, signal);
      return { message: embedAllResponse(r.value[0], r.meta), meta: r.meta };
    },

    predict: predictWith(false),
    predictPair: predictWith(true),
    rerank: (req, route, signal) => rerankWith(req, undefined, route, signal),
    rerankItems: async (items, route, signal) => {
      // TEI divides by zero on an empty RerankStream; answer as its unary Rerank does instead.
      if (items.length === 0) throw new TeiError('Validation', '`texts` cannot be empty');
      return rerankWith(
        items[0],
        items.map((i) => str(i.text)),
        route,
        signal,
      );
    },

    tokenize: async (req, route, signal) => {
      const r = await targets
        .replica(route)
        .client.forward({ op: 'tokenize', request: tokenizeBody(req) }, signal);
      return { message: encodeResponse(r.value[0]) };
    },

    decode: async (req, route, signal) => {
      const r = await targets
        .replica(route)
        .client.forward({ op: 'decode', request: decodeBody(req) }, signal);
      return { message: { text: r.value[0] ?? '' } };
    },
  };
}

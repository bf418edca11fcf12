/**
 * The tei.v1 services (Info, Embed, Predict, Rerank, Tokenize: every RPC), so a stock TEI gRPC client pointed at
 * the router works unchanged. The model is the request metadata `x-model` (a model name or alias), else the
 * router's default model.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Handler } from './calls.js';
import { collected, orderedStream, unary } from './calls.js';
import type { Op, Ops } from './ops.js';
import type { Route, Targets } from './target.js';

export const MODEL_METADATA_KEY = 'x-model';

function modelName(md: grpc.Metadata): string | undefined {
  const v = md.get(MODEL_METADATA_KEY)[0];
  return v === undefined ? undefined : String(v);
}

export function teiV1Services(ops: Ops, targets: Targets): Record<string, grpc.UntypedServiceImplementation> {
  const route = (md: grpc.Metadata): Route => targets.model(modelName(md), md);
  const h =
    (op: Op): Handler =>
    (req, md, signal) =>
      Promise.resolve().then(() => op(req, route(md), signal));
  return {
    'tei.v1.Info': { Info: unary(h(ops.info)) },
    'tei.v1.Embed': {
      Embed: unary(h(ops.embed)),
      EmbedStream: orderedStream(h(ops.embed)),
      EmbedSparse: unary(h(ops.embedSparse)),
      EmbedSparseStream: orderedStream(h(ops.embedSparse)),
      EmbedAll: unary(h(ops.embedAll)),
      EmbedAllStream: orderedStream(h(ops.embedAll)),
    },
    'tei.v1.Predict': {
      Predict: unary(h(ops.predict)),
      PredictPair: unary(h(ops.predictPair)),
      PredictStream: orderedStream(h(ops.predict)),
      PredictPairStream: orderedStream(h(ops.predictPair)),
    },
    'tei.v1.Rerank': {
      Rerank: unary(h(ops.rerank)),
      RerankStream: collected((items, md, signal) =>
        Promise.resolve().then(() => ops.rerankItems(items, route(md), signal)),
      ),
    },
    'tei.v1.Tokenize': {
      Tokenize: unary(h(ops.tokenize)),
      TokenizeStream: orderedStream(h(ops.tokenize)),
      Decode: unary(h(ops.decode)),
      DecodeStream: orderedStream(h(ops.decode)),
    },
  };
}

/**
 * tei_multiplexer.v1.TeiMultiplexer, wire-compatible with tei-manager's: every request wraps a tei.v1 request with
 * a Target, and each message (stream items too) is routed by its own Target. The Arrow RPCs are delegated to an
 * optional ArrowRpcs implementation; without one they answer UNIMPLEMENTED.
 */
import * as grpc from '@grpc/grpc-js';
import type { Handler } from './calls.js';
import { collected, orderedStream, unary } from './calls.js';
import type { Msg } from './messages.js';
import { sub } from './messages.js';
import type { Op, Ops, Reply } from './ops.js';
import { GrpcStatusError } from './status.js';
import type { Targets } from './target.js';

/** One Arrow RPC: the whole request message (target, arrow_ipc, flags) → the response message ({arrow_ipc}). */
export type ArrowRpc = (
  request: Msg,
  ctx: { targets: Targets; signal: AbortSignal; metadata: grpc.Metadata },
) => Promise<Msg>;

/** The Arrow batch path, supplied by the Arrow codec when it exists (EmbedArrow, EmbedSparseArrow). */
export interface ArrowRpcs {
  embedArrow?: ArrowRpc;
  embedSparseArrow?: ArrowRpc;
}

export function multiplexerService(
  ops: Ops,
  targets: Targets,
  arrow: ArrowRpcs = {},
): grpc.UntypedServiceImplementation {
  /** A wrapper message ({target, request}) → the op on its inner tei.v1 request. */
  const wrapped =
    (op: Op): Handler =>
    (req, md, signal) =>
      Promise.resolve().then(() => op(sub(req, 'request'), targets.target(req.target, md), signal));

  const arrowRpc = (name: string, rpc: ArrowRpc | undefined): grpc.handleUnaryCall<Msg, Msg> => {
    const handler: Handler = async (req, metadata, signal): Promise<Reply> => {
      if (!rpc) {
        throw new GrpcStatusError(
          grpc.status.UNIMPLEMENTED,
          `tei_multiplexer.v1.TeiMultiplexer/${name} is not available in this tei-router build yet ` +
            `(the Arrow codec is pending); use Embed/EmbedStream or EmbedSparse/EmbedSparseStream`,
        );
      }
      return { message: await rpc(req, { targets, signal, metadata }) };
    };
    return unary(handler);
  };

  return {
    Info: unary((req, md, signal) =>
      Promise.resolve().then(() => ops.info({}, targets.target(req.target, md), signal)),
    ),
    Embed: unary(wrapped(ops.embed)),
    EmbedStream: orderedStream(wrapped(ops.embed)),
    EmbedSparse: unary(wrapped(ops.embedSparse)),
    EmbedSparseStream: orderedStream(wrapped(ops.embedSparse)),
    EmbedAll: unary(wrapped(ops.embedAll)),
    EmbedAllStream: orderedStream(wrapped(ops.embedAll)),
    EmbedArrow: arrowRpc('EmbedArrow', arrow.embedArrow),
    EmbedSparseArrow: arrowRpc('EmbedSparseArrow', arrow.embedSparseArrow),
    Predict: unary(wrapped(ops.predict)),
    PredictPair: unary(wrapped(ops.predictPair)),
    PredictStream: orderedStream(wrapped(ops.predict)),
    PredictPairStream: orderedStream(wrapped(ops.predictPair)),
    Rerank: unary(wrapped(ops.rerank)),
    // Routed by the first item's target; query and flags from the first item, as TEI.
    RerankStream: collected((items, md, signal) =>
      Promise.resolve().then(() =>
        ops.rerankItems(
          items.map((i) => sub(i, 'request')),
          targets.target(items[0]?.target, md),
          signal,
        ),
      ),
    ),
    Tokenize: unary(wrapped(ops.tokenize)),
    TokenizeStream: orderedStream(wrapped(ops.tokenize)),
    Decode: unary(wrapped(ops.decode)),
    DecodeStream: orderedStream(wrapped(ops.decode)),
  };
}

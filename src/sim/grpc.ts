/**
 * The simulator's gRPC face: every tei.v1 service and RPC (router/src/grpc/server.rs), grpc.health.v1 with TEI's
 * per-service statuses, and server reflection. Unary Embed and Predict RPCs fail fast on overload; unary Rerank and all
 * streams wait for permits; streams answer in request order.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { TeiError, teiGrpcCode, GrpcCode } from '../tei/errors.js';
import type { ResponseMetadata, TruncationDirection } from '../tei/types.js';
import { metadataHeaders } from '../tei/types.js';
import { reflectionDefinition, serviceDefinition } from '../proto/load.js';
import type { CallOptions, PermitMode, SimEngine } from './engine.js';
import { ResetFault } from './engine.js';
import { predictPairInputs } from '../tei/predict.js';

type Msg = Record<string, unknown>;

interface Reply {
  message: Msg;
  meta?: ResponseMetadata;
}

/** A unit of work: one request message → one response message. */
type Work = (req: Msg, call: CallOptions) => Promise<Reply>;

function metadataMessage(m: ResponseMetadata): Msg {
  return {
    compute_chars: m.computeChars,
    compute_tokens: m.computeTokens,
    total_time_ns: m.totalTimeNs,
    tokenization_time_ns: m.tokenizationTimeNs,
    queue_time_ns: m.queueTimeNs,
    inference_time_ns: m.inferenceTimeNs,
  };
}

function direction(v: unknown): TruncationDirection {
  return v === 'TRUNCATION_DIRECTION_LEFT' || v === 1 ? 'Left' : 'Right';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bool = (v: unknown): boolean => v === true;
const optStr = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function toStatus(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof TeiError) return { code: teiGrpcCode(err.errorType), details: err.message };
  if (err instanceof ResetFault)
    return { code: GrpcCode.UNAVAILABLE, details: 'connection reset by injected fault' };
  return { code: GrpcCode.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

export interface SimGrpc {
  server: grpc.Server;
  health: HealthImplementation;
}

export function createSimGrpcServer(engine: SimEngine): SimGrpc {
  const o = engine.options;
  const normalizeDefault = o.teiVersion !== '1.8';
  const health = new HealthImplementation({
    '': 'SERVING',
    'tei.v1.Info': 'SERVING',
    'tei.v1.Tokenize': 'SERVING',
    'tei.v1.Embed': 'NOT_SERVING',
    'tei.v1.Predict': 'NOT_SERVING',
    'tei.v1.Rerank': 'NOT_SERVING',
  });
  const servicesFor = (): string[] =>
    o.modelType === 'embedding'
      ? ['tei.v1.Embed']
      : o.modelType === 'classifier'
        ? ['tei.v1.Predict']
        : ['tei.v1.Predict', 'tei.v1.Rerank'];
  const backendOutcome = (ok: boolean) => {
    for (const s of servicesFor()) health.setStatus(s, ok ? 'SERVING' : 'NOT_SERVING');
  };
  /** Runs work that reaches the backend, flipping health like TEI does on success and backend failure. */
  const tracked =
    (work: Work): Work =>
    async (req, call) => {
      try {
        const reply = await work(req, call);
        backendOutcome(true);
        return reply;
      } catch (err) {
        if (err instanceof TeiError && err.errorType === 'Backend') backendOutcome(false);
        throw err;
      }
    };

  const embed: Work = tracked(async (req, call) => {
    const r = await engine.embed(
      {
        items: [str(req.inputs)],
        batch: false,
        truncate: bool(req.truncate),
        direction: direction(req.truncation_direction),
        promptName: optStr(req.prompt_name),
        normalize: typeof req.normalize === 'boolean' ? req.normalize : normalizeDefault,
        dimensions: typeof req.dimensions === 'number' ? req.dimensions : null,
      },
      call,
    );
    return {
      message: { embeddings: Array.from(r.value[0]), metadata: metadataMessage(r.meta) },
      meta: r.meta,
    };
  });

  const seq = (req: Msg) => ({
    items: [str(req.inputs)],
    batch: false,
    truncate: bool(req.truncate),
    direction: direction(req.truncation_direction),
    promptName: optStr(req.prompt_name),
  });

  const embedSparse: Work = tracked(async (req, call) => {
    const r = await engine.embedSparse(seq(req), call);
    return { message: { sparse_embeddings: r.value[0], metadata: metadataMessage(r.meta) }, meta: r.meta };
  });

  const embedAll: Work = tracked(async (req, call) => {
    const r = await engine.embedAll(seq(req), call);
    const tokens = r.value[0].map((t) => ({ embeddings: Array.from(t) }));
    return { message: { token_embeddings: tokens, metadata: metadataMessage(r.meta) }, meta: r.meta };
  });

  const predictWith =
    (pair: boolean): Work =>
    async (req, call) => {
      let items: [string] | [string, string];
      if (pair) {
        items = predictPairInputs(Array.isArray(req.inputs) ? (req.inputs as string[]) : []);
      } else {
        items = [str(req.inputs)];
      }
      const r = await engine.predict(
        {
          items: [items],
          batch: false,
          truncate: bool(req.truncate),
          direction: direction(req.truncation_direction),
          rawScores: bool(req.raw_scores),
        },
        call,
      );
      return { message: { predictions: r.value[0], metadata: metadataMessage(r.meta) }, meta: r.meta };
    };

  const rerankRun = async (
    query: string,
    texts: string[],
    first: Msg,
    call: CallOptions,
    stream: boolean,
  ): Promise<Reply> => {
    const r = await engine.rerank(
      {
        query,
        texts,
        truncate: bool(first.truncate),
        direction: direction(first.truncation_direction),
        rawScores: bool(first.raw_scores),
        returnText: bool(first.return_text),
      },
      call,
      true,
      stream,
    );
    return { message: { ranks: r.value, metadata: metadataMessage(r.meta) }, meta: r.meta };
  };

  const rerank: Work = tracked(async (req, call) =>
    rerankRun(str(req.query), Array.isArray(req.texts) ? (req.texts as string[]) : [], req, call, false),
  );

  const tokenize: Work = async (req) => {
    const [tokens] = engine.tokenize(
      [str(req.inputs)],
      bool(req.add_special_tokens),
      optStr(req.prompt_name),
    );
    const out = tokens.map((t) => {
      const m: Msg = { id: t.id, text: t.text, special: t.special };
      if (t.start !== null) m.start = t.start;
      if (t.stop !== null) m.stop = t.stop;
      return m;
    });
    return { message: { tokens: out } };
  };

  const decode: Work = async (req) => {
    const ids = Array.isArray(req.ids) ? (req.ids as number[]) : [];
    const [text] = engine.decode([ids], bool(req.skip_special_tokens));
    return { message: { text } };
  };

  const checkAuth = (md: grpc.Metadata): boolean => {
    if (o.apiKey === undefined) return true;
    const v = md.get('authorization');
    return v.length > 0 && String(v[0]) === `Bearer ${o.apiKey}`;
  };
  const unauthenticated = { code: GrpcCode.UNAUTHENTICATED, details: 'No valid auth token' };

  function unary(work: Work, permits: PermitMode): grpc.handleUnaryCall<Msg, Msg> {
    return (call, callback) => {
      if (!checkAuth(call.metadata)) return callback(unauthenticated);
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort(new Error('client cancelled')));
      work(call.request, { permits, signal: abort.signal }).then(
        (reply) => {
          if (reply.meta) {
            const md = new grpc.Metadata();
            for (const [k, v] of Object.entries(metadataHeaders(reply.meta))) md.set(k, v);
            call.sendMetadata(md);
          }
          callback(null, reply.message);
        },
        (err) => {
          if (abort.signal.aborted) return;
          callback(toStatus(err));
        },
      );
    };
  }

  function bidi(work: Work): grpc.handleBidiStreamingCall<Msg, Msg> {
    return (call) => {
      if (!checkAuth(call.metadata)) {
        call.emit('error', unauthenticated);
        return;
      }
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort(new Error('client cancelled')));
      const cap = o.grpcMaxParallelStreamRequests;
      let inFlight = 0;
      let failed = false;
      let ended = false;
      let tail: Promise<void> = Promise.resolve();
      const maybeEnd = () => {
        if (ended && inFlight === 0 && !failed) call.end();
      };
      call.on('data', (req: Msg) => {
        if (failed) return;
        inFlight++;
        if (inFlight >= cap) call.pause();
        const result = work(req, { permits: 'wait', signal: abort.signal });
        result.catch(() => undefined);
        tail = tail.then(async () => {
          try {
            const reply = await result;
            if (!failed) call.write(reply.message);
          } catch (err) {
            if (!failed && !abort.signal.aborted) {
              failed = true;
              call.emit('error', toStatus(err));
            }
          } finally {
            inFlight--;
            if (inFlight < cap) call.resume();
            maybeEnd();
          }
        });
      });
      call.on('end', () => {
        ended = true;
        void tail.then(maybeEnd);
      });
    };
  }

  const rerankStream: grpc.handleClientStreamingCall<Msg, Msg> = (call, callback) => {
    if (!checkAuth(call.metadata)) return callback(unauthenticated);
    try {
      engine.checkReranker(true);
    } catch (err) {
      return callback(toStatus(err));
    }
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort(new Error('client cancelled')));
    const texts: string[] = [];
    let first: Msg | undefined;
    call.on('data', (req: Msg) => {
      first ??= req;
      texts.push(str(req.text));
    });
    call.on('end', () => {
      const head = first ?? {};
      if (texts.length === 0) {
        // TEI divides by zero here and aborts; the simulator answers instead.
        return callback({ code: GrpcCode.INVALID_ARGUMENT, details: '`texts` cannot be empty' });
      }
      tracked((_, c) => rerankRun(str(head.query), texts, head, c, true))(head, {
        permits: 'wait',
        signal: abort.signal,
      }).then(
        (reply) => callback(null, reply.message),
        (err) => {
          if (!abort.signal.aborted) callback(toStatus(err));
        },
      );
    });
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  server.addService(serviceDefinition('tei.v1.Info'), {
    Info: (call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) => {
      if (!checkAuth(call.metadata)) return callback(unauthenticated);
      const i = engine.info();
      const modelType =
        o.modelType === 'embedding'
          ? 'MODEL_TYPE_EMBEDDING'
          : o.modelType === 'classifier'
            ? 'MODEL_TYPE_CLASSIFIER'
            : 'MODEL_TYPE_RERANKER';
      const msg: Msg = {
        version: i.version,
        model_id: i.model_id,
        model_dtype: i.model_dtype,
        model_type: modelType,
        max_concurrent_requests: i.max_concurrent_requests,
        max_input_length: i.max_input_length,
        max_batch_tokens: i.max_batch_tokens,
        max_client_batch_size: i.max_client_batch_size,
        tokenization_workers: i.tokenization_workers,
      };
      if (i.model_sha !== null) msg.model_sha = i.model_sha;
      if (i.max_batch_requests !== null) msg.max_batch_requests = i.max_batch_requests;
      callback(null, msg);
    },
  });
  server.addService(serviceDefinition('tei.v1.Embed'), {
    Embed: unary(embed, 'try'),
    EmbedStream: bidi(embed),
    EmbedSparse: unary(embedSparse, 'try'),
    EmbedSparseStream: bidi(embedSparse),
    EmbedAll: unary(embedAll, 'try'),
    EmbedAllStream: bidi(embedAll),
  });
  server.addService(serviceDefinition('tei.v1.Predict'), {
    Predict: unary(tracked(predictWith(false)), 'try'),
    PredictPair: unary(tracked(predictWith(true)), 'try'),
    PredictStream: bidi(tracked(predictWith(false))),
    PredictPairStream: bidi(tracked(predictWith(true))),
  });
  server.addService(serviceDefinition('tei.v1.Rerank'), {
    Rerank: unary(rerank, 'wait'),
    RerankStream: rerankStream,
  });
  server.addService(serviceDefinition('tei.v1.Tokenize'), {
    Tokenize: unary(tokenize, 'try'),
    TokenizeStream: bidi(tokenize),
    Decode: unary(decode, 'try'),
    DecodeStream: bidi(decode),
  });
  health.addToServer(server);
  new ReflectionService(reflectionDefinition(['tei/v1/tei.proto'])).addToServer(server);
  return { server, health };
}

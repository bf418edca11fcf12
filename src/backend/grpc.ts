/**
 * TEI over gRPC (tei.v1): plaintext for grpc://, TLS (the configured CA, else the system roots) for grpcs://. Dense
 * batches, the hot path, go as ONE EmbedStream call with one EmbedRequest per text, made on HTTP/2 directly
 * (grpc-h2.ts, one session per connection): the requests are written as one body and the responses decoded
 * straight into the output Float32Array as they arrive (grpc-embed-wire.ts). TEI answers in request order, and
 * streams wait for permits (never RESOURCE_EXHAUSTED). Every other call uses grpc-js, one channel per connection
 * (`connections`, default 1, round-robin per call). Every call carries a deadline (the per-call timeout, or the
 * request's deadline when sooner) and is cancelled when the caller's signal aborts. Status mapping: grpc-errors.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { RouterError } from '../errors.js';
import { loadProtos } from '../proto/load.js';
import type { ResponseMetadata } from '../tei/types.js';
import { CallScope } from './call-scope.js';
import { BackendError, TeiBackendError, abortError } from './errors.js';
import { copyEmbeddings, encodeEmbedStreamBody, scanEmbedResponse } from './grpc-embed-wire.js';
import { grpcError } from './grpc-errors.js';
import { GrpcFrameReader } from './grpc-frames.js';
import { GrpcH2Client } from './grpc-h2.js';
import { healthCheckMethod, modelHealthService } from './grpc-health.js';
import {
  decodeRequests,
  decodedTextOf,
  predictRequests,
  predictionsOf,
  ranksOf,
  rerankRequest,
  seqRequests,
  sparseOf,
  tokenVectorsOf,
  tokenizeRequests,
  tokensOf,
} from './grpc-messages.js';
import type { Msg } from './grpc-messages.js';
import { infoFromGrpc } from './info.js';
import { MetaAccumulator, metaFromGrpc, timingsOf } from './metadata.js';
import type { GrpcMetadataMessage } from './metadata.js';
import type {
  BackendInfo,
  BackendOptions,
  EmbedBatch,
  EmbedBatchResult,
  ForwardCall,
  ForwardOp,
  ForwardResult,
  TeiBackend,
} from './types.js';

/** What a client needs of a method: its path and codecs. */
interface Method<Req = Msg, Res = Msg> {
  path: string;
  requestSerialize: (req: Req) => Buffer;
  responseDeserialize: (buf: Buffer) => Res;
}

/** A tei.v1 method definition (path and protobufjs codecs) by service and method name. */
function method(service: string, name: string): Method {
  const def = loadProtos().definition[service] as unknown as Record<string, Method> | undefined;
  const m = def?.[name];
  if (!m) throw new Error(`proto method ${service}/${name} not found`);
  return m;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // EmbedAll answers can exceed grpc-js's 4 MiB default (tokens × hidden × 4 bytes).
  'grpc.max_receive_message_length': 256 * 1024 * 1024,
  // Each client of a multi-connection backend gets its own connection.
  'grpc.use_local_subchannel_pool': 1,
};

/** Bounds on one EmbedStream answer: all messages together, and one message (one vector of up to 4M floats). */
const MAX_RESPONSE_BYTES = 1 << 30;
const MAX_MESSAGE_BYTES = 16 << 20;

/** How much later than the request's deadline a backend call's own gRPC deadline is set. */
const DEADLINE_GRACE_MS = 50;

export class GrpcBackend implements TeiBackend {
  readonly protocol = 'grpc' as const;
  readonly url: string;
  private readonly clients: grpc.Client[];
  private nextClient = 0;
  private readonly timeoutMs: number;
  private readonly apiKey: string | undefined;
  private readonly extraHeaders: BackendOptions['extraHeaders'];
  private infoCache: Promise<BackendInfo> | undefined;
  /** Dense batches (EmbedStream) go on HTTP/2 directly (grpc-h2.ts), one session per connection. */
  private readonly h2: GrpcH2Client[];
  private nextH2 = 0;

  constructor(url: URL, options: BackendOptions) {
    const secure = url.protocol === 'grpcs:';
    const port = url.port || (secure ? '443' : '80');
    this.url = `${url.protocol}//${url.hostname}:${port}`;
    this.timeoutMs = options.timeoutMs;
    this.apiKey = options.apiKey;
    this.extraHeaders = options.extraHeaders;
    const tls = options.tls;
    const pem = (s: string | undefined) => (s === undefined ? null : Buffer.from(s));
    const credentials = secure
      ? grpc.credentials.createSsl(pem(tls?.ca), pem(tls?.key), pem(tls?.cert))
      : grpc.credentials.createInsecure();
    const target = `${url.hostname}:${port}`;
    const connections = Math.max(1, options.connections ?? 1);
    this.clients = Array.from(
      { length: connections },
      () => new grpc.Client(target, credentials, CHANNEL_OPTIONS),
    );
    const origin = `${secure ? 'https' : 'http'}://${target}`;
    this.h2 = Array.from(
      { length: connections },
      () => new GrpcH2Client(origin, secure ? (tls ?? {}) : undefined),
    );
  }

  private client(): grpc.Client {
    const c = this.clients[this.nextClient];
    this.nextClient = (this.nextClient + 1) % this.clients.length;
    return c;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.headers())) md.set(k, v);
    return md;
  }

  /** The metadata every call carries: the API key, and the caller's extra headers (traceparent). */
  private headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.apiKey !== undefined) h.authorization = `Bearer ${this.apiKey}`;
    for (const [k, v] of Object.entries(this.extraHeaders?.() ?? {})) h[k.toLowerCase()] = v;
    return h;
  }

  /**
   * The call's deadline: the per-call timeout, or the request's deadline when sooner (plus a little grace, so that
   * the router's own cancel at the deadline comes first and a client's short deadline never counts against the
   * backend's health). TEI receives it as grpc-timeout.
   */
  private callOptions(requestDeadline = Infinity): grpc.CallOptions {
    return { deadline: this.deadline(requestDeadline) };
  }

  private deadline(requestDeadline = Infinity): number {
    return Math.min(Date.now() + this.timeoutMs, requestDeadline + DEADLINE_GRACE_MS);
  }

  private run<T>(signal: AbortSignal | undefined, work: (scope: CallScope) => Promise<T>): Promise<T> {
    return CallScope.run(this.url, this.timeoutMs, signal, work, (err) => grpcError(this.url, err));
  }

  /** One unary call. */
  private unary<Req, Res>(m: Method<Req, Res>, req: Req, signal: AbortSignal | undefined): Promise<Res> {
    return this.run(
      signal,
      (scope) =>
        new Promise<Res>((resolve, reject) => {
          const call = this.client().makeUnaryRequest(
            m.path,
            m.requestSerialize,
            m.responseDeserialize,
            req,
            this.metadata(),
            this.callOptions(),
            (err, res) => (err ? reject(err) : resolve(res as Res)),
          );
          scope.signal.addEventListener('abort', () => call.cancel(), { once: true });
        }),
    );
  }

  /**
   * One bidi stream: writes every request, then half-closes; `onData` sees each response in order. Resolves after
   * the last response and an OK status.
   */
  private bidi<Res>(
    m: Method<Msg, Res>,
    reqs: Msg[],
    signal: AbortSignal | undefined,
    onData: (res: Res, index: number) => void,
  ): Promise<number> {
    return this.run(
      signal,
      (scope) =>
        new Promise<number>((resolve, reject) => {
          const call = this.client().makeBidiStreamRequest(
            m.path,
            m.requestSerialize,
            m.responseDeserialize,
            this.metadata(),
            this.callOptions(),
          );
          let count = 0;
          let ended = false;
          let ok = false;
          let failed = false;
          const fail = (err: unknown) => {
            if (failed) return;
            failed = true;
            reject(err);
            call.cancel();
          };
          const settle = () => {
            if (ended && ok && !failed) resolve(count);
          };
          scope.signal.addEventListener('abort', () => call.cancel(), { once: true });
          call.on('data', (res: Res) => {
            if (failed) return;
            try {
              onData(res, count++);
            } catch (err) {
              fail(err);
            }
          });
          call.on('error', (err) => fail(err));
          call.on('end', () => {
            ended = true;
            settle();
          });
          call.on('status', (s: grpc.StatusObject) => {
            ok = s.code === grpc.status.OK;
            settle();
          });
          for (const r of reqs) call.write(r);
          call.end();
        }),
    );
  }

  /** Unary for a single item, the *Stream RPC for a batch; metadata from the message (stream: aggregated). */
  private async many(
    service: string,
    name: string,
    reqs: Msg[],
    batch: boolean,
    signal: AbortSignal | undefined,
  ): Promise<{ items: Msg[]; meta: ResponseMetadata | undefined }> {
    const withMeta = (items: Msg[]) => {
      if (!items.some((m) => m.metadata !== undefined)) return { items, meta: undefined };
      const acc = new MetaAccumulator();
      for (const m of items) acc.add(metaFromGrpc(m.metadata as GrpcMetadataMessage | undefined));
      return { items, meta: acc.result() };
    };
    if (!batch) {
      if (reqs.length !== 1)
        throw new TypeError(`a single-input call carries exactly one item, got ${reqs.length}`);
      return withMeta([await this.unary(method(service, name), reqs[0], signal)]);
    }
    const items: Msg[] = [];
    await this.bidi(method(service, `${name}Stream`), reqs, signal, (res: Msg) => items.push(res));
    return withMeta(items);
  }

  info(signal?: AbortSignal): Promise<BackendInfo> {
    return this.unary(method('tei.v1.Info', 'Info'), {}, signal).then((msg) => infoFromGrpc(this.url, msg));
  }

  /** The model type, read once (health needs it to pick the service to check). */
  private modelInfo(signal: AbortSignal | undefined): Promise<BackendInfo> {
    if (!this.infoCache) {
      this.infoCache = this.info(signal);
      this.infoCache.catch(() => (this.infoCache = undefined));
    }
    return this.infoCache;
  }

  /**
   * grpc.health.v1 Check on the model's service (grpc-health.ts). SERVING → true. NOT_SERVING → one tiny model
   * call decides (success or Overloaded → true), since TEI reports NOT_SERVING until its first model call and
   * after a failed one. Anything else, or no answer → false.
   */
  async health(signal?: AbortSignal): Promise<boolean> {
    try {
      const info = await this.modelInfo(signal);
      const res = await this.unary(
        healthCheckMethod(),
        { service: modelHealthService(info.modelType) },
        signal,
      );
      if (res.status === 'SERVING') return true;
      if (res.status !== 'NOT_SERVING') return false;
      if (info.modelType === 'embedding') {
        await this.unary(
          method('tei.v1.Embed', 'Embed'),
          { inputs: 'health', truncate: true, normalize: false },
          signal,
        );
      } else {
        await this.unary(method('tei.v1.Predict', 'Predict'), { inputs: 'health', truncate: true }, signal);
      }
      return true;
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      return err instanceof TeiBackendError && err.errorType === 'Overloaded';
    }
  }

  /**
   * One EmbedStream call for the batch, made on HTTP/2 directly (grpc-h2.ts): the requests written as one body
   * (encodeEmbedStreamBody), each response's floats copied into place as its DATA arrives.
   */
  async embed(batch: EmbedBatch, signal?: AbortSignal): Promise<EmbedBatchResult> {
    const rows = batch.texts.length;
    if (rows === 0) {
      if (signal?.aborted) throw abortError(signal);
      return { rows: 0, dim: 0, vectors: new Float32Array(0), tokens: 0, timings: timingsOf(undefined) };
    }
    let vectors: Float32Array | undefined;
    let dim = 0;
    let received = 0;
    const acc = new MetaAccumulator();
    const protocol = (what: string) =>
      new BackendError('ROUTER_ERR_BACKEND_PROTOCOL', this.url, `EmbedStream: ${what}`);
    const reader = new GrpcFrameReader(
      (buf, start, end) => {
        if (received >= rows) throw protocol(`more than ${rows} responses for ${rows} requests`);
        const scan = scanEmbedResponse(buf, start, end);
        if (vectors === undefined) {
          dim = scan.total;
          vectors = new Float32Array(rows * dim);
        } else if (scan.total !== dim) {
          throw protocol(`response ${received} has ${scan.total} values, response 0 has ${dim}`);
        }
        copyEmbeddings(buf, scan, vectors, received * dim);
        acc.add(metaFromGrpc(scan.metadata));
        received++;
      },
      MAX_RESPONSE_BYTES,
      MAX_MESSAGE_BYTES,
    );
    const body = encodeEmbedStreamBody(batch);
    const client = this.h2[this.nextH2];
    this.nextH2 = (this.nextH2 + 1) % this.h2.length;
    await this.run(signal, async (scope) => {
      await client.call({
        path: '/tei.v1.Embed/EmbedStream',
        metadata: this.headers(),
        body,
        deadline: this.deadline(batch.deadline),
        signal: scope.signal,
        onData: (chunk) => reader.push(chunk),
      });
      reader.end();
    });
    if (received !== rows || vectors === undefined) {
      throw protocol(`the stream ended after ${received} of ${rows} responses`);
    }
    const meta = acc.result();
    return { rows, dim, vectors, tokens: meta.computeTokens, timings: timingsOf(meta) };
  }

  forward<O extends ForwardOp>(call: ForwardCall<O>, signal?: AbortSignal): Promise<ForwardResult<O>> {
    return this.forwardAny(call as ForwardCall, signal) as Promise<ForwardResult<O>>;
  }

  private async forwardAny(call: ForwardCall, signal: AbortSignal | undefined): Promise<ForwardResult> {
    switch (call.op) {
      case 'embed':
        throw new RouterError(
          'ROUTER_ERR_UNSUPPORTED',
          `token-id inputs cannot be sent to gRPC backend ${this.url}: tei.v1 requests take text only`,
        );
      case 'embed_sparse': {
        const r = call.request;
        const { items, meta } = await this.many(
          'tei.v1.Embed',
          'EmbedSparse',
          seqRequests(r, this.url),
          r.input.batch,
          signal,
        );
        return { op: call.op, value: items.map(sparseOf), meta };
      }
      case 'embed_all': {
        const r = call.request;
        const { items, meta } = await this.many(
          'tei.v1.Embed',
          'EmbedAll',
          seqRequests(r, this.url),
          r.input.batch,
          signal,
        );
        return { op: call.op, value: items.map(tokenVectorsOf), meta };
      }
      case 'predict': {
        const r = call.request;
        // A single text → Predict; a single pair → PredictPair; a batch (texts and pairs mixed) → PredictPairStream.
        const pair = r.batch || r.items[0]?.length === 2;
        const { items, meta } = await this.many(
          'tei.v1.Predict',
          pair ? 'PredictPair' : 'Predict',
          predictRequests(r, pair),
          r.batch,
          signal,
        );
        return { op: call.op, value: items.map(predictionsOf), meta };
      }
      case 'rerank': {
        const res = await this.unary(method('tei.v1.Rerank', 'Rerank'), rerankRequest(call.request), signal);
        return {
          op: call.op,
          value: ranksOf(res),
          meta: metaFromGrpc(res.metadata as GrpcMetadataMessage | undefined),
        };
      }
      case 'tokenize': {
        const r = call.request;
        const { items } = await this.many(
          'tei.v1.Tokenize',
          'Tokenize',
          tokenizeRequests(r),
          r.batch,
          signal,
        );
        return { op: call.op, value: items.map(tokensOf), meta: undefined };
      }
      case 'decode': {
        const r = call.request;
        const { items } = await this.many('tei.v1.Tokenize', 'Decode', decodeRequests(r), r.batch, signal);
        return { op: call.op, value: items.map(decodedTextOf), meta: undefined };
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const c of this.h2) c.close();
  }
}

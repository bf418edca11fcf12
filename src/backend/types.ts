/**
 * The one interface the router uses to talk to ONE TEI backend, whatever its protocol (HTTP via undici, gRPC via
 * grpc-js). Dense embeddings, the hot path, have their own call (`embed`) that writes floats into one row-major
 * Float32Array. Every other TEI operation goes through `forward`, a typed, transport-neutral pass-through:
 *
 *   ingress (HTTP JSON or tei.v1 messages) ──decode──► ForwardCall ──backend──► ForwardResult ──encode──► ingress
 *
 * The request side of a ForwardCall is exactly what src/codec/tei-json.ts decodes from TEI's JSON bodies (so the
 * HTTP ingress hands its decoded body straight through), and a gRPC ingress builds the same shape from tei.v1
 * messages (`batch: false` for unary RPCs, `batch: true` for *Stream RPCs). Each backend expresses the call in its
 * own protocol with TEI's semantics:
 *
 * | op           | HTTP backend                        | gRPC backend (single / batch)                       |
 * |--------------|-------------------------------------|-----------------------------------------------------|
 * | embed        | POST /embed (token-id inputs)       | refused: tei.v1 EmbedRequest takes text only        |
 * | embed_sparse | POST /embed_sparse                  | Embed.EmbedSparse / Embed.EmbedSparseStream         |
 * | embed_all    | POST /embed_all                     | Embed.EmbedAll / Embed.EmbedAllStream               |
 * | predict      | POST /predict                       | Predict.Predict or PredictPair / PredictPairStream  |
 * | rerank       | POST /rerank                        | Rerank.Rerank                                       |
 * | tokenize     | POST /tokenize                      | Tokenize.Tokenize / Tokenize.TokenizeStream         |
 * | decode       | POST /decode                        | Tokenize.Decode / Tokenize.DecodeStream             |
 *
 * Over HTTP the body sent is TEI's JSON for the call (single inputs as TEI's single form, batches as arrays,
 * `truncate: null` left out so the backend's --auto-truncate applies), and the response body and x-* headers come
 * back as the typed value and `meta`. Over gRPC, fields are set explicitly where TEI's gRPC defaults differ from
 * HTTP (`add_special_tokens`, `skip_special_tokens`), `truncate: null` becomes false (gRPC TEI ignores
 * --auto-truncate; resolve it upstream if you need HTTP's default), and stream metadata is aggregated (chars and
 * tokens summed, times averaged over items). TEI's own errors reject as `TeiBackendError` (a TeiError), whatever
 * the protocol; transport failures reject as `BackendError` (a RouterError with a ROUTER_ERR_BACKEND_* code).
 * Known protocol differences stay TEI's: unary gRPC Embed, EmbedSparse, EmbedAll and Predict fail fast when overloaded while streams and
 * Rerank wait; an empty batch is TEI's Empty error over HTTP and an empty result over gRPC.
 */
import type {
  DecodeBody,
  EmbedAllBody,
  EmbedBody,
  PredictBody,
  RerankBody,
  TokenizeBody,
} from '../codec/tei-json.js';
import type {
  ModelKind,
  Pooling,
  Prediction,
  Rank,
  ResponseMetadata,
  SparseValue,
  Token,
  TruncationDirection,
} from '../tei/types.js';

export type BackendProtocol = 'http' | 'grpc';

/** A backend's /info (HTTP) or tei.v1.Info (gRPC), normalised. Fields gRPC does not report are undefined. */
export interface BackendInfo {
  modelId: string;
  modelType: ModelKind;
  /** Embedding models over HTTP only; undefined over gRPC and for classifiers/rerankers. */
  pooling: Pooling | undefined;
  maxConcurrentRequests: number;
  maxInputLength: number;
  maxBatchTokens: number;
  maxBatchRequests: number | undefined;
  maxClientBatchSize: number;
  /** TEI's version string, e.g. "1.9.3". */
  version: string;
  /** HTTP only (gRPC TEI does not report it, and ignores --auto-truncate). */
  autoTruncate: boolean | undefined;
}

/** One dense embedding batch, as the pipeline cuts it. */
export interface EmbedBatch {
  texts: string[];
  truncate: boolean;
  direction: TruncationDirection;
  normalize: boolean;
  /** MRL truncation (TEI ≥ 1.8); null: the model's dimension. */
  dimensions: number | null;
  /** A prompt of the model's sentence-transformers config; null: the backend's default prompt, if any. */
  promptName: string | null;
  /**
   * The request's deadline (epoch ms), when it is sooner than the per-call timeout: gRPC backends get it as the
   * call's deadline (grpc-timeout), so TEI stops work nobody waits for. The caller's signal enforces it either way.
   */
  deadline?: number;
}

/** Timings as TEI reports them, in nanoseconds (HTTP headers are whole milliseconds, so HTTP values are ms × 1e6). */
export interface BackendTimings {
  totalNs: number;
  tokenizationNs: number;
  queueNs: number;
  inferenceNs: number;
}

export interface EmbedBatchResult {
  rows: number;
  dim: number;
  /** rows × dim, row-major, in the order of `texts`. */
  vectors: Float32Array;
  /** Σ post-truncation token counts (special tokens and prompt included). */
  tokens: number;
  /** HTTP: TEI's x-* headers (batch means); gRPC: the per-item Metadata averaged over the stream. */
  timings: BackendTimings;
}

/** Each non-dense operation: what it takes (TEI's decoded request) and what it gives. */
export interface ForwardOps {
  /** Dense /embed passed through as sent (the route for token-id inputs, which the pipeline does not tokenize). */
  embed: { request: EmbedBody; value: Float32Array[] };
  embed_sparse: { request: EmbedAllBody; value: SparseValue[][] };
  embed_all: { request: EmbedAllBody; value: Float32Array[][] };
  predict: { request: PredictBody; value: Prediction[][] };
  rerank: { request: RerankBody; value: Rank[] };
  tokenize: { request: TokenizeBody; value: Token[][] };
  decode: { request: DecodeBody; value: string[] };
}

export type ForwardOp = keyof ForwardOps;

/**
 * A non-dense call. Where TEI has single and batch forms, `request.batch` (or `request.input.batch`) says which one
 * the client sent: it picks unary vs *Stream RPCs over gRPC and the JSON form over HTTP, and the ingress uses it to
 * shape its reply (e.g. /predict answers a single input with a flat list).
 */
export type ForwardCall<O extends ForwardOp = ForwardOp> = {
  [K in O]: { op: K; request: ForwardOps[K]['request'] };
}[O];

/**
 * The value, one entry per input item (predict: one list per item, even for a single input; rerank: ranks sorted by
 * score descending, as TEI sends them), and TEI's response metadata in ns (undefined for tokenize and decode, which
 * TEI sends without it). Floats are f32 values whichever the protocol.
 */
export type ForwardResult<O extends ForwardOp = ForwardOp> = {
  [K in O]: { op: K; value: ForwardOps[K]['value']; meta: ResponseMetadata | undefined };
}[O];

export interface TeiBackend {
  /** The backend's URL as configured (no credentials), for messages and metrics labels. */
  readonly url: string;
  readonly protocol: BackendProtocol;
  info(signal?: AbortSignal): Promise<BackendInfo>;
  /**
   * true when the backend would serve the model now. Resolves false (never rejects) for an unhealthy, unreachable
   * or timed-out backend; rejects only when `signal` aborts.
   */
  health(signal?: AbortSignal): Promise<boolean>;
  embed(batch: EmbedBatch, signal?: AbortSignal): Promise<EmbedBatchResult>;
  forward<O extends ForwardOp>(call: ForwardCall<O>, signal?: AbortSignal): Promise<ForwardResult<O>>;
  /** Closes connections; calls in flight finish first. */
  close(): Promise<void>;
}

export interface BackendOptions {
  /** Per-call deadline in ms, from the call's start to its last byte. */
  timeoutMs: number;
  /**
   * HTTP/1.1: the most sockets (default: unlimited; the pipeline bounds concurrency). h2c/gRPC: the number of
   * HTTP/2 connections (default 1), each multiplexing many streams.
   */
  connections?: number;
  /** http:// only: speak HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1. https:// negotiates h2 by ALPN. */
  h2c?: boolean;
  /** TEI's --api-key: sent as `authorization: Bearer <key>` (HTTP header or gRPC metadata). */
  apiKey?: string;
  /**
   * Extra request headers (gRPC: metadata) for the call being made now, read per request; e.g. the client identity
   * header. Called on the thread that makes the call.
   */
  extraHeaders?: () => Record<string, string> | undefined;
  /** https:// and grpcs:// only: the CA to verify the backend with, and the client certificate to present. */
  tls?: BackendTls;
}

/** TLS material for backends, as PEM text (plain data: it crosses into the worker threads). */
export interface BackendTls {
  /** CA bundle; undefined: the system roots. */
  ca?: string;
  /** Client certificate chain and key presented to backends behind mTLS; both or neither. */
  cert?: string;
  key?: string;
}

export type { Prediction, Rank, SparseValue, Token };

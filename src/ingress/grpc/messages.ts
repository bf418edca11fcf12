/**
 * tei.v1 messages ↔ the router's transport-neutral shapes (EmbedParams, the ForwardCall request bodies of
 * src/codec/tei-json.ts, ForwardResult values, BackendInfo). Messages use proto field names; proto/load.ts decodes
 * with `defaults: false`, so an absent field is unset and every read here applies the proto3 default (gRPC TEI's:
 * truncate false, add_special_tokens false, skip_special_tokens false, normalize true since TEI 1.9). Pure.
 */
import type {
  DecodeBody,
  EmbedAllBody,
  PredictBody,
  RerankBody,
  TokenizeBody,
} from '../../codec/tei-json.js';
import type { BackendInfo } from '../../backend/types.js';
import type {
  Prediction,
  Rank,
  ResponseMetadata,
  SparseValue,
  Token,
  TruncationDirection,
} from '../../tei/types.js';
import type { EmbedParams } from '../../workers/protocol.js';
import { predictPairInputs } from '../../tei/predict.js';

export type Msg = Record<string, unknown>;

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const bool = (v: unknown): boolean => v === true;
const optStr = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

export function direction(v: unknown): TruncationDirection {
  return v === 'TRUNCATION_DIRECTION_LEFT' || v === 1 ? 'Left' : 'Right';
}

/** A nested message field (the multiplexer's `request`), {} when unset. */
export function sub(m: Msg, key: string): Msg {
  const v = m[key];
  return v !== null && typeof v === 'object' ? (v as Msg) : {};
}

/** tei.v1.EmbedRequest → pipeline params. `normalize` unset means true (TEI ≥ 1.9). */
export function embedParams(req: Msg): EmbedParams {
  return {
    truncate: bool(req.truncate),
    direction: direction(req.truncation_direction),
    normalize: typeof req.normalize === 'boolean' ? req.normalize : true,
    dimensions: typeof req.dimensions === 'number' ? req.dimensions : null,
    promptName: optStr(req.prompt_name),
  };
}

/** tei.v1.EmbedSparseRequest / EmbedAllRequest (one text). */
export function seqBody(req: Msg): EmbedAllBody {
  return {
    input: { batch: false, items: [str(req.inputs)] },
    truncate: bool(req.truncate),
    truncationDirection: direction(req.truncation_direction),
    promptName: optStr(req.prompt_name),
  };
}

/** tei.v1.PredictRequest (one text) or PredictPairRequest (1 or 2 texts, TEI's check and message). */
export function predictBody(req: Msg, pair: boolean): PredictBody {
  let item: [string] | [string, string];
  if (pair) {
    item = predictPairInputs(strings(req.inputs));
  } else {
    item = [str(req.inputs)];
  }
  return {
    batch: false,
    items: [item],
    truncate: bool(req.truncate),
    truncationDirection: direction(req.truncation_direction),
    rawScores: bool(req.raw_scores),
  };
}

/** tei.v1.RerankRequest, or RerankStreamRequest items (texts collected; flags from the first item, as TEI). */
export function rerankBody(first: Msg, texts: string[] = strings(first.texts)): RerankBody {
  return {
    query: str(first.query),
    texts,
    truncate: bool(first.truncate),
    truncationDirection: direction(first.truncation_direction),
    rawScores: bool(first.raw_scores),
    returnText: bool(first.return_text),
  };
}

export function tokenizeBody(req: Msg): TokenizeBody {
  return {
    batch: false,
    inputs: [str(req.inputs)],
    addSpecialTokens: bool(req.add_special_tokens),
    promptName: optStr(req.prompt_name),
  };
}

export function decodeBody(req: Msg): DecodeBody {
  const ids = Array.isArray(req.ids) ? (req.ids as unknown[]).map(Number) : [];
  return { batch: false, ids: [ids], skipSpecialTokens: bool(req.skip_special_tokens) };
}

export function metadataMessage(m: ResponseMetadata): Msg {
  return {
    compute_chars: m.computeChars,
    compute_tokens: m.computeTokens,
    total_time_ns: m.totalTimeNs,
    tokenization_time_ns: m.tokenizationTimeNs,
    queue_time_ns: m.queueTimeNs,
    inference_time_ns: m.inferenceTimeNs,
  };
}

function withMeta(message: Msg, meta: ResponseMetadata | undefined): Msg {
  if (meta) message.metadata = metadataMessage(meta);
  return message;
}

export function embedResponse(vector: Float32Array, meta: ResponseMetadata): Msg {
  return { embeddings: Array.from(vector), metadata: metadataMessage(meta) };
}

export function sparseResponse(values: SparseValue[] | undefined, meta: ResponseMetadata | undefined): Msg {
  return withMeta({ sparse_embeddings: values ?? [] }, meta);
}

export function embedAllResponse(
  tokens: Float32Array[] | undefined,
  meta: ResponseMetadata | undefined,
): Msg {
  return withMeta({ token_embeddings: (tokens ?? []).map((t) => ({ embeddings: Array.from(t) })) }, meta);
}

export function predictResponse(p: Prediction[] | undefined, meta: ResponseMetadata | undefined): Msg {
  return withMeta({ predictions: p ?? [] }, meta);
}

export function rerankResponse(ranks: Rank[], meta: ResponseMetadata | undefined): Msg {
  return withMeta({ ranks }, meta);
}

export function encodeResponse(tokens: Token[] | undefined): Msg {
  return {
    tokens: (tokens ?? []).map((t) => {
      const m: Msg = { id: t.id, text: t.text, special: t.special };
      if (t.start !== null) m.start = t.start;
      if (t.stop !== null) m.stop = t.stop;
      return m;
    }),
  };
}

const MODEL_TYPES = {
  embedding: 'MODEL_TYPE_EMBEDDING',
  classifier: 'MODEL_TYPE_CLASSIFIER',
  reranker: 'MODEL_TYPE_RERANKER',
} as const;

/**
 * tei.v1.InfoResponse from a backend's normalised info. model_dtype, tokenization_workers, sha, docker_label and
 * model_sha are not kept by BackendInfo, so they are left unset (proto3 defaults).
 */
export function infoMessage(i: BackendInfo): Msg {
  const m: Msg = {
    version: i.version,
    model_id: i.modelId,
    model_type: MODEL_TYPES[i.modelType],
    max_concurrent_requests: i.maxConcurrentRequests,
    max_input_length: i.maxInputLength,
    max_batch_tokens: i.maxBatchTokens,
    max_client_batch_size: i.maxClientBatchSize,
  };
  if (i.maxBatchRequests !== undefined) m.max_batch_requests = i.maxBatchRequests;
  return m;
}

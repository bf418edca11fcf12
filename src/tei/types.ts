/** TEI's protocol model: the shapes both the simulator and the router speak. */

/** TEI behaviour generations the simulator can imitate (reference §7). */
export type TeiVersion = '1.8' | '1.9';

export type Pooling = 'cls' | 'mean' | 'splade' | 'last_token';

export type ModelKind = 'embedding' | 'classifier' | 'reranker';

export type TruncationDirection = 'Right' | 'Left';

/** GET /info, in TEI's serialisation order. */
export interface TeiInfo {
  model_id: string;
  model_sha: string | null;
  model_dtype: string;
  served_model_name?: string;
  model_type:
    | { embedding: { pooling: Pooling } }
    | { classifier: { id2label: Record<string, string>; label2id: Record<string, number> } }
    | { reranker: { id2label: Record<string, string>; label2id: Record<string, number> } };
  max_concurrent_requests: number;
  max_input_length: number;
  max_batch_tokens: number;
  max_batch_requests: number | null;
  max_client_batch_size: number;
  auto_truncate: boolean;
  tokenization_workers: number;
  version: string;
  sha: string | null;
  docker_label: string | null;
}

/** One input item: text, or pre-tokenized ids (TEI `InputType`). */
export type InputItem = string | number[];

/** Per-response timing and size facts (TEI `ResponseMetadata`), times in nanoseconds. */
export interface ResponseMetadata {
  computeChars: number;
  computeTokens: number;
  totalTimeNs: number;
  tokenizationTimeNs: number;
  queueTimeNs: number;
  inferenceTimeNs: number;
}

/** The x-* response headers TEI sends on success (ms, integer strings). */
export function metadataHeaders(m: ResponseMetadata): Record<string, string> {
  const ms = (ns: number) => String(Math.floor(ns / 1e6));
  return {
    'x-compute-type': 'gpu+optimized',
    'x-compute-time': ms(m.totalTimeNs),
    'x-compute-characters': String(m.computeChars),
    'x-compute-tokens': String(m.computeTokens),
    'x-total-time': ms(m.totalTimeNs),
    'x-tokenization-time': ms(m.tokenizationTimeNs),
    'x-queue-time': ms(m.queueTimeNs),
    'x-inference-time': ms(m.inferenceTimeNs),
  };
}

/** TEI's output shapes, shared by the simulator (which produces them) and the router (which forwards them). */

/** One SPLADE entry; only non-zero values are listed. */
export interface SparseValue {
  index: number;
  value: number;
}

export interface Prediction {
  score: number;
  label: string;
}

export interface Rank {
  index: number;
  /** Only when the call asked for return_text. */
  text?: string;
  score: number;
}

/** A /tokenize token: byte offsets into the prompt-prefixed input; null for special tokens. */
export interface Token {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

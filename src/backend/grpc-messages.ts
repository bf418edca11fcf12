/**
 * ForwardCall requests as tei.v1 request messages, and tei.v1 response messages as ForwardResult values. Messages
 * use proto field names (proto/load.ts keeps case); decoded responses omit fields at their proto3 default, so every
 * read here applies the default. Pure: no I/O.
 */
import type { DecodeBody, EmbedAllBody, PredictBody, RerankBody, TokenizeBody } from '../codec/tei-json.js';
import { RouterError } from '../errors.js';
import type { TruncationDirection } from '../tei/types.js';
import type { Prediction, Rank, SparseValue, Token } from './types.js';

export type Msg = Record<string, unknown>;

export function direction(d: TruncationDirection): string {
  return d === 'Left' ? 'TRUNCATION_DIRECTION_LEFT' : 'TRUNCATION_DIRECTION_RIGHT';
}

/** EmbedSparseRequest / EmbedAllRequest, one per item. gRPC TEI has no token-id inputs and ignores --auto-truncate. */
export function seqRequests(r: EmbedAllBody, backend: string): Msg[] {
  return r.input.items.map((item) => {
    if (typeof item !== 'string') {
      throw new RouterError(
        'ROUTER_ERR_UNSUPPORTED',
        `token-id inputs cannot be sent to gRPC backend ${backend}: tei.v1 requests take text only`,
      );
    }
    const m: Msg = {
      inputs: item,
      truncate: r.truncate ?? false,
      truncation_direction: direction(r.truncationDirection),
    };
    if (r.promptName !== null) m.prompt_name = r.promptName;
    return m;
  });
}

/** PredictRequest (a single text) or PredictPairRequest (1 or 2 texts: pairs and stream items). */
export function predictRequests(r: PredictBody, pair: boolean): Msg[] {
  return r.items.map((item) => ({
    inputs: pair ? item : item[0],
    truncate: r.truncate ?? false,
    raw_scores: r.rawScores,
    truncation_direction: direction(r.truncationDirection),
  }));
}

export function rerankRequest(r: RerankBody): Msg {
  return {
    query: r.query,
    texts: r.texts,
    truncate: r.truncate ?? false,
    raw_scores: r.rawScores,
    return_text: r.returnText,
    truncation_direction: direction(r.truncationDirection),
  };
}

/** EncodeRequest: add_special_tokens is explicit (its gRPC default is false, HTTP's is true). */
export function tokenizeRequests(r: TokenizeBody): Msg[] {
  return r.inputs.map((inputs) => {
    const m: Msg = { inputs, add_special_tokens: r.addSpecialTokens };
    if (r.promptName !== null) m.prompt_name = r.promptName;
    return m;
  });
}

/** DecodeRequest: skip_special_tokens is explicit (its gRPC default is false, HTTP's is true). */
export function decodeRequests(r: DecodeBody): Msg[] {
  return r.ids.map((ids) => ({ ids, skip_special_tokens: r.skipSpecialTokens }));
}

// ---- responses ----

const list = (v: unknown): Msg[] => (Array.isArray(v) ? (v as Msg[]) : []);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function sparseOf(m: Msg): SparseValue[] {
  return list(m.sparse_embeddings).map((e) => ({ index: num(e.index), value: num(e.value) }));
}

export function tokenVectorsOf(m: Msg): Float32Array[] {
  return list(m.token_embeddings).map((t) =>
    Float32Array.from(Array.isArray(t.embeddings) ? t.embeddings : []),
  );
}

export function predictionsOf(m: Msg): Prediction[] {
  return list(m.predictions).map((p) => ({ score: num(p.score), label: str(p.label) }));
}

export function ranksOf(m: Msg): Rank[] {
  return list(m.ranks).map((r) => {
    const rank: Rank = { index: num(r.index), score: num(r.score) };
    if (typeof r.text === 'string') rank.text = r.text;
    return rank;
  });
}

export function tokensOf(m: Msg): Token[] {
  return list(m.tokens).map((t) => ({
    id: num(t.id),
    text: str(t.text),
    special: t.special === true,
    start: typeof t.start === 'number' ? t.start : null,
    stop: typeof t.stop === 'number' ? t.stop : null,
  }));
}

export function decodedTextOf(m: Msg): string {
  return str(m.text);
}

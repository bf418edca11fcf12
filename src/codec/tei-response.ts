/**
 * TEI's HTTP JSON response bodies, written exactly as TEI writes them (serde_json: struct fields in declaration
 * order, f32 in ryu's shortest form, optional fields omitted where TEI skips them). Shared by the simulator (which
 * produces them) and the router's TEI routes (which re-render what a backend returned), so the two cannot drift.
 * Pure: no I/O.
 */
import type { Prediction, Rank, SparseValue, TeiInfo, Token } from '../tei/types.js';
import { formatF32, formatF32Array } from './f32-text.js';

/** /embed: `[[f, ...], ...]`, always an outer array. */
export function embeddingsJson(rows: readonly ArrayLike<number>[]): string {
  return '[' + rows.map((v) => formatF32Array(v)).join(',') + ']';
}

/** /embed_all: input → token → hidden, `[[[f, ...], ...], ...]`. */
export function tokenEmbeddingsJson(rows: readonly (readonly ArrayLike<number>[])[]): string {
  return '[' + rows.map((tokens) => embeddingsJson(tokens)).join(',') + ']';
}

/** /embed_sparse: `[[{"index":i,"value":f}, ...], ...]`. */
export function sparseJson(rows: readonly (readonly SparseValue[])[]): string {
  return (
    '[' +
    rows
      .map(
        (row) => '[' + row.map((e) => `{"index":${e.index},"value":${formatF32(e.value)}}`).join(',') + ']',
      )
      .join(',') +
    ']'
  );
}

/** One /predict input: `[{"score":f,"label":s}, ...]`. */
export function predictionsJson(ps: readonly Prediction[]): string {
  return (
    '[' + ps.map((p) => `{"score":${formatF32(p.score)},"label":${JSON.stringify(p.label)}}`).join(',') + ']'
  );
}

/** /predict: a single input answers a flat list, a batch a list per input. */
export function predictJson(value: readonly (readonly Prediction[])[], batch: boolean): string {
  const out = value.map(predictionsJson);
  return batch ? '[' + out.join(',') + ']' : (out[0] ?? '[]');
}

/** /rerank: `[{"index":i,"text"?:s,"score":f}, ...]` (`text` only when present). */
export function ranksJson(ranks: readonly Rank[]): string {
  const one = (r: Rank) =>
    `{"index":${r.index},` +
    (r.text !== undefined ? `"text":${JSON.stringify(r.text)},` : '') +
    `"score":${formatF32(r.score)}}`;
  return '[' + ranks.map(one).join(',') + ']';
}

/** /tokenize: `[[{"id","text","special","start","stop"}, ...], ...]`, always nested. */
export function tokensJson(rows: readonly (readonly Token[])[]): string {
  const one = (t: Token) =>
    `{"id":${t.id},"text":${JSON.stringify(t.text)},"special":${t.special},` +
    `"start":${t.start === null ? 'null' : t.start},"stop":${t.stop === null ? 'null' : t.stop}}`;
  return '[' + rows.map((row) => '[' + row.map(one).join(',') + ']').join(',') + ']';
}

/** /decode: `["text", ...]`, always an array. */
export function decodeJson(texts: readonly string[]): string {
  return JSON.stringify(texts);
}

/** /similarity: `[f, ...]`. */
export function similarityJson(scores: ArrayLike<number>): string {
  return formatF32Array(scores);
}

/** /info in TEI's field order; `served_model_name` is left out when undefined (TEI < 1.9). */
export function infoJson(info: TeiInfo): string {
  const ordered: TeiInfo = {
    model_id: info.model_id,
    model_sha: info.model_sha,
    model_dtype: info.model_dtype,
    served_model_name: info.served_model_name,
    model_type: info.model_type,
    max_concurrent_requests: info.max_concurrent_requests,
    max_input_length: info.max_input_length,
    max_batch_tokens: info.max_batch_tokens,
    max_batch_requests: info.max_batch_requests,
    max_client_batch_size: info.max_client_batch_size,
    auto_truncate: info.auto_truncate,
    tokenization_workers: info.tokenization_workers,
    version: info.version,
    sha: info.sha,
    docker_label: info.docker_label,
  };
  return JSON.stringify(ordered);
}

/** GET /health's 503 body. */
export const UNHEALTHY_JSON = '{"error":"unhealthy","error_type":"Unhealthy"}';

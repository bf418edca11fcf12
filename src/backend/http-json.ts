/**
 * TEI's HTTP JSON for the backend client: request bodies built from EmbedBatch / ForwardCall requests, and response
 * bodies checked against TEI's shapes and read into typed values. Floats are rounded to f32 (TEI writes each f32 as
 * its shortest decimal, so Math.fround of the parsed double is that exact f32). /embed matrices, the bulk of the
 * bytes, are read by parseF32Rows from src/native (the addon's is 3-4x faster than JSON.parse:
 * bench/micro/parse-f32.bench.ts). Pure: no I/O.
 */
import type {
  DecodeBody,
  EmbedAllBody,
  EmbedBody,
  PredictBody,
  RerankBody,
  TokenizeBody,
} from '../codec/tei-json.js';
import { parseF32Rows } from '../native/index.js';
import type { F32Rows } from '../native/index.js';
import { BackendError } from './errors.js';
import type { EmbedBatch, Prediction, Rank, SparseValue, Token } from './types.js';

/** One input in TEI's single form, or the batch as an array. */
function inputs<T>(batch: boolean, items: readonly T[]): T | readonly T[] {
  if (batch) return items;
  if (items.length !== 1)
    throw new TypeError(`a single-input call carries exactly one item, got ${items.length}`);
  return items[0];
}

/** Unset (null) optional fields are left out: TEI then applies its server default (e.g. --auto-truncate). */
function optional(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== null && value !== undefined) o[key] = value;
}

export function embedBody(b: EmbedBatch): string {
  const o: Record<string, unknown> = {
    inputs: b.texts,
    truncate: b.truncate,
    truncation_direction: b.direction,
    normalize: b.normalize,
  };
  optional(o, 'dimensions', b.dimensions);
  optional(o, 'prompt_name', b.promptName);
  return JSON.stringify(o);
}

/** /embed as the client sent it (text or token-id items). */
export function embedPassBody(r: EmbedBody): string {
  const o: Record<string, unknown> = { inputs: inputs(r.input.batch, r.input.items) };
  optional(o, 'truncate', r.truncate);
  o.truncation_direction = r.truncationDirection;
  optional(o, 'prompt_name', r.promptName);
  o.normalize = r.normalize;
  optional(o, 'dimensions', r.dimensions);
  return JSON.stringify(o);
}

/** /embed_sparse and /embed_all. */
export function seqBody(r: EmbedAllBody): string {
  const o: Record<string, unknown> = { inputs: inputs(r.input.batch, r.input.items) };
  optional(o, 'truncate', r.truncate);
  o.truncation_direction = r.truncationDirection;
  optional(o, 'prompt_name', r.promptName);
  return JSON.stringify(o);
}

/** /predict: `"s"` (one input), `["a","b"]` (one pair) or `[["s"],["a","b"]]` (batch), as TEI's PredictInput reads. */
export function predictBody(r: PredictBody): string {
  const single = () => {
    const item = inputs(false, r.items) as [string] | [string, string];
    return item.length === 1 ? item[0] : item;
  };
  const o: Record<string, unknown> = { inputs: r.batch ? r.items : single() };
  optional(o, 'truncate', r.truncate);
  o.truncation_direction = r.truncationDirection;
  o.raw_scores = r.rawScores;
  return JSON.stringify(o);
}

export function rerankBody(r: RerankBody): string {
  const o: Record<string, unknown> = { query: r.query, texts: r.texts };
  optional(o, 'truncate', r.truncate);
  o.truncation_direction = r.truncationDirection;
  o.raw_scores = r.rawScores;
  o.return_text = r.returnText;
  return JSON.stringify(o);
}

export function tokenizeBody(r: TokenizeBody): string {
  const o: Record<string, unknown> = {
    inputs: inputs(r.batch, r.inputs),
    add_special_tokens: r.addSpecialTokens,
  };
  optional(o, 'prompt_name', r.promptName);
  return JSON.stringify(o);
}

export function decodeBody(r: DecodeBody): string {
  return JSON.stringify({ ids: inputs(r.batch, r.ids), skip_special_tokens: r.skipSpecialTokens });
}

// ---- responses ----

/** Reads one TEI JSON response body; every shape violation is ROUTER_ERR_BACKEND_PROTOCOL naming the route. */
export class ResponseReader {
  constructor(
    private readonly backend: string,
    private readonly route: string,
  ) {}

  fail(what: string): BackendError {
    return new BackendError(
      'ROUTER_ERR_BACKEND_PROTOCOL',
      this.backend,
      `malformed ${this.route} response: ${what}`,
    );
  }

  parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw this.fail(`not JSON (${(err as Error).message})`);
    }
  }

  array(v: unknown, what: string): unknown[] {
    if (!Array.isArray(v)) throw this.fail(`${what} is not an array`);
    return v;
  }

  object(v: unknown, what: string): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw this.fail(`${what} is not an object`);
    return v as Record<string, unknown>;
  }

  /** An f32; serde_json writes non-finite floats as null. */
  f32(v: unknown, what: string): number {
    if (typeof v === 'number') return Math.fround(v);
    if (v === null) return NaN;
    throw this.fail(`${what} is not a number`);
  }

  uint(v: unknown, what: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw this.fail(`${what} is not an unsigned integer`);
    return v;
  }

  string(v: unknown, what: string): string {
    if (typeof v !== 'string') throw this.fail(`${what} is not a string`);
    return v;
  }

  /**
   * `[[f32; dim]; rows]` into one row-major Float32Array, straight from the body's bytes (parseF32Rows from
   * src/native: the native addon when loaded, else its JS twin; identical values and messages). A string body is
   * encoded first (tests, callers holding text).
   */
  matrix(body: Uint8Array | string, rows: number): { dim: number; vectors: Float32Array } {
    let m: F32Rows;
    try {
      m = parseF32Rows(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    } catch (err) {
      if (err instanceof SyntaxError) throw this.fail(err.message); // the body's fault
      throw err;
    }
    if (m.rows !== rows) throw this.fail(`${m.rows} rows for ${rows} inputs`);
    return { dim: m.dim, vectors: m.vectors };
  }

  sparse(text: string): SparseValue[][] {
    return this.array(this.parse(text), 'the body').map((row, i) =>
      this.array(row, `item ${i}`).map((e, k) => {
        const o = this.object(e, `item ${i} entry ${k}`);
        return { index: this.uint(o.index, 'index'), value: this.f32(o.value, 'value') };
      }),
    );
  }

  tokenVectors(text: string): Float32Array[][] {
    return this.array(this.parse(text), 'the body').map((item, i) =>
      this.array(item, `item ${i}`).map((tok, t) => {
        const values = this.array(tok, `item ${i} token ${t}`);
        const out = new Float32Array(values.length);
        for (let j = 0; j < values.length; j++) out[j] = this.f32(values[j], 'value');
        return out;
      }),
    );
  }

  private predictions(v: unknown, what: string): Prediction[] {
    return this.array(v, what).map((p) => {
      const o = this.object(p, 'a prediction');
      return { score: this.f32(o.score, 'score'), label: this.string(o.label, 'label') };
    });
  }

  /** Single input: a flat list; batch: one list per item. Always returned as one list per item. */
  predict(text: string, batch: boolean): Prediction[][] {
    const body = this.parse(text);
    if (!batch) return [this.predictions(body, 'the body')];
    return this.array(body, 'the body').map((item, i) => this.predictions(item, `item ${i}`));
  }

  ranks(text: string): Rank[] {
    return this.array(this.parse(text), 'the body').map((r) => {
      const o = this.object(r, 'a rank');
      const rank: Rank = { index: this.uint(o.index, 'index'), score: this.f32(o.score, 'score') };
      if (o.text !== undefined && o.text !== null) rank.text = this.string(o.text, 'text');
      return rank;
    });
  }

  tokens(text: string): Token[][] {
    const offset = (v: unknown, what: string) => (v === null || v === undefined ? null : this.uint(v, what));
    return this.array(this.parse(text), 'the body').map((item, i) =>
      this.array(item, `item ${i}`).map((t) => {
        const o = this.object(t, 'a token');
        return {
          id: this.uint(o.id, 'id'),
          text: this.string(o.text, 'text'),
          special: o.special === true,
          start: offset(o.start, 'start'),
          stop: offset(o.stop, 'stop'),
        };
      }),
    );
  }

  strings(text: string): string[] {
    return this.array(this.parse(text), 'the body').map((s, i) => this.string(s, `item ${i}`));
  }
}

/**
 * The simulator's stand-in for model weights: deterministic outputs computed from token ids, so the same input
 * (after truncation) gives the same numbers on every run, over HTTP and gRPC alike, and similar texts give
 * similar vectors (a sequence's hidden states share its tokens' vectors).
 *
 *   token vector  t(id)      = seeded uniform[-1, 1)^dim from hash(model id, token id)
 *   context       c(ids)     = 0.5 × seeded uniform[-1, 1)^dim from hash(model id, all ids)
 *   hidden state  h_i        = t(ids[i]) + c(ids)
 *   pooled        cls: h_0   mean: mean_i h_i   last_token: h_{n-1}
 *   sparse        SPLADE-like: one entry per distinct token id, value = log1p(count) × (0.5 + u(id))
 *   classifier    logits_k   = 4 × <unit(mean pooled), unit(t(label k))>
 *   reranker      logit      = 8 × cos(mean t(a tokens), mean t(b tokens)) − 3
 */
import type { Pooling, SparseValue } from '../tei/types.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

function hashInts(h: number, ids: readonly number[]): number {
  for (let i = 0; i < ids.length; i++) {
    let v = ids[i];
    for (let b = 0; b < 4; b++) {
      h ^= v & 0xff;
      h = Math.imul(h, FNV_PRIME);
      v >>>= 8;
    }
  }
  return h >>> 0;
}

/** splitmix32: a small, good-quality 32-bit PRNG. */
function fillUniform(out: Float32Array, seed: number, scale: number): void {
  let s = seed | 0;
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    out[i] = ((z >>> 0) / 4294967296) * 2 * scale - scale;
  }
}

export class FakeModel {
  private readonly seed: number;
  private readonly tokenCache = new Map<number, Float32Array>();

  constructor(
    readonly modelId: string,
    readonly dim: number,
    readonly pooling: Pooling,
  ) {
    this.seed = hashString(FNV_OFFSET, modelId);
  }

  tokenVector(id: number): Float32Array {
    let v = this.tokenCache.get(id);
    if (!v) {
      v = new Float32Array(this.dim);
      fillUniform(v, hashInts(this.seed, [id]), 1);
      this.tokenCache.set(id, v);
    }
    return v;
  }

  private context(ids: readonly number[]): Float32Array {
    const c = new Float32Array(this.dim);
    fillUniform(c, hashInts(this.seed ^ 0x5bd1e995, ids), 0.5);
    return c;
  }

  /** Per-token hidden states (embed_all): n × dim. */
  hidden(ids: readonly number[]): Float32Array[] {
    const c = this.context(ids);
    return ids.map((id) => {
      const t = this.tokenVector(id);
      const h = new Float32Array(this.dim);
      for (let j = 0; j < this.dim; j++) h[j] = t[j] + c[j];
      return h;
    });
  }

  /** Pooled, un-normalised sentence vector. */
  pooled(ids: readonly number[]): Float32Array {
    const out = this.context(ids);
    if (this.pooling === 'cls' || this.pooling === 'last_token') {
      const t = this.tokenVector(this.pooling === 'cls' ? ids[0] : ids[ids.length - 1]);
      for (let j = 0; j < this.dim; j++) out[j] += t[j];
      return out;
    }
    const mean = this.meanTokens(ids);
    for (let j = 0; j < this.dim; j++) out[j] += mean[j];
    return out;
  }

  private meanTokens(ids: readonly number[]): Float64Array {
    const acc = new Float64Array(this.dim);
    for (const id of ids) {
      const t = this.tokenVector(id);
      for (let j = 0; j < this.dim; j++) acc[j] += t[j];
    }
    if (ids.length > 0) for (let j = 0; j < this.dim; j++) acc[j] /= ids.length;
    return acc;
  }

  sparse(ids: readonly number[]): SparseValue[] {
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const out: SparseValue[] = [];
    for (const [index, count] of [...counts].sort((a, b) => a[0] - b[0])) {
      const u = hashInts(this.seed ^ 0x27d4eb2f, [index]) / 4294967296;
      out.push({ index, value: Math.fround(Math.log1p(count) * (0.5 + u)) });
    }
    return out;
  }

  classifierLogits(ids: readonly number[], numLabels: number): number[] {
    const p = unit(this.pooled(ids));
    const logits: number[] = [];
    for (let k = 0; k < numLabels; k++) {
      const l = unit(this.tokenVector(0x40000000 + k));
      logits.push(Math.fround(4 * dot(p, l)));
    }
    return logits;
  }

  pairLogit(a: readonly number[], b: readonly number[]): number {
    const ma = this.meanTokens(a);
    const mb = this.meanTokens(b);
    const na = Math.sqrt(dot(ma, ma));
    const nb = Math.sqrt(dot(mb, mb));
    const cos = na === 0 || nb === 0 ? 0 : dot(ma, mb) / (na * nb);
    return Math.fround(8 * cos - 3);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function unit(v: ArrayLike<number>): Float64Array {
  const n = Math.sqrt(dot(v, v));
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = n === 0 ? 0 : v[i] / n;
  return out;
}

/** TEI's scores: softmax over classes, or sigmoid when there is one class; raw logits when asked. */
export function scores(logits: readonly number[], raw: boolean): number[] {
  if (raw) return logits.map((l) => Math.fround(l));
  if (logits.length === 1) return [Math.fround(1 / (1 + Math.exp(-logits[0])))];
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => Math.fround(e / sum));
}

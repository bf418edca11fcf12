/**
 * The simulator's core, free of transport code (like TEI's core/): permits, TEI's validation order, tokenization
 * and truncation, the batching queue, fault injection, and the fake model's outputs with TEI's response metadata.
 * The HTTP and gRPC adapters call this and only map framing and status codes.
 */
import { TeiError, VALIDATION_PREFIX } from '../tei/errors.js';
import { countChars } from '../tei/chars.js';
import type { Encoding, Tokenizer } from '../tokenizer/types.js';
import { l2NormalizeRows } from '../native/index.js';
import { Batcher } from './batcher.js';
import type { BatchRecord, QueueEntry } from './batcher.js';
import { FakeModel, scores } from './model.js';
import type {
  InputItem,
  Prediction,
  Rank,
  ResponseMetadata,
  SparseValue,
  TeiInfo,
  Token,
  TruncationDirection,
} from '../tei/types.js';
import type { FaultOptions, SimOptions } from './options.js';
import { effectiveAutoTruncate, versionString } from './options.js';
import { Semaphore } from './semaphore.js';
import { cosineF32 } from '../tei/similarity.js';

/** How a call asks for permits: fail at once (HTTP, unary gRPC) or wait (streams, unary Rerank, 1.8 batches). */
export type PermitMode = 'try' | 'wait';

export interface CallOptions {
  permits: PermitMode;
  /** Aborted when the client goes away: queued work is dropped and permits return. */
  signal?: AbortSignal;
}

export interface EmbedParams {
  items: InputItem[];
  batch: boolean;
  /** null: the server default (--auto-truncate over HTTP; gRPC passes false). */
  truncate: boolean | null;
  direction: TruncationDirection;
  promptName: string | null;
  normalize: boolean;
  dimensions: number | null;
}

export type SeqParams = Omit<EmbedParams, 'normalize' | 'dimensions'>;

export interface PredictParams {
  items: Array<[string] | [string, string]>;
  batch: boolean;
  truncate: boolean | null;
  direction: TruncationDirection;
  rawScores: boolean;
}

export interface RerankParams {
  query: string;
  texts: string[];
  truncate: boolean | null;
  direction: TruncationDirection;
  rawScores: boolean;
  returnText: boolean;
}

export interface Result<T> {
  value: T;
  meta: ResponseMetadata;
}

/** Thrown when an injected fault says the connection must be dropped; adapters destroy the transport. */
export class ResetFault extends Error {
  constructor() {
    super('injected connection reset');
    this.name = 'ResetFault';
  }
}

interface Prepared {
  ids: number[];
  encoding: Encoding;
  chars: number;
  tokenizationNs: number;
}

interface ItemTiming {
  queueNs: number;
  inferenceNs: number;
}

const now = () => process.hrtime.bigint();

export class SimEngine {
  readonly options: SimOptions;
  readonly model: FakeModel;
  readonly permits: Semaphore;
  private readonly batcher: Batcher;
  private readonly batchListeners = new Set<(b: BatchRecord) => void>();
  private faultState: number;
  private faults: FaultOptions;
  /** Batches run so far. */
  batchCount = 0;
  /** What /health and grpc.health report; tests and fault injection turn it off. */
  healthy = true;

  constructor(
    options: SimOptions,
    readonly tokenizer: Tokenizer,
  ) {
    this.options = options;
    this.model = new FakeModel(options.modelId, options.dim, options.pooling);
    this.permits = new Semaphore(options.maxConcurrentRequests);
    this.faults = { ...options.faults };
    this.faultState = options.faults.seed >>> 0 || 1;
    this.batcher = new Batcher(
      { maxBatchTokens: options.maxBatchTokens, maxBatchRequests: options.maxBatchRequests },
      options.latency,
      (record) => {
        this.batchCount++;
        for (const l of this.batchListeners) l(record);
      },
    );
  }

  /** Observe every batch the simulated GPU runs. Returns an unsubscribe function. */
  onBatch(listener: (b: BatchRecord) => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  get queueSize(): number {
    return this.batcher.queueSize;
  }

  setFaults(faults: Partial<FaultOptions>): void {
    this.faults = { ...this.faults, ...faults };
    if (faults.seed !== undefined) this.faultState = faults.seed >>> 0 || 1;
  }

  close(): void {
    this.batcher.close();
  }

  get autoTruncate(): boolean {
    return effectiveAutoTruncate(this.options);
  }

  info(): TeiInfo {
    const o = this.options;
    const labels = () => ({
      id2label: Object.fromEntries(o.labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(o.labels.map((l, i) => [l, i])),
    });
    const modelType: TeiInfo['model_type'] =
      o.modelType === 'embedding'
        ? { embedding: { pooling: o.pooling } }
        : o.modelType === 'classifier'
          ? { classifier: labels() }
          : { reranker: labels() };
    const info: TeiInfo = {
      model_id: o.modelId,
      model_sha: o.revision ?? null,
      model_dtype: o.dtype,
      served_model_name: o.servedModelName ?? o.modelId,
      model_type: modelType,
      max_concurrent_requests: o.maxConcurrentRequests,
      max_input_length: o.maxInputLength,
      max_batch_tokens: o.maxBatchTokens,
      max_batch_requests: o.maxBatchRequests ?? null,
      max_client_batch_size: o.maxClientBatchSize,
      auto_truncate: this.autoTruncate,
      tokenization_workers: o.tokenizationWorkers,
      version: versionString(o.teiVersion),
      sha: null,
      docker_label: null,
    };
    if (o.teiVersion === '1.8') delete info.served_model_name;
    return info;
  }

  // ---- public operations ----

  async embed(p: EmbedParams, call: CallOptions): Promise<Result<Float32Array[]>> {
    const precheck = () => {
      // Infer::embed_pooled's order: SPLADE+normalize, dimensions == 0, model type
      if (this.options.pooling === 'splade' && p.normalize) {
        throw backend('`normalize` is not available for SPLADE models');
      }
      if (p.dimensions === 0) throw validation('`dimensions` should be positive');
      if (this.options.modelType !== 'embedding') throw backend('Model is not an embedding model');
    };
    return this.run(p, call, precheck, (prepared) => {
      const dim = this.options.dim;
      if (p.dimensions !== null && p.dimensions > dim) {
        throw validation('`dimensions` should be smaller than the maximum embedding dimension.');
      }
      const keep = p.dimensions ?? dim;
      const flat = new Float32Array(prepared.length * keep);
      prepared.forEach((item, i) => {
        const v = this.model.pooled(item.ids);
        flat.set(keep === dim ? v : v.subarray(0, keep), i * keep);
      });
      if (p.normalize && flat.length > 0) l2NormalizeRows(flat, keep);
      return prepared.map((_, i) => flat.subarray(i * keep, (i + 1) * keep));
    });
  }

  async embedAll(p: SeqParams, call: CallOptions): Promise<Result<Float32Array[][]>> {
    const precheck = () => {
      if (this.options.pooling === 'splade') throw backend('`embed_all` is not available for SPLADE models');
      if (this.options.modelType !== 'embedding') throw backend('Model is not an embedding model');
    };
    return this.run(p, call, precheck, (prepared) => prepared.map((item) => this.model.hidden(item.ids)));
  }

  async embedSparse(p: SeqParams, call: CallOptions): Promise<Result<SparseValue[][]>> {
    const precheck = () => {
      if (this.options.modelType !== 'embedding' || this.options.pooling !== 'splade') {
        throw backend('Model is not an embedding model with SPLADE pooling');
      }
    };
    return this.run(p, call, precheck, (prepared) => prepared.map((item) => this.model.sparse(item.ids)));
  }

  async predict(p: PredictParams, call: CallOptions): Promise<Result<Prediction[][]>> {
    const labels = this.options.labels;
    const precheck = () => {
      if (this.options.modelType === 'embedding') throw backend('Model is not a classifier model');
    };
    return this.runPairs(p.items, p.batch, p.truncate, p.direction, call, precheck, (prepared) =>
      prepared.map((item) => {
        const predictions = scores(this.logits(item.encoding), p.rawScores).map((score, k) => {
          if (Number.isNaN(score)) throw new TeiError('Backend', 'score is NaN');
          return { score, label: labels[k] };
        });
        return descending(predictions);
      }),
    );
  }

  /** The reranker-only gate, with TEI's per-transport texts (gRPC: no prefix, and a different embedding text). */
  checkReranker(grpc: boolean): void {
    if (this.options.modelType === 'reranker') return;
    if (!grpc) throw backend('model is not a re-ranker model');
    const message =
      this.options.modelType === 'classifier'
        ? 'model is not a re-ranker model'
        : 'model is not a classifier model';
    throw new TeiError('Backend', message);
  }

  /**
   * Rerank: empty check, model type, batch size, then one permit per text; each (query, text) is encoded as a pair.
   * `grpc`: gRPC reports empty texts as Validation (HTTP: Empty) and model-type errors without a prefix.
   * `stream`: RerankStream checks neither empty texts nor the batch size.
   */
  async rerank(p: RerankParams, call: CallOptions, grpc: boolean, stream = false): Promise<Result<Rank[]>> {
    if (!stream && p.texts.length === 0) {
      throw new TeiError(grpc ? 'Validation' : 'Empty', '`texts` cannot be empty');
    }
    this.checkReranker(grpc);
    const items = p.texts.map((t) => [p.query, t] as [string, string]);
    const r = await this.runPairs(items, !stream, p.truncate, p.direction, call, null, (prepared) => {
      return prepared.map((item, index) => {
        const [score] = scores(this.logits(item.encoding), p.rawScores);
        if (Number.isNaN(score)) throw new TeiError('Backend', 'score is NaN');
        const rank: Rank = { index, score };
        if (p.returnText) rank.text = p.texts[index];
        return rank;
      });
    });
    return { value: descending(r.value), meta: r.meta };
  }

  /** Cosine similarity of the source with each sentence: /embed with normalize=false on [source, ...sentences]. */
  async similarity(
    source: string,
    sentences: string[],
    params: Omit<SeqParams, 'items' | 'batch'>,
    call: CallOptions,
  ): Promise<Result<number[]>> {
    if (sentences.length === 0) throw new TeiError('Empty', '`inputs.sentences` cannot be empty');
    const r = await this.embed(
      { ...params, items: [source, ...sentences], batch: true, normalize: false, dimensions: null },
      call,
    );
    const [src, ...rest] = r.value;
    return { value: rest.map((v) => cosineF32(src, v)), meta: r.meta };
  }

  tokenize(inputs: string[], addSpecialTokens: boolean, promptName: string | null): Token[][] {
    return inputs.map((input) => {
      if (input.length === 0) throw new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty');
      const prompt = this.promptFor(promptName);
      const text = prompt + input;
      this.checkChars(input, false);
      const enc = this.tokenizer.encode(text, addSpecialTokens);
      const bytes = Buffer.from(text, 'utf8');
      return enc.ids.map((id, i) => {
        const special = enc.special[i];
        const [start, stop] = enc.offsets[i];
        if (special) return { id, text: enc.tokens[i], special: true, start: null, stop: null };
        return { id, text: bytes.subarray(start, stop).toString('utf8'), special: false, start, stop };
      });
    });
  }

  decode(ids: number[][], skipSpecialTokens: boolean): string[] {
    return ids.map((list) => {
      if (list.length === 0) throw new TeiError('Empty', VALIDATION_PREFIX + '`input_ids` cannot be empty');
      return this.tokenizer.decode(list, skipSpecialTokens);
    });
  }

  // ---- the shared request path ----

  private logits(enc: Encoding): number[] {
    if (this.options.modelType === 'reranker') {
      const [a, b] = splitPair(enc);
      return [this.model.pairLogit(a, b)];
    }
    return this.model.classifierLogits(
      enc.ids.filter((_, i) => !enc.special[i]),
      this.options.labels.length,
    );
  }

  private async run<T>(
    p: SeqParams,
    call: CallOptions,
    precheck: (() => void) | null,
    compute: (prepared: Prepared[]) => T,
  ): Promise<Result<T>> {
    const truncate = p.truncate ?? this.autoTruncate;
    return this.admitted(p.items.length, p.batch, call, precheck, () =>
      p.items.map((item) => this.prepareSingle(item, truncate, p.direction, p.promptName)),
    ).then(({ prepared, timings, started }) => this.finish(prepared, timings, started, compute));
  }

  private runPairs<T>(
    items: Array<[string] | [string, string]>,
    batch: boolean,
    truncateParam: boolean | null,
    direction: TruncationDirection,
    call: CallOptions,
    precheck: (() => void) | null,
    compute: (prepared: Prepared[]) => T,
  ): Promise<Result<T>> {
    const truncate = truncateParam ?? this.autoTruncate;
    return this.admitted(items.length, batch, call, precheck, () =>
      items.map((pair) => this.preparePair(pair, truncate, direction)),
    ).then(({ prepared, timings, started }) => this.finish(prepared, timings, started, compute));
  }

  /** TEI's order: batch-size check → permits → model checks → per-item tokenization → queue and inference. */
  private async admitted(
    count: number,
    batch: boolean,
    call: CallOptions,
    precheck: (() => void) | null,
    prepare: () => Prepared[],
  ): Promise<{ prepared: Prepared[]; timings: ItemTiming[]; started: bigint }> {
    const started = now();
    const max = this.options.maxClientBatchSize;
    if (batch && count > max) {
      throw new TeiError('Validation', `batch size ${count} > maximum allowed batch size ${max}`);
    }
    const n = Math.max(1, count);
    // Up to TEI 1.8.x, batch items waited for permits; only single inputs got 429 (TEI #662, fixed in 1.9).
    const wait = call.permits === 'wait' || (batch && this.options.teiVersion === '1.8');
    if (wait) await this.permits.acquire(n, call.signal);
    else if (!this.permits.tryAcquire(n)) throw new TeiError('Overloaded', 'Model is overloaded');
    try {
      precheck?.();
      const prepared = prepare();
      await this.injectFault(call.signal);
      const timings = await this.enqueueAll(prepared, call.signal);
      return { prepared, timings, started };
    } finally {
      this.permits.release(n);
    }
  }

  private finish<T>(
    prepared: Prepared[],
    timings: ItemTiming[],
    started: bigint,
    compute: (prepared: Prepared[]) => T,
  ): Result<T> {
    const value = compute(prepared);
    const n = Math.max(1, prepared.length);
    const mean = (f: (i: number) => number) => {
      let s = 0;
      for (let i = 0; i < prepared.length; i++) s += f(i);
      return Math.floor(s / n);
    };
    const meta: ResponseMetadata = {
      computeChars: prepared.reduce((s, p) => s + p.chars, 0),
      computeTokens: prepared.reduce((s, p) => s + p.ids.length, 0),
      totalTimeNs: Number(now() - started),
      tokenizationTimeNs: mean((i) => prepared[i].tokenizationNs),
      queueTimeNs: mean((i) => timings[i].queueNs),
      inferenceTimeNs: mean((i) => timings[i].inferenceNs),
    };
    return { value, meta };
  }

  /** Queues every item of a request; one abort listener per request drops them all if the client goes. */
  private enqueueAll(items: Prepared[], signal: AbortSignal | undefined): Promise<ItemTiming[]> {
    return new Promise<ItemTiming[]>((resolve, reject) => {
      const timings: ItemTiming[] = new Array(items.length);
      const entries: QueueEntry[] = [];
      let left = items.length;
      const onAbort = () => {
        for (const e of entries) e.dropped = true;
        reject(signal?.reason ?? new Error('client disconnected'));
      };
      if (signal?.aborted) return onAbort();
      if (left === 0) return resolve(timings);
      signal?.addEventListener('abort', onAbort, { once: true });
      items.forEach((item, i) => {
        const enqueuedAt = now();
        const entry: QueueEntry = {
          tokens: item.ids.length,
          enqueuedAt,
          dropped: false,
          done: (inferenceNs: number) => {
            const queueNs = Math.max(0, Number(now() - enqueuedAt) - inferenceNs);
            timings[i] = { queueNs, inferenceNs };
            if (--left === 0) {
              signal?.removeEventListener('abort', onAbort);
              resolve(timings);
            }
          },
        };
        entries.push(entry);
        this.batcher.push(entry);
      });
    });
  }

  private nextFaultDraw(): number {
    // xorshift32: a reproducible sequence per seed
    let x = this.faultState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.faultState = x >>> 0;
    return this.faultState / 4294967296;
  }

  private async injectFault(signal: AbortSignal | undefined): Promise<void> {
    const f = this.faults;
    if (f.rate <= 0 || this.nextFaultDraw() >= f.rate) return;
    if (f.kind === 'reset') throw new ResetFault();
    if (f.kind === 'hang') {
      await new Promise<never>((_, reject) => {
        if (!signal) return;
        signal.addEventListener('abort', () => reject(signal.reason ?? new Error('client disconnected')), {
          once: true,
        });
      });
    }
    const messages: Record<FaultOptions['errorType'], string> = {
      Backend: 'Backend error: injected fault',
      Overloaded: 'Model is overloaded',
      Unhealthy: 'unhealthy',
      Validation: VALIDATION_PREFIX + 'injected fault',
      Tokenizer: 'tokenizer error injected fault',
    };
    throw new TeiError(f.errorType, messages[f.errorType]);
  }

  // ---- tokenization and validation (core/src/tokenization.rs) ----

  private promptFor(promptName: string | null): string {
    const o = this.options;
    if (promptName !== null) {
      const names = Object.keys(o.prompts);
      if (names.length === 0) {
        throw validation(
          `\`default-prompt-name\` is set to \`${promptName}\` but no prompts were found in the Sentence Transformers configuration`,
        );
      }
      const p = o.prompts[promptName];
      if (p === undefined) {
        throw validation(
          `\`default-prompt-name\` is set to \`${promptName}\` but it was not found in the Sentence Transformers prompts. ` +
            `Available prompts: [${names.map((n) => JSON.stringify(n)).join(', ')}]`,
        );
      }
      return p;
    }
    if (o.defaultPrompt !== undefined) return o.defaultPrompt;
    if (o.defaultPromptName !== undefined) return o.prompts[o.defaultPromptName];
    return '';
  }

  /** The 250×-characters pre-check; with truncation on, an over-long string is cut to that many bytes. */
  private checkChars(text: string, truncate: boolean): string {
    const limit = this.options.maxInputLength * 250;
    const chars = countChars(text);
    if (chars <= limit) return text;
    if (!truncate) throw validation(`\`inputs\` must have less than ${limit} characters. Given: ${chars}`);
    return cutBytes(text, limit);
  }

  private prepareSingle(
    item: InputItem,
    truncate: boolean,
    direction: TruncationDirection,
    promptName: string | null,
  ): Prepared {
    const t0 = now();
    let text: string;
    let chars: number;
    let addSpecial = true;
    const prompt = this.promptFor(promptName);
    if (typeof item === 'string') {
      if (item.length === 0) throw new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty');
      chars = countChars(item);
      text = prompt + this.checkChars(item, truncate);
    } else {
      if (item.length === 0) throw new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty');
      chars = item.length;
      if (prompt === '') {
        text = this.tokenizer.decode(item, false);
        addSpecial = false;
      } else {
        text = prompt + this.tokenizer.decode(item, true);
      }
    }
    const encoding = this.encode(text, addSpecial, truncate, direction);
    return { ids: encoding.ids, encoding, chars, tokenizationNs: Number(now() - t0) };
  }

  private preparePair(pair: [string] | [string, string], truncate: boolean, direction: TruncationDirection) {
    const t0 = now();
    if (pair.every((s) => s.length === 0)) {
      throw new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty');
    }
    const prompt = this.promptFor(null);
    const chars = pair.reduce((s, t) => s + countChars(t), 0);
    const max = this.options.maxInputLength;
    let encoding: Encoding;
    if (pair.length === 1) {
      encoding = this.encode(prompt + this.checkChars(pair[0], truncate), true, truncate, direction);
    } else {
      if (prompt !== '') throw validation('`prompt_name` cannot be set with dual inputs');
      const limit = this.options.maxInputLength * 250;
      if (chars > limit && !truncate) {
        throw validation(`\`inputs\` must have less than ${limit} characters. Given: ${chars}`);
      }
      const [a, b] = chars > limit ? [cutBytes(pair[0], limit / 2), cutBytes(pair[1], limit / 2)] : pair;
      const full = this.tokenizer.encodePair(a, b, true);
      if (full.ids.length > max && !truncate) throw tooLong(max, full.ids.length);
      encoding =
        full.ids.length > max
          ? this.tokenizer.encodePair(a, b, true, { maxLength: max, direction: dir(direction) })
          : full;
    }
    return { ids: encoding.ids, encoding, chars, tokenizationNs: Number(now() - t0) };
  }

  private encode(
    text: string,
    addSpecial: boolean,
    truncate: boolean,
    direction: TruncationDirection,
  ): Encoding {
    const max = this.options.maxInputLength;
    const full = this.tokenizer.encode(text, addSpecial);
    if (full.ids.length <= max) return full;
    if (!truncate) throw tooLong(max, full.ids.length);
    return this.tokenizer.encode(text, addSpecial, { maxLength: max, direction: dir(direction) });
  }
}

/** Rust's `if s.is_char_boundary(limit) { s.truncate(limit) }`: a byte cut, skipped when mid-character. */
function cutBytes(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  // continuation bytes are 0b10xxxxxx
  return (bytes[limit] & 0xc0) === 0x80 ? text : bytes.subarray(0, limit).toString('utf8');
}

/** TEI sorts ascending then reverses: descending, with ties in reverse input order. */
function descending<T extends { score: number }>(items: T[]): T[] {
  return items.sort((a, b) => a.score - b.score).reverse();
}

function dir(d: TruncationDirection): 'right' | 'left' {
  return d === 'Left' ? 'left' : 'right';
}

function backend(message: string): TeiError {
  return new TeiError('Backend', `Backend error: ${message}`);
}

function validation(message: string): TeiError {
  return new TeiError('Validation', VALIDATION_PREFIX + message);
}

function tooLong(max: number, given: number): TeiError {
  return validation(`\`inputs\` must have less than ${max} tokens. Given: ${given}`);
}

/** Content token ids of the two sequences of a pair encoding (special tokens removed). */
function splitPair(enc: Encoding): [number[], number[]] {
  const a: number[] = [];
  const b: number[] = [];
  let seen = 0;
  for (let i = 0; i < enc.ids.length; i++) {
    if (enc.special[i]) {
      if (i > 0) seen++;
      continue;
    }
    (seen === 0 ? a : b).push(enc.ids[i]);
  }
  return [a, b];
}

export type { Prediction, Rank, Token };

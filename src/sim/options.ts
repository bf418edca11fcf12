/** Everything `tei-router sim` can be told, with TEI's defaults where TEI has the same knob. */
import type { ModelKind, Pooling, TeiVersion } from '../tei/types.js';

export type FaultKind = 'error' | 'hang' | 'reset';

/** Fault injection, for reliability tests. A fraction of admitted requests fail in the chosen way. */
export interface FaultOptions {
  /** Fraction of requests (0..1) that fail. */
  rate: number;
  /** `error`: answer with `errorType`; `hang`: never answer; `reset`: drop the connection. */
  kind: FaultKind;
  /** TEI error type of injected errors (kind = error). */
  errorType: 'Backend' | 'Overloaded' | 'Unhealthy' | 'Validation' | 'Tokenizer';
  /** Seed of the fault draw, so a test sees the same sequence every run. */
  seed: number;
}

/** GPU-like cost of one forward batch: base + perToken × tokens (padded: longest × count). */
export interface LatencyOptions {
  batchBaseMs: number;
  perTokenUs: number;
  padded: boolean;
}

export interface SimOptions {
  modelId: string;
  servedModelName: string | undefined;
  revision: string | undefined;
  hostname: string;
  port: number;
  protocol: 'http' | 'grpc';
  teiVersion: TeiVersion;
  modelType: ModelKind;
  pooling: Pooling;
  dim: number;
  /** Classifier/reranker labels, index = class id. */
  labels: string[];
  tokenizer: string | undefined;
  maxInputLength: number;
  maxBatchTokens: number;
  maxClientBatchSize: number;
  maxConcurrentRequests: number;
  maxBatchRequests: number | undefined;
  /** undefined: the version's default (true on 1.9, false on 1.8). */
  autoTruncate: boolean | undefined;
  apiKey: string | undefined;
  payloadLimit: number;
  /** Prompt name → text prepended to inputs (config_sentence_transformers.json `prompts`). */
  prompts: Record<string, string>;
  defaultPromptName: string | undefined;
  defaultPrompt: string | undefined;
  dtype: string;
  tokenizationWorkers: number;
  latency: LatencyOptions;
  faults: FaultOptions;
  /** Refuse connections for this long after start, like TEI while it downloads and warms up a model. */
  loadingMs: number;
  /** Per-stream cap on in-flight messages (TEI env GRPC_MAX_PARALLEL_STREAM_REQUESTS). */
  grpcMaxParallelStreamRequests: number;
  /** Print one line per request. */
  logRequests: boolean;
}

export const simDefaults: SimOptions = {
  modelId: 'sentence-transformers/all-MiniLM-L6-v2',
  servedModelName: undefined,
  revision: undefined,
  hostname: '127.0.0.1',
  port: 3000,
  protocol: 'http',
  teiVersion: '1.9',
  modelType: 'embedding',
  pooling: 'mean',
  dim: 384,
  labels: [],
  tokenizer: undefined,
  maxInputLength: 256,
  maxBatchTokens: 16384,
  maxClientBatchSize: 32,
  maxConcurrentRequests: 512,
  maxBatchRequests: undefined,
  autoTruncate: undefined,
  apiKey: undefined,
  payloadLimit: 2_000_000,
  prompts: {},
  defaultPromptName: undefined,
  defaultPrompt: undefined,
  dtype: 'float16',
  tokenizationWorkers: 1,
  latency: { batchBaseMs: 1, perTokenUs: 0.5, padded: false },
  faults: { rate: 0, kind: 'error', errorType: 'Backend', seed: 1 },
  loadingMs: 0,
  grpcMaxParallelStreamRequests: 1024,
  logRequests: false,
};

/** Labels a classifier or reranker reports when none are given. */
export function defaultLabels(kind: ModelKind): string[] {
  if (kind === 'reranker') return ['LABEL_0'];
  if (kind === 'classifier') return ['negative', 'positive'];
  return [];
}

/** Fills defaults and checks cross-field rules; throws an Error naming the bad option. */
export function resolveSimOptions(partial: Partial<SimOptions>): SimOptions {
  const o: SimOptions = {
    ...simDefaults,
    ...partial,
    latency: { ...simDefaults.latency, ...partial.latency },
    faults: { ...simDefaults.faults, ...partial.faults },
  };
  if (o.labels.length === 0) o.labels = defaultLabels(o.modelType);
  const positive = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`sim option ${name} must be a positive integer, got ${v}`);
  };
  positive('dim', o.dim);
  positive('max-input-length', o.maxInputLength);
  positive('max-batch-tokens', o.maxBatchTokens);
  positive('max-client-batch-size', o.maxClientBatchSize);
  positive('max-concurrent-requests', o.maxConcurrentRequests);
  if (o.maxBatchRequests !== undefined) positive('max-batch-requests', o.maxBatchRequests);
  if (o.modelType === 'reranker' && o.labels.length !== 1) {
    throw new Error(`a reranker has exactly one label, got ${o.labels.length} (--labels)`);
  }
  if (o.modelType === 'classifier' && o.labels.length < 1) {
    throw new Error('a classifier needs at least one label (--labels)');
  }
  if (o.faults.rate < 0 || o.faults.rate > 1) {
    throw new Error(`sim option fault-rate must be between 0 and 1, got ${o.faults.rate}`);
  }
  if (o.defaultPrompt !== undefined && o.defaultPromptName !== undefined) {
    throw new Error('--default-prompt and --default-prompt-name are mutually exclusive');
  }
  if (o.defaultPromptName !== undefined && !(o.defaultPromptName in o.prompts)) {
    throw new Error(`--default-prompt-name ${o.defaultPromptName} is not one of the prompts (--prompts)`);
  }
  if (o.maxInputLength > o.maxBatchTokens) {
    if (!effectiveAutoTruncate(o)) {
      throw new Error(
        `max-input-length ${o.maxInputLength} is larger than max-batch-tokens ${o.maxBatchTokens}; ` +
          'TEI refuses to start without --auto-truncate',
      );
    }
    o.maxInputLength = o.maxBatchTokens;
  }
  return o;
}

export function effectiveAutoTruncate(o: SimOptions): boolean {
  return o.autoTruncate ?? o.teiVersion !== '1.8';
}

export function versionString(v: TeiVersion): string {
  return v === '1.8' ? '1.8.3' : '1.9.3';
}

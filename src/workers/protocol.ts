/**
 * The one typed contract between the main thread and the Piscina workers. Everything here crosses a thread
 * boundary by structured clone (buffers by transfer), so it holds plain data only: no class instances, and errors
 * travel as values (a thrown custom error would lose its fields on the way).
 */
import type { TeiErrorType } from '../tei/errors.js';
import type { TruncationDirection } from '../tei/types.js';
import type { ErrorCode } from '../errors.js';
import type { TextBatch } from '../pipeline/text-batch.js';
import type { BackendTls } from '../backend/types.js';
import type { BalancingPolicy } from '../backend/policies.js';

export interface WorkerData {
  backendTimeoutMs: number;
  /** TLS material for https:// and grpcs:// backends. */
  backendTls: BackendTls | undefined;
  /** Shared Int32 words: the load counters (balance.ts, `loadWords(loadBackends, loadRows)`), then the retry budget. */
  load: SharedArrayBuffer;
  loadBackends: number;
  loadRows: number;
}

/** A backend as the main thread currently knows it (limits read from its /info). */
export interface BackendView {
  index: number;
  url: string;
  /** Observed throughput relative to the model's other replicas (1: average or unknown); p2c_tokens divides by it. */
  weight: number;
  maxBatchTokens: number;
  maxClientBatchSize: number;
  maxInputLength: number;
  /** Hedging: the replica's recent p95 latency (ms); undefined until it has answered enough calls. */
  hedgeAfterMs?: number;
}

export interface EmbedParams {
  truncate: boolean;
  direction: TruncationDirection;
  normalize: boolean;
  dimensions: number | null;
  promptName: string | null;
}

export interface EmbedTask {
  kind: 'embed';
  model: string;
  /** The model's tokenizer.json; undefined: the estimate. Per task, so a reloaded config reaches the workers. */
  tokenizer: string | undefined;
  texts: TextBatch;
  /**
   * Row counts of the requests coalesced into this task, in order (sum = texts.length). A request whose rows fail
   * validation gets its own error in `partErrors`; the other requests still get their vectors.
   */
  parts: number[];
  params: EmbedParams;
  backends: BackendView[];
  /** W3C traceparent of the task's first request that had one, sent on its backend calls. */
  traceparent?: string;
  /** The model's replica choice policy. */
  balancing: BalancingPolicy;
  /** Epoch ms after which no backend call is started or awaited (the latest deadline of the task's requests). */
  deadline: number;
  /** hedging.enabled: a slow batch gets a second copy on another replica (failover.ts). */
  hedging: boolean;
}

export interface TaskTimings {
  tokenizationNs: number;
  queueNs: number;
  inferenceNs: number;
}

export interface EmbedTaskOk {
  ok: true;
  /** Output dimension (0 when no row had text). */
  dim: number;
  /** length × dim, row i = input row i; rows without text stay zero. */
  vectors: Float32Array;
  /** Σ tokens the backends reported (after truncation, special tokens included). */
  tokens: number;
  /**
   * Per-row token counts: each backend batch's reported total spread over its rows by the router's own counts, so
   * a request's count is the backend's whenever its rows had batches to themselves, and close to it otherwise.
   */
  rowTokens: Int32Array;
  /** Backend batches sent. */
  batches: number;
  /** Per part (see EmbedTask.parts): its first validation error in row order, or null. */
  partErrors: Array<TaskError | null>;
  timings: TaskTimings;
  stats: TaskStats;
}

/** One backend batch the worker sent (or tried). */
export interface BatchStat {
  /** Backend index (replica list order). */
  backend: number;
  texts: number;
  /** The router's own token count of the batch (after truncation). */
  tokens: number;
  /** The limit the batch was cut against. */
  maxBatchTokens: number;
  /** Wall time of the backend call. */
  ns: number;
  /** Error code of a failed attempt (ROUTER_ERR_* or the TEI error type); undefined: it succeeded. */
  error?: string;
}

/** What the worker measured, for the main thread's metrics (workers never record metrics themselves). */
export interface TaskStats {
  /** When the worker started the task: performance.timeOrigin + performance.now() (ms, comparable across threads). */
  startedAtMs: number;
  /** The router's tokenization and validation of the task's rows. */
  tokenizeNs: number;
  /** From the first backend call's start to the last one's end. */
  backendNs: number;
  batches: BatchStat[];
  /** Parts (client requests) larger than the backends' max_client_batch_size, so split over several batches. */
  splitParts: number;
}

export type TaskError =
  | { kind: 'tei'; errorType: TeiErrorType; message: string; status?: number }
  | { kind: 'router'; code: ErrorCode; message: string };

export interface TaskFailed {
  ok: false;
  error: TaskError;
}

export type EmbedTaskResult = EmbedTaskOk | TaskFailed;

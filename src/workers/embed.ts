/**
 * The Piscina task of the dense path, run inside a worker thread: count tokens per row, validate as TEI would,
 * cut backend batches within each backend's limits, send them to the least-loaded backends concurrently, and write
 * each returned vector into the output buffer at its input row. Errors are returned as values (protocol.ts).
 */
import { threadId, workerData } from 'node:worker_threads';
import { createBackend } from '../backend/index.js';
import { attemptErrorLabel } from '../backend/errors.js';
import { RETRY_BUDGET_SLOTS, RetryBudget } from '../backend/retry-budget.js';
import { sendWithFailover } from '../backend/failover.js';
import { Deadline } from '../pipeline/deadline.js';
import { Balancer, LoadCounters, loadWords } from '../backend/balance.js';
import type { TeiBackend } from '../backend/types.js';
import { RouterError } from '../errors.js';
import { TeiError, VALIDATION_PREFIX } from '../tei/errors.js';
import { isValid, textAt } from '../pipeline/text-batch.js';
import { apportion } from './apportion.js';
import { cutBatches } from './cut.js';
import type { BatchStat, EmbedTask, EmbedTaskResult, TaskError, WorkerData } from './protocol.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { tokenizerFor } from './tokenizers.js';
import { movedResult } from './move.js';

const data = workerData as WorkerData;
const words = loadWords(data.loadBackends, data.loadRows);
// this worker's own row of the counters: freed by the main thread if the worker dies with batches in flight
const load = new LoadCounters(new Int32Array(data.load, 0, words), data.loadBackends, data.loadRows).claim(
  threadId,
);
const balancer = new Balancer(load);
const budget = new RetryBudget(new Int32Array(data.load, words * 4, RETRY_BUDGET_SLOTS));
const backends = new Map<string, TeiBackend>();
/** The task's W3C traceparent (its first request's), for the backend calls it makes. */
const traceContext = new AsyncLocalStorage<string | undefined>();

/**
 * Tokens below which a task is not spread over several replicas: a share this small costs more in per-batch overhead
 * than the parallelism saves.
 */
const SPREAD_MIN_TOKENS = 1024;

/** Backend batches one task keeps in flight at once. */
const MAX_PARALLEL_BATCHES = 8;

/** When each backend client was last used: clients of replicas gone (DNS churn, reloads) are closed after a while. */
const lastUsed = new Map<string, number>();
const IDLE_CLIENT_MS = 120_000;
let lastSweep = Date.now();

function sweepIdleClients(now: number): void {
  if (now - lastSweep < IDLE_CLIENT_MS / 4) return;
  lastSweep = now;
  for (const [url, at] of lastUsed) {
    if (now - at < IDLE_CLIENT_MS) continue;
    void backends.get(url)?.close();
    backends.delete(url);
    lastUsed.delete(url);
  }
}

function backendFor(url: string): TeiBackend {
  const now = Date.now();
  sweepIdleClients(now);
  lastUsed.set(url, now);
  let b = backends.get(url);
  if (!b) {
    b = createBackend(url, {
      timeoutMs: data.backendTimeoutMs,
      tls: data.backendTls,
      extraHeaders: () => {
        const tp = traceContext.getStore();
        return tp ? { traceparent: tp } : undefined;
      },
    });
    backends.set(url, b);
  }
  return b;
}

export function toTaskError(err: unknown): TaskError {
  if (err instanceof TeiError) {
    const status = (err as TeiError & { status?: number }).status;
    return { kind: 'tei', errorType: err.errorType, message: err.message, ...(status ? { status } : {}) };
  }
  if (err instanceof RouterError) return { kind: 'router', code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'router', code: 'ROUTER_ERR_INTERNAL', message };
}

/** The Piscina task: an EmbedTaskResult, its buffers moved to the main thread (move.ts). */
export default async function embed(task: EmbedTask): Promise<unknown> {
  let result: EmbedTaskResult;
  try {
    result = await traceContext.run(task.traceparent, () => run(task));
  } catch (err) {
    result = { ok: false, error: toTaskError(err) };
  }
  return movedResult(result);
}

async function run(task: EmbedTask): Promise<EmbedTaskResult> {
  if (task.backends.length === 0) {
    throw new RouterError('ROUTER_ERR_NO_BACKEND', `model ${task.model} has no reachable backend`);
  }
  const { texts, params } = task;
  const startedAtMs = performance.timeOrigin + performance.now();
  const tokenizer = tokenizerFor(task.tokenizer);
  const maxInput = Math.min(...task.backends.map((b) => b.maxInputLength));
  const t0 = process.hrtime.bigint();
  const strings: string[] = new Array(texts.length);
  const tokens = new Int32Array(texts.length);
  // validation is per request (part): one client's bad row must not fail the others coalesced with it
  const parts = task.parts.length > 0 ? task.parts : [texts.length];
  const partErrors: Array<TaskError | null> = parts.map(() => null);
  const rows: number[] = [];
  let row = 0;
  parts.forEach((count, p) => {
    const partRows: number[] = [];
    for (const end = row + count; row < end; row++) {
      if (partErrors[p] !== null || !isValid(texts, row)) continue;
      const s = textAt(texts, row);
      if (s.length === 0) {
        partErrors[p] = toTaskError(new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty'));
        continue;
      }
      let n = tokenizer.count(s, true);
      if (n > maxInput) {
        if (!params.truncate) {
          partErrors[p] = toTaskError(
            new TeiError(
              'Validation',
              `${VALIDATION_PREFIX}\`inputs\` must have less than ${maxInput} tokens. Given: ${n}`,
            ),
          );
          continue;
        }
        n = maxInput;
      }
      strings[row] = s;
      tokens[row] = n;
      partRows.push(row);
    }
    if (partErrors[p] === null) rows.push(...partRows);
  });
  const tokenizationNs = Number(process.hrtime.bigint() - t0);
  if (rows.length === 0) {
    return {
      ok: true,
      dim: 0,
      vectors: new Float32Array(0),
      tokens: 0,
      rowTokens: new Int32Array(texts.length),
      batches: 0,
      partErrors,
      timings: { tokenizationNs, queueNs: 0, inferenceNs: 0 },
      stats: { startedAtMs, tokenizeNs: tokenizationNs, backendNs: 0, batches: [], splitParts: 0 },
    };
  }
  // a task big enough is spread over the replicas (one share each, run in parallel) rather than sent to one
  let taskTokens = 0;
  for (const row of rows) taskTokens += tokens[row];
  const share = Math.max(SPREAD_MIN_TOKENS, Math.ceil(taskTokens / task.backends.length));
  const limits = {
    maxBatchTokens: Math.min(share, ...task.backends.map((b) => b.maxBatchTokens)),
    maxClientBatchSize: Math.min(...task.backends.map((b) => b.maxClientBatchSize)),
  };
  const batches = cutBatches(rows, tokens, limits);
  const batchStats: BatchStat[] = [];
  const splitParts = parts.filter((n) => n > limits.maxClientBatchSize).length;
  const backendStart = process.hrtime.bigint();
  let vectors: Float32Array | null = null;
  let dim = 0;
  let tokenSum = 0;
  // the backends' token counts, spread over each batch's rows in proportion to the router's counts
  const rowTokens = new Int32Array(texts.length);
  let queueNs = 0;
  let inferenceNs = 0;
  // a failed batch fails the task: the others stop (abort); none outlives the task's deadline
  const abort = new AbortController();
  const deadline = new Deadline(task.deadline, abort.signal);
  let next = 0;
  const worker = async () => {
    while (next < batches.length && !deadline.signal.aborted) {
      const batch = batches[next++];
      const request = {
        texts: batch.map((row) => strings[row]),
        truncate: params.truncate,
        direction: params.direction,
        normalize: params.normalize,
        dimensions: params.dimensions,
        promptName: params.promptName,
        deadline: task.deadline,
      };
      const batchTokens = batch.reduce((s, row) => s + tokens[row], 0);
      const r = await sendWithFailover({
        order: () => balancer.order(task.backends, task.balancing),
        tokens: batchTokens,
        load,
        budget,
        signal: deadline.signal,
        deadline: task.deadline,
        hedging: task.hedging,
        call: (view, signal) => backendFor(view.url).embed(request, signal),
        report: (view, ns, err) =>
          batchStats.push({
            backend: view.index,
            texts: batch.length,
            tokens: batchTokens,
            maxBatchTokens: view.maxBatchTokens,
            ns,
            ...(err === undefined ? {} : { error: attemptErrorLabel(err) }),
          }),
      });
      if (vectors === null) {
        dim = r.dim;
        vectors = new Float32Array(texts.length * dim);
      } else if (r.dim !== dim) {
        throw new RouterError(
          'ROUTER_ERR_BACKEND_MISMATCH',
          `replicas of ${task.model} disagree: one returned ${r.dim}-d vectors, another ${dim}-d`,
        );
      }
      for (let k = 0; k < batch.length; k++) {
        vectors.set(r.vectors.subarray(k * dim, (k + 1) * dim), batch[k] * dim);
      }
      tokenSum += r.tokens;
      apportion(rowTokens, tokens, batch, r.tokens);
      queueNs += r.timings.queueNs * batch.length;
      inferenceNs += r.timings.inferenceNs * batch.length;
    }
  };
  const runners = Array.from({ length: Math.min(MAX_PARALLEL_BATCHES, batches.length) }, () =>
    worker().catch((err: unknown) => {
      abort.abort();
      throw err;
    }),
  );
  const settled = await Promise.allSettled(runners);
  deadline.dispose();
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return {
    ok: true,
    dim,
    vectors: vectors ?? new Float32Array(0),
    tokens: tokenSum,
    rowTokens,
    batches: batches.length,
    partErrors,
    timings: {
      tokenizationNs: Math.floor(tokenizationNs / rows.length),
      queueNs: Math.floor(queueNs / rows.length),
      inferenceNs: Math.floor(inferenceNs / rows.length),
    },
    stats: {
      startedAtMs,
      tokenizeNs: tokenizationNs,
      backendNs: Number(process.hrtime.bigint() - backendStart),
      batches: batchStats,
      splitParts,
    },
  };
}

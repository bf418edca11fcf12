/**
 * The Piscina task of the dense path, run inside a worker thread: count tokens per row, validate as TEI would,
 * cut backend batches within each backend's limits, send them to the least-loaded backends concurrently, and write
 * each returned vector into the output buffer at its input row. Errors are returned as values (protocol.ts).
 */
import { workerData } from 'node:worker_threads';
import { createBackend } from '../backend/index.js';
import type { TeiBackend } from '../backend/types.js';
import { RouterError } from '../errors.js';
import { TeiError, VALIDATION_PREFIX } from '../tei/errors.js';
import { isValid, textAt } from '../pipeline/text-batch.js';
import { cutBatches } from './cut.js';
import type { BackendView, EmbedTask, EmbedTaskResult, TaskError, WorkerData } from './protocol.js';
import { tokenizerFor } from './tokenizers.js';

const data = workerData as WorkerData;
const load = new Int32Array(data.load);
const backends = new Map<string, TeiBackend>();
const models = new Map(data.models.map((m) => [m.name, m]));

/** Backend batches one task keeps in flight at once. */
const MAX_PARALLEL_BATCHES = 8;

function backendFor(url: string): TeiBackend {
  let b = backends.get(url);
  if (!b) {
    b = createBackend(url, { timeoutMs: data.backendTimeoutMs });
    backends.set(url, b);
  }
  return b;
}

function pickBackend(views: readonly BackendView[]): BackendView {
  let best = views[0];
  let bestLoad = Atomics.load(load, best.index);
  for (let i = 1; i < views.length; i++) {
    const l = Atomics.load(load, views[i].index);
    if (l < bestLoad) {
      best = views[i];
      bestLoad = l;
    }
  }
  return best;
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

export default async function embed(task: EmbedTask): Promise<EmbedTaskResult> {
  try {
    return await run(task);
  } catch (err) {
    return { ok: false, error: toTaskError(err) };
  }
}

async function run(task: EmbedTask): Promise<EmbedTaskResult> {
  const model = models.get(task.model);
  if (!model) throw new RouterError('ROUTER_ERR_INTERNAL', `worker has no model ${task.model}`);
  if (task.backends.length === 0) {
    throw new RouterError('ROUTER_ERR_NO_BACKEND', `model ${task.model} has no reachable backend`);
  }
  const { texts, params } = task;
  const tokenizer = tokenizerFor(model);
  const maxInput = Math.min(...task.backends.map((b) => b.maxInputLength));
  const t0 = process.hrtime.bigint();
  const rows: number[] = [];
  const strings: string[] = new Array(texts.length);
  const tokens = new Int32Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    if (!isValid(texts, i)) continue;
    const s = textAt(texts, i);
    if (s.length === 0) throw new TeiError('Empty', VALIDATION_PREFIX + '`inputs` cannot be empty');
    let n = tokenizer.count(s, true);
    if (n > maxInput) {
      if (!params.truncate) {
        throw new TeiError(
          'Validation',
          `${VALIDATION_PREFIX}\`inputs\` must have less than ${maxInput} tokens. Given: ${n}`,
        );
      }
      n = maxInput;
    }
    strings[i] = s;
    tokens[i] = n;
    rows.push(i);
  }
  const tokenizationNs = Number(process.hrtime.bigint() - t0);
  if (rows.length === 0) {
    return {
      ok: true,
      dim: 0,
      vectors: new Float32Array(0),
      tokens: 0,
      rowTokens: tokens,
      batches: 0,
      timings: { tokenizationNs, queueNs: 0, inferenceNs: 0 },
    };
  }
  const limits = {
    maxBatchTokens: Math.min(...task.backends.map((b) => b.maxBatchTokens)),
    maxClientBatchSize: Math.min(...task.backends.map((b) => b.maxClientBatchSize)),
  };
  const batches = cutBatches(rows, tokens, limits);
  let vectors: Float32Array | null = null;
  let dim = 0;
  let tokenSum = 0;
  let queueNs = 0;
  let inferenceNs = 0;
  const abort = new AbortController();
  let next = 0;
  const worker = async () => {
    while (next < batches.length && !abort.signal.aborted) {
      const batch = batches[next++];
      const view = pickBackend(task.backends);
      Atomics.add(load, view.index, batch.length);
      try {
        const r = await backendFor(view.url).embed(
          {
            texts: batch.map((row) => strings[row]),
            truncate: params.truncate,
            direction: params.direction,
            normalize: params.normalize,
            dimensions: params.dimensions,
            promptName: params.promptName,
          },
          abort.signal,
        );
        if (vectors === null) {
          dim = r.dim;
          vectors = new Float32Array(texts.length * dim);
        } else if (r.dim !== dim) {
          throw new RouterError(
            'ROUTER_ERR_BACKEND_MISMATCH',
            `backend ${view.url} returned ${r.dim}-d vectors where another replica of ${task.model} returned ${dim}-d`,
          );
        }
        for (let k = 0; k < batch.length; k++) {
          vectors.set(r.vectors.subarray(k * dim, (k + 1) * dim), batch[k] * dim);
        }
        tokenSum += r.tokens;
        queueNs += r.timings.queueNs * batch.length;
        inferenceNs += r.timings.inferenceNs * batch.length;
      } finally {
        Atomics.sub(load, view.index, batch.length);
      }
    }
  };
  const runners = Array.from({ length: Math.min(MAX_PARALLEL_BATCHES, batches.length) }, () =>
    worker().catch((err: unknown) => {
      abort.abort();
      throw err;
    }),
  );
  const settled = await Promise.allSettled(runners);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return {
    ok: true,
    dim,
    vectors: vectors ?? new Float32Array(0),
    tokens: tokenSum,
    rowTokens: tokens,
    batches: batches.length,
    timings: {
      tokenizationNs: Math.floor(tokenizationNs / rows.length),
      queueNs: Math.floor(queueNs / rows.length),
      inferenceNs: Math.floor(inferenceNs / rows.length),
    },
  };
}

/**
 * The Piscina worker pool of the dense path. It owns the worker file's location (the .ts source under tsx, the
 * compiled .js under dist/), the shared backend load counters, and the typed task call.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { RouterError } from '../errors.js';
import type { EmbedTask, EmbedTaskResult, WorkerData } from '../workers/protocol.js';
import { transferList } from './text-batch.js';
import type { TextBatch } from './text-batch.js';
import type { BackendTls } from '../backend/types.js';
import { RETRY_BUDGET_SLOTS, RetryBudget } from '../backend/retry-budget.js';
import { LoadCounters, loadWords } from '../backend/balance.js';
import { getProcessLogger } from '../log.js';

export interface PoolOptions {
  threads: number;
  /** Tasks one thread runs at once: a task spends most of its time awaiting backends, not computing. */
  tasksPerThread: number;
  maxQueue: number;
  backendTimeoutMs: number;
  backendTls?: BackendTls;
  /** Number of backend slots for the shared load counters. */
  backendSlots: number;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isQueueFull(err: unknown): boolean {
  return /queue is at limit/i.test(messageOf(err));
}

/**
 * A copy of `texts` in buffers of their own, for a retry after the first attempt's worker died with the originals
 * (the transfer detaches them at send time, before anyone can know the worker will die). Only the rows' bytes are
 * copied, not the slack of the original buffers: measured on the main thread, 20-40 µs for 1,000 texts of 100
 * characters (100 kB), 0.1 ms for 500 kB, 0.5 ms for 2 MB, i.e. 5-15 % of what parsing and packing the same texts
 * cost there. A batch in SharedArrayBuffers is not transferred, so it needs no copy (run() skips it).
 */
function retryCopy(texts: TextBatch): TextBatch {
  return {
    length: texts.length,
    data: texts.data.slice(),
    offsets: texts.offsets.slice(),
    validity: texts.validity ? texts.validity.slice() : null,
  };
}

function workerFile(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'workers', name + path.extname(here));
}

export class EmbedPool {
  private readonly piscina: Piscina;
  /** Set by close(): the tasks it fails (Piscina's 'Terminating worker thread') are not retried. */
  private closing = false;
  /** Tokens and batches in flight per backend, shared with every worker (Atomics). */
  readonly load: LoadCounters;
  /** The retry budget, shared with every worker. */
  readonly retryBudget: RetryBudget;

  constructor(options: PoolOptions) {
    // the load counters (balance.ts: a row for the main thread and one per worker, with room for replacements of
    // dead workers), then the shared retry budget's counters
    const backends = Math.max(1, options.backendSlots);
    const rows = 1 + 2 * options.threads;
    const words = loadWords(backends, rows);
    const shared = new SharedArrayBuffer((words + RETRY_BUDGET_SLOTS) * 4);
    this.load = new LoadCounters(new Int32Array(shared, 0, words), backends, rows);
    this.retryBudget = new RetryBudget(new Int32Array(shared, words * 4, RETRY_BUDGET_SLOTS));
    const workerData: WorkerData = {
      backendTimeoutMs: options.backendTimeoutMs,
      backendTls: options.backendTls,
      load: shared,
      loadBackends: backends,
      loadRows: rows,
    };
    this.piscina = new Piscina({
      filename: workerFile('embed'),
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: options.tasksPerThread,
      maxQueue: options.maxQueue,
      workerData,
      // Piscina's default ('sync') blocks an idle worker in Atomics.wait, freezing its event loop between tasks; our
      // workers keep backend connections (HTTP/2 sessions, keep-alive sockets) that must stay serviced
      atomics: 'disabled',
    });
    // a worker that exits (crash, terminate) leaves its batches counted: free its row of the load counters
    // (a destroyed worker's threadId already reads -1: free every row whose owner is no longer one of the threads)
    this.piscina.on('workerDestroy', () =>
      this.load.releaseAllBut(this.piscina.threads.map((t) => t.threadId)),
    );
    // a worker that dies while idle is reported here (without a listener Piscina's 'error' would end the process);
    // Piscina replaces it
    this.piscina.on('error', (err: unknown) =>
      getProcessLogger().error(`tei-router: a worker thread failed: ${messageOf(err)}; it is replaced`),
    );
  }

  /** Piscina's utilization (0..1): time running tasks over the capacity of its threads. */
  get utilization(): number {
    return this.piscina.utilization;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** The worker threads Piscina holds now (a dead one drops out, its replacement comes in): for tests and diagnostics. */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /**
   * Runs one task on a worker. A worker thread that dies under it (process.exit, an uncaught exception, terminate(),
   * a resource-limit kill) fails only the task it was running: Piscina rejects that task and starts a replacement
   * thread. Tasks are idempotent (embedding calls change nothing on the backends), so such a task is retried once,
   * necessarily on another thread; a second failure is a ROUTER_ERR_INTERNAL that says both.
   */
  async run(task: EmbedTask, signal?: AbortSignal): Promise<EmbedTaskResult> {
    const transfer = transferList(task.texts);
    // the batches the pipeline builds are in shared memory: sent as they are, nothing to copy. A batch of plain
    // ArrayBuffers is transferred (detached), and a dead worker takes it with it: the retry needs a copy, made
    // before the send (see retryCopy for the cost)
    const spare = transfer.length > 0 ? retryCopy(task.texts) : task.texts;
    let first: unknown;
    try {
      return await this.attempt(task, transfer, signal);
    } catch (err) {
      if (!this.retriable(err, signal)) throw this.failure(err, signal);
      first = err;
    }
    try {
      return await this.attempt({ ...task, texts: spare }, transferList(spare), signal);
    } catch (err) {
      if (!this.retriable(err, signal)) throw this.failure(err, signal);
      throw new RouterError(
        'ROUTER_ERR_INTERNAL',
        `the worker thread running the task died (${messageOf(first)}), and so did the retry on another thread (${messageOf(err)})`,
        { cause: err },
      );
    }
  }

  private async attempt(
    task: EmbedTask,
    transfer: ArrayBuffer[],
    signal?: AbortSignal,
  ): Promise<EmbedTaskResult> {
    return (await this.piscina.run(task, { transferList: transfer, signal })) as EmbedTaskResult;
  }

  /**
   * Whether a rejected task is worth a retry. The worker returns every error of its own as a value (protocol.ts), so
   * a rejection is Piscina's: a caller's abort, a full queue, the pool closing, or the task's worker thread dying.
   * Only the last is retried.
   */
  private retriable(err: unknown, signal: AbortSignal | undefined): boolean {
    return !signal?.aborted && !this.closing && !isQueueFull(err);
  }

  /** What a task that failed for good throws. */
  private failure(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return err;
    if (isQueueFull(err)) {
      return new RouterError(
        'ROUTER_ERR_OVERLOADED',
        `the worker pool queue is full (${this.piscina.queueSize} tasks)`,
      );
    }
    return new RouterError('ROUTER_ERR_INTERNAL', `worker task failed: ${messageOf(err)}`, { cause: err });
  }

  close(): Promise<void> {
    this.closing = true;
    return this.piscina.destroy();
  }
}

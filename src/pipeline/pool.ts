/**
 * The Piscina worker pool of the dense path. It owns the worker file's location (the .ts source under tsx, the
 * compiled .js under dist/), the shared backend load counters, and the typed task call.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { RouterError } from '../errors.js';
import type { EmbedTask, EmbedTaskResult, WorkerData } from '../workers/protocol.js';
import { transferList } from './text-batch.js';
import type { BackendTls } from '../backend/types.js';
import { RETRY_BUDGET_SLOTS, RetryBudget } from '../backend/retry-budget.js';
import { LOAD_SLOTS_PER_BACKEND, LoadCounters } from '../backend/balance.js';

export interface PoolOptions {
  threads: number;
  maxQueue: number;
  backendTimeoutMs: number;
  backendTls?: BackendTls;
  /** Number of backend slots for the shared load counters. */
  backendSlots: number;
}

function workerFile(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'workers', name + path.extname(here));
}

export class EmbedPool {
  private readonly piscina: Piscina;
  /** Tokens and batches in flight per backend, shared with every worker (Atomics). */
  readonly load: LoadCounters;
  /** The retry budget, shared with every worker. */
  readonly retryBudget: RetryBudget;

  constructor(options: PoolOptions) {
    // per backend its tokens and batches in flight (balance.ts), then the shared retry budget's counters
    const slots = Math.max(1, options.backendSlots) * LOAD_SLOTS_PER_BACKEND;
    const shared = new SharedArrayBuffer((slots + RETRY_BUDGET_SLOTS) * 4);
    this.load = new LoadCounters(new Int32Array(shared, 0, slots));
    this.retryBudget = new RetryBudget(new Int32Array(shared, slots * 4, RETRY_BUDGET_SLOTS));
    const workerData: WorkerData = {
      backendTimeoutMs: options.backendTimeoutMs,
      backendTls: options.backendTls,
      load: shared,
    };
    this.piscina = new Piscina({
      filename: workerFile('embed'),
      minThreads: options.threads,
      maxThreads: options.threads,
      maxQueue: options.maxQueue,
      workerData,
      // Piscina's default ('sync') blocks an idle worker in Atomics.wait, freezing its event loop between tasks; our
      // workers keep backend connections (HTTP/2 sessions, keep-alive sockets) that must stay serviced
      atomics: 'disabled',
    });
  }

  /** Piscina's utilization (0..1): time running tasks over the capacity of its threads. */
  get utilization(): number {
    return this.piscina.utilization;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  async run(task: EmbedTask, signal?: AbortSignal): Promise<EmbedTaskResult> {
    try {
      return (await this.piscina.run(task, {
        transferList: transferList(task.texts),
        signal,
      })) as EmbedTaskResult;
    } catch (err) {
      if (signal?.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (/queue is at limit/i.test(message)) {
        throw new RouterError(
          'ROUTER_ERR_OVERLOADED',
          `the worker pool queue is full (${this.piscina.queueSize} tasks)`,
        );
      }
      throw new RouterError('ROUTER_ERR_INTERNAL', `worker task failed: ${message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.piscina.destroy();
  }
}

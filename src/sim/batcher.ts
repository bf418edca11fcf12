/**
 * TEI's queue (core/src/queue.rs) and backend loop, simulated: one FIFO queue cut into batches by max_batch_tokens
 * (Σ tokens, or longest × count for padded models) and max_batch_requests; exactly one batch prefetched while
 * another runs; no time window (whatever is queued when the backend can take more is batched at once); each batch
 * takes the latency model's time.
 */
import type { LatencyOptions } from './options.js';

export interface QueueEntry {
  /** Tokens of this item after truncation. */
  readonly tokens: number;
  /** hrtime (ns) when queued. */
  readonly enqueuedAt: bigint;
  /** True once the client has gone: the entry is skipped when a batch is cut. */
  dropped: boolean;
  /** Called when the entry's batch finished, with that batch's duration in ns. */
  done(inferenceNs: number): void;
}

/** What a cut batch looked like, for tests and metrics. */
export interface BatchRecord {
  size: number;
  /** Σ tokens. */
  tokens: number;
  /** Tokens as the limit counts them (Σ, or longest × count when padded). */
  countedTokens: number;
  durationMs: number;
}

export interface BatchLimits {
  maxBatchTokens: number;
  maxBatchRequests: number | undefined;
}

interface Batch {
  entries: QueueEntry[];
  record: BatchRecord;
}

export class Batcher {
  private queue: QueueEntry[] = [];
  private head = 0;
  private running: Batch | null = null;
  private prefetched: Batch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly limits: BatchLimits,
    private readonly latency: LatencyOptions,
    private readonly onBatch: (record: BatchRecord) => void,
  ) {}

  get queueSize(): number {
    return this.queue.length - this.head;
  }

  push(entry: QueueEntry): void {
    if (this.closed) throw new Error('batcher closed');
    this.queue.push(entry);
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private pump(): void {
    if (!this.prefetched) this.prefetched = this.cut();
    if (!this.running && this.prefetched) {
      this.start(this.prefetched);
      this.prefetched = this.cut();
    }
  }

  private cut(): Batch | null {
    const entries: QueueEntry[] = [];
    let sum = 0;
    let longest = 0;
    while (this.head < this.queue.length) {
      const e = this.queue[this.head];
      if (e.dropped) {
        this.head++;
        continue;
      }
      const nextLongest = Math.max(longest, e.tokens);
      const counted = this.latency.padded ? nextLongest * (entries.length + 1) : sum + e.tokens;
      if (entries.length > 0 && counted > this.limits.maxBatchTokens) break;
      entries.push(e);
      sum += e.tokens;
      longest = nextLongest;
      this.head++;
      if (this.limits.maxBatchRequests !== undefined && entries.length >= this.limits.maxBatchRequests) break;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (entries.length === 0) return null;
    const countedTokens = this.latency.padded ? longest * entries.length : sum;
    const durationMs = this.latency.batchBaseMs + (this.latency.perTokenUs * countedTokens) / 1000;
    return { entries, record: { size: entries.length, tokens: sum, countedTokens, durationMs } };
  }

  private start(batch: Batch): void {
    this.running = batch;
    this.onBatch(batch.record);
    const started = process.hrtime.bigint();
    this.timer = setTimeout(() => {
      this.timer = null;
      const ns = Number(process.hrtime.bigint() - started);
      this.running = null;
      for (const e of batch.entries) e.done(ns);
      if (!this.closed) this.pump();
    }, batch.record.durationMs);
  }
}

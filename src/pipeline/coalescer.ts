/**
 * Coalescing: requests for the same model and parameters that arrive close together become one worker task.
 * No waiting while the model has no task in flight (idle backends get work at once); otherwise a request waits at
 * most `windowMs` for company, and a finished task flushes whatever waits. Each request gets its own rows back.
 */
import type { TextBatch } from './text-batch.js';
import { concatTextBatches } from './text-batch.js';

/** What the pipeline carries for each request to the task that runs it. */
export interface PartTag {
  /** The request's W3C traceparent. */
  traceparent: string | undefined;
  /** The request's deadline (epoch ms). */
  deadline: number;
}

export interface Part {
  texts: TextBatch;
  signal?: AbortSignal;
  /** Carried to `execute`. */
  tag: PartTag;
  submittedAt: bigint;
  resolve: (rows: { start: number; count: number; part: number; task: unknown; waitedNs: number }) => void;
  reject: (err: unknown) => void;
}

interface Group {
  parts: Part[];
  rows: number;
  /** The pending flush: a window timer, or an immediate for same-tick company. */
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
}

export interface CoalescerOptions {
  /** The coalescing window of a key (0: never wait). */
  windowMs: (key: string) => number;
  /** Rows above which a group is flushed without waiting. */
  maxRows: number;
}

/** Runs merged batches through `execute` and hands each part its row range of the shared result. */
export class Coalescer<R> {
  private readonly groups = new Map<string, Group>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly options: CoalescerOptions,
    /** Runs one merged batch; `parts` are the row counts of the requests in it, `tags` their tags, in order. */
    private readonly execute: (key: string, texts: TextBatch, parts: number[], tags: PartTag[]) => Promise<R>,
  ) {}

  /**
   * Queues `texts` under `key`; resolves with this part's first row and row count in the task result, and how long
   * it waited for its task to start.
   */
  submit(
    key: string,
    texts: TextBatch,
    signal?: AbortSignal,
    tag: PartTag = { traceparent: undefined, deadline: Infinity },
  ): Promise<{ result: R; start: number; count: number; part: number; waitedNs: number }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let group = this.groups.get(key);
      if (!group) {
        group = { parts: [], rows: 0, timer: undefined, immediate: undefined };
        this.groups.set(key, group);
      }
      const onAbort = () => {
        const g = this.groups.get(key);
        const i = g ? g.parts.indexOf(part) : -1;
        if (g && i >= 0) {
          g.parts.splice(i, 1);
          g.rows -= part.texts.length;
        }
        reject(signal?.reason);
      };
      // the listener lives only as long as the part: a long-lived signal (a stream) must not collect them
      const part: Part = {
        texts,
        signal,
        tag,
        submittedAt: process.hrtime.bigint(),
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({
            result: r.task as R,
            start: r.start,
            count: r.count,
            part: r.part,
            waitedNs: r.waitedNs,
          });
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      group.parts.push(part);
      group.rows += texts.length;
      signal?.addEventListener('abort', onAbort, { once: true });
      const busy = (this.inFlight.get(key) ?? 0) > 0;
      const windowMs = this.options.windowMs(key);
      if (!busy || windowMs === 0 || group.rows >= this.options.maxRows) {
        // same-tick arrivals still share the task
        group.immediate ??= setImmediate(() => this.flush(key));
      } else if (group.timer === undefined && group.immediate === undefined) {
        group.timer = setTimeout(() => this.flush(key), windowMs);
      }
    });
  }

  private flush(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    this.groups.delete(key);
    if (group.timer !== undefined) clearTimeout(group.timer);
    if (group.immediate !== undefined) clearImmediate(group.immediate);
    const parts = group.parts.filter((p) => !p.signal?.aborted);
    if (parts.length === 0) return;
    const merged = concatTextBatches(parts.map((p) => p.texts));
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    const flushedAt = process.hrtime.bigint();
    this.execute(
      key,
      merged,
      parts.map((p) => p.texts.length),
      parts.map((p) => p.tag),
    )
      .then(
        (task) => {
          let start = 0;
          parts.forEach((p, part) => {
            p.resolve({
              start,
              count: p.texts.length,
              part,
              task,
              waitedNs: Number(flushedAt - p.submittedAt),
            });
            start += p.texts.length;
          });
        },
        (err: unknown) => {
          for (const p of parts) p.reject(err);
        },
      )
      .finally(() => {
        const n = (this.inFlight.get(key) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(key);
        else this.inFlight.set(key, n);
        if (this.groups.has(key)) this.flush(key);
      });
  }
}

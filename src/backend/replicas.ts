/**
 * The main thread's view of every configured backend: which model it serves, its limits read from /info, and
 * whether it answered last time. Workers receive a snapshot (BackendView) with each task; the fleet logic (health
 * probing, balancing, failover) grows here.
 */
import type { ModelConfig } from '../config.js';
import { RouterError } from '../errors.js';
import type { BackendView } from '../workers/protocol.js';
import { createBackend } from './index.js';
import type { BackendTls } from './types.js';
import type { BackendInfo, TeiBackend } from './types.js';

export type BackendState = 'unknown' | 'up' | 'down';

export interface Replica {
  readonly index: number;
  readonly url: string;
  readonly model: string;
  readonly client: TeiBackend;
  info: BackendInfo | undefined;
  state: BackendState;
  lastError: string | undefined;
}

/** Called for every finished backend call: the replica, wall time, error label (undefined: success). */
export type CallListener = (replica: Replica, ns: number, error: string | undefined) => void;

export class ReplicaSets {
  readonly replicas: Replica[] = [];
  private readonly byModel = new Map<string, Replica[]>();
  private readonly names = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly models: readonly ModelConfig[],
    private readonly options: {
      timeoutMs: number;
      infoRefreshMs: number;
      tls?: BackendTls;
      extraHeaders?: () => Record<string, string> | undefined;
    },
  ) {
    for (const m of models) {
      const list: Replica[] = [];
      for (const url of m.backends) {
        const r: Replica = {
          index: this.replicas.length,
          url,
          model: m.name,
          client: createBackend(url, {
            timeoutMs: options.timeoutMs,
            tls: options.tls,
            extraHeaders: options.extraHeaders,
          }),
          info: undefined,
          state: 'unknown',
          lastError: undefined,
        };
        this.replicas.push(r);
        list.push(r);
      }
      this.byModel.set(m.name, list);
      for (const n of [m.name, ...m.aliases]) this.names.set(n, m.name);
    }
  }

  private readonly callListeners: CallListener[] = [];

  /** Subscribes to every backend call's outcome (metrics; the fleet's passive health builds on it). */
  onCall(listener: CallListener): void {
    this.callListeners.push(listener);
  }

  /**
   * Reports one finished call to replica `index` (from the main thread's forwarder, or from a worker's task stats):
   * wall time and, for a failure, a bounded error label (a ROUTER_ERR_* code or a TEI error type).
   */
  recordCall(index: number, ns: number, error?: string): void {
    const r = this.replicas[index];
    if (!r) return;
    for (const l of this.callListeners) l(r, ns, error);
  }

  /** The configured model a name or alias refers to. */
  resolve(name: string): string | undefined {
    return this.names.get(name);
  }

  forModel(model: string): Replica[] {
    return this.byModel.get(model) ?? [];
  }

  /** Reads every backend's /info once, then keeps refreshing in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.infoRefreshMs);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (r) => {
        try {
          r.info = await r.client.info(AbortSignal.timeout(this.options.timeoutMs));
          r.state = 'up';
          r.lastError = undefined;
        } catch (err) {
          r.state = 'down';
          r.lastError = err instanceof Error ? err.message : String(err);
        }
      }),
    );
  }

  /** Views of the model's usable backends for a worker task; throws ROUTER_ERR_NO_BACKEND when none is. */
  views(model: string): BackendView[] {
    const usable = this.forModel(model).filter((r) => r.state === 'up' && r.info !== undefined);
    if (usable.length === 0) {
      const why = this.forModel(model)
        .map((r) => `${r.url}: ${r.state}${r.lastError ? ` (${r.lastError})` : ''}`)
        .join('; ');
      throw new RouterError('ROUTER_ERR_NO_BACKEND', `model ${model} has no reachable backend [${why}]`);
    }
    const m = this.models.find((x) => x.name === model);
    const cap = (backend: number, override: number | undefined) =>
      override === undefined ? backend : Math.min(backend, override);
    return usable.map((r) => ({
      index: r.index,
      url: r.url,
      maxBatchTokens: cap(r.info!.maxBatchTokens, m?.maxBatchTokens),
      maxClientBatchSize: cap(r.info!.maxClientBatchSize, m?.maxClientBatchSize),
      maxInputLength: r.info!.maxInputLength,
    }));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.replicas.map((r) => r.client.close()));
  }
}

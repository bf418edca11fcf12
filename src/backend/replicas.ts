/**
 * The main thread's view of every configured backend: which model it serves, its limits read from /info, and its
 * health. Workers receive a snapshot (BackendView) of the usable replicas with each task.
 *
 * Health states:
 * - `starting`: has never answered /info (a TEI loading its model refuses connections): not used, probed often;
 * - `up`: answered its last /info and is not ejected;
 * - `ejected`: `EJECT_AFTER` calls in a row failed with a transport error or timeout (passive outlier detection):
 *   not used until a probe (/info) after a backoff (1 s, doubling to 30 s while it keeps failing) succeeds;
 * - `down`: its periodic /info failed after it had been up: not used, probed with the same backoff.
 * Each transition is reported once to the state listeners (logged by the app).
 */
import type { ModelConfig } from '../config.js';
import { RouterError } from '../errors.js';
import type { BackendView } from '../workers/protocol.js';
import { createBackend } from './index.js';
import type { BackendTls } from './types.js';
import type { BackendInfo, TeiBackend } from './types.js';

export type BackendState = 'starting' | 'up' | 'ejected' | 'down';

/** Consecutive transport failures or timeouts that eject a replica. */
export const EJECT_AFTER = 3;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** Errors that count against a replica's health (TEI's own errors do not: the replica answered). */
const HEALTH_ERRORS = new Set(['ROUTER_ERR_BACKEND_UNAVAILABLE', 'ROUTER_ERR_BACKEND_TIMEOUT']);

export interface Replica {
  readonly index: number;
  readonly url: string;
  readonly model: string;
  readonly client: TeiBackend;
  info: BackendInfo | undefined;
  state: BackendState;
  lastError: string | undefined;
  /** Transport failures in a row (reset by any answer). */
  failures: number;
  /** Failed probes in a row while not up: the backoff doubles with each. */
  strikes: number;
  /** A probe is scheduled (not up). */
  probe: NodeJS.Timeout | undefined;
  /** Observed throughput of successful batches, tokens per second (exponentially weighted; 0: none yet). */
  tokensPerSecond: number;
}

/** Called once per state change of a replica, with the reason. */
export type StateListener = (replica: Replica, from: BackendState, reason: string) => void;

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
          state: 'starting',
          lastError: undefined,
          failures: 0,
          strikes: 0,
          probe: undefined,
          tokensPerSecond: 0,
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
  recordCall(index: number, ns: number, error?: string, tokens = 0): void {
    const r = this.replicas[index];
    if (!r) return;
    for (const l of this.callListeners) l(r, ns, error);
    if (error === undefined && tokens > 0 && ns > 0) {
      const rate = tokens / (ns / 1e9);
      r.tokensPerSecond = r.tokensPerSecond === 0 ? rate : 0.8 * r.tokensPerSecond + 0.2 * rate;
    }
    if (error === undefined || !HEALTH_ERRORS.has(error)) {
      r.failures = 0;
      return;
    }
    r.failures++;
    if (r.state === 'up' && r.failures >= EJECT_AFTER) {
      this.transition(r, 'ejected', `${r.failures} calls in a row failed (${error})`);
      this.scheduleProbe(r);
    }
  }

  private readonly stateListeners: StateListener[] = [];

  /** Subscribes to state changes (the app logs them once each). */
  onStateChange(listener: StateListener): void {
    this.stateListeners.push(listener);
  }

  private transition(r: Replica, to: BackendState, reason: string): void {
    const from = r.state;
    if (from === to) return;
    r.state = to;
    if (to === 'up') {
      r.failures = 0;
      r.strikes = 0;
    }
    for (const l of this.stateListeners) l(r, from, reason);
  }

  /** Probes a replica that is not up after its backoff; up on success, else the next probe, later. */
  private scheduleProbe(r: Replica): void {
    if (r.probe || this.closed) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** r.strikes);
    r.probe = setTimeout(() => {
      r.probe = undefined;
      void this.check(r).then(() => {
        if (r.state !== 'up') {
          r.strikes++;
          this.scheduleProbe(r);
        }
      });
    }, delay);
    r.probe.unref();
  }

  /** One /info call: `up` when it answers; otherwise `starting` (never answered yet) or `down`. */
  private async check(r: Replica): Promise<void> {
    try {
      r.info = await r.client.info(AbortSignal.timeout(this.options.timeoutMs));
      r.lastError = undefined;
      this.transition(r, 'up', r.state === 'starting' ? 'answered /info' : 'answered /info again');
    } catch (err) {
      r.lastError = err instanceof Error ? err.message : String(err);
      if (r.state === 'up') this.transition(r, 'down', `/info failed: ${r.lastError}`);
      else if (r.state === 'starting' && r.info !== undefined) this.transition(r, 'down', r.lastError);
    }
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

  /**
   * Reads /info of every replica that is up or starting (ejected and down replicas have their own probes), and
   * schedules probes for those that are not up afterwards.
   */
  async refresh(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (r) => {
        if (r.state === 'ejected' || r.probe) return;
        await this.check(r);
        if (r.state !== 'up') this.scheduleProbe(r);
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
    const speeds = usable.map((r) => r.tokensPerSecond).filter((x) => x > 0);
    const mean = speeds.length > 0 ? speeds.reduce((a, b) => a + b, 0) / speeds.length : 0;
    return usable.map((r) => ({
      index: r.index,
      url: r.url,
      weight: mean > 0 && r.tokensPerSecond > 0 ? r.tokensPerSecond / mean : 1,
      maxBatchTokens: cap(r.info!.maxBatchTokens, m?.maxBatchTokens),
      maxClientBatchSize: cap(r.info!.maxClientBatchSize, m?.maxClientBatchSize),
      maxInputLength: r.info!.maxInputLength,
    }));
  }

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.replicas) if (r.probe) clearTimeout(r.probe);
    await Promise.all(this.replicas.map((r) => r.client.close()));
  }
}

/**
 * The health of one replica: a state machine fed by active checks and by the outcome of real calls.
 *
 * - `starting`: has never answered /info (a TEI loading its model refuses connections): not used; probed on backoff;
 * - `up`: usable. Checked every `health.interval_ms` (TEI's /health, or grpc.health.v1 for gRPC backends; /info
 *   every `backend.info_refresh_ms` in place of one check, refreshing the limits). `health.unhealthy_threshold`
 *   failed checks in a row make it `down`;
 * - `ejected`: `EJECT_AFTER` calls in a row failed with a transport error or timeout (passive outlier detection);
 * - `down`: failed its active checks.
 *
 * A replica that is not up is probed with /info after a backoff (1 s, doubling to 30 s while it keeps failing) and
 * is up again after `health.healthy_threshold` successful probes in a row. Back up after being ejected or down, or
 * added while the router runs, it starts slow: its balancing weight grows from 10% to 100% over
 * `health.slow_start_ms`, so a cold replica is not handed a full share at once.
 */
import type { BackendInfo, TeiBackend } from './types.js';

export type BackendState = 'starting' | 'up' | 'ejected' | 'down';

/** Consecutive transport failures or timeouts that eject a replica. */
export const EJECT_AFTER = 3;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** Weight of a replica at the start of its slow start. */
const SLOW_START_FLOOR = 0.1;
/** Errors that count against a replica's health (TEI's own errors do not: the replica answered). */
const HEALTH_ERRORS = new Set(['ROUTER_ERR_BACKEND_UNAVAILABLE', 'ROUTER_ERR_BACKEND_TIMEOUT']);
/** Calls the router ended itself: they say nothing about the replica either way. */
const NEUTRAL = new Set(['cancelled', 'hedge_lost', 'ROUTER_ERR_DEADLINE_EXCEEDED']);

export interface HealthOptions {
  /** Between active checks of an up replica. */
  intervalMs: number;
  /** Deadline of one check or probe. */
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  /** 0: off. */
  slowStartMs: number;
  /** How often an up replica's /info is read again (in place of a /health check). */
  infoRefreshMs: number;
}

/** What the monitor reads and writes of a replica (replicas.ts's Replica). */
export interface Monitored {
  readonly url: string;
  readonly client: TeiBackend;
  info: BackendInfo | undefined;
  state: BackendState;
  lastError: string | undefined;
}

/** Told once per state change, with the reason. */
export type Transition = (from: BackendState, reason: string) => void;

export class HealthMonitor {
  /** Transport failures of real calls in a row (reset by any answer). */
  private failures = 0;
  /** Failed active checks in a row while up. */
  private failedChecks = 0;
  /** Failed probes in a row while not up: the backoff doubles with each. */
  private strikes = 0;
  /** Successful probes in a row while not up. */
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private infoReadAt = 0;
  /** When the replica's slow start began (undefined: none). */
  private upSince: number | undefined;
  private stopped = false;
  /** Bumped by every transition: a check or probe that started before one is stale when it returns. */
  private generation = 0;

  constructor(
    private readonly replica: Monitored,
    private readonly options: HealthOptions,
    private readonly emit: Transition,
    /** Slow start also on the first time up (a replica added while the router runs). */
    private slowStartFirst: boolean,
  ) {}

  /** The first probe; resolves when it is answered. Checks and probes continue on their own afterwards. */
  async start(): Promise<void> {
    await this.probe();
  }

  /** The outcome of one real call: an error label (a ROUTER_ERR_* code or TEI error type) or undefined. */
  recordCall(error: string | undefined): void {
    if (error !== undefined && NEUTRAL.has(error)) return;
    if (error === undefined || !HEALTH_ERRORS.has(error)) {
      this.failures = 0;
      return;
    }
    this.failures++;
    if (this.replica.state === 'up' && this.failures >= EJECT_AFTER) {
      this.transition('ejected', `${this.failures} calls in a row failed (${error})`);
    }
  }

  /** The slow-start factor of the replica's balancing weight: 0.1 → 1 over health.slow_start_ms, else 1. */
  weightFactor(now = Date.now()): number {
    if (this.upSince === undefined) return 1;
    const ramp = (now - this.upSince) / this.options.slowStartMs;
    if (ramp >= 1) {
      this.upSince = undefined;
      return 1;
    }
    return Math.max(SLOW_START_FLOOR, ramp);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private transition(to: BackendState, reason: string): void {
    const from = this.replica.state;
    if (from === to) return;
    this.replica.state = to;
    this.generation++;
    this.failures = 0;
    this.failedChecks = 0;
    this.strikes = 0;
    this.successes = 0;
    if (to === 'up') {
      const slow = this.options.slowStartMs > 0 && (from !== 'starting' || this.slowStartFirst);
      this.upSince = slow ? Date.now() : undefined;
      this.schedule(this.options.intervalMs, () => this.check());
    } else {
      this.schedule(BACKOFF_MIN_MS, () => this.probe());
    }
    this.emit(from, reason);
  }

  private schedule(delay: number, run: () => Promise<void>): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void run(), delay);
    this.timer.unref();
  }

  /** A replica that is not up: /info; up after healthy_threshold successes, else probed again after a backoff. */
  private async probe(): Promise<void> {
    const r = this.replica;
    const generation = this.generation;
    try {
      const info = await r.client.info(AbortSignal.timeout(this.options.timeoutMs));
      if (generation !== this.generation || this.stopped) return;
      r.info = info;
      this.infoReadAt = Date.now();
      r.lastError = undefined;
      this.strikes = 0;
      if (++this.successes >= this.options.healthyThreshold) {
        this.transition('up', r.state === 'starting' ? 'answered /info' : 'answered /info again');
        return;
      }
      this.schedule(BACKOFF_MIN_MS, () => this.probe());
    } catch (err) {
      if (generation !== this.generation || this.stopped) return;
      r.lastError = err instanceof Error ? err.message : String(err);
      this.successes = 0;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.strikes++);
      this.schedule(delay, () => this.probe());
    }
  }

  /** An up replica's periodic check: /info when due, else /health. */
  private async check(): Promise<void> {
    const r = this.replica;
    const generation = this.generation;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let failure: string | undefined;
    if (Date.now() - this.infoReadAt >= this.options.infoRefreshMs) {
      try {
        r.info = await r.client.info(signal);
        this.infoReadAt = Date.now();
      } catch (err) {
        failure = `/info failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    } else if (!(await r.client.health(signal))) {
      failure = 'health check failed';
    }
    if (this.stopped || generation !== this.generation) return; // ejected meanwhile: its probes took over
    if (failure === undefined) {
      this.failedChecks = 0;
      r.lastError = undefined;
    } else {
      r.lastError = failure;
      if (++this.failedChecks >= this.options.unhealthyThreshold) {
        this.transition('down', `${this.failedChecks} checks in a row failed (${failure})`);
        return;
      }
    }
    this.schedule(this.options.intervalMs, () => this.check());
  }
}

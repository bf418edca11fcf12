/**
 * The main thread's view of every backend: which model it serves, its limits read from /info, and its health
 * (health.ts). Workers receive a snapshot (BackendView) of the usable replicas with each task.
 *
 * Membership changes while the router runs: a model's backends are static URLs and `dns+` names (discovery.ts)
 * re-resolved every `discovery.interval_ms`, and `reconfigure` applies a reloaded config. A new replica starts in
 * `starting` and is used once it answers /info. A removed replica gets no new batches at once; the batches it already
 * has finish (its client is closed after `backend.timeout_ms`), so removing a replica drops no request.
 *
 * Each replica has a slot (`index`) in the load counters shared with the workers (balance.ts); a removed replica's
 * slot is reused, oldest first, once every slot has been used.
 */
import type { ModelConfig } from '../config.js';
import { RouterError } from '../errors.js';
import type { BackendView } from '../workers/protocol.js';
import { DNS_PREFIX, isDnsSpec, parseDnsSpec, replicaUrl } from './discovery.js';
import type { DnsSource, Resolve } from './discovery.js';
import { HealthMonitor } from './health.js';
import type { BackendState, HealthOptions, Monitored } from './health.js';
import { createBackend, parseBackendUrl } from './index.js';
import type { BackendInfo, BackendTls, TeiBackend } from './types.js';

export { EJECT_AFTER } from './health.js';
export type { BackendState } from './health.js';

/** Slots of the shared load counters: the most replicas the router holds at once, over all models. */
export const MAX_REPLICAS = 1024;

export class Replica implements Monitored {
  info: BackendInfo | undefined = undefined;
  state: BackendState = 'starting';
  lastError: string | undefined = undefined;
  /** Observed throughput of successful batches, tokens per second (exponentially weighted; 0: none yet). */
  tokensPerSecond = 0;
  health!: HealthMonitor;
  /** Recent successful call latencies (ms), a ring; their p95 is the hedging delay. */
  private readonly latencies = new Float64Array(LATENCY_SAMPLES);
  private samples = 0;
  /** p95 of the recent latencies, once there are LATENCY_MIN_SAMPLES (hedging waits this long). */
  p95Ms: number | undefined = undefined;

  constructor(
    /** Slot in the shared load counters. */
    readonly index: number,
    readonly url: string,
    readonly model: string,
    readonly client: TeiBackend,
    /** The configured backend it comes from: the URL itself, or the `dns+` name that listed it. */
    readonly source: string,
  ) {}

  recordLatency(ms: number): void {
    this.latencies[this.samples++ % LATENCY_SAMPLES] = ms;
    if (this.samples >= LATENCY_MIN_SAMPLES && this.samples % 8 === 0) {
      const sorted = this.latencies.slice(0, Math.min(this.samples, LATENCY_SAMPLES)).sort();
      this.p95Ms = sorted[Math.floor(0.95 * (sorted.length - 1))];
    }
  }
}

const LATENCY_SAMPLES = 128;
const LATENCY_MIN_SAMPLES = 16;

/** Called once per state change of a replica, with the reason. */
export type StateListener = (replica: Replica, from: BackendState, reason: string) => void;

/** Called for every finished backend call: the replica, wall time, error label (undefined: success). */
export type CallListener = (replica: Replica, ns: number, error: string | undefined) => void;

export interface ReplicaSetsOptions {
  timeoutMs: number;
  health: HealthOptions;
  discovery: { intervalMs: number; resolve: Resolve };
  tls?: BackendTls;
  extraHeaders?: () => Record<string, string> | undefined;
  /** Membership and discovery news (a replica added or removed, a name that stopped resolving). */
  log?: (level: 'info' | 'warn', line: string) => void;
}

interface DnsState {
  readonly model: string;
  readonly source: DnsSource;
  addresses: string[];
  /** The last resolution failure reported (reported once until it changes or clears). */
  failure: string | undefined;
}

export class ReplicaSets {
  private readonly slots: Array<Replica | undefined> = [];
  private readonly freeSlots: number[] = [];
  private live: Replica[] = [];
  private readonly byModel = new Map<string, Replica[]>();
  private readonly configs = new Map<string, ModelConfig>();
  private readonly names = new Map<string, string>();
  private readonly dns = new Map<string, DnsState>();
  private started = false;
  private closed = false;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private readonly retiring = new Set<NodeJS.Timeout>();
  private readonly callListeners: CallListener[] = [];
  private readonly stateListeners: StateListener[] = [];

  constructor(
    models: readonly ModelConfig[],
    private readonly options: ReplicaSetsOptions,
  ) {
    // before start() nothing is probed, so this completes synchronously
    void this.apply(models, this.validate(models));
  }

  /** The health check settings every replica's monitor reads (a reload updates them in place). */
  get healthOptions(): HealthOptions {
    return this.options.health;
  }

  /** Every replica in use, in slot order (the order `instance_index` and /v1/backends count in). */
  get replicas(): readonly Replica[] {
    return this.live;
  }

  get models(): readonly ModelConfig[] {
    return [...this.configs.values()];
  }

  /** The replica in slot `index`: also one removed whose last batches are still finishing. */
  at(index: number): Replica | undefined {
    return this.slots[index];
  }

  /** The configured model a name or alias refers to. */
  resolve(name: string): string | undefined {
    return this.names.get(name);
  }

  forModel(model: string): Replica[] {
    return this.byModel.get(model) ?? [];
  }

  /** Subscribes to every backend call's outcome (metrics; passive health builds on it). */
  onCall(listener: CallListener): void {
    this.callListeners.push(listener);
  }

  /** Subscribes to state changes (the app logs them once each). */
  onStateChange(listener: StateListener): void {
    this.stateListeners.push(listener);
  }

  /**
   * Reports one finished call to the replica in slot `index` (from the main thread's forwarder, or from a worker's
   * task stats): wall time and, for a failure, a bounded error label (a ROUTER_ERR_* code or a TEI error type).
   */
  recordCall(index: number, ns: number, error?: string, tokens = 0): void {
    const r = this.slots[index];
    if (!r) return;
    for (const l of this.callListeners) l(r, ns, error);
    if (error === undefined) r.recordLatency(ns / 1e6);
    if (error === undefined && tokens > 0 && ns > 0) {
      const rate = tokens / (ns / 1e9);
      r.tokensPerSecond = r.tokensPerSecond === 0 ? rate : 0.8 * r.tokensPerSecond + 0.2 * rate;
    }
    r.health.recordCall(error);
  }

  /** Resolves the `dns+` backends, then probes every replica once; checks, probes and discovery go on after. */
  async start(): Promise<void> {
    await this.discover();
    this.started = true;
    await Promise.all(this.live.map((r) => r.health.start()));
    this.discoveryTimer = setInterval(() => void this.discover(), this.options.discovery.intervalMs);
    this.discoveryTimer.unref();
  }

  /**
   * Applies a reloaded model list: models and replicas added, changed and removed, without a restart. New `dns+`
   * names are resolved before it returns. Throws ROUTER_ERR_CONFIG (changing nothing) when a backend is invalid.
   */
  async reconfigure(models: readonly ModelConfig[]): Promise<void> {
    const sources = this.validate(models);
    await this.serialized(() => this.apply(models, sources));
    if (this.started) await this.discover();
  }

  private membership: Promise<unknown> = Promise.resolve();

  /** Runs membership changes one at a time (a reload and a discovery round must not interleave). */
  private serialized<T>(change: () => Promise<T>): Promise<T> {
    const run = this.membership.then(change, change);
    this.membership = run.catch(() => undefined);
    return run;
  }

  /** Views of the model's usable backends for a worker task; throws ROUTER_ERR_NO_BACKEND when none is. */
  views(model: string): BackendView[] {
    const usable = this.forModel(model).filter((r) => r.state === 'up' && r.info !== undefined);
    if (usable.length === 0) {
      const replicas = this.forModel(model);
      const why =
        replicas.length > 0
          ? replicas.map((r) => `${r.url}: ${r.state}${r.lastError ? ` (${r.lastError})` : ''}`).join('; ')
          : 'no replicas: ' + this.emptyReason(model);
      throw new RouterError('ROUTER_ERR_NO_BACKEND', `model ${model} has no reachable backend [${why}]`);
    }
    const m = this.configs.get(model);
    const cap = (backend: number, override: number | undefined) =>
      override === undefined ? backend : Math.min(backend, override);
    const speeds = usable.map((r) => r.tokensPerSecond).filter((x) => x > 0);
    const mean = speeds.length > 0 ? speeds.reduce((a, b) => a + b, 0) / speeds.length : 0;
    const now = Date.now();
    return usable.map((r) => ({
      index: r.index,
      url: r.url,
      weight: (mean > 0 && r.tokensPerSecond > 0 ? r.tokensPerSecond / mean : 1) * r.health.weightFactor(now),
      maxBatchTokens: cap(r.info!.maxBatchTokens, m?.maxBatchTokens),
      // TEI takes one of its max_concurrent_requests permits per input, and refuses (429) a batch with more inputs
      // than it has permits: a batch larger than that could never be sent
      maxClientBatchSize: cap(
        Math.min(r.info!.maxClientBatchSize, r.info!.maxConcurrentRequests),
        m?.maxClientBatchSize,
      ),
      maxInputLength: r.info!.maxInputLength,
      ...(r.p95Ms === undefined ? {} : { hedgeAfterMs: r.p95Ms }),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.discoveryTimer);
    for (const t of this.retiring) clearTimeout(t);
    const all = this.slots.filter((r): r is Replica => r !== undefined);
    for (const r of all) r.health.stop();
    await Promise.all(all.map((r) => r.client.close()));
  }

  private emptyReason(model: string): string {
    const names = [...this.dns.values()].filter((d) => d.model === model);
    if (names.length === 0) return 'none configured';
    return names.map((d) => `${d.source.host}: ${d.failure ?? 'no address records'}`).join('; ');
  }

  /** Checks every backend of `models` (ROUTER_ERR_CONFIG); returns their `dns+` names by dnsKey. */
  private validate(models: readonly ModelConfig[]): Map<string, DnsSource> {
    const sources = new Map<string, DnsSource>();
    for (const m of models) {
      for (const spec of m.backends) {
        if (isDnsSpec(spec)) {
          const source = parseDnsSpec(spec);
          parseBackendUrl(replicaUrl(source, '127.0.0.1'), { timeoutMs: this.options.timeoutMs });
          sources.set(dnsKey(m.name, spec), source);
        } else parseBackendUrl(spec, { timeoutMs: this.options.timeoutMs });
      }
    }
    return sources;
  }

  /**
   * Makes the sets match `models` (validated): adds and removes models and replicas. `dns+` names keep the addresses
   * they resolved to last.
   */
  private async apply(models: readonly ModelConfig[], sources: Map<string, DnsSource>): Promise<void> {
    for (const key of this.dns.keys()) if (!sources.has(key)) this.dns.delete(key);
    for (const m of models) {
      for (const spec of m.backends) {
        const key = dnsKey(m.name, spec);
        const source = sources.get(key);
        if (source && !this.dns.has(key)) {
          this.dns.set(key, { model: m.name, source, addresses: [], failure: undefined });
        }
      }
    }
    const kept = new Set(models.map((m) => m.name));
    for (const name of this.configs.keys()) {
      if (!kept.has(name)) {
        for (const r of this.forModel(name)) this.retire(r, 'its model was removed from the config');
        this.byModel.delete(name);
        this.configs.delete(name);
      }
    }
    this.names.clear();
    for (const m of models) {
      this.configs.set(m.name, m);
      for (const n of [m.name, ...m.aliases]) this.names.set(n, m.name);
    }
    this.relist();
    await Promise.all(models.map((m) => this.sync(m.name)));
  }

  private relist(): void {
    this.live = [...this.byModel.values()].flat().sort((a, b) => a.index - b.index);
  }

  /**
   * Adds and retires the model's replicas so they match its static URLs and the addresses of its names: make before
   * break, so a model whose backends are replaced always has some to use: the replicas that leave are retired once
   * the new ones have had their first probe (at most health.timeout_ms). Before `start`, it completes synchronously.
   */
  private async sync(model: string): Promise<void> {
    const config = this.configs.get(model);
    const wanted = new Map<string, string>(); // url → source
    for (const spec of config?.backends ?? []) {
      if (!isDnsSpec(spec)) {
        wanted.set(spec, spec);
        continue;
      }
      const d = this.dns.get(dnsKey(model, spec));
      for (const a of d?.addresses ?? []) wanted.set(replicaUrl(d!.source, a), spec);
    }
    const current = this.forModel(model);
    const stale = current.filter((r) => !wanted.has(r.url));
    const added: Replica[] = [];
    for (const [url, source] of wanted) {
      if (current.some((r) => r.url === url)) continue;
      const r = this.add(model, url, source);
      if (r) added.push(r);
    }
    if (added.length > 0) {
      this.byModel.set(model, [...current, ...added]);
      this.relist();
      if (this.started) await Promise.all(added.map((r) => r.health.start()));
    }
    if (stale.length > 0) {
      this.byModel.set(
        model,
        this.forModel(model).filter((r) => !stale.includes(r)),
      );
      this.relist();
      for (const r of stale) {
        this.retire(r, isDnsSpec(r.source) ? `no longer listed by ${r.source}` : 'removed from the config');
      }
    }
  }

  private add(model: string, url: string, source: string): Replica | undefined {
    const index = this.slots.length < MAX_REPLICAS ? this.slots.length : this.freeSlots.shift();
    if (index === undefined) {
      this.options.log?.(
        'warn',
        `tei-router: backend ${url} (${model}) not added: the router holds ${MAX_REPLICAS} replicas already`,
      );
      return undefined;
    }
    const client = createBackend(url, {
      timeoutMs: this.options.timeoutMs,
      tls: this.options.tls,
      extraHeaders: this.options.extraHeaders,
    });
    const r = new Replica(index, url, model, client, source);
    r.health = new HealthMonitor(
      r,
      this.options.health,
      (from, reason) => {
        for (const l of this.stateListeners) l(r, from, reason);
      },
      this.started,
    );
    this.slots[index] = r;
    if (this.started)
      this.options.log?.('info', `tei-router: backend ${url} (${model}) added${addedBy(source)}`);
    return r;
  }

  /** No new batches from now on; the client closes once the batches in flight have had their deadline. */
  private retire(r: Replica, reason: string): void {
    r.health.stop();
    this.options.log?.('info', `tei-router: backend ${r.url} (${r.model}) removed: ${reason}`);
    const timer = setTimeout(() => {
      this.retiring.delete(timer);
      if (this.slots[r.index] === r) {
        this.slots[r.index] = undefined;
        this.freeSlots.push(r.index);
      }
      void r.client.close();
    }, this.options.timeoutMs + 1000);
    timer.unref();
    this.retiring.add(timer);
  }

  /** Resolves every `dns+` name once and syncs the models whose addresses changed. */
  private async discover(): Promise<void> {
    await Promise.all(
      [...this.dns.values()].map(async (d) => {
        let addresses: string[];
        try {
          addresses = await this.options.discovery.resolve(d.source.host);
        } catch (err) {
          const failure = err instanceof Error ? err.message : String(err);
          if (failure !== d.failure) {
            this.options.log?.(
              'warn',
              `tei-router: ${d.source.spec} (${d.model}) did not resolve: ${failure}; keeping its ${d.addresses.length} replicas`,
            );
          }
          d.failure = failure;
          return;
        }
        if (d.failure !== undefined) {
          this.options.log?.('info', `tei-router: ${d.source.spec} (${d.model}) resolves again`);
          d.failure = undefined;
        }
        if (this.closed || !this.dns.has(dnsKey(d.model, d.source.spec))) return;
        if (addresses.join() === d.addresses.join()) return;
        d.addresses = addresses;
        await this.serialized(() => this.sync(d.model));
      }),
    );
  }
}

function dnsKey(model: string, spec: string): string {
  return `${model}\0${spec}`;
}

function addedBy(source: string): string {
  return source.startsWith(DNS_PREFIX) ? ` (listed by ${source})` : '';
}

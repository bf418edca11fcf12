/**
 * The composition root: builds everything in order (backends → worker pool → pipeline → listeners) and closes it
 * in reverse. With no models configured it starts the embedded default: one `tei-router sim` backend on a free
 * loopback port, stopped with the router.
 */
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import type tls from 'node:tls';
import type { ModelConfig, RouterConfig, TlsListener } from './config.js';
import { createTlsFront } from './tls/server.js';
import { ClientDirectory } from './tls/clients.js';
import { accessFields } from './tls/access-log.js';
import { createLogger, lineLogger, setProcessLogger } from './log.js';
import type { Logger } from './log.js';
import { loadBackendTls } from './tls/backend.js';
import { forwardedHeaders } from './tls/forwarded.js';
import { CertificateExpiry } from './tls/expiry.js';
import type { RequestObserver } from './ingress/http/dispatch.js';
import type { ConnectionAddresses, TlsFront } from './tls/server.js';
import { MAX_REPLICAS, ReplicaSets } from './backend/replicas.js';
import { dnsResolver } from './backend/discovery.js';
import type { Resolve } from './backend/discovery.js';
import { createHttpIngress } from './ingress/http/node.js';
import { createRoutes } from './ingress/http/routes.js';
import { loadUws, startUwsListener } from './ingress/http/uws.js';
import { createTeiRoutes } from './ingress/http/tei-routes.js';
import { createAdminServer } from './ingress/admin.js';
import { createMetrics } from './metrics.js';
import * as grpc from '@grpc/grpc-js';
import { createGrpcIngress } from './ingress/grpc/server.js';
import { grpcEmbedArrow, grpcEmbedSparseArrow } from './ingress/arrow.js';
import { createForwarder } from './ingress/forwarder.js';
import { findCachedTokenizer } from './tokenizer/hf-cache.js';
import { loadTokenizer } from './tokenizer/load.js';

import { Pipeline } from './pipeline/index.js';
import { RouterError } from './errors.js';
import { EmbedPool } from './pipeline/pool.js';
import { kernelSummary } from './native/index.js';
import type { RunningSim } from './sim/index.js';

export interface App {
  readonly config: RouterConfig;
  /** Bound ports (useful when configured as 0). */
  readonly ports: { grpc: number; http: number; admin: number; uws?: number };
  /** The embedded simulator, when no models were configured. */
  readonly embedded: RunningSim | undefined;
  readonly pipeline: Pipeline;
  readonly replicas: ReplicaSets;
  /**
   * Graceful shutdown, first half: stop accepting connections, GOAWAY to HTTP/2 and gRPC clients, /ready 503, and
   * wait (at most `timeoutMs`) until the requests in flight are answered. Resolves true when they all were.
   */
  drain(timeoutMs: number): Promise<boolean>;
  /**
   * Applies a reloaded config without a restart: models and their backends (added, changed, removed), the default
   * model, batching, admission, balancing, request deadlines, hedging and health checks. Resolves with the sections
   * that changed but need a restart (listeners, TLS, pool, logging...); throws ROUTER_ERR_CONFIG, changing nothing,
   * when a backend is invalid.
   */
  reload(config: RouterConfig): Promise<string[]>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** A Logger, or a function given each line (tests); default: config.log.level / config.log.format on stdout. */
  log?: Logger | ((line: string) => void);
  /** Resolves the names of dns+ backends (tests); default: node:dns with discovery.dns_servers. */
  resolve?: Resolve;
}

/** Listens; once listening, a server error (e.g. EMFILE on accept) is logged instead of crashing the process. */
function listen(
  server: net.Server,
  host: string,
  port: number,
  logger: Logger,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => logger.error(`tei-router: ${what} listener error: ${err.message}`));
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startApp(input: RouterConfig, options: AppOptions = {}): Promise<App> {
  const logger: Logger =
    typeof options.log === 'function'
      ? lineLogger(options.log)
      : (options.log ?? createLogger(input.log.level, input.log.format));
  setProcessLogger(logger);
  const log = (line: string) => logger.info(line);
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  const fronts: Partial<Record<TlsListener, TlsFront>> = {};
  let draining = false;
  let handshakeObserver: ((listener: string, failure?: string) => void) | undefined;
  const expiry = new CertificateExpiry(input.tls.expiryWarningDays, (line) => logger.warn(line));
  closers.push(() => expiry.stop());

  /**
   * Binds one listener: plaintext on `plain`, or, when the config gives it a TLS policy, a TLS front whose
   * decrypted connections go to `acceptTls`. Returns the bound port and the URL scheme.
   */
  async function bind(
    name: TlsListener,
    host: string,
    port: number,
    plain: net.Server | undefined,
    acceptTls: (socket: tls.TLSSocket) => void,
    alpn: string[],
  ): Promise<{ port: number; secure: boolean }> {
    const policy = input.tls.listeners[name];
    if (!policy) {
      if (!plain) throw new Error(`listener ${name} has no plaintext server`);
      return { port: await listen(plain, host, port, logger, name), secure: false };
    }
    const front = await createTlsFront(
      {
        listener: name,
        policy,
        sni: input.tls.sni,
        reloadIntervalMs: input.tls.reloadIntervalMs,
        alpn,
        log: logger,
        onCertificates: (listener, certs) => expiry.update(listener, certs),
        onHandshake: (listener, failure) => handshakeObserver?.(listener, failure),
      },
      acceptTls,
    );
    fronts[name] = front;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          front.stop();
          front.server.close(() => resolve());
          front.destroyConnections();
        }),
    );
    log(
      `tei-router: ${name} listener: TLS, client certificates ${policy.clientAuth}` +
        (policy.caPath ? ` (CA ${policy.caPath}${policy.crlPath ? `, CRL ${policy.crlPath}` : ''})` : '') +
        (policy.allowedSubjects.length + policy.allowedSans.length > 0
          ? `, allow-lists: ${policy.allowedSubjects.length} subjects, ${policy.allowedSans.length} SANs`
          : ''),
    );
    return { port: await listen(front.server, host, port, logger, name), secure: true };
  }

  try {
    if (Object.keys(input.tls.listeners).length === 0) {
      log(
        'tei-router: no TLS configured: every listener serves plaintext (add [tls] or [grpc.tls] with cert_path, ' +
          'key_path and ca_path for mTLS)',
      );
    }
    let config = input;
    let embedded: RunningSim | undefined;
    if (config.models.length === 0) {
      const { startSim } = await import('./sim/index.js');
      embedded = await startSim({ hostname: '127.0.0.1', port: 0 });
      const sim = embedded;
      closers.push(() => sim.close());
      const model: ModelConfig = {
        name: sim.options.modelId,
        aliases: [],
        tokenizer: undefined,
        backends: [sim.url],
        coalesceMs: undefined,
        maxBatchTokens: undefined,
        maxClientBatchSize: undefined,
        maxQueuedTokens: undefined,
        balancing: undefined,
      };
      config = { ...config, models: [model], defaultModel: model.name };
      log(
        `tei-router: no models configured: serving the embedded default, a SIMULATED TEI backend ` +
          `(${model.name}, fake vectors) at ${sim.url}. To route to real TEI servers, pass --config with ` +
          `[[models]] name = "..." backends = ["http://tei-host:8080"] (see README).`,
      );
    }
    const backendTls = await loadBackendTls(config.backend.tls);
    expiry.update('backend', backendTls.certs);
    const replicas = new ReplicaSets(config.models, {
      timeoutMs: config.backend.timeoutMs,
      health: { ...config.health, infoRefreshMs: config.backend.infoRefreshMs },
      discovery: {
        intervalMs: config.discovery.intervalMs,
        resolve: options.resolve ?? dnsResolver(config.discovery.dnsServers, config.health.timeoutMs),
      },
      tls: backendTls.tls,
      extraHeaders: forwardedHeaders(config.backend.identityHeader),
      log: (level, line) => (level === 'warn' ? logger.warn(line) : logger.info(line)),
    });
    closers.push(() => replicas.close());
    replicas.onStateChange((r, from, reason) => {
      const line = `tei-router: backend ${r.url} (${r.model}): ${from} -> ${r.state}: ${reason}`;
      if (r.state === 'up') logger.info(line);
      else logger.warn(line);
    });
    await replicas.start();
    for (const r of replicas.replicas) {
      if (r.state !== 'up')
        logger.warn(`tei-router: backend ${r.url} (${r.model}) is not reachable yet: ${r.lastError}`);
    }
    config = { ...config, models: withTokenizers(config.models, replicas, log) };
    log(kernelSummary());
    const pool = new EmbedPool({
      threads: config.pool.threads,
      tasksPerThread: config.pool.tasksPerThread,
      maxQueue: config.pool.maxQueue,
      backendTimeoutMs: config.backend.timeoutMs,
      backendTls: backendTls.tls,
      backendSlots: MAX_REPLICAS,
    });
    closers.push(() => pool.close());
    const metrics = createMetrics();
    metrics.watchCertificates(expiry);
    metrics.watchBackends(replicas);
    handshakeObserver = (listener, failure) => metrics.recordHandshake(listener, failure);
    const pipeline = new Pipeline(config, replicas, pool, {
      task: (model, result) => {
        metrics.recordTask(model, result);
        for (const b of result.stats.batches) replicas.recordCall(b.backend, b.ns, b.error, b.tokens);
      },
      directBatch: (model, b) => {
        metrics.recordBatch(model, b);
        replicas.recordCall(b.backend, b.ns, b.error, b.tokens);
      },
    });
    metrics.watchLoad({
      inflightRequests: pipeline.inflightRequests,
      pendingTexts: pipeline.pendingTexts,
      pendingTokens: pipeline.pendingTokens,
      backendLoad: pool.load,
      poolUtilization: () => pool.utilization,
      poolQueueDepth: () => pool.queueSize,
    });
    const clients = new ClientDirectory(config.authz, (name) => replicas.resolve(name));
    const observe: RequestObserver = (route, status, seconds, scope) => {
      metrics.recordRequest({ protocol: 'http', route, code: status, seconds, scope });
      if (config.log.access) logger.info('access', accessFields(route, status, seconds, scope));
    };
    const routes = new Map([
      ...createRoutes({ pipeline }),
      ...createTeiRoutes({ pipeline, replicas, tokenizationWorkers: config.pool.threads }),
    ]);
    const http = createHttpIngress(
      routes,
      config.http,
      observe,
      clients,
      config.tls.listeners.http !== undefined,
    );
    const httpBound = await bind('http', config.http.host, config.http.port, http.server, http.acceptTls, [
      'h2',
      'http/1.1',
    ]);
    const httpPort = httpBound.port;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          http.server.close(() => resolve());
          http.destroyConnections();
        }),
    );
    log(`tei-router: HTTP on ${httpBound.secure ? 'https' : 'http'}://${config.http.host}:${httpPort}`);
    const grpcServer = createGrpcIngress({
      pipeline,
      replicas,
      maxMessageBytes: config.grpc.maxMessageBytes,
      arrow: {
        embedArrow: grpcEmbedArrow(pipeline),
        embedSparseArrow: grpcEmbedSparseArrow(createForwarder(replicas)),
      },
      ...(config.tls.listeners.grpc
        ? { connection: (c: ConnectionAddresses) => fronts.grpc?.authFor(c) }
        : {}),
      clients,
      observe: (method, code, seconds, scope) => {
        metrics.recordRequest({ protocol: 'grpc', route: method, code, seconds, scope });
        if (config.log.access) logger.info('access', accessFields(method, code, seconds, scope));
      },
    });
    closers.push(() => grpcServer.forceShutdown());
    const grpcHost = config.grpc.host.includes(':') ? `[${config.grpc.host}]` : config.grpc.host;
    let grpcPort: number;
    if (config.tls.listeners.grpc) {
      // grpc-js serves the connections the TLS front decrypted (its own TLS cannot do CRLs, optional client
      // certificates, SNI or hot reload of the CA)
      const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      closers.push(() => injector.destroy());
      grpcPort = (
        await bind(
          'grpc',
          config.grpc.host,
          config.grpc.port,
          undefined,
          (s) => injector.injectConnection(s),
          ['h2'],
        )
      ).port;
    } else {
      grpcPort = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync(
          `${grpcHost}:${config.grpc.port}`,
          grpc.ServerCredentials.createInsecure(),
          (err, port) => (err ? reject(err) : resolve(port)),
        ),
      );
    }
    log(
      `tei-router: gRPC (tei_multiplexer.v1, tei.v1, health, reflection) on ${grpcHost}:${grpcPort}` +
        (config.tls.listeners.grpc ? ' (TLS)' : ' (plaintext)'),
    );
    const admin = createAdminServer({
      replicas,
      metrics,
      tls: config.tls.listeners.admin !== undefined,
      draining: () => draining,
    });
    const adminBound = await bind(
      'admin',
      config.admin.host,
      config.admin.port,
      admin,
      (s) => admin.emit('connection', s),
      ['http/1.1'],
    );
    const adminPort = adminBound.port;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          admin.close(() => resolve());
          admin.closeAllConnections();
        }),
    );
    log(
      `tei-router: admin (/metrics, /health, /ready, /v1/backends) on ` +
        `${adminBound.secure ? 'https' : 'http'}://${config.admin.host}:${adminPort}`,
    );
    const ports: App['ports'] = { grpc: grpcPort, http: httpPort, admin: adminPort };
    if (config.uws.enabled && Object.values(config.tls.listeners).some((p) => p.clientAuth !== 'none')) {
      logger.warn(
        'tei-router: uws.enabled: the uWebSockets.js listener serves plaintext without client certificates while the ' +
          'other listeners require them; expose it only on a trusted network (e.g. behind a mesh sidecar)',
      );
    }
    if (config.uws.enabled) {
      const loaded = loadUws();
      if ('error' in loaded) {
        logger.warn(
          `tei-router: uws.enabled is set but no uWebSockets.js build loads on Node ${process.version} (${loaded.error}); running without it`,
        );
      } else {
        const uws = await startUwsListener(
          loaded.uws,
          routes,
          config.http,
          config.uws.host,
          config.uws.port,
          observe,
          clients,
        );
        closers.push(() => uws.close());
        ports.uws = uws.port;
        log(`tei-router: uWebSockets.js HTTP/1.1 (plaintext) on http://${config.uws.host}:${uws.port}`);
      }
    }
    const drain = async (timeoutMs: number): Promise<boolean> => {
      if (draining) return false;
      draining = true;
      logger.info(
        `tei-router: draining: no new connections; waiting up to ${timeoutMs} ms for requests in flight`,
      );
      const stopAccepting = (s: net.Server | undefined) => (s?.listening ? s.close() : undefined);
      stopAccepting(fronts.http?.server ?? http.server);
      stopAccepting(fronts.grpc?.server);
      const grpcDone = new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        Promise.all([http.drain(), grpcDone]).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      logger.info(
        done ? 'tei-router: drained: every request in flight was answered' : 'tei-router: drain timed out',
      );
      return done;
    };
    const reload = async (loaded: RouterConfig): Promise<string[]> => {
      let next = loaded;
      if (next.models.length === 0) {
        if (!embedded) {
          throw new RouterError(
            'ROUTER_ERR_CONFIG',
            'the reloaded config has no [[models]]; the running config stays (the embedded default serves only when the router starts without models)',
          );
        }
        next = { ...next, models: config.models, defaultModel: config.defaultModel };
      }
      await replicas.reconfigure(next.models);
      next = { ...next, models: withTokenizers(next.models, replicas, log) };
      Object.assign(replicas.healthOptions, next.health);
      pipeline.reconfigure(next);
      const restart = RESTART_SECTIONS.filter((k) => JSON.stringify(config[k]) !== JSON.stringify(next[k]));
      config = next;
      logger.info(
        `tei-router: config reloaded: ${config.models.length} models, ${replicas.replicas.length} backends` +
          (restart.length > 0 ? `; changes to ${restart.join(', ')} take effect after a restart` : ''),
      );
      return restart;
    };
    return {
      get config() {
        return config;
      },
      ports,
      embedded,
      pipeline,
      replicas,
      drain,
      reload,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Config sections a reload does not apply (the listeners, TLS, the pool... are built once at startup). */
const RESTART_SECTIONS = [
  'grpc',
  'http',
  'admin',
  'uws',
  'pool',
  'backend',
  'tls',
  'authz',
  'log',
  'shutdown',
  'discovery',
] as const satisfies ReadonlyArray<keyof RouterConfig>;

/**
 * The models, each with a tokenizer: the configured one, else the local HF cache's copy for its name, aliases or the
 * model id its backends report, else none (token counts are estimated). A tokenizer that cannot load is an error
 * now, not a failure of every request later.
 */
function withTokenizers(
  models: readonly ModelConfig[],
  replicas: ReplicaSets,
  log: (line: string) => void,
): ModelConfig[] {
  const out = models.map((m) => {
    if (m.tokenizer) return m;
    const ids = [
      m.name,
      ...m.aliases,
      ...replicas.forModel(m.name).flatMap((r) => (r.info ? [r.info.modelId] : [])),
    ];
    const cached = findCachedTokenizer(ids);
    if (cached) {
      log(`tei-router: model ${m.name}: tokenizer from the HuggingFace cache: ${cached}`);
      return { ...m, tokenizer: cached };
    }
    log(
      `tei-router: model ${m.name} has no tokenizer (configured or in the HF cache): token counts are estimated`,
    );
    return m;
  });
  for (const m of out) if (m.tokenizer) loadTokenizer(m.tokenizer);
  return out;
}

/**
 * The admin listener over real sockets: liveness, readiness (turning 503 when a model's only backend goes away and
 * the replica sets refresh), the backend list with limits read from /info, and Prometheus metrics. Also TEI's
 * GET /health on the HTTP routes for the same outage.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ModelConfig } from '../../src/config.js';
import { createAdminServer } from '../../src/ingress/admin.js';
import { createHttpIngress } from '../../src/ingress/http/node.js';
import { createTeiRoutes } from '../../src/ingress/http/tei-routes.js';
import { createMetrics } from '../../src/metrics.js';
import type { RouterMetrics } from '../../src/metrics.js';
import { newScope } from '../../src/request-scope.js';
import { ANONYMOUS } from '../../src/tls/clients.js';
import type { DualServer } from '../../src/net/h1-h2c.js';
import type { RunningSim } from '../../src/sim/index.js';
import { request, sim } from '../helpers/sim.js';
import { routerModel } from '../helpers/router.js';
import { until } from '../helpers/wait.js';

const model = (name: string, backends: string[]): ModelConfig => routerModel(backends, { name });

describe('admin listener: /health, /ready, /v1/backends, /metrics', () => {
  let httpSim: RunningSim;
  let grpcSim: RunningSim;
  let lonely: RunningSim;
  let lonelyClosed = false;
  let flaky: RunningSim;
  let steady: RunningSim;
  let app: App;
  let metrics: RouterMetrics;
  let admin: http.Server;
  let ingress: DualServer;
  let adminBase: string;
  let base: string;

  before(async () => {
    httpSim = await sim({ modelId: 'mini', maxClientBatchSize: 8 });
    grpcSim = await sim({ modelId: 'mini', maxClientBatchSize: 8, protocol: 'grpc' });
    lonely = await sim({ modelId: 'other', maxBatchRequests: 4 });
    flaky = await sim({ modelId: 'pair' });
    steady = await sim({ modelId: 'pair' });
    const config = loadConfig({
      flags: {
        'http.port': 0,
        'grpc.port': 0,
        'admin.port': 0,
        'pool.threads': 1,
        'health.interval_ms': 100,
        'health.unhealthy_threshold': 2,
      },
    });
    config.models = [
      model('mini', [httpSim.url, grpcSim.url]),
      model('lonely', [lonely.url]),
      model('pair', [flaky.url, steady.url]),
    ];
    config.defaultModel = 'mini';
    app = await startApp(config, { log: () => {} });
    metrics = createMetrics();
    admin = createAdminServer({ replicas: app.replicas, metrics });
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    adminBase = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
    ingress = createHttpIngress(
      createTeiRoutes({ pipeline: app.pipeline, replicas: app.replicas }),
      config.http,
    );
    await new Promise<void>((resolve) => ingress.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      admin.close(() => resolve());
      admin.closeAllConnections();
    });
    await new Promise<void>((resolve) => {
      ingress.server.close(() => resolve());
      ingress.destroyConnections();
    });
    await app.close();
    await Promise.all([
      httpSim.close(),
      grpcSim.close(),
      steady.close(),
      lonelyClosed ? undefined : lonely.close(),
    ]);
  });

  it('GET /health is live; unknown paths and methods are 404', async () => {
    const h = await request(adminBase + '/health', 'GET');
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(h.body), { status: 'ok' });
    assert.equal((await request(adminBase + '/nope', 'GET')).status, 404);
    assert.equal((await request(adminBase + '/health', 'POST', '{}')).status, 404);
  });

  it('GET /v1/backends lists every backend with its protocol, state and /info limits', async () => {
    const r = await request(adminBase + '/v1/backends', 'GET');
    assert.equal(r.status, 200);
    const list = JSON.parse(r.body) as Array<Record<string, unknown>>;
    assert.deepEqual(
      list.map((b) => [b.url, b.model, b.protocol, b.state, b.last_error]),
      [
        [httpSim.url, 'mini', 'http', 'up', null],
        [grpcSim.url, 'mini', 'grpc', 'up', null],
        [lonely.url, 'lonely', 'http', 'up', null],
        [flaky.url, 'pair', 'http', 'up', null],
        [steady.url, 'pair', 'http', 'up', null],
      ],
    );
    assert.deepEqual(list[0].limits, {
      model_id: 'mini',
      model_type: 'embedding',
      version: '1.9.3',
      max_concurrent_requests: 512,
      max_input_length: 256,
      max_batch_tokens: 16384,
      max_batch_requests: null,
      max_client_batch_size: 8,
    });
    assert.equal((list[2].limits as Record<string, unknown>).max_batch_requests, 4);
  });

  it('GET /metrics: Prometheus text with backend_up and process metrics', async () => {
    const r = await request(adminBase + '/metrics', 'GET');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], metrics.registry.contentType);
    assert.ok(r.body.includes(`tei_router_backend_up{model="mini",backend="${grpcSim.url}"} 1`), r.body);
    assert.ok(r.body.includes(`tei_router_backend_up{model="lonely",backend="${lonely.url}"} 1`));
    assert.match(r.body, /^tei_router_process_cpu_seconds_total /m);
  });

  it('route labels stay bounded', () => {
    const m = createMetrics({ defaultMetrics: false });
    const scope = newScope('http', ANONYMOUS, {});
    for (let i = 0; i < 100; i++) {
      m.recordRequest({ protocol: 'http', route: `GET /path-${i}`, code: 200, seconds: 0.001, scope });
    }
    return m.registry.getSingleMetricAsString('tei_router_requests_total').then((text) => {
      const routes = new Set([...text.matchAll(/route="([^"]+)"/g)].map((x) => x[1]));
      assert.ok(routes.size <= 65, String(routes.size));
      assert.ok(routes.has('other'));
    });
  });

  it('a request whose replica refuses the connection is retried on the next usable replica', async () => {
    await flaky.close();
    for (let i = 0; i < 4; i++) {
      const r = await request(base + '/tokenize', 'POST', '{"inputs":"hello"}', {
        'content-type': 'application/json',
        'x-model': 'pair',
      });
      assert.equal(r.status, 200, r.body);
      assert.equal(
        r.body,
        (
          await request(steady.url + '/tokenize', 'POST', '{"inputs":"hello"}', {
            'content-type': 'application/json',
          })
        ).body,
      );
    }
  });

  it('GET /ready turns 503 naming the model whose only backend went away; TEI /health follows', async () => {
    const ready = await request(adminBase + '/ready', 'GET');
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body), { status: 'ready' });
    assert.equal((await request(base + '/health?model=lonely', 'GET')).status, 200);

    await lonely.close();
    lonelyClosed = true;
    // the active health checks (every 100 ms, 2 failures in a row) take it out
    const ready503 = await until(async () => (await request(adminBase + '/ready', 'GET')).status === 503);
    assert.ok(ready503, '/ready turns 503 within 3 s once the only backend is gone');
    const r = await request(adminBase + '/ready', 'GET');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { status: 'not ready', models_without_backend: ['lonely'] });
    const h = await request(base + '/health', 'GET', undefined, { 'x-model': 'lonely' });
    assert.equal(h.status, 503);
    assert.equal(h.body, '{"error":"unhealthy","error_type":"Unhealthy"}');
    assert.equal((await request(base + '/health', 'GET')).status, 200, 'the default model is still served');
    const list = JSON.parse((await request(adminBase + '/v1/backends', 'GET')).body) as Array<
      Record<string, unknown>
    >;
    assert.equal(list[2].state, 'down');
    assert.equal(typeof list[2].last_error, 'string');
    const m = await request(adminBase + '/metrics', 'GET');
    assert.ok(m.body.includes(`tei_router_backend_up{model="lonely",backend="${lonely.url}"} 0`));
    const tok = await request(base + '/tokenize', 'POST', '{"inputs":"a"}', {
      'content-type': 'application/json',
      'x-model': 'lonely',
    });
    assert.equal(tok.status, 503);
    assert.equal(JSON.parse(tok.body).code, 'ROUTER_ERR_NO_BACKEND');
  });
});

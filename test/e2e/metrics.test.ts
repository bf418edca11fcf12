/**
 * /metrics after known traffic: the values, not just the names. A router in front of one HTTP sim backend that
 * takes at most 4 inputs per request; requests go one at a time so coalescing cannot merge them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.js';
import type { RunningSim } from '../../src/sim/index.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { grpcClient, postJson, request, sim, unary } from '../helpers/sim.js';

/** The value of one sample line, e.g. metric('tei_router_texts_total{model="mini"}'). */
function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  assert.ok(
    line,
    `no sample ${series} in:\n${body
      .split('\n')
      .filter((l) => l.startsWith(series.split('{')[0]))
      .join('\n')}`,
  );
  return Number(line.slice(series.length + 1));
}

describe('metrics after known traffic', () => {
  let backend: RunningSim;
  let app: App;
  let base: string;
  let body: string;
  let tokens = 0;

  before(async () => {
    backend = await sim({
      modelId: 'mini',
      maxClientBatchSize: 4,
      latency: { batchBaseMs: 2, perTokenUs: 0, padded: false },
    });
    ({ app, base } = await startRouter([routerModel([backend.url])], { 'batching.coalesce_ms': 0 }));
    for (let i = 0; i < 3; i++) {
      const r = await postJson(base, '/embed', { inputs: [`first ${i}`, `second ${i}`] });
      assert.equal(r.status, 200, r.body);
      tokens += Number(r.headers['x-compute-tokens']);
    }
    const big = await postJson(base, '/embed', {
      inputs: Array.from({ length: 10 }, (_, i) => `text number ${i}`),
    });
    assert.equal(big.status, 200, big.body);
    tokens += Number(big.headers['x-compute-tokens']);
    assert.equal((await postJson(base, '/embed', { inputs: ['x'] }, { 'x-model': 'nope' })).status, 404);
    const tok = await postJson(base, '/tokenize', { inputs: 'hello world' });
    assert.equal(tok.status, 200, tok.body);
    const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
    const g = await unary<{ metadata: { compute_tokens: number } }>(client, 'Embed', {
      target: { model_id: 'mini' },
      request: { inputs: 'over grpc' },
    });
    tokens += g.res.metadata.compute_tokens;
    client.close();
    body = (await request(`http://127.0.0.1:${app.ports.admin}/metrics`, 'GET')).body;
  });
  after(async () => {
    await app.close();
    await backend.close();
  });

  it('counts requests by protocol, route, model, code and client', () => {
    const http = (route: string, model: string, code: number) =>
      `tei_router_requests_total{protocol="http",route="${route}",model="${model}",code="${code}",client="anonymous"}`;
    assert.equal(sample(body, http('POST /embed', 'mini', 200)), 4);
    assert.equal(sample(body, http('POST /embed', '', 404)), 1);
    assert.equal(sample(body, http('POST /tokenize', 'mini', 200)), 1);
    assert.equal(
      sample(
        body,
        'tei_router_requests_total{protocol="grpc",route="/tei_multiplexer.v1.TeiMultiplexer/Embed",model="mini",code="OK",client="anonymous"}',
      ),
      1,
    );
    assert.equal(
      sample(body, 'tei_router_request_duration_seconds_count{protocol="http",route="POST /embed"}'),
      5,
    );
    assert.equal(
      sample(body, 'tei_router_request_overhead_seconds_count{protocol="http",route="POST /embed"}'),
      5,
    );
    // the overhead excludes backend time: its sum is below the total duration's
    assert.ok(
      sample(body, 'tei_router_request_overhead_seconds_sum{protocol="http",route="POST /embed"}') <
        sample(body, 'tei_router_request_duration_seconds_sum{protocol="http",route="POST /embed"}'),
      'overhead < duration',
    );
  });

  it('counts texts, tokens, tasks, batches, splits and backend calls', () => {
    assert.equal(sample(body, 'tei_router_texts_total{model="mini"}'), 3 * 2 + 10 + 1);
    assert.equal(sample(body, 'tei_router_tokens_total{model="mini"}'), tokens);
    // requests of at most 8 texts arriving while the model is idle take the direct path (no worker task):
    // only the 10-text request became a worker task
    assert.equal(sample(body, 'tei_router_worker_tasks_total{model="mini"}'), 1);
    // 3 requests of 2, 10 texts cut 4+4+2 (max_client_batch_size 4), 1 over gRPC
    assert.equal(sample(body, 'tei_router_backend_batch_texts_count{model="mini"}'), 3 + 3 + 1);
    assert.equal(sample(body, 'tei_router_backend_batch_texts_sum{model="mini"}'), 17);
    assert.equal(sample(body, 'tei_router_backend_batch_texts_bucket{le="2",model="mini"}'), 5);
    assert.equal(sample(body, 'tei_router_batch_splits_total{model="mini"}'), 1);
    assert.equal(sample(body, 'tei_router_backend_batch_fill_ratio_count{model="mini"}'), 7);
    // 7 dense batches + 1 forwarded /tokenize (the /info polls are not calls made for clients)
    assert.equal(sample(body, `tei_router_backend_calls_total{backend="${backend.url}",outcome="ok"}`), 8);
    assert.equal(sample(body, `tei_router_backend_call_duration_seconds_count{backend="${backend.url}"}`), 8);
  });

  it('reports stage timings, load gauges and backend-reported times', () => {
    for (const stage of ['coalesce_wait', 'pool_queue', 'tokenize']) {
      assert.equal(sample(body, `tei_router_stage_duration_seconds_count{stage="${stage}"}`), 5, stage);
    }
    assert.equal(sample(body, 'tei_router_stage_duration_seconds_count{stage="backend_call"}'), 6);
    // each batch costs the sim at least 2 ms: backend_call time is at least that per request
    assert.ok(
      sample(body, 'tei_router_stage_duration_seconds_sum{stage="backend_call"}') >= 6 * 0.002,
      'backend time',
    );
    assert.equal(sample(body, 'tei_router_backend_reported_seconds_count{phase="inference"}'), 1);
    assert.equal(sample(body, 'tei_router_model_pending_texts{model="mini"}'), 0);
    assert.equal(sample(body, 'tei_router_model_inflight_requests{model="mini"}'), 0);
    assert.equal(
      sample(body, `tei_router_backend_inflight_tokens{model="mini",backend="${backend.url}"}`),
      0,
    );
    assert.equal(sample(body, 'tei_router_pool_queue_depth'), 0);
    const util = sample(body, 'tei_router_pool_utilization');
    assert.ok(util >= 0 && util <= 1, String(util));
  });
});

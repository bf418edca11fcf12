/**
 * Request deadlines, backend 429s and hedging over real sockets against the sim:
 * - a client's x-request-timeout (HTTP) or gRPC deadline bounds the request: ROUTER_ERR_DEADLINE_EXCEEDED (504 /
 *   DEADLINE_EXCEEDED) at the deadline, not at the backend's pace, and without counting against the replica;
 * - gRPC backends receive the deadline as the call's own (grpc-timeout);
 * - TEI's 429s (a full replica) are absorbed: requeued while the fleet has room, so every request succeeds;
 * - hedging: a batch stuck on a slow replica is answered by a second copy on another.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/proto/load.js';
import type { RunningSim } from '../../src/sim/index.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { grpcClient, postJson, sim } from '../helpers/sim.js';

const slow = { batchBaseMs: 600, perTokenUs: 0, padded: false };

describe('request deadlines', () => {
  let backend: RunningSim;
  let close: () => Promise<void>;
  let base: string;
  let grpcAddr: string;
  let app: Awaited<ReturnType<typeof startRouter>>['app'];

  before(async () => {
    backend = await sim({ modelId: 'mini', latency: slow });
    ({ app, base } = await startRouter([routerModel([backend.url])]));
    grpcAddr = `127.0.0.1:${app.ports.grpc}`;
    close = async () => {
      await app.close();
      await backend.close();
    };
  });
  after(() => close());

  it('x-request-timeout: 504 ROUTER_ERR_DEADLINE_EXCEEDED at the deadline; the replica stays up', async () => {
    for (const inputs of [['one text'], Array.from({ length: 12 }, (_, i) => `text ${i}`)]) {
      const t0 = Date.now();
      const r = await postJson(base, '/embed', { inputs }, { 'x-request-timeout': '150ms' });
      const took = Date.now() - t0;
      assert.equal(r.status, 504, r.body);
      assert.equal(JSON.parse(r.body).code, 'ROUTER_ERR_DEADLINE_EXCEEDED');
      assert.equal(r.headers['x-tei-router-error'], 'ROUTER_ERR_DEADLINE_EXCEEDED');
      assert.ok(took >= 140 && took < 550, `answered at the deadline, not the backend's 600 ms: ${took} ms`);
    }
    for (let i = 0; i < 3; i++) {
      await postJson(base, '/embed', { inputs: [`again ${i}`] }, { 'x-request-timeout': '0.1s' });
    }
    assert.equal(
      app.replicas.replicas[0].state,
      'up',
      "a client's short deadline does not eject the replica",
    );
    const ok = await postJson(base, '/embed', { inputs: ['in time'] }, { 'x-request-timeout': '5s' });
    assert.equal(ok.status, 200, ok.body);
  });

  it('a malformed x-request-timeout is refused with ROUTER_ERR_BAD_HEADER', async () => {
    const r = await postJson(base, '/embed', { inputs: ['x'] }, { 'x-request-timeout': 'soon' });
    assert.equal(r.status, 422, r.body);
    assert.equal(JSON.parse(r.body).code, 'ROUTER_ERR_BAD_HEADER');
    assert.match(JSON.parse(r.body).error, /250ms, 2s or 1m/);
  });

  it('request.timeout_ms applies when the client sets no deadline', async () => {
    const { app: short, base: shortBase } = await startRouter([routerModel([backend.url])], {
      'request.timeout_ms': 200,
    });
    try {
      const r = await postJson(shortBase, '/embed', { inputs: ['no deadline given'] });
      assert.equal(r.status, 504, r.body);
      assert.match(JSON.parse(r.body).error, /deadline passed \(\d+ ms\)/);
    } finally {
      await short.close();
    }
  });

  it("a gRPC client's deadline ends the call at the deadline with DEADLINE_EXCEEDED", async () => {
    const client = grpcClient('tei.v1.Embed', grpcAddr);
    try {
      const t0 = Date.now();
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        (client.Embed as (...a: unknown[]) => unknown)(
          { inputs: 'deadline' },
          new grpc.Metadata(),
          { deadline: Date.now() + 150 },
          (e: grpc.ServiceError | null) => resolve(e),
        ),
      );
      assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED, String(err));
      assert.ok(Date.now() - t0 < 550, `at the deadline: ${Date.now() - t0} ms`);
      // the router ended its side too: the next call is served normally
      const ok = await new Promise<grpc.ServiceError | null>((resolve) =>
        (client.Embed as (...a: unknown[]) => unknown)(
          { inputs: 'in time' },
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          (e: grpc.ServiceError | null) => resolve(e),
        ),
      );
      assert.equal(ok, null, String(ok));
    } finally {
      client.close();
    }
  });
});

describe('deadline propagation to gRPC backends', () => {
  it('the backend call carries the request deadline as its gRPC deadline', async () => {
    // a tei.v1 backend that records the deadline of each EmbedStream call and answers /info like TEI
    const deadlines: number[] = [];
    const server = new grpc.Server();
    const real = await sim({ modelId: 'mini', protocol: 'grpc' });
    const upstream = grpcClient('tei.v1.Info', real.url.replace('grpc://', ''));
    server.addService(serviceDefinition('tei.v1.Info'), {
      Info: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        upstream.makeUnaryRequest(
          '/tei.v1.Info/Info',
          (x: Buffer) => x,
          (b: Buffer) => b,
          Buffer.alloc(0),
          (e: grpc.ServiceError | null, v?: Buffer) => cb(e, v),
        ),
    });
    server.addService(serviceDefinition('tei.v1.Embed'), {
      EmbedStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const d = call.getDeadline();
        call.once('data', (req: { inputs?: string }) => {
          // health checks probe with their own calls: record only the request's batch
          if (req.inputs === 'a') deadlines.push(d instanceof Date ? d.getTime() : d);
        });
        call.on('end', () => call.end()); // never answers a vector: the router gives up at the deadline
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const { app, base } = await startRouter([routerModel([`grpc://127.0.0.1:${port}`])]);
    try {
      const sent = Date.now();
      const r = await postJson(base, '/embed', { inputs: ['a', 'b'] }, { 'x-request-timeout': '2s' });
      assert.notEqual(r.status, 200, 'the fake backend answers no vectors');
      assert.equal(deadlines.length, 1, 'one EmbedStream call');
      const budget = deadlines[0] - sent;
      assert.ok(
        budget > 1500 && budget <= 2100,
        `the backend's deadline is the request's (2 s), not backend.timeout_ms (30 s): ${budget} ms`,
      );
    } finally {
      await app.close();
      server.forceShutdown();
      upstream.close();
      await real.close();
    }
  });
});

describe('backend 429s are absorbed while the fleet has room', () => {
  const sims: RunningSim[] = [];
  after(() => Promise.all(sims.map((s) => s.close())));

  it('replicas that take 2 requests at a time: 24 concurrent requests all succeed', async () => {
    for (let i = 0; i < 2; i++) {
      sims.push(
        await sim({
          modelId: 'mini',
          maxConcurrentRequests: 2,
          latency: { batchBaseMs: 40, perTokenUs: 0, padded: false },
        }),
      );
    }
    let refused = 0;
    const { app, base } = await startRouter(
      [
        routerModel(
          sims.map((s) => s.url),
          { coalesceMs: 0 },
        ),
      ],
      { 'pool.threads': 2, 'request.timeout_ms': 15_000 },
    );
    app.replicas.onCall((_r, _ns, error) => {
      if (error === 'Overloaded') refused++;
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          postJson(base, '/embed', {
            inputs: Array.from({ length: i % 2 === 0 ? 1 : 12 }, (_, k) => `request ${i} text ${k}`),
          }),
        ),
      );
      assert.deepEqual(
        results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`),
        [],
        'no request failed',
      );
      assert.ok(refused > 0, `the replicas did answer 429s (${refused}), and the router absorbed them`);
      assert.ok(
        app.replicas.replicas.every((r) => r.state === 'up'),
        "a full replica is not unhealthy: 429s don't eject",
      );
    } finally {
      await app.close();
    }
  });
});

describe('hedging', () => {
  it('a batch stuck on a slow replica is answered by its hedge on another', async () => {
    const fast = await sim({ modelId: 'mini', latency: { batchBaseMs: 5, perTokenUs: 0, padded: false } });
    const stuck = await sim({ modelId: 'mini', latency: { batchBaseMs: 5, perTokenUs: 0, padded: false } });
    const { app, base } = await startRouter(
      [routerModel([fast.url, stuck.url], { balancing: 'round_robin' })],
      {
        'hedging.enabled': true,
      },
    );
    try {
      // both replicas learn a p95 near 5 ms
      for (let i = 0; i < 60; i++) {
        assert.equal((await postJson(base, '/embed', { inputs: [`warm ${i}`] })).status, 200);
      }
      assert.ok(
        app.replicas.replicas.every((r) => r.p95Ms !== undefined && r.p95Ms < 200),
        `p95 known: ${app.replicas.replicas.map((r) => r.p95Ms).join(', ')}`,
      );
      // now one replica hangs: every request still answers fast, through the hedge
      stuck.options.latency.batchBaseMs = 5000;
      const lost: string[] = [];
      app.replicas.onCall((r, _ns, error) => {
        if (error === 'hedge_lost') lost.push(r.url);
      });
      const t0 = Date.now();
      for (let i = 0; i < 6; i++) {
        const r = await postJson(base, '/embed', { inputs: [`hedged ${i}`] });
        assert.equal(r.status, 200, r.body);
      }
      assert.ok(Date.now() - t0 < 3000, `six requests took ${Date.now() - t0} ms, not 5 s each`);
      assert.ok(
        await new Promise<boolean>((resolve) => setTimeout(() => resolve(lost.includes(stuck.url)), 100)),
        `the stuck replica's calls were cancelled as lost hedges: ${JSON.stringify(lost)}`,
      );
    } finally {
      await app.close();
      await fast.close();
      await stuck.close();
    }
  });
});

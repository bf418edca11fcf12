/**
 * Fleet health over real sockets: a replica that dies under load is ejected after a few failed calls while its
 * batches finish on the others (no failed client request); every replica down gives fast, clear errors and the
 * router recovers without a restart when they return; a replica still loading its model is `starting`, not an
 * error, until it answers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { RunningSim } from '../../src/sim/index.js';
import { EJECT_AFTER } from '../../src/backend/replicas.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { until } from '../helpers/wait.js';
import { postJson, request, sim } from '../helpers/sim.js';

const backends = async (adminPort: number) =>
  JSON.parse((await request(`http://127.0.0.1:${adminPort}/v1/backends`, 'GET')).body) as Array<{
    url: string;
    state: string;
  }>;

describe('fleet health', () => {
  it('ejects a replica that dies under load; every client request still succeeds', async () => {
    const sims = await Promise.all([0, 1, 2].map(() => sim({ modelId: 'mini' })));
    const logs: string[] = [];
    const { app, base } = await startRouter([routerModel(sims.map((s) => s.url))], {}, (l) => logs.push(l));
    try {
      let stop = false;
      const failures: string[] = [];
      let done = 0;
      const client = async (c: number) => {
        for (let i = 0; i < 400 && !stop; i++) {
          const r = await postJson(base, '/embed', { inputs: [`client ${c} request ${i}`, 'second text'] });
          if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
          done++;
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(client));
      await until(() => done >= 20, 5000);
      await sims[1].close();
      const ejected = await until(
        async () => (await backends(app.ports.admin)).find((b) => b.url === sims[1].url)?.state === 'ejected',
        5000,
      );
      const after = done;
      await until(() => done >= after + 40, 5000);
      stop = true;
      await load;
      assert.deepEqual(failures, [], 'no client request failed');
      assert.ok(ejected, `the dead replica is ejected: ${JSON.stringify(await backends(app.ports.admin))}`);
      assert.ok(
        logs.some((l) =>
          new RegExp(
            `${sims[1].url.replace(/[.:/]/g, '.')} \\(mini\\): up -> ejected: ${EJECT_AFTER} calls in a row failed`,
          ).test(l),
        ),
        logs.join('\n'),
      );
    } finally {
      await app.close();
      await Promise.all([sims[0].close(), sims[2].close()]);
    }
  });

  it('every replica down: fast, clear errors; recovery without a restart when one returns', async () => {
    let backend: RunningSim = await sim({ modelId: 'mini' });
    const port = Number(new URL(backend.url).port);
    const logs: string[] = [];
    const { app, base } = await startRouter([routerModel([backend.url])], {}, (l) => logs.push(l));
    try {
      await backend.close();
      // the first calls fail on the dead socket and eject it; after that the answer is immediate
      for (let i = 0; i < EJECT_AFTER + 1; i++) await postJson(base, '/embed', { inputs: ['x'] });
      const t0 = Date.now();
      const r = await postJson(base, '/embed', { inputs: ['x'] });
      const ms = Date.now() - t0;
      assert.equal(r.status, 503, r.body);
      assert.equal(JSON.parse(r.body).code, 'ROUTER_ERR_NO_BACKEND');
      assert.match(JSON.parse(r.body).error, /no reachable backend .*(ejected|down)/);
      assert.ok(ms < 500, `answered in ${ms} ms`);
      assert.equal((await request(`http://127.0.0.1:${app.ports.admin}/ready`, 'GET')).status, 503);
      // the replica comes back on the same port: the router uses it again within its probe backoff
      backend = await sim({ modelId: 'mini', port });
      const back = await until(
        async () => (await postJson(base, '/embed', { inputs: ['back'] })).status === 200,
        8000,
      );
      assert.ok(back, logs.join('\n'));
      assert.ok(
        logs.some((l) => /-> up: answered \/info again/.test(l)),
        logs.join('\n'),
      );
    } finally {
      await app.close();
      await backend.close();
    }
  });

  it('a replica still loading its model (refusing connections) is starting, not an error, until it answers', async () => {
    // a TEI loading its model does not listen yet: the router starts first, the backend a moment later
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const logs: string[] = [];
    const { app, base } = await startRouter([routerModel([`http://127.0.0.1:${port}`])], {}, (l) =>
      logs.push(l),
    );
    let backend: RunningSim | undefined;
    try {
      assert.equal((await backends(app.ports.admin))[0].state, 'starting');
      assert.equal((await request(`http://127.0.0.1:${app.ports.admin}/ready`, 'GET')).status, 503);
      backend = await sim({ modelId: 'mini', port });
      const up = await until(async () => (await backends(app.ports.admin))[0].state === 'up', 6000);
      assert.ok(up, logs.join('\n'));
      assert.equal((await postJson(base, '/embed', { inputs: ['loaded'] })).status, 200);
      assert.ok(
        logs.some((l) => /starting -> up: answered \/info/.test(l)),
        logs.join('\n'),
      );
      assert.ok(!logs.some((l) => /-> down/.test(l)), 'never reported down while loading');
    } finally {
      await app.close();
      await backend?.close();
    }
  });
});

describe('failover', () => {
  it('a replica that hangs or answers 429: its batches finish on the other replica, within the timeout', async () => {
    const good = await sim({ modelId: 'mini' });
    const hanging = await sim({
      modelId: 'mini',
      faults: { rate: 1, kind: 'hang', errorType: 'Backend', seed: 1 },
    });
    const full = await sim({
      modelId: 'mini',
      faults: { rate: 1, kind: 'error', errorType: 'Overloaded', seed: 1 },
    });
    const { app, base } = await startRouter([routerModel([hanging.url, full.url, good.url])], {
      'backend.timeout_ms': 400,
    });
    try {
      // several at once: least-loaded choice spreads them over all three replicas
      const t0 = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => postJson(base, '/embed', { inputs: [`text ${i}`] })),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(6).fill(200),
        answers.map((a) => a.body).join('\n'),
      );
      // a request that met the hanging replica waited for its timeout, then went elsewhere: bounded, not hung
      assert.ok(Date.now() - t0 < 400 * 2 + 2000, `took ${Date.now() - t0} ms`);
    } finally {
      await app.close();
      await Promise.all([good.close(), hanging.close(), full.close()]);
    }
  });
});

describe('admission control', () => {
  it('under 10x overload: 429 with retry-after for what does not fit, every accepted request succeeds, no crash', async () => {
    const backend = await sim({
      modelId: 'mini',
      latency: { batchBaseMs: 150, perTokenUs: 0, padded: false },
    });
    // room for about 4 requests of 8 short texts (each ~8 x (2 + 5) estimated tokens)
    const { app, base } = await startRouter([routerModel([backend.url])], {
      'admission.max_queued_tokens': 240,
    });
    try {
      const requests = Array.from({ length: 40 }, (_, i) =>
        postJson(base, '/embed', { inputs: Array.from({ length: 8 }, (_, k) => `r${i} t${k} words`) }),
      );
      const answers = await Promise.all(requests);
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      assert.equal(ok.length + refused.length, 40, answers.map((a) => `${a.status} ${a.body}`).join('\n'));
      assert.ok(ok.length >= 1 && refused.length >= 20, `${ok.length} accepted, ${refused.length} refused`);
      for (const a of ok) assert.equal((JSON.parse(a.body) as number[][]).length, 8);
      const body = JSON.parse(refused[0].body) as { code: string; error: string };
      assert.equal(body.code, 'ROUTER_ERR_OVERLOADED');
      assert.match(body.error, /tokens accepted and not yet answered \(limit 240\)/);
      assert.equal(refused[0].headers['retry-after'], '1');
      // once the queue has drained, requests are accepted again
      assert.equal((await postJson(base, '/embed', { inputs: ['after the storm'] })).status, 200);
      const m = (await request(`http://127.0.0.1:${app.ports.admin}/metrics`, 'GET')).body;
      assert.match(m, /tei_router_model_queued_tokens\{model="mini"\} 0/);
    } finally {
      await app.close();
      await backend.close();
    }
  });
});

describe('balancing', () => {
  it('a model may choose round_robin: requests are spread evenly over its replicas', async () => {
    const sims = await Promise.all([0, 1, 2].map(() => sim({ modelId: 'mini' })));
    const { app, base } = await startRouter([
      routerModel(
        sims.map((s) => s.url),
        { balancing: 'round_robin' },
      ),
    ]);
    try {
      for (let i = 0; i < 30; i++)
        assert.equal((await postJson(base, '/embed', { inputs: [`r${i}`] })).status, 200);
      const m = (await request(`http://127.0.0.1:${app.ports.admin}/metrics`, 'GET')).body;
      const calls = sims.map((s) =>
        Number(
          new RegExp(`tei_router_backend_calls_total\\{backend="${s.url}",outcome="ok"\\} (\\d+)`).exec(
            m,
          )?.[1] ?? 0,
        ),
      );
      assert.deepEqual(
        calls,
        [10, 10, 10],
        m
          .split('\n')
          .filter((l) => l.includes('backend_calls_total'))
          .join('\n'),
      );
    } finally {
      await app.close();
      await Promise.all(sims.map((s) => s.close()));
    }
  });
});

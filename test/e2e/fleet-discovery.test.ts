/**
 * DNS discovery over real sockets: a `dns+http://name:port` model whose replicas are the A records a test DNS server
 * (test/helpers/dns-server.ts, reached through discovery.dns_servers) hands out, like a Kubernetes headless Service.
 * Replicas added and removed under load drop no request; a name that stops existing leaves a clear error; a DNS
 * outage keeps the replicas found last.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.js';
import type { RunningSim } from '../../src/sim/index.js';
import { startTestDns } from '../helpers/dns-server.js';
import type { TestDns } from '../helpers/dns-server.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { postJson, sim } from '../helpers/sim.js';
import { until } from '../helpers/wait.js';

const NAME = 'tei.fleet.test';
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('DNS discovery (dns+ backends)', () => {
  let dns: TestDns;
  const sims: RunningSim[] = [];
  const batches = new Map<string, number>();
  let app: App;
  let base: string;
  const lines: string[] = [];

  before(async () => {
    dns = await startTestDns({ ttl: 1 });
    // three replicas on three loopback addresses and one port: what a headless Service's records point at
    let port = 0;
    for (const hostname of ADDRESSES) {
      const s = await sim({
        hostname,
        port,
        modelId: 'mini',
        latency: { batchBaseMs: 15, perTokenUs: 0, padded: false },
      });
      port = s.port;
      batches.set(hostname, 0);
      s.engine.onBatch(() => batches.set(hostname, batches.get(hostname)! + 1));
      sims.push(s);
    }
    dns.set(NAME, [ADDRESSES[0]]);
    ({ app, base } = await startRouter(
      [routerModel([`dns+http://${NAME}:${port}`])],
      {
        'discovery.interval_ms': 100,
        'discovery.dns_servers': [dns.server],
        'health.slow_start_ms': 0,
      },
      (line) => lines.push(line),
    ));
  });

  after(async () => {
    await app?.close();
    await Promise.all(sims.map((s) => s.close()));
    await dns?.close();
  });

  const urls = () => app.replicas.replicas.map((r) => r.url).sort();
  const upCount = () => app.replicas.replicas.filter((r) => r.state === 'up').length;

  it('starts with the replicas the name resolves to', () => {
    assert.deepEqual(urls(), [`http://${ADDRESSES[0]}:${sims[0].port}`]);
    assert.equal(upCount(), 1);
    assert.equal(app.replicas.replicas[0].source, `dns+http://${NAME}:${sims[0].port}`);
  });

  it('replicas added and removed under load: every request succeeds and reaches the replicas listed', async () => {
    const statuses: number[] = [];
    let stop = false;
    const deadline = Date.now() + 30_000;
    // four clients in a loop, bounded in count and time: single texts (direct path) and 12-text batches (workers)
    const client = async (c: number) => {
      for (let i = 0; i < 500 && !stop && Date.now() < deadline; i++) {
        const n = i % 3 === 0 ? 12 : 1;
        const inputs = Array.from({ length: n }, (_, k) => `client ${c} request ${i} text ${k}`);
        const r = await postJson(base, '/embed', { inputs });
        statuses.push(r.status);
        if (r.status !== 200) lines.push(`failed: ${r.status} ${r.body}`);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(client));
    try {
      await new Promise((r) => setTimeout(r, 200));
      dns.set(NAME, ADDRESSES);
      assert.ok(
        await until(() => upCount() === 3, 5000),
        `three replicas up after the records grew: ${JSON.stringify(urls())}`,
      );
      for (const a of ADDRESSES) batches.set(a, 0);
      assert.ok(
        await until(() => ADDRESSES.every((a) => batches.get(a)! > 0), 5000),
        `every replica gets batches: ${JSON.stringify([...batches])}`,
      );
      dns.set(NAME, [ADDRESSES[2]]);
      assert.ok(
        await until(() => urls().length === 1, 5000),
        `one replica left after the records shrank: ${JSON.stringify(urls())}`,
      );
      assert.deepEqual(urls(), [`http://${ADDRESSES[2]}:${sims[2].port}`]);
      await new Promise((r) => setTimeout(r, 300)); // batches sent to the removed replicas finish meanwhile
      const before = [batches.get(ADDRESSES[0])!, batches.get(ADDRESSES[1])!];
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        [batches.get(ADDRESSES[0]), batches.get(ADDRESSES[1])],
        before,
        'the removed replicas get no new batches',
      );
      const n = statuses.length;
      await until(() => statuses.length >= n + 20, 10_000); // and the load goes on without them
    } finally {
      stop = true;
      await load;
    }
    assert.ok(statuses.length >= 30, `the load ran (${statuses.length} requests)`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      `no request failed:\n${lines.filter((l) => l.startsWith('failed')).join('\n')}`,
    );
    assert.ok(
      lines.some((l) =>
        l.includes(`backend http://${ADDRESSES[1]}:${sims[1].port} (mini) added (listed by dns+`),
      ),
      'the added replica is logged with the name that listed it',
    );
    assert.ok(
      lines.some((l) => l.includes(`(mini) removed: no longer listed by dns+http://${NAME}`)),
      'the removed replica is logged with the reason',
    );
  });

  it('a name that stops existing leaves a clear error, and replicas come back with its records', async () => {
    dns.delete(NAME);
    assert.ok(await until(() => urls().length === 0, 5000), 'no replicas once the name is gone');
    const r = await postJson(base, '/embed', { inputs: ['anyone there?'] });
    assert.equal(r.status, 503, r.body);
    const body = JSON.parse(r.body) as { code: string; error: string };
    assert.equal(body.code, 'ROUTER_ERR_NO_BACKEND');
    assert.match(body.error, new RegExp(`no replicas: ${NAME.replace(/\./g, '\\.')}: no address records`));

    dns.set(NAME, [ADDRESSES[1]]);
    assert.ok(await until(() => upCount() === 1, 5000), 'the replica is back once the name resolves');
    assert.equal((await postJson(base, '/embed', { inputs: ['back'] })).status, 200);
  });

  it('a DNS outage keeps the replicas found last', async () => {
    await dns.close();
    await new Promise((r) => setTimeout(r, 600)); // several discovery rounds fail meanwhile
    assert.deepEqual(urls(), [`http://${ADDRESSES[1]}:${sims[1].port}`]);
    assert.equal((await postJson(base, '/embed', { inputs: ['still here'] })).status, 200);
    assert.ok(
      await until(
        () => lines.some((l) => l.includes(`dns+http://${NAME}`) && l.includes('did not resolve')),
        5000,
      ),
      'the failure is logged, once',
    );
    assert.equal(
      lines.filter((l) => l.includes('did not resolve')).length,
      1,
      'logged once, not every round',
    );
  });
});

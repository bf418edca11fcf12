/** The optional uWebSockets.js listener: same routes, same answers as the node HTTP listener; or one clear line. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.js';
import { loadUws } from '../../src/ingress/http/uws.js';
import type { RunningSim } from '../../src/sim/index.js';
import { postJson, request, sim } from '../helpers/sim.js';
import { routerModel, startRouter } from '../helpers/router.js';

const available = !('error' in loadUws());

describe('router uWebSockets.js listener', () => {
  let backend: RunningSim;
  let app: App;
  const lines: string[] = [];

  before(async () => {
    backend = await sim({ modelId: 'mini' });
    ({ app } = await startRouter([routerModel([backend.url])], { 'uws.enabled': true, 'uws.port': 0 }, (l) =>
      lines.push(l),
    ));
  });

  after(async () => {
    await app.close();
    await backend.close();
  });

  it('starts when a build loads, else says why in one line and the rest runs', async (t) => {
    const http = `http://127.0.0.1:${app.ports.http}`;
    assert.equal((await postJson(http, '/embed', { inputs: 'a' })).status, 200);
    if (!available) {
      assert.equal(app.ports.uws, undefined);
      assert.equal(lines.filter((l) => /no uWebSockets\.js build loads/.test(l)).length, 1);
      t.skip('no uWebSockets.js build loads here');
      return;
    }
    assert.equal(typeof app.ports.uws, 'number');
    assert.equal(lines.filter((l) => /uWebSockets\.js HTTP\/1\.1 \(plaintext\) on/.test(l)).length, 1);
  });

  it('answers exactly as the node listener does', { skip: !available }, async () => {
    const http = `http://127.0.0.1:${app.ports.http}`;
    const uws = `http://127.0.0.1:${app.ports.uws}`;
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i}`);
    const a = await postJson(http, '/embed', { inputs: texts });
    const b = await postJson(uws, '/embed', { inputs: texts });
    assert.equal(b.status, 200);
    assert.equal(b.body, a.body);
    assert.equal(b.headers['x-compute-tokens'], a.headers['x-compute-tokens']);
    const o = await postJson(uws, '/v1/embeddings', { input: 'a', model: 'mini' });
    assert.equal(o.status, 200);
    assert.equal(JSON.parse(o.body).data[0].embedding.length, 384);
    assert.equal((await request(uws + '/nope', 'GET')).status, 404);
    assert.equal((await request(uws + '/embed', 'GET')).status, 405);
    const noType = await request(uws + '/embed', 'POST', '{"inputs":"a"}');
    assert.equal(noType.status, 415);
    assert.equal(noType.body, 'Expected request with `Content-Type: application/json`');
    const big = await postJson(uws, '/embed', JSON.stringify({ inputs: 'x'.repeat(2_100_000) }));
    assert.equal(big.status, 413);
    const empty = await postJson(uws, '/embed', { inputs: '' });
    assert.equal(empty.status, 400);
    assert.deepEqual(JSON.parse(empty.body), {
      error: 'Input validation error: `inputs` cannot be empty',
      error_type: 'Empty',
    });
    const unknown = await postJson(uws, '/embed?model=nope', { inputs: 'a' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['x-tei-router-error'], 'ROUTER_ERR_UNKNOWN_MODEL');
  });
});

/** Regressions found in review: one client's bad row, a dead replica, a bad tokenizer path, a backend's status. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../../src/config.js';
import { RouterError } from '../../src/errors.js';
import type { RunningSim } from '../../src/sim/index.js';
import { postJson, sim } from '../helpers/sim.js';
import { routerModel, startRouter } from '../helpers/router.js';

const model = (backends: string[], extra: Partial<ModelConfig> = {}) =>
  routerModel(backends, { coalesceMs: 50, ...extra });
const router = (models: ModelConfig[]) => startRouter(models);

describe('router fault isolation', () => {
  it("one client's invalid row fails only that client, not the requests coalesced with it", async () => {
    const backend = await sim({
      modelId: 'mini',
      latency: { batchBaseMs: 80, perTokenUs: 0, padded: false },
    });
    const { app, base } = await router([model([backend.url])]);
    try {
      const first = postJson(base, '/embed', { inputs: ['keeps the model busy'] });
      await new Promise((r) => setTimeout(r, 10));
      const [good, empty, long, good2] = await Promise.all([
        postJson(base, '/embed', { inputs: ['fine'] }),
        postJson(base, '/embed', { inputs: ['x', ''] }),
        postJson(base, '/embed', { inputs: 'word '.repeat(300), truncate: false }),
        postJson(base, '/embed', { inputs: ['also fine'] }),
      ]);
      assert.equal((await first).status, 200);
      assert.equal(good.status, 200, good.body);
      assert.equal(good2.status, 200, good2.body);
      assert.equal(empty.status, 400);
      assert.equal(JSON.parse(empty.body).error, 'Input validation error: `inputs` cannot be empty');
      assert.equal(long.status, 422);
      assert.match(JSON.parse(long.body).error, /must have less than 256 tokens/);
    } finally {
      await app.close();
      await backend.close();
    }
  });

  it('a replica that stops answering does not fail requests another replica can serve', async () => {
    const a = await sim({ modelId: 'mini' });
    const b = await sim({ modelId: 'mini' });
    const { app, base } = await router([model([a.url, b.url])]);
    try {
      await a.close();
      for (let i = 0; i < 6; i++) {
        const r = await postJson(base, '/embed', { inputs: [`request ${i}`] });
        assert.equal(r.status, 200, r.body);
      }
    } finally {
      await app.close();
      await b.close();
    }
  });

  it('a tokenizer path that cannot load stops startup with ROUTER_ERR_TOKENIZER_LOAD', async () => {
    const backend = await sim({ modelId: 'mini' });
    try {
      await assert.rejects(
        router([model([backend.url], { tokenizer: '/nonexistent/tokenizer.json' })]),
        (e: unknown) => e instanceof RouterError && e.code === 'ROUTER_ERR_TOKENIZER_LOAD',
      );
    } finally {
      await backend.close();
    }
  });

  it('reports the backend token count whether or not a request was coalesced (prompts included)', async () => {
    const backend = await sim({
      modelId: 'mini',
      prompts: { query: 'represent this query for retrieval: ' },
      latency: { batchBaseMs: 60, perTokenUs: 0, padded: false },
    });
    const { app, base } = await router([model([backend.url])]);
    try {
      const body = { inputs: ['what is the capital of france'], prompt_name: 'query' };
      const direct = await postJson(backend.url, '/embed', body);
      const alone = await postJson(base, '/embed', body);
      assert.equal(alone.headers['x-compute-tokens'], direct.headers['x-compute-tokens']);
      const busy = postJson(base, '/embed', { inputs: ['busy'] });
      await new Promise((r) => setTimeout(r, 10));
      const merged = await Promise.all([postJson(base, '/embed', body), postJson(base, '/embed', body)]);
      await busy;
      for (const m of merged) assert.equal(m.headers['x-compute-tokens'], direct.headers['x-compute-tokens']);
    } finally {
      await app.close();
      await backend.close();
    }
  });

  it("keeps a TEI backend's own status (413 from TEI 1.8) on /embed", async () => {
    const backend: RunningSim = await sim({
      modelId: 'mini',
      teiVersion: '1.8',
      prompts: { query: 'query: ' },
    });
    const { app, base } = await router([model([backend.url])]);
    try {
      const r = await postJson(base, '/embed', { inputs: 'a', prompt_name: 'nope' });
      assert.equal(r.status, 413, r.body);
      assert.equal(JSON.parse(r.body).error_type, 'Validation');
    } finally {
      await app.close();
      await backend.close();
    }
  });
  it('token-id inputs for a model with only gRPC backends answer ROUTER_ERR_UNSUPPORTED, naming the fix', async () => {
    const backend = await sim({ modelId: 'mini', protocol: 'grpc' });
    const { app, base } = await router([model([backend.url])]);
    try {
      const r = await postJson(base, '/embed', { inputs: [[101, 7592, 102]] });
      assert.equal(r.status, 422, r.body);
      const body = JSON.parse(r.body) as { code: string; error: string };
      assert.equal(body.code, 'ROUTER_ERR_UNSUPPORTED');
      assert.match(body.error, /no usable http backend.*add an http:\/\/ backend/);
      const text = await postJson(base, '/embed', { inputs: ['text still works'] });
      assert.equal(text.status, 200, text.body);
    } finally {
      await app.close();
      await backend.close();
    }
  });
});

/**
 * The router's TEI routes (/embed_all, /embed_sparse, /predict, /rerank, /similarity, /tokenize, /decode, /info,
 * /health) over real sockets, in front of simulated TEI backends of the right model type. Every model has an HTTP
 * and a gRPC replica; replicas are taken in round robin, so each request is sent twice in a row and both answers
 * (one per protocol) must equal the simulator's own HTTP answer byte for byte, with the same x-* header names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ModelConfig } from '../../src/config.js';
import { createHttpIngress } from '../../src/ingress/http/node.js';
import { createRoutes } from '../../src/ingress/http/routes.js';
import { createTeiRoutes } from '../../src/ingress/http/tei-routes.js';
import { ROUTER_MAX_CLIENT_BATCH_SIZE } from '../../src/ingress/http/common.js';
import type { DualServer } from '../../src/net/h1-h2c.js';
import type { RunningSim } from '../../src/sim/index.js';
import type { SimOptions } from '../../src/sim/options.js';
import type { RawResponse } from '../helpers/sim.js';
import { postJson, request, sim } from '../helpers/sim.js';
import { routerModel } from '../helpers/router.js';

const TEI_HEADERS = [
  'x-compute-characters',
  'x-compute-time',
  'x-compute-tokens',
  'x-compute-type',
  'x-inference-time',
  'x-queue-time',
  'x-tokenization-time',
  'x-total-time',
];

const xHeaders = (r: RawResponse) =>
  Object.keys(r.headers)
    .filter((k) => k.startsWith('x-'))
    .sort();

const model = (name: string, backends: string[]): ModelConfig => routerModel(backends, { name });

describe('router TEI routes → TEI backends (HTTP + gRPC)', () => {
  const sims: RunningSim[] = [];
  let emb: RunningSim;
  let embRef: RunningSim;
  let rer: RunningSim;
  let rerRef: RunningSim;
  let cls: RunningSim;
  let splade: RunningSim;
  let app: App;
  let ingress: DualServer;
  let base: string;

  async function pairOf(options: Partial<SimOptions>): Promise<[RunningSim, RunningSim]> {
    const h = await sim({ maxClientBatchSize: 8, ...options });
    const g = await sim({ maxClientBatchSize: 8, ...options, protocol: 'grpc' });
    sims.push(h, g);
    return [h, g];
  }

  before(async () => {
    const e = await pairOf({ modelId: 'mini' });
    const r = await pairOf({ modelId: 'reranker', modelType: 'reranker' });
    const c = await pairOf({ modelId: 'classifier', modelType: 'classifier', labels: ['neg', 'neu', 'pos'] });
    const s = await pairOf({ modelId: 'splade', pooling: 'splade' });
    [emb, rer, cls, splade] = [e[0], r[0], c[0], s[0]];
    embRef = await sim({ modelId: 'mini', maxClientBatchSize: 1000 });
    rerRef = await sim({ modelId: 'reranker', modelType: 'reranker', maxClientBatchSize: 1000 });
    sims.push(embRef, rerRef);
    const config = loadConfig({
      flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1 },
    });
    config.models = [
      model('mini', [e[0].url, e[1].url]),
      model('rerank', [r[0].url, r[1].url]),
      model('cls', [c[0].url, c[1].url]),
      model('splade', [s[0].url, s[1].url]),
    ];
    config.defaultModel = 'mini';
    app = await startApp(config, { log: () => {} });
    const routes = new Map([
      ...createRoutes({ pipeline: app.pipeline }),
      ...createTeiRoutes({ pipeline: app.pipeline, replicas: app.replicas, tokenizationWorkers: 1 }),
    ]);
    ingress = createHttpIngress(routes, config.http);
    await new Promise<void>((resolve) => ingress.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      ingress.server.close(() => resolve());
      ingress.destroyConnections();
    });
    await app.close();
    await Promise.all(sims.map((s) => s.close()));
  });

  /**
   * Sends `body` to the router twice (so both replicas answer) and once to `ref`; asserts status, body and x-*
   * header names are the simulator's, and the token and character counts too where TEI sends them.
   */
  async function same(
    route: string,
    body: unknown,
    ref: RunningSim,
    modelName?: string,
  ): Promise<RawResponse> {
    const direct = await postJson(ref.url, route, body);
    let last: RawResponse | undefined;
    for (let i = 0; i < 2; i++) {
      const headers: Record<string, string> = modelName ? { 'x-model': modelName } : {};
      const r = await postJson(base, route, body, headers);
      const what = `${route} ${JSON.stringify(body).slice(0, 120)} (try ${i})`;
      assert.equal(r.status, direct.status, `${what}: ${r.body}`);
      assert.equal(r.body, direct.body, what);
      assert.deepEqual(xHeaders(r), xHeaders(direct), what);
      assert.equal(r.headers['x-compute-tokens'], direct.headers['x-compute-tokens'], what);
      assert.equal(r.headers['x-compute-characters'], direct.headers['x-compute-characters'], what);
      assert.equal(r.headers['content-type'], direct.headers['content-type'], what);
      last = r;
    }
    return last!;
  }

  it('POST /embed_all: per-token vectors, single and batch, with TEI headers', async () => {
    const r = await same('/embed_all', { inputs: 'hello world' }, emb);
    assert.deepEqual(xHeaders(r), TEI_HEADERS);
    await same('/embed_all', { inputs: ['one', 'two words here'], truncation_direction: 'Left' }, emb);
  });

  it('POST /embed_sparse: SPLADE entries; a non-SPLADE model keeps TEI’s 424', async () => {
    await same('/embed_sparse', { inputs: 'hello sparse world' }, splade, 'splade');
    await same('/embed_sparse', { inputs: ['one', 'two words', 'three little words'] }, splade, 'splade');
    const err = await same('/embed_sparse', { inputs: 'x' }, emb);
    assert.equal(err.status, 424);
    assert.deepEqual(xHeaders(err), []);
  });

  it('POST /predict: string, pair, batch and raw scores; an embedding model keeps TEI’s 424', async () => {
    for (const body of [
      { inputs: 'I love this' },
      { inputs: ['premise', 'hypothesis'] },
      { inputs: [['a'], ['b', 'c'], ['d']] },
      { inputs: 'raw', raw_scores: true },
    ]) {
      const r = await same('/predict', body, cls, 'cls');
      assert.deepEqual(xHeaders(r), TEI_HEADERS);
    }
    assert.equal((await same('/predict', { inputs: 'x' }, emb)).status, 424);
  });

  it('POST /rerank: texts and raw scores; empty texts keep TEI’s 400 Empty', async () => {
    const body = {
      query: 'what is deep learning?',
      texts: ['Deep learning is a subset', 'cheese', 'neural nets'],
      return_text: true,
    };
    const r = await same('/rerank', body, rer, 'rerank');
    assert.deepEqual(xHeaders(r), TEI_HEADERS);
    await same('/rerank', { query: 'q', texts: ['a', 'b'], raw_scores: true }, rer, 'rerank');
    const empty = await same('/rerank', { query: 'q', texts: [] }, rer, 'rerank');
    assert.equal(empty.status, 400);
    assert.equal(empty.body, '{"error":"`texts` cannot be empty","error_type":"Empty"}');
  });

  it('POST /tokenize and /decode: TEI JSON without x-* headers; empty inputs keep TEI’s errors', async () => {
    const t = await same('/tokenize', { inputs: 'Hello wörld!' }, emb);
    assert.deepEqual(xHeaders(t), []);
    await same('/tokenize', { inputs: ['a b', 'c'], add_special_tokens: false }, emb);
    const te = await same('/tokenize', { inputs: [] }, emb);
    assert.equal(te.status, 400);
    const ids = (JSON.parse(t.body) as Array<Array<{ id: number }>>)[0].map((x) => x.id);
    const d = await same('/decode', { ids }, emb);
    assert.deepEqual(xHeaders(d), []);
    await same('/decode', { ids: [ids, ids.slice(1, 3)], skip_special_tokens: false }, emb);
    assert.equal((await same('/decode', { ids: [] }, emb)).status, 400);
  });

  it('cuts batches larger than the backends accept and joins them in TEI’s order', async () => {
    const texts = Array.from({ length: 21 }, (_, i) => `text number ${i} ${'w '.repeat(i % 5)}`);
    await same('/embed_all', { inputs: texts }, embRef);
    await same('/tokenize', { inputs: texts }, embRef);
    await same('/decode', { ids: texts.map((_, i) => [2000 + i, 2001 + i]) }, embRef);
    // repeated texts tie on score: ties must come out as TEI orders them
    const many = texts.map((t, i) => (i % 3 === 0 ? 'same text' : t));
    await same('/rerank', { query: 'number', texts: many, return_text: true }, rerRef, 'rerank');
    const over = await postJson(base, '/tokenize', {
      inputs: Array.from({ length: ROUTER_MAX_CLIENT_BATCH_SIZE + 1 }, () => 'a'),
    });
    assert.equal(over.status, 422);
    assert.deepEqual(JSON.parse(over.body), {
      error: `batch size ${ROUTER_MAX_CLIENT_BATCH_SIZE + 1} > maximum allowed batch size ${ROUTER_MAX_CLIENT_BATCH_SIZE}`,
      error_type: 'Validation',
    });
  });

  it('POST /similarity: TEI’s cosine bit for bit; empty sentences keep TEI’s 400', async () => {
    const body = {
      inputs: {
        source_sentence: 'the cat sat',
        sentences: ['a cat sat down', 'stock markets fell', 'the cat sat'],
      },
    };
    const direct = await postJson(emb.url, '/similarity', body);
    const r = await postJson(base, '/similarity', body);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, direct.body);
    assert.deepEqual(xHeaders(r), TEI_HEADERS);
    assert.equal(r.headers['x-compute-characters'], direct.headers['x-compute-characters']);
    assert.equal(r.headers['x-compute-tokens'], direct.headers['x-compute-tokens']);
    const withParams = { ...body, parameters: { truncate: true, truncation_direction: 'Left' } };
    assert.equal(
      (await postJson(base, '/similarity', withParams)).body,
      (await postJson(emb.url, '/similarity', withParams)).body,
    );
    const empty = { inputs: { source_sentence: 'a', sentences: [] } };
    const e = await postJson(base, '/similarity', empty);
    const de = await postJson(emb.url, '/similarity', empty);
    assert.equal(e.status, 400);
    assert.equal(e.body, de.body);
  });

  it('GET /info: the replica’s /info in TEI’s field order, with the router’s max_client_batch_size', async () => {
    for (const [name, s] of [
      ['mini', emb],
      ['rerank', rer],
    ] as const) {
      const direct = JSON.parse((await request(s.url + '/info', 'GET')).body) as Record<string, unknown>;
      for (let i = 0; i < 2; i++) {
        const r = await request(`${base}/info?model=${name}`, 'GET');
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['content-type'], 'application/json');
        const info = JSON.parse(r.body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(info), Object.keys(direct));
        assert.deepEqual(info, {
          ...direct,
          served_model_name: name,
          max_client_batch_size: ROUTER_MAX_CLIENT_BATCH_SIZE,
          // synthesized: BackendInfo carries no labels; gRPC /info no pooling or auto_truncate
          ...(name === 'rerank' ? { model_type: { reranker: { id2label: {}, label2id: {} } } } : {}),
        });
      }
    }
  });

  it('GET /health: 200 with an empty body; model selection and unknown models', async () => {
    const h = await request(base + '/health', 'GET');
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
    assert.equal(h.headers['content-type'], undefined);
    const viaQuery = await postJson(base, '/tokenize?model=cls', { inputs: 'abc' });
    assert.equal(viaQuery.body, (await postJson(cls.url, '/tokenize', { inputs: 'abc' })).body);
    const unknown = await postJson(base, '/rerank', { query: 'q', texts: ['a'] }, { 'x-model': 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).code, 'ROUTER_ERR_UNKNOWN_MODEL');
    const bad = await postJson(base, '/rerank', '{"query": 1, "texts": []}');
    assert.equal(bad.status, 422);
    assert.equal(bad.body, (await postJson(rer.url, '/rerank', '{"query": 1, "texts": []}')).body);
  });
});

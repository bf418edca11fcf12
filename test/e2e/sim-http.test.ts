/**
 * Conformance of `tei-router sim` over HTTP against TEI's wire contract (shared/reference/tei-protocol.md §1, §3,
 * §7). These assertions are the spec the router is later held to: exact shapes, status codes and texts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { RunningSim } from '../../src/sim/index.js';
import { norm, postJson, request, sim } from '../helpers/sim.js';

const X_HEADERS = [
  'x-compute-type',
  'x-compute-time',
  'x-compute-characters',
  'x-compute-tokens',
  'x-total-time',
  'x-tokenization-time',
  'x-queue-time',
  'x-inference-time',
];

function teiError(body: string): { error: string; error_type: string } {
  return JSON.parse(body) as { error: string; error_type: string };
}

describe('sim HTTP: embedding model, TEI 1.9', () => {
  let s: RunningSim;
  let base: string;
  before(async () => {
    s = await sim();
    base = s.url;
  });
  after(() => s.close());

  it('POST /embed returns one 384-d unit vector per input, the same numbers every time', async () => {
    const r = await postJson(base, '/embed', { inputs: ['a', 'b'] });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const vectors = JSON.parse(r.body) as number[][];
    assert.equal(vectors.length, 2);
    for (const v of vectors) {
      assert.equal(v.length, 384);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5);
    }
    assert.notDeepEqual(vectors[0], vectors[1]);
    const again = await postJson(base, '/embed', { inputs: ['a', 'b'] });
    assert.equal(again.body, r.body);
    const single = await postJson(base, '/embed', { inputs: 'a' });
    assert.deepEqual(JSON.parse(single.body), [vectors[0]]);
  });

  it('sends every x-* header on success, with TEI values', async () => {
    const r = await postJson(base, '/embed', { inputs: ['héllo world', 'b'] });
    for (const h of X_HEADERS) assert.ok(h in r.headers, `missing ${h}`);
    assert.equal(r.headers['x-compute-type'], 'gpu+optimized');
    assert.equal(r.headers['x-compute-characters'], '12');
    // [CLS] hello world [SEP] + [CLS] b [SEP] with the bert-base-uncased vocabulary
    assert.equal(r.headers['x-compute-tokens'], '7');
    assert.match(String(r.headers['x-inference-time']), /^\d+$/);
    assert.equal(r.headers['access-control-allow-origin'], '*');
  });

  it('sends no x-* header on errors, /tokenize, /decode or /info', async () => {
    for (const [method, route, body] of [
      ['POST', '/embed', { inputs: '' }],
      ['POST', '/tokenize', { inputs: 'a' }],
      ['POST', '/decode', { ids: [2023] }],
      ['GET', '/info', undefined],
    ] as const) {
      const r =
        method === 'GET' ? await request(base + route, 'GET') : await postJson(base, route, body as object);
      for (const h of X_HEADERS) assert.ok(!(h in r.headers), `${route} sent ${h}`);
    }
  });

  it('honours normalize=false and dimensions (truncate then renormalise)', async () => {
    const raw = JSON.parse((await postJson(base, '/embed', { inputs: 'x', normalize: false })).body)[0];
    assert.ok(Math.abs(norm(raw) - 1) > 1e-3);
    const cut = JSON.parse((await postJson(base, '/embed', { inputs: 'x', dimensions: 8 })).body)[0];
    assert.equal(cut.length, 8);
    assert.ok(Math.abs(norm(cut) - 1) < 1e-5);
    const rawCut = raw.slice(0, 8);
    const n = norm(rawCut);
    cut.forEach((v: number, i: number) => assert.ok(Math.abs(v - rawCut[i] / n) < 1e-6));
  });

  it('rejects dimensions 0 and dimensions above the model dimension with TEI texts', async () => {
    const zero = await postJson(base, '/embed', { inputs: 'x', dimensions: 0 });
    assert.equal(zero.status, 422);
    assert.deepEqual(teiError(zero.body), {
      error: 'Input validation error: `dimensions` should be positive',
      error_type: 'Validation',
    });
    const big = await postJson(base, '/embed', { inputs: 'x', dimensions: 385 });
    assert.equal(big.status, 422);
    assert.equal(
      teiError(big.body).error,
      'Input validation error: `dimensions` should be smaller than the maximum embedding dimension.',
    );
  });

  it('rejects a batch over max_client_batch_size with 422 and TEI text; 32 passes', async () => {
    const r = await postJson(base, '/embed', { inputs: Array.from({ length: 33 }, (_, i) => `t${i}`) });
    assert.equal(r.status, 422);
    assert.deepEqual(teiError(r.body), {
      error: 'batch size 33 > maximum allowed batch size 32',
      error_type: 'Validation',
    });
    const ok = await postJson(base, '/embed', { inputs: Array.from({ length: 32 }, (_, i) => `t${i}`) });
    assert.equal(ok.status, 200);
  });

  it('rejects empty inputs with 400 Empty', async () => {
    for (const inputs of ['', [], [''], ['a', '']]) {
      const r = await postJson(base, '/embed', { inputs });
      assert.equal(r.status, 400, JSON.stringify(inputs));
      assert.deepEqual(teiError(r.body), {
        error: 'Input validation error: `inputs` cannot be empty',
        error_type: 'Empty',
      });
    }
  });

  it('accepts token-id inputs, single and batched', async () => {
    const ids = await postJson(base, '/embed', { inputs: [7592, 2088] });
    assert.equal(ids.status, 200);
    assert.equal(JSON.parse(ids.body).length, 1);
    assert.equal(ids.headers['x-compute-characters'], '2');
    const batch = await postJson(base, '/embed', { inputs: [[7592], 'hello'] });
    assert.equal(JSON.parse(batch.body).length, 2);
  });

  it('gives axum plain-text rejections: 415, 400, 422', async () => {
    const noType = await request(base + '/embed', 'POST', '{"inputs":"a"}');
    assert.equal(noType.status, 415);
    assert.equal(noType.body, 'Expected request with `Content-Type: application/json`');
    assert.match(String(noType.headers['content-type']), /^text\/plain/);
    const bad = await postJson(base, '/embed', '{"inputs": [');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^Failed to parse the request body as JSON: /);
    const wrong = await postJson(base, '/embed', '{"inputs": {"a": 1}}');
    assert.equal(wrong.status, 422);
    assert.equal(
      wrong.body,
      'Failed to deserialize the JSON body into the target type: inputs: data did not match any variant of untagged enum Input at line 1 column 19',
    );
    const missing = await postJson(base, '/embed', '{}');
    assert.equal(
      missing.body,
      'Failed to deserialize the JSON body into the target type: missing field `inputs` at line 1 column 2',
    );
    const nullNormalize = await postJson(base, '/embed', '{"inputs":"a","normalize":null}');
    assert.equal(nullNormalize.status, 422);
    assert.match(
      nullNormalize.body,
      /normalize: invalid type: null, expected a boolean at line 1 column 30$/,
    );
    const badDir = await postJson(base, '/embed', { inputs: 'a', truncation_direction: 'up' });
    assert.match(badDir.body, /truncation_direction: unknown variant `up`, expected `Left` or `Right`/);
  });

  it('accepts lowercase truncation_direction on 1.9', async () => {
    const r = await postJson(base, '/embed', { inputs: 'a', truncation_direction: 'left' });
    assert.equal(r.status, 200);
  });

  it('enforces the payload limit with a plain-text 413, even for a 10 MB body', async () => {
    const big = JSON.stringify({ inputs: 'a'.repeat(10 * 1024 * 1024) });
    const r = await postJson(base, '/embed', big);
    assert.equal(r.status, 413);
    assert.equal(r.body, 'Failed to buffer the request body: length limit exceeded');
    const after = await postJson(base, '/embed', { inputs: 'still alive' });
    assert.equal(after.status, 200);
  });

  it('truncates long inputs by default (auto-truncate on 1.9) and rejects them with truncate=false', async () => {
    const long = 'word '.repeat(400);
    const ok = await postJson(base, '/embed', { inputs: long });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-compute-tokens'], '256');
    const left = await postJson(base, '/embed', { inputs: long + 'tail', truncation_direction: 'Left' });
    assert.equal(left.status, 200);
    const no = await postJson(base, '/embed', { inputs: long, truncate: false });
    assert.equal(no.status, 422);
    assert.deepEqual(teiError(no.body), {
      error: 'Input validation error: `inputs` must have less than 256 tokens. Given: 402',
      error_type: 'Validation',
    });
  });

  it('the same text after truncation gives the same vector', async () => {
    const base256 = 'word '.repeat(300);
    const a = await postJson(base, '/embed', { inputs: base256 + 'alpha' });
    const b = await postJson(base, '/embed', { inputs: base256 + 'beta' });
    assert.equal(a.body, b.body);
  });

  it('POST /embed_all returns per-token vectors', async () => {
    const r = await postJson(base, '/embed_all', { inputs: ['hello world'] });
    assert.equal(r.status, 200);
    const out = JSON.parse(r.body) as number[][][];
    assert.equal(out.length, 1);
    assert.equal(out[0].length, 4);
    assert.equal(out[0][0].length, 384);
  });

  it('POST /embed_sparse on a non-SPLADE model is a 424 Backend error', async () => {
    const r = await postJson(base, '/embed_sparse', { inputs: 'a' });
    assert.equal(r.status, 424);
    assert.deepEqual(teiError(r.body), {
      error: 'Backend error: Model is not an embedding model with SPLADE pooling',
      error_type: 'Backend',
    });
  });

  it('POST /predict and /rerank on an embedding model are 424', async () => {
    const p = await postJson(base, '/predict', { inputs: 'a' });
    assert.equal(p.status, 424);
    assert.equal(teiError(p.body).error, 'Backend error: Model is not a classifier model');
    const r = await postJson(base, '/rerank', { query: 'q', texts: ['a'] });
    assert.equal(r.status, 424);
    assert.equal(teiError(r.body).error, 'Backend error: model is not a re-ranker model');
    const empty = await postJson(base, '/rerank', { query: 'q', texts: [] });
    assert.equal(empty.status, 400);
    assert.deepEqual(teiError(empty.body), { error: '`texts` cannot be empty', error_type: 'Empty' });
  });

  it('POST /similarity returns one cosine per sentence, identical texts give 1', async () => {
    const r = await postJson(base, '/similarity', {
      inputs: { source_sentence: 'the cat sat', sentences: ['the cat sat', 'quantum chromodynamics'] },
    });
    assert.equal(r.status, 200);
    const sims = JSON.parse(r.body) as number[];
    assert.equal(sims.length, 2);
    assert.ok(Math.abs(sims[0] - 1) < 1e-5);
    assert.ok(sims[1] < sims[0]);
    assert.ok('x-compute-tokens' in r.headers);
    const empty = await postJson(base, '/similarity', { inputs: { source_sentence: 'a', sentences: [] } });
    assert.equal(empty.status, 400);
    assert.equal(teiError(empty.body).error, '`inputs.sentences` cannot be empty');
    const tooMany = await postJson(base, '/similarity', {
      inputs: { source_sentence: 'a', sentences: Array.from({ length: 32 }, () => 'b') },
    });
    assert.equal(teiError(tooMany.body).error, 'batch size 33 > maximum allowed batch size 32');
  });

  it('POST /tokenize returns nested tokens with byte offsets; specials have null offsets', async () => {
    const r = await postJson(base, '/tokenize', { inputs: 'héllo world' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), [
      [
        { id: 101, text: '[CLS]', special: true, start: null, stop: null },
        { id: 7592, text: 'héllo', special: false, start: 0, stop: 6 },
        { id: 2088, text: 'world', special: false, start: 7, stop: 12 },
        { id: 102, text: '[SEP]', special: true, start: null, stop: null },
      ],
    ]);
    const noSpecial = await postJson(base, '/tokenize', { inputs: ['a', 'b'], add_special_tokens: false });
    assert.deepEqual(
      (JSON.parse(noSpecial.body) as Array<Array<{ text: string }>>).map((t) => t.map((x) => x.text)),
      [['a'], ['b']],
    );
    const empty = await postJson(base, '/tokenize', { inputs: [] });
    assert.equal(empty.status, 400);
    assert.deepEqual(teiError(empty.body), { error: '`inputs` cannot be empty', error_type: 'Empty' });
  });

  it('POST /decode returns strings; empty ids is 400', async () => {
    const r = await postJson(base, '/decode', { ids: [101, 7592, 2088, 102] });
    assert.deepEqual(JSON.parse(r.body), ['hello world']);
    const keep = await postJson(base, '/decode', { ids: [[101, 7592, 102]], skip_special_tokens: false });
    assert.deepEqual(JSON.parse(keep.body), ['[CLS] hello [SEP]']);
    const empty = await postJson(base, '/decode', { ids: [] });
    assert.equal(empty.status, 400);
    assert.equal(teiError(empty.body).error, 'Input validation error: `input_ids` cannot be empty');
  });

  it('POST /v1/embeddings speaks OpenAI: float and base64 give the same f32 bits', async () => {
    const f = await postJson(base, '/v1/embeddings', { input: ['a', 'b'], model: 'whatever' });
    assert.equal(f.status, 200);
    const fb = JSON.parse(f.body);
    assert.deepEqual(Object.keys(fb), ['object', 'data', 'model', 'usage']);
    assert.equal(fb.object, 'list');
    assert.equal(fb.model, 'sentence-transformers/all-MiniLM-L6-v2');
    assert.deepEqual(fb.usage, { prompt_tokens: 6, total_tokens: 6 });
    assert.deepEqual(Object.keys(fb.data[0]), ['object', 'embedding', 'index']);
    const b = await postJson(base, '/embeddings', { input: ['a', 'b'], encoding_format: 'base64' });
    const bb = JSON.parse(b.body);
    for (let i = 0; i < 2; i++) {
      const buf = Buffer.from(bb.data[i].embedding as string, 'base64');
      const v = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      assert.deepEqual(Array.from(v), (fb.data[i].embedding as number[]).map(Math.fround));
    }
    const direct = JSON.parse((await postJson(base, '/embed', { inputs: ['a', 'b'] })).body);
    assert.deepEqual(direct, [fb.data[0].embedding, fb.data[1].embedding]);
    const err = await postJson(base, '/v1/embeddings', { input: '' });
    assert.equal(err.status, 400);
    assert.deepEqual(JSON.parse(err.body), {
      message: 'Input validation error: `inputs` cannot be empty',
      code: 400,
      type: 'Empty',
    });
  });

  it('GET /info reports the limits in TEI field order', async () => {
    const r = await request(base + '/info', 'GET');
    const info = JSON.parse(r.body);
    assert.deepEqual(Object.keys(info), [
      'model_id',
      'model_sha',
      'model_dtype',
      'served_model_name',
      'model_type',
      'max_concurrent_requests',
      'max_input_length',
      'max_batch_tokens',
      'max_batch_requests',
      'max_client_batch_size',
      'auto_truncate',
      'tokenization_workers',
      'version',
      'sha',
      'docker_label',
    ]);
    assert.deepEqual(info.model_type, { embedding: { pooling: 'mean' } });
    assert.equal(info.max_batch_tokens, 16384);
    assert.equal(info.max_client_batch_size, 32);
    assert.equal(info.max_concurrent_requests, 512);
    assert.equal(info.max_batch_requests, null);
    assert.equal(info.auto_truncate, true);
    assert.equal(info.version, '1.9.3');
  });

  it('GET /health, / and /ping answer 200 with an empty body; unhealthy is 503', async () => {
    for (const p of ['/health', '/', '/ping']) {
      const r = await request(base + p, 'GET');
      assert.equal(r.status, 200);
      assert.equal(r.body, '');
    }
    s.engine.healthy = false;
    try {
      const r = await request(base + '/health', 'GET');
      assert.equal(r.status, 503);
      assert.deepEqual(JSON.parse(r.body), { error: 'unhealthy', error_type: 'Unhealthy' });
    } finally {
      s.engine.healthy = true;
    }
  });

  it('POST / and /invocations dispatch by model type (embed here)', async () => {
    const r = await postJson(base, '/invocations', { inputs: 'a' });
    const e = await postJson(base, '/embed', { inputs: 'a' });
    assert.equal(r.body, e.body);
  });

  it('POST /vertex wraps predictions', async () => {
    const r = await postJson(base, '/vertex', { instances: [{ inputs: 'a' }, { inputs: ['b'] }] });
    assert.equal(r.status, 200);
    const out = JSON.parse(r.body);
    assert.equal(out.predictions.length, 2);
    assert.equal(out.predictions[0][0].length, 384);
  });

  it('unknown paths are 404 and wrong methods 405, with empty bodies', async () => {
    const nf = await request(base + '/nope', 'GET');
    assert.equal(nf.status, 404);
    assert.equal(nf.body, '');
    const na = await request(base + '/embed', 'GET');
    assert.equal(na.status, 405);
    assert.equal(na.body, '');
  });

  it('GET /metrics exposes te_* metrics in Prometheus text', async () => {
    const r = await request(base + '/metrics', 'GET');
    assert.equal(r.status, 200);
    assert.match(r.body, /^te_batch_next_size_bucket/m);
    assert.match(r.body, /^te_request_success\{method="single"\} \d+/m);
  });

  it('survives a client that disconnects mid-request and a truncated body', async () => {
    await new Promise<void>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => {
        sock.write(
          'POST /embed HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"in',
        );
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 20);
      });
    });
    const r = await postJson(base, '/embed', { inputs: 'ok' });
    assert.equal(r.status, 200);
  });
});

describe('sim HTTP: TEI 1.8 behaviour', () => {
  let s: RunningSim;
  before(async () => {
    s = await sim({ teiVersion: '1.8' });
  });
  after(() => s.close());

  it('uses 413 for Validation, rejects lowercase directions, and does not auto-truncate', async () => {
    const r = await postJson(s.url, '/embed', { inputs: Array.from({ length: 33 }, () => 'x') });
    assert.equal(r.status, 413);
    assert.equal(teiError(r.body).error, 'batch size 33 > maximum allowed batch size 32');
    const lower = await postJson(s.url, '/embed', { inputs: 'a', truncation_direction: 'left' });
    assert.equal(lower.status, 422);
    assert.match(lower.body, /unknown variant `left`/);
    const long = await postJson(s.url, '/embed', { inputs: 'word '.repeat(300) });
    assert.equal(long.status, 413);
    const info = JSON.parse((await request(s.url + '/info', 'GET')).body);
    assert.equal(info.auto_truncate, false);
    assert.equal(info.version, '1.8.3');
    assert.ok(!('served_model_name' in info));
  });
});

describe('sim HTTP: classifier, reranker and SPLADE models', () => {
  it('a classifier answers /predict single and batch, sorted by score', async () => {
    const s = await sim({ modelType: 'classifier', labels: ['neg', 'neu', 'pos'] });
    try {
      const single = JSON.parse((await postJson(s.url, '/predict', { inputs: 'great film' })).body);
      assert.equal(single.length, 3);
      assert.deepEqual(Object.keys(single[0]), ['score', 'label']);
      assert.ok(single[0].score >= single[1].score && single[1].score >= single[2].score);
      assert.ok(Math.abs(single.reduce((a: number, p: { score: number }) => a + p.score, 0) - 1) < 1e-5);
      const pair = await postJson(s.url, '/predict', { inputs: ['a', 'b'] });
      assert.equal(JSON.parse(pair.body).length, 3);
      const batch = JSON.parse((await postJson(s.url, '/predict', { inputs: [['a'], ['b', 'c']] })).body);
      assert.equal(batch.length, 2);
      assert.equal(batch[0].length, 3);
      const raw = JSON.parse(
        (await postJson(s.url, '/predict', { inputs: 'great film', raw_scores: true })).body,
      );
      assert.ok(Math.abs(raw.reduce((a: number, p: { score: number }) => a + p.score, 0) - 1) > 1e-3);
      const three = await postJson(s.url, '/predict', { inputs: ['a', 'b', 'c'] });
      assert.equal(three.status, 422);
      assert.match(three.body, /inputs: invalid length 3, expected a string, a pair of strings/);
      const embed = await postJson(s.url, '/embed', { inputs: 'a' });
      assert.equal(teiError(embed.body).error, 'Backend error: Model is not an embedding model');
      const info = JSON.parse((await request(s.url + '/info', 'GET')).body);
      assert.deepEqual(info.model_type, {
        classifier: { id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 } },
      });
    } finally {
      await s.close();
    }
  });

  it('a reranker answers /rerank sorted, with text only when asked, and related texts rank higher', async () => {
    const s = await sim({ modelType: 'reranker' });
    try {
      const texts = ['the weather is nice', 'paris is the capital of france', 'bananas are yellow'];
      const r = await postJson(s.url, '/rerank', { query: 'what is the capital of france', texts });
      assert.equal(r.status, 200);
      const ranks = JSON.parse(r.body);
      assert.deepEqual(Object.keys(ranks[0]), ['index', 'score']);
      assert.equal(ranks[0].index, 1);
      for (let i = 1; i < ranks.length; i++) assert.ok(ranks[i - 1].score >= ranks[i].score);
      const withText = JSON.parse(
        (await postJson(s.url, '/rerank', { query: 'q', texts: ['a'], return_text: true })).body,
      );
      assert.deepEqual(Object.keys(withText[0]), ['index', 'text', 'score']);
      assert.equal(withText[0].text, 'a');
      const tooMany = await postJson(s.url, '/rerank', {
        query: 'q',
        texts: Array.from({ length: 33 }, () => 'a'),
      });
      assert.equal(tooMany.status, 422);
      assert.equal(r.headers['x-compute-characters'], String(29 * 3 + 19 + 30 + 18));
    } finally {
      await s.close();
    }
  });

  it('a SPLADE model answers /embed_sparse and refuses normalized /embed', async () => {
    const s = await sim({ pooling: 'splade' });
    try {
      const r = await postJson(s.url, '/embed_sparse', { inputs: ['hello hello world'] });
      assert.equal(r.status, 200);
      const rows = JSON.parse(r.body) as Array<Array<{ index: number; value: number }>>;
      assert.deepEqual(
        rows[0].map((e) => e.index),
        [101, 102, 2088, 7592],
      );
      for (const e of rows[0]) assert.ok(e.value > 0);
      const dense = await postJson(s.url, '/embed', { inputs: 'a' });
      assert.equal(dense.status, 424);
      assert.equal(
        teiError(dense.body).error,
        'Backend error: `normalize` is not available for SPLADE models',
      );
    } finally {
      await s.close();
    }
  });
});

describe('sim HTTP: auth, overload and batching', () => {
  it('--api-key: 401 with an empty body without the bearer token; /health stays open', async () => {
    const s = await sim({ apiKey: 'sekret' });
    try {
      const no = await postJson(s.url, '/embed', { inputs: 'a' });
      assert.equal(no.status, 401);
      assert.equal(no.body, '');
      const wrong = await postJson(s.url, '/embed', { inputs: 'a' }, { authorization: 'Bearer nope' });
      assert.equal(wrong.status, 401);
      const ok = await postJson(s.url, '/embed', { inputs: 'a' }, { authorization: 'Bearer sekret' });
      assert.equal(ok.status, 200);
      assert.equal((await request(s.url + '/health', 'GET')).status, 200);
      assert.equal((await request(s.url + '/info', 'GET')).status, 401);
    } finally {
      await s.close();
    }
  });

  it('permits are counted per input: a batch needing more than are free gets 429 at once', async () => {
    const s = await sim({
      maxConcurrentRequests: 4,
      latency: { batchBaseMs: 300, perTokenUs: 0, padded: false },
    });
    try {
      const slow = postJson(s.url, '/embed', { inputs: ['a', 'b', 'c'] });
      await new Promise((r) => setTimeout(r, 50));
      const over = await postJson(s.url, '/embed', { inputs: ['d', 'e'] });
      assert.equal(over.status, 429);
      assert.deepEqual(teiError(over.body), { error: 'Model is overloaded', error_type: 'Overloaded' });
      const fits = postJson(s.url, '/embed', { inputs: 'f' });
      assert.equal((await slow).status, 200);
      assert.equal((await fits).status, 200);
      const bigger = await postJson(s.url, '/embed', { inputs: ['a', 'b', 'c', 'd', 'e'] });
      assert.equal(bigger.status, 429);
    } finally {
      await s.close();
    }
  });

  it('requests that arrive together share batches, and no batch exceeds max_batch_tokens', async () => {
    const s = await sim({ maxBatchTokens: 64, latency: { batchBaseMs: 30, perTokenUs: 0, padded: false } });
    const batches: Array<{ size: number; tokens: number }> = [];
    const off = s.engine.onBatch((b) => batches.push(b));
    try {
      const text = 'one two three four five six'; // 8 tokens with [CLS]/[SEP]
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => postJson(s.url, '/embed', { inputs: text })),
      );
      for (const r of replies) assert.equal(r.status, 200);
      assert.equal(
        batches.reduce((a, b) => a + b.size, 0),
        20,
      );
      for (const b of batches) assert.ok(b.tokens <= 64, `batch of ${b.tokens} tokens`);
      assert.ok(batches.length < 20, `expected shared batches, got ${batches.length}`);
      assert.ok(batches.some((b) => b.size === 8));
    } finally {
      off();
      await s.close();
    }
  });

  it('padded models count longest × size against the budget', async () => {
    const s = await sim({ maxBatchTokens: 40, latency: { batchBaseMs: 20, perTokenUs: 0, padded: true } });
    const batches: Array<{ size: number; countedTokens: number }> = [];
    s.engine.onBatch((b) => batches.push(b));
    try {
      await Promise.all([
        postJson(s.url, '/embed', { inputs: 'a b c d e f g h' }),
        ...Array.from({ length: 6 }, () => postJson(s.url, '/embed', { inputs: 'a' })),
      ]);
      for (const b of batches) assert.ok(b.countedTokens <= 40);
      assert.equal(
        batches.reduce((a, b) => a + b.size, 0),
        7,
      );
    } finally {
      await s.close();
    }
  });

  it('injects faults: errors with the chosen type, and connection resets', async () => {
    const s = await sim({ faults: { rate: 1, kind: 'error', errorType: 'Backend', seed: 7 } });
    try {
      const r = await postJson(s.url, '/embed', { inputs: 'a' });
      assert.equal(r.status, 424);
      assert.deepEqual(teiError(r.body), { error: 'Backend error: injected fault', error_type: 'Backend' });
      s.engine.setFaults({ kind: 'reset' });
      await assert.rejects(postJson(s.url, '/embed', { inputs: 'a' }), /socket hang up|ECONNRESET/);
      s.engine.setFaults({ rate: 0 });
      assert.equal((await postJson(s.url, '/embed', { inputs: 'a' })).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('sim HTTP: faults, loading and disconnects', () => {
  it('TEI 1.8: a batch waits for permits while a single input gets 429', async () => {
    const s = await sim({
      teiVersion: '1.8',
      maxConcurrentRequests: 2,
      latency: { batchBaseMs: 150, perTokenUs: 0, padded: false },
    });
    try {
      const busy = postJson(s.url, '/embed', { inputs: ['a', 'b'] });
      await new Promise((r) => setTimeout(r, 40));
      const single = await postJson(s.url, '/embed', { inputs: 'c' });
      assert.equal(single.status, 429);
      const batch = await postJson(s.url, '/embed', { inputs: ['d', 'e'] });
      assert.equal(batch.status, 200);
      assert.equal((await busy).status, 200);
    } finally {
      await s.close();
    }
  });

  it('a hung request holds its permits until the client goes, then releases them', async () => {
    const s = await sim({ faults: { rate: 1, kind: 'hang', errorType: 'Backend', seed: 1 } });
    try {
      const ctl = new AbortController();
      const hung = fetch(s.url + '/embed', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: ['a', 'b', 'c'] }),
        signal: ctl.signal,
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(s.engine.permits.inUse, 3);
      ctl.abort();
      await assert.rejects(hung);
      for (let i = 0; i < 50 && s.engine.permits.inUse > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(s.engine.permits.inUse, 0);
      s.engine.setFaults({ rate: 0 });
      assert.equal((await postJson(s.url, '/embed', { inputs: 'a' })).status, 200);
    } finally {
      await s.close();
    }
  });

  it('a client gone mid-batch drops its queued work; other requests are unaffected', async () => {
    const s = await sim({ maxBatchRequests: 1, latency: { batchBaseMs: 40, perTokenUs: 0, padded: false } });
    let ran = 0;
    s.engine.onBatch((b) => (ran += b.size));
    try {
      const ctl = new AbortController();
      const doomed = fetch(s.url + '/embed', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: Array.from({ length: 10 }, (_, i) => `doomed ${i}`) }),
        signal: ctl.signal,
      });
      const other = postJson(s.url, '/embed', { inputs: 'keep me' });
      await new Promise((r) => setTimeout(r, 60));
      ctl.abort();
      await assert.rejects(doomed);
      const r = await other;
      assert.equal(r.status, 200);
      assert.ok(ran <= 5, `dropped work still ran: ${ran} items`);
      for (let i = 0; i < 50 && s.engine.permits.inUse > 0; i++)
        await new Promise((res) => setTimeout(res, 10));
      assert.equal(s.engine.permits.inUse, 0);
    } finally {
      await s.close();
    }
  });

  it('--loading-ms: connections are refused until the model is "loaded"', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const starting = sim({ port, loadingMs: 300 });
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(request(`http://127.0.0.1:${port}/health`, 'GET'), /ECONNREFUSED/);
    const s = await starting;
    try {
      assert.equal((await request(`http://127.0.0.1:${port}/health`, 'GET')).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('sim HTTP: h2c', () => {
  it('serves HTTP/2 with prior knowledge on the same port, identical bodies and headers', async () => {
    const { Client } = await import('undici');
    const s = await sim();
    const client = new Client(s.url, { allowH2: true, useH2c: true } as ConstructorParameters<
      typeof Client
    >[1]);
    try {
      const r = await client.request({
        path: '/embed',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: ['a', 'b'] }),
      });
      assert.equal(r.statusCode, 200);
      const body = await r.body.text();
      const h1 = await postJson(s.url, '/embed', { inputs: ['a', 'b'] });
      assert.equal(body, h1.body);
      assert.equal(r.headers['x-compute-type'], 'gpu+optimized');
      const bad = await client.request({ path: '/embed', method: 'POST', body: '{}' });
      assert.equal(bad.statusCode, 415);
      assert.equal(await bad.body.text(), 'Expected request with `Content-Type: application/json`');
      const big = await client.request({
        path: '/embed',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: 'a'.repeat(3_000_000) }),
      });
      assert.equal(big.statusCode, 413);
      await big.body.text();
    } finally {
      await client.close();
      await s.close();
    }
  });
});

describe('sim HTTP: regressions', () => {
  it('a 32-input request adds one abort listener, not one per input (no MaxListenersExceededWarning)', async () => {
    const s = await sim();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const r = await postJson(s.url, '/embed', { inputs: Array.from({ length: 32 }, (_, i) => `t${i}`) });
      assert.equal(r.status, 200);
      await new Promise((res) => setImmediate(res));
      assert.deepEqual(warnings, [], `warnings: ${warnings.join(', ')}`);
    } finally {
      process.off('warning', onWarning);
      await s.close();
    }
  });
});

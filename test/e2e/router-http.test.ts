/**
 * tei-router end to end over HTTP: real sockets, a worker pool, and simulated TEI backends over HTTP and gRPC.
 * Vectors must be bit for bit those the backend returns directly, in input order, whatever the batching.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { RunningSim } from '../../src/sim/index.js';
import { postJson, request, sim, tokenizerFixture } from '../helpers/sim.js';

describe('router HTTP ingress → worker pool → TEI backends (HTTP + gRPC)', () => {
  let httpSim: RunningSim;
  let grpcSim: RunningSim;
  let reference: RunningSim;
  let app: App;
  let base: string;

  before(async () => {
    const same = { modelId: 'mini', maxClientBatchSize: 8, maxConcurrentRequests: 64 };
    httpSim = await sim(same);
    grpcSim = await sim({ ...same, protocol: 'grpc' });
    reference = await sim({ ...same, maxClientBatchSize: 1000, maxConcurrentRequests: 10000 });
    const config = loadConfig({
      flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1 },
    });
    config.models = [
      {
        name: 'mini',
        aliases: ['sentence-transformers/all-MiniLM-L6-v2'],
        tokenizer: tokenizerFixture(),
        backends: [httpSim.url, grpcSim.url],
        coalesceMs: undefined,
        maxBatchTokens: undefined,
        maxClientBatchSize: undefined,
        maxQueuedTokens: undefined,
        balancing: undefined,
      },
    ];
    config.defaultModel = 'mini';
    app = await startApp(config, { log: () => {} });
    base = `http://127.0.0.1:${app.ports.http}`;
  });

  after(async () => {
    await app.close();
    await Promise.all([httpSim.close(), grpcSim.close(), reference.close()]);
  });

  async function direct(texts: string[], extra: Record<string, unknown> = {}): Promise<string> {
    return (await postJson(reference.url, '/embed', { inputs: texts, ...extra })).body;
  }

  it('POST /embed returns exactly the vectors the backend returns', async () => {
    const texts = ['hello world', 'the cat sat on the mat', 'ünïcödé text'];
    const r = await postJson(base, '/embed', { inputs: texts });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, await direct(texts));
    assert.equal(r.headers['x-compute-type'], 'gpu+optimized');
    assert.equal(r.headers['x-compute-characters'], String(11 + 22 + 12));
    const single = await postJson(base, '/embed', { inputs: 'hello world' });
    assert.equal(single.body, await direct(['hello world']));
  });

  it('splits a client batch larger than the backends accept and reassembles it in order', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `sentence number ${i} ${'word '.repeat(i % 7)}`);
    const r = await postJson(base, '/embed', { inputs: texts });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, await direct(texts));
  });

  it('keeps each request its own rows when concurrent requests are coalesced', async () => {
    const requests = Array.from({ length: 24 }, (_, i) => [`request ${i} a`, `request ${i} b`]);
    const replies = await Promise.all(requests.map((texts) => postJson(base, '/embed', { inputs: texts })));
    for (let i = 0; i < requests.length; i++) {
      assert.equal(replies[i].status, 200);
      assert.equal(replies[i].body, await direct(requests[i]));
    }
  });

  it('honours normalize, dimensions and truncation direction', async () => {
    for (const extra of [{ normalize: false }, { dimensions: 16 }, { truncation_direction: 'Left' }]) {
      const texts = ['word '.repeat(300) + 'end', 'short'];
      const r = await postJson(base, '/embed', { inputs: texts, ...extra });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, await direct(texts, extra), JSON.stringify(extra));
    }
  });

  it('answers TEI errors in TEI shape', async () => {
    const empty = await postJson(base, '/embed', { inputs: ['a', ''] });
    assert.equal(empty.status, 400);
    assert.deepEqual(JSON.parse(empty.body), {
      error: 'Input validation error: `inputs` cannot be empty',
      error_type: 'Empty',
    });
    const long = await postJson(base, '/embed', { inputs: 'word '.repeat(300), truncate: false });
    assert.equal(long.status, 422);
    assert.deepEqual(JSON.parse(long.body), {
      error: 'Input validation error: `inputs` must have less than 256 tokens. Given: 302',
      error_type: 'Validation',
    });
    const zero = await postJson(base, '/embed', { inputs: 'a', dimensions: 0 });
    assert.equal(zero.status, 422);
    assert.equal(JSON.parse(zero.body).error, 'Input validation error: `dimensions` should be positive');
    const bad = await postJson(base, '/embed', '{"inputs": [');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^Failed to parse the request body as JSON: /);
    const type = await request(base + '/embed', 'POST', '{"inputs":"a"}');
    assert.equal(type.status, 415);
    const big = await postJson(base, '/embed', JSON.stringify({ inputs: 'x'.repeat(3_000_000) }));
    assert.equal(big.status, 413);
    assert.equal(big.body, 'Failed to buffer the request body: length limit exceeded');
  });

  it("rejects more inputs than the router accepts with TEI's batch-size error (limit reported by /info)", async () => {
    const r = await postJson(base, '/embed', { inputs: Array.from({ length: 4097 }, () => 'a') });
    assert.equal(r.status, 422);
    assert.deepEqual(JSON.parse(r.body), {
      error: 'batch size 4097 > maximum allowed batch size 4096',
      error_type: 'Validation',
    });
    const info = JSON.parse((await request(base + '/info', 'GET')).body);
    assert.equal(info.max_client_batch_size, 4096);
  });

  it('selects the model by x-model, ?model= or alias, and names an unknown one', async () => {
    const viaHeader = await postJson(
      base,
      '/embed',
      { inputs: 'a' },
      { 'x-model': 'sentence-transformers/all-MiniLM-L6-v2' },
    );
    assert.equal(viaHeader.status, 200);
    const viaQuery = await postJson(base, '/embed?model=mini', { inputs: 'a' });
    assert.equal(viaQuery.body, viaHeader.body);
    const unknown = await postJson(base, '/embed', { inputs: 'a' }, { 'x-model': 'nope' });
    assert.equal(unknown.status, 404);
    const body = JSON.parse(unknown.body);
    assert.equal(body.code, 'ROUTER_ERR_UNKNOWN_MODEL');
    assert.match(body.error, /unknown model "nope" \(known: mini, sentence-transformers\/all-MiniLM-L6-v2\)/);
    assert.equal(unknown.headers['x-tei-router-error'], 'ROUTER_ERR_UNKNOWN_MODEL');
  });

  it('serves the OpenAI SDK: float and base64 give the backend bits', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${base}/v1`, maxRetries: 0 });
    const texts = ['hello world', 'second'];
    const ref = (JSON.parse(await direct(texts)) as number[][]).map((v) => v.map(Math.fround));
    const f = await client.embeddings.create({ model: 'mini', input: texts, encoding_format: 'float' });
    assert.equal(f.data.length, 2);
    assert.equal(f.model, 'mini');
    assert.deepEqual(
      f.data.map((d) => d.embedding.map(Math.fround)),
      ref,
    );
    assert.ok(f.usage.prompt_tokens > 0);
    // asked for explicitly, the SDK hands base64 through: little-endian f32 bytes
    const b = await client.embeddings.create({ model: 'mini', input: texts, encoding_format: 'base64' });
    assert.deepEqual(
      b.data.map((d) => {
        const buf = Buffer.from(d.embedding as unknown as string, 'base64');
        return Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
      }),
      ref,
    );
    // by default the SDK itself asks for base64 and decodes it
    const dflt = await client.embeddings.create({ model: 'mini', input: texts });
    assert.deepEqual(
      dflt.data.map((d) => d.embedding.map(Math.fround)),
      ref,
    );
    await assert.rejects(
      client.embeddings.create({ model: 'nope', input: 'a' }),
      (e: { status?: number }) => {
        assert.equal(e.status, 404);
        return true;
      },
    );
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['mini'],
    );
  });

  it('forwards token-id inputs to the HTTP replicas, split and joined in order, like text via the SDK', async () => {
    // mixed items (ids and text), 20 of them: more than the backends' max_client_batch_size of 8
    const items: Array<string | number[]> = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0 ? `text ${i}` : [101, 7592 + i, 2088, 102],
    );
    const r = await postJson(base, '/embed', { inputs: items, normalize: false });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, (await postJson(reference.url, '/embed', { inputs: items, normalize: false })).body);
    const single = await postJson(base, '/embed', { inputs: [7592, 2088] });
    assert.equal(single.status, 200, single.body);
    assert.equal(single.body, (await postJson(reference.url, '/embed', { inputs: [7592, 2088] })).body);
    assert.equal(single.headers['x-compute-tokens'], '2');
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${base}/v1`, maxRetries: 0 });
    const o = await client.embeddings.create({
      model: 'mini',
      input: [[7592, 2088]],
      encoding_format: 'float',
    });
    const ref = (JSON.parse(single.body) as number[][])[0].map(Math.fround);
    assert.deepEqual(o.data[0].embedding.map(Math.fround), ref);
    assert.equal(o.usage.prompt_tokens, 2);
  });

  it('is not disturbed by a client that disconnects mid-request', async () => {
    const ctl = new AbortController();
    const doomed = fetch(base + '/embed', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: Array.from({ length: 40 }, (_, i) => `doomed ${i}`) }),
      signal: ctl.signal,
    });
    ctl.abort();
    await assert.rejects(doomed);
    const r = await postJson(base, '/embed', { inputs: ['after'] });
    assert.equal(r.status, 200);
    assert.equal(r.body, await direct(['after']));
  });
});

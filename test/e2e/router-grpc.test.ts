/**
 * tei-router's gRPC listener end to end: tei_multiplexer.v1 (tei-manager's contract), tei.v1 for stock TEI clients,
 * health and reflection, over real sockets, a worker pool and simulated TEI backends over HTTP and gRPC. Dense
 * vectors must be bit for bit what a TEI backend returns directly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createGrpcIngress } from '../../src/ingress/grpc/server.js';
import type { RunningSim } from '../../src/sim/index.js';
import { bidi, grpcClient, norm, postJson, sim, tokenizerFixture, unary } from '../helpers/sim.js';
import type { GrpcClient } from '../helpers/sim.js';

const Status = grpc.status;
type Msg = Record<string, unknown>;
interface EmbedRes {
  embeddings: number[];
  metadata: Record<string, number>;
}

function listServices(target: string, version: 'v1' | 'v1alpha'): Promise<string[]> {
  const client = grpcClient(`grpc.reflection.${version}.ServerReflection`, target);
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<unknown, Msg>;
    call.on('data', (m) => {
      const list = m.list_services_response as { service: Array<{ name: string }> } | undefined;
      if (list) resolve(list.service.map((s) => s.name).sort());
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
}

async function rejects(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail('expected the call to fail');
}

describe('router gRPC ingress → pipeline / forward → TEI backends (HTTP + gRPC)', () => {
  let httpSim: RunningSim;
  let grpcSim: RunningSim;
  let reference: RunningSim;
  let reranker: RunningSim;
  let splade: RunningSim;
  let app: App;
  let server: grpc.Server;
  let target: string;
  let mux: GrpcClient;
  const clients: GrpcClient[] = [];
  const client = (service: string) => {
    const c = grpcClient(service, target);
    clients.push(c);
    return c;
  };

  before(async () => {
    const same = { modelId: 'org/mini', maxClientBatchSize: 8, maxConcurrentRequests: 64 };
    httpSim = await sim(same);
    grpcSim = await sim({ ...same, protocol: 'grpc' });
    reference = await sim({ ...same, maxClientBatchSize: 1000, maxConcurrentRequests: 10000 });
    reranker = await sim({ modelId: 'org/rr', modelType: 'reranker', protocol: 'grpc' });
    splade = await sim({ modelId: 'org/splade', pooling: 'splade' });
    const config = loadConfig({
      flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1 },
    });
    const model = (name: string, backends: string[], aliases: string[] = []) => ({
      name,
      aliases,
      tokenizer: tokenizerFixture(),
      backends,
      coalesceMs: undefined,
      maxBatchTokens: undefined,
      maxClientBatchSize: undefined,
      maxQueuedTokens: undefined,
      balancing: undefined,
    });
    config.models = [
      model('mini', [httpSim.url, grpcSim.url], ['minilm']),
      model('rr', [reranker.url]),
      model('splade', [splade.url]),
      model('solo', [httpSim.url]),
    ];
    config.defaultModel = 'mini';
    app = await startApp(config, { log: () => {} });
    server = createGrpcIngress({
      pipeline: app.pipeline,
      replicas: app.replicas,
      maxMessageBytes: 16 * 1024 * 1024,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    target = `127.0.0.1:${port}`;
    mux = client('tei_multiplexer.v1.TeiMultiplexer');
  });

  after(async () => {
    for (const c of clients) c.close();
    server.forceShutdown();
    await app.close();
    await Promise.all([httpSim, grpcSim, reference, reranker, splade].map((s) => s.close()));
  });

  async function direct(texts: string[], extra: Msg = {}): Promise<number[][]> {
    const r = await postJson(reference.url, '/embed', { inputs: texts, ...extra });
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as number[][]).map((v) => v.map(Math.fround));
  }

  it('multiplexer Embed via every Target kind returns the backend vector bit for bit', async () => {
    const [want] = await direct(['hello world']);
    const targets: Msg[] = [
      { instance_name: 'mini' },
      { instance_name: 'minilm' },
      { instance_name: httpSim.url },
      { instance_name: grpcSim.url },
      { model_id: 'mini' },
      { model_id: 'org/mini' },
      { instance_index: 0 },
      { instance_index: 1 },
    ];
    for (const t of targets) {
      const { res, headers } = await unary<EmbedRes>(mux, 'Embed', {
        target: t,
        request: { inputs: 'hello world' },
      });
      assert.deepEqual(res.embeddings, want, JSON.stringify(t));
      assert.equal(res.metadata.compute_chars, 11);
      assert.equal(res.metadata.compute_tokens, 4);
      assert.equal(headers.get('x-compute-tokens')[0], '4', JSON.stringify(t));
      assert.equal(headers.get('x-compute-characters')[0], '11');
    }
    // unset normalize is true (TEI 1.9); an explicit false and dimensions are honoured
    const { res: raw } = await unary<EmbedRes>(mux, 'Embed', {
      target: { model_id: 'mini' },
      request: { inputs: 'hello world', normalize: false, dimensions: 16 },
    });
    assert.deepEqual(
      raw.embeddings,
      (await direct(['hello world'], { normalize: false, dimensions: 16 }))[0],
    );
    assert.ok(Math.abs(norm(want) - 1) < 1e-5);
  });

  it('EmbedStream answers 40 messages in order, each equal to the backend, whatever target each names', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => `stream sentence ${i} ${'word '.repeat(i % 5)}`);
    const want = await direct(texts);
    const kinds: Msg[] = [{ instance_name: 'mini' }, { model_id: 'minilm' }, { instance_index: 1 }];
    const { res, error } = await bidi<EmbedRes>(
      mux,
      'EmbedStream',
      texts.map((inputs, i) => ({ target: kinds[i % kinds.length], request: { inputs } })),
    );
    assert.equal(error, undefined);
    assert.equal(res.length, 40);
    for (let i = 0; i < 40; i++) assert.deepEqual(res[i].embeddings, want[i], `item ${i}`);
  });

  it('coalesces concurrent EmbedStream messages for one model into backend batches', async () => {
    const engine = httpSim.engine as unknown as {
      embed: (req: { items: unknown[] }, ...rest: unknown[]) => unknown;
    };
    const original = engine.embed;
    const calls: number[] = [];
    engine.embed = function (this: unknown, req, ...rest) {
      calls.push(req.items.length);
      return original.call(this, req, ...rest);
    };
    // backend calls that take a few ms, as a GPU's do, so the stream's messages meet calls in flight and coalesce
    // (an instant backend keeps the model idle between messages: each would take the direct path alone)
    const latency = httpSim.options.latency;
    const base = latency.batchBaseMs;
    latency.batchBaseMs = 5;
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `coalesced ${i}`);
      const { res, error } = await bidi<EmbedRes>(
        mux,
        'EmbedStream',
        texts.map((inputs) => ({ target: { model_id: 'solo' }, request: { inputs } })),
      );
      assert.equal(error, undefined);
      assert.deepEqual(
        res.map((r) => r.embeddings),
        await direct(texts),
      );
      assert.equal(
        calls.reduce((a, b) => a + b, 0),
        40,
      );
      assert.ok(calls.length < 20, `40 stream items reached the backend in ${calls.length} requests`);
    } finally {
      latency.batchBaseMs = base;
      engine.embed = original;
    }
  });

  it('rejects a missing or empty target (INVALID_ARGUMENT) and an unknown one (NOT_FOUND), naming it', async () => {
    const missing = await rejects(unary(mux, 'Embed', { request: { inputs: 'a' } }));
    assert.equal(missing.code, Status.INVALID_ARGUMENT);
    assert.match(
      missing.details,
      /no target: set target.instance_name, target.model_id or target.instance_index/,
    );
    assert.equal(missing.metadata.get('x-tei-router-error')[0], 'ROUTER_ERR_TARGET_REQUIRED');
    const empty = await rejects(
      unary(mux, 'Embed', { target: { instance_name: '' }, request: { inputs: 'a' } }),
    );
    assert.equal(empty.code, Status.INVALID_ARGUMENT);
    assert.match(empty.details, /target.instance_name is empty/);
    const unknown = await rejects(
      unary(mux, 'Embed', { target: { instance_name: 'nope' }, request: { inputs: 'a' } }),
    );
    assert.equal(unknown.code, Status.NOT_FOUND);
    assert.match(
      unknown.details,
      /target.instance_name "nope" is not a configured backend URL, model or alias/,
    );
    assert.equal(unknown.metadata.get('x-tei-router-error')[0], 'ROUTER_ERR_UNKNOWN_TARGET');
    const model = await rejects(unary(mux, 'Info', { target: { model_id: 'ghost' } }));
    assert.equal(model.code, Status.NOT_FOUND);
    assert.match(model.details, /target.model_id "ghost"/);
    const index = await rejects(unary(mux, 'Tokenize', { target: { instance_index: 9 }, request: {} }));
    assert.equal(index.code, Status.NOT_FOUND);
    assert.match(
      index.details,
      /target.instance_index 9 is out of range: 5 backends are configured \(0..4\)/,
    );
    // a stream ends at its first failing item, after the items before it
    const { res, error } = await bidi<EmbedRes>(mux, 'EmbedStream', [
      { target: { model_id: 'mini' }, request: { inputs: 'first' } },
      { target: { model_id: 'ghost' }, request: { inputs: 'second' } },
      { target: { model_id: 'mini' }, request: { inputs: 'third' } },
    ]);
    assert.equal(res.length, 1);
    assert.equal(error?.code, Status.NOT_FOUND);
  });

  it('keeps TEI errors with TEI status codes and texts', async () => {
    const empty = await rejects(
      unary(mux, 'Embed', { target: { model_id: 'mini' }, request: { inputs: '' } }),
    );
    assert.equal(empty.code, Status.INVALID_ARGUMENT);
    assert.equal(empty.details, 'Input validation error: `inputs` cannot be empty');
    assert.equal(empty.metadata.get('x-tei-router-error').length, 0);
    const long = await rejects(
      unary(mux, 'Embed', { target: { instance_index: 1 }, request: { inputs: 'word '.repeat(300) } }),
    );
    assert.equal(long.code, Status.INVALID_ARGUMENT);
    assert.match(long.details, /^Input validation error: `inputs` must have less than 256 tokens/);
    const pair = await rejects(
      unary(mux, 'PredictPair', { target: { model_id: 'rr' }, request: { inputs: ['a', 'b', 'c'] } }),
    );
    assert.equal(pair.code, Status.INVALID_ARGUMENT);
    assert.equal(pair.details, '`inputs` must have a single or two elements. Given: 3');
    const arrow = await rejects(unary(mux, 'EmbedArrow', { target: { model_id: 'mini' } }));
    assert.equal(arrow.code, Status.UNIMPLEMENTED);
    assert.match(arrow.details, /EmbedArrow is not available/);
  });

  it('forwards Info, Tokenize, Decode, Rerank and EmbedSparse to a backend of the target', async () => {
    const { res: info } = await unary<Msg>(mux, 'Info', { target: { instance_name: 'rr' } });
    assert.equal(info.model_id, 'org/rr');
    assert.equal(info.model_type, 'MODEL_TYPE_RERANKER');

    const tokDirect = grpcClient('tei.v1.Tokenize', grpcSim.url);
    clients.push(tokDirect);
    const req = { inputs: 'Hello world!', add_special_tokens: true };
    const { res: want } = await unary<Msg>(tokDirect, 'Tokenize', req);
    for (const t of [{ instance_index: 0 }, { instance_index: 1 }]) {
      const { res } = await unary<Msg>(mux, 'Tokenize', { target: t, request: req });
      assert.deepEqual(res, want, JSON.stringify(t));
    }
    const stream = await bidi<Msg>(mux, 'TokenizeStream', [
      { target: { model_id: 'mini' }, request: { inputs: 'a b' } },
      { target: { model_id: 'mini' }, request: req },
    ]);
    assert.equal(stream.error, undefined);
    assert.deepEqual(stream.res[1], want);
    const ids = (want.tokens as Array<{ id: number }>).map((t) => t.id);
    const { res: decoded } = await unary<Msg>(mux, 'Decode', {
      target: { model_id: 'mini' },
      request: { ids, skip_special_tokens: true },
    });
    assert.equal(decoded.text, 'hello world!');

    const rrDirect = grpcClient('tei.v1.Rerank', reranker.url);
    clients.push(rrDirect);
    const rerankReq = {
      query: 'what is a cat',
      texts: ['a cat is an animal', 'paris', 'cats'],
      return_text: true,
    };
    const { res: ranksWant } = await unary<Msg>(rrDirect, 'Rerank', rerankReq);
    const { res: ranks, headers } = await unary<Msg>(mux, 'Rerank', {
      target: { model_id: 'rr' },
      request: rerankReq,
    });
    assert.deepEqual(ranks.ranks, ranksWant.ranks);
    assert.equal((ranks.ranks as Msg[]).length, 3);
    assert.ok(headers.get('x-compute-tokens').length === 1);

    const sparseWant = JSON.parse(
      (await postJson(splade.url, '/embed_sparse', { inputs: 'the cat sat', truncate: false })).body,
    )[0] as Array<{ index: number; value: number }>;
    const { res: sparse } = await unary<{ sparse_embeddings: Array<{ index: number; value: number }> }>(
      mux,
      'EmbedSparse',
      { target: { instance_name: 'splade' }, request: { inputs: 'the cat sat' } },
    );
    assert.ok(sparse.sparse_embeddings.length > 0);
    assert.deepEqual(
      sparse.sparse_embeddings.map((s) => [s.index ?? 0, s.value]),
      sparseWant.map((s) => [s.index, Math.fround(s.value)]),
    );
  });

  it('forwards Predict, PredictPair, EmbedAll and their streams, and RerankStream, equal to the backend', async () => {
    const predictDirect = grpcClient('tei.v1.Predict', reranker.url);
    const embedDirect = grpcClient('tei.v1.Embed', grpcSim.url);
    const rerankDirect = grpcClient('tei.v1.Rerank', reranker.url);
    clients.push(predictDirect, embedDirect, rerankDirect);
    const strip = (m: Msg) => {
      const { metadata: _metadata, ...rest } = m;
      return rest;
    };
    const rr = { model_id: 'rr' };
    const { res: p1 } = await unary<Msg>(predictDirect, 'Predict', { inputs: 'a cat', raw_scores: true });
    const { res: p1r } = await unary<Msg>(mux, 'Predict', {
      target: rr,
      request: { inputs: 'a cat', raw_scores: true },
    });
    assert.deepEqual(strip(p1r), strip(p1));
    const { res: p2 } = await unary<Msg>(predictDirect, 'PredictPair', { inputs: ['q', 'a cat'] });
    const { res: p2r } = await unary<Msg>(mux, 'PredictPair', {
      target: rr,
      request: { inputs: ['q', 'a cat'] },
    });
    assert.deepEqual(strip(p2r), strip(p2));
    const ps = await bidi<Msg>(mux, 'PredictPairStream', [
      { target: rr, request: { inputs: ['q', 'x'] } },
      { target: rr, request: { inputs: ['q', 'a cat'] } },
    ]);
    assert.equal(ps.error, undefined);
    assert.deepEqual(strip(ps.res[1]), strip(p2));

    const { res: all } = await unary<Msg>(embedDirect, 'EmbedAll', { inputs: 'two words' });
    const { res: allr } = await unary<Msg>(mux, 'EmbedAll', {
      target: { instance_index: 0 },
      request: { inputs: 'two words' },
    });
    assert.deepEqual(allr.token_embeddings, all.token_embeddings);
    assert.ok((all.token_embeddings as Msg[]).length > 1);
    const alls = await bidi<Msg>(mux, 'EmbedAllStream', [
      { target: { model_id: 'mini' }, request: { inputs: 'two words' } },
    ]);
    assert.deepEqual(alls.res[0].token_embeddings, all.token_embeddings);

    const { res: ranks } = await unary<Msg>(rerankDirect, 'Rerank', {
      query: 'cat',
      texts: ['x', 'a cat', 'dogs'],
    });
    const streamed = await new Promise<Msg>((resolve, reject) => {
      const call = mux.RerankStream((err: grpc.ServiceError | null, r: Msg) =>
        err ? reject(err) : resolve(r),
      ) as grpc.ClientWritableStream<Msg>;
      for (const text of ['x', 'a cat', 'dogs']) call.write({ target: rr, request: { query: 'cat', text } });
      call.end();
    });
    assert.deepEqual(streamed.ranks, ranks.ranks);
  });

  it('serves tei.v1.Embed to a stock TEI client: default model, or x-model', async () => {
    const embed = client('tei.v1.Embed');
    const [want] = await direct(['stock client']);
    const { res, headers } = await unary<EmbedRes>(embed, 'Embed', { inputs: 'stock client' });
    assert.deepEqual(res.embeddings, want);
    assert.equal(headers.get('x-compute-type')[0], 'gpu+optimized');
    const md = new grpc.Metadata();
    md.set('x-model', 'minilm');
    const { res: viaAlias } = await unary<EmbedRes>(embed, 'Embed', { inputs: 'stock client' }, md);
    assert.deepEqual(viaAlias.embeddings, want);
    const texts = Array.from({ length: 12 }, (_, i) => `tei stream ${i}`);
    const all = await bidi<EmbedRes>(
      embed,
      'EmbedStream',
      texts.map((inputs) => ({ inputs })),
      md,
    );
    assert.equal(all.error, undefined);
    assert.deepEqual(
      all.res.map((r) => r.embeddings),
      await direct(texts),
    );
    const bad = new grpc.Metadata();
    bad.set('x-model', 'nope');
    const unknown = await rejects(unary(embed, 'Embed', { inputs: 'a' }, bad));
    assert.equal(unknown.code, Status.NOT_FOUND);
    assert.equal(unknown.metadata.get('x-tei-router-error')[0], 'ROUTER_ERR_UNKNOWN_MODEL');
    const empty = await rejects(unary(embed, 'Embed', { inputs: '' }));
    assert.equal(empty.code, Status.INVALID_ARGUMENT);
    assert.equal(empty.details, 'Input validation error: `inputs` cannot be empty');

    const info = client('tei.v1.Info');
    const { res: i } = await unary<Msg>(info, 'Info', {});
    assert.equal(i.model_id, 'org/mini');
    assert.equal(i.max_client_batch_size, 8);
    const rr = new grpc.Metadata();
    rr.set('x-model', 'rr');
    const rerank = client('tei.v1.Rerank');
    const streamed = await new Promise<Msg>((resolve, reject) => {
      const call = rerank.RerankStream(rr, (err: grpc.ServiceError | null, r: Msg) =>
        err ? reject(err) : resolve(r),
      ) as grpc.ClientWritableStream<Msg>;
      for (const text of ['x', 'a cat', 'dogs']) call.write({ query: 'cat', text });
      call.end();
    });
    assert.equal((streamed.ranks as Msg[]).length, 3);
  });

  it('answers health checks and lists every service by reflection', async () => {
    const health = client('grpc.health.v1.Health');
    for (const service of ['', 'tei_multiplexer.v1.TeiMultiplexer', 'tei.v1.Embed', 'tei.v1.Rerank']) {
      const { res } = await unary<Msg>(health, 'Check', { service });
      assert.equal(res.status, 'SERVING', service);
    }
    const unknown = await rejects(unary(health, 'Check', { service: 'nope.v1.X' }));
    assert.equal(unknown.code, Status.NOT_FOUND);
    for (const version of ['v1', 'v1alpha'] as const) {
      const services = await listServices(target, version);
      for (const s of [
        'tei_multiplexer.v1.TeiMultiplexer',
        'tei.v1.Info',
        'tei.v1.Embed',
        'tei.v1.Predict',
        'tei.v1.Rerank',
        'tei.v1.Tokenize',
        'grpc.health.v1.Health',
      ]) {
        assert.ok(services.includes(s), `${version} lists ${s}: ${services.join(', ')}`);
      }
    }
  });
});

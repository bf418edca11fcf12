/** Conformance of `tei-router sim --protocol grpc` against TEI's gRPC contract (tei-protocol.md §2). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { RunningSim } from '../../src/sim/index.js';
import { bidi, grpcClient, norm, postJson, sim, unary } from '../helpers/sim.js';
import type { GrpcClient } from '../helpers/sim.js';

const Status = grpc.status;

function listServices(target: string, version: 'v1' | 'v1alpha'): Promise<string[]> {
  const client = grpcClient(`grpc.reflection.${version}.ServerReflection`, target);
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<unknown, Record<string, unknown>>;
    call.on('data', (m) => {
      const list = m.list_services_response as { service: Array<{ name: string }> } | undefined;
      if (list) resolve(list.service.map((s) => s.name).sort());
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
}

describe('sim gRPC: embedding model', () => {
  let s: RunningSim;
  let embed: GrpcClient;
  let info: GrpcClient;
  let tok: GrpcClient;
  let http: RunningSim;
  before(async () => {
    s = await sim({ protocol: 'grpc' });
    http = await sim();
    embed = grpcClient('tei.v1.Embed', s.url);
    info = grpcClient('tei.v1.Info', s.url);
    tok = grpcClient('tei.v1.Tokenize', s.url);
  });
  after(async () => {
    embed.close();
    info.close();
    tok.close();
    await s.close();
    await http.close();
  });

  it('Embed returns the same vector as HTTP /embed, with x-* initial metadata and ns Metadata', async () => {
    const { res, headers } = await unary<{ embeddings: number[]; metadata: Record<string, number> }>(
      embed,
      'Embed',
      { inputs: 'hello world' },
    );
    assert.equal(res.embeddings.length, 384);
    assert.ok(Math.abs(norm(res.embeddings) - 1) < 1e-5, 'unset normalize means true on 1.9');
    const viaHttp = JSON.parse((await postJson(http.url, '/embed', { inputs: 'hello world' })).body)[0];
    assert.deepEqual(res.embeddings, (viaHttp as number[]).map(Math.fround), 'the same f32 bits');
    assert.equal(headers.get('x-compute-type')[0], 'gpu+optimized');
    assert.equal(headers.get('x-compute-tokens')[0], '4');
    assert.equal(res.metadata.compute_tokens, 4);
    assert.equal(res.metadata.compute_chars, 11);
    assert.equal(typeof res.metadata.total_time_ns, 'number');
  });

  it('Embed honours normalize=false and dimensions', async () => {
    const { res } = await unary<{ embeddings: number[] }>(embed, 'Embed', {
      inputs: 'x',
      normalize: false,
      dimensions: 16,
    });
    assert.equal(res.embeddings.length, 16);
    assert.ok(Math.abs(norm(res.embeddings) - 1) > 1e-3);
  });

  it('maps TEI errors to gRPC codes with the same text', async () => {
    await assert.rejects(unary(embed, 'Embed', { inputs: '' }), (e: grpc.ServiceError) => {
      assert.equal(e.code, Status.INVALID_ARGUMENT);
      assert.equal(e.details, 'Input validation error: `inputs` cannot be empty');
      return true;
    });
    await assert.rejects(unary(embed, 'Embed', { inputs: 'word '.repeat(300) }), (e: grpc.ServiceError) => {
      assert.equal(e.code, Status.INVALID_ARGUMENT, 'truncate defaults to false over gRPC');
      assert.equal(e.details, 'Input validation error: `inputs` must have less than 256 tokens. Given: 302');
      return true;
    });
    await assert.rejects(unary(embed, 'EmbedSparse', { inputs: 'a' }), (e: grpc.ServiceError) => {
      assert.equal(e.code, Status.FAILED_PRECONDITION);
      assert.equal(e.details, 'Backend error: Model is not an embedding model with SPLADE pooling');
      return true;
    });
  });

  it('EmbedAll returns token embeddings', async () => {
    const { res } = await unary<{ token_embeddings: Array<{ embeddings: number[] }> }>(embed, 'EmbedAll', {
      inputs: 'hello world',
    });
    assert.equal(res.token_embeddings.length, 4);
    assert.equal(res.token_embeddings[0].embeddings.length, 384);
  });

  it('EmbedStream answers in request order', async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `text number ${i}`);
    const { res, error } = await bidi<{ embeddings: number[] }>(
      embed,
      'EmbedStream',
      texts.map((inputs) => ({ inputs })),
    );
    assert.equal(error, undefined);
    assert.equal(res.length, 50);
    const expected = JSON.parse((await postJson(http.url, '/embed', { inputs: texts.slice(0, 32) })).body);
    for (let i = 0; i < 32; i++)
      assert.deepEqual(res[i].embeddings, (expected[i] as number[]).map(Math.fround));
  });

  it('a stream ends with the first error', async () => {
    const { res, error } = await bidi(embed, 'EmbedStream', [
      { inputs: 'a' },
      { inputs: '' },
      { inputs: 'b' },
    ]);
    assert.equal(res.length, 1);
    assert.equal(error?.code, Status.INVALID_ARGUMENT);
  });

  it('Info reports the limits', async () => {
    const { res } = await unary<Record<string, unknown>>(info, 'Info', {});
    assert.equal(res.version, '1.9.3');
    assert.equal(res.model_type, 'MODEL_TYPE_EMBEDDING');
    assert.equal(res.max_client_batch_size, 32);
    assert.equal(res.max_batch_tokens, 16384);
    assert.equal(res.max_batch_requests, undefined);
  });

  it('Tokenize and Decode, with gRPC defaults (no special tokens unless asked)', async () => {
    const plain = await unary<{ tokens: Array<Record<string, unknown>> }>(tok, 'Tokenize', {
      inputs: 'héllo world',
    });
    assert.deepEqual(
      plain.res.tokens.map((t) => [t.id, t.text, t.special, t.start, t.stop]),
      [
        [7592, 'héllo', false, 0, 6],
        [2088, 'world', false, 7, 12],
      ],
    );
    const special = await unary<{ tokens: Array<Record<string, unknown>> }>(tok, 'Tokenize', {
      inputs: 'hi',
      add_special_tokens: true,
    });
    assert.equal(special.res.tokens[0].text, '[CLS]');
    assert.equal(special.res.tokens[0].start, undefined);
    const dec = await unary<{ text: string }>(tok, 'Decode', { ids: [101, 7592, 102] });
    assert.equal(dec.res.text, '[CLS] hello [SEP]');
    const stream = await bidi<{ text: string }>(tok, 'DecodeStream', [{ ids: [7592] }, { ids: [2088] }]);
    assert.deepEqual(
      stream.res.map((r) => r.text),
      ['hello', 'world'],
    );
  });

  it('health reports per-service statuses like TEI', async () => {
    const health = grpcClient('grpc.health.v1.Health', s.url);
    try {
      await unary(embed, 'Embed', { inputs: 'warm' });
      const check = async (service: string) =>
        (await unary<{ status: string }>(health, 'Check', { service })).res.status;
      assert.equal(await check('tei.v1.Info'), 'SERVING');
      assert.equal(await check('tei.v1.Tokenize'), 'SERVING');
      assert.equal(await check('tei.v1.Embed'), 'SERVING');
      assert.equal(await check('tei.v1.Predict'), 'NOT_SERVING');
      assert.equal(await check('tei.v1.Rerank'), 'NOT_SERVING');
    } finally {
      health.close();
    }
  });

  it('reflection (v1 and v1alpha) lists every service', async () => {
    for (const v of ['v1', 'v1alpha'] as const) {
      const names = await listServices(s.url.replace('grpc://', ''), v);
      for (const n of ['tei.v1.Embed', 'tei.v1.Info', 'tei.v1.Predict', 'tei.v1.Rerank', 'tei.v1.Tokenize']) {
        assert.ok(names.includes(n), `${v} misses ${n}: ${names.join(',')}`);
      }
    }
  });
});

describe('sim gRPC: overload, versions, models, auth', () => {
  it('unary Embed fails fast with RESOURCE_EXHAUSTED while streams wait for permits', async () => {
    const s = await sim({
      protocol: 'grpc',
      maxConcurrentRequests: 2,
      latency: { batchBaseMs: 150, perTokenUs: 0, padded: false },
    });
    const embed = grpcClient('tei.v1.Embed', s.url);
    try {
      const first = [unary(embed, 'Embed', { inputs: 'a' }), unary(embed, 'Embed', { inputs: 'b' })];
      await new Promise((r) => setTimeout(r, 40));
      await assert.rejects(unary(embed, 'Embed', { inputs: 'c' }), (e: grpc.ServiceError) => {
        assert.equal(e.code, Status.RESOURCE_EXHAUSTED);
        assert.equal(e.details, 'Model is overloaded');
        return true;
      });
      const stream = await bidi(embed, 'EmbedStream', [{ inputs: 'x' }, { inputs: 'y' }, { inputs: 'z' }]);
      assert.equal(stream.error, undefined);
      assert.equal(stream.res.length, 3);
      await Promise.all(first);
    } finally {
      embed.close();
      await s.close();
    }
  });

  it('TEI 1.8 treats an unset normalize as false', async () => {
    const s = await sim({ protocol: 'grpc', teiVersion: '1.8' });
    const embed = grpcClient('tei.v1.Embed', s.url);
    try {
      const { res } = await unary<{ embeddings: number[] }>(embed, 'Embed', { inputs: 'x' });
      assert.ok(Math.abs(norm(res.embeddings) - 1) > 1e-3);
      const set = await unary<{ embeddings: number[] }>(embed, 'Embed', { inputs: 'x', normalize: true });
      assert.ok(Math.abs(norm(set.res.embeddings) - 1) < 1e-5);
    } finally {
      embed.close();
      await s.close();
    }
  });

  it('a reranker serves Rerank, RerankStream, Predict and PredictPair', async () => {
    const s = await sim({ protocol: 'grpc', modelType: 'reranker' });
    const rerank = grpcClient('tei.v1.Rerank', s.url);
    const predict = grpcClient('tei.v1.Predict', s.url);
    try {
      const texts = ['bananas', 'paris is the capital of france', 'the weather'];
      const { res, headers } = await unary<{ ranks: Array<{ index: number; text?: string; score: number }> }>(
        rerank,
        'Rerank',
        { query: 'capital of france', texts, return_text: true },
      );
      assert.equal(res.ranks[0].index, 1);
      assert.equal(res.ranks[0].text, texts[1]);
      assert.ok(headers.get('x-compute-tokens').length === 1);
      const streamed = await new Promise<{ ranks: Array<{ index: number; score: number }> }>(
        (resolve, reject) => {
          const call = rerank.RerankStream(
            (err: grpc.ServiceError | null, r: { ranks: Array<{ index: number; score: number }> }) =>
              err ? reject(err) : resolve(r),
          ) as grpc.ClientWritableStream<unknown>;
          for (const text of texts) call.write({ query: 'capital of france', text });
          call.end();
        },
      );
      assert.deepEqual(
        streamed.ranks.map((r) => r.index),
        res.ranks.map((r) => r.index),
      );
      await assert.rejects(unary(rerank, 'Rerank', { query: 'q', texts: [] }), (e: grpc.ServiceError) => {
        assert.equal(e.code, Status.INVALID_ARGUMENT);
        assert.equal(e.details, '`texts` cannot be empty');
        return true;
      });
      const pred = await unary<{ predictions: Array<{ label: string; score: number }> }>(
        predict,
        'PredictPair',
        {
          inputs: ['a', 'b'],
        },
      );
      assert.equal(pred.res.predictions[0].label, 'LABEL_0');
      await assert.rejects(
        unary(predict, 'PredictPair', { inputs: ['a', 'b', 'c'] }),
        (e: grpc.ServiceError) => {
          assert.equal(e.code, Status.INVALID_ARGUMENT);
          assert.equal(e.details, '`inputs` must have a single or two elements. Given: 3');
          return true;
        },
      );
    } finally {
      rerank.close();
      predict.close();
      await s.close();
    }
  });

  it('Rerank on an embedding model: FAILED_PRECONDITION without prefix', async () => {
    const s = await sim({ protocol: 'grpc' });
    const rerank = grpcClient('tei.v1.Rerank', s.url);
    try {
      await assert.rejects(unary(rerank, 'Rerank', { query: 'q', texts: ['a'] }), (e: grpc.ServiceError) => {
        assert.equal(e.code, Status.FAILED_PRECONDITION);
        assert.equal(e.details, 'model is not a classifier model');
        return true;
      });
    } finally {
      rerank.close();
      await s.close();
    }
  });

  it('--api-key: UNAUTHENTICATED without the token; health stays open', async () => {
    const s = await sim({ protocol: 'grpc', apiKey: 'k' });
    const embed = grpcClient('tei.v1.Embed', s.url);
    const health = grpcClient('grpc.health.v1.Health', s.url);
    try {
      await assert.rejects(unary(embed, 'Embed', { inputs: 'a' }), (e: grpc.ServiceError) => {
        assert.equal(e.code, Status.UNAUTHENTICATED);
        assert.equal(e.details, 'No valid auth token');
        return true;
      });
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer k');
      const ok = await unary<{ embeddings: number[] }>(embed, 'Embed', { inputs: 'a' }, md);
      assert.equal(ok.res.embeddings.length, 384);
      const h = await unary<{ status: string }>(health, 'Check', { service: 'tei.v1.Info' });
      assert.equal(h.res.status, 'SERVING');
    } finally {
      embed.close();
      health.close();
      await s.close();
    }
  });

  it('survives an invalid protobuf frame', async () => {
    const s = await sim({ protocol: 'grpc' });
    const client = new grpc.Client(s.url.replace('grpc://', ''), grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        client.makeUnaryRequest(
          '/tei.v1.Embed/Embed',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
          (e) => resolve(e as grpc.ServiceError),
        );
      });
      assert.notEqual(err, null);
      assert.equal(err.code, Status.INTERNAL);
      const embed = grpcClient('tei.v1.Embed', s.url);
      const ok = await unary<{ embeddings: number[] }>(embed, 'Embed', { inputs: 'a' });
      assert.equal(ok.res.embeddings.length, 384);
      embed.close();
    } finally {
      client.close();
      await s.close();
    }
  });
});

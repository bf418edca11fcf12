/**
 * forward(): TEI's non-dense operations through both backend clients, against simulators of the right model type.
 * The HTTP and gRPC clients must give the same typed values, and those must match the simulator's own HTTP JSON.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBackend } from '../../src/backend/index.js';
import { TeiBackendError } from '../../src/backend/errors.js';
import type { ForwardCall, ForwardOp, ForwardResult, TeiBackend } from '../../src/backend/types.js';
import {
  decodeDecode,
  decodeEmbedAll,
  decodePredict,
  decodeRerank,
  decodeTokenize,
} from '../../src/codec/tei-json.js';
import { RouterError } from '../../src/errors.js';
import type { RunningSim } from '../../src/sim/index.js';
import type { SimOptions } from '../../src/sim/options.js';
import { postJson, sim } from '../helpers/sim.js';

/** An HTTP sim, a gRPC sim with the same options, and a backend client for each. */
interface Pair {
  http: TeiBackend;
  grpc: TeiBackend;
  httpSim: RunningSim;
  close(): Promise<void>;
}

async function pair(options: Partial<SimOptions>): Promise<Pair> {
  const httpSim = await sim(options);
  const grpcSim = await sim({ ...options, protocol: 'grpc' });
  const http = createBackend(httpSim.url, { timeoutMs: 5000 });
  const grpc = createBackend(grpcSim.url, { timeoutMs: 5000 });
  return {
    http,
    grpc,
    httpSim,
    close: async () => {
      await http.close();
      await grpc.close();
      await httpSim.close();
      await grpcSim.close();
    },
  };
}

/** Runs the call on both clients; asserts they agree and returns the HTTP result. */
async function both<O extends ForwardOp>(p: Pair, call: ForwardCall<O>): Promise<ForwardResult<O>> {
  const [h, g] = await Promise.all([p.http.forward(call), p.grpc.forward(call)]);
  assert.equal(h.op, call.op);
  assert.deepEqual(g.value, h.value, `${call.op}: gRPC and HTTP values agree`);
  assert.equal(g.meta?.computeTokens, h.meta?.computeTokens, `${call.op}: token counts agree`);
  assert.equal(g.meta?.computeChars, h.meta?.computeChars, `${call.op}: character counts agree`);
  return h;
}

/** The simulator's own HTTP answer, parsed. */
async function direct(s: RunningSim, route: string, body: string): Promise<unknown> {
  const res = await postJson(s.url, route, body);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body);
}

const rounded = (v: unknown): unknown =>
  typeof v === 'number'
    ? Math.fround(v)
    : Array.isArray(v)
      ? v.map(rounded)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rounded(x)]))
        : v;

const isTei = (type: string, message: string) => (e: unknown) => {
  assert.ok(e instanceof TeiBackendError, String(e));
  assert.equal(e.errorType, type);
  assert.equal(e.message, message);
  return true;
};

describe('forward: rerank (reranker model)', () => {
  let p: Pair;
  before(async () => (p = await pair({ modelType: 'reranker' })));
  after(() => p.close());

  it('ranks sorted by score with texts when asked, the same over both protocols and as TEI’s JSON', async () => {
    const body =
      '{"query":"what is deep learning?","texts":["Deep learning is a subset","cheese","neural nets"],"return_text":true}';
    const r = await both(p, { op: 'rerank', request: decodeRerank(body, '1.9') });
    assert.deepEqual(r.value, rounded(await direct(p.httpSim, '/rerank', body)));
    assert.equal(r.value.length, 3);
    assert.ok(r.value[0].score >= r.value[1].score && r.value[1].score >= r.value[2].score);
    assert.equal(typeof r.value[0].text, 'string');
    assert.ok(r.meta && r.meta.computeTokens > 0);
    const plain = await both(p, {
      op: 'rerank',
      request: decodeRerank('{"query":"q","texts":["a","b"]}', '1.9'),
    });
    assert.equal('text' in plain.value[0], false, 'text is omitted unless asked for');
  });

  it('raw_scores and predict on a reranker', async () => {
    await both(p, {
      op: 'rerank',
      request: decodeRerank('{"query":"q","texts":["a"],"raw_scores":true}', '1.9'),
    });
    await both(p, { op: 'predict', request: decodePredict('{"inputs":["q","a"]}', '1.9') });
  });

  it('empty texts: TEI’s Empty error over both protocols', async () => {
    const call: ForwardCall<'rerank'> = {
      op: 'rerank',
      request: decodeRerank('{"query":"q","texts":[]}', '1.9'),
    };
    await assert.rejects(p.http.forward(call), isTei('Empty', '`texts` cannot be empty'));
    await assert.rejects(p.grpc.forward(call), isTei('Empty', '`texts` cannot be empty'));
  });
});

describe('forward: embed_sparse (SPLADE model)', () => {
  let p: Pair;
  before(async () => (p = await pair({ pooling: 'splade' })));
  after(() => p.close());

  it('single and batch inputs, the same over both protocols and as TEI’s JSON', async () => {
    for (const body of [
      '{"inputs":"hello sparse world"}',
      '{"inputs":["one","two words","three little words"]}',
    ]) {
      const r = await both(p, {
        op: 'embed_sparse',
        request: decodeEmbedAll(body, '1.9', 'EmbedSparseRequest'),
      });
      assert.deepEqual(r.value, rounded(await direct(p.httpSim, '/embed_sparse', body)));
      assert.ok(r.value.every((row) => row.length > 0 && row.every((e) => e.value !== 0)));
    }
  });

  it('token-id inputs cannot go to a gRPC backend', async () => {
    const call: ForwardCall<'embed_sparse'> = {
      op: 'embed_sparse',
      request: decodeEmbedAll('{"inputs":[101,7592,102]}', '1.9'),
    };
    assert.ok((await p.http.forward(call)).value[0].length > 0);
    await assert.rejects(p.grpc.forward(call), (e: unknown) => {
      assert.ok(e instanceof RouterError && e.code === 'ROUTER_ERR_UNSUPPORTED', String(e));
      return true;
    });
  });

  it('TEI’s model-type errors come back as TeiError Backend', async () => {
    const call: ForwardCall<'embed_all'> = {
      op: 'embed_all',
      request: decodeEmbedAll('{"inputs":"x"}', '1.9'),
    };
    for (const b of [p.http, p.grpc]) {
      await assert.rejects(
        b.forward(call),
        isTei('Backend', 'Backend error: `embed_all` is not available for SPLADE models'),
      );
    }
  });
});

describe('forward: tokenize, decode, embed_all (embedding model)', () => {
  let p: Pair;
  before(async () => (p = await pair({ dim: 8 })));
  after(() => p.close());

  it('tokenize: single and batch, special tokens on and off', async () => {
    for (const body of [
      '{"inputs":"Hello, world!"}',
      '{"inputs":["héllo there","a b c"],"add_special_tokens":false}',
    ]) {
      const r = await both(p, { op: 'tokenize', request: decodeTokenize(body) });
      assert.deepEqual(r.value, await direct(p.httpSim, '/tokenize', body));
      assert.equal(r.meta, undefined, 'TEI sends no x-* metadata for tokenize');
    }
  });

  it('decode: single and batch, skip_special_tokens on and off', async () => {
    for (const body of [
      '{"ids":[101,7592,1010,2088,102]}',
      '{"ids":[[101,7592,102],[2088]],"skip_special_tokens":false}',
    ]) {
      const r = await both(p, { op: 'decode', request: decodeDecode(body) });
      assert.deepEqual(r.value, await direct(p.httpSim, '/decode', body));
    }
  });

  it('embed_all: per-token vectors as f32', async () => {
    const body = '{"inputs":["two words","one"]}';
    const r = await both(p, { op: 'embed_all', request: decodeEmbedAll(body, '1.9') });
    const expected = (await direct(p.httpSim, '/embed_all', body)) as number[][][];
    assert.deepEqual(
      r.value,
      expected.map((item) => item.map((tok) => Float32Array.from(tok))),
    );
  });
});

describe('forward: predict (classifier model)', () => {
  let p: Pair;
  before(async () => (p = await pair({ modelType: 'classifier', labels: ['neg', 'neu', 'pos'] })));
  after(() => p.close());

  it('a single text, a single pair, and a mixed batch', async () => {
    for (const body of [
      '{"inputs":"I love this"}',
      '{"inputs":["premise","hypothesis"]}',
      '{"inputs":[["alone"],["left","right"]],"raw_scores":true}',
    ]) {
      const request = decodePredict(body, '1.9');
      const r = await both(p, { op: 'predict', request });
      const json = await direct(p.httpSim, '/predict', body);
      assert.deepEqual(r.value, rounded(request.batch ? json : [json]));
      assert.ok(r.value.every((preds) => preds.length === 3));
    }
  });
});

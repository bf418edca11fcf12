/**
 * src/backend clients against the simulator over real sockets, the same cases for both protocols: /info, dense
 * embeddings bit for bit against the simulator's own HTTP /embed, TEI errors, transport failures (refused, hung,
 * reset), aborts, and health.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createBackend } from '../../src/backend/index.js';
import { BackendError, TeiBackendError } from '../../src/backend/errors.js';
import type { HttpBackend } from '../../src/backend/http.js';
import type { EmbedBatch, TeiBackend } from '../../src/backend/types.js';
import type { RunningSim } from '../../src/sim/index.js';
import type { SimOptions } from '../../src/sim/options.js';
import { norm, postJson, sim } from '../helpers/sim.js';

const TEXTS = Array.from({ length: 10 }, (_, i) =>
  `sentence number ${i}: ${'lorem ipsum '.repeat(i)}`.trim(),
);

function batch(over: Partial<EmbedBatch> = {}): EmbedBatch {
  return {
    texts: TEXTS,
    truncate: false,
    direction: 'Right',
    normalize: true,
    dimensions: null,
    promptName: null,
    ...over,
  };
}

/** What the simulator's own HTTP /embed answers for the same batch, as f32 rows and x-compute-tokens. */
async function reference(
  httpSim: RunningSim,
  b: EmbedBatch,
): Promise<{ vectors: Float32Array; tokens: number }> {
  const body: Record<string, unknown> = {
    inputs: b.texts,
    truncate: b.truncate,
    truncation_direction: b.direction,
    normalize: b.normalize,
  };
  if (b.dimensions !== null) body.dimensions = b.dimensions;
  if (b.promptName !== null) body.prompt_name = b.promptName;
  const res = await postJson(httpSim.url, '/embed', body);
  assert.equal(res.status, 200, res.body);
  const rows = JSON.parse(res.body) as number[][];
  return { vectors: Float32Array.from(rows.flat()), tokens: Number(res.headers['x-compute-tokens']) };
}

function sameBits(actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  assert.ok(
    Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    ),
    'identical f32 bits',
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof BackendError, String(e));
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

const isTei = (type: string, message: string | RegExp) => (e: unknown) => {
  assert.ok(e instanceof TeiBackendError, String(e));
  assert.equal(e.errorType, type);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

const isAbort = (e: unknown) => {
  assert.ok(e instanceof Error && e.name === 'AbortError', String(e));
  return true;
};

for (const protocol of ['http', 'grpc'] as const) {
  describe(`${protocol} backend`, () => {
    const options: Partial<SimOptions> = {
      modelId: 'acme/e5-small',
      pooling: 'cls',
      dim: 48,
      maxConcurrentRequests: 64,
      maxInputLength: 128,
      maxBatchTokens: 4096,
      maxBatchRequests: 8,
      maxClientBatchSize: 16,
      prompts: { query: 'query: ' },
    };
    let s: RunningSim;
    let ref: RunningSim;
    let backend: TeiBackend;
    before(async () => {
      s = await sim({ ...options, protocol });
      ref = await sim(options);
      backend = createBackend(s.url, { timeoutMs: 5000 });
    });
    after(async () => {
      await backend.close();
      await s.close();
      await ref.close();
    });

    it('info() reports the backend options', async () => {
      const info = await backend.info();
      assert.deepEqual(info, {
        modelId: 'acme/e5-small',
        modelType: 'embedding',
        pooling: protocol === 'http' ? 'cls' : undefined,
        maxConcurrentRequests: 64,
        maxInputLength: 128,
        maxBatchTokens: 4096,
        maxBatchRequests: 8,
        maxClientBatchSize: 16,
        version: '1.9.3',
        autoTruncate: protocol === 'http' ? true : undefined,
      });
    });

    it('embed() equals the simulator’s own /embed bit for bit, with its token count', async () => {
      const b = batch();
      const r = await backend.embed(b);
      const expected = await reference(ref, b);
      assert.equal(r.rows, TEXTS.length);
      assert.equal(r.dim, 48);
      sameBits(r.vectors, expected.vectors);
      assert.equal(r.tokens, expected.tokens);
      for (const k of ['totalNs', 'tokenizationNs', 'queueNs', 'inferenceNs'] as const) {
        assert.ok(Number.isFinite(r.timings[k]) && r.timings[k] >= 0, k);
      }
    });

    it('embed() honours normalize, dimensions, direction and prompt_name', async () => {
      const variants: Array<Partial<EmbedBatch>> = [
        { normalize: false },
        { dimensions: 16 },
        { dimensions: 16, normalize: false },
        { promptName: 'query' },
        { texts: ['word '.repeat(200)], truncate: true, direction: 'Left' },
      ];
      for (const v of variants) {
        const b = batch(v);
        const r = await backend.embed(b);
        sameBits(r.vectors, (await reference(ref, b)).vectors);
        assert.equal(r.dim, v.dimensions ?? 48);
        const n = norm(r.vectors.subarray(0, r.dim));
        if (b.normalize) assert.ok(Math.abs(n - 1) < 1e-5, `unit norm for ${JSON.stringify(v)}`);
        else assert.ok(Math.abs(n - 1) > 1e-3, `raw norm for ${JSON.stringify(v)}`);
      }
      const plain = await backend.embed(batch({ texts: ['x'] }));
      const prompted = await backend.embed(batch({ texts: ['x'], promptName: 'query' }));
      assert.ok(prompted.tokens > plain.tokens, 'the prompt is tokenized too');
    });

    it('an empty batch resolves at once with no rows', async () => {
      const r = await backend.embed(batch({ texts: [] }));
      assert.deepEqual([r.rows, r.dim, r.vectors.length, r.tokens], [0, 0, 0, 0]);
    });

    it('TEI validation errors surface as TeiError with TEI’s message', async () => {
      await assert.rejects(
        backend.embed(batch({ texts: ['a', ''] })),
        isTei('Empty', 'Input validation error: `inputs` cannot be empty'),
      );
      const long = 'word '.repeat(200);
      await assert.rejects(
        backend.embed(batch({ texts: [long] })),
        isTei('Validation', /^Input validation error: `inputs` must have less than 128 tokens\. Given: 202$/),
      );
      await assert.rejects(
        backend.embed(batch({ dimensions: 0 })),
        isTei('Validation', 'Input validation error: `dimensions` should be positive'),
      );
      await assert.rejects(
        backend.embed(batch({ promptName: 'nope' })),
        isTei('Validation', /Available prompts/),
      );
      const ok = await backend.embed(batch({ texts: [long], truncate: true }));
      assert.equal(ok.tokens, 128);
    });

    it('a backend that is not listening → ROUTER_ERR_BACKEND_UNAVAILABLE naming the URL', async () => {
      const url = `${protocol}://127.0.0.1:${await freePort()}`;
      const dead = createBackend(url, { timeoutMs: 2000 });
      try {
        await assert.rejects(
          dead.embed(batch()),
          isCode('ROUTER_ERR_BACKEND_UNAVAILABLE', new RegExp(`${url}.*ECONNREFUSED`)),
        );
        await assert.rejects(dead.info(), isCode('ROUTER_ERR_BACKEND_UNAVAILABLE'));
        assert.equal(await dead.health(), false);
      } finally {
        await dead.close();
      }
    });

    it('a hung backend → ROUTER_ERR_BACKEND_TIMEOUT within the timeout, and its permits return', async () => {
      const hung = await sim({
        ...options,
        protocol,
        faults: { rate: 1, kind: 'hang', errorType: 'Backend', seed: 1 },
      });
      const b = createBackend(hung.url, { timeoutMs: 300 });
      try {
        const started = Date.now();
        await assert.rejects(
          b.embed(batch()),
          isCode('ROUTER_ERR_BACKEND_TIMEOUT', /no answer within 300 ms|DEADLINE/),
        );
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 250 && elapsed < 1500, `rejected after ${elapsed} ms`);
        await until(() => hung.engine.permits.inUse === 0);
      } finally {
        await b.close();
        await hung.close();
      }
    });

    it('a reset connection → ROUTER_ERR_BACKEND_UNAVAILABLE', async () => {
      const flaky = await sim({
        ...options,
        protocol,
        faults: { rate: 1, kind: 'reset', errorType: 'Backend', seed: 1 },
      });
      const b = createBackend(flaky.url, { timeoutMs: 2000 });
      try {
        await assert.rejects(
          b.embed(batch()),
          isCode('ROUTER_ERR_BACKEND_UNAVAILABLE', new RegExp(flaky.url)),
        );
      } finally {
        await b.close();
        await flaky.close();
      }
    });

    it('an aborted signal rejects promptly, frees the backend’s permits and leaks no connection', async () => {
      const slow = await sim({
        ...options,
        protocol,
        latency: { batchBaseMs: 3000, perTokenUs: 0, padded: false },
      });
      const b = createBackend(slow.url, { timeoutMs: 10_000 });
      try {
        const pre = new AbortController();
        pre.abort();
        await assert.rejects(b.embed(batch(), pre.signal), isAbort);
        assert.equal(slow.engine.permits.inUse, 0, 'a pre-aborted call sends nothing');

        const abort = new AbortController();
        const pending = b.embed(batch(), abort.signal);
        await until(() => slow.engine.permits.inUse > 0);
        const started = Date.now();
        abort.abort();
        await assert.rejects(pending, isAbort);
        assert.ok(Date.now() - started < 500, 'prompt');
        await until(() => slow.engine.permits.inUse === 0);
        if (protocol === 'http') await until(() => (b as HttpBackend).stats.running === 0);

        const reason = new Error('pipeline gave up');
        const mine = new AbortController();
        const again = b.embed(batch({ texts: ['x'] }), mine.signal);
        setTimeout(() => mine.abort(reason), 20);
        await assert.rejects(again, (e) => e === reason);
      } finally {
        await b.close();
        await slow.close();
      }
    });

    it('health() is true when serving and false when not', async () => {
      const fresh = await sim({ ...options, protocol });
      const b = createBackend(fresh.url, { timeoutMs: 2000 });
      try {
        assert.equal(await b.health(), true, 'a fresh backend is healthy (gRPC: NOT_SERVING until probed)');
        assert.equal(await b.health(), true);
        if (protocol === 'http') {
          fresh.engine.healthy = false;
        } else {
          // TEI flips the model service to NOT_SERVING after a failed model call
          fresh.engine.setFaults({ rate: 1, kind: 'error', errorType: 'Backend' });
          await assert.rejects(
            b.embed(batch({ texts: ['x'] })),
            isTei('Backend', 'Backend error: injected fault'),
          );
        }
        assert.equal(await b.health(), false);
        const abort = new AbortController();
        abort.abort();
        await assert.rejects(b.health(abort.signal), isAbort);
      } finally {
        await b.close();
        await fresh.close();
      }
    });
  });
}

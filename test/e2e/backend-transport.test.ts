/**
 * Transport behaviour of src/backend against the simulator: TEI's overload semantics per protocol (HTTP fails fast
 * with 429, gRPC streams wait for permits), h2c with prior knowledge, API keys, and keep-alive reuse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createBackend } from '../../src/backend/index.js';
import { BackendError, TeiBackendError } from '../../src/backend/errors.js';
import type { HttpBackend } from '../../src/backend/http.js';
import { embedBatch, sim } from '../helpers/sim.js';

const batch = (texts: string[]) => embedBatch(texts);

const SLOW = { batchBaseMs: 300, perTokenUs: 0, padded: false };

/** A TCP relay to `port` that records whether each connection opened with the HTTP/2 preface. */
async function relay(
  port: number,
): Promise<{ port: number; prefaces: boolean[]; close: () => Promise<void> }> {
  const prefaces: boolean[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.once('data', (head: Buffer) => {
      prefaces.push(head.subarray(0, 24).toString('latin1') === 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    const down = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', down).on('close', down);
    upstream.on('error', down).on('close', down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    prefaces,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('overload: maxConcurrentRequests 1, slow batches', () => {
  it('HTTP: a second concurrent embed of 2 texts gets TEI’s 429 Overloaded', async () => {
    const s = await sim({ maxConcurrentRequests: 1, latency: SLOW });
    const b = createBackend(s.url, { timeoutMs: 5000 });
    try {
      const first = b.embed(batch(['one']));
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(b.embed(batch(['two', 'three'])), (e: unknown) => {
        assert.ok(e instanceof TeiBackendError, String(e));
        assert.equal(e.errorType, 'Overloaded');
        assert.equal(e.message, 'Model is overloaded');
        assert.equal(e.status, 429);
        return true;
      });
      assert.equal((await first).rows, 1);
    } finally {
      await b.close();
      await s.close();
    }
  });

  it('gRPC: EmbedStream items wait for permits, so the second embed succeeds', async () => {
    const s = await sim({ protocol: 'grpc', maxConcurrentRequests: 1, latency: SLOW });
    const b = createBackend(s.url, { timeoutMs: 5000 });
    try {
      const started = Date.now();
      const first = b.embed(batch(['one']));
      await new Promise((r) => setTimeout(r, 50));
      const second = await b.embed(batch(['two', 'three']));
      assert.equal(second.rows, 2);
      assert.equal((await first).rows, 1);
      assert.ok(Date.now() - started >= 3 * 300 - 50, 'three batches ran one after another');
      assert.ok(second.timings.queueNs > 0, 'the waiting shows as queue time');
    } finally {
      await b.close();
      await s.close();
    }
  });
});

describe('HTTP transports', () => {
  it('h2c: HTTP/2 with prior knowledge, the same vectors as HTTP/1.1, many calls on one connection', async () => {
    const s = await sim();
    const proxy = await relay(s.port);
    const url = `http://127.0.0.1:${proxy.port}`;
    const h2 = createBackend(url, { timeoutMs: 5000, h2c: true });
    const h1 = createBackend(url, { timeoutMs: 5000 });
    try {
      const texts = ['alpha', 'beta gamma', 'delta'];
      const results = await Promise.all(Array.from({ length: 8 }, () => h2.embed(batch(texts))));
      assert.deepEqual(proxy.prefaces, [true], 'one HTTP/2 connection carried every call');
      assert.equal((await h2.info()).modelType, 'embedding');
      assert.equal(await h2.health(), true);
      const viaH1 = await h1.embed(batch(texts));
      assert.deepEqual(proxy.prefaces, [true, false], 'the default is HTTP/1.1');
      for (const r of results) assert.deepEqual(r.vectors, viaH1.vectors);
    } finally {
      await h2.close();
      await h1.close();
      await proxy.close();
      await s.close();
    }
  });

  it('HTTP/1.1 keeps connections alive across calls', async () => {
    const s = await sim();
    const proxy = await relay(s.port);
    const b = createBackend(`http://127.0.0.1:${proxy.port}`, { timeoutMs: 5000 });
    try {
      for (let i = 0; i < 10; i++) await b.embed(batch([`text ${i}`]));
      // undici may open a second socket when a call starts in the tick the previous body ended; both are reused
      assert.ok(proxy.prefaces.length <= 2, `10 sequential calls used ${proxy.prefaces.length} sockets`);
      assert.ok((b as HttpBackend).stats.connected <= 2);
    } finally {
      await b.close();
      await proxy.close();
      await s.close();
    }
  });
});

describe('API keys (TEI --api-key)', () => {
  for (const protocol of ['http', 'grpc'] as const) {
    it(`${protocol}: the key is sent; a missing key is ROUTER_ERR_BACKEND_AUTH`, async () => {
      const s = await sim({ protocol, apiKey: 'sekret' });
      const good = createBackend(s.url, { timeoutMs: 2000, apiKey: 'sekret' });
      const bad = createBackend(s.url, { timeoutMs: 2000 });
      try {
        assert.equal((await good.embed(batch(['x']))).rows, 1);
        assert.equal((await good.info()).modelType, 'embedding');
        await assert.rejects(bad.embed(batch(['x'])), (e: unknown) => {
          assert.ok(e instanceof BackendError, String(e));
          assert.equal(e.code, 'ROUTER_ERR_BACKEND_AUTH');
          assert.match(e.message, /api-key/);
          return true;
        });
        assert.equal(
          await bad.health(),
          protocol === 'http',
          'HTTP /health is public; gRPC Info needs the key',
        );
      } finally {
        await good.close();
        await bad.close();
        await s.close();
      }
    });
  }
});

/**
 * The gRPC backend's EmbedStream call, made on node:http2 directly (src/backend/grpc-h2.ts), against a scripted
 * HTTP/2 gRPC server on loopback: what goes on the wire (headers, framed requests), answers cut into DATA chunks
 * anywhere, and every way a call can end (trailers-only errors, HTTP errors, resets, compressed or missing messages,
 * the caller's abort, the server's GOAWAY), each mapped as grpc-js's errors are.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createBackend } from '../../src/backend/index.js';
import { BackendError, TeiBackendError } from '../../src/backend/errors.js';
import { GrpcFrameReader } from '../../src/backend/grpc-frames.js';
import { grpcTimeout } from '../../src/backend/grpc-h2.js';
import type { TeiBackend } from '../../src/backend/types.js';
import { loadProtos } from '../../src/proto/load.js';
import { embedBatch } from '../helpers/sim.js';

type Codec = {
  requestDeserialize: (b: Buffer) => Record<string, unknown>;
  responseSerialize: (v: unknown) => Buffer;
};
const embedStream = (loadProtos().definition['tei.v1.Embed'] as unknown as Record<string, Codec>).EmbedStream;

function frame(msg: Uint8Array, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

const response = (i: number, dim = 4) =>
  frame(
    embedStream.responseSerialize({
      embeddings: Array.from({ length: dim }, (_, k) => i + k / 8),
      metadata: { compute_tokens: 3, queue_time_ns: 1000 * (i + 1) },
    }),
  );

/** What one call brought to the server. */
interface Seen {
  headers: http2.IncomingHttpHeaders;
  requests: Record<string, unknown>[];
  stream: http2.ServerHttp2Stream;
}

type Handler = (seen: Seen) => void | Promise<void>;

const batch = embedBatch;

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof BackendError, String(e));
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

describe('gRPC backend EmbedStream on HTTP/2 directly', () => {
  let server: http2.Http2Server;
  let url: string;
  let handler: Handler = () => undefined;
  let sessions = 0;
  const calls: Seen[] = [];
  let backend: TeiBackend;

  before(async () => {
    server = http2.createServer();
    server.on('session', () => sessions++);
    server.on('stream', (stream, headers) => {
      const requests: Record<string, unknown>[] = [];
      const reader = new GrpcFrameReader(
        (buf, start, end) =>
          requests.push(embedStream.requestDeserialize(Buffer.from(buf.subarray(start, end)))),
        1 << 20,
      );
      stream.on('data', (chunk: Buffer) => reader.push(chunk));
      stream.on('end', () => {
        const seen = { headers, requests, stream };
        calls.push(seen);
        void handler(seen);
      });
      stream.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `grpc://127.0.0.1:${(server.address() as AddressInfo).port}`;
    backend = createBackend(url, {
      timeoutMs: 5000,
      apiKey: 'sekret',
      extraHeaders: () => ({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
    });
  });

  after(async () => {
    await backend.close();
    server.close();
  });

  /** Answers `body` in `chunk`-byte DATA writes, then trailers with `status`. */
  const send =
    (body: Buffer, chunk = body.length, status = 0, message = '') =>
    async ({ stream }: Seen) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }),
      );
      for (let pos = 0; pos < body.length; pos += chunk) {
        stream.write(body.subarray(pos, pos + chunk));
        await new Promise((r) => setImmediate(r));
      }
      stream.end();
    };

  /** Answers `n` responses in `chunk`-byte DATA writes, then trailers with `status`. */
  const answer = (n: number, chunk: number, status = 0, message = '') =>
    send(Buffer.concat(Array.from({ length: n }, (_, i) => response(i))), chunk, status, message);

  it('sends one framed EmbedRequest per text with gRPC headers and metadata; reads answers cut anywhere', async () => {
    handler = answer(3, 7);
    const deadline = Date.now() + 2000;
    const r = await backend.embed(batch(['a', 'bé', ''], { dimensions: 4, promptName: 'query', deadline }));
    const seen = calls.at(-1)!;
    assert.equal(seen.headers[':path'], '/tei.v1.Embed/EmbedStream');
    assert.equal(seen.headers['content-type'], 'application/grpc');
    assert.equal(seen.headers.te, 'trailers');
    assert.equal(seen.headers.authorization, 'Bearer sekret');
    assert.match(String(seen.headers.traceparent), /^00-0af7/);
    const timeout = Number(/^(\d+)m$/.exec(String(seen.headers['grpc-timeout']))?.[1]);
    assert.ok(timeout > 1000 && timeout <= 2050, `grpc-timeout ${seen.headers['grpc-timeout']}`);
    assert.deepEqual(
      seen.requests.map((m) => [m.inputs, m.truncate, m.normalize, m.dimensions, m.prompt_name]),
      [
        ['a', true, true, 4, 'query'],
        ['bé', true, true, 4, 'query'],
        ['', true, true, 4, 'query'],
      ],
    );
    assert.equal(r.rows, 3);
    assert.equal(r.dim, 4);
    assert.deepEqual(
      Array.from(r.vectors),
      [0, 0.125, 0.25, 0.375, 1, 1.125, 1.25, 1.375, 2, 2.125, 2.25, 2.375],
    );
    assert.equal(r.tokens, 9);
    assert.equal(r.timings.queueNs, 2000, 'per-message metadata averaged over the stream');
  });

  it("a trailers-only error is TEI's error; a status in the trailers after answers too", async () => {
    handler = ({ stream }) =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '3',
          'grpc-message': encodeURIComponent('Input validation error: `inputs` cannot be empty'),
        },
        { endStream: true },
      );
    await assert.rejects(backend.embed(batch(['x'])), (e: unknown) => {
      assert.ok(e instanceof TeiBackendError, String(e));
      assert.equal(e.errorType, 'Empty');
      assert.equal(e.message, 'Input validation error: `inputs` cannot be empty');
      return true;
    });
    handler = answer(1, 1000, 8, 'Model is overloaded');
    await assert.rejects(backend.embed(batch(['x', 'y'])), (e: unknown) => {
      assert.ok(e instanceof TeiBackendError && e.errorType === 'Overloaded', String(e));
      return true;
    });
  });

  it('an HTTP error status (with or without a body) and a lost connection are UNAVAILABLE', async () => {
    handler = ({ stream }) => stream.respond({ ':status': 503 }, { endStream: true });
    await assert.rejects(
      backend.embed(batch(['x'])),
      isCode('ROUTER_ERR_BACKEND_UNAVAILABLE', /HTTP status code 503/),
    );
    // a proxy's error page is not parsed as gRPC
    handler = ({ stream }) => {
      stream.respond({ ':status': 502, 'content-type': 'text/html' });
      stream.end('<html><body>Bad gateway</body></html>');
    };
    await assert.rejects(
      backend.embed(batch(['x'])),
      isCode('ROUTER_ERR_BACKEND_UNAVAILABLE', /HTTP status code 502/),
    );
    handler = ({ stream }) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(response(0));
      stream.session?.destroy();
    };
    await assert.rejects(backend.embed(batch(['x', 'y'])), isCode('ROUTER_ERR_BACKEND_UNAVAILABLE'));
    // and the next call opens a new connection
    handler = answer(1, 1000);
    assert.equal((await backend.embed(batch(['x']))).rows, 1);
  });

  it("a gRPC status wins over the HTTP status: 429 with RESOURCE_EXHAUSTED is TEI's Overloaded", async () => {
    handler = ({ stream }) =>
      stream.respond(
        {
          ':status': 429,
          'content-type': 'application/grpc',
          'grpc-status': '8',
          'grpc-message': 'Model is overloaded',
        },
        { endStream: true },
      );
    await assert.rejects(backend.embed(batch(['x'])), (e: unknown) => {
      assert.ok(e instanceof TeiBackendError && e.errorType === 'Overloaded', String(e));
      return true;
    });
  });

  it('a stream the server resets or ends without a status is mapped as grpc-js maps it (not a dead replica)', async () => {
    const reset = (code: number) => (seen: Seen) => {
      seen.stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      seen.stream.write(response(0));
      seen.stream.close(code);
    };
    handler = reset(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await assert.rejects(
      backend.embed(batch(['x', 'y'])),
      isCode('ROUTER_ERR_BACKEND_PROTOCOL', /RST_STREAM with code 2/),
    );
    handler = ({ stream }) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(response(0));
    };
    await assert.rejects(
      backend.embed(batch(['x'])),
      isCode('ROUTER_ERR_BACKEND_PROTOCOL', /ended without a gRPC status/),
    );
    handler = reset(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await assert.rejects(backend.embed(batch(['x', 'y'])), (e: unknown) => {
      assert.ok(e instanceof TeiBackendError && e.errorType === 'Overloaded', String(e));
      return true;
    });
  });

  it('a stream refused before any answer is tried once more on a new session', async () => {
    let refusals = 1;
    handler = (seen) => {
      if (refusals-- > 0) seen.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else void answer(1, 1000)(seen);
    };
    const before = sessions;
    assert.equal((await backend.embed(batch(['x']))).rows, 1);
    assert.ok(sessions > before, 'the retry went on a new session');
    refusals = 2;
    await assert.rejects(backend.embed(batch(['x'])), isCode('ROUTER_ERR_BACKEND_UNAVAILABLE', /refused/));
  });

  it('a header HTTP/2 refuses fails the call as a protocol error (not a dead replica); others go on', async () => {
    const bad = createBackend(url, { timeoutMs: 2000, extraHeaders: () => ({ 'x bad': 'v' }) });
    try {
      await assert.rejects(bad.embed(batch(['x'])), isCode('ROUTER_ERR_BACKEND_PROTOCOL', /header/i));
      await assert.rejects(bad.embed(batch(['x'])), isCode('ROUTER_ERR_BACKEND_PROTOCOL', /header/i));
    } finally {
      await bad.close();
    }
    handler = answer(1, 1000);
    assert.equal((await backend.embed(batch(['x']))).rows, 1);
  });

  it('wrong answers are ROUTER_ERR_BACKEND_PROTOCOL: compressed, too few, too many, ragged, cut mid-message', async () => {
    const cases: Array<[Handler, RegExp]> = [
      [send(frame(Buffer.alloc(4), 1)), /compressed gRPC message/],
      [answer(1, 1000), /ended after 1 of 2 responses/],
      [
        ({ stream }) => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          const head = Buffer.alloc(5);
          head.writeUInt32BE(0x7fffffff, 1); // a 2 GiB message announced: refused before any allocation
          stream.end(head);
        },
        /over the 16777216-byte limit/,
      ],
      [answer(3, 1000), /more than 2 responses/],
      [send(Buffer.concat([response(0, 4), response(1, 5)])), /response 1 has 5 values, response 0 has 4/],
      [send(Buffer.concat([response(0), response(1).subarray(0, 9)])), /ended inside a message/],
    ];
    for (const [h, re] of cases) {
      handler = h;
      await assert.rejects(backend.embed(batch(['x', 'y'])), isCode('ROUTER_ERR_BACKEND_PROTOCOL', re));
    }
  });

  it("the caller's abort cancels the stream on the wire (RST_STREAM CANCEL)", async () => {
    let serverStream: http2.ServerHttp2Stream | undefined;
    handler = ({ stream }) => {
      serverStream = stream;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(response(0)); // then nothing: the caller gives up
    };
    const ac = new AbortController();
    const pending = backend.embed(batch(['x', 'y']), ac.signal);
    while (serverStream === undefined) await new Promise((r) => setTimeout(r, 5));
    const closed = once(serverStream, 'close');
    ac.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof Error && e.name === 'AbortError');
    await closed;
    assert.equal(serverStream.rstCode, http2.constants.NGHTTP2_CANCEL);
  });

  it('after a GOAWAY, calls in flight finish and the next call opens a new session', async () => {
    handler = async (seen) => {
      await answer(1, 1000)(seen);
      seen.stream.session?.goaway();
    };
    const before = sessions;
    assert.equal((await backend.embed(batch(['x']))).rows, 1);
    handler = answer(1, 1000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await backend.embed(batch(['y']))).rows, 1);
    assert.ok(sessions > before, 'a new session after the GOAWAY');
  });
});

describe('grpcTimeout', () => {
  it('writes at most 8 digits, in milliseconds, seconds or hours', () => {
    assert.equal(grpcTimeout(0.2), '1m');
    assert.equal(grpcTimeout(1500.1), '1501m');
    assert.equal(grpcTimeout(99_999_999), '99999999m');
    assert.equal(grpcTimeout(100_000_000), '100000S');
    assert.equal(grpcTimeout(1e12), '277778H');
    assert.equal(grpcTimeout(1e18), '99999999H');
  });
});

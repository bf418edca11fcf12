/** The backend error tables (http-errors.ts, grpc-errors.ts) and createBackend's URL rules. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createBackend } from '../../../src/backend/index.js';
import { BackendError, TeiBackendError, abortError } from '../../../src/backend/errors.js';
import { responseError, transportError } from '../../../src/backend/http-errors.js';
import { grpcError } from '../../../src/backend/grpc-errors.js';
import { RouterError } from '../../../src/errors.js';
import { TeiError } from '../../../src/tei/errors.js';

const B = 'http://10.0.0.1:80';

function expectTei(err: Error, type: string, message: string) {
  assert.ok(err instanceof TeiBackendError, `${err.name}: ${err.message}`);
  assert.ok(err instanceof TeiError);
  assert.equal(err.errorType, type);
  assert.equal(err.message, message);
  assert.equal(err.backend, B);
}

function expectCode(err: Error, code: string, re?: RegExp) {
  assert.ok(err instanceof BackendError, `${err.name}: ${err.message}`);
  assert.ok(err instanceof RouterError);
  assert.equal(err.code, code);
  assert.ok(err.message.includes(B), 'names the backend');
  if (re) assert.match(err.message, re);
}

describe('HTTP answers → errors', () => {
  it('TEI error bodies become TeiBackendError with the status', () => {
    const cases: Array<[number, string, string]> = [
      [400, 'Empty', 'Input validation error: `inputs` cannot be empty'],
      [413, 'Validation', 'batch size 40 > maximum allowed batch size 32'],
      [422, 'Validation', 'Input validation error: `inputs` must have less than 256 tokens. Given: 300'],
      [422, 'Tokenizer', 'tokenizer error x'],
      [429, 'Overloaded', 'Model is overloaded'],
      [424, 'Backend', 'Backend error: x'],
      [503, 'Unhealthy', 'unhealthy'],
    ];
    for (const [status, type, message] of cases) {
      const err = responseError(B, '/embed', status, JSON.stringify({ error: message, error_type: type }));
      expectTei(err, type, message);
      assert.equal((err as TeiBackendError).status, status);
    }
  });

  it('plain-text framework answers and 401 become router errors', () => {
    expectCode(responseError(B, '/embed', 401, ''), 'ROUTER_ERR_BACKEND_AUTH', /401.*api-key/);
    expectCode(
      responseError(B, '/embed', 413, 'Failed to buffer the request body: length limit exceeded'),
      'ROUTER_ERR_BACKEND_REJECTED',
      /HTTP 413: Failed to buffer/,
    );
    expectCode(
      responseError(B, '/embed', 415, 'Expected request with `Content-Type: application/json`'),
      'ROUTER_ERR_BACKEND_REJECTED',
    );
    expectCode(responseError(B, '/embed', 422, 'Failed to deserialize'), 'ROUTER_ERR_BACKEND_REJECTED');
    expectCode(responseError(B, '/embed', 400, 'Failed to parse'), 'ROUTER_ERR_BACKEND_REJECTED');
    expectCode(responseError(B, '/embed', 502, 'Bad Gateway'), 'ROUTER_ERR_BACKEND_UNAVAILABLE');
    expectCode(responseError(B, '/embed', 404, ''), 'ROUTER_ERR_BACKEND_PROTOCOL', /TEI HTTP server/);
    expectCode(responseError(B, '/embed', 500, 'oops'), 'ROUTER_ERR_BACKEND_PROTOCOL');
    expectCode(
      responseError(B, '/embed', 429, '{"error":"x","error_type":"Nope"}'),
      'ROUTER_ERR_BACKEND_PROTOCOL',
    );
  });

  it('transport errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' });
    expectCode(transportError(B, refused), 'ROUTER_ERR_BACKEND_UNAVAILABLE', /ECONNREFUSED/);
    const headers = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expectCode(transportError(B, headers), 'ROUTER_ERR_BACKEND_TIMEOUT');
  });
});

describe('gRPC statuses → errors', () => {
  const status = (code: grpc.status, details: string) =>
    Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
      code,
      details,
      metadata: new grpc.Metadata(),
    });
  it('TEI statuses map back to TEI error types', () => {
    const S = grpc.status;
    const cases: Array<[grpc.status, string, string]> = [
      [S.INVALID_ARGUMENT, 'Input validation error: `inputs` cannot be empty', 'Empty'],
      [S.INVALID_ARGUMENT, '`texts` cannot be empty', 'Empty'],
      [
        S.INVALID_ARGUMENT,
        'Input validation error: `inputs` must have less than 256 tokens. Given: 300',
        'Validation',
      ],
      [S.RESOURCE_EXHAUSTED, 'Model is overloaded', 'Overloaded'],
      [S.FAILED_PRECONDITION, 'Backend error: Model is not an embedding model', 'Backend'],
      [S.FAILED_PRECONDITION, 'tokenizer error x', 'Tokenizer'],
      [S.UNAVAILABLE, 'unhealthy', 'Unhealthy'],
    ];
    for (const [code, details, type] of cases) {
      const err = grpcError(B, status(code, details));
      expectTei(err, type, details);
      assert.equal((err as TeiBackendError).grpcCode, code);
    }
  });

  it('other statuses become router errors', () => {
    const S = grpc.status;
    const cases: Array<[grpc.status, string, string]> = [
      [
        S.UNAVAILABLE,
        'No connection established. Last error: connect ECONNREFUSED',
        'ROUTER_ERR_BACKEND_UNAVAILABLE',
      ],
      [S.CANCELLED, 'Call cancelled', 'ROUTER_ERR_BACKEND_UNAVAILABLE'],
      [S.DEADLINE_EXCEEDED, 'Deadline exceeded', 'ROUTER_ERR_BACKEND_TIMEOUT'],
      [S.UNAUTHENTICATED, 'No valid auth token', 'ROUTER_ERR_BACKEND_AUTH'],
      [S.OUT_OF_RANGE, 'Error, decoded message length too large', 'ROUTER_ERR_BACKEND_REJECTED'],
      [S.RESOURCE_EXHAUSTED, 'Received message larger than max (5 vs 4)', 'ROUTER_ERR_BACKEND_PROTOCOL'],
      [S.UNIMPLEMENTED, 'unknown service', 'ROUTER_ERR_BACKEND_PROTOCOL'],
      [S.INTERNAL, 'x', 'ROUTER_ERR_BACKEND_PROTOCOL'],
    ];
    for (const [code, details, expected] of cases) {
      const err = grpcError(B, status(code, details));
      expectCode(err, expected, new RegExp(grpc.status[code]));
      assert.equal((err as BackendError).grpcCode, code);
    }
  });
});

describe('abortError', () => {
  it('is the signal reason when it is an Error, else an AbortError', () => {
    const a = new AbortController();
    a.abort();
    assert.equal(abortError(a.signal).name, 'AbortError');
    const b = new AbortController();
    const reason = new Error('mine');
    b.abort(reason);
    assert.equal(abortError(b.signal), reason);
  });
});

describe('createBackend', () => {
  const config = (fn: () => unknown, re: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) => e instanceof RouterError && e.code === 'ROUTER_ERR_CONFIG' && re.test(e.message),
    );

  it('picks the client by scheme', async () => {
    for (const [url, protocol, shown] of [
      ['http://127.0.0.1:1/', 'http', 'http://127.0.0.1:1'],
      ['https://tei.example/base/', 'https', 'https://tei.example/base'],
      ['grpc://127.0.0.1:1', 'grpc', 'grpc://127.0.0.1:1'],
      ['grpcs://tei.example', 'grpc', 'grpcs://tei.example:443'],
    ] as const) {
      const b = createBackend(url, { timeoutMs: 100 });
      assert.equal(b.protocol, protocol === 'https' ? 'http' : protocol);
      assert.equal(b.url, shown);
      await b.close();
    }
  });

  it('refuses other schemes and bad options with ROUTER_ERR_CONFIG', () => {
    config(() => createBackend('ftp://x', { timeoutMs: 1 }), /scheme ftp; use http, https, grpc or grpcs/);
    config(() => createBackend('localhost:80', { timeoutMs: 1 }), /scheme localhost; use http/);
    config(
      () => createBackend('127.0.0.1:80', { timeoutMs: 1 }),
      /not a valid URL; write scheme:\/\/host:port/,
    );
    config(() => createBackend('not a url', { timeoutMs: 1 }), /not a valid URL/);
    config(() => createBackend('http://u:p@x', { timeoutMs: 1 }), /credentials/);
    config(() => createBackend('http://x', { timeoutMs: 0 }), /timeout/);
    config(() => createBackend('http://x', { timeoutMs: 1, connections: 0 }), /connections/);
    config(() => createBackend('grpc://x:1', { timeoutMs: 1, h2c: true }), /h2c applies to http/);
    config(() => createBackend('grpc://x:1/path', { timeoutMs: 1 }), /must not have a path/);
  });
});

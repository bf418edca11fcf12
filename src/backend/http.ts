/**
 * TEI over HTTP: one undici Pool per backend (keep-alive; HTTP/1.1, h2 by ALPN for https://, or h2c with prior
 * knowledge when asked). Each call runs in a CallScope (caller's signal + per-call timeout); an aborted call
 * rejects at once and undici destroys its stream (h2) or socket (HTTP/1.1), so nothing leaks. No retries here:
 * POSTs to TEI are not idempotent with respect to its permits, and retrying belongs to the replica set.
 */
import { Pool } from 'undici';
import { CallScope } from './call-scope.js';
import { abortError } from './errors.js';
import { responseError, transportError } from './http-errors.js';
import {
  ResponseReader,
  decodeBody,
  embedBody,
  predictBody,
  rerankBody,
  seqBody,
  embedPassBody,
  tokenizeBody,
} from './http-json.js';
import { infoFromHttp } from './info.js';
import { metaFromHeaders, timingsOf } from './metadata.js';
import type {
  BackendInfo,
  BackendOptions,
  EmbedBatch,
  EmbedBatchResult,
  ForwardCall,
  ForwardOp,
  ForwardResult,
  TeiBackend,
} from './types.js';
import type { HeaderBag } from './metadata.js';

/** Streams per HTTP/2 connection for h2c (undici's H2CClient default; TEI's hyper allows more). */
const H2C_STREAMS = 100;

/** A whole answer: its bytes, and its text decoded on first use. */
class RawResponse {
  private decoded: string | undefined;

  constructor(
    readonly status: number,
    readonly headers: HeaderBag,
    readonly bytes: Buffer,
  ) {}

  /** UTF-8 text without a leading byte order mark, as undici's body.text() gives it. */
  get text(): string {
    const b = this.bytes;
    const bom = b.length > 2 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
    return (this.decoded ??= b.toString('utf8', bom ? 3 : 0));
  }
}

/** The base URL without credentials or a trailing slash, e.g. `http://10.0.0.5:8080` or `https://host/tei`. */
export function displayUrl(u: URL): string {
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** The error of a request written to a pooled socket the peer had already closed (no answer was read). */
function isStaleSocket(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STALE_SOCKET_CODES.has(code);
}

export class HttpBackend implements TeiBackend {
  readonly protocol = 'http' as const;
  readonly url: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  /** Headers of POSTs (JSON bodies) and GETs. */
  private readonly postHeaders: Record<string, string>;
  private readonly getHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly extraHeaders: BackendOptions['extraHeaders'];

  constructor(url: URL, options: BackendOptions) {
    this.url = displayUrl(url);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.extraHeaders = options.extraHeaders;
    this.getHeaders = options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.postHeaders = { ...this.getHeaders, 'content-type': 'application/json' };
    if (options.h2c) {
      // Pool builds one connector for its clients; `useH2c` there marks plain sockets as h2 (prior knowledge).
      this.pool = new Pool(url.origin, {
        connections: options.connections ?? 1,
        allowH2: true,
        pipelining: H2C_STREAMS,
        connect: { useH2c: true } as Pool.Options['connect'],
      });
    } else {
      // https: h2 when the server offers it by ALPN; one stream per connection, since the same clients must not
      // pipeline if ALPN picks HTTP/1.1.
      const tls = url.protocol === 'https:' ? options.tls : undefined;
      this.pool = new Pool(url.origin, {
        connections: options.connections ?? null,
        pipelining: 1,
        allowH2: url.protocol === 'https:',
        ...(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
      });
    }
  }

  private headersFor(base: Record<string, string>): Record<string, string> {
    const extra = this.extraHeaders?.();
    return extra ? { ...base, ...extra } : base;
  }

  /** One request and its whole body, inside a CallScope; `read` turns the answer into the result or throws. */
  private call<T>(
    route: string,
    body: string | null,
    signal: AbortSignal | undefined,
    read: (res: RawResponse) => T,
  ): Promise<T> {
    return CallScope.run(
      this.url,
      this.timeoutMs,
      signal,
      async (scope) => {
        const send = () =>
          this.pool.request({
            path: this.prefix + route,
            method: body === null ? 'GET' : 'POST',
            headers: this.headersFor(body === null ? this.getHeaders : this.postHeaders),
            body,
            signal: scope.signal,
          });
        let res;
        try {
          res = await send();
        } catch (err) {
          // a keep-alive socket the backend closed as it was reused: every TEI call is idempotent, so it goes
          // once more, on a fresh connection
          if (scope.signal.aborted || !isStaleSocket(err)) throw err;
          res = await send();
        }
        // Bytes, not text: /embed matrices are parsed from them directly (parseF32Rows); other routes decode.
        const raw = await res.body.bytes();
        const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        return read(new RawResponse(res.statusCode, res.headers, bytes));
      },
      (err) => transportError(this.url, err),
    );
  }

  /** `read` for routes whose success is 200 with a JSON body. */
  private ok<T>(route: string, parse: (res: RawResponse, reader: ResponseReader) => T) {
    return (res: RawResponse): T => {
      if (res.status !== 200) throw responseError(this.url, route, res.status, res.text);
      return parse(res, new ResponseReader(this.url, route));
    };
  }

  info(signal?: AbortSignal): Promise<BackendInfo> {
    return this.call(
      '/info',
      null,
      signal,
      this.ok('/info', (res, r) => infoFromHttp(this.url, r.parse(res.text))),
    );
  }

  /** GET /health: 200 → true; TEI's 503 Unhealthy, any other answer, or no answer → false. */
  async health(signal?: AbortSignal): Promise<boolean> {
    try {
      return await this.call('/health', null, signal, (res) => res.status === 200);
    } catch {
      if (signal?.aborted) throw abortError(signal);
      return false;
    }
  }

  async embed(batch: EmbedBatch, signal?: AbortSignal): Promise<EmbedBatchResult> {
    const rows = batch.texts.length;
    if (rows === 0) {
      if (signal?.aborted) throw abortError(signal);
      return { rows: 0, dim: 0, vectors: new Float32Array(0), tokens: 0, timings: timingsOf(undefined) };
    }
    return this.call(
      '/embed',
      embedBody(batch),
      signal,
      this.ok('/embed', (res, r) => {
        const { dim, vectors } = r.matrix(res.bytes, rows);
        const meta = metaFromHeaders(res.headers);
        return { rows, dim, vectors, tokens: meta?.computeTokens ?? 0, timings: timingsOf(meta) };
      }),
    );
  }

  forward<O extends ForwardOp>(call: ForwardCall<O>, signal?: AbortSignal): Promise<ForwardResult<O>> {
    return this.forwardAny(call as ForwardCall, signal) as Promise<ForwardResult<O>>;
  }

  private forwardAny(call: ForwardCall, signal: AbortSignal | undefined): Promise<ForwardResult> {
    const route = '/' + call.op;
    const postRaw = <V>(body: string, value: (res: RawResponse, r: ResponseReader) => V) =>
      this.call(
        route,
        body,
        signal,
        this.ok(route, (res, r) => ({ value: value(res, r), meta: metaFromHeaders(res.headers) })),
      );
    const post = <V>(body: string, value: (text: string, r: ResponseReader) => V) =>
      postRaw(body, (res, r) => value(res.text, r));
    switch (call.op) {
      case 'embed': {
        const n = call.request.input.items.length;
        return postRaw(embedPassBody(call.request), (res, r) => {
          const { dim, vectors } = r.matrix(res.bytes, n);
          return Array.from({ length: n }, (_, i) => vectors.subarray(i * dim, (i + 1) * dim));
        }).then((x) => ({ op: call.op, ...x }));
      }
      case 'embed_sparse':
        return post(seqBody(call.request), (t, r) => r.sparse(t)).then((x) => ({ op: call.op, ...x }));
      case 'embed_all':
        return post(seqBody(call.request), (t, r) => r.tokenVectors(t)).then((x) => ({ op: call.op, ...x }));
      case 'predict':
        return post(predictBody(call.request), (t, r) => r.predict(t, call.request.batch)).then((x) => ({
          op: call.op,
          ...x,
        }));
      case 'rerank':
        return post(rerankBody(call.request), (t, r) => r.ranks(t)).then((x) => ({ op: call.op, ...x }));
      case 'tokenize':
        return post(tokenizeBody(call.request), (t, r) => r.tokens(t)).then((x) => ({ op: call.op, ...x }));
      case 'decode':
        return post(decodeBody(call.request), (t, r) => r.strings(t)).then((x) => ({ op: call.op, ...x }));
    }
  }

  /** Connection counts, for tests and metrics. */
  get stats(): { connected: number; running: number; pending: number } {
    const s = this.pool.stats;
    return { connected: s.connected, running: s.running, pending: s.pending };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

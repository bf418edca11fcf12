/**
 * The HTTP modes of `bench-client`, over an undici Pool of keep-alive HTTP/1.1 connections (one per request in
 * flight):
 * - http: TEI `POST /embed` {"inputs": [...], "truncate": true, "normalize": true}, the model in `x-model` when
 *   given; the answer must be a JSON array of one vector per text;
 * - openai: `POST /v1/embeddings` {"input": [...], "model": ...}; the answer's `data` must hold one item per text.
 * TLS by the endpoint's scheme (https://) with --ca / --cert / --key; --insecure checks the name `localhost`
 * against the server certificate (it does not skip verification).
 */
import { Pool } from 'undici';
import type { BenchSettings } from './settings.js';
import { AnswerError, clip } from './transport.js';
import type { FailureInfo, TlsFiles, Transport } from './transport.js';

interface Prepared {
  body: string;
}

export class HttpTransport implements Transport {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly s: BenchSettings,
    files: TlsFiles,
  ) {
    const e = s.endpoint;
    const timeout = Math.round(s.timeoutS * 1000);
    this.pool = new Pool(`${e.tls ? 'https' : 'http'}://${e.authority}`, {
      connections: s.concurrency,
      pipelining: 1,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: e.tls
        ? {
            ca: files.ca ?? undefined,
            cert: files.cert ?? undefined,
            key: files.key ?? undefined,
            rejectUnauthorized: true,
            ...(s.insecure ? { servername: 'localhost' } : {}),
          }
        : undefined,
    });
    this.path = e.basePath + (s.mode === 'openai' ? '/v1/embeddings' : '/embed');
    this.headers = { 'content-type': 'application/json' };
    if (s.mode === 'http' && s.model) this.headers['x-model'] = s.model;
  }

  prepare(texts: string[]): Prepared {
    const body =
      this.s.mode === 'openai'
        ? { input: texts, ...(this.s.model ? { model: this.s.model } : {}) }
        : { inputs: texts, truncate: true, normalize: true };
    return { body: JSON.stringify(body) };
  }

  async send(request: unknown, texts: number): Promise<void> {
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: this.headers,
      body: (request as Prepared).body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new AnswerError(`HTTP ${res.statusCode}`, `POST ${this.path}: ${clip(text)}`);
    }
    let rows: number;
    try {
      const json = JSON.parse(text) as unknown;
      const list = this.s.mode === 'openai' ? (json as { data?: unknown }).data : json;
      if (!Array.isArray(list)) throw new Error(this.s.mode === 'openai' ? 'no data array' : 'not an array');
      rows = list.length;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new AnswerError('BAD_RESPONSE', `POST ${this.path} answered 200 with an unusable body (${why})`);
    }
    if (rows !== texts) {
      throw new AnswerError(
        'BAD_RESPONSE',
        `POST ${this.path} answered ${rows} embeddings for ${texts} texts`,
      );
    }
  }

  describe(err: unknown): FailureInfo {
    if (err instanceof AnswerError) return { key: err.key, message: err.message, answered: true };
    const e = err as { code?: unknown; message?: unknown };
    const key = typeof e?.code === 'string' ? e.code : 'ERROR';
    const message = typeof e?.message === 'string' ? e.message : String(err);
    return { key, message: clip(message), answered: false };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

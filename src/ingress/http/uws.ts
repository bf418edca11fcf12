/**
 * The optional uWebSockets.js adapter: a plaintext HTTP/1.1 listener for trusted networks (behind a mesh sidecar),
 * serving the same route table through the same dispatcher. uWS can neither require nor read client certificates,
 * so it is never used for TLS. When no uWebSockets.js build loads on this Node, the router logs one line and runs
 * without it.
 */
import { createRequire } from 'node:module';
import { ClientGone } from '../../net/body.js';
import type { HttpLimits, RequestObserver } from './dispatch.js';
import { createDispatcher } from './dispatch.js';
import type { ClientDirectory } from '../../tls/clients.js';
import type { HttpReply, Route } from './types.js';

/** The part of the uWebSockets.js API this adapter uses. */
interface UwsResponse {
  onAborted(cb: () => void): UwsResponse;
  onData(cb: (chunk: ArrayBuffer, isLast: boolean) => void): void;
  cork(cb: () => void): void;
  writeStatus(status: string): UwsResponse;
  writeHeader(key: string, value: string): UwsResponse;
  end(body?: string | Uint8Array, closeConnection?: boolean): UwsResponse;
  close(): void;
}
interface UwsRequest {
  getMethod(): string;
  getUrl(): string;
  getQuery(): string | undefined;
  forEach(cb: (key: string, value: string) => void): void;
}
interface UwsApp {
  any(pattern: string, handler: (res: UwsResponse, req: UwsRequest) => void): UwsApp;
  listen(host: string, port: number, cb: (token: unknown) => void): UwsApp;
}
interface UwsModule {
  App(): UwsApp;
  us_listen_socket_close(token: unknown): void;
  us_socket_local_port(token: unknown): number;
}

/** The package that carries a uWebSockets.js build installable from the npm registry. */
export const UWS_PACKAGE = '@trufflesuite/uws-js-unofficial';

export function loadUws(): { uws: UwsModule } | { error: string } {
  try {
    return { uws: createRequire(import.meta.url)(UWS_PACKAGE) as UwsModule };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  424: 'Failed Dependency',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface UwsListener {
  port: number;
  close(): void;
}

export function startUwsListener(
  uws: UwsModule,
  routes: Map<string, Route>,
  limits: HttpLimits,
  host: string,
  port: number,
  observe?: RequestObserver,
  clients?: ClientDirectory,
): Promise<UwsListener> {
  // plaintext only: every client is anonymous, so [[authz]] entries (if any) refuse model calls here
  const { dispatch } = createDispatcher(routes, limits, observe, clients);
  const app = uws.App();
  app.any('/*', (res, req) => {
    // uWS request objects are valid only during this call: copy what is needed now
    const method = req.getMethod().toUpperCase();
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers: Record<string, string | undefined> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const abort = new AbortController();
    res.onAborted(() => abort.abort(new ClientGone()));
    let bodyWanted: ((b: Buffer | null) => void) | null = null;
    let chunks: Buffer[] = [];
    let size = 0;
    let limit = Infinity;
    let done = false;
    let result: Buffer | null | undefined;
    res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        result = null;
        chunks = [];
      } else {
        // the ArrayBuffer is reused by uWS after this call: copy
        chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
        if (isLast) {
          done = true;
          result = Buffer.concat(chunks, size);
        }
      }
      if (done && bodyWanted) bodyWanted(result ?? null);
    });
    dispatch({
      method,
      url,
      headers,
      readBody: (max) => {
        limit = max;
        if (!done && size > limit) {
          done = true;
          result = null;
        }
        if (done) return Promise.resolve(result ?? null);
        return new Promise((resolve) => {
          bodyWanted = resolve;
        });
      },
      skipBody: () => {
        done = true;
      },
      signal: abort.signal,
    }).then(
      (reply) => {
        if (reply !== null && !abort.signal.aborted) write(res, reply);
      },
      () => {
        if (!abort.signal.aborted) res.close();
      },
    );
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`uWebSockets.js could not listen on ${host}:${port}`));
      resolve({ port: uws.us_socket_local_port(token), close: () => uws.us_listen_socket_close(token) });
    });
  });
}

function write(res: UwsResponse, reply: HttpReply): void {
  res.cork(() => {
    res.writeStatus(`${reply.status} ${REASONS[reply.status] ?? ''}`.trim());
    const closeAfter = reply.headers.connection === 'close';
    for (const [k, v] of Object.entries(reply.headers)) if (k !== 'connection') res.writeHeader(k, v);
    res.end(typeof reply.body === 'string' ? reply.body : new Uint8Array(reply.body), closeAfter);
  });
}

/**
 * The node:http / node:http2 adapter of the route table: framing only (see dispatch.ts for the shared rules).
 * Plaintext serves HTTP/1.1 and h2c on one port; over TLS, ALPN picks h2 or HTTP/1.1. A request on a TLS
 * connection the listener refused (see src/tls/server.ts) is answered with that refusal before any route runs.
 */
import type { DualServer } from '../../net/h1-h2c.js';
import { createH1H2cServer } from '../../net/h1-h2c.js';
import { ClientGone, readBody } from '../../net/body.js';
import type { HttpLimits, RequestObserver } from './dispatch.js';
import { createDispatcher } from './dispatch.js';
import { errorReply } from './errors.js';
import { connectionAuth, verdictOf } from '../../tls/server.js';
import { ANONYMOUS } from '../../tls/clients.js';
import { newScope } from '../../request-scope.js';
import type { ClientDirectory } from '../../tls/clients.js';
import type { Route } from './types.js';

export type { HttpLimits };

export function createHttpIngress(
  routes: Map<string, Route>,
  limits: HttpLimits,
  observe?: RequestObserver,
  clients?: ClientDirectory,
  /** The port serves TLS: a request whose connection has no TLS verdict is refused (defence in depth). */
  tls = false,
): DualServer {
  const { dispatch } = createDispatcher(routes, limits, observe, clients);
  return createH1H2cServer((req, res) => {
    const auth = verdictOf(connectionAuth(req.socket), tls);
    const client = clients?.context(auth?.identity) ?? ANONYMOUS;
    if (auth?.refusal) {
      req.resume();
      const reply = errorReply(auth.refusal, false);
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      observe?.('refused', reply.status, 0, newScope('http', client, {}));
      return;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new ClientGone());
    });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const h2 = req.httpVersionMajor === 2;
    dispatch({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      readBody: (limit) => readBody(req, limit),
      skipBody: () => req.resume(),
      signal: abort.signal,
      client,
    }).then(
      (reply) => {
        if (reply === null || res.destroyed) return;
        const { connection, ...rest } = reply.headers;
        if (connection !== undefined) {
          req.resume();
          if (!h2) rest.connection = connection;
        }
        res.writeHead(reply.status, { ...rest, 'content-length': Buffer.byteLength(reply.body) });
        res.end(reply.body);
      },
      (err: unknown) => {
        if (err instanceof ClientGone || res.destroyed) return;
        const reply = errorReply(err, false);
        if (!res.headersSent) {
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body);
        }
      },
    );
  });
}

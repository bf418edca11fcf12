/**
 * The node:http / node:http2 adapter of the route table: framing only. It matches routes, enforces content types
 * and body limits the way TEI's framework does, turns client disconnects into an aborted signal, and writes
 * replies. Plaintext serves HTTP/1.1 and h2c on one port (TLS comes with the mTLS work).
 */
import { isJsonContentType } from '../../net/content-type.js';
import type { DualServer, AnyRequest, AnyResponse } from '../../net/h1-h2c.js';
import { createH1H2cServer } from '../../net/h1-h2c.js';
import { ClientGone, readBody } from '../../net/body.js';
import { errorReply, plainText } from './errors.js';
import type { HttpReply, Route } from './types.js';

export interface HttpLimits {
  jsonBodyLimit: number;
  arrowBodyLimit: number;
}

const ARROW_TYPES = ['application/vnd.apache.arrow.stream', 'application/vnd.apache.arrow.file'];

function isArrowContentType(value: string | undefined): boolean {
  return value !== undefined && ARROW_TYPES.includes(value.split(';')[0].trim().toLowerCase());
}

export function createHttpIngress(routes: Map<string, Route>, limits: HttpLimits): DualServer {
  const paths = new Map<string, string[]>();
  for (const key of routes.keys()) {
    const [method, path] = key.split(' ');
    paths.set(path, [...(paths.get(path) ?? []), method]);
  }

  async function handle(req: AnyRequest, res: AnyResponse): Promise<HttpReply | null> {
    const url = new URL(req.url ?? '/', 'http://router');
    const method = req.method ?? 'GET';
    const route = routes.get(`${method} ${url.pathname}`);
    if (!route) {
      req.resume();
      const allowed = paths.get(url.pathname);
      return allowed
        ? { status: 405, headers: { allow: allowed.join(',') }, body: '' }
        : { status: 404, headers: {}, body: '' };
    }
    let body: Buffer = Buffer.alloc(0);
    if (route.body !== 'none') {
      const type = req.headers['content-type'];
      if (route.body === 'json' && !isJsonContentType(type)) {
        req.resume();
        return plainText(415, 'Expected request with `Content-Type: application/json`');
      }
      if (route.body === 'arrow' && !isArrowContentType(type)) {
        req.resume();
        return plainText(415, `Expected request with \`Content-Type: ${ARROW_TYPES[0]}\``);
      }
      const limit = route.body === 'json' ? limits.jsonBodyLimit : limits.arrowBodyLimit;
      const read = await readBody(req, limit);
      if (read === null) {
        if (req.httpVersionMajor === 1) res.setHeader('connection', 'close');
        req.resume();
        return plainText(413, 'Failed to buffer the request body: length limit exceeded');
      }
      body = read;
    } else {
      req.resume();
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new ClientGone());
    });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    try {
      return await route.handler({
        method,
        path: url.pathname,
        query: url.searchParams,
        headers,
        body,
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) return null;
      return errorReply(err, route.openai === true);
    }
  }

  return createH1H2cServer((req, res) => {
    handle(req, res).then(
      (reply) => {
        if (reply === null || res.destroyed) return;
        const body = reply.body;
        res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      (err: unknown) => {
        if (err instanceof ClientGone) return;
        const reply = errorReply(err, false);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body);
        }
      },
    );
  });
}

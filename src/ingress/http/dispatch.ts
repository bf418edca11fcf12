/**
 * Everything an HTTP adapter shares: route matching (404/405), the content-type and body-limit rules TEI's
 * framework applies, running the handler, and mapping its errors. Adapters (node h1/h2, uWebSockets.js) only
 * supply the request's parts and a way to read the body, and write the reply.
 */
import { isJsonContentType } from '../../net/content-type.js';
import { errorReply, plainText } from './errors.js';
import type { HttpReply, Route } from './types.js';
import { ANONYMOUS } from '../../tls/clients.js';
import { deadlineFromHeader, newScope, runInScope } from '../../request-scope.js';
import type { RequestScope } from '../../request-scope.js';
import type { ClientContext, ClientDirectory } from '../../tls/clients.js';

export interface HttpLimits {
  jsonBodyLimit: number;
  arrowBodyLimit: number;
}

export interface IncomingParts {
  method: string;
  /** Path and query, e.g. `/embed?model=x`. */
  url: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** Reads the body: null when it exceeds `limit` bytes. */
  readBody(limit: number): Promise<Buffer | null>;
  /** Discards the body without reading it. */
  skipBody(): void;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The connection's client; undefined: anonymous (plaintext). */
  client?: ClientContext;
}

const ARROW_TYPES = ['application/vnd.apache.arrow.stream', 'application/vnd.apache.arrow.file'];

function isArrowContentType(value: string | undefined): boolean {
  return value !== undefined && ARROW_TYPES.includes(value.split(';')[0].trim().toLowerCase());
}

export interface Dispatcher {
  /** The reply, or null when the client went away (nothing to write). */
  dispatch(req: IncomingParts): Promise<HttpReply | null>;
}

/**
 * Called once per request: route key ("POST /embed", or "unmatched"), status (499: client gone), seconds, and the
 * client.
 */
export type RequestObserver = (route: string, status: number, seconds: number, scope: RequestScope) => void;

export function createDispatcher(
  routes: Map<string, Route>,
  limits: HttpLimits,
  observe?: RequestObserver,
  clients?: ClientDirectory,
): Dispatcher {
  const methodsByPath = new Map<string, string[]>();
  for (const key of routes.keys()) {
    const [method, path] = key.split(' ');
    methodsByPath.set(path, [...(methodsByPath.get(path) ?? []), method]);
  }
  const run = async (req: IncomingParts, scope: RequestScope): Promise<HttpReply | null> => {
    const url = new URL(req.url, 'http://router');
    const route = routes.get(`${req.method} ${url.pathname}`);
    if (!route) {
      req.skipBody();
      const allowed = methodsByPath.get(url.pathname);
      return allowed
        ? { status: 405, headers: { allow: allowed.join(',') }, body: '' }
        : { status: 404, headers: {}, body: '' };
    }
    let body: Buffer = Buffer.alloc(0);
    if (route.body === 'none') {
      req.skipBody();
    } else {
      const type = req.headers['content-type'];
      if (route.body === 'json' && !isJsonContentType(type)) {
        req.skipBody();
        return plainText(415, 'Expected request with `Content-Type: application/json`');
      }
      if (route.body === 'arrow' && !isArrowContentType(type)) {
        req.skipBody();
        return plainText(415, `Expected request with \`Content-Type: ${ARROW_TYPES[0]}\``);
      }
      const read = await req.readBody(route.body === 'json' ? limits.jsonBodyLimit : limits.arrowBodyLimit);
      if (read === null) {
        const reply = plainText(413, 'Failed to buffer the request body: length limit exceeded');
        reply.headers.connection = 'close';
        return reply;
      }
      body = read;
    }
    const client = scope.client;
    try {
      scope.deadline = deadlineFromHeader(req.headers['x-request-timeout']);
      return await route.handler({
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        signal: req.signal,
        client,
        authorizeModel: (model) => {
          scope.model = model;
          clients?.checkModel(client, model);
        },
      });
    } catch (err) {
      if (req.signal.aborted) return null;
      return errorReply(err, route.openai === true);
    }
  };
  return {
    async dispatch(req) {
      const scope = newScope('http', req.client ?? ANONYMOUS, {
        requestId: req.headers['x-request-id'],
        traceparent: req.headers.traceparent,
      });
      return runInScope(scope, async () => {
        if (!observe) return run(req, scope);
        const started = process.hrtime.bigint();
        const key = `${req.method} ${new URL(req.url, 'http://router').pathname}`;
        const route = routes.has(key) ? key : 'unmatched';
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const reply = await run(req, scope);
          if (reply) reply.headers['x-request-id'] = scope.id;
          observe(route, reply === null ? 499 : reply.status, seconds(), scope);
          return reply;
        } catch (err) {
          observe(route, 500, seconds(), scope);
          throw err;
        }
      });
    },
  };
}

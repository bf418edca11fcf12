/** The transport-neutral shape of an HTTP exchange: route handlers see only this, never a socket. */
import type { ClientContext } from '../../tls/clients.js';

export interface HttpCtx {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Who is calling (from the connection's client certificate). */
  client: ClientContext;
  /** Throws ROUTER_ERR_FORBIDDEN when [[authz]] does not let this client call `model` (a configured name). */
  authorizeModel(model: string): void;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export type BodyKind = 'none' | 'json' | 'arrow';

export interface Route {
  body: BodyKind;
  /** Errors in OpenAI's shape instead of TEI's. */
  openai?: boolean;
  handler: (ctx: HttpCtx) => Promise<HttpReply>;
}

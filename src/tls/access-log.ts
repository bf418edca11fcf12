/** The access-log fields of one request (config `log.access`), logged as one structured line per request. */
import type { RequestScope } from '../request-scope.js';

export function accessFields(
  route: string,
  status: number,
  seconds: number,
  scope: RequestScope,
): Record<string, unknown> {
  const id = scope.client.identity;
  return {
    access: scope.protocol,
    request_id: scope.id,
    route,
    model: scope.model ?? null,
    status,
    ms: Math.round(seconds * 1e6) / 1e3,
    texts: scope.texts,
    tokens: scope.tokens,
    client: scope.client.label,
    subject: id?.subject ?? null,
    sans: id?.sans ?? [],
    spiffe_id: id?.spiffeId ?? null,
    tenant: id?.tenant ?? null,
  };
}

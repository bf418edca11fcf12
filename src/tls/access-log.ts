/** One access-log line per request (config `log.access`): JSON, so log pipelines can parse it. */
import type { RequestScope } from '../request-scope.js';

export function accessLine(route: string, status: number, seconds: number, scope: RequestScope): string {
  const id = scope.client.identity;
  return JSON.stringify({
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
  });
}

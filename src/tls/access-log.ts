/** One access-log line per request (config `log.access`): JSON, so log pipelines can parse it. */
import type { ClientContext } from './clients.js';

export function accessLine(
  transport: 'http' | 'grpc',
  route: string,
  status: number,
  seconds: number,
  client: ClientContext,
): string {
  const id = client.identity;
  return JSON.stringify({
    access: transport,
    route,
    status,
    ms: Math.round(seconds * 1e6) / 1e3,
    client: client.label,
    subject: id?.subject ?? null,
    sans: id?.sans ?? [],
    spiffe_id: id?.spiffeId ?? null,
    tenant: id?.tenant ?? null,
  });
}

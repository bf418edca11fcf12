/**
 * The client identity forwarded to backends (`backend.identity_header`). Ingress layers run each request's work
 * inside `runAsClient(client, ...)`; backend clients on the main thread read `currentClient()` when they build a
 * forwarded call (/rerank, /predict, /tokenize, tei.v1 forwards ...). Dense embeddings are cut into batches in the
 * worker threads and coalesced across clients, so they carry no per-client header.
 *
 * The value follows Envoy's x-forwarded-client-cert element form:
 * `Hash=<sha256 of the DER>;Subject="CN=a,O=B";URI=spiffe://...;DNS=name;Email=a@b;IP=1.2.3.4;SNI=tenant`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientContext } from './clients.js';
import type { ClientIdentity } from './identity.js';

const current = new AsyncLocalStorage<ClientContext>();

export function runAsClient<T>(client: ClientContext, fn: () => T): T {
  return current.run(client, fn);
}

export function currentClient(): ClientContext | undefined {
  return current.getStore();
}

const SAN_KEYS: Record<string, string> = { DNS: 'DNS', URI: 'URI', email: 'Email', IP: 'IP' };

/** The XFCC-style element for an identity; null when there is no client certificate. */
export function forwardedValue(id: ClientIdentity | null): string | null {
  if (!id || id.fingerprint256 === null) return null;
  const parts = [`Hash=${id.fingerprint256.replace(/:/g, '').toLowerCase()}`];
  if (id.subject !== null) parts.push(`Subject="${id.subject.replace(/["\\]/g, (c) => '\\' + c)}"`);
  for (const san of id.sans) {
    const i = san.indexOf(':');
    const key = SAN_KEYS[san.slice(0, i)];
    if (key)
      parts.push(
        `${key}=${encodeURIComponent(san.slice(i + 1))
          .replace(/%3A/gi, ':')
          .replace(/%2F/gi, '/')}`,
      );
  }
  if (id.tenant !== null) parts.push(`SNI=${id.tenant}`);
  return parts.join(';');
}

/** `extraHeaders` for the backend clients: `{[header]: value}` when the current request has a client cert. */
export function identityHeaders(
  header: string | undefined,
): (() => Record<string, string> | undefined) | undefined {
  if (header === undefined) return undefined;
  const name = header.toLowerCase();
  return () => {
    const value = forwardedValue(currentClient()?.identity ?? null);
    return value === null ? undefined : { [name]: value };
  };
}

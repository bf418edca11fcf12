/**
 * Headers the router adds to the calls it forwards to backends on behalf of a request: the W3C `traceparent` the
 * client sent, and (with `backend.identity_header`) the client's certificate identity. Read from the current
 * request scope, so only calls made on the main thread inside a request carry them (forwarded calls: /rerank,
 * /predict, /tokenize, /embed_all, ... and their gRPC forms). Dense embeddings are cut into batches in the worker
 * threads and coalesced across clients: they carry the traceparent of the first request of their task and no
 * identity header.
 *
 * The identity value follows Envoy's x-forwarded-client-cert element form:
 * `Hash=<sha256 of the DER>;Subject="CN=a,O=B";URI=spiffe://...;DNS=name;Email=a@b;IP=1.2.3.4;SNI=tenant`.
 */
import { currentScope } from '../request-scope.js';
import type { ClientIdentity } from './identity.js';

const SAN_KEYS: Record<string, string> = { DNS: 'DNS', URI: 'URI', email: 'Email', IP: 'IP' };

/**
 * A header-safe form of a subject: `"` and `\` escaped with `\`, and every byte outside printable ASCII written as
 * `\HH` (its UTF-8 bytes, as RFC 4514 escapes them), so a non-ASCII subject cannot break the header.
 */
export function headerSafe(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '\\' + b.toString(16).padStart(2, '0');
  }
  return out;
}

/** The XFCC-style element for an identity; null when there is no client certificate. */
export function forwardedValue(id: ClientIdentity | null): string | null {
  if (!id || id.fingerprint256 === null) return null;
  const parts = [`Hash=${id.fingerprint256.replace(/:/g, '').toLowerCase()}`];
  if (id.subject !== null) parts.push(`Subject="${headerSafe(id.subject)}"`);
  for (const san of id.sans) {
    const i = san.indexOf(':');
    const key = SAN_KEYS[san.slice(0, i)];
    if (key) {
      parts.push(
        `${key}=${encodeURIComponent(san.slice(i + 1))
          .replace(/%3A/gi, ':')
          .replace(/%2F/gi, '/')}`,
      );
    }
  }
  if (id.tenant !== null) parts.push(`SNI=${encodeURIComponent(id.tenant)}`);
  return parts.join(';');
}

/** `extraHeaders` for the main thread's backend clients. */
export function forwardedHeaders(
  identityHeader: string | undefined,
): () => Record<string, string> | undefined {
  const name = identityHeader?.toLowerCase();
  return () => {
    const scope = currentScope();
    if (!scope) return undefined;
    const out: Record<string, string> = {};
    if (scope.traceparent) out.traceparent = scope.traceparent;
    if (name !== undefined) {
      const value = forwardedValue(scope.client.identity);
      if (value !== null) out[name] = value;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
}

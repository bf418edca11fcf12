/**
 * Recognises connection-level failures (TLS handshake refusals above all) in the errors that grpc-js, undici and
 * node:tls report, and says what to do about each. Pure: an error object and what the client was configured with
 * in, a label (the key counted in errors_by_code) and a message with the fix out; null for anything else.
 *
 * The three mTLS failures users hit (the tei-manager guide's troubleshooting list), as clients see them:
 * - "certificate verify failed": the client does not trust the server's certificate. Node/OpenSSL say
 *   SELF_SIGNED_CERT_IN_CHAIN ("self-signed certificate in certificate chain"), UNABLE_TO_GET_ISSUER_CERT_LOCALLY
 *   ("unable to get local issuer certificate"), UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...; fix: --ca.
 * - "no certificate provided": the server requires a client certificate and none was sent; TLS alert 116
 *   "certificate required" (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED). Some clients (undici) see only the
 *   connection closing after the handshake; without a client certificate configured that means the same.
 * - "SAN mismatch": the name dialled is not in the server certificate's subjectAltNames
 *   (ERR_TLS_CERT_ALTNAME_INVALID, "Hostname/IP does not match certificate's altnames").
 * Also: the server closing the connection right after the handshake when a client certificate was sent (the router
 * does that when it rejects the certificate; OpenSSL servers send an alert such as "unknown ca" or "certificate
 * expired" instead), TLS spoken to a plaintext port, connection refused, and an unknown host.
 *
 * grpc-js folds the transport error into the text of an UNAVAILABLE status ("No connection established. Last
 * error: ..."), so matching is on codes and texts alike; a gRPC status the server sent (any other code, or an
 * UNAVAILABLE in other words, such as the router's "backend unavailable") is an answer, never a connection problem.
 */

export type ConnectionProblemKind =
  | 'untrusted-server'
  | 'server-cert-expired'
  | 'client-cert-required'
  | 'client-cert-rejected'
  | 'san-mismatch'
  | 'tls-to-plaintext'
  | 'closed'
  | 'refused'
  | 'unknown-host';

export interface ConnectionProblem {
  kind: ConnectionProblemKind;
  /** Short and stable: the key in errors_by_code. */
  label: string;
  /** One line: what happened and the fix. */
  message: string;
}

export interface ConnectionContext {
  /** The endpoint is https:// or grpcs://. */
  tls: boolean;
  /** The host dialled, as written in --endpoint. */
  host: string;
  port: number;
  /** The name checked against the server certificate: the host, or localhost with --insecure. */
  serverName: string;
  /** --cert/--key were given. */
  clientCert: boolean;
  /** --ca was given. */
  ca: boolean;
  insecure: boolean;
  /** Some request was answered already: a connection closing later is not a handshake refusal. */
  answered: boolean;
  /** 'gRPC' or 'HTTP': which port of the router is meant. */
  protocol: 'gRPC' | 'HTTP';
}

const GRPC_UNAVAILABLE = 14;

/** How grpc-js words an UNAVAILABLE it makes itself (no connection, connection lost) rather than one it received. */
const GRPC_LOCAL =
  /No connection established|Connection dropped|Last error:|Received RST_STREAM|Stream refused by server|Write failed|Channel closed|Name resolution failed|DNS resolution failed/;

/**
 * A gRPC error (numeric code) that grpc-js made because the connection failed, not a status the server sent: code
 * UNAVAILABLE with grpc-js's own wording, and no x-tei-router-error trailer (the router's own UNAVAILABLE answers,
 * e.g. a backend down, carry one).
 */
export function isGrpcTransportFailure(err: unknown): boolean {
  const e = err as {
    code?: unknown;
    details?: unknown;
    metadata?: { get?: (k: string) => unknown[] };
  } | null;
  if (typeof e?.code !== 'number' || e.code !== GRPC_UNAVAILABLE) return false;
  if ((e.metadata?.get?.('x-tei-router-error') ?? []).length > 0) return false;
  return GRPC_LOCAL.test(typeof e.details === 'string' ? e.details : '');
}

/** Every code and text an error carries (its cause chain and aggregated errors included), one per line. */
export function errorText(err: unknown, depth = 0): string {
  if (err === null || err === undefined || depth > 4) return '';
  if (typeof err !== 'object') return String(err);
  const e = err as {
    code?: unknown;
    message?: unknown;
    details?: unknown;
    reason?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const parts: string[] = [];
  for (const v of [e.details, e.message, e.reason]) if (typeof v === 'string' && v) parts.push(v);
  if (e.cause !== undefined) parts.push(errorText(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(errorText(inner, depth + 1));
  if (typeof e.code === 'string') parts.push(e.code);
  return parts.filter(Boolean).join('\n');
}

const CERT_REQUIRED = /certificate required|ALERT_CERTIFICATE_REQUIRED|alert number 116\b/i;
const CLIENT_CERT_ALERT =
  /alert (unknown ca|bad certificate|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied|handshake failure)|ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE)/i;
const SAN = /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i;
const UNTRUSTED =
  /SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_CHAIN_TOO_LONG|self[- ]signed certificate|unable to get (local )?issuer certificate|unable to verify the first certificate|certificate signature failure|certificate verify failed/i;
const SERVER_EXPIRED =
  /CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|certificate has expired|certificate is not yet valid/i;
const PLAINTEXT_PORT =
  /wrong version number|WRONG_VERSION_NUMBER|packet length too long|unknown protocol|http request/i;
const REFUSED = /ECONNREFUSED/;
const UNKNOWN_HOST = /ENOTFOUND|EAI_AGAIN|EAI_NONAME/;
const CLOSED =
  /Failed to connect|other side closed|socket hang up|ECONNRESET|EPIPE|UND_ERR_SOCKET|network socket disconnected|Connection dropped|closed before|premature close|ERR_HTTP2_SESSION_ERROR|ERR_HTTP2_GOAWAY_SESSION|ERR_HTTP2_STREAM_CANCEL/i;

/** The first line of `text` that matches `re`, trimmed of grpc-js's wrapping, for quoting in a message. */
function quote(text: string, re: RegExp): string {
  const line = text.split('\n').find((l) => re.test(l)) ?? '';
  const openssl = /error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):/.exec(line);
  if (openssl) return openssl[1];
  return line
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/^No connection established\. Last error: /, '')
    .replace(/^Error( \[[A-Z0-9_]+\])?: /, '')
    .replace(/(\. )?Resolution note:.*$/, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, '')
    .trim();
}

/** The OpenSSL alert name in an error text, e.g. "unknown ca" from "tlsv13 alert unknown ca" or its code form. */
function alertName(text: string): string {
  const m = /alert ([a-z ]+?)(?::|$|\n|\s\()/i.exec(text) ?? /ALERT_([A-Z_]+)/.exec(text);
  return m ? m[1].toLowerCase().replace(/_/g, ' ').trim() : 'refused';
}

/**
 * The connection problem `err` shows, or null when it is something else (an answer from the server, a timeout...).
 */
export function classifyConnectionError(err: unknown, ctx: ConnectionContext): ConnectionProblem | null {
  // a gRPC status the server sent is an answer, never a connection problem
  if (typeof (err as { code?: unknown } | null)?.code === 'number' && !isGrpcTransportFailure(err))
    return null;
  const text = errorText(err);
  if (!text) return null;
  const where = `${ctx.host}:${ctx.port}`;

  if (CERT_REQUIRED.test(text)) {
    return {
      kind: 'client-cert-required',
      label: 'no certificate provided',
      message:
        `no certificate provided: the server at ${where} requires a client certificate (TLS alert 116 ` +
        `"certificate required")${ctx.clientCert ? ', and did not get the one configured' : ''}: pass --cert ` +
        'and --key (a client certificate signed by a CA the server trusts, and its key)',
    };
  }
  if (CLIENT_CERT_ALERT.test(text)) {
    return {
      kind: 'client-cert-rejected',
      label: 'client certificate rejected',
      message:
        `client certificate rejected by the server at ${where} (TLS alert "${alertName(text)}": expired, ` +
        "revoked, unknown CA or wrong key usage): check the server's log",
    };
  }
  if (SAN.test(text)) {
    const detail = quote(text, SAN).replace(/^Hostname\/IP does not match certificate's altnames: /i, '');
    return {
      kind: 'san-mismatch',
      label: 'SAN mismatch',
      message:
        `SAN mismatch: the server certificate does not cover ${ctx.serverName}, the name dialled` +
        `${detail ? ` (${detail})` : ''}: dial a name in the server certificate's subjectAltNames (e.g. ` +
        `-e https://localhost:${ctx.port} if it is for localhost)` +
        (ctx.insecure
          ? ''
          : ', or pass --insecure, which checks the name localhost instead (it does not skip verification), ' +
            'only when the certificate is for localhost'),
    };
  }
  if (SERVER_EXPIRED.test(text)) {
    return {
      kind: 'server-cert-expired',
      label: 'certificate verify failed',
      message:
        `certificate verify failed: the certificate of the server at ${where} is expired or not valid yet ` +
        `(${quote(text, SERVER_EXPIRED)}): renew the server certificate, or check the clocks`,
    };
  }
  if (UNTRUSTED.test(text)) {
    return {
      kind: 'untrusted-server',
      label: 'certificate verify failed',
      message:
        `certificate verify failed: this client does not trust the certificate of the server at ${where} ` +
        `(${quote(text, UNTRUSTED)}): ` +
        (ctx.ca
          ? 'the CA given with --ca did not sign it: pass --ca with the CA certificate that signed the server certificate'
          : 'pass --ca with the CA certificate that signed the server certificate (e.g. --ca certs/ca.pem)'),
    };
  }
  if (ctx.tls && PLAINTEXT_PORT.test(text)) {
    return {
      kind: 'tls-to-plaintext',
      label: 'TLS to a plaintext port',
      message:
        `the server at ${where} does not speak TLS (${quote(text, PLAINTEXT_PORT)}): use ` +
        `${ctx.protocol === 'gRPC' ? 'grpc://' : 'http://'} for a plaintext endpoint, or check the port`,
    };
  }
  if (REFUSED.test(text)) {
    return {
      kind: 'refused',
      label: 'connection refused',
      message:
        `connection refused: nothing accepts connections at ${where}: is the server running, and is ${ctx.port} ` +
        `its ${ctx.protocol} port?`,
    };
  }
  if (UNKNOWN_HOST.test(text)) {
    return {
      kind: 'unknown-host',
      label: 'unknown host',
      message: `unknown host: ${ctx.host} does not resolve (${quote(text, UNKNOWN_HOST)})`,
    };
  }
  if (!ctx.answered && CLOSED.test(text)) {
    const what = quote(text, CLOSED) || 'connection closed';
    if (ctx.tls && ctx.clientCert) {
      return {
        kind: 'client-cert-rejected',
        label: 'client certificate rejected',
        message:
          `the server at ${where} closed the connection right after the TLS handshake (${what}): client ` +
          "certificate rejected by the server (expired, revoked, unknown CA or wrong key usage): check the router's log",
      };
    }
    if (ctx.tls) {
      return {
        kind: 'client-cert-required',
        label: 'no certificate provided',
        message:
          `the server at ${where} closed the connection right after the TLS handshake (${what}) and no client ` +
          'certificate was sent: it most likely requires one (no certificate provided): pass --cert and --key',
      };
    }
    return {
      kind: 'closed',
      label: 'connection closed',
      message:
        `the server at ${where} closed the connection before answering (${what}): if it uses TLS, use ` +
        `${ctx.protocol === 'gRPC' ? 'grpcs://' : 'https://'} (with --ca, and --cert/--key for mTLS)`,
    };
  }
  return null;
}

/**
 * The TLS front of one listener: a tls.Server that terminates TLS with the listener's policy, works out each
 * connection's client identity and verdict once, then hands the decrypted socket to the protocol server (HTTP/1.1,
 * HTTP/2 or grpc-js). Protocol layers read the verdict with `connectionAuth(socket)` and refuse requests before any
 * handler runs. Also here: hot reload of the files (new handshakes use new material; open connections keep theirs)
 * and log lines that name the failure and the fix.
 *
 * client_auth: `none` asks for no certificate; `optional` asks, verifies what is presented (a presented certificate
 * that fails verification gets ROUTER_ERR_CLIENT_CERT on every request, with the reason), and lets anonymous clients
 * in unless an allow-list needs an identity; `require` fails the handshake without a certificate, and Node closes
 * the connection right after the handshake when the certificate fails verification (logged with the reason).
 */
import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { SniEntry, TlsListener, TlsPolicyConfig } from '../config.js';
import { RouterError } from '../errors.js';
import { authorize, describeIdentity, identityFromCert, parseSanEntry, parseSubject } from './identity.js';
import type { AuthzRules, ClientIdentity } from './identity.js';
import { loadListenerMaterial, sniContext } from './material.js';
import type { ListenerMaterial, LoadedCert } from './material.js';
import { watchFiles } from './watch.js';
import type { Logger } from '../log.js';

/** The four addresses of a TCP connection, as grpc-js's getConnectionInfo() and a socket both give them. */
export interface ConnectionAddresses {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

/** One key per open connection: the whole 4-tuple (the remote address:port alone is not unique on a multi-address listener). */
export function connectionKey(c: ConnectionAddresses): string {
  return `${c.remoteAddress ?? '?'}|${c.remotePort ?? '?'}|${c.localAddress ?? '?'}|${c.localPort ?? '?'}`;
}

/** What the router decided about one TLS connection. */
export interface ConnectionAuth {
  /** null only for a connection without a verdict (see verdictOf). */
  identity: ClientIdentity | null;
  /** null: requests are let in; otherwise the error every request on the connection gets. */
  refusal: RouterError | null;
}

/**
 * The verdict a protocol layer applies to a connection: the one the TLS front attached, else, on a TLS listener, a
 * refusal (every connection of a TLS listener gets a verdict before a protocol server sees it: defence in depth);
 * undefined for plaintext.
 */
export function verdictOf(found: ConnectionAuth | undefined, tls: boolean): ConnectionAuth | undefined {
  if (found || !tls) return found;
  return {
    identity: null,
    refusal: new RouterError(
      'ROUTER_ERR_CLIENT_CERT',
      'this connection has no TLS verdict (it did not come through the TLS listener): refused',
    ),
  };
}

const AUTH = Symbol('tei-router.connectionAuth');

/**
 * The verdict for the connection a request came on; undefined for plaintext connections. Works for the TLS socket
 * itself and for HTTP/2 compat sockets (a proxy that forwards property reads to the TLS socket).
 */
export function connectionAuth(socket: unknown): ConnectionAuth | undefined {
  if (socket === null || typeof socket !== 'object') return undefined;
  return (socket as { [AUTH]?: ConnectionAuth })[AUTH];
}

export interface TlsFrontOptions {
  listener: TlsListener;
  policy: TlsPolicyConfig;
  sni: readonly SniEntry[];
  reloadIntervalMs: number;
  /** ALPN protocols offered, in preference order. */
  alpn: string[];
  log: Logger;
  /** Called once per handshake: failure undefined when it succeeded, else a bounded reason. */
  onHandshake?: (listener: TlsListener, failure?: string) => void;
  /** Called with the certificates in use after startup and after each reload (expiry metrics). */
  onCertificates?: (listener: TlsListener, certs: LoadedCert[]) => void;
}

export interface TlsFront {
  server: tls.Server;
  /** The certificates now in use. */
  certificates(): LoadedCert[];
  /** The verdict for an open connection, by its addresses (for layers that do not see the socket: grpc-js). */
  authFor(connection: ConnectionAddresses): ConnectionAuth | undefined;
  /** Checks the files now instead of at the next interval (tests). */
  checkFiles(): Promise<void>;
  /** Ends every open connection (shutdown). */
  destroyConnections(): void;
  /** Stops watching the files. */
  stop(): void;
}

/** Why OpenSSL refused a client certificate, and what to check. */
const VERIFY_HINTS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it is not signed by a CA in ca_path',
  UNABLE_TO_GET_ISSUER_CERT: 'it is not signed by a CA in ca_path',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it is not signed by a CA in ca_path',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a CA that is not in ca_path',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed and not in ca_path',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify against the CA in ca_path',
  CERT_HAS_EXPIRED: 'it has expired: issue a new client certificate',
  CERT_NOT_YET_VALID: 'it is not valid yet: check its notBefore and the clocks',
  CERT_REVOKED: 'it is listed in crl_path as revoked',
  INVALID_PURPOSE:
    'its extendedKeyUsage does not include clientAuth: reissue it with clientAuth (or without extendedKeyUsage)',
  UNABLE_TO_GET_CRL: 'crl_path has no CRL from the CA that issued it',
  CRL_HAS_EXPIRED: 'the CRL in crl_path has expired (nextUpdate passed): publish a fresh CRL',
  CRL_NOT_YET_VALID: 'the CRL in crl_path is not valid yet',
};

/** Verify codes reported as themselves in the handshake-failure metric (anything else: "other"). */
const KNOWN_VERIFY_CODES = new Set(Object.keys(VERIFY_HINTS));

function verifyMessage(code: string, policy: TlsPolicyConfig): string {
  const hint = VERIFY_HINTS[code] ?? 'see the OpenSSL verify error code';
  const files = [`ca_path ${policy.caPath ?? '(unset)'}`];
  if (policy.crlPath) files.push(`crl_path ${policy.crlPath}`);
  return `client certificate verify failed (${code}): ${hint} [${files.join(', ')}]`;
}

function rulesOf(policy: TlsPolicyConfig): AuthzRules {
  return {
    allowedSubjects: policy.allowedSubjects.map(parseSubject),
    allowedSans: policy.allowedSans.map(parseSanEntry),
    requireSanMatchesSni: policy.requireSanMatchesSni,
  };
}

function peerOf(socket: tls.TLSSocket): X509Certificate | null {
  try {
    const peer = socket.getPeerCertificate();
    return peer && peer.raw ? new X509Certificate(peer.raw) : null;
  } catch {
    return null;
  }
}

/** Peer addresses by raw socket, recorded at accept: a failed handshake's TLS socket has lost its own. */
const peers = new WeakMap<object, string>();

/** SNI names are DNS names: compared and reported lower-case, without a trailing dot. */
function normalizeServerName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function remoteOf(socket: tls.TLSSocket): string {
  if (socket.remoteAddress) return `${socket.remoteAddress}:${socket.remotePort ?? '?'}`;
  // Node keeps the accepted socket as `_parent` of the TLS socket wrapping it (not public API: hence the fallback)
  const parent = (socket as unknown as { _parent?: object })._parent;
  return (parent && peers.get(parent)) ?? 'unknown peer';
}

export async function createTlsFront(
  opts: TlsFrontOptions,
  onConnection: (socket: tls.TLSSocket) => void,
): Promise<TlsFront> {
  const { policy, listener } = opts;
  const warn = (line: string) => opts.log.warn(line);
  const tag = `tls ${listener}`;
  const rules = rulesOf(policy);
  let material: ListenerMaterial = await loadListenerMaterial(policy, opts.sni);
  opts.onCertificates?.(listener, material.certs);

  const server = tls.createServer({
    ...material.options,
    requestCert: policy.clientAuth !== 'none',
    rejectUnauthorized: policy.clientAuth === 'require',
    ALPNProtocols: opts.alpn,
    noDelay: true,
    ...(opts.sni.length > 0
      ? {
          SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) =>
            cb(null, sniContext(material.sni, name)),
        }
      : {}),
  });

  // every accepted socket, handshake finished or not, so that shutdown can end them all
  const raws = new Set<net.Socket>();
  server.on('connection', (raw: net.Socket) => {
    peers.set(raw, `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`);
    raws.add(raw);
    raw.once('close', () => raws.delete(raw));
  });
  const sockets = new Set<tls.TLSSocket>();
  const peerCerts = new WeakMap<tls.TLSSocket, X509Certificate>();
  /** After a reload: open connections whose certificate the new CRL revokes (or that expired) are refused from now on. */
  const recheckOpen = (m: ListenerMaterial) => {
    const now = Date.now();
    for (const s of sockets) {
      const auth = connectionAuth(s);
      const cert = peerCerts.get(s);
      if (!auth || !cert || auth.refusal) continue;
      let why: string | undefined;
      if (new Date(cert.validTo).getTime() < now) why = `client certificate expired on ${cert.validTo}`;
      const ca = m.cas.find((c) => cert.checkIssued(c));
      if (ca && m.revoked.get(ca.fingerprint256)?.has(cert.serialNumber.toLowerCase())) {
        why = `client certificate serial ${cert.serialNumber.toLowerCase()} is revoked by the reloaded crl_path ${policy.crlPath}`;
      }
      if (why === undefined) continue;
      auth.refusal = new RouterError('ROUTER_ERR_CLIENT_CERT', why);
      warn(
        `${tag}: refusing further requests on the open connection of ${remoteOf(s)} (${describeIdentity(identityFromCert(cert, auth.identity?.tenant ?? null))}): ${why}`,
      );
    }
  };
  const byConnection = new Map<string, ConnectionAuth>();
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const key = connectionKey(socket);
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      // a newer connection may hold the key by now only if this one is gone; remove only our own entry
      if (byConnection.get(key) === auth) byConnection.delete(key);
    });
    socket.on('error', () => {}); // the protocol layer reports what matters; a reset must not crash the process
    opts.onHandshake?.(listener);
    const cert = peerOf(socket);
    const identity = identityFromCert(
      cert,
      socket.servername ? normalizeServerName(socket.servername) : null,
    );
    let refusal: RouterError | null = null;
    if (cert !== null && !socket.authorized) {
      refusal = new RouterError(
        'ROUTER_ERR_CLIENT_CERT',
        verifyMessage(String(socket.authorizationError), policy),
      );
    } else {
      const d = authorize(identity, rules);
      if (!d.ok) {
        refusal = new RouterError(
          d.rule === 'no_certificate' ? 'ROUTER_ERR_CLIENT_CERT' : 'ROUTER_ERR_FORBIDDEN',
          d.message,
        );
      }
    }
    if (refusal)
      warn(
        `${tag}: refusing requests from ${remoteOf(socket)} (${describeIdentity(identity)}): ${refusal.message}`,
      );
    const auth: ConnectionAuth = { identity, refusal };
    Object.defineProperty(socket, AUTH, { value: auth });
    if (cert) peerCerts.set(socket, cert);
    byConnection.set(key, auth);
    onConnection(socket);
  });

  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const who = remoteOf(socket);
    const failed = (reason: string) => opts.onHandshake?.(listener, reason);
    if (socket.authorizationError) {
      failed(
        KNOWN_VERIFY_CODES.has(String(socket.authorizationError))
          ? String(socket.authorizationError)
          : 'other',
      );
      const cert = peerOf(socket);
      const id = cert ? ` (${describeIdentity(identityFromCert(cert, socket.servername || null))})` : '';
      warn(
        `${tag}: refused the handshake of ${who}${id}: ${verifyMessage(String(socket.authorizationError), policy)}`,
      );
      return;
    }
    const code = err.code ?? '';
    if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
      failed('no_certificate');
      warn(
        `${tag}: refused the handshake of ${who}: no certificate provided, and this listener requires one ` +
          '(client_auth = require): give the client a certificate signed by a CA in ca_path',
      );
    } else if (/UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/.test(code)) {
      failed('client_rejected_server_cert');
      warn(
        `${tag}: handshake with ${who} failed: the client does not accept this server's certificate (${code}): ` +
          `it must trust the CA that signed cert_path ${policy.certPath}, and dial a name in its SANs`,
      );
    } else {
      failed('other');
      if (code !== 'ECONNRESET') warn(`${tag}: handshake with ${who} failed: ${err.message}`);
    }
  });

  const watch = watchFiles(
    () => material.files,
    opts.reloadIntervalMs,
    async () => {
      try {
        const next = await loadListenerMaterial(policy, opts.sni);
        server.setSecureContext(next.options);
        opts.log.info(
          `${tag}: reloaded TLS files: server certificate serial ${next.serial} (was ${material.serial})`,
        );
        material = next;
        opts.onCertificates?.(listener, next.certs);
        recheckOpen(next);
        return true;
      } catch (err) {
        opts.log.error(`${tag}: kept the previous TLS material: ${(err as Error).message}`);
        return false;
      }
    },
  );

  return {
    server,
    certificates: () => material.certs,
    authFor: (c) => byConnection.get(connectionKey(c)),
    checkFiles: () => watch.check(),
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
      for (const r of raws) r.destroy();
    },
    stop: () => watch.stop(),
  };
}

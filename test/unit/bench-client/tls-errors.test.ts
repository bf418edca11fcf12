/**
 * classifyConnectionError on error objects captured from real handshakes (node:tls, undici and grpc-js against
 * node:tls servers with the certificates of test/helpers/pki.ts), not on hand-written strings.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'undici';
import { classifyConnectionError } from '../../../src/bench-client/tls-errors.js';
import type { ConnectionContext } from '../../../src/bench-client/tls-errors.js';
import { clientConstructor } from '../../../src/proto/load.js';
import { makeTestPki } from '../../helpers/pki.js';
import type { TestPki } from '../../helpers/pki.js';

const ctx = (port: number, extra: Partial<ConnectionContext> = {}): ConnectionContext => ({
  tls: true,
  host: 'localhost',
  port,
  serverName: 'localhost',
  clientCert: false,
  ca: false,
  insecure: false,
  answered: false,
  protocol: 'gRPC',
  ...extra,
});

/** Connects with node:tls and resolves with the first error (a write after the handshake reads the alert). */
function tlsError(port: number, opts: tls.ConnectionOptions): Promise<Error> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no error within 5 s'));
    }, 5000);
    socket.on('secureConnect', () => socket.write('ping'));
    socket.on('error', (e) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without an error'));
    });
  });
}

/** One undici request; resolves with the error it fails with. */
async function undiciError(port: number, opts: tls.ConnectionOptions): Promise<Error> {
  const client = new Client(`https://localhost:${port}`, { connect: opts });
  try {
    await client.request({ path: '/embed', method: 'POST', body: '{}' });
    throw new Error('request succeeded');
  } catch (e) {
    return e as Error;
  } finally {
    await client.destroy();
  }
}

/** One grpc-js Info call; resolves with the ServiceError. */
function grpcError(
  port: number,
  creds: grpc.ChannelCredentials,
  options: grpc.ChannelOptions = {},
): Promise<grpc.ServiceError> {
  const Ctor = clientConstructor('tei_multiplexer.v1.TeiMultiplexer');
  const client = new Ctor(`localhost:${port}`, creds, options) as unknown as grpc.Client & {
    Info(req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.Info({ target: { model_id: 'm' } }, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      if (err) resolve(err);
      else reject(new Error('call succeeded'));
    }),
  );
}

/** `openssl s_server` requiring a verified client certificate (it alerts on a bad one); null without openssl. */
async function opensslServer(pki: TestPki): Promise<{ port: number; stop: () => void } | null> {
  const port = await freePort();
  const child = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-cert',
      pki.paths.cert,
      '-key',
      pki.paths.key,
      '-CAfile',
      pki.paths.ca,
      '-Verify',
      '1',
      '-verify_return_error',
      '-naccept',
      '1',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ACCEPT')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  if (!ready) {
    stop();
    return null;
  }
  return { port, stop };
}

/** A port nothing listens on now (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('classifyConnectionError on real handshake failures', () => {
  let pki: TestPki;
  /** Requires a client certificate the way OpenSSL does: alerts on a missing or bad one. */
  let strict: tls.Server;
  /** Like the router: asks for a certificate, and closes the connection after the handshake when it fails. */
  let closing: tls.Server;
  let plain: net.Server;
  let strictPort: number;
  let closingPort: number;
  let plainPort: number;
  const sockets = new Set<net.Socket>();

  before(async () => {
    pki = await makeTestPki();
    const material = {
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
    };
    strict = tls.createServer({ ...material, rejectUnauthorized: true }, (s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    strict.on('tlsClientError', () => {});
    closing = tls.createServer({ ...material, rejectUnauthorized: false }, (s) => {
      sockets.add(s);
      s.on('error', () => {});
      if (!s.authorized) s.destroy();
    });
    closing.on('tlsClientError', () => {});
    plain = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    [strictPort, closingPort, plainPort] = await Promise.all([
      listen(strict),
      listen(closing),
      listen(plain),
    ]);
  });
  after(() => {
    for (const s of sockets) s.destroy();
    strict.close();
    closing.close();
    plain.close();
    pki.remove();
  });

  const good = () => pki.clients['allowed subject']!;
  const expired = () => pki.clients.expired!;

  it('"certificate verify failed": the client does not trust the server (node:tls, undici, grpc-js)', async () => {
    const errors: Error[] = [
      await tlsError(strictPort, { cert: good().certPem, key: good().keyPem }),
      await undiciError(strictPort, { cert: good().certPem, key: good().keyPem }),
      await grpcError(
        strictPort,
        grpc.credentials.createSsl(null, Buffer.from(good().keyPem), Buffer.from(good().certPem)),
      ),
    ];
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'SELF_SIGNED_CERT_IN_CHAIN', String(errors[0]));
    for (const e of errors) {
      const p = classifyConnectionError(e, ctx(strictPort, { clientCert: true }));
      assert.equal(p?.kind, 'untrusted-server', `${String(e)} → ${JSON.stringify(p)}`);
      assert.equal(p?.label, 'certificate verify failed', JSON.stringify(p));
      assert.match(p?.message ?? '', /pass --ca with the CA certificate that signed/, JSON.stringify(p));
      assert.match(p?.message ?? '', /self-signed certificate in certificate chain/, JSON.stringify(p));
    }
    const withCa = classifyConnectionError(errors[0], ctx(strictPort, { ca: true }));
    assert.match(withCa?.message ?? '', /the CA given with --ca did not sign it/, JSON.stringify(withCa));
  });

  it('"no certificate provided": TLS alert 116 certificate required (node:tls, grpc-js)', async () => {
    const errors: Error[] = [
      await tlsError(strictPort, { ca: pki.ca.certPem }),
      await grpcError(strictPort, grpc.credentials.createSsl(Buffer.from(pki.ca.certPem))),
    ];
    assert.equal(
      (errors[0] as NodeJS.ErrnoException).code,
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      String(errors[0]),
    );
    for (const e of errors) {
      const p = classifyConnectionError(e, ctx(strictPort, { ca: true }));
      assert.equal(p?.kind, 'client-cert-required', `${String(e)} → ${JSON.stringify(p)}`);
      assert.equal(p?.label, 'no certificate provided', JSON.stringify(p));
      assert.match(p?.message ?? '', /pass --cert and --key/, JSON.stringify(p));
    }
  });

  it('"no certificate provided" when the server just closes after the handshake and no certificate was sent (undici)', async () => {
    const e = await undiciError(closingPort, { ca: pki.ca.certPem });
    const p = classifyConnectionError(e, ctx(closingPort, { ca: true, protocol: 'HTTP' }));
    assert.equal(p?.kind, 'client-cert-required', `${String(e)} → ${JSON.stringify(p)}`);
    assert.match(
      p?.message ?? '',
      /closed the connection right after the TLS handshake.*pass --cert and --key/,
    );
  });

  it('"SAN mismatch": the name dialled is not in the server certificate (node:tls, grpc-js)', async () => {
    const errors: Error[] = [
      await tlsError(strictPort, {
        ca: pki.ca.certPem,
        cert: good().certPem,
        key: good().keyPem,
        servername: 'not-in-sans.test',
      }),
      await grpcError(
        strictPort,
        grpc.credentials.createSsl(
          Buffer.from(pki.ca.certPem),
          Buffer.from(good().keyPem),
          Buffer.from(good().certPem),
        ),
        { 'grpc.ssl_target_name_override': 'not-in-sans.test', 'grpc.default_authority': 'not-in-sans.test' },
      ),
    ];
    assert.equal(
      (errors[0] as NodeJS.ErrnoException).code,
      'ERR_TLS_CERT_ALTNAME_INVALID',
      String(errors[0]),
    );
    for (const e of errors) {
      const p = classifyConnectionError(
        e,
        ctx(strictPort, {
          host: 'not-in-sans.test',
          serverName: 'not-in-sans.test',
          clientCert: true,
          ca: true,
        }),
      );
      assert.equal(p?.kind, 'san-mismatch', `${String(e)} → ${JSON.stringify(p)}`);
      assert.equal(p?.label, 'SAN mismatch', JSON.stringify(p));
      assert.match(p?.message ?? '', /does not cover not-in-sans\.test, the name dialled/, JSON.stringify(p));
      assert.match(p?.message ?? '', /DNS:localhost/, JSON.stringify(p));
      assert.match(p?.message ?? '', /--insecure.*does not skip verification/, JSON.stringify(p));
    }
  });

  it('"client certificate rejected": an OpenSSL server\'s alert (openssl s_server), or a Node server closing', async (t) => {
    const server = await opensslServer(pki);
    if (!server) {
      t.diagnostic('openssl not found: the alert case is skipped');
    } else {
      try {
        const alert = await tlsError(server.port, {
          ca: pki.ca.certPem,
          cert: expired().certPem,
          key: expired().keyPem,
        });
        assert.match(String(alert), /alert certificate expired/i, String(alert));
        const a = classifyConnectionError(alert, ctx(server.port, { clientCert: true, ca: true }));
        assert.equal(a?.kind, 'client-cert-rejected', `${String(alert)} → ${JSON.stringify(a)}`);
        assert.match(
          a?.message ?? '',
          /client certificate rejected by the server.*"certificate expired"/,
          JSON.stringify(a),
        );
      } finally {
        server.stop();
      }
    }
    // a Node server refusing the certificate over TLS 1.2 resets the connection inside the handshake
    const reset = await tlsError(strictPort, {
      ca: pki.ca.certPem,
      cert: expired().certPem,
      key: expired().keyPem,
      maxVersion: 'TLSv1.2',
    });
    const closed = [
      reset,
      await undiciError(closingPort, { ca: pki.ca.certPem, cert: expired().certPem, key: expired().keyPem }),
      await grpcError(
        closingPort,
        grpc.credentials.createSsl(
          Buffer.from(pki.ca.certPem),
          Buffer.from(expired().keyPem),
          Buffer.from(expired().certPem),
        ),
      ),
    ];
    for (const e of closed) {
      const p = classifyConnectionError(e, ctx(closingPort, { clientCert: true, ca: true }));
      assert.equal(p?.kind, 'client-cert-rejected', `${String(e)} → ${JSON.stringify(p)}`);
      assert.equal(p?.label, 'client certificate rejected', JSON.stringify(p));
      assert.match(
        p?.message ?? '',
        /client certificate rejected by the server \(expired, revoked, unknown CA or wrong key usage\): check the router's log/,
        JSON.stringify(p),
      );
      // once requests have been answered, a closed connection is not a handshake refusal
      assert.equal(classifyConnectionError(e, ctx(closingPort, { clientCert: true, answered: true })), null);
    }
  });

  it('TLS to a plaintext port, connection refused; answers from the server are not connection problems', async () => {
    const wrong = await tlsError(plainPort, { ca: pki.ca.certPem });
    const p = classifyConnectionError(wrong, ctx(plainPort));
    assert.equal(p?.kind, 'tls-to-plaintext', `${String(wrong)} → ${JSON.stringify(p)}`);
    assert.match(p?.message ?? '', /use grpc:\/\//, JSON.stringify(p));

    const closedPort = await freePort();
    const refused = await new Promise<Error>((resolve) =>
      net.connect(closedPort, '127.0.0.1').on('error', (e) => resolve(e)),
    );
    const r = classifyConnectionError(refused, ctx(closedPort, { tls: false }));
    assert.equal(r?.kind, 'refused', `${String(refused)} → ${JSON.stringify(r)}`);

    const answered = Object.assign(new Error('3 INVALID_ARGUMENT: certificate required in body'), {
      code: grpc.status.INVALID_ARGUMENT,
      details: 'certificate required in body',
    });
    assert.equal(classifyConnectionError(answered, ctx(1)), null);
    // an UNAVAILABLE the router sends (a backend down) is an answer, even when its text names a socket error
    const metadata = new grpc.Metadata();
    metadata.set('x-tei-router-error', 'ROUTER_ERR_BACKEND_UNAVAILABLE');
    const backendDown = Object.assign(new Error('14 UNAVAILABLE: backend http://127.0.0.1:1: write EPIPE'), {
      code: grpc.status.UNAVAILABLE,
      details: 'backend http://127.0.0.1:1: unavailable: write EPIPE',
      metadata,
    });
    assert.equal(classifyConnectionError(backendDown, ctx(1)), null);
    assert.equal(classifyConnectionError({ ...backendDown, metadata: new grpc.Metadata() }, ctx(1)), null);
    assert.equal(classifyConnectionError(new Error('timeout'), ctx(1)), null);
  });
});

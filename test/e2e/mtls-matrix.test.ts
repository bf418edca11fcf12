/**
 * The client-certificate matrix over real sockets on every listener: {no cert, another CA, expired, not yet valid,
 * revoked, wrong extendedKeyUsage, subject not allowed, allowed SAN, allowed subject} × client_auth {none,
 * optional, require}, each over HTTP/1.1, HTTP/2, gRPC and the admin listener, with the outcome and the message
 * (in the reply, or in the router's log when the handshake itself is refused).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { App } from '../../src/app.js';
import type { ClientAuth, KeyValue } from '../../src/config.js';
import type { RunningSim } from '../../src/sim/index.js';
import { ALLOWED_SAN, ALLOWED_SUBJECT, CLIENT_CASES, makeTestPki } from '../helpers/pki.js';
import type { ClientCase, TestPki } from '../helpers/pki.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { sim } from '../helpers/sim.js';
import { grpcInfo, h1Get, h2Get } from '../helpers/tls-clients.js';
import type { Outcome, TlsTarget } from '../helpers/tls-clients.js';

/** What a case should get: in, refused at the request (401/403 + code + message) or refused at the handshake. */
type Expect =
  { in: true } | { status: 401 | 403; code: string; message: RegExp } | { handshake: true; log: RegExp };

const VERIFY: Partial<Record<ClientCase, RegExp>> = {
  'other CA':
    /verify failed \((UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\).*not signed by a CA in ca_path/,
  expired: /verify failed \(CERT_HAS_EXPIRED\)/,
  'not yet valid': /verify failed \(CERT_NOT_YET_VALID\)/,
  revoked: /verify failed \(CERT_REVOKED\).*crl_path/,
  'wrong EKU': /verify failed \(INVALID_PURPOSE\).*clientAuth/,
};

function expected(mode: ClientAuth, c: ClientCase): Expect {
  if (mode === 'none') return { in: true };
  if (c === 'allowed SAN' || c === 'allowed subject') return { in: true };
  if (c === 'subject not allowed') {
    return {
      status: 403,
      code: 'ROUTER_ERR_FORBIDDEN',
      message: /CN=stranger.*allowed_subjects.*allowed_sans/,
    };
  }
  if (c === 'no cert') {
    return mode === 'require'
      ? { handshake: true, log: /no certificate provided/ }
      : { status: 401, code: 'ROUTER_ERR_CLIENT_CERT', message: /certificate/ };
  }
  const verify = VERIFY[c]!;
  return mode === 'require'
    ? { handshake: true, log: verify }
    : { status: 401, code: 'ROUTER_ERR_CLIENT_CERT', message: verify };
}

const GRPC_STATUS = { 401: grpc.status.UNAUTHENTICATED, 403: grpc.status.PERMISSION_DENIED } as const;

describe('mTLS client-certificate matrix on every listener', () => {
  let pki: TestPki;
  let backend: RunningSim;

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini' });
  });
  after(async () => {
    await backend.close();
    pki.remove();
  });

  for (const mode of ['none', 'optional', 'require'] as const) {
    describe(`client_auth = ${mode}`, () => {
      let app: App;
      const logs: string[] = [];
      before(async () => {
        const flags: Record<string, KeyValue> = {
          'tls.cert_path': pki.paths.cert,
          'tls.key_path': pki.paths.key,
          'tls.ca_path': pki.paths.ca,
          'tls.client_auth': mode,
          'admin.tls.crl_path': pki.paths.crl, // [admin.tls] with a key of its own puts admin under TLS too
        };
        if (mode !== 'none') {
          flags['tls.crl_path'] = pki.paths.crl;
          flags['tls.allowed_subjects'] = [ALLOWED_SUBJECT];
          flags['tls.allowed_sans'] = [ALLOWED_SAN];
        }
        ({ app } = await startRouter([routerModel([backend.url])], flags, (l) => logs.push(l)));
      });
      after(() => app.close());

      for (const c of CLIENT_CASES) {
        it(`${c}`, async () => {
          const want = expected(mode, c);
          const cert = pki.clients[c];
          const target = (port: number): TlsTarget => ({ port, ca: pki.ca.certPem });
          const results: Array<[string, Outcome]> = [
            ['HTTP/1.1', await h1Get(target(app.ports.http), '/health', cert)],
            ['HTTP/2', await h2Get(target(app.ports.http), '/health', cert)],
            ['admin', await h1Get(target(app.ports.admin), '/health', cert)],
            ['gRPC', await grpcInfo(target(app.ports.grpc), 'mini', cert)],
          ];
          for (const [listener, got] of results) {
            const where = `${mode} / ${c} / ${listener}: ${JSON.stringify(got)}`;
            if ('in' in want) {
              assert.equal(got.kind, 'answered', where);
              assert.equal(got.status, listener === 'gRPC' ? grpc.status.OK : 200, where);
            } else if ('status' in want) {
              assert.equal(got.kind, 'answered', where);
              const status = listener === 'gRPC' ? GRPC_STATUS[want.status] : want.status;
              assert.equal(got.status, status, where);
              assert.equal(got.code, want.code, where);
              const message =
                listener === 'gRPC' ? got.body : (JSON.parse(got.body) as { error: string }).error;
              assert.match(message, want.message, where);
            } else {
              assert.equal(got.kind, 'refused', where);
            }
          }
          if ('handshake' in want) {
            // the log line is written when the server side of the handshake ends
            for (let i = 0; i < 50 && !logs.some((l) => want.log.test(l)); i++) {
              await new Promise((r) => setTimeout(r, 20));
            }
            assert.ok(
              logs.some((l) => want.log.test(l)),
              `no log line matching ${String(want.log)} in:\n${logs.join('\n')}`,
            );
          }
        });
      }
    });
  }
});

/**
 * Regressions from the mTLS review: a connection's TLS verdict is keyed by the whole 4-tuple (remote address:port
 * alone can repeat across local addresses), and a call on a TLS listener without a verdict is refused rather than
 * treated as plaintext.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createGrpcIngress } from '../../src/ingress/grpc/server.js';
import { connectionKey } from '../../src/tls/server.js';
import { grpcClient, sim, unary } from '../helpers/sim.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { makeTestPki } from '../helpers/pki.js';
import { h1Get } from '../helpers/tls-clients.js';

describe('TLS verdict lookup', () => {
  it('keys connections by remote and local address and port', () => {
    const a = connectionKey({
      remoteAddress: '127.0.0.9',
      remotePort: 5000,
      localAddress: '127.0.0.1',
      localPort: 9001,
    });
    const b = connectionKey({
      remoteAddress: '127.0.0.9',
      remotePort: 5000,
      localAddress: '127.0.0.2',
      localPort: 9001,
    });
    assert.notEqual(a, b);
  });

  it('refuses gRPC calls (health and reflection included) whose connection has no verdict on a TLS listener', async () => {
    const backend = await sim({ modelId: 'mini' });
    const config = loadConfig({
      flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1 },
    });
    config.models = [routerModel([backend.url])];
    config.defaultModel = 'mini';
    const app = await startApp(config, { log: () => {} });
    // the gRPC ingress as a TLS listener builds it, bound here without TLS: no connection can have a verdict
    const server = createGrpcIngress({
      pipeline: app.pipeline,
      replicas: app.replicas,
      maxMessageBytes: 1 << 20,
      connection: () => undefined,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    try {
      for (const [service, method, req] of [
        ['tei_multiplexer.v1.TeiMultiplexer', 'Info', { target: { model_id: 'mini' } }],
        ['grpc.health.v1.Health', 'Check', { service: '' }],
      ] as const) {
        const c = grpcClient(service, `127.0.0.1:${port}`);
        await assert.rejects(unary(c, method, req), (e: grpc.ServiceError) => {
          assert.equal(e.code, grpc.status.UNAUTHENTICATED, `${service}: ${e.details}`);
          assert.match(e.details, /no TLS verdict/);
          return true;
        });
        c.close();
      }
    } finally {
      server.forceShutdown();
      await app.close();
      await backend.close();
    }
  });

  it('server and clients may use different CAs (guide item 7): ca_path is the client CA only', async () => {
    const pki = await makeTestPki();
    const backend = await sim({ modelId: 'mini' });
    // the server certificate comes from "other CA"; clients from the test CA, which is the only one in ca_path
    const server = await pki.issue(
      { subject: 'CN=tei-router', sans: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' },
      pki.otherCa,
    );
    const { app } = await startRouter([routerModel([backend.url])], {
      'tls.cert_path': pki.write('other-server.pem', server.certPem),
      'tls.key_path': pki.write('other-server-key.pem', server.keyPem),
      'tls.ca_path': pki.paths.ca,
    });
    try {
      const client = pki.clients['allowed subject']!;
      const ok = await h1Get({ port: app.ports.http, ca: pki.otherCa.certPem }, '/health', client);
      assert.equal(ok.kind === 'answered' && ok.status, 200, JSON.stringify(ok));
      const foreign = pki.clients['other CA']!;
      const refused = await h1Get({ port: app.ports.http, ca: pki.otherCa.certPem }, '/health', foreign);
      assert.equal(refused.kind, 'refused', JSON.stringify(refused));
    } finally {
      await app.close();
      await backend.close();
      pki.remove();
    }
  });
});

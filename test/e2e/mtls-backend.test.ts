/**
 * mTLS towards backends: TEI behind an mTLS proxy, reached over https:// and grpcs://; the router verifies the
 * backend against backend.tls.ca_path and presents backend.tls.cert_path. Also the certificate expiry gauge and
 * the warning for a certificate close to its notAfter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { Issued } from '../../src/pki/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import type { TestPki } from '../helpers/pki.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { postJson, request, sim } from '../helpers/sim.js';

/** A TLS terminator that requires a client certificate from `ca` and pipes to `port` on loopback. */
async function mtlsProxy(
  pki: TestPki,
  port: number,
  alpn: string[],
): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: pki.server.certPem,
      key: pki.server.keyPem,
      ca: pki.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: alpn,
    },
    (socket) => {
      const upstream = net.connect(port, '127.0.0.1');
      sockets.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('mTLS to backends (https:// and grpcs:// behind an mTLS proxy) and certificate expiry', () => {
  let pki: TestPki;
  let httpSim: RunningSim;
  let grpcSim: RunningSim;
  let httpProxy: { port: number; close(): void };
  let grpcProxy: { port: number; close(): void };
  let routerClient: Issued;

  before(async () => {
    pki = await makeTestPki();
    httpSim = await sim({ modelId: 'mini' });
    grpcSim = await sim({ modelId: 'mini', protocol: 'grpc' });
    httpProxy = await mtlsProxy(pki, Number(new URL(httpSim.url).port), ['http/1.1']);
    grpcProxy = await mtlsProxy(pki, Number(new URL(grpcSim.url).port), ['h2']);
    // expires in 10 days: inside the default 30-day warning window
    routerClient = await pki.issue({
      subject: 'CN=tei-router-client,O=Test Org',
      usage: 'client',
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 10 * 86_400_000),
    });
  });
  after(async () => {
    httpProxy.close();
    grpcProxy.close();
    await Promise.all([httpSim.close(), grpcSim.close()]);
    pki.remove();
  });

  const backends = () => [`https://localhost:${httpProxy.port}`, `grpcs://localhost:${grpcProxy.port}`];

  it('verifies the backends against backend.tls.ca_path and presents the client certificate; vectors are the backend bits', async () => {
    const logs: string[] = [];
    const { app, base } = await startRouter(
      [routerModel(backends())],
      {
        'backend.tls.ca_path': pki.paths.ca,
        'backend.tls.cert_path': pki.write('router-client.pem', routerClient.certPem),
        'backend.tls.key_path': pki.write('router-client-key.pem', routerClient.keyPem),
      },
      (l) => logs.push(l),
    );
    try {
      const list = JSON.parse(
        (await request(`http://127.0.0.1:${app.ports.admin}/v1/backends`, 'GET')).body,
      ) as Array<{
        state: string;
        last_error: string | null;
      }>;
      assert.deepEqual(
        list.map((b) => b.state),
        ['up', 'up'],
        JSON.stringify(list),
      );
      const texts = Array.from({ length: 12 }, (_, i) => `secure text ${i}`);
      const r = await postJson(base, '/embed', { inputs: texts });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, (await postJson(httpSim.url, '/embed', { inputs: texts })).body);
      const metrics = (await request(`http://127.0.0.1:${app.ports.admin}/metrics`, 'GET')).body;
      const gauge = new RegExp(
        `tei_router_tls_certificate_not_after_seconds\\{source="backend",role="backend-client",path="[^"]+",serial="${routerClient.serialHex}"\\} (\\d+)`,
      ).exec(metrics);
      assert.ok(gauge, metrics);
      assert.ok(Math.abs(Number(gauge[1]) - (Date.now() / 1000 + 10 * 86_400)) < 3600, gauge[1]);
      assert.ok(
        logs.some((l) => /backend backend-client certificate .* expires in 10 days/.test(l)),
        logs.join('\n'),
      );
    } finally {
      await app.close();
    }
  });

  it('without the client certificate the mTLS backends are not reachable, and /v1/backends says why', async () => {
    const { app, base } = await startRouter([routerModel(backends())], {
      'backend.tls.ca_path': pki.paths.ca,
    });
    try {
      const list = JSON.parse(
        (await request(`http://127.0.0.1:${app.ports.admin}/v1/backends`, 'GET')).body,
      ) as Array<{
        state: string;
        last_error: string | null;
      }>;
      assert.ok(
        list.every((b) => b.state !== 'up' && b.last_error),
        JSON.stringify(list),
      );
      const r = await postJson(base, '/embed', { inputs: ['x'] });
      assert.equal(r.status, 503, r.body);
    } finally {
      await app.close();
    }
  });
});

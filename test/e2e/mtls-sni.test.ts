/**
 * SNI on one listener: per-hostname server certificates from [[tls.sni]] (exact and `*.` entries), the dialled
 * name as the client's tenant, and require_san_matches_sni refusing a client whose SANs lack the name it dialled.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { App } from '../../src/app.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Issued } from '../../src/pki/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import type { TestPki } from '../helpers/pki.js';
import { sim } from '../helpers/sim.js';
import { h1Get, grpcInfo } from '../helpers/tls-clients.js';

function serialFor(port: number, ca: string, servername: string, client: Issued): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      {
        host: '127.0.0.1',
        port,
        servername,
        ca,
        cert: client.certPem,
        key: client.keyPem,
        checkServerIdentity: () => undefined,
      },
      () => {
        resolve(s.getPeerCertificate().serialNumber.toLowerCase());
        s.destroy();
      },
    );
    s.once('error', reject);
  });
}

describe('SNI: per-name server certificates, tenants, require_san_matches_sni', () => {
  let pki: TestPki;
  let backend: RunningSim;
  let app: App;
  let alphaCert: Issued;
  let wildCert: Issued;
  let alphaClient: Issued;
  let betaClient: Issued;
  const logs: string[] = [];

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini' });
    alphaCert = await pki.issue({ subject: 'CN=alpha', sans: ['DNS:alpha.tenants.test'], usage: 'server' });
    wildCert = await pki.issue({ subject: 'CN=wild', sans: ['DNS:*.wild.test'], usage: 'server' });
    alphaClient = await pki.issue({
      subject: 'CN=alpha-client',
      sans: ['DNS:alpha.tenants.test'],
      usage: 'client',
    });
    betaClient = await pki.issue({ subject: 'CN=beta-client', sans: ['DNS:*.wild.test'], usage: 'client' });
    const toml = path.join(pki.dir, 'router.toml');
    fs.writeFileSync(
      toml,
      [
        '[grpc]',
        'port = 0',
        '[http]',
        'port = 0',
        '[admin]',
        'port = 0',
        '[pool]',
        'threads = 1',
        '[log]',
        'access = true',
        '[tls]',
        `cert_path = "${pki.paths.cert}"`,
        `key_path = "${pki.paths.key}"`,
        `ca_path = "${pki.paths.ca}"`,
        'client_auth = "require"',
        'require_san_matches_sni = true',
        '[[tls.sni]]',
        'server_name = "alpha.tenants.test"',
        `cert_path = "${pki.write('alpha.pem', alphaCert.certPem)}"`,
        `key_path = "${pki.write('alpha-key.pem', alphaCert.keyPem)}"`,
        '[[tls.sni]]',
        'server_name = "*.wild.test"',
        `cert_path = "${pki.write('wild.pem', wildCert.certPem)}"`,
        `key_path = "${pki.write('wild-key.pem', wildCert.keyPem)}"`,
        '[[models]]',
        'name = "mini"',
        `backends = ["${backend.url}"]`,
      ].join('\n'),
    );
    app = await startApp(loadConfig({ file: toml }), { log: (l) => logs.push(l) });
  });
  after(async () => {
    await app.close();
    await backend.close();
    pki.remove();
  });

  it('presents the certificate of the name dialled: exact entry, one-label wildcard entry, else the default', async () => {
    const port = app.ports.http;
    const ca = pki.ca.certPem;
    assert.equal(await serialFor(port, ca, 'alpha.tenants.test', alphaClient), alphaCert.serialHex);
    assert.equal(await serialFor(port, ca, 'beta.wild.test', betaClient), wildCert.serialHex);
    assert.equal(await serialFor(port, ca, 'x.beta.wild.test', betaClient), pki.server.serialHex);
    assert.equal(await serialFor(port, ca, 'localhost', alphaClient), pki.server.serialHex);
  });

  it('lets a client in on the name its SANs hold, records it as the tenant, and refuses it on another name', async () => {
    const ca = pki.ca.certPem;
    const alpha = { certPem: alphaClient.certPem, keyPem: alphaClient.keyPem };
    const ok = await h1Get({ port: app.ports.http, ca, servername: 'alpha.tenants.test' }, '/health', alpha);
    assert.equal(ok.kind === 'answered' && ok.status, 200, JSON.stringify(ok));
    assert.ok(
      logs.some((l) => l.includes('"tenant":"alpha.tenants.test"') && l.includes('CN=alpha-client')),
      `access log names the tenant: ${logs.join('\n')}`,
    );
    const beta = { certPem: betaClient.certPem, keyPem: betaClient.keyPem };
    const wild = await grpcInfo({ port: app.ports.grpc, ca, servername: 'beta.wild.test' }, 'mini', beta);
    assert.equal(wild.kind === 'answered' && wild.status, 0, JSON.stringify(wild));
    const wrong = await h1Get(
      { port: app.ports.http, ca, servername: 'alpha.tenants.test' },
      '/health',
      beta,
    );
    assert.equal(wrong.kind === 'answered' && wrong.status, 403, JSON.stringify(wrong));
    assert.equal(wrong.kind === 'answered' && wrong.code, 'ROUTER_ERR_FORBIDDEN');
    assert.match(wrong.kind === 'answered' ? wrong.body : '', /alpha\.tenants\.test/);
  });
});

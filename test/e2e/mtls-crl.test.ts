/**
 * CRLs as the mTLS review found them wanting: a bundle of CRLs (root + intermediate) is honoured block by block; a
 * CRL that no CA of ca_path signed, or one past its nextUpdate, is refused at startup and on reload (the old
 * material stays); a client revoked by a reloaded CRL is refused on its open connection's next request; a watched
 * file that disappears is reported instead of silently stopping reloads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { App } from '../../src/app.js';
import { RouterError } from '../../src/errors.js';
import { createCa, createCrl, issueCert } from '../../src/pki/index.js';
import type { Issued } from '../../src/pki/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import { until } from '../helpers/wait.js';
import type { TestPki } from '../helpers/pki.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { sim } from '../helpers/sim.js';
import { h1Get } from '../helpers/tls-clients.js';

const DAY = 86_400_000;

describe('CRLs: bundles, validation, reload, open connections', () => {
  let pki: TestPki;
  let backend: RunningSim;
  let intermediate: Issued;
  let good: Issued;
  let revoked: Issued;
  let chainCa: string;

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini' });
    intermediate = await createCa({ subject: 'CN=test-intermediate,O=Test Org' }, pki.ca);
    good = await issueCert(intermediate, { subject: 'CN=good,O=Test Org', usage: 'client' });
    revoked = await issueCert(intermediate, { subject: 'CN=revoked,O=Test Org', usage: 'client' });
    // clients send only their own certificate: the router's ca_path holds the root and the intermediate
    chainCa = pki.write('chain-ca.pem', pki.ca.certPem + intermediate.certPem);
  });
  after(async () => {
    await backend.close();
    pki.remove();
  });

  const flags = (crl: string, extra: Record<string, string | number> = {}) => ({
    'tls.cert_path': pki.paths.cert,
    'tls.key_path': pki.paths.key,
    'tls.ca_path': chainCa,
    'tls.crl_path': crl,
    'tls.client_auth': 'require',
    'tls.reload_interval_ms': 100,
    ...extra,
  });
  const get = (app: App, c: Issued) =>
    h1Get({ port: app.ports.http, ca: pki.ca.certPem }, '/health', { certPem: c.certPem, keyPem: c.keyPem });

  it('honours every CRL of a root + intermediate bundle', async () => {
    const bundle =
      (await createCrl(pki.ca, [])) + (await createCrl(intermediate, [{ serialHex: revoked.serialHex }]));
    const logs: string[] = [];
    const { app } = await startRouter(
      [routerModel([backend.url])],
      flags(pki.write('bundle.pem', bundle)),
      (l) => logs.push(l),
    );
    try {
      const ok = await get(app, good);
      assert.equal(ok.kind === 'answered' && ok.status, 200, JSON.stringify(ok));
      assert.equal((await get(app, revoked)).kind, 'refused');
      await until(() => logs.some((l) => /CERT_REVOKED/.test(l)));
      assert.ok(
        logs.some((l) => /CERT_REVOKED/.test(l)),
        logs.join('\n'),
      );
    } finally {
      await app.close();
    }
  });

  it('refuses at startup a CRL that no CA of ca_path signed, and one past its nextUpdate', async () => {
    const stranger = await createCa({ subject: 'CN=stranger-ca' });
    for (const [crl, why] of [
      [await createCrl(stranger, []), /not signed by a CA in ca_path/],
      [
        await createCrl(intermediate, [], { now: new Date(Date.now() - 40 * DAY) }),
        /expired at its nextUpdate/,
      ],
    ] as const) {
      await assert.rejects(
        startRouter([routerModel([backend.url])], flags(pki.write('bad.pem', crl))),
        (e: unknown) =>
          e instanceof RouterError && e.code === 'ROUTER_ERR_TLS_MATERIAL' && why.test(e.message),
      );
    }
  });

  it('a reloaded CRL revokes an open connection from its next request; a bad or missing CRL keeps the old one', async () => {
    // with an intermediate CA, OpenSSL wants a CRL from every CA of the chain: the root's stays, the intermediate's changes
    const rootCrl = await createCrl(pki.ca, []);
    const crlFile = pki.write('live.pem', rootCrl + (await createCrl(intermediate, [], { crlNumber: 1 })));
    const logs: string[] = [];
    const { app } = await startRouter([routerModel([backend.url])], flags(crlFile), (l) => logs.push(l));
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: pki.ca.certPem,
      cert: revoked.certPem,
      key: revoked.keyPem,
    });
    const onOpen = () =>
      new Promise<number>((resolve, reject) => {
        https
          .get(
            { host: '127.0.0.1', port: app.ports.http, path: '/health', servername: 'localhost', agent },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject);
      });
    try {
      assert.equal(await onOpen(), 200);
      // a CRL from a stranger CA: refused on reload, the old one stays, the client still gets in
      const stranger = await createCa({ subject: 'CN=stranger-ca' });
      fs.writeFileSync(crlFile, rootCrl + (await createCrl(stranger, [])));
      await until(() => logs.some((l) => /kept the previous TLS material: .*not signed by a CA/.test(l)));
      assert.ok(
        logs.some((l) => /kept the previous TLS material: .*not signed by a CA/.test(l)),
        logs.join('\n'),
      );
      assert.equal(await onOpen(), 200);
      // the real revocation: the open connection is refused from its next request, a new one at the handshake
      // without the root's CRL, OpenSSL would refuse every client of the intermediate: refused on reload
      fs.writeFileSync(crlFile, await createCrl(intermediate, [], { crlNumber: 2 }));
      await until(() =>
        logs.some((l) => /tls http: kept the previous TLS material: .*has no CRL from CN=test-ca/.test(l)),
      );
      assert.ok(
        logs.some((l) => /tls http: kept .*has no CRL from CN=test-ca/.test(l)),
        logs.join('\n'),
      );
      fs.writeFileSync(
        crlFile,
        rootCrl + (await createCrl(intermediate, [{ serialHex: revoked.serialHex }], { crlNumber: 3 })),
      );
      await until(() => logs.some((l) => /tls http: reloaded TLS files/.test(l)));
      assert.equal(await onOpen(), 401, logs.join('\n'));
      assert.ok(
        logs.some((l) =>
          /refusing further requests on the open connection .*revoked by the reloaded crl_path/.test(l),
        ),
        logs.join('\n'),
      );
      assert.equal((await get(app, revoked)).kind, 'refused');
      // a file that disappears is reported (once), and the material in use stays
      fs.rmSync(crlFile);
      await until(() => logs.some((l) => /kept the previous TLS material: cannot read crl_path/.test(l)));
      assert.ok(
        logs.some((l) => /kept the previous TLS material: cannot read crl_path/.test(l)),
        logs.join('\n'),
      );
      const ok = await get(app, good);
      assert.equal(ok.kind === 'answered' && ok.status, 200, JSON.stringify(ok) + logs.join('\n'));
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});

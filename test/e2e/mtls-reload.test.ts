/**
 * Hot reload under load, cert-manager style: the server certificate, key, CA and CRL live behind a `..data`
 * symlink that is swapped atomically. Requests streaming over open connections must not fail; new handshakes must
 * see the new certificate within 2 s; a client revoked by the new CRL is refused on its next connection; a bad new
 * file is refused with a log line while the old material stays in use.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import type { App } from '../../src/app.js';
import { createCrl } from '../../src/pki/index.js';
import type { Issued } from '../../src/pki/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import { until } from '../helpers/wait.js';
import type { TestPki } from '../helpers/pki.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { grpcClient, sim } from '../helpers/sim.js';
import * as grpc from '@grpc/grpc-js';

/** Writes one version directory and points `..data` at it with an atomic rename, as kubelet does. */
function publish(dir: string, version: string, files: Record<string, string>): void {
  const vdir = path.join(dir, `..${version}`);
  fs.mkdirSync(vdir);
  for (const [name, pem] of Object.entries(files)) fs.writeFileSync(path.join(vdir, name), pem);
  const tmp = path.join(dir, '..data_tmp');
  fs.symlinkSync(`..${version}`, tmp);
  fs.renameSync(tmp, path.join(dir, '..data'));
  for (const name of Object.keys(files)) {
    const link = path.join(dir, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', name), link);
  }
}

/** The serial of the certificate a fresh handshake gets, or the error when the handshake is refused. */
function handshake(port: number, ca: string, client: Issued): Promise<{ serial?: string; error?: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      cert: client.certPem,
      key: client.keyPem,
    });
    s.once('secureConnect', () => {
      const serial = s.getPeerCertificate().serialNumber.toLowerCase();
      // with TLS 1.3 the server's verdict on the client cert arrives after secureConnect: wait for it
      s.once('close', () => resolve({ error: 'closed by the server' }));
      s.once('error', (e) => resolve({ error: e.message }));
      s.write('GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n');
      s.once('data', () => {
        s.destroy();
        resolve({ serial });
      });
    });
    s.once('error', (e) => resolve({ error: e.message }));
  });
}

describe('mTLS hot reload (cert-manager symlink swap) under load', () => {
  let pki: TestPki;
  let backend: RunningSim;
  let app: App;
  let dir: string;
  const logs: string[] = [];
  let second: Issued;
  let doomed: Issued;
  let keeper: Issued;

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini', latency: { batchBaseMs: 1, perTokenUs: 0.5, padded: false } });
    dir = path.join(pki.dir, 'mounted');
    fs.mkdirSync(dir);
    keeper = await pki.issue({ subject: 'CN=keeper,O=Test Org', usage: 'client' });
    doomed = await pki.issue({ subject: 'CN=doomed,O=Test Org', usage: 'client' });
    second = await pki.issue({
      subject: 'CN=tei-router,O=Test Org',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
      usage: 'server',
    });
    publish(dir, 'v1', {
      'tls.crt': pki.server.certPem,
      'tls.key': pki.server.keyPem,
      'ca.crt': pki.ca.certPem,
      'crl.pem': await createCrl(pki.ca, [], { crlNumber: 1 }),
    });
    ({ app } = await startRouter(
      [routerModel([backend.url])],
      {
        'tls.cert_path': path.join(dir, 'tls.crt'),
        'tls.key_path': path.join(dir, 'tls.key'),
        'tls.ca_path': path.join(dir, 'ca.crt'),
        'tls.crl_path': path.join(dir, 'crl.pem'),
        'tls.client_auth': 'require',
        'tls.reload_interval_ms': 200,
      },
      (l) => logs.push(l),
    ));
  });
  after(async () => {
    await app.close();
    await backend.close();
    pki.remove();
  });

  it('rotates server cert and CRL with zero failed requests; new handshakes see the new serial; the revoked client is refused', async () => {
    const ca = pki.ca.certPem;
    assert.equal((await handshake(app.ports.http, ca, keeper)).serial, pki.server.serialHex);
    assert.equal(
      (await handshake(app.ports.http, ca, doomed)).serial,
      pki.server.serialHex,
      'doomed is let in before',
    );

    // load: keep-alive HTTP/1.1 and one gRPC channel, both opened before the swap, until told to stop
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ca,
      cert: keeper.certPem,
      key: keeper.keyPem,
    });
    const channel = grpcClient(
      'tei_multiplexer.v1.TeiMultiplexer',
      `localhost:${app.ports.grpc}`,
      grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(keeper.keyPem), Buffer.from(keeper.certPem)),
    );
    let stop = false;
    const failures: string[] = [];
    let done = 0;
    const httpLoop = async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const status = await new Promise<number>((resolve) => {
          const req = https.request(
            {
              host: '127.0.0.1',
              port: app.ports.http,
              path: '/embed',
              method: 'POST',
              servername: 'localhost',
              agent,
              timeout: 10_000,
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
          req.on('error', (e) => {
            failures.push(`http: ${e.message}`);
            resolve(0);
          });
          req.end(JSON.stringify({ inputs: [`request ${i}`] }));
        });
        if (status !== 200) failures.push(`http status ${status}`);
        done++;
      }
    };
    const grpcLoop = async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        try {
          const md = new grpc.Metadata();
          await new Promise((resolve, reject) =>
            (
              channel.Embed as (
                r: unknown,
                m: grpc.Metadata,
                o: grpc.CallOptions,
                cb: (e: Error | null) => void,
              ) => void
            )(
              { target: { model_id: 'mini' }, request: { inputs: `grpc ${i}` } },
              md,
              { deadline: Date.now() + 10_000 },
              (e) => (e ? reject(e) : resolve(undefined)),
            ),
          );
        } catch (e) {
          failures.push(`grpc: ${(e as Error).message}`);
        }
        done++;
      }
    };
    const loops = [httpLoop(), httpLoop(), grpcLoop()];
    await new Promise((r) => setTimeout(r, 300));

    publish(dir, 'v2', {
      'tls.crt': second.certPem,
      'tls.key': second.keyPem,
      'ca.crt': pki.ca.certPem,
      'crl.pem': await createCrl(pki.ca, [{ serialHex: doomed.serialHex }], { crlNumber: 2 }),
    });
    const swapped = Date.now();
    let serial: string | undefined;
    while (Date.now() - swapped < 2000) {
      serial = (await handshake(app.ports.http, ca, keeper)).serial;
      if (serial === second.serialHex) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(serial, second.serialHex, 'a new handshake sees the new certificate within 2 s');
    const refused = await handshake(app.ports.http, ca, doomed);
    assert.ok(
      refused.error !== undefined,
      `the revoked client is refused on its next connection: ${JSON.stringify(refused)}`,
    );
    // keep the load going until it has run well past the swap (bounded: 10 s)
    const doneAtSwap = done;
    await until(() => done - doneAtSwap >= 20 && Date.now() - swapped >= 300, 10_000);
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    channel.close();
    assert.deepEqual(failures, [], 'no request failed during the rotation');
    assert.ok(done - doneAtSwap >= 20, `the load ran on after the swap (${done - doneAtSwap} requests)`);
    assert.ok(
      logs.some((l) => /reloaded TLS files: server certificate serial/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /CERT_REVOKED/.test(l)),
      `the refusal is logged: ${logs.join('\n')}`,
    );
  });

  it('a bad new file (key not matching the cert) is refused with a log line; the old material stays in use', async () => {
    const other = await pki.issue({ subject: 'CN=other,O=Test Org', usage: 'server' });
    publish(dir, 'v3', {
      'tls.crt': pki.server.certPem,
      'tls.key': other.keyPem,
      'ca.crt': pki.ca.certPem,
      'crl.pem': fs.readFileSync(path.join(dir, 'crl.pem'), 'utf8'),
    });
    for (let i = 0; i < 40 && !logs.some((l) => /kept the previous TLS material/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const kept = logs.find((l) => /kept the previous TLS material/.test(l));
    assert.ok(kept, logs.join('\n'));
    assert.match(kept, /does not match certificate/);
    assert.equal((await handshake(app.ports.http, pki.ca.certPem, keeper)).serial, second.serialHex);
  });
});

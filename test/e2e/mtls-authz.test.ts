/**
 * Identity downstream: [[authz]] entries name clients (by subject or SAN, SPIFFE ids included) and grant them
 * models; the name is the bounded `client` label of the request metrics and appears in the access log with the
 * subject, SANs, SPIFFE id and tenant.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { App } from '../../src/app.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Issued } from '../../src/pki/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import type { TestPki } from '../helpers/pki.js';
import { grpcClient, request, sim, unary } from '../helpers/sim.js';
import https from 'node:https';
import type http from 'node:http';
import { recordingProxy } from '../helpers/recording-proxy.js';

function embed(
  port: number,
  ca: string,
  client: Issued,
  model: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/embed',
        method: 'POST',
        servername: 'localhost',
        ca,
        cert: client.certPem,
        key: client.keyPem,
        agent: false,
        headers: { 'content-type': 'application/json', 'x-model': model },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ inputs: ['hello'] }));
  });
}

describe('[[authz]]: named clients, model allow-lists, client labels and access log', () => {
  let pki: TestPki;
  let backend: RunningSim;
  let app: App;
  let search: Issued;
  let batch: Issued;
  let stranger: Issued;
  const logs: string[] = [];
  const seen: Array<{ url: string; xfcc: string | undefined }> = [];
  let recorder: { url: string; server: http.Server };

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini' });
    recorder = await recordingProxy(backend.url, seen);
    search = await pki.issue({ subject: 'CN=search-svc,O=Test Org', usage: 'client' });
    batch = await pki.issue({
      subject: 'CN=batch',
      sans: ['URI:spiffe://test.org/ns/jobs/sa/batch'],
      usage: 'client',
    });
    stranger = await pki.issue({ subject: 'CN=stranger,O=Test Org', usage: 'client' });
    const toml = path.join(pki.dir, 'authz.toml');
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
        '[backend]',
        'identity_header = "x-forwarded-client-cert"',
        '[tls]',
        `cert_path = "${pki.paths.cert}"`,
        `key_path = "${pki.paths.key}"`,
        `ca_path = "${pki.paths.ca}"`,
        '[[authz]]',
        'name = "search"',
        'subjects = ["O=Test Org,CN=search-svc"]',
        'models = ["mini"]',
        '[[authz]]',
        'name = "batch"',
        'sans = ["URI:spiffe://test.org/ns/jobs/sa/batch"]',
        '[[models]]',
        'name = "mini"',
        `backends = ["${backend.url}"]`,
        '[[models]]',
        'name = "big"',
        `backends = ["${recorder.url}"]`,
      ].join('\n'),
    );
    app = await startApp(loadConfig({ file: toml }), { log: (l) => logs.push(l) });
  });
  after(async () => {
    await app.close();
    recorder.server.close();
    await backend.close();
    pki.remove();
  });

  it('grants each named client its models, over HTTP and gRPC; an unnamed client gets none', async () => {
    const ca = pki.ca.certPem;
    const port = app.ports.http;
    assert.equal((await embed(port, ca, search, 'mini')).status, 200);
    const denied = await embed(port, ca, search, 'big');
    assert.equal(denied.status, 403, denied.body);
    assert.equal(JSON.parse(denied.body).code, 'ROUTER_ERR_FORBIDDEN');
    assert.match(
      JSON.parse(denied.body).error,
      /\[\[authz\]\] "search"\) may not call model "big" \(allowed: mini\)/,
    );
    assert.equal((await embed(port, ca, batch, 'big')).status, 200, 'an entry without models allows all');
    const nobody = await embed(port, ca, stranger, 'mini');
    assert.equal(nobody.status, 403);
    assert.match(JSON.parse(nobody.body).error, /CN=stranger.*matches no \[\[authz\]\] entry/);

    const creds = (c: Issued) =>
      grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(c.keyPem), Buffer.from(c.certPem));
    const call = async (c: Issued, model: string) => {
      const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `localhost:${app.ports.grpc}`, creds(c));
      try {
        await unary(client, 'Embed', { target: { model_id: model }, request: { inputs: 'x' } });
        return grpc.status.OK;
      } catch (e) {
        return (e as grpc.ServiceError).code;
      } finally {
        client.close();
      }
    };
    assert.equal(await call(search, 'mini'), grpc.status.OK);
    assert.equal(await call(search, 'big'), grpc.status.PERMISSION_DENIED);
    assert.equal(await call(batch, 'big'), grpc.status.OK);
    // tei.v1 routes by x-model metadata: the same check applies
    const teiClient = grpcClient('tei.v1.Embed', `localhost:${app.ports.grpc}`, creds(search));
    const md = new grpc.Metadata();
    md.set('x-model', 'big');
    await assert.rejects(unary(teiClient, 'Embed', { inputs: 'x' }, md), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.PERMISSION_DENIED);
      return true;
    });
    teiClient.close();
  });

  it('forwards the client identity to backends in backend.identity_header on forwarded calls', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: app.ports.http,
          path: '/tokenize',
          method: 'POST',
          servername: 'localhost',
          ca: pki.ca.certPem,
          cert: batch.certPem,
          key: batch.keyPem,
          agent: false,
          headers: {
            'content-type': 'application/json',
            'x-model': 'big',
            'x-forwarded-client-cert': 'forged',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ inputs: 'hello' }));
    });
    assert.equal(r, 200);
    const call = seen.find((x) => x.url === '/tokenize');
    assert.ok(call, JSON.stringify(seen));
    assert.match(
      call.xfcc ?? '',
      /^Hash=[0-9a-f]{64};Subject="CN=batch";URI=spiffe:\/\/test.org\/ns\/jobs\/sa\/batch;SNI=localhost$/,
    );
  });

  it('labels metrics with the client name (bounded: names, anonymous, other) and logs identity per request', async () => {
    const m = await request(`http://127.0.0.1:${app.ports.admin}/metrics`, 'GET');
    assert.match(
      m.body,
      /tei_router_requests_total\{protocol="http",route="POST \/embed",model="mini",code="200",client="search"\} 1/,
    );
    // refused by [[authz]] after the model was resolved: the model label says which one was asked for
    assert.match(
      m.body,
      /tei_router_requests_total\{protocol="http",route="POST \/embed",model="mini",code="403",client="other"\} 1/,
    );
    assert.match(
      m.body,
      /tei_router_requests_total\{protocol="grpc",route="\/tei_multiplexer.v1.TeiMultiplexer\/Embed",model="big",code="OK",client="batch"\} 1/,
    );
    const line = logs.find((l) => l.includes('"client":"batch"') && l.includes('"access":"http"'));
    assert.ok(line, logs.join('\n'));
    const entry = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    assert.equal(entry.spiffe_id, 'spiffe://test.org/ns/jobs/sa/batch');
    assert.equal(entry.subject, 'CN=batch');
    assert.equal(entry.tenant, 'localhost');
    assert.equal(entry.route, 'POST /embed');
  });
});

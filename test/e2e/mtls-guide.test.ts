/**
 * The tei-manager mTLS guide, section A, run literally against tei-router: its openssl commands (RSA 4096, the
 * client cert an X.509 v1 cert without extensions), its `[grpc.tls]` TOML, its environment variables, a gRPC
 * client with the client cert calling TeiMultiplexer/Embed by instance_name, reflection over mTLS (what grpcurl
 * needs), subject and SAN allow-lists, the troubleshooting failures, and plaintext without the TLS section.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { RunningSim } from '../../src/sim/index.js';
import { grpcClient, sim, unary } from '../helpers/sim.js';
import { startRouter, routerModel } from '../helpers/router.js';
import { grpcInfo, h1Get } from '../helpers/tls-clients.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The guide's step 1 as the README shows it (the block marked `example:openssl`), run as written by bash. */
const OPENSSL_STEPS = (() => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const m = /<!-- example:openssl -->\n```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README has no example:openssl block');
  return 'set -e\n' + m[1];
})();

/** Starts `tei-router serve` and resolves once every listener is up, with its ports and log. */
async function serve(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ child: ChildProcess; out: () => string; grpcPort: number; httpPort: number }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/tei-router.js'), 'serve', ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const check = () => (/admin .* on http/.test(out) ? resolve() : undefined);
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`tei-router serve exited ${code}: ${out}`)));
  });
  const grpcPort = Number(/gRPC .* on [\d.]+:(\d+)/.exec(out)![1]);
  const httpPort = Number(/HTTP on https?:\/\/[\d.]+:(\d+)/.exec(out)![1]);
  return { child, out: () => out, grpcPort, httpPort };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

describe('the tei-manager mTLS guide, section A, against tei-router', () => {
  let work: string;
  let certs: string;
  let backend: RunningSim;
  const read = (f: string) => fs.readFileSync(path.join(certs, f));
  const embedRequest = { target: { instance_name: 'my-instance' }, request: { inputs: 'test' } };
  const clientCreds = () =>
    grpc.credentials.createSsl(read('ca.pem'), read('client-key.pem'), read('client.pem'));
  const ports = ['--grpc-port', '0', '--http-port', '0', '--admin-port', '0', '--pool-threads', '1'];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-guide-'));
    certs = path.join(work, 'certs');
    const r = spawnSync('bash', ['-c', OPENSSL_STEPS], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `the guide's openssl steps failed: ${r.stderr}`);
    backend = await sim({ modelId: 'mini' });
  });
  after(async () => {
    await backend.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('step 1 gives the six files, the client cert being X.509 v1 without SAN or extendedKeyUsage', () => {
    for (const f of [
      'ca.pem',
      'ca-key.pem',
      'server.pem',
      'server-key.pem',
      'client.pem',
      'client-key.pem',
    ]) {
      assert.ok(fs.existsSync(path.join(certs, f)), `${f} missing`);
    }
    const client = new X509Certificate(read('client.pem'));
    assert.equal(client.subjectAltName, undefined);
    assert.equal(client.keyUsage, undefined);
    const text = spawnSync('openssl', ['x509', '-in', path.join(certs, 'client.pem'), '-noout', '-text'], {
      encoding: 'utf8',
    }).stdout;
    assert.match(text, /Version: 1 \(0x0\)/);
  });

  it("steps 2 and 5: the guide's [grpc.tls] TOML; a client with the client cert calls TeiMultiplexer/Embed by instance_name; reflection answers over mTLS", async () => {
    const toml = path.join(work, 'router.toml');
    fs.writeFileSync(
      toml,
      [
        '[grpc.tls]',
        'cert_path = "certs/server.pem"',
        'key_path = "certs/server-key.pem"',
        'ca_path = "certs/ca.pem"',
        'require_client_cert = true',
        '',
        '[[models]]',
        'name = "my-instance"',
        `backends = ["${backend.url}"]`,
        '',
      ].join('\n'),
    );
    const r = await serve(['--config', 'router.toml', ...ports], {}, work);
    try {
      assert.match(r.out(), /grpc listener: TLS, client certificates require/);
      const client = grpcClient(
        'tei_multiplexer.v1.TeiMultiplexer',
        `localhost:${r.grpcPort}`,
        clientCreds(),
      );
      const { res } = await unary<{ embeddings: number[] }>(client, 'Embed', embedRequest);
      assert.equal(res.embeddings.length, 384);
      client.close();
      // grpcurl lists services through reflection, over the same mTLS connection rules
      const refl = grpcClient(
        'grpc.reflection.v1.ServerReflection',
        `localhost:${r.grpcPort}`,
        clientCreds(),
      ) as unknown as Record<string, (md?: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>>;
      const call = refl.ServerReflectionInfo();
      const answer = new Promise<unknown>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      call.write({ list_services: '' });
      const listed = JSON.stringify(await answer);
      call.end();
      (refl as unknown as grpc.Client).close();
      assert.match(listed, /tei_multiplexer\.v1\.TeiMultiplexer/);
      // the guide's [grpc.tls] locks down the HTTP listener too: no plaintext side door
      const h = await h1Get({ port: r.httpPort, ca: read('ca.pem').toString() }, '/health', {
        certPem: read('client.pem').toString(),
        keyPem: read('client-key.pem').toString(),
      });
      assert.equal(h.kind === 'answered' && h.status, 200, JSON.stringify(h));
      const anon = await h1Get({ port: r.httpPort, ca: read('ca.pem').toString() }, '/health', null);
      assert.equal(anon.kind, 'refused', JSON.stringify(anon));
    } finally {
      await stop(r.child);
    }
  });

  it("step 3: the guide's environment variables (TEI_MANAGER_GRPC_TLS_*) work as aliases", async () => {
    const toml = path.join(work, 'models.toml');
    fs.writeFileSync(toml, `[[models]]\nname = "my-instance"\nbackends = ["${backend.url}"]\n`);
    const r = await serve(
      ['--config', 'models.toml', ...ports],
      {
        TEI_MANAGER_GRPC_TLS_CERT: 'certs/server.pem',
        TEI_MANAGER_GRPC_TLS_KEY: 'certs/server-key.pem',
        TEI_MANAGER_GRPC_TLS_CA: 'certs/ca.pem',
        TEI_MANAGER_GRPC_TLS_REQUIRE_CLIENT_CERT: 'true',
      },
      work,
    );
    try {
      const client = grpcClient(
        'tei_multiplexer.v1.TeiMultiplexer',
        `localhost:${r.grpcPort}`,
        clientCreds(),
      );
      const { res } = await unary<{ embeddings: number[] }>(client, 'Embed', embedRequest);
      assert.equal(res.embeddings.length, 384);
      client.close();
      // troubleshooting "no certificate provided": refused, and the router's log says so
      const anon = grpcClient(
        'tei_multiplexer.v1.TeiMultiplexer',
        `localhost:${r.grpcPort}`,
        grpc.credentials.createSsl(read('ca.pem')),
      );
      await assert.rejects(unary(anon, 'Embed', embedRequest), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.UNAVAILABLE);
        // the TLS alert, or the closed connection when the server's close wins the race; the log names the cause
        assert.match(e.details, /certificate required|Connection dropped|socket|closed|reset/, e.details);
        return true;
      });
      anon.close();
      for (let i = 0; i < 50 && !/no certificate provided/.test(r.out()); i++)
        await new Promise((s) => setTimeout(s, 20));
      assert.match(r.out(), /no certificate provided, and this listener requires one/);
    } finally {
      await stop(r.child);
    }
  });

  it('steps 7-9: subject allow-lists match exactly and order-insensitively; SAN lists; refusals say which rule failed', async () => {
    const cases: Array<{ subjects: string[]; sans: string[]; allowed: boolean }> = [
      { subjects: ['CN=tei-client,O=TEI Manager'], sans: [], allowed: true },
      { subjects: ['O=TEI Manager,CN=tei-client'], sans: [], allowed: true },
      { subjects: ['CN=tei-clien,O=TEI Manager'], sans: [], allowed: false },
      { subjects: ['CN=tei-client'], sans: [], allowed: false },
      { subjects: ['CN=authorized-client,O=My Org'], sans: ['DNS:client1.example.com'], allowed: false },
    ];
    for (const c of cases) {
      const { app } = await startRouter([routerModel([backend.url], { name: 'my-instance' })], {
        'grpc.tls.cert_path': path.join(certs, 'server.pem'),
        'grpc.tls.key_path': path.join(certs, 'server-key.pem'),
        'grpc.tls.ca_path': path.join(certs, 'ca.pem'),
        'grpc.tls.require_client_cert': true,
        ...(c.subjects.length ? { 'grpc.tls.allowed_subjects': c.subjects } : {}),
        ...(c.sans.length ? { 'grpc.tls.allowed_sans': c.sans } : {}),
      });
      try {
        const got = await grpcInfo({ port: app.ports.grpc, ca: read('ca.pem').toString() }, 'my-instance', {
          certPem: read('client.pem').toString(),
          keyPem: read('client-key.pem').toString(),
        });
        const where = JSON.stringify({ c, got });
        if (c.allowed) {
          assert.equal(got.kind === 'answered' && got.status, grpc.status.OK, where);
        } else {
          assert.equal(got.kind === 'answered' && got.status, grpc.status.PERMISSION_DENIED, where);
          assert.match(got.kind === 'answered' ? got.body : '', /CN=tei-client.*allowed_subjects/, where);
        }
      } finally {
        await app.close();
      }
    }
  });

  it('step 13 "SAN mismatch": dialling a name the server cert lacks fails on the client, naming the name', async () => {
    const { app } = await startRouter([routerModel([backend.url], { name: 'my-instance' })], {
      'grpc.tls.cert_path': path.join(certs, 'server.pem'),
      'grpc.tls.key_path': path.join(certs, 'server-key.pem'),
      'grpc.tls.ca_path': path.join(certs, 'ca.pem'),
      'grpc.tls.require_client_cert': true,
    });
    try {
      const got = await grpcInfo(
        { port: app.ports.grpc, ca: read('ca.pem').toString(), servername: 'tei-router.prod.internal' },
        'my-instance',
        { certPem: read('client.pem').toString(), keyPem: read('client-key.pem').toString() },
      );
      assert.equal(got.kind, 'refused', JSON.stringify(got));
      assert.match(got.kind === 'refused' ? got.error : '', /tei-router\.prod\.internal|altnames|match/i);
    } finally {
      await app.close();
    }
  });

  it('step 14: without the TLS section the router serves plaintext and says so at startup', async () => {
    const logs: string[] = [];
    const { app } = await startRouter([routerModel([backend.url], { name: 'my-instance' })], {}, (l) =>
      logs.push(l),
    );
    try {
      assert.ok(
        logs.some((l) => /no TLS configured: every listener serves plaintext/.test(l)),
        logs.join('\n'),
      );
      const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
      const { res } = await unary<{ embeddings: number[] }>(client, 'Embed', embedRequest);
      assert.equal(res.embeddings.length, 384);
      client.close();
    } finally {
      await app.close();
    }
  });
});

/**
 * `tei-router bench-client` as a user runs it (the built CLI, bin/tei-router.js) against routers started in this
 * process in front of a simulator: every mode, Arrow noop, the tei-manager mTLS guide's step 4 command, and the
 * three mTLS failures of its troubleshooting list, each recognisable on stderr with its fix.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../../src/app.js';
import type { KeyValue } from '../../src/config.js';
import type { RunningSim } from '../../src/sim/index.js';
import { makeTestPki } from '../helpers/pki.js';
import type { TestPki } from '../helpers/pki.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { sim } from '../helpers/sim.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/tei-router.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Report {
  mode: string;
  endpoint: string;
  instance: string | null;
  model: string | null;
  settings: Record<string, unknown>;
  texts: number;
  requests: number;
  successful: number;
  failed: number;
  errors_by_code: Record<string, number>;
  duration_s: number;
  throughput: { texts_per_s: number; requests_per_s: number };
  latency_ms: Record<'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'mean', number | null>;
}

/** Runs `tei-router bench-client <args>` (asynchronously: the routers answer from this process). */
function benchClient(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'bench-client', '--progress', 'never', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench-client ${args.join(' ')} ran over ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function report(r: Run): Report {
  try {
    return JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${r.status}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** The report of a run in which every request succeeded, checked for consistency. */
function succeeded(r: Run, texts: number, requests: number): Report {
  const where = `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.status, 0, where);
  const rep = report(r);
  assert.equal(rep.texts, texts, where);
  assert.equal(rep.requests, requests, where);
  assert.equal(rep.successful, requests, where);
  assert.equal(rep.failed, 0, where);
  assert.deepEqual(rep.errors_by_code, {}, where);
  assert.ok(rep.duration_s > 0, where);
  assert.ok(rep.throughput.texts_per_s > 0 && rep.throughput.requests_per_s > 0, where);
  const ratio = rep.throughput.texts_per_s / rep.throughput.requests_per_s;
  assert.ok(Math.abs(ratio - texts / requests) < 0.01 * (texts / requests), `texts per request: ${where}`);
  const l = rep.latency_ms;
  for (const k of ['p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const)
    assert.ok(typeof l[k] === 'number' && l[k] > 0, `latency ${k}: ${where}`);
  assert.ok(l.p50! <= l.p90! && l.p90! <= l.p99! && l.p99! <= l.p999! && l.p999! <= l.max!, where);
  assert.ok(l.mean! <= l.max!, where);
  return rep;
}

/** A run that failed at the connection: exit 1, the label counted, and the explanation printed once. */
function refused(r: Run, label: string, explanation: RegExp): Report {
  const where = `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.status, 1, where);
  const rep = report(r);
  assert.equal(rep.successful, 0, where);
  assert.equal(rep.failed, rep.requests, where);
  assert.deepEqual(Object.keys(rep.errors_by_code), [label], where);
  assert.equal(rep.errors_by_code[label], rep.failed, where);
  const lines = r.stderr.split('\n').filter((l) => explanation.test(l));
  assert.equal(lines.length, 1, `explained once: ${where}`);
  return rep;
}

describe('tei-router bench-client', () => {
  let pki: TestPki;
  let backend: RunningSim;
  let plain: App;
  let mtls: App;
  /** mTLS on 127.0.0.2, an address the server certificate does not name. */
  let elsewhere: App;
  let client: { cert: string; key: string };

  before(async () => {
    pki = await makeTestPki();
    backend = await sim({ modelId: 'mini', latency: { batchBaseMs: 0, perTokenUs: 0, padded: false } });
    const tls: Record<string, KeyValue> = {
      'tls.cert_path': pki.paths.cert,
      'tls.key_path': pki.paths.key,
      'tls.ca_path': pki.paths.ca,
      'tls.client_auth': 'require',
    };
    const model = routerModel([backend.url]);
    [{ app: plain }, { app: mtls }, { app: elsewhere }] = await Promise.all([
      startRouter([model]),
      startRouter([model], tls),
      startRouter([model], { ...tls, 'grpc.host': '127.0.0.2', 'http.host': '127.0.0.2' }),
    ]);
    const c = pki.clients['allowed subject']!;
    client = { cert: pki.write('client.pem', c.certPem), key: pki.write('client-key.pem', c.keyPem) };
  });
  after(async () => {
    await Promise.all([plain?.close(), mtls?.close(), elsewhere?.close()]);
    await backend?.close();
    pki?.remove();
  });

  const grpcUrl = () => `grpc://127.0.0.1:${plain.ports.grpc}`;
  const httpUrl = () => `http://127.0.0.1:${plain.ports.http}`;
  const small = ['-n', '200', '-b', '20', '--warmup', '2'];

  it('standard: one unary Embed per text, batch-size in flight', async () => {
    const rep = succeeded(await benchClient(['-e', grpcUrl(), '-i', 'mini', ...small]), 200, 200);
    assert.equal(rep.mode, 'standard');
    assert.equal(rep.endpoint, grpcUrl());
    assert.equal(rep.instance, 'mini');
    assert.equal(rep.model, null);
    assert.equal(rep.settings.concurrency, 20);
    assert.equal(rep.settings.texts_per_request, 1);
  });

  it('arrow: EmbedArrow batches (LZ4_FRAME and uncompressed), also with --noop', async () => {
    const lz4 = succeeded(
      await benchClient(['-e', grpcUrl(), '-i', 'mini', '-m', 'arrow', ...small]),
      200,
      10,
    );
    assert.equal(lz4.settings.compression, 'lz4_frame');
    assert.equal(lz4.settings.concurrency, 1);
    const raw = await benchClient([
      '-e',
      grpcUrl(),
      '--model',
      'mini',
      '--mode',
      'arrow',
      '--no-compression',
      ...small,
    ]);
    assert.equal(succeeded(raw, 200, 10).settings.compression, 'none');
    const noop = succeeded(
      await benchClient(['-e', grpcUrl(), '-i', 'mini', '-m', 'arrow', '--noop', '-c', '2', ...small]),
      200,
      10,
    );
    assert.equal(noop.settings.noop, true);
  });

  it('stream: one EmbedStream per batch', async () => {
    const rep = succeeded(
      await benchClient(['-e', grpcUrl(), '-m', 'mini', '--mode', 'stream', ...small]),
      200,
      10,
    );
    assert.equal(rep.model, 'mini');
  });

  it('http and openai: TEI /embed and /v1/embeddings batches (model optional)', async () => {
    const tei = succeeded(await benchClient(['-e', httpUrl(), '-m', 'http', ...small]), 200, 10);
    assert.equal(tei.model, null);
    const openai = succeeded(
      await benchClient(['-e', httpUrl(), '-m', 'openai', '--model', 'mini', ...small]),
      200,
      10,
    );
    assert.equal(openai.model, 'mini');
    assert.equal(openai.settings.protocol, 'HTTP');
  });

  it('--duration stops sending before the texts run out (exit 0, fewer requests)', async () => {
    const r = await benchClient([
      '-e',
      grpcUrl(),
      '-i',
      'mini',
      '-n',
      '50000',
      '-b',
      '4',
      '--duration',
      '0.5',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const rep = report(r);
    assert.ok(rep.requests > 0 && rep.requests < 50_000, JSON.stringify(rep));
    assert.equal(rep.texts, rep.requests);
    assert.ok(rep.duration_s < 5, JSON.stringify(rep));
    assert.match(r.stderr, /stopped after \d+ of 50000 requests \(--duration 0\.5 s\)/);
  });

  it("mTLS: the tei-manager guide's step 4 command works as written", async () => {
    const r = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.grpc}`,
      '-i',
      'mini',
      '--cert',
      client.cert,
      '--key',
      client.key,
      '--ca',
      pki.paths.ca,
      '--mode',
      'arrow',
      '--num-texts',
      '1000',
    ]);
    const rep = succeeded(r, 1000, 10);
    assert.equal(rep.settings.tls, true);
    assert.equal(rep.settings.server_name, 'localhost');
    // and over HTTPS
    succeeded(
      await benchClient([
        '-e',
        `https://localhost:${mtls.ports.http}`,
        '-m',
        'openai',
        '--cert',
        client.cert,
        '--key',
        client.key,
        '--ca',
        pki.paths.ca,
        ...small,
      ]),
      200,
      10,
    );
  });

  it('"certificate verify failed" without --ca: exit 1, says to pass --ca', async () => {
    const r = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.grpc}`,
      '-i',
      'mini',
      '--cert',
      client.cert,
      '--key',
      client.key,
      ...small,
    ]);
    refused(r, 'certificate verify failed', /certificate verify failed: .*pass --ca with the CA certificate/);
    assert.match(r.stderr, /self-signed certificate in certificate chain/);
  });

  it('"no certificate provided" without --cert/--key: exit 1, says to pass --cert and --key (gRPC and HTTP)', async () => {
    const grpcRun = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.grpc}`,
      '-i',
      'mini',
      '--ca',
      pki.paths.ca,
      ...small,
    ]);
    // classified "no certificate provided" whether the client read the TLS alert or only the closed connection
    refused(grpcRun, 'no certificate provided', /no certificate provided.*pass --cert and --key/);
    const httpRun = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.http}`,
      '-m',
      'http',
      '--ca',
      pki.paths.ca,
      ...small,
    ]);
    refused(httpRun, 'no certificate provided', /no certificate provided.*pass --cert and --key/);
  });

  it('"SAN mismatch" dialling 127.0.0.2 (not in the server certificate): exit 1, names the host; --insecure helps', async () => {
    const args = ['-i', 'mini', '--cert', client.cert, '--key', client.key, '--ca', pki.paths.ca, ...small];
    const r = await benchClient(['-e', `https://127.0.0.2:${elsewhere.ports.grpc}`, ...args]);
    refused(
      r,
      'SAN mismatch',
      /SAN mismatch: the server certificate does not cover 127\.0\.0\.2, the name dialled/,
    );
    assert.match(r.stderr, /subjectAltNames/);
    assert.match(r.stderr, /--insecure.*does not skip verification/);
    // tei-manager's --insecure checks the name localhost, which this certificate has
    const insecure = await benchClient([
      '-e',
      `https://127.0.0.2:${elsewhere.ports.grpc}`,
      '--insecure',
      ...args,
    ]);
    assert.equal(succeeded(insecure, 200, 200).settings.server_name, 'localhost');
    assert.doesNotMatch(insecure.stderr, /DEP0123/);
  });

  it('a client certificate the router rejects (expired): exit 1, "client certificate rejected"', async () => {
    const expired = pki.clients.expired!;
    const r = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.grpc}`,
      '-i',
      'mini',
      '--cert',
      pki.write('expired.pem', expired.certPem),
      '--key',
      pki.write('expired-key.pem', expired.keyPem),
      '--ca',
      pki.paths.ca,
      ...small,
    ]);
    refused(
      r,
      'client certificate rejected',
      /client certificate rejected by the server \(expired, revoked, unknown CA or wrong key usage\): check the router's log/,
    );
  });

  it('usage errors exit 2 with a stable code: unreadable --cert, a gRPC URL for an HTTP mode', async () => {
    const file = await benchClient([
      '-e',
      `https://localhost:${mtls.ports.grpc}`,
      '-i',
      'mini',
      '--cert',
      '/nonexistent/client.pem',
      '--key',
      client.key,
    ]);
    assert.equal(file.status, 2, file.stderr);
    assert.match(
      file.stderr,
      /--cert \/nonexistent\/client\.pem: cannot read the file \(ENOENT\) \[ROUTER_ERR_CLI_FILE\]/,
    );
    assert.equal(file.stdout, '');
    const scheme = await benchClient(['-e', grpcUrl(), '-m', 'http']);
    assert.equal(scheme.status, 2, scheme.stderr);
    assert.match(scheme.stderr, /--mode http speaks HTTP.*use http:\/\/.*\[ROUTER_ERR_CLI_BAD_VALUE\]/);
  });
});

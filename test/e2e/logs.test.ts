/**
 * Structured logs: pino JSON lines, the access line per request with its request id (the client's x-request-id,
 * echoed in the response), and the W3C traceparent passed to backends on forwarded and dense calls.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type http from 'node:http';
import type { App } from '../../src/app.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { jsonLogger } from '../../src/log.js';
import { kernelPaths } from '../../src/native/index.js';
import type { RunningSim } from '../../src/sim/index.js';
import { recordingProxy } from '../helpers/recording-proxy.js';
import { routerModel } from '../helpers/router.js';
import { postJson, sim } from '../helpers/sim.js';

describe('structured logs, request ids and trace context', () => {
  let backend: RunningSim;
  let recorder: { url: string; server: http.Server };
  const seen: Array<{ url: string; xfcc: string | undefined; traceparent?: string }> = [];
  let app: App;
  let base: string;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    backend = await sim({ modelId: 'mini' });
    recorder = await recordingProxy(backend.url, seen);
    const out = new PassThrough();
    let buf = '';
    out.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    const config = loadConfig({
      flags: { 'http.port': 0, 'grpc.port': 0, 'admin.port': 0, 'pool.threads': 1, 'log.access': true },
    });
    config.models = [routerModel([recorder.url])];
    config.defaultModel = 'mini';
    app = await startApp(config, { log: jsonLogger('info', out) });
    base = `http://127.0.0.1:${app.ports.http}`;
  });
  after(async () => {
    await app.close();
    recorder.server.close();
    await backend.close();
  });

  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('says at startup which path, native or JS, each native operation uses', () => {
    const line = lines.find((l) => /native addon/.test(String(l.msg)));
    assert.ok(line, 'a startup line about the native addon');
    const msg = String(line.msg);
    for (const [op, path] of Object.entries(kernelPaths))
      assert.match(msg, new RegExp(`\\b${op}=${path}\\b`));
    if (process.env.TEI_ROUTER_NATIVE === '0') {
      assert.match(msg, /not in use \(disabled by TEI_ROUTER_NATIVE=0\)/);
      assert.ok(
        Object.values(kernelPaths).every((p) => p === 'js'),
        'every operation on the JS path',
      );
    } else if (process.env.TEI_ROUTER_REQUIRE_NATIVE === '1') {
      assert.match(msg, /native addon loaded/);
    }
  });

  it('writes pino JSON lines; each request has an access line with its request id, echoed to the client', async () => {
    assert.ok(
      lines.some((l) => /HTTP on http/.test(String(l.msg))),
      'startup lines are JSON too',
    );
    const r = await postJson(
      base,
      '/embed',
      { inputs: ['hello'] },
      { 'x-request-id': 'req-123', traceparent: TP },
    );
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-request-id'], 'req-123');
    const gen = await postJson(base, '/embed', { inputs: ['no id'] });
    assert.match(String(gen.headers['x-request-id']), /^[0-9a-f]{16}$/);
    await new Promise((s) => setTimeout(s, 50));
    const access = lines.find((l) => l.msg === 'access' && l.request_id === 'req-123');
    assert.ok(access, JSON.stringify(lines.slice(-5)));
    assert.equal(access.level, 30);
    assert.equal(access.name, 'tei-router');
    assert.equal(access.access, 'http');
    assert.equal(access.route, 'POST /embed');
    assert.equal(access.model, 'mini');
    assert.equal(access.status, 200);
    assert.equal(access.texts, 1);
    assert.ok(Number(access.tokens) > 0, 'tokens counted');
    assert.equal(access.client, 'anonymous');
    assert.ok(lines.some((l) => l.msg === 'access' && l.request_id === gen.headers['x-request-id']));
  });

  it('passes the traceparent to the backend on dense batches and forwarded calls; ignores a malformed one', async () => {
    seen.length = 0;
    await postJson(base, '/embed', { inputs: ['traced'] }, { traceparent: TP });
    await postJson(base, '/tokenize', { inputs: 'traced' }, { traceparent: TP });
    await postJson(base, '/tokenize', { inputs: 'untraced' }, { traceparent: 'not-a-trace' });
    assert.equal(seen.find((s) => s.url === '/embed')?.traceparent, TP);
    const tok = seen.filter((s) => s.url === '/tokenize');
    assert.deepEqual(
      tok.map((s) => s.traceparent),
      [TP, undefined],
    );
  });
});

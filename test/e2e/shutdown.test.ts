/**
 * Graceful shutdown of `tei-router serve`: on SIGTERM it stops accepting, answers every request it had accepted
 * (HTTP/1.1, and gRPC calls in flight), reports not ready meanwhile, and exits 0.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { grpcClient, postJson, sim, unary } from '../helpers/sim.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('graceful shutdown', () => {
  it('SIGTERM under load: every accepted request is answered, new connections are refused, exit 0', async () => {
    // each backend batch takes 400 ms, so requests are in flight when the signal arrives
    const backend = await sim({
      modelId: 'mini',
      latency: { batchBaseMs: 400, perTokenUs: 0, padded: false },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-shutdown-'));
    const toml = path.join(dir, 'router.toml');
    fs.writeFileSync(
      toml,
      `[http]\nport = 0\n[grpc]\nport = 0\n[admin]\nport = 0\n[pool]\nthreads = 1\n[log]\nformat = "text"\n` +
        `[[models]]\nname = "mini"\nbackends = ["${backend.url}"]\n`,
    );
    const child = spawn(process.execPath, [path.join(root, 'bin/tei-router.js'), 'serve', '--config', toml], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => (/admin .* on http/.test(out) ? resolve() : undefined));
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const base = /HTTP on (http:\/\/[\d.]+:\d+)/.exec(out)![1];
      const grpcAddr = /gRPC .* on ([\d.]+:\d+)/.exec(out)![1];
      const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', grpcAddr);
      // warm the gRPC channel so that its calls are accepted before the signal
      await unary(client, 'Info', { target: { model_id: 'mini' } });
      const http = Array.from({ length: 8 }, (_, i) =>
        postJson(base, '/embed', { inputs: [`in flight ${i}`] }),
      );
      const grpcCalls = Array.from({ length: 4 }, (_, i) =>
        unary<{ embeddings: number[] }>(client, 'Embed', {
          target: { model_id: 'mini' },
          request: { inputs: `g${i}` },
        }),
      );
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      const answers = await Promise.all(http);
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(8).fill(200),
      );
      const g = await Promise.all(grpcCalls);
      assert.ok(
        g.every((r) => r.res.embeddings.length === 384),
        'every gRPC call in flight answered',
      );
      client.close();
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, out);
      assert.match(out, /draining: no new connections/);
      assert.match(out, /drained: every request in flight was answered/);
      await assert.rejects(postJson(base, '/embed', { inputs: ['too late'] }), /ECONNREFUSED/);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await backend.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

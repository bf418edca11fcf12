/**
 * Config reload of `tei-router serve` on SIGHUP: models and backends added, changed and removed without a restart
 * and without failing the requests in flight; an invalid file is refused with a logged error and the running config
 * stays; sections that need a restart are named.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { postJson, sim } from '../helpers/sim.js';
import { until } from '../helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const toml = (models: Record<string, string[]>, extra = '') =>
  `[http]\nport = 0\n[grpc]\nport = 0\n[admin]\nport = 0\n[pool]\nthreads = 1\n[log]\nformat = "text"\n${extra}` +
  Object.entries(models)
    .map(([name, backends]) => `[[models]]\nname = "${name}"\nbackends = ${JSON.stringify(backends)}\n`)
    .join('');

describe('config reload (SIGHUP)', () => {
  it('applies model and backend changes in place; refuses an invalid file; names what needs a restart', async () => {
    const latency = { batchBaseMs: 30, perTokenUs: 0, padded: false };
    const first = await sim({ modelId: 'first', latency });
    const second = await sim({ modelId: 'second', latency });
    const batches = { first: 0, second: 0 };
    first.engine.onBatch(() => batches.first++);
    second.engine.onBatch(() => batches.second++);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-reload-'));
    const file = path.join(dir, 'router.toml');
    fs.writeFileSync(file, toml({ a: [first.url] }));
    const child = spawn(process.execPath, [path.join(root, 'bin/tei-router.js'), 'serve', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const reloads = () => out.split('\n').filter((l) => /config reload/.test(l)).length;
    const hup = async () => {
      const n = reloads();
      child.kill('SIGHUP');
      assert.ok(await until(() => reloads() > n, 5000), `the reload is logged:\n${out}`);
    };
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => (/admin .* on http/.test(out) ? resolve() : undefined));
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const base = /HTTP on (http:\/\/[\d.]+:\d+)/.exec(out)![1];
      const embed = (model: string, n = 1) =>
        postJson(
          base,
          '/embed',
          { inputs: Array.from({ length: n }, (_, i) => `text ${i}`) },
          { 'x-model': model },
        );
      assert.equal((await embed('a')).status, 200);
      assert.equal((await embed('b')).status, 404, 'model b is not configured yet');

      // under load: model a moves from the first backend to the second, and model b appears
      const statuses: number[] = [];
      let stop = false;
      const deadline = Date.now() + 20_000;
      const load = Promise.all(
        [0, 1, 2].map(async (c) => {
          for (let i = 0; i < 400 && !stop && Date.now() < deadline; i++) {
            statuses.push((await embed('a', c === 0 ? 12 : 1)).status);
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      fs.writeFileSync(file, toml({ a: [second.url], b: [first.url] }));
      await hup();
      assert.ok(
        await until(async () => (await embed('b')).status === 200, 5000),
        `model b is served after the reload:\n${out}`,
      );
      batches.second = 0;
      assert.ok(await until(() => batches.second > 0, 5000), 'model a now reaches the second backend');
      const n = statuses.length;
      await until(() => statuses.length >= n + 20, 10_000); // the load goes on after the reload
      stop = true;
      await load;
      assert.ok(statuses.length >= 20, `the load ran (${statuses.length} requests)`);
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        'no request failed across the reload',
      );
      assert.match(out, /config reloaded: 2 models, 2 backends/);
      assert.match(out, /backend http:\/\/127\.0\.0\.1:\d+ \(a\) removed: removed from the config/);

      // an invalid file: refused, logged, and the running config keeps serving
      fs.writeFileSync(file, toml({ a: ['ftp://127.0.0.1:1'] }));
      await hup();
      assert.match(out, /config reload failed, the running config stays: .*ftp/);
      assert.equal((await embed('a')).status, 200);
      assert.equal((await embed('b')).status, 200);

      // a listener change is not applied in place: the log says a restart is needed
      fs.writeFileSync(
        file,
        toml({ a: [second.url] }, '[batching]\ncoalesce_ms = 1\n[shutdown]\ndrain_timeout_ms = 5\n'),
      );
      await hup();
      assert.match(
        out,
        /config reloaded: 1 models, 1 backends; changes to shutdown take effect after a restart/,
      );
      assert.equal((await embed('b')).status, 404, 'model b is gone again');
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await first.close();
      await second.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

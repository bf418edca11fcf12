/**
 * `npm run bench` (`-- --quick` for the short form): starts `tei-router sim` backends, the router and, when nginx is
 * installed, nginx as a plain proxy to the same backends; measures every scenario of bench/e2e/scenarios.ts side by
 * side; writes bench/results/<time>/{results.json,summary.md,latency.svg} (and bench/results/latest.*); prints the
 * headline table last. Micro-benchmarks: `npm run bench:micro`.
 */
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeImpl } from '../src/native/index.js';
import { nginxBinary, startNginx, startRouter, startSim } from './e2e/procs.js';
import type { Proc } from './e2e/procs.js';
import { markdown, svg } from './e2e/report.js';
import type { RunInfo } from './e2e/report.js';
import {
  FULL,
  QUICK,
  bulkScenarios,
  cpuScenarios,
  latencyScenarios,
  memoryScenario,
} from './e2e/scenarios.js';
import type { Endpoints, Measured } from './e2e/scenarios.js';

const quick = process.argv.includes('--quick');
const size = quick ? QUICK : FULL;
const here = path.dirname(fileURLToPath(import.meta.url));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const procs: Proc[] = [];
  try {
    log('starting backends (tei-router sim), the router' + (nginxBinary() ? ' and nginx' : ''));
    const grpcSim = await startSim({ protocol: 'grpc', modelId: 'bench-384', dim: 384 });
    const httpSim = await startSim({ protocol: 'http', modelId: 'bench-384', dim: 384 });
    const bulkGrpc = await startSim({ protocol: 'grpc', modelId: 'bench-768', dim: 768 });
    const bulkHttp = await startSim({ protocol: 'http', modelId: 'bench-768', dim: 768 });
    procs.push(grpcSim, httpSim, bulkGrpc, bulkHttp);
    const router = await startRouter([
      { name: 'grpc-model', backends: [grpcSim.url] },
      { name: 'http-model', backends: [httpSim.url] },
      { name: 'bulk-grpc', backends: [bulkGrpc.url] },
      { name: 'bulk-http', backends: [bulkHttp.url] },
    ]);
    procs.push(router);
    const nginxBin = nginxBinary();
    const nginx = nginxBin ? await startNginx(nginxBin, grpcSim.url, httpSim.url) : undefined;
    if (nginx) procs.push(nginx);
    const ep: Endpoints = {
      direct: { grpc: grpcSim.url.replace('grpc://', ''), http: httpSim.url },
      router: {
        grpc: `127.0.0.1:${router.ports.grpc}`,
        http: `http://127.0.0.1:${router.ports.http}`,
        pid: router.pid,
      },
      ...(nginx
        ? {
            nginx: {
              grpc: `127.0.0.1:${nginx.grpcPort}`,
              http: `http://127.0.0.1:${nginx.httpPort}`,
              pid: nginx.pid,
            },
          }
        : {}),
    };
    const results: Measured[] = [
      ...(await latencyScenarios(ep, size, log)),
      ...(await cpuScenarios(ep, size, log)),
      ...(await bulkScenarios(ep, size, log)),
      ...(await memoryScenario(ep, size, log)),
    ];
    const info: RunInfo = {
      startedAt: new Date(started).toISOString(),
      quick,
      node: process.version,
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      nginx: nginxBin ? nginx?.out().trim() || 'installed' : null,
      native: nativeImpl !== null,
    };
    const dir = path.join(here, 'results', info.startedAt.replace(/[:.]/g, '-'));
    mkdirSync(dir, { recursive: true });
    const md = markdown(info, results);
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ info, results }, null, 2) + '\n');
    writeFileSync(path.join(dir, 'summary.md'), md + '\n');
    writeFileSync(path.join(dir, 'latency.svg'), svg(results) + '\n');
    for (const f of ['results.json', 'summary.md', 'latency.svg']) {
      copyFileSync(path.join(dir, f), path.join(here, 'results', `latest.${f.split('.').pop()}`));
    }
    log(
      `wrote ${path.relative(process.cwd(), dir)}/{results.json,summary.md,latency.svg} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    process.stdout.write(md + '\n');
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

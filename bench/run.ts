/**
 * `npm run bench` (`-- --quick` for the short form): starts `tei-router sim` backends, the router and, when nginx is
 * installed, nginx as a plain proxy to the same backends; measures every scenario of bench/e2e/scenarios.ts side by
 * side, then the fleet scenario (bench/e2e/fleet.ts: balancing policies and nginx round robin over 4 replicas with
 * simulated GPU time, in processes of its own); writes bench/results/<time>/{results.json,summary.md,latency.svg}
 * (and bench/results/latest.*); prints the headline tables last. `-- --only fleet` (or a comma-separated list of
 * latency, cpu, bulk, memory, fleet) runs only those scenarios; the default runs all. Micro-benchmarks:
 * `npm run bench:micro`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeImpl } from '../src/native/index.js';
import { nginxBinary, startNginx, startRouter, startSim } from './e2e/procs.js';
import type { Proc } from './e2e/procs.js';
import { FLEET_FULL, FLEET_QUICK, fleetScenario } from './e2e/fleet.js';
import type { FleetResult } from './e2e/fleet.js';
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
const GROUPS = ['latency', 'cpu', 'bulk', 'memory', 'fleet'] as const;
const only = (() => {
  const i = process.argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (i < 0) return new Set<string>(GROUPS);
  const arg = process.argv[i];
  const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (process.argv[i + 1] ?? '');
  const names = raw.split(',').filter(Boolean);
  const bad = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length) {
    throw new Error(
      `--only: expected a comma-separated list of ${GROUPS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return new Set(names);
})();
const here = path.dirname(fileURLToPath(import.meta.url));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const procs: Proc[] = [];
  try {
    const results: Measured[] = [];
    if (['latency', 'cpu', 'bulk', 'memory'].some((g) => only.has(g))) {
      log('starting backends (tei-router sim), the router' + (nginxBinary() ? ' and nginx' : ''));
      const grpcSim = await startSim({ protocol: 'grpc', modelId: 'bench-384', dim: 384 });
      const httpSim = await startSim({ protocol: 'http', modelId: 'bench-384', dim: 384 });
      const bulkGrpc = await startSim({ protocol: 'grpc', modelId: 'bench-768', dim: 768 });
      const bulkHttp = await startSim({ protocol: 'http', modelId: 'bench-768', dim: 768 });
      procs.push(grpcSim, httpSim, bulkGrpc, bulkHttp);
      const models = [
        { name: 'grpc-model', backends: [grpcSim.url] },
        { name: 'http-model', backends: [httpSim.url] },
        { name: 'bulk-grpc', backends: [bulkGrpc.url] },
        { name: 'bulk-http', backends: [bulkHttp.url] },
      ];
      const router = await startRouter(models);
      procs.push(router);
      // the bulk scenarios compare the router with the native addon and one on the pure-JS path, side by side
      const routerJs =
        only.has('bulk') && nativeImpl !== null
          ? await startRouter(models, { env: { TEI_ROUTER_NATIVE: '0' } })
          : undefined;
      if (routerJs) procs.push(routerJs);
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
        ...(routerJs ? { routerJs: { grpc: `127.0.0.1:${routerJs.ports.grpc}`, pid: routerJs.pid } } : {}),
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
      if (only.has('latency')) results.push(...(await latencyScenarios(ep, size, log)));
      if (only.has('cpu')) results.push(...(await cpuScenarios(ep, size, log)));
      if (only.has('bulk')) results.push(...(await bulkScenarios(ep, size, log)));
      if (only.has('memory')) results.push(...(await memoryScenario(ep, size, log)));
    }
    let fleet: FleetResult | undefined;
    if (only.has('fleet')) {
      // the fleet scenario starts and stops its own processes: stop the others first so they cost nothing
      for (const p of procs.splice(0).reverse()) await p.stop();
      fleet = await fleetScenario(quick ? FLEET_QUICK : FLEET_FULL, log);
    }
    const info: RunInfo = {
      startedAt: new Date(started).toISOString(),
      quick,
      node: process.version,
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      nginx: nginxVersion(),
      native: nativeImpl !== null,
    };
    const dir = path.join(here, 'results', info.startedAt.replace(/[:.]/g, '-'));
    mkdirSync(dir, { recursive: true });
    const md = markdown(info, results, fleet);
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ info, results, fleet }, null, 2) + '\n');
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

/** `nginx -v`'s answer (it prints to stderr), or null when nginx is not installed. */
function nginxVersion(): string | null {
  const bin = nginxBinary();
  if (!bin) return null;
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).trim().replace(/^nginx version: nginx\//, '') || 'installed';
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

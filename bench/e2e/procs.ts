/**
 * The processes a bench run starts and stops by pid: `tei-router sim` backends, the router (`tei-router serve`
 * with a generated config), and nginx when the machine has it. Each is its own process so that its CPU time can be
 * read on its own.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/tei-router.js');

export interface Proc {
  child: ChildProcess;
  pid: number;
  out: () => string;
  stop(): Promise<void>;
}

async function start(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${path.basename(cmd)} did not start within 60 s: ${out}`)),
      60_000,
    );
    const check = () => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    out: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface SimSpec {
  protocol: 'http' | 'grpc';
  modelId: string;
  dim: number;
  /** GPU latency model; default none (0 ms, 0 µs), so that what is measured is transport and routing. */
  latency?: { batchBaseMs: number; perTokenUs: number; padded: boolean };
  /** TEI limits; defaults far above any bench request. */
  maxClientBatchSize?: number;
  maxBatchTokens?: number;
  maxConcurrentRequests?: number;
}

/** A simulated TEI backend; by default with no simulated GPU time and limits no bench request reaches. */
export async function startSim(spec: SimSpec): Promise<Proc & { url: string }> {
  const port = await freePort();
  const latency = spec.latency ?? { batchBaseMs: 0, perTokenUs: 0, padded: false };
  const p = await start(
    process.execPath,
    [
      bin,
      'sim',
      '--port',
      String(port),
      '--protocol',
      spec.protocol,
      '--model-id',
      spec.modelId,
      '--dim',
      String(spec.dim),
      '--batch-base-ms',
      String(latency.batchBaseMs),
      '--per-token-us',
      String(latency.perTokenUs),
      `--padded=${latency.padded}`,
      '--max-client-batch-size',
      String(spec.maxClientBatchSize ?? 2048),
      '--max-batch-tokens',
      String(spec.maxBatchTokens ?? 1_000_000),
      '--max-concurrent-requests',
      String(spec.maxConcurrentRequests ?? 1_000_000),
    ],
    new RegExp(`:${port}`),
  );
  return { ...p, url: `${spec.protocol}://127.0.0.1:${port}` };
}

export interface RouterPorts {
  http: number;
  grpc: number;
  admin: number;
}

/** `tei-router serve` with one model per backend list (and that model's balancing policy when given). */
export async function startRouter(
  models: Array<{ name: string; backends: string[]; balancing?: string }>,
  opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<Proc & { ports: RouterPorts; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-bench-'));
  const ports = { http: await freePort(), grpc: await freePort(), admin: await freePort() };
  const toml = [
    `[http]\nport = ${ports.http}`,
    `[grpc]\nport = ${ports.grpc}`,
    `[admin]\nport = ${ports.admin}`,
    ...models.map(
      (m) =>
        `[[models]]\nname = "${m.name}"\nbackends = [${m.backends.map((b) => `"${b}"`).join(', ')}]` +
        (m.balancing ? `\nbalancing = "${m.balancing}"` : ''),
    ),
  ].join('\n');
  writeFileSync(path.join(dir, 'router.toml'), toml + '\n');
  const p = await start(
    process.execPath,
    [...(opts.nodeArgs ?? []), bin, 'serve', '--config', path.join(dir, 'router.toml')],
    /admin .* on http/,
    opts.env,
  ).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    ...p,
    ports,
    dir,
    stop: async () => {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function nginxBinary(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    const r = spawnSync(candidate, ['-v'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** nginx as a plain proxy: HTTP/2 gRPC to `grpcBackend`, HTTP/1.1 keep-alive to `httpBackend`. */
export async function startNginx(
  binary: string,
  grpcBackend: string,
  httpBackend: string,
): Promise<Proc & { grpcPort: number; httpPort: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-bench-nginx-'));
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const hostPort = (u: string) => new URL(u.replace(/^grpc/, 'http')).host;
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream grpc_backend { server ${hostPort(grpcBackend)}; keepalive 64; }
  upstream http_backend { server ${hostPort(httpBackend)}; keepalive 64; }
  server {
    listen 127.0.0.1:${grpcPort} http2;
    location / { grpc_pass grpc://grpc_backend; }
  }
  server {
    listen 127.0.0.1:${httpPort};
    location / {
      proxy_pass http://http_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const p = await launchNginx(binary, dir, conf, httpPort);
  return { ...p, grpcPort, httpPort };
}

/**
 * nginx as an HTTP/1.1 load balancer: one upstream of `httpBackends`, round robin (nginx's default), keep-alive
 * connections to the backends; one worker process.
 */
export async function startNginxUpstream(
  binary: string,
  httpBackends: string[],
): Promise<Proc & { httpPort: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-bench-nginx-'));
  const httpPort = await freePort();
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  upstream fleet {
${httpBackends.map((b) => `    server ${new URL(b).host};`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${httpPort};
    location / {
      proxy_pass http://fleet;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 64 16k;
      proxy_busy_buffers_size 64k;
      proxy_max_temp_file_size 0;
      proxy_read_timeout 120s;
    }
  }
}
`;
  const p = await launchNginx(binary, dir, conf, httpPort);
  return { ...p, httpPort };
}

/** Writes `conf` into `dir`, starts nginx on it, and waits until it accepts on `port`. */
async function launchNginx(binary: string, dir: string, conf: string, port: number): Promise<Proc> {
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  // started as root, nginx's workers run as nobody: they must reach the temp folders inside `dir`
  chmodSync(dir, 0o755);
  const child = spawn(binary, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  // nginx prints nothing when it starts: wait for its port
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid!,
    out: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

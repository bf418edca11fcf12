/**
 * The README's examples, run as written against `tei-router serve` with no config (what `npm start` runs): every
 * code block marked `<!-- example:sh -->` or `<!-- example:mjs -->`. The only edit is the port numbers (8080, 9001,
 * 9000 become free ones), so the test does not depend on those ports being free on the machine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

interface Example {
  kind: 'sh' | 'mjs' | 'mtls' | 'mtls-client';
  code: string;
  line: number;
}

function examples(): Example[] {
  const out: Example[] = [];
  const re = /<!-- example:(sh|mjs|mtls|mtls-client) -->\n```\w*\n([\s\S]*?)```/g;
  for (let m = re.exec(readme); m; m = re.exec(readme)) {
    out.push({
      kind: m[1] as Example['kind'],
      code: m[2],
      line: readme.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The shell commands of a block: continuation lines joined, comments and blank lines dropped. */
function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('README examples against `tei-router serve` with no config', () => {
  let child: ChildProcess;
  let ports: Record<string, number>;
  let scratch: string;
  const found = examples();

  /** Rewrites the documented default ports to this run's ports. */
  const localize = (code: string) => code.replace(/\b(8080|9001|9000)\b/g, (p) => String(ports[p] ?? p));

  before(async () => {
    ports = { '8080': await freePort(), '9001': await freePort(), '9000': await freePort() };
    child = spawn(
      process.execPath,
      [
        path.join(root, 'bin/tei-router.js'),
        'serve',
        '--http-port',
        String(ports['8080']),
        '--grpc-port',
        String(ports['9001']),
        '--admin-port',
        String(ports['9000']),
        '--pool-threads',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: string) => {
        out += d;
        if (/admin .* on http:/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`tei-router serve exited ${code}: ${out}`)));
    });
    scratch = fs.mkdtempSync(path.join(root, 'node_modules', '.readme-examples-'));
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('marks the examples the README promises (curl, OpenAI SDK, gRPC, Arrow round trip, output_dtype, mTLS quick start)', () => {
    assert.deepEqual(
      found.map((e) => e.kind),
      ['sh', 'mjs', 'mjs', 'mjs', 'sh', 'mtls', 'mtls-client'],
      'README example markers moved or were removed',
    );
  });

  it('every curl command succeeds and answers JSON; /embed gives two 384-value vectors', () => {
    const sh = found.filter((e) => e.kind === 'sh');
    assert.ok(sh.length > 0, 'no sh example found');
    for (const ex of sh) {
      for (const cmd of commands(ex.code)) {
        const r = spawnSync('bash', ['-c', localize(cmd)], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, `README line ${ex.line}: \`${cmd}\` failed: ${r.stderr}`);
        const body = JSON.parse(r.stdout) as unknown;
        if (/\/embed'? /.test(cmd)) {
          const rows = body as number[][];
          assert.equal(rows.length, 2, cmd);
          assert.deepEqual(
            rows.map((v) => v.length),
            [384, 384],
            cmd,
          );
        }
        if (/output_dtype.*binary/.test(cmd)) {
          const { data } = body as { data: Array<{ embedding: number[] }> };
          assert.equal(data[0].embedding.length, 48, `${cmd}: 384 bits in 48 bytes`);
          assert.ok(
            data[0].embedding.every((b) => Number.isInteger(b) && b >= 0 && b <= 255),
            cmd,
          );
        }
      }
    }
  });

  for (const [i, ex] of found.entries()) {
    if (ex.kind !== 'mjs') continue;
    it(`the JavaScript example at README line ${ex.line} prints what its comment says`, () => {
      const expected = /console\.log\(.*\);\s*\/\/ (.+)$/m.exec(ex.code)?.[1];
      assert.ok(expected, `README line ${ex.line}: the example has no "console.log(...); // expected" line`);
      const file = path.join(scratch, `example-${i}.mjs`);
      fs.writeFileSync(file, localize(ex.code));
      const r = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `README line ${ex.line}: exited ${r.status}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), expected.trim(), `README line ${ex.line}`);
    });
  }
});

describe('README mTLS quick start, run as written in a fresh directory', () => {
  const bin = `${process.execPath} ${path.join(root, 'bin/tei-router.js')}`;
  /** `npx tei-router` and `npm start` are what this repository's bin runs; ports come from the environment. */
  const local = (cmd: string) => cmd.replace(/npx tei-router/g, bin).replace(/npm start/g, `${bin} serve`);
  let dir: string;
  let child: ChildProcess | undefined;
  const ports: Record<string, number> = {};

  before(async () => {
    dir = fs.mkdtempSync(path.join(root, 'node_modules', '.readme-mtls-'));
    for (const p of ['8080', '9001', '9000']) ports[p] = await freePort();
  });
  after(async () => {
    if (child && child.exitCode === null && child.pid !== undefined) {
      process.kill(-child.pid, 'SIGTERM');
      await once(child, 'exit');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('certs init, the router with the three TLS variables, curl with the client certificate', async () => {
    const server = examples().find((e) => e.kind === 'mtls');
    const client = examples().find((e) => e.kind === 'mtls-client');
    assert.ok(server && client, 'the README has no mtls / mtls-client example');
    const [init, start] = commands(server.code);
    const made = spawnSync('bash', ['-c', local(init)], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(made.status, 0, `\`${init}\` failed: ${made.stderr}`);
    // its own process group, so that after() stops the shell and the router it started together
    child = spawn('bash', ['-c', local(start)], {
      cwd: dir,
      detached: true,
      env: {
        ...process.env,
        TEI_ROUTER_HTTP_PORT: String(ports['8080']),
        TEI_ROUTER_GRPC_PORT: String(ports['9001']),
        TEI_ROUTER_ADMIN_PORT: String(ports['9000']),
        TEI_ROUTER_POOL_THREADS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', () => (/admin .* on http/.test(out) ? resolve() : undefined));
      child!.once('exit', (code) => reject(new Error(`the router exited ${code}: ${out}`)));
    });
    assert.match(out, /http listener: TLS, client certificates require/);
    const [curl] = commands(client.code);
    const withPort = curl.replace('localhost:8080', `localhost:${ports['8080']}`);
    const r = spawnSync('bash', ['-c', withPort], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `\`${curl}\` failed: ${r.stderr}`);
    const rows = JSON.parse(r.stdout) as number[][];
    assert.equal(rows.length, 1);
    assert.equal(rows[0].length, 384);
    // without the client certificate: the handshake fails, as the README says
    const anon = withPort.replace(/--cert \S+ --key \S+ /, '').replace('curl -sf', 'curl -sS');
    const refused = spawnSync('bash', ['-c', anon], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(refused.status, 0, anon);
    // curl usually prints the TLS alert ("certificate required"); when the server's close wins the race it reports
    // the closed connection instead. The router's log names the cause either way.
    assert.match(refused.stderr, /certificate required|getpeername|reset|closed|SSL/, refused.stderr);
    for (let i = 0; i < 50 && !/no certificate provided/.test(out); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(out, /refused the handshake of .*: no certificate provided/);
  });
});

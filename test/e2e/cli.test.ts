/** The `tei-router` command as a user runs it: help texts, flag errors, and `sim` serving over a real socket. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { postJson, tokenizerFixture } from '../helpers/sim.js';
import { simCommand } from '../../src/cli/sim.js';
import { KEYS, envName, flagName } from '../../src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/tei-router.js');

/** Starts `tei-router <args>` and resolves with the child and the first URL its stdout matches. */
async function startCommand(
  args: string[],
  pattern: RegExp,
): Promise<{ child: ChildProcess; url: string; out: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: string) => {
        out += d;
        const m = pattern.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`tei-router ${args[0]} exited ${code}: ${out}`)));
    });
    return { child, url, out };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('tei-router CLI', () => {
  it('--help lists every command', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const c of ['serve', 'sim', 'certs', 'bench-client'])
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  });

  it('sim --help lists every flag with its default', () => {
    const r = run(['sim', '--help']);
    assert.equal(r.status, 0);
    for (const f of simCommand.flags) {
      assert.ok(r.stdout.includes(`--${f.name}`), `missing --${f.name}`);
    }
    assert.match(r.stdout, /--max-batch-tokens <int>\s+Token budget of one forward batch \(default: 16384\)/);
    assert.match(r.stdout, /--max-client-batch-size <int>\s+.*\(default: 32\)/);
    assert.match(r.stdout, /--payload-limit <int>\s+.*\(default: 2000000\)/);
  });

  it('serve --help lists every config key as a flag with its default and env name', () => {
    const r = run(['serve', '--help']);
    assert.equal(r.status, 0);
    for (const k of KEYS) {
      assert.ok(r.stdout.includes(flagName(k.path)), `missing ${flagName(k.path)}`);
      assert.ok(r.stdout.includes(envName(k.path)), `missing ${envName(k.path)}`);
    }
    assert.match(r.stdout, /--http-port <int>\s+HTTP listener port .*\(default: 8080\)/);
  });

  it('names an unknown flag, a bad value and an unknown command, with a stable code', () => {
    const unknown = run(['sim', '--nope']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown flag --nope .*\[ROUTER_ERR_CLI_UNKNOWN_FLAG\]/);
    const bad = run(['sim', '--port', 'eighty']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--port "eighty": expected a number \[ROUTER_ERR_CLI_BAD_VALUE\]/);
    const choice = run(['sim', '--protocol', 'udp']);
    assert.match(choice.stderr, /expected one of http, grpc/);
    const cmd = run(['frobnicate']);
    assert.equal(cmd.status, 2);
    assert.match(cmd.stderr, /unknown command "frobnicate".*\[ROUTER_ERR_CLI_UNKNOWN_COMMAND\]/);
    const noEndpoint = run(['bench-client']);
    assert.equal(noEndpoint.status, 2);
    assert.match(noEndpoint.stderr, /missing required flag --endpoint \(-e\).*\[ROUTER_ERR_CLI_BAD_VALUE\]/);
    const badConfig = run(['serve', '--config', '/nonexistent/router.toml']);
    assert.equal(badConfig.status, 2);
    assert.match(
      badConfig.stderr,
      /cannot read config file \/nonexistent\/router\.toml.*\[ROUTER_ERR_CONFIG\]/,
    );
    const tok = run(['sim', '--port', '0', '--tokenizer', '/nonexistent/tokenizer.json']);
    assert.equal(tok.status, 2);
    assert.match(
      tok.stderr,
      /tokenizer.json at \/nonexistent\/tokenizer\.json: cannot read the file.*\[ROUTER_ERR_TOKENIZER_LOAD\]/,
    );
  });

  it('serve with no config runs the embedded simulated backend and says so', async () => {
    const { child, url, out } = await startCommand(
      ['serve', '--http-port', '0', '--grpc-port', '0', '--admin-port', '0', '--pool-threads', '1'],
      /HTTP on (http:\/\/[\d.]+:\d+)/,
    );
    try {
      assert.match(out, /SIMULATED TEI backend/);
      const r = await postJson(url, '/embed', { inputs: ['a', 'b'] });
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as number[][])[1].length, 384);
    } finally {
      await stop(child);
    }
  });

  it('sim serves /embed on the port it prints, deterministic across runs', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { child, url } = await startCommand(
        ['sim', '--port', '0', '--tokenizer', tokenizerFixture()],
        /on (http:\/\/[\d.]+:\d+)/,
      );
      try {
        const r = await postJson(url, '/embed', { inputs: ['a', 'b'] });
        assert.equal(r.status, 200);
        const v = JSON.parse(r.body) as number[][];
        assert.equal(v.length, 2);
        assert.equal(v[0].length, 384);
        bodies.push(r.body);
      } finally {
        await stop(child);
      }
    }
    assert.equal(bodies[0], bodies[1]);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KEYS, envName, flagName, loadConfig } from '../../src/config.js';
import { RouterError } from '../../src/errors.js';

function file(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'tei-router-cfg-')), 'router.toml');
  writeFileSync(f, text);
  return f;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RouterError);
    assert.equal(e.code, 'ROUTER_ERR_CONFIG');
    return e.message;
  }
  assert.fail('expected ROUTER_ERR_CONFIG');
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig();
    assert.deepEqual(c.http, {
      host: '127.0.0.1',
      port: 8080,
      jsonBodyLimit: 2_000_000,
      arrowBodyLimit: 67_108_864,
    });
    assert.equal(c.batching.coalesceMs, 2);
    assert.equal(c.models.length, 0);
    assert.equal(c.defaultModel, undefined);
  });

  it('reads a TOML file with models', () => {
    const f = file(`
default_model = "mini"
[http]
port = 9101
[[models]]
name = "mini"
aliases = ["sentence-transformers/all-MiniLM-L6-v2"]
backends = ["http://127.0.0.1:3000", "grpc://127.0.0.1:3001"]
max_client_batch_size = 16
[[models]]
name = "other"
backends = ["https://tei.internal:443"]
`);
    const c = loadConfig({ file: f });
    assert.equal(c.http.port, 9101);
    assert.equal(c.models.length, 2);
    assert.deepEqual(c.models[0].aliases, ['sentence-transformers/all-MiniLM-L6-v2']);
    assert.equal(c.models[0].maxClientBatchSize, 16);
    assert.equal(c.models[1].coalesceMs, undefined);
    assert.equal(c.defaultModel, 'mini');
  });

  it('applies precedence flags > env > file > defaults', () => {
    const f = file('[http]\nport = 1111\njson_body_limit = 5\narrow_body_limit = 6\n[pool]\nthreads = 3\n');
    const c = loadConfig({
      file: f,
      env: {
        TEI_ROUTER_HTTP_PORT: '3333',
        TEI_ROUTER_POOL_THREADS: '4',
        TEI_ROUTER_HTTP_ARROW_BODY_LIMIT: '7',
      },
      flags: { 'http.port': 5555 },
    });
    assert.equal(c.http.port, 5555);
    assert.equal(c.pool.threads, 4);
    assert.equal(c.http.jsonBodyLimit, 5);
    assert.equal(c.http.arrowBodyLimit, 7);
    assert.equal(c.batching.coalesceMs, 2);
  });

  it('names unknown keys and the file', () => {
    const f = file('[http]\nprot = 1\n');
    assert.match(
      configError(() => loadConfig({ file: f })),
      new RegExp(`unknown config key "http.prot" in ${f}`),
    );
    const g = file('colour = "blue"\n');
    assert.match(
      configError(() => loadConfig({ file: g })),
      /unknown config key "colour"/,
    );
    const m = file('[[models]]\nname = "a"\nbackends = ["http://x:1"]\nbatch = 3\n');
    assert.match(
      configError(() => loadConfig({ file: m })),
      /unknown config key "models.batch"/,
    );
    assert.match(
      configError(() => loadConfig({ env: { TEI_ROUTER_HTTP_PROT: '1' } })),
      /unknown environment variable TEI_ROUTER_HTTP_PROT/,
    );
  });

  it('refuses a backend.identity_header that is not a header name, or one the router or HTTP/2 owns', () => {
    const header = (v: string) =>
      loadConfig({ file: file(`[backend]\nidentity_header = ${JSON.stringify(v)}\n`) });
    assert.equal(header('X-Client-Identity').backend.identityHeader, 'X-Client-Identity');
    assert.match(
      configError(() => header('x client')),
      /backend.identity_header: "x client" is not an HTTP header name/,
    );
    assert.match(
      configError(() => header('')),
      /is not an HTTP header name/,
    );
    for (const taken of ['connection', 'Authorization', 'te', 'grpc-timeout', 'traceparent']) {
      assert.match(
        configError(() => header(taken)),
        /a header the router sets itself or HTTP\/2 forbids/,
        taken,
      );
    }
  });

  it('names bad values and their source', () => {
    assert.match(
      configError(() => loadConfig({ env: { TEI_ROUTER_HTTP_PORT: 'ninety' } })),
      /environment TEI_ROUTER_HTTP_PORT: http.port = "ninety": expected a number/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[http]\nport = 70000\n') })),
      /http.port = 70000: expected a port between 0 and 65535/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[grpc\n') })),
      /is not valid TOML/,
    );
    assert.match(
      configError(() => loadConfig({ file: '/nonexistent/router.toml' })),
      /cannot read config file/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[[models]]\nname = "a"\nbackends = ["ftp://x"]\n') })),
      /has scheme ftp: \(expected one of http, https, grpc, grpcs\)/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[[models]]\nname = "a"\n') })),
      /needs at least one backend URL/,
    );
    assert.match(
      configError(() =>
        loadConfig({ file: file('[[models]]\nname = "a"\nbackends = ["http://x:1"]\naliases = ["a"]\n') }),
      ),
      /"a" is used twice/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          file: file('default_model = "b"\n[[models]]\nname = "a"\nbackends = ["http://x:1"]\n'),
        }),
      ),
      /default_model "b" is not a configured model/,
    );
  });

  it('derives env and flag names from the key path', () => {
    assert.equal(envName('http.json_body_limit'), 'TEI_ROUTER_HTTP_JSON_BODY_LIMIT');
    assert.equal(flagName('http.json_body_limit'), '--http-json-body-limit');
    assert.equal(new Set(KEYS.map((k) => k.path)).size, KEYS.length);
  });
});

it('the README documents every config key with its env name, flag and default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const k of KEYS) {
    const def = k.default === undefined ? 'unset' : `\`${k.default}\``;
    const row = `| \`${k.path}\` | \`${envName(k.path)}\` | \`${flagName(k.path)}\` | ${def} |`;
    assert.ok(readme.includes(row), `README lacks the row for ${k.path}: ${row}`);
  }
});

/** TLS configuration: the guide's [grpc.tls], the shared [tls], per-listener overrides, env aliases, and errors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { RouterError } from '../../src/errors.js';

function file(text: string): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'tei-router-tls-cfg-')), 'router.toml');
  writeFileSync(f, text);
  return f;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RouterError, String(e));
    assert.equal(e.code, 'ROUTER_ERR_CONFIG');
    return e.message;
  }
  assert.fail('expected ROUTER_ERR_CONFIG');
}

const GUIDE = `
[grpc.tls]
cert_path = "certs/server.pem"
key_path = "certs/server-key.pem"
ca_path = "certs/ca.pem"
require_client_cert = true
allowed_subjects = ["CN=authorized-client,O=My Org", "CN=another-client,O=My Org"]
allowed_sans = ["DNS:client1.example.com", "DNS:client2.example.com"]
`;

describe('TLS configuration', () => {
  it('no TLS section: every listener plaintext', () => {
    assert.deepEqual(loadConfig().tls.listeners, {});
  });

  it("the guide's [grpc.tls] locks down gRPC and HTTP (not admin), with client_auth require", () => {
    const c = loadConfig({ file: file(GUIDE) });
    assert.deepEqual(Object.keys(c.tls.listeners).sort(), ['grpc', 'http']);
    const p = c.tls.listeners.grpc!;
    assert.equal(p.clientAuth, 'require');
    assert.equal(p.certPath, 'certs/server.pem');
    assert.deepEqual(p.allowedSubjects, ['CN=authorized-client,O=My Org', 'CN=another-client,O=My Org']);
    assert.deepEqual(p.allowedSans, ['DNS:client1.example.com', 'DNS:client2.example.com']);
    assert.deepEqual(c.tls.listeners.http, p);
  });

  it('require_client_cert = false means optional; client_auth defaults to require with a CA, none without', () => {
    const opt = loadConfig({
      file: file(GUIDE.replace('require_client_cert = true', 'require_client_cert = false')),
    });
    assert.equal(opt.tls.listeners.grpc!.clientAuth, 'optional');
    const flags = { 'tls.cert_path': 'a.pem', 'tls.key_path': 'a-key.pem' };
    assert.equal(loadConfig({ flags }).tls.listeners.http!.clientAuth, 'none');
    assert.equal(
      loadConfig({ flags: { ...flags, 'tls.ca_path': 'ca.pem' } }).tls.listeners.http!.clientAuth,
      'require',
    );
  });

  it('[tls] is shared; listener sections override key by key; [admin.tls] opts the admin listener in', () => {
    const c = loadConfig({
      file: file(`
[tls]
cert_path = "s.pem"
key_path = "s-key.pem"
ca_path = "ca.pem"
client_auth = "optional"
[http.tls]
client_auth = "require"
[admin.tls]
crl_path = "crl.pem"
`),
    });
    assert.equal(c.tls.listeners.grpc!.clientAuth, 'optional');
    assert.equal(c.tls.listeners.http!.clientAuth, 'require');
    assert.equal(c.tls.listeners.http!.caPath, 'ca.pem');
    assert.equal(c.tls.listeners.admin!.crlPath, 'crl.pem');
    assert.equal(c.tls.listeners.admin!.certPath, 's.pem');
    assert.equal(c.tls.listeners.grpc!.crlPath, undefined);
  });

  it("accepts tei-manager's environment variables as aliases, and refuses two different values", () => {
    const env = {
      TEI_MANAGER_GRPC_TLS_CERT: 'certs/server.pem',
      TEI_MANAGER_GRPC_TLS_KEY: 'certs/server-key.pem',
      TEI_MANAGER_GRPC_TLS_CA: 'certs/ca.pem',
      TEI_MANAGER_GRPC_TLS_REQUIRE_CLIENT_CERT: 'true',
    };
    const c = loadConfig({ env });
    assert.equal(c.tls.listeners.grpc!.clientAuth, 'require');
    assert.equal(c.tls.listeners.http!.caPath, 'certs/ca.pem');
    const both = configError(() =>
      loadConfig({ env: { ...env, TEI_ROUTER_GRPC_TLS_CERT_PATH: 'other.pem' } }),
    );
    assert.match(both, /TEI_MANAGER_GRPC_TLS_CERT and TEI_ROUTER_GRPC_TLS_CERT_PATH are both set/);
  });

  it('list values from env and flags are separated by ";" (subjects contain commas)', () => {
    const c = loadConfig({
      env: {
        TEI_ROUTER_TLS_CERT_PATH: 's.pem',
        TEI_ROUTER_TLS_KEY_PATH: 'k.pem',
        TEI_ROUTER_TLS_CA_PATH: 'ca.pem',
        TEI_ROUTER_TLS_ALLOWED_SUBJECTS: 'CN=a,O=B; CN=c,O=D',
      },
    });
    assert.deepEqual(c.tls.listeners.grpc!.allowedSubjects, ['CN=a,O=B', 'CN=c,O=D']);
  });

  it('reads [[tls.sni]] and [[authz]]', () => {
    const c = loadConfig({
      file: file(`
[tls]
cert_path = "s.pem"
key_path = "k.pem"
ca_path = "ca.pem"
[[tls.sni]]
server_name = "Search.Example.com"
cert_path = "search.pem"
key_path = "search-key.pem"
[[authz]]
name = "search"
subjects = ["CN=search,O=Ex"]
models = ["mini"]
[[models]]
name = "mini"
backends = ["http://127.0.0.1:1"]
`),
    });
    assert.deepEqual(c.tls.sni, [
      { serverName: 'search.example.com', certPath: 'search.pem', keyPath: 'search-key.pem' },
    ]);
    assert.deepEqual(c.authz, [{ name: 'search', subjects: ['CN=search,O=Ex'], sans: [], models: ['mini'] }]);
  });

  it('refuses what cannot work, naming the key and the fix', () => {
    assert.match(
      configError(() => loadConfig({ flags: { 'tls.cert_path': 's.pem' } })),
      /tls: cert_path and key_path are both needed to serve TLS on the grpc listener/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          flags: { 'tls.cert_path': 's.pem', 'tls.key_path': 'k', 'tls.client_auth': 'require' },
        }),
      ),
      /client_auth = "require" needs ca_path/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          flags: { 'tls.cert_path': 's', 'tls.key_path': 'k', 'tls.allowed_subjects': ['CN=a'] },
        }),
      ),
      /need client certificates/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          flags: {
            'tls.cert_path': 's',
            'tls.key_path': 'k',
            'tls.ca_path': 'c',
            'tls.client_auth': 'none',
            'tls.require_client_cert': true,
          },
        }),
      ),
      /contradicts require_client_cert/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          flags: {
            'tls.cert_path': 's',
            'tls.key_path': 'k',
            'tls.ca_path': 'c',
            'tls.allowed_subjects': ['CN'],
          },
        }),
      ),
      /subject "CN"/,
    );
    assert.match(
      configError(() =>
        loadConfig({
          flags: {
            'tls.cert_path': 's',
            'tls.key_path': 'k',
            'tls.ca_path': 'c',
            'tls.allowed_sans': ['dns.example.com'],
          },
        }),
      ),
      /SAN "dns.example.com"/,
    );
    assert.match(
      configError(() => loadConfig({ flags: { 'tls.client_auth': 'sometimes' } })),
      /expected one of none, optional, require/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[uws.tls]\ncert_path = "s.pem"\n') })),
      /\[uws.tls\] is not supported: the uWebSockets.js listener serves plaintext only/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[grpc.tls]\ncertpath = "x"\n') })),
      /unknown config key "grpc.tls.certpath"/,
    );
    assert.match(
      configError(() => loadConfig({ file: file('[[authz]]\nname = "x"\nmodels = ["m"]\n') })),
      /needs subjects or sans/,
    );
    assert.match(
      configError(() => loadConfig({ flags: { 'backend.tls.cert_path': 'c.pem' } })),
      /backend.tls.cert_path and backend.tls.key_path must be set together/,
    );
  });
});

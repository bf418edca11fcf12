/**
 * `tei-router certs` as a user runs it (the built CLI, dist/): init writes the guide's six files with the right
 * subjects, SANs, usages and key modes and refuses to overwrite or to exceed a year; client issues from that CA;
 * revoke makes OpenSSL's CRL check refuse the certificate. P-384 keys, to stay fast.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/tei-router.js');
const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SIX = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem', 'client.pem', 'client-key.pem'];

describe('tei-router certs', () => {
  let work: string;
  let dir: string;
  const cert = (f: string) => new X509Certificate(fs.readFileSync(path.join(dir, f)));
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, 'certs', ...args], { cwd: work, encoding: 'utf8', timeout: 30_000 });

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-certs-cli-'));
    dir = path.join(work, 'pki');
  });
  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('init writes the six files: subjects, SANs, usages, a chain that verifies, keys mode 0600', () => {
    const r = run(['init', '--out', 'pki', '--san', 'DNS:embed.example.com', '--san', 'IP:10.1.2.3']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), [...SIX].sort());
    for (const f of SIX) assert.match(r.stdout, new RegExp(`pki/${f.replace('.', '\\.')}\\s`), `${f} listed`);
    assert.match(
      r.stdout,
      /\[grpc\.tls\]\n {2}cert_path = ".*\/pki\/server\.pem"\n {2}key_path = ".*\/pki\/server-key\.pem"/,
    );
    assert.match(r.stdout, /ca_path = ".*\/pki\/ca\.pem"\n {2}require_client_cert = true/);
    assert.match(
      r.stdout,
      /curl --cacert pki\/ca\.pem --cert pki\/client\.pem --key pki\/client-key\.pem https:\/\/localhost:8080\/health/,
    );

    const ca = cert('ca.pem');
    const server = cert('server.pem');
    const client = cert('client.pem');
    assert.equal(ca.subject, 'CN=tei-router-dev-ca\nO=tei-router');
    assert.ok(ca.ca, 'ca.pem is a CA');
    assert.equal(server.subject, 'CN=tei-router\nO=tei-router');
    assert.equal(server.issuer, ca.subject);
    assert.equal(
      server.subjectAltName,
      'DNS:localhost, DNS:tei-router, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:embed.example.com, IP Address:10.1.2.3',
    );
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    assert.equal(client.subject, 'CN=tei-client\nO=tei-router');
    assert.deepEqual(client.keyUsage, [CLIENT_AUTH]);
    for (const [name, c] of [
      ['ca', ca],
      ['server', server],
      ['client', client],
    ] as const) {
      assert.ok(c.checkIssued(ca), `${name} issued by the CA`);
      assert.ok(c.verify(ca.publicKey), `${name} signed by the CA`);
      const key = createPrivateKey(fs.readFileSync(path.join(dir, `${name}-key.pem`)));
      assert.ok(c.checkPrivateKey(key), `${name}-key.pem matches`);
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'secp384r1', `${name}: P-384`);
      const life = Date.parse(c.validTo) - Date.now();
      assert.ok(life > 364 * 86_400_000 && life <= 365 * 86_400_000, `${name}: valid a year, not more`);
      assert.equal(
        fs.statSync(path.join(dir, `${name}-key.pem`)).mode & 0o777,
        0o600,
        `${name}-key.pem mode`,
      );
    }
  });

  it('init refuses to overwrite (naming the files) unless --force, and refuses --days beyond 365', () => {
    const before = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
    const again = run(['init', '--out', 'pki']);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /pki\/ca\.pem, .*already exist; pass --force .*\[ROUTER_ERR_CLI_FILE\]/);
    assert.equal(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), before, 'ca.pem untouched');

    const long = run(['init', '--out', 'other', '--days', '400']);
    assert.equal(long.status, 2);
    assert.match(long.stderr, /--days 400 is more than 365.*\[ROUTER_ERR_CLI_BAD_VALUE\]/);
    assert.equal(fs.existsSync(path.join(work, 'other')), false, 'nothing written');

    const forced = run(['init', '--out', 'other', '--force', '--days', '7']);
    assert.equal(forced.status, 0, forced.stderr);
    const life = Date.parse(
      new X509Certificate(fs.readFileSync(path.join(work, 'other/server.pem'))).validTo,
    );
    assert.ok(Math.abs(life - (Date.now() + 7 * 86_400_000)) < 60_000, 'valid 7 days');
  });

  it('client issues another client certificate from the CA in --dir', () => {
    const r = run(['client', 'alice', '--dir', 'pki', '--san', 'URI:spiffe://example.org/alice']);
    assert.equal(r.status, 0, r.stderr);
    const alice = cert('alice.pem');
    assert.equal(alice.subject, 'CN=alice\nO=tei-router');
    assert.equal(alice.subjectAltName, 'URI:spiffe://example.org/alice');
    assert.deepEqual(alice.keyUsage, [CLIENT_AUTH]);
    assert.ok(alice.checkIssued(cert('ca.pem')), 'issued by the CA');
    assert.ok(alice.verify(cert('ca.pem').publicKey), 'signed by the CA');
    assert.ok(
      alice.checkPrivateKey(createPrivateKey(fs.readFileSync(path.join(dir, 'alice-key.pem')))),
      'key',
    );
    assert.equal(fs.statSync(path.join(dir, 'alice-key.pem')).mode & 0o777, 0o600);
    if (hasOpenssl) {
      const v = spawnSync('openssl', ['verify', '-CAfile', 'pki/ca.pem', 'pki/alice.pem'], {
        cwd: work,
        encoding: 'utf8',
      });
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
    const twice = run(['client', 'alice', '--dir', 'pki']);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /pki\/alice\.pem, pki\/alice-key\.pem already exist/);
    const noCa = run(['client', 'bob', '--dir', 'nowhere']);
    assert.equal(noCa.status, 2);
    assert.match(noCa.stderr, /cannot read nowhere\/ca\.pem \(no such file\).*\[ROUTER_ERR_CLI_FILE\]/);
  });

  it(
    'revoke adds the serial to crl.pem, and OpenSSL then reports the certificate revoked',
    {
      skip: hasOpenssl ? false : 'openssl is not installed',
    },
    () => {
      const verify = (f: string) =>
        spawnSync(
          'openssl',
          ['verify', '-crl_check', '-CRLfile', 'pki/crl.pem', '-CAfile', 'pki/ca.pem', f],
          {
            cwd: work,
            encoding: 'utf8',
          },
        );
      const r = run(['revoke', 'pki/alice.pem', '--dir', 'pki']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /CRL number 1, 1 revoked/);
      const revoked = verify('pki/alice.pem');
      assert.notEqual(revoked.status, 0);
      assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
      const ok = verify('pki/client.pem');
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);

      const second = run(['revoke', 'pki/client.pem', '--dir', 'pki']);
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /CRL number 2, 2 revoked/);
      assert.match(verify('pki/alice.pem').stdout + verify('pki/alice.pem').stderr, /certificate revoked/);
      assert.match(verify('pki/client.pem').stdout + verify('pki/client.pem').stderr, /certificate revoked/);
      const crl = spawnSync('openssl', ['crl', '-in', 'pki/crl.pem', '-noout', '-crlnumber'], {
        cwd: work,
        encoding: 'utf8',
      });
      assert.match(crl.stdout, /crlNumber=0x02/);

      const foreign = run(['revoke', 'other/client.pem', '--dir', 'pki']);
      assert.equal(foreign.status, 2);
      assert.match(foreign.stderr, /other\/client\.pem .* was not issued by the CA in pki\/ca\.pem/);
    },
  );

  it('--help for certs and each sub-command; a missing or unknown sub-command is an error', () => {
    const top = run(['--help']);
    assert.equal(top.status, 0);
    assert.match(top.stdout, /Usage: tei-router certs <init\|client\|revoke\|crl>/);
    for (const [sub, flag] of [
      ['init', '--out'],
      ['client', '--dir'],
      ['revoke', '--crl-days'],
      ['crl', '--crl-days'],
    ]) {
      const h = run([sub, '--help']);
      assert.equal(h.status, 0, sub);
      assert.match(h.stdout, new RegExp(`Usage: tei-router certs ${sub}`), sub);
      assert.ok(h.stdout.includes(flag), `${sub} --help lists ${flag}`);
    }
    const none = run([]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /a sub-command is needed.*\[ROUTER_ERR_CLI_UNKNOWN_COMMAND\]/);
    const unknown = run(['frob']);
    assert.match(unknown.stderr, /unknown sub-command "frob".*\[ROUTER_ERR_CLI_UNKNOWN_COMMAND\]/);
  });
});

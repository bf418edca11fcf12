/**
 * The dev PKI (src/pki): certificates Node, OpenSSL and a real TLS handshake accept, with the extensions, subjects,
 * SANs and serials asked for, and CRLs that revoke. Keys are P-384 and RSA-2048 to stay fast.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  createCa,
  createCrl,
  issueCert,
  readCrl,
  readCrlSerials,
  verifyCrl,
} from '../../../src/pki/index.js';
import type { Issued } from '../../../src/pki/index.js';

const DAY = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const needsOpenssl = { skip: hasOpenssl ? false : 'openssl is not installed' };

let dir: string;
let p384Ca: Issued;
let rsaCa: Issued;

function write(name: string, pem: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, pem);
  return p;
}

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function opensslText(pem: string): string {
  const r = spawnSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The checks every issued certificate must pass against its CA. */
function assertIssuedBy(issued: Issued, ca: Issued, label: string): void {
  const cert = new X509Certificate(issued.certPem);
  const caCert = new X509Certificate(ca.certPem);
  assert.ok(cert.checkIssued(caCert), `${label}: checkIssued`);
  assert.ok(cert.verify(caCert.publicKey), `${label}: verify with the CA key`);
  assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)), `${label}: checkPrivateKey`);
  assert.equal(cert.serialNumber.toLowerCase(), issued.serialHex, `${label}: serialHex`);
  assert.match(issued.serialHex, /^[0-9a-f]{32}$/, `${label}: 16-byte serial`);
  assert.match(issued.keyPem, /^-----BEGIN PRIVATE KEY-----\n/, `${label}: PKCS#8 PEM`);
  if (hasOpenssl) {
    const r = openssl([
      'verify',
      '-CAfile',
      write(`${label}-ca.pem`, ca.certPem),
      write(`${label}.pem`, issued.certPem),
    ]);
    assert.equal(r.status, 0, `${label}: openssl verify: ${r.out}`);
    assert.match(r.out, /: OK/, `${label}: openssl verify OK`);
  }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-pki-unit-'));
  [p384Ca, rsaCa] = await Promise.all([
    createCa({ subject: 'CN=test-ca,O=tei-router' }),
    createCa({ subject: '/CN=rsa-ca/O=tei-router', keyType: 'rsa2048' }),
  ]);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('createCa', () => {
  it('makes a self-signed CA: CA:true critical, keyCertSign + cRLSign critical, SKI', () => {
    for (const [label, ca] of [
      ['p384', p384Ca],
      ['rsa', rsaCa],
    ] as const) {
      const cert = new X509Certificate(ca.certPem);
      assert.ok(cert.ca, `${label}: ca`);
      assert.ok(cert.checkIssued(cert), `${label}: self-issued`);
      assert.ok(cert.verify(cert.publicKey), `${label}: self-signed`);
      assert.ok(cert.checkPrivateKey(createPrivateKey(ca.keyPem)), `${label}: key matches`);
      assert.equal(cert.serialNumber.toLowerCase(), ca.serialHex);
      if (hasOpenssl) {
        const text = opensslText(ca.certPem);
        assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
        assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
        assert.match(text, /Subject Key Identifier/);
        assert.match(text, label === 'p384' ? /ecdsa-with-SHA384/ : /sha256WithRSAEncryption/);
      }
    }
    assert.equal(new X509Certificate(rsaCa.certPem).subject, 'CN=rsa-ca\nO=tei-router');
  });

  it('honours days, notBefore and notAfter', async () => {
    const ca = await createCa({ subject: 'CN=short', days: 2 });
    const cert = new X509Certificate(ca.certPem);
    const life = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    assert.ok(
      Math.abs(life - (2 * DAY + 5 * 60_000)) < 5_000,
      `2 days plus the 5-minute backdating: ${life}`,
    );
    const from = new Date('2030-01-01T00:00:00Z');
    const fixed = new X509Certificate(
      (await createCa({ subject: 'CN=fixed', notBefore: from, notAfter: new Date('2030-02-01T00:00:00Z') }))
        .certPem,
    );
    assert.equal(new Date(fixed.validFrom).toISOString(), from.toISOString());
    assert.equal(new Date(fixed.validTo).toISOString(), '2030-02-01T00:00:00.000Z');
  });
});

describe('issueCert', () => {
  it('issues across key types (P-384 and RSA CAs, P-384 and RSA leaves) that Node and OpenSSL verify', async () => {
    const cases = [
      ['p384-by-p384', p384Ca, 'p384'],
      ['rsa-by-p384', p384Ca, 'rsa2048'],
      ['p384-by-rsa', rsaCa, 'p384'],
      ['rsa-by-rsa', rsaCa, 'rsa2048'],
    ] as const;
    const issued = await Promise.all(
      cases.map(([, ca, keyType]) =>
        issueCert(ca, { subject: 'CN=leaf,O=tei-router', keyType, usage: 'client' }),
      ),
    );
    cases.forEach(([label, ca, keyType], i) => {
      assertIssuedBy(issued[i], ca, label);
      const cert = new X509Certificate(issued[i].certPem);
      assert.equal(cert.publicKey.asymmetricKeyType, keyType === 'p384' ? 'ec' : 'rsa', label);
      if (hasOpenssl) {
        const text = opensslText(issued[i].certPem);
        assert.match(text, ca === p384Ca ? /ecdsa-with-SHA384/ : /sha256WithRSAEncryption/, label);
        assert.match(text, /Basic Constraints: critical\s+CA:FALSE/, label);
        assert.match(
          text,
          keyType === 'p384'
            ? /Key Usage: critical\s+Digital Signature\n/
            : /Digital Signature, Key Encipherment/,
          label,
        );
        assert.match(text, /Authority Key Identifier/, label);
      }
    });
  });

  it('writes the subject in the order given, in comma or slash form, and every SAN kind', async () => {
    const a = await issueCert(p384Ca, {
      subject: 'CN=tei-client,O=TEI Manager',
      sans: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'URI:spiffe://td/ns/x', 'email:a@b.example'],
      usage: 'server',
    });
    const b = await issueCert(p384Ca, { subject: '/CN=tei-client/O=TEI Manager', usage: 'server' });
    const ca = new X509Certificate(a.certPem);
    assert.equal(ca.subject, 'CN=tei-client\nO=TEI Manager');
    assert.equal(new X509Certificate(b.certPem).subject, ca.subject);
    assert.equal(ca.issuer, 'CN=test-ca\nO=tei-router');
    assert.equal(
      ca.subjectAltName,
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://td/ns/x, email:a@b.example',
    );
    assert.equal(ca.checkHost('localhost'), 'localhost');
    assert.equal(ca.checkIP('::1'), '::1');
    const escaped = await issueCert(p384Ca, { subject: 'CN=x,O=Foo\\, Inc', usage: 'client' });
    assert.equal(new X509Certificate(escaped.certPem).subject, 'CN=x\nO=Foo\\, Inc');
    assert.notEqual(a.serialHex, b.serialHex);
    const subjects: Array<[string, string]> = [
      ['/CN=a\\/b/O=x/', 'CN=a/b\nO=x'],
      ['CN=a+OU=b,O=c', 'CN=a + OU=b\nO=c'],
      [' cn = Grüße , c = DE ', 'CN=Grüße\nC=DE'],
      [
        'CN=#not-hex,emailAddress=a@b.example,DC=example',
        'CN=\\#not-hex\nemailAddress=a@b.example\nDC=example',
      ],
    ];
    for (const [subject, expected] of subjects) {
      const c = await issueCert(p384Ca, { subject, usage: 'client' });
      assert.equal(new X509Certificate(c.certPem).subject, expected, subject);
    }
    const mapped = await issueCert(p384Ca, {
      subject: 'CN=v6',
      sans: ['IP:::ffff:1.2.3.4', 'IP:[2001:db8::1]'],
    });
    assert.equal(
      new X509Certificate(mapped.certPem).subjectAltName,
      'IP Address:0:0:0:0:0:FFFF:102:304, IP Address:2001:DB8:0:0:0:0:0:1',
    );
  });

  it('sets extendedKeyUsage from usage or explicit names and OIDs; v1 has no extensions at all', async () => {
    const eku = async (opts: Parameters<typeof issueCert>[1]) =>
      new X509Certificate((await issueCert(p384Ca, opts)).certPem).keyUsage;
    const s = 'CN=eku';
    assert.deepEqual(await eku({ subject: s, usage: 'server' }), [SERVER_AUTH]);
    assert.deepEqual(await eku({ subject: s, usage: 'client' }), [CLIENT_AUTH]);
    assert.deepEqual((await eku({ subject: s, usage: 'both' }))?.sort(), [SERVER_AUTH, CLIENT_AUTH]);
    assert.deepEqual((await eku({ subject: s }))?.sort(), [SERVER_AUTH, CLIENT_AUTH], 'default both');
    assert.deepEqual(
      await eku({ subject: s, usage: 'server', extendedKeyUsage: ['clientAuth', '1.3.6.1.5.5.7.3.3'] }),
      [CLIENT_AUTH, '1.3.6.1.5.5.7.3.3'],
    );
    assert.equal(await eku({ subject: s, extendedKeyUsage: [] }), undefined);
    const v1 = await issueCert(p384Ca, { subject: 'CN=legacy', usage: 'v1' });
    assertIssuedBy(v1, p384Ca, 'v1');
    const v1Rsa = await issueCert(rsaCa, { subject: 'CN=legacy', usage: 'v1', keyType: 'rsa2048' });
    assertIssuedBy(v1Rsa, rsaCa, 'v1-rsa');
    if (hasOpenssl) {
      const text = opensslText(v1.certPem);
      assert.match(text, /Version: 1 \(0x0\)/);
      assert.doesNotMatch(text, /X509v3/);
    }
  });

  it('rejects bad subjects, SANs, usages, dates and CA material with a message naming the problem', async () => {
    const cases: Array<[Parameters<typeof issueCert>[1], RegExp]> = [
      [{ subject: '' }, /subject is empty/],
      [{ subject: 'CN' }, /is not TYPE=value/],
      [{ subject: 'XX=1' }, /unknown attribute "XX"/],
      [{ subject: 'CN=a', sans: ['IP:300.1.1.1'] }, /not an IPv4 or IPv6 address/],
      [{ subject: 'CN=a', sans: ['FOO:bar'] }, /unknown type "foo"/],
      [{ subject: 'CN=a', sans: ['localhost'] }, /expected TYPE:value/],
      [{ subject: 'CN=a', usage: 'v1', sans: ['DNS:a'] }, /v1 certificate has no extensions/],
      [{ subject: 'CN=a', extendedKeyUsage: ['everything'] }, /unknown extended key usage "everything"/],
      [
        { subject: 'CN=a', notBefore: new Date(), notAfter: new Date(Date.now() - DAY) },
        /must be after notBefore/,
      ],
      [{ subject: 'CN=a', days: 0 }, /days must be a positive number/],
    ];
    for (const [opts, message] of cases) {
      await assert.rejects(issueCert(p384Ca, opts), message, JSON.stringify(opts));
    }
    await assert.rejects(
      issueCert({ certPem: p384Ca.certPem, keyPem: rsaCa.keyPem }, { subject: 'CN=a' }),
      /CA key does not belong to the CA certificate/,
    );
    const leaf = await issueCert(p384Ca, { subject: 'CN=leaf' });
    await assert.rejects(issueCert(leaf, { subject: 'CN=a' }), /is not a CA/);
    await assert.rejects(
      issueCert({ certPem: 'nope', keyPem: p384Ca.keyPem }, { subject: 'CN=a' }),
      /not a readable/,
    );
  });
});

describe('createCrl', () => {
  it('lists revoked serials with a CRL number, verifies against its CA, and makes OpenSSL report revocation', async () => {
    const revoked = await issueCert(p384Ca, { subject: 'CN=revoked', usage: 'client' });
    const good = await issueCert(p384Ca, { subject: 'CN=good', usage: 'client' });
    const when = new Date('2026-01-02T03:04:05Z');
    const crl = await createCrl(
      p384Ca,
      [{ serialHex: revoked.serialHex, date: when }, { serialHex: revoked.serialHex }],
      {
        crlNumber: 300,
      },
    );
    assert.match(crl, /^-----BEGIN X509 CRL-----\n/);
    assert.deepEqual(readCrlSerials(crl), [revoked.serialHex]);
    const info = readCrl(crl);
    assert.equal(info.crlNumber, 300);
    assert.equal(info.entries[0].date.toISOString(), when.toISOString());
    assert.ok(
      info.nextUpdate && info.nextUpdate.getTime() > Date.now() + 29 * DAY,
      'nextUpdate 30 days ahead',
    );
    assert.ok(await verifyCrl(crl, p384Ca.certPem), 'signed by its CA');
    assert.equal(await verifyCrl(crl, rsaCa.certPem), false);
    assert.deepEqual(readCrlSerials(await createCrl(rsaCa, [])), []);
    assert.equal(readCrl(await createCrl(rsaCa, [])).crlNumber, 1);
    if (!hasOpenssl) return;
    const caPath = write('crl-ca.pem', p384Ca.certPem);
    const crlPath = write('crl.pem', crl);
    const no = openssl([
      'verify',
      '-crl_check',
      '-CRLfile',
      crlPath,
      '-CAfile',
      caPath,
      write('r.pem', revoked.certPem),
    ]);
    assert.notEqual(no.status, 0, no.out);
    assert.match(no.out, /certificate revoked/);
    const yes = openssl([
      'verify',
      '-crl_check',
      '-CRLfile',
      crlPath,
      '-CAfile',
      caPath,
      write('g.pem', good.certPem),
    ]);
    assert.equal(yes.status, 0, yes.out);
    assert.match(yes.out, /g\.pem: OK/);
    assert.match(openssl(['crl', '-in', crlPath, '-noout', '-crlnumber']).out, /crlNumber=0x012C/);
    const rsaCrl = write('rsa-crl.pem', await createCrl(rsaCa, [{ serialHex: revoked.serialHex }]));
    const rsaGood = openssl([
      'verify',
      '-crl_check',
      '-CRLfile',
      rsaCrl,
      '-CAfile',
      write('rca.pem', rsaCa.certPem),
      write('rg.pem', (await issueCert(rsaCa, { subject: 'CN=x', keyType: 'p384' })).certPem),
    ]);
    assert.equal(rsaGood.status, 0, rsaGood.out);
  });

  it('needs the CA key to sign', async () => {
    await assert.rejects(createCrl({ certPem: p384Ca.certPem, keyPem: rsaCa.keyPem }, []), /does not belong/);
    await assert.rejects(createCrl(p384Ca, [{ serialHex: 'xyz' }]), /not hexadecimal/);
  });
});

describe('a real mTLS handshake', { ...needsOpenssl }, () => {
  let server: Issued;
  let revoked: Issued;
  let crlPem: string;

  before(async () => {
    [server, revoked] = await Promise.all([
      issueCert(p384Ca, {
        subject: 'CN=tei-router,O=tei-router',
        sans: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'],
        usage: 'server',
      }),
      issueCert(p384Ca, { subject: 'CN=revoked', usage: 'client' }),
    ]);
    crlPem = await createCrl(p384Ca, [{ serialHex: revoked.serialHex }]);
  });

  /** Starts a TLS server requiring client certs from p384Ca, connects with `client`, and reports the outcome. */
  async function handshake(
    client: Issued | null,
    opts: { crl?: string } = {},
  ): Promise<{ ok: boolean; clientError?: string; serverError?: string; reason?: string; peer?: string }> {
    let serverError: string | undefined;
    let reason: string | undefined;
    let peer: string | undefined;
    const srv = tls.createServer(
      {
        cert: server.certPem,
        key: server.keyPem,
        ca: p384Ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        ...(opts.crl ? { crl: opts.crl } : {}),
      },
      (socket) => {
        peer = String(socket.getPeerCertificate().subject?.CN);
        socket.end('hello');
      },
    );
    // Node finishes the handshake, then drops the connection when the client certificate does not verify: the
    // reason is the socket's authorizationError (OpenSSL's verify result), not an alert the client sees.
    srv.on('tlsClientError', (err, socket) => {
      serverError = err.message;
      reason =
        socket.authorizationError instanceof Error
          ? socket.authorizationError.message
          : socket.authorizationError;
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    try {
      const result = await new Promise<{ ok: boolean; clientError?: string }>((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          ca: p384Ca.certPem, // the client checks the server certificate (and its IP SAN) too
          ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        });
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          data += d;
        });
        socket.on('end', () => resolve({ ok: data === 'hello' }));
        socket.on('error', (err) => {
          socket.destroy();
          resolve({ ok: false, clientError: err.message });
        });
        socket.setTimeout(5_000, () => {
          socket.destroy();
          resolve({ ok: false, clientError: 'timeout' });
        });
      });
      return { ...result, serverError, reason, peer };
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  }

  it('accepts a clientAuth certificate, and checks the server certificate with its IP SAN', async () => {
    const client = await issueCert(p384Ca, { subject: 'CN=tei-client,O=tei-router', usage: 'client' });
    const r = await handshake(client, { crl: crlPem });
    assert.ok(r.ok, `handshake: ${JSON.stringify(r)}`);
    assert.equal(r.peer, 'tei-client');
    const rsa = await issueCert(p384Ca, { subject: 'CN=rsa-client', usage: 'client', keyType: 'rsa2048' });
    const r2 = await handshake(rsa, { crl: crlPem });
    assert.ok(r2.ok, `RSA client: ${JSON.stringify(r2)}`);
  });

  it('accepts a v1 certificate (no extendedKeyUsage at all)', async () => {
    const v1 = await issueCert(p384Ca, { subject: 'CN=legacy', usage: 'v1' });
    const r = await handshake(v1, { crl: crlPem });
    assert.ok(r.ok, `handshake: ${JSON.stringify(r)}`);
    assert.equal(r.peer, 'legacy');
  });

  it('rejects serverAuth-only, expired, not-yet-valid, other-CA and missing client certificates', async () => {
    const now = Date.now();
    const otherCa = await createCa({ subject: 'CN=other-ca' });
    // OpenSSL's verify results, as Node names them: INVALID_PURPOSE is "unsupported certificate purpose".
    const cases: Array<[string, Promise<Issued> | null, RegExp]> = [
      ['serverAuth only', issueCert(p384Ca, { subject: 'CN=srv', usage: 'server' }), /^INVALID_PURPOSE /],
      [
        'expired',
        issueCert(p384Ca, {
          subject: 'CN=old',
          usage: 'client',
          notBefore: new Date(now - 10 * DAY),
          notAfter: new Date(now - DAY),
        }),
        /^CERT_HAS_EXPIRED /,
      ],
      [
        'not yet valid',
        issueCert(p384Ca, { subject: 'CN=new', usage: 'client', notBefore: new Date(now + DAY), days: 2 }),
        /^CERT_NOT_YET_VALID /,
      ],
      [
        'other CA',
        issueCert(otherCa, { subject: 'CN=stranger', usage: 'client' }),
        /^UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT_LOCALLY) /,
      ],
      ['no certificate', null, /peer did not return a certificate/],
    ];
    for (const [label, pending, alert] of cases) {
      const r = await handshake(pending ? await pending : null, { crl: crlPem });
      assert.ok(!r.ok, `${label} must be rejected: ${JSON.stringify(r)}`);
      assert.match(`${r.reason ?? ''} ${r.serverError ?? ''}`, alert, `${label}: ${JSON.stringify(r)}`);
    }
  });

  it('rejects a revoked certificate when the CRL is given, and only then', async () => {
    const withCrl = await handshake(revoked, { crl: crlPem });
    assert.ok(!withCrl.ok, `revoked must be rejected: ${JSON.stringify(withCrl)}`);
    assert.equal(withCrl.reason, 'CERT_REVOKED', JSON.stringify(withCrl));
    const without = await handshake(revoked);
    assert.ok(without.ok, `without the CRL it is accepted: ${JSON.stringify(without)}`);
  });
});

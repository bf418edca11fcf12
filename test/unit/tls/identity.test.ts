import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  authorize,
  canonicalAttrType,
  describeIdentity,
  escapeAttrValue,
  formatSubject,
  identityFromCert,
  normalizeIp,
  parseNodeSubject,
  parseNodeSubjectAltName,
  parseSanEntry,
  parseSubject,
  sanMatches,
  subjectMatches,
  type AuthzRules,
  type ClientIdentity,
} from '../../../src/tls/identity.js';

// ---------------------------------------------------------------------------------------------------------
// Real certificates, minted with openssl into a temp dir

let dir = '';
let serialN = 0;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function ecKey(name: string): string {
  const key = `${name}-key.pem`;
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  return key;
}

/** A client certificate signed by the test CA; `ext` is the -extfile content (none: an X.509 v1 cert). */
function mint(name: string, subj: string, opts: { ext?: string; multivalue?: boolean; utf8?: boolean } = {}) {
  const key = ecKey(name);
  const csr = `${name}.csr`;
  openssl([
    'req',
    '-new',
    '-key',
    key,
    '-out',
    csr,
    '-subj',
    subj,
    ...(opts.multivalue === true ? ['-multivalue-rdn'] : []),
    ...(opts.utf8 === true ? ['-utf8'] : []),
  ]);
  const args = ['x509', '-req', '-in', csr, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-days', '2'];
  args.push('-set_serial', `0x${(0x0a0b0c00 + ++serialN).toString(16)}`, '-out', `${name}.pem`);
  if (opts.ext !== undefined) {
    writeFileSync(path.join(dir, `${name}.ext`), opts.ext);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args);
  return new X509Certificate(readFileSync(path.join(dir, `${name}.pem`)));
}

const certs: Record<string, X509Certificate> = {};

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tei-router-identity-'));
  ecKey('ca');
  openssl(
    ['req', '-new', '-x509', '-key', 'ca-key.pem', '-out', 'ca.pem', '-days', '2'].concat([
      '-subj',
      '/CN=identity-test-ca/O=TEI Router Tests',
    ]),
  );
  certs.sans = mint('sans', '/CN=san-client/O=Acme', {
    ext: [
      'subjectAltName=@alt',
      '[alt]',
      'DNS.1=client1.example.com',
      'DNS.2=*.tenants.example.com',
      'IP.1=127.0.0.1',
      'IP.2=2001:db8::1',
      'IP.3=::1',
      'IP.4=::ffff:10.0.0.1',
      'URI.1=spiffe://example.org/ns/prod/sa/embedder',
      'URI.2=https://example.org/a,b',
      'URI.3=spiffe://example.org/second',
      'email.1=Alice@Example.COM',
      'DNS.3=with, comma',
      '',
    ].join('\n'),
  });
  certs.complex = mint(
    'complex',
    '/C=US/ST=California/L=San Francisco/O=Acme, Inc./OU=a\\+b/OU=q"uote\\\\back/CN=x=y;z<>' +
      '/emailAddress=Ops@Example.com/DC=example/UID=u1/serialNumber=42/title= padded /pseudonym=#hash',
    { ext: 'subjectAltName=DNS:complex.example.com\n' },
  );
  certs.multi = mint('multi', '/CN=multi+UID=u2/O=Org', { multivalue: true });
  // tei-manager's guide: the client cert is signed without an extension file -> X.509 v1, no SAN, no EKU.
  certs.v1 = mint('v1', '/CN=tei-client/O=TEI Manager');
  certs.utf8 = mint('utf8', '/CN=Jos\u00e9/OU=tab\tx', {
    utf8: true,
    ext: [
      'subjectAltName=@alt',
      '[alt]',
      'URI.1=spiffe://example.org/caf\u00e9',
      'dirName.1=dn',
      'otherName.1=1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.org',
      'RID.1=1.2.3.4',
      '[dn]',
      'CN=inner',
      'O=Org, X',
      '',
    ].join('\n'),
  });
  certs.tenant = mint('tenant', '/CN=tenant-a', { ext: 'subjectAltName=DNS:Tenant-A.Example.com\n' });
  ecKey('empty');
  openssl(['req', '-new', '-x509', '-key', 'empty-key.pem', '-out', 'empty.pem', '-days', '2', '-subj', '/']);
  certs.empty = new X509Certificate(readFileSync(path.join(dir, 'empty.pem')));
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const id = (name: string, tenant: string | null = null): ClientIdentity =>
  identityFromCert(certs[name], tenant);

function typeError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a TypeError');
}

function rules(r: Partial<{ subjects: string[]; sans: string[]; sni: boolean }>): AuthzRules {
  return {
    allowedSubjects: (r.subjects ?? []).map(parseSubject),
    allowedSans: (r.sans ?? []).map(parseSanEntry),
    requireSanMatchesSni: r.sni ?? false,
  };
}

/** A stand-in for X509Certificate with chosen subject/subjectAltName strings (other Node output forms). */
function fakeCert(subject: string | undefined, subjectAltName: string | undefined): X509Certificate {
  return { subject, subjectAltName, serialNumber: 'ABCDEF01', fingerprint256: 'AA:BB' } as X509Certificate;
}

// ---------------------------------------------------------------------------------------------------------

describe('identityFromCert (real certificates)', () => {
  it('reads SANs of every kind, normalizing IP addresses (node shows IPv6 expanded and upper-case)', () => {
    const raw = certs.sans.subjectAltName ?? '';
    assert.ok(/IP Address:2001:DB8:0:0:0:0:0:1/i.test(raw), `node's raw IPv6 form: ${raw}`);
    const ident = id('sans', 'tenant-a.example.com');
    assert.deepEqual(ident.sans, [
      'DNS:client1.example.com',
      'DNS:*.tenants.example.com',
      'IP:127.0.0.1',
      'IP:2001:db8::1',
      'IP:::1',
      'IP:::ffff:10.0.0.1',
      'URI:spiffe://example.org/ns/prod/sa/embedder',
      'URI:https://example.org/a,b',
      'URI:spiffe://example.org/second',
      'email:Alice@Example.COM',
      'DNS:with, comma',
    ]);
    assert.equal(ident.spiffeId, 'spiffe://example.org/ns/prod/sa/embedder');
    assert.equal(ident.subject, 'CN=san-client,O=Acme');
    assert.deepEqual(ident.subjectAttrs, [
      ['CN', 'san-client'],
      ['O', 'Acme'],
    ]);
    assert.equal(ident.tenant, 'tenant-a.example.com');
  });

  it('gives the serial as lower-case hex and the fingerprint as node does', () => {
    const ident = id('sans');
    assert.equal(ident.serial, certs.sans.serialNumber.toLowerCase());
    assert.ok(/^[0-9a-f]+$/.test(ident.serial ?? ''), `serial ${ident.serial}`);
    assert.ok(ident.serial?.endsWith('a0b0c01'), `serial ${ident.serial}`);
    assert.equal(ident.fingerprint256, certs.sans.fingerprint256);
  });

  it('parses a multi-attribute subject with special characters, in certificate order', () => {
    // Node 20 escapes RFC 2253-style: "O=Acme\, Inc." on its own line.
    assert.ok(certs.complex.subject.includes('\n'), `node subject: ${JSON.stringify(certs.complex.subject)}`);
    const ident = id('complex');
    assert.deepEqual(ident.subjectAttrs, [
      ['C', 'US'],
      ['ST', 'California'],
      ['L', 'San Francisco'],
      ['O', 'Acme, Inc.'],
      ['OU', 'a+b'],
      ['OU', 'q"uote\\back'],
      ['CN', 'x=y;z<>'],
      ['E', 'Ops@Example.com'],
      ['DC', 'example'],
      ['UID', 'u1'],
      ['SERIALNUMBER', '42'],
      ['TITLE', ' padded '],
      ['PSEUDONYM', '#hash'],
    ]);
    assert.equal(
      ident.subject,
      'C=US,ST=California,L=San Francisco,O=Acme\\, Inc.,OU=a\\+b,OU=q\\"uote\\\\back,CN=x=y\\;z\\<\\>,' +
        'E=Ops@Example.com,DC=example,UID=u1,SERIALNUMBER=42,TITLE=\\ padded\\ ,PSEUDONYM=\\#hash',
    );
    // The subject string parses back to the same attributes (it can be pasted into allowed_subjects).
    assert.deepEqual(parseSubject(ident.subject ?? ''), ident.subjectAttrs);
    assert.deepEqual(ident.sans, ['DNS:complex.example.com']);
    assert.equal(ident.spiffeId, null);
  });

  it('keeps multi-valued RDNs together with + in the subject and flattens the attributes', () => {
    const ident = id('multi');
    assert.equal(ident.subject, 'CN=multi+UID=u2,O=Org');
    assert.deepEqual(ident.subjectAttrs, [
      ['CN', 'multi'],
      ['UID', 'u2'],
      ['O', 'Org'],
    ]);
    assert.deepEqual(parseSubject(ident.subject ?? ''), ident.subjectAttrs);
  });

  it('accepts an X.509 v1 certificate with no extensions (tei-manager guide client cert)', () => {
    assert.equal(certs.v1.subjectAltName, undefined);
    const ident = id('v1');
    assert.equal(ident.subject, 'CN=tei-client,O=TEI Manager');
    assert.deepEqual(ident.sans, []);
    assert.equal(ident.spiffeId, null);
    assert.ok(ident.fingerprint256 !== null, 'a v1 certificate still has a fingerprint');
    assert.deepEqual(authorize(ident, rules({})), { ok: true });
    assert.deepEqual(authorize(ident, rules({ subjects: ['CN=tei-client,O=TEI Manager'] })), { ok: true });
    assert.deepEqual(authorize(ident, rules({ subjects: ['/O=TEI Manager/CN=tei-client'] })), { ok: true });
    const d = authorize(ident, rules({ subjects: ['CN=authorized-client,O=My Org'] }));
    assert.equal(d.ok, false);
  });

  it('decodes UTF-8, control characters and non-ASCII SANs; keeps other SAN kinds', () => {
    const ident = id('utf8');
    assert.deepEqual(ident.subjectAttrs, [
      ['CN', 'Jos\u00e9'],
      ['OU', 'tab\tx'],
    ]);
    assert.equal(ident.subject, 'CN=Jos\u00e9,OU=tab\\09x');
    assert.deepEqual(parseSubject(ident.subject ?? ''), ident.subjectAttrs);
    assert.deepEqual(ident.sans, [
      'URI:spiffe://example.org/caf\u00e9',
      'DirName:O=Org\\, X,CN=inner',
      'othername:UPN:upn@example.org',
      'Registered ID:1.2.3.4',
    ]);
    assert.equal(ident.spiffeId, 'spiffe://example.org/caf\u00e9');
  });

  it('gives an empty subject as "" (not null)', () => {
    const ident = id('empty');
    assert.equal(ident.subject, '');
    assert.deepEqual(ident.subjectAttrs, []);
    assert.deepEqual(ident.sans, []);
  });

  it('gives nulls and empty lists without a certificate, keeping the tenant', () => {
    assert.deepEqual(identityFromCert(null, 'a.example.com'), {
      subject: null,
      subjectAttrs: [],
      sans: [],
      spiffeId: null,
      serial: null,
      fingerprint256: null,
      tenant: 'a.example.com',
    });
    assert.equal(identityFromCert(null, '').tenant, null);
  });
});

describe('node output forms (pure strings)', () => {
  it('parses the RFC 2253-escaped multiline subject (Node 20)', () => {
    assert.deepEqual(parseNodeSubject('C=US\nO=Acme\\, Inc.\nCN=multi + UID=u2\nOU=tab\\09x\nL=\\ sp\\ '), [
      [['C', 'US']],
      [['O', 'Acme, Inc.']],
      [
        ['CN', 'multi'],
        ['UID', 'u2'],
      ],
      [['OU', 'tab\tx']],
      [['L', ' sp ']],
    ]);
    assert.deepEqual(parseNodeSubject('CN=Jos\\C3\\A9\nemailAddress=a@b'), [
      [['CN', 'Jos\u00e9']],
      [['E', 'a@b']],
    ]);
    assert.deepEqual(parseNodeSubject(undefined), []);
  });

  it('parses quoted subject values (JSON and RFC 2253 quoting)', () => {
    assert.deepEqual(parseNodeSubject('O="Acme, Inc."\nCN="a\\u002cb\\"c"\nOU="x\\, y"'), [
      [['O', 'Acme, Inc.']],
      [['CN', 'a,b"c']],
      [['OU', 'x, y']],
    ]);
    const ident = identityFromCert(fakeCert('C=US\nO="Acme, Inc."\nCN=x', undefined), null);
    assert.equal(ident.subject, 'C=US,O=Acme\\, Inc.,CN=x');
    assert.equal(ident.serial, 'abcdef01');
    assert.deepEqual(ident.sans, []);
  });

  it('parses subjectAltName with JSON-quoted values and unquoted older forms', () => {
    assert.deepEqual(
      parseNodeSubjectAltName(
        'DNS:a, IP Address:2001:DB8:0:0:0:0:0:1, URI:"https://a/b\\u002cc", email:a@b, DNS:"with\\u002c comma"',
      ),
      [
        ['DNS', 'a'],
        ['IP Address', '2001:DB8:0:0:0:0:0:1'],
        ['URI', 'https://a/b,c'],
        ['email', 'a@b'],
        ['DNS', 'with, comma'],
      ],
    );
    assert.deepEqual(parseNodeSubjectAltName('DNS:with, comma, URI:https://a/b,c, IP Address:::1'), [
      ['DNS', 'with, comma'],
      ['URI', 'https://a/b,c'],
      ['IP Address', '::1'],
    ]);
    assert.deepEqual(parseNodeSubjectAltName('URI:"spiffe://td/\\u00c3\\u00a9"'), [
      ['URI', 'spiffe://td/\u00e9'],
    ]);
    const ident = identityFromCert(
      fakeCert('CN=x', 'IP Address:0:0:0:0:0:FFFF:A00:1, IP Address:FE80:0:0:0:0:0:0:1, URI:spiffe://t/w'),
      'x.example.com',
    );
    assert.deepEqual(ident.sans, ['IP:::ffff:10.0.0.1', 'IP:fe80::1', 'URI:spiffe://t/w']);
    assert.equal(ident.spiffeId, 'spiffe://t/w');
  });

  it('normalizes IP addresses to canonical form', () => {
    assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normalizeIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(normalizeIp('0:0:0:0:0:0:0:0'), '::');
    assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(normalizeIp('0:0:0:0:0:FFFF:A00:1'), '::ffff:10.0.0.1');
    assert.equal(normalizeIp('::ffff:10.0.0.1'), '::ffff:10.0.0.1');
    assert.equal(normalizeIp('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
    assert.equal(normalizeIp('10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeIp('010.1.2.3'), null);
    assert.equal(normalizeIp('fe80::1%eth0'), null);
    assert.equal(normalizeIp('not-an-ip'), null);
  });

  it('escapes subject values RFC 4514-style', () => {
    assert.equal(escapeAttrValue('a,b+c"d\\e<f>g;h'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h');
    assert.equal(escapeAttrValue(' #x '), '\\ #x\\ ');
    assert.equal(escapeAttrValue('#x'), '\\#x');
    assert.equal(escapeAttrValue('a\nb'), 'a\\0Ab');
    assert.equal(formatSubject([['CN', 'a,b']]), 'CN=a\\,b');
  });
});

describe('parseSubject', () => {
  it('parses the RFC 4514 form with canonical types', () => {
    assert.deepEqual(parseSubject('CN=a,O=B'), [
      ['CN', 'a'],
      ['O', 'B'],
    ]);
    assert.deepEqual(parseSubject('commonName=a, organizationName=B, emailAddress=x@y, 2.5.4.11=u'), [
      ['CN', 'a'],
      ['O', 'B'],
      ['E', 'x@y'],
      ['OU', 'u'],
    ]);
    assert.deepEqual(parseSubject('cn=a+uid=b,o=C'), [
      ['CN', 'a'],
      ['UID', 'b'],
      ['O', 'C'],
    ]);
  });

  it('handles escapes, quoted values and surrounding spaces', () => {
    assert.deepEqual(parseSubject('O=Acme\\, Inc.,CN=x'), [
      ['O', 'Acme, Inc.'],
      ['CN', 'x'],
    ]);
    assert.deepEqual(parseSubject('O="Acme, Inc.", CN="a+b\\"c"'), [
      ['O', 'Acme, Inc.'],
      ['CN', 'a+b"c'],
    ]);
    assert.deepEqual(parseSubject('CN=\\+\\,\\"\\\\\\<\\>\\;\\=\\#'), [['CN', '+,"\\<>;=#']]);
    assert.deepEqual(parseSubject('CN=Jos\\C3\\A9'), [['CN', 'Jos\u00e9']]);
    assert.deepEqual(parseSubject('  CN =  a b  ,  O = B  '), [
      ['CN', 'a b'],
      ['O', 'B'],
    ]);
    assert.deepEqual(parseSubject('CN=\\ a\\ '), [['CN', ' a ']]);
    assert.deepEqual(parseSubject('CN=x=y'), [['CN', 'x=y']]);
  });

  it('parses the openssl -subj form', () => {
    assert.deepEqual(parseSubject('/CN=tei-client/O=TEI Manager'), [
      ['CN', 'tei-client'],
      ['O', 'TEI Manager'],
    ]);
    assert.deepEqual(parseSubject('/O=Acme, Inc./CN=a\\/b/OU=x+UID=y'), [
      ['O', 'Acme, Inc.'],
      ['CN', 'a/b'],
      ['OU', 'x'],
      ['UID', 'y'],
    ]);
  });

  it('throws TypeError naming the problem for malformed input', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['   ', /empty/],
      ['CN', /"CN" has no "="/],
      ['CN=a,O', /"O" has no "="/],
      ['CN=a,', /ends with ","/],
      ['CN=a,,O=b', /empty attribute/],
      ['=a', /type is missing/],
      ['C N=a', /not an attribute type/],
      ['CN=a\\q', /unknown escape "\\q"/],
      ['CN=a\\4', /unknown escape "\\4"/],
      ['CN=a\\', /lone/],
      ['CN=\\FF', /UTF-8/],
      ['CN="unterminated', /no closing quote/],
      ['CN="a"b', /after the quoted value/],
      ['CN=', /"CN" has an empty value/],
      ['CN=a;O=b', /unescaped ";"/],
      ['/', /no attributes/],
      ['/CN=a//O=b', /empty attribute/],
      ['/CN=a/', /ends with "\/"/],
    ];
    for (const [input, re] of cases) {
      const msg = typeError(() => parseSubject(input));
      assert.ok(re.test(msg), `parseSubject(${JSON.stringify(input)}): ${msg}`);
      assert.ok(msg.includes(JSON.stringify(input)), `the message names the input: ${msg}`);
    }
  });
});

describe('subjectMatches', () => {
  const m = (allowed: string, subject: string): boolean =>
    subjectMatches(parseSubject(allowed), parseSubject(subject));

  it('is exact and order-insensitive', () => {
    assert.equal(m('CN=a,O=B', 'O=B,CN=a'), true);
    assert.equal(m('CN=a', 'CN=ab'), false);
    assert.equal(m('CN=ab', 'CN=a'), false);
    assert.equal(m('CN=a', 'CN=a,O=B'), false);
    assert.equal(m('CN=a,O=B', 'CN=a'), false);
    assert.equal(m('CN=a,O=B', 'CN=a,O=b'), false);
  });

  it('compares as a multiset', () => {
    assert.equal(m('OU=x,OU=y,CN=a', 'CN=a,OU=y,OU=x'), true);
    assert.equal(m('OU=x,OU=x', 'OU=x,OU=y'), false);
    assert.equal(m('OU=x,OU=y', 'OU=x,OU=x'), false);
  });

  it('treats types case-insensitively, with aliases and OIDs', () => {
    assert.equal(m('commonName=a,organizationName=B', 'CN=a,O=B'), true);
    assert.equal(m('cn=a,o=B', 'CN=a,O=B'), true);
    assert.equal(m('emailAddress=x@y', 'E=x@y'), true);
    assert.equal(m('2.5.4.3=a', 'CN=a'), true);
    assert.equal(m('OID.2.5.4.3=a', 'CN=a'), true);
    assert.equal(m('ST=x', 'S=x'), true);
    assert.equal(subjectMatches([['commonName', 'a']], [['cn', 'a']]), true);
    assert.equal(canonicalAttrType('serialNumber'), 'SERIALNUMBER');
    assert.equal(canonicalAttrType('1.2.3.4'), '1.2.3.4');
  });

  it('trims only insignificant spaces', () => {
    assert.equal(m(' CN = a , O = B ', 'CN=a,O=B'), true);
    assert.equal(m('CN=\\ a', 'CN=a'), false);
    assert.equal(m('CN=a b', 'CN=a  b'), false);
  });

  it('matches escaped and quoted forms against a real certificate', () => {
    const attrs = id('complex').subjectAttrs;
    const allowed =
      'PSEUDONYM=\\#hash,TITLE="  padded " ,title=\\ padded\\ ,SERIALNUMBER=42,UID=u1,DC=example,E=Ops@Example.com,' +
      'CN=x=y\\;z\\<\\>,OU="q\\"uote\\\\back",OU=a\\+b,O="Acme, Inc.",L=San Francisco,ST=California,C=US';
    // TITLE appears twice in `allowed` (once with two leading spaces): not equal.
    assert.equal(subjectMatches(parseSubject(allowed), attrs), false);
    const exact = allowed.replace('TITLE="  padded " ,', '');
    assert.equal(subjectMatches(parseSubject(exact), attrs), true);
    assert.equal(subjectMatches(parseSubject(exact.replace('Acme, Inc.', 'acme, inc.')), attrs), false);
  });

  it('never matches with an empty allowed subject', () => {
    assert.equal(subjectMatches([], []), false);
    assert.equal(subjectMatches([], id('empty').subjectAttrs), false);
  });
});

describe('parseSanEntry', () => {
  it('normalizes each kind (prefix case-insensitive)', () => {
    assert.deepEqual(parseSanEntry('DNS:Client1.Example.COM.'), {
      kind: 'DNS',
      value: 'client1.example.com',
    });
    assert.deepEqual(parseSanEntry('dns:*.example.com'), { kind: 'DNS', value: '*.example.com' });
    assert.deepEqual(parseSanEntry('DNS:b\u00fccher.example'), {
      kind: 'DNS',
      value: 'xn--bcher-kva.example',
    });
    assert.deepEqual(parseSanEntry('IP:127.0.0.1'), { kind: 'IP', value: '127.0.0.1' });
    assert.deepEqual(parseSanEntry('ip:2001:DB8:0:0:0:0:0:1'), { kind: 'IP', value: '2001:db8::1' });
    assert.deepEqual(parseSanEntry('IP Address:::1'), { kind: 'IP', value: '::1' });
    assert.deepEqual(parseSanEntry('URI:spiffe://example.org/ns/prod/sa/embedder'), {
      kind: 'URI',
      value: 'spiffe://example.org/ns/prod/sa/embedder',
    });
    assert.deepEqual(parseSanEntry('uri:https://example.org/a,b'), {
      kind: 'URI',
      value: 'https://example.org/a,b',
    });
    assert.deepEqual(parseSanEntry('EMAIL:Alice@Example.COM'), { kind: 'email', value: 'Alice@example.com' });
    assert.deepEqual(parseSanEntry('  DNS: a.example.com  '), { kind: 'DNS', value: 'a.example.com' });
  });

  it('throws TypeError naming the entry and the accepted forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['client1.example.com', /prefix/],
      ['othername:x', /prefix/],
      ['DNS:', /empty DNS/],
      ['DNS:a.*.example.com', /wildcard/],
      ['DNS:*', /wildcard/],
      ['DNS:a*.example.com', /wildcard/],
      ['DNS:**.example.com', /wildcard/],
      ['DNS:a b.example.com', /DNS name/],
      ['DNS:-a.example.com', /DNS name/],
      ['IP:1.2.3', /IPv4 or IPv6/],
      ['IP:10.0.0.0/8', /IPv4 or IPv6/],
      ['IP:fe80::1%eth0', /IPv4 or IPv6/],
      ['IP:localhost', /IPv4 or IPv6/],
      ['URI:', /empty URI/],
      ['URI:not a uri', /absolute URI/],
      ['URI:example.org/x', /absolute URI/],
      ['URI:spiffe:/x', /SPIFFE/],
      ['email:nope', /email/],
      ['email:@example.org', /email/],
      ['email:a@', /email/],
    ];
    for (const [input, re] of cases) {
      const msg = typeError(() => parseSanEntry(input));
      assert.ok(re.test(msg), `parseSanEntry(${JSON.stringify(input)}): ${msg}`);
      assert.ok(msg.includes(JSON.stringify(input)), `the message names the entry: ${msg}`);
      assert.ok(/DNS:.*IP:.*URI:.*email:/.test(msg), `the message lists the accepted forms: ${msg}`);
    }
  });
});

describe('sanMatches', () => {
  const s = (entry: string, sans: string[]): boolean => sanMatches(parseSanEntry(entry), sans);

  it('matches DNS names case-insensitively, ignoring a trailing dot', () => {
    assert.equal(s('DNS:client1.example.com', ['DNS:Client1.EXAMPLE.com']), true);
    assert.equal(s('DNS:client1.example.com.', ['DNS:client1.example.com']), true);
    assert.equal(s('DNS:client1.example.com', ['DNS:client1.example.com.']), true);
    assert.equal(s('DNS:client1.example.com', ['DNS:client10.example.com']), false);
    assert.equal(s('DNS:example.com', ['DNS:a.example.com']), false);
    assert.equal(sanMatches({ kind: 'DNS', value: 'A.Example.com.' }, ['DNS:a.example.com']), true);
  });

  it('lets a wildcard entry match exactly one extra label', () => {
    assert.equal(s('DNS:*.example.com', ['DNS:a.example.com']), true);
    assert.equal(s('DNS:*.example.com', ['DNS:A.Example.COM.']), true);
    assert.equal(s('DNS:*.example.com', ['DNS:a.b.example.com']), false);
    assert.equal(s('DNS:*.example.com', ['DNS:example.com']), false);
    assert.equal(s('DNS:*.example.com', ['DNS:aexample.com']), false);
    // A wildcard in the certificate matches an entry only literally.
    assert.equal(s('DNS:a.example.com', ['DNS:*.example.com']), false);
    assert.equal(s('DNS:*.example.com', ['DNS:*.example.com']), true);
  });

  it('compares IP addresses after normalization (v4-mapped v6 equals v4)', () => {
    assert.equal(s('IP:2001:db8::1', ['IP:2001:DB8:0:0:0:0:0:1']), true);
    assert.equal(s('IP:2001:0db8::0001', ['IP:2001:db8::1']), true);
    assert.equal(s('IP:10.0.0.1', ['IP:::ffff:10.0.0.1']), true);
    assert.equal(s('IP:::ffff:a00:1', ['IP:10.0.0.1']), true);
    assert.equal(s('IP:10.0.0.1', ['IP:10.0.0.2']), false);
    assert.equal(s('IP:::1', ['IP:127.0.0.1']), false);
    assert.equal(s('IP:127.0.0.1', ['DNS:127.0.0.1']), false);
    assert.equal(s('IP:127.0.0.1', ['IP Address:127.0.0.1']), true);
  });

  it('compares URIs exactly', () => {
    assert.equal(s('URI:spiffe://example.org/w', ['URI:spiffe://example.org/w']), true);
    assert.equal(s('URI:spiffe://example.org/w', ['URI:spiffe://example.org/W']), false);
    assert.equal(s('URI:spiffe://example.org/w', ['URI:spiffe://example.org/w/x']), false);
    assert.equal(s('URI:spiffe://example.org/w', ['DNS:spiffe://example.org/w']), false);
  });

  it('compares email local parts exactly and domains case-insensitively', () => {
    assert.equal(s('email:Alice@example.com', ['email:Alice@EXAMPLE.COM']), true);
    assert.equal(s('email:alice@example.com', ['email:Alice@example.com']), false);
    assert.equal(s('email:alice@example.com', ['email:alice@example.org']), false);
  });

  it('matches every kind against a real certificate', () => {
    const sans = id('sans').sans;
    for (const entry of [
      'DNS:client1.example.com',
      'DNS:CLIENT1.example.com.',
      'DNS:*.example.com',
      'IP:127.0.0.1',
      'IP:2001:db8:0::1',
      'IP:0:0:0:0:0:0:0:1',
      'IP:10.0.0.1',
      'URI:spiffe://example.org/ns/prod/sa/embedder',
      'URI:https://example.org/a,b',
      'email:Alice@example.com',
    ]) {
      assert.equal(s(entry, sans), true, `${entry} should match ${sans.join(', ')}`);
    }
    for (const entry of [
      'DNS:client2.example.com',
      'DNS:*.client1.example.com',
      'DNS:example.com',
      'IP:127.0.0.2',
      'URI:spiffe://example.org/ns/prod/sa/other',
      'email:alice@example.com',
    ]) {
      assert.equal(s(entry, sans), false, `${entry} should not match ${sans.join(', ')}`);
    }
  });
});

describe('authorize', () => {
  it('lets any verified certificate through with empty lists', () => {
    assert.deepEqual(authorize(id('sans'), rules({})), { ok: true });
    assert.deepEqual(authorize(id('empty'), rules({})), { ok: true });
    // No certificate and no rules: anonymous (the TLS layer decides whether a certificate is required).
    assert.deepEqual(authorize(identityFromCert(null, null), rules({})), { ok: true });
  });

  it('refuses a missing certificate when a rule needs one', () => {
    const anon = identityFromCert(null, 'a.example.com');
    for (const [r, names] of [
      [rules({ subjects: ['CN=a'] }), ['allowed_subjects']],
      [rules({ sans: ['DNS:a'] }), ['allowed_sans']],
      [rules({ sni: true }), ['require_san_matches_sni']],
      [rules({ subjects: ['CN=a'], sans: ['DNS:a'] }), ['allowed_subjects', 'allowed_sans']],
    ] as const) {
      const d = authorize(anon, r);
      assert.equal(d.ok, false);
      if (d.ok) continue;
      assert.equal(d.rule, 'no_certificate');
      assert.ok(/no client certificate/.test(d.message), d.message);
      for (const n of names) assert.ok(d.message.includes(n), `${d.message} should name ${n}`);
    }
  });

  it('applies allowed_subjects', () => {
    assert.deepEqual(authorize(id('sans'), rules({ subjects: ['CN=other', 'O=Acme,CN=san-client'] })), {
      ok: true,
    });
    assert.deepEqual(authorize(id('complex'), rules({ subjects: [id('complex').subject ?? ''] })), {
      ok: true,
    });
    const d = authorize(id('sans'), rules({ subjects: ['CN=san-client'] }));
    assert.deepEqual(d, {
      ok: false,
      rule: 'allow_list',
      message:
        'client "CN=san-client,O=Acme" (SANs: DNS:client1.example.com, DNS:*.tenants.example.com, IP:127.0.0.1, ' +
        'IP:2001:db8::1, IP:::1, IP:::ffff:10.0.0.1, URI:spiffe://example.org/ns/prod/sa/embedder, ' +
        'URI:https://example.org/a,b, URI:spiffe://example.org/second, email:Alice@Example.COM, DNS:with, comma) ' +
        'matches none of allowed_subjects ["CN=san-client"]',
    });
  });

  it('applies allowed_sans', () => {
    assert.deepEqual(authorize(id('sans'), rules({ sans: ['URI:spiffe://example.org/second'] })), {
      ok: true,
    });
    const d = authorize(id('v1'), rules({ sans: ['DNS:tei-client'] }));
    assert.deepEqual(d, {
      ok: false,
      rule: 'allow_list',
      message:
        'client "CN=tei-client,O=TEI Manager" (no SANs) matches none of allowed_sans ["DNS:tei-client"]',
    });
  });

  it('admits a client passing either list when both are set', () => {
    const r = rules({ subjects: ['CN=tei-client,O=TEI Manager'], sans: ['DNS:client1.example.com'] });
    assert.deepEqual(authorize(id('v1'), r), { ok: true });
    assert.deepEqual(authorize(id('sans'), r), { ok: true });
    const d = authorize(id('multi'), rules({ subjects: ['CN=a,O=B'], sans: ['DNS:b'] }));
    assert.deepEqual(d, {
      ok: false,
      rule: 'allow_list',
      message:
        'client "CN=multi+UID=u2,O=Org" (no SANs) matches none of allowed_subjects ["CN=a,O=B"] nor allowed_sans ["DNS:b"]',
    });
  });

  it('shows long allow-lists truncated', () => {
    const subjects = Array.from({ length: 12 }, (_, i) => `CN=c${i}`);
    const d = authorize(id('v1'), rules({ subjects }));
    assert.equal(d.ok, false);
    if (!d.ok) assert.ok(d.message.includes('"CN=c7", ... (4 more)]'), d.message);
  });

  it('requires the SNI name to match a DNS SAN when requireSanMatchesSni is set', () => {
    const r = rules({ sni: true });
    assert.deepEqual(authorize(id('tenant', 'tenant-a.example.com'), r), { ok: true });
    assert.deepEqual(authorize(id('tenant', 'TENANT-A.example.com.'), r), { ok: true });
    // a wildcard certificate SAN covers exactly one label
    assert.deepEqual(authorize(id('sans', 'blue.tenants.example.com'), r), { ok: true });
    assert.deepEqual(authorize(id('sans', 'client1.example.com'), r), { ok: true });
    for (const sni of [
      'a.blue.tenants.example.com',
      'tenants.example.com',
      'tenant-b.example.com',
      '127.0.0.1',
    ]) {
      const d = authorize(id('sans', sni), r);
      assert.equal(d.ok, false, `SNI ${sni} should be refused`);
      if (d.ok) continue;
      assert.equal(d.rule, 'sni');
      assert.ok(d.message.includes(`server name "${sni}"`), d.message);
      assert.ok(d.message.includes('"CN=san-client,O=Acme" (SANs: DNS:client1.example.com'), d.message);
      assert.ok(d.message.includes('require_san_matches_sni'), d.message);
    }
    const noSni = authorize(id('tenant', null), r);
    assert.equal(noSni.ok, false);
    if (!noSni.ok) {
      assert.equal(noSni.rule, 'sni');
      assert.ok(/sent no SNI/.test(noSni.message), noSni.message);
      assert.ok(noSni.message.includes('"CN=tenant-a" (SANs: DNS:Tenant-A.Example.com)'), noSni.message);
    }
    // a v1 certificate has no DNS SAN at all
    const v1 = authorize(id('v1', 'tei-client'), r);
    assert.equal(v1.ok, false);
    if (!v1.ok) assert.equal(v1.rule, 'sni');
  });

  it('requires both the allow-list and the SNI rule', () => {
    const r = rules({ subjects: ['CN=tenant-a'], sni: true });
    assert.deepEqual(authorize(id('tenant', 'tenant-a.example.com'), r), { ok: true });
    const wrongSni = authorize(id('tenant', 'tenant-b.example.com'), r);
    assert.equal(wrongSni.ok === false && wrongSni.rule, 'sni');
    const wrongSubject = authorize(id('sans', 'client1.example.com'), r);
    assert.equal(wrongSubject.ok === false && wrongSubject.rule, 'allow_list');
  });
});

describe('describeIdentity', () => {
  it('describes a certificate on one line', () => {
    const ident = id('sans', 'blue.tenants.example.com');
    const line = describeIdentity(ident);
    assert.ok(!line.includes('\n'), line);
    assert.ok(line.startsWith('subject="CN=san-client,O=Acme" sans=["DNS:client1.example.com",'), line);
    assert.ok(line.includes(' spiffe="spiffe://example.org/ns/prod/sa/embedder"'), line);
    assert.ok(line.includes(' tenant="blue.tenants.example.com"'), line);
    assert.ok(line.endsWith(` serial=${ident.serial}`), line);
    assert.equal(
      describeIdentity(id('v1')),
      `subject="CN=tei-client,O=TEI Manager" sans=[] spiffe=- tenant=- serial=${id('v1').serial}`,
    );
  });

  it('keeps control characters off the log line', () => {
    const line = describeIdentity(identityFromCert(fakeCert('CN=a\\0Ab', 'URI:"x:\\n"'), 'evil\nname'));
    assert.ok(!line.includes('\n'), line);
  });

  it('describes the absence of a certificate', () => {
    assert.equal(describeIdentity(identityFromCert(null, null)), 'no client certificate tenant=-');
    assert.equal(
      describeIdentity(identityFromCert(null, 't.example.com')),
      'no client certificate tenant="t.example.com"',
    );
  });
});

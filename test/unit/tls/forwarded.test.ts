/** The forwarded identity header stays a valid header value whatever the subject holds (regression: non-ASCII). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedValue, headerSafe } from '../../../src/tls/forwarded.js';
import type { ClientIdentity } from '../../../src/tls/identity.js';

const id = (subject: string, sans: string[] = [], tenant: string | null = null): ClientIdentity => ({
  subject,
  subjectAttrs: [],
  sans,
  spiffeId: null,
  serial: '01',
  fingerprint256: 'AB:CD',
  tenant,
});

describe('forwarded identity value', () => {
  it('escapes quotes, backslashes and non-ASCII as UTF-8 bytes', () => {
    assert.equal(headerSafe('CN=café'), 'CN=caf\\c3\\a9');
    assert.equal(headerSafe('CN=a"b\\c'), 'CN=a\\"b\\\\c');
    assert.equal(headerSafe('CN=日'), 'CN=\\e6\\97\\a5');
  });

  it('builds XFCC elements that only hold printable ASCII', () => {
    const v = forwardedValue(
      id('CN=Zoë 日本,O=Ex', ['DNS:a.example', 'URI:spiffe://td/ns/x', 'email:zoë@ex.org'], 'Tenant.example'),
    )!;
    assert.match(
      v,
      /^Hash=abcd;Subject="CN=Zo\\c3\\ab \\e6\\97\\a5\\e6\\9c\\ac,O=Ex";DNS=a\.example;URI=spiffe:\/\/td\/ns\/x;Email=zo%C3%AB%40ex\.org;SNI=Tenant\.example$/,
    );
    assert.ok(/^[\x20-\x7e]+$/.test(v), v);
    // the header value is accepted by Node's header validation
    assert.doesNotThrow(() => new Headers({ 'x-forwarded-client-cert': v }));
    assert.equal(forwardedValue(null), null);
  });
});

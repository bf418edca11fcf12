/** Test certificates for the mTLS tests, minted with src/pki into a temp dir (P-384: fast). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCa, createCrl, issueCert } from '../../src/pki/index.js';
import type { Issued, IssueOptions } from '../../src/pki/index.js';

const DAY = 86_400_000;

export interface TestPki {
  dir: string;
  ca: Issued;
  otherCa: Issued;
  server: Issued;
  /** Client certificates by case name. */
  clients: Record<ClientCase, Issued | null>;
  /** Paths: ca.pem, server.pem, server-key.pem, crl.pem (revokes clients.revoked). */
  paths: { ca: string; cert: string; key: string; crl: string };
  /** Writes `pem` to a file in the dir and returns its path. */
  write(name: string, pem: string): string;
  issue(opts: IssueOptions, ca?: Issued): Promise<Issued>;
  remove(): void;
}

export const CLIENT_CASES = [
  'no cert',
  'other CA',
  'expired',
  'not yet valid',
  'revoked',
  'wrong EKU',
  'subject not allowed',
  'allowed SAN',
  'allowed subject',
] as const;
export type ClientCase = (typeof CLIENT_CASES)[number];

export const ALLOWED_SUBJECT = 'CN=allowed-client,O=Test Org';
export const ALLOWED_SAN = 'DNS:san-client.example.com';

export async function makeTestPki(): Promise<TestPki> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tei-router-pki-'));
  const ca = await createCa({ subject: 'CN=test-ca,O=Test Org' });
  const otherCa = await createCa({ subject: 'CN=other-ca,O=Elsewhere' });
  const issue = (opts: IssueOptions, by: Issued = ca) => issueCert(by, opts);
  const server = await issue({
    subject: 'CN=tei-router,O=Test Org',
    sans: ['DNS:localhost', 'DNS:tei-router', 'IP:127.0.0.1'],
    usage: 'server',
  });
  const now = Date.now();
  const client = (subject: string, extra: Partial<IssueOptions> = {}, by?: Issued) =>
    issue({ subject, usage: 'client', ...extra }, by);
  const clients: Record<ClientCase, Issued | null> = {
    'no cert': null,
    'other CA': await client(ALLOWED_SUBJECT, {}, otherCa),
    expired: await client(ALLOWED_SUBJECT, {
      notBefore: new Date(now - 10 * DAY),
      notAfter: new Date(now - DAY),
    }),
    'not yet valid': await client(ALLOWED_SUBJECT, {
      notBefore: new Date(now + DAY),
      notAfter: new Date(now + 10 * DAY),
    }),
    revoked: await client(ALLOWED_SUBJECT),
    'wrong EKU': await issue({ subject: ALLOWED_SUBJECT, usage: 'server' }),
    'subject not allowed': await client('CN=stranger,O=Test Org'),
    'allowed SAN': await client('CN=san-client,O=Test Org', { sans: [ALLOWED_SAN] }),
    'allowed subject': await client(ALLOWED_SUBJECT),
  };
  const crl = await createCrl(ca, [{ serialHex: clients.revoked!.serialHex }]);
  const write = (name: string, pem: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, pem);
    return p;
  };
  return {
    dir,
    ca,
    otherCa,
    server,
    clients,
    paths: {
      ca: write('ca.pem', ca.certPem),
      cert: write('server.pem', server.certPem),
      key: write('server-key.pem', server.keyPem),
      crl: write('crl.pem', crl),
    },
    write,
    issue,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

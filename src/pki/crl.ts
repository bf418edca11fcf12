/** Certificate revocation lists: X.509 v2 CRLs signed by a CA, with a CRL number and the CA's key identifier. */
import type { CaMaterial } from './issue.js';
import { BACKDATE_MS, loadCa } from './issue.js';
import { asnOf, derInteger, derOf, parseDerInteger, signTbs, toPem } from './der.js';
import { x509 } from './x509.js';

const DAY_MS = 86_400_000;
const CRL_NUMBER_OID = '2.5.29.20';

export interface CrlOptions {
  /** The cRLNumber extension (default 1). */
  crlNumber?: number;
  /** nextUpdate this many days from now (default 30). Past nextUpdate, OpenSSL (and Node's TLS) refuse the CRL. */
  nextUpdateDays?: number;
  /** The CRL's "now" (thisUpdate, and the base of nextUpdate); default the current time. Tests use past dates. */
  now?: Date;
}

export interface RevokedEntry {
  serialHex: string;
  /** Revocation date; default now. */
  date?: Date;
}

export interface CrlInfo {
  /** Issuer in @peculiar/x509's RFC 4514-like form. */
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: number;
  entries: Array<{ serialHex: string; date: Date }>;
}

/**
 * Normalizes a serial number to node's X509Certificate.serialNumber form, lowercased: hex without colons, without
 * leading zero bytes, an even number of digits.
 */
export function normalizeSerial(serial: string): string {
  let hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`serial number ${JSON.stringify(serial)} is not hexadecimal`);
  if (hex.length % 2 === 1) hex = '0' + hex;
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}

/** The parts of @peculiar/x509's CertificateList ASN.1 object that createCrl changes. */
interface CertificateListAsn {
  tbsCertList: { revokedCertificates?: Array<{ crlEntryExtensions?: unknown[] }> };
  signature: ArrayBuffer;
}

/** A CRL signed by `ca` listing `revoked` (duplicates dropped); thisUpdate is now - 5 minutes. */
export async function createCrl(
  ca: CaMaterial,
  revoked: RevokedEntry[],
  opts: CrlOptions = {},
): Promise<string> {
  const issuer = await loadCa(ca);
  const crlNumber = opts.crlNumber ?? 1;
  if (!Number.isSafeInteger(crlNumber) || crlNumber < 0) {
    throw new Error(`crlNumber must be a non-negative integer, not ${crlNumber}`);
  }
  const nextUpdateDays = opts.nextUpdateDays ?? 30;
  if (!(Number.isFinite(nextUpdateDays) && nextUpdateDays > 0)) {
    throw new Error(`nextUpdateDays must be a positive number, not ${nextUpdateDays}`);
  }
  const now = opts.now?.getTime() ?? Date.now();
  const seen = new Set<string>();
  const entries: Array<{ serialNumber: string; revocationDate: Date }> = [];
  for (const r of revoked) {
    const serial = normalizeSerial(r.serialHex);
    if (seen.has(serial)) continue;
    seen.add(serial);
    entries.push({ serialNumber: serial, revocationDate: r.date ?? new Date(now) });
  }
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date(now - BACKDATE_MS),
    nextUpdate: new Date(now + nextUpdateDays * DAY_MS),
    entries,
    signingKey: issuer.signing.key,
    signingAlgorithm: issuer.signing.algorithm,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
      new x509.Extension(CRL_NUMBER_OID, false, derInteger(crlNumber)),
    ],
  });
  // @peculiar/x509 gives every entry an empty crlEntryExtensions SEQUENCE (RFC 5280 wants it absent when
  // empty), so the entries are fixed and the list signed again.
  const asn = asnOf<CertificateListAsn>(crl);
  for (const entry of asn.tbsCertList.revokedCertificates ?? []) {
    if (entry.crlEntryExtensions?.length === 0) entry.crlEntryExtensions = undefined;
  }
  asn.signature = await signTbs(asn.tbsCertList, issuer.signing);
  // Its PEM label is "CRL"; OpenSSL reads only "X509 CRL".
  return toPem(derOf(asn), 'X509 CRL');
}

function parseCrl(crlPem: string): x509.X509Crl {
  try {
    return new x509.X509Crl(crlPem);
  } catch (err) {
    throw new Error(`not a readable PEM CRL (${(err as Error).message})`, { cause: err });
  }
}

/** What a CRL says: issuer, dates, CRL number and revoked serials (normalized as normalizeSerial does). */
export function readCrl(crlPem: string): CrlInfo {
  const crl = parseCrl(crlPem);
  const numberExt = crl.getExtension(CRL_NUMBER_OID);
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    crlNumber: numberExt ? parseDerInteger(numberExt.value) : undefined,
    entries: crl.entries.map((e) => ({ serialHex: normalizeSerial(e.serialNumber), date: e.revocationDate })),
  };
}

/** Serials (lowercase hex, as node's X509Certificate.serialNumber lowercased) listed in a CRL PEM. */
export function readCrlSerials(crlPem: string): string[] {
  return readCrl(crlPem).entries.map((e) => e.serialHex);
}

/** True when the CRL's issuer is the CA certificate's subject and its signature verifies with the CA's key. */
export async function verifyCrl(crlPem: string, caCertPem: string): Promise<boolean> {
  const crl = parseCrl(crlPem);
  const ca = new x509.X509Certificate(caCertPem);
  if (!Buffer.from(crl.issuerName.toArrayBuffer()).equals(Buffer.from(ca.subjectName.toArrayBuffer()))) {
    return false;
  }
  return crl.verify({ publicKey: ca });
}

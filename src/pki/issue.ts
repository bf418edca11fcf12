/**
 * Certificate authorities and the certificates they issue, built with @peculiar/x509 on Node's WebCrypto.
 *
 * Signatures: ECDSA with SHA-384 for P-384 keys (SHA-256/512 for P-256/P-521 CA keys brought from elsewhere), RSA
 * with RSASSA-PKCS1-v1_5 and SHA-256. Any CA key type may sign any leaf key type.
 */
import { X509Certificate as NodeX509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { asnOf, derOf, signTbs, toPem } from './der.js';
import type { KeyType, SigningKey } from './keys.js';
import { generateKeyPair, importSigningKey } from './keys.js';
import type { JsonSan } from './names.js';
import { parseSan, parseSubject } from './names.js';
import { x509 } from './x509.js';

export interface Issued {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** Lowercase hex without colons: node's X509Certificate.serialNumber, lowercased. */
  serialHex: string;
}

export type Usage = 'server' | 'client' | 'both' | 'v1';

export interface IssueOptions {
  /** "CN=tei-client,O=TEI Manager" (comma form) or openssl's "/CN=tei-client/O=TEI Manager". */
  subject: string;
  /** "DNS:x", "IP:127.0.0.1" (v4 and v6), "URI:spiffe://td/ns/x", "email:a@b". */
  sans?: string[];
  /**
   * extendedKeyUsage serverAuth ('server'), clientAuth ('client') or both ('both', the default); 'v1' makes a
   * version 1 certificate with no extensions at all, as `openssl x509 -req` without `-extfile` does.
   */
  usage?: Usage;
  /** EKU OIDs or names (serverAuth, clientAuth, codeSigning, emailProtection, ...) replacing usage's; [] = no EKU. */
  extendedKeyUsage?: string[];
  /** Default: now - 5 minutes. */
  notBefore?: Date;
  /** Default: `days` after notBefore when notBefore is given, else `days` from now. */
  notAfter?: Date;
  /** Default 365. */
  days?: number;
  /** Default p384. */
  keyType?: KeyType;
}

export interface CaOptions {
  subject: string;
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  keyType?: KeyType;
}

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;
/** Back-dating of notBefore (and CRL thisUpdate), for clocks a little behind. */
export const BACKDATE_MS = 5 * 60_000;

const EKU_NAMES: Record<string, string> = {
  serverauth: x509.ExtendedKeyUsage.serverAuth,
  clientauth: x509.ExtendedKeyUsage.clientAuth,
  codesigning: x509.ExtendedKeyUsage.codeSigning,
  emailprotection: x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocspsigning: x509.ExtendedKeyUsage.ocspSigning,
};

function validity(o: { notBefore?: Date; notAfter?: Date; days?: number }): {
  notBefore: Date;
  notAfter: Date;
} {
  const now = Date.now();
  const days = o.days ?? 365;
  if (!(Number.isFinite(days) && days > 0)) throw new Error(`days must be a positive number, not ${days}`);
  const notBefore = o.notBefore ?? new Date(now - BACKDATE_MS);
  const notAfter = o.notAfter ?? new Date((o.notBefore ? o.notBefore.getTime() : now) + days * DAY_MS);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new Error('notBefore and notAfter must be valid dates');
  }
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new Error(
      `notAfter (${notAfter.toISOString()}) must be after notBefore (${notBefore.toISOString()})`,
    );
  }
  return { notBefore, notAfter };
}

/** 16 random bytes, a positive DER INTEGER of exactly 16 bytes (first byte 0x01..0x7f). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0] & 0x7f || 0x01;
  return b.toString('hex');
}

function pem(cert: x509.X509Certificate): string {
  return toPem(cert.rawData, 'CERTIFICATE');
}

function subjectName(subject: string): x509.Name {
  return new x509.Name(parseSubject(subject));
}

export interface LoadedCa {
  cert: x509.X509Certificate;
  nodeCert: NodeX509Certificate;
  signing: SigningKey;
  /** Subject key identifier of the CA (hex): its SKI extension, else computed from its key. */
  keyId: string;
}

/** Parses a CA certificate and key, checking that they belong together and that the certificate may sign. */
export async function loadCa(ca: CaMaterial): Promise<LoadedCa> {
  let nodeCert: NodeX509Certificate;
  let cert: x509.X509Certificate;
  try {
    nodeCert = new NodeX509Certificate(ca.certPem);
    cert = new x509.X509Certificate(ca.certPem);
  } catch (err) {
    throw new Error(`the CA certificate is not a readable PEM certificate (${(err as Error).message})`, {
      cause: err,
    });
  }
  const signing = await importSigningKey(ca.keyPem).catch((err: Error) => {
    throw new Error(`the CA key: ${err.message}`, { cause: err });
  });
  if (!nodeCert.checkPrivateKey(createPrivateKey(ca.keyPem))) {
    throw new Error(
      `the CA key does not belong to the CA certificate (${nodeCert.subject.replace(/\n/g, ', ')})`,
    );
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc && !bc.ca) {
    throw new Error(
      `the certificate ${nodeCert.subject.replace(/\n/g, ', ')} is not a CA (basicConstraints CA:FALSE)`,
    );
  }
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey)).keyId;
  return { cert, nodeCert, signing, keyId };
}

/**
 * A CA: basicConstraints CA:true (critical), keyUsage keyCertSign + cRLSign (critical), SKI. Self-signed (a root),
 * or, with `parent`, an intermediate CA signed by it (with AKI = the parent's SKI).
 */
export async function createCa(opts: CaOptions, parent?: CaMaterial): Promise<Issued> {
  const name = subjectName(opts.subject);
  const { notBefore, notAfter } = validity(opts);
  const keys = await generateKeyPair(opts.keyType ?? 'p384');
  const signer = parent ? await loadCa(parent) : undefined;
  const serialHex = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: name,
    issuer: signer ? signer.cert.subjectName : name,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer ? signer.signing.key : keys.signing.key,
    signingAlgorithm: signer ? signer.signing.algorithm : keys.signing.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(signer ? [new x509.AuthorityKeyIdentifierExtension(signer.keyId)] : []),
    ],
  });
  return { certPem: pem(cert), keyPem: keys.keyPem, serialHex };
}

function extendedKeyUsages(opts: IssueOptions): string[] {
  if (opts.extendedKeyUsage) {
    return opts.extendedKeyUsage.map((u) => {
      if (/^\d+(\.\d+)+$/.test(u)) return u;
      const oid = EKU_NAMES[u.toLowerCase()];
      if (!oid) {
        throw new Error(
          `unknown extended key usage ${JSON.stringify(u)} (use serverAuth, clientAuth, codeSigning, ` +
            'emailProtection, timeStamping, ocspSigning or a dotted OID)',
        );
      }
      return oid;
    });
  }
  switch (opts.usage ?? 'both') {
    case 'server':
      return [x509.ExtendedKeyUsage.serverAuth];
    case 'client':
      return [x509.ExtendedKeyUsage.clientAuth];
    case 'both':
      return [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
    default:
      throw new Error(`unknown usage ${JSON.stringify(opts.usage)} (use server, client, both or v1)`);
  }
}

/** The part of @peculiar/x509's Certificate ASN.1 object that a version 1 certificate changes. */
interface CertificateAsn {
  tbsCertificate: { version: number; extensions?: unknown };
  signatureValue: ArrayBuffer;
}

/**
 * Re-signs `draft` as a version 1 certificate with no extensions field (@peculiar/x509 always writes version 3,
 * with an empty extensions SEQUENCE when given none).
 */
async function asVersion1(draft: x509.X509Certificate, signing: SigningKey): Promise<x509.X509Certificate> {
  const asn = asnOf<CertificateAsn>(draft);
  asn.tbsCertificate.version = 0; // v1 is the DEFAULT, so DER omits the field
  asn.tbsCertificate.extensions = undefined;
  asn.signatureValue = await signTbs(asn.tbsCertificate, signing);
  return new x509.X509Certificate(derOf(asn));
}

/** A certificate for a new key, signed by `ca`, with a random positive 16-byte serial and AKI = the CA's SKI. */
export async function issueCert(ca: CaMaterial, opts: IssueOptions): Promise<Issued> {
  const name = subjectName(opts.subject);
  const sans: JsonSan[] = (opts.sans ?? []).map(parseSan);
  const usage = opts.usage ?? 'both';
  const v1 = usage === 'v1';
  if (v1 && (sans.length > 0 || opts.extendedKeyUsage)) {
    throw new Error(
      'a v1 certificate has no extensions: it cannot carry subject alternative names or key usages',
    );
  }
  const ekus = v1 ? [] : extendedKeyUsages(opts);
  const { notBefore, notAfter } = validity(opts);
  const issuer = await loadCa(ca);
  const keys = await generateKeyPair(opts.keyType ?? 'p384');
  const extensions: x509.Extension[] = [];
  if (!v1) {
    extensions.push(
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        keys.signing.kind === 'rsa'
          ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
          : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    );
    if (ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ekus, false));
    if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
    extensions.push(
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
    );
  }
  const serialHex = randomSerial();
  let cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: name,
    issuer: issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.signing.key,
    signingAlgorithm: issuer.signing.algorithm,
    extensions,
  });
  if (v1) cert = await asVersion1(cert, issuer.signing);
  return { certPem: pem(cert), keyPem: keys.keyPem, serialHex };
}

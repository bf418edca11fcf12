/**
 * DER helpers on top of @peculiar/x509's own ASN.1 classes, for the few structures its generators cannot be told
 * to write: a version 1 certificate (they always write version 3, with an empty extensions SEQUENCE when given no
 * extensions), CRL entries without an empty crlEntryExtensions SEQUENCE, and the cRLNumber INTEGER.
 */
import { webcrypto } from 'node:crypto';
import type { SigningKey } from './keys.js';
import { x509 } from './x509.js';

/** Wraps an ASN.1 object of @peculiar/x509 (from a parsed certificate or CRL) to get its DER encoding. */
class AsnBlob extends x509.AsnData<object> {
  protected onInit(): void {}
}

/** The DER encoding of an ASN.1 object of @peculiar/x509. */
export function derOf(asn: object): ArrayBuffer {
  return new AsnBlob(asn).rawData;
}

/** The ASN.1 object behind a parsed @peculiar/x509 certificate or CRL (a protected field of AsnData). */
export function asnOf<T>(data: x509.X509Certificate | x509.X509Crl): T {
  return (data as unknown as { asn: T }).asn;
}

/** Signs the DER of `tbs` and returns the signature as X.509 carries it (DER ECDSA-Sig-Value for ECDSA). */
export async function signTbs(tbs: object, signing: SigningKey): Promise<ArrayBuffer> {
  const signature = await webcrypto.subtle.sign(signing.algorithm, signing.key, derOf(tbs));
  if (signing.kind === 'rsa') return signature;
  const der = new x509.AsnEcSignatureFormatter().toAsnSignature(signing.algorithm, signature);
  if (!der) throw new Error('cannot encode the ECDSA signature');
  return der;
}

/**
 * The DER encoding of a non-negative INTEGER (the cRLNumber value; @peculiar/x509 has no class for that
 * extension): tag 0x02, short-form length, big-endian two's complement.
 */
export function derInteger(n: number): Uint8Array {
  let hex = BigInt(n).toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/** Reads a DER INTEGER written by derInteger (undefined for anything else or beyond 2^53). */
export function parseDerInteger(der: ArrayBuffer): number | undefined {
  const b = Buffer.from(der);
  if (b.length < 3 || b[0] !== 0x02 || b[1] !== b.length - 2 || b[2] & 0x80) return undefined;
  const n = BigInt('0x' + b.subarray(2).toString('hex'));
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

/** PEM with the label openssl expects and a final newline. */
export function toPem(der: ArrayBuffer, label: 'CERTIFICATE' | 'X509 CRL'): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

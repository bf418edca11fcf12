/**
 * A development PKI: a CA, server and client certificates signed by it, and CRLs, as PEM text (PKCS#8 keys). Used
 * by `tei-router certs` and by tests that need certificates. Built on @peculiar/x509 with Node's WebCrypto.
 */
export type { KeyType } from './keys.js';
export { KEY_TYPES } from './keys.js';
export type { CaMaterial, CaOptions, IssueOptions, Issued, Usage } from './issue.js';
export { createCa, issueCert } from './issue.js';
export type { CrlInfo, CrlOptions, RevokedEntry } from './crl.js';
export { createCrl, normalizeSerial, readCrl, readCrlSerials, verifyCrl } from './crl.js';

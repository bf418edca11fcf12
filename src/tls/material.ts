/**
 * TLS material for one listener: the files a policy names (server cert chain + key, client CA bundle, CRL, SNI
 * certs) read, checked and turned into secure contexts. Loading is all-or-nothing: a file that is unreadable, not
 * PEM, or a key that does not match its certificate fails the whole load with ROUTER_ERR_TLS_MATERIAL naming the
 * file, so a bad rotation never replaces good material.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { SniEntry, TlsPolicyConfig } from '../config.js';
import { RouterError } from '../errors.js';
import { readCrl, verifyCrl } from '../pki/index.js';

/** A loaded certificate, for expiry metrics and logs. */
export interface LoadedCert {
  /** 'server', 'ca', 'sni:<name>', 'backend-client', 'backend-ca' */
  role: string;
  path: string;
  subject: string;
  serial: string;
  notAfter: Date;
}

export interface ListenerMaterial {
  /** Options for the default context (also given to tls.createServer). */
  options: tls.SecureContextOptions;
  /** Per SNI name: a context with that name's cert/key and the same client CA and CRL. */
  sni: Map<string, tls.SecureContext>;
  certs: LoadedCert[];
  /** The raw bytes of every file read, by path: the watcher compares against them. */
  files: Map<string, Buffer>;
  /** The server certificate's serial (lowercase hex), for logs. */
  serial: string;
  /** The client CAs (ca_path). */
  cas: X509Certificate[];
  /** Serials revoked by crl_path, per issuing CA (by the CA's SHA-256 fingerprint). */
  revoked: Map<string, Set<string>>;
}

function fail(message: string, cause?: unknown): RouterError {
  return new RouterError('ROUTER_ERR_TLS_MATERIAL', message, { cause });
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle, parsed; throws naming the file when there is none or one is corrupt. */
export function parseCertBundle(pem: Buffer, path: string, what: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  if (blocks.length === 0)
    throw fail(`${what} ${path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw fail(`${what} ${path}: certificate ${i + 1} cannot be parsed: ${(err as Error).message}`, err);
    }
  });
}

export function loadedCert(role: string, path: string, c: X509Certificate): LoadedCert {
  return {
    role,
    path,
    subject: c.subject.replace(/\n/g, ','),
    serial: c.serialNumber.toLowerCase(),
    notAfter: new Date(c.validTo),
  };
}

/** A certificate chain and its key: both parse and the key is the certificate's. */
export function checkKeyPair(
  certPem: Buffer,
  keyPem: Buffer,
  certPath: string,
  keyPath: string,
): X509Certificate[] {
  const chain = parseCertBundle(certPem, certPath, 'certificate file');
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw fail(`key file ${keyPath} is not a readable PEM private key: ${(err as Error).message}`, err);
  }
  if (!chain[0].checkPrivateKey(key)) {
    throw fail(
      `key file ${keyPath} does not match certificate ${certPath} (subject ${chain[0].subject.replace(/\n/g, ',')}); ` +
        'rotate both files together',
    );
  }
  return chain;
}

async function read(path: string, what: string, files: Map<string, Buffer>): Promise<Buffer> {
  try {
    const b = await readFile(path);
    files.set(path, b);
    return b;
  } catch (err) {
    throw fail(`cannot read ${what} ${path}: ${(err as Error).message}`, err);
  }
}

/** Reads and checks every file of `policy` (and the SNI entries); throws ROUTER_ERR_TLS_MATERIAL on any problem. */
export async function loadListenerMaterial(
  policy: TlsPolicyConfig,
  sniEntries: readonly SniEntry[],
): Promise<ListenerMaterial> {
  const files = new Map<string, Buffer>();
  const cert = await read(policy.certPath, 'cert_path', files);
  const key = await read(policy.keyPath, 'key_path', files);
  const chain = checkKeyPair(cert, key, policy.certPath, policy.keyPath);
  const certs: LoadedCert[] = [loadedCert('server', policy.certPath, chain[0])];
  const options: tls.SecureContextOptions = { cert, key, minVersion: 'TLSv1.2' };
  let cas: X509Certificate[] = [];
  if (policy.caPath !== undefined) {
    const ca = await read(policy.caPath, 'ca_path', files);
    cas = parseCertBundle(ca, policy.caPath, 'ca_path');
    for (const c of cas) certs.push(loadedCert('ca', policy.caPath, c));
    options.ca = ca;
  }
  const revoked = new Map<string, Set<string>>();
  if (policy.crlPath !== undefined) {
    const crl = await read(policy.crlPath, 'crl_path', files);
    const checked = await checkCrls(crl, policy.crlPath, cas);
    for (const c of checked) {
      revoked.set(c.ca.fingerprint256, new Set(c.serials));
      if (c.nextUpdate) {
        certs.push({
          role: 'crl',
          path: policy.crlPath,
          subject: c.ca.subject.replace(/\n/g, ','),
          serial: c.crlNumber === undefined ? '' : String(c.crlNumber),
          notAfter: c.nextUpdate,
        });
      }
    }
    // one PEM block per array element: given as one Buffer, OpenSSL would read only the first CRL
    options.crl = checked.map((c) => c.pem);
  }
  const context = (o: tls.SecureContextOptions, what: string) => {
    try {
      return tls.createSecureContext(o);
    } catch (err) {
      throw fail(`${what}: OpenSSL refused the material: ${(err as Error).message}`, err);
    }
  };
  context(options, `TLS material (${policy.certPath})`);
  const sni = new Map<string, tls.SecureContext>();
  for (const e of sniEntries) {
    const sCert = await read(e.certPath, `tls.sni "${e.serverName}" cert_path`, files);
    const sKey = await read(e.keyPath, `tls.sni "${e.serverName}" key_path`, files);
    const sChain = checkKeyPair(sCert, sKey, e.certPath, e.keyPath);
    certs.push(loadedCert(`sni:${e.serverName}`, e.certPath, sChain[0]));
    sni.set(e.serverName, context({ ...options, cert: sCert, key: sKey }, `tls.sni "${e.serverName}"`));
  }
  return { options, sni, certs, files, serial: chain[0].serialNumber.toLowerCase(), cas, revoked };
}

const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

interface CheckedCrl {
  pem: string;
  ca: X509Certificate;
  serials: string[];
  nextUpdate: Date | undefined;
  crlNumber: number | undefined;
}

/**
 * Every CRL of a crl_path file, checked before use: it parses, a CA of ca_path signed it, and it has not expired
 * (past its nextUpdate OpenSSL refuses every client certificate of that CA). A CRL that fails any check fails the
 * load, so a bad rotation keeps the previous material instead of locking every client out.
 */
async function checkCrls(file: Buffer, path: string, cas: X509Certificate[]): Promise<CheckedCrl[]> {
  if (cas.length === 0)
    throw fail(`crl_path ${path} needs ca_path: a CRL is checked against the CA that issued it`);
  const blocks = file.toString('utf8').match(PEM_CRL) ?? [];
  if (blocks.length === 0) throw fail(`crl_path ${path} holds no PEM CRL ("-----BEGIN X509 CRL-----")`);
  const out: CheckedCrl[] = [];
  for (const [i, pem] of blocks.entries()) {
    const where = `crl_path ${path}, CRL ${i + 1} of ${blocks.length}`;
    let info: ReturnType<typeof readCrl>;
    try {
      info = readCrl(pem);
    } catch (err) {
      throw fail(`${where} cannot be parsed: ${(err as Error).message}`, err);
    }
    let ca: X509Certificate | undefined;
    for (const c of cas) {
      if (await verifyCrl(pem, c.toString())) {
        ca = c;
        break;
      }
    }
    if (!ca) {
      throw fail(
        `${where} (issuer ${info.issuer}) is not signed by a CA in ca_path: publish the CRL of your client CA`,
      );
    }
    if (info.nextUpdate && info.nextUpdate.getTime() < Date.now()) {
      throw fail(
        `${where} (issuer ${info.issuer}) expired at its nextUpdate ${info.nextUpdate.toISOString()}: publish a fresh CRL`,
      );
    }
    out.push({
      pem,
      ca,
      serials: info.entries.map((e) => e.serialHex),
      nextUpdate: info.nextUpdate,
      crlNumber: info.crlNumber,
    });
  }
  // with a CRL set, OpenSSL checks every CA of a client's chain against a CRL: one missing locks its clients out
  const missing = cas.filter((ca) => !out.some((c) => c.ca === ca));
  if (missing.length > 0) {
    throw fail(
      `crl_path ${path} has no CRL from ${missing.map((c) => c.subject.replace(/\n/g, ',')).join('; ')} of ca_path: ` +
        'every CA of a client chain needs its CRL there (OpenSSL refuses clients otherwise)',
    );
  }
  return out;
}

/** The SNI context for `servername`: an exact entry, else a `*.domain` entry matching one label, else undefined. */
export function sniContext(
  contexts: ReadonlyMap<string, tls.SecureContext>,
  servername: string,
): tls.SecureContext | undefined {
  const name = servername.toLowerCase().replace(/\.$/, '');
  const exact = contexts.get(name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  return dot > 0 ? contexts.get('*' + name.slice(dot)) : undefined;
}

/**
 * The router's own TLS material towards backends (`backend.tls.*`): the CA that https:// and grpcs:// backends are
 * verified against and the client certificate presented to backends behind mTLS. Read once at startup and checked
 * like the listeners' files (a key that does not match its certificate stops startup).
 */
import { readFile } from 'node:fs/promises';
import type { BackendTlsConfig } from '../config.js';
import type { BackendTls } from '../backend/types.js';
import { RouterError } from '../errors.js';
import { checkKeyPair, loadedCert, parseCertBundle } from './material.js';
import type { LoadedCert } from './material.js';

async function read(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new RouterError(
      'ROUTER_ERR_TLS_MATERIAL',
      `cannot read ${key} ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export async function loadBackendTls(
  cfg: BackendTlsConfig,
): Promise<{ tls: BackendTls | undefined; certs: LoadedCert[] }> {
  const tls: BackendTls = {};
  const certs: LoadedCert[] = [];
  if (cfg.caPath !== undefined) {
    const ca = await read(cfg.caPath, 'backend.tls.ca_path');
    for (const c of parseCertBundle(ca, cfg.caPath, 'backend.tls.ca_path')) {
      certs.push(loadedCert('backend-ca', cfg.caPath, c));
    }
    tls.ca = ca.toString('utf8');
  }
  if (cfg.certPath !== undefined && cfg.keyPath !== undefined) {
    const cert = await read(cfg.certPath, 'backend.tls.cert_path');
    const key = await read(cfg.keyPath, 'backend.tls.key_path');
    const chain = checkKeyPair(cert, key, cfg.certPath, cfg.keyPath);
    certs.push(loadedCert('backend-client', cfg.certPath, chain[0]));
    tls.cert = cert.toString('utf8');
    tls.key = key.toString('utf8');
  }
  return { tls: Object.keys(tls).length > 0 ? tls : undefined, certs };
}

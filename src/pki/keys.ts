/** Key pairs for the dev PKI: generation in WebCrypto, PKCS#8 PEM out, and CA keys of any common PEM form in. */
import { KeyObject, createPrivateKey, webcrypto } from 'node:crypto';

export type KeyType = 'p384' | 'rsa4096' | 'rsa2048';

export const KEY_TYPES: readonly KeyType[] = ['p384', 'rsa4096', 'rsa2048'];

/** A WebCrypto algorithm for signing: the key's algorithm plus the hash it signs with. */
export interface SigningAlgorithm {
  name: 'ECDSA' | 'RSASSA-PKCS1-v1_5';
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512';
  namedCurve?: 'P-256' | 'P-384' | 'P-521';
}

export interface SigningKey {
  key: webcrypto.CryptoKey;
  algorithm: SigningAlgorithm;
  /** 'ec' or 'rsa', for choosing the key usages of certificates for this key. */
  kind: 'ec' | 'rsa';
}

function generationAlgorithm(type: KeyType): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  switch (type) {
    case 'p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'rsa2048':
    case 'rsa4096':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: type === 'rsa4096' ? 4096 : 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** Generates a key pair; `keyPem` is its private key as PKCS#8 PEM. */
export async function generateKeyPair(type: KeyType): Promise<{
  publicKey: webcrypto.CryptoKey;
  privateKey: webcrypto.CryptoKey;
  keyPem: string;
  signing: SigningKey;
}> {
  if (!KEY_TYPES.includes(type)) {
    throw new Error(`unknown key type ${JSON.stringify(type)}; expected one of ${KEY_TYPES.join(', ')}`);
  }
  const pair = (await webcrypto.subtle.generateKey(generationAlgorithm(type), true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const keyPem = KeyObject.from(pair.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  const signing: SigningKey =
    type === 'p384'
      ? {
          key: pair.privateKey,
          algorithm: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
          kind: 'ec',
        }
      : { key: pair.privateKey, algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, kind: 'rsa' };
  return { publicKey: pair.publicKey, privateKey: pair.privateKey, keyPem, signing };
}

const CURVES: Record<string, { namedCurve: 'P-256' | 'P-384' | 'P-521'; hash: SigningAlgorithm['hash'] }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/**
 * Imports a private key for signing from PEM: PKCS#8 ("PRIVATE KEY"), or the SEC1 ("EC PRIVATE KEY") and PKCS#1
 * ("RSA PRIVATE KEY") forms openssl writes. EC keys on P-256/P-384/P-521 sign with SHA-256/384/512; RSA keys
 * with RSASSA-PKCS1-v1_5 and SHA-256.
 */
export async function importSigningKey(keyPem: string): Promise<SigningKey> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`not a readable unencrypted PEM private key (${(err as Error).message})`, { cause: err });
  }
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) {
      throw new Error(
        `EC keys on ${keyObject.asymmetricKeyDetails?.namedCurve ?? 'this curve'} are not supported (use P-256, P-384 or P-521)`,
      );
    }
    const key = await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: 'ECDSA', namedCurve: curve.namedCurve },
      false,
      ['sign'],
    );
    return { key, algorithm: { name: 'ECDSA', namedCurve: curve.namedCurve, hash: curve.hash }, kind: 'ec' };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    // @peculiar/x509 takes the hash from the key's own algorithm, so the key is imported with SHA-256.
    const key = await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    return { key, algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, kind: 'rsa' };
  }
  throw new Error(`${keyObject.asymmetricKeyType ?? 'this'} keys are not supported (use an EC or RSA key)`);
}

/**
 * The one place that loads @peculiar/x509. Its dependency injection (tsyringe) needs the Reflect metadata polyfill
 * loaded first, and it signs with whatever WebCrypto provider is set: Node's own, here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };

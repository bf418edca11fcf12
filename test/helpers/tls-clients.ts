/**
 * TLS clients for the mTLS tests: one request over HTTP/1.1, HTTP/2 or gRPC with an optional client certificate,
 * answered as an outcome (a status, or the transport error when the connection was refused).
 */
import https from 'node:https';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { grpcClient, unary } from './sim.js';

export interface ClientCert {
  certPem: string;
  keyPem: string;
}

export type Outcome =
  { kind: 'answered'; status: number; body: string; code?: string } | { kind: 'refused'; error: string };

export interface TlsTarget {
  port: number;
  ca: string;
  /** SNI / hostname checked against the server certificate (default localhost). */
  servername?: string;
}

const creds = (c: ClientCert | null) => (c ? { cert: c.certPem, key: c.keyPem } : {});

/** GET `path` over HTTP/1.1 on a fresh connection. */
export function h1Get(t: TlsTarget, path: string, client: ClientCert | null): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: t.port,
        path,
        servername: t.servername ?? 'localhost',
        ca: t.ca,
        ...creds(client),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ kind: 'answered', status: res.statusCode ?? 0, body, code: codeOf(body) }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ kind: 'refused', error: e.message }));
    req.end();
  });
}

/** GET `path` over HTTP/2 (ALPN h2) on a fresh session. */
export function h2Get(t: TlsTarget, path: string, client: ClientCert | null): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${t.port}`, {
      servername: t.servername ?? 'localhost',
      ca: t.ca,
      ...creds(client),
    });
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      session.destroy();
      resolve(o);
    };
    session.on('error', (e) => finish({ kind: 'refused', error: e.message }));
    session.setTimeout(10_000, () => finish({ kind: 'refused', error: 'timed out' }));
    const req = session.request({ ':path': path });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    const ended = () =>
      finish(
        status === 0
          ? { kind: 'refused', error: 'the connection closed without a response' }
          : { kind: 'answered', status, body, code: codeOf(body) },
      );
    req.on('end', ended);
    req.on('close', ended);
    req.on('error', (e) => finish({ kind: 'refused', error: e.message }));
    session.on('close', ended);
    req.end();
  });
}

/** tei_multiplexer.v1 Info on `model`; a gRPC status other than OK is `answered` with that code as status. */
export async function grpcInfo(t: TlsTarget, model: string, client: ClientCert | null): Promise<Outcome> {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(t.ca),
    client ? Buffer.from(client.keyPem) : null,
    client ? Buffer.from(client.certPem) : null,
  );
  const c = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `localhost:${t.port}`, credentials, {
    ...(t.servername
      ? { 'grpc.ssl_target_name_override': t.servername, 'grpc.default_authority': t.servername }
      : {}),
  });
  try {
    const md = new grpc.Metadata();
    const r = await unary<{ model_id: string }>(c, 'Info', { target: { model_id: model } }, md);
    return { kind: 'answered', status: grpc.status.OK, body: JSON.stringify(r.res) };
  } catch (e) {
    const err = e as grpc.ServiceError;
    // a refused handshake surfaces as UNAVAILABLE with the TLS error in the details
    if (err.code === grpc.status.UNAVAILABLE) return { kind: 'refused', error: err.details };
    const code = err.metadata?.get('x-tei-router-error')[0];
    return { kind: 'answered', status: err.code, body: err.details, code: code ? String(code) : undefined };
  } finally {
    c.close();
  }
}

function codeOf(body: string): string | undefined {
  try {
    const o = JSON.parse(body) as { code?: unknown };
    return typeof o.code === 'string' ? o.code : undefined;
  } catch {
    return undefined;
  }
}

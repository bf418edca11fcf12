/**
 * One port for HTTP/1.1 and HTTP/2. Plaintext, as TEI's hyper server offers: the first bytes of each connection pick
 * HTTP/1.1 or HTTP/2 with prior knowledge (h2c). Over TLS (`acceptTls`, fed by the listener's TLS front): ALPN picks
 * h2 or HTTP/1.1. Both reach one handler through Node's http / http2-compat APIs.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface DualServer {
  /** The plaintext listener (unused when the port serves TLS). */
  server: net.Server;
  /** Serves one decrypted TLS connection: h2 when ALPN chose it, else HTTP/1.1. */
  acceptTls(socket: tls.TLSSocket): void;
  /** Ends every open connection (for shutdown; `server.close()` alone waits for keep-alive clients). */
  destroyConnections(): void;
  /**
   * Graceful shutdown: HTTP/2 sessions get GOAWAY (their open streams finish), idle HTTP/1.1 keep-alive connections
   * are closed and busy ones get `connection: close` on their answer. Resolves when no request is in flight.
   */
  drain(): Promise<void>;
}

export function createH1H2cServer(onRequest: (req: AnyRequest, res: AnyResponse) => void): DualServer {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  const counted = (req: AnyRequest, res: AnyResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (draining && inFlight === 0) drained?.();
    });
    if (draining && 'shouldKeepAlive' in res) res.shouldKeepAlive = false;
    onRequest(req, res);
  };
  const h1 = http.createServer(counted);
  h1.keepAliveTimeout = 60_000;
  const h2 = http2.createServer(counted);
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (session: http2.Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('readable', () => {
      const head: Buffer | null = socket.read(Math.min(H2_PREFACE.length, socket.readableLength));
      if (head === null) return socket.destroy();
      socket.unshift(head);
      const isH2 = head.length >= 3 && H2_PREFACE.subarray(0, head.length).equals(head);
      (isH2 ? h2 : h1).emit('connection', socket);
    });
  });
  return {
    server,
    acceptTls: (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      (socket.alpnProtocol === 'h2' ? h2 : h1).emit('connection', socket);
    },
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
    },
    drain: () => {
      draining = true;
      for (const s of sessions) s.close();
      h1.closeIdleConnections();
      return inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
    },
  };
}

/**
 * One plaintext port for HTTP/1.1 and HTTP/2 with prior knowledge (h2c), as TEI's hyper server offers: the first
 * bytes of each connection pick the protocol. Both reach one handler through Node's http / http2-compat APIs.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface DualServer {
  server: net.Server;
  /** Ends every open connection (for shutdown; `server.close()` alone waits for keep-alive clients). */
  destroyConnections(): void;
}

export function createH1H2cServer(onRequest: (req: AnyRequest, res: AnyResponse) => void): DualServer {
  const h1 = http.createServer(onRequest);
  h1.keepAliveTimeout = 60_000;
  const h2 = http2.createServer(onRequest);
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
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

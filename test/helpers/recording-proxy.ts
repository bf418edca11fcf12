/** An HTTP pass-through to a backend that records each request's path and headers (what the router sends). */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

function withoutHost(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const { host: _host, ...rest } = h;
  return rest;
}

/** An HTTP pass-through to `target` that records each request's path and x-forwarded-client-cert header. */
export async function recordingProxy(
  target: string,
  seen: Array<{ url: string; xfcc: string | undefined; traceparent?: string }>,
): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    seen.push({
      url: req.url ?? '',
      xfcc: req.headers['x-forwarded-client-cert'] as string | undefined,
      traceparent: req.headers.traceparent as string | undefined,
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const up = http.request(
        target + (req.url ?? ''),
        { method: req.method, headers: withoutHost(req.headers) },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * One gRPC call made directly on node:http2, for the hot RPC (tei.v1.Embed/EmbedStream): the request body (every
 * message, already framed) written at once, the response body handed over chunk by chunk as it arrives, the status
 * read from the trailers. grpc-js spends a stream event, an interceptor pass and a serializer call on every message
 * in both directions, which for a 1,000-text batch was most of a worker's CPU (see README, Native addon); this does
 * the same call with one write and one event per DATA chunk.
 *
 * What it keeps of gRPC over HTTP/2: `content-type: application/grpc`, `te: trailers`, the deadline as
 * `grpc-timeout` and enforced here too, cancellation as RST_STREAM(CANCEL), trailers-only answers, a non-200 HTTP
 * status mapped as the gRPC spec says (a gRPC status, when there is one, wins), `grpc-message` percent-decoded, a
 * refused stream tried once more on a new session. Failures reject as grpc-js ServiceError-shaped errors (`code`,
 * `details`) with the codes grpc-js gives (streamEnd), so that grpc-errors.ts maps both clients alike: a connection
 * that cannot be made or is lost is UNAVAILABLE; a stream the server resets or ends without a status is not.
 *
 * One HTTP/2 session per client, opened on first use and again after it closes or the peer sends GOAWAY. The session
 * keeps the process alive only while a call is in flight.
 */
import http2 from 'node:http2';
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { BackendTls } from './types.js';

/** A failed call, shaped like grpc-js's ServiceError. */
export type GrpcCallError = Error & { code: Status; details: string; metadata: Metadata };

export function grpcCallError(code: Status, details: string): GrpcCallError {
  return Object.assign(new Error(`${code} ${Status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

/** gRPC's `grpc-timeout` value: at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  const s = Math.ceil(whole / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}

/** The gRPC status for an HTTP status other than 200 (gRPC's "HTTP to gRPC Status Code Mapping"). */
function statusOfHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Why a stream ended without a gRPC status, as grpc-js reports it: a connection that failed or was lost is
 * UNAVAILABLE (the replica, not the request); a reset by the server is mapped from its RST_STREAM code, and a stream
 * that simply ended without a status is INTERNAL (a protocol error of the server).
 */
function streamEnd(
  rst: number,
  connectionLost: boolean,
  cause: (Error & { code?: string }) | undefined,
): Error {
  const c = http2.constants;
  // an error of the session or socket (refused, TLS, reset, a pending stream cancelled), not of this stream
  if (cause && cause.code !== 'ERR_HTTP2_STREAM_ERROR')
    return grpcCallError(Status.UNAVAILABLE, cause.message);
  if (connectionLost) return grpcCallError(Status.UNAVAILABLE, 'Connection dropped');
  switch (rst) {
    case c.NGHTTP2_NO_ERROR:
      return grpcCallError(Status.INTERNAL, 'the stream ended without a gRPC status');
    case c.NGHTTP2_CANCEL:
      return grpcCallError(Status.CANCELLED, 'Call cancelled by the server');
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return grpcCallError(Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return grpcCallError(Status.PERMISSION_DENIED, 'Protocol not secure enough');
    default:
      return grpcCallError(Status.INTERNAL, `Received RST_STREAM with code ${rst}`);
  }
}

function header(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface GrpcH2Call {
  /** `/package.Service/Method`. */
  path: string;
  /** Custom metadata (lower-case names), e.g. authorization, traceparent. */
  metadata: Record<string, string>;
  /** The framed request messages. */
  body: Uint8Array;
  /** Epoch ms: sent as grpc-timeout, and the call fails with DEADLINE_EXCEEDED when it passes. */
  deadline: number;
  /** Aborting it cancels the call (CANCELLED). */
  signal: AbortSignal;
  /** Each DATA chunk of the response body, in order; a throw fails the call with that error and cancels it. */
  onData: (chunk: Buffer) => void;
}

export class GrpcH2Client {
  private session: http2.ClientHttp2Session | undefined;
  /** Calls in flight per session (an old session can still finish calls after a GOAWAY). */
  private readonly inFlight = new WeakMap<http2.ClientHttp2Session, number>();
  private closed = false;

  /**
   * @param origin `http://host:port` (plaintext, prior knowledge) or `https://host:port` (TLS, h2 by ALPN).
   */
  constructor(
    private readonly origin: string,
    private readonly tls: BackendTls | undefined,
  ) {}

  private open(): http2.ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const tls = this.tls;
    const session = http2.connect(this.origin, tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {});
    // held open only while calls are in flight (track)
    session.unref();
    // a session's failure reaches its streams, which report it; without a listener it would end the process
    session.on('error', () => undefined);
    session.once('close', () => this.forget(session));
    // the peer is going away: calls in flight finish, new ones open a new session
    session.once('goaway', () => this.forget(session));
    this.session = session;
    return session;
  }

  private forget(session: http2.ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
  }

  /** Holds the process open while calls are in flight, and only then. */
  private track(delta: number, session: http2.ClientHttp2Session): void {
    const n = (this.inFlight.get(session) ?? 0) + delta;
    this.inFlight.set(session, n);
    if (n > 0) session.ref();
    else session.unref();
  }

  call(c: GrpcH2Call): Promise<void> {
    return this.attempt(c, true);
  }

  /**
   * One try of a call. A stream the server refuses before answering (RST_STREAM REFUSED_STREAM: it did not process
   * it, e.g. while going away) is tried once more on a new session, as grpc-js does.
   */
  private attempt(c: GrpcH2Call, mayRetry: boolean): Promise<void> {
    if (this.closed) return Promise.reject(grpcCallError(Status.UNAVAILABLE, 'the client is closed'));
    if (c.signal.aborted) return Promise.reject(grpcCallError(Status.CANCELLED, 'Cancelled on client'));
    return new Promise<void>((resolve, reject) => {
      let session: http2.ClientHttp2Session | undefined;
      let stream: http2.ClientHttp2Stream;
      try {
        session = this.open();
        stream = session.request({
          ':method': 'POST',
          ':path': c.path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': grpcTimeout(c.deadline - Date.now()),
          ...c.metadata,
        });
      } catch (err) {
        const e = err as Error & { code?: string };
        // node destroys a session whose request it refuses: the next call opens a new one
        if (session && (session.closed || session.destroyed)) this.forget(session);
        // a header HTTP/2 does not allow is this call's fault; otherwise the session was closing under us (between
        // its GOAWAY and our noticing)
        const local = /^ERR(_HTTP2)?_INVALID/.test(e.code ?? '') || !(session?.closed || session?.destroyed);
        reject(grpcCallError(local ? Status.INTERNAL : Status.UNAVAILABLE, e.message));
        return;
      }
      const owner = session;
      this.track(1, owner);
      let settled = false;
      let received = 0;
      let httpStatus: number | undefined;
      let grpcStatus: number | undefined;
      let grpcMessage = '';
      let streamError: (Error & { code?: string }) | undefined;
      const settle = (err?: Error, retry?: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        c.signal.removeEventListener('abort', onAbort);
        this.track(-1, owner);
        if (retry) resolve(this.attempt(c, false));
        else if (err) reject(err);
        else resolve();
      };
      const fail = (err: Error) => {
        settle(err);
        if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const onAbort = () => fail(grpcCallError(Status.CANCELLED, 'Cancelled on client'));
      const timer = setTimeout(
        () => fail(grpcCallError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')),
        Math.max(1, c.deadline - Date.now()),
      );
      c.signal.addEventListener('abort', onAbort, { once: true });
      const readStatus = (h: http2.IncomingHttpHeaders) => {
        const s = header(h, 'grpc-status');
        if (s === undefined) return;
        grpcStatus = Number(s);
        grpcMessage = percentDecode(header(h, 'grpc-message') ?? '');
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        readStatus(h); // a trailers-only answer carries its status here
      });
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => {
        // the body of a non-200 answer (a proxy's error page) is not gRPC
        if (settled || httpStatus !== 200) return;
        received += chunk.length;
        try {
          c.onData(chunk);
        } catch (err) {
          fail(err as Error);
        }
      });
      // decided at 'close', which always follows
      stream.on('error', (err: Error) => (streamError = err));
      stream.on('close', () => {
        if (settled) return;
        // a gRPC status wins over the HTTP status, as in grpc-js
        if (grpcStatus !== undefined) {
          settle(grpcStatus === Status.OK ? undefined : grpcCallError(grpcStatus, grpcMessage));
          return;
        }
        if (httpStatus !== undefined && httpStatus !== 200) {
          settle(grpcCallError(statusOfHttp(httpStatus), `Received HTTP status code ${httpStatus}`));
          return;
        }
        const rst = stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR;
        if (rst === http2.constants.NGHTTP2_REFUSED_STREAM) {
          // not processed by the server: the session is going away, or is not one to use now
          this.forget(owner);
          if (!owner.closed && !owner.destroyed) owner.close();
          settle(
            grpcCallError(Status.UNAVAILABLE, 'Stream refused by server'),
            mayRetry && received === 0 && !c.signal.aborted,
          );
          return;
        }
        settle(streamEnd(rst, owner.destroyed, streamError));
      });
      stream.end(c.body);
    });
  }

  close(): void {
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    s?.close();
  }
}

/**
 * grpc-js handler shapes for the router's services, written once: a unary call (x-* initial metadata like TEI),
 * an ordered bidi stream (items run concurrently, answers leave in request order, the first error ends the stream
 * with its status, like TEI's stream handler), and a client stream collected into one answer (RerankStream).
 * A cancelled call aborts its work and is not answered.
 */
import type { EventEmitter } from 'node:events';
import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { metadataHeaders } from '../../tei/types.js';
import type { Msg } from './messages.js';
import type { Reply } from './ops.js';
import { toStatus } from './status.js';
import { runInScope } from '../../request-scope.js';
import { scopeOf } from './client.js';

/** A call's work for one request message (routing included: it may reject with a routing error). */
export type Handler = (req: Msg, metadata: grpc.Metadata, signal: AbortSignal) => Promise<Reply>;

/** Per stream, at most this many messages in flight (TEI's GRPC_MAX_PARALLEL_STREAM_REQUESTS default). */
export const MAX_PARALLEL_STREAM_REQUESTS = 1024;

function cancellation(call: EventEmitter): AbortController {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort(new Error('the client cancelled the call')));
  return abort;
}

export function unary(handler: Handler): grpc.handleUnaryCall<Msg, Msg> {
  return (call, callback) => {
    const abort = cancellation(call);
    runInScope(scopeOf(call.metadata), () => handler(call.request ?? {}, call.metadata, abort.signal)).then(
      (reply) => {
        if (reply.meta) {
          const md = new grpc.Metadata();
          for (const [k, v] of Object.entries(metadataHeaders(reply.meta))) md.set(k, v);
          call.sendMetadata(md);
        }
        callback(null, reply.message);
      },
      (err: unknown) => {
        if (!abort.signal.aborted) callback(toStatus(err));
      },
    );
  };
}

export function orderedStream(
  handler: Handler,
  maxParallel = MAX_PARALLEL_STREAM_REQUESTS,
): grpc.handleBidiStreamingCall<Msg, Msg> {
  return (call) => {
    const abort = cancellation(call);
    setMaxListeners(maxParallel + 8, abort.signal);
    let inFlight = 0;
    let failed = false;
    let ended = false;
    let tail: Promise<void> = Promise.resolve();
    const maybeEnd = () => {
      if (ended && inFlight === 0 && !failed) call.end();
    };
    call.on('data', (req: Msg) => {
      if (failed || abort.signal.aborted) return;
      inFlight++;
      if (inFlight >= maxParallel) call.pause();
      // A signal per item, linked to the call's, so that what the work hangs on it is freed with the item.
      const item = new AbortController();
      const onAbort = () => item.abort(abort.signal.reason);
      abort.signal.addEventListener('abort', onAbort, { once: true });
      const result = runInScope(scopeOf(call.metadata), () =>
        handler(req ?? {}, call.metadata, item.signal),
      ).finally(() => abort.signal.removeEventListener('abort', onAbort));
      result.catch(() => undefined);
      tail = tail.then(async () => {
        try {
          const reply = await result;
          if (!failed && !abort.signal.aborted) call.write(reply.message);
        } catch (err) {
          if (!failed && !abort.signal.aborted) {
            failed = true;
            call.emit('error', toStatus(err));
            abort.abort(new Error('an earlier item of the stream failed'));
          }
        } finally {
          inFlight--;
          if (inFlight < maxParallel) call.resume();
          maybeEnd();
        }
      });
    });
    call.on('end', () => {
      ended = true;
      void tail.then(maybeEnd);
    });
  };
}

/** Collects every request message, then answers once. */
export function collected(
  handler: (items: Msg[], metadata: grpc.Metadata, signal: AbortSignal) => Promise<Reply>,
): grpc.handleClientStreamingCall<Msg, Msg> {
  return (call, callback) => {
    const abort = cancellation(call);
    const items: Msg[] = [];
    call.on('data', (req: Msg) => items.push(req ?? {}));
    call.on('end', () => {
      runInScope(scopeOf(call.metadata), () => handler(items, call.metadata, abort.signal)).then(
        (reply) => callback(null, reply.message),
        (err: unknown) => {
          if (!abort.signal.aborted) callback(toStatus(err));
        },
      );
    });
  };
}

/**
 * One backend batch, sent until a replica answers: the one place that decides retries, for the direct path (main
 * thread) and the workers alike. Embeddings are idempotent, so a batch may go to another replica:
 *
 * - a replica that cannot be reached or does not answer in time (ROUTER_ERR_BACKEND_UNAVAILABLE/_TIMEOUT): the next
 *   replica in the policy's order, each tried once, while the shared retry budget allows (retry-budget.ts);
 * - a replica that answers 429 (TEI's queue is full; it did no work): the next replica, free of the budget. When
 *   every replica of the round was full, the batch waits (25 ms, doubling to 400 ms) and goes round again in a
 *   fresh order, until a replica takes it or the next wait would pass the deadline: TEI's 429s are absorbed while
 *   the fleet has room, and reach the client (as TEI's 429) only when it had none until the deadline;
 * - hedging (optional): when the first replica has not answered after its p95 latency, a second copy goes to the
 *   next replica (from the budget); the first answer wins and the other call is cancelled.
 *
 * Each attempt is counted in the shared load counters while in flight and reported (`report`) when it ends.
 */
import type { BackendView } from '../workers/protocol.js';
import type { LoadCounters } from './balance.js';
import { RouterError } from '../errors.js';
import { TeiError } from '../tei/errors.js';
import type { RetryBudget } from './retry-budget.js';
import { retriable } from './retry-budget.js';
import { HEDGE_LOST } from './errors.js';

const REQUEUE_MIN_MS = 25;
const REQUEUE_MAX_MS = 400;

export interface FailoverOptions<R> {
  /** The replicas to try, best first; called again for each round after a full round of 429s. */
  order: () => BackendView[];
  /** The batch's tokens (the load counters' measure). */
  tokens: number;
  load: LoadCounters;
  budget: RetryBudget;
  /** Aborts the whole batch (the request's deadline or the caller). */
  signal: AbortSignal;
  /** Epoch ms: no new round starts after it. */
  deadline: number;
  /** Hedge after the first replica's `hedgeAfterMs` (when its view has one). */
  hedging: boolean;
  /** One call to one replica. */
  call: (view: BackendView, signal: AbortSignal) => Promise<R>;
  /** Every attempt that ended: the replica, its wall time, and its error (undefined: success). */
  report: (view: BackendView, ns: number, error: unknown) => void;
}

function overloaded(err: unknown): boolean {
  return err instanceof TeiError && err.errorType === 'Overloaded';
}

/** Sends the batch (see the file comment); resolves with the first answer, or throws the error that ended it. */
export async function sendWithFailover<R>(o: FailoverOptions<R>): Promise<R> {
  for (let round = 0; ; round++) {
    const order = o.order();
    let allFull = order.length > 0;
    // (made only when needed: an error's stack costs microseconds on every batch otherwise)
    let last: unknown;
    let next = 0;
    const attempt = async (view: BackendView, signal: AbortSignal): Promise<R> => {
      const done = o.load.start(view.index, o.tokens);
      const sent = process.hrtime.bigint();
      o.budget.call();
      try {
        const r = await o.call(view, signal);
        o.report(view, Number(process.hrtime.bigint() - sent), undefined);
        return r;
      } catch (err) {
        o.report(view, Number(process.hrtime.bigint() - sent), err);
        throw err;
      } finally {
        done();
      }
    };
    while (next < order.length) {
      const view = order[next++];
      try {
        const hedge = o.hedging && next < order.length ? view.hedgeAfterMs : undefined;
        return hedge === undefined
          ? await attempt(view, o.signal)
          : await hedged(view, order[next], hedge, attempt, o, () => next++);
      } catch (err) {
        last = err;
        if (o.signal.aborted) throw abortReason(o.signal, err);
        if (!retriable(err)) throw err;
        if (!overloaded(err)) {
          allFull = false;
          if (!o.budget.take()) throw err;
        }
      }
    }
    // every replica was full: wait for room and go round again, within the deadline
    const wait = Math.min(REQUEUE_MAX_MS, REQUEUE_MIN_MS * 2 ** round);
    if (!allFull || Date.now() + wait >= o.deadline) {
      throw last ?? new RouterError('ROUTER_ERR_NO_BACKEND', 'no replica to send the batch to');
    }
    await sleep(wait, o.signal).catch((err: unknown) => {
      throw abortReason(o.signal, err);
    });
  }
}

/**
 * The first replica's call, and after `afterMs` without an answer a second copy to `second` (`onHedge` is told);
 * the first answer wins and the other call is cancelled. Fails when the first call fails before the hedge is sent,
 * or when both fail (with the first replica's error).
 */
async function hedged<R>(
  first: BackendView,
  second: BackendView,
  afterMs: number,
  attempt: (view: BackendView, signal: AbortSignal) => Promise<R>,
  o: FailoverOptions<R>,
  onHedge: () => void,
): Promise<R> {
  const calls = [new AbortController(), new AbortController()];
  const forward = () => calls.forEach((c) => c.abort(o.signal.reason));
  o.signal.addEventListener('abort', forward, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const one = attempt(first, calls[0].signal);
    let sent = false;
    const two = new Promise<R>((resolve, reject) => {
      timer = setTimeout(() => {
        if (!o.budget.take()) return; // no budget: no hedge, the first call is all there is
        sent = true;
        onHedge();
        attempt(second, calls[1].signal).then(resolve, reject);
      }, afterMs);
    });
    one.catch(() => clearTimeout(timer));
    const winner = await Promise.race([one.then((r) => ({ r, i: 0 })), two.then((r) => ({ r, i: 1 }))]).catch(
      async (err: unknown) => {
        // the first settled call failed: without a hedge, or with the hedge failed too, that is the answer
        if (!sent) throw err;
        const other = await Promise.allSettled([one, two]);
        const ok = other.findIndex((x) => x.status === 'fulfilled');
        if (ok < 0) throw (other[0] as PromiseRejectedResult).reason;
        return { r: (other[ok] as PromiseFulfilledResult<R>).value, i: ok };
      },
    );
    if (sent) calls[1 - winner.i].abort(HEDGE_LOST);
    return winner.r;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', forward);
  }
}

function abortReason(signal: AbortSignal, fallback: unknown): unknown {
  return signal.reason instanceof Error ? signal.reason : fallback;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

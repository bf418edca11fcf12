/**
 * The retry budget shared by the main thread and every worker: a failed backend batch may go to another replica
 * only while retries stay within 20% of the calls made (plus a small allowance for a quiet start), so retries cannot
 * amplify an outage. Two Int32 counters in shared memory, updated with Atomics.
 */
import { TeiError } from '../tei/errors.js';
import { RouterError } from '../errors.js';

/** Retries allowed per call made. */
export const RETRY_RATIO = 0.2;
/** Retries always allowed on top (so the first failures after a quiet period are retried too). */
export const RETRY_ALLOWANCE = 10;

const CALLS = 0;
const RETRIES = 1;

/** Int32 slots the budget needs in a shared buffer. */
export const RETRY_BUDGET_SLOTS = 2;

export class RetryBudget {
  constructor(private readonly counters: Int32Array) {}

  /** Counts one backend call attempt. */
  call(): void {
    Atomics.add(this.counters, CALLS, 1);
  }

  /** Takes one retry from the budget; false when it is spent. */
  take(): boolean {
    const calls = Atomics.load(this.counters, CALLS);
    const retries = Atomics.add(this.counters, RETRIES, 1) + 1;
    if (retries <= calls * RETRY_RATIO + RETRY_ALLOWANCE) return true;
    Atomics.sub(this.counters, RETRIES, 1);
    return false;
  }
}

/**
 * Failures worth another replica: the backend could not be reached, did not answer in time, or was full (TEI's
 * 429 Overloaded). TEI's validation errors are the same everywhere and are not retried.
 */
export function retriable(err: unknown): boolean {
  if (err instanceof RouterError) {
    return err.code === 'ROUTER_ERR_BACKEND_UNAVAILABLE' || err.code === 'ROUTER_ERR_BACKEND_TIMEOUT';
  }
  return err instanceof TeiError && err.errorType === 'Overloaded';
}

/**
 * A request's (or a worker task's) deadline as an AbortSignal: it aborts when the caller's signal does (with the
 * caller's reason) or when the deadline passes (with ROUTER_ERR_DEADLINE_EXCEEDED), whichever comes first. Hand
 * `signal` to everything the request waits on; call `dispose` when it is answered.
 */
import { RouterError } from '../errors.js';

export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    /** Epoch ms. */
    readonly at: number,
    private readonly caller?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    const budget = Math.max(0, Math.round(at - Date.now()));
    this.timer = setTimeout(
      () =>
        this.controller.abort(
          new RouterError(
            'ROUTER_ERR_DEADLINE_EXCEEDED',
            `the request's deadline passed (${budget} ms) before the backends answered; ` +
              'give it more time (gRPC deadline, x-request-timeout, request.timeout_ms) or send smaller batches',
          ),
        ),
      budget,
    );
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

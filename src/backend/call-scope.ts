/**
 * One call's lifetime: the caller's signal and the per-call timeout folded into one AbortSignal for the transport,
 * and the one place that decides what a failed call rejects with. Precedence: the caller's abort (its reason), then
 * the timeout (ROUTER_ERR_BACKEND_TIMEOUT), then TEI's or the transport's own error.
 */
import { BackendError, TeiBackendError, abortError } from './errors.js';

export class CallScope {
  /** Aborts when the caller aborts or the timeout fires; hand it to the transport. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private expired = false;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    readonly backend: string,
    readonly timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(this.timeoutError());
    }, timeoutMs);
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get callerAborted(): boolean {
    return this.caller?.aborted === true;
  }

  get timedOut(): boolean {
    return this.expired && !this.callerAborted;
  }

  /** Throws at once when the caller aborted before the call started. */
  throwIfAborted(): void {
    if (this.caller?.aborted) throw abortError(this.caller);
  }

  timeoutError(cause?: unknown): BackendError {
    return new BackendError(
      'ROUTER_ERR_BACKEND_TIMEOUT',
      this.backend,
      `no answer within ${this.timeoutMs} ms`,
      {
        cause,
      },
    );
  }

  /** What the call rejects with, given the error that ended it; `transport` maps errors that are not ours yet. */
  failure(err: unknown, transport: (err: unknown) => Error): Error {
    if (this.caller?.aborted) return abortError(this.caller);
    if (this.expired)
      return err instanceof BackendError && err.code === 'ROUTER_ERR_BACKEND_TIMEOUT'
        ? err
        : this.timeoutError(err);
    if (err instanceof TeiBackendError || err instanceof BackendError) return err;
    return transport(err);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }

  /** Runs `work` inside a scope and maps its failure. */
  static async run<T>(
    backend: string,
    timeoutMs: number,
    caller: AbortSignal | undefined,
    work: (scope: CallScope) => Promise<T>,
    transport: (err: unknown) => Error,
  ): Promise<T> {
    const scope = new CallScope(backend, timeoutMs, caller);
    try {
      scope.throwIfAborted();
      return await work(scope);
    } catch (err) {
      throw scope.failure(err, transport);
    } finally {
      scope.dispose();
    }
  }
}

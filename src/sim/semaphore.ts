/** TEI's inference permits: one counting semaphore; try-acquire fails at once, acquire waits in FIFO order. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ n: number; resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  get inUse(): number {
    return this.capacity - this.available;
  }

  tryAcquire(n: number): boolean {
    if (this.waiters.length > 0 || this.available < n) return false;
    this.available -= n;
    return true;
  }

  /** Waits for n permits; rejects with the signal's reason if aborted first. */
  acquire(n: number, signal?: AbortSignal): Promise<void> {
    if (n > this.capacity)
      return Promise.reject(new RangeError(`cannot hold ${n} of ${this.capacity} permits`));
    if (this.tryAcquire(n)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        n,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
        this.drain();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(n: number): void {
    this.available += n;
    this.drain();
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.waiters[0].n <= this.available) {
      const w = this.waiters.shift()!;
      this.available -= w.n;
      w.resolve();
    }
  }
}

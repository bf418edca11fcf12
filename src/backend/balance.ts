/**
 * Replica choice, shared by the main thread (direct path) and every worker through counters in shared memory: the
 * tokens and the batches each replica has in flight. Policies, per model (`balancing`):
 *
 * - `p2c_tokens` (default): power of two choices on outstanding tokens divided by the replica's weight (its observed
 *   throughput relative to the model's other replicas: a replica twice as fast may hold twice the tokens);
 * - `least_requests`: fewest batches in flight (ties in turn);
 * - `round_robin`: in turn, whatever the load.
 *
 * `order` returns every candidate, best first: the rest are the failover order.
 */
import type { BackendView } from '../workers/protocol.js';
import type { BalancingPolicy } from './policies.js';

export { BALANCING_POLICIES } from './policies.js';
export type { BalancingPolicy } from './policies.js';

/** Int32 slots per backend in a writer's row: outstanding tokens, outstanding batches. */
export const LOAD_SLOTS_PER_BACKEND = 2;

/** Int32 words the counters take for `backends` backend slots and `rows` writers. */
export function loadWords(backends: number, rows: number): number {
  return rows + rows * backends * LOAD_SLOTS_PER_BACKEND;
}

/**
 * The load counters: one row per writer (row 0: the main thread; the others claimed by worker threads), each with
 * the tokens and batches that writer has in flight per backend; a backend's load is the sum over the rows. A worker
 * that dies mid-batch never marks its batches done: its row is zeroed and freed, so the replicas it was
 * using are not held busy for ever. `releaseAllBut` does that for every row whose owner is no longer alive.
 *
 * Layout: [owner of row 0 .. owner of row R-1] then per row [tokens b0, batches b0, tokens b1, ...].
 */
export class LoadCounters {
  constructor(
    private readonly words: Int32Array,
    private readonly backends: number,
    private readonly rows: number,
    /** The row this view writes to. */
    private readonly row = 0,
  ) {}

  private at(row: number, backend: number): number {
    return this.rows + (row * this.backends + backend) * LOAD_SLOTS_PER_BACKEND;
  }

  tokens(backend: number): number {
    let sum = 0;
    for (let r = 0; r < this.rows; r++) sum += Atomics.load(this.words, this.at(r, backend));
    return sum;
  }

  batches(backend: number): number {
    let sum = 0;
    for (let r = 0; r < this.rows; r++) sum += Atomics.load(this.words, this.at(r, backend) + 1);
    return sum;
  }

  /** Marks a batch of `tokens` as sent to `backend`; the returned function marks it done. */
  start(backend: number, tokens: number): () => void {
    const i = this.at(this.row, backend);
    Atomics.add(this.words, i, tokens);
    Atomics.add(this.words, i + 1, 1);
    return () => {
      Atomics.sub(this.words, i, tokens);
      Atomics.sub(this.words, i + 1, 1);
    };
  }

  /** A view that writes to a free row (1..), claimed for `owner` (a worker's threadId); this view when none is free. */
  claim(owner: number): LoadCounters {
    for (let r = 1; r < this.rows; r++) {
      if (Atomics.compareExchange(this.words, r, 0, owner) === 0) {
        return new LoadCounters(this.words, this.backends, this.rows, r);
      }
    }
    return this;
  }

  /** Zeroes and frees the rows claimed by owners not in `alive` (their batches in flight ended with them). */
  releaseAllBut(alive: readonly number[]): void {
    for (let r = 1; r < this.rows; r++) {
      const owner = Atomics.load(this.words, r);
      if (owner === 0 || alive.includes(owner)) continue;
      for (let i = this.at(r, 0); i < this.at(r + 1, 0); i++) Atomics.store(this.words, i, 0);
      Atomics.store(this.words, r, 0);
    }
  }
}

export class Balancer {
  private turn = 0;

  constructor(
    private readonly load: LoadCounters,
    private readonly random: () => number = Math.random,
  ) {}

  /** Every view, best first by `policy`. */
  order(views: readonly BackendView[], policy: BalancingPolicy): BackendView[] {
    const n = views.length;
    if (n <= 1) return [...views];
    const start = this.turn++ % n;
    const rotated = Array.from({ length: n }, (_, k) => views[(start + k) % n]);
    switch (policy) {
      case 'round_robin':
        return rotated;
      case 'least_requests':
        // stable sort on a rotated list: ties go in turn
        return rotated.sort((a, b) => this.load.batches(a.index) - this.load.batches(b.index));
      case 'p2c_tokens': {
        const score = (v: BackendView) => this.load.tokens(v.index) / Math.max(v.weight, 1e-3);
        const i = Math.floor(this.random() * n);
        let j = Math.floor(this.random() * (n - 1));
        if (j >= i) j++;
        const first = score(views[i]) <= score(views[j]) ? views[i] : views[j];
        const rest = views.filter((v) => v !== first).sort((a, b) => score(a) - score(b));
        return [first, ...rest];
      }
    }
  }
}

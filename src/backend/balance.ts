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

/** Int32 slots per backend in the shared buffer: outstanding tokens, outstanding batches. */
export const LOAD_SLOTS_PER_BACKEND = 2;

export class LoadCounters {
  constructor(
    /** [tokens of backend 0, batches of backend 0, tokens of backend 1, ...] */
    private readonly counters: Int32Array,
  ) {}

  tokens(backend: number): number {
    return Atomics.load(this.counters, backend * 2);
  }

  batches(backend: number): number {
    return Atomics.load(this.counters, backend * 2 + 1);
  }

  /** Marks a batch of `tokens` as sent to `backend`; the returned function marks it done. */
  start(backend: number, tokens: number): () => void {
    Atomics.add(this.counters, backend * 2, tokens);
    Atomics.add(this.counters, backend * 2 + 1, 1);
    return () => {
      Atomics.sub(this.counters, backend * 2, tokens);
      Atomics.sub(this.counters, backend * 2 + 1, 1);
    };
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

/** Replica choice policies over the shared counters. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer, LoadCounters, loadWords } from '../../../src/backend/balance.js';
import type { BackendView } from '../../../src/workers/protocol.js';

const views = (n: number, weights: number[] = []): BackendView[] =>
  Array.from({ length: n }, (_, i) => ({
    index: i,
    url: `http://b${i}`,
    weight: weights[i] ?? 1,
    maxBatchTokens: 1000,
    maxClientBatchSize: 32,
    maxInputLength: 256,
  }));
const counters = (n: number) => new LoadCounters(new Int32Array(loadWords(n, 1)), n, 1);

describe('balancing policies', () => {
  it('round_robin takes replicas in turn, whatever their load', () => {
    const load = counters(3);
    load.start(0, 1000);
    const b = new Balancer(load);
    const firsts = Array.from({ length: 6 }, () => b.order(views(3), 'round_robin')[0].index);
    assert.deepEqual(firsts, [0, 1, 2, 0, 1, 2]);
  });

  it('least_requests takes the replica with the fewest batches, ties in turn', () => {
    const load = counters(3);
    load.start(0, 1);
    load.start(0, 1);
    load.start(2, 1);
    const b = new Balancer(load);
    assert.equal(b.order(views(3), 'least_requests')[0].index, 1);
    const done = load.start(1, 1);
    load.start(1, 1);
    // now 0 and 1 have 2, 2 has 1
    assert.equal(b.order(views(3), 'least_requests')[0].index, 2);
    done();
  });

  it('p2c_tokens picks the lower of two random replicas by tokens over weight; the rest is the failover order', () => {
    const load = counters(3);
    load.start(0, 500);
    load.start(1, 100);
    let k = 0;
    const draws = [0.1, 0.2]; // samples replica 0 (of 3), then replica 1 (of the 2 left)
    const b = new Balancer(load, () => draws[k++ % 2]);
    const order = b.order(views(3), 'p2c_tokens');
    assert.equal(order[0].index, 1, 'the less loaded of the two sampled');
    assert.deepEqual(order.map((v) => v.index).sort(), [0, 1, 2], 'every replica is in the failover order');
    // a replica 10x as fast may hold 10x the tokens: 500/10 < 100/1
    const weighted = new Balancer(load, () => draws[k++ % 2]).order(views(3, [10, 1, 1]), 'p2c_tokens');
    assert.equal(weighted[0].index, 0);
  });

  it('counters are released when a batch ends', () => {
    const load = counters(1);
    const done = load.start(0, 42);
    assert.equal(load.tokens(0), 42);
    assert.equal(load.batches(0), 1);
    done();
    assert.equal(load.tokens(0), 0);
    assert.equal(load.batches(0), 0);
  });

  it("each writer has its own row; a dead writer's row is zeroed and freed, the others stay", () => {
    const words = new Int32Array(loadWords(2, 3));
    const main = new LoadCounters(words, 2, 3);
    const w1 = main.claim(101);
    const w2 = main.claim(102);
    assert.equal(main.claim(103), main, 'no free row left: the main row is shared');
    main.start(0, 5);
    w1.start(0, 10);
    w1.start(1, 7);
    const done2 = w2.start(0, 20);
    assert.equal(main.tokens(0), 35, "a backend's load sums every row");
    assert.equal(main.batches(0), 3);
    main.releaseAllBut([102]); // worker 101 died with two batches in flight
    assert.equal(main.tokens(0), 25);
    assert.equal(main.tokens(1), 0);
    assert.equal(main.batches(0), 2);
    const w3 = main.claim(103);
    assert.notEqual(w3, main, 'the freed row is claimed by the replacement');
    w3.start(1, 1);
    done2();
    assert.equal(main.tokens(0), 5);
    assert.equal(main.tokens(1), 1);
  });
});

/**
 * Worker faults over real sockets: a Piscina worker thread that dies mid-task (here: terminated from outside, as a
 * crash or a resource-limit kill would end it) costs no client request, since its task is retried once on another
 * thread, and the tasks of the other threads are untouched; the pool is back to its full thread count afterwards and
 * serves new requests. A task whose retry dies too fails with a clear ROUTER_ERR_INTERNAL at once, never a hang.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/app.js';
import type { EmbedPool } from '../../src/pipeline/pool.js';
import type { RunningSim } from '../../src/sim/index.js';
import { DIRECT_MAX_TEXTS } from '../../src/pipeline/direct.js';
import { routerModel, startRouter } from '../helpers/router.js';
import { until } from '../helpers/wait.js';
import { postJson, sim } from '../helpers/sim.js';

/** The router's worker pool (the pipeline keeps it private; reading it needs no test hook). */
const poolOf = (app: App) => (app.pipeline as unknown as { pool: EmbedPool }).pool;

/**
 * Holds every embedding call `s` receives until `open()` (a spy on its engine, not a production hook), so the test
 * knows which calls are in flight when it kills a thread; `calls()` counts them as they arrive.
 */
function gate(s: RunningSim): { calls: () => number; open: () => void } {
  let calls = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const embed = s.engine.embed.bind(s.engine);
  s.engine.embed = async (...args: Parameters<typeof embed>) => {
    calls++;
    await opened;
    return embed(...args);
  };
  return { calls: () => calls, open };
}

/** A request big enough for the worker path (the direct path takes at most DIRECT_MAX_TEXTS texts). */
const inputs = (tag: string) => Array.from({ length: DIRECT_MAX_TEXTS + 4 }, (_, i) => `${tag} text ${i}`);

const embed = async (base: string, tag: string) => {
  const r = await postJson(base, '/embed', { inputs: inputs(tag) });
  return { tag, status: r.status, body: r.body };
};

const threadIds = (pool: EmbedPool) => pool.threads.map((t) => t.threadId);

describe('worker faults', () => {
  it('a worker thread that dies mid-task costs no request; the pool replaces it', async () => {
    const backend = await sim({ modelId: 'mini' });
    // no coalescing: every request is a task of its own
    const { app, base } = await startRouter([routerModel([backend.url], { coalesceMs: 0 })], {
      'pool.threads': 3,
      'pool.tasks_per_thread': 1, // one task per thread, so that tasks queue behind the busy ones
    });
    const { calls, open } = gate(backend);
    try {
      const pool = poolOf(app);
      assert.equal(pool.threads.length, 3, `three worker threads at start: ${threadIds(pool).join(', ')}`);
      // one request at a time, so that three tasks wait on the backend (one per thread) and three are queued
      const requests: Array<ReturnType<typeof embed>> = [];
      for (let i = 0; i < 6; i++) {
        requests.push(embed(base, `first ${i}`));
        const placed = () => (i < 3 ? calls() === i + 1 : pool.queueSize === i - 2);
        assert.ok(
          await until(placed, 5000),
          `request ${i} is in flight (calls ${calls()}, queued ${pool.queueSize})`,
        );
      }
      const victim = pool.threads[0];
      await victim.terminate();
      open();
      const results = await Promise.all(requests);
      assert.deepEqual(
        results.filter((r) => r.status !== 200),
        [],
        'every request succeeded, the one whose worker died included',
      );
      for (const r of results) {
        const vectors = JSON.parse(r.body) as number[][];
        assert.equal(vectors.length, inputs(r.tag).length, `${r.tag}: one vector per input`);
      }
      assert.equal(calls(), 7, 'six tasks, and the dead thread’s one sent again');
      const replaced = await until(
        () => pool.threads.length === 3 && !threadIds(pool).includes(victim.threadId),
        5000,
      );
      assert.ok(
        replaced,
        `the pool is back to three threads, the dead one replaced: ${threadIds(pool).join(', ')}`,
      );
      const again = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => embed(base, `again ${i}`)));
      assert.deepEqual(
        again.filter((r) => r.status !== 200),
        [],
        'the pool serves new requests after the replacement',
      );
      assert.equal(pool.threads.length, 3, 'still three threads');
      // the dead thread's batch never ended: its row of the load counters was freed, so nothing stays counted
      const index = app.replicas.replicas[0].index;
      assert.ok(
        await until(() => pool.load.tokens(index) === 0 && pool.load.batches(index) === 0, 2000),
        `no load left counted on the replica: ${pool.load.tokens(index)} tokens, ${pool.load.batches(index)} batches`,
      );
    } finally {
      open();
      await app.close();
      await backend.close();
    }
  });

  it('a task whose retry dies too fails with a clear error at once; the pool recovers', async () => {
    const backend = await sim({ modelId: 'mini' });
    const { app, base } = await startRouter([routerModel([backend.url], { coalesceMs: 0 })]);
    const { calls, open } = gate(backend);
    try {
      const pool = poolOf(app);
      assert.equal(pool.threads.length, 1, 'one worker thread');
      const pending = embed(base, 'doomed');
      assert.ok(await until(() => calls() === 1, 5000), 'the task reached the backend');
      const first = pool.threads[0];
      await first.terminate();
      // the retry runs on the replacement thread: kill that one too while its backend call is in flight
      assert.ok(await until(() => calls() === 2, 8000), 'the retry reached the backend');
      const second = pool.threads.find((t) => t.threadId !== first.threadId);
      assert.ok(second, `a replacement thread runs the retry: ${threadIds(pool).join(', ')}`);
      const t0 = Date.now();
      await second.terminate();
      const r = await pending;
      assert.ok(Date.now() - t0 < 2000, `answered at once, not after a timeout (${Date.now() - t0} ms)`);
      assert.equal(r.status, 500, r.body);
      const body = JSON.parse(r.body) as { code: string; error: string };
      assert.equal(body.code, 'ROUTER_ERR_INTERNAL', r.body);
      assert.match(
        body.error,
        /worker thread running the task died \(worker exited with code: 1\), and so did the retry on another thread/,
        r.body,
      );
      open();
      const replaced = await until(
        () => pool.threads.length === 1 && !threadIds(pool).includes(second.threadId),
        5000,
      );
      assert.ok(replaced, `the pool is back to one thread: ${threadIds(pool).join(', ')}`);
      const after = await embed(base, 'after');
      assert.equal(after.status, 200, after.body);
    } finally {
      open();
      await app.close();
      await backend.close();
    }
  });

  it('an idle worker thread that dies does not take the router down (regression); the pool replaces it', async () => {
    const backend = await sim({ modelId: 'mini' });
    const lines: string[] = [];
    const { app, base } = await startRouter(
      [routerModel([backend.url], { coalesceMs: 0 })],
      { 'pool.threads': 2 },
      (line) => lines.push(line),
    );
    try {
      const pool = poolOf(app);
      assert.equal((await embed(base, 'warm')).status, 200);
      const victim = pool.threads[0];
      // Piscina's worker bootstrap takes any message on the thread's parent port as its init message: an empty one
      // throws an uncaught exception in the idle thread. Without an 'error' listener on the pool this ended the
      // whole process.
      victim.postMessage({});
      assert.ok(
        await until(() => pool.threads.length === 2 && !threadIds(pool).includes(victim.threadId), 5000),
        `the dead idle thread is replaced: ${threadIds(pool).join(', ')}`,
      );
      assert.ok(
        lines.some((l) => l.includes('a worker thread failed')),
        `the failure is logged: ${lines.filter((l) => l.includes('worker')).join(' | ')}`,
      );
      assert.equal((await embed(base, 'after')).status, 200);
    } finally {
      await app.close();
      await backend.close();
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../../src/pipeline/coalescer.js';
import { textAt, textBatchFromStrings } from '../../../src/pipeline/text-batch.js';
import type { TextBatch } from '../../../src/pipeline/text-batch.js';

/** An executor that records every merged batch and finishes when told. */
function recorder() {
  const calls: string[][] = [];
  const pending: Array<() => void> = [];
  const execute = (_key: string, texts: TextBatch) =>
    new Promise<string[]>((resolve) => {
      const rows = Array.from({ length: texts.length }, (_, i) => textAt(texts, i));
      calls.push(rows);
      pending.push(() => resolve(rows));
    });
  const finishAll = () => pending.splice(0).forEach((f) => f());
  return { calls, execute, finishAll };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('sends at once when idle; same-tick arrivals share one task and get their own rows', async () => {
    const r = recorder();
    const c = new Coalescer<string[]>({ windowMs: () => 50, maxRows: 100 }, r.execute);
    const a = c.submit('m', textBatchFromStrings(['a1', 'a2']));
    const b = c.submit('m', textBatchFromStrings(['b1']));
    await tick();
    assert.deepEqual(r.calls, [['a1', 'a2', 'b1']]);
    r.finishAll();
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.start, ra.count, rb.start, rb.count], [0, 2, 2, 1]);
  });

  it('while busy, waits up to the window to merge, and flushes when the running task ends', async () => {
    const r = recorder();
    const c = new Coalescer<string[]>({ windowMs: () => 10_000, maxRows: 100 }, r.execute);
    const first = c.submit('m', textBatchFromStrings(['x']));
    await tick();
    const second = c.submit('m', textBatchFromStrings(['y']));
    await tick();
    const third = c.submit('m', textBatchFromStrings(['z']));
    await tick();
    assert.equal(r.calls.length, 1, 'second and third wait for company while x runs');
    r.finishAll();
    await first;
    await tick();
    assert.deepEqual(r.calls[1], ['y', 'z']);
    r.finishAll();
    assert.deepEqual(
      (await Promise.all([second, third])).map((p) => p.start),
      [0, 1],
    );
  });

  it('keeps keys apart and drops a part whose client went away before the flush', async () => {
    const r = recorder();
    const c = new Coalescer<string[]>({ windowMs: () => 10_000, maxRows: 100 }, r.execute);
    const busy = c.submit('m', textBatchFromStrings(['busy']));
    await tick();
    const ctl = new AbortController();
    const gone = c.submit('m', textBatchFromStrings(['gone']), ctl.signal);
    const kept = c.submit('m', textBatchFromStrings(['kept']));
    const other = c.submit('other', textBatchFromStrings(['o']));
    ctl.abort(new Error('bye'));
    await assert.rejects(gone, /bye/);
    await tick();
    assert.deepEqual(r.calls, [['busy'], ['o']]);
    r.finishAll();
    await Promise.all([busy, other]);
    await tick();
    assert.deepEqual(r.calls[2], ['kept']);
    r.finishAll();
    await kept;
  });

  it('rejects every part of a failed task', async () => {
    const c = new Coalescer<string[]>({ windowMs: () => 0, maxRows: 100 }, async () => {
      throw new Error('backend down');
    });
    const a = c.submit('m', textBatchFromStrings(['a']));
    const b = c.submit('m', textBatchFromStrings(['b']));
    await assert.rejects(a, /backend down/);
    await assert.rejects(b, /backend down/);
  });
});

it('Coalescer: a long-lived signal does not collect one abort listener per part (regression)', async () => {
  const { EventEmitter } = await import('node:events');
  const c = new Coalescer<number>({ windowMs: () => 0, maxRows: 100 }, async () => 1);
  const ctl = new AbortController();
  for (let i = 0; i < 50; i++) await c.submit('m', textBatchFromStrings(['x']), ctl.signal);
  assert.equal(EventEmitter.getEventListeners(ctl.signal, 'abort').length, 0, 'listeners left on the signal');
});

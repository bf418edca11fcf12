import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  concatTextBatches,
  isValid,
  textAt,
  textBatchFromStrings,
  transferList,
  validCount,
} from '../../../src/pipeline/text-batch.js';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { decodeArrowTexts } from '../../../src/codec/arrow.js';
import type { TextBatch } from '../../../src/pipeline/text-batch.js';
import { cutBatches } from '../../../src/workers/cut.js';

it('packs strings into one UTF-8 buffer with offsets and reads them back', () => {
  const texts = ['héllo', '', '日本語', 'emoji 🎉'];
  const b = textBatchFromStrings(texts);
  assert.equal(b.length, 4);
  assert.deepEqual(
    Array.from({ length: 4 }, (_, i) => textAt(b, i)),
    texts,
  );
  assert.equal(b.offsets[4], Buffer.byteLength(texts.join('')));
});

it('concatenates batches, rebasing offsets and merging validity', () => {
  const withNull: TextBatch = {
    ...textBatchFromStrings(['a', 'x', 'c']),
    validity: Uint8Array.from([0b101]),
  };
  const merged = concatTextBatches([textBatchFromStrings(['p', 'q']), withNull]);
  assert.equal(merged.length, 5);
  assert.deepEqual(
    Array.from({ length: 5 }, (_, i) => (isValid(merged, i) ? textAt(merged, i) : null)),
    ['p', 'q', 'a', null, 'c'],
  );
  assert.equal(validCount(merged), 4);
});

it('cuts backend batches within both limits, grouping similar lengths', () => {
  const tokens = [5, 100, 6, 90, 7, 8];
  const batches = cutBatches([0, 1, 2, 3, 4, 5], tokens, { maxBatchTokens: 120, maxClientBatchSize: 3 });
  for (const b of batches) {
    assert.ok(b.length <= 3, `batch of ${b.length} rows`);
    assert.ok(
      b.length === 1 || b.reduce((s, r) => s + tokens[r], 0) <= 120,
      `batch over budget: ${b.map((r) => tokens[r])}`,
    );
  }
  assert.deepEqual(batches.flat().sort(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(batches[0], [0, 2, 4], 'shortest rows together');
});

it('apportions a backend batch total over its rows by the router counts, summing exactly', async () => {
  const { apportion } = await import('../../../src/workers/apportion.js');
  const out = new Int32Array(5);
  apportion(out, Int32Array.from([3, 0, 5, 2, 9]), [0, 2, 3], 13);
  assert.equal(out[0] + out[2] + out[3], 13);
  assert.deepEqual([out[0], out[2], out[3]], [4, 6, 3]);
  assert.equal(out[1], 0, 'rows outside the batch untouched');
  const even = new Int32Array(3);
  apportion(even, new Int32Array(3), [0, 1, 2], 7);
  assert.equal(even[0] + even[1] + even[2], 7);
});

it('builds batches in shared memory, so a worker task reads them in place: nothing to transfer or copy', () => {
  const fromArrow = decodeArrowTexts(tableToIPC(tableFromArrays({ text: ['a', 'b'] }), 'stream')).texts;
  const withNull: TextBatch = { ...textBatchFromStrings(['x']), validity: Uint8Array.from([0]) };
  for (const [what, b] of [
    ['strings', textBatchFromStrings(['héllo', 'x'])],
    ['concatenated', concatTextBatches([textBatchFromStrings(['p']), withNull])],
    ['Arrow', fromArrow],
  ] as const) {
    assert.ok(b.data.buffer instanceof SharedArrayBuffer, `${what}: data`);
    assert.ok(b.offsets.buffer instanceof SharedArrayBuffer, `${what}: offsets`);
    if (b.validity) assert.ok(b.validity.buffer instanceof SharedArrayBuffer, `${what}: validity`);
    assert.deepEqual(transferList(b), [], `${what}: nothing to transfer`);
  }
  // a batch of plain ArrayBuffers (built elsewhere) is still transferred
  const plain: TextBatch = {
    length: 1,
    data: Uint8Array.from([97]),
    offsets: Int32Array.from([0, 1]),
    validity: null,
  };
  assert.equal(transferList(plain).length, 2);
});

/** Which requests may skip the worker hop: only those no tokenization could push past a backend limit. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DIRECT_MAX_TEXTS, directTexts } from '../../../src/pipeline/direct.js';
import { textBatchFromStrings } from '../../../src/pipeline/text-batch.js';
import type { BackendView, EmbedParams } from '../../../src/workers/protocol.js';

const view = (o: Partial<BackendView> = {}): BackendView => ({
  index: 0,
  url: 'http://b',
  weight: 1,
  maxBatchTokens: 100,
  maxClientBatchSize: 32,
  maxInputLength: 20,
  ...o,
});
const params = (o: Partial<EmbedParams> = {}): EmbedParams => ({
  truncate: false,
  direction: 'Right',
  normalize: true,
  dimensions: null,
  promptName: null,
  ...o,
});

describe('direct path eligibility', () => {
  it('takes small requests whose byte bound fits every limit, and gives back the strings', () => {
    assert.deepEqual(directTexts(textBatchFromStrings(['héllo', 'b']), params(), [view()]), ['héllo', 'b']);
  });

  it('refuses what could break a limit, what it cannot bound, and large requests', () => {
    const long = 'x'.repeat(17); // 17 bytes + 4 special tokens > max_input_length 20
    assert.equal(directTexts(textBatchFromStrings([long]), params(), [view()]), null);
    // with truncate the backend cuts it: allowed, counted at max_input_length
    assert.deepEqual(directTexts(textBatchFromStrings([long]), params({ truncate: true }), [view()]), [long]);
    // the batch bound: 5 texts of 16 bytes + 4 = 100 tokens fit, 6 do not
    const t = 'y'.repeat(16);
    assert.notEqual(directTexts(textBatchFromStrings(Array(5).fill(t)), params(), [view()]), null);
    assert.equal(directTexts(textBatchFromStrings(Array(6).fill(t)), params(), [view()]), null);
    // the smallest limit of the replicas applies
    assert.equal(
      directTexts(textBatchFromStrings(['a', 'b']), params(), [view(), view({ maxClientBatchSize: 1 })]),
      null,
    );
    assert.equal(directTexts(textBatchFromStrings(['a']), params({ promptName: 'query' }), [view()]), null);
    assert.equal(
      directTexts(textBatchFromStrings(Array(DIRECT_MAX_TEXTS + 1).fill('a')), params(), [view()]),
      null,
    );
    assert.equal(directTexts(textBatchFromStrings([]), params(), [view()]), null);
    const withNull = { ...textBatchFromStrings(['a', 'b']), validity: Uint8Array.of(0b01) };
    assert.equal(directTexts(withNull, params(), [view()]), null);
  });
});

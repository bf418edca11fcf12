/** The bench-client text generator: deterministic per seed, lengths near the asked mean (real WordPiece tokens). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS_PER_WORD, generateTexts } from '../../../src/bench-client/text-gen.js';
import { loadTokenizer } from '../../../src/tokenizer/load.js';
import { tokenizerFixture } from '../../helpers/sim.js';

const words = (s: string) => s.split(' ').length;

describe('bench-client text generator', () => {
  it('gives the same texts for the same seed and options, other texts for another seed', () => {
    const opts = { seed: 7, meanTokens: 24, maxTokens: 256 };
    const a = generateTexts(500, opts);
    const b = generateTexts(500, opts);
    assert.deepEqual(a, b);
    const c = generateTexts(500, { ...opts, seed: 8 });
    assert.notDeepEqual(a, c);
    // a prefix of a longer run is the shorter run
    assert.deepEqual(generateTexts(50, opts), a.slice(0, 50));
    assert.equal(new Set(a).size, a.length, 'texts repeat');
  });

  it('looks like prose: sentences, punctuation, some numbers, no empty text', () => {
    const texts = generateTexts(2000, { seed: 1, meanTokens: 24, maxTokens: 256 });
    for (const t of texts) {
      assert.ok(t.length > 0, 'empty text');
      assert.match(t, /^[A-Z0-9]/, `starts with a capital: ${t}`);
      assert.match(t, /[.?!]$/, `ends a sentence: ${t}`);
      assert.doesNotMatch(t, /\s\s/, `double space: ${t}`);
    }
    const all = texts.join(' ');
    assert.match(all, /,/, 'commas');
    assert.match(all, /\b\d+(\.\d+|%)?\b/, 'numbers');
  });

  for (const [mean, max] of [
    [24, 256],
    [8, 64],
    [100, 512],
  ] as const) {
    it(`mean length near --text-tokens ${mean} (words × ${TOKENS_PER_WORD} and WordPiece tokens), capped by ${max}`, () => {
      const texts = generateTexts(4000, { seed: 1, meanTokens: mean, maxTokens: max });
      const meanWords = texts.reduce((n, t) => n + words(t), 0) / texts.length;
      const estimated = meanWords * TOKENS_PER_WORD;
      assert.ok(Math.abs(estimated - mean) / mean < 0.05, `words × 1.3 = ${estimated}, asked ${mean}`);
      const tok = loadTokenizer(tokenizerFixture());
      const counts = texts.map((t) => tok.count(t, false));
      const meanTokens = counts.reduce((a, b) => a + b, 0) / counts.length;
      assert.ok(Math.abs(meanTokens - mean) / mean < 0.15, `WordPiece mean ${meanTokens}, asked ${mean}`);
      const maxWords = Math.max(...texts.map(words));
      assert.ok(maxWords <= Math.floor(max / TOKENS_PER_WORD), `${maxWords} words over the cap ${max}`);
      // a spread of lengths, not one length
      const sorted = [...counts].sort((a, b) => a - b);
      const p10 = sorted[Math.floor(sorted.length * 0.1)];
      const p90 = sorted[Math.floor(sorted.length * 0.9)];
      assert.ok(p90 > p10 * 2, `p10 ${p10}, p90 ${p90}: too narrow`);
    });
  }

  it('rejects a mean above the maximum', () => {
    assert.throws(() => generateTexts(1, { seed: 1, meanTokens: 300, maxTokens: 256 }), RangeError);
  });
});

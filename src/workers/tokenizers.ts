/** Each worker's own tokenizers, loaded once per tokenizer.json on first use. */
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer } from '../tokenizer/types.js';

const cache = new Map<string, Tokenizer>();

/** The tokenizer of `path`; undefined: the estimate. */
export function tokenizerFor(path: string | undefined): Tokenizer {
  let t = cache.get(path ?? '');
  if (!t) {
    t = loadTokenizer(path);
    cache.set(path ?? '', t);
  }
  return t;
}

/** Each worker's own tokenizers, loaded once per model on first use. */
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { WorkerModel } from './protocol.js';

const cache = new Map<string, Tokenizer>();

export function tokenizerFor(model: WorkerModel): Tokenizer {
  let t = cache.get(model.name);
  if (!t) {
    t = loadTokenizer(model.tokenizer);
    cache.set(model.name, t);
  }
  return t;
}

/**
 * Tokenizer loading: a HuggingFace tokenizer.json (BERT-style WordPiece, see wordpiece.ts), or the
 * documented estimate (estimate.ts) when none is configured.
 */
import { readFileSync } from 'node:fs';
import { RouterError } from '../errors.js';
import { EstimateTokenizer } from './estimate.js';
import type { Tokenizer } from './types.js';
import { WordPieceTokenizer } from './wordpiece.js';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Build a tokenizer from an already parsed tokenizer.json. `source` names the file in errors.
 * Throws RouterError ROUTER_ERR_TOKENIZER_LOAD (`tokenizer.json at <source>: ...`) for unsupported or malformed content, e.g.
 * `tokenizer.json at /x: model type "BPE" is not supported (supported: WordPiece)`.
 */
export function tokenizerFromJson(json: unknown, source: string): Tokenizer {
  try {
    return new WordPieceTokenizer(json, source);
  } catch (e) {
    throw new RouterError('ROUTER_ERR_TOKENIZER_LOAD', message(e), { cause: e });
  }
}

/**
 * Load the tokenizer at `path` (read synchronously). `undefined` or '' (not configured) gives the
 * {@link EstimateTokenizer}. Throws an Error naming the file when it cannot be read, is not valid
 * JSON, or uses components other than the supported BERT WordPiece pipeline.
 */
export function loadTokenizer(path: string | undefined): Tokenizer {
  if (path === undefined || path === '') return new EstimateTokenizer();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RouterError(
      'ROUTER_ERR_TOKENIZER_LOAD',
      `tokenizer.json at ${path}: cannot read the file: ${message(e)}`,
      {
        cause: e,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RouterError(
      'ROUTER_ERR_TOKENIZER_LOAD',
      `tokenizer.json at ${path}: invalid JSON: ${message(e)}`,
      {
        cause: e,
      },
    );
  }
  return tokenizerFromJson(json, path);
}

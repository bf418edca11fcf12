/**
 * Tokenizer interface shared by the router, the worker threads and the TEI simulator.
 *
 * Two implementations exist:
 *  - `wordpiece` (src/tokenizer/wordpiece.ts): an exact, pure-TypeScript port of HuggingFace
 *    `tokenizers` for BERT-style `tokenizer.json` files (BertNormalizer + BertPreTokenizer +
 *    WordPiece + TemplateProcessing/BertProcessing + WordPiece decoder).
 *  - `estimate` (src/tokenizer/estimate.ts): a documented heuristic used when no tokenizer.json
 *    is configured.
 */

/** The result of encoding one input (or one pair of inputs). All arrays have the same length. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /**
   * UTF-8 BYTE offsets into the original input string, [start, stop). Tokens added by the
   * post-processor (e.g. [CLS]/[SEP]) have [0, 0]. For a pair, the offsets of the tokens of the
   * second sequence are relative to the second string (as in HF tokenizers).
   */
  offsets: Array<[number, number]>;
  /**
   * HF's special_tokens_mask: true only for tokens added by the post-processor template.
   * A literal "[CLS]" typed in the input text is matched as the [CLS] added token (same id) but,
   * exactly as in HF tokenizers, it is NOT flagged special here.
   */
  special: boolean[];
}

export type TruncationDirection = 'right' | 'left';

/**
 * Truncation applied while encoding, with HF `TruncationParams { strategy: LongestFirst,
 * stride: 0 }` semantics: `maxLength` bounds the TOTAL number of tokens, special tokens
 * included. Content tokens are dropped (never the special tokens added by the template), from the
 * end (`right`, default) or from the beginning (`left`). For pairs, tokens are taken from the
 * longest sequence first.
 */
export interface TruncationOptions {
  maxLength: number;
  direction?: TruncationDirection;
}

export interface Tokenizer {
  readonly kind: 'wordpiece' | 'estimate';
  /** The tokenizer.json path, or 'estimate'. */
  readonly source: string;
  encode(text: string, addSpecialTokens: boolean, truncation?: TruncationOptions): Encoding;
  /** `[CLS] a [SEP] b [SEP]` (per the post-processor) when addSpecialTokens. */
  encodePair(a: string, b: string, addSpecialTokens: boolean, truncation?: TruncationOptions): Encoding;
  /** Number of tokens encode() would produce (fast path: builds no tokens/offsets). */
  count(text: string, addSpecialTokens: boolean, truncation?: TruncationOptions): number;
  /** Number of special tokens the post-processor adds to a single input (pair=false) or a pair. */
  numSpecialTokens(pair: boolean): number;
  /** HF `Tokenizer::decode`: unknown ids are dropped. */
  decode(ids: readonly number[], skipSpecialTokens: boolean): string;
  idToToken(id: number): string | undefined;
  /** HF `get_vocab_size(with_added_tokens = true)`. */
  readonly vocabSize: number;
}

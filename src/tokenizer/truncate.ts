/**
 * Truncation with the semantics of HF tokenizers `TruncationParams { strategy: LongestFirst,
 * stride: 0, max_length, direction }` as applied by `TokenizerImpl::post_process`:
 *
 *  1. the CONTENT encodings (before the post-processor template adds [CLS]/[SEP]) are truncated to
 *     `maxLength - addedSpecial`, where `addedSpecial` is the number of tokens the template will
 *     add (0 when special tokens are not added);
 *  2. for a pair, the budget is split with HF's LongestFirst rule (see {@link longestFirstLengths}
 *     and, for what HF 0.23 really feeds it, {@link preTruncatedLength}), i.e. tokens are removed
 *     from the longest sequence first;
 *  3. each sequence keeps its first (`right`) or last (`left`) tokens (HF `Encoding::truncate`);
 *     overflowing tokens are discarded (stride 0).
 *
 * The tokenizers call these before applying the template, so the special tokens are always kept.
 *
 * Deliberate divergence, for degenerate limits only: when `maxLength < addedSpecial` (e.g. 1 for
 * [CLS] x [SEP]), HF computes `max_length - n_added` on a `usize` that wraps around, so only its
 * early stop applies and it returns MORE than `maxLength` tokens (max_length=1: "[CLS] hello
 * [SEP]" for "hello big world"). Here the content budget is clamped to 0 instead (the result
 * holds only the special tokens).
 */
import type { Encoding, TruncationDirection } from './types.js';

function checkLength(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}

/** Content tokens left for a sequence of `maxLength` total tokens when `addedSpecial` are added. */
export function contentBudget(maxLength: number, addedSpecial: number): number {
  checkLength('maxLength', maxLength);
  checkLength('addedSpecial', addedSpecial);
  return maxLength > addedSpecial ? maxLength - addedSpecial : 0;
}

/** The tokens [start, end) of an encoding, as a new encoding. */
export function sliceEncoding(enc: Encoding, start: number, end: number): Encoding {
  return {
    ids: enc.ids.slice(start, end),
    tokens: enc.tokens.slice(start, end),
    offsets: enc.offsets.slice(start, end),
    special: enc.special.slice(start, end),
  };
}

/**
 * HF `Encoding::truncate(maxLength, stride = 0, direction)`: keep the first (`right`) or the last
 * (`left`) `maxLength` tokens. Returns `enc` itself when it is already short enough.
 */
export function truncateSequence(enc: Encoding, maxLength: number, direction: TruncationDirection): Encoding {
  checkLength('maxLength', maxLength);
  const n = enc.ids.length;
  if (n <= maxLength) return enc;
  return direction === 'left' ? sliceEncoding(enc, n - maxLength, n) : sliceEncoding(enc, 0, maxLength);
}

/**
 * Truncate the content encoding of a single input so that, once the post-processor adds
 * `addedSpecial` tokens, the total is at most `maxLength` (see the module comment).
 */
export function truncateEncoding(
  enc: Encoding,
  maxLength: number,
  direction: TruncationDirection,
  addedSpecial: number,
): Encoding {
  return truncateSequence(enc, contentBudget(maxLength, addedSpecial), direction);
}

/**
 * HF `truncate_encodings` LongestFirst (tokenizers utils/truncation.rs): the lengths two content
 * sequences of `lenA` and `lenB` tokens are cut to so that they fit in `budget` tokens
 * (`maxLength - addedSpecial`). The shorter one is kept whole when possible, otherwise they get
 * floor(budget/2) and ceil(budget/2) tokens, the extra one for the longer sequence (for the
 * second one on a tie). Equivalent to repeatedly removing one token from the longest sequence.
 *
 * With HF tokenizers 0.23 the lengths fed to this are not the full lengths but the
 * {@link preTruncatedLength}s: see {@link truncatePairEncodings}.
 */
export function longestFirstLengths(lenA: number, lenB: number, budget: number): [number, number] {
  checkLength('budget', budget);
  if (budget === 0) return [0, 0];
  let n1 = lenA;
  let n2 = lenB;
  if (n1 + n2 <= budget) return [n1, n2];
  const swap = n1 > n2; // n1: the shorter one
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

/**
 * How a content encoding was produced: `sizes[i]` consecutive tokens came from one pre-token
 * (a word, through WordPiece) when `added[i]` is false, or from one added token matched in the
 * text when true. The sizes add up to the encoding length.
 */
export interface TokenGroups {
  sizes: number[];
  added: boolean[];
}

/**
 * The length HF tokenizers 0.23 actually feeds to {@link longestFirstLengths} when truncation is
 * on: it stops tokenizing a sequence as soon as the tokens produced so far (added tokens
 * included) reach the full `maxLength`, a check made only after a word, never after an added
 * token; with `left` truncation it works from the end. Without `groups`, every token is taken
 * as its own word, i.e. the length is capped at `maxLength`.
 *
 * This is not visible for single inputs (the kept tokens are the same), but it decides how a pair
 * is split. Established by exhaustive comparison with the Node binding (20,160 pairs, both
 * directions, with and without special tokens).
 */
export function preTruncatedLength(
  length: number,
  maxLength: number,
  direction: TruncationDirection,
  groups?: TokenGroups,
): number {
  if (!groups) return Math.min(length, maxLength);
  const { sizes, added } = groups;
  const n = sizes.length;
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = direction === 'left' ? n - 1 - k : k;
    total += sizes[i];
    if (!added[i] && total >= maxLength) break;
  }
  return total;
}

/**
 * Truncate the two content encodings of a pair (LongestFirst, as HF tokenizers 0.23 does it, see
 * {@link preTruncatedLength}) so that, once the post-processor adds `addedSpecial` tokens, the
 * total is at most `maxLength`. Pass the {@link TokenGroups} of both encodings for exact HF
 * parity; without them each token is treated as a word.
 */
export function truncatePairEncodings(
  a: Encoding,
  b: Encoding,
  maxLength: number,
  direction: TruncationDirection,
  addedSpecial: number,
  groups?: [TokenGroups, TokenGroups],
): [Encoding, Encoding] {
  const budget = contentBudget(maxLength, addedSpecial);
  const [na, nb] = longestFirstLengths(
    preTruncatedLength(a.ids.length, maxLength, direction, groups?.[0]),
    preTruncatedLength(b.ids.length, maxLength, direction, groups?.[1]),
    budget,
  );
  return [truncateSequence(a, na, direction), truncateSequence(b, nb, direction)];
}

/** Number of tokens a single input of `contentLength` tokens yields (specials included). */
export function truncatedCount(
  contentLength: number,
  addedSpecial: number,
  maxLength: number | undefined,
): number {
  if (maxLength === undefined) return contentLength + addedSpecial;
  return Math.min(contentLength, contentBudget(maxLength, addedSpecial)) + addedSpecial;
}

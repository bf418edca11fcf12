/**
 * Truncation with the semantics of HF tokenizers `TruncationParams { strategy: LongestFirst,
 * stride: 0, max_length, direction }` as applied by `TokenizerImpl::post_process`:
 *
 *  1. the CONTENT encodings (before the post-processor template adds [CLS]/[SEP]) are truncated to
 *     `maxLength - addedSpecial`, where `addedSpecial` is the number of tokens the template will
 *     add (0 when special tokens are not added);
 *  2. for a pair, the budget is split with HF's LongestFirst closed form (see
 *     {@link longestFirstLengths}), i.e. tokens are removed from the longest sequence first;
 *  3. each sequence keeps its first (`right`) or last (`left`) tokens (HF `Encoding::truncate`);
 *     overflowing tokens are discarded (stride 0).
 *
 * The tokenizers call these before applying the template, so the special tokens are always kept.
 *
 * Deliberate divergence: when `maxLength < addedSpecial`, HF computes `max_length - n_added` on a
 * `usize` and (release build) wraps around, i.e. it silently does NOT truncate at all. Here the
 * content budget is clamped to 0 instead (the result then holds only the special tokens).
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
 * HF `truncate_encodings` LongestFirst: the lengths two sequences of `lenA` and `lenB` tokens are
 * truncated to so that they fit in `maxLength` (content) tokens. Equivalent to repeatedly removing
 * one token from the longest sequence; when both must be cut they end up with
 * floor(max/2)/ceil(max/2) tokens, the extra one going to the longer sequence (to the second one
 * on a tie).
 */
export function longestFirstLengths(lenA: number, lenB: number, maxLength: number): [number, number] {
  checkLength('maxLength', maxLength);
  if (maxLength === 0) return [0, 0];
  if (lenA + lenB <= maxLength) return [lenA, lenB];
  let n1 = lenA;
  let n2 = lenB;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
  if (n1 + n2 > maxLength) {
    n1 = Math.floor(maxLength / 2);
    n2 = n1 + (maxLength % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

/**
 * Truncate the two content encodings of a pair (LongestFirst) so that, once the post-processor
 * adds `addedSpecial` tokens, the total is at most `maxLength`.
 */
export function truncatePairEncodings(
  a: Encoding,
  b: Encoding,
  maxLength: number,
  direction: TruncationDirection,
  addedSpecial: number,
): [Encoding, Encoding] {
  const [na, nb] = longestFirstLengths(a.ids.length, b.ids.length, contentBudget(maxLength, addedSpecial));
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

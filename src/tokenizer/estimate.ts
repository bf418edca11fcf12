/**
 * Estimate tokenizer: the documented fallback used when no tokenizer.json is configured
 * (`loadTokenizer(undefined)`). It does NOT know any vocabulary; it approximates the token COUNT
 * of a BERT WordPiece tokenizer (bert-base-uncased on English text is typically within ~15%,
 * usually erring high), deterministically, and implements the whole Tokenizer interface.
 *
 * What exactly it does:
 *  1. Words: the text is split exactly where BERT's pre-tokenizer splits, using the same character
 *     classes as the real implementation (see `bertCharClass` in wordpiece.ts): whitespace
 *     separates words; every punctuation char and every CJK ideograph is a word by itself;
 *     control/format chars (the ones BERT's clean_text drops, e.g. U+200B, U+0000) are dropped and
 *     also separate words (BERT would glue the two sides). No normalization (case, accents) is
 *     applied: token texts are slices of the input.
 *  2. Pieces: a word of n code points becomes
 *       - 1 piece "[UNK]" (id 100) when n > 100 (BERT's max_input_chars_per_word),
 *       - 1 piece when n <= 6,
 *       - otherwise ceil(n / 4) pieces of 4 code points (the last one shorter); pieces after the
 *         first are shown with the "##" continuation prefix.
 *  3. Ids: [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103 (as in bert-base-uncased); a piece
 *     gets 1000 + FNV-1a-32(token text, "##" included) mod (vocabSize - 1000), i.e. a stable fake id
 *     in [1000, vocabSize). Different pieces may share an id.
 *  4. Offsets: UTF-8 byte offsets of each piece in the input, [0, 0] for [CLS]/[SEP].
 *  5. Special tokens: single = [CLS] A [SEP] (+2), pair = [CLS] A [SEP] B [SEP] (+3), flagged
 *     special. Literal "[CLS]" in the text is NOT recognised (it is just punctuation + a word).
 *  6. Truncation: same semantics as the real tokenizer (see truncate.ts).
 *  7. decode(): special ids render as their token ([CLS]...), dropped when skipSpecialTokens; any
 *     other id renders as the piece text this instance last produced for it in encode()/encodePair()
 *     (a bounded memory of 65,536 ids), "[UNK]" when it has never been seen (e.g. decoded in another
 *     worker). Pieces are joined WordPiece style: "##" pieces glued to the previous one, others
 *     separated by one space.
 */
import { contentBudget, truncatePairEncodings, truncateSequence, truncatedCount } from './truncate.js';
import type { Encoding, Tokenizer, TruncationOptions } from './types.js';
import { BertCharClass, bertCharClass, utf8Len } from './wordpiece.js';

export const ESTIMATE_VOCAB_SIZE = 30522;
/** Words longer than this many code points become one [UNK]. */
export const ESTIMATE_MAX_WORD_CHARS = 100;
/** Words of at most this many code points are one piece. */
export const ESTIMATE_WHOLE_WORD_CHARS = 6;
/** Longer words are cut in pieces of this many code points. */
export const ESTIMATE_PIECE_CHARS = 4;

const SPECIALS: ReadonlyMap<number, string> = new Map([
  [0, '[PAD]'],
  [100, '[UNK]'],
  [101, '[CLS]'],
  [102, '[SEP]'],
  [103, '[MASK]'],
]);
const UNK = 100;
const CLS = 101;
const SEP = 102;
const MEMORY_MAX = 65536;

const SPLIT =
  BertCharClass.Whitespace | BertCharClass.Removed | BertCharClass.Punctuation | BertCharClass.Cjk;
const ALONE = BertCharClass.Punctuation | BertCharClass.Cjk;

export interface EstimateOptions {
  /** Fake vocabulary size (ids are < vocabSize); default 30522, at least 1001. */
  vocabSize?: number;
}

/** FNV-1a 32-bit over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class EstimateTokenizer implements Tokenizer {
  readonly kind = 'estimate' as const;
  readonly source = 'estimate';
  readonly vocabSize: number;
  private readonly memory = new Map<number, string>();
  private out: Encoding | null = null;

  constructor(options: EstimateOptions = {}) {
    const vs = options.vocabSize ?? ESTIMATE_VOCAB_SIZE;
    if (!Number.isInteger(vs) || vs < 1001)
      throw new RangeError(`vocabSize must be an integer >= 1001, got ${vs}`);
    this.vocabSize = vs;
  }

  /** The fake id of a piece token (continuation pieces include their "##"). */
  pieceId(token: string): number {
    return 1000 + (fnv1a(token) % (this.vocabSize - 1000));
  }

  encode(text: string, addSpecialTokens: boolean, truncation?: TruncationOptions): Encoding {
    let content = this.content(text);
    if (truncation) {
      const budget = contentBudget(truncation.maxLength, addSpecialTokens ? 2 : 0);
      content = truncateSequence(content, budget, truncation.direction ?? 'right');
    }
    return addSpecialTokens ? wrap([CLS], content, [SEP]) : content;
  }

  encodePair(a: string, b: string, addSpecialTokens: boolean, truncation?: TruncationOptions): Encoding {
    let ea = this.content(a);
    let eb = this.content(b);
    if (truncation) {
      const dir = truncation.direction ?? 'right';
      [ea, eb] = truncatePairEncodings(ea, eb, truncation.maxLength, dir, addSpecialTokens ? 3 : 0);
    }
    if (!addSpecialTokens) return concat(ea, eb);
    return concat(wrap([CLS], ea, [SEP]), wrap([], eb, [SEP]));
  }

  count(text: string, addSpecialTokens: boolean, truncation?: TruncationOptions): number {
    this.out = null;
    return truncatedCount(this.scan(text), addSpecialTokens ? 2 : 0, truncation?.maxLength);
  }

  numSpecialTokens(pair: boolean): number {
    return pair ? 3 : 2;
  }

  idToToken(id: number): string | undefined {
    return SPECIALS.get(id) ?? this.memory.get(id);
  }

  decode(ids: readonly number[], skipSpecialTokens: boolean): string {
    let s = '';
    let first = true;
    for (const id of ids) {
      const special = SPECIALS.get(id);
      if (special !== undefined && skipSpecialTokens) continue;
      const tok = special ?? this.memory.get(id) ?? '[UNK]';
      if (first) s = tok;
      else s += tok.startsWith('##') ? tok.slice(2) : ' ' + tok;
      first = false;
    }
    return s;
  }

  private content(text: string): Encoding {
    const enc: Encoding = { ids: [], tokens: [], offsets: [], special: [] };
    this.out = enc;
    try {
      this.scan(text);
    } finally {
      this.out = null;
    }
    return enc;
  }

  /** Walks the text; returns the number of pieces and fills `this.out` when set. */
  private scan(text: string): number {
    let count = 0;
    let ws = -1;
    let wsByte = 0;
    let wcp = 0;
    let byte = 0;
    for (let i = 0; i < text.length;) {
      let cp = text.charCodeAt(i);
      let u = 1;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const d = text.charCodeAt(i + 1);
        if (cp <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          u = 2;
        } else cp = 0xfffd;
      }
      const nb = utf8Len(cp);
      const f = bertCharClass(cp);
      if (f & SPLIT) {
        if (ws >= 0) {
          count += this.word(text, ws, i, wsByte, byte, wcp);
          ws = -1;
        }
        if (f & ALONE && !(f & BertCharClass.Removed)) count += this.word(text, i, i + u, byte, byte + nb, 1);
      } else {
        if (ws < 0) {
          ws = i;
          wsByte = byte;
          wcp = 0;
        }
        wcp++;
      }
      i += u;
      byte += nb;
    }
    if (ws >= 0) count += this.word(text, ws, text.length, wsByte, byte, wcp);
    return count;
  }

  private word(
    text: string,
    start: number,
    end: number,
    startByte: number,
    endByte: number,
    n: number,
  ): number {
    const pieces =
      n > ESTIMATE_MAX_WORD_CHARS
        ? 1
        : n <= ESTIMATE_WHOLE_WORD_CHARS
          ? 1
          : Math.ceil(n / ESTIMATE_PIECE_CHARS);
    const out = this.out;
    if (out === null) return pieces;
    if (n > ESTIMATE_MAX_WORD_CHARS) {
      this.push(out, UNK, '[UNK]', startByte, endByte);
    } else if (pieces === 1) {
      this.push(out, -1, text.slice(start, end), startByte, endByte);
    } else {
      let i = start;
      let byte = startByte;
      for (let p = 0; p < pieces; p++) {
        const ps = i;
        const pb = byte;
        for (let k = 0; k < ESTIMATE_PIECE_CHARS && i < end; k++) {
          const cp = text.codePointAt(i) as number;
          const c = text.charCodeAt(i);
          // a lone surrogate is one unit (U+FFFD, 3 bytes); a valid pair is two units
          const pair = c >= 0xd800 && c <= 0xdbff && cp > 0xffff;
          i += pair ? 2 : 1;
          byte += pair ? 4 : c >= 0xd800 && c <= 0xdfff ? 3 : utf8Len(c);
        }
        this.push(out, -1, (p === 0 ? '' : '##') + text.slice(ps, i), pb, byte);
      }
    }
    return pieces;
  }

  private push(out: Encoding, id: number, token: string, start: number, end: number): void {
    if (id < 0) {
      id = this.pieceId(token);
      if (this.memory.size >= MEMORY_MAX && !this.memory.has(id)) this.memory.clear();
      this.memory.set(id, token);
    }
    out.ids.push(id);
    out.tokens.push(token);
    out.offsets.push([start, end]);
    out.special.push(false);
  }
}

function specials(ids: number[]): Encoding {
  return {
    ids,
    tokens: ids.map((id) => SPECIALS.get(id) as string),
    offsets: ids.map((): [number, number] => [0, 0]),
    special: ids.map(() => true),
  };
}

function concat(a: Encoding, b: Encoding): Encoding {
  return {
    ids: a.ids.concat(b.ids),
    tokens: a.tokens.concat(b.tokens),
    offsets: a.offsets.concat(b.offsets),
    special: a.special.concat(b.special),
  };
}

function wrap(before: number[], e: Encoding, after: number[]): Encoding {
  return concat(concat(specials(before), e), specials(after));
}

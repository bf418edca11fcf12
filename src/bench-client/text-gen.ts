/**
 * Synthetic input texts for `tei-router bench-client`: English-looking prose, deterministic for a seed, with a
 * realistic spread of lengths (most texts short, a long tail) instead of tei-manager's ten fixed templates.
 *
 * Length model: the number of words of a text is drawn from a log-normal distribution (sigma 0.6) whose mean is
 * `meanTokens / 1.3`, rounded, at least 1 and at most `maxTokens / 1.3`: on English prose a BERT-style WordPiece
 * tokenizer makes about 1.3 tokens per word (common words are one token; longer words, numbers and punctuation
 * add pieces). So `meanTokens` is the mean length in tokens, approximately (within ~10% on bert-base-uncased; a
 * unit test checks it against the WordPiece tokenizer of the test fixture), and `maxTokens` a cap that the
 * tokenizer may overshoot by a few tokens. Special tokens ([CLS]/[SEP]) are not counted.
 *
 * Content: words from the fixed vocabulary below (frequent words weighted by repetition), sentences of 6 to 18
 * words starting with a capital and ending with '.', '?' or '!', commas now and then, and some numbers (counts,
 * years, decimals, percentages). Same seed, same options: the same texts, on every platform (the generator uses
 * only 32-bit integer arithmetic and Math.log/sqrt/cos on its own draws).
 */

export interface TextGenOptions {
  seed: number;
  /** Mean length in tokens (approximate: words × 1.3). */
  meanTokens: number;
  /** Upper bound in tokens (approximate), at least meanTokens. */
  maxTokens: number;
}

/** Tokens per word assumed by the length model (English prose, WordPiece). */
export const TOKENS_PER_WORD = 1.3;

const SIGMA = 0.6;

// Function words appear several times so that they are drawn about as often as in real prose.
const FUNCTION_WORDS = (
  'the the the the the of of of and and and to to to a a a in in in is is it it that that for for on on ' +
  'with with as as was was be be by by this this are are at at from from or an not but have has had ' +
  'they we you he she his her their our its which who what when where how all can will would should ' +
  'could may more most some any each other into over than then also only very just about after before'
).split(' ');

const CONTENT_WORDS = (
  'time year people way day man woman child world life hand part place case week company system program ' +
  'question work government number night point home water room mother area money story fact month lot ' +
  'right study book eye job word business issue side kind head house service friend father power hour ' +
  'game line end member law car city community name president team minute idea kid body information ' +
  'back parent face others level office door health person art war history party result change morning ' +
  'reason research girl guy moment air teacher force education foot boy age policy process music market ' +
  'sense nation plan college interest death experience effect class control care field development role ' +
  'effort rate heart drug show leader light voice wife police mind price report decision son view ' +
  'relationship town road arm difference value building action model season society tax director position ' +
  'player record paper space ground form event official matter center couple site project activity star ' +
  'table need court oil situation cost industry figure street image phone data picture practice piece land ' +
  'product doctor wall patient worker news test movie north love support technology step baby computer ' +
  'type attention film tree source organization hair window evidence population site network query vector ' +
  'embedding document search retrieval language sentence paragraph server request response latency ' +
  'throughput cluster replica benchmark dataset corpus inference token encoder transformer similarity ' +
  'make know take see come think look want give use find tell ask seem feel try leave call keep let begin ' +
  'help talk turn start show hear play run move like live believe hold bring happen write provide sit ' +
  'stand lose pay meet include continue set learn lead understand watch follow stop create speak read ' +
  'allow add spend grow open walk win offer remember consider appear buy wait serve die send expect build ' +
  'stay fall cut reach remain suggest raise pass sell require decide return explain hope develop carry ' +
  'break receive agree support hit produce eat cover catch draw choose measure compare improve reduce ' +
  'good new first last long great little own old right big high different small large next early young ' +
  'important few public bad same able local sure free better true whole real best hard clear recent ' +
  'certain personal simple open short low late strong possible economic national political social ' +
  'natural available likely similar financial environmental significant effective international ' +
  'quickly usually really often already always never sometimes together however perhaps actually ' +
  'nevertheless approximately particularly unfortunately independently semantically multilingual ' +
  'preprocessing tokenization normalization configuration infrastructure representation characteristics ' +
  'recommendation organizational accountability interoperability reproducibility deduplication ' +
  'microservices observability summarization classification contextual heterogeneous asynchronous ' +
  'quantization throughput-oriented state-of-the-art well-known long-term real-time'
).split(' ');

/** mulberry32: a small, fast 32-bit PRNG with a good spread for this purpose. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator of texts; `next()` gives the next text of the sequence the seed defines. */
export class TextGenerator {
  private readonly rand: () => number;
  private readonly mu: number;
  private readonly maxWords: number;
  private spare: number | null = null;

  constructor(private readonly options: TextGenOptions) {
    const { meanTokens, maxTokens } = options;
    if (!(meanTokens > 0) || !(maxTokens >= meanTokens)) {
      throw new RangeError(
        `text generator: need 0 < meanTokens <= maxTokens, got ${meanTokens}, ${maxTokens}`,
      );
    }
    this.rand = prng(options.seed);
    const meanWords = meanTokens / TOKENS_PER_WORD;
    this.mu = Math.log(meanWords) - (SIGMA * SIGMA) / 2;
    this.maxWords = Math.max(1, Math.floor(maxTokens / TOKENS_PER_WORD));
  }

  /** A standard normal draw (Box-Muller, both values used). */
  private gaussian(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = 1 - this.rand();
    const v = this.rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  /** The word count of the next text. */
  wordCount(): number {
    const w = Math.round(Math.exp(this.mu + SIGMA * this.gaussian()));
    return Math.min(this.maxWords, Math.max(1, w));
  }

  private number(): string {
    switch (this.int(4)) {
      case 0:
        return String(2 + this.int(98));
      case 1:
        return String(1950 + this.int(76));
      case 2:
        return `${this.int(100)}.${this.int(10)}`;
      default:
        return `${1 + this.int(99)}%`;
    }
  }

  private word(): string {
    const r = this.rand();
    if (r < 0.03) return this.number();
    if (r < 0.45) return FUNCTION_WORDS[this.int(FUNCTION_WORDS.length)];
    return CONTENT_WORDS[this.int(CONTENT_WORDS.length)];
  }

  next(): string {
    const words = this.wordCount();
    const out: string[] = [];
    let sentenceLeft = 0;
    for (let i = 0; i < words; i++) {
      let w = this.word();
      if (sentenceLeft === 0) {
        sentenceLeft = 6 + this.int(13);
        w = w[0].toUpperCase() + w.slice(1);
      }
      sentenceLeft--;
      const last = i === words - 1;
      if (sentenceLeft === 0 || last) {
        const p = this.rand();
        w += p < 0.85 ? '.' : p < 0.95 ? '?' : '!';
        sentenceLeft = 0;
      } else if (this.rand() < 0.07) {
        w += ',';
      }
      out.push(w);
    }
    return out.join(' ');
  }

  /** The next `count` texts. */
  take(count: number): string[] {
    const texts = new Array<string>(count);
    for (let i = 0; i < count; i++) texts[i] = this.next();
    return texts;
  }
}

/** `count` texts for the seed and options (the same on every call). */
export function generateTexts(count: number, options: TextGenOptions): string[] {
  return new TextGenerator(options).take(count);
}

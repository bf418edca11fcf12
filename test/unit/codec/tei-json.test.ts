import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonRejection } from '../../../src/codec/serde-json.js';
import { decodeDecode, decodeEmbed, decodePredict, decodeTokenize } from '../../../src/codec/tei-json.js';

function rejection(fn: () => unknown): JsonRejection {
  try {
    fn();
  } catch (e) {
    if (e instanceof JsonRejection) return e;
    throw e;
  }
  assert.fail('expected a rejection');
}

describe('TEI JSON request decoding', () => {
  it('reads Input as serde does: single first, then batch', () => {
    assert.deepEqual(decodeEmbed('{"inputs":"abc"}', '1.9').input, { batch: false, items: ['abc'] });
    assert.deepEqual(decodeEmbed('{"inputs":[1,2,3]}', '1.9').input, { batch: false, items: [[1, 2, 3]] });
    assert.deepEqual(decodeEmbed('{"inputs":[]}', '1.9').input, { batch: false, items: [[]] });
    assert.deepEqual(decodeEmbed('{"inputs":["a","b"]}', '1.9').input, { batch: true, items: ['a', 'b'] });
    assert.deepEqual(decodeEmbed('{"inputs":["a",[1,2]]}', '1.9').input, {
      batch: true,
      items: ['a', [1, 2]],
    });
    const r = rejection(() => decodeEmbed('{"inputs":["a",-1]}', '1.9'));
    assert.equal(r.status, 422);
    assert.match(
      r.message,
      /inputs: data did not match any variant of untagged enum Input at line 1 column 18$/,
    );
  });

  it('applies defaults and treats null Options as unset', () => {
    const b = decodeEmbed(
      '{"inputs":"a","truncate":null,"prompt_name":null,"dimensions":null,"extra":1}',
      '1.9',
    );
    assert.equal(b.truncate, null);
    assert.equal(b.normalize, true);
    assert.equal(b.truncationDirection, 'Right');
    assert.equal(b.dimensions, null);
  });

  it('names the field, the serde message and the position', () => {
    const cases: Array<[string, string]> = [
      [
        '{"inputs":"a","truncate":"yes"}',
        'truncate: invalid type: string "yes", expected a boolean at line 1 column 30',
      ],
      [
        '{"inputs":"a","dimensions":1.5}',
        'dimensions: invalid type: floating point `1.5`, expected u32 at line 1 column 30',
      ],
      [
        '{"inputs":"a","dimensions":-3}',
        'dimensions: invalid value: integer `-3`, expected u32 at line 1 column 29',
      ],
      [
        '{"inputs":"a",\n "normalize":1}',
        'normalize: invalid type: integer `1`, expected a boolean at line 2 column 14',
      ],
      ['[1]', 'invalid type: sequence, expected struct EmbedRequest at line 1 column 3'],
    ];
    for (const [body, msg] of cases) {
      const r = rejection(() => decodeEmbed(body, '1.9'));
      assert.equal(r.message, `Failed to deserialize the JSON body into the target type: ${msg}`);
    }
  });

  it('rejects bad JSON with 400', () => {
    const r = rejection(() => decodeEmbed('{"inputs":', '1.9'));
    assert.equal(r.status, 400);
    assert.match(r.message, /^Failed to parse the request body as JSON: /);
  });

  it('reads PredictInput shapes', () => {
    assert.deepEqual(decodePredict('{"inputs":"a"}', '1.9').items, [['a']]);
    assert.deepEqual(decodePredict('{"inputs":["a"]}', '1.9'), {
      batch: false,
      items: [['a']],
      truncate: null,
      truncationDirection: 'Right',
      rawScores: false,
    });
    assert.deepEqual(decodePredict('{"inputs":["a","b"]}', '1.9').items, [['a', 'b']]);
    assert.deepEqual(decodePredict('{"inputs":[["a"],["b","c"]]}', '1.9').items, [['a'], ['b', 'c']]);
    assert.match(rejection(() => decodePredict('{"inputs":[]}', '1.9')).message, /invalid length 0/);
    assert.match(
      rejection(() => decodePredict('{"inputs":[["a","b","c"]]}', '1.9')).message,
      /invalid length 3/,
    );
  });

  it('reads tokenize and decode inputs', () => {
    assert.deepEqual(decodeTokenize('{"inputs":[]}'), {
      batch: true,
      inputs: [],
      addSpecialTokens: true,
      promptName: null,
    });
    assert.deepEqual(decodeDecode('{"ids":[]}').ids, [[]]);
    assert.deepEqual(decodeDecode('{"ids":[[1],[2,3]]}').ids, [[1], [2, 3]]);
    assert.equal(decodeDecode('{"ids":[1]}').skipSpecialTokens, true);
  });

  it('accepts lowercase directions on 1.9 only', () => {
    assert.equal(
      decodeEmbed('{"inputs":"a","truncation_direction":"left"}', '1.9').truncationDirection,
      'Left',
    );
    assert.match(
      rejection(() => decodeEmbed('{"inputs":"a","truncation_direction":"left"}', '1.8')).message,
      /unknown variant `left`, expected `Left` or `Right`/,
    );
  });
});

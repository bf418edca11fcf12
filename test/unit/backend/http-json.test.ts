import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ResponseReader,
  decodeBody,
  embedBody,
  predictBody,
  rerankBody,
  seqBody,
  tokenizeBody,
} from '../../../src/backend/http-json.js';
import { BackendError } from '../../../src/backend/errors.js';
import {
  decodeEmbedAll,
  decodePredict,
  decodeRerank,
  decodeTokenize,
  decodeDecode,
} from '../../../src/codec/tei-json.js';
import type { PredictBody } from '../../../src/codec/tei-json.js';

describe('HTTP request bodies', () => {
  it('/embed: inputs as an array, normalize always, dimensions and prompt_name only when set', () => {
    const base = { texts: ['a'], truncate: false, direction: 'Left' as const, normalize: false };
    assert.deepEqual(JSON.parse(embedBody({ ...base, dimensions: null, promptName: null })), {
      inputs: ['a'],
      truncate: false,
      truncation_direction: 'Left',
      normalize: false,
    });
    assert.deepEqual(JSON.parse(embedBody({ ...base, dimensions: 8, promptName: 'q' })), {
      inputs: ['a'],
      truncate: false,
      truncation_direction: 'Left',
      normalize: false,
      dimensions: 8,
      prompt_name: 'q',
    });
  });

  it('forward bodies decode back to the same request with TEI rules (single and batch forms)', () => {
    for (const body of [
      '{"inputs":"a"}',
      '{"inputs":["a","b"],"truncate":true,"prompt_name":"p"}',
      '{"inputs":[1,2]}',
    ]) {
      const r = decodeEmbedAll(body, '1.9');
      assert.deepEqual(decodeEmbedAll(seqBody(r), '1.9'), r, body);
    }
    for (const body of [
      '{"inputs":"a"}',
      '{"inputs":["a","b"]}',
      '{"inputs":[["a"],["b","c"]],"raw_scores":true}',
      '{"inputs":[["a"]]}',
    ]) {
      const r = decodePredict(body, '1.9');
      assert.deepEqual(decodePredict(predictBody(r), '1.9'), r, body);
    }
    const rr = decodeRerank(
      '{"query":"q","texts":["a"],"return_text":true,"truncation_direction":"Left"}',
      '1.9',
    );
    assert.deepEqual(decodeRerank(rerankBody(rr), '1.9'), rr);
    for (const body of ['{"inputs":"a","add_special_tokens":false}', '{"inputs":["a","b"]}']) {
      const r = decodeTokenize(body);
      assert.deepEqual(decodeTokenize(tokenizeBody(r)), r, body);
    }
    for (const body of ['{"ids":[1,2]}', '{"ids":[[1],[2,3]],"skip_special_tokens":false}']) {
      const r = decodeDecode(body);
      assert.deepEqual(decodeDecode(decodeBody(r)), r, body);
    }
  });

  it('truncate null is left out so the backend applies --auto-truncate', () => {
    const r = decodeEmbedAll('{"inputs":"a"}', '1.9');
    assert.equal('truncate' in JSON.parse(seqBody(r)), false);
  });

  it('a single-input call must carry exactly one item', () => {
    const bad: PredictBody = {
      batch: false,
      items: [],
      truncate: null,
      truncationDirection: 'Right',
      rawScores: false,
    };
    assert.throws(() => predictBody(bad), TypeError);
  });
});

describe('HTTP response reading', () => {
  const reader = new ResponseReader('http://b', '/embed');
  const protocolError = (re: RegExp) => (e: unknown) =>
    e instanceof BackendError && e.code === 'ROUTER_ERR_BACKEND_PROTOCOL' && re.test(e.message);

  it('reads a matrix into f32, row-major', () => {
    const { dim, vectors } = reader.matrix('[[0.1,-0.0,1e-45],[3.4028235e38,2,null]]', 2);
    assert.equal(dim, 3);
    assert.deepEqual(Array.from(vectors.subarray(0, 2)), [Math.fround(0.1), -0]);
    assert.equal(vectors[2], Math.fround(1e-45));
    assert.equal(vectors[3], Math.fround(3.4028235e38));
    assert.ok(Number.isNaN(vectors[5]), 'serde_json writes non-finite floats as null');
  });

  it('rejects bodies outside the contract with ROUTER_ERR_BACKEND_PROTOCOL', () => {
    assert.throws(() => reader.matrix('not json', 1), protocolError(/not JSON/));
    assert.throws(() => reader.matrix('[[1]]', 2), protocolError(/1 rows for 2 inputs/));
    assert.throws(() => reader.matrix('[[1,2],[3]]', 2), protocolError(/row 1 has 1 values/));
    assert.throws(() => reader.matrix('[[1,"x"]]', 1), protocolError(/value 1 is not a number/));
    assert.throws(() => reader.ranks('[{"index":-1,"score":1}]'), protocolError(/index/));
  });

  it('predict: a single input is a flat list, a batch is nested; both come back one list per item', () => {
    const single = reader.predict('[{"score":0.7,"label":"a"},{"score":0.3,"label":"b"}]', false);
    assert.deepEqual(single, [
      [
        { score: Math.fround(0.7), label: 'a' },
        { score: Math.fround(0.3), label: 'b' },
      ],
    ]);
    assert.equal(reader.predict('[[{"score":1,"label":"a"}],[]]', true).length, 2);
  });
});

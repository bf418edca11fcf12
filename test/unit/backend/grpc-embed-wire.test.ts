import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadProtos } from '../../../src/proto/load.js';
import { decodeEmbedResponse } from '../../../src/backend/grpc-embed-wire.js';
import { embedTemplate } from '../../../src/backend/grpc-messages.js';

type Codec = {
  requestSerialize: (v: unknown) => Buffer;
  responseSerialize: (v: unknown) => Buffer;
  responseDeserialize: (b: Buffer) => Record<string, unknown>;
  requestDeserialize: (b: Buffer) => Record<string, unknown>;
};
const embedStream = (loadProtos().definition['tei.v1.Embed'] as unknown as Record<string, Codec>).EmbedStream;

describe('decodeEmbedResponse (tei.v1.EmbedResponse, packed floats)', () => {
  it('reads the packed floats and Metadata exactly as protobufjs does', () => {
    const values = [0.1, -2.5, 3.4028234663852886e38, 1e-45, -0, 0.333333343267];
    const metadata = {
      compute_chars: 11,
      compute_tokens: 4,
      total_time_ns: 2 ** 40 + 7,
      tokenization_time_ns: 1,
      queue_time_ns: 0,
      inference_time_ns: 999,
    };
    const buf = embedStream.responseSerialize({ embeddings: values, metadata });
    const fast = decodeEmbedResponse(buf);
    const slow = embedStream.responseDeserialize(buf);
    assert.deepEqual(Array.from(fast.embeddings), slow.embeddings);
    assert.deepEqual(Array.from(fast.embeddings), values.map(Math.fround));
    assert.ok(Object.is(fast.embeddings[4], -0));
    assert.deepEqual(fast.metadata, metadata);
  });

  it('accepts the unpacked form, several runs, and unknown fields', () => {
    const parts: number[] = [];
    const float = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v);
      return [...b];
    };
    parts.push(0x0d, ...float(1.5)); // field 1, wire 5 (unpacked)
    parts.push(0x0a, 8, ...float(2.5), ...float(-1)); // field 1, packed run of 2
    parts.push(0x78, 0x05); // field 15 varint: unknown, skipped
    parts.push(0x12, 2, 0x10, 0x07); // metadata { compute_tokens: 7 }
    const out = decodeEmbedResponse(Buffer.from(parts));
    assert.deepEqual(Array.from(out.embeddings), [1.5, 2.5, -1]);
    assert.equal(out.metadata?.compute_tokens, 7);
  });

  it('rejects malformed frames', () => {
    assert.throws(() => decodeEmbedResponse(Buffer.from([0x0a, 3, 0, 0, 0])), /multiple of 4/);
    assert.throws(() => decodeEmbedResponse(Buffer.from([0x0a, 8, 0, 0, 0, 0])), /past the end/);
    assert.throws(() => decodeEmbedResponse(Buffer.from([0x0d, 0, 0])), /past the end/);
  });

  it('an empty message is an empty vector', () => {
    const out = decodeEmbedResponse(Buffer.alloc(0));
    assert.equal(out.embeddings.length, 0);
    assert.equal(out.metadata, undefined);
  });
});

describe('EmbedRequest encoding', () => {
  const batch = {
    texts: [],
    truncate: false,
    direction: 'Left' as const,
    dimensions: null,
    promptName: null,
  };
  it('always puts normalize on the wire, false included (TEI < 1.9 reads unset as false)', () => {
    for (const normalize of [false, true]) {
      const buf = embedStream.requestSerialize({ ...embedTemplate({ ...batch, normalize }), inputs: 'a' });
      const back = embedStream.requestDeserialize(buf);
      assert.equal(back.normalize, normalize, `normalize=${normalize} round-trips as present`);
      assert.equal(back.truncation_direction, 'TRUNCATION_DIRECTION_LEFT');
      assert.equal('dimensions' in back, false, 'dimensions only when set');
      assert.equal('prompt_name' in back, false, 'prompt_name only when set');
    }
  });

  it('sets dimensions and prompt_name when given', () => {
    const m = embedTemplate({ ...batch, normalize: true, dimensions: 16, promptName: 'query' });
    const back = embedStream.requestDeserialize(embedStream.requestSerialize({ ...m, inputs: 'a' }));
    assert.equal(back.dimensions, 16);
    assert.equal(back.prompt_name, 'query');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadProtos } from '../../../src/proto/load.js';
import {
  copyEmbeddings,
  encodeEmbedStreamBody,
  scanEmbedResponse,
} from '../../../src/backend/grpc-embed-wire.js';
import { GrpcFrameReader } from '../../../src/backend/grpc-frames.js';
import { direction } from '../../../src/backend/grpc-messages.js';
import type { EmbedBatch } from '../../../src/backend/types.js';

type Codec = {
  requestSerialize: (v: unknown) => Buffer;
  responseSerialize: (v: unknown) => Buffer;
  responseDeserialize: (b: Buffer) => Record<string, unknown>;
  requestDeserialize: (b: Buffer) => Record<string, unknown>;
};
const embedStream = (loadProtos().definition['tei.v1.Embed'] as unknown as Record<string, Codec>).EmbedStream;

/** An EmbedResponse's floats (copied out of its bytes) and Metadata, as the EmbedStream call reads them. */
function decodeEmbedResponse(buf: Buffer) {
  const scan = scanEmbedResponse(buf);
  const embeddings = new Float32Array(scan.total);
  copyEmbeddings(buf, scan, embeddings, 0);
  return { embeddings, metadata: scan.metadata };
}

/**
 * The oracle: the EmbedRequest fields grpc-js sent through protobufjs before the direct call (`normalize` always
 * set, `dimensions` and `prompt_name` only when set).
 */
function protobufjsFields(b: EmbedBatch): Record<string, unknown> {
  const m: Record<string, unknown> = {
    truncate: b.truncate,
    normalize: b.normalize,
    truncation_direction: direction(b.direction),
  };
  if (b.dimensions !== null) m.dimensions = b.dimensions;
  if (b.promptName !== null) m.prompt_name = b.promptName;
  return m;
}

/** The EmbedRequests of an EmbedStream body, decoded by protobufjs. */
function requestsOf(body: Buffer): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  const reader = new GrpcFrameReader(
    (buf, start, end) => messages.push(embedStream.requestDeserialize(Buffer.from(buf.subarray(start, end)))),
    1 << 20,
  );
  reader.push(body);
  reader.end();
  return messages;
}

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
    texts: ['a'],
    truncate: false,
    direction: 'Left' as const,
    dimensions: null,
    promptName: null,
  };
  it('always puts normalize on the wire, false included (TEI < 1.9 reads unset as false)', () => {
    for (const normalize of [false, true]) {
      const [back] = requestsOf(encodeEmbedStreamBody({ ...batch, normalize }));
      assert.equal(back.normalize, normalize, `normalize=${normalize} round-trips as present`);
      assert.equal(back.truncation_direction, 'TRUNCATION_DIRECTION_LEFT');
      assert.equal('dimensions' in back, false, 'dimensions only when set');
      assert.equal('prompt_name' in back, false, 'prompt_name only when set');
    }
  });

  it('sets dimensions and prompt_name when given', () => {
    const [back] = requestsOf(
      encodeEmbedStreamBody({ ...batch, normalize: true, dimensions: 16, promptName: 'query' }),
    );
    assert.equal(back.dimensions, 16);
    assert.equal(back.prompt_name, 'query');
  });
});

/** gRPC framing of one message (not compressed). */
function frame(msg: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

describe('encodeEmbedStreamBody: the EmbedStream body in one buffer', () => {
  const batchArb = fc.record({
    texts: fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 20 }),
    truncate: fc.boolean(),
    direction: fc.constantFrom('Left' as const, 'Right' as const),
    normalize: fc.boolean(),
    dimensions: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    promptName: fc.option(fc.string({ unit: 'grapheme', maxLength: 12 })),
  });

  it('property: the bytes protobufjs wrote for each EmbedRequest (protobufjsFields), each framed', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const expected = Buffer.concat(
          batch.texts.map((inputs) =>
            frame(embedStream.requestSerialize({ ...protobufjsFields(batch), inputs })),
          ),
        );
        assert.deepEqual(encodeEmbedStreamBody(batch), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('a text with a lone surrogate goes as U+FFFD, and a long text gets a multi-byte length', () => {
    const long = 'x'.repeat(300);
    const body = encodeEmbedStreamBody({
      texts: ['a\ud800b', long],
      truncate: true,
      direction: 'Right',
      normalize: false,
      dimensions: null,
      promptName: null,
    });
    const messages = requestsOf(body);
    assert.deepEqual(
      messages.map((m) => m.inputs),
      ['a\ufffdb', long],
    );
    assert.equal(messages[0].truncate, true);
    assert.equal(messages[0].normalize, false);
  });
});

describe('GrpcFrameReader: gRPC messages out of DATA chunks', () => {
  it('property: any messages, cut into chunks anywhere, come out whole and in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        (messages, cuts) => {
          const body = Buffer.concat(messages.map(frame));
          const got: Uint8Array[] = [];
          const reader = new GrpcFrameReader((buf, start, end) => got.push(buf.slice(start, end)), 1 << 20);
          let pos = 0;
          for (let i = 0; pos < body.length; i++) {
            const n = cuts[i % cuts.length];
            reader.push(body.subarray(pos, pos + n));
            pos += n;
          }
          reader.end();
          assert.deepEqual(
            got.map((m) => Buffer.from(m)),
            messages.map((m) => Buffer.from(m)),
          );
          assert.equal(
            reader.bytes,
            messages.reduce((s, m) => s + m.length, 0),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a message inside one chunk is handed over in place, not copied', () => {
    const body = frame(Buffer.from('hello'));
    let seen: Uint8Array | undefined;
    new GrpcFrameReader((buf) => (seen = buf), 100).push(body);
    assert.equal(seen, body);
  });

  it('refuses a compressed message, an unknown flag, more than maxBytes, and a body ending inside a message', () => {
    const compressed = frame(Buffer.from('x'));
    compressed[0] = 1;
    assert.throws(
      () => new GrpcFrameReader(() => undefined, 100).push(compressed),
      /compressed gRPC message/,
    );
    compressed[0] = 7;
    assert.throws(
      () => new GrpcFrameReader(() => undefined, 100).push(compressed),
      /bad gRPC message flag 7/,
    );
    assert.throws(
      () =>
        new GrpcFrameReader(() => undefined, 10).push(
          Buffer.concat([frame(Buffer.alloc(6)), frame(Buffer.alloc(6))]),
        ),
      /over 10 bytes/,
    );
    const cut = new GrpcFrameReader(() => undefined, 100);
    cut.push(frame(Buffer.from('hello')).subarray(0, 7));
    assert.throws(() => cut.end(), /ended inside a message/);
    const header = new GrpcFrameReader(() => undefined, 100);
    header.push(Buffer.from([0, 0]));
    assert.throws(() => header.end(), /ended inside a message/);
  });
});

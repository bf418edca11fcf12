/**
 * output_dtype: quantized embeddings on the OpenAI route (JSON numbers and base64) and on Arrow (HTTP query,
 * gRPC EmbedArrow metadata), checked against the float answer for the same texts with the README's formulas,
 * computed here independently of src/. Real clients over sockets: node's http, apache-arrow, grpc-js.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  Field,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import type { App } from '../../src/app.js';
import type { RunningSim } from '../../src/sim/index.js';
import { grpcClient, postJson, request, sim, unary } from '../helpers/sim.js';
import { routerModel, startRouter } from '../helpers/router.js';

const TEXTS = ['hello world', 'a second text', 'the third one is a little longer than the others'];

/** The formulas of the README, written again here. */
const roundAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v)) + 0; // (+ 0: no -0)
const int8Of = (x: number) => Math.min(127, Math.max(-127, roundAway(x * 127)));
const uint8Of = (x: number) => Math.min(255, Math.max(0, roundAway((x + 1) * 127.5)));
function packBits(v: number[]): number[] {
  const out = new Array<number>(Math.ceil(v.length / 8)).fill(0);
  v.forEach((x, j) => {
    if (x > 0) out[j >> 3] |= 128 >> (j & 7);
  });
  return out;
}
/** Whether `h` is a binary16 value (at most 11 significant bits, within its exponent range) near `x`. */
function isHalfOf(h: number, x: number): boolean {
  if (h === 0) return Math.abs(x) <= 2 ** -25;
  const e = Math.max(Math.floor(Math.log2(Math.abs(h))), -14);
  return Number.isInteger(h / 2 ** (e - 10)) && Math.abs(h - x) <= 2 ** (e - 11);
}

/** The value of binary16 bits (normal and subnormal; the embeddings hold no infinities). */
function halfBits(b: number): number {
  const e = (b >> 10) & 31;
  const m = b & 1023;
  return (b & 0x8000 ? -1 : 1) * (e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
}

function arrowInput(texts: string[]): Uint8Array {
  const schema = new Schema([new Field('id', new Int32(), false), new Field('text', new Utf8(), true)]);
  const data = makeData({
    type: new Struct(schema.fields),
    length: texts.length,
    children: [
      vectorFromArray(
        texts.map((_, i) => i),
        new Int32(),
      ).data[0],
      vectorFromArray(texts, new Utf8()).data[0],
    ],
  });
  return tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), 'stream');
}

describe('output_dtype: quantized embeddings', () => {
  let backend: RunningSim;
  let app: App;
  let base: string;
  let floats: number[][];

  before(async () => {
    backend = await sim({ modelId: 'mini' });
    ({ app, base } = await startRouter([routerModel([backend.url])]));
    const r = await postJson(base, '/v1/embeddings', { model: 'mini', input: TEXTS });
    assert.equal(r.status, 200, r.body);
    floats = (JSON.parse(r.body) as { data: Array<{ embedding: number[] }> }).data.map((d) =>
      d.embedding.map(Math.fround),
    );
  });
  after(async () => {
    await app.close();
    await backend.close();
  });

  async function openai(extra: Record<string, unknown>): Promise<Array<number[] | string>> {
    const r = await postJson(base, '/v1/embeddings', { model: 'mini', input: TEXTS, ...extra });
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { data: Array<{ embedding: number[] | string; index: number }> };
    assert.deepEqual(
      body.data.map((d) => d.index),
      [0, 1, 2],
    );
    return body.data.map((d) => d.embedding);
  }

  it('OpenAI route, JSON numbers: int8, uint8, binary (packed bytes) and float16 follow the formulas', async () => {
    assert.deepEqual(
      await openai({ output_dtype: 'int8' }),
      floats.map((v) => v.map(int8Of)),
    );
    assert.deepEqual(
      await openai({ output_dtype: 'uint8' }),
      floats.map((v) => v.map(uint8Of)),
    );
    const bin = await openai({ output_dtype: 'binary' });
    assert.deepEqual(bin, floats.map(packBits));
    assert.equal((bin[0] as number[]).length, Math.ceil(floats[0].length / 8));
    const half = ((await openai({ output_dtype: 'float16' })) as number[][]).map((v) => v.map(Math.fround));
    half.forEach((row, i) =>
      row.forEach((h, j) =>
        assert.ok(isHalfOf(h, floats[i][j]), `row ${i} value ${j}: ${h} for ${floats[i][j]}`),
      ),
    );
    const asFloat = (await openai({ output_dtype: 'float' })) as number[][];
    assert.deepEqual(
      asFloat.map((v) => v.map(Math.fround)),
      floats,
      'float is the default answer',
    );
  });

  it('OpenAI route, base64: the quantized bytes (float: f32 as OpenAI)', async () => {
    const b64 = (extra: Record<string, unknown>) =>
      openai({ encoding_format: 'base64', ...extra }).then((rows) =>
        rows.map((s) => Buffer.from(s as string, 'base64')),
      );
    const i8 = await b64({ output_dtype: 'int8' });
    assert.deepEqual(
      i8.map((b) => Array.from(new Int8Array(b.buffer, b.byteOffset, b.length))),
      floats.map((v) => v.map(int8Of)),
    );
    const u8 = await b64({ output_dtype: 'binary' });
    assert.deepEqual(
      u8.map((b) => Array.from(b)),
      floats.map(packBits),
    );
    const f16 = await b64({ output_dtype: 'float16' });
    assert.equal(f16[0].length, 2 * floats[0].length);
    const f32 = await b64({});
    assert.deepEqual(
      f32.map((b) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)))),
      floats,
    );
  });

  it('OpenAI route: an unknown output_dtype is a 422 naming the choices', async () => {
    const r = await postJson(base, '/v1/embeddings', { model: 'mini', input: ['a'], output_dtype: 'int4' });
    assert.equal(r.status, 422, r.body);
    assert.match(
      r.body,
      /unknown variant `int4`, expected one of `float`, `float16`, `int8`, `uint8`, `binary`/,
    );
  });

  function embeddingsOf(ipc: Uint8Array) {
    const t = tableFromIPC(ipc);
    const field = t.schema.fields.find((f) => f.name === 'embeddings')!;
    const col = t.getChild('embeddings')!;
    const rows = Array.from({ length: t.numRows }, (_, i) =>
      Array.from((col.get(i) as { toArray(): ArrayLike<number> }).toArray()),
    );
    return { field, rows };
  }

  it('Arrow over HTTP: ?output_dtype= gives FixedSizeList<Int8 | Uint8 | Float16> (binary: packed Uint8) with the dtype in the field metadata', async () => {
    const post = async (q: string) => {
      const r = await fetch(`${base}/v1/embed/arrow?${q}`, {
        method: 'POST',
        body: arrowInput(TEXTS),
        headers: { 'content-type': 'application/vnd.apache.arrow.stream', 'x-model': 'mini' },
      });
      assert.equal(r.status, 200);
      return embeddingsOf(new Uint8Array(await r.arrayBuffer()));
    };
    const i8 = await post('output_dtype=int8');
    assert.equal(String(i8.field.type), 'FixedSizeList[384]<Int8>');
    assert.equal(i8.field.metadata.get('tei_router.dtype'), 'int8');
    assert.deepEqual(
      i8.rows,
      floats.map((v) => v.map(int8Of)),
    );
    const bin = await post('output_dtype=binary&compression=none');
    assert.equal(String(bin.field.type), 'FixedSizeList[48]<Uint8>');
    assert.equal(bin.field.metadata.get('tei_router.dim'), '384');
    assert.deepEqual(bin.rows, floats.map(packBits));
    const f16 = await post('output_dtype=float16');
    assert.equal(String(f16.field.type), 'FixedSizeList[384]<Float16>');
    f16.rows.forEach((row, i) =>
      // (apache-arrow's Float16 toArray() holds the raw bits)
      row.forEach((bits, j) =>
        assert.ok(isHalfOf(halfBits(bits), floats[i][j]), `${bits} for ${floats[i][j]}`),
      ),
    );
    const plain = await post('');
    assert.equal(String(plain.field.type), 'FixedSizeList[384]<Float32>');
    assert.equal(plain.field.metadata.size, 0, 'float output is unchanged (tei-manager shape)');

    const bad = await request(
      `${base}/v1/embed/arrow?output_dtype=f8`,
      'POST',
      Buffer.from(arrowInput(TEXTS)),
      {
        'content-type': 'application/vnd.apache.arrow.stream',
      },
    );
    assert.equal(bad.status, 422, bad.body);
    assert.match(bad.body, /output_dtype=f8: expected one of float, float16, int8, uint8, binary/);
  });

  it('gRPC EmbedArrow: x-output-dtype metadata', async () => {
    const client = grpcClient('tei_multiplexer.v1.TeiMultiplexer', `127.0.0.1:${app.ports.grpc}`);
    try {
      const md = new grpc.Metadata();
      md.set('x-output-dtype', 'uint8');
      const { res } = await unary<{ arrow_ipc: Buffer }>(
        client,
        'EmbedArrow',
        { target: { model_id: 'mini' }, arrow_ipc: arrowInput(TEXTS), normalize: true, truncate: true },
        md,
      );
      const u8 = embeddingsOf(res.arrow_ipc);
      assert.equal(String(u8.field.type), 'FixedSizeList[384]<Uint8>');
      assert.deepEqual(
        u8.rows,
        floats.map((v) => v.map(uint8Of)),
      );
      const bad = new grpc.Metadata();
      bad.set('x-output-dtype', 'bits');
      await assert.rejects(
        unary(client, 'EmbedArrow', { target: { model_id: 'mini' }, arrow_ipc: arrowInput(TEXTS) }, bad),
        (err: grpc.ServiceError) =>
          err.code === grpc.status.INVALID_ARGUMENT && /x-output-dtype=bits/.test(err.details),
      );
    } finally {
      client.close();
    }
  });
});

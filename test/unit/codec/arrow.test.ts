import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  CompressionType,
  DataType,
  Dictionary,
  Float32,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  Message,
  RecordBatchStreamWriter,
  Table,
  Uint32,
  Utf8,
  Utf8View,
  compressionRegistry,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import type { Data, FixedSizeList, List, RecordBatch, Struct, Vector } from 'apache-arrow';

import {
  concatData,
  decodeArrowTexts,
  embeddingsRecordBatch,
  encodeArrowEmbeddings,
  encodeArrowSparse,
  ensureArrowCodecs,
  textBatchFromArrow,
} from '../../../src/codec/arrow.js';
import { lz4FrameDecode, lz4FrameEncode, withDecodeBudget } from '../../../src/codec/arrow-compression.js';
import { RouterError } from '../../../src/errors.js';
import { isValid, textAt } from '../../../src/pipeline/text-batch.js';
import type { TextBatch } from '../../../src/pipeline/text-batch.js';

ensureArrowCodecs();

const hasTool = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_ZSTD = hasTool('zstd');
const HAS_LZ4 = hasTool('lz4');

/** Row i as a string, or null for a null row. */
function rowsOf(b: TextBatch): (string | null)[] {
  return Array.from({ length: b.length }, (_, i) => (isValid(b, i) ? textAt(b, i) : null));
}

function stream(batches: RecordBatch[], compressionType: CompressionType | null = null): Uint8Array {
  const w = new RecordBatchStreamWriter({ compressionType });
  for (const b of batches) w.write(b);
  w.finish();
  return w.toUint8Array(true);
}

/** The body compression of each record batch message in a stream (null = uncompressed). */
function batchCompressions(ipc: Uint8Array): (CompressionType | null)[] {
  const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const out: (CompressionType | null)[] = [];
  for (let pos = 0; pos + 8 <= ipc.length;) {
    const len = dv.getInt32(pos + 4, true);
    if (len === 0) break;
    const m = Message.decode(ipc.subarray(pos + 8, pos + 8 + len));
    if (m.isRecordBatch()) out.push(m.header().compression?.type ?? null);
    pos += 8 + len + m.bodyLength;
  }
  return out;
}

function batchOf(columns: Record<string, Vector>): RecordBatch {
  return new Table(columns).batches[0];
}

const SAMPLE = [
  'a',
  null,
  'héllo wörld — longer than twelve bytes',
  '',
  '日本語のテキスト',
  'x'.repeat(13),
  null,
];

function assertArrowInvalid(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RouterError, `expected RouterError, got ${String(e)}`);
    assert.equal(e.code, 'ROUTER_ERR_ARROW_INVALID');
    assert.equal(e.kind, 'invalid_argument');
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('decodeArrowTexts', () => {
  for (const type of [new Utf8(), new LargeUtf8(), new Utf8View()]) {
    it(`reads a ${String(type)} text column with nulls kept in place`, () => {
      const ipc = tableToIPC(new Table({ text: vectorFromArray(SAMPLE, type) }), 'stream');
      const d = decodeArrowTexts(ipc);
      assert.equal(d.rows, SAMPLE.length);
      assert.equal(d.texts.length, SAMPLE.length);
      assert.equal(d.column, 'text');
      assert.deepEqual(rowsOf(d.texts), SAMPLE);
      assert.equal(d.ids, null);
      assert.equal(d.texts.offsets.length, SAMPLE.length + 1);
      assert.ok(d.texts.validity);
    });
  }

  it('reads every record batch, merging validity and rebasing offsets', () => {
    const a = batchOf({ text: vectorFromArray(['one', 'two'], new Utf8()) });
    const b = batchOf({ text: vectorFromArray([null, 'four', 'five'], new Utf8()) });
    const c = batchOf({ text: vectorFromArray(['six'], new Utf8()) });
    const d = decodeArrowTexts(stream([a, b, c]));
    assert.deepEqual(rowsOf(d.texts), ['one', 'two', null, 'four', 'five', 'six']);
    assert.equal(d.texts.validity?.[0], 0b111011);
    assert.deepEqual([...d.texts.offsets], [0, 3, 6, 6, 10, 14, 17]);
    assert.equal(new TextDecoder().decode(d.texts.data), 'onetwofourfivesix');
  });

  it('returns no validity bitmap when no row is null', () => {
    const d = decodeArrowTexts(tableToIPC(new Table({ text: vectorFromArray(['a', 'b'], new Utf8()) })));
    assert.equal(d.texts.validity, null);
  });

  it('reads Utf8View batches with inline (≤ 12 bytes) and out-of-line strings over several batches', () => {
    const long = (i: number) => `a long string number ${i} that lives in a variadic buffer`;
    const a = batchOf({
      text: vectorFromArray(['short', long(1), '123456789012', '1234567890123'], new Utf8View()),
    });
    const b = batchOf({ text: vectorFromArray([long(2), null, 'tiny'], new Utf8View()) });
    const d = decodeArrowTexts(stream([a, b]));
    assert.deepEqual(rowsOf(d.texts), [
      'short',
      long(1),
      '123456789012',
      '1234567890123',
      long(2),
      null,
      'tiny',
    ]);
  });

  it('reads sliced batches (only the slice, offsets rebased)', () => {
    for (const type of [new Utf8(), new LargeUtf8()]) {
      const full = batchOf({
        text: vectorFromArray(SAMPLE, type),
        id: vectorFromArray([0, 1, 2, 3, 4, 5, 6], new Int32()),
      });
      const d = decodeArrowTexts(stream([full.slice(2, 5), full.slice(5, 7), full.slice(0, 1)]));
      assert.deepEqual(
        rowsOf(d.texts),
        [...SAMPLE.slice(2, 5), ...SAMPLE.slice(5, 7), SAMPLE[0]],
        String(type),
      );
      assert.deepEqual([...(d.ids!.values as Int32Array)], [2, 3, 4, 5, 6, 0]);
    }
  });

  it('textBatchFromArrow respects in-memory slice offsets for every string layout and bit offset', () => {
    for (const type of [new Utf8(), new LargeUtf8(), new Utf8View()]) {
      const v = vectorFromArray([...SAMPLE, ...SAMPLE], type);
      for (const [begin, end] of [
        [3, 12],
        [1, 2],
        [9, 14],
        [0, 0],
      ]) {
        const chunks = [v.slice(begin, end).data[0], v.slice(0, 3).data[0]];
        const got = rowsOf(textBatchFromArrow(chunks));
        const all = [...SAMPLE, ...SAMPLE];
        assert.deepEqual(
          got,
          [...all.slice(begin, end), ...all.slice(0, 3)],
          `${String(type)} ${begin}..${end}`,
        );
      }
    }
  });

  it('decodes dictionary-encoded text (nulls in the indices kept)', () => {
    const v = vectorFromArray(
      ['red', 'green', null, 'red', 'blue', 'green'],
      new Dictionary(new Utf8(), new Int32()),
    );
    const d = decodeArrowTexts(tableToIPC(new Table({ text: v })));
    assert.deepEqual(rowsOf(d.texts), ['red', 'green', null, 'red', 'blue', 'green']);
  });

  it('prefers a column named text, else takes the first string column', () => {
    const named = batchOf({
      title: vectorFromArray(['t1', 't2'], new Utf8()),
      text: vectorFromArray(['x1', 'x2'], new LargeUtf8()),
    });
    const d1 = decodeArrowTexts(stream([named]));
    assert.equal(d1.column, 'text');
    assert.deepEqual(rowsOf(d1.texts), ['x1', 'x2']);

    const unnamed = batchOf({
      n: vectorFromArray([1, 2], new Int32()),
      body: vectorFromArray(['b1', 'b2'], new Utf8View()),
      other: vectorFromArray(['o1', 'o2'], new Utf8()),
    });
    const d2 = decodeArrowTexts(stream([unnamed]));
    assert.equal(d2.column, 'body');
    assert.deepEqual(rowsOf(d2.texts), ['b1', 'b2']);
  });

  it('rejects input with no string column, naming the columns found', () => {
    const ipc = tableToIPC(
      new Table({ a: vectorFromArray([1], new Int32()), b: vectorFromArray([1.5], new Float64()) }),
    );
    assertArrowInvalid(
      () => decodeArrowTexts(ipc),
      /no string column \(columns: a: Int32, b: Float64\); send a Utf8 column named text/,
    );
  });

  it('rejects a text column that is not a string type, naming its type', () => {
    const ipc = tableToIPC(
      new Table({ text: vectorFromArray([1, 2], new Int32()), s: vectorFromArray(['a', 'b'], new Utf8()) }),
    );
    assertArrowInvalid(() => decodeArrowTexts(ipc), /column text has type Int32/);
  });

  it('echoes an id column (any type), concatenated over batches', () => {
    const a = batchOf({
      id: vectorFromArray([10n, 11n], new Int64()),
      text: vectorFromArray(['a', 'b'], new Utf8()),
    });
    const b = batchOf({
      id: vectorFromArray([null, 13n], new Int64()),
      text: vectorFromArray(['c', 'd'], new Utf8()),
    });
    const d = decodeArrowTexts(stream([a, b]));
    assert.equal(d.ids?.length, 4);
    assert.ok(DataType.isInt(d.ids!.type));
    const out = tableFromIPC(
      encodeArrowEmbeddings({ vectors: new Float32Array(8), rows: 4, dim: 2, validity: null, ids: d.ids }),
    );
    const idCol = out.getChild('id')!;
    assert.deepEqual(
      Array.from({ length: 4 }, (_, i) => idCol.get(i)),
      [10n, 11n, null, 13n],
    );

    const s1 = batchOf({
      id: vectorFromArray(['r1', null], new Utf8()),
      text: vectorFromArray(['a', 'b'], new Utf8()),
    });
    const s2 = batchOf({ id: vectorFromArray(['r3'], new Utf8()), text: vectorFromArray(['c'], new Utf8()) });
    const ds = decodeArrowTexts(stream([s1, s2]));
    const outS = tableFromIPC(
      encodeArrowEmbeddings({ vectors: new Float32Array(3), rows: 3, dim: 1, validity: null, ids: ds.ids }),
    );
    assert.deepEqual(outS.getChild('id')?.toArray(), ['r1', null, 'r3']);
    assert.ok(DataType.isUtf8(outS.schema.fields[0].type));
  });

  it('passes a single-batch id column of any type through, and rejects unconcatenable ones over several batches', () => {
    const v = (xs: string[]) => vectorFromArray(xs, new Utf8View());
    const one = decodeArrowTexts(
      stream([batchOf({ id: v(['a']), text: vectorFromArray(['t'], new Utf8()) })]),
    );
    assert.ok(DataType.isUtf8View(one.ids!.type));
    const two = stream([
      batchOf({ id: v(['a']), text: vectorFromArray(['t'], new Utf8()) }),
      batchOf({ id: v(['b']), text: vectorFromArray(['u'], new Utf8()) }),
    ]);
    assertArrowInvalid(
      () => decodeArrowTexts(two),
      /id column of type Utf8View spread over several record batches/,
    );
  });

  it('concatData keeps bit offsets of booleans and sliced chunks', () => {
    const v = vectorFromArray([true, false, null, true, true, false, false, true, null, true]);
    const data = concatData([v.slice(1, 9).data[0], v.slice(3, 6).data[0]]);
    const back = new Table({ b: new (v.constructor as new (d: Data[]) => Vector)([data]) });
    assert.deepEqual(back.getChild('b')?.toArray(), [
      false,
      null,
      true,
      true,
      false,
      false,
      true,
      null,
      true,
      true,
      false,
    ]);
  });

  it('reads LZ4_FRAME-compressed streams (many batches)', () => {
    const batches = [0, 1, 2].map((k) =>
      batchOf({
        text: vectorFromArray(
          Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? null : `batch ${k} row ${i} `.repeat(5))),
          new Utf8(),
        ),
      }),
    );
    const ipc = stream(batches, CompressionType.LZ4_FRAME);
    const plain = stream(batches);
    assert.ok(ipc.length < plain.length * 0.8, 'LZ4 actually compressed the body');
    assert.deepEqual(rowsOf(decodeArrowTexts(ipc).texts), rowsOf(decodeArrowTexts(plain).texts));
  });

  it('reads a ZSTD-compressed stream (fixture made with the zstd CLI at level 19)', () => {
    // id: Int32 [7, 8, 9], text: Utf8 ['zstd ' × 30, null, 'short'], one batch, ZSTD body compression.
    const fixture = Buffer.from(
      '/////7gAAAAQAAAAAAAKABAADgAHAAgACgAAAAAAAAEQAAAAAAAEAAgACAAAAAQACAAAAAQAAAACAAAASAAAAAQAAADQ////FAAAAAAAAAEYAAAAAAAABRgAAAAEAAAAdGV4dAAAAAAAAAAABAAEAAQAAAAQABgABAALABMAFAAAAAwAEAAAABQAAAAAAAABFAAAAAAAAAIYAAAAAgAAAGlkAAAAAAAACAAMAAgABwAIAAAAAAAAASAAAAAAAAAA/////+AAAAAUAAAAAAAAAAwAGAAWAA8AEAAEAAwAAAB4AAAAAAAAAAAAAAMUAAAAAAAEAAwAHgAQAAwACAAEAAwAAAAgAAAAJAAAAHgAAAADAAAAAAAAAAAAAAAAAAYACAAHAAYAAAAAAAABBQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABQAAAAAAAAAGAAAAAAAAAAdAAAAAAAAADgAAAAAAAAAGAAAAAAAAABQAAAAAAAAACYAAAAAAAAAAAAAAAIAAAADAAAAAAAAAAAAAAAAAAAAAwAAAAAAAAABAAAAAAAAAP//////////BwAAAAgAAAAJAAAAAAAAABUAAAAAAAAAKLUv/QRoRQAAEAUAAQCTABa0T3+PAAAA//////////8AAAAAlgAAAJYAAACbAAAAHgAAAAAAAAAotS/9BGiNAABQenN0ZCBzaG9ydAEADlBFC5/USVwAAP////8AAAAA',
      'base64',
    );
    const d = decodeArrowTexts(new Uint8Array(fixture));
    assert.deepEqual(rowsOf(d.texts), ['zstd '.repeat(30), null, 'short']);
    assert.deepEqual([...(d.ids!.values as Int32Array)], [7, 8, 9]);
  });

  it(
    'reads ZSTD-compressed streams written live through the zstd CLI',
    { skip: !HAS_ZSTD && 'no zstd CLI' },
    () => {
      const prev = compressionRegistry.get(CompressionType.ZSTD)!;
      compressionRegistry.set(CompressionType.ZSTD, {
        decode: prev.decode,
        encode: (d: Uint8Array) => new Uint8Array(execFileSync('zstd', ['-q', '-c', '-3'], { input: d })),
      });
      let ipc: Uint8Array;
      const texts = Array.from({ length: 300 }, (_, i) =>
        i % 11 === 3 ? null : `zstd row ${i} `.repeat(i % 9),
      );
      try {
        ipc = stream(
          [
            batchOf({ text: vectorFromArray(texts.slice(0, 120), new Utf8()) }),
            batchOf({ text: vectorFromArray(texts.slice(120), new Utf8()) }),
          ],
          CompressionType.ZSTD,
        );
      } finally {
        compressionRegistry.set(CompressionType.ZSTD, prev);
      }
      assert.deepEqual(rowsOf(decodeArrowTexts(ipc).texts), texts);
    },
  );

  it('accepts the IPC file format too', () => {
    const d = decodeArrowTexts(
      tableToIPC(new Table({ text: vectorFromArray(['f1', null], new Utf8()) }), 'file'),
    );
    assert.deepEqual(rowsOf(d.texts), ['f1', null]);
  });

  it('gives a valid empty batch for zero rows', () => {
    const d = decodeArrowTexts(tableToIPC(new Table({ text: vectorFromArray([] as string[], new Utf8()) })));
    assert.equal(d.rows, 0);
    assert.equal(d.texts.length, 0);
    assert.deepEqual([...d.texts.offsets], [0]);
  });

  it('rejects empty input, a schema without batches, random bytes and wrong formats', () => {
    assertArrowInvalid(() => decodeArrowTexts(new Uint8Array(0)), /empty/);
    const schemaOnly = (() => {
      const w = new RecordBatchStreamWriter();
      w.reset(undefined, new Table({ text: vectorFromArray(['x'], new Utf8()) }).schema);
      w.finish();
      return w.toUint8Array(true);
    })();
    assertArrowInvalid(() => decodeArrowTexts(schemaOnly), /no record batch/);
    assertArrowInvalid(() => decodeArrowTexts(new TextEncoder().encode('{"inputs": ["json, not arrow"]}')));
    assertArrowInvalid(() =>
      decodeArrowTexts(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])),
    );
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24) & 0xff;
    for (let n = 0; n < 300; n++) {
      const bytes = Uint8Array.from({ length: 4 + (n % 97) * 7 }, rnd);
      if (n % 3 === 0) bytes.set([0xff, 0xff, 0xff, 0xff], 0); // looks like a message start
      assertArrowInvalid(() => decodeArrowTexts(bytes));
    }
  });

  it('never crashes on truncated or corrupted streams (RouterError or a shorter valid read)', () => {
    const texts = Array.from({ length: 40 }, (_, i) => (i % 5 ? `row ${i} `.repeat(6) : null));
    const file = tableToIPC(
      new Table([
        batchOf({ text: vectorFromArray(texts.slice(0, 20), new Utf8()) }),
        batchOf({ text: vectorFromArray(texts.slice(20), new Utf8()) }),
      ]),
      'file',
    );
    for (const compression of [null, CompressionType.LZ4_FRAME, 'file'] as const) {
      const ipc =
        compression === 'file'
          ? file
          : stream(
              [
                batchOf({ text: vectorFromArray(texts.slice(0, 20), new Utf8()) }),
                batchOf({ text: vectorFromArray(texts.slice(20), new Utf8()) }),
              ],
              compression,
            );
      const check = (bytes: Uint8Array) => {
        try {
          const d = decodeArrowTexts(bytes);
          assert.ok(d.rows <= 40);
        } catch (e) {
          assert.ok(
            e instanceof RouterError && e.code === 'ROUTER_ERR_ARROW_INVALID',
            `unexpected ${String(e)}`,
          );
        }
      };
      for (let cut = 0; cut < ipc.length; cut += 3) check(ipc.subarray(0, cut));
      let seed = 7;
      for (let k = 0; k < 400; k++) {
        const bad = ipc.slice();
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        bad[seed % bad.length] ^= 1 + (k % 255);
        check(bad);
      }
    }
    const truncated = tableToIPC(new Table({ text: vectorFromArray(texts, new Utf8()) }));
    assertArrowInvalid(() => decodeArrowTexts(truncated.subarray(0, truncated.length - 40)));
  });

  it('bounds decompressed size (an LZ4 bomb is rejected, not allocated)', () => {
    const big = batchOf({ text: vectorFromArray(['z'.repeat(1 << 20)], new Utf8()) });
    const ipc = stream([big], CompressionType.LZ4_FRAME);
    assert.ok(ipc.length < 20_000);
    assertArrowInvalid(() => decodeArrowTexts(ipc, { maxDecodedBytes: 1 << 19 }), /limit/);
    assert.equal(decodeArrowTexts(ipc, { maxDecodedBytes: 1 << 21 }).texts.data.length, 1 << 20);
  });
});

describe('LZ4 frame codec', () => {
  it('decodes its own frames and rejects a frame that declares a huge content size', () => {
    const src = new TextEncoder().encode('abcabcabcabc hello hello hello '.repeat(1000));
    assert.deepEqual(lz4FrameDecode(lz4FrameEncode(src), 1 << 30), src);
    const bomb = Uint8Array.from([
      0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    assert.throws(() => lz4FrameDecode(bomb, 1 << 30), /declares/);
    assert.throws(() => withDecodeBudget(10, () => lz4FrameDecode(lz4FrameEncode(src), 10)), /limit/);
  });

  it(
    'decodes frames from the reference lz4 CLI (linked blocks, content size, checksums)',
    { skip: !HAS_LZ4 && 'no lz4 CLI' },
    () => {
      const parts: number[] = [];
      let s = 1;
      for (let i = 0; i < 600_000; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        parts.push(i % 3 === 0 ? s >>> 24 : i & 0xff);
      }
      const src = Uint8Array.from(parts);
      for (const flags of [
        [],
        ['-BD'],
        ['--content-size', '-BX'],
        ['-B4', '-BD', '--no-frame-crc'],
        ['-9'],
      ]) {
        const frame = new Uint8Array(execFileSync('lz4', ['-q', '-c', ...flags], { input: src }));
        assert.deepEqual(lz4FrameDecode(frame, 1 << 30), src, flags.join(' '));
      }
    },
  );

  it('passes large incompressible buffers through (stored raw by the writer), still compresses the rest', () => {
    const floats = new Float32Array(100_000);
    let a = 1;
    for (let i = 0; i < floats.length; i++)
      floats[i] = (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const bytes = new Uint8Array(floats.buffer);
    assert.equal(lz4FrameEncode(bytes), bytes);
    const zeros = new Uint8Array(400_000);
    assert.ok(lz4FrameEncode(zeros).length < 10_000);
    const t = tableFromIPC(
      encodeArrowEmbeddings({ vectors: floats, rows: 1000, dim: 100, validity: null, ids: null }),
    );
    assert.deepEqual(t.getChild('embeddings')!.data[0].children[0].values, floats);
  });

  it(
    'its output is read by the reference lz4 CLI (several full 4 MiB blocks)',
    { skip: !HAS_LZ4 && 'no lz4 CLI' },
    () => {
      const src = Uint8Array.from({ length: 9_000_000 }, (_, i) => ((i * 7) % 251) ^ (i >> 12));
      const frame = lz4FrameEncode(src);
      assert.ok(frame.length < src.length / 2);
      const out = new Uint8Array(
        execFileSync('lz4', ['-q', '-d', '-c'], { input: frame, maxBuffer: 1 << 26 }),
      );
      assert.deepEqual(out, src);
      assert.deepEqual(lz4FrameDecode(frame, 1 << 30), src);
    },
  );
});

describe('encodeArrowEmbeddings', () => {
  const rows = 5;
  const dim = 4;
  const vectors = new Float32Array(rows * dim);
  const bits = new Uint32Array(vectors.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.imul(i + 1, 2654435761) >>> 0;
  vectors[0] = -0;
  vectors[1] = Number.NaN;
  vectors[2] = Number.POSITIVE_INFINITY;

  for (const compression of [undefined, 'lz4', null] as const) {
    it(`round-trips bit-identical values with the exact schema (compression ${String(compression)})`, () => {
      const validity = Uint8Array.of(0b11101); // row 1 null
      const ids = vectorFromArray(['a', 'b', 'c', 'd', 'e'], new Utf8()).data[0];
      const ipc = encodeArrowEmbeddings({ vectors, rows, dim, validity, ids, compression });
      assert.deepEqual(
        batchCompressions(ipc),
        [compression === null ? null : CompressionType.LZ4_FRAME],
        'one record batch, LZ4_FRAME unless asked for none',
      );
      const t = tableFromIPC(ipc);
      assert.equal(t.batches.length, 1);
      assert.equal(t.numRows, rows);
      const [idField, embField] = t.schema.fields;
      assert.equal(t.schema.fields.length, 2);
      assert.equal(idField.name, 'id');
      assert.ok(DataType.isUtf8(idField.type));
      assert.equal(embField.name, 'embeddings');
      assert.equal(embField.nullable, true);
      const type = embField.type as FixedSizeList;
      assert.ok(DataType.isFixedSizeList(type));
      assert.equal(type.listSize, dim);
      assert.equal(type.children[0].name, 'item');
      assert.equal(type.children[0].nullable, false);
      assert.ok(DataType.isFloat(type.children[0].type));
      assert.equal(String(type.children[0].type), 'Float32');
      const col = t.getChild('embeddings')!;
      assert.deepEqual(
        Array.from({ length: rows }, (_, i) => col.isValid(i)),
        [true, false, true, true, true],
      );
      const values = col.data[0].children[0].values as Float32Array;
      assert.deepEqual(new Uint32Array(values.buffer, values.byteOffset, rows * dim), bits);
      assert.deepEqual(t.getChild('id')?.toArray(), ['a', 'b', 'c', 'd', 'e']);
    });
  }

  it('builds the column zero-copy over the caller Float32Array', () => {
    const { column } = embeddingsRecordBatch({ vectors, rows, dim, validity: null, ids: null });
    const values = column.children[0].values as Float32Array;
    assert.equal(values.buffer, vectors.buffer);
    assert.equal(values.byteOffset, vectors.byteOffset);
  });

  it('writes only the embeddings column without ids', () => {
    const t = tableFromIPC(encodeArrowEmbeddings({ vectors, rows, dim, validity: null, ids: null }));
    assert.deepEqual(
      t.schema.fields.map((f) => f.name),
      ['embeddings'],
    );
    assert.equal(t.getChild('embeddings')!.nullCount, 0);
  });

  it('zero rows give a valid empty stream (dim known, or 0 when unknown)', () => {
    for (const d of [384, 0]) {
      const ipc = encodeArrowEmbeddings({
        vectors: new Float32Array(0),
        rows: 0,
        dim: d,
        validity: null,
        ids: null,
      });
      const t = tableFromIPC(ipc);
      assert.equal(t.numRows, 0);
      assert.equal(t.batches.length, 1);
      assert.equal((t.schema.fields[0].type as FixedSizeList).listSize, d);
    }
  });

  it('rejects ZSTD output and inconsistent arguments', () => {
    assert.throws(
      () => encodeArrowEmbeddings({ vectors, rows, dim, validity: null, ids: null, compression: 'zstd' }),
      (e: unknown) => e instanceof RouterError && e.code === 'ROUTER_ERR_UNSUPPORTED',
    );
    assert.throws(
      () => encodeArrowEmbeddings({ vectors, rows: 6, dim, validity: null, ids: null }),
      (e: unknown) => e instanceof RouterError && e.code === 'ROUTER_ERR_INTERNAL',
    );
    assert.throws(
      () => encodeArrowEmbeddings({ vectors, rows: 1, dim: 0, validity: null, ids: null }),
      (e: unknown) => e instanceof RouterError && e.code === 'ROUTER_ERR_INTERNAL',
    );
  });
});

describe('encodeArrowSparse', () => {
  it('round-trips List<Struct<index: UInt32, value: Float32>> with null rows and ids', () => {
    const offsets = Int32Array.of(0, 3, 3, 3, 5);
    const indices = Uint32Array.of(1, 100, 4000000000, 7, 8);
    const values = Float32Array.of(1, 0.5, 0.25, -2, 3);
    const ids = vectorFromArray([1, 2, 3, 4], new Int32()).data[0];
    for (const compression of ['lz4', null] as const) {
      const t = tableFromIPC(
        encodeArrowSparse({
          rows: 4,
          offsets,
          indices,
          values,
          validity: Uint8Array.of(0b1011),
          ids,
          compression,
        }),
      );
      assert.deepEqual(
        t.schema.fields.map((f) => f.name),
        ['id', 'sparse_embeddings'],
      );
      const type = t.schema.fields[1].type as List;
      assert.ok(DataType.isList(type));
      assert.equal(type.children[0].name, 'item');
      assert.equal(type.children[0].nullable, false);
      const pair = type.children[0].type as Struct;
      assert.ok(DataType.isStruct(pair));
      assert.deepEqual(
        pair.children.map((f) => [f.name, String(f.type), f.nullable]),
        [
          ['index', String(new Uint32()), false],
          ['value', String(new Float32()), false],
        ],
      );
      const col = t.getChild('sparse_embeddings')!;
      const rowsOut = Array.from({ length: 4 }, (_, i) =>
        col.isValid(i)
          ? [...col.get(i)!].map((p: { index: number; value: number }) => [p.index, p.value])
          : null,
      );
      assert.deepEqual(rowsOut, [
        [
          [1, 1],
          [100, 0.5],
          [4000000000, 0.25],
        ],
        [],
        null,
        [
          [7, -2],
          [8, 3],
        ],
      ]);
    }
  });

  it('zero rows give a valid empty stream', () => {
    const t = tableFromIPC(
      encodeArrowSparse({
        rows: 0,
        offsets: Int32Array.of(0),
        indices: new Uint32Array(0),
        values: new Float32Array(0),
        validity: null,
        ids: null,
      }),
    );
    assert.equal(t.numRows, 0);
    assert.equal(t.schema.fields[0].name, 'sparse_embeddings');
  });
});

/**
 * Arrow IPC codec for EmbedArrow / EmbedSparseArrow (and Arrow over HTTP): pure functions, no I/O.
 *
 * Decode (`decodeArrowTexts`): an IPC stream (or file) in, every record batch read, the text column picked
 * (`text` by name, else the first Utf8 / LargeUtf8 / Utf8View column; dictionary-encoded strings are decoded), and
 * ONE `TextBatch` built for all rows by copying value bytes and rebasing offsets: no per-row JS string is made.
 * A null text keeps its row (validity bit clear), so output row i is input row i. An `id` column, of any type, is
 * returned as one Arrow `Data` (batches concatenated when there are several) for the encoder to echo.
 *
 * Encode (`encodeArrowEmbeddings`, `encodeArrowSparse`): one record batch in an IPC stream, `id` first when given,
 * built zero-copy over the caller's typed arrays; LZ4_FRAME body compression by default (as tei-manager), or none.
 *
 * Errors are RouterError ROUTER_ERR_ARROW_INVALID (bad client input) or ROUTER_ERR_INTERNAL (bad arguments from
 * our own code), ROUTER_ERR_UNSUPPORTED for ZSTD output.
 */
import {
  CompressionType,
  Data,
  DataType,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Int8,
  Uint8,
  List,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint32,
  makeData,
} from 'apache-arrow';

import { RouterError } from '../errors.js';
import { outputWidth, quantizedRowBytes } from './output-dtype.js';
import type { QuantizedDtype } from './output-dtype.js';
import type { TextBatch } from '../pipeline/text-batch.js';
import {
  CodecError,
  DEFAULT_MAX_DECODED_BYTES,
  ensureArrowCodecs,
  withDecodeBudget,
} from './arrow-compression.js';
import { IpcGuardError, guardArrowIpc } from './arrow-ipc-guard.js';

export { ensureArrowCodecs } from './arrow-compression.js';

/** The id column as read (one chunk, any Arrow type). */
export type ArrowIds = Data;

export interface DecodedArrowTexts {
  texts: TextBatch;
  /** The `id` column, echoed by the encoders; null when the input has none. */
  ids: ArrowIds | null;
  rows: number;
  /** Name of the column the texts came from. */
  column: string;
}

export interface DecodeArrowOptions {
  /** Total bytes all compressed buffers of one request may decompress to (default 1 GiB). */
  maxDecodedBytes?: number;
}

export type ArrowOutputCompression = 'lz4' | 'zstd' | null;

const MAX_TEXT_BYTES = 0x7fffffff;

function invalid(message: string, cause?: unknown): RouterError {
  return new RouterError('ROUTER_ERR_ARROW_INVALID', message, cause === undefined ? undefined : { cause });
}

function internal(message: string): RouterError {
  return new RouterError('ROUTER_ERR_INTERNAL', `Arrow encode: ${message}`);
}

function isStringType(t: DataType): boolean {
  return DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isUtf8View(t);
}

function isTextType(t: DataType): boolean {
  return isStringType(t) || (DataType.isDictionary(t) && isStringType(t.dictionary));
}

function describeColumns(schema: Schema): string {
  const cols = schema.fields.map((f) => `${f.name}: ${String(f.type)}`);
  if (cols.length === 0) return 'none';
  return cols.length > 12 ? `${cols.slice(0, 12).join(', ')}, … (${cols.length} in all)` : cols.join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// Decode

/**
 * Reads an Arrow IPC stream (or file) of texts into one TextBatch. See the module comment for the rules.
 * Throws RouterError ROUTER_ERR_ARROW_INVALID for anything a client could have sent wrong.
 */
export function decodeArrowTexts(ipc: Uint8Array, options: DecodeArrowOptions = {}): DecodedArrowTexts {
  if (!(ipc instanceof Uint8Array) || ipc.byteLength === 0) {
    throw invalid('Arrow IPC stream is empty; send an Arrow IPC stream with a Utf8 column named text');
  }
  ensureArrowCodecs();
  let schema: Schema | null = null;
  let batches: RecordBatch[];
  try {
    ({ schema, batches } = withDecodeBudget(options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES, () => {
      const { recordBatches } = guardArrowIpc(ipc);
      const reader = RecordBatchReader.from(ipc).open();
      // Read the schema before iterating: the reader forgets it once the stream is done. With no record batch
      // message the reader yields a placeholder empty batch, which must not pass for a zero-row batch.
      const readSchema = (reader.schema as Schema | null) ?? null;
      const read = readSchema && recordBatches > 0 ? [...reader] : [];
      return { schema: readSchema, batches: read };
    }));
  } catch (e) {
    if (e instanceof RouterError) throw e;
    const msg = (e as Error)?.message ?? String(e);
    if (e instanceof IpcGuardError) throw invalid(`Arrow IPC stream is malformed: ${msg}`, e);
    if (e instanceof CodecError)
      throw invalid(`Arrow IPC stream: compressed buffer cannot be decoded: ${msg}`, e);
    if (/codec not found/i.test(msg)) {
      throw invalid('Arrow IPC stream: body compression other than LZ4_FRAME or ZSTD is not supported', e);
    }
    throw invalid(`Arrow IPC stream is malformed or truncated (${msg})`, e);
  }
  if (!schema) {
    throw invalid(
      'Arrow IPC stream has no schema message: is this an Arrow IPC stream (not Parquet, Feather v1 or JSON)?',
    );
  }
  const fields = schema.fields;
  let textIdx = fields.findIndex((f) => f.name === 'text');
  if (textIdx >= 0 && !isTextType(fields[textIdx].type)) {
    throw invalid(
      `Arrow IPC stream: column text has type ${String(fields[textIdx].type)}; it must be Utf8, LargeUtf8 or Utf8View (columns: ${describeColumns(schema)})`,
    );
  }
  if (textIdx < 0) textIdx = fields.findIndex((f) => isTextType(f.type));
  if (textIdx < 0) {
    throw invalid(
      `Arrow IPC stream: no string column (columns: ${describeColumns(schema)}); send a Utf8 column named text`,
    );
  }
  if (batches.length === 0) {
    throw invalid(
      'Arrow IPC stream has a schema but no record batch; send at least one (it may have zero rows)',
    );
  }
  const chunks: Data[] = [];
  let rows = 0;
  for (const batch of batches) {
    const col = batch.data.children[textIdx];
    if (!col || col.length !== batch.numRows) {
      throw invalid(`Arrow IPC stream: column ${fields[textIdx].name} does not have one value per row`);
    }
    chunks.push(col);
    rows += col.length;
  }
  const maxBytes = Math.min(MAX_TEXT_BYTES, options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES);
  const texts = textBatchFromArrow(chunks, rows, maxBytes);
  const idIdx = fields.findIndex((f) => f.name === 'id');
  const ids = idIdx < 0 ? null : concatData(batches.map((b) => b.data.children[idIdx]));
  return { texts, ids, rows, column: fields[textIdx].name };
}

interface DictCache {
  vector: unknown;
  flat: TextBatch;
}

/**
 * One TextBatch from chunks of a string column (Utf8, LargeUtf8, Utf8View or a dictionary of those), each chunk's
 * slice offset respected. Two passes: size everything, then copy into one buffer; no per-row JS strings.
 */
export function textBatchFromArrow(
  chunks: readonly Data[],
  rows = chunks.reduce((n, c) => n + c.length, 0),
  maxBytes = MAX_TEXT_BYTES,
): TextBatch {
  const dicts: DictCache[] = [];
  const dictFor = (chunk: Data): TextBatch => {
    const vector = chunk.dictionary;
    if (!vector) throw invalid('Arrow IPC stream: dictionary-encoded text column without its dictionary');
    let hit = dicts.find((d) => d.vector === vector);
    if (!hit) {
      hit = { vector, flat: textBatchFromArrow(vector.data, vector.length, maxBytes) };
      dicts.push(hit);
    }
    return hit.flat;
  };

  let total = 0;
  for (const c of chunks) total += measureChunk(c, dictFor);
  if (total > maxBytes) {
    throw invalid(
      `Arrow IPC stream: the text column holds ${total} bytes, over the ${maxBytes}-byte limit of one request`,
    );
  }
  // in shared memory, as every TextBatch (pipeline/text-batch.ts): worker tasks read it in place
  const data = new Uint8Array(new SharedArrayBuffer(total));
  const offsets = new Int32Array(new SharedArrayBuffer(4 * (rows + 1)));
  const validity = new Uint8Array(new SharedArrayBuffer((rows + 7) >> 3));
  let nulls = 0;
  let row = 0;
  let pos = 0;
  for (const c of chunks) {
    const r = writeChunk(c, dictFor, data, pos, offsets, validity, row);
    pos = r.pos;
    nulls += r.nulls;
    row += c.length;
  }
  return { length: rows, data, offsets, validity: nulls === 0 ? null : validity };
}

type DictFor = (chunk: Data) => TextBatch;

function chunkBitmap(c: Data): Uint8Array | null {
  const bm = c.nullBitmap as Uint8Array | undefined;
  if (!bm || bm.length === 0 || c.nullCount === 0) return null;
  if (bm.length * 8 < c.offset + c.length) throw invalid('Arrow IPC stream: a validity bitmap is too short');
  return bm;
}

function bit(bm: Uint8Array, i: number): boolean {
  return (bm[i >> 3] & (1 << (i & 7))) !== 0;
}

function viewsOf(c: Data): DataView {
  const v = c.values as Uint8Array | undefined;
  if (!v || v.length < c.length * 16) throw invalid('Arrow IPC stream: a Utf8View views buffer is too short');
  return new DataView(v.buffer, v.byteOffset, c.length * 16);
}

function dictIndex(indices: ArrayLike<number | bigint>, i: number, dictLength: number): number {
  const k = Number(indices[i]);
  if (!(k >= 0 && k < dictLength)) {
    throw invalid(
      `Arrow IPC stream: dictionary index ${k} is out of range (dictionary has ${dictLength} entries)`,
    );
  }
  return k;
}

function measureChunk(c: Data, dictFor: DictFor): number {
  const t = c.type;
  const n = c.length;
  if (n === 0) return 0;
  if (DataType.isUtf8(t)) {
    const o = c.valueOffsets as Int32Array;
    const values = c.values as Uint8Array;
    if (!o || o.length < n + 1) throw invalid('Arrow IPC stream: a Utf8 offsets buffer is too short');
    const start = o[0];
    const end = o[n];
    if (start < 0 || end < start || end > values.length) {
      throw invalid('Arrow IPC stream: Utf8 offsets point outside the value buffer');
    }
    return end - start;
  }
  if (DataType.isLargeUtf8(t)) {
    const o = c.valueOffsets as unknown as BigInt64Array;
    const values = c.values as Uint8Array;
    if (!o || o.length < n + 1) throw invalid('Arrow IPC stream: a LargeUtf8 offsets buffer is too short');
    const start = o[0];
    const end = o[n];
    if (start < 0n || end < start || end > BigInt(values.length)) {
      throw invalid('Arrow IPC stream: LargeUtf8 offsets point outside the value buffer');
    }
    return Number(end - start);
  }
  const bm = chunkBitmap(c);
  if (DataType.isUtf8View(t)) {
    const dv = viewsOf(c);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (bm && !bit(bm, c.offset + i)) continue;
      const len = dv.getInt32(i * 16, true);
      if (len < 0) throw invalid('Arrow IPC stream: a Utf8View length is negative');
      if (len > 12) {
        const buf = c.variadicBuffers[dv.getInt32(i * 16 + 8, true)];
        const off = dv.getInt32(i * 16 + 12, true);
        if (!buf || off < 0 || off + len > buf.length) {
          throw invalid('Arrow IPC stream: a Utf8View view points outside its data buffer');
        }
      }
      sum += len;
    }
    return sum;
  }
  if (DataType.isDictionary(t)) {
    const dict = dictFor(c);
    const idx = c.values as ArrayLike<number | bigint>;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (bm && !bit(bm, c.offset + i)) continue;
      const k = dictIndex(idx, i, dict.length);
      sum += dict.offsets[k + 1] - dict.offsets[k];
    }
    return sum;
  }
  throw invalid(`Arrow IPC stream: text column has unsupported type ${String(t)}`);
}

function writeChunk(
  c: Data,
  dictFor: DictFor,
  data: Uint8Array,
  pos: number,
  offsets: Int32Array,
  validity: Uint8Array,
  row: number,
): { pos: number; nulls: number } {
  const t = c.type;
  const n = c.length;
  const bm = chunkBitmap(c);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const r = row + i;
    if (bm && !bit(bm, c.offset + i)) nulls++;
    else validity[r >> 3] |= 1 << (r & 7);
  }
  if (n === 0) return { pos, nulls };

  if (DataType.isUtf8(t)) {
    const o = c.valueOffsets as Int32Array;
    const start = o[0];
    data.set((c.values as Uint8Array).subarray(start, o[n]), pos);
    const base = pos - start;
    let prev = start;
    for (let i = 1; i <= n; i++) {
      const v = o[i];
      if (v < prev) throw invalid('Arrow IPC stream: Utf8 offsets decrease');
      offsets[row + i] = base + v;
      prev = v;
    }
    return { pos: pos + (o[n] - start), nulls };
  }
  if (DataType.isLargeUtf8(t)) {
    const o = c.valueOffsets as unknown as BigInt64Array;
    const start = Number(o[0]);
    const end = Number(o[n]);
    data.set((c.values as Uint8Array).subarray(start, end), pos);
    const base = pos - start;
    let prev = start;
    for (let i = 1; i <= n; i++) {
      const v = Number(o[i]);
      if (v < prev) throw invalid('Arrow IPC stream: LargeUtf8 offsets decrease');
      offsets[row + i] = base + v;
      prev = v;
    }
    return { pos: pos + (end - start), nulls };
  }
  if (DataType.isUtf8View(t)) {
    const dv = viewsOf(c);
    const views = c.values as Uint8Array;
    const buffers = c.variadicBuffers;
    for (let i = 0; i < n; i++) {
      if (!(bm && !bit(bm, c.offset + i))) {
        const p = i * 16;
        const len = dv.getInt32(p, true);
        if (len <= 12) {
          data.set(views.subarray(p + 4, p + 4 + len), pos);
        } else {
          const bi = dv.getInt32(p + 8, true);
          const off = dv.getInt32(p + 12, true);
          const buf = buffers[bi];
          if (!buf || off < 0 || off + len > buf.length) {
            throw invalid('Arrow IPC stream: a Utf8View view points outside its data buffer');
          }
          data.set(buf.subarray(off, off + len), pos);
        }
        pos += len;
      }
      offsets[row + i + 1] = pos;
    }
    return { pos, nulls };
  }
  // Dictionary of strings.
  const dict = dictFor(c);
  const idx = c.values as ArrayLike<number | bigint>;
  for (let i = 0; i < n; i++) {
    const r = row + i;
    if (!(bm && !bit(bm, c.offset + i))) {
      const k = dictIndex(idx, i, dict.length);
      const s = dict.offsets[k];
      const e = dict.offsets[k + 1];
      if (dict.validity && !bit(dict.validity, k)) {
        validity[r >> 3] &= ~(1 << (r & 7));
        nulls++;
      } else {
        data.set(dict.data.subarray(s, e), pos);
        pos += e - s;
      }
    }
    offsets[r + 1] = pos;
  }
  return { pos, nulls };
}

/**
 * One Data from several chunks of one column (the id column across record batches). A single chunk is returned
 * as is; several are concatenated for flat types (integers, floats, dates, times, timestamps, durations,
 * decimals, fixed-size binary, booleans, Utf8/Binary and their Large forms).
 */
export function concatData(chunks: readonly Data[]): Data {
  if (chunks.length === 1) return chunks[0];
  const type = chunks[0].type;
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const anyNull = chunks.some((c) => c.nullCount > 0);
  const bitmap = anyNull ? new Uint8Array((length + 7) >> 3) : undefined;
  let nullCount = 0;
  if (bitmap) {
    let row = 0;
    for (const c of chunks) {
      const bm = chunkBitmap(c);
      for (let i = 0; i < c.length; i++, row++) {
        if (bm && !bit(bm, c.offset + i)) nullCount++;
        else bitmap[row >> 3] |= 1 << (row & 7);
      }
    }
  }
  if (DataType.isBool(type)) {
    const values = new Uint8Array((length + 7) >> 3);
    let row = 0;
    for (const c of chunks) {
      const v = c.values as Uint8Array;
      for (let i = 0; i < c.length; i++, row++) if (bit(v, c.offset + i)) values[row >> 3] |= 1 << (row & 7);
    }
    return new Data(type, 0, length, nullCount, [undefined, values, bitmap] as never);
  }
  if (
    DataType.isUtf8(type) ||
    DataType.isBinary(type) ||
    DataType.isLargeUtf8(type) ||
    DataType.isLargeBinary(type)
  ) {
    const large = DataType.isLargeUtf8(type) || DataType.isLargeBinary(type);
    let bytes = 0;
    for (const c of chunks) {
      const o = c.valueOffsets as ArrayLike<number | bigint>;
      bytes += Number(o[c.length]) - Number(o[0]);
    }
    const values = new Uint8Array(bytes);
    const offsets = large ? new BigInt64Array(length + 1) : new Int32Array(length + 1);
    if (!large && bytes > MAX_TEXT_BYTES) throw invalid('Arrow IPC stream: the id column is over 2 GiB');
    let row = 0;
    let pos = 0;
    for (const c of chunks) {
      const o = c.valueOffsets as ArrayLike<number | bigint>;
      const start = Number(o[0]);
      const end = Number(o[c.length]);
      values.set((c.values as Uint8Array).subarray(start, end), pos);
      for (let i = 1; i <= c.length; i++) {
        const v = pos + Number(o[i]) - start;
        if (large) (offsets as BigInt64Array)[row + i] = BigInt(v);
        else (offsets as Int32Array)[row + i] = v;
      }
      row += c.length;
      pos += end - start;
    }
    return new Data(type, 0, length, nullCount, [offsets, values, bitmap] as never);
  }
  const fixed =
    DataType.isInt(type) ||
    DataType.isFloat(type) ||
    DataType.isDate(type) ||
    DataType.isTime(type) ||
    DataType.isTimestamp(type) ||
    DataType.isDuration(type) ||
    DataType.isDecimal(type) ||
    DataType.isInterval(type) ||
    DataType.isFixedSizeBinary(type);
  if (!fixed) {
    throw invalid(
      `Arrow IPC stream: an id column of type ${String(type)} spread over several record batches cannot be echoed; send ids as an integer or Utf8 column, or in one record batch`,
    );
  }
  const stride = chunks[0].stride;
  const Ctor = (chunks[0].values as unknown as { constructor: new (n: number) => Uint8Array }).constructor;
  const values = new Ctor(length * stride);
  let at = 0;
  for (const c of chunks) {
    values.set((c.values as Uint8Array).subarray(0, c.length * stride), at);
    at += c.length * stride;
  }
  return new Data(type, 0, length, nullCount, [undefined, values, bitmap] as never);
}

// ---------------------------------------------------------------------------------------------------------------
// Encode

export interface EncodeEmbeddingsArgs {
  /** rows × dim floats, row-major; only the first rows × dim are written. */
  vectors: Float32Array;
  rows: number;
  /** Embedding width. With rows = 0 it may be 0 (dimension not known): the list size is then 0. */
  dim: number;
  /** Validity bitmap (bit i set = row i has an embedding), or null when every row has one. */
  validity: Uint8Array | null;
  ids: ArrowIds | null;
  /** Default 'lz4' (LZ4_FRAME, as tei-manager); null for none. 'zstd' is not available (no sync JS encoder). */
  compression?: ArrowOutputCompression;
  /**
   * The rows quantized (src/native quantizeRows of `vectors`): written instead of the floats, as
   * FixedSizeList<Float16 | Int8 | Uint8, dim> (binary: <Uint8, ceil(dim / 8)> of packed bits).
   */
  quantized?: { dtype: QuantizedDtype; bytes: Uint8Array };
}

/** The Arrow element type and typed array of quantized rows. */
function quantizedValues(
  dtype: QuantizedDtype,
  bytes: Uint8Array,
  count: number,
): { type: Float16 | Int8 | Uint8; data: Uint16Array | Int8Array | Uint8Array } {
  switch (dtype) {
    case 'float16': {
      // Arrow buffers are little-endian, as quantizeRows writes float16; a Uint16Array view needs 2-byte alignment
      const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
      return { type: new Float16(), data: new Uint16Array(aligned.buffer, aligned.byteOffset, count) };
    }
    case 'int8':
      return { type: new Int8(), data: new Int8Array(bytes.buffer, bytes.byteOffset, count) };
    default:
      return { type: new Uint8(), data: bytes.subarray(0, count) };
  }
}

function checkCommon(rows: number, validity: Uint8Array | null, ids: ArrowIds | null): void {
  if (!Number.isInteger(rows) || rows < 0) throw internal(`rows must be a non-negative integer, got ${rows}`);
  if (validity && validity.length < (rows + 7) >> 3) {
    throw internal(`validity bitmap has ${validity.length} bytes; ${rows} rows need ${(rows + 7) >> 3}`);
  }
  if (ids && ids.length !== rows) throw internal(`id column has ${ids.length} rows, embeddings have ${rows}`);
}

function bitmapNullCount(validity: Uint8Array | null, rows: number): number {
  if (!validity) return 0;
  let valid = 0;
  for (let i = 0; i < rows; i++) if (bit(validity, i)) valid++;
  return rows - valid;
}

function finishBatch(
  field: Field,
  column: Data,
  rows: number,
  ids: ArrowIds | null,
  compression: ArrowOutputCompression | undefined,
): Uint8Array {
  const fields = ids ? [new Field('id', ids.type, true), field] : [field];
  const children = ids ? [ids, column] : [column];
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children });
  return writeStream(new RecordBatch(schema, struct), compression);
}

function writeStream(batch: RecordBatch, compression: ArrowOutputCompression | undefined): Uint8Array {
  const c = compression === undefined ? 'lz4' : compression;
  if (c === 'zstd') {
    throw new RouterError(
      'ROUTER_ERR_UNSUPPORTED',
      'Arrow output with ZSTD compression is not available (ZSTD is accepted on input only); ask for lz4 or none',
    );
  }
  ensureArrowCodecs();
  const writer = new RecordBatchStreamWriter({
    compressionType: c === 'lz4' ? CompressionType.LZ4_FRAME : null,
  });
  writer.write(batch);
  writer.finish();
  return writer.toUint8Array(true);
}

/** The dense response batch, zero-copy over `vectors` (exported for tests and for callers that write it). */
export function embeddingsRecordBatch(args: Omit<EncodeEmbeddingsArgs, 'compression'>): {
  field: Field;
  column: Data;
} {
  const { vectors, rows, dim, validity, ids } = args;
  checkCommon(rows, validity, ids);
  if (!Number.isInteger(dim) || dim < 0 || (rows > 0 && dim === 0)) {
    throw internal(`dim must be a positive integer (0 only with zero rows), got ${dim}`);
  }
  if (vectors.length < rows * dim) throw internal(`${vectors.length} floats cannot hold ${rows} × ${dim}`);
  const q = args.quantized;
  let values: Data;
  let width = dim;
  let metadata: Map<string, string> | undefined;
  if (q) {
    width = outputWidth(q.dtype, dim);
    const need = rows * quantizedRowBytes(q.dtype, dim);
    if (q.bytes.length < need)
      throw internal(`${q.bytes.length} bytes cannot hold ${rows} ${q.dtype} rows of ${dim}`);
    const { type, data } = quantizedValues(q.dtype, q.bytes, rows * width);
    values = makeData({ type, length: rows * width, nullCount: 0, data } as Parameters<typeof makeData>[0]);
    // what the list holds (binary: packed bits, not uint8 values) and the embedding's width before packing
    metadata = new Map([
      ['tei_router.dtype', q.dtype],
      ['tei_router.dim', String(dim)],
    ]);
  } else {
    values = makeData({
      type: new Float32(),
      length: rows * dim,
      nullCount: 0,
      data: vectors.length === rows * dim ? vectors : vectors.subarray(0, rows * dim),
    });
  }
  const item = new Field('item', values.type, false);
  const type = new FixedSizeList(width, item);
  const nullCount = bitmapNullCount(validity, rows);
  const column = makeData({
    type,
    length: rows,
    nullCount,
    nullBitmap: nullCount > 0 ? validity : undefined,
    child: values,
  });
  return { field: new Field('embeddings', type, true, metadata), column };
}

/**
 * The EmbedArrow response: an IPC stream holding one record batch, `id` (when given, same type as the input) then
 * `embeddings: FixedSizeList<Float32 (item, non-null), dim>` (nullable: a null row where the text was null).
 */
export function encodeArrowEmbeddings(args: EncodeEmbeddingsArgs): Uint8Array {
  const { field, column } = embeddingsRecordBatch(args);
  return finishBatch(field, column, args.rows, args.ids, args.compression);
}

export interface EncodeSparseArgs {
  rows: number;
  /** rows + 1 int32 offsets into indices/values (row i holds [offsets[i], offsets[i+1])). */
  offsets: Int32Array;
  indices: Uint32Array;
  values: Float32Array;
  validity: Uint8Array | null;
  ids: ArrowIds | null;
  compression?: ArrowOutputCompression;
}

/**
 * The EmbedSparseArrow response: `id` (when given) then
 * `sparse_embeddings: List<item: Struct<index: UInt32 non-null, value: Float32 non-null> non-null>` (nullable).
 */
export function encodeArrowSparse(args: EncodeSparseArgs): Uint8Array {
  const { rows, offsets, indices, values, validity, ids } = args;
  checkCommon(rows, validity, ids);
  if (offsets.length < rows + 1)
    throw internal(`sparse offsets need ${rows + 1} entries, got ${offsets.length}`);
  if (indices.length !== values.length) {
    throw internal(`sparse indices (${indices.length}) and values (${values.length}) differ in length`);
  }
  for (let i = 0; i < rows; i++) {
    if (offsets[i + 1] < offsets[i] || offsets[i] < 0) throw internal(`sparse offsets decrease at row ${i}`);
  }
  const end = rows > 0 ? offsets[rows] : 0;
  if (end > indices.length) throw internal(`sparse offsets reach ${end}, past ${indices.length} pairs`);
  const pairFields = [new Field('index', new Uint32(), false), new Field('value', new Float32(), false)];
  const pairType = new Struct(pairFields);
  const pairs = makeData({
    type: pairType,
    length: end,
    nullCount: 0,
    children: [
      makeData({ type: new Uint32(), length: end, nullCount: 0, data: indices.subarray(0, end) }),
      makeData({ type: new Float32(), length: end, nullCount: 0, data: values.subarray(0, end) }),
    ],
  });
  const type = new List(new Field('item', pairType, false));
  const nullCount = bitmapNullCount(validity, rows);
  const column = makeData({
    type,
    length: rows,
    nullCount,
    nullBitmap: nullCount > 0 ? validity : undefined,
    valueOffsets: rows > 0 ? offsets.subarray(0, rows + 1) : new Int32Array(1),
    child: pairs,
  });
  return finishBatch(new Field('sparse_embeddings', type, true), column, rows, ids, args.compression);
}

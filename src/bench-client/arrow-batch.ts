/**
 * Arrow IPC for `bench-client --mode arrow`: the request batch tei-manager's bench-client sends (one record batch,
 * one non-nullable Utf8 column `text`, LZ4_FRAME body compression unless turned off) and the check of an answer
 * (it decodes, and holds one embedding row per text). Uses the router's own codec registry (src/codec), so LZ4_FRAME
 * and ZSTD answers decode with its bounded decoders.
 */
import {
  CompressionType,
  Field,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Utf8,
  makeData,
} from 'apache-arrow';
import { ensureArrowCodecs } from '../codec/arrow.js';

const encoder = new TextEncoder();

/** An IPC stream of one record batch `text: Utf8 (non-null)` holding `texts`. */
export function encodeTextBatch(texts: readonly string[], compression: boolean): Uint8Array {
  const encoded = texts.map((t) => encoder.encode(t));
  const offsets = new Int32Array(texts.length + 1);
  let total = 0;
  for (let i = 0; i < encoded.length; i++) {
    total += encoded[i].length;
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < encoded.length; i++) data.set(encoded[i], offsets[i]);
  const field = new Field('text', new Utf8(), false);
  const column = makeData({
    type: new Utf8(),
    length: texts.length,
    nullCount: 0,
    valueOffsets: offsets,
    data,
  });
  const struct = makeData({
    type: new Struct([field]),
    length: texts.length,
    nullCount: 0,
    children: [column],
  });
  ensureArrowCodecs();
  const writer = new RecordBatchStreamWriter({
    compressionType: compression ? CompressionType.LZ4_FRAME : null,
  });
  writer.write(new RecordBatch(new Schema([field]), struct));
  writer.finish();
  return writer.toUint8Array(true);
}

export interface ArrowAnswer {
  rows: number;
  columns: string[];
}

/** Reads an EmbedArrow answer: its row count over every batch, and its column names. Throws when it is not Arrow. */
export function readArrowAnswer(ipc: Uint8Array): ArrowAnswer {
  ensureArrowCodecs();
  const reader = RecordBatchReader.from(ipc).open();
  let rows = 0;
  let columns: string[] = [];
  for (const batch of reader) {
    rows += batch.numRows;
    columns = batch.schema.fields.map((f) => f.name);
  }
  if (columns.length === 0 && reader.schema) columns = reader.schema.fields.map((f) => f.name);
  return { rows, columns };
}

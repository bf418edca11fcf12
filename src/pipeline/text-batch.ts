/**
 * The unit of work of the dense path: a column of texts in Arrow's Utf8 layout (one UTF-8 buffer, int32 offsets,
 * an optional validity bitmap), so that JSON input and Arrow input reach the workers the same way and Arrow input
 * is never turned into per-row JS strings on the main thread. The batches built here live in SharedArrayBuffers:
 * a worker task reads them in place (neither copied nor transferred, so the caller's views stay usable and a task
 * retried after its worker died needs no spare copy).
 */

export interface TextBatch {
  /** Number of rows. */
  readonly length: number;
  /** UTF-8 bytes of every row, back to back. */
  readonly data: Uint8Array;
  /** length + 1 byte offsets into `data`. */
  readonly offsets: Int32Array;
  /** Arrow validity bitmap (bit i set = row i has text), or null when every row has text. */
  readonly validity: Uint8Array | null;
}

/** Zeroed bytes / int32s in shared memory. */
const sharedBytes = (n: number) => new Uint8Array(new SharedArrayBuffer(n));
const sharedInt32 = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Packs JS strings into one batch with a single growing buffer (no per-row Buffer objects). */
export function textBatchFromStrings(texts: readonly string[]): TextBatch {
  let capacity = 0;
  for (const t of texts) capacity += t.length * 3;
  const data = sharedBytes(Math.max(capacity, 1));
  const offsets = sharedInt32(texts.length + 1);
  let pos = 0;
  for (let i = 0; i < texts.length; i++) {
    pos += encoder.encodeInto(texts[i], data.subarray(pos)).written;
    offsets[i + 1] = pos;
  }
  return { length: texts.length, data: data.subarray(0, pos), offsets, validity: null };
}

export function isValid(batch: TextBatch, row: number): boolean {
  return batch.validity === null || (batch.validity[row >> 3] & (1 << (row & 7))) !== 0;
}

/** Row i as a JS string (for workers; "" for a null row). */
export function textAt(batch: TextBatch, row: number): string {
  return decoder.decode(batch.data.subarray(batch.offsets[row], batch.offsets[row + 1]));
}

/** Number of valid rows. */
export function validCount(batch: TextBatch): number {
  if (batch.validity === null) return batch.length;
  let n = 0;
  for (let i = 0; i < batch.length; i++) if (isValid(batch, i)) n++;
  return n;
}

/** Concatenates batches (coalescing); offsets are rebased, validity merged. */
export function concatTextBatches(batches: readonly TextBatch[]): TextBatch {
  if (batches.length === 1) return batches[0];
  let bytes = 0;
  let rows = 0;
  let anyNull = false;
  for (const b of batches) {
    bytes += b.offsets[b.length] - b.offsets[0];
    rows += b.length;
    anyNull ||= b.validity !== null;
  }
  const data = sharedBytes(bytes);
  const offsets = sharedInt32(rows + 1);
  const validity = anyNull ? sharedBytes((rows + 7) >> 3) : null;
  let pos = 0;
  let row = 0;
  for (const b of batches) {
    const start = b.offsets[0];
    data.set(b.data.subarray(start, b.offsets[b.length]), pos);
    for (let i = 0; i < b.length; i++) {
      offsets[row + 1] = pos + (b.offsets[i + 1] - start);
      if (validity && isValid(b, i)) validity[row >> 3] |= 1 << (row & 7);
      row++;
    }
    pos += b.offsets[b.length] - start;
  }
  return { length: rows, data, offsets, validity };
}

/** The ArrayBuffers to transfer with a batch (each owned by the batch alone); none for one in shared memory. */
export function transferList(batch: TextBatch): ArrayBuffer[] {
  const list = [batch.data.buffer, batch.offsets.buffer];
  if (batch.validity) list.push(batch.validity.buffer);
  return [...new Set(list)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

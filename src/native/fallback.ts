/**
 * Pure-JS twins of the native addon's operations (native/*.cc).
 *
 * Contract: for every input, a twin produces results bit-identical to its C++
 * counterpart and throws the same error class with the same message (one
 * exception: the detail inside parseF32Rows' "not JSON (...)", which here is
 * JSON.parse's own). Any change here must be mirrored in native/ (and vice
 * versa); test/unit/native/ checks it.
 */
import { types } from 'node:util';

import { formatF32Array } from '../codec/f32-text.js';

/**
 * Validates a row-major matrix argument pair and returns its row count.
 * Shared by every row-wise operation; native/l2_normalize.cc (CheckRowShape)
 * performs the same checks in the same order with the same messages.
 *
 * @throws TypeError  data is not a Float32Array; dim is not a number
 * @throws RangeError dim is not a positive integer; dim does not divide data.length
 */
export function checkRowShape(data: Float32Array, dim: number, op = 'l2NormalizeRows'): number {
  if (!types.isFloat32Array(data)) {
    throw new TypeError(`${op}: data must be a Float32Array`);
  }
  if (typeof dim !== 'number') {
    throw new TypeError(`${op}: dim must be a number`);
  }
  if (!Number.isInteger(dim) || dim <= 0) {
    throw new RangeError(`${op}: dim must be a positive integer (got ${dim})`);
  }
  if (data.length % dim !== 0) {
    throw new RangeError(`${op}: data.length (${data.length}) is not a multiple of dim (${dim})`);
  }
  return data.length / dim;
}

/**
 * Normalises in place each row of a row-major `rows x dim` matrix to unit L2
 * length. Sum of squares accumulated sequentially in double, norm = sqrt(sum);
 * rows with norm 0 are left unchanged; each value becomes fround(x / norm).
 */
export function l2NormalizeRows(data: Float32Array, dim: number): void {
  const rows = checkRowShape(data, dim, 'l2NormalizeRows');
  for (let r = 0, off = 0; r < rows; r++, off += dim) {
    const end = off + dim;
    let sum = 0;
    for (let i = off; i < end; i++) {
      const x = data[i];
      sum += x * x;
    }
    const norm = Math.sqrt(sum);
    if (norm === 0) continue;
    for (let i = off; i < end; i++) {
      data[i] = Math.fround(data[i] / norm);
    }
  }
}

/** A row-major matrix read by parseF32Rows. */
export interface F32Rows {
  rows: number;
  /** Values per row (0 when there are no rows). */
  dim: number;
  /** rows x dim values: a new array, or the rows' view of the caller's `out`. */
  vectors: Float32Array;
}

/** Why parseF32Rows refused a body: SyntaxError with one of these messages (the caller adds its own context). */
function malformed(message: string): SyntaxError {
  return new SyntaxError(message);
}

/**
 * Reads TEI's /embed answer body `[[f32, ...], ...]` (UTF-8 JSON bytes) into a row-major Float32Array. Each value
 * is `Math.fround(JSON.parse(text)[i][j])`; null (serde_json's text for a non-finite f32) reads as NaN. A leading
 * UTF-8 byte order mark is skipped (as undici's body.text() does). `[]` is 0 rows of dim 0.
 *
 * With `out`, the rows are written into it as rows `rowOffset ..` of a matrix of the body's dim (element
 * `(rowOffset + i) * dim + j`), and `vectors` is that part of `out` (a view); on any error `out` may already hold
 * some of the rows.
 *
 * @throws TypeError   body is not a Uint8Array; out is not a Float32Array; rowOffset is not a number, or is given
 *                     without out
 * @throws RangeError  rowOffset is not a non-negative integer; the rows do not fit in out
 * @throws SyntaxError the body is malformed: "not JSON (...)", "the body is not an array", "row i is not an array",
 *                     "row i has n values, row 0 has d", "row i value j is not a number" (the first problem in
 *                     row order; native/parse_f32_rows.cc gives the same messages, only the detail of "not JSON"
 *                     differs)
 */
export function parseF32Rows(body: Uint8Array, out?: Float32Array, rowOffset?: number): F32Rows {
  const op = 'parseF32Rows: ';
  if (!types.isUint8Array(body)) throw new TypeError(`${op}body must be a Uint8Array`);
  if (out !== undefined && !types.isFloat32Array(out)) throw new TypeError(`${op}out must be a Float32Array`);
  let offset = 0;
  if (rowOffset !== undefined) {
    if (typeof rowOffset !== 'number') throw new TypeError(`${op}rowOffset must be a number`);
    if (!Number.isInteger(rowOffset) || rowOffset < 0) {
      throw new RangeError(`${op}rowOffset must be a non-negative integer (got ${rowOffset})`);
    }
    if (out === undefined) throw new TypeError(`${op}rowOffset needs out`);
    offset = rowOffset + 0; // -0 -> 0
  }

  // (a detached array has length 0, and Buffer.from() would throw on its buffer)
  const bytes =
    body.byteLength === 0 ? Buffer.alloc(0) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  let outer: unknown;
  try {
    outer = JSON.parse(bytes.toString('utf8', bom ? 3 : 0));
  } catch (err) {
    throw malformed(`not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(outer)) throw malformed('the body is not an array');
  const rows = outer.length;
  let dim = 0;
  for (let i = 0; i < rows; i++) {
    const row: unknown = outer[i];
    if (!Array.isArray(row)) throw malformed(`row ${i} is not an array`);
    if (i === 0) dim = row.length;
    else if (row.length !== dim) throw malformed(`row ${i} has ${row.length} values, row 0 has ${dim}`);
    for (let j = 0; j < dim; j++) {
      const x: unknown = row[j];
      if (typeof x !== 'number' && x !== null) throw malformed(`row ${i} value ${j} is not a number`);
    }
  }

  let vectors: Float32Array;
  if (out === undefined) {
    vectors = new Float32Array(rows * dim);
  } else {
    if ((offset + rows) * dim > out.length) {
      throw new RangeError(
        `${op}${rows} rows of ${dim} values at row ${offset} do not fit in out (length ${out.length})`,
      );
    }
    vectors = out.subarray(offset * dim, (offset + rows) * dim);
  }
  for (let i = 0, k = 0; i < rows; i++) {
    const row = outer[i] as (number | null)[];
    for (let j = 0; j < dim; j++, k++) {
      const x = row[j];
      vectors[k] = x === null ? NaN : x; // a Float32Array store is Math.fround
    }
  }
  return { rows, dim, vectors };
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * The JSON text `[[f, ...], ...]` of a row-major `data.length / dim` x `dim` matrix, exactly as TEI writes its
 * /embed answer (each value by formatF32: serde_json + ryu's shortest round-trip form; NaN and +-Infinity as null;
 * -0 as -0.0), as a Buffer of ASCII bytes. An empty matrix is `[]`.
 *
 * @throws TypeError, RangeError as checkRowShape (op "formatF32Rows")
 */
export function formatF32Rows(data: Float32Array, dim: number): Buffer {
  const rows = checkRowShape(data, dim, 'formatF32Rows');
  // One Buffer per row, concatenated once: flattening a single string of a whole batch costs 2-3x more.
  const parts: Buffer[] = new Array(2 * rows + 1);
  parts[0] = OPEN;
  for (let r = 0, off = 0; r < rows; r++, off += dim) {
    parts[2 * r + 1] = Buffer.from(formatF32Array(data, off, off + dim), 'latin1');
    parts[2 * r + 2] = r + 1 < rows ? COMMA : CLOSE;
  }
  if (rows === 0) parts.push(CLOSE);
  return Buffer.concat(parts);
}

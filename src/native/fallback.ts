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
import { QUANTIZED_DTYPES, quantizedRowBytes } from '../codec/output-dtype.js';
import type { QuantizedDtype } from '../codec/output-dtype.js';

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

/** IEEE 754 binary16 bits of the f32 with bits `bits`, rounded to nearest, ties to even. */
function f16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00); // NaN (one quiet NaN), +-Infinity
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: +-Infinity
  if (e <= 0) {
    // a binary16 subnormal (or zero): 10 bits of (1.mant) >> (1 - e), rounded
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // a carry may reach the exponent: still right
  return sign | half;
}

/** Math.round with ties away from zero (C's round()). */
function roundAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * Quantizes a row-major `data.length / dim` x `dim` matrix of f32 into a new Uint8Array, row after row:
 * - `float16`: IEEE binary16, round to nearest (ties to even); out of range -> +-Infinity, NaN -> 0x7e00 (sign
 *   kept); 2 bytes per value, little-endian.
 * - `int8`: clamp(round(x * 127), -127, 127) as a two's complement byte (x in double, round: half away from zero).
 * - `uint8`: clamp(round((x + 1) * 127.5), 0, 255).
 * - `binary`: one bit per value, 1 when x > 0, packed 8 per byte most significant bit first (numpy.packbits), the
 *   last byte of a row padded with zeros: ceil(dim / 8) bytes per row.
 * NaN counts as 0 for int8, uint8 and binary. Made for unit-length embeddings (every value within [-1, 1]).
 *
 * @throws TypeError, RangeError as checkRowShape (op "quantizeRows"); RangeError for an unknown dtype
 */
export function quantizeRows(data: Float32Array, dim: number, dtype: QuantizedDtype): Uint8Array {
  const rows = checkRowShape(data, dim, 'quantizeRows');
  if (!(QUANTIZED_DTYPES as readonly unknown[]).includes(dtype)) {
    throw new RangeError(
      `quantizeRows: dtype must be one of ${QUANTIZED_DTYPES.join(', ')} (got ${String(dtype)})`,
    );
  }
  const n = data.length;
  const out = new Uint8Array(rows * quantizedRowBytes(dtype, rows === 0 ? 0 : dim));
  // A detached array has length 0 and a buffer no view can be built over (float16's Uint32Array would throw).
  if (n === 0) return out;
  switch (dtype) {
    case 'float16': {
      const bits = new Uint32Array(data.buffer, data.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const h = f16Bits(bits[i]);
        out[2 * i] = h & 0xff;
        out[2 * i + 1] = h >>> 8;
      }
      break;
    }
    case 'int8':
      for (let i = 0; i < n; i++) {
        const x = data[i];
        const q = x !== x ? 0 : Math.min(127, Math.max(-127, roundAway(x * 127)));
        out[i] = q & 0xff;
      }
      break;
    case 'uint8':
      for (let i = 0; i < n; i++) {
        const x = data[i];
        out[i] = x !== x ? 128 : Math.min(255, Math.max(0, roundAway((x + 1) * 127.5)));
      }
      break;
    case 'binary': {
      const rowBytes = (dim + 7) >> 3;
      for (let r = 0; r < rows; r++) {
        const src = r * dim;
        const dst = r * rowBytes;
        for (let j = 0; j < dim; j++) {
          if (data[src + j] > 0) out[dst + (j >> 3)] |= 0x80 >>> (j & 7);
        }
      }
      break;
    }
  }
  return out;
}

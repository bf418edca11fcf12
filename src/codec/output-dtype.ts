/**
 * Output element types a client may ask for (`output_dtype`): `float` (f32, the default: what TEI answers) or one
 * of the quantized types that src/native's quantizeRows writes (formulas there and in the README). Pure: the names,
 * their sizes, and the JSON numbers of quantized rows.
 */
import { formatF32 } from './f32-text.js';

export type QuantizedDtype = 'float16' | 'int8' | 'uint8' | 'binary';
export type OutputDtype = 'float' | QuantizedDtype;

export const QUANTIZED_DTYPES: readonly QuantizedDtype[] = ['float16', 'int8', 'uint8', 'binary'];
export const OUTPUT_DTYPES: readonly OutputDtype[] = ['float', ...QUANTIZED_DTYPES];

export function isOutputDtype(v: unknown): v is OutputDtype {
  return (OUTPUT_DTYPES as readonly unknown[]).includes(v);
}

/** Bytes of one quantized row of `dim` values: 2 per value for float16, 1 for int8 and uint8, 1 per 8 for binary. */
export function quantizedRowBytes(dtype: QuantizedDtype, dim: number): number {
  return dtype === 'float16' ? 2 * dim : dtype === 'binary' ? (dim + 7) >> 3 : dim;
}

/** Values per output row: `dim`, or the bytes of a packed binary row. */
export function outputWidth(dtype: OutputDtype, dim: number): number {
  return dtype === 'binary' ? (dim + 7) >> 3 : dim;
}

/** The number an IEEE binary16 value `h` (its 16 bits) stands for. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/**
 * Row `row` of a quantized matrix as JSON text `[n, ...]`: int8 as signed integers, uint8 and binary (the packed
 * bytes) as 0..255, float16 as its value written like any f32 (every binary16 value is an exact f32; infinities
 * and NaN as null, as serde_json writes them).
 */
export function quantizedJsonRow(bytes: Uint8Array, dtype: QuantizedDtype, row: number, dim: number): string {
  const width = quantizedRowBytes(dtype, dim);
  const start = row * width;
  const parts: string[] = new Array(outputWidth(dtype, dim));
  switch (dtype) {
    case 'float16':
      for (let j = 0; j < dim; j++) {
        parts[j] = formatF32(halfToNumber(bytes[start + 2 * j] | (bytes[start + 2 * j + 1] << 8)));
      }
      break;
    case 'int8':
      for (let j = 0; j < dim; j++) parts[j] = String((bytes[start + j] << 24) >> 24);
      break;
    default:
      for (let j = 0; j < width; j++) parts[j] = String(bytes[start + j]);
  }
  return '[' + parts.join(',') + ']';
}

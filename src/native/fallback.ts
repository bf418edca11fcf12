/**
 * Pure-JS twins of the native addon's operations (native/*.cc).
 *
 * Contract: for every input, a twin produces results bit-identical to its C++
 * counterpart and throws the same error class with the same message. Any change
 * here must be mirrored in native/ (and vice versa); test/unit/native/ checks it.
 */
import { types } from 'node:util';

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

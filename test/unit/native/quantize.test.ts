/**
 * quantizeRows: the native addon (native/quantize_rows.cc) and its JS twin (src/native/fallback.ts) must write the
 * same bytes for every input (float16 / int8 / uint8 / binary) and reject the same arguments with the same error
 * class and message, in the same order of checks. Known answers (hand-computed, independent of both
 * implementations) pin the formulas; property tests (fast-check) draw raw f32 bit patterns (NaN payloads,
 * +-Infinity, subnormals, -0, huge values), unit-range values, exact rounding ties of every dtype, every shape.
 *
 * The native function is the addon's own (nativeImpl). Without it the native cases skip (the JS cases
 * still run), unless TEI_ROUTER_REQUIRE_NATIVE=1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';

import fc from 'fast-check';

import type { QuantizedDtype } from '../../../src/codec/output-dtype.js';
import { quantizeRows } from '../../../src/native/fallback.js';
import {
  QUANTIZE_NATIVE_MIN_VALUES,
  bySize,
  quantizeRows as facadeQuantize,
} from '../../../src/native/index.js';
import { needNative } from '../../helpers/native.js';

// ---------------------------------------------------------------------------
// Helpers

type Quantize = (data: Float32Array, dim: number, dtype: QuantizedDtype) => Uint8Array;

/** The native quantizeRows, or null after skipping the test (fails instead when the addon is required). */
function needQuantize(t: TestContext): Quantize | null {
  return needNative(t)?.quantizeRows ?? null;
}

const DTYPES: readonly QuantizedDtype[] = ['float16', 'int8', 'uint8', 'binary'];
const dtypeArb = fc.constantFrom(...DTYPES);

const fromBits = (bits: ArrayLike<number>) => new Float32Array(Uint32Array.from(bits).buffer);
const f32Bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const hex = (n: number, digits: number) => `0x${(n >>> 0).toString(16).padStart(digits, '0')}`;
/** The nearest f32 neighbours of x (by bit pattern, same sign): d < 0 towards zero, d > 0 away from it. */
const stepBits = (x: number, d: number) => fromBits([f32Bits(x) + d])[0];

/** Bytes per row of the quantized output (quantizedRowBytes, restated). */
function rowBytes(dtype: QuantizedDtype, dim: number): number {
  return dtype === 'float16' ? 2 * dim : dtype === 'binary' ? Math.ceil(dim / 8) : dim;
}

function describeInput(data: Float32Array, i: number, dtype: QuantizedDtype, dim: number): string {
  const valueIndex = dtype === 'float16' ? i >> 1 : dtype === 'binary' ? -1 : i;
  if (valueIndex >= 0)
    return `input [${valueIndex}] = ${data[valueIndex]} (${hex(f32Bits(data[valueIndex]), 8)})`;
  const perRow = rowBytes('binary', dim);
  const r = Math.floor(i / perRow);
  const j = (i % perRow) * 8;
  return `row ${r} values ${j}..: ${Array.from(data.subarray(r * dim + j, r * dim + Math.min(dim, j + 8))).join(',')}`;
}

function assertSameBytes(
  nat: Uint8Array,
  js: Uint8Array,
  data: Float32Array,
  dim: number,
  dtype: QuantizedDtype,
) {
  const what = `${dtype} ${data.length / dim}x${dim}`;
  assert.ok(
    nat instanceof Uint8Array && nat.constructor === Uint8Array,
    `${what}: native returns a Uint8Array`,
  );
  assert.equal(nat.length, js.length, `${what}: length`);
  for (let i = 0; i < js.length; i++) {
    if (nat[i] !== js[i]) {
      assert.fail(
        `${what}: first difference at byte ${i}: native ${hex(nat[i], 2)}, JS ${hex(js[i], 2)}; ` +
          describeInput(data, i, dtype, dim),
      );
    }
  }
}

/** Both implementations on one input: identical bytes; returns the JS result. */
function both(native: Quantize, data: Float32Array, dim: number, dtype: QuantizedDtype): Uint8Array {
  const js = quantizeRows(data, dim, dtype);
  const nat = native(data, dim, dtype);
  assertSameBytes(nat, js, data, dim, dtype);
  return js;
}

/** The binary16 bits of output value i (little-endian pair of bytes). */
const half = (out: Uint8Array, i: number) => out[2 * i] | (out[2 * i + 1] << 8);

/** The exact value of finite binary16 bits h (sign clear), and 2^16 for 0x7c00 (the value past 0x7bff). */
function halfValue(h: number): number {
  const exp = h >>> 10;
  const mant = h & 0x3ff;
  return exp === 0 ? mant * 2 ** -24 : (1024 + mant) * 2 ** (exp - 25);
}

// ---------------------------------------------------------------------------
// Arbitraries

/** Any f32 bit pattern: every NaN payload, +-Infinity, subnormals, -0, huge values. */
const anyBits = fc.integer({ min: 0, max: 0xffffffff });
const EDGE_BITS = [
  0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
  0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x3f800000, 0xbf800000,
  0x3f000000, 0xbf000000, 0x33000000, 0x33000001, 0x33800000, 0x387fe000, 0x38800000, 0x477fe000, 0x477fefff,
  0x477ff000, 0x47800000,
];
const edgeBits = fc.constantFrom(...EDGE_BITS);
const bitsArb = fc.oneof({ weight: 4, arbitrary: anyBits }, { weight: 1, arbitrary: edgeBits });

/** An embedding-like value: any f32 in [-1, 1] (with both zeros), or a small one. */
const unitF32 = fc.oneof(
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: Math.fround(-1e-3), max: Math.fround(1e-3), noNaN: true }),
);

/** f32 values around an exact rounding tie of each dtype (the tie itself where an f32 holds it, +-3 ulps). */
const nearTie = fc.integer({ min: -3, max: 3 }).chain((d) =>
  fc.oneof(
    // int8: x * 127 = k + 1/2 (exact only for x = +-0.5; the others are the nearest f32 on either side)
    fc.integer({ min: -128, max: 127 }).map((k) => stepBits(Math.fround((k + 0.5) / 127), d)),
    // uint8: (x + 1) * 127.5 = k + 1/2 (exact only for x = 0)
    fc.integer({ min: -1, max: 255 }).map((k) => stepBits(Math.fround((k + 0.5) / 127.5 - 1), d)),
    // float16: halfway between two binary16 values (always an exact f32), normal and subnormal, up to 65520
    fc
      .tuple(fc.integer({ min: 0, max: 0x7bff }), fc.boolean())
      .map(([h, neg]) => stepBits((neg ? -1 : 1) * ((halfValue(h) + halfValue(h + 1)) / 2), d)),
    fc
      .tuple(fc.integer({ min: 0, max: 0x3ff }), fc.boolean())
      .map(([h, neg]) => stepBits((neg ? -1 : 1) * (h + 0.5) * 2 ** -24, d)),
  ),
);

/** A matrix of `rows x dim` drawn from `value` (given as f32 numbers) or from raw bits. */
function matrixArb(
  rows: fc.Arbitrary<number>,
  dim: fc.Arbitrary<number>,
  value: fc.Arbitrary<number> | 'bits',
): fc.Arbitrary<{ dim: number; data: Float32Array }> {
  return fc
    .record({ rows, dim })
    .chain(({ rows: r, dim: d }) =>
      (value === 'bits'
        ? fc.array(bitsArb, { minLength: r * d, maxLength: r * d }).map(fromBits)
        : fc.array(value, { minLength: r * d, maxLength: r * d }).map((v) => Float32Array.from(v))
      ).map((data) => ({ dim: d, data })),
    );
}

const RUNS = { numRuns: 300 };

// ---------------------------------------------------------------------------
// Known answers (hand-computed)

const F16_CASES: [x: number, bits: number, why: string][] = [
  [1, 0x3c00, '1.0'],
  [-2, 0xc000, '-2.0'],
  [0.1, 0x2e66, '0.1 (f32 0x3dcccccd, rounds down)'],
  [65504, 0x7bff, 'largest finite binary16'],
  [65519, 0x7bff, 'below the overflow tie'],
  [stepBits(65520, -1), 0x7bff, 'one f32 ulp below the overflow tie'],
  [65520, 0x7c00, 'the overflow tie: to even, i.e. Infinity'],
  [-65520, 0xfc00, '-65520 -> -Infinity'],
  [1e10, 0x7c00, 'too large'],
  [3.4028234663852886e38, 0x7c00, 'FLT_MAX'],
  [Infinity, 0x7c00, 'Infinity'],
  [-Infinity, 0xfc00, '-Infinity'],
  [NaN, 0x7e00, 'NaN'],
  [fromBits([0xffc00000])[0], 0xfe00, 'negative NaN keeps its sign'],
  [fromBits([0x7f800001])[0], 0x7e00, 'signalling NaN payload -> the quiet NaN'],
  [0, 0x0000, '+0'],
  [-0, 0x8000, '-0'],
  [2 ** -14, 0x0400, 'smallest normal binary16'],
  [2 ** -24, 0x0001, 'smallest subnormal binary16'],
  [-(2 ** -24), 0x8001, 'its negative'],
  [2 ** -25, 0x0000, 'half the smallest subnormal: tie to even, 0'],
  [stepBits(2 ** -25, 1), 0x0001, 'just above half the smallest subnormal'],
  [-(2 ** -25), 0x8000, '-2^-25: tie to even, -0'],
  [3 * 2 ** -25, 0x0002, '1.5 x 2^-24: tie to even, 2 x 2^-24'],
  [5 * 2 ** -25, 0x0002, '2.5 x 2^-24: tie to even, 2 x 2^-24'],
  [2 ** -26, 0x0000, 'a quarter of the smallest subnormal'],
  [1e-45, 0x0000, 'smallest f32 subnormal'],
  [1023.5 * 2 ** -24, 0x0400, 'tie between the largest subnormal and the smallest normal: to even (normal)'],
  [1022.5 * 2 ** -24, 0x03fe, 'subnormal tie to even, down'],
  [1 + 2 ** -11, 0x3c00, 'tie above 1.0: to even, down'],
  [1 + 3 * 2 ** -11, 0x3c02, 'tie above 1 + 2^-10: to even, up'],
  [stepBits(1 + 2 ** -11, 1), 0x3c01, 'just above a tie'],
  [4095 * 2 ** -12, 0x3c00, 'tie below 1.0 (0x3bff odd): to even, up into the next binade'],
];

const INT8_CASES: [x: number, q: number][] = [
  [1, 127],
  [-1, -127],
  [0.5, 64], // 63.5 rounds away from zero
  [-0.5, -64],
  [2, 127],
  [-2, -127],
  [0, 0],
  [-0, 0],
  [NaN, 0],
  [Infinity, 127],
  [-Infinity, -127],
  [0.1, 13], // 12.7
  [-0.1, -13],
  [Math.fround(1 / 127), 1],
  [stepBits(0.5, -1), 63], // just below 63.5
  [1e-45, 0],
];

const UINT8_CASES: [x: number, q: number][] = [
  [-1, 0],
  [1, 255],
  [0, 128], // 127.5 rounds away from zero
  [-0, 128],
  [NaN, 128],
  [0.5, 191], // 191.25
  [-0.5, 64], // 63.75
  [2, 255],
  [-2, 0],
  [Infinity, 255],
  [-Infinity, 0],
  [2 ** -30, 128],
  [-(2 ** -30), 127], // (1 - 2^-30) * 127.5 < 127.5
  [-(2 ** -60), 128], // 1 - 2^-60 is 1 in double: x + 1 is computed in double, as in the JS twin
  [Math.fround(-1 + 1 / 255), 0], // (x + 1) * 127.5 = 0.49999997: just below the tie 0.5
  [-1 + 2 ** -7, 1], // 0.99609375
];

const BINARY_CASES: [dim: number, values: number[], bytes: number[]][] = [
  [10, [1, -1, 1, -1, 1, -1, 1, -1, 1, 1], [0xaa, 0xc0]],
  [8, [1, 1, 1, 1, 1, 1, 1, 1], [0xff]],
  [8, [0, -0, NaN, -1, 1e-45, -1e-45, Infinity, -Infinity], [0x0a]],
  [1, [1], [0x80]],
  [1, [0], [0x00]],
  [3, [1, 1, 1, 1, -1, 1], [0xe0, 0xa0]], // padding per row
  [9, [0, 0, 0, 0, 0, 0, 0, 0, 1], [0x00, 0x80]],
];

function checkKnownAnswers(impl: Quantize, label: string): void {
  const f16 = impl(Float32Array.from(F16_CASES.map(([x]) => x)), 1, 'float16');
  assert.equal(f16.length, 2 * F16_CASES.length, `${label} float16 length`);
  F16_CASES.forEach(([x, bits, why], i) =>
    assert.equal(hex(half(f16, i), 4), hex(bits, 4), `${label}: ${why} (${x})`),
  );
  assert.deepEqual(
    Array.from(impl(Float32Array.of(1, -2), 2, 'float16')),
    [0x00, 0x3c, 0x00, 0xc0],
    'little-endian',
  );

  const i8 = impl(Float32Array.from(INT8_CASES.map(([x]) => x)), INT8_CASES.length, 'int8');
  INT8_CASES.forEach(([x, q], i) => assert.equal((i8[i] << 24) >> 24, q, `${label} int8 of ${x}`));
  assert.deepEqual(
    Array.from(impl(Float32Array.of(-1, -0.5), 1, 'int8')),
    [0x81, 0xc0],
    "two's complement bytes",
  );

  const u8 = impl(Float32Array.from(UINT8_CASES.map(([x]) => x)), 1, 'uint8');
  UINT8_CASES.forEach(([x, q], i) => assert.equal(u8[i], q, `${label} uint8 of ${x}`));

  for (const [dim, values, bytes] of BINARY_CASES) {
    assert.deepEqual(
      Array.from(impl(Float32Array.from(values), dim, 'binary')),
      bytes,
      `${label} binary of [${values.join(',')}] / ${dim}`,
    );
  }
}

// ---------------------------------------------------------------------------
// JS twin

describe('quantizeRows: JS twin', () => {
  test('known answers (float16 bits, int8, uint8, packed bits)', () => {
    checkKnownAnswers(quantizeRows, 'JS');
  });

  test('property: float16 ties round to even, values off a tie to the nearest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7bff }),
        fc.boolean(),
        fc.integer({ min: -2, max: 2 }),
        (h, neg, d) => {
          const x = stepBits((neg ? -1 : 1) * ((halfValue(h) + halfValue(h + 1)) / 2), d);
          const expected = (neg ? 0x8000 : 0) | (d > 0 || (d === 0 && (h & 1) === 1) ? h + 1 : h);
          assert.equal(
            hex(half(quantizeRows(Float32Array.of(x), 1, 'float16'), 0), 4),
            hex(expected, 4),
            `${x}`,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('property: output length and the formulas, for any f32', () => {
    fc.assert(
      fc.property(
        matrixArb(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 20 }), 'bits'),
        ({ dim, data }) => {
          const rows = data.length / dim;
          const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
          // round half away from zero, exactly (v - trunc(v) is exact in double)
          const away = (v: number) => {
            const t = Math.trunc(v);
            return t + (v - t >= 0.5 ? 1 : v - t <= -0.5 ? -1 : 0);
          };
          const i8 = quantizeRows(data, dim, 'int8');
          const u8 = quantizeRows(data, dim, 'uint8');
          const b = quantizeRows(data, dim, 'binary');
          assert.equal(quantizeRows(data, dim, 'float16').length, 2 * data.length, 'float16 length');
          assert.equal(i8.length, data.length, 'int8 length');
          assert.equal(b.length, rows * Math.ceil(dim / 8), 'binary length');
          data.forEach((x, i) => {
            const e8 = Number.isNaN(x) ? 0 : clamp(away(clamp(x, -2, 2) * 127), -127, 127);
            assert.equal((i8[i] << 24) >> 24, e8 + 0, `int8 of ${x}`);
            const eu = Number.isNaN(x) ? 128 : clamp(away((clamp(x, -3, 3) + 1) * 127.5), 0, 255);
            assert.equal(u8[i], eu + 0, `uint8 of ${x}`);
            const bit =
              (b[Math.floor(i / dim) * Math.ceil(dim / 8) + ((i % dim) >> 3)] >> (7 - ((i % dim) % 8))) & 1;
            assert.equal(bit, x > 0 ? 1 : 0, `bit of ${x}`);
          });
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------
// native == JS

describe('quantizeRows: native == JS, byte for byte', () => {
  test('known answers', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    checkKnownAnswers(native, 'native');
  });

  test('property: any f32 bit pattern, any small shape, every dtype', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    fc.assert(
      fc.property(
        matrixArb(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 40 }), 'bits'),
        dtypeArb,
        ({ dim, data }, dtype) => void both(native, data, dim, dtype),
      ),
      { numRuns: 1000 },
    );
  });

  test('property: any f32 (fc.float: NaN, +-Infinity, -0, subnormals, +-FLT_MAX)', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    fc.assert(
      fc.property(
        matrixArb(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 24 }), fc.float()),
        dtypeArb,
        ({ dim, data }, dtype) => void both(native, data, dim, dtype),
      ),
      { numRuns: 500 },
    );
  });

  test('property: values in [-1, 1]', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    fc.assert(
      fc.property(
        matrixArb(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 64 }), unitF32),
        dtypeArb,
        ({ dim, data }, dtype) => void both(native, data, dim, dtype),
      ),
      { numRuns: 500 },
    );
  });

  test('property: exact rounding ties of every dtype and their f32 neighbours', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    fc.assert(
      fc.property(
        fc.array(nearTie, { minLength: 1, maxLength: 64 }),
        dtypeArb,
        (values, dtype) => void both(native, Float32Array.from(values), 1, dtype),
      ),
      { numRuns: 500 },
    );
  });

  test('property: dims 1..2000 (binary rows of every length mod 8)', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        dtypeArb,
        (dim, rows, seed, dtype) => {
          const bits = new Uint32Array(rows * dim);
          let s = seed;
          for (let i = 0; i < bits.length; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            // mostly unit-range values (sign bit random, exponent 100..126), some raw patterns
            bits[i] =
              (s & 0xf) === 0 ? Math.imul(s, 0x9e3779b1) >>> 0 : (s & 0x807fffff) | ((100 + (s % 27)) << 23);
          }
          both(native, new Float32Array(bits.buffer), dim, dtype);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('sweep: every f32 exponent and sign with edge mantissas', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    const bits: number[] = [];
    for (let e = 0; e < 256; e++) {
      for (const m of [
        0, 1, 2, 3, 0xfff, 0x1000, 0x1001, 0x2000, 0x3000, 0x400000, 0x7fe000, 0x7ff000, 0x7fffff,
      ]) {
        bits.push((e << 23) | m, ((1 << 31) | (e << 23) | m) >>> 0);
      }
    }
    for (const dtype of DTYPES) both(native, fromBits(bits), 2, dtype);
  });

  test('sweep: every binary16 midpoint (and +-1 f32 ulp), both signs', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    const values = new Float32Array(0x7c00 * 6);
    for (let h = 0, k = 0; h < 0x7c00; h++) {
      const mid = (halfValue(h) + halfValue(h + 1)) / 2;
      for (const x of [mid, -mid]) for (const d of [-1, 0, 1]) values[k++] = stepBits(x, d);
    }
    both(native, values, 6, 'float16');
    both(native, values, 6, 'int8');
  });

  test('0 rows: an empty Uint8Array for every dtype and dim', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    for (const dtype of DTYPES) {
      for (const dim of [1, 7, 8, 1024, 2 ** 40]) {
        const nat = native(new Float32Array(0), dim, dtype);
        assert.ok(nat instanceof Uint8Array && nat.length === 0, `native ${dtype} dim ${dim}`);
        assert.equal(quantizeRows(new Float32Array(0), dim, dtype).length, 0, `JS ${dtype} dim ${dim}`);
      }
    }
  });

  test('a 1,000 x 1,024 batch of random bit patterns, every dtype', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    let state = 0x9e3779b9;
    const bits = new Uint32Array(1000 * 1024);
    for (let i = 0; i < bits.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bits[i] = state;
    }
    for (const dtype of DTYPES) both(native, new Float32Array(bits.buffer), 1024, dtype);
  });

  test('a fresh array of the exact length each call; subarray views quantize only the view', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    const data = Float32Array.of(1, -1, 0.5, 0);
    const a = native(data, 2, 'int8');
    const b = native(data, 2, 'int8');
    assert.notEqual(a.buffer, b.buffer, 'a new buffer each call');
    assert.equal(a.byteOffset, 0, 'offset 0');
    assert.equal(a.buffer.byteLength, 4, 'exact length');
    const whole = Float32Array.of(9, 1, -1, 0.5, 0, 9);
    const view = whole.subarray(1, 5);
    for (const dtype of DTYPES) {
      assert.deepEqual(Array.from(native(view, 2, dtype)), Array.from(quantizeRows(view, 2, dtype)), dtype);
    }
    assert.deepEqual(Array.from(native(view, 4, 'binary')), [0xa0], 'binary view');
  });

  test('a detached array quantizes as an empty matrix', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    for (const dtype of DTYPES) {
      const data = new Float32Array(4);
      structuredClone(data.buffer, { transfer: [data.buffer] });
      assert.equal(native(data, 2, dtype).length, 0, dtype);
    }
  });

  // Regression: the JS twin's float16 path built a Uint32Array over the detached buffer and threw a TypeError.
  test('a detached array: the JS twin agrees', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    for (const dtype of DTYPES) {
      const data = new Float32Array(4);
      structuredClone(data.buffer, { transfer: [data.buffer] });
      both(native, data, 2, dtype);
    }
  });
});

// ---------------------------------------------------------------------------
// Argument validation

describe('argument validation (identical errors from both implementations)', () => {
  const Q = 'quantizeRows: ';
  const DT = `${Q}dtype must be one of float16, int8, uint8, binary (got `;
  const ok = new Float32Array(4);
  let toStringCalls = 0;
  const counting = {
    toString() {
      toStringCalls++;
      return 'int8';
    },
  };
  type Case = [label: string, args: unknown[], error: string, message: string | null];
  const cases: Case[] = [
    ['no arguments', [], 'TypeError', `${Q}data must be a Float32Array`],
    ['Float64Array data', [new Float64Array(4), 1, 'int8'], 'TypeError', `${Q}data must be a Float32Array`],
    ['Uint8Array data', [new Uint8Array(4), 1, 'int8'], 'TypeError', `${Q}data must be a Float32Array`],
    ['array data', [[1, 2], 1, 'int8'], 'TypeError', `${Q}data must be a Float32Array`],
    ['ArrayBuffer data', [new ArrayBuffer(8), 1, 'int8'], 'TypeError', `${Q}data must be a Float32Array`],
    ['bad data before bad dtype', [null, 0, 'x'], 'TypeError', `${Q}data must be a Float32Array`],
    ['no dim', [ok], 'TypeError', `${Q}dim must be a number`],
    ['dim "3"', [ok, '3', 'int8'], 'TypeError', `${Q}dim must be a number`],
    ['dim 2n', [ok, 2n, 'int8'], 'TypeError', `${Q}dim must be a number`],
    ['dim 0', [ok, 0, 'int8'], 'RangeError', `${Q}dim must be a positive integer (got 0)`],
    ['dim -1', [ok, -1, 'int8'], 'RangeError', `${Q}dim must be a positive integer (got -1)`],
    ['dim 1.5', [ok, 1.5, 'int8'], 'RangeError', `${Q}dim must be a positive integer (got 1.5)`],
    ['dim NaN', [ok, NaN, 'int8'], 'RangeError', `${Q}dim must be a positive integer (got NaN)`],
    [
      'dim Infinity',
      [ok, Infinity, 'int8'],
      'RangeError',
      `${Q}dim must be a positive integer (got Infinity)`,
    ],
    ['bad dim before bad dtype', [ok, 0, 'x'], 'RangeError', `${Q}dim must be a positive integer (got 0)`],
    [
      'non-divisor',
      [new Float32Array(5), 2, 'int8'],
      'RangeError',
      `${Q}data.length (5) is not a multiple of dim (2)`,
    ],
    ['dim > length', [ok, 8, 'int8'], 'RangeError', `${Q}data.length (4) is not a multiple of dim (8)`],
    [
      'bad length before bad dtype',
      [ok, 3, 'x'],
      'RangeError',
      `${Q}data.length (4) is not a multiple of dim (3)`,
    ],
    ['dtype float32', [ok, 2, 'float32'], 'RangeError', `${DT}float32)`],
    ['dtype float', [ok, 2, 'float'], 'RangeError', `${DT}float)`],
    ['dtype missing', [ok, 2], 'RangeError', `${DT}undefined)`],
    ['dtype undefined', [ok, 2, undefined], 'RangeError', `${DT}undefined)`],
    ['dtype null', [ok, 2, null], 'RangeError', `${DT}null)`],
    ['dtype 42', [ok, 2, 42], 'RangeError', `${DT}42)`],
    ['dtype 1n', [ok, 2, 1n], 'RangeError', `${DT}1)`],
    ['dtype true', [ok, 2, true], 'RangeError', `${DT}true)`],
    ['dtype INT8', [ok, 2, 'INT8'], 'RangeError', `${DT}INT8)`],
    ['dtype " int8"', [ok, 2, ' int8'], 'RangeError', `${DT} int8)`],
    ['dtype with NUL', [ok, 2, 'int8\0'], 'RangeError', `${DT}int8\0)`],
    ['dtype lone surrogate', [ok, 2, 'b\ud800'], 'RangeError', `${DT}b\ud800)`],
    ['dtype empty', [ok, 2, ''], 'RangeError', `${DT})`],
    ['dtype String object', [ok, 2, new String('int8')], 'RangeError', `${DT}int8)`],
    ['dtype array', [ok, 2, ['int8']], 'RangeError', `${DT}int8)`],
    ['dtype object', [ok, 2, {}], 'RangeError', `${DT}[object Object])`],
    ['dtype with toString', [ok, 2, counting], 'RangeError', `${DT}int8)`],
    ['dtype Symbol', [ok, 2, Symbol('s')], 'RangeError', `${DT}Symbol(s))`],
    ['dtype Symbol()', [ok, 2, Symbol()], 'RangeError', `${DT}Symbol())`],
    [
      'dtype whose toString throws',
      [
        ok,
        2,
        {
          toString() {
            throw new EvalError('no string for you');
          },
        },
      ],
      'EvalError',
      'no string for you',
    ],
    ['empty matrix, bad dtype', [new Float32Array(0), 5, 'x'], 'RangeError', `${DT}x)`],
  ];

  function capture(fn: Quantize, args: unknown[]): Error {
    try {
      (fn as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      return err as Error;
    }
    return assert.fail('did not throw');
  }

  test('JS twin: error class and message', () => {
    for (const [label, args, error, message] of cases) {
      const err = capture(quantizeRows, args);
      assert.equal(err.constructor.name, error, `${label}: ${err.message}`);
      if (message !== null) assert.equal(err.message, message, label);
    }
  });

  test('native: the same error class and message as the JS twin', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    for (const [label, args] of cases) {
      const jsErr = capture(quantizeRows, args);
      const before = toStringCalls;
      assert.throws(
        () => (native as (...a: unknown[]) => unknown)(...args),
        (err: unknown) => {
          assert.ok(err instanceof Error, `${label}: an Error`);
          assert.equal(err.constructor, jsErr.constructor, `${label}: class (native "${err.message}")`);
          assert.equal(err.message, jsErr.message, `${label}: message`);
          return true;
        },
        label,
      );
      if (args[2] === counting) assert.equal(toStringCalls - before, 1, `${label}: toString called once`);
    }
  });

  test('property: any (data, dim, dtype) combination: same bytes or the same error', (t) => {
    const native = needQuantize(t);
    if (!native) return;
    const dataArb = fc.oneof(
      fc.array(fc.float(), { maxLength: 12 }).map((v) => Float32Array.from(v)),
      fc.constant(new Float64Array(2)),
      fc.constant([1, 2]),
    );
    const dimArb = fc.oneof(
      fc.integer({ min: -2, max: 13 }),
      fc.double(),
      fc.constantFrom('2', null, undefined, 2 ** 53, 2 ** 40),
    );
    const anyDtype = fc.oneof(
      dtypeArb,
      fc.string({ maxLength: 8 }),
      fc.constantFrom(undefined, null, 0, 'float'),
    );
    fc.assert(
      fc.property(dataArb, dimArb, anyDtype, (data, dim, dtype) => {
        const args = [data, dim, dtype];
        let js: Uint8Array | Error;
        try {
          js = (quantizeRows as (...a: unknown[]) => Uint8Array)(...args);
        } catch (err) {
          js = err as Error;
        }
        if (js instanceof Error) {
          const jsErr = js;
          assert.throws(
            () => (native as (...a: unknown[]) => unknown)(...args),
            (err: unknown) =>
              err instanceof Error && err.constructor === jsErr.constructor && err.message === jsErr.message,
          );
        } else {
          const nat = (native as (...a: unknown[]) => Uint8Array)(...args);
          assert.deepEqual(Array.from(nat), Array.from(js));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('quantizeRows: the facade', () => {
  test('takes the native path only from QUANTIZE_NATIVE_MIN_VALUES values up (JS below, and for bad arguments)', () => {
    const calls: string[] = [];
    const spy =
      (name: string): Quantize =>
      (data, dim, dtype) => {
        calls.push(name);
        return quantizeRows(data, dim, dtype);
      };
    const f = bySize(spy('native'), spy('js'), 64);
    f(new Float32Array(63), 1, 'int8');
    f(new Float32Array(64), 8, 'int8');
    f(new Float32Array(1000), 10, 'binary');
    assert.throws(() => f([1, 2] as unknown as Float32Array, 1, 'int8'), TypeError);
    assert.deepEqual(calls, ['js', 'native', 'native', 'js']);
    const same = spy('only');
    assert.equal(bySize(same, same, 64), same, 'one implementation: no dispatch');
  });

  test("the exported quantizeRows writes the twins' bytes on both sides of the threshold", () => {
    for (const n of [
      384 * Math.floor(QUANTIZE_NATIVE_MIN_VALUES / 384),
      384 * Math.ceil(QUANTIZE_NATIVE_MIN_VALUES / 384),
    ]) {
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.9);
      for (const dtype of DTYPES) {
        assert.deepEqual(facadeQuantize(data, 384, dtype), quantizeRows(data, 384, dtype), `${dtype} x ${n}`);
      }
    }
  });
});

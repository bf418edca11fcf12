/**
 * parseF32Rows and formatF32Rows: the native addon (native/parse_f32_rows.cc, native/format_f32_rows.cc) and their
 * JS twins (src/native/fallback.ts) must agree bit for bit (parsed floats compared through Uint32Array views) and
 * byte for byte (formatted text), and reject the same inputs with the same errors. Property tests (fast-check) draw
 * f32 values of every kind (NaN, +-Infinity, -0, subnormals, FLT_MAX, FLT_MIN, raw bit patterns), every shape
 * (0 rows, empty rows, large), every JSON spelling of a number, JSON whitespace anywhere, and malformed bodies.
 *
 * Without the addon the native cases skip (the JS cases still run), unless TEI_ROUTER_REQUIRE_NATIVE=1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { formatF32, formatF32Array } from '../../../src/codec/f32-text.js';
import { formatF32Rows, jsImpl, parseF32Rows } from '../../../src/native/index.js';
import type { F32Rows, KernelImpl } from '../../../src/native/index.js';
import { needNative } from '../../helpers/native.js';

// ---------------------------------------------------------------------------
// Helpers

const u32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
const fromBits = (bits: readonly number[]) => new Float32Array(Uint32Array.from(bits).buffer);
const hex = (bits: number) => `0x${(bits >>> 0).toString(16).padStart(8, '0')}`;
const NAN_BITS = 0x7fc00000;

function assertBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  const a = u32(actual);
  const e = u32(expected);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      assert.fail(
        `${what}: first difference at [${i}]: ${actual[i]} (${hex(a[i])}) vs ${expected[i]} (${hex(e[i])})`,
      );
    }
  }
}

type Outcome =
  | { ok: true; rows: number; dim: number; vectors: Float32Array }
  | { ok: false; error: string; message: string };

function outcome(fn: () => F32Rows): Outcome {
  try {
    const { rows, dim, vectors } = fn();
    return { ok: true, rows, dim, vectors };
  } catch (err) {
    return { ok: false, error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

const NOT_JSON = 'not JSON (';

/** Same result, or the same error (the detail of "not JSON (...)" differs between JSON.parse and native). */
function assertSameOutcome(nat: Outcome, js: Outcome, what: string): void {
  if (js.ok && nat.ok) {
    assert.equal(nat.rows, js.rows, `${what}: rows`);
    assert.equal(nat.dim, js.dim, `${what}: dim`);
    assertBitIdentical(nat.vectors, js.vectors, `${what}: vectors`);
    return;
  }
  assert.equal(nat.ok, js.ok, `${what}: native ${JSON.stringify(nat)} vs JS ${JSON.stringify(js)}`);
  if (nat.ok || js.ok) return;
  assert.equal(nat.error, js.error, `${what}: error class (native "${nat.message}", JS "${js.message}")`);
  if (js.message.startsWith(NOT_JSON)) {
    assert.ok(
      nat.message.startsWith(NOT_JSON),
      `${what}: native "${nat.message}" where JS says "${js.message}"`,
    );
  } else {
    assert.equal(nat.message, js.message, `${what}: message`);
  }
}

function bothParse(native: KernelImpl, text: string | Uint8Array, what: string): Outcome {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const js = outcome(() => jsImpl.parseF32Rows(body));
  const nat = outcome(() => native.parseF32Rows(body));
  assertSameOutcome(nat, js, what);
  return js;
}

/** What JSON.parse + Math.fround make of a well-formed body (the reference the twins must meet). */
function reference(text: string): { rows: number; dim: number; vectors: Float32Array } {
  const outer = JSON.parse(text) as (number | null)[][];
  const dim = outer.length === 0 ? 0 : outer[0].length;
  const vectors = new Float32Array(outer.length * dim);
  outer.forEach((row, i) =>
    row.forEach((x, j) => (vectors[i * dim + j] = x === null ? NaN : Math.fround(x))),
  );
  return { rows: outer.length, dim, vectors };
}

// ---------------------------------------------------------------------------
// Arbitraries

/** Any f32 as a JS number (fast-check's float() includes NaN, +-Infinity, -0, subnormals, +-FLT_MAX, +-FLT_MIN). */
const anyF32 = fc.float();
/** Any f32 bit pattern (every NaN payload, every subnormal). */
const anyBits = fc.integer({ min: 0, max: 0xffffffff });
const EDGE_BITS = [
  0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000,
  0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x3f800000, 0x3dcccccd, 0x0f800000, 0x39800000, 0x4a000001,
  0xc8812034,
];
const edgeBits = fc.constantFrom(...EDGE_BITS);

const ws = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 });
const digits = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

/** Any JSON number text, by its grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
const grammarNumber = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([a, b]) => a + b),
    ),
    fc.option(digits(1, 40)),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 6))),
  )
  .map(
    ([neg, int, frac, exp]) =>
      (neg ? '-' : '') + int + (frac === null ? '' : '.' + frac) + (exp === null ? '' : exp.join('')),
  );

const EXTREME_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '-1e-400',
  '0e99999999999',
  '-0',
  '-0.0e-0',
  '3.4028235677973366e38', // FLT_MAX + half an ulp: rounds to Infinity
  '3.4028235677973362e38', // just below: FLT_MAX
  '3.4028234663852886e38',
  '1.7976931348623157e308',
  '1.7976931348623159e308', // beyond double: Infinity
  '4.9e-324',
  '2e-324',
  '1.401298464324817e-45',
  '7.006492321624085e-46', // half the smallest subnormal: ties to even, 0
  '7.006492321624087e-46',
  '1.1754943508222875e-38',
  '0.000000000000000000000000000000000000000000001401298464324817',
  '123456789012345678901234567890',
  '0.1',
  '1E+2',
  '1e-0007',
];

/** One row value as a backend could spell it (or null). */
const valueText = fc.oneof(
  { weight: 4, arbitrary: anyF32.map(formatF32) }, // TEI's own (ryu) text; NaN/Infinity -> null
  { weight: 2, arbitrary: anyBits.map((b) => formatF32(fromBits([b])[0])) },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 20 }))
      .map(([d, k]) => d.toExponential(k)),
  },
  { weight: 3, arbitrary: grammarNumber },
  { weight: 1, arbitrary: fc.constantFrom(...EXTREME_NUMBERS) },
  { weight: 1, arbitrary: fc.constant('null') },
);

interface Body {
  text: string;
  rows: number;
  dim: number;
}

/** A well-formed `[[...],...]` body with random whitespace around every token. */
const wellFormed: fc.Arbitrary<Body> = fc
  .record({ rows: fc.integer({ min: 0, max: 6 }), dim: fc.integer({ min: 0, max: 9 }) })
  .chain(({ rows, dim }) =>
    fc
      .tuple(
        fc.array(valueText, { minLength: rows * dim, maxLength: rows * dim }),
        fc.array(ws, { minLength: 4 * rows * (dim + 1) + 4, maxLength: 4 * rows * (dim + 1) + 4 }),
      )
      .map(([values, spaces]) => {
        let w = 0;
        const s = () => spaces[w++];
        let text = s() + '[' + s();
        for (let r = 0; r < rows; r++) {
          if (r > 0) text += ',' + s();
          text += '[' + s();
          for (let j = 0; j < dim; j++) {
            if (j > 0) text += ',' + s();
            text += values[r * dim + j] + s();
          }
          text += ']' + s();
        }
        text += ']' + s();
        return { text, rows, dim: rows === 0 ? 0 : dim };
      }),
  );

/** Bodies of the right nesting but wrong content: ragged rows, strings, objects, booleans, nested arrays. */
const wrongShape = fc
  .array(
    fc.array(
      fc.oneof(
        { weight: 6, arbitrary: valueText },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '"1"',
            'true',
            'false',
            '{}',
            '{"a":[1]}',
            '[]',
            '[1,2]',
            '"a]b"',
            '"\\u005d"',
          ),
        },
      ),
      { maxLength: 4 },
    ),
    { maxLength: 4 },
  )
  .chain((rows) =>
    fc
      .constantFrom<(r: string[]) => string>(
        (r) => '[' + r.join(',') + ']',
        (r) => r.join(','),
        (r) => '{"x":[' + r.join(',') + ']}',
        (r) => r[0] ?? '1',
      )
      .map((wrap) => '[' + rows.map(wrap).join(',') + ']'),
  );

/** A well-formed body damaged by one edit (insert, delete, replace a byte, truncate, append). */
const damaged = fc
  .tuple(
    wellFormed,
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom('insert', 'delete', 'replace', 'cut', 'append'),
  )
  .map(([{ text }, at, byte, how]) => {
    const b = Buffer.from(text);
    const i = b.length === 0 ? 0 : at % (b.length + 1);
    const one = Buffer.from([byte]);
    switch (how) {
      case 'insert':
        return Buffer.concat([b.subarray(0, i), one, b.subarray(i)]);
      case 'delete':
        return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      case 'replace':
        return Buffer.concat([b.subarray(0, i), one, b.subarray(i + 1)]);
      case 'cut':
        return b.subarray(0, i);
      default:
        return Buffer.concat([b, one]);
    }
  });

/** Short strings over JSON's alphabet (and a few bytes outside it). */
const jsonish = fc
  .string({
    unit: fc.constantFrom(...'[]{},:"-+.0123456789eEnulltruefalse \t\n\r\\/uxé\u0000'),
    maxLength: 24,
  })
  .map((s) => Buffer.from(s, 'utf8'));

const RUNS = { numRuns: 300 };

// ---------------------------------------------------------------------------
// formatF32Rows

describe('formatF32Rows: JS twin', () => {
  test('TEI text for known values, rows and shapes', () => {
    const m = new Float32Array([0, -0, 1, 0.1, -0.5, NaN, Infinity, -Infinity, 1e-7, 3.4028234663852886e38]);
    assert.equal(
      jsImpl.formatF32Rows(m, 5).toString('latin1'),
      '[[0.0,-0.0,1.0,0.1,-0.5],[null,null,null,1e-7,3.4028235e38]]',
      'values',
    );
    assert.equal(jsImpl.formatF32Rows(new Float32Array(0), 7).toString(), '[]', 'empty matrix');
    assert.equal(jsImpl.formatF32Rows(new Float32Array([1]), 1).toString(), '[[1.0]]', '1x1');
    assert.ok(Buffer.isBuffer(jsImpl.formatF32Rows(m, 10)), 'returns a Buffer');
  });

  test('property: the rows of formatF32Array, and JSON.parse reads every finite value back exactly', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((dim) =>
            fc.tuple(fc.constant(dim), fc.array(fc.oneof(anyBits, edgeBits), { maxLength: dim * 6 })),
          ),
        ([dim, bits]) => {
          const m = fromBits(bits.slice(0, bits.length - (bits.length % dim)));
          const text = jsImpl.formatF32Rows(m, dim).toString('latin1');
          const rows: string[] = [];
          for (let off = 0; off < m.length; off += dim) rows.push(formatF32Array(m, off, off + dim));
          assert.equal(text, '[' + rows.join(',') + ']', 'layout');
          const back = reference(text);
          for (let i = 0; i < m.length; i++) {
            if (Number.isFinite(m[i])) assert.equal(hex(u32(back.vectors)[i]), hex(u32(m)[i]), `value ${i}`);
            else assert.ok(Number.isNaN(back.vectors[i]), `non-finite value ${i} reads back as NaN`);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('formatF32Rows: native == JS, byte for byte', () => {
  test('property: any f32 values, any shape', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(
        fc
          .record({ rows: fc.integer({ min: 0, max: 12 }), dim: fc.integer({ min: 1, max: 40 }) })
          .chain(({ rows, dim }) =>
            fc.tuple(
              fc.constant(dim),
              fc.oneof(
                fc
                  .array(anyF32, { minLength: rows * dim, maxLength: rows * dim })
                  .map((v) => Float32Array.from(v)),
                fc
                  .array(fc.oneof(anyBits, edgeBits), { minLength: rows * dim, maxLength: rows * dim })
                  .map(fromBits),
              ),
            ),
          ),
        ([dim, m]) => {
          const js = jsImpl.formatF32Rows(m, dim);
          const nat = native.formatF32Rows(m, dim);
          assert.ok(Buffer.isBuffer(nat), 'native returns a Buffer');
          assert.equal(nat.toString('latin1'), js.toString('latin1'), `${m.length / dim}x${dim}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('every exponent and sign, with edge mantissas (powers of two, ties, subnormals)', (t) => {
    const native = needNative(t);
    if (!native) return;
    const bits: number[] = [];
    for (let e = 0; e < 256; e++) {
      for (const m of [0, 1, 2, 3, 0x400000, 0x400001, 0x7ffffe, 0x7fffff, 0x123456, 0x555555, 0x2aaaaa]) {
        bits.push((e << 23) | m, ((1 << 31) | (e << 23) | m) >>> 0);
      }
    }
    const m = fromBits(bits);
    assert.equal(native.formatF32Rows(m, 2).toString(), jsImpl.formatF32Rows(m, 2).toString(), 'edge sweep');
  });

  test('a 1,000 x 1,024 batch of random bit patterns', (t) => {
    const native = needNative(t);
    if (!native) return;
    let state = 0x9e3779b9;
    const bits = new Uint32Array(1000 * 1024);
    for (let i = 0; i < bits.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bits[i] = state;
    }
    const m = new Float32Array(bits.buffer);
    const js = jsImpl.formatF32Rows(m, 1024);
    const nat = native.formatF32Rows(m, 1024);
    assert.ok(nat.equals(js), 'identical bytes');
  });

  test('subarray views: formats only the view', (t) => {
    const native = needNative(t);
    if (!native) return;
    const whole = Float32Array.from([9, 1, 2, 3, 4, 9]);
    const view = whole.subarray(1, 5);
    assert.equal(native.formatF32Rows(view, 2).toString(), '[[1.0,2.0],[3.0,4.0]]', 'view');
    assert.equal(jsImpl.formatF32Rows(view, 2).toString(), '[[1.0,2.0],[3.0,4.0]]', 'JS view');
  });
});

// ---------------------------------------------------------------------------
// parseF32Rows

describe('parseF32Rows: JS twin', () => {
  test('reads rows into f32, row-major, with null as NaN', () => {
    const r = jsImpl.parseF32Rows(Buffer.from('[[0.1,-0.0,1e-45],[3.4028235e38,2,null]]'));
    assert.equal(r.rows, 2, 'rows');
    assert.equal(r.dim, 3, 'dim');
    assert.deepEqual(
      Array.from(u32(r.vectors), hex),
      [0x3dcccccd, 0x80000000, 0x00000001, 0x7f7fffff, 0x40000000, NAN_BITS].map(hex),
      'bits',
    );
  });

  test('shapes: [] is 0 rows, [[]] one empty row; whitespace anywhere; a leading BOM is skipped', () => {
    const cases: [string, number, number][] = [
      ['[]', 0, 0],
      [' \t\r\n[ \n] \r', 0, 0],
      ['[[]]', 1, 0],
      ['[[],[],[]]', 3, 0],
      ['\ufeff[[1,2]]', 1, 2],
      ['\n[\t[ 1 ,\r2 ]\n,\n[3,4] ] ', 2, 2],
    ];
    for (const [text, rows, dim] of cases) {
      const r = jsImpl.parseF32Rows(Buffer.from(text));
      assert.equal(r.rows, rows, `${JSON.stringify(text)} rows`);
      assert.equal(r.dim, dim, `${JSON.stringify(text)} dim`);
      assert.equal(r.vectors.length, rows * dim, `${JSON.stringify(text)} length`);
    }
  });

  test('values equal Math.fround(JSON.parse(text)) for every spelling of a number', () => {
    fc.assert(
      fc.property(wellFormed, ({ text, rows, dim }) => {
        const r = jsImpl.parseF32Rows(Buffer.from(text));
        const ref = reference(text);
        assert.equal(r.rows, rows, 'rows');
        assert.equal(r.dim, dim, 'dim');
        assertBitIdentical(r.vectors, ref.vectors, text);
      }),
      RUNS,
    );
  });

  test('malformed bodies: SyntaxError naming the first problem in row order', () => {
    const cases: [string, string][] = [
      ['', 'not JSON ('],
      ['not json', 'not JSON ('],
      ['[[1,2]] x', 'not JSON ('],
      ['[[1,2]', 'not JSON ('],
      ['[[01]]', 'not JSON ('],
      ['[[1.]]', 'not JSON ('],
      ['[[+1]]', 'not JSON ('],
      ['[[NaN]]', 'not JSON ('],
      ['[[1,]]', 'not JSON ('],
      ['\u00a0[[1]]', 'not JSON ('],
      ['{"a":1}', 'the body is not an array'],
      ['null', 'the body is not an array'],
      ['[1]', 'row 0 is not an array'],
      ['[[1],2]', 'row 1 is not an array'],
      ['[[1,2],[3]]', 'row 1 has 1 values, row 0 has 2'],
      ['[[1],[2,3]]', 'row 1 has 2 values, row 0 has 1'],
      ['[[1,"x"]]', 'row 0 value 1 is not a number'],
      ['[[1,true]]', 'row 0 value 1 is not a number'],
      ['[[1],[[2]]]', 'row 1 value 0 is not a number'],
      ['[[1,2],[3,"x",5]]', 'row 1 has 3 values, row 0 has 2'],
    ];
    for (const [text, message] of cases) {
      const o = outcome(() => jsImpl.parseF32Rows(Buffer.from(text)));
      assert.ok(!o.ok && o.error === 'SyntaxError', `${JSON.stringify(text)}: ${JSON.stringify(o)}`);
      if (message.endsWith('('))
        assert.ok(o.message.startsWith(message), `${JSON.stringify(text)}: ${o.message}`);
      else assert.equal(o.message, message, JSON.stringify(text));
    }
  });

  test('out and rowOffset: rows written at rowOffset * dim, vectors is their view', () => {
    const out = new Float32Array(10).fill(7);
    const r = jsImpl.parseF32Rows(Buffer.from('[[1,2],[3,4]]'), out, 2);
    assert.deepEqual(Array.from(out), [7, 7, 7, 7, 1, 2, 3, 4, 7, 7], 'out');
    assert.equal(r.vectors.buffer, out.buffer, 'a view of out');
    assert.equal(r.vectors.byteOffset, 16, 'view offset');
    assert.equal(r.vectors.length, 4, 'view length');
    assert.throws(
      () => jsImpl.parseF32Rows(Buffer.from('[[1,2],[3,4]]'), out, 4),
      {
        name: 'RangeError',
        message: 'parseF32Rows: 2 rows of 2 values at row 4 do not fit in out (length 10)',
      },
      'no fit',
    );
  });
});

describe('parseF32Rows: native == JS, bit for bit', () => {
  test('property: well-formed bodies, every number spelling, random whitespace', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(wellFormed, ({ text, rows, dim }) => {
        const js = bothParse(native, text, text);
        assert.ok(js.ok && js.rows === rows && js.dim === dim, `${text}: ${JSON.stringify(js)}`);
        assertBitIdentical(js.vectors, reference(text).vectors, `${text}: JS vs JSON.parse`);
      }),
      { numRuns: 1000 },
    );
  });

  test('property: wrong shapes (ragged rows, strings, objects, booleans, nesting) get the same error', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(wrongShape, (text) => void bothParse(native, text, text)),
      { numRuns: 1000 },
    );
  });

  test('property: damaged bodies and JSON-ish noise are rejected alike (and never crash)', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(fc.oneof(damaged, jsonish, fc.uint8Array({ maxLength: 32 })), (body) => {
        void bothParse(native, body, JSON.stringify(Buffer.from(body).toString('latin1')));
      }),
      { numRuns: 2000 },
    );
  });

  test('property: format then parse is the identity (NaN and +-Infinity come back as NaN)', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 16 })
          .chain((dim) =>
            fc.tuple(fc.constant(dim), fc.array(fc.oneof(anyBits, edgeBits), { maxLength: dim * 5 })),
          ),
        ([dim, bits]) => {
          const m = fromBits(bits.slice(0, bits.length - (bits.length % dim)));
          const expected = m.map((x) => (Number.isFinite(x) ? x : NaN));
          for (const impl of [native, jsImpl]) {
            const r = impl.parseF32Rows(native.formatF32Rows(m, dim));
            assert.equal(r.rows, m.length / dim, 'rows');
            assert.equal(r.dim, m.length === 0 ? 0 : dim, 'dim');
            assertBitIdentical(r.vectors, expected, `${impl === native ? 'native' : 'JS'} round trip`);
          }
        },
      ),
      RUNS,
    );
  });

  test('property: out and rowOffset give the same rows, views and no-fit errors', (t) => {
    const native = needNative(t);
    if (!native) return;
    fc.assert(
      fc.property(
        wellFormed,
        fc.integer({ min: 0, max: 80 }),
        fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
        ({ text }, length, rowOffset) => {
          const body = Buffer.from(text);
          const jsOut = new Float32Array(length).fill(-1);
          const natOut = new Float32Array(length).fill(-1);
          const js = outcome(() => jsImpl.parseF32Rows(body, jsOut, rowOffset));
          const nat = outcome(() => native.parseF32Rows(body, natOut, rowOffset));
          assertSameOutcome(nat, js, `${text} into ${length} at ${rowOffset}`);
          if (js.ok && nat.ok) {
            assertBitIdentical(natOut, jsOut, 'out');
            assert.equal(nat.vectors.buffer, natOut.buffer, 'native vectors is a view of out');
            assert.equal(nat.vectors.byteOffset, js.vectors.byteOffset, 'view offset');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('number edge cases: overflow, underflow, double rounding, long mantissas, huge exponents', (t) => {
    const native = needNative(t);
    if (!native) return;
    const text = '[[' + EXTREME_NUMBERS.join(',') + ']]';
    const js = bothParse(native, text, 'extremes');
    assert.ok(js.ok, 'extremes parse');
    assertBitIdentical(js.vectors, reference(text).vectors, 'extremes vs JSON.parse');
    const inf = js.vectors.slice(0, 2);
    assert.deepEqual(Array.from(inf), [Infinity, -Infinity], '1e400 and -1e400');
    assert.deepEqual(Array.from(u32(js.vectors.slice(2, 4)), hex), [0, 0x80000000].map(hex), '+-1e-400');
  });

  test('a 1,000 x 1,024 batch as TEI writes it', (t) => {
    const native = needNative(t);
    if (!native) return;
    let state = 12345;
    const m = new Float32Array(1000 * 1024);
    for (let i = 0; i < m.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      m[i] = (state / 2 ** 32 - 0.5) * 0.2;
    }
    const body = native.formatF32Rows(m, 1024);
    const nat = native.parseF32Rows(body);
    const js = jsImpl.parseF32Rows(body);
    assert.equal(nat.rows, 1000, 'rows');
    assert.equal(nat.dim, 1024, 'dim');
    assertBitIdentical(nat.vectors, m, 'native round trip');
    assertBitIdentical(js.vectors, m, 'JS round trip');
  });

  test('a body sharing memory with out is read before it is overwritten', (t) => {
    const native = needNative(t);
    if (!native) return;
    const text = Buffer.from('[[1.5,2.5,3.5,4.5],[5.5,6.5,7.5,8.5]]   ');
    const shared = new ArrayBuffer(text.length + (4 - (text.length % 4)));
    const body = new Uint8Array(shared, 0, text.length);
    body.set(text);
    const out = new Float32Array(shared);
    const r = native.parseF32Rows(body, out);
    assert.deepEqual(Array.from(r.vectors), [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5], 'values');
  });

  test('detached arrays: an empty body, an empty matrix, an out of length 0', (t) => {
    const native = needNative(t);
    if (!native) return;
    const detached = <T extends ArrayBufferView>(a: T): T => {
      structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
      return a;
    };
    const body = detached(new Uint8Array(8));
    assertSameOutcome(
      outcome(() => native.parseF32Rows(body)),
      outcome(() => jsImpl.parseF32Rows(body)),
      'detached body',
    );
    const out = detached(new Float32Array(4));
    assertSameOutcome(
      outcome(() => native.parseF32Rows(Buffer.from('[[1]]'), out)),
      outcome(() => jsImpl.parseF32Rows(Buffer.from('[[1]]'), out)),
      'detached out',
    );
    const data = detached(new Float32Array(4));
    assert.equal(
      native.formatF32Rows(data, 2).toString(),
      jsImpl.formatF32Rows(data, 2).toString(),
      'detached data',
    );
  });

  test('the facade uses the native implementations when the addon is loaded', (t) => {
    const native = needNative(t);
    if (!native) return;
    assert.equal(parseF32Rows, native.parseF32Rows, 'parseF32Rows');
    assert.equal(formatF32Rows, native.formatF32Rows, 'formatF32Rows');
  });
});

// ---------------------------------------------------------------------------
// Argument validation

describe('argument validation (identical errors from both implementations)', () => {
  type Case = [label: string, args: unknown[], error: string, message: string];
  const P = 'parseF32Rows: ';
  const F = 'formatF32Rows: ';
  const body = Buffer.from('[[1]]');
  const parseCases: Case[] = [
    ['no body', [], 'TypeError', `${P}body must be a Uint8Array`],
    ['string body', ['[[1]]'], 'TypeError', `${P}body must be a Uint8Array`],
    ['ArrayBuffer body', [new ArrayBuffer(4)], 'TypeError', `${P}body must be a Uint8Array`],
    ['Uint8ClampedArray body', [new Uint8ClampedArray(4)], 'TypeError', `${P}body must be a Uint8Array`],
    ['Int8Array body', [new Int8Array(4)], 'TypeError', `${P}body must be a Uint8Array`],
    ['DataView body', [new DataView(new ArrayBuffer(4))], 'TypeError', `${P}body must be a Uint8Array`],
    ['null out', [body, null], 'TypeError', `${P}out must be a Float32Array`],
    ['Float64Array out', [body, new Float64Array(4)], 'TypeError', `${P}out must be a Float32Array`],
    ['string rowOffset', [body, new Float32Array(4), '1'], 'TypeError', `${P}rowOffset must be a number`],
    ['bigint rowOffset', [body, new Float32Array(4), 1n], 'TypeError', `${P}rowOffset must be a number`],
    [
      'rowOffset -1',
      [body, new Float32Array(4), -1],
      'RangeError',
      `${P}rowOffset must be a non-negative integer (got -1)`,
    ],
    [
      'rowOffset 1.5',
      [body, new Float32Array(4), 1.5],
      'RangeError',
      `${P}rowOffset must be a non-negative integer (got 1.5)`,
    ],
    [
      'rowOffset NaN',
      [body, new Float32Array(4), NaN],
      'RangeError',
      `${P}rowOffset must be a non-negative integer (got NaN)`,
    ],
    [
      'rowOffset Infinity',
      [body, new Float32Array(4), Infinity],
      'RangeError',
      `${P}rowOffset must be a non-negative integer (got Infinity)`,
    ],
    ['rowOffset without out', [body, undefined, 0], 'TypeError', `${P}rowOffset needs out`],
    [
      'rowOffset 1e21',
      [body, new Float32Array(4), 1e21],
      'RangeError',
      `${P}1 rows of 1 values at row 1e+21 do not fit in out (length 4)`,
    ],
    [
      'out too small',
      [Buffer.from('[[1,2]]'), new Float32Array(1)],
      'RangeError',
      `${P}1 rows of 2 values at row 0 do not fit in out (length 1)`,
    ],
    [
      'malformed beats no-fit',
      [Buffer.from('[[1,2],[3]]'), new Float32Array(1)],
      'SyntaxError',
      'row 1 has 1 values, row 0 has 2',
    ],
  ];
  const formatCases: Case[] = [
    ['no data', [], 'TypeError', `${F}data must be a Float32Array`],
    ['Float64Array data', [new Float64Array(2), 1], 'TypeError', `${F}data must be a Float32Array`],
    ['array data', [[1, 2], 1], 'TypeError', `${F}data must be a Float32Array`],
    ['no dim', [new Float32Array(2)], 'TypeError', `${F}dim must be a number`],
    ['dim 0', [new Float32Array(2), 0], 'RangeError', `${F}dim must be a positive integer (got 0)`],
    ['dim 1.5', [new Float32Array(2), 1.5], 'RangeError', `${F}dim must be a positive integer (got 1.5)`],
    [
      'dim non-divisor',
      [new Float32Array(5), 2],
      'RangeError',
      `${F}data.length (5) is not a multiple of dim (2)`,
    ],
  ];

  function capture(fn: (...args: never[]) => unknown, args: unknown[]): { error: string; message: string } {
    try {
      (fn as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      return { error: (err as Error).constructor.name, message: (err as Error).message };
    }
    return assert.fail('did not throw');
  }

  test('JS twins: error class and message', () => {
    for (const [label, args, error, message] of parseCases) {
      assert.deepEqual(capture(jsImpl.parseF32Rows, args), { error, message }, label);
    }
    for (const [label, args, error, message] of formatCases) {
      assert.deepEqual(capture(jsImpl.formatF32Rows, args), { error, message }, label);
    }
  });

  test('native: the same error class and message', (t) => {
    const native = needNative(t);
    if (!native) return;
    for (const [label, args, error, message] of parseCases) {
      assert.deepEqual(capture(native.parseF32Rows, args), { error, message }, label);
    }
    for (const [label, args, error, message] of formatCases) {
      assert.deepEqual(capture(native.formatF32Rows, args), { error, message }, label);
    }
  });

  test('native accepts empty input of any valid shape', (t) => {
    const native = needNative(t);
    if (!native) return;
    for (const dim of [1, 7, 2 ** 40])
      assert.equal(native.formatF32Rows(new Float32Array(0), dim).toString(), '[]', `dim ${dim}`);
    const r = native.parseF32Rows(Buffer.from('[]'), new Float32Array(0), 5);
    assert.equal(r.rows, 0, 'no rows');
    assert.equal(r.vectors.length, 0, 'empty view');
  });
});

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { formatF32, formatF32Array } from '../../../src/codec/f32-text.js';

it('formats f32 like serde_json/ryu', () => {
  const cases: Array<[number, string]> = [
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [0.1, '0.1'],
    [-0.5, '-0.5'],
    [1234, '1234.0'],
    [12.34, '12.34'],
    [0.001234, '0.001234'],
    [1e-7, '1e-7'],
    [1e30, '1e30'],
    [3.4028234663852886e38, '3.4028235e38'],
    [123456789012345, '1.2345679e14'],
    [Number.NaN, 'null'],
  ];
  for (const [v, s] of cases) assert.equal(formatF32(Math.fround(v)), s, `value ${v}`);
});

it('matches ryu where probing decimal precisions did not: exact ties round to even, powers of two', () => {
  // Expected texts from ryu's f2d (libstdc++'s std::to_chars runs the same algorithm; native/format_f32_rows.cc).
  const bits: Array<[number, string]> = [
    [0xc8812034, '-264449.62'], // -264449.625: a tie at 8 digits, ryu keeps the even digit
    [0x4a000001, '2097152.2'], // 2097152.25
    [0x39800000, '0.00024414062'], // 2^-12 = 0.000244140625
    [0x0f800000, '1.2621775e-29'], // 2^-96: the shortest candidate lies above (the gap below is half as wide)
    [0x6b000000, '1.5474251e26'], // 2^87
    [0x6c800000, '1.2379401e27'], // 2^90
  ];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const [b, s] of bits) {
    u[0] = b;
    assert.equal(formatF32(f[0]), s, `bits 0x${b.toString(16)}`);
    assert.equal(Math.fround(Number(s)), f[0], `${s} reads back`);
  }
});

it('a double outside f32 range formats as its f32 (Infinity -> null, underflow -> 0.0)', () => {
  assert.equal(formatF32(1e39), 'null');
  assert.equal(formatF32(1e-50), '0.0');
  assert.equal(formatF32(-1e-50), '-0.0');
  assert.equal(formatF32(0.1), '0.1');
});

it('round-trips every f32 it prints, with at most 9 significant digits', () => {
  let state = 12345;
  for (let i = 0; i < 20000; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const buf = new Uint32Array([state]);
    const f = new Float32Array(buf.buffer)[0];
    if (!Number.isFinite(f)) continue;
    const s = formatF32(f);
    assert.equal(Math.fround(Number(s)), f, s);
    assert.ok(
      s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length <=
        9,
      s,
    );
  }
});

it('formats arrays', () => {
  assert.equal(formatF32Array(Float32Array.from([1, 0.5])), '[1.0,0.5]');
  assert.equal(formatF32Array([]), '[]');
});

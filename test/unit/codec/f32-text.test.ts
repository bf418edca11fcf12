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

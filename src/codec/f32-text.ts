/**
 * f32 → JSON text exactly as TEI writes it (serde_json formats f32 with ryu: the shortest decimal that reads back
 * as the same f32, laid out by ryu's rules). Shorter than JavaScript's f64 text for the same value, and parses back
 * to the identical f32.
 */

/** Shortest decimal digits (no leading/trailing zeros) and exponent such that v = digits × 10^exponent. */
function shortest(v: number): { digits: string; exponent: number } {
  for (let p = 6; p <= 9; p++) {
    const s = v.toExponential(p - 1);
    if (Math.fround(Number(s)) === v || p === 9) {
      const e = s.indexOf('e');
      let mantissa = s.slice(0, e).replace('.', '');
      const exp10 = Number(s.slice(e + 1));
      mantissa = mantissa.replace(/0+$/, '');
      if (mantissa === '') mantissa = '0';
      return { digits: mantissa, exponent: exp10 - (mantissa.length - 1) };
    }
  }
  /* c8 ignore next */
  throw new Error('unreachable');
}

export function formatF32(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const negative = value < 0;
  const { digits, exponent } = shortest(Math.abs(value));
  const length = digits.length;
  const kk = length + exponent;
  let out: string;
  if (exponent >= 0 && kk <= 13) {
    out = digits + '0'.repeat(exponent) + '.0';
  } else if (kk > 0 && kk <= 13) {
    out = digits.slice(0, kk) + '.' + digits.slice(kk);
  } else if (kk > -6 && kk <= 0) {
    out = '0.' + '0'.repeat(-kk) + digits;
  } else if (length === 1) {
    out = `${digits}e${kk - 1}`;
  } else {
    out = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  }
  return negative ? '-' + out : out;
}

/** `[f, f, ...]` for one vector. */
export function formatF32Array(values: ArrayLike<number>, start = 0, end = values.length): string {
  let s = '[';
  for (let i = start; i < end; i++) {
    if (i > start) s += ',';
    s += formatF32(values[i]);
  }
  return s + ']';
}

/**
 * f32 → JSON text exactly as TEI writes it (serde_json formats f32 with ryu: the shortest decimal that reads back
 * as the same f32, laid out by ryu's rules). Shorter than JavaScript's f64 text for the same value, and parses back
 * to the identical f32.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Shortest decimal digits (no trailing zeros) and exponent such that v = digits × 10^exponent reads back as the
 * f32 `v`. Fast path: scale by an exact power of ten and round; `digits / 10^k` (or `× 10^k`) of two exact doubles
 * is correctly rounded, exactly as parsing the decimal text would be, so the round-trip test needs no string.
 */
function shortest(v: number): { digits: string; exponent: number } {
  let e = Math.floor(Math.log10(v));
  for (let p = 1; p <= 9; p++) {
    let k = p - 1 - e;
    if (k < -22 || k > 22) return slowShortest(v);
    let scaled = Math.round(k >= 0 ? v * POW10[k] : v / POW10[-k]);
    if (scaled >= POW10[p]) {
      // log10 under-estimated the exponent (v just below a power of ten after rounding)
      e++;
      k--;
      scaled = Math.round(k >= 0 ? v * POW10[k] : v / POW10[-k]);
    }
    const back = k >= 0 ? scaled / POW10[k] : scaled * POW10[-k];
    if (Math.fround(back) === v) {
      let digits = String(scaled);
      let exponent = -k;
      while (digits.length > 1 && digits.endsWith('0')) {
        digits = digits.slice(0, -1);
        exponent++;
      }
      return { digits, exponent };
    }
  }
  return slowShortest(v);
}

/** Exact but slow: decimal text of increasing precision until it reads back as the same f32. */
function slowShortest(v: number): { digits: string; exponent: number } {
  for (let p = 1; ; p++) {
    const s = v.toExponential(p - 1);
    if (Math.fround(Number(s)) === v || p >= 9) {
      const at = s.indexOf('e');
      const mantissa = s.slice(0, at).replace('.', '').replace(/0+$/, '') || '0';
      return { digits: mantissa, exponent: Number(s.slice(at + 1)) - (mantissa.length - 1) };
    }
  }
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

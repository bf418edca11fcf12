/**
 * f32 → JSON text exactly as TEI writes it: serde_json formats an f32 with ryu (`ryu::Buffer::format_finite`, i.e.
 * `ryu::raw::format32`): the shortest decimal that reads back as the same f32, the one closest to it when several are
 * that short (ties to even), laid out by ryu's rules. Shorter than JavaScript's f64 text for the same value, and
 * parses back to the identical f32.
 *
 * The digits come from a line-by-line port of ryu's `f2s::f2d` (Ulf Adams' Ryū, PLDI 2018, as ported to Rust by
 * dtolnay/ryu, Apache-2.0 / BSL-1.0): exact integer arithmetic, done here on doubles (every intermediate stays below
 * 2^53). Probing decimal precisions with floating-point scaling (this file's previous approach) disagreed with ryu on
 * exact ties (ryu rounds half to even) and at powers of two (whose lower half-gap is narrower: the shortest candidate
 * may lie above the value only), e.g. 264449.625 → ryu `264449.62`, 2^-96 → ryu `1.2621775e-29`.
 * native/format_f32_rows.cc gets the same digits from std::to_chars (libstdc++ runs ryu's f2d for float);
 * test/unit/native/f32-json.test.ts compares the two.
 */

const FLOAT_MANTISSA_BITS = 23;
const FLOAT_BIAS = 127;
const FLOAT_POW5_INV_BITCOUNT = 59;
const FLOAT_POW5_BITCOUNT = 61;

/** e == 0 ? 1 : ceil(log2(5^e)), for 0 <= e <= 3528. */
function pow5bits(e: number): number {
  return ((e * 1217359) >>> 19) + 1;
}

/** floor(log10(2^e)), for 0 <= e <= 1650. */
function log10Pow2(e: number): number {
  return (e * 78913) >>> 18;
}

/** floor(log10(5^e)), for 0 <= e <= 2620. */
function log10Pow5(e: number): number {
  return (e * 732923) >>> 20;
}

/**
 * ryu's 64-bit multipliers, as four 16-bit limbs each (least significant first), so that a 26-bit multiplicand
 * times a limb stays exact in a double. POW5_INV[i] = floor(2^(pow5bits(i) - 1 + 59) / 5^i) + 1 (i <= 30: the
 * largest q for an f32); POW5[i] = 5^i scaled to 61 bits (i <= 46).
 */
function limbs(v: bigint): Float64Array {
  const out = new Float64Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number((v >> BigInt(16 * i)) & 0xffffn);
  return out;
}
const POW5_INV: readonly Float64Array[] = Array.from({ length: 31 }, (_, i) =>
  limbs((1n << BigInt(pow5bits(i) - 1 + FLOAT_POW5_INV_BITCOUNT)) / 5n ** BigInt(i) + 1n),
);
const POW5: readonly Float64Array[] = Array.from({ length: 47 }, (_, i) => {
  const shift = pow5bits(i) - FLOAT_POW5_BITCOUNT;
  const p = 5n ** BigInt(i);
  return limbs(shift >= 0 ? p >> BigInt(shift) : p << BigInt(-shift));
});

/** 2^i for 0 <= i < 64 (Math.pow with a variable exponent is slow). */
const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i);
const INV_2_16 = 1 / 65536;

/** floor(m * factor / 2^shift) for m < 2^27, a 64-bit factor (limbs) and 32 < shift; the result is < 2^32. */
function mulShift(m: number, f: Float64Array, shift: number): number {
  // bits0 = m * factor_lo, bits1 = m * factor_hi, sum = (bits0 >> 32) + bits1, result = sum >> (shift - 32),
  // with each 64-bit product kept as (high part * 2^16 + exact low part); every step is exact.
  const hi0 = Math.floor((m * f[1] + Math.floor(m * f[0] * INV_2_16)) * INV_2_16); // bits0 >> 32
  const b = m * f[2] + hi0;
  const c = m * f[3]; // sum = c * 2^16 + b
  const s = shift - 32;
  return s >= 16
    ? Math.floor((c + Math.floor(b * INV_2_16)) / POW2[s - 16])
    : c * POW2[16 - s] + Math.floor(b / POW2[s]);
}

function multipleOfPowerOf5(value: number, p: number): boolean {
  let count = 0;
  while (value % 5 === 0) {
    value /= 5;
    count++;
  }
  return count >= p;
}

function multipleOfPowerOf2(value: number, p: number): boolean {
  return value % POW2[p] === 0;
}

/** The shortest decimal `mantissa × 10^exponent` of a finite, non-zero f32 given by its bits (ryu's f2d). */
let outMantissa = 0;
let outExponent = 0;
function f2d(ieeeMantissa: number, ieeeExponent: number): void {
  let e2: number;
  let m2: number;
  if (ieeeExponent === 0) {
    e2 = 1 - FLOAT_BIAS - FLOAT_MANTISSA_BITS - 2;
    m2 = ieeeMantissa;
  } else {
    e2 = ieeeExponent - FLOAT_BIAS - FLOAT_MANTISSA_BITS - 2;
    m2 = 0x800000 + ieeeMantissa;
  }
  const acceptBounds = m2 % 2 === 0;

  // Step 2: the interval of valid decimal representations.
  const mv = 4 * m2;
  const mp = 4 * m2 + 2;
  const mmShift = ieeeMantissa !== 0 || ieeeExponent <= 1 ? 1 : 0;
  const mm = 4 * m2 - 1 - mmShift;

  // Step 3: convert to a decimal power base.
  let vr: number;
  let vp: number;
  let vm: number;
  let e10: number;
  let vmIsTrailingZeros = false;
  let vrIsTrailingZeros = false;
  let lastRemovedDigit = 0;
  if (e2 >= 0) {
    const q = log10Pow2(e2);
    e10 = q;
    const k = FLOAT_POW5_INV_BITCOUNT + pow5bits(q) - 1;
    const i = -e2 + q + k;
    vr = mulShift(mv, POW5_INV[q], i);
    vp = mulShift(mp, POW5_INV[q], i);
    vm = mulShift(mm, POW5_INV[q], i);
    if (q !== 0 && Math.floor((vp - 1) / 10) <= Math.floor(vm / 10)) {
      const l = FLOAT_POW5_INV_BITCOUNT + pow5bits(q - 1) - 1;
      lastRemovedDigit = mulShift(mv, POW5_INV[q - 1], -e2 + q - 1 + l) % 10;
    }
    if (q <= 9) {
      // Only one of mp, mv and mm can be a multiple of 5, if any.
      if (mv % 5 === 0) {
        vrIsTrailingZeros = multipleOfPowerOf5(mv, q);
      } else if (acceptBounds) {
        vmIsTrailingZeros = multipleOfPowerOf5(mm, q);
      } else if (multipleOfPowerOf5(mp, q)) {
        vp -= 1;
      }
    }
  } else {
    const q = log10Pow5(-e2);
    e10 = q + e2;
    const i = -e2 - q;
    const k = pow5bits(i) - FLOAT_POW5_BITCOUNT;
    let j = q - k;
    vr = mulShift(mv, POW5[i], j);
    vp = mulShift(mp, POW5[i], j);
    vm = mulShift(mm, POW5[i], j);
    if (q !== 0 && Math.floor((vp - 1) / 10) <= Math.floor(vm / 10)) {
      j = q - 1 - (pow5bits(i + 1) - FLOAT_POW5_BITCOUNT);
      lastRemovedDigit = mulShift(mv, POW5[i + 1], j) % 10;
    }
    if (q <= 1) {
      // mv = 4 * m2 always has at least two trailing 0 bits.
      vrIsTrailingZeros = true;
      if (acceptBounds) {
        // mm = mv - 1 - mmShift has one trailing 0 bit iff mmShift == 1.
        vmIsTrailingZeros = mmShift === 1;
      } else {
        // mp = mv + 2 always has at least one trailing 0 bit.
        vp -= 1;
      }
    } else if (q < 31) {
      vrIsTrailingZeros = multipleOfPowerOf2(mv, q - 1);
    }
  }

  // Step 4: the shortest decimal representation in the interval.
  if (vmIsTrailingZeros || vrIsTrailingZeros) {
    // General case (rare).
    while (Math.floor(vp / 10) > Math.floor(vm / 10)) {
      vmIsTrailingZeros &&= vm % 10 === 0;
      vrIsTrailingZeros &&= lastRemovedDigit === 0;
      lastRemovedDigit = vr % 10;
      vr = Math.floor(vr / 10);
      vp = Math.floor(vp / 10);
      vm = Math.floor(vm / 10);
      e10++;
    }
    if (vmIsTrailingZeros) {
      while (vm % 10 === 0) {
        vrIsTrailingZeros &&= lastRemovedDigit === 0;
        lastRemovedDigit = vr % 10;
        vr = Math.floor(vr / 10);
        vp = Math.floor(vp / 10);
        vm = Math.floor(vm / 10);
        e10++;
      }
    }
    if (vrIsTrailingZeros && lastRemovedDigit === 5 && vr % 2 === 0) {
      // Round even if the exact number is .....50..0.
      lastRemovedDigit = 4;
    }
    // Take vr + 1 if vr is outside the bounds or rounds up.
    if ((vr === vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5) vr++;
  } else {
    // Common case.
    let roundUp = lastRemovedDigit >= 5;
    for (;;) {
      const vpDiv100 = Math.floor(vp / 100);
      const vmDiv100 = Math.floor(vm / 100);
      if (vpDiv100 <= vmDiv100) break;
      const vrDiv100 = Math.floor(vr / 100);
      roundUp = vr - 100 * vrDiv100 >= 50;
      vr = vrDiv100;
      vp = vpDiv100;
      vm = vmDiv100;
      e10 += 2;
    }
    const vmDiv10 = Math.floor(vm / 10);
    if (Math.floor(vp / 10) > vmDiv10) {
      const vrDiv10 = Math.floor(vr / 10);
      roundUp = vr - 10 * vrDiv10 >= 5;
      vr = vrDiv10;
      vm = vmDiv10;
      e10++;
    }
    if (roundUp || vr === vm) vr++;
  }
  outMantissa = vr;
  outExponent = e10;
}

const ZEROS = Array.from({ length: 16 }, (_, i) => '0'.repeat(i));
const bits32 = new Uint32Array(1);
const float32 = new Float32Array(bits32.buffer);

export function formatF32(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  float32[0] = value; // an f32 already, or rounded to one like Math.fround
  const bits = bits32[0];
  if ((bits & 0x7fffffff) >= 0x7f800000) return 'null'; // a double beyond f32's range
  if ((bits & 0x7fffffff) === 0) return bits >>> 31 ? '-0.0' : '0.0'; // a double below it
  f2d(bits & 0x7fffff, (bits >>> 23) & 0xff);
  const digits = String(outMantissa);
  const length = digits.length;
  const exponent = outExponent;
  const kk = length + exponent; // 10^(kk-1) <= |v| < 10^kk
  let out: string;
  if (exponent >= 0 && kk <= 13) {
    out = digits + ZEROS[exponent] + '.0';
  } else if (kk > 0 && kk <= 13) {
    out = digits.slice(0, kk) + '.' + digits.slice(kk);
  } else if (kk > -6 && kk <= 0) {
    out = '0.' + ZEROS[-kk] + digits;
  } else if (length === 1) {
    out = `${digits}e${kk - 1}`;
  } else {
    out = `${digits[0]}.${digits.slice(1)}e${kk - 1}`;
  }
  return bits >>> 31 ? '-' + out : out;
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

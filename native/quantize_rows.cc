#include "quantize_rows.h"

#include <cstring>
#include <string>

#include "row_shape.h"

namespace tei_router {

std::size_t QuantizedRowBytes(QuantizedDtype dtype, std::size_t dim) noexcept {
  switch (dtype) {
    case QuantizedDtype::kFloat16:
      return 2 * dim;
    case QuantizedDtype::kBinary:
      return (dim + 7) / 8;
    case QuantizedDtype::kInt8:
    case QuantizedDtype::kUint8:
      break;
  }
  return dim;
}

// f16Bits in src/native/fallback.ts with its rounding branches made arithmetic
// (a data-dependent branch there mispredicts on half of all values): equal to
// it for all 2^32 bit patterns (checked exhaustively). Integer operations only.
std::uint16_t F16Bits(std::uint32_t bits) noexcept {
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t a = bits & 0x7fffffffu;  // |x|
  std::uint32_t h;
  if (a >= 0x47800000u) {
    // exponent >= 15 + 16 (e >= 0x1f in JS), +-Infinity, NaN (one quiet NaN)
    h = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (a >= 0x38800000u) {
    // |x| >= 2^-14: a normal binary16. Rebias the exponent, keep 10 mantissa
    // bits, add 1 when the 13 dropped bits are over half, or exactly half and
    // the kept value is odd (a carry may reach the exponent, up to 0x7c00).
    const std::uint32_t t = (a >> 13) - (112u << 10);
    h = t + (((a & 0x1fffu) + 0xfffu + (t & 1u)) >> 13);
  } else if (a >= 0x33000000u) {
    // 2^-25 <= |x| < 2^-14: a binary16 subnormal, (1.mant) >> (1 - e), rounded.
    const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - (a >> 23);  // 14 - e: 14 .. 24
    const std::uint32_t t = m >> shift;
    const std::uint32_t rem = m & ((std::uint32_t{1} << shift) - 1u);
    const std::uint32_t halfway = std::uint32_t{1} << (shift - 1u);
    h = t + static_cast<std::uint32_t>(rem > halfway || (rem == halfway && (t & 1u) != 0));
  } else {
    h = 0;  // below 2^-25 (e < -10): rounds to zero
  }
  return static_cast<std::uint16_t>(sign | h);
}

namespace {

// The kernels below compute round(v) (half away from zero, i.e. std::round
// and the JS roundAway) exactly without a libm call: after the clamp |v| <= 255,
// so t = (int)v is trunc(v) and f = v - t is exact (a double's fraction always
// is); round(v) = t + 1 when f >= 0.5, t - 1 when f <= -0.5, else t. Rounding
// before or after the clamp gives the same integer (the bounds are integers).
// Both equal the JS twin for all 2^32 f32 inputs (checked exhaustively).

// JS: x !== x ? 0 : Math.min(127, Math.max(-127, roundAway(x * 127))), then & 0xff.
// x * 127 is exact in double (24 + 7 bits).
inline std::uint8_t Int8Of(float x) noexcept {
  double v = static_cast<double>(x) * 127.0;
  v = v > 127.0 ? 127.0 : v;
  v = v < -127.0 ? -127.0 : v;
  v = v == v ? v : 0.0;  // NaN -> 0
  const int t = static_cast<int>(v);
  const double f = v - static_cast<double>(t);
  // two's complement byte (modular conversion), like q & 0xff
  return static_cast<std::uint8_t>(t + (f >= 0.5 ? 1 : 0) - (f <= -0.5 ? 1 : 0));
}

// JS: x !== x ? 128 : Math.min(255, Math.max(0, roundAway((x + 1) * 127.5))).
// Both operations in double, each rounded once (no FMA: -ffp-contract=off).
inline std::uint8_t Uint8Of(float x) noexcept {
  double v = (static_cast<double>(x) + 1.0) * 127.5;
  v = v > 255.0 ? 255.0 : v;
  v = v < 0.0 ? 0.0 : v;
  v = v == v ? v : 128.0;  // NaN -> 128
  const int t = static_cast<int>(v);
  const double f = v - static_cast<double>(t);  // v >= 0
  return static_cast<std::uint8_t>(t + (f >= 0.5 ? 1 : 0));
}

void Float16(const float* data, std::size_t n, std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    const std::uint16_t h = F16Bits(bits);
    out[2 * i] = static_cast<std::uint8_t>(h & 0xffu);  // little-endian whatever the host
    out[2 * i + 1] = static_cast<std::uint8_t>(h >> 8);
  }
}

void Int8(const float* data, std::size_t n, std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = Int8Of(data[i]);
}

void Uint8(const float* data, std::size_t n, std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = Uint8Of(data[i]);
}

// numpy.packbits(x > 0, bitorder="big") per row; NaN > 0 is false.
void Binary(const float* data, std::size_t rows, std::size_t dim, std::uint8_t* out) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = data + r * dim;
    std::size_t j = 0;
    for (; j + 8 <= dim; j += 8) {
      unsigned byte = 0;
      for (std::size_t k = 0; k < 8; ++k) byte = (byte << 1) | (row[j + k] > 0.0f ? 1u : 0u);
      *out++ = static_cast<std::uint8_t>(byte);
    }
    if (j < dim) {
      unsigned byte = 0;
      for (std::size_t k = 0; j + k < dim; ++k) byte |= row[j + k] > 0.0f ? 0x80u >> k : 0u;
      *out++ = static_cast<std::uint8_t>(byte);
    }
  }
}

// The dtype argument: one of the four strings, or false with a pending
// RangeError (or whatever String(dtype) threw), as in the JS twin.
bool ParseDtype(Napi::Env env, Napi::Value value, QuantizedDtype* out) {
  if (value.IsString()) {
    // UTF-16, so that the message below keeps any lone surrogate as JS does.
    const std::u16string s = value.As<Napi::String>().Utf16Value();
    if (s == u"float16") {
      *out = QuantizedDtype::kFloat16;
      return true;
    }
    if (s == u"int8") {
      *out = QuantizedDtype::kInt8;
      return true;
    }
    if (s == u"uint8") {
      *out = QuantizedDtype::kUint8;
      return true;
    }
    if (s == u"binary") {
      *out = QuantizedDtype::kBinary;
      return true;
    }
  }
  // JS: String(dtype). ToString() is the same except for a Symbol, which it
  // refuses (TypeError) where String() writes "Symbol(description)": call the
  // global String for that one.
  Napi::Value text;
  if (value.IsSymbol()) {
    Napi::Value string_fn = env.Global().Get("String");
    if (env.IsExceptionPending()) return false;
    text = string_fn.As<Napi::Function>().Call({value});
    if (env.IsExceptionPending()) return false;
  } else {
    text = value;
  }
  if (!text.IsString()) {
    text = text.ToString();  // may run user code (toString, Symbol.toPrimitive) that throws
    if (env.IsExceptionPending()) return false;
  }
  // The list is QUANTIZED_DTYPES.join(', ') of src/codec/output-dtype.ts.
  const std::u16string message = u"quantizeRows: dtype must be one of float16, int8, uint8, binary (got " +
                                 text.As<Napi::String>().Utf16Value() + u")";
  napi_value error = nullptr;
  if (napi_create_range_error(env, nullptr, Napi::String::New(env, message), &error) != napi_ok) {
    if (!env.IsExceptionPending()) {
      Napi::RangeError::New(env, "quantizeRows: dtype must be one of float16, int8, uint8, binary")
          .ThrowAsJavaScriptException();
    }
    return false;
  }
  Napi::Error(env, error).ThrowAsJavaScriptException();
  return false;
}

}  // namespace

void QuantizeRowsKernel(const float* data, std::size_t rows, std::size_t dim, QuantizedDtype dtype,
                        std::uint8_t* out) noexcept {
  const std::size_t n = rows * dim;
  switch (dtype) {
    case QuantizedDtype::kFloat16:
      Float16(data, n, out);
      break;
    case QuantizedDtype::kInt8:
      Int8(data, n, out);
      break;
    case QuantizedDtype::kUint8:
      Uint8(data, n, out);
      break;
    case QuantizedDtype::kBinary:
      Binary(data, rows, dim, out);
      break;
  }
}

Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RowShape shape{};
  if (!CheckRowShape(info, "quantizeRows", &shape)) return env.Undefined();
  QuantizedDtype dtype = QuantizedDtype::kFloat16;
  if (!ParseDtype(env, info[2], &dtype)) return env.Undefined();

  // An empty matrix (rows == 0, dim reported as 1) gives an empty array.
  const std::size_t length = shape.rows * QuantizedRowBytes(dtype, shape.dim);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, length);
  if (env.IsExceptionPending()) return env.Undefined();
  if (length != 0) {
    QuantizeRowsKernel(shape.data, shape.rows, shape.dim, dtype, static_cast<std::uint8_t*>(buffer.Data()));
  }
  Napi::Uint8Array result = Napi::Uint8Array::New(env, length, buffer, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  return result;
}

}  // namespace tei_router
